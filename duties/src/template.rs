//! Report templates as data: what a filing holds (fields), when it is due
//! (schedule), and who must file it (filers). An admin sends a
//! [`Definition`]; the server keeps it as a [`Template`] with an id, a
//! version, the author and a note.

use model::{RegionCode, RegionLevel, Scope, regions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::Invalid;

/// Most fields a template may have.
pub const MAX_FIELDS: usize = 60;
/// Most options a choice field may have.
pub const MAX_OPTIONS: usize = 50;
/// Most stages a stage schedule may have.
pub const MAX_STAGES: usize = 100;
/// Most regions a template may name as filers or as where they lie.
pub const MAX_REGIONS: usize = 1_000;
/// Longest answer a text field may allow, and the default.
pub const MAX_TEXT_CHARS: u32 = 10_000;
pub const DEFAULT_TEXT_CHARS: u32 = 4_000;
/// Longest label, name, help text and option, in characters.
const MAX_LABEL_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 2_000;
const MAX_NOTE_CHARS: usize = 1_000;

/// The kind of a field, which decides the values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TemplateFieldKind)]
pub enum FieldKind {
    /// Free text, up to `max_chars`.
    Text,
    /// One of `options`.
    Choice,
    /// A number, within `min` and `max` when given.
    Number,
    /// A day, `2026-11-30`.
    Date,
    /// A region code within the filing's region.
    Region,
    /// A file, sent as a multipart part named after the field.
    Attachment,
    /// The situation of one indicator: `{"status": "aman"}` (safe and
    /// conducive), or `{"status": "athg", "incidents": [{"category":
    /// "ancaman" | "tantangan" | "hambatan" | "gangguan", "text": "…"}]}`.
    Situation,
}

/// One field of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = TemplateField)]
pub struct Field {
    /// Lowercase letters, digits and `_`, starting with a letter; at most 40.
    #[schema(example = "situasi_konflik")]
    pub id: String,
    /// What the form shows, in Indonesian.
    #[schema(example = "Situasi konflik sosial")]
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// For `choice`: the options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// For `number`: the smallest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// For `number`: the largest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// For `text`: the longest answer (4,000 characters when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<u32>,
    /// For `situation`: the indicator it reports on, one the rules tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    /// For `attachment`: the content types it takes, like `application/pdf`
    /// or `image/*`; any a report may carry when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["application/pdf", "image/*"]))]
    pub accept: Vec<String>,
    /// For `attachment`: the largest file, in bytes (`ingest.max_file_size`
    /// applies too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

/// How often a template is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TemplateEvery)]
pub enum Every {
    /// Periods `2026-11-30`.
    Daily,
    /// ISO weeks, `2026-W48`.
    Weekly,
    /// Months, `2026-11`.
    Monthly,
    /// Once per election stage; the period is the stage's id.
    Stage,
}

/// One election stage of a stage schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = TemplateStage)]
pub struct Stage {
    /// Lowercase letters, digits and `-`; the period of its filings.
    #[schema(example = "nphd")]
    pub id: String,
    #[schema(example = "Penandatanganan NPHD")]
    pub name: String,
    /// The day it is due, `2026-12-15`, in each filer's local zone.
    #[schema(example = "2026-12-15")]
    pub due: String,
    /// The choice field that holds this stage's status: a filing for the
    /// stage must give it, and its last option means done (`ditandatangani`).
    /// Without one, a stage is done once filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "status_nphd")]
    pub status: Option<String>,
}

/// When filings are due: the period, then the deadline as a local time on
/// the period's last day (or a stage's due day), `days_after` days later,
/// in each filer's own zone (WIB, WITA or WIT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = TemplateSchedule)]
pub struct Schedule {
    pub every: Every,
    /// The local time of the deadline, `HH:MM`; `24:00` is the end of the day.
    #[serde(default = "end_of_day")]
    #[schema(example = "24:00")]
    pub at: String,
    /// Days after the period's last day (a stage's due day) that it is due.
    #[serde(default)]
    pub days_after: u16,
    /// For `stage`: the stages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
}

fn end_of_day() -> String {
    "24:00".into()
}

/// Who must file: every region at `levels` within `within` (the whole
/// country when empty), or the regions listed in `regions`; and the units
/// (of the unit book) listed in `units`. A template of units only belongs
/// to `within` (national when empty), and its units must lie there.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = TemplateFilers)]
pub struct Filers {
    /// `province`, `regency` or `district`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["regency"]))]
    pub levels: Vec<RegionLevel>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["72"]))]
    pub within: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Unit ids, like `kesbangpol-palu`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
}

