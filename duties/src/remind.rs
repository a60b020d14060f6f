//! Reminders before a deadline and summaries after it.
//!
//! - A **reminder** goes, `lead` before a filer's deadline (in the filer's
//!   own zone), to the units responsible for each filer that has not filed
//!   yet, and to nobody else: a filer that filed is not reminded.
//! - A **summary** goes to the parent unit of the units responsible for a
//!   template's filers once the last of their deadlines has passed (within
//!   a day of it): who filed on time, who filed late, who did not file.
//!
//! The units responsible for a filer are those whose regions hold it most
//! closely: Kota Palu's own unit, else the province's; a filer that is a
//! unit (`filers.units`) is reminded itself. Everything here is a
//! pure function of the template, the filings, the units and the time; each
//! reminder and summary has a key, so that sending it once is up to the
//! outbox that takes it (`remind/<template>/<period>/<region>`,
//! `summary/<template>/<period>/<parent unit>`).

use std::collections::BTreeMap;

use model::{RegionCode, Unit};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::book::FilingEntry;
use crate::compliance::{self, Row, Status};
use crate::period::{Period, zone};
use crate::template::{Every, Template};

/// How long after the last deadline of its filers a summary may still go
/// out (a node that was down longer does not send old summaries).
pub const SUMMARY_WINDOW: Duration = Duration::days(1);

/// A filer that has not filed, with its deadline close.
#[derive(Debug, Clone)]
pub struct Reminder<'a> {
    pub template: &'a Template,
    pub period: Period,
    pub region: RegionCode,
    pub deadline: OffsetDateTime,
    /// The units responsible for it.
    pub units: Vec<&'a Unit>,
    /// When the filer is a unit (the template's `filers.units`): its id;
    /// `region` is then the unit's first region, whose zone its deadline
    /// is in, and `units` the unit itself.
    pub filer_unit: Option<&'a str>,
}

impl Reminder<'_> {
    /// `remind/lapsitda-harian/2026-11-30/72.71`, or for a unit filer
    /// `remind/lapsitda-harian/2026-11-30/unit/kesbangpol-palu`.
    pub fn key(&self) -> String {
        match self.filer_unit {
            Some(unit) => format!("remind/{}/{}/unit/{unit}", self.template.id, self.period),
            None => format!("remind/{}/{}/{}", self.template.id, self.period, self.region),
        }
    }
}

/// How the filers under one parent unit stood at their deadline.
#[derive(Debug, Clone)]
pub struct Summary<'a> {
    pub template: &'a Template,
    pub period: Period,
    /// The unit told.
    pub parent: &'a Unit,
    /// Its child units' filers, by region code.
    pub rows: Vec<Row>,
    /// The last deadline among them.
    pub deadline: OffsetDateTime,
}

impl Summary<'_> {
    /// `summary/lapsitda-harian/2026-11-30/sulteng`.
    pub fn key(&self) -> String {
        format!("summary/{}/{}/{}", self.template.id, self.period, self.parent.id)
    }
}

/// The units responsible for `region`: of the units whose regions hold it,
/// those holding it most closely (its own unit before its province's).
pub fn responsible<'a>(units: &'a [Unit], region: &RegionCode) -> Vec<&'a Unit> {
    let depth = |u: &Unit| u.regions.iter().filter(|r| region.is_within(r)).map(|r| r.as_str().len()).max();
    let best = units.iter().filter_map(depth).max();
    match best {
        Some(best) => units.iter().filter(|u| depth(u) == Some(best)).collect(),
        None => Vec::new(),
    }
}

