//! `/healthz`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use model::Scope;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its work: the bus takes records, and the intake's
/// own database (idempotency keys, SMS parts) can be used.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.bus.ready().await.map_err(|e| ApiError::unavailable(e.to_string()))?;
    if let Some(store) = state.intake.as_ref().map(|i| i.store().clone()) {
        let ready = tokio::task::spawn_blocking(move || store.ready()).await.map_err(ApiError::internal)?;
        ready.map_err(|reason| ApiError::unavailable(format!("the intake's database cannot be written ({reason})")))?;
    }
    Ok("ready")
}

/// Prometheus text format. The counts are national and labelled by
/// province, so only a national admin (a scraper's account) may read them.
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    if caller.scope != Scope::All {
        return Err(ApiError::forbidden("a national admin (metrics count every province);"));
    }
    let body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
