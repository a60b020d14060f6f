//! `/healthz`, `/readyz` and `/metrics`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use model::Scope;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its work.
///
/// The bus takes records, and the intake's own database (idempotency keys,
/// SMS parts) can be used.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
    (status = 503, description = "the bus or the intake's database cannot be used", body = ErrorBody),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.bus.ready().await.map_err(|e| ApiError::unavailable(e.to_string()))?;
    if let Some(store) = state.ingest.as_ref().map(|i| i.intake.store().clone()) {
        let ready = tokio::task::spawn_blocking(move || store.ready()).await.map_err(ApiError::internal)?;
        ready.map_err(|reason| ApiError::unavailable(format!("the intake's database cannot be written ({reason})")))?;
    }
    Ok("ready")
}

/// Prometheus metrics (national admins only).
///
/// The counts are national and labelled by province, so only a national
/// admin (a scraper's account) may read them.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4")))]
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    if caller.scope != Scope::All {
        return Err(ApiError::forbidden("a national admin (metrics count every province);"));
    }
    let body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
