//! ClickHouse: the analytics store, when `[clickhouse]` is configured.
//!
//! The schema is kept to what both ClickHouse 18.16 (Debian, used in tests)
//! and current servers accept: DateTime, UUID, LowCardinality(String),
//! Array(String), plain numbers and String. Rows are written with RowBinary
//! (validation off, which 18.16 needs), so tests read typed rows back.

use ::clickhouse::{Client, Row};
use model::{Alert, ClassifiedReport, RegionCode, RegionLevel, Scope};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;
use std::collections::BTreeMap;

use crate::stats::{Bucket, By, DAY_OFFSET_HOURS, Stats, StatsQuery, date_of, day_number, is_midnight};

/// `[clickhouse]`: where analytics go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// HTTP interface, for example `http://127.0.0.1:8123`.
    pub url: String,
    /// Created when missing.
    #[serde(default = "default_database")]
    pub database: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

fn default_database() -> String {
    "kentongan".into()
}

/// One row of the `reports` table.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct ReportRow {
    #[serde(with = "::clickhouse::serde::uuid")]
    pub id: Uuid,
    #[serde(with = "::clickhouse::serde::time::datetime")]
    pub received_at: OffsetDateTime,
    #[serde(with = "::clickhouse::serde::time::datetime")]
    pub reported_at: OffsetDateTime,
    pub channel: String,
    pub source: String,
    /// The main region (the report's own, else the first found in the text); empty when unknown.
    pub region: String,
    pub province: String,
    pub regency: String,
    pub regions: Vec<String>,
    pub indicators: Vec<String>,
    pub score: f64,
    pub language: String,
    pub rules_version: String,
    pub title: String,
    pub text: String,
    #[serde(with = "::clickhouse::serde::time::datetime")]
    pub indexed_at: OffsetDateTime,
}

impl ReportRow {
    pub fn from_item(item: &ClassifiedReport, now: OffsetDateTime) -> Self {
        let r = &item.report;
        let c = &item.classification;
        let main: Option<&RegionCode> = r.region.as_ref().or(c.regions.first());
        let at_level = |level: RegionLevel| {
            main.and_then(|m| m.lineage().into_iter().find(|x| x.level() == level))
                .map(|x| x.to_string())
                .unwrap_or_default()
        };
        ReportRow {
            id: r.id.0,
            received_at: r.received_at,
            reported_at: r.reported_at,
            channel: r.channel.as_str().to_owned(),
            source: r.source.clone(),
            region: main.map(ToString::to_string).unwrap_or_default(),
            province: at_level(RegionLevel::Province),
            regency: at_level(RegionLevel::Regency),
            regions: c.regions.iter().map(ToString::to_string).collect(),
            indicators: c.indicators.iter().map(|i| i.id.to_string()).collect(),
            score: c.indicators.iter().map(|i| i.score).sum(),
            language: c.language.clone().unwrap_or_default(),
            rules_version: c.rules_version.to_string(),
            title: r.title.clone().unwrap_or_default(),
            text: r.text.clone(),
            indexed_at: now,
        }
    }
}

