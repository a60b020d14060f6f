//! The archive against the real ClickHouse that `tests/services/up` starts:
//! replays never double-count, the daily rollup matches the raw reports and
//! the search index, and migrations work from an empty database and from
//! the previous version.
#![cfg(feature = "services")]

mod common;

use archive::clickhouse::AlertRow;
use archive::stats::{Bucket, By, StatsQuery};
use archive::{Analytics, ClickHouseConfig};
use common::archive::{index_of, item, numbers, rows};
use model::{Channel, ClassifiedReport, RegionCode, Scope};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn config(prefix: &str) -> ClickHouseConfig {
    let url = std::env::var("TEST_KENTONGAN_CLICKHOUSE")
        .expect("TEST_KENTONGAN_CLICKHOUSE is not set: start the services with tests/services/up and source its env");
    ClickHouseConfig { url, database: format!("{prefix}{}", uuid::Uuid::now_v7().simple()), user: None, password: None }
}

async fn drop_database(config: &ClickHouseConfig) {
    let client = clickhouse::Client::default().with_url(&config.url).with_validation(false);
    client.query(&format!("DROP DATABASE IF EXISTS {}", config.database)).execute().await.unwrap();
}

#[tokio::test]
async fn replays_count_once_and_rollup_raw_and_index_agree() {
    let config = config("archive_");
    let analytics = Analytics::connect(&config).await.unwrap();
    let mut items: Vec<ClassifiedReport> = (0..400).map(item).collect();
    // two more exactly on the midnights (UTC+7) where the questions below
    // split into rollup days and raw hours, so a seam counted twice or not
    // at all shows
    for (n, at) in [(406, datetime!(2026-10-10 17:00 UTC)), (407, datetime!(2026-10-29 17:00 UTC))] {
        let mut seam = item(n);
        assert!(!seam.classification.indicators.is_empty());
        seam.report.reported_at = at;
        items.push(seam);
    }
    let now = OffsetDateTime::now_utc();
    analytics.insert(&rows(&items, now)).await.unwrap();
    // a replay of part of the log, written again later
    analytics.insert(&rows(&items[100..250], now + Duration::seconds(5))).await.unwrap();

    let client = analytics.client();
    let distinct: u64 = client.query("SELECT count() FROM reports FINAL").fetch_one().await.unwrap();
    assert_eq!(distinct, 402);

    let (_dir, index) = index_of(&items);
    let palu = Scope::Regions(vec![RegionCode::parse("72").unwrap()]);
    let district = Scope::Regions(vec![RegionCode::parse("72.71.02").unwrap()]);
    let midnight = datetime!(2026-10-09 17:00 UTC); // 2026-10-10 00:00 in UTC+7
    let queries = [
        (StatsQuery::default(), Scope::All),
        (StatsQuery { by: By::Regency, bucket: Bucket::Week, ..Default::default() }, palu.clone()),
        (StatsQuery { bucket: Bucket::Month, indicator: Some("narkoba".into()), ..Default::default() }, Scope::All),
        (
            StatsQuery {
                channel: Some(Channel::Feed),
                from: Some(midnight),
                to: Some(midnight + Duration::days(14)),
                ..Default::default()
            },
            Scope::All,
        ),
        // not whole days: the whole days from the rollup, the hours at either
        // end from the raw reports
        (StatsQuery { from: Some(midnight + Duration::hours(5)), by: By::Regency, ..Default::default() }, Scope::All),
        (
            StatsQuery {
                from: Some(midnight + Duration::hours(5)),
                to: Some(midnight + Duration::days(20) + Duration::hours(3)),
                bucket: Bucket::Week,
                ..Default::default()
            },
            Scope::All,
        ),
        (
            StatsQuery { to: Some(midnight + Duration::days(30) + Duration::hours(7)), ..Default::default() },
            palu.clone(),
        ),
        // less than two days, neither end a midnight: the raw reports alone
        (
            StatsQuery {
                from: Some(midnight + Duration::hours(1)),
                to: Some(midnight + Duration::days(1) + Duration::hours(20)),
                ..Default::default()
            },
            Scope::All,
        ),
        // a district scope: whole days from the rollup by region
        (StatsQuery { by: By::Regency, ..Default::default() }, district.clone()),
        // below a regency: the main region cut to the district, from the rollup by region
        (StatsQuery { by: By::District, ..Default::default() }, Scope::All),
        (StatsQuery { by: By::District, bucket: Bucket::Month, ..Default::default() }, district.clone()),
        // a city's question, and a district's, not whole days: the hours at
        // either end from the raw reports
        (
            StatsQuery {
                by: By::District,
                region: Some(RegionCode::parse("72.71").unwrap()),
                from: Some(midnight + Duration::hours(5)),
                to: Some(midnight + Duration::days(20) + Duration::hours(3)),
                bucket: Bucket::Week,
                ..Default::default()
            },
            Scope::Regions(vec![RegionCode::parse("72.71").unwrap()]),
        ),
        (
            StatsQuery {
                indicator: Some("narkoba".into()),
                from: Some(midnight + Duration::hours(2)),
                ..Default::default()
            },
            district,
        ),
        (
            StatsQuery { by: By::Village, region: Some(RegionCode::parse("72.71").unwrap()), ..Default::default() },
            palu.clone(),
        ),
        (StatsQuery { region: Some(RegionCode::parse("72.71").unwrap()), ..Default::default() }, palu),
    ];
    // every day open (read from the rollup's sets), then the days that can
    // no longer change sealed into plain counts
    for sealed in [false, true] {
        if sealed {
            assert!(analytics.seal().await.unwrap().sealed > 0);
        }
        for (q, scope) in &queries {
            let from_clickhouse = analytics.stats(q, scope).await.unwrap();
            let from_index = index.stats(q, scope).unwrap();
            assert!(!from_index.rows.is_empty(), "{q:?} {scope:?} counted nothing");
            assert_eq!(numbers(&from_clickhouse), numbers(&from_index), "sealed: {sealed}, {q:?} {scope:?}");
            assert_eq!(from_clickhouse.source, "clickhouse");
        }
    }

    // each rollup holds the same counts as the raw table, day by day: by
    // province, and by district (the main region cut to it)
    let district = "if(length(splitByChar('.', region)) >= 3, \
                    arrayStringConcat(arraySlice(splitByChar('.', region), 1, 3), '.'), '')";
    for (rollup, column, raw_column) in [
        ("report_counts_by_day", "toString(province)", "toString(province)"),
        ("report_counts_by_region", "district", district),
    ] {
        let rows = |sql: String| async move {
            let mut rows: Vec<(String, String, String, u64)> = client.query(&sql).fetch_all().await.unwrap();
            rows.sort();
            rows
        };
        let from_rollup = rows(format!(
            "SELECT toString(day), toString(indicator), {column} AS r, toUInt64(uniqExactMerge(reports)) \
             FROM {rollup} GROUP BY day, indicator, r"
        ))
        .await;
        let from_raw = rows(format!(
            "SELECT toString(toDate(reported_at, 'Asia/Jakarta')) AS d, toString(ind), {raw_column} AS r, \
             toUInt64(uniqExact(id)) FROM reports ARRAY JOIN indicators AS ind GROUP BY d, ind, r"
        ))
        .await;
        assert!(from_rollup.iter().any(|(_, _, r, _)| !r.is_empty()), "{rollup}: {from_rollup:?}");
        assert_eq!(from_rollup, from_raw, "{rollup}");
    }
    drop_database(&config).await;
}

