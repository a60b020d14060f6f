//! Responsible units: who must hear of an alert.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Level, RegionCode};

/// Alerts of `indicator` (every indicator when `None`) in `region` and below
/// are not notified until `until`; they are still raised and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    pub region: RegionCode,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    pub reason: String,
    /// The account that set it.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Silence {
    /// Whether this silence holds back an alert of `indicator` in `region` at `now`.
    pub fn covers(&self, indicator: &str, region: &RegionCode, now: OffsetDateTime) -> bool {
        now < self.until && self.indicator.as_deref().is_none_or(|i| i == indicator) && region.is_within(&self.region)
    }
}

/// A unit that acts on alerts: a Kesbangpol office, a BNN office, a K5 task force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    /// The regions it covers; `72` covers everything under `72.`.
    pub regions: Vec<RegionCode>,
    /// Indicator ids it handles; empty means all.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// Lowest level it wants to hear of.
    #[serde(default = "lowest")]
    pub min_level: Level,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    /// The unit escalated to when nobody here acknowledges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

fn lowest() -> Level {
    Level::Waspada
}

impl Unit {
    /// Whether this unit handles `indicator` at `level` in `region`.
    pub fn handles(&self, indicator: &str, level: Level, region: &RegionCode) -> bool {
        level >= self.min_level
            && (self.indicators.is_empty() || self.indicators.iter().any(|i| i == indicator))
            && self.regions.iter().any(|scope| region.is_within(scope))
    }
}