/// Versioned migrations, applied in order and recorded in
/// `schema_migrations`. Each statement may run again after a crash: tables
/// and views are created only when missing, and the backfill counts
/// distinct ids, so repeating it changes nothing.
const MIGRATIONS: &[(u32, &[&str])] = &[
    (
        1,
        &["CREATE TABLE IF NOT EXISTS reports (
            id UUID,
            received_at DateTime,
            reported_at DateTime,
            channel LowCardinality(String),
            source String,
            region String,
            province LowCardinality(String),
            regency LowCardinality(String),
            regions Array(String),
            indicators Array(String),
            score Float64,
            language LowCardinality(String),
            rules_version String,
            title String,
            text String,
            indexed_at DateTime
        ) ENGINE = ReplacingMergeTree(indexed_at)
        PARTITION BY toYYYYMM(received_at)
        ORDER BY (province, regency, received_at, id)"],
    ),
    (
        2,
        &[
            // distinct report ids per day (UTC+7), indicator, province, regency
            // and channel, kept by a materialised view on every insert; a
            // report inserted twice is counted once
            "CREATE TABLE IF NOT EXISTS report_counts_daily (
                day Date,
                indicator LowCardinality(String),
                province LowCardinality(String),
                regency LowCardinality(String),
                channel LowCardinality(String),
                reports AggregateFunction(uniqExact, UUID)
            ) ENGINE = AggregatingMergeTree()
            PARTITION BY toYYYYMM(day)
            ORDER BY (day, indicator, province, regency, channel)",
            "CREATE MATERIALIZED VIEW IF NOT EXISTS report_counts_daily_mv TO report_counts_daily AS
            SELECT toDate(reported_at, 'Asia/Jakarta') AS day, CAST(ind AS LowCardinality(String)) AS indicator,
                   province, regency, channel, uniqExactState(id) AS reports
            FROM reports ARRAY JOIN indicators AS ind
            GROUP BY day, indicator, province, regency, channel",
            "INSERT INTO report_counts_daily (day, indicator, province, regency, channel, reports)
            SELECT toDate(reported_at, 'Asia/Jakarta') AS day, ind AS indicator, province, regency, channel,
                   uniqExactState(id) AS reports
            FROM reports ARRAY JOIN indicators AS ind
            GROUP BY day, indicator, province, regency, channel",
            "CREATE TABLE IF NOT EXISTS alerts (
                id UUID,
                raised_at DateTime,
                indicator LowCardinality(String),
                level LowCardinality(String),
                region String,
                province LowCardinality(String),
                regency LowCardinality(String),
                count UInt32,
                score Float64,
                report_ids Array(String)
            ) ENGINE = ReplacingMergeTree()
            PARTITION BY toYYYYMM(raised_at)
            ORDER BY id",
        ],
    ),
    (
        3,
        &[
            // the daily rollup again, counting 64-bit hashes of the ids: a
            // whole year's counts merge in a third of the time, and months
            // can merge at once (ClickHouse hashes UUID sets poorly when they
            // grow). Two reports in one day's group share a hash with odds
            // of about n²/2⁶⁵.
            "CREATE TABLE IF NOT EXISTS report_counts_by_day (
                day Date,
                indicator LowCardinality(String),
                province LowCardinality(String),
                regency LowCardinality(String),
                channel LowCardinality(String),
                reports AggregateFunction(uniqExact, UInt64)
            ) ENGINE = AggregatingMergeTree()
            PARTITION BY toYYYYMM(day)
            ORDER BY (day, indicator, province, regency, channel)",
            "CREATE MATERIALIZED VIEW IF NOT EXISTS report_counts_by_day_mv TO report_counts_by_day AS
            SELECT toDate(reported_at, 'Asia/Jakarta') AS day, CAST(ind AS LowCardinality(String)) AS indicator,
                   province, regency, channel, uniqExactState(cityHash64(toString(id))) AS reports
            FROM reports ARRAY JOIN indicators AS ind
            GROUP BY day, indicator, province, regency, channel",
            "DROP TABLE IF EXISTS report_counts_daily_mv",
            "INSERT INTO report_counts_by_day (day, indicator, province, regency, channel, reports)
            SELECT toDate(reported_at, 'Asia/Jakarta') AS day, ind AS indicator, province, regency, channel,
                   uniqExactState(cityHash64(toString(id))) AS reports
            FROM reports ARRAY JOIN indicators AS ind
            GROUP BY day, indicator, province, regency, channel",
            "DROP TABLE IF EXISTS report_counts_daily",
        ],
    ),
    (
        4,
        &[
            // sealed days: plain counts at the rollup's grain, written by
            // `Analytics::seal` for days that can no longer change; `seal`
            // names the seal that wrote them, and they count only while
            // `report_day_seals` names that seal as its day's newest
            "CREATE TABLE IF NOT EXISTS report_counts_sealed (
                day Date,
                indicator LowCardinality(String),
                province LowCardinality(String),
                regency LowCardinality(String),
                channel LowCardinality(String),
                reports UInt64,
                seal UInt64,
                sealed_at DateTime
            ) ENGINE = MergeTree()
            PARTITION BY toYYYYMM(day)
            ORDER BY (day, indicator, province, regency, channel, seal)",
            // each day's seals (`seal` > 0, written after their counts) and
            // reopenings (`seal` = 0, written after a report for the day);
            // `at` is ClickHouse's clock when the seal started reading, or
            // when the day was reopened
            "CREATE TABLE IF NOT EXISTS report_day_seals (
                day Date,
                at DateTime,
                seal UInt64,
                written DateTime DEFAULT now()
            ) ENGINE = MergeTree()
            ORDER BY (day, at)",
            // sealed months: the sums of their days' seals, for questions by
            // month (a year by month reads about 12 x regencies x indicators
            // x channels rows however many reports there are); a month's seal
            // counts while no seal or reopening of its days is newer
            "CREATE TABLE IF NOT EXISTS report_counts_sealed_monthly (
                month Date,
                indicator LowCardinality(String),
                province LowCardinality(String),
                regency LowCardinality(String),
                channel LowCardinality(String),
                reports UInt64,
                seal UInt64,
                sealed_at DateTime
            ) ENGINE = MergeTree()
            PARTITION BY toYear(month)
            ORDER BY (month, indicator, province, regency, channel, seal)",
            // the same seals' counts by province alone (their regencies
            // summed: a report has one), for questions by province, which
            // then read about 1/14 of the rows
            "CREATE TABLE IF NOT EXISTS report_counts_sealed_provinces (
                day Date,
                indicator LowCardinality(String),
                province LowCardinality(String),
                channel LowCardinality(String),
                reports UInt64,
                seal UInt64,
                sealed_at DateTime
            ) ENGINE = MergeTree()
            PARTITION BY toYYYYMM(day)
            ORDER BY (day, indicator, province, channel, seal)",
            "CREATE TABLE IF NOT EXISTS report_counts_sealed_monthly_provinces (
                month Date,
                indicator LowCardinality(String),
                province LowCardinality(String),
                channel LowCardinality(String),
                reports UInt64,
                seal UInt64,
                sealed_at DateTime
            ) ENGINE = MergeTree()
            PARTITION BY toYear(month)
            ORDER BY (month, indicator, province, channel, seal)",
            // `seal` = 0: the month reopened (retention cut it part way)
            "CREATE TABLE IF NOT EXISTS report_month_seals (
                month Date,
                at DateTime,
                seal UInt64,
                written DateTime DEFAULT now()
            ) ENGINE = MergeTree()
            ORDER BY (month, at)",
            // the reports' counted columns in order of `reported_at`, for
            // the hours at either end of a stats question (`reports` is
            // ordered by region, so a span of time read all of it); a report
            // written twice is in it twice, and counted once (uniqExact)
            "CREATE TABLE IF NOT EXISTS reports_by_time (
                reported_at DateTime,
                id UUID,
                indicators Array(String),
                province LowCardinality(String),
                regency LowCardinality(String),
                region String,
                channel LowCardinality(String)
            ) ENGINE = MergeTree()
            PARTITION BY toYYYYMM(reported_at)
            ORDER BY reported_at",
            "CREATE MATERIALIZED VIEW IF NOT EXISTS reports_by_time_mv TO reports_by_time AS
            SELECT reported_at, id, indicators, province, regency, region, channel FROM reports",
            // (run again after a crash, or overlapping rows the view took:
            // copies count once)
            "INSERT INTO reports_by_time SELECT reported_at, id, indicators, province, regency, region, channel
            FROM reports",
        ],
    ),
    (
        5,
        &[
            // the daily sets again, ordered by region and down to the
            // district (the main region cut to it, empty when it does not
            // reach so deep): a question about a few regencies or districts
            // (a city analyst's) reads their rows alone, a year of them in
            // one range, where the day-first rollup had it read every day's
            // rows and `reports` every report of theirs
            "CREATE TABLE IF NOT EXISTS report_counts_by_region (
                province LowCardinality(String),
                regency LowCardinality(String),
                district String,
                day Date,
                indicator LowCardinality(String),
                channel LowCardinality(String),
                reports AggregateFunction(uniqExact, UInt64)
            ) ENGINE = AggregatingMergeTree()
            PARTITION BY toYear(day)
            ORDER BY (province, regency, district, day, indicator, channel)",
            "CREATE MATERIALIZED VIEW IF NOT EXISTS report_counts_by_region_mv TO report_counts_by_region AS
            SELECT province, regency,
                   if(length(splitByChar('.', region)) >= 3,
                      arrayStringConcat(arraySlice(splitByChar('.', region), 1, 3), '.'), '') AS district,
                   toDate(reported_at, 'Asia/Jakarta') AS day, CAST(ind AS LowCardinality(String)) AS indicator,
                   channel, uniqExactState(cityHash64(toString(id))) AS reports
            FROM reports ARRAY JOIN indicators AS ind
            GROUP BY province, regency, district, day, indicator, channel",
            // (run again after a crash, or overlapping rows the view took:
            // a report's hash counts once)
            "INSERT INTO report_counts_by_region (province, regency, district, day, indicator, channel, reports)
            SELECT province, regency,
                   if(length(splitByChar('.', region)) >= 3,
                      arrayStringConcat(arraySlice(splitByChar('.', region), 1, 3), '.'), '') AS district,
                   toDate(reported_at, 'Asia/Jakarta') AS day, ind AS indicator, channel,
                   uniqExactState(cityHash64(toString(id))) AS reports
            FROM reports ARRAY JOIN indicators AS ind
            GROUP BY province, regency, district, day, indicator, channel",
        ],
    ),
];

/// The newest schema version.
pub const SCHEMA_VERSION: u32 = 5;

/// A day (UTC+7) is sealed once its end is this many hours past, by
/// ClickHouse's clock: later, a report for it is rare (an import, a replay,
/// a LAPSITDA filed late) and reopens it.
pub const SEAL_AFTER_HOURS: i64 = 6;

/// How far behind ClickHouse's clock a writer's clock may be: a writer asks
/// ClickHouse whether to reopen a day only when the day may be sealed by its
/// own clock plus this much.
const CLOCK_SLACK: time::Duration = time::Duration::hours(1);

/// Days sealed in one insert (a month's counts, to bound memory).
const SEAL_CHUNK: usize = 31;

/// Superseded counts are deleted only when the seal or reopening that
/// superseded them was written this long ago: a stats question reads its
/// days' seals and then their counts within well under a second.
const SUPERSEDED_GRACE_SECONDS: u32 = 600;