#[tokio::test]
async fn migrations_run_from_empty_and_from_the_previous_version() {
    let fresh = config("migrate_fresh_");
    let analytics = Analytics::connect(&fresh).await.unwrap();
    let mut versions: Vec<u32> =
        analytics.client().query("SELECT version FROM schema_migrations").fetch_all().await.unwrap();
    versions.sort();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    // connecting again applies nothing twice
    let again = Analytics::connect(&fresh).await.unwrap();
    let count: u64 = again.client().query("SELECT count() FROM schema_migrations").fetch_one().await.unwrap();
    assert_eq!(count, 5);
    drop_database(&fresh).await;

    // a database as version 2 left it, with reports in it and its rollup of UUIDs
    let old = config("migrate_old_");
    let v2 = Analytics::connect_at_version(&old, 2).await.unwrap();
    let items: Vec<ClassifiedReport> = (0..120).map(item).collect();
    v2.insert(&rows(&items, OffsetDateTime::now_utc())).await.unwrap();
    let before = tables(&v2).await;
    assert!(before.contains(&"report_counts_daily".to_owned()), "{before:?}");
    assert!(!before.contains(&"report_counts_by_day".to_owned()), "{before:?}");

    // the new versions replace the rollup, filled from the reports already there
    let v3 = Analytics::connect(&old).await.unwrap();
    let after = tables(&v3).await;
    assert!(after.contains(&"report_counts_by_day".to_owned()), "{after:?}");
    assert!(!after.iter().any(|t| t.starts_with("report_counts_daily")), "{after:?}");
    let (_dir, index) = index_of(&items);
    for bucket in [Bucket::Day, Bucket::Week, Bucket::Month] {
        let q = StatsQuery { by: By::Regency, bucket, ..Default::default() };
        assert_eq!(numbers(&v3.stats(&q, &Scope::All).await.unwrap()), numbers(&index.stats(&q, &Scope::All).unwrap()));
        // and the rollup by region (version 5), filled the same way
        let q = StatsQuery { by: By::District, bucket, ..Default::default() };
        let city = Scope::Regions(vec![RegionCode::parse("72.71").unwrap()]);
        let from_index = index.stats(&q, &city).unwrap();
        assert!(!from_index.rows.is_empty());
        assert_eq!(numbers(&v3.stats(&q, &city).await.unwrap()), numbers(&from_index));
    }
    // and new reports reach it through the view
    let more: Vec<ClassifiedReport> = (120..200).map(item).collect();
    v3.insert(&rows(&more, OffsetDateTime::now_utc())).await.unwrap();
    let all: Vec<ClassifiedReport> = (0..200).map(item).collect();
    let (_dir2, index2) = index_of(&all);
    let q = StatsQuery { by: By::Regency, ..Default::default() };
    assert_eq!(numbers(&v3.stats(&q, &Scope::All).await.unwrap()), numbers(&index2.stats(&q, &Scope::All).unwrap()));

    // the ClickHouse writer seals the days already there when it starts,
    // with no manual step
    assert!(v3.sealed_days(None, None).await.unwrap().is_empty());
    let dir = tempfile::tempdir().unwrap();
    let bus = bus::Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
    let writer = tokio::spawn(archive::stage::run_analytics(
        bus,
        v3.clone(),
        archive::Retention::default(),
        std::sync::Arc::new(model::SystemClock),
    ));
    let sealed = common::eventually(std::time::Duration::from_secs(60), || async {
        let days = v3.sealed_days(None, None).await.unwrap();
        (!days.is_empty()).then_some(days)
    })
    .await
    .expect("the writer sealed no day within 60 s");
    writer.abort();
    let today = archive::stats::day_number(OffsetDateTime::now_utc());
    assert!(sealed.iter().all(|(day, _)| *day < today), "{sealed:?}");
    for bucket in [Bucket::Day, Bucket::Month] {
        let q = StatsQuery { by: By::Regency, bucket, ..Default::default() };
        assert_eq!(
            numbers(&v3.stats(&q, &Scope::All).await.unwrap()),
            numbers(&index2.stats(&q, &Scope::All).unwrap())
        );
    }
    drop_database(&old).await;
}

