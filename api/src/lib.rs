//! The HTTP API (axum): intake for the field app, search, alerts, units,
//! accounts, the audit log, health and metrics. The routes a node serves
//! follow its roles.
//!
//! Every endpoint and the roles it needs are in [`routes`]; credentials are
//! checked only in [`auth`]; errors become statuses only in [`error`].

pub mod accounts;
pub mod alerts;
mod assets;
pub mod audit;
pub mod auth;
pub mod briefs;
pub mod duties;
pub mod error;
pub mod health;
pub mod pages;
pub mod regions;
pub mod replies;
pub mod reports;
pub mod routes;
pub mod rules;
pub mod search;
pub mod silences;
pub mod stages;
pub mod units;
pub mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use metrics_exporter_prometheus::PrometheusHandle;
use model::Clock;

pub use ::accounts::secrets;
pub use alerts::AlertView;

/// What the handlers share, behind one `Arc`: each request clones it, and
/// several extractors of a request clone it again.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What the handlers of a node share, in parts shaped by role: what every
/// node has, then one part per role that serves HTTP. A node without a role
/// has no such part, and the routes of that role are not mounted (see
/// [`routes`]). A handler reaches its role's part through [`Shared::ingest`]
/// or [`Shared::api`], which answer 404 where the part is missing; a handler
/// of one role has no business with the other's part.
pub struct Shared {
    pub bus: bus::Bus,
    pub clock: Arc<dyn Clock>,
    /// Accounts, credentials and the audit log: every node signs callers in.
    pub accounts: ::accounts::Accounts,
    /// Mark the session cookie Secure (the UI is served over https).
    pub secure_cookies: bool,
    pub metrics: Option<PrometheusHandle>,
    /// The dependencies of the node's roles that `/readyz` asks.
    pub readiness: health::Readiness,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    /// Largest report with its attachments (`POST /api/v1/reports`), in bytes.
    pub max_report_body: usize,
    /// Report templates, followed from the `templates` topic: filings are
    /// checked against them where reports are taken in.
    pub templates: ::duties::TemplateBook,
    /// With the `ingest` role.
    pub ingest: Option<IngestPart>,
    /// With the `api` role.
    pub api: Option<ApiPart>,
}

/// What the `ingest` role's routes use: the intake and its channels.
pub struct IngestPart {
    pub intake: ingest::Intake,
    pub telegram: Option<ingest::TelegramConfig>,
    pub whatsapp: Option<ingest::WhatsappConfig>,
    pub sms: Option<ingest::SmsConfig>,
    pub feeds: ingest::feeds::FeedBoard,
    /// For calls out: WhatsApp replies.
    pub http: reqwest::Client,
}

/// What the `api` role's routes use: the archive, alerts, units, silences
/// and rules.
pub struct ApiPart {
    pub index: archive::SearchIndex,
    /// With `[clickhouse]`: statistics come from there.
    pub analytics: Option<archive::Analytics>,
    pub alerts: AlertView,
    /// Checks the acknowledgement links in alert email.
    pub links: alerter::LinkKey,
    pub units: alerter::UnitBook,
    pub silences: alerter::SilenceBook,
    /// The rule set in force, followed from the `rules` topic.
    pub rules: classifier::RuleBook,
    /// Longest text a rule test takes (`ingest.max_text_chars`, as for a report).
    pub max_text_chars: usize,
    /// Where the ingest nodes keep attachments (`[attachments.s3]`, else
    /// `data_dir/attachments`, which another node's api cannot reach).
    pub attachments: ingest::AttachmentStore,
    /// Which filings of report templates exist, followed from `reports` and `classified`.
    pub filings: ::duties::FilingBook,
    /// Replies to reporters and their deliveries, followed from `replies`.
    pub replies: replies::ReplyBook,
    /// The morning briefs that went out, followed from `briefs`.
    pub briefs: ::duties::BriefBook,
    /// The web app's address, for the links in briefs.
    pub public_url: String,
}

impl Shared {
    /// The `ingest` role's part; on a node without it, 404.
    pub fn ingest(&self) -> Result<&IngestPart, error::ApiError> {
        self.ingest.as_ref().ok_or_else(|| error::ApiError::not_found("this node takes no reports;"))
    }

    /// The `api` role's part; on a node without it, 404.
    pub fn api(&self) -> Result<&ApiPart, error::ApiError> {
        self.api.as_ref().ok_or_else(|| error::ApiError::not_found("this node does not serve the api role;"))
    }
}

/// The routes for a node with `ingest` and/or `api`.
pub fn router(state: AppState) -> Router {
    routes::router(&state)
        .fallback(assets::fallback)
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::from_fn(error::indonesian))
        .layer(axum::middleware::map_response(security_headers))
        // JSON and CSV answers gzipped for phones on slow links; the web
        // app's files come precompressed and event streams are left alone
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(health::track))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The web app's page.
///
/// Its scripts, styles, service worker and map data are files below
/// `/assets/`, `/map/` and the root, served as the router's fallback (see
/// [`assets`]).
#[utoipa::path(get, path = "/", tag = "ui",
    responses((status = 200, description = "the page", body = String, content_type = "text/html")))]
async fn ui(headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    assets::serve("/", &headers).unwrap_or_else(|| error::ApiError::not_found("web app").into_response())
}

/// Puts a client error that something other than our handlers answered in
/// plain text (axum's rejections of a form, a query string or a path) into
/// the API's JSON error format, in the API's words.
async fn json_errors(response: axum::response::Response) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let plain_text =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !(response.status().is_client_error() && plain_text) {
        return response;
    }
    let status = response.status();
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        _ => "malformed",
    };
    error::ApiError::new(status, code, error::plain(&String::from_utf8_lossy(&text))).into_response()
}

/// What every answer tells the browser: run only this origin's scripts (none
/// inline), load nothing from elsewhere, never inside a frame (clickjacking
/// the acknowledge button), no guessing of content types, and no `Referer`
/// (acknowledgement links carry a token).
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::http::header;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
             connect-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}