/// A stats piece shorter than this reads `reports_by_time`, not `reports`.
const SHORT_SPAN: time::Duration = time::Duration::days(2);

/// Which of a day's rows in `report_day_seals` is its state: the newest by
/// `at`, a seal winning a tie (it read only after its second was over, so
/// it saw every report reopened in that second). Non-zero: the seal whose
/// counts stand for the day.
const DAY_STATE: &str = "argMax(seal, toUInt64(at) * 2 + (seal != 0))";

/// The moment day `n` may be sealed: its end plus [`SEAL_AFTER_HOURS`].
fn ripe_from(n: i64) -> OffsetDateTime {
    start_of_day(n + 1) + time::Duration::hours(SEAL_AFTER_HOURS)
}

/// [`ripe_from`] in ClickHouse, as Unix seconds, for a `Date` column `day`.
fn ripe_sql() -> String {
    format!("(toInt64(toUInt32(day)) + 1) * 86400 + {}", (SEAL_AFTER_HOURS - i64::from(DAY_OFFSET_HOURS)) * 3600)
}

/// What [`Analytics::seal`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sealing {
    /// Days sealed.
    pub sealed: usize,
    /// Days left open because ClickHouse began deleting rows while they
    /// were read; the next seal takes them.
    pub deferred: usize,
    /// Months sealed (from their days' seals).
    pub months: usize,
    /// Superseded (day or month, seal) counts deleted.
    pub discarded: usize,
}

/// A new seal's id: random, never 0 (a reopening).
fn new_seal() -> u64 {
    let (a, b) = Uuid::now_v7().as_u64_pair();
    (a ^ b).max(1)
}

/// The day number of `date`.
fn day_number_of(date: time::Date) -> i64 {
    i64::from(date.to_julian_day()) - i64::from(date_of(0).to_julian_day())
}

/// The first day of the month after the one `first` starts.
fn next_month(first: time::Date) -> time::Date {
    first
        .replace_day(1)
        .ok()
        .and_then(|d| d.checked_add(time::Duration::days(31)))
        .and_then(|d| d.replace_day(1).ok())
        .unwrap_or(first)
}

/// A condition that takes the counts of (day or month in `column`, seal) pairs.
fn which_seals(column: &str, days: &[(i64, u64)]) -> String {
    let mut by_seal: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (day, seal) in days {
        by_seal.entry(*seal).or_default().push(format!("'{}'", date_of(*day)));
    }
    let which: Vec<String> =
        by_seal.iter().map(|(seal, days)| format!("(seal = {seal} AND {column} IN ({}))", days.join(", "))).collect();
    format!("({})", which.join(" OR "))
}

/// The sealed months (column `m`, with their seal `ms`) from the month of
/// date `first` and before `end`: a month's newest seal, when no seal or
/// reopening of its days is newer.
fn valid_months_sql(first: Option<time::Date>, end: Option<time::Date>) -> String {
    let mut months = Vec::new();
    months.extend(first.map(|d| format!("month >= toDate('{d}')")));
    months.extend(end.map(|d| format!("month < toDate('{d}')")));
    let mut days = Vec::new();
    days.extend(first.map(|d| format!("day >= toDate('{d}')")));
    days.extend(end.map(|d| format!("day < toDate('{d}')")));
    let filter = |c: Vec<String>| if c.is_empty() { String::new() } else { format!("WHERE {}", c.join(" AND ")) };
    format!(
        "SELECT m, ms FROM (SELECT month AS m, {} AS ms, max(at) AS mat FROM report_month_seals {} \
         GROUP BY month HAVING ms != 0) ANY LEFT JOIN (SELECT toStartOfMonth(day) AS m, max(at) AS dat \
         FROM report_day_seals {} GROUP BY m) USING m WHERE dat <= mat",
        DAY_STATE,
        filter(months),
        filter(days)
    )
}

/// A part of a stats question (see [`Analytics::stats`]): whole days
/// from the daily rollup or the rollup by region (from the first day, and
/// before the end day, by day number), or a span of time from the reports
/// themselves.
enum Piece {
    Rollup(Option<i64>, Option<i64>),
    /// Whole days, from the first and before the end, from `report_counts_by_region`.
    Regions(Option<i64>, Option<i64>),
    Reports(Option<OffsetDateTime>, Option<OffsetDateTime>),
}

/// The midnight (UTC+7, as the rollup's days) that day `n` starts at.
fn start_of_day(n: i64) -> OffsetDateTime {
    let offset = time::UtcOffset::from_hms(DAY_OFFSET_HOURS, 0, 0).expect("valid offset");
    date_of(n).midnight().assume_offset(offset)
}

/// One row of the `alerts` table: an alert as raised.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct AlertRow {
    #[serde(with = "::clickhouse::serde::uuid")]
    pub id: Uuid,
    #[serde(with = "::clickhouse::serde::time::datetime")]
    pub raised_at: OffsetDateTime,
    pub indicator: String,
    pub level: String,
    pub region: String,
    pub province: String,
    pub regency: String,
    pub count: u32,
    pub score: f64,
    pub report_ids: Vec<String>,
}

impl AlertRow {
    pub fn from_alert(alert: &Alert) -> Self {
        let at = |level| alert.region.at_level(level).map(|c| c.to_string()).unwrap_or_default();
        AlertRow {
            id: alert.id,
            raised_at: alert.raised_at,
            indicator: alert.indicator.clone(),
            level: alert.level.as_str().to_owned(),
            region: alert.region.to_string(),
            province: at(RegionLevel::Province),
            regency: at(RegionLevel::Regency),
            count: u32::try_from(alert.count).unwrap_or(u32::MAX),
            score: alert.score,
            report_ids: alert.reports.iter().map(|r| r.id.to_string()).collect(),
        }
    }
}

#[derive(Debug, Row, Deserialize)]
struct DayCount {
    day: String,
    indicator: String,
    region: String,
    count: u64,
}

/// A connection to the analytics database.
#[derive(Clone)]
pub struct Analytics {
    client: Client,
    /// The client without the database, which may not exist yet.
    base: Client,
    database: String,
    /// The schema version it migrates to (older only in tests).
    schema: u32,
    /// Set once the database and its tables are there ([`Analytics::migrate`]).
    migrated: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The migration under way, which every caller waits for.
    migrating: std::sync::Arc<tokio::sync::Mutex<Option<Migration>>>,
}

/// A migration running on a task of its own ([`Analytics::migrate`]).
type Migration = tokio::task::JoinHandle<Result<(), Error>>;

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analytics")
    }
}

impl Analytics {
    /// Connects, creates the database when missing and applies pending migrations.
    pub async fn connect(config: &ClickHouseConfig) -> Result<Self, Error> {
        Self::connect_at_version(config, SCHEMA_VERSION).await
    }

    /// The database of `config`, not yet asked anything: a setting that can
    /// never work is an error here, and the server is first met by
    /// [`Analytics::migrate`], so a node can start while ClickHouse is away.
    pub fn new(config: &ClickHouseConfig) -> Result<Self, Error> {
        Self::at_version(config, SCHEMA_VERSION)
    }

