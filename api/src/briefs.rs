//! The morning brief: `GET /api/v1/briefs` (one brief, HTML, PDF or JSON)
//! and `GET /api/v1/briefs/archive` (the archived briefs within scope).
//!
//! A brief is made by [`make`] from this node's views: the archive's
//! reports of the day, the alert view and the filings view. The briefs that
//! went out are archived on the `briefs` topic ([`duties::BriefBook`]) and
//! served as they were sent; a day without one is made afresh and said to
//! be live. The rules of a brief's content are in `duties::brief`.
//!
//! [`schedule`] sends, through the duty outbox (`alerter::duty_mail`),
//! the reminders before a deadline and the summaries after it
//! (`duties::remind`) and the morning briefs at their local time.

use alerter::duty_mail::{DutyMail, File, Message};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bus::Topic;
use duties::brief::{self, Brief, Sources};
use model::{DeliveryChannel, RegionCode, RegionLevel, Scope, wire};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery, ErrorBody};

/// Most reports of one day a brief reads.
const MAX_REPORTS: usize = 20_000;

/// The province a brief is for (none: national), from a query's `region`;
/// the caller must see all of it (a regency's account does not see its
/// province's brief, which tells of its neighbours). Else 404.
fn brief_region(caller: &Caller, region: Option<&str>) -> Result<Option<RegionCode>, ApiError> {
    let region = match region.map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(code) => {
            let r = RegionCode::parse(code).map_err(|e| ApiError::invalid("region", e))?;
            if r.level() != RegionLevel::Province {
                return Err(ApiError::invalid(
                    "region",
                    format!("{r} is not a province: give a province code like 72, or none for the national brief"),
                ));
            }
            Some(r)
        }
    };
    let sees = match &region {
        Some(r) => caller.scope.covers(Some(r)),
        None => matches!(caller.scope, Scope::All),
    };
    if sees {
        Ok(region)
    } else {
        Err(ApiError::not_found(&match &region {
            Some(r) => format!("the brief of {r}"),
            None => "the national brief".to_owned(),
        }))
    }
}

/// The local day of `region` (WIB nationally) at `now`.
fn today(region: Option<&RegionCode>, now: OffsetDateTime) -> Date {
    now.to_offset(brief::zone(region).1).date()
}

/// Makes the brief of `region` (none: national) for the morning of `date`
/// at `now`, from this node's views; the filings view must be loaded.
pub async fn make(
    state: &AppState,
    region: Option<&RegionCode>,
    date: Date,
    now: OffsetDateTime,
) -> Result<Brief, ApiError> {
    let api = state.api()?;
    if !api.filings.loaded() {
        return Err(ApiError::unavailable("the filings are still being read from the log; try again shortly"));
    }
    let scope = match region {
        Some(r) => Scope::Regions(vec![r.clone()]),
        None => Scope::All,
    };
    let (day, from, to) = brief::covered(region, date);

    // the LAPSITDA of the day: who was expected, who filed, and their values
    let template = state.templates.current(brief::LAPSITDA);
    let period = duties::Period::Day(day);
    let compliance = template.as_ref().map(|t| {
        let filers: Vec<RegionCode> =
            t.definition.filers.expected().into_iter().filter(|f| scope.covers(Some(f))).collect();
        let filed = api.filings.filings(&t.id, &period.to_string());
        duties::compliance::compliance(t, &period, &filers, &filed, now)
    });
    let latest: Vec<(RegionCode, String)> =
        compliance.iter().flat_map(|c| &c.rows).filter_map(|r| Some((r.region.clone(), r.report.clone()?))).collect();

    let index = api.index.clone();
    let read_scope = scope.clone();
    let (reports, filings) = tokio::task::spawn_blocking(move || {
        let reports = index.between(from, to, &read_scope, MAX_REPORTS)?;
        let mut filings = Vec::new();
        for (region, id) in latest {
            // a filing not archived yet is left out of the ATHG counts
            if let Some(values) = index.get(&id, &read_scope)?.and_then(|r| r.report.filing).map(|f| f.values) {
                filings.push((region, values));
            }
        }
        Ok::<_, archive::Error>((reports, filings))
    })
    .await
    .map_err(ApiError::internal)??;

    let everyone = system_caller(scope);
    let query = crate::alerts::AlertsQuery { indicator: None, region: region.cloned(), state: None, limit: Some(1000) };
    let alerts: Vec<model::Alert> = api.alerts.list(&everyone, &query).into_iter().map(|a| a.alert).collect();
    Ok(brief::build(Sources {
        region,
        date,
        now,
        base_url: &api.public_url,
        reports: &reports,
        alerts: &alerts,
        compliance: compliance.as_ref(),
        template: template.as_deref(),
        filings: &filings,
    }))
}