/// A template as an admin defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = TemplateDefinition)]
pub struct Definition {
    /// The name, in Indonesian.
    #[schema(example = "LAPSITDA harian")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub fields: Vec<Field>,
    pub schedule: Schedule,
    pub filers: Filers,
}

/// A version of a template, as kept on the `templates` topic (key
/// `id/version`, so compaction keeps every version a filing may name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    #[schema(example = "lapsitda-harian")]
    pub id: String,
    /// 1 for the first version, one more for each change.
    pub version: u32,
    #[serde(flatten)]
    pub definition: Definition,
    /// The account that made this version (`kentongan` for a built-in one).
    pub author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
}

impl Template {
    /// The regions this template belongs to: those its filers lie in
    /// (empty for a national template). An admin changes it only when they
    /// are all within the admin's scope.
    pub fn owner_regions(&self) -> Vec<RegionCode> {
        self.definition.filers.owner_regions()
    }

    /// Whether a caller of `scope` sees this template: a national one, or
    /// one whose regions touch the scope (a province's template is seen by
    /// its regencies and by the nation).
    pub fn visible(&self, scope: &Scope) -> bool {
        let owners = self.owner_regions();
        owners.is_empty() || owners.iter().any(|r| scope.touches(r))
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.definition.fields.iter().find(|f| f.id == id)
    }

    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.definition.schedule.stages.iter().find(|s| s.id == id)
    }
}

impl Filers {
    /// The regions these filers lie in; empty for the whole country.
    pub fn owner_regions(&self) -> Vec<RegionCode> {
        let codes = if self.levels.is_empty() && !self.regions.is_empty() { &self.regions } else { &self.within };
        codes.iter().filter_map(|c| RegionCode::parse(c).ok()).collect()
    }

    fn listed(&self) -> Vec<RegionCode> {
        self.regions.iter().filter_map(|c| RegionCode::parse(c).ok()).collect()
    }

    /// Every region that must file, sorted by code.
    pub fn expected(&self) -> Vec<RegionCode> {
        let mut out: Vec<RegionCode> = if self.levels.is_empty() {
            self.listed()
        } else {
            let within = self.owner_regions();
            regions()
                .iter()
                .map(|r| &r.code)
                .filter(|c| self.levels.contains(&c.level()))
                .filter(|c| within.is_empty() || within.iter().any(|w| c.is_within(w)))
                .cloned()
                .collect()
        };
        out.sort();
        out.dedup();
        out
    }

    /// Whether `region` must file.
    pub fn expects(&self, region: &RegionCode) -> bool {
        if self.levels.is_empty() {
            self.listed().contains(region)
        } else {
            let within = self.owner_regions();
            self.levels.contains(&region.level()) && (within.is_empty() || within.iter().any(|w| region.is_within(w)))
        }
    }
}

/// The body of `PUT /api/v1/templates/{id}`: the definition and a note on
/// the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub definition: Definition,
    pub note: String,
}

/// Checks a template id: 1-64 lowercase letters, digits and `-`, starting
/// with a letter or digit.
pub fn check_id(id: &str) -> Result<(), Invalid> {
    let ok = (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new("id", "use 1 to 64 lowercase letters, digits and `-`, like `lapsitda-harian`"))
    }
}

