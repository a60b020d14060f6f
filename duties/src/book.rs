//! The views duties keep in memory, both rebuilt from the log:
//! - [`TemplateBook`]: every version of every template, from the compacted
//!   `templates` topic (key `id/version`), on top of the built-in ones;
//! - [`FilingBook`]: which filings exist for a template and period, per
//!   region, from the `reports` topic (a filing counts once acknowledged,
//!   classified or not) and the `classified` topic (the indicators each
//!   was tagged with).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use bus::{Bus, Record, Topic, View};
use model::{ClassifiedReport, RegionCode, Report, ReportId, wire};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::template::{Template, builtins};

type Versions = BTreeMap<String, BTreeMap<u32, Arc<Template>>>;

/// Every version of every template this node knows. Cheap to clone.
#[derive(Clone)]
pub struct TemplateBook(Arc<RwLock<Versions>>);

impl Default for TemplateBook {
    /// The built-in templates, version 1.
    fn default() -> Self {
        let book = Self(Arc::default());
        for t in builtins() {
            book.insert(t);
        }
        book
    }
}

impl std::fmt::Debug for TemplateBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TemplateBook")
    }
}

impl TemplateBook {
    /// The key of a template version on the `templates` topic.
    pub fn key(template: &Template) -> String {
        format!("{}/{}", template.id, template.version)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Versions> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a version in (again: harmless).
    pub fn insert(&self, template: Template) {
        let mut all = self.0.write().unwrap_or_else(|e| e.into_inner());
        all.entry(template.id.clone()).or_default().insert(template.version, Arc::new(template));
    }

    /// The latest version of `id`.
    pub fn current(&self, id: &str) -> Option<Arc<Template>> {
        self.read().get(id).and_then(|v| v.values().next_back().cloned())
    }

    /// Version `version` of `id`.
    pub fn version(&self, id: &str, version: u32) -> Option<Arc<Template>> {
        self.read().get(id).and_then(|v| v.get(&version).cloned())
    }

    /// The latest version of every template, by id.
    pub fn list(&self) -> Vec<Arc<Template>> {
        self.read().values().filter_map(|v| v.values().next_back().cloned()).collect()
    }
}

impl View for TemplateBook {
    fn apply(&self, record: &Record) {
        if record.payload.is_empty() {
            return;
        }
        match wire::decode::<Template>(&record.payload) {
            Ok(t) => self.insert(t),
            Err(e) => tracing::warn!(key = %record.key, error = %e, "templates: skipping an unreadable record"),
        }
    }
}

/// One filing, as the compliance and roll-up views need it; the values
/// stay in the report (the archive keeps it).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FilingEntry {
    #[schema(value_type = String)]
    pub report: ReportId,
    pub version: u32,
    /// The account that filed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// When the filer made it: decides whether it was on time.
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The indicators its text was tagged with, once classified.
    pub indicators: Vec<String>,
    /// Its answers to choice fields, by field id: a stage's status.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub choices: BTreeMap<String, String>,
    /// Its files, by attachment field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<Document>,
    /// For a unit's filing, the region it was filed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<RegionCode>,
}

/// A file of a filing: what its attachment field recorded, and its place
/// in the report's attachments (`GET /api/v1/reports/{id}/attachments/{n}`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = FilingDocument)]
pub struct Document {
    /// The attachment field it was sent for.
    pub field: String,
    pub name: String,
    pub content_type: String,
    /// In bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, in hex: it is stored under it.
    pub sha256: String,
    /// Its place in the report's attachments, from 0.
    pub n: usize,
}

impl Document {
    /// The files of a filing's report, each with the field that names it.
    pub fn of(report: &Report) -> Vec<Document> {
        let Some(filing) = &report.filing else { return Vec::new() };
        report
            .attachments
            .iter()
            .enumerate()
            .filter_map(|(n, a)| {
                let field = filing.values.iter().find(|(_, v)| v["sha256"].as_str() == Some(a.sha256.as_str()))?.0;
                Some(Document {
                    field: field.clone(),
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    sha256: a.sha256.clone(),
                    n,
                })
            })
            .collect()
    }
}

/// A filing that carries files: its period, its region (for a unit's, the
/// region it was filed from) and unit.
#[derive(Debug, Clone)]
pub struct Attached {
    pub period: String,
    pub region: RegionCode,
    pub unit: Option<String>,
    pub entry: FilingEntry,
}

type Filed<K> = HashMap<(String, String), BTreeMap<K, Vec<FilingEntry>>>;

/// Which filings exist, by template and period, then region (or unit, for
/// a unit's filings). Cheap to clone.
#[derive(Clone, Default)]
pub struct FilingBook {
    filed: Arc<RwLock<Filed<RegionCode>>>,
    by_unit: Arc<RwLock<Filed<String>>>,
    loaded: Arc<AtomicBool>,
}

impl std::fmt::Debug for FilingBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FilingBook")
    }
}

/// What marks a filing in a record of `reports` or `classified`: the key of the report's
/// `filing` field (a text holding the same characters has its quotes escaped).
const MARK: &[u8] = b"\"filing\":";

