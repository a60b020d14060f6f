//! `GET /api/v1/audit`, and [`record`] for the handlers that change things.
//! The audit log itself is in the `accounts` crate.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use accounts::Entry;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};

/// Appends `entry` to the audit log, now.
pub async fn record(state: &AppState, entry: Entry<'_>) {
    state.accounts.record(entry).await;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
}

fn time_param(name: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    v.map(|v| OffsetDateTime::parse(v, &Rfc3339).map_err(|_| ApiError::invalid(name, "is not an RFC 3339 time")))
        .transpose()
}

/// `GET /api/v1/audit`: newest first, only what lies in the caller's scope
/// (national events only for national admins).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Json<Value>, ApiError> {
    let filter = accounts::AuditFilter {
        from: time_param("from", p.from.as_deref())?,
        to: time_param("to", p.to.as_deref())?,
        actor: p.actor,
        action: p.action,
        limit: p.limit,
    };
    let events = state.accounts.audit.events(&caller.scope, &filter);
    Ok(Json(serde_json::json!({ "events": events })))
}
