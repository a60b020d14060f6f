//! Alerts as the API shows them: a view of the `alerts` topic.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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

/// `GET /api/v1/alerts`: alerts in the caller's scope, newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let view = state.alerts.as_ref().ok_or_else(|| ApiError::not_found("this node serves no alerts;"))?;
    let alerts = view.list(&caller, &q);
    Ok(axum::Json(serde_json::json!({ "alerts": alerts })))
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
    let change = StateChange { id: Uuid::now_v7(), state: to, by: caller.name.clone(), at: state.clock.now(), note };
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
    audit::record(state, Entry::new(&caller.name, action, &alert.id.to_string(), &regions, source).after(after)).await;
    view.get(caller, id).map(Json).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))
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
