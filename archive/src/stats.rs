//! Statistics: how many reports each indicator had, per region and per day,
//! week or month. ClickHouse answers them when it is configured, the search
//! index otherwise; both give the same JSON, built here from daily counts.
//!
//! A report counts under its main region (its own region, else the first
//! found in the text) and on the day it happened (`reported_at`) in Western
//! Indonesian Time (UTC+7), once for each of its indicators. It is counted
//! only when its main region lies in the caller's scope.

use std::collections::BTreeMap;

use model::{Channel, RegionCode, RegionLevel, Scope};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

/// Days are counted in UTC+7, as ClickHouse's `toDate(reported_at, 'Asia/Jakarta')`.
pub const DAY_OFFSET_HOURS: i8 = 7;

/// The day number (days since 1970-01-01) of `at` in UTC+7.
pub fn day_number(at: OffsetDateTime) -> i64 {
    let local = at.to_offset(UtcOffset::from_hms(DAY_OFFSET_HOURS, 0, 0).expect("valid offset"));
    i64::from(local.date().to_julian_day() - EPOCH_JULIAN_DAY)
}

const EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// The date of day number `n`.
pub fn date_of(n: i64) -> Date {
    Date::from_julian_day(EPOCH_JULIAN_DAY + n as i32).unwrap_or(Date::MIN)
}

/// Whether `at` is a midnight in UTC+7 (a bound the daily rollup can answer).
pub fn is_midnight(at: OffsetDateTime) -> bool {
    let local = at.to_offset(UtcOffset::from_hms(DAY_OFFSET_HOURS, 0, 0).expect("valid offset"));
    local.time() == time::Time::MIDNIGHT
}

/// The width of a time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    #[default]
    Day,
    /// Weeks start on Monday.
    Week,
    Month,
}

impl Bucket {
    /// The first day of the bucket that holds `day`.
    pub fn start(self, day: Date) -> Date {
        match self {
            Bucket::Day => day,
            Bucket::Week => day - Duration::days(i64::from(day.weekday().number_days_from_monday())),
            Bucket::Month => day.replace_day(1).unwrap_or(day),
        }
    }
}

/// The region level counts are grouped by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum By {
    #[default]
    Province,
    Regency,
    District,
    Village,
}

impl By {
    pub fn level(self) -> RegionLevel {
        match self {
            By::Province => RegionLevel::Province,
            By::Regency => RegionLevel::Regency,
            By::District => RegionLevel::District,
            By::Village => RegionLevel::Village,
        }
    }

    pub fn of(level: RegionLevel) -> Self {
        match level {
            RegionLevel::Province => By::Province,
            RegionLevel::Regency => By::Regency,
            RegionLevel::District => By::District,
            RegionLevel::Village => By::Village,
        }
    }

    /// How many dots a code at this level has (`72.71.02`: 2).
    pub fn dots(self) -> usize {
        match self {
            By::Province => 0,
            By::Regency => 1,
            By::District => 2,
            By::Village => 3,
        }
    }
}

/// What is asked for. Time bounds are on `reported_at`, `[from, to)`.
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    pub indicator: Option<String>,
    /// Only reports whose main region is this one or below it.
    pub region: Option<RegionCode>,
    pub channel: Option<Channel>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub bucket: Bucket,
    pub by: By,
}

/// One count: reports with `indicator` in `region` in the bucket from `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Row {
    /// The first day of the bucket, `2026-11-23`.
    pub start: String,
    pub indicator: String,
    /// Empty when the reports have no region at this level.
    pub region: String,
    pub count: u64,
}

/// The answer of `GET /api/v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stats {
    pub bucket: Bucket,
    pub by: By,
    /// Where the numbers come from: `clickhouse` or `index`.
    pub source: String,
    /// Ordered by start, indicator, region.
    pub rows: Vec<Row>,
    /// Sums of `rows` by indicator and by region.
    pub totals: Totals,
    /// The names of the regions in `rows`.
    pub names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Totals {
    pub indicator: BTreeMap<String, u64>,
    pub region: BTreeMap<String, u64>,
}

impl Stats {
    /// Builds the answer from daily counts keyed by (day number, indicator, region).
    pub fn from_days(
        q: &StatsQuery,
        source: &str,
        days: impl IntoIterator<Item = ((i64, String, String), u64)>,
    ) -> Self {
        let mut buckets: BTreeMap<(Date, String, String), u64> = BTreeMap::new();
        for ((day, indicator, region), count) in days {
            *buckets.entry((q.bucket.start(date_of(day)), indicator, region)).or_default() += count;
        }
        let mut totals = Totals::default();
        let mut names = BTreeMap::new();
        let rows = buckets
            .into_iter()
            .map(|((start, indicator, region), count)| {
                *totals.indicator.entry(indicator.clone()).or_default() += count;
                *totals.region.entry(region.clone()).or_default() += count;
                if let Ok(code) = RegionCode::parse(&region) {
                    names.entry(region.clone()).or_insert_with(|| code.name().to_owned());
                }
                Row { start: start.to_string(), indicator, region, count }
            })
            .collect();
        Stats { bucket: q.bucket, by: q.by, source: source.to_owned(), rows, totals, names }
    }
}

/// The scope's region codes, or `None` for national scope.
pub fn scope_codes(scope: &Scope) -> Option<&[RegionCode]> {
    match scope {
        Scope::All => None,
        Scope::Regions(codes) => Some(codes),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn days_are_counted_in_western_indonesian_time() {
        assert_eq!(date_of(day_number(datetime!(2026-03-01 16:59 UTC))), date!(2026 - 03 - 01));
        assert_eq!(date_of(day_number(datetime!(2026-03-01 17:00 UTC))), date!(2026 - 03 - 02));
        assert!(is_midnight(datetime!(2026-03-01 17:00 UTC)));
        assert!(!is_midnight(datetime!(2026-03-01 00:00 UTC)));
    }

    #[test]
    fn buckets_start_on_the_first_day_monday_or_first_of_month() {
        let d = date!(2026 - 11 - 29); // a Sunday
        assert_eq!(Bucket::Day.start(d), d);
        assert_eq!(Bucket::Week.start(d), date!(2026 - 11 - 23));
        assert_eq!(Bucket::Month.start(d), date!(2026 - 11 - 01));
    }

    #[test]
    fn daily_counts_roll_up_into_buckets_and_totals() {
        let q = StatsQuery { bucket: Bucket::Month, ..Default::default() };
        let d1 = day_number(datetime!(2026-11-02 03:00 UTC));
        let d2 = day_number(datetime!(2026-11-20 03:00 UTC));
        let stats = Stats::from_days(
            &q,
            "index",
            [
                ((d1, "narkoba".to_owned(), "72".to_owned()), 2),
                ((d2, "narkoba".to_owned(), "72".to_owned()), 3),
                ((d2, "ideologi".to_owned(), "".to_owned()), 1),
            ],
        );
        assert_eq!(stats.rows.len(), 2);
        assert_eq!(
            stats.rows[1],
            Row { start: "2026-11-01".into(), indicator: "narkoba".into(), region: "72".into(), count: 5 }
        );
        assert_eq!(stats.totals.indicator["narkoba"], 5);
        assert_eq!(stats.totals.region[""], 1);
        assert_eq!(stats.names["72"], "Sulawesi Tengah");
    }
}
