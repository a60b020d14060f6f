//! Responsible units: who must hear of an alert.

use serde::{Deserialize, Serialize};

use crate::{Level, RegionCode};

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
