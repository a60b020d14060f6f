//! The HTTP API (axum): intake for the field app, search, alerts, units,
//! health and metrics. The routes a node serves follow its roles.
//!
//! Errors map to statuses in [`error`]; credentials are checked in [`auth`].

pub mod alerts;
pub mod auth;
pub mod error;
pub mod health;
pub mod reports;
pub mod search;
pub mod units;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;

pub use alerts::AlertView;
pub use auth::Auth;

/// What the handlers share. Parts a node's roles do not include are `None`.
#[derive(Clone)]
pub struct AppState {
    pub bus: bus::Bus,
    pub auth: Auth,
    /// With the `ingest` role.
    pub intake: Option<ingest::Intake>,
    /// With the `api` role.
    pub index: Option<indexer::SearchIndex>,
    pub alerts: Option<AlertView>,
    pub units: alerter::UnitBook,
    pub metrics: Option<PrometheusHandle>,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
}

/// The routes for a node with `ingest` and/or `api`.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics));
    if state.intake.is_some() {
        app = app.route("/api/v1/reports", post(reports::submit));
    }
    if state.index.is_some() {
        app = app
            .route("/", get(ui))
            .route("/api/v1/reports/{id}", get(reports::get))
            .route("/api/v1/search", get(search::search))
            .route("/api/v1/alerts", get(alerts::list))
            .route("/api/v1/units", get(units::list).post(units::create));
    }
    app.fallback(|| async { error::ApiError::not_found("no such endpoint;") })
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The web UI's entry page.
async fn ui() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("ui/index.html"))
}