/// The node itself, reading within `scope`.
fn system_caller(scope: Scope) -> Caller {
    Caller(accounts::Caller {
        name: "kentongan".into(),
        role: model::Role::Admin,
        scope,
        credential: String::new(),
        via: accounts::Via::Bearer,
    })
}

/// How a brief is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// An HTML page.
    #[default]
    Html,
    /// A PDF document.
    Pdf,
    /// The brief's data.
    Json,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BriefParams {
    /// A province code (`72`); empty or absent for the national brief.
    pub region: Option<String>,
    /// The morning the brief is for, `2026-12-01`; it tells of the day
    /// before. Today (in the region's zone) when absent.
    pub date: Option<String>,
    /// `html` (the default), `pdf` or `json`.
    #[param(inline)]
    pub format: Option<Format>,
}

/// A brief as JSON.
#[derive(Debug, Serialize, ToSchema)]
pub struct BriefAnswer {
    /// Archived: the brief as it was sent; else made now from what is
    /// known now.
    pub archived: bool,
    pub brief: Brief,
}

/// The morning brief of a province, or the national one, for a day.
///
/// Per indicator, the reports of the previous local day (the region's zone,
/// WIB nationally), the highest alert level and the incidents the LAPSITDA
/// filings gave by ATHG category; the top incidents linked to their
/// reports; open alerts and their state; who has not filed the LAPSITDA.
/// A brief that was sent is archived and answered as it was sent
/// (`Kentongan-Brief: archived`); otherwise it is made now (`live`). Only a
/// caller who sees the whole province sees its brief; the national brief
/// is for national accounts.
#[utoipa::path(get, path = "/api/v1/briefs", tag = "duties", operation_id = "brief", params(BriefParams),
    responses(
        (status = 200, description = "the brief: an HTML page, a PDF (`format=pdf`) or its data (`format=json`)",
         content(
            (String = "text/html"),
            (crate::reports::FileBytes = "application/pdf"),
            (BriefAnswer = "application/json"),
         ),
         headers(("kentongan-brief" = String, description = "`archived` (as it was sent) or `live` (made now)"))),
        (status = 503, body = ErrorBody, description = "the filings are still being loaded"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<BriefParams>,
) -> Result<Response, ApiError> {
    let region = brief_region(&caller, q.region.as_deref())?;
    let now = state.clock.now();
    let today = today(region.as_ref(), now);
    let date = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => duties::period::parse_day(d).map_err(|m| ApiError::invalid("date", m))?,
        None => today,
    };
    if date > today {
        return Err(ApiError::invalid(
            "date",
            format!("{date} has not come yet in {}", brief::zone(region.as_ref()).0),
        ));
    }
    let archived = state.api()?.briefs.get(region.as_ref(), date);
    let (brief, kind) = match archived {
        Some(b) => ((*b).clone(), "archived"),
        None => (make(&state, region.as_ref(), date, now).await?, "live"),
    };
    let mark = [(header::HeaderName::from_static("kentongan-brief"), HeaderValue::from_static(kind))];
    Ok(match q.format.unwrap_or_default() {
        Format::Json => (mark, Json(BriefAnswer { archived: kind == "archived", brief })).into_response(),
        Format::Html => {
            let headers = [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))];
            (mark, headers, brief::html(&brief)).into_response()
        }
        Format::Pdf => {
            let name =
                format!("ringkasan-{}-{}.pdf", region.as_ref().map_or("nasional", RegionCode::as_str), brief.date);
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&format!("inline; filename=\"{name}\"")).map_err(ApiError::internal)?,
                ),
            ];
            (mark, headers, brief::pdf(&brief)).into_response()
        }
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArchiveParams {
    /// Only this province's briefs; `national` for the national ones.
    pub region: Option<String>,
    /// Only briefs of this day or later, `2026-11-01`.
    pub from: Option<String>,
    /// Only briefs of this day or earlier.
    pub to: Option<String>,
    /// At most this many (100 by default, at most 1,000), newest first.
    pub limit: Option<usize>,
}

