//! Alerts as the API shows them: a view of the `alerts` topic.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use alerter::links::Purpose;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use bus::Topic;
use model::{Alert, AlertEvent, AlertState, StateChange, wire};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJsonOrEmpty, ApiQuery};

impl bus::View for AlertView {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<AlertEvent>(&record.payload) {
            Ok(event) => AlertView::apply(self, event),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring unreadable alert event"),
        }
    }
}

/// Every alert with its deliveries and lifecycle, rebuilt from the `alerts`
/// topic.
#[derive(Debug, Clone, Default)]
pub struct AlertView {
    alerts: Arc<RwLock<BTreeMap<Uuid, Alert>>>,
    /// Lifecycle steps on this node are checked and published one at a time.
    steps: Arc<tokio::sync::Mutex<()>>,
}

impl AlertView {
    pub fn apply(&self, event: AlertEvent) {
        let mut alerts = self.alerts.write().unwrap_or_else(|e| e.into_inner());
        match event {
            AlertEvent::Raised { alert } => {
                alerts.entry(alert.id).or_insert(alert);
            }
            AlertEvent::Delivered { alert_id, delivery } => {
                if let Some(alert) = alerts.get_mut(&alert_id)
                    && !alert.deliveries.contains(&delivery)
                {
                    alert.deliveries.push(delivery);
                }
            }
            AlertEvent::Escalated { alert_id, escalation } => {
                if let Some(alert) = alerts.get_mut(&alert_id)
                    && !alert.escalations.contains(&escalation)
                {
                    alert.escalations.push(escalation);
                }
            }
            AlertEvent::Changed { alert_id, change } => {
                // Steps are applied in topic order; one that a concurrent
                // step on another node made impossible is skipped here, and
                // on every node alike.
                if let Some(alert) = alerts.get_mut(&alert_id)
                    && let Err(e) = alert.apply(change)
                {
                    tracing::warn!(alert = %alert_id, error = %e, "skipping a lifecycle step");
                }
            }
        }
    }

    /// The alert `id`, when the caller's scope covers it.
    pub fn get(&self, caller: &Caller, id: &str) -> Option<Alert> {
        let id = Uuid::parse_str(id).ok()?;
        let alerts = self.alerts.read().unwrap_or_else(|e| e.into_inner());
        alerts.get(&id).filter(|a| caller.scope.covers(Some(&a.region))).cloned()
    }

