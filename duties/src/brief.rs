//! The morning brief: a summary of one region's (a province's, or the
//! nation's) previous local day, made from the classified stream, the
//! alerts and the LAPSITDA filings:
//! - per indicator, the reports of the day, the highest alert level raised,
//!   and the incidents the filings gave by ATHG category;
//! - the top incidents, each linked to its report in the web app;
//! - the open alerts and their state, and those raised during the day;
//! - who has not filed the LAPSITDA for the day, and who filed late.
//!
//! [`build`] is a pure function of what it is given; [`html`], [`text`] and
//! [`pdf`] render a [`Brief`] and nothing else, so an archived brief renders
//! again as the one that was sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use bus::{Record, View};
use minijinja::{AutoEscape, Environment};
use model::{Alert, AlertState, ClassifiedReport, Level, RegionCode, indicator_name, wire};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use utoipa::ToSchema;

use crate::compliance::{Compliance, Status};
use crate::filing::{CATEGORIES, Values};
use crate::pdf::Block;
use crate::template::{FieldKind, Template};

/// The template whose filers a brief lists as missing.
pub const LAPSITDA: &str = "lapsitda-harian";
/// Most incidents a brief lists.
pub const TOP_INCIDENTS: usize = 10;
/// Most alerts a brief lists.
pub const MAX_ALERTS: usize = 30;

/// One indicator's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BriefIndicator)]
pub struct IndicatorLine {
    pub indicator: String,
    pub name: String,
    /// Reports tagged with it during the day.
    pub reports: usize,
    /// The highest level of the alerts raised for it during the day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Alerts raised for it during the day.
    pub alerts: usize,
    /// Incidents the day's LAPSITDA filings gave for it, by ATHG category
    /// (`ancaman`, `tantangan`, `hambatan`, `gangguan`).
    pub athg: BTreeMap<String, usize>,
    /// Filings that called it aman (safe and conducive).
    pub aman: usize,
}

/// A report of the day, among the most serious.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BriefIncident)]
pub struct Incident {
    pub report: String,
    /// The report's page in the web app.
    pub link: String,
    /// Local time, `HH:MM`.
    pub at: String,
    pub place: String,
    /// Indicator names.
    pub indicators: Vec<String>,
    pub excerpt: String,
    /// The highest level of an alert it counted towards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
}

/// An alert open at the time of the brief, or raised during the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BriefAlert)]
pub struct AlertLine {
    pub id: String,
    pub link: String,
    pub indicator: String,
    pub place: String,
    pub level: Level,
    pub state: AlertState,
    /// Local time, `DD-MM-YYYY HH:MM`.
    pub raised_at: String,
}

/// A filer that did not file on time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BriefFiler)]
pub struct Filer {
    pub region: RegionCode,
    pub name: String,
    /// `late` or `not_filed`.
    pub status: String,
}

/// The LAPSITDA of the day: how many filed, and who did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BriefFilings)]
pub struct Filings {
    pub template: String,
    pub period: String,
    pub expected: usize,
    pub filed: usize,
    pub on_time: usize,
    pub late: usize,
    /// Not filed at all, then late, by region code.
    pub missing: Vec<Filer>,
}

/// A morning brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Brief {
    /// A province; none for the national brief.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    /// `Sulawesi Tengah`, or `Indonesia`.
    pub name: String,
    /// The brief's day, `2026-12-01`: the morning it is for.
    pub date: String,
    /// The local day it tells of, the day before.
    pub covers: String,
    /// `WIB`, `WITA` or `WIT`: the zone of its days and times (WIB nationally).
    pub zone: String,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Reports of the day in the region.
    pub reports: usize,
    pub indicators: Vec<IndicatorLine>,
    pub incidents: Vec<Incident>,
    pub alerts: Vec<AlertLine>,
    /// Open alerts, of those listed.
    pub open_alerts: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filings: Option<Filings>,
}

/// The zone of a brief: its province's, WIB nationally.
pub fn zone(region: Option<&RegionCode>) -> (&'static str, UtcOffset) {
    match region {
        Some(r) => crate::period::zone(r),
        None => ("WIB", UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC)),
    }
}