/// Stats over sealed and open days agree with the search index's, through
/// late reports, replays, and seals interrupted, repeated and concurrent.
#[tokio::test]
async fn sealed_days_stay_exact_through_late_reports_replays_and_interrupted_seals() {
    let config = config("sealed_");
    let analytics = Analytics::connect(&config).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let today = archive::stats::day_number(now);
    // 300 reports from 90 days ago to 30 days ahead (item n is 577 minutes
    // after item n - 1), so most days can be sealed and some cannot
    let shift = (now - Duration::days(90)) - datetime!(2026-10-01 00:00 UTC);
    let at = |n: u32| {
        let mut it = item(n);
        it.report.reported_at += shift;
        it.report.received_at += shift;
        it
    };
    let mut items: Vec<ClassifiedReport> = (0..300).map(at).collect();
    // a report written twice before its day is sealed, 40 days ago (in a
    // month that can be sealed too)
    let mut twice = at(301);
    assert!(!twice.classification.indicators.is_empty());
    twice.report.reported_at = now - Duration::days(40);
    items.push(twice.clone());
    analytics.insert(&rows(&items, now)).await.unwrap();
    analytics.insert(&rows(std::slice::from_ref(&twice), now)).await.unwrap();
    let twice_day = archive::stats::day_number(twice.report.reported_at);
    let year_ago = now - Duration::days(365);
    let questions = [
        StatsQuery { bucket: Bucket::Month, from: Some(year_ago), ..Default::default() },
        StatsQuery {
            bucket: Bucket::Month,
            from: Some(year_ago),
            indicator: Some(twice.classification.indicators[0].id.to_string()),
            ..Default::default()
        },
        StatsQuery { from: Some(now - Duration::days(30)), by: By::Regency, ..Default::default() },
        StatsQuery { bucket: Bucket::Week, ..Default::default() },
        // whole days only, all before today
        StatsQuery {
            from: Some(archive::stats::date_of(today - 40).midnight().assume_offset(time::macros::offset!(+7))),
            to: Some(archive::stats::date_of(today - 2).midnight().assume_offset(time::macros::offset!(+7))),
            channel: Some(Channel::App),
            ..Default::default()
        },
    ];
    let check = |items: Vec<ClassifiedReport>, when: &'static str| {
        let analytics = analytics.clone();
        let questions = questions.clone();
        async move {
            let (_dir, index) = index_of(&items);
            for q in &questions {
                let from_index = index.stats(q, &Scope::All).unwrap();
                assert!(!from_index.rows.is_empty(), "{when}: {q:?} counted nothing");
                let from_clickhouse = analytics.stats(q, &Scope::All).await.unwrap();
                assert_eq!(numbers(&from_clickhouse), numbers(&from_index), "{when}: {q:?}");
            }
        }
    };
    check(items.clone(), "nothing sealed").await;

    let sealed = analytics.seal().await.unwrap();
    let days = analytics.sealed_days(None, None).await.unwrap();
    assert_eq!(sealed.sealed, days.len());
    assert!(days.iter().any(|(d, _)| *d == twice_day), "{days:?}");
    // today cannot be sealed yet (nor can the days ahead)
    assert!(days.iter().all(|(d, _)| *d < today), "{days:?}");
    // nor this month, but the month of the report written twice can
    let twice_month = archive::stats::day_number(
        archive::stats::date_of(twice_day).replace_day(1).unwrap().midnight().assume_offset(time::macros::offset!(+7)),
    );
    let month_sealed =
        || async { analytics.sealed_months(None, None).await.unwrap().iter().any(|(m, _)| *m == twice_month) };
    assert!(month_sealed().await);
    assert!(analytics.sealed_months(None, None).await.unwrap().iter().all(|(m, _)| *m < today - 28));
    check(items.clone(), "sealed").await;
    // a seal with nothing new to seal changes nothing (but the day that
    // may have become ripe meanwhile)
    let settled = |days: Vec<(i64, u64)>| days.into_iter().filter(|(d, _)| *d < today - 1).collect::<Vec<_>>();
    analytics.seal().await.unwrap();
    assert_eq!(settled(analytics.sealed_days(None, None).await.unwrap()), settled(days));

    // a report that arrives late for a sealed day reopens it
    let mut late = at(302);
    late.report.reported_at = twice.report.reported_at + Duration::minutes(1);
    assert_eq!(archive::stats::day_number(late.report.reported_at), twice_day);
    analytics.insert(&rows(std::slice::from_ref(&late), now)).await.unwrap();
    items.push(late.clone());
    let open = |days: Vec<(i64, u64)>| !days.iter().any(|(d, _)| *d == twice_day);
    assert!(open(analytics.sealed_days(None, None).await.unwrap()));
    assert!(!month_sealed().await);
    check(items.clone(), "a late report into a sealed day").await;
    assert!(analytics.seal().await.unwrap().sealed >= 1);
    assert!(!open(analytics.sealed_days(None, None).await.unwrap()));
    check(items.clone(), "sealed anew").await;

    // a report counted in a sealed day written again: counted once
    analytics.insert(&rows(std::slice::from_ref(&twice), now + Duration::seconds(5))).await.unwrap();
    assert!(open(analytics.sealed_days(None, None).await.unwrap()));
    check(items.clone(), "a replay into a sealed day").await;

    // a seal interrupted after its counts, before its markers: they count
    // for nothing, and the day stays open
    analytics.seal_without_marking().await.unwrap();
    assert!(open(analytics.sealed_days(None, None).await.unwrap()));
    check(items.clone(), "a seal interrupted").await;
    // repeated, and then two at once after another late report
    assert!(analytics.seal().await.unwrap().sealed >= 1);
    assert!(!open(analytics.sealed_days(None, None).await.unwrap()));
    check(items.clone(), "the interrupted seal repeated").await;
    analytics.insert(&rows(std::slice::from_ref(&late), now)).await.unwrap();
    let (a, b) = tokio::join!(analytics.seal(), analytics.seal());
    assert!(a.unwrap().sealed + b.unwrap().sealed >= 1);
    assert!(!open(analytics.sealed_days(None, None).await.unwrap()));
    assert!(month_sealed().await);
    check(items.clone(), "two seals at once").await;

    // retention cutting a sealed month part way: its news before the 15th
    let cut = archive::stats::date_of(twice_month)
        .replace_day(15)
        .unwrap()
        .midnight()
        .assume_offset(time::macros::offset!(+7))
        .to_offset(time::UtcOffset::UTC);
    apply_retention(&analytics, &[(Channel::Feed, cut)]).await;
    items.retain(|i| i.report.channel != Channel::Feed || i.report.reported_at >= cut);
    assert!(!month_sealed().await);
    check(items.clone(), "retention cut a sealed month").await;
    // (a seal in the second a deletion was made waits for the next)
    let resealed = common::eventually(std::time::Duration::from_secs(30), || async {
        analytics.seal().await.unwrap();
        month_sealed().await.then_some(())
    })
    .await;
    assert!(resealed.is_some(), "the month cut by retention was not sealed again within 30 s");
    check(items.clone(), "the month cut by retention sealed anew").await;
    drop_database(&config).await;
}

