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
pub use search::{Export, Hit, SearchIndex, SearchQuery, SearchResult, Sort};
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
    /// A setting is wrong; the message says which.
    #[error("{0}")]
    Config(String),
    /// A file or folder of the archive could not be read or written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Something the archive stored cannot be read back; the message says
    /// what to delete or rebuild.
    #[error("{0}")]
    Corrupt(String),
    /// A worker thread panicked or was cancelled.
    #[error("{0} task failed: {1}")]
    Task(&'static str, String),
}

impl Error {
    /// A file operation on `path` that failed.
    pub(crate) fn io(what: impl std::fmt::Display, path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io { what: format!("{what} {}", path.display()), source }
    }

    /// Whether ClickHouse refused the rows themselves (a value it cannot
    /// parse or store, a constraint), so sending them again cannot succeed.
    pub fn rejects_rows(&self) -> bool {
        use ::clickhouse::error::Error as Ch;
        match self {
            Error::ClickHouse(Ch::BadResponse(message)) => clickhouse_code(message).is_some_and(|code| {
                // CANNOT_PARSE_*, TYPE_MISMATCH, ARGUMENT_OUT_OF_BOUND,
                // CANNOT_CONVERT_TYPE, INCORRECT_DATA, TOO_LARGE_STRING_SIZE,
                // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, CANNOT_INSERT_NULL,
                // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO, VIOLATED_CONSTRAINT
                matches!(code, 6 | 26 | 27 | 38 | 41 | 53 | 69 | 70 | 72 | 117 | 131 | 321 | 349 | 395 | 469)
            }),
            Error::ClickHouse(Ch::Custom(_) | Ch::SequenceMustHaveLength | Ch::DataFormat(_)) => true,
            _ => false,
        }
    }
}

/// The error code in a ClickHouse error message (`Code: 469. DB::Exception: …`).
fn clickhouse_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    rest[..rest.find(|c: char| !c.is_ascii_digit())?].parse().ok()
}

impl bus::Retryable for Error {
    fn retry(&self) -> bus::Retry {
        use ::clickhouse::error::Error as Ch;
        match self {
            Error::Bus(e) => e.retry(),
            Error::Invalid(_) | Error::Config(_) | Error::Corrupt(_) | Error::Query(_) => bus::Retry::Never,
            Error::ClickHouse(Ch::InvalidParams(_) | Ch::Unsupported(_) | Ch::SchemaMismatch(_)) => bus::Retry::Never,
            Error::ClickHouse(_) if self.rejects_rows() => bus::Retry::Never,
            // a server or network down, a disk full, a merge or a lock in the way
            Error::ClickHouse(_) | Error::Index(_) | Error::Io { .. } | Error::Task(..) => bus::Retry::Later,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bus::Retryable;

    #[test]
    fn clickhouse_errors_say_whether_rows_can_ever_be_taken() {
        let bad = |m: &str| Error::ClickHouse(::clickhouse::error::Error::BadResponse(m.into()));
        let refused = bad("Code: 469. DB::Exception: Constraint `c` for table r is violated. (VIOLATED_CONSTRAINT)");
        assert!(refused.rejects_rows());
        assert_eq!(refused.retry(), bus::Retry::Never);
        let busy = bad("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)");
        assert!(!busy.rejects_rows());
        assert_eq!(busy.retry(), bus::Retry::Later);
        assert_eq!(Error::ClickHouse(::clickhouse::error::Error::TimedOut).retry(), bus::Retry::Later);
        assert!(!bad("no code here").rejects_rows());
        assert_eq!(clickhouse_code("Code: 27. DB::Exception"), Some(27));
    }
}