    pub fn list(&self, caller: &Caller, q: &AlertsQuery) -> Vec<Alert> {
        let alerts = self.alerts.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Alert> = alerts
            .values()
            .filter(|a| caller.scope.covers(Some(&a.region)))
            .filter(|a| q.indicator.as_ref().is_none_or(|i| &a.indicator == i))
            .filter(|a| q.region.as_ref().is_none_or(|r| a.region.is_within(r)))
            .filter(|a| q.state.is_none_or(|s| a.state == s))
            .cloned()
            .collect();
        out.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(b.id.cmp(&a.id)));
        out.truncate(q.limit.unwrap_or(100).min(1000));
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    pub indicator: Option<String>,
    pub region: Option<model::RegionCode>,
    /// `open`, `acknowledged`, `in_progress` or `resolved`.
    pub state: Option<AlertState>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/alerts`: alerts in the caller's scope, newest first, with
/// the names of their regions.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let view = state.alerts.as_ref().ok_or_else(|| ApiError::not_found("this node serves no alerts;"))?;
    let alerts = view.list(&caller, &q);
    // region names, for people rather than codes
    let names: BTreeMap<String, &str> = alerts.iter().map(|a| (a.region.to_string(), a.region.name())).collect();
    Ok(axum::Json(serde_json::json!({ "alerts": alerts, "names": names })))
}

fn view(state: &AppState) -> Result<&AlertView, ApiError> {
    state.alerts.as_ref().ok_or_else(|| ApiError::not_found("this node serves no alerts;"))
}

/// `GET /api/v1/alerts/{id}`: one alert with its reports, deliveries and
/// lifecycle history.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Alert>, ApiError> {
    view(&state)?.get(&caller, &id).map(Json).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))
}

/// The body of a lifecycle step: an optional note (a follow-up, tindak lanjut).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub note: Option<String>,
}

/// Longest note accepted, in characters.
const MAX_NOTE: usize = 4000;

/// Takes a lifecycle step towards `to` on alert `id` for `caller`: checked
/// against the alert as this node knows it, durable on `alerts` before the
/// answer, then applied here at once.
async fn step(
    state: &AppState,
    caller: &Caller,
    source: &Source,
    id: &str,
    to: AlertState,
    note: Option<String>,
) -> Result<Json<Alert>, ApiError> {
    let view = view(state)?;
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(ApiError::invalid("note", format!("is longer than {MAX_NOTE} characters")));
    }
    let _one_at_a_time = view.steps.lock().await;
    let alert = view.get(caller, id).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))?;
    take(state, view, &alert, &caller.name, source, to, note).await?;
    view.get(caller, id).map(Json).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))
}

/// Checks `to` against `alert`, publishes the step, applies it here and
/// writes the audit entry. The caller holds `view.steps`.
async fn take(
    state: &AppState,
    view: &AlertView,
    alert: &Alert,
    actor: &str,
    source: &Source,
    to: AlertState,
    note: Option<String>,
) -> Result<(), ApiError> {
    let change = StateChange { id: Uuid::now_v7(), state: to, by: actor.to_owned(), at: state.clock.now(), note };
    alert.check(&change).map_err(|e| ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()))?;
    let event = AlertEvent::Changed { alert_id: alert.id, change: change.clone() };
    state.bus.publish(Topic::Alerts, &alert.key, &wire::encode(&event)).await?;
    view.apply(event);
    let action = match (alert.state == to, to) {
        (true, _) => "alert.note",
        (false, AlertState::Acknowledged) => "alert.ack",
        (false, AlertState::InProgress) => "alert.progress",
        (false, _) => "alert.resolve",
    };
    let regions = [alert.region.clone()];
    let after = serde_json::to_value(&change).map_err(ApiError::internal)?;
    audit::record(state, Entry::new(actor, action, &alert.id.to_string(), &regions, source).after(after)).await;
    Ok(())
}

/// `POST /api/v1/alerts/{id}/ack`: the unit has seen the alert (diterima).
pub async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Step>,
) -> Result<Json<Alert>, ApiError> {
    step(&state, &caller, &source, &id, AlertState::Acknowledged, body.note).await
}

/// `POST /api/v1/alerts/{id}/progress`: follow-up is under way (tindak
/// lanjut); again with a note to record each further step.
pub async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Step>,
) -> Result<Json<Alert>, ApiError> {
    step(&state, &caller, &source, &id, AlertState::InProgress, body.note).await
}

/// `POST /api/v1/alerts/{id}/resolve`: the situation is handled (selesai).
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Step>,
) -> Result<Json<Alert>, ApiError> {
    step(&state, &caller, &source, &id, AlertState::Resolved, body.note).await
}

/// The token of an acknowledgement link.
#[derive(Debug, Deserialize)]
pub struct LinkToken {
    pub token: String,
}

/// A small Indonesian page for the person who followed an email link.
fn page(status: StatusCode, title: &str, body: &str) -> (StatusCode, Html<String>) {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{0} — Kentongan</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}\
         button{{font-size:1.1rem;padding:.6rem 1.2rem}}</style></head>\
         <body><h1>{0}</h1>{body}</body></html>",
        esc(title)
    );
    (status, Html(html))
}

fn describe(alert: &Alert) -> String {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        "<p><b>[{}] {} - {}</b><br>{} laporan</p>",
        alert.level.as_str().to_uppercase(),
        esc(&model::indicator_name(&alert.indicator)),
        esc(alert.region.name()),
        alert.count
    )
}

/// Checks a link's token; the alert it acknowledges and the recipient it was
/// sent to, or the page that says why not.
fn check_link(
    state: &AppState,
    id: &str,
    token: &str,
) -> Result<(AlertView, Alert, String), (StatusCode, Html<String>)> {
    let not_found = || {
        page(
            StatusCode::NOT_FOUND,
            "Peringatan tidak ditemukan",
            "<p>Tautan ini tidak menunjuk ke peringatan yang ada.</p>",
        )
    };
    let view = state.alerts.clone().ok_or_else(not_found)?;
    let alert_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let recipient = state.links.verify(Purpose::AckLink, alert_id, token, state.clock.now()).map_err(|e| match e {
        alerter::links::LinkError::Expired => page(
            StatusCode::GONE,
            "Tautan kedaluwarsa",
            "<p>Tautan ini sudah tidak berlaku. Buka peringatan di Kentongan untuk menerimanya.</p>",
        ),
        alerter::links::LinkError::Invalid => page(
            StatusCode::FORBIDDEN,
            "Tautan tidak sah",
            "<p>Salin seluruh tautan dari email, atau buka peringatan di Kentongan.</p>",
        ),
    })?;
    let alert = view.alerts.read().unwrap_or_else(|e| e.into_inner()).get(&alert_id).cloned().ok_or_else(not_found)?;
    Ok((view, alert, recipient))
}

/// `GET /api/v1/alerts/{id}/ack-link?token=`: the page an email link opens,
/// with one button. Opening it changes nothing, so mail scanners that fetch
/// links do not acknowledge alerts on anyone's behalf.
pub async fn ack_link_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LinkToken>,
) -> (StatusCode, Html<String>) {
    let (_, alert, recipient) = match check_link(&state, &id, &q.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Some(done) = alert.acknowledged() {
        return already(&alert, done);
    }
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;");
    page(
        StatusCode::OK,
        "Terima peringatan",
        &format!(
            "{}<p>Sebagai <b>{}</b>.</p><form method=\"post\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button>Terima peringatan ini</button></form>",
            describe(&alert),
            esc(&recipient),
            esc(&q.token)
        ),
    )
}

fn already(alert: &Alert, done: &StateChange) -> (StatusCode, Html<String>) {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    page(
        StatusCode::CONFLICT,
        "Sudah diterima",
        &format!(
            "{}<p>Peringatan ini sudah diterima oleh <b>{}</b> pada {} UTC.</p>",
            describe(alert),
            esc(&done.by),
            done.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
        ),
    )
}

/// `POST /api/v1/alerts/{id}/ack-link` with the form field `token`: the
/// recipient acknowledges the alert; the link then cannot be used again.
pub async fn ack_link(
    State(state): State<AppState>,
    source: Source,
    Path(id): Path<String>,
    Form(form): Form<LinkToken>,
) -> (StatusCode, Html<String>) {
    let (view, _, recipient) = match check_link(&state, &id, &form.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    let _one_at_a_time = view.steps.lock().await;
    // looked up again under the lock: another step may have come first
    let Ok((_, alert, _)) = check_link(&state, &id, &form.token) else {
        return page(StatusCode::NOT_FOUND, "Peringatan tidak ditemukan", "");
    };
    if let Some(done) = alert.acknowledged() {
        return already(&alert, done);
    }
    match take(&state, &view, &alert, &recipient, &source, AlertState::Acknowledged, None).await {
        Ok(()) => page(
            StatusCode::OK,
            "Peringatan diterima",
            &format!(
                "{}<p>Terima kasih. Penerimaan Anda tercatat; lanjutkan penanganan di Kentongan.</p>",
                describe(&alert)
            ),
        ),
        Err(e) => page(e.status, "Gagal", &format!("<p>{}</p>", e.message.replace('<', "&lt;"))),
    }
}

/// What an SMS gateway reports about a message: Twilio's form fields, or a
/// JSON object with `status` (and `error`).
#[derive(Debug, Default, Deserialize)]
pub struct SmsStatus {
    #[serde(alias = "MessageStatus")]
    pub status: Option<String>,
    #[serde(alias = "ErrorMessage", alias = "ErrorCode")]
    pub error: Option<String>,
}

/// `POST /api/v1/alerts/{id}/sms-status?token=`: the SMS gateway's status
/// callback. The token (made with the message) says which unit and phone it
/// is about; the status is recorded on the alert as one more delivery entry.
pub async fn sms_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LinkToken>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let bad_token = || ApiError::new(StatusCode::FORBIDDEN, "forbidden", "token: not a status callback this node made");
    let alert_id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found(&format!("alert `{id}`")))?;
    let signed =
        state.links.verify(Purpose::SmsStatus, alert_id, &q.token, state.clock.now()).map_err(|_| bad_token())?;
    let mut parts = signed.splitn(3, ':');
    let (Some("sms"), Some(unit), Some(phone)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_token());
    };
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let report: SmsStatus = if form {
        let field = |names: &[&str]| {
            form_urlencoded::parse(&body).find(|(k, _)| names.contains(&k.as_ref())).map(|(_, v)| v.into_owned())
        };
        SmsStatus { status: field(&["MessageStatus", "status"]), error: field(&["ErrorMessage", "ErrorCode", "error"]) }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid("body", format!("not the JSON {{status, error?}}: {e}")))?
    };
    let status = report
        .status
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("status", "missing: send `status` (or Twilio's `MessageStatus`)"))?;
    let failed = ["failed", "undelivered", "rejected", "expired"].contains(&status.as_str());
    let event = AlertEvent::Delivered {
        alert_id,
        delivery: model::Delivery {
            channel: model::DeliveryChannel::Sms,
            recipient: phone.to_owned(),
            unit: unit.to_owned(),
            at: state.clock.now(),
            attempt: 0,
            error: failed.then(|| report.error.unwrap_or_else(|| status.clone())),
            status: Some(status),
        },
    };
    let key = view(&state)?
        .alerts
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&alert_id)
        .map(|a| a.key.clone())
        .ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))?;
    state.bus.publish(Topic::Alerts, &key, &wire::encode(&event)).await?;
    if let Some(view) = &state.alerts {
        view.apply(event);
    }
    Ok(StatusCode::NO_CONTENT)
}