/// One archived brief, in short.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArchivedBrief {
    /// The province; absent for a national brief.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    pub name: String,
    /// The morning it is for.
    pub date: String,
    /// The day it tells of.
    pub covers: String,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    pub title: String,
    pub reports: usize,
    pub open_alerts: usize,
    /// LAPSITDA filers that did not file on time (late or not at all).
    pub missing: usize,
    /// `GET` this for the HTML page; add `&format=pdf` for the PDF.
    pub link: String,
}

/// The archived briefs.
#[derive(Debug, Serialize, ToSchema)]
pub struct BriefArchive {
    /// Newest day first, then by region.
    pub briefs: Vec<ArchivedBrief>,
}

/// The briefs that went out, within your regions, newest first.
///
/// A province's briefs are listed to callers who see the whole province,
/// national briefs to national accounts.
#[utoipa::path(get, path = "/api/v1/briefs/archive", tag = "duties", params(ArchiveParams),
    responses((status = 200, body = BriefArchive)))]
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ArchiveParams>,
) -> Result<Json<BriefArchive>, ApiError> {
    let only: Option<Option<RegionCode>> = match q.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some("national") => Some(brief_region(&caller, None)?),
        Some(code) => Some(brief_region(&caller, Some(code))?),
    };
    let day = |name: &str, v: Option<&str>| {
        v.map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| duties::period::parse_day(d).map_err(|m| ApiError::invalid(name, m)))
            .transpose()
    };
    let (from, to) = (day("from", q.from.as_deref())?, day("to", q.to.as_deref())?);
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let sees = |r: &Option<RegionCode>| match r {
        Some(r) => caller.scope.covers(Some(r)),
        None => matches!(caller.scope, Scope::All),
    };
    let in_range = |d: &str| {
        let d = duties::period::parse_day(d).ok();
        from.is_none_or(|f| d.is_some_and(|d| d >= f)) && to.is_none_or(|t| d.is_some_and(|d| d <= t))
    };
    let briefs = state
        .api()?
        .briefs
        .list()
        .into_iter()
        .filter(|b| sees(&b.region) && only.as_ref().is_none_or(|o| *o == b.region) && in_range(&b.date))
        .take(limit)
        .map(|b| ArchivedBrief {
            link: format!("/api/v1/briefs?region={}&date={}", b.region.as_ref().map_or("", RegionCode::as_str), b.date),
            title: brief::title(&b),
            region: b.region.clone(),
            name: b.name.clone(),
            date: b.date.clone(),
            covers: b.covers.clone(),
            generated_at: b.generated_at,
            reports: b.reports,
            open_alerts: b.open_alerts,
            missing: b.filings.as_ref().map_or(0, |f| f.missing.len()),
        })
        .collect();
    Ok(Json(BriefArchive { briefs }))
}

