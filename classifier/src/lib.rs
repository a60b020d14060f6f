//! The classifier: tags each report with indicators by rule, and watches
//! thresholds per indicator and region to raise alerts.
//!
//! - [`rules`]: the rule files admins edit, and their checker;
//! - [`engine`]: `classify(report) -> Classification`, a pure function;
//! - [`backtest`]: a candidate rule set beside the live one over archived
//!   reports, a pure function;
//! - [`thresholds`]: sliding event-time windows that raise levels;
//! - [`stage`]: the bus loop (`reports` in, `classified` and `alerts` out).

pub mod backtest;
pub mod book;
pub mod engine;
pub mod rules;
pub mod stage;
pub mod thresholds;

pub use book::{RuleBook, RuleFileRecord};
pub use engine::Classifier;
pub use rules::{RuleError, RuleSet};

/// Errors of the classifier.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more rule files are wrong; each line is `file:line:col: message`.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rules(Vec<RuleError>),
    #[error(transparent)]
    Bus(#[from] bus::Error),
    #[error("classifier task failed: {0}")]
    Task(String),
}

impl bus::Retryable for Error {
    fn retry(&self) -> bus::Retry {
        match self {
            // the rules are wrong until someone changes them
            Error::Rules(_) => bus::Retry::Never,
            Error::Bus(e) => e.retry(),
            // a panic in the stage's own work, outside any one report's
            Error::Task(_) => bus::Retry::Later,
        }
    }
}
