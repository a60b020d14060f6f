//! The rule book: the rule set in force, rebuilt whenever it changes, on
//! every node that classifies or checks rules.
//!
//! The set is the base (the built-in pack, or the files of `rules.path`,
//! watched for changes) with the files admins put through the API on top:
//! those live on the compacted `rules` topic, keyed by file id. A file id
//! that names a base file (`narkoba` for `…/narkoba.toml`) replaces it.
//! A change that does not check is refused by the API; a broken file in the
//! folder is logged and the last good set stays in force.
//!
//! A file that declares `regions` is local to them (see [`crate::rules`]);
//! the API lets a regional admin change only files local to their regions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use model::wire;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Classifier, Error, RuleSet};

/// A rule file managed through the API: the value of the `rules` topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFileRecord {
    pub id: String,
    pub content: String,
    pub author: String,
    #[serde(default)]
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl RuleFileRecord {
    /// The name the file has in error messages and listings.
    pub fn file_name(id: &str) -> String {
        format!("api/{id}.toml")
    }
}

#[derive(Debug)]
struct Book {
    base: Vec<(String, String)>,
    api: BTreeMap<String, RuleFileRecord>,
    current: Arc<Classifier>,
    /// Why the last rebuild failed, if it did.
    problem: Option<String>,
}

/// The rule set in force. Cheap to clone.
///
/// Building a classifier (parsing every file, expanding word forms, the
/// automaton) takes a while for a large set, so it is done with no lock
/// held: readers keep the set in force meanwhile, and the lock is taken only
/// to swap. Changes are built one at a time, in the order they come.
#[derive(Debug, Clone)]
pub struct RuleBook {
    inner: Arc<RwLock<Book>>,
    building: Arc<Mutex<()>>,
    path: Option<PathBuf>,
}

fn stem(file: &str) -> &str {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    name.strip_suffix(".toml").unwrap_or(name)
}

/// The base with the API files on top (replacing a base file of the same name).
fn combine(base: &[(String, String)], api: &BTreeMap<String, RuleFileRecord>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = base.iter().filter(|(n, _)| !api.contains_key(stem(n))).cloned().collect();
    out.extend(api.values().map(|r| (RuleFileRecord::file_name(&r.id), r.content.clone())));
    out
}

fn parse(sources: &[(String, String)]) -> Result<RuleSet, Error> {
    let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    RuleSet::parse(&refs)
}

impl RuleBook {
    /// The built-in pack, or the rule files under `path`.
    pub fn new(path: Option<&Path>) -> Result<Self, Error> {
        let base = match path {
            Some(p) => RuleSet::read_sources(p)?,
            None => RuleSet::builtin_sources(),
        };
        let set = parse(&base)?;
        let book = Book { base, api: BTreeMap::new(), current: Arc::new(Classifier::new(set)), problem: None };
        Ok(Self { inner: Arc::new(RwLock::new(book)), building: Arc::default(), path: path.map(Path::to_owned) })
    }

    /// The classifier of the rule set in force.
    pub fn classifier(&self) -> Arc<Classifier> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).current.clone()
    }

    /// The files in force, as `(name, content)`.
    pub fn sources(&self) -> Vec<(String, String)> {
        let book = self.inner.read().unwrap_or_else(|e| e.into_inner());
        combine(&book.base, &book.api)
    }

    /// The API-managed files.
    pub fn api_files(&self) -> Vec<RuleFileRecord> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).api.values().cloned().collect()
    }

    /// The regions of the file in force that file id `id` is or replaces
    /// (empty for a national file), or `None` when there is no such file.
    pub fn file_regions(&self, id: &str) -> Option<Vec<model::RegionCode>> {
        let name = {
            let book = self.inner.read().unwrap_or_else(|e| e.into_inner());
            if book.api.contains_key(id) {
                RuleFileRecord::file_name(id)
            } else {
                book.base.iter().find(|(n, _)| stem(n) == id)?.0.clone()
            }
        };
        Some(self.classifier().rules().regions_of(&name).to_vec())
    }

    /// Why the folder's rules are not in force, if they are not.
    pub fn problem(&self) -> Option<String> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).problem.clone()
    }

    /// The rule set that would be in force with file `id` set to `content`
    /// (or removed, with `None`): what the API checks before saving.
    pub fn candidate(&self, id: &str, content: Option<&str>) -> Result<RuleSet, Error> {
        let book = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let mut api = book.api.clone();
        match content {
            Some(c) => {
                api.insert(
                    id.to_owned(),
                    RuleFileRecord {
                        id: id.to_owned(),
                        content: c.to_owned(),
                        author: String::new(),
                        note: String::new(),
                        updated_at: OffsetDateTime::UNIX_EPOCH,
                    },
                );
            }
            None => {
                api.remove(id);
            }
        }
        parse(&combine(&book.base, &api))
    }

    /// Puts `base` and `api` in force, building their classifier with no
    /// lock held; a set that does not parse leaves the last good one in
    /// force and is reported by [`RuleBook::problem`]. The caller holds
    /// `building` from before it read what it changes.
    fn rebuild(&self, base: Vec<(String, String)>, api: BTreeMap<String, RuleFileRecord>) {
        let in_force = self.classifier().rules().version.clone();
        let built = parse(&combine(&base, &api)).map(|set| {
            if set.version == in_force {
                return None;
            }
            tracing::info!(version = %set.version, rules = set.rules.len(), "rule set in force");
            metrics::counter!("kentongan_classifier_rule_reloads_total").increment(1);
            Some(Arc::new(Classifier::new(set)))
        });
        let mut book = self.inner.write().unwrap_or_else(|e| e.into_inner());
        (book.base, book.api) = (base, api);
        match built {
            Ok(classifier) => {
                if let Some(c) = classifier {
                    book.current = c;
                }
                book.problem = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "rules not reloaded: the last good set stays in force");
                metrics::counter!("kentongan_classifier_rule_errors_total").increment(1);
                book.problem = Some(e.to_string());
            }
        }
    }

    /// [`bus::View::apply`] on a blocking thread, for async callers (the
    /// API, after it publishes a change).
    pub async fn apply_blocking(&self, record: bus::Record) {
        let book = self.clone();
        let _ = tokio::task::spawn_blocking(move || bus::View::apply(&book, &record)).await;
    }

    /// [`RuleBook::candidate`] on a blocking thread.
    pub async fn candidate_blocking(&self, id: &str, content: Option<&str>) -> Result<RuleSet, Error> {
        let (book, id, content) = (self.clone(), id.to_owned(), content.map(str::to_owned));
        tokio::task::spawn_blocking(move || book.candidate(&id, content.as_deref()))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    /// Re-reads the folder when its files changed; runs until the process stops.
    pub async fn watch_folder(self) -> Result<(), Error> {
        let Some(path) = self.path.clone() else { return std::future::pending().await };
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let p = path.clone();
            let Ok(Ok(sources)) = tokio::task::spawn_blocking(move || RuleSet::read_sources(&p)).await else {
                continue;
            };
            let book = self.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let _one_at_a_time = book.building.lock().unwrap_or_else(|e| e.into_inner());
                let api = {
                    let inner = book.inner.read().unwrap_or_else(|e| e.into_inner());
                    if inner.base == sources {
                        return;
                    }
                    inner.api.clone()
                };
                book.rebuild(sources, api);
            })
            .await;
        }
    }
}