/// When reminders, summaries and briefs go out, and to whom
/// (`[duties]` in the configuration).
#[derive(Debug, Clone)]
pub struct Plan {
    /// How long before a filer's deadline its units are reminded; zero: never.
    pub remind_before: time::Duration,
    /// Whether parent units get a summary after a deadline.
    pub summaries: bool,
    /// The local time the morning brief goes out, in minutes after midnight
    /// of each province's zone (WIB for the national brief).
    pub brief_at: u16,
    /// Units that get the brief of each province their regions lie in.
    pub brief_units: Vec<String>,
    /// Units that get the national brief.
    pub national_brief_units: Vec<String>,
}

/// How often the scheduler looks at the time.
const TICK: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends reminders, summaries and morning briefs as they fall due, through
/// `mail`'s outbox, for as long as the node runs. Waits for the filings view.
pub async fn schedule(state: AppState, plan: Plan, mail: DutyMail) -> Result<(), alerter::Error> {
    loop {
        // the first tick as soon as the view is loaded, not a whole tick later
        if !state.api().is_ok_and(|api| api.filings.loaded()) {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        }
        let queued = tick(&state, &plan, &mail, state.clock.now()).await?;
        if queued > 0 {
            tracing::info!(queued, "duty mail queued");
        }
        tokio::time::sleep(TICK).await;
    }
}

/// The messages of `texts` to `unit`, keyed under `what`: email to each
/// address when email is set up, and with `sms`, an SMS to each phone.
fn to_unit(mail: &DutyMail, unit: &model::Unit, what: &str, texts: &duties::remind::Texts, sms: bool) -> Vec<Message> {
    let mut out = Vec::new();
    if mail.mailer.is_some() {
        out.extend(unit.emails.iter().map(|to| Message {
            key: Message::key(what, DeliveryChannel::Email, to),
            channel: DeliveryChannel::Email,
            to: to.clone(),
            unit: unit.id.clone(),
            subject: texts.subject.clone(),
            text: texts.text.clone(),
            html: Some(texts.html.clone()),
            file: None,
        }));
    }
    if sms && mail.sms.is_some() {
        out.extend(unit.phones.iter().map(|to| Message {
            key: Message::key(what, DeliveryChannel::Sms, to),
            channel: DeliveryChannel::Sms,
            to: to.clone(),
            unit: unit.id.clone(),
            subject: String::new(),
            text: texts.sms.clone(),
            html: None,
            file: None,
        }));
    }
    out
}

