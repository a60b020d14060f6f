//! The classifier: tags each report with indicators by rule, and watches
//! thresholds per indicator and region to raise alerts.
//!
//! - [`rules`]: the rule files admins edit, and their checker;
//! - [`engine`]: `classify(report) -> Classification`, a pure function;
//! - [`thresholds`]: sliding event-time windows that raise levels;
//! - [`stage`]: the bus loop (`reports` in, `classified` and `alerts` out).

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
