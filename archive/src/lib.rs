//! The archive: every classified report in a tantivy index (search) and, when
//! configured, in ClickHouse (analytics). Both are views of the `classified`
//! topic: writes are idempotent by report id, and either can be rebuilt from
//! the log.
//!
//! - [`schema`]: the tantivy fields;
//! - [`search`]: queries, always limited to the caller's region scope;
//! - [`clickhouse`]: the analytics tables and their migrations;
//! - [`stage`]: the bus loop that feeds both.

pub mod clickhouse;
pub mod rebuild;
pub mod retention;
pub mod schema;
pub mod search;
pub mod stage;
pub mod stats;

pub use clickhouse::{Analytics, ClickHouseConfig};
pub use retention::Retention;
pub use search::{Hit, SearchIndex, SearchQuery, SearchResult, Sort};
pub use stats::{Stats, StatsQuery};

/// Errors of the archive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search query: {0}")]
    Query(#[from] tantivy::query::QueryParserError),
    #[error("ClickHouse: {0}")]
    ClickHouse(#[from] ::clickhouse::error::Error),
    #[error(transparent)]
    Bus(#[from] bus::Error),
    /// A request the caller must correct; the message says how.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Other(String),
}
