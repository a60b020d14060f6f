//! `GET /api/v1/audit`, and [`record`] for the handlers that change things.
//! The audit log itself is in the `accounts` crate.

use axum::Json;
use axum::extract::State;
use model::AuditEvent;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

pub use accounts::Entry;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery, ErrorBody};

/// Appends `entry` to the audit log, now.
pub async fn record(state: &AppState, entry: Entry<'_>) {
    state.accounts.record(entry).await;
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Params {
    /// An account name.
    pub actor: Option<String>,
    /// `sign_in`, `sign_in_failed`, `account.create`, `account.update`, `token.create`, `token.revoke`, `unit.create`, …
    pub action: Option<String>,
    /// From then (inclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// Before then (exclusive).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    /// Default 100, at most 1000.
    pub limit: Option<usize>,
}

/// Events of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvents {
    pub events: Vec<AuditEvent>,
}

/// The audit log within your regions, newest first.
///
/// National events only for national admins.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(Params), responses(
    (status = 200, body = AuditEvents),
    (status = 422, body = ErrorBody, description = "`from` is not before `to`"),
))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Json<AuditEvents>, ApiError> {
    crate::search::period(p.from, p.to)?;
    let filter = accounts::AuditFilter { from: p.from, to: p.to, actor: p.actor, action: p.action, limit: p.limit };
    let events = state.accounts.audit.events(&caller.scope, &filter);
    Ok(Json(AuditEvents { events }))
}