/// Reads and checks a template definition sent by an admin, field by field:
/// the first problem is named by its place (`fields[2].options`). Keys the
/// format does not have are refused, so a typo is not silently dropped.
/// A situation field's indicator must be one of `indicators` (the ones the
/// rules in force tag).
pub fn parse_change(body: Value, indicators: &[String]) -> Result<Change, Invalid> {
    let Value::Object(mut top) = body else {
        return Err(Invalid::new("body", "send a JSON object with name, fields, schedule and filers"));
    };
    only(&top, "", &["name", "description", "fields", "schedule", "filers", "note"])?;
    let name = text(top.remove("name"), "name", 1, MAX_LABEL_CHARS)?;
    let description = match top.remove("description") {
        None | Some(Value::Null) => String::new(),
        v => text(v, "description", 0, MAX_DESCRIPTION_CHARS)?,
    };
    let note = match top.remove("note") {
        None | Some(Value::Null) => String::new(),
        v => text(v, "note", 0, MAX_NOTE_CHARS)?,
    };
    let Some(Value::Array(raw_fields)) = top.remove("fields") else {
        return Err(Invalid::new("fields", "give the list of fields, each {id, label, kind}"));
    };
    if raw_fields.is_empty() || raw_fields.len() > MAX_FIELDS {
        return Err(Invalid::new("fields", format!("give 1 to {MAX_FIELDS} fields")));
    }
    let mut fields: Vec<Field> = Vec::with_capacity(raw_fields.len());
    for (i, raw) in raw_fields.into_iter().enumerate() {
        let at = format!("fields[{i}]");
        let field = parse_field(raw, &at, indicators)?;
        if fields.iter().any(|f| f.id == field.id) {
            return Err(Invalid::new(format!("{at}.id"), format!("`{}` is used by another field", field.id)));
        }
        fields.push(field);
    }
    let schedule = parse_schedule(top.remove("schedule"))?;
    crate::stages::check_status_fields(&schedule, &fields)?;
    let filers = parse_filers(top.remove("filers"))?;
    Ok(Change { definition: Definition { name, description, fields, schedule, filers }, note })
}

/// Refuses keys of `object` other than `allowed`.
fn only(object: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), Invalid> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(Invalid::new(
            format!("{at}{}{}", if at.is_empty() { "" } else { "." }, quote(k)),
            format!("is not part of the format; use {}", allowed.join(", ")),
        )),
    }
}

/// A key as the user wrote it, cut short and without control characters.
fn quote(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(60).collect()
}

/// A string of `min` to `max` characters on one line, trimmed.
fn text(value: Option<Value>, at: &str, min: usize, max: usize) -> Result<String, Invalid> {
    match value {
        Some(Value::String(s)) => model::account::check_text(&s, min, max).map_err(|m| Invalid::new(at, m)),
        None | Some(Value::Null) => Err(Invalid::new(at, "missing")),
        Some(_) => Err(Invalid::new(at, "must be a string")),
    }
}

