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

    /// Whether every one of `regions` is inside this scope: what it takes to
    /// change something that spans them (an account, a unit). An empty list
    /// means national, which only national scope covers.
    pub fn covers_all(&self, regions: &[RegionCode]) -> bool {
        match self {
            Scope::All => true,
            Scope::Regions(_) => !regions.is_empty() && regions.iter().all(|r| self.covers(Some(r))),
        }
    }

    /// Whether `region` is inside this scope or encloses part of it: for an
    /// admin of `72.71`, both `72.71.02` and the province `72` above it, but
    /// not `72.01` or `73`.
    pub fn touches(&self, region: &RegionCode) -> bool {
        match self {
            Scope::All => true,
            Scope::Regions(scopes) => scopes.iter().any(|s| region.is_within(s) || s.is_within(region)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(list: &[&str]) -> Vec<RegionCode> {
        list.iter().map(|c| RegionCode::parse(c).unwrap()).collect()
    }

    #[test]
    fn covering_all_takes_every_region_and_touching_takes_the_line_above_and_below() {
        let palu = Scope::Regions(codes(&["72.71"]));
        let sulteng = Scope::Regions(codes(&["72"]));
        assert!(sulteng.covers_all(&codes(&["72", "72.71"])));
        assert!(!sulteng.covers_all(&codes(&["72", "73"])), "a unit that also covers 73");
        assert!(!sulteng.covers_all(&[]), "national");
        assert!(Scope::All.covers_all(&[]) && Scope::All.covers_all(&codes(&["73"])));
        let touched: Vec<bool> =
            codes(&["72", "72.71", "72.71.02", "72.01", "73", "71"]).iter().map(|r| palu.touches(r)).collect();
        assert_eq!(touched, [true, true, true, false, false, false]);
    }
}
