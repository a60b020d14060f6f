//! Alerts as the API shows them: a view of the `alerts` topic.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::extract::State;
use model::{Alert, AlertEvent, wire};
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

impl bus::View for AlertView {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<AlertEvent>(&record.payload) {
            Ok(event) => AlertView::apply(self, event),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring unreadable alert event"),
        }
    }
}

/// Every alert and its deliveries, rebuilt from the `alerts` topic.
#[derive(Debug, Clone, Default)]
pub struct AlertView {
    alerts: Arc<RwLock<BTreeMap<Uuid, Alert>>>,
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
        }
    }

    pub fn list(&self, caller: &Caller, q: &AlertsQuery) -> Vec<Alert> {
        let alerts = self.alerts.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Alert> = alerts
            .values()
            .filter(|a| caller.scope.covers(Some(&a.region)))
            .filter(|a| q.indicator.as_ref().is_none_or(|i| &a.indicator == i))
            .filter(|a| q.region.as_ref().is_none_or(|r| a.region.is_within(r)))
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