fn parse_field(raw: Value, at: &str, indicators: &[String]) -> Result<Field, Invalid> {
    let Value::Object(map) = &raw else {
        return Err(Invalid::new(at, "must be an object {id, label, kind}"));
    };
    only(
        map,
        at,
        &[
            "id",
            "label",
            "kind",
            "required",
            "help",
            "options",
            "min",
            "max",
            "max_chars",
            "indicator",
            "accept",
            "max_bytes",
        ],
    )?;
    let kind = map.get("kind").cloned().unwrap_or(Value::Null);
    if serde_json::from_value::<FieldKind>(kind).is_err() {
        return Err(Invalid::new(
            format!("{at}.kind"),
            "give one of text, choice, number, date, region, attachment, situation",
        ));
    }
    let mut field: Field = serde_json::from_value(raw).map_err(|e| Invalid::new(at, e.to_string()))?;
    let id_ok = (1..=40).contains(&field.id.len())
        && field.id.starts_with(|c: char| c.is_ascii_lowercase())
        && field.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !id_ok {
        return Err(Invalid::new(
            format!("{at}.id"),
            "use 1 to 40 lowercase letters, digits and `_`, starting with a letter, like `situasi_konflik`",
        ));
    }
    field.label = text(Some(Value::String(field.label)), &format!("{at}.label"), 1, MAX_LABEL_CHARS)?;
    field.help = text(Some(Value::String(field.help)), &format!("{at}.help"), 0, MAX_DESCRIPTION_CHARS)?;
    let unused = |name: &str, present: bool| -> Result<(), Invalid> {
        if present {
            Err(Invalid::new(format!("{at}.{name}"), format!("does not apply to a {:?} field", field.kind)))
        } else {
            Ok(())
        }
    };
    let kind = field.kind;
    unused("options", kind != FieldKind::Choice && !field.options.is_empty())?;
    unused("min", kind != FieldKind::Number && field.min.is_some())?;
    unused("max", kind != FieldKind::Number && field.max.is_some())?;
    unused("max_chars", kind != FieldKind::Text && field.max_chars.is_some())?;
    unused("indicator", kind != FieldKind::Situation && field.indicator.is_some())?;
    unused("accept", kind != FieldKind::Attachment && !field.accept.is_empty())?;
    unused("max_bytes", kind != FieldKind::Attachment && field.max_bytes.is_some())?;
    match kind {
        FieldKind::Choice => {
            if field.options.len() < 2 || field.options.len() > MAX_OPTIONS {
                return Err(Invalid::new(format!("{at}.options"), format!("give 2 to {MAX_OPTIONS} options")));
            }
            let mut seen: Vec<String> = Vec::new();
            for (j, o) in field.options.iter().enumerate() {
                let o = text(Some(Value::String(o.clone())), &format!("{at}.options[{j}]"), 1, MAX_LABEL_CHARS)?;
                if seen.contains(&o) {
                    return Err(Invalid::new(format!("{at}.options[{j}]"), format!("`{o}` is listed twice")));
                }
                seen.push(o);
            }
            field.options = seen;
        }
        FieldKind::Number => {
            for (name, v) in [("min", field.min), ("max", field.max)] {
                if v.is_some_and(|v| !v.is_finite()) {
                    return Err(Invalid::new(format!("{at}.{name}"), "must be a finite number"));
                }
            }
            if let (Some(lo), Some(hi)) = (field.min, field.max)
                && lo > hi
            {
                return Err(Invalid::new(format!("{at}.max"), format!("{hi} is below min {lo}")));
            }
        }
        FieldKind::Text => {
            if field.max_chars.is_some_and(|m| m == 0 || m > MAX_TEXT_CHARS) {
                return Err(Invalid::new(format!("{at}.max_chars"), format!("give 1 to {MAX_TEXT_CHARS}")));
            }
        }
        FieldKind::Situation => match &field.indicator {
            Some(i) if indicators.contains(i) => {}
            _ => {
                return Err(Invalid::new(
                    format!("{at}.indicator"),
                    format!("give the indicator this situation is about, one of: {}", indicators.join(", ")),
                ));
            }
        },
        FieldKind::Attachment => crate::stages::check_policy(&field, at)?,
        FieldKind::Date | FieldKind::Region => {}
    }
    Ok(field)
}

fn parse_schedule(raw: Option<Value>) -> Result<Schedule, Invalid> {
    let Some(raw @ Value::Object(_)) = raw else {
        return Err(Invalid::new("schedule", "give {every: daily | weekly | monthly | stage, at: \"24:00\"}"));
    };
    if let Value::Object(map) = &raw {
        only(map, "schedule", &["every", "at", "days_after", "stages"])?;
        if serde_json::from_value::<Every>(map.get("every").cloned().unwrap_or(Value::Null)).is_err() {
            return Err(Invalid::new("schedule.every", "give one of daily, weekly, monthly, stage"));
        }
        if let Some(Value::Array(stages)) = map.get("stages") {
            for (i, s) in stages.iter().enumerate() {
                match s {
                    Value::Object(m) => only(m, &format!("schedule.stages[{i}]"), &["id", "name", "due", "status"])?,
                    _ => return Err(Invalid::new(format!("schedule.stages[{i}]"), "give {id, name, due}")),
                }
            }
        }
    }
    let mut schedule: Schedule = serde_json::from_value(raw).map_err(|e| Invalid::new("schedule", e.to_string()))?;
    crate::period::minutes_of(&schedule.at).map_err(|m| Invalid::new("schedule.at", m))?;
    if schedule.days_after > 366 {
        return Err(Invalid::new("schedule.days_after", "give 0 to 366 days"));
    }
    if schedule.every == Every::Stage {
        if schedule.stages.is_empty() || schedule.stages.len() > MAX_STAGES {
            return Err(Invalid::new(
                "schedule.stages",
                format!("give 1 to {MAX_STAGES} stages, each {{id, name, due}}"),
            ));
        }
        let mut ids: Vec<String> = Vec::new();
        for (i, stage) in schedule.stages.iter_mut().enumerate() {
            let at = format!("schedule.stages[{i}]");
            let id_ok = (1..=40).contains(&stage.id.len())
                && stage.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && stage.id.starts_with(|c: char| c.is_ascii_lowercase());
            // a stage id is a period, so it must not look like a day, week or month
            if !id_ok {
                return Err(Invalid::new(
                    format!("{at}.id"),
                    "use 1 to 40 lowercase letters, digits and `-`, starting with a letter, like `nphd`",
                ));
            }
            if ids.contains(&stage.id) {
                return Err(Invalid::new(format!("{at}.id"), format!("`{}` is used by another stage", stage.id)));
            }
            ids.push(stage.id.clone());
            stage.name = text(Some(Value::String(stage.name.clone())), &format!("{at}.name"), 1, MAX_LABEL_CHARS)?;
            crate::period::parse_day(&stage.due).map_err(|m| Invalid::new(format!("{at}.due"), m))?;
        }
    } else if !schedule.stages.is_empty() {
        return Err(Invalid::new("schedule.stages", "apply only when every is `stage`"));
    }
    Ok(schedule)
}