/// The key of a brief on the `briefs` topic and in the archive:
/// `72/2026-12-01`, or `00/2026-12-01` for the national brief.
pub fn key(region: Option<&RegionCode>, date: Date) -> String {
    format!("{}/{}", region.map_or("00", RegionCode::as_str), crate::period::Period::Day(date))
}

/// The local day a brief of `date` tells of, and its start and end.
pub fn covered(region: Option<&RegionCode>, date: Date) -> (Date, OffsetDateTime, OffsetDateTime) {
    let day = date.previous_day().unwrap_or(date);
    let offset = zone(region).1;
    let from = PrimitiveDateTime::new(day, Time::MIDNIGHT).assume_offset(offset);
    (day, from, from + Duration::days(1))
}

/// What a brief is made from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// A province, or none for the nation.
    pub region: Option<&'a RegionCode>,
    /// The brief's day (the morning it is for).
    pub date: Date,
    pub now: OffsetDateTime,
    /// The web app's address, for the links (`https://kentongan.example`).
    pub base_url: &'a str,
    /// The reports of the covered day within the region.
    pub reports: &'a [ClassifiedReport],
    /// The alerts within the region, in any state.
    pub alerts: &'a [Alert],
    /// The LAPSITDA compliance for the covered day over the region's filers.
    pub compliance: Option<&'a Compliance>,
    /// The LAPSITDA template, and the latest values of each filer that
    /// filed for the day.
    pub template: Option<&'a Template>,
    pub filings: &'a [(RegionCode, Values)],
}

fn local_time(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn local_stamp(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!("{:02}-{:02}-{} {:02}:{:02}", t.day(), u8::from(t.month()), t.year(), t.hour(), t.minute())
}

fn place(region: &RegionCode) -> String {
    let province = region.province();
    if province == *region {
        format!("{} ({region})", region.name())
    } else {
        format!("{} ({region}), {}", region.name(), province.name())
    }
}

/// The line of indicator `id`, made when first met; `order` keeps the
/// order they were met in.
fn slot<'a>(order: &mut Vec<String>, lines: &'a mut HashMap<String, IndicatorLine>, id: &str) -> &'a mut IndicatorLine {
    if !lines.contains_key(id) {
        order.push(id.to_owned());
    }
    lines.entry(id.to_owned()).or_insert_with(|| IndicatorLine {
        indicator: id.to_owned(),
        name: indicator_name(id),
        reports: 0,
        level: None,
        alerts: 0,
        athg: CATEGORIES.iter().map(|c| ((*c).to_owned(), 0)).collect(),
        aman: 0,
    })
}

