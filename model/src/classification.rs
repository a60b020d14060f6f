//! What the classifier found in a report.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{RegionCode, Report};

/// Which field of a report a term matched in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchField {
    Title,
    Text,
}

/// One matched term, with its place in the text, so every tag can be explained.
/// Strings are shared with the rule set, so classifying allocates little.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TermMatch {
    /// The term as written in the rule.
    #[schema(value_type = String)]
    pub term: Arc<str>,
    /// The id of the rule it belongs to.
    #[schema(value_type = String)]
    pub rule: Arc<str>,
    pub field: MatchField,
    /// Byte offsets into that field, end exclusive.
    pub start: usize,
    pub end: usize,
}

/// One indicator found in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndicatorHit {
    /// Indicator id, such as `narkoba`.
    #[schema(value_type = String)]
    pub id: Arc<str>,
    pub score: f64,
    /// Ids of the rules that fired.
    #[schema(value_type = Vec<String>)]
    pub rules: Vec<Arc<str>>,
    pub matches: Vec<TermMatch>,
}

/// The classifier's verdict on one report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Classification {
    /// Detected language, ISO 639-3: `ind`, `jav`, `sun`, `zsm` (Malay as
    /// written in Malaysia) or `eng`; none for a text without letters or in
    /// another script.
    #[serde(default)]
    pub language: Option<String>,
    pub indicators: Vec<IndicatorHit>,
    /// Regions this report is about: those named in the text (districts,
    /// regencies, provinces) within its own region if it has one, else its
    /// own region; those named in the text when it has none.
    pub regions: Vec<RegionCode>,
    /// The version of the rule set that produced this.
    #[schema(value_type = String)]
    pub rules_version: Arc<str>,
    #[serde(with = "time::serde::rfc3339")]
    pub classified_at: OffsetDateTime,
}

impl Classification {
    pub fn indicator(&self, id: &str) -> Option<&IndicatorHit> {
        self.indicators.iter().find(|i| &*i.id == id)
    }
}

/// The value of the `classified` topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClassifiedReport {
    pub report: Report,
    pub classification: Classification,
}