/// The periods of `template` whose deadlines may lie near `now`: those
/// holding the local days from `days_after + 1` days before today (in any
/// zone) to tomorrow, or every stage.
fn candidates(template: &Template, now: OffsetDateTime) -> Vec<Period> {
    let schedule = &template.definition.schedule;
    if schedule.every == Every::Stage {
        return schedule.stages.iter().map(|s| Period::Stage(s.id.clone())).collect();
    }
    let back = i64::from(schedule.days_after) + 2;
    let mut out: Vec<Period> = (-back..=1)
        .filter_map(|d| now.to_offset(time::UtcOffset::UTC).checked_add(Duration::days(d)))
        .flat_map(|t| [7, 8, 9].map(|h| (t + Duration::hours(h)).date()))
        .filter_map(|day| Period::holding(schedule, day))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The reminders due at `now`: for each period of `template` and each
/// expected filer that has not filed, once `now` lies within `lead` before
/// its deadline. `filed` gives the filings of a period by region,
/// `unit_filed` by unit id: a unit filer (`filers.units`) that has not
/// filed is reminded itself, by its first region's deadline.
pub fn reminders<'a>(
    template: &'a Template,
    filed: &dyn Fn(&Period) -> BTreeMap<RegionCode, Vec<FilingEntry>>,
    unit_filed: &dyn Fn(&Period) -> BTreeMap<String, Vec<FilingEntry>>,
    units: &'a [Unit],
    now: OffsetDateTime,
    lead: Duration,
) -> Vec<Reminder<'a>> {
    let schedule = &template.definition.schedule;
    let expected = template.definition.filers.expected();
    let due = |period: &Period, region: &RegionCode| {
        let deadline = period.deadline(schedule, region)?;
        let open = period.begins(region).is_none_or(|b| b <= now);
        (open && deadline - lead <= now && now < deadline).then_some(deadline)
    };
    let mut out = Vec::new();
    for period in candidates(template, now) {
        let filings = filed(&period);
        for region in &expected {
            let Some(deadline) = due(&period, region) else { continue };
            if filings.contains_key(region) {
                continue;
            }
            let units = responsible(units, region);
            if !units.is_empty() {
                let region = region.clone();
                out.push(Reminder { template, period: period.clone(), region, deadline, units, filer_unit: None });
            }
        }
        if template.definition.filers.units.is_empty() {
            continue;
        }
        let unit_filings = unit_filed(&period);
        for id in &template.definition.filers.units {
            // a unit no longer in the book cannot be told
            let Some(unit) = units.iter().find(|u| &u.id == id) else { continue };
            let Some(region) = unit.regions.first() else { continue };
            let Some(deadline) = due(&period, region) else { continue };
            if unit_filings.contains_key(id) {
                continue;
            }
            out.push(Reminder {
                template,
                period: period.clone(),
                region: region.clone(),
                deadline,
                units: vec![unit],
                filer_unit: Some(unit.id.as_str()),
            });
        }
    }
    out
}

/// The summaries due at `now`: for each period of `template` whose filers'
/// deadlines have all passed (within [`SUMMARY_WINDOW`]), one to each
/// parent unit of the units responsible for them, of its child units'
/// filers.
pub fn summaries<'a>(
    template: &'a Template,
    filed: &dyn Fn(&Period) -> BTreeMap<RegionCode, Vec<FilingEntry>>,
    units: &'a [Unit],
    now: OffsetDateTime,
) -> Vec<Summary<'a>> {
    let expected = template.definition.filers.expected();
    let mut out = Vec::new();
    for period in candidates(template, now) {
        // parent unit id → its children's filers
        let mut groups: BTreeMap<&str, Vec<RegionCode>> = BTreeMap::new();
        for region in &expected {
            for unit in responsible(units, region) {
                if let Some(parent) = unit.parent.as_deref() {
                    let filers = groups.entry(parent).or_default();
                    if !filers.contains(region) {
                        filers.push(region.clone());
                    }
                }
            }
        }
        if groups.is_empty() {
            continue;
        }
        let filings = filed(&period);
        for (parent, filers) in groups {
            let Some(parent) = units.iter().find(|u| u.id == parent) else { continue };
            let c = compliance::compliance(template, &period, &filers, &filings, now);
            let Some(deadline) = c.rows.iter().filter_map(|r| r.deadline).max() else { continue };
            if now < deadline || now >= deadline + SUMMARY_WINDOW {
                continue;
            }
            out.push(Summary { template, period: period.clone(), parent, rows: c.rows, deadline });
        }
    }
    out
}

/// The words of a reminder or a summary: a subject, the text and HTML of
/// an email, and an SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

fn render(name: &str, context: &impl Serialize) -> String {
    crate::brief::render_with(name, context)
}

