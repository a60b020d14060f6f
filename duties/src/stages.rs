//! Election stages: a template scheduled by stage (the built-in
//! `tahapan-pemilu`) is tracked as a board of regions by stage items. Each
//! stage names the choice field that holds its status (`status_nphd`); its
//! last option means done (`ditandatangani`). A status change is a filing
//! for the stage, so the log stays the record: the latest filing of a
//! region for a stage is its status, and the sequence of its filings is its
//! history, each with who made it and when, and its files.
//!
//! Also here: the file policy of attachment fields (which content types,
//! how large) and the checks of unit filers' ids.

use std::collections::BTreeMap;

use model::{RegionCode, RegionLevel};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Invalid;
use crate::book::{Document, FilingEntry};
use crate::filing::Values;
use crate::template::{Every, Field, FieldKind, Schedule, Template};

/// Most content types an attachment field may list.
pub const MAX_ACCEPT: usize = 30;
/// The largest `max_bytes` an attachment field may set: 1 GiB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Most units a template may name as filers, and the longest unit id.
pub const MAX_UNITS: usize = 1_000;
const MAX_UNIT_ID_CHARS: usize = 64;

/// Checks an attachment field's file policy as an admin defines it.
pub fn check_policy(field: &Field, at: &str) -> Result<(), Invalid> {
    if field.accept.len() > MAX_ACCEPT {
        return Err(Invalid::new(format!("{at}.accept"), format!("list at most {MAX_ACCEPT} content types")));
    }
    for (i, kind) in field.accept.iter().enumerate() {
        let ok = kind.split_once('/').is_some_and(|(family, sub)| {
            let word = |s: &str| {
                !s.is_empty()
                    && s.len() <= 100
                    && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".+-".contains(&b))
            };
            word(family) && (sub == "*" || word(sub))
        });
        if !ok {
            return Err(Invalid::new(
                format!("{at}.accept[{i}]"),
                "give a lowercase content type like `application/pdf`, or a family like `image/*`",
            ));
        }
    }
    if field.max_bytes.is_some_and(|m| m == 0 || m > MAX_FILE_BYTES) {
        return Err(Invalid::new(format!("{at}.max_bytes"), format!("give 1 to {MAX_FILE_BYTES} bytes")));
    }
    Ok(())
}

/// Whether `content_type` is one of `accept` (`image/*` takes every image).
pub fn accepts(accept: &[String], content_type: &str) -> bool {
    accept.iter().any(|a| match a.strip_suffix("/*") {
        Some(family) => content_type.split_once('/').is_some_and(|(f, _)| f == family),
        None => a == content_type,
    })
}

/// Why a file was refused by its field's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Larger than the field takes: 413.
    TooLarge(Invalid),
    /// Not a kind the field takes: 422.
    WrongKind(Invalid),
}

/// Checks a file sent for the attachment field `field`: its kind, as found
/// in its bytes (`None`: not one a report may carry, which the intake
/// refuses), and its size.
pub fn check_file(field: &Field, name: &str, content_type: Option<&str>, size: u64) -> Result<(), Refused> {
    let at = format!("files.{}", field.id);
    if let Some(max) = field.max_bytes
        && size > max
    {
        return Err(Refused::TooLarge(Invalid::new(
            at,
            format!("`{name}` is {size} bytes; {} takes files of at most {max} bytes", field.label),
        )));
    }
    if field.accept.is_empty() {
        return Ok(());
    }
    match content_type {
        Some(kind) if accepts(&field.accept, kind) => Ok(()),
        found => Err(Refused::WrongKind(Invalid::new(
            at,
            format!(
                "`{name}` is {}; {} takes only {}",
                found.unwrap_or("of a kind reports may not carry"),
                field.label,
                field.accept.join(", ")
            ),
        ))),
    }
}

