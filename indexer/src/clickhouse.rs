//! ClickHouse: the analytics store, when `[clickhouse]` is configured.
//!
//! The schema is kept to what both ClickHouse 18.16 (Debian, used in tests)
//! and current servers accept: DateTime, UUID, LowCardinality(String),
//! Array(String), plain numbers and String. Rows are written with RowBinary
//! (validation off, which 18.16 needs), so tests read typed rows back.

use ::clickhouse::{Client, Row};
use model::{ClassifiedReport, RegionCode, RegionLevel};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;

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

/// Versioned migrations, applied in order and recorded in `schema_migrations`.
const MIGRATIONS: &[(u32, &str)] = &[(
    1,
    "CREATE TABLE IF NOT EXISTS reports (
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
    ORDER BY (province, regency, received_at, id)",
)];

/// A connection to the analytics database.
#[derive(Clone)]
pub struct Analytics {
    client: Client,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Analytics")
    }
}

impl Analytics {
    /// Connects, creates the database when missing and applies pending migrations.
    pub async fn connect(config: &ClickHouseConfig) -> Result<Self, Error> {
        let mut base = Client::default().with_url(&config.url).with_validation(false);
        if let Some(user) = &config.user {
            base = base.with_user(user);
        }
        if let Some(password) = &config.password {
            base = base.with_password(password);
        }
        if !config.database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::Other(format!(
                "clickhouse.database `{}` may hold only letters, digits and _",
                config.database
            )));
        }
        base.query(&format!("CREATE DATABASE IF NOT EXISTS {}", config.database)).execute().await?;
        let client = base.with_database(&config.database);
        let analytics = Self { client };
        analytics.migrate().await?;
        Ok(analytics)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn migrate(&self) -> Result<(), Error> {
        self.client
            .query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, applied_at DateTime)
                 ENGINE = MergeTree ORDER BY version",
            )
            .execute()
            .await?;
        let applied: Vec<u32> = self.client.query("SELECT version FROM schema_migrations").fetch_all().await?;
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            tracing::info!(version, "applying ClickHouse migration");
            self.client.query(sql).execute().await?;
            self.client
                .query("INSERT INTO schema_migrations (version, applied_at) SELECT ?, now()")
                .bind(*version)
                .execute()
                .await?;
        }
        Ok(())
    }

    /// Writes rows; a row whose id is already there replaces it on merge.
    pub async fn insert(&self, rows: &[ReportRow]) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.client.insert::<ReportRow>("reports").await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await?;
        Ok(())
    }
}