/// Makes the brief.
pub fn build(s: Sources<'_>) -> Brief {
    let (zone_name, offset) = zone(s.region);
    let (day, from, to) = covered(s.region, s.date);
    let base = s.base_url.trim_end_matches('/');
    let in_day = |t: OffsetDateTime| from <= t && t < to;

    // the indicators: the built-in ones first, then any other seen
    let mut order: Vec<String> = Vec::new();
    let mut lines: HashMap<String, IndicatorLine> = HashMap::new();
    for i in model::INDICATORS {
        slot(&mut order, &mut lines, i);
    }
    for r in s.reports {
        for hit in &r.classification.indicators {
            slot(&mut order, &mut lines, &hit.id).reports += 1;
        }
    }
    // the highest level an alert of each report reached
    let mut report_level: HashMap<model::ReportId, Level> = HashMap::new();
    for a in s.alerts {
        for r in &a.reports {
            let l = report_level.entry(r.id).or_insert(a.level);
            *l = (*l).max(a.level);
        }
        if in_day(a.raised_at) {
            let e = slot(&mut order, &mut lines, &a.indicator);
            e.alerts += 1;
            e.level = e.level.max(Some(a.level));
        }
    }
    let situations: Vec<(&str, &str)> = s
        .template
        .into_iter()
        .flat_map(|t| &t.definition.fields)
        .filter(|f| f.kind == FieldKind::Situation)
        .filter_map(|f| Some((f.id.as_str(), f.indicator.as_deref()?)))
        .collect();
    for (_, values) in s.filings {
        for (field, indicator) in &situations {
            let Some(value) = values.get(*field) else { continue };
            let status = value.get("status").and_then(|v| v.as_str()).unwrap_or_default();
            let e = slot(&mut order, &mut lines, indicator);
            if status == "aman" {
                e.aman += 1;
            }
            for incident in value.get("incidents").and_then(|v| v.as_array()).into_iter().flatten() {
                if let Some(c) = incident.get("category").and_then(|v| v.as_str()) {
                    *e.athg.entry(c.to_owned()).or_default() += 1;
                }
            }
        }
    }
    let indicators: Vec<IndicatorLine> = order.iter().filter_map(|id| lines.remove(id)).collect();

    // the top incidents: by the level of their alert, then their scores
    let mut tagged: Vec<(&ClassifiedReport, Option<Level>, f64)> = s
        .reports
        .iter()
        .filter(|r| !r.classification.indicators.is_empty())
        .map(|r| {
            let score: f64 = r.classification.indicators.iter().map(|h| h.score).sum();
            (r, report_level.get(&r.report.id).copied(), score)
        })
        .collect();
    tagged.sort_by(|a, b| {
        b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(b.0.report.reported_at.cmp(&a.0.report.reported_at))
    });
    let incidents = tagged
        .into_iter()
        .take(TOP_INCIDENTS)
        .map(|(r, level, _)| {
            let region = r.report.region.clone().or_else(|| r.classification.regions.first().cloned());
            Incident {
                report: r.report.id.to_string(),
                link: format!("{base}/#/reports/{}", r.report.id),
                at: local_time(r.report.reported_at, offset),
                place: region.as_ref().map_or_else(|| "-".to_owned(), place),
                indicators: r.classification.indicators.iter().map(|h| indicator_name(&h.id)).collect(),
                excerpt: model::excerpt(&r.report.text, 240),
                level,
            }
        })
        .collect();

    // alerts open now, or raised during the day: the highest first
    let mut alerts: Vec<&Alert> =
        s.alerts.iter().filter(|a| a.state != AlertState::Resolved || in_day(a.raised_at)).collect();
    alerts.sort_by(|a, b| b.level.cmp(&a.level).then(b.raised_at.cmp(&a.raised_at)));
    let alerts: Vec<AlertLine> = alerts
        .into_iter()
        .take(MAX_ALERTS)
        .map(|a| AlertLine {
            id: a.id.to_string(),
            link: format!("{base}/#/alerts/{}", a.id),
            indicator: indicator_name(&a.indicator),
            place: place(&a.region),
            level: a.level,
            state: a.state,
            raised_at: local_stamp(a.raised_at, offset),
        })
        .collect();

    let filings = s.compliance.map(|c| {
        let mut missing: Vec<Filer> = c
            .rows
            .iter()
            .filter(|r| r.status != Status::Filed)
            .map(|r| Filer {
                region: r.region.clone(),
                name: r.name.to_owned(),
                status: if r.status == Status::Late { "late" } else { "not_filed" }.to_owned(),
            })
            .collect();
        missing.sort_by(|a, b| b.status.cmp(&a.status).then(a.region.cmp(&b.region)));
        let count = |st: Status| c.rows.iter().filter(|r| r.status == st).count();
        Filings {
            template: c.template.clone(),
            period: c.period.clone(),
            expected: c.rows.len(),
            filed: count(Status::Filed) + count(Status::Late),
            on_time: count(Status::Filed),
            late: count(Status::Late),
            missing,
        }
    });

    Brief {
        name: s.region.map_or("Indonesia", RegionCode::name).to_owned(),
        region: s.region.cloned(),
        date: crate::period::Period::Day(s.date).to_string(),
        covers: crate::period::Period::Day(day).to_string(),
        zone: zone_name.to_owned(),
        generated_at: s.now,
        reports: s.reports.len(),
        indicators,
        incidents,
        open_alerts: alerts.iter().filter(|a| a.state != AlertState::Resolved).count(),
        alerts,
        filings,
    }
}