async fn tables(a: &Analytics) -> Vec<String> {
    a.client().query("SELECT name FROM system.tables WHERE database = currentDatabase()").fetch_all().await.unwrap()
}

#[tokio::test]
async fn alerts_are_kept_once_by_id() {
    let config = config("alerts_");
    let analytics = Analytics::connect(&config).await.unwrap();
    let row = AlertRow {
        id: uuid::Uuid::now_v7(),
        raised_at: datetime!(2026-11-29 10:00 UTC),
        indicator: "narkoba".into(),
        level: "siaga".into(),
        region: "72.71".into(),
        province: "72".into(),
        regency: "72.71".into(),
        count: 6,
        score: 12.0,
        report_ids: vec![uuid::Uuid::now_v7().to_string()],
    };
    analytics.insert_alerts(std::slice::from_ref(&row)).await.unwrap();
    analytics.insert_alerts(std::slice::from_ref(&row)).await.unwrap();
    let back: Vec<AlertRow> = analytics.client().query("SELECT ?fields FROM alerts FINAL").fetch_all().await.unwrap();
    assert_eq!(back, [row]);
    drop_database(&config).await;
}

/// Retention applied, and ClickHouse's deletions done.
async fn apply_retention(analytics: &Analytics, cutoffs: &[(Channel, OffsetDateTime)]) {
    analytics.apply_retention(cutoffs).await.unwrap();
    let done = common::eventually(std::time::Duration::from_secs(30), || async {
        (analytics.mutations_pending().await.unwrap() == 0).then_some(())
    })
    .await;
    assert!(done.is_some(), "ClickHouse did not finish deleting within 30 s");
}