fn parse_filers(raw: Option<Value>) -> Result<Filers, Invalid> {
    const SHAPE: &str = "give {levels: [\"regency\"], within: [\"72\"]} or {regions: [\"72.71\", \"72.03\"]}, \
                         and/or {units: [\"kesbangpol-palu\"]}";
    let Some(raw @ Value::Object(_)) = raw else {
        return Err(Invalid::new("filers", SHAPE));
    };
    if let Value::Object(map) = &raw {
        only(map, "filers", &["levels", "within", "regions", "units"])?;
    }
    let filers: Filers = serde_json::from_value(raw).map_err(|e| {
        let m = e.to_string();
        if m.contains("variant") {
            Invalid::new("filers.levels", "give levels among province, regency, district")
        } else {
            Invalid::new("filers", format!("{m}; {SHAPE}"))
        }
    })?;
    crate::stages::check_units(&filers.units)?;
    match (filers.levels.is_empty(), filers.regions.is_empty()) {
        (true, true) if filers.units.is_empty() => return Err(Invalid::new("filers", SHAPE)),
        (true, true) => {}
        (false, false) => return Err(Invalid::new("filers", SHAPE)),
        (false, true) => {
            if filers.levels.contains(&RegionLevel::Village) {
                return Err(Invalid::new(
                    "filers.levels",
                    "villages cannot be filers (there are over 80,000); give province, regency or district",
                ));
            }
        }
        (true, false) => {
            if !filers.within.is_empty() {
                return Err(Invalid::new("filers.within", "applies only with levels; list the regions instead"));
            }
        }
    }
    for (name, codes) in [("within", &filers.within), ("regions", &filers.regions)] {
        if codes.len() > MAX_REGIONS {
            return Err(Invalid::new(format!("filers.{name}"), format!("list at most {MAX_REGIONS} regions")));
        }
        for code in codes {
            RegionCode::parse(code).map_err(|e| Invalid::new(format!("filers.{name}"), e.to_string()))?;
        }
    }
    Ok(filers)
}