    fn at_version(config: &ClickHouseConfig, upto: u32) -> Result<Self, Error> {
        let mut base = Client::default().with_url(&config.url).with_validation(false);
        if let Some(user) = &config.user {
            base = base.with_user(user);
        }
        if let Some(password) = &config.password {
            base = base.with_password(password);
        }
        if !config.database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::Config(format!(
                "clickhouse.database `{}` may hold only letters, digits and _",
                config.database
            )));
        }
        Ok(Self {
            client: base.clone().with_database(&config.database),
            base,
            database: config.database.clone(),
            schema: upto,
            migrated: Default::default(),
            migrating: Default::default(),
        })
    }

    /// Creates the database when missing and applies pending migrations,
    /// once: later calls return at once, and a failed attempt is made again
    /// by the next call. Every writer and reader calls it before its first
    /// query, so a server that was away when the node started is set up when
    /// it answers. The migration runs on a task of its own that every caller
    /// waits for: a caller that gives up (`/readyz`'s time limit, a client
    /// gone) leaves it running rather than cutting a long migration off for
    /// the next caller to begin again.
    pub async fn migrate(&self) -> Result<(), Error> {
        use std::sync::atomic::Ordering;
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut slot = self.migrating.lock().await;
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        let running = slot.get_or_insert_with(|| {
            let this = self.clone();
            tokio::spawn(async move { this.set_up().await })
        });
        let done = running.await;
        *slot = None;
        match done {
            Ok(Ok(())) => {
                self.migrated.store(true, Ordering::Release);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(e) => Err(Error::Config(format!("the ClickHouse migration stopped: {e}"))),
        }
    }

    async fn set_up(&self) -> Result<(), Error> {
        self.base.query(&format!("CREATE DATABASE IF NOT EXISTS {}", self.database)).execute().await?;
        self.client
            .query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, applied_at DateTime)
                 ENGINE = MergeTree ORDER BY version",
            )
            .execute()
            .await?;
        let applied: Vec<u32> = self.client.query("SELECT version FROM schema_migrations").fetch_all().await?;
        self.apply(&applied, self.schema).await
    }

    /// Whether `e` says the server was not reached (refused, reset, timed
    /// out), which passes, rather than that it refused what it was asked.
    pub fn unreachable(e: &Error) -> bool {
        matches!(e, Error::ClickHouse(::clickhouse::error::Error::Network(_) | ::clickhouse::error::Error::TimedOut))
    }

    /// Whether the schema has the seals (version 4).
    fn seals(&self) -> bool {
        self.schema >= 4
    }

    /// Whether the schema has the rollup by region (version 5).
    fn by_region(&self) -> bool {
        self.schema >= 5
    }

    /// Connects and migrates up to version `upto` only: how tests build a
    /// database as an older release left it.
    pub async fn connect_at_version(config: &ClickHouseConfig, upto: u32) -> Result<Self, Error> {
        let analytics = Self::at_version(config, upto)?;
        analytics.migrate().await?;
        Ok(analytics)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Applies the migrations not in `applied`, up to version `upto`.
    async fn apply(&self, applied: &[u32], upto: u32) -> Result<(), Error> {
        for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v <= upto) {
            if applied.contains(version) {
                continue;
            }
            tracing::info!(version, "applying ClickHouse migration");
            for sql in *statements {
                self.client.query(sql).execute().await?;
            }
            self.client
                .query("INSERT INTO schema_migrations (version, applied_at) SELECT ?, now()")
                .bind(*version)
                .execute()
                .await?;
        }
        Ok(())
    }

    /// How many report rows the `reports` table holds (before merges).
    pub async fn count(&self) -> Result<u64, Error> {
        Ok(self.client.query("SELECT count() FROM reports").fetch_one().await?)
    }

    /// The database this writes to.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Empties the tables that are rebuilt from the log: the seals first, so
    /// that a truncation interrupted part way leaves no sealed count
    /// standing for reports that are gone.
    pub async fn truncate(&self) -> Result<(), Error> {
        for table in [
            "report_month_seals",
            "report_day_seals",
            "report_counts_sealed_monthly",
            "report_counts_sealed_monthly_provinces",
            "report_counts_sealed",
            "report_counts_sealed_provinces",
            "reports",
            "reports_by_time",
            "report_counts_by_day",
            "report_counts_by_region",
            "alerts",
        ] {
            self.client.query(&format!("TRUNCATE TABLE IF EXISTS {table}")).execute().await?;
        }
        Ok(())
    }

    /// Removes, for each channel, the reports (their daily counts, and
    /// sealed counts alike) that happened before its cutoff, a midnight in
    /// UTC+7. ClickHouse deletes in the background; nothing is asked of it
    /// when there is nothing to delete. The counts go first, the reports
    /// last, so that an interrupted round is done again in full; and sealed
    /// counts left over (a seal that read the days just before they were
    /// deleted) are deleted in the next round.
    pub async fn apply_retention(&self, cutoffs: &[(model::Channel, OffsetDateTime)]) -> Result<(), Error> {
        for (channel, before) in cutoffs {
            let seconds = before.unix_timestamp();
            let day = date_of(day_number(*before)).to_string();
            let old: u64 = self
                .client
                .query(
                    "SELECT (SELECT count() FROM reports WHERE channel = ? AND reported_at < toDateTime(?)) \
                     + (SELECT count() FROM report_counts_sealed WHERE channel = ? AND day < toDate(?)) \
                     + (SELECT count() FROM report_counts_sealed_monthly \
                        WHERE channel = ? AND month < toStartOfMonth(toDate(?))) \
                     + (SELECT count() FROM report_counts_by_region WHERE channel = ? AND day < toDate(?))",
                )
                .bind(channel.as_str())
                .bind(seconds)
                .bind(channel.as_str())
                .bind(day.as_str())
                .bind(channel.as_str())
                .bind(day.as_str())
                .bind(channel.as_str())
                .bind(day.as_str())
                .fetch_one()
                .await?;
            if old == 0 {
                continue;
            }
            // the month the cutoff falls in, when not on its first day, is
            // read from its days until sealed again: reopened before the
            // deletions (a failure part way leaves it open) and after them
            // (a seal by another writer that read the month before they
            // existed is outdated by it, unless both fall in one second)
            let reopen = || async {
                self.client
                    .query(
                        "INSERT INTO report_month_seals (month, at, seal) \
                         SELECT toStartOfMonth(d), now(), 0 FROM (SELECT toDate(?) AS d) WHERE toDayOfMonth(d) != 1",
                    )
                    .bind(day.as_str())
                    .execute()
                    .await
            };
            reopen().await?;
            for table in ["report_counts_sealed_monthly", "report_counts_sealed_monthly_provinces"] {
                self.client
                    .query(&format!(
                        "ALTER TABLE {table} DELETE WHERE channel = ? AND month < toStartOfMonth(toDate(?))"
                    ))
                    .bind(channel.as_str())
                    .bind(day.as_str())
                    .execute()
                    .await?;
            }
            for table in [
                "report_counts_sealed",
                "report_counts_sealed_provinces",
                "report_counts_by_day",
                "report_counts_by_region",
            ] {
                self.client
                    .query(&format!("ALTER TABLE {table} DELETE WHERE channel = ? AND day < toDate(?)"))
                    .bind(channel.as_str())
                    .bind(day.as_str())
                    .execute()
                    .await?;
            }
            for table in ["reports_by_time", "reports"] {
                self.client
                    .query(&format!("ALTER TABLE {table} DELETE WHERE channel = ? AND reported_at < toDateTime(?)"))
                    .bind(channel.as_str())
                    .bind(seconds)
                    .execute()
                    .await?;
            }
            reopen().await?;
            tracing::info!(channel = channel.as_str(), before = %before, reports = old, "retention: deleting old reports in ClickHouse");
        }
        Ok(())
    }

    /// Whether ClickHouse still has deletions to finish.
    pub async fn mutations_pending(&self) -> Result<u64, Error> {
        Ok(self
            .client
            .query("SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0")
            .fetch_one()
            .await?)
    }

    /// Writes alerts as raised; an alert written twice is one row after merges.
    pub async fn insert_alerts(&self, rows: &[AlertRow]) -> Result<(), Error> {
        self.insert_into("alerts", rows).await
    }

    /// Writes `rows` into `table` in one insert.
    async fn insert_into<R: ::clickhouse::RowOwned + ::clickhouse::RowWrite>(
        &self,
        table: &str,
        rows: &[R],
    ) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.client.insert::<R>(table).await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await?;
        Ok(())
    }

    /// Daily counts for `GET /api/v1/stats`. When the question's regions fit
    /// the daily rollup (by province or regency, scope and region at
    /// province or regency level, and not regencies alone), its whole days
    /// come from the rollup and only the hours at either end, when `from` or
    /// `to` is not a midnight, from the reports themselves. Else, unless the
    /// question reaches villages, the whole days come from the rollup by
    /// region (regencies alone, districts) and the hours from the reports;
    /// and a question about villages is answered from the reports alone.
    pub async fn stats(&self, q: &StatsQuery, scope: &Scope) -> Result<Stats, Error> {
        let coarse = |c: &RegionCode| matches!(c.level(), RegionLevel::Province | RegionLevel::Regency);
        let scope_codes: Option<&[RegionCode]> = match scope {
            Scope::All => None,
            Scope::Regions(codes) => Some(codes),
        };
        if scope_codes.is_some_and(<[RegionCode]>::is_empty) {
            return Ok(Stats::from_days(q, "clickhouse", []));
        }
        // a question about regencies alone reads their rows of the rollup by
        // region (its key starts with the province and regency; `reports`
        // before version 5) faster than the rollup, whose key starts with the
        // day
        let narrow = |c: &RegionCode| c.level() != RegionLevel::Province;
        let regencies_only =
            q.region.as_ref().is_some_and(narrow) || scope_codes.is_some_and(|codes| codes.iter().all(narrow));
        let fits_rollup = matches!(q.by, By::Province | By::Regency)
            && !regencies_only
            && q.region.as_ref().is_none_or(coarse)
            && scope_codes.is_none_or(|codes| codes.iter().all(coarse));
        // else, down to districts, the rollup by region (a village is
        // deeper than it goes)
        let village = |c: &RegionCode| c.level() == RegionLevel::Village;
        let fits_regions = !fits_rollup
            && self.by_region()
            && q.by != By::Village
            && !q.region.as_ref().is_some_and(village)
            && !scope_codes.is_some_and(|codes| codes.iter().any(village));
        let mut pieces = Vec::new();
        if fits_rollup || fits_regions {
            // the first whole day, and the day the whole days end before
            let first = q.from.map(|f| day_number(f) + i64::from(!is_midnight(f)));
            let end = q.to.map(day_number);
            if first.zip(end).is_some_and(|(a, b)| a >= b) {
                pieces.push(Piece::Reports(q.from, q.to));
            } else {
                pieces.push(if fits_rollup { Piece::Rollup(first, end) } else { Piece::Regions(first, end) });
                if let (Some(from), Some(first)) = (q.from.filter(|f| !is_midnight(*f)), first) {
                    pieces.push(Piece::Reports(Some(from), Some(start_of_day(first))));
                }
                if let (Some(to), Some(end)) = (q.to.filter(|t| !is_midnight(*t)), end) {
                    pieces.push(Piece::Reports(Some(start_of_day(end)), Some(to)));
                }
            }
        } else {
            pieces.push(Piece::Reports(q.from, q.to));
        }
        let counted =
            futures_util::future::try_join_all(pieces.into_iter().map(|p| self.day_counts(q, scope_codes, p))).await?;
        Ok(Stats::from_days(q, "clickhouse", counted.into_iter().flatten()))
    }

    /// One piece of [`Self::stats`]: counts per day (or bucket), indicator
    /// and region of the question's regions, from the rollup or the reports.
    async fn day_counts(
        &self,
        q: &StatsQuery,
        scope_codes: Option<&[RegionCode]>,
        piece: Piece,
    ) -> Result<Vec<((i64, String, String), u64)>, Error> {
        // below a regency, the main region's code cut to the level (empty
        // when it does not reach that deep)
        let parts = |n: usize| {
            format!(
                "if(length(splitByChar('.', region)) >= {n}, \
                 arrayStringConcat(arraySlice(splitByChar('.', region), 1, {n}), '.'), '')"
            )
        };
        // (the rollup by region has the district as a column of its own)
        let by_region = matches!(piece, Piece::Regions(..));
        let column = match q.by {
            By::Province => "province".to_owned(),
            By::Regency => "regency".to_owned(),
            By::District if by_region => "district".to_owned(),
            By::District => parts(3),
            By::Village => parts(4),
        };
        // a region as a condition on the table's own key (province, regency)
        // where it can be: ClickHouse then reads only that region's rows
        // (the province too, for a regency: the key starts with it)
        let region_condition = |c: &RegionCode| match c.level() {
            RegionLevel::Province => format!("province = '{}'", c.as_str()),
            RegionLevel::Regency => format!("province = '{}' AND regency = '{}'", c.province(), c.as_str()),
            RegionLevel::District if by_region => format!(
                "province = '{}' AND regency = '{}' AND district = '{}'",
                c.province(),
                c.at_level(RegionLevel::Regency).map(|r| r.to_string()).unwrap_or_default(),
                c.as_str()
            ),
            _ => format!(
                "province = '{1}' AND regency = '{2}' AND (region = '{0}' OR startsWith(region, '{0}.'))",
                c.as_str(),
                c.province(),
                c.at_level(RegionLevel::Regency).map(|r| r.to_string()).unwrap_or_default()
            ),
        };
        let mut conditions: Vec<String> = Vec::new();
        if let Some(codes) = scope_codes {
            let any: Vec<String> = codes.iter().map(|c| format!("({})", region_condition(c))).collect();
            conditions.push(format!("({})", any.join(" OR ")));
        }
        if let Some(region) = &q.region {
            conditions.push(format!("({})", region_condition(region)));
        }
        if q.indicator.is_some() {
            conditions.push("indicator = ?".into());
        }
        if q.channel.is_some() {
            conditions.push("channel = ?".into());
        }
        let bucket = |day: &str| match q.bucket {
            Bucket::Day => day.to_owned(),
            Bucket::Week => format!("toMonday({day})"),
            Bucket::Month => format!("toStartOfMonth({day})"),
        };
        let filter = |extra: Vec<String>| {
            let all: Vec<String> = conditions.iter().cloned().chain(extra).collect();
            if all.is_empty() { String::new() } else { format!("WHERE {}", all.join(" AND ")) }
        };
        let day_range = |first: Option<i64>, end: Option<i64>| {
            let mut range = Vec::new();
            range.extend(first.map(|n| format!("day >= toDate('{}')", date_of(n))));
            range.extend(end.map(|n| format!("day < toDate('{}')", date_of(n))));
            range
        };
        let mut queries = Vec::new();
        match piece {
            Piece::Rollup(first, end) => {
                // by month: the whole months inside the question
                let months_from = first.map(|n| {
                    let d = date_of(n);
                    if d.day() == 1 { n } else { day_number_of(next_month(d)) }
                });
                let months_end = end.map(|n| day_number_of(date_of(n).replace_day(1).unwrap_or(date_of(n))));
                let by_month = q.bucket == Bucket::Month && months_from.zip(months_end).is_none_or(|(a, b)| a < b);
                let (sealed, months) = if by_month {
                    futures_util::future::try_join(
                        self.sealed_days(first, end),
                        self.sealed_months(months_from, months_end),
                    )
                    .await?
                } else {
                    (self.sealed_days(first, end).await?, Vec::new())
                };
                // sealed counts by province alone, when the question needs no more
                let province = |c: &RegionCode| c.level() == RegionLevel::Province;
                let provinces = q.by == By::Province
                    && q.region.as_ref().is_none_or(province)
                    && scope_codes.is_none_or(|codes| codes.iter().all(province));
                let (daily, monthly) = if provinces {
                    ("report_counts_sealed_provinces", "report_counts_sealed_monthly_provinces")
                } else {
                    ("report_counts_sealed", "report_counts_sealed_monthly")
                };
                // sealed months: plain sums of their newest seal's counts
                let mut covered: Vec<i64> = Vec::new();
                for (month, _) in &months {
                    covered.extend(*month..day_number_of(next_month(date_of(*month))));
                }
                if !months.is_empty() {
                    queries.push(format!(
                        "SELECT toString(month) AS d, toString(indicator) AS i, toString({column}) AS r, \
                         sum(reports) AS n FROM {monthly} {} GROUP BY d, i, r",
                        filter(vec![which_seals("month", &months)])
                    ));
                }
                // sealed days (but those of sealed months): the same
                let sealed: Vec<(i64, u64)> =
                    sealed.into_iter().filter(|(d, _)| covered.binary_search(d).is_err()).collect();
                if !sealed.is_empty() {
                    let mut extra = day_range(first, end);
                    extra.push(which_seals("day", &sealed));
                    queries.push(format!(
                        "SELECT toString({}) AS d, toString(indicator) AS i, toString({column}) AS r, \
                         sum(reports) AS n FROM {daily} {} GROUP BY d, i, r",
                        bucket("day"),
                        filter(extra)
                    ));
                }
                // open days: their sets of report hashes merged (the 64-bit
                // hashes merge quickly however many there are)
                let mut closed: Vec<i64> = sealed.iter().map(|(d, _)| *d).chain(covered).collect();
                closed.sort_unstable();
                let open = open_ranges(first, end, closed);
                if !open.is_empty() {
                    let ranges: Vec<Vec<String>> = open.into_iter().map(|(a, b)| day_range(a, b)).collect();
                    // (no condition when a range is open at both ends)
                    let mut extra = Vec::new();
                    if !ranges.iter().any(Vec::is_empty) {
                        let each: Vec<String> = ranges.iter().map(|r| format!("({})", r.join(" AND "))).collect();
                        extra.push(format!("({})", each.join(" OR ")));
                    }
                    queries.push(format!(
                        "SELECT toString({}) AS d, toString(indicator) AS i, toString({column}) AS r, \
                         toUInt64(uniqExactMerge(reports)) AS n FROM report_counts_by_day {} GROUP BY d, i, r",
                        bucket("day"),
                        filter(extra)
                    ));
                }
            }
            Piece::Regions(first, end) => {
                // the days' sets of report hashes merged: a report has one
                // day, so a week's or a month's merge counts each once
                queries.push(format!(
                    "SELECT toString({}) AS d, toString(indicator) AS i, toString({column}) AS r, \
                     toUInt64(uniqExactMerge(reports)) AS n FROM report_counts_by_region {} GROUP BY d, i, r",
                    bucket("day"),
                    filter(day_range(first, end))
                ));
            }
            Piece::Reports(from, to) => {
                let mut extra = Vec::new();
                extra.extend(from.map(|f| format!("reported_at >= toDateTime({})", f.unix_timestamp())));
                extra.extend(to.map(|t| {
                    format!("reported_at < toDateTime({})", t.unix_timestamp() + i64::from(t.nanosecond() > 0))
                }));
                // a short span (the hours at either end of a question) from
                // the reports in order of time, else from the region-ordered table
                let table = match (from, to) {
                    (Some(from), Some(to)) if to - from <= SHORT_SPAN => "reports_by_time",
                    _ => "reports",
                };
                // distinct reports per day, summed per week or month: a report has
                // one day, so the sums are distinct counts too, and ClickHouse
                // merges many small sets of UUIDs faster than a few large ones
                queries.push(format!(
                    "SELECT toString({}) AS d, i, r, sum(n) AS n FROM (\
                     SELECT toDate(reported_at, 'Asia/Jakarta') AS dd, toString(indicator) AS i, \
                     toString({column}) AS r, toUInt64(uniqExact(id)) AS n \
                     FROM {table} ARRAY JOIN indicators AS indicator {} GROUP BY dd, i, r) GROUP BY d, i, r",
                    bucket("dd"),
                    filter(extra)
                ));
            }
        }
        let counted = futures_util::future::try_join_all(queries.iter().map(|sql| self.fetch_counts(q, sql))).await?;
        Ok(counted.into_iter().flatten().collect())
    }

    /// Runs one stats query (its `?` the question's indicator, then its
    /// channel) and reads its rows as counts per day, indicator and region.
    async fn fetch_counts(&self, q: &StatsQuery, sql: &str) -> Result<Vec<((i64, String, String), u64)>, Error> {
        tracing::debug!(%sql, "stats query");
        let mut query = self.client.query(sql);
        if let Some(indicator) = &q.indicator {
            query = query.bind(indicator.as_str());
        }
        if let Some(channel) = q.channel {
            query = query.bind(channel.as_str());
        }
        let rows: Vec<DayCount> = query.fetch_all().await?;
        let mut days = Vec::with_capacity(rows.len());
        for row in rows {
            let date = time::Date::parse(&row.day, &time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|e| Error::Corrupt(format!("ClickHouse gave the day `{}`: {e}", row.day)))?;
            let n = i64::from(date.to_julian_day()) - i64::from(date_of(0).to_julian_day());
            days.push(((n, row.indicator, row.region), row.count));
        }
        Ok(days)
    }

    /// Writes rows; a row whose id is already there replaces it on merge.
    /// Then reopens the sealed days the rows fall on (see [`Self::seal`]).
    pub async fn insert(&self, rows: &[ReportRow]) -> Result<(), Error> {
        self.insert_into("reports", rows).await?;
        let late = OffsetDateTime::now_utc() + CLOCK_SLACK;
        let mut days: Vec<i64> =
            rows.iter().map(|r| day_number(r.reported_at)).filter(|d| ripe_from(*d) <= late).collect();
        days.sort_unstable();
        days.dedup();
        if days.is_empty() || !self.seals() {
            return Ok(());
        }
        // written after the reports, by ClickHouse's clock (the one seals
        // go by), for the days a seal may have taken
        let list: Vec<String> = days.iter().map(|d| format!("toDate('{}')", date_of(*d))).collect();
        self.client
            .query(&format!(
                "INSERT INTO report_day_seals (day, at, seal) SELECT day, now(), 0 FROM system.one \
                 ARRAY JOIN [{}] AS day WHERE {} <= toInt64(now())",
                list.join(", "),
                ripe_sql()
            ))
            .execute()
            .await?;
        Ok(())
    }

    /// Seals every day that can no longer change (its end
    /// [`SEAL_AFTER_HOURS`] past) and is not sealed: its counts at the
    /// rollup's grain are written to `report_counts_sealed`, so stats read
    /// plain sums for it instead of merging its sets of report hashes.
    ///
    /// Exact under crashes, repeats, concurrent seals and late reports:
    /// - a seal's counts carry its own id, and count only once its day's
    ///   marker in `report_day_seals`, written after them, names it: an
    ///   interrupted seal counts nothing, and a repeated one replaces;
    /// - a marker's time is ClickHouse's clock (in seconds) when the seal
    ///   started, and it reads only once that second is over; a report for
    ///   the day that it missed is followed by a reopening (by
    ///   [`Self::insert`]) in a later second, which is newer, so the day is
    ///   read from its sets again until sealed anew;
    /// - no day is sealed while ClickHouse deletes rows (retention), nor
    ///   marked when a deletion began while it was read.
    ///
    /// Counts superseded for 10 minutes are deleted. The ClickHouse writer
    /// (`stage::run_analytics`) seals when it starts, and each minute while
    /// it is caught up, so existing days are sealed with no manual step.
    pub async fn seal(&self) -> Result<Sealing, Error> {
        self.seal_days(true).await
    }

    /// What a seal interrupted between its counts and its markers leaves:
    /// the counts alone. Tests show with it that they count for nothing.
    pub async fn seal_without_marking(&self) -> Result<Sealing, Error> {
        self.seal_days(false).await
    }

    async fn seal_days(&self, mark: bool) -> Result<Sealing, Error> {
        let mut done = Sealing::default();
        if self.mutations_pending().await? > 0 {
            // a deletion under way could still remove rows a seal would count
            return Ok(done);
        }
        let started: u32 = self.client.query("SELECT toUInt32(now())").fetch_one().await?;
        // read only once the second `started` is over (see `DAY_STATE`)
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            let now: u32 = self.client.query("SELECT toUInt32(now())").fetch_one().await?;
            if now > started {
                break;
            }
        }
        let started_at = OffsetDateTime::from_unix_timestamp(started.into())
            .map_err(|e| Error::Corrupt(format!("ClickHouse gave the time {started}: {e}")))?;
        let ripe_before = date_of(day_number(started_at - time::Duration::hours(SEAL_AFTER_HOURS)));
        let open: Vec<String> = self
            .client
            .query(&format!(
                "SELECT toString(day) FROM (SELECT DISTINCT day FROM report_counts_by_day WHERE day < toDate('{ripe_before}')) \
                 WHERE day NOT IN (SELECT day FROM report_day_seals WHERE day < toDate('{ripe_before}') \
                 GROUP BY day HAVING {DAY_STATE} != 0) ORDER BY day"
            ))
            .fetch_all()
            .await?;
        let seal = new_seal();
        for (n, chunk) in open.chunks(SEAL_CHUNK).enumerate() {
            let days: Vec<String> = chunk.iter().map(|d| format!("toDate('{d}')")).collect();
            let days = days.join(", ");
            self.client
                .query(&format!(
                    "INSERT INTO report_counts_sealed \
                     (day, indicator, province, regency, channel, reports, seal, sealed_at) \
                     SELECT day, indicator, province, regency, channel, toUInt64(uniqExactMerge(reports)), \
                     {seal}, toDateTime({started}) FROM report_counts_by_day WHERE day IN ({days}) \
                     GROUP BY day, indicator, province, regency, channel"
                ))
                .execute()
                .await?;
            self.client
                .query(&format!(
                    "INSERT INTO report_counts_sealed_provinces \
                     (day, indicator, province, channel, reports, seal, sealed_at) \
                     SELECT day, indicator, province, channel, sum(reports), {seal}, toDateTime({started}) \
                     FROM report_counts_sealed WHERE seal = {seal} AND day IN ({days}) \
                     GROUP BY day, indicator, province, channel"
                ))
                .execute()
                .await?;
            if !mark {
                continue;
            }
            if self.deletion_began(started).await? {
                done.deferred = open.len() - n * SEAL_CHUNK;
                break;
            }
            self.client
                .query(&format!(
                    "INSERT INTO report_day_seals (day, at, seal) \
                     SELECT day, toDateTime({started}), {seal} FROM system.one ARRAY JOIN [{days}] AS day"
                ))
                .execute()
                .await?;
            done.sealed += chunk.len();
        }
        if mark && done.deferred == 0 {
            done.months = self.seal_months(started, ripe_before).await?;
        }
        if mark {
            for (counts, states, unit) in [
                ("report_counts_sealed", "report_day_seals", "day"),
                ("report_counts_sealed_provinces", "report_day_seals", "day"),
                ("report_counts_sealed_monthly", "report_month_seals", "month"),
                ("report_counts_sealed_monthly_provinces", "report_month_seals", "month"),
            ] {
                done.discarded += self.discard_superseded(counts, states, unit).await?;
            }
        }
        if done != Sealing::default() {
            tracing::info!(?done, "ClickHouse: days sealed");
        }
        Ok(done)
    }

    /// Whether ClickHouse is deleting rows, or began to since `started`
    /// (when a seal's counts may hold rows that are gone).
    async fn deletion_began(&self, started: u32) -> Result<bool, Error> {
        let deleting: u64 = self
            .client
            .query(
                "SELECT count() FROM system.mutations WHERE database = currentDatabase() \
                 AND (is_done = 0 OR create_time >= toDateTime(?))",
            )
            .bind(started)
            .fetch_one()
            .await?;
        Ok(deleting > 0)
    }

    /// Seals each month whose days are all ripe and whose days with reports
    /// are all sealed, and that is not sealed: the sums of its days' seals,
    /// marked in `report_month_seals` after them, at the seal's `started`.
    /// Returns how many months were sealed.
    async fn seal_months(&self, started: u32, ripe_before: time::Date) -> Result<usize, Error> {
        let ripe_months = ripe_before.replace_day(1).unwrap_or(ripe_before);
        let months: Vec<String> = self
            .client
            .query(&format!(
                "SELECT toString(m) FROM (SELECT DISTINCT toStartOfMonth(day) AS m FROM report_counts_by_day \
                 WHERE day < toDate('{ripe_months}')) WHERE m NOT IN (SELECT m FROM ({})) ORDER BY m",
                valid_months_sql(None, Some(ripe_months))
            ))
            .fetch_all()
            .await?;
        let mut sealed = 0;
        for month in months {
            let first = time::Date::parse(&month, &time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|e| Error::Corrupt(format!("ClickHouse gave the month `{month}`: {e}")))?;
            let (first, end) = (day_number_of(first), day_number_of(next_month(first)));
            let with_reports: Vec<u32> = self
                .client
                .query(&format!(
                    "SELECT DISTINCT toUInt32(day) FROM report_counts_by_day \
                     WHERE day >= toDate('{}') AND day < toDate('{}')",
                    date_of(first),
                    date_of(end)
                ))
                .fetch_all()
                .await?;
            let days = self.sealed_days(Some(first), Some(end)).await?;
            if with_reports.iter().any(|d| !days.iter().any(|(s, _)| *s == i64::from(*d))) || days.is_empty() {
                continue;
            }
            let seal = new_seal();
            self.client
                .query(&format!(
                    "INSERT INTO report_counts_sealed_monthly \
                     (month, indicator, province, regency, channel, reports, seal, sealed_at) \
                     SELECT toStartOfMonth(day) AS m, indicator, province, regency, channel, sum(reports), {seal}, \
                     toDateTime({started}) FROM report_counts_sealed WHERE {} \
                     GROUP BY m, indicator, province, regency, channel",
                    which_seals("day", &days)
                ))
                .execute()
                .await?;
            self.client
                .query(&format!(
                    "INSERT INTO report_counts_sealed_monthly_provinces \
                     (month, indicator, province, channel, reports, seal, sealed_at) \
                     SELECT month, indicator, province, channel, sum(reports), {seal}, toDateTime({started}) \
                     FROM report_counts_sealed_monthly WHERE seal = {seal} AND month = toDate('{month}') \
                     GROUP BY month, indicator, province, channel"
                ))
                .execute()
                .await?;
            if self.deletion_began(started).await? {
                break;
            }
            self.client
                .query(&format!(
                    "INSERT INTO report_month_seals (month, at, seal) \
                     SELECT toDate('{month}'), toDateTime({started}), {seal}"
                ))
                .execute()
                .await?;
            sealed += 1;
        }
        Ok(sealed)
    }

    /// Deletes the counts in `counts` of seals that can no longer count:
    /// their `unit` (day or month) has a newer seal or reopening in
    /// `states`, written long enough ago that no question still reads them.
    /// Returns how many (unit, seal) pairs went.
    async fn discard_superseded(&self, counts: &str, states: &str, unit: &str) -> Result<usize, Error> {
        let gone: Vec<(String, u64)> = self
            .client
            .query(&format!(
                "SELECT toString({unit}), seal FROM \
                 (SELECT {unit}, seal, any(sealed_at) AS counted_at FROM {counts} GROUP BY {unit}, seal) \
                 ANY INNER JOIN (SELECT {unit}, max(at) AS newest FROM {states} \
                 WHERE written < now() - {SUPERSEDED_GRACE_SECONDS} GROUP BY {unit}) USING {unit} \
                 WHERE counted_at < newest"
            ))
            .fetch_all()
            .await?;
        let mut by_seal: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for (at, seal) in &gone {
            by_seal.entry(*seal).or_default().push(format!("toDate('{at}')"));
        }
        for (seal, units) in by_seal {
            self.client
                .query(&format!("ALTER TABLE {counts} DELETE WHERE seal = {seal} AND {unit} IN ({})", units.join(", ")))
                .execute()
                .await?;
        }
        Ok(gone.len())
    }

    /// The sealed months from day `first` and before day `end` (the first
    /// days of months, as day numbers), each with its seal, in order.
    pub async fn sealed_months(&self, first: Option<i64>, end: Option<i64>) -> Result<Vec<(i64, u64)>, Error> {
        let months: Vec<(u32, u64)> = self
            .client
            .query(&format!(
                "SELECT toUInt32(m), ms FROM ({}) ORDER BY m",
                valid_months_sql(first.map(date_of), end.map(date_of))
            ))
            .fetch_all()
            .await?;
        Ok(months.into_iter().map(|(m, s)| (i64::from(m), s)).collect())
    }

    /// The sealed days from day `first` and before day `end` (day numbers),
    /// each with the seal whose counts stand for it, in order.
    pub async fn sealed_days(&self, first: Option<i64>, end: Option<i64>) -> Result<Vec<(i64, u64)>, Error> {
        let mut range = Vec::new();
        range.extend(first.map(|n| format!("day >= toDate('{}')", date_of(n))));
        range.extend(end.map(|n| format!("day < toDate('{}')", date_of(n))));
        let filter = if range.is_empty() { String::new() } else { format!("WHERE {}", range.join(" AND ")) };
        let days: Vec<(u32, u64)> = self
            .client
            .query(&format!(
                "SELECT toUInt32(day) AS d, {DAY_STATE} AS s FROM report_day_seals {filter} \
                 GROUP BY day HAVING s != 0 ORDER BY day"
            ))
            .fetch_all()
            .await?;
        Ok(days.into_iter().map(|(d, s)| (i64::from(d), s)).collect())
    }
}

