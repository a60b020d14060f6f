//! A synthetic archive of classified reports, and ways to compare what the
//! stores say about it.

use archive::clickhouse::ReportRow;
use archive::{SearchIndex, Stats};
use model::{Channel, Classification, ClassifiedReport, IndicatorHit, RegionCode, Report, ReportId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const REGIONS: [&str; 6] = ["72.71.02", "72.71", "72.03", "73.71", "11", "32.73.01"];
pub const INDICATORS: [&str; 5] = ["narkoba", "konflik_sosial", "kerukunan_beragama", "ideologi", "demokrasi"];

/// Report `n` of a varied archive: every 577 minutes from 2026-10-01 (both sides of
/// midnight in UTC+7), six regions, two channels, zero to two indicators.
pub fn item(n: u32) -> ClassifiedReport {
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
        reported_at: at,
        // some reports carry their region, others have it found in the text
        region: n.is_multiple_of(2).then(|| region.clone()),
        language: Some("ind".into()),
        ..Report::new(
            if n.is_multiple_of(4) { Channel::Feed } else { Channel::App },
            "uji",
            format!("laporan nomor {n}"),
            at + Duration::minutes(3),
        )
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

pub fn rows(items: &[ClassifiedReport], now: OffsetDateTime) -> Vec<ReportRow> {
    items.iter().map(|i| ReportRow::from_item(i, now)).collect()
}

pub fn index_of(items: &[ClassifiedReport]) -> (tempfile::TempDir, SearchIndex) {
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
pub fn numbers(stats: &Stats) -> (Vec<(String, String, String, u64)>, archive::stats::Totals) {
    let rows = stats.rows.iter().map(|r| (r.start.clone(), r.indicator.clone(), r.region.clone(), r.count)).collect();
    (rows, stats.totals.clone())
}