/// Queues what is due at `now`: reminders and summaries of every template,
/// and the morning briefs whose local time has come (made and archived on
/// the `briefs` topic first, unless archived already). Returns how many
/// messages were new. A brief that cannot be made, archived or rendered is
/// logged, counted in `kentongan_alerter_briefs_failed_total` and tried again
/// at the next tick; it stops neither the reminders nor the other briefs.
pub async fn tick(
    state: &AppState,
    plan: &Plan,
    mail: &DutyMail,
    now: OffsetDateTime,
) -> Result<usize, alerter::Error> {
    let failed = |e: ApiError| alerter::Error::Task { task: "duty schedule", reason: e.message };
    let api = state.api().map_err(failed)?;
    let units = api.units.all();
    let base = api.public_url.as_str();
    let mut messages = Vec::new();
    for template in state.templates.list() {
        let filed = |p: &duties::Period| api.filings.filings(&template.id, &p.to_string());
        let unit_filed = |p: &duties::Period| api.filings.unit_filings(&template.id, &p.to_string());
        if plan.remind_before > time::Duration::ZERO {
            for r in duties::remind::reminders(&template, &filed, &unit_filed, &units, now, plan.remind_before) {
                for unit in &r.units {
                    let texts = duties::remind::reminder_texts(&r, unit, base, now);
                    messages.extend(to_unit(mail, unit, &r.key(), &texts, true));
                }
            }
        }
        if plan.summaries {
            for s in duties::remind::summaries(&template, &filed, &units, now) {
                let texts = duties::remind::summary_texts(&s, base);
                messages.extend(to_unit(mail, s.parent, &s.key(), &texts, false));
            }
        }
    }

    // the briefs, by province (none: national), with the units that get each
    let mut briefs: std::collections::BTreeMap<Option<RegionCode>, Vec<&model::Unit>> = Default::default();
    for id in &plan.brief_units {
        match units.iter().find(|u| &u.id == id) {
            Some(u) => {
                // a province's brief tells of all its regencies: only for a unit that covers the province,
                // as GET /briefs shows it only to callers who do
                let provinces: Vec<RegionCode> =
                    u.regions.iter().filter(|r| r.level() == model::RegionLevel::Province).cloned().collect();
                if provinces.is_empty() {
                    tracing::warn!(unit = %id, "duties.brief_units names a unit that covers no whole province: it gets no brief");
                }
                for province in provinces {
                    let to = briefs.entry(Some(province)).or_default();
                    if !to.iter().any(|t| t.id == u.id) {
                        to.push(u);
                    }
                }
            }
            None => tracing::warn!(unit = %id, "duties.brief_units names a unit that does not exist"),
        }
    }
    for id in &plan.national_brief_units {
        match units.iter().find(|u| &u.id == id) {
            Some(u) => briefs.entry(None).or_default().push(u),
            None => tracing::warn!(unit = %id, "duties.national_brief_units names a unit that does not exist"),
        }
    }
    // reminders and summaries first: a brief that fails does not hold them up
    let mut queued = mail.queue(messages).await?;
    for (region, to) in briefs {
        let local = now.to_offset(brief::zone(region.as_ref()).1);
        if u16::from(local.hour()) * 60 + u16::from(local.minute()) < plan.brief_at {
            continue;
        }
        let date = local.date();
        let key = brief::key(region.as_ref(), date);
        let brief_failed = |stage: &str, error: &dyn std::fmt::Display| {
            tracing::error!(brief = %key, stage, %error, "a morning brief failed; trying again at the next tick");
            metrics::counter!("kentongan_alerter_briefs_failed_total").increment(1);
        };
        let made = match api.briefs.get(region.as_ref(), date) {
            Some(b) => b,
            None => {
                let b = match make(state, region.as_ref(), date, now).await {
                    Ok(b) => b,
                    Err(e) => {
                        brief_failed("make", &e.message);
                        continue;
                    }
                };
                // archived before it is sent: what goes out is what is kept
                if let Err(e) = state.bus.publish(Topic::Briefs, &key, &wire::encode(&b)).await {
                    brief_failed("archive", &e);
                    continue;
                }
                api.briefs.insert(b)
            }
        };
        if mail.mailer.is_none() {
            continue;
        }
        let addresses: Vec<(&model::Unit, &String)> =
            to.iter().flat_map(|unit| unit.emails.iter().map(move |address| (*unit, address))).collect();
        let message_key = |address: &str| Message::key(&format!("brief/{key}"), DeliveryChannel::Email, address);
        // queued at an earlier tick: not rendered again every 30 seconds
        if mail.has_all(addresses.iter().map(|(_, address)| message_key(address)).collect()).await? {
            continue;
        }
        let rendered = bus::contain("brief", || {
            let file =
                File::new(&format!("ringkasan-{}.pdf", key.replace('/', "-")), "application/pdf", &brief::pdf(&made));
            (brief::title(&made), brief::text(&made), brief::html(&made), file)
        });
        let (title, text, html, file) = match rendered {
            Ok(rendered) => rendered,
            Err(cause) => {
                brief_failed("render", &cause);
                continue;
            }
        };
        let messages = addresses
            .into_iter()
            .map(|(unit, address)| Message {
                key: message_key(address),
                channel: DeliveryChannel::Email,
                to: address.clone(),
                unit: unit.id.clone(),
                subject: title.clone(),
                text: text.clone(),
                html: Some(html.clone()),
                file: Some(file.clone()),
            })
            .collect();
        queued += mail.queue(messages).await?;
    }
    Ok(queued)
}