/// The templates every node has from the start, version 1; a change through
/// the API makes version 2 on top.
pub fn builtins() -> Vec<Template> {
    let at = time::macros::datetime!(2026-11-01 00:00 UTC);
    let situation = |indicator: &str, label: &str| Field {
        id: format!("situasi_{indicator}"),
        label: label.into(),
        kind: FieldKind::Situation,
        required: true,
        help: "Aman/kondusif, atau kejadian menurut ATHG: ancaman, tantangan, hambatan, gangguan".into(),
        options: Vec::new(),
        min: None,
        max: None,
        max_chars: None,
        indicator: Some(indicator.into()),
        accept: Vec::new(),
        max_bytes: None,
    };
    let plain = |id: &str, label: &str, kind: FieldKind, required: bool| Field {
        id: id.into(),
        label: label.into(),
        kind,
        required,
        help: String::new(),
        options: Vec::new(),
        min: None,
        max: None,
        max_chars: None,
        indicator: None,
        accept: Vec::new(),
        max_bytes: None,
    };
    let choice = |id: &str, label: &str, options: &[&str]| Field {
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        ..plain(id, label, FieldKind::Choice, false)
    };
    let lapsitda = Template {
        id: "lapsitda-harian".into(),
        version: 1,
        definition: Definition {
            name: "LAPSITDA harian".into(),
            description: "Laporan situasi daerah harian Kesbangpol kabupaten/kota dan provinsi, per indikator \
                          deteksi dini, dikelompokkan menurut ATHG (ancaman, tantangan, hambatan, gangguan)."
                .into(),
            fields: vec![
                situation("narkoba", "Situasi narkoba"),
                situation("konflik_sosial", "Situasi konflik sosial"),
                situation("kerukunan_beragama", "Situasi kerukunan umat beragama"),
                situation("ideologi", "Situasi ideologi, radikalisme dan separatisme"),
                situation("demokrasi", "Situasi demokrasi dan pemilu"),
                plain("upaya", "Upaya yang telah dilakukan", FieldKind::Text, false),
                plain("rekomendasi", "Saran dan rekomendasi", FieldKind::Text, false),
                plain("lampiran", "Lampiran", FieldKind::Attachment, false),
            ],
            schedule: Schedule { every: Every::Daily, at: end_of_day(), days_after: 0, stages: Vec::new() },
            filers: Filers { levels: vec![RegionLevel::Province, RegionLevel::Regency], ..Filers::default() },
        },
        author: "kentongan".into(),
        note: "bawaan".into(),
        changed_at: at,
    };
    let stages = [
        ("hibah", "Penganggaran dana hibah pilkada", "2026-12-15", "status_hibah"),
        ("nphd", "Penandatanganan NPHD", "2027-01-15", "status_nphd"),
        ("logistik", "Distribusi logistik", "2027-10-31", "status_logistik"),
    ];
    let pemilu = Template {
        id: "tahapan-pemilu".into(),
        version: 1,
        definition: Definition {
            name: "Monitoring tahapan pemilu".into(),
            description: "Status tiap tahapan pemilu/pilkada per daerah, dengan dokumen pendukung.".into(),
            fields: vec![
                choice(
                    "status_hibah",
                    "Status penganggaran hibah",
                    &["belum dianggarkan", "dalam pembahasan", "dianggarkan"],
                ),
                choice(
                    "status_logistik",
                    "Status logistik",
                    &["belum diterima", "sebagian diterima", "diterima lengkap"],
                ),
                choice("status_nphd", "Status NPHD", &["belum dibahas", "dalam pembahasan", "ditandatangani"]),
                Field { min: Some(0.0), ..plain("nilai_hibah", "Nilai hibah (rupiah)", FieldKind::Number, false) },
                plain("tanggal_nphd", "Tanggal penandatanganan NPHD", FieldKind::Date, false),
                plain("permasalahan", "Permasalahan", FieldKind::Text, false),
                Field {
                    accept: vec!["application/pdf".into(), "image/*".into()],
                    max_bytes: Some(10 * 1024 * 1024),
                    help: "PDF atau foto, paling besar 10 MB".into(),
                    ..plain("dokumen", "Dokumen pendukung", FieldKind::Attachment, false)
                },
            ],
            schedule: Schedule {
                every: Every::Stage,
                at: end_of_day(),
                days_after: 0,
                stages: stages
                    .iter()
                    .map(|(id, name, due, status)| Stage {
                        id: (*id).into(),
                        name: (*name).into(),
                        due: (*due).into(),
                        status: Some((*status).into()),
                    })
                    .collect(),
            },
            filers: Filers { levels: vec![RegionLevel::Province, RegionLevel::Regency], ..Filers::default() },
        },
        author: "kentongan".into(),
        note: "bawaan".into(),
        changed_at: at,
    };
    vec![lapsitda, pemilu]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn indicators() -> Vec<String> {
        model::INDICATORS.iter().map(|s| (*s).to_owned()).collect()
    }

    fn good() -> Value {
        json!({
            "name": "Laporan mingguan",
            "fields": [
                {"id": "situasi", "label": "Situasi", "kind": "situation", "indicator": "narkoba", "required": true},
                {"id": "status", "label": "Status", "kind": "choice", "options": ["a", "b"]},
                {"id": "jumlah", "label": "Jumlah", "kind": "number", "min": 0}
            ],
            "schedule": {"every": "weekly", "at": "17:00", "days_after": 1},
            "filers": {"levels": ["regency"], "within": ["72"]},
            "note": "pertama"
        })
    }

    #[test]
    fn a_good_definition_is_taken_and_the_builtins_pass_the_same_checks() {
        let change = parse_change(good(), &indicators()).unwrap();
        assert_eq!(change.note, "pertama");
        assert_eq!(change.definition.schedule.at, "17:00");
        for t in builtins() {
            let again = parse_change(serde_json::to_value(&t.definition).unwrap(), &indicators()).unwrap();
            assert_eq!(again.definition, t.definition, "{}", t.id);
        }
    }

    #[test]
    fn each_fault_names_its_field() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"name": ""}), "name"),
            (json!({"colour": "red"}), "colour"),
            (json!({"fields": []}), "fields"),
            (json!({"fields": [{"id": "a", "label": "A", "kind": "colour"}]}), "fields[0].kind"),
            (json!({"fields": [{"id": "A b", "label": "A", "kind": "text"}]}), "fields[0].id"),
            (json!({"fields": [{"id": "a", "label": "A", "kind": "choice", "options": ["x"]}]}), "fields[0].options"),
            (
                json!({"fields": [{"id": "a", "label": "A", "kind": "text", "options": ["x", "y"]}]}),
                "fields[0].options",
            ),
            (
                json!({"fields": [{"id": "a", "label": "A", "kind": "situation", "indicator": "cuaca"}]}),
                "fields[0].indicator",
            ),
            (json!({"fields": [{"id": "a", "label": "A", "kind": "number", "min": 5, "max": 1}]}), "fields[0].max"),
            (
                json!({"fields": [{"id": "a", "label": "A", "kind": "text"}, {"id": "a", "label": "B", "kind": "text"}]}),
                "fields[1].id",
            ),
            (json!({"fields": [{"id": "a", "label": "A", "kind": "text", "colour": 1}]}), "fields[0].colour"),
            (json!({"schedule": {"every": "hourly"}}), "schedule.every"),
            (json!({"schedule": {"every": "daily", "at": "25:00"}}), "schedule.at"),
            (json!({"schedule": {"every": "stage"}}), "schedule.stages"),
            (
                json!({"schedule": {"every": "stage", "stages": [{"id": "x", "name": "X", "due": "2026-13-01"}]}}),
                "schedule.stages[0].due",
            ),
            (
                json!({"schedule": {"every": "stage", "stages": [{"id": "2026-11", "name": "X", "due": "2026-12-01"}]}}),
                "schedule.stages[0].id",
            ),
            (json!({"filers": {}}), "filers"),
            (json!({"filers": {"levels": ["village"]}}), "filers.levels"),
            (json!({"filers": {"levels": ["kota"]}}), "filers.levels"),
            (json!({"filers": {"levels": ["regency"], "within": ["99"]}}), "filers.within"),
            (json!({"filers": {"regions": ["72.71"], "within": ["72"]}}), "filers.within"),
        ];
        for (patch, field) in cases {
            let mut body = good();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let err = parse_change(body.clone(), &indicators()).unwrap_err();
            assert_eq!(err.field, field, "{body}: {err}");
        }
    }

    #[test]
    fn filers_at_a_level_within_a_province_are_its_regencies_and_cities() {
        let filers = Filers { levels: vec![RegionLevel::Regency], within: vec!["72".into()], ..Filers::default() };
        let expected = filers.expected();
        assert_eq!(expected.len(), 13, "Sulawesi Tengah has 12 regencies and Kota Palu");
        assert!(expected.iter().all(|r| r.level() == RegionLevel::Regency && r.province().as_str() == "72"));
        assert!(filers.expects(&RegionCode::parse("72.71").unwrap()));
        assert!(!filers.expects(&RegionCode::parse("72").unwrap()));
        assert!(!filers.expects(&RegionCode::parse("73.71").unwrap()));
        let national = Filers { levels: vec![RegionLevel::Province], ..Filers::default() };
        assert_eq!(national.expected().len(), 38);
    }
}
