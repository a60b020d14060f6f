//! `/healthz`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::AppState;
use crate::error::ApiError;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its work: the bus takes records.
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.bus.ready().await.map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok("ready")
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    (StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