/// Checks that each stage's status names a choice field of the template.
pub fn check_status_fields(schedule: &Schedule, fields: &[Field]) -> Result<(), Invalid> {
    for (i, stage) in schedule.stages.iter().enumerate() {
        let Some(status) = &stage.status else { continue };
        if !fields.iter().any(|f| f.id == *status && f.kind == FieldKind::Choice) {
            let choices: Vec<&str> =
                fields.iter().filter(|f| f.kind == FieldKind::Choice).map(|f| f.id.as_str()).collect();
            return Err(Invalid::new(
                format!("schedule.stages[{i}].status"),
                format!(
                    "give the id of a choice field, whose last option means done; the template's choice fields: {}",
                    if choices.is_empty() { "none".to_owned() } else { choices.join(", ") }
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the unit ids a template names as filers (whether each unit
/// exists is for the caller, who has the unit book).
pub fn check_units(units: &[String]) -> Result<(), Invalid> {
    if units.len() > MAX_UNITS {
        return Err(Invalid::new("filers.units", format!("list at most {MAX_UNITS} units")));
    }
    for (i, unit) in units.iter().enumerate() {
        if unit.trim().is_empty() || unit.chars().count() > MAX_UNIT_ID_CHARS || unit.chars().any(char::is_control) {
            return Err(Invalid::new(format!("filers.units[{i}]"), "give a unit's id, like `kesbangpol-palu`"));
        }
        if units[..i].contains(unit) {
            return Err(Invalid::new(format!("filers.units[{i}]"), format!("`{unit}` is listed twice")));
        }
    }
    Ok(())
}

/// A filing for a stage must give the stage's status.
pub fn check_filing(template: &Template, period: &str, values: &Values) -> Result<(), Invalid> {
    if template.definition.schedule.every != Every::Stage {
        return Ok(());
    }
    let Some(stage) = template.stage(period) else { return Ok(()) };
    let Some(status) = &stage.status else { return Ok(()) };
    if values.contains_key(status) {
        return Ok(());
    }
    let options = template.field(status).map(|f| f.options.join(", ")).unwrap_or_default();
    Err(Invalid::new(
        format!("values.{status}"),
        format!("is required for a filing of stage {} ({}): give one of {options}", stage.id, stage.name),
    ))
}

/// One stage item of the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StageItem)]
pub struct Item {
    /// The stage's id: the period of its filings.
    pub id: String,
    pub name: String,
    /// The day it is due, in each region's own zone.
    pub due: String,
    /// The choice field holding its status; without one, done once filed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_field: Option<String>,
    /// The status options, the last meaning done.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// The regions on the board that are not done with it ("who has not
    /// yet"), by code.
    pub not_done: Vec<RegionCode>,
}

/// One region's standing on one stage item.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StageCell)]
pub struct Cell {
    pub stage: String,
    /// The status its latest filing gave, like `ditandatangani`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub done: bool,
    /// How many filings it made for the stage (each a change).
    pub filings: usize,
    /// The latest change: when the filer made it, when it came in, who
    /// (shown to admins and operators), and its report.
    #[serde(with = "time::serde::rfc3339::option")]
    pub changed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub received_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// Its supporting documents for the stage, from every filing, newest
    /// first; each downloads from `/api/v1/reports/{report}/attachments/{n}`.
    pub documents: Vec<StageDocument>,
}

/// A supporting document, with the report that carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageDocument {
    pub report: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(flatten)]
    pub document: Document,
}

/// One region of the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StageRow)]
pub struct BoardRow {
    pub region: RegionCode,
    pub name: &'static str,
    pub level: RegionLevel,
    /// One per stage item, in the items' order.
    pub cells: Vec<Cell>,
}

/// Counts for one stage item, over the filers of one level under one region
/// (or the nation).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StageTotals)]
pub struct ItemTotals {
    pub stage: String,
    /// The region they lie in; none for the whole country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    pub name: &'static str,
    /// The level of the regions counted.
    pub filers: RegionLevel,
    pub expected: usize,
    pub done: usize,
    /// Filed, but not (yet) done.
    pub in_progress: usize,
    pub not_filed: usize,
    /// `done / expected`, from 0 to 1.
    pub done_rate: f64,
}

/// The election-stage board of a template over some regions.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StageBoard)]
pub struct Board {
    pub template: String,
    pub version: u32,
    pub items: Vec<Item>,
    /// By region code.
    pub rows: Vec<BoardRow>,
    /// Per item: national first, then by region code and level.
    pub totals: Vec<ItemTotals>,
}

/// The filings of a stage template, by stage id, then region.
pub type ByStage = BTreeMap<String, BTreeMap<RegionCode, Vec<FilingEntry>>>;

/// Whether `template` is tracked by stage; else what to give instead.
pub fn by_stage(template: &Template) -> Result<(), Invalid> {
    if template.definition.schedule.every == Every::Stage {
        Ok(())
    } else {
        Err(Invalid::new(
            "template",
            format!("{} is not scheduled by election stage; give a template like tahapan-pemilu", template.id),
        ))
    }
}

/// The board of `template` (scheduled by stage) for `regions`, from their
/// filings by stage.
pub fn board(template: &Template, regions: &[RegionCode], filings: &ByStage) -> Board {
    let stages = &template.definition.schedule.stages;
    let none = BTreeMap::new();
    let rows: Vec<BoardRow> = regions
        .iter()
        .map(|region| BoardRow {
            region: region.clone(),
            name: region.name(),
            level: region.level(),
            cells: stages
                .iter()
                .map(|stage| {
                    let entries = filings.get(&stage.id).unwrap_or(&none).get(region).map(Vec::as_slice);
                    cell(template, &stage.id, entries.unwrap_or_default())
                })
                .collect(),
        })
        .collect();
    let items = stages
        .iter()
        .enumerate()
        .map(|(i, stage)| Item {
            id: stage.id.clone(),
            name: stage.name.clone(),
            due: stage.due.clone(),
            status_field: stage.status.clone(),
            options: stage
                .status
                .as_deref()
                .and_then(|f| template.field(f))
                .map(|f| f.options.clone())
                .unwrap_or_default(),
            not_done: rows.iter().filter(|r| !r.cells[i].done).map(|r| r.region.clone()).collect(),
        })
        .collect();
    Board { template: template.id.clone(), version: template.version, items, totals: totals(stages, &rows), rows }
}

/// Whether `status` is the done option of stage `stage`'s status field; a
/// stage without a status field is done once filed.
fn is_done(template: &Template, stage: &str, status: Option<&str>, filed: bool) -> bool {
    match template.stage(stage).and_then(|s| s.status.as_deref()) {
        None => filed,
        Some(field) => {
            let last = template.field(field).and_then(|f| f.options.last());
            status.is_some() && last.map(String::as_str) == status
        }
    }
}

fn status_of<'a>(template: &Template, stage: &str, entry: &'a FilingEntry) -> Option<&'a str> {
    let field = template.stage(stage)?.status.as_deref()?;
    entry.choices.get(field).map(String::as_str)
}

fn cell(template: &Template, stage: &str, entries: &[FilingEntry]) -> Cell {
    let latest = entries.iter().max_by_key(|e| (e.received_at, e.report));
    let status = latest.and_then(|e| status_of(template, stage, e));
    let mut documents: Vec<StageDocument> = Vec::new();
    let mut newest: Vec<&FilingEntry> = entries.iter().collect();
    newest.sort_by_key(|e| std::cmp::Reverse((e.received_at, e.report)));
    for e in newest {
        for d in &e.documents {
            if !documents.iter().any(|o| o.document.sha256 == d.sha256) {
                documents.push(StageDocument {
                    report: e.report.to_string(),
                    received_at: e.received_at,
                    document: d.clone(),
                });
            }
        }
    }
    Cell {
        stage: stage.to_owned(),
        status: status.map(str::to_owned),
        done: is_done(template, stage, status, latest.is_some()),
        filings: entries.len(),
        changed_at: latest.map(|e| e.reported_at),
        received_at: latest.map(|e| e.received_at),
        account: latest.and_then(|e| e.account.clone()),
        report: latest.map(|e| e.report.to_string()),
        documents,
    }
}

fn totals(stages: &[crate::template::Stage], rows: &[BoardRow]) -> Vec<ItemTotals> {
    type Key = (usize, Option<RegionCode>, RegionLevel);
    let mut groups: BTreeMap<Key, [usize; 3]> = BTreeMap::new();
    for row in rows {
        let above: Vec<Option<RegionCode>> = std::iter::once(None)
            .chain(row.region.lineage().into_iter().filter(|r| *r != row.region).map(Some))
            .collect();
        for (i, cell) in row.cells.iter().enumerate() {
            for group in &above {
                let counts = groups.entry((i, group.clone(), row.level)).or_default();
                counts[0] += 1;
                if cell.done {
                    counts[1] += 1;
                } else if cell.filings > 0 {
                    counts[2] += 1;
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|((i, region, filers), [expected, done, in_progress])| ItemTotals {
            stage: stages[i].id.clone(),
            name: region.as_ref().map_or("Indonesia", RegionCode::name),
            region,
            filers,
            expected,
            done,
            in_progress,
            not_filed: expected - done - in_progress,
            done_rate: if expected == 0 { 0.0 } else { (done as f64 / expected as f64 * 10_000.0).round() / 10_000.0 },
        })
        .collect()
}

/// One change of a region's stage item: a filing for the stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = StageChange)]
pub struct Change {
    pub stage: String,
    pub stage_name: String,
    /// The status it gave, and the one before it (none for the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Whether the item was done after it.
    pub done: bool,
    /// Who made it (shown to admins and operators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// When the filer made it, and when it came in.
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The report it is, and the template version it used.
    pub report: String,
    pub version: u32,
    pub documents: Vec<Document>,
}

/// Every change of `region`'s stage items, oldest first, from its filings
/// by stage.
pub fn history(template: &Template, filings: &BTreeMap<String, Vec<FilingEntry>>) -> Vec<Change> {
    let mut out = Vec::new();
    for stage in &template.definition.schedule.stages {
        let mut entries: Vec<&FilingEntry> = filings.get(&stage.id).into_iter().flatten().collect();
        entries.sort_by_key(|e| (e.received_at, e.report));
        let mut previous: Option<String> = None;
        for e in entries {
            let status = status_of(template, &stage.id, e).map(str::to_owned);
            out.push(Change {
                stage: stage.id.clone(),
                stage_name: stage.name.clone(),
                done: is_done(template, &stage.id, status.as_deref(), true),
                previous: std::mem::replace(&mut previous, status.clone()),
                status,
                account: e.account.clone(),
                reported_at: e.reported_at,
                received_at: e.received_at,
                report: e.report.to_string(),
                version: e.version,
                documents: e.documents.clone(),
            });
        }
    }
    out.sort_by(|a, b| (a.received_at, &a.report).cmp(&(b.received_at, &b.report)));
    out
}

#[cfg(test)]
mod tests {
    use model::ReportId;
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::template::builtins;

    fn pemilu() -> Template {
        builtins().remove(1)
    }

    fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }

    fn entry(at: OffsetDateTime, who: &str, status: &[(&str, &str)], documents: Vec<Document>) -> FilingEntry {
        FilingEntry {
            report: ReportId::new_at(at),
            version: 1,
            account: Some(who.into()),
            reported_at: at,
            received_at: at,
            indicators: Vec::new(),
            choices: status.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            documents,
            from: None,
        }
    }

    fn pdf(sha: &str) -> Document {
        Document {
            field: "dokumen".into(),
            name: "nphd.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1234,
            sha256: sha.into(),
            n: 0,
        }
    }

    #[test]
    fn the_board_tells_who_has_not_yet_with_counts_per_province_and_nation() {
        let t = pemilu();
        let regions: Vec<RegionCode> = ["72.01", "72.02", "72.71", "73.71"].iter().map(|c| code(c)).collect();
        let mut nphd = BTreeMap::new();
        // Palu: discussed, then signed with the document; Banggai: still in discussion
        nphd.insert(
            code("72.71"),
            vec![
                entry(
                    datetime!(2026-12-01 09:00 +08:00),
                    "kesbang-palu",
                    &[("status_nphd", "dalam pembahasan")],
                    vec![],
                ),
                entry(
                    datetime!(2026-12-10 10:00 +08:00),
                    "admin-palu",
                    &[("status_nphd", "ditandatangani")],
                    vec![pdf("aa")],
                ),
            ],
        );
        nphd.insert(
            code("72.02"),
            vec![entry(
                datetime!(2026-12-02 09:00 +08:00),
                "kesbang-banggai",
                &[("status_nphd", "dalam pembahasan")],
                vec![],
            )],
        );
        // Makassar signed
        nphd.insert(
            code("73.71"),
            vec![entry(
                datetime!(2026-12-03 09:00 +08:00),
                "kesbang-makassar",
                &[("status_nphd", "ditandatangani")],
                vec![],
            )],
        );
        let filings: ByStage = [("nphd".to_owned(), nphd)].into_iter().collect();
        let b = board(&t, &regions, &filings);
        assert_eq!(b.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["hibah", "nphd", "logistik"]);
        let nphd_item = &b.items[1];
        assert_eq!(nphd_item.status_field.as_deref(), Some("status_nphd"));
        assert_eq!(nphd_item.not_done, [code("72.01"), code("72.02")]);
        assert_eq!(b.items[0].not_done.len(), 4, "nobody filed hibah");
        let palu = &b.rows[2].cells[1];
        assert_eq!((palu.status.as_deref(), palu.done, palu.filings), (Some("ditandatangani"), true, 2));
        assert_eq!(palu.account.as_deref(), Some("admin-palu"));
        assert_eq!(palu.documents.len(), 1);
        assert_eq!(palu.documents[0].document.sha256, "aa");
        let find = |stage: &str, region: Option<&str>| {
            b.totals.iter().find(|t| t.stage == stage && t.region.as_ref().map(RegionCode::as_str) == region).unwrap()
        };
        let sulteng = find("nphd", Some("72"));
        assert_eq!(
            (sulteng.expected, sulteng.done, sulteng.in_progress, sulteng.not_filed, sulteng.done_rate),
            (3, 1, 1, 1, 0.3333)
        );
        let national = find("nphd", None);
        assert_eq!((national.expected, national.done, national.name), (4, 2, "Indonesia"));
        assert_eq!(find("hibah", None).done, 0);

        // the history: each change with who, the status before and the document
        let palu_filings: BTreeMap<String, Vec<FilingEntry>> =
            [("nphd".to_owned(), filings["nphd"][&code("72.71")].clone())].into_iter().collect();
        let h = history(&t, &palu_filings);
        let seen: Vec<String> =
            h.iter().map(|c| format!("{:?} -> {:?} {} {:?}", c.previous, c.status, c.done, c.account)).collect();
        assert_eq!(
            seen,
            [
                r#"None -> Some("dalam pembahasan") false Some("kesbang-palu")"#,
                r#"Some("dalam pembahasan") -> Some("ditandatangani") true Some("admin-palu")"#
            ]
        );
        assert_eq!(h[1].documents[0].name, "nphd.pdf");
    }

    #[test]
    fn a_stage_filing_must_give_its_status() {
        let t = pemilu();
        let values: Values = [("status_logistik".to_owned(), json!("diterima lengkap"))].into_iter().collect();
        assert_eq!(check_filing(&t, "logistik", &values), Ok(()));
        let err = check_filing(&t, "nphd", &values).unwrap_err();
        assert_eq!(err.field, "values.status_nphd");
        assert!(err.message.contains("ditandatangani"), "{err}");
        // a daily template has no stages
        assert_eq!(check_filing(&builtins().remove(0), "2026-11-30", &Values::new()), Ok(()));
        assert!(by_stage(&builtins().remove(0)).is_err());
    }

    #[test]
    fn file_policies_are_checked_when_defined_and_when_files_come() {
        let t = pemilu();
        let dokumen = t.field("dokumen").unwrap();
        assert_eq!(check_file(dokumen, "nphd.pdf", Some("application/pdf"), 2_000_000), Ok(()));
        assert_eq!(check_file(dokumen, "foto.jpg", Some("image/jpeg"), 2_000_000), Ok(()));
        match check_file(dokumen, "lagu.mp3", Some("audio/mpeg"), 2_000) {
            Err(Refused::WrongKind(e)) => {
                assert_eq!(e.field, "files.dokumen");
                assert!(e.message.contains("application/pdf, image/*"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        match check_file(dokumen, "besar.pdf", Some("application/pdf"), 11 * 1024 * 1024) {
            Err(Refused::TooLarge(e)) => assert!(e.message.contains("10485760"), "{e}"),
            other => panic!("{other:?}"),
        }
        let field = |accept: &[&str], max: Option<u64>| Field {
            accept: accept.iter().map(|s| (*s).to_owned()).collect(),
            max_bytes: max,
            ..dokumen.clone()
        };
        assert_eq!(check_policy(&field(&["image/*", "application/pdf"], Some(1)), "f").map(|_| ()), Ok(()));
        assert_eq!(check_policy(&field(&["PDF"], None), "f").unwrap_err().field, "f.accept[0]");
        assert_eq!(check_policy(&field(&["image/"], None), "f").unwrap_err().field, "f.accept[0]");
        assert_eq!(check_policy(&field(&[], Some(0)), "f").unwrap_err().field, "f.max_bytes");
        assert!(accepts(&["image/*".into()], "image/png") && !accepts(&["image/*".into()], "application/pdf"));
    }

    #[test]
    fn a_template_is_checked_for_its_stage_statuses_and_units() {
        let indicators: Vec<String> = model::INDICATORS.iter().map(|s| (*s).to_owned()).collect();
        let body = |status: &str, units: serde_json::Value| {
            json!({
                "name": "Tahapan uji",
                "fields": [
                    {"id": "status", "label": "Status", "kind": "choice", "options": ["belum", "selesai"]},
                    {"id": "catatan", "label": "Catatan", "kind": "text"},
                    {"id": "berkas", "label": "Berkas", "kind": "attachment", "accept": ["application/pdf"], "max_bytes": 1000}
                ],
                "schedule": {"every": "stage", "stages": [{"id": "nphd", "name": "NPHD", "due": "2027-01-15", "status": status}]},
                "filers": {"units": units, "within": ["72"]}
            })
        };
        let ok = crate::template::parse_change(body("status", json!(["kesbangpol-palu"])), &indicators).unwrap();
        assert_eq!(ok.definition.filers.units, ["kesbangpol-palu"]);
        assert_eq!(ok.definition.filers.owner_regions(), [code("72")]);
        assert!(ok.definition.filers.expected().is_empty(), "no regions file it");
        let err = crate::template::parse_change(body("catatan", json!(["a"])), &indicators).unwrap_err();
        assert_eq!(err.field, "schedule.stages[0].status");
        let err = crate::template::parse_change(body("status", json!(["a", "a"])), &indicators).unwrap_err();
        assert_eq!(err.field, "filers.units[1]");
        let err = crate::template::parse_change(body("status", json!([" "])), &indicators).unwrap_err();
        assert_eq!(err.field, "filers.units[0]");
        let err = crate::template::parse_change(body("status", json!([])), &indicators).unwrap_err();
        assert_eq!(err.field, "filers");
    }
}