const DAYS: [&str; 7] = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"];
const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// `Selasa, 1 Desember 2026`.
pub fn long_date(day: &str) -> String {
    match crate::period::parse_day(day) {
        Ok(d) => format!(
            "{}, {} {} {}",
            DAYS[usize::from(d.weekday().number_days_from_monday())],
            d.day(),
            MONTHS[usize::from(u8::from(d.month()) - 1)],
            d.year()
        ),
        Err(_) => day.to_owned(),
    }
}

fn level_word(level: Option<Level>) -> String {
    level.map_or_else(|| "-".to_owned(), |l| l.as_str().to_uppercase())
}

fn state_word(state: AlertState) -> &'static str {
    match state {
        AlertState::Open => "terbuka",
        AlertState::Acknowledged => "diterima",
        AlertState::InProgress => "ditangani",
        AlertState::Resolved => "selesai",
    }
}

fn status_word(status: &str) -> &'static str {
    if status == "late" { "terlambat" } else { "belum mengirim" }
}

/// The brief's title: `Ringkasan Pagi Sulawesi Tengah - Selasa, 1 Desember 2026`.
pub fn title(brief: &Brief) -> String {
    format!("Ringkasan Pagi {} - {}", brief.name, long_date(&brief.date))
}

/// The words of duties' messages (minijinja, compiled in; HTML escaped):
/// the brief's, and the reminders' and summaries' ([`crate::remind`]).
const TEMPLATES: [(&str, &str); 9] = [
    ("brief.id.html", include_str!("../templates/brief.id.html")),
    ("brief.id.txt", include_str!("../templates/brief.id.txt")),
    ("remind.id.subject", include_str!("../templates/remind.id.subject")),
    ("remind.id.txt", include_str!("../templates/remind.id.txt")),
    ("remind.id.html", include_str!("../templates/remind.id.html")),
    ("remind.id.sms", include_str!("../templates/remind.id.sms")),
    ("summary.id.subject", include_str!("../templates/summary.id.subject")),
    ("summary.id.txt", include_str!("../templates/summary.id.txt")),
    ("summary.id.html", include_str!("../templates/summary.id.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(false);
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        for (name, text) in TEMPLATES {
            env.add_template(name, text).expect("the built-in templates parse");
        }
        env.add_filter("level", |l: Option<String>| l.map_or_else(|| "-".to_owned(), |l| l.to_uppercase()));
        env.add_filter("state", |s: String| {
            let state: AlertState = serde_json::from_value(serde_json::Value::String(s)).unwrap_or_default();
            state_word(state)
        });
        env.add_filter("filer_status", |s: String| status_word(&s));
        env
    })
}

#[derive(Serialize)]
struct Context<'a> {
    title: String,
    covers: String,
    b: &'a Brief,
}

/// Renders the built-in template `name` with `context`.
pub(crate) fn render_with(name: &str, context: &impl Serialize) -> String {
    environment()
        .get_template(name)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| format!("template {name}: {e:#}"))
}

fn render(name: &str, brief: &Brief) -> String {
    render_with(name, &Context { title: title(brief), covers: long_date(&brief.covers), b: brief })
}

/// The brief as an HTML page (escaped).
pub fn html(brief: &Brief) -> String {
    render("brief.id.html", brief)
}

/// The brief as plain text, for an email's text part.
pub fn text(brief: &Brief) -> String {
    render("brief.id.txt", brief)
}

