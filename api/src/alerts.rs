//! Alerts as the API shows them: a view of the `alerts` topic.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use alerter::links::Purpose;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use bus::Topic;
use model::{Alert, AlertBook, AlertEvent, AlertFilter, AlertState, StateChange, wire};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJsonOrEmpty, ApiQuery};
use crate::pages::{self, Page};

impl bus::View for AlertView {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<AlertEvent>(&record.payload) {
            Ok(event) => AlertView::apply(self, event),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring unreadable alert event"),
        }
    }
}

/// This node's [`AlertBook`], kept from the `alerts` topic and shared by the
/// handlers.
#[derive(Debug, Clone, Default)]
pub struct AlertView {
    book: Arc<RwLock<AlertBook>>,
    /// Lifecycle steps on this node are checked and published one at a time.
    steps: Arc<tokio::sync::Mutex<()>>,
}

impl AlertView {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, AlertBook> {
        self.book.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one event; a step that a concurrent one made impossible is
    /// skipped (on every node alike).
    pub fn apply(&self, event: AlertEvent) {
        let alert_id = event.alert_id();
        if let Err(e) = self.book.write().unwrap_or_else(|e| e.into_inner()).apply(event) {
            tracing::warn!(alert = %alert_id, error = %e, "skipping a lifecycle step");
        }
    }

    /// The alert `id`, when the caller's scope covers it.
    pub fn get(&self, caller: &Caller, id: &str) -> Option<Alert> {
        let id = Uuid::parse_str(id).ok()?;
        self.read().get_within(&caller.scope, id).cloned()
    }

    /// The alert `id`, whatever its region (for links that prove themselves).
    pub fn find(&self, id: Uuid) -> Option<Alert> {
        self.read().get(id).cloned()
    }

    pub fn list(&self, caller: &Caller, q: &AlertsQuery) -> Vec<Alert> {
        let filter = AlertFilter {
            indicator: q.indicator.clone(),
            region: q.region.clone(),
            state: q.state,
            limit: q.limit,
        };
        self.read().list(&caller.scope, &filter)
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

/// Checks a link's token; the alert it acknowledges and the recipient it was
/// sent to, or the page that says why not.
fn check_link(state: &AppState, id: &str, token: &str) -> Result<(AlertView, Alert, String), Page> {
    let not_found = || {
        pages::message(
            StatusCode::NOT_FOUND,
            "Peringatan tidak ditemukan",
            "Tautan ini tidak menunjuk ke peringatan yang ada.",
        )
    };
    let view = state.alerts.clone().ok_or_else(not_found)?;
    let alert_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let recipient = state.links.verify(Purpose::AckLink, alert_id, token, state.clock.now()).map_err(|e| match e {
        alerter::links::LinkError::Expired => pages::message(
            StatusCode::GONE,
            "Tautan kedaluwarsa",
            "Tautan ini sudah tidak berlaku. Buka peringatan di Kentongan untuk menerimanya.",
        ),
        alerter::links::LinkError::Invalid => pages::message(
            StatusCode::FORBIDDEN,
            "Tautan tidak sah",
            "Salin seluruh tautan dari email, atau buka peringatan di Kentongan.",
        ),
    })?;
    let alert = view.find(alert_id).ok_or_else(not_found)?;
    Ok((view, alert, recipient))
}

/// `GET /api/v1/alerts/{id}/ack-link?token=`: the page an email link opens,
/// with one button. Opening it changes nothing, so mail scanners that fetch
/// links do not acknowledge alerts on anyone's behalf.
pub async fn ack_link_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LinkToken>,
) -> Page {
    let (_, alert, recipient) = match check_link(&state, &id, &q.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Some(done) = alert.acknowledged() {
        return pages::ack_taken(&alert, &done.by, done.at);
    }
    pages::ack_form(&alert, &recipient, &q.token)
}

/// `POST /api/v1/alerts/{id}/ack-link` with the form field `token`: the
/// recipient acknowledges the alert; the link then cannot be used again.
pub async fn ack_link(
    State(state): State<AppState>,
    source: Source,
    Path(id): Path<String>,
    Form(form): Form<LinkToken>,
) -> Page {
    let (view, _, recipient) = match check_link(&state, &id, &form.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    let _one_at_a_time = view.steps.lock().await;
    // looked up again under the lock: another step may have come first
    let (_, alert, _) = match check_link(&state, &id, &form.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Some(done) = alert.acknowledged() {
        return pages::ack_taken(&alert, &done.by, done.at);
    }
    match take(&state, &view, &alert, &recipient, &source, AlertState::Acknowledged, None).await {
        Ok(()) => pages::about_alert(
            StatusCode::OK,
            &alert,
            "Peringatan diterima",
            "Terima kasih. Penerimaan Anda tercatat; lanjutkan penanganan di Kentongan.",
        ),
        Err(e) => pages::message(e.status, "Gagal", &e.message),
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
        .find(alert_id)
        .map(|a| a.key)
        .ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))?;
    state.bus.publish(Topic::Alerts, &key, &wire::encode(&event)).await?;
    if let Some(view) = &state.alerts {
        view.apply(event);
    }
    Ok(StatusCode::NO_CONTENT)
}