fn local(t: OffsetDateTime, region: &RegionCode) -> String {
    let t = t.to_offset(zone(region).1);
    format!("{:02}-{:02}-{} {:02}:{:02}", t.day(), u8::from(t.month()), t.year(), t.hour(), t.minute())
}

#[derive(Serialize)]
struct ReminderContext<'a> {
    unit: &'a str,
    template: &'a str,
    period: String,
    region: &'a str,
    place: &'a str,
    deadline: String,
    zone: &'static str,
    /// `1 jam 59 menit`.
    left: String,
    link: String,
}

/// The words of `reminder` for `unit`; `base_url` is the web app's address.
pub fn reminder_texts(reminder: &Reminder<'_>, unit: &Unit, base_url: &str, now: OffsetDateTime) -> Texts {
    let left = (reminder.deadline - now).max(Duration::ZERO);
    let (hours, minutes) = (left.whole_hours(), left.whole_minutes() % 60);
    let context = ReminderContext {
        unit: &unit.name,
        template: &reminder.template.definition.name,
        period: reminder.period.to_string(),
        region: reminder.region.as_str(),
        place: reminder.region.name(),
        deadline: local(reminder.deadline, &reminder.region),
        zone: zone(&reminder.region).0,
        left: if hours > 0 { format!("{hours} jam {minutes} menit") } else { format!("{minutes} menit") },
        link: format!("{}/#/duties", base_url.trim_end_matches('/')),
    };
    Texts {
        subject: render("remind.id.subject", &context).trim().to_owned(),
        text: render("remind.id.txt", &context),
        html: render("remind.id.html", &context),
        sms: render("remind.id.sms", &context).trim().to_owned(),
    }
}

#[derive(Serialize)]
struct Line {
    place: &'static str,
    region: String,
    at: String,
    zone: &'static str,
}

#[derive(Serialize)]
struct SummaryContext<'a> {
    unit: &'a str,
    template: &'a str,
    period: String,
    expected: usize,
    on_time: Vec<Line>,
    late: Vec<Line>,
    not_filed: Vec<Line>,
    link: String,
}

/// The words of `summary`; `base_url` is the web app's address.
pub fn summary_texts(summary: &Summary<'_>, base_url: &str) -> Texts {
    let lines = |status: Status| -> Vec<Line> {
        summary
            .rows
            .iter()
            .filter(|r| r.status == status)
            .map(|r| Line {
                place: r.name,
                region: r.region.to_string(),
                at: r.filed_at.map(|t| local(t, &r.region)).unwrap_or_default(),
                zone: r.zone,
            })
            .collect()
    };
    let context = SummaryContext {
        unit: &summary.parent.name,
        template: &summary.template.definition.name,
        period: summary.period.to_string(),
        expected: summary.rows.len(),
        on_time: lines(Status::Filed),
        late: lines(Status::Late),
        not_filed: lines(Status::NotFiled),
        link: format!("{}/#/duties", base_url.trim_end_matches('/')),
    };
    let text = render("summary.id.txt", &context);
    Texts {
        subject: render("summary.id.subject", &context).trim().to_owned(),
        sms: text.clone(),
        html: render("summary.id.html", &context),
        text,
    }
}

#[cfg(test)]
mod tests {
    use model::{Channel, Level, Report};
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::book::FilingBook;
    use crate::template::builtins;

    fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }

    fn unit(id: &str, region: &str, parent: Option<&str>) -> Unit {
        Unit {
            id: id.into(),
            name: format!("Kesbangpol {}", code(region).name()),
            regions: vec![code(region)],
            indicators: Vec::new(),
            min_level: Level::Waspada,
            emails: vec![format!("{id}@example.go.id")],
            phones: Vec::new(),
            parent: parent.map(Into::into),
            working_hours: None,
            time_zone: None,
            language: None,
        }
    }

    /// A LAPSITDA template filed by three regencies of Sulawesi Tengah and
    /// one of Papua.
    fn lapsitda() -> Template {
        let mut t = builtins().remove(0);
        t.definition.filers = serde_json::from_value(json!({"regions": ["72.71", "72.03", "72.02", "91.71"]})).unwrap();
        t
    }

    fn file(book: &FilingBook, region: &str, period: &str, at: OffsetDateTime) {
        let filing: model::Filing = serde_json::from_value(json!({
            "template": "lapsitda-harian", "version": 1, "period": period, "region": region, "values": {}
        }))
        .unwrap();
        book.record(&Report { filing: Some(filing), ..Report::new(Channel::App, "t", "laporan", at) }, None);
    }

    fn units() -> Vec<Unit> {
        vec![
            unit("pusat", "72", None),
            unit("sulteng", "72", Some("pusat")),
            unit("palu", "72.71", Some("sulteng")),
            unit("donggala", "72.03", Some("sulteng")),
            unit("jayapura", "91.71", Some("papua")),
        ]
    }

    /// Only the units of filers that have not filed are reminded, within
    /// the lead before their own deadline, in their own zone.
    #[test]
    fn reminders_go_only_to_the_units_of_filers_that_have_not_filed() {
        let t = lapsitda();
        let units = units();
        let book = FilingBook::default();
        file(&book, "72.71", "2026-11-30", datetime!(2026-11-30 20:00 +08:00));
        let filed = |p: &Period| book.filings("lapsitda-harian", &p.to_string());
        let unit_filed = |p: &Period| book.unit_filings("lapsitda-harian", &p.to_string());
        let lead = Duration::hours(2);
        let chosen = |now: OffsetDateTime| -> Vec<(String, Vec<String>)> {
            reminders(&t, &filed, &unit_filed, &units, now, lead)
                .into_iter()
                .map(|r| (r.key(), r.units.iter().map(|u| u.id.clone()).collect()))
                .collect()
        };
        // 21:00 WITA = 22:00 WIT: three hours before Palu's midnight, two before Jayapura's
        let evening = datetime!(2026-11-30 21:00 +08:00);
        assert_eq!(
            chosen(evening),
            [("remind/lapsitda-harian/2026-11-30/91.71".to_owned(), vec!["jayapura".to_owned()])]
        );
        // 22:30 WITA: Donggala (its own unit) and Poso (no unit of its own: the province's), not Palu, which filed
        let late = datetime!(2026-11-30 22:30 +08:00);
        assert_eq!(
            chosen(late),
            [
                ("remind/lapsitda-harian/2026-11-30/72.02".to_owned(), vec!["pusat".to_owned(), "sulteng".to_owned()]),
                ("remind/lapsitda-harian/2026-11-30/72.03".to_owned(), vec!["donggala".to_owned()]),
                ("remind/lapsitda-harian/2026-11-30/91.71".to_owned(), vec!["jayapura".to_owned()]),
            ]
        );
        // Donggala files: no longer reminded; after midnight WITA nothing is due for the 30th
        file(&book, "72.03", "2026-11-30", datetime!(2026-11-30 22:40 +08:00));
        let keys: Vec<String> = chosen(datetime!(2026-11-30 22:45 +08:00)).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["remind/lapsitda-harian/2026-11-30/72.02", "remind/lapsitda-harian/2026-11-30/91.71"]);
        assert!(chosen(datetime!(2026-12-01 00:01 +08:00)).iter().all(|(k, _)| !k.contains("2026-11-30")));

        let r = &reminders(&t, &filed, &unit_filed, &units, late, lead)[0];
        let words = reminder_texts(r, r.units[1], "https://k.example/", late);
        assert_eq!(words.subject, "[PENGINGAT] LAPSITDA harian 2026-11-30 belum dikirim - Kabupaten Poso");
        assert!(words.text.starts_with("Yth. Kesbangpol Sulawesi Tengah,"), "{}", words.text);
        assert!(words.text.contains("Batas waktunya 01-12-2026 00:00 WITA (1 jam 30 menit lagi)"), "{}", words.text);
        assert!(words.sms.contains("https://k.example/#/duties"), "{}", words.sms);
    }

    /// A unit that must file (`filers.units`) is reminded itself, by the
    /// deadline of its first region's zone, until it files.
    #[test]
    fn a_unit_that_must_file_is_reminded_until_it_files() {
        let mut t = lapsitda();
        t.definition.filers = serde_json::from_value(json!({"units": ["palu", "jayapura"]})).unwrap();
        let units = units();
        let book = FilingBook::default();
        let filed = |p: &Period| book.filings("lapsitda-harian", &p.to_string());
        let unit_filed = |p: &Period| book.unit_filings("lapsitda-harian", &p.to_string());
        let chosen = |now: OffsetDateTime| -> Vec<(String, Vec<String>)> {
            reminders(&t, &filed, &unit_filed, &units, now, Duration::hours(2))
                .into_iter()
                .map(|r| (r.key(), r.units.iter().map(|u| u.id.clone()).collect()))
                .collect()
        };
        let owned = |k: &str, u: &str| (k.to_owned(), vec![u.to_owned()]);
        // 21:00 WITA = 22:00 WIT: only Jayapura's midnight is two hours away
        assert_eq!(
            chosen(datetime!(2026-11-30 21:00 +08:00)),
            [owned("remind/lapsitda-harian/2026-11-30/unit/jayapura", "jayapura")]
        );
        assert_eq!(
            chosen(datetime!(2026-11-30 22:30 +08:00)),
            [
                owned("remind/lapsitda-harian/2026-11-30/unit/palu", "palu"),
                owned("remind/lapsitda-harian/2026-11-30/unit/jayapura", "jayapura"),
            ]
        );
        // Palu files as its unit: only Jayapura is left
        let filing: model::Filing = serde_json::from_value(json!({
            "template": "lapsitda-harian", "version": 1, "period": "2026-11-30", "region": "72.71",
            "unit": "palu", "values": {}
        }))
        .unwrap();
        let at = datetime!(2026-11-30 22:35 +08:00);
        book.record(&Report { filing: Some(filing), ..Report::new(Channel::App, "t", "laporan", at) }, None);
        assert_eq!(
            chosen(datetime!(2026-11-30 22:40 +08:00)),
            [owned("remind/lapsitda-harian/2026-11-30/unit/jayapura", "jayapura")]
        );
    }

    /// After the deadline the parent unit hears who filed, who was late and
    /// who did not file; before it, and a day after, nothing.
    #[test]
    fn the_parent_unit_gets_a_summary_after_the_deadline() {
        let t = lapsitda();
        let units = units();
        let book = FilingBook::default();
        file(&book, "72.71", "2026-11-30", datetime!(2026-11-30 20:00 +08:00));
        file(&book, "72.03", "2026-11-30", datetime!(2026-12-01 00:30 +08:00));
        let filed = |p: &Period| book.filings("lapsitda-harian", &p.to_string());
        let of_30th = |now: OffsetDateTime| -> Vec<Summary<'_>> {
            summaries(&t, &filed, &units, now).into_iter().filter(|s| s.period.to_string() == "2026-11-30").collect()
        };
        assert!(of_30th(datetime!(2026-11-30 23:59 +08:00)).is_empty(), "before the deadline");
        let morning = datetime!(2026-12-01 06:00 +08:00);
        let all = of_30th(morning);
        let to: Vec<String> = all.iter().map(Summary::key).collect();
        // Sulawesi Tengah's units report to the province's unit (Poso through the province's own unit to
        // the ministry); Jayapura's parent is not a known unit
        assert_eq!(to, ["summary/lapsitda-harian/2026-11-30/pusat", "summary/lapsitda-harian/2026-11-30/sulteng"]);
        let sulteng = &all[1];
        let status: Vec<(&str, Status)> = sulteng.rows.iter().map(|r| (r.region.as_str(), r.status)).collect();
        assert_eq!(status, [("72.03", Status::Late), ("72.71", Status::Filed)]);
        let words = summary_texts(&all[0], "https://k.example");
        assert_eq!(words.subject, "[REKAP] LAPSITDA harian 2026-11-30: 0 dari 1 mengirim");
        assert!(words.text.contains("Belum mengirim:\n- Kabupaten Poso (72.02)"), "{}", words.text);
        let words = summary_texts(sulteng, "https://k.example");
        assert!(
            words.text.contains("Terlambat:\n- Kabupaten Donggala (72.03), 01-12-2026 00:30 WITA"),
            "{}",
            words.text
        );
        assert!(words.html.contains("<li>Kota Palu (72.71), 30-11-2026 20:00 WITA</li>"), "{}", words.html);
        assert!(of_30th(datetime!(2026-12-02 00:01 +08:00)).is_empty(), "a day after the deadline");
    }
}
