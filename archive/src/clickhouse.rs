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
use crate::stats::{Bucket, By, Stats, StatsQuery, is_midnight};

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
];

/// The newest schema version.
pub const SCHEMA_VERSION: u32 = 3;

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
    database: String,
}

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

    /// Connects and migrates up to version `upto` only: how tests build a
    /// database as an older release left it.
    pub async fn connect_at_version(config: &ClickHouseConfig, upto: u32) -> Result<Self, Error> {
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
        base.query(&format!("CREATE DATABASE IF NOT EXISTS {}", config.database)).execute().await?;
        let analytics = Self { client: base.with_database(&config.database), database: config.database.clone() };
        analytics
            .client
            .query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, applied_at DateTime)
                 ENGINE = MergeTree ORDER BY version",
            )
            .execute()
            .await?;
        let applied: Vec<u32> = analytics.client.query("SELECT version FROM schema_migrations").fetch_all().await?;
        analytics.apply(&applied, upto).await?;
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

    /// Empties the tables that are rebuilt from the log.
    /// How many report rows the `reports` table holds (before merges).
    pub async fn count(&self) -> Result<u64, Error> {
        Ok(self.client.query("SELECT count() FROM reports").fetch_one().await?)
    }

    /// The database this writes to.
    pub fn database(&self) -> &str {
        &self.database
    }

    pub async fn truncate(&self) -> Result<(), Error> {
        for table in ["reports", "report_counts_by_day", "alerts"] {
            self.client.query(&format!("TRUNCATE TABLE IF EXISTS {table}")).execute().await?;
        }
        Ok(())
    }

    /// Removes, for each channel, the reports (and their daily counts) that
    /// happened before its cutoff, a midnight in UTC+7. ClickHouse deletes in
    /// the background; nothing is asked of it when there is nothing to delete.
    pub async fn apply_retention(&self, cutoffs: &[(model::Channel, OffsetDateTime)]) -> Result<(), Error> {
        for (channel, before) in cutoffs {
            let seconds = before.unix_timestamp();
            let old: u64 = self
                .client
                .query("SELECT count() FROM reports WHERE channel = ? AND reported_at < toDateTime(?)")
                .bind(channel.as_str())
                .bind(seconds)
                .fetch_one()
                .await?;
            if old == 0 {
                continue;
            }
            let day = crate::stats::date_of(crate::stats::day_number(*before)).to_string();
            self.client
                .query("ALTER TABLE reports DELETE WHERE channel = ? AND reported_at < toDateTime(?)")
                .bind(channel.as_str())
                .bind(seconds)
                .execute()
                .await?;
            self.client
                .query("ALTER TABLE report_counts_by_day DELETE WHERE channel = ? AND day < toDate(?)")
                .bind(channel.as_str())
                .bind(day.as_str())
                .execute()
                .await?;
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

    /// Daily counts for `GET /api/v1/stats`: from the daily rollup when the
    /// question fits it (whole days, scope and region at province or regency
    /// level), else from the reports themselves.
    pub async fn stats(&self, q: &StatsQuery, scope: &Scope) -> Result<Stats, Error> {
        // below a regency, the main region's code cut to the level (empty
        // when it does not reach that deep)
        let parts = |n: usize| {
            format!(
                "if(length(splitByChar('.', region)) >= {n}, \
                 arrayStringConcat(arraySlice(splitByChar('.', region), 1, {n}), '.'), '')"
            )
        };
        let column = match q.by {
            By::Province => "province".to_owned(),
            By::Regency => "regency".to_owned(),
            By::District => parts(3),
            By::Village => parts(4),
        };
        let coarse = |c: &RegionCode| matches!(c.level(), RegionLevel::Province | RegionLevel::Regency);
        let scope_codes: Option<&[RegionCode]> = match scope {
            Scope::All => None,
            Scope::Regions(codes) => Some(codes),
        };
        let fits_rollup = matches!(q.by, By::Province | By::Regency)
            && q.from.is_none_or(is_midnight)
            && q.to.is_none_or(is_midnight)
            && q.region.as_ref().is_none_or(coarse)
            && scope_codes.is_none_or(|codes| codes.iter().all(coarse));
        // `region` codes at province or regency level as rollup conditions
        let level_match = |c: &RegionCode| {
            let col = if c.level() == RegionLevel::Province { "province" } else { "regency" };
            format!("{col} = '{}'", c.as_str())
        };
        // any level, on the main region
        let prefix_match = |c: &RegionCode| format!("(region = '{0}' OR startsWith(region, '{0}.'))", c.as_str());
        let mut conditions: Vec<String> = Vec::new();
        let (table, day, count, from_clause) = if fits_rollup {
            ("report_counts_by_day", "day", "uniqExactMerge(reports)", "report_counts_by_day")
        } else {
            (
                "reports",
                "toDate(reported_at, 'Asia/Jakarta')",
                "uniqExact(id)",
                "reports ARRAY JOIN indicators AS indicator",
            )
        };
        let region_condition = |c: &RegionCode| if fits_rollup { level_match(c) } else { prefix_match(c) };
        if let Some(codes) = scope_codes {
            if codes.is_empty() {
                return Ok(Stats::from_days(q, "clickhouse", []));
            }
            conditions.push(format!("({})", codes.iter().map(region_condition).collect::<Vec<_>>().join(" OR ")));
        }
        if let Some(region) = &q.region {
            conditions.push(region_condition(region));
        }
        if q.indicator.is_some() {
            conditions.push("indicator = ?".into());
        }
        if q.channel.is_some() {
            conditions.push("channel = ?".into());
        }
        let day_of = |t: OffsetDateTime| crate::stats::date_of(crate::stats::day_number(t)).to_string();
        if let Some(from) = q.from {
            conditions.push(if fits_rollup {
                format!("day >= toDate('{}')", day_of(from))
            } else {
                format!("reported_at >= toDateTime({})", from.unix_timestamp())
            });
        }
        if let Some(to) = q.to {
            conditions.push(if fits_rollup {
                format!("day < toDate('{}')", day_of(to))
            } else {
                format!("reported_at < toDateTime({})", to.unix_timestamp() + i64::from(to.nanosecond() > 0))
            });
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let bucket = |day: &str| match q.bucket {
            Bucket::Day => day.to_owned(),
            Bucket::Week => format!("toMonday({day})"),
            Bucket::Month => format!("toStartOfMonth({day})"),
        };
        let sql = if fits_rollup {
            // the rollup's 64-bit hashes merge quickly however many there are
            format!(
                "SELECT toString({}) AS d, toString(indicator) AS i, toString({column}) AS r, toUInt64({count}) AS n \
                 FROM {from_clause} {filter} GROUP BY d, i, r",
                bucket(day)
            )
        } else {
            // distinct reports per day, summed per week or month: a report has
            // one day, so the sums are distinct counts too, and ClickHouse
            // merges many small sets of UUIDs faster than a few large ones
            format!(
                "SELECT toString({}) AS d, i, r, sum(n) AS n FROM (\
                 SELECT {day} AS dd, toString(indicator) AS i, toString({column}) AS r, toUInt64({count}) AS n \
                 FROM {from_clause} {filter} GROUP BY dd, i, r) GROUP BY d, i, r",
                bucket("dd")
            )
        };
        tracing::debug!(table, %sql, "stats query");
        let mut query = self.client.query(&sql);
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
            let n = i64::from(date.to_julian_day()) - i64::from(crate::stats::date_of(0).to_julian_day());
            days.push(((n, row.indicator, row.region), row.count));
        }
        Ok(Stats::from_days(q, "clickhouse", days))
    }

    /// Writes rows; a row whose id is already there replaces it on merge.
    pub async fn insert(&self, rows: &[ReportRow]) -> Result<(), Error> {
        self.insert_into("reports", rows).await
    }
}
