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
    let items: Vec<ClassifiedReport> = (0..400).map(item).collect();
    let now = OffsetDateTime::now_utc();
    analytics.insert(&rows(&items, now)).await.unwrap();
    // a replay of part of the log, written again later
    analytics.insert(&rows(&items[100..250], now + Duration::seconds(5))).await.unwrap();

    let client = analytics.client();
    let distinct: u64 = client.query("SELECT count() FROM reports FINAL").fetch_one().await.unwrap();
    assert_eq!(distinct, 400);

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
        // not whole days, and a district scope: answered from the raw reports
        (StatsQuery { from: Some(midnight + Duration::hours(5)), by: By::Regency, ..Default::default() }, Scope::All),
        (StatsQuery { by: By::Regency, ..Default::default() }, district.clone()),
        // below a regency: the main region cut to the level, from the raw reports
        (StatsQuery { by: By::District, ..Default::default() }, Scope::All),
        (StatsQuery { by: By::District, bucket: Bucket::Month, ..Default::default() }, district),
        (
            StatsQuery { by: By::Village, region: Some(RegionCode::parse("72.71").unwrap()), ..Default::default() },
            palu.clone(),
        ),
        (StatsQuery { region: Some(RegionCode::parse("72.71").unwrap()), ..Default::default() }, palu),
    ];
    for (q, scope) in &queries {
        let from_clickhouse = analytics.stats(q, scope).await.unwrap();
        let from_index = index.stats(q, scope).unwrap();
        assert!(!from_index.rows.is_empty(), "{q:?} {scope:?} counted nothing");
        assert_eq!(numbers(&from_clickhouse), numbers(&from_index), "{q:?} {scope:?}");
        assert_eq!(from_clickhouse.source, "clickhouse");
    }

    // the rollup holds the same counts as the raw table, day by day
    let mut rollup: Vec<(String, String, String, u64)> = client
        .query(
            "SELECT toString(day), toString(indicator), toString(province), toUInt64(uniqExactMerge(reports)) \
             FROM report_counts_by_day GROUP BY day, indicator, province",
        )
        .fetch_all()
        .await
        .unwrap();
    let mut raw: Vec<(String, String, String, u64)> = client
        .query(
            "SELECT toString(toDate(reported_at, 'Asia/Jakarta')) AS d, toString(ind), toString(province), \
             toUInt64(uniqExact(id)) FROM reports ARRAY JOIN indicators AS ind GROUP BY d, ind, province",
        )
        .fetch_all()
        .await
        .unwrap();
    rollup.sort();
    raw.sort();
    assert!(!rollup.is_empty());
    assert_eq!(rollup, raw);
    drop_database(&config).await;
}

#[tokio::test]
async fn migrations_run_from_empty_and_from_the_previous_version() {
    let fresh = config("migrate_fresh_");
    let analytics = Analytics::connect(&fresh).await.unwrap();
    let mut versions: Vec<u32> =
        analytics.client().query("SELECT version FROM schema_migrations").fetch_all().await.unwrap();
    versions.sort();
    assert_eq!(versions, [1, 2, 3]);
    // connecting again applies nothing twice
    let again = Analytics::connect(&fresh).await.unwrap();
    let count: u64 = again.client().query("SELECT count() FROM schema_migrations").fetch_one().await.unwrap();
    assert_eq!(count, 3);
    drop_database(&fresh).await;

    // a database as version 2 left it, with reports in it and its rollup of UUIDs
    let old = config("migrate_old_");
    let v2 = Analytics::connect_at_version(&old, 2).await.unwrap();
    let items: Vec<ClassifiedReport> = (0..120).map(item).collect();
    v2.insert(&rows(&items, OffsetDateTime::now_utc())).await.unwrap();
    let before = tables(&v2).await;
    assert!(before.contains(&"report_counts_daily".to_owned()), "{before:?}");
    assert!(!before.contains(&"report_counts_by_day".to_owned()), "{before:?}");

    // the new version replaces the rollup, filled from the reports already there
    let v3 = Analytics::connect(&old).await.unwrap();
    let after = tables(&v3).await;
    assert!(after.contains(&"report_counts_by_day".to_owned()), "{after:?}");
    assert!(!after.iter().any(|t| t.starts_with("report_counts_daily")), "{after:?}");
    let (_dir, index) = index_of(&items);
    for bucket in [Bucket::Day, Bucket::Week, Bucket::Month] {
        let q = StatsQuery { by: By::Regency, bucket, ..Default::default() };
        assert_eq!(numbers(&v3.stats(&q, &Scope::All).await.unwrap()), numbers(&index.stats(&q, &Scope::All).unwrap()));
    }
    // and new reports reach it through the view
    let more: Vec<ClassifiedReport> = (120..200).map(item).collect();
    v3.insert(&rows(&more, OffsetDateTime::now_utc())).await.unwrap();
    let all: Vec<ClassifiedReport> = (0..200).map(item).collect();
    let (_dir2, index2) = index_of(&all);
    let q = StatsQuery { by: By::Regency, ..Default::default() };
    assert_eq!(numbers(&v3.stats(&q, &Scope::All).await.unwrap()), numbers(&index2.stats(&q, &Scope::All).unwrap()));
    drop_database(&old).await;
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
    let Outcome::Done { read, written } = rebuild(None).await.unwrap() else { panic!("not done") };
    assert_eq!(read, 300);
    assert_eq!(written + partial, kept.len() as u64);
    assert!(!checkpoint.exists());
    assert_counts_match(&analytics, &kept).await;

    // the live writer's retention: everything written, then the old news removed
    analytics.truncate().await.unwrap();
    analytics.insert(&rows(&items, now)).await.unwrap();
    analytics.apply_retention(&retention.cutoffs(now)).await.unwrap();
    let done = common::eventually(std::time::Duration::from_secs(30), || async {
        (analytics.mutations_pending().await.unwrap() == 0).then_some(())
    })
    .await;
    assert!(done.is_some(), "ClickHouse did not finish deleting within 30 s");
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
    let written: u64 = analytics.client().query("SELECT count() FROM reports FINAL").fetch_one().await.unwrap();
    assert_eq!(written, 39);
    assert!(!writer.is_finished(), "the writer stopped: {:?}", writer.await);
    writer.abort();
    drop_database(&config).await;
}