/// Counts for a few questions, from ClickHouse and from an index of `kept`.
async fn assert_counts_match(analytics: &Analytics, kept: &[ClassifiedReport]) {
    let distinct: u64 = analytics.client().query("SELECT count() FROM reports FINAL").fetch_one().await.unwrap();
    assert_eq!(distinct, kept.len() as u64);
    let (_dir, index) = index_of(kept);
    for q in [
        StatsQuery::default(),
        StatsQuery { by: By::Regency, bucket: Bucket::Month, ..Default::default() },
        StatsQuery { channel: Some(Channel::Feed), ..Default::default() },
    ] {
        let from_clickhouse = analytics.stats(&q, &Scope::All).await.unwrap();
        assert_eq!(numbers(&from_clickhouse), numbers(&index.stats(&q, &Scope::All).unwrap()), "{q:?}");
    }
    // a city's districts, from the rollup by region
    let city = Scope::Regions(vec![RegionCode::parse("72.71").unwrap()]);
    for q in [
        StatsQuery { by: By::District, ..Default::default() },
        StatsQuery { by: By::District, channel: Some(Channel::Feed), bucket: Bucket::Month, ..Default::default() },
    ] {
        let from_clickhouse = analytics.stats(&q, &city).await.unwrap();
        assert_eq!(numbers(&from_clickhouse), numbers(&index.stats(&q, &city).unwrap()), "{q:?} {city:?}");
    }
}