impl FilingBook {
    /// Takes in a report that is a filing (others are ignored), with its
    /// indicators once classified. Taking one in again updates it.
    pub fn record(&self, report: &Report, indicators: Option<Vec<String>>) {
        let Some(filing) = &report.filing else { return };
        let at = (filing.template.clone(), filing.period.clone());
        match &filing.unit {
            Some(unit) => {
                let mut filed = self.by_unit.write().unwrap_or_else(|e| e.into_inner());
                Self::take(filed.entry(at).or_default().entry(unit.clone()).or_default(), report, indicators);
            }
            None => {
                let mut filed = self.filed.write().unwrap_or_else(|e| e.into_inner());
                Self::take(filed.entry(at).or_default().entry(filing.region.clone()).or_default(), report, indicators);
            }
        }
    }

    fn take(entries: &mut Vec<FilingEntry>, report: &Report, indicators: Option<Vec<String>>) {
        let Some(filing) = &report.filing else { return };
        match entries.iter_mut().find(|e| e.report == report.id) {
            Some(e) => {
                if let Some(i) = indicators {
                    e.indicators = i;
                }
            }
            None => entries.push(FilingEntry {
                report: report.id,
                version: filing.version,
                account: report.reporter.as_ref().and_then(|r| r.account.clone()),
                reported_at: report.reported_at,
                received_at: report.received_at,
                indicators: indicators.unwrap_or_default(),
                choices: filing
                    .values
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .filter(|(_, v)| v.chars().count() <= 200)
                    .collect(),
                documents: Document::of(report),
                from: filing.unit.as_ref().map(|_| filing.region.clone()),
            }),
        }
    }

    /// The filings of `template` for `period`, by region.
    pub fn filings(&self, template: &str, period: &str) -> BTreeMap<RegionCode, Vec<FilingEntry>> {
        let filed = self.filed.read().unwrap_or_else(|e| e.into_inner());
        filed.get(&(template.to_owned(), period.to_owned())).cloned().unwrap_or_default()
    }

    /// The filings of `template` for `period` made for units, by unit id.
    pub fn unit_filings(&self, template: &str, period: &str) -> BTreeMap<String, Vec<FilingEntry>> {
        let filed = self.by_unit.read().unwrap_or_else(|e| e.into_inner());
        filed.get(&(template.to_owned(), period.to_owned())).cloned().unwrap_or_default()
    }

    /// The filings of `template` that carry files, for the periods `period`
    /// admits and the regions `region` admits (a unit's filing by the
    /// region it was filed from).
    pub fn with_documents(
        &self,
        template: &str,
        period: impl Fn(&str) -> bool,
        region: impl Fn(&RegionCode) -> bool,
    ) -> Vec<Attached> {
        let mut out = Vec::new();
        let filed = self.filed.read().unwrap_or_else(|e| e.into_inner());
        for ((_, p), regions) in filed.iter().filter(|((t, p), _)| t == template && period(p)) {
            for (r, entries) in regions.iter().filter(|(r, _)| region(r)) {
                for e in entries.iter().filter(|e| !e.documents.is_empty()) {
                    out.push(Attached { period: p.clone(), region: r.clone(), unit: None, entry: e.clone() });
                }
            }
        }
        drop(filed);
        let filed = self.by_unit.read().unwrap_or_else(|e| e.into_inner());
        for ((_, p), units) in filed.iter().filter(|((t, p), _)| t == template && period(p)) {
            for (unit, entries) in units {
                for e in entries.iter().filter(|e| !e.documents.is_empty()) {
                    let Some(r) = e.from.clone().filter(|r| region(r)) else { continue };
                    out.push(Attached { period: p.clone(), region: r, unit: Some(unit.clone()), entry: e.clone() });
                }
            }
        }
        out
    }

    /// Whether the `reports` and `classified` topics have been read to their
    /// end once, so the view holds every filing made before this node started.
    pub fn loaded(&self) -> bool {
        self.loaded.load(Ordering::Relaxed)
    }

    fn set_loaded(&self) {
        if !self.loaded.swap(true, Ordering::Relaxed) {
            tracing::info!("filings view loaded");
        }
    }
}

impl View for FilingBook {
    fn apply(&self, record: &Record) {
        if !record.payload.windows(MARK.len()).any(|w| w == MARK) {
            return;
        }
        let taken = if record.topic == Topic::Classified {
            wire::decode::<ClassifiedReport>(&record.payload).map(|c| {
                let indicators = c.classification.indicators.iter().map(|i| i.id.to_string()).collect();
                self.record(&c.report, Some(indicators));
            })
        } else {
            wire::decode::<Report>(&record.payload).map(|r| self.record(&r, None))
        };
        if let Err(e) = taken {
            tracing::warn!(topic = record.topic.name(), offset = record.offset, error = %e, "filings: skipping an unreadable record");
        }
    }
}

