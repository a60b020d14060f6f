//! The unit book: every responsible unit, kept current from the `units`
//! topic; and the silences, from the `silences` topic.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use model::{Silence, Unit, wire};

impl bus::View for UnitBook {
    fn apply(&self, record: &bus::Record) {
        UnitBook::apply(self, &record.key, &record.payload);
    }
}

/// The current units, shared by every part of this node that needs them.
#[derive(Debug, Clone, Default)]
pub struct UnitBook {
    units: Arc<RwLock<BTreeMap<String, Unit>>>,
    /// Ids removed through the API, so that `units_file` does not bring them back.
    removed: Arc<RwLock<std::collections::HashSet<String>>>,
}

impl UnitBook {
    /// Applies one record of the `units` topic: a unit, or an empty value
    /// (a tombstone) that removes the unit with that key.
    pub fn apply(&self, key: &str, payload: &[u8]) {
        let mut units = self.units.write().unwrap_or_else(|e| e.into_inner());
        if payload.is_empty() {
            units.remove(key);
            self.removed.write().unwrap_or_else(|e| e.into_inner()).insert(key.to_owned());
            return;
        }
        self.removed.write().unwrap_or_else(|e| e.into_inner()).remove(key);
        match wire::decode::<Unit>(payload) {
            Ok(unit) => {
                units.insert(unit.id.clone(), unit);
            }
            Err(e) => tracing::warn!(key, error = %e, "ignoring unreadable unit record"),
        }
    }

    pub fn get(&self, id: &str) -> Option<Unit> {
        self.units.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// Whether the unit `id` exists or was removed: `units_file` leaves it be.
    pub fn known(&self, id: &str) -> bool {
        self.get(id).is_some() || self.removed.read().unwrap_or_else(|e| e.into_inner()).contains(id)
    }

    pub fn all(&self) -> Vec<Unit> {
        self.units.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }
}

/// The units a deployment starts with: `units_file`, TOML with one
/// `[[unit]]` table per unit, each with a stable `id`. A unit missing from
/// the `units` topic is added at start; the API's changes win after that.
pub fn load_seed(path: &std::path::Path) -> Result<Vec<Unit>, crate::Error> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        unit: Vec<Unit>,
    }
    let at = |m: String| crate::Error::Config(format!("units_file {}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
    let file: File = toml::from_str(&text).map_err(|e| at(e.to_string()))?;
    let ids: std::collections::HashSet<&str> = file.unit.iter().map(|u| u.id.as_str()).collect();
    if ids.len() != file.unit.len() {
        return Err(at("two units have the same id".into()));
    }
    for u in &file.unit {
        if u.id.trim().is_empty() || u.name.trim().is_empty() || u.regions.is_empty() {
            return Err(at(format!("unit `{}` needs an id, a name and at least one region", u.id)));
        }
        if let Some(parent) = &u.parent
            && !ids.contains(parent.as_str())
        {
            return Err(at(format!("unit `{}` has the parent `{parent}`, which is not in the file", u.id)));
        }
    }
    Ok(file.unit)
}

impl bus::View for SilenceBook {
    fn apply(&self, record: &bus::Record) {
        SilenceBook::apply(self, &record.key, &record.payload);
    }
}

/// The silences, shared by the alerter and the API on this node.
#[derive(Debug, Clone, Default)]
pub struct SilenceBook {
    silences: Arc<RwLock<BTreeMap<String, Silence>>>,
}

impl SilenceBook {
    /// Applies one record of the `silences` topic; an empty value removes.
    pub fn apply(&self, key: &str, payload: &[u8]) {
        let mut silences = self.silences.write().unwrap_or_else(|e| e.into_inner());
        if payload.is_empty() {
            silences.remove(key);
            return;
        }
        match wire::decode::<Silence>(payload) {
            Ok(silence) => {
                silences.insert(silence.id.clone(), silence);
            }
            Err(e) => tracing::warn!(key, error = %e, "ignoring unreadable silence record"),
        }
    }

    pub fn all(&self) -> Vec<Silence> {
        self.silences.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<Silence> {
        self.silences.read().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_seeded_from_a_file_with_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("units.toml");
        std::fs::write(
            &path,
            "[[unit]]\nid = \"sulteng\"\nname = \"Kesbangpol Sulawesi Tengah\"\nregions = [\"72\"]\n\n\
             [[unit]]\nid = \"palu\"\nname = \"Kesbangpol Kota Palu\"\nregions = [\"72.71\"]\nparent = \"sulteng\"\n\
             emails = [\"piket@palukota.go.id\"]\nmin_level = \"siaga\"\n",
        )
        .unwrap();
        let units = load_seed(&path).unwrap();
        assert_eq!(units.len(), 2);
        assert_eq!(units[1].parent.as_deref(), Some("sulteng"));
        assert_eq!(units[1].min_level, model::Level::Siaga);
        for (bad, says) in [
            ("[[unit]]\nid = \"a\"\nname = \"A\"\nregions = [\"99.99\"]\n", "99.99"),
            ("[[unit]]\nid = \"a\"\nname = \"A\"\nregions = [\"72\"]\nparent = \"b\"\n", "parent `b`"),
            ("[[unit]]\nid = \"a\"\nname = \"A\"\nregions = []\n", "at least one region"),
            ("[[unit]]\nid = \"a\"\nnama = \"A\"\n", "missing field `name`"),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = load_seed(&path).unwrap_err().to_string();
            assert!(e.contains("units.toml") && e.contains(says), "{e}");
        }
    }
}