impl bus::View for RuleBook {
    fn apply(&self, record: &bus::Record) {
        let _one_at_a_time = self.building.lock().unwrap_or_else(|e| e.into_inner());
        let (base, mut api) = {
            let book = self.inner.read().unwrap_or_else(|e| e.into_inner());
            (book.base.clone(), book.api.clone())
        };
        if record.payload.is_empty() {
            if api.remove(&record.key).is_none() {
                return;
            }
        } else {
            match wire::decode::<RuleFileRecord>(&record.payload) {
                Ok(r) if api.get(&r.id) == Some(&r) => return,
                Ok(r) => {
                    api.insert(r.id.clone(), r);
                }
                Err(e) => {
                    tracing::warn!(key = %record.key, error = %e, "ignoring unreadable rule file record");
                    return;
                }
            }
        }
        self.rebuild(base, api);
    }
}

#[cfg(test)]
mod tests {
    use bus::{Record, Topic, View};

    use super::*;

    fn record(id: &str, content: &str) -> Record {
        let r = RuleFileRecord {
            id: id.into(),
            content: content.into(),
            author: "admin".into(),
            note: String::new(),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        };
        Record { topic: Topic::Rules, partition: 0, offset: 0, key: id.into(), payload: wire::encode(&r) }
    }

    #[test]
    fn api_files_add_replace_and_delete() {
        let book = RuleBook::new(None).unwrap();
        let builtin = book.classifier().rules().version.clone();
        let extra = "[[rule]]\nid = \"lokal.miras\"\nindicator = \"miras\"\nany = [\"miras oplosan\"]\n\
                     [threshold.miras]\nwindow = \"24h\"\nwaspada = 1\n";
        book.apply(&record("lokal", extra));
        let c = book.classifier();
        assert_ne!(c.rules().version, builtin);
        assert!(c.rules().rules.iter().any(|r| &*r.id == "lokal.miras"));
        // replacing a built-in file by its name
        book.apply(&record("narkoba", "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n"));
        assert!(!book.classifier().rules().rules.iter().any(|r| &*r.id == "narkoba.zat"));
        // a broken record keeps the last good set
        let before = book.classifier().rules().version.clone();
        book.apply(&record("rusak", "[[rule]]\nid = "));
        assert_eq!(book.classifier().rules().version, before);
        assert!(book.problem().is_some());
        // a candidate is checked without changing what is in force
        assert!(book.candidate("lain", Some("[[rule]]\nid = 1")).is_err());
        let tombstone = Record { payload: Vec::new(), ..record("rusak", "") };
        book.apply(&tombstone);
        assert!(book.problem().is_none());
    }

    #[test]
    fn a_files_regions_are_known_by_its_id() {
        let book = RuleBook::new(None).unwrap();
        assert_eq!(book.file_regions("narkoba"), Some(vec![]), "a built-in file is national");
        assert_eq!(book.file_regions("sulteng"), None);
        let local = "regions = [\"72\"]\n[[rule]]\nid = \"st\"\nindicator = \"narkoba\"\nany = [\"tramadol\"]\n";
        book.apply(&record("sulteng", local));
        assert_eq!(book.file_regions("sulteng"), Some(vec![model::RegionCode::parse("72").unwrap()]));
    }
}