/// Keeps `book` current from the `reports` and `classified` topics, from
/// their start, forever; it is [loaded](FilingBook::loaded) once it has read
/// what both held when this began (the exact end:
/// [`bus::Subscription::at_end`]). A filing counts from `reports`, where it
/// is once acknowledged by any ingest node, so one not yet classified (the
/// classifier behind, restarting or stopped) is not taken for missing by
/// reminders and summaries; its indicators come from `classified`. Records
/// are skipped without decoding unless they are filings.
pub async fn follow(bus: Bus, book: FilingBook) -> bus::Result<()> {
    let mut subs = [bus.replay(Topic::Reports).await?, bus.replay(Topic::Classified).await?];
    for sub in &mut subs {
        while !sub.at_end() {
            if let Some(record) = sub.next_or_end().await? {
                let _ = bus::contain("view of filings", || book.apply(&record));
            }
        }
    }
    book.set_loaded();
    let [reports, classified] = subs;
    tokio::try_join!(keep(reports, &book), keep(classified, &book)).map(|_| ())
}

/// Applies what arrives on `sub` to `book`, until the bus fails.
async fn keep(mut sub: bus::Subscription, book: &FilingBook) -> bus::Result<std::convert::Infallible> {
    loop {
        let record = sub.next().await?;
        let _ = bus::contain("view of filings", || book.apply(&record));
    }
}

#[cfg(test)]
mod tests {
    use model::{Channel, Filing, Reporter};
    use time::macros::datetime;

    use super::*;

    #[tokio::test]
    async fn the_filings_view_is_rebuilt_from_the_reports_and_classified_topics() {
        let dir = std::env::temp_dir().join(format!("duties-book-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bus = Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.join("bus.redb")).unwrap());
        let at = datetime!(2026-11-30 14:00 UTC);
        let palu = RegionCode::parse("72.71").unwrap();
        let filing = Report {
            region: Some(palu.clone()),
            reporter: Some(Reporter { account: Some("kesbang-palu".into()), ..Reporter::default() }),
            filing: Some(Filing {
                template: "lapsitda-harian".into(),
                version: 1,
                period: "2026-11-30".into(),
                region: palu.clone(),
                unit: None,
                values: BTreeMap::new(),
            }),
            ..Report::new(Channel::App, "lapsitda-harian", "Gangguan: \"filing\": bentrok antarwarga", at)
        };
        let plain = Report::new(Channel::App, "api", "a text that says \"filing\": and is none", at);
        for report in [&plain, &filing] {
            let c = ClassifiedReport {
                report: report.clone(),
                classification: model::Classification {
                    language: None,
                    indicators: vec![model::IndicatorHit {
                        id: "konflik_sosial".into(),
                        score: 1.0,
                        rules: Vec::new(),
                        matches: Vec::new(),
                    }],
                    regions: vec![palu.clone()],
                    rules_version: "t".into(),
                    classified_at: at,
                },
            };
            bus.publish(Topic::Reports, "72", &wire::encode(report)).await.unwrap();
            bus.publish(Topic::Classified, "72", &wire::encode(&c)).await.unwrap();
        }
        // acknowledged, not yet classified: filed all the same
        let sigi = RegionCode::parse("72.10").unwrap();
        let waiting = Report {
            region: Some(sigi.clone()),
            filing: Some(Filing { region: sigi.clone(), ..filing.filing.clone().unwrap() }),
            ..Report::new(Channel::App, "lapsitda-harian", "Situasi aman", at)
        };
        bus.publish(Topic::Reports, "72", &wire::encode(&waiting)).await.unwrap();
        let book = FilingBook::default();
        let task = tokio::spawn(follow(bus.clone(), book.clone()));
        while !book.loaded() {
            tokio::task::yield_now().await;
        }
        let found = book.filings("lapsitda-harian", "2026-11-30");
        assert_eq!(found.len(), 2);
        assert_eq!(found[&sigi].len(), 1);
        assert!(found[&sigi][0].indicators.is_empty());
        let entries = &found[&palu];
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].report, filing.id);
        assert_eq!(entries[0].account.as_deref(), Some("kesbang-palu"));
        assert_eq!(entries[0].indicators, ["konflik_sosial"]);
        // taken in once more (the api node applies its own filings at once): still one
        book.record(&filing, None);
        assert_eq!(book.filings("lapsitda-harian", "2026-11-30")[&palu][0].indicators, ["konflik_sosial"]);
        task.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_template_book_starts_with_the_builtins_and_takes_new_versions() {
        let book = TemplateBook::default();
        let first = book.current("lapsitda-harian").unwrap();
        assert_eq!(first.version, 1);
        let second = Template { version: 2, note: "ubah".into(), ..(*first).clone() };
        let record = Record {
            topic: Topic::Templates,
            partition: 0,
            offset: 0,
            key: TemplateBook::key(&second),
            payload: wire::encode(&second),
        };
        book.apply(&record);
        assert_eq!(book.current("lapsitda-harian").unwrap().version, 2);
        assert_eq!(book.version("lapsitda-harian", 1).unwrap().note, "bawaan");
        assert_eq!(book.list().len(), 2);
    }
}