/// The runs of days from day `first` and before day `end` (either open
/// ended) that are not among `sealed` (ascending), as (first, end) pairs.
fn open_ranges(
    first: Option<i64>,
    end: Option<i64>,
    sealed: impl IntoIterator<Item = i64>,
) -> Vec<(Option<i64>, Option<i64>)> {
    let mut out = Vec::new();
    let mut from = first;
    for day in sealed {
        if from.is_none_or(|f| f < day) {
            out.push((from, Some(day)));
        }
        from = Some(day + 1);
    }
    if end.is_none_or(|e| from.is_none_or(|f| f < e)) {
        out.push((from, end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_days_are_the_runs_between_sealed_ones() {
        assert_eq!(open_ranges(Some(10), Some(20), []), [(Some(10), Some(20))]);
        assert_eq!(open_ranges(None, None, []), [(None, None)]);
        assert_eq!(open_ranges(Some(10), Some(20), [10, 11, 15, 19]), [(Some(12), Some(15)), (Some(16), Some(19))]);
        assert_eq!(open_ranges(Some(10), Some(13), [10, 11, 12]), []);
        assert_eq!(open_ranges(None, None, [5, 7]), [(None, Some(5)), (Some(6), Some(7)), (Some(8), None)]);
    }

    #[test]
    fn a_day_may_be_sealed_six_hours_after_its_end_in_western_indonesian_time() {
        use time::macros::datetime;
        let day = day_number(datetime!(2026-11-29 12:00 UTC)); // 2026-11-29 19:00 in UTC+7
        // it ends at 2026-11-29 17:00 UTC; six hours later
        assert_eq!(ripe_from(day), datetime!(2026-11-29 23:00 UTC));
        assert_eq!(ripe_from(day).unix_timestamp(), (day + 1) * 86400 - 3600);
        assert!(ripe_sql().ends_with("+ -3600"));
    }

    #[test]
    fn the_next_month_starts_on_its_first_day() {
        use time::macros::date;
        assert_eq!(next_month(date!(2026 - 12 - 01)), date!(2027 - 01 - 01));
        assert_eq!(next_month(date!(2026 - 02 - 15)), date!(2026 - 03 - 01));
        assert_eq!(day_number_of(date!(1970 - 01 - 02)), 1);
    }
}
