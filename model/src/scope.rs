//! What a caller may see: every region, or those under a set of region codes.

use serde::{Deserialize, Serialize};

use crate::RegionCode;

/// A caller's region scope. `Regions([72])` covers every code under `72.`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// National: every region, and reports with no region yet.
    All,
    Regions(Vec<RegionCode>),
}

impl Scope {
    /// Whether something in `region` is visible. A report without a region is
    /// visible only to national scope.
    pub fn covers(&self, region: Option<&RegionCode>) -> bool {
        match (self, region) {
            (Scope::All, _) => true,
            (Scope::Regions(scopes), Some(r)) => scopes.iter().any(|s| r.is_within(s)),
            (Scope::Regions(_), None) => false,
        }
    }

    /// Whether anything in `regions` is visible.
    pub fn covers_any(&self, regions: &[RegionCode]) -> bool {
        match self {
            Scope::All => true,
            Scope::Regions(_) => regions.iter().any(|r| self.covers(Some(r))),
        }
    }
}
