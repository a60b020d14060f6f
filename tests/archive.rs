//! The archive against the real ClickHouse that `tests/services/up` starts:
//! replays never double-count, the daily rollup matches the raw reports and
//! the search index, and migrations work from an empty database and from
//! the previous version.
#![cfg(feature = "services")]

use indexer::clickhouse::{AlertRow, ReportRow};
use indexer::stats::{Bucket, By, StatsQuery};
use indexer::{Analytics, ClickHouseConfig, SearchIndex, Stats};
use model::{Channel, Classification, ClassifiedReport, IndicatorHit, RegionCode, Report, ReportId, Scope};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn config(prefix: &str) -> ClickHouseConfig {
    let url = std::env::var("TEST_KENTONGAN_CLICKHOUSE")
        .expect("TEST_KENTONGAN_CLICKHOUSE is not set: start the services with tests/services/up and source its env");
    ClickHouseConfig { url, database: format!("{prefix}{}", uuid::Uuid::now_v7().simple()), user: None, password: None }
}

const REGIONS: [&str; 6] = ["72.71.02", "72.71", "72.03", "73.71", "11", "32.73.01"];
const INDICATORS: [&str; 5] = ["narkoba", "konflik_sosial", "kerukunan_beragama", "ideologi", "demokrasi"];

/// Report `n` of a varied archive: spread over 40 days and both sides of
/// midnight in UTC+7, six regions, two channels, zero to two indicators.
fn item(n: u32) -> ClassifiedReport {
    let at = datetime!(2026-10-01 00:00 UTC) + Duration::minutes(i64::from(n) * 577);
    let region = RegionCode::parse(REGIONS[n as usize % REGIONS.len()]).unwrap();
    let indicators: Vec<IndicatorHit> = (0..(n / 6) % 3)
        .map(|k| IndicatorHit {
            id: INDICATORS[(n + k) as usize % INDICATORS.len()].into(),
            score: 1.0 + f64::from(k),
            rules: vec![],
            matches: vec![],
        })
        .collect();
    let report = Report {
        id: ReportId(uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0000 + u128::from(n))),
        received_at: at + Duration::minutes(3),
        reported_at: at,
        channel: if n % 4 == 0 { Channel::Feed } else { Channel::App },
        source: "uji".into(),
        reporter: None,
        // some reports carry their region, others have it found in the text
        region: (n % 2 == 0).then(|| region.clone()),
        title: None,
        text: format!("laporan nomor {n}"),
        language: Some("ind".into()),
        attachments: vec![],
        location: None,
        external_id: None,
    };
    let classification = Classification {
        language: Some("ind".into()),
        indicators,
        regions: vec![region],
        rules_version: "uji".into(),
        classified_at: at,
    };
    ClassifiedReport { report, classification }
}

fn rows(items: &[ClassifiedReport], now: OffsetDateTime) -> Vec<ReportRow> {
    items.iter().map(|i| ReportRow::from_item(i, now)).collect()
}

fn index_of(items: &[ClassifiedReport]) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    let mut writer = index.writer().unwrap();
    for item in items {
        index.upsert(&writer, item).unwrap();
    }
    writer.commit().unwrap();
    index.reload().unwrap();
    (dir, index)
}

/// Rows and totals, without where they came from.
fn numbers(stats: &Stats) -> (Vec<(String, String, String, u64)>, indexer::stats::Totals) {
    let rows = stats.rows.iter().map(|r| (r.start.clone(), r.indicator.clone(), r.region.clone(), r.count)).collect();
    (rows, stats.totals.clone())
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
        (StatsQuery { by: By::Regency, ..Default::default() }, district),
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
             FROM report_counts_daily GROUP BY day, indicator, province",
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
async fn migrations_run_from_empty_and_from_version_one() {
    let fresh = config("migrate_fresh_");
    let analytics = Analytics::connect(&fresh).await.unwrap();
    let mut versions: Vec<u32> =
        analytics.client().query("SELECT version FROM schema_migrations").fetch_all().await.unwrap();
    versions.sort();
    assert_eq!(versions, [1, 2]);
    // connecting again applies nothing twice
    let again = Analytics::connect(&fresh).await.unwrap();
    let count: u64 = again.client().query("SELECT count() FROM schema_migrations").fetch_one().await.unwrap();
    assert_eq!(count, 2);
    drop_database(&fresh).await;

    // a database as version 1 left it, with reports in it
    let old = config("migrate_old_");
    let v1 = Analytics::connect_at_version(&old, 1).await.unwrap();
    let items: Vec<ClassifiedReport> = (0..120).map(item).collect();
    v1.insert(&rows(&items, OffsetDateTime::now_utc())).await.unwrap();
    let tables: Vec<String> = v1
        .client()
        .query("SELECT name FROM system.tables WHERE database = currentDatabase()")
        .fetch_all()
        .await
        .unwrap();
    assert!(!tables.contains(&"report_counts_daily".to_owned()), "{tables:?}");

    // the new version adds the rollup, filled from the reports already there
    let v2 = Analytics::connect(&old).await.unwrap();
    let (_dir, index) = index_of(&items);
    let q = StatsQuery { by: By::Regency, ..Default::default() };
    assert_eq!(numbers(&v2.stats(&q, &Scope::All).await.unwrap()), numbers(&index.stats(&q, &Scope::All).unwrap()));
    // and new reports reach it through the view
    let more: Vec<ClassifiedReport> = (120..200).map(item).collect();
    v2.insert(&rows(&more, OffsetDateTime::now_utc())).await.unwrap();
    let all: Vec<ClassifiedReport> = (0..200).map(item).collect();
    let (_dir2, index2) = index_of(&all);
    assert_eq!(numbers(&v2.stats(&q, &Scope::All).await.unwrap()), numbers(&index2.stats(&q, &Scope::All).unwrap()));
    drop_database(&old).await;
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