#[tokio::test]
async fn clickhouse_is_rebuilt_from_the_log_resuming_after_an_interruption_and_keeping_retention() {
    use archive::rebuild::{Outcome, Silent, rebuild_clickhouse};
    use bus::{Bus, Topic};

    let config = config("rebuild_");
    let analytics = Analytics::connect(&config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
    let items: Vec<ClassifiedReport> = (0..300).map(item).collect();
    let records: Vec<(Topic, String, Vec<u8>)> =
        items.iter().map(|i| (Topic::Classified, i.report.id.to_string(), model::wire::encode(i))).collect();
    bus.publish_batch(&records).await.unwrap();
    // rows the log does not hold: a rebuild removes them
    analytics.insert(&rows(&(1000..1010).map(item).collect::<Vec<_>>(), OffsetDateTime::now_utc())).await.unwrap();

    // news kept 30 days, counted from 2026-12-01
    let retention: archive::Retention = toml::from_str("feed = \"30days\"").unwrap();
    let now = datetime!(2026-12-01 05:00 UTC);
    let kept: Vec<ClassifiedReport> = items.iter().filter(|i| retention.keeps(i, now)).cloned().collect();
    assert!(kept.len() < items.len() && kept.iter().any(|i| i.report.channel == Channel::Feed));

    // a log that gives nothing does not empty a ClickHouse that has reports
    let empty = Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("empty.redb")).unwrap());
    let refused = rebuild_clickhouse(&empty, &analytics, dir.path(), &retention, now, &Silent, None).await;
    assert!(matches!(refused, Err(archive::Error::Invalid(_))), "{refused:?}");
    assert_eq!(analytics.count().await.unwrap(), 10);
    let rebuild = |stop_after| rebuild_clickhouse(&bus, &analytics, dir.path(), &retention, now, &Silent, stop_after);
    let checkpoint = dir.path().join(format!("reindex-clickhouse-{}.json", config.database));
    assert!(matches!(rebuild(Some(100)).await.unwrap(), Outcome::Stopped { .. }));
    assert!(checkpoint.exists());
    let partial: u64 = analytics.client().query("SELECT count() FROM reports FINAL").fetch_one().await.unwrap();
    assert!(partial > 0 && partial < kept.len() as u64, "{partial}");
    // the second run resumes: it neither empties the tables again nor writes the first part again
    let Outcome::Done { read, written, .. } = rebuild(None).await.unwrap() else { panic!("not done") };
    assert_eq!(read, 300);
    assert_eq!(written + partial, kept.len() as u64);
    assert!(!checkpoint.exists());
    assert_counts_match(&analytics, &kept).await;

    // the live writer's retention: everything written and the days that
    // can no longer change sealed, then the old news removed
    analytics.truncate().await.unwrap();
    assert!(analytics.sealed_days(None, None).await.unwrap().is_empty());
    analytics.insert(&rows(&items, now)).await.unwrap();
    assert!(analytics.seal().await.unwrap().sealed > 0);
    apply_retention(&analytics, &retention.cutoffs(now)).await;
    assert_counts_match(&analytics, &kept).await;

    // old counts left in the rollup by region alone (a node of an older
    // build deleted the reports before it had the table) go in the next round
    analytics
        .client()
        .query(
            "INSERT INTO report_counts_by_region (province, regency, district, day, indicator, channel, reports) \
             SELECT '72', '72.71', '72.71.02', toDate('2026-10-05'), 'narkoba', 'feed', uniqExactState(toUInt64(1)) \
             FROM system.one",
        )
        .execute()
        .await
        .unwrap();
    apply_retention(&analytics, &retention.cutoffs(now)).await;
    assert_counts_match(&analytics, &kept).await;
    drop_database(&config).await;
}