/// The brief as a PDF.
pub fn pdf(brief: &Brief) -> Vec<u8> {
    let mut b = vec![
        Block::Title(title(brief)),
        Block::Small(format!(
            "Keadaan {} ({}), dibuat {} {}",
            long_date(&brief.covers),
            brief.zone,
            local_stamp(brief.generated_at, zone(brief.region.as_ref()).1),
            brief.zone
        )),
        Block::Heading(format!("Indikator ({} laporan)", brief.reports)),
    ];
    for i in &brief.indicators {
        let athg: Vec<String> = i.athg.iter().filter(|(_, n)| **n > 0).map(|(c, n)| format!("{c} {n}")).collect();
        b.push(Block::Text(format!(
            "{}: {} laporan, {} peringatan, tingkat {}; LAPSITDA: {} aman{}",
            i.name,
            i.reports,
            i.alerts,
            level_word(i.level),
            i.aman,
            if athg.is_empty() { String::new() } else { format!(", {}", athg.join(", ")) }
        )));
    }
    b.push(Block::Heading("Kejadian utama".into()));
    if brief.incidents.is_empty() {
        b.push(Block::Text("Tidak ada laporan yang terkait indikator.".into()));
    }
    for (n, i) in brief.incidents.iter().enumerate() {
        let level = i.level.map(|l| format!(" [{}]", l.as_str().to_uppercase())).unwrap_or_default();
        b.push(Block::Text(format!(
            "{}. {} {}{level} {} - {}: {}",
            n + 1,
            i.at,
            brief.zone,
            i.place,
            i.indicators.join(", "),
            i.excerpt
        )));
        b.push(Block::Small(i.link.clone()));
    }
    b.push(Block::Heading(format!("Peringatan ({} terbuka)", brief.open_alerts)));
    if brief.alerts.is_empty() {
        b.push(Block::Text("Tidak ada peringatan terbuka.".into()));
    }
    for a in &brief.alerts {
        b.push(Block::Text(format!(
            "[{}] {} - {}: {}, sejak {} {}",
            a.level.as_str().to_uppercase(),
            a.indicator,
            a.place,
            state_word(a.state),
            a.raised_at,
            brief.zone
        )));
        b.push(Block::Small(a.link.clone()));
    }
    if let Some(f) = &brief.filings {
        b.push(Block::Heading(format!("LAPSITDA {}", long_date(&f.period))));
        b.push(Block::Text(format!(
            "{} dari {} mengirim ({} tepat waktu, {} terlambat); {} belum mengirim.",
            f.filed,
            f.expected,
            f.on_time,
            f.late,
            f.expected - f.filed
        )));
        for m in &f.missing {
            b.push(Block::Text(format!("- {} ({}): {}", m.name, m.region, status_word(&m.status))));
        }
    }
    b.push(Block::Space);
    b.push(Block::Small("Dibuat otomatis oleh kentongan dari laporan, peringatan dan LAPSITDA.".into()));
    crate::pdf::document(&title(brief), &b, brief.generated_at)
}

/// An archived brief, as kept on the `briefs` topic: the brief as it was
/// made, from which its HTML, text and PDF are rendered again alike.
pub type Archived = Brief;

/// The archived briefs this node knows, from the `briefs` topic (compacted,
/// key `72/2026-12-01`). The first brief of a key is kept: it is the one
/// that was sent. Cheap to clone.
#[derive(Clone, Default)]
pub struct BriefBook(Arc<RwLock<BTreeMap<String, Arc<Brief>>>>);

impl std::fmt::Debug for BriefBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BriefBook")
    }
}

impl BriefBook {
    /// Keeps `brief` unless one of its key is kept already; returns the one kept.
    pub fn insert(&self, brief: Brief) -> Arc<Brief> {
        let key = key(brief.region.as_ref(), crate::period::parse_day(&brief.date).unwrap_or(Date::MIN));
        let mut all = self.0.write().unwrap_or_else(|e| e.into_inner());
        all.entry(key).or_insert_with(|| Arc::new(brief)).clone()
    }

    /// The brief of `region` (none: national) for `date`, if archived.
    pub fn get(&self, region: Option<&RegionCode>, date: Date) -> Option<Arc<Brief>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(&key(region, date)).cloned()
    }

    /// Every archived brief, newest day first, then by region.
    pub fn list(&self) -> Vec<Arc<Brief>> {
        let mut all: Vec<Arc<Brief>> = self.0.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        all.sort_by(|a, b| b.date.cmp(&a.date).then(a.region.cmp(&b.region)));
        all
    }
}

impl View for BriefBook {
    fn apply(&self, record: &Record) {
        if record.payload.is_empty() {
            return;
        }
        match wire::decode::<Brief>(&record.payload) {
            Ok(b) => {
                self.insert(b);
            }
            Err(e) => tracing::warn!(key = %record.key, error = %e, "briefs: skipping an unreadable record"),
        }
    }
}