/// A report that ClickHouse refuses for good (here: a constraint the table
/// was given) goes to `deadletter` with ClickHouse's reason; the rest of its
/// batch is written, the batch is committed, and the writer goes on.
#[tokio::test]
async fn a_row_clickhouse_refuses_for_good_is_set_aside_and_the_rest_written() {
    use bus::{Bus, Topic};

    let config = config("refused_");
    let analytics = Analytics::connect(&config).await.unwrap();
    // a column computed on insert that throws for one text (ClickHouse 18
    // has no CHECK constraints)
    analytics
        .client()
        .query("ALTER TABLE reports ADD COLUMN no_test_poison UInt8 MATERIALIZED throwIf(positionUTF8(text, 'racun-uji') > 0)")
        .execute()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
    let mut items: Vec<ClassifiedReport> = (0..40).map(item).collect();
    items[17].report.text = "laporan racun-uji".into();
    for it in &items {
        bus.publish(Topic::Classified, "72", &model::wire::encode(it)).await.unwrap();
    }
    let writer = tokio::spawn(archive::stage::run_analytics(
        bus.clone(),
        analytics.clone(),
        archive::Retention::default(),
        std::sync::Arc::new(model::SystemClock),
    ));
    // the positive signal: the refused report reaches deadletter
    let letters = common::eventually(std::time::Duration::from_secs(60), || async {
        let n = bus.length(Topic::Deadletter).unwrap().unwrap_or(0);
        (n > 0).then_some(n)
    })
    .await
    .expect("the refused report never reached deadletter");
    assert_eq!(letters, 1);
    let (letter, _) = bus.catch_up(Topic::Deadletter).await.unwrap();
    let letter: serde_json::Value = serde_json::from_slice(&letter[0].payload).unwrap();
    assert!(letter["reason"].as_str().unwrap().contains("throwIf"), "{letter}");
    let original: ClassifiedReport = model::wire::decode(letter["original"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(original.report.id, items[17].report.id);
    // the rows after the refused one are written after its letter (the
    // insert is halved until the refused row stands alone): wait for them
    let written = common::eventually(std::time::Duration::from_secs(60), || async {
        let n: u64 = analytics.client().query("SELECT count() FROM reports FINAL").fetch_one().await.ok()?;
        (n >= 39).then_some(n)
    })
    .await;
    assert_eq!(written, Some(39));
    assert!(!writer.is_finished(), "the writer stopped: {:?}", writer.await);
    writer.abort();
    drop_database(&config).await;
}

/// National stats questions over `STATS_PROBE_REPORTS` (20,000 in the test
/// run; 1,000,000 and 10,000,000 for BENCHMARKS.md) generated reports
/// inserted straight into ClickHouse (database `stats_probe_<count>`, kept
/// and reused) give the same answers with no day sealed and with the days
/// sealed; it prints p50/p99 ms of 30 runs after 2 warm-ups of each
/// (`STATS_PROBE_OPEN_RUNS` runs with no day sealed, for large counts).
/// `STATS_PROBE_REPORTS=1000000 cargo test --release --features services --test archive -- --nocapture national_stats_probe`
#[tokio::test]
async fn national_stats_probe() {
    let n: u64 = std::env::var("STATS_PROBE_REPORTS").map_or(20_000, |v| v.parse().unwrap());
    let mut config = config("");
    config.database = format!("stats_probe_{n}");
    let analytics = Analytics::connect(&config).await.unwrap();
    let client = analytics.client();
    let have = analytics.count().await.unwrap();
    // a year of reports: 514 regencies in 38 provinces, busy ones first,
    // five channels (40 % news), zero to two of ten indicators
    let started = std::time::Instant::now();
    let mut at = have;
    while at < n {
        let take = (n - at).min(1_000_000);
        client
            .query(&format!(
                "INSERT INTO reports (id, received_at, reported_at, channel, source, region, province, regency, \
                 regions, indicators, score, language, rules_version, title, text, indexed_at) \
                 SELECT generateUUIDv4(), t, t, ch, 'probe', reg, prov, reg, [reg], inds, 1.0, 'ind', 'probe', '', \
                 '', now() FROM (SELECT toDateTime(toUInt32(now()) - intHash64(number) % (365 * 86400)) AS t, \
                 toUInt32(floor(514 * pow((intHash32(number * 3) % 1000000) / 1000000, 2))) AS k, \
                 toString(11 + k % 38) AS prov, concat(prov, '.', toString(10 + intDiv(k, 38))) AS reg, \
                 ['feed', 'feed', 'feed', 'feed', 'app', 'app', 'sms', 'email', 'web', 'web'][1 + intHash32(number * 5) % 10] AS ch, \
                 arraySlice(['narkoba', 'konflik_sosial', 'kerukunan_beragama', 'ideologi', 'demokrasi', 'terorisme', \
                 'separatisme', 'kriminalitas', 'bencana', 'ekonomi'], 1 + intHash32(number * 7) % 10, \
                 intHash32(number * 11) % 3) AS inds FROM numbers({at}, {take}))"
            ))
            .execute()
            .await
            .unwrap();
        at += take;
    }
    let rollup_rows: u64 =
        client.query("SELECT count() FROM (SELECT 1 FROM report_counts_by_day GROUP BY day, indicator, province, regency, channel)").fetch_one().await.unwrap();
    println!("probe: {n} reports ({} inserted in {:?}), {rollup_rows} rollup rows", n - have, started.elapsed());
    let now = OffsetDateTime::now_utc();
    let questions = [
        (
            "bucket=month&from=<a year ago>",
            StatsQuery { bucket: Bucket::Month, from: Some(now - Duration::days(365)), ..Default::default() },
        ),
        (
            "indicator=narkoba&bucket=month&from=<a year ago>",
            StatsQuery {
                bucket: Bucket::Month,
                from: Some(now - Duration::days(365)),
                indicator: Some("narkoba".into()),
                ..Default::default()
            },
        ),
        ("from=<30 days ago>", StatsQuery { from: Some(now - Duration::days(30)), ..Default::default() }),
        (
            "by=regency&bucket=week&region=72&from=<90 days ago>",
            StatsQuery {
                by: By::Regency,
                bucket: Bucket::Week,
                region: Some(RegionCode::parse("72").unwrap()),
                from: Some(now - Duration::days(90)),
                ..Default::default()
            },
        ),
    ];
    let measure = |label: &'static str, runs: usize| {
        let analytics = analytics.clone();
        let questions = questions.clone();
        async move {
            let mut answers = Vec::new();
            for (name, q) in &questions {
                let mut ms = Vec::new();
                for i in 0..runs + 2 {
                    let t = std::time::Instant::now();
                    let stats = analytics.stats(q, &Scope::All).await.unwrap();
                    if i >= 2 {
                        ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    if i == 0 {
                        answers.push(numbers(&stats));
                    }
                }
                ms.sort_by(f64::total_cmp);
                let pct = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
                println!("probe: {n} {label}: {name}: p50 {:.1} p99 {:.1} ms", pct(0.5), pct(0.99));
            }
            answers
        }
    };
    for table in ["report_day_seals", "report_counts_sealed"] {
        client.query(&format!("TRUNCATE TABLE {table}")).execute().await.unwrap();
    }
    let open_runs = std::env::var("STATS_PROBE_OPEN_RUNS").map_or(30, |v| v.parse().unwrap());
    let open = measure("no day sealed", open_runs).await;
    let t = std::time::Instant::now();
    let sealing = analytics.seal().await.unwrap();
    println!("probe: {n} seal: {sealing:?} in {:?}", t.elapsed());
    let sealed = measure("days sealed", 30).await;
    assert_eq!(open, sealed);
}