#[cfg(test)]
mod tests {
    use model::{Channel, Classification, IndicatorHit, Report, ReportRef, Window};
    use serde_json::json;
    use time::macros::{date, datetime};

    use super::*;
    use crate::period::Period;
    use crate::template::builtins;

    fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }

    fn report(text: &str, region: &str, at: OffsetDateTime, indicators: &[(&str, f64)]) -> ClassifiedReport {
        ClassifiedReport {
            report: Report { region: Some(code(region)), ..Report::new(Channel::App, "api", text, at) },
            classification: Classification {
                language: None,
                indicators: indicators
                    .iter()
                    .map(|(id, score)| IndicatorHit {
                        id: (*id).into(),
                        score: *score,
                        rules: Vec::new(),
                        matches: Vec::new(),
                    })
                    .collect(),
                regions: vec![code(region)],
                rules_version: "t".into(),
                classified_at: at,
            },
        }
    }

    /// A LAPSITDA filing of `region` made at `at`, as the filings view keeps it.
    fn filing(book: &crate::FilingBook, region: &str, at: OffsetDateTime) {
        let filing: model::Filing = serde_json::from_value(json!({
            "template": LAPSITDA, "version": 1, "period": "2026-11-30", "region": region, "values": {}
        }))
        .unwrap();
        let report =
            Report { filing: Some(filing), ..Report::new(Channel::App, "template/lapsitda-harian", "laporan", at) };
        book.record(&report, None);
    }

    /// A day in Sulawesi Tengah: the counts, the levels, the top incidents
    /// linked to their reports, the open alerts and who did not file.
    #[test]
    fn a_province_brief_holds_the_days_numbers() {
        let sulteng = code("72");
        let date = date!(2026 - 12 - 01);
        // 30 November in WITA: from 16:00 UTC on the 29th to 16:00 UTC on the 30th
        let (day, from, to) = covered(Some(&sulteng), date);
        assert_eq!(
            (day, from, to),
            (date!(2026 - 11 - 30), datetime!(2026-11-30 00:00 +08:00), datetime!(2026-12-01 00:00 +08:00))
        );
        let clash = report(
            "Bentrok <warga> di Palu Barat",
            "72.71",
            datetime!(2026-11-30 09:15 +08:00),
            &[("konflik_sosial", 2.0)],
        );
        let drugs =
            report("Peredaran sabu di Donggala", "72.03", datetime!(2026-11-30 20:00 +08:00), &[("narkoba", 3.0)]);
        let quiet = report("Jalan rusak", "72.03", datetime!(2026-11-30 10:00 +08:00), &[]);
        let mut alert = Alert { id: uuid::Uuid::now_v7(), ..Alert::example(datetime!(2026-11-30 02:00 UTC)) };
        alert.window = Window { start: from, end: to };
        alert.reports =
            vec![ReportRef { id: clash.report.id, reported_at: clash.report.reported_at, excerpt: String::new() }];
        let old_resolved = Alert {
            id: uuid::Uuid::now_v7(),
            state: AlertState::Resolved,
            raised_at: datetime!(2026-11-20 02:00 UTC),
            ..Alert::example(datetime!(2026-11-20 02:00 UTC))
        };
        let t = builtins().remove(0);
        let period = Period::Day(day);
        let expected = [code("72"), code("72.03"), code("72.71")];
        let book = crate::FilingBook::default();
        filing(&book, "72.71", datetime!(2026-11-30 21:00 +08:00));
        filing(&book, "72.03", datetime!(2026-12-01 00:30 +08:00));
        let filed = book.filings(LAPSITDA, "2026-11-30");
        let c = crate::compliance::compliance(&t, &period, &expected, &filed, datetime!(2026-12-01 06:00 +08:00));
        let values: Values = [
            (
                "situasi_konflik_sosial".to_owned(),
                json!({"status": "athg", "incidents": [{"category": "gangguan", "text": "bentrok"}]}),
            ),
            ("situasi_narkoba".to_owned(), json!({"status": "aman"})),
        ]
        .into_iter()
        .collect();
        let reports = [quiet, clash.clone(), drugs.clone()];
        let alerts = [alert.clone(), old_resolved];
        let brief = build(Sources {
            region: Some(&sulteng),
            date,
            now: datetime!(2026-12-01 06:00 +08:00),
            base_url: "https://kentongan.example/",
            reports: &reports,
            alerts: &alerts,
            compliance: Some(&c),
            template: Some(&t),
            filings: &[(code("72.71"), values)],
        });
        assert_eq!(
            (brief.date.as_str(), brief.covers.as_str(), brief.zone.as_str()),
            ("2026-12-01", "2026-11-30", "WITA")
        );
        assert_eq!(brief.reports, 3);
        let konflik = brief.indicators.iter().find(|i| i.indicator == "konflik_sosial").unwrap();
        assert_eq!((konflik.reports, konflik.alerts, konflik.level), (1, 1, Some(Level::Siaga)));
        assert_eq!(konflik.athg["gangguan"], 1);
        let narkoba = brief.indicators.iter().find(|i| i.indicator == "narkoba").unwrap();
        assert_eq!((narkoba.reports, narkoba.level, narkoba.aman), (1, None, 1));
        // the report of the siaga alert comes first, though the other scored higher; the untagged one is left out
        let ids: Vec<&str> = brief.incidents.iter().map(|i| i.report.as_str()).collect();
        assert_eq!(ids, [clash.report.id.to_string(), drugs.report.id.to_string()]);
        assert_eq!(brief.incidents[0].link, format!("https://kentongan.example/#/reports/{}", clash.report.id));
        assert_eq!(brief.incidents[0].at, "09:15");
        // the open alert; the one resolved days ago is not listed
        assert_eq!(brief.alerts.len(), 1);
        assert_eq!((brief.open_alerts, brief.alerts[0].state), (1, AlertState::Open));
        let f = brief.filings.as_ref().unwrap();
        assert_eq!((f.expected, f.filed, f.on_time, f.late), (3, 2, 1, 1));
        let missing: Vec<(&str, &str)> = f.missing.iter().map(|m| (m.region.as_str(), m.status.as_str())).collect();
        assert_eq!(missing, [("72", "not_filed"), ("72.03", "late")]);

        let page = html(&brief);
        assert!(page.contains("Ringkasan Pagi Sulawesi Tengah - Selasa, 1 Desember 2026"), "{page}");
        assert!(page.contains("Bentrok &lt;warga&gt; di Palu Barat"), "escaped: {page}");
        // minijinja escapes `/` in attributes too; a browser reads it back
        let link = format!("href=\"https:&#x2f;&#x2f;kentongan.example&#x2f;#&#x2f;reports&#x2f;{}\"", clash.report.id);
        assert!(page.contains(&link), "{page}");
        assert!(page.contains("Sulawesi Tengah (72)") && page.contains("belum mengirim"), "{page}");
        let words = text(&brief);
        assert!(words.contains("Konflik sosial: 1 laporan, 1 peringatan, tingkat SIAGA"), "{words}");
        assert!(words.contains("2 dari 3 mengirim (1 tepat waktu, 1 terlambat)"), "{words}");
        let pdf = pdf(&brief);
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(pdf, super::pdf(&brief), "the same brief renders to the same bytes");
    }

    #[test]
    fn the_book_keeps_the_first_brief_of_a_key() {
        let book = BriefBook::default();
        let date = date!(2026 - 12 - 01);
        let brief = build(Sources {
            region: None,
            date,
            now: datetime!(2026-12-01 06:00 +07:00),
            base_url: "",
            reports: &[],
            alerts: &[],
            compliance: None,
            template: None,
            filings: &[],
        });
        assert_eq!(brief.zone, "WIB");
        assert_eq!(key(None, date), "00/2026-12-01");
        book.insert(brief.clone());
        let later = Brief { generated_at: datetime!(2026-12-01 07:00 +07:00), ..brief.clone() };
        let record = Record {
            topic: bus::Topic::Briefs,
            partition: 0,
            offset: 1,
            key: key(None, date),
            payload: wire::encode(&later),
        };
        book.apply(&record);
        assert_eq!(*book.get(None, date).unwrap(), brief);
        assert_eq!(book.list().len(), 1);
        assert!(book.get(Some(&code("72")), date).is_none());
    }
}
