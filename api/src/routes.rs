//! Every endpoint, with the roles it needs, in one table. The router and the
//! OpenAPI document are both built from it, so the document always states
//! what is enforced.

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use model::Role;
use serde_json::{Map, Value, json};

use crate::auth::{Required, authorize};
use crate::{AppState, accounts, alerts, audit, health, reports, rules, search, silences, units, webhooks};

const ANY: &[Role] = &[Role::Admin, Role::Analyst, Role::Operator, Role::Reporter];
const ADMIN: &[Role] = &[Role::Admin];
const PUBLIC: &[Role] = &[];

/// Which part of a node serves an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Every node with HTTP.
    Always,
    /// Nodes with the `ingest` role.
    Ingest,
    /// Nodes with the `api` role.
    Api,
}

/// One endpoint of the API.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    /// Who may call it; empty means no sign-in is needed.
    pub roles: &'static [Role],
    pub summary: &'static str,
    pub part: Part,
    /// The status of a success.
    pub success: u16,
    /// Query parameters: name and meaning.
    pub query: &'static [(&'static str, &'static str)],
    /// The JSON body, described.
    pub body: Option<&'static str>,
    /// Takes bodies up to `ingest.max_report_size` rather than `http.max_body`.
    pub large_body: bool,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    roles: &'static [Role],
    part: Part,
    summary: &'static str,
) -> Endpoint {
    Endpoint { method, path, roles, summary, part, success: 200, query: &[], body: None, large_body: false }
}

impl Endpoint {
    const fn ok(mut self, status: u16) -> Self {
        self.success = status;
        self
    }
    const fn query(mut self, q: &'static [(&'static str, &'static str)]) -> Self {
        self.query = q;
        self
    }
    const fn large(mut self) -> Self {
        self.large_body = true;
        self
    }
    const fn body(mut self, b: &'static str) -> Self {
        self.body = Some(b);
        self
    }
}

/// The table: every endpoint and its handler.
pub fn endpoints() -> Vec<(Endpoint, MethodRouter<AppState>)> {
    use Part::{Always, Api, Ingest};
    vec![
        (ep("GET", "/healthz", PUBLIC, Always, "The process is up"), get(health::healthz)),
        (ep("GET", "/readyz", PUBLIC, Always, "The process can work: the bus takes records"), get(health::readyz)),
        (ep("GET", "/metrics", ADMIN, Always, "Prometheus metrics (national counts, so national admins only)"), get(health::metrics)),
        (ep("GET", "/api/v1/openapi.json", PUBLIC, Always, "This document"), get(openapi)),
        (
            ep("POST", "/api/v1/reports", ANY, Ingest, "Submit a report, as JSON or multipart with attachments; 202 only once it is durable")
                .ok(202)
                .large()
                .body("{text, title?, region?, reported_at? (RFC 3339), channel?, source?, external_id?}"),
            post(reports::submit),
        ),
        (
            ep("POST", "/api/v1/ingest/telegram", PUBLIC, Ingest, "Telegram Bot API webhook (checks X-Telegram-Bot-Api-Secret-Token)")
                .body("a Telegram Update object"),
            post(webhooks::telegram),
        ),
        (
            ep("GET", "/api/v1/ingest/whatsapp", PUBLIC, Ingest, "WhatsApp Cloud API verification handshake")
                .query(&[("hub.mode", "subscribe"), ("hub.verify_token", "whatsapp.verify_token"), ("hub.challenge", "echoed back")]),
            get(webhooks::whatsapp_verify),
        ),
        (
            ep("POST", "/api/v1/ingest/whatsapp", PUBLIC, Ingest, "WhatsApp Cloud API webhook (checks X-Hub-Signature-256)")
                .body("a WhatsApp Cloud API notification"),
            post(webhooks::whatsapp),
        ),
        (
            ep("POST", "/api/v1/ingest/sms", PUBLIC, Ingest, "SMS gateway webhook (checks sms.inbound_token); answers with the reply to send")
                .body("{from, text, sent_at?, id?, ref?, part?, parts?} as JSON or a form"),
            post(webhooks::sms),
        ),
        (
            ep("GET", "/api/v1/feeds", &[Role::Admin, Role::Analyst], Ingest, "The news feeds this node polls, and how each is doing"),
            get(webhooks::feeds),
        ),
        (
            ep("GET", "/api/v1/reports/{id}", ANY, Api, "A report with its classification (reporters: only their own)"),
            get(reports::get),
        ),
        (
            ep("GET", "/api/v1/search", &[Role::Admin, Role::Analyst], Api, "Search the archive within your regions")
                .query(&[
                    ("q", "words, \"phrases\", AND, OR, NOT, title:word"),
                    ("indicator", "an indicator id"),
                    ("region", "a region code; everything under it"),
                    ("channel", "app, web, telegram, whatsapp, sms, email or feed"),
                    ("source", "where it came from: a feed, an office"),
                    ("language", "ind, eng or jav"),
                    ("from", "RFC 3339, inclusive (received)"),
                    ("to", "RFC 3339, exclusive"),
                    ("min_score", "only reports whose indicator scores add up to this"),
                    ("sort", "relevance (default with q), newest (default without), oldest"),
                    ("limit", "at most 1000, default 20"),
                    ("offset", "skip this many (offset + limit at most 10000)"),
                    ("after", "the `next` of the previous page, for pages beyond"),
                ]),
            get(search::search),
        ),
        (
            ep("GET", "/api/v1/stats", &[Role::Admin, Role::Analyst, Role::Operator], Api, "Report counts by indicator, region and day, week or month, within your regions")
                .query(&[
                    ("indicator", "an indicator id"),
                    ("region", "a region code; everything under it"),
                    ("channel", "app, web, telegram, whatsapp, sms, email or feed"),
                    ("from", "RFC 3339, inclusive (when it happened)"),
                    ("to", "RFC 3339, exclusive"),
                    ("bucket", "day (default), week or month; days in UTC+7"),
                    ("by", "province (default) or regency"),
                ]),
            get(search::stats),
        ),
        (
            ep("GET", "/api/v1/alerts", &[Role::Admin, Role::Operator], Api, "Alerts within your regions, newest first")
                .query(&[
                    ("indicator", "an indicator id"),
                    ("region", "a region code"),
                    ("state", "open, acknowledged, in_progress or resolved"),
                    ("limit", "default 100"),
                ]),
            get(alerts::list),
        ),
        (
            ep("GET", "/api/v1/alerts/{id}", &[Role::Admin, Role::Operator], Api, "One alert with its reports, deliveries and lifecycle history"),
            get(alerts::get),
        ),
        (
            ep("POST", "/api/v1/alerts/{id}/ack", &[Role::Admin, Role::Operator], Api, "Acknowledge an alert (diterima): who and when are recorded")
                .body("{note?} or empty"),
            post(alerts::ack),
        ),
        (
            ep("GET", "/api/v1/alerts/{id}/ack-link", PUBLIC, Api, "The page an email's acknowledgement link opens (HTML, one button); changes nothing")
                .query(&[("token", "from the link: signed, expires after 3 days")]),
            get(alerts::ack_link_page),
        ),
        (
            ep("POST", "/api/v1/alerts/{id}/ack-link", PUBLIC, Api, "Acknowledge by the email link's token (form field `token`), once")
                .body("form: token"),
            post(alerts::ack_link),
        ),
        (
            ep("POST", "/api/v1/alerts/{id}/sms-status", PUBLIC, Api, "The SMS gateway's status callback (the URL carries a signed token); recorded on the alert")
                .ok(204)
                .query(&[("token", "from the callback URL sent with the message")])
                .body("{status, error?} as JSON, or Twilio's form (MessageStatus, ErrorCode)"),
            post(alerts::sms_status),
        ),
        (
            ep("POST", "/api/v1/alerts/{id}/progress", &[Role::Admin, Role::Operator], Api, "Follow-up under way (tindak lanjut); again with a note for each further step")
                .body("{note?} or empty"),
            post(alerts::progress),
        ),
        (
            ep("POST", "/api/v1/alerts/{id}/resolve", &[Role::Admin, Role::Operator], Api, "Resolve an alert (selesai)")
                .body("{note?} or empty"),
            post(alerts::resolve),
        ),
        (
            ep("GET", "/api/v1/silences", &[Role::Admin, Role::Operator], Api, "Silences in force within your regions"),
            get(silences::list),
        ),
        (
            ep("POST", "/api/v1/silences", &[Role::Admin, Role::Operator], Api, "Stop notifications of an indicator in a region until a time; alerts are still raised and shown")
                .ok(201)
                .body("{indicator?, region, until (RFC 3339, at most 30 days on), reason}"),
            post(silences::create),
        ),
        (
            ep("DELETE", "/api/v1/silences/{id}", &[Role::Admin, Role::Operator], Api, "End a silence now").ok(204),
            delete(silences::delete),
        ),
        (ep("GET", "/api/v1/units", &[Role::Admin, Role::Operator], Api, "Responsible units within your regions"), get(units::list)),
        (
            ep("POST", "/api/v1/units", ADMIN, Api, "Create a responsible unit")
                .ok(201)
                .body("{name, regions: [code], indicators?: [id], min_level?, emails?: [..], phones?: [..], parent?, working_hours?: {days?, from, to}, time_zone?, language?: id|en}"),
            post(units::create),
        ),
        (
            ep("PUT", "/api/v1/units/{id}", ADMIN, Api, "Replace a unit's settings")
                .body("{name, regions: [code], indicators?: [id], min_level?, emails?: [..], phones?: [..], parent?, working_hours?: {days?, from, to}, time_zone?, language?: id|en}"),
            put(units::update),
        ),
        (
            ep("DELETE", "/api/v1/units/{id}", ADMIN, Api, "Remove a unit no other unit escalates to").ok(204),
            delete(units::delete),
        ),
        (
            ep("POST", "/api/v1/users", ADMIN, Api, "Create an account; its API token is shown only in this answer")
                .ok(201)
                .body("{name, role, regions: [code] (empty: national), display_name?, email?, phone?, password?}"),
            post(accounts::create),
        ),
        (ep("GET", "/api/v1/users", ADMIN, Api, "Accounts within your regions"), get(accounts::list)),
        (
            ep("PATCH", "/api/v1/users/{name}", ADMIN, Api, "Change an account: role, regions, contact, active, password")
                .body("{display_name?, role?, regions?, email?, phone?, active?, password?}"),
            patch(accounts::update),
        ),
        (
            ep("POST", "/api/v1/users/{name}/tokens", ADMIN, Api, "Issue an API token for an account; shown once")
                .ok(201)
                .body("{label?, expires_at? (RFC 3339)}"),
            post(accounts::create_token_for),
        ),
        (ep("GET", "/api/v1/me", ANY, Api, "Your account and tokens"), get(accounts::me)),
        (
            ep("POST", "/api/v1/me/tokens", ANY, Api, "Issue yourself an API token; shown once")
                .ok(201)
                .body("{label?, expires_at? (RFC 3339)}"),
            post(accounts::create_own_token),
        ),
        (
            ep("PUT", "/api/v1/me/password", ANY, Api, "Set your web password (at least 12 characters)")
                .ok(204)
                .body("{password}"),
            put(accounts::set_own_password),
        ),
        (
            ep("DELETE", "/api/v1/tokens/{id}", ANY, Api, "Revoke a token: your own, or (admins) one of an account in your regions")
                .ok(204),
            delete(accounts::revoke),
        ),
        (
            ep("POST", "/api/v1/session", PUBLIC, Api, "Web sign-in: sets the session cookie, returns the CSRF token")
                .body("{name, password}"),
            post(accounts::sign_in),
        ),
        (ep("DELETE", "/api/v1/session", ANY, Api, "Sign out").ok(204), delete(accounts::sign_out)),
        (
            ep("GET", "/api/v1/audit", ADMIN, Api, "The audit log within your regions, newest first").query(&[
                ("actor", "an account name"),
                ("action", "sign_in, sign_in_failed, account.create, account.update, token.create, token.revoke, unit.create, …"),
                ("from", "RFC 3339, inclusive"),
                ("to", "RFC 3339, exclusive"),
                ("limit", "default 100, at most 1000"),
            ]),
            get(audit::list),
        ),
        (ep("GET", "/api/v1/rules", ADMIN, Api, "The rule files and rules in force, and their version"), get(rules::list)),
        (
            ep("PUT", "/api/v1/rules/{id}", ADMIN, Api, "Add or replace a rule file (national admins); checked first, in force everywhere without a restart")
                .body("{content: \"<TOML rule file>\", note?}"),
            put(rules::put),
        ),
        (ep("DELETE", "/api/v1/rules/{id}", ADMIN, Api, "Remove a rule file put through the API (national admins)").ok(204), delete(rules::delete)),
        (
            ep("POST", "/api/v1/rules/test", ADMIN, Api, "Classify a text with the live rules and a candidate file, side by side")
                .body("{text, title?, region?, rules?: \"<TOML>\", file?}"),
            post(rules::test),
        ),
        (
            ep("POST", "/api/v1/rules/backtest", ADMIN, Api, "Replay archived reports through a candidate: indicators gained or lost, alerts that would fire")
                .body("{rules: \"<TOML>\", file?, from, to?, limit?}"),
            post(rules::backtest),
        ),
        (ep("GET", "/", PUBLIC, Api, "The web UI"), get(crate::ui)),
        (ep("GET", "/app.js", PUBLIC, Api, "The web UI's script"), get(crate::ui_script)),
    ]
}

/// The routes this node serves, each behind its role check.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut app = Router::new();
    for (endpoint, method_router) in endpoints() {
        let served = match endpoint.part {
            Part::Always => true,
            Part::Ingest => state.intake.is_some(),
            Part::Api => state.index.is_some(),
        };
        if !served {
            continue;
        }
        let method_router = if endpoint.large_body {
            method_router.route_layer(axum::extract::DefaultBodyLimit::max(state.max_report_body))
        } else {
            method_router
        };
        let method_router = if endpoint.roles.is_empty() {
            method_router
        } else {
            method_router
                .route_layer(from_fn_with_state(state.clone(), authorize))
                .route_layer(axum::Extension(Required(endpoint.roles)))
        };
        app = app.route(endpoint.path, method_router);
    }
    app.method_not_allowed_fallback(|| async {
        crate::error::ApiError::new(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take that method; see /api/v1/openapi.json",
        )
    })
}

/// `GET /api/v1/openapi.json`.
async fn openapi() -> axum::Json<Value> {
    axum::Json(document())
}

/// The OpenAPI 3 document of the whole API, built from [`endpoints`].
pub fn document() -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let mut paths: Map<String, Value> = Map::new();
    for (e, _) in endpoints() {
        let mut parameters: Vec<Value> = e
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        parameters.extend(e.query.iter().map(|(name, description)| {
            json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } })
        }));
        let mut responses = Map::new();
        responses.insert(e.success.to_string(), json!({ "description": "success" }));
        let mut errors = vec![("400", "malformed request"), ("404", "not found, or outside your regions")];
        if !e.roles.is_empty() {
            errors.push(("401", "no valid token or session"));
            errors.push(("403", "your role may not do this"));
        }
        if e.body.is_some() {
            errors.extend([
                ("413", "body too large"),
                ("415", "not JSON"),
                ("422", "a field is wrong; the message names it"),
            ]);
        }
        for (status, description) in errors {
            responses.insert(
                status.to_owned(),
                json!({ "description": description, "content": { "application/json": { "schema": error } } }),
            );
        }
        let roles: Vec<&str> = e.roles.iter().map(|r| r.as_str()).collect();
        let mut op = json!({
            "summary": e.summary,
            "description": if roles.is_empty() { "No sign-in needed.".to_owned() } else { format!("Requires role: {}.", roles.join(", ")) },
            "x-roles": roles,
            "parameters": parameters,
            "responses": responses,
            "security": if e.roles.is_empty() { json!([]) } else { json!([{ "bearer": [] }, { "session": [] }]) },
        });
        if let Some(body) = e.body {
            op["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": { "application/json": { "schema": { "type": "object" } } }
            });
        }
        let path = paths.entry(e.path.to_owned()).or_insert_with(|| json!({}));
        path[e.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Kentongan API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Early-warning pipeline for Indonesian regional governments. Every answer about reports, \
                            alerts, statistics and accounts is limited to the caller's regions (Kemendagri codes; \
                            `72` covers everything under `72.`)."
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "An API token: `Authorization: Bearer ktn_…`" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE,
                             "description": "A web session from POST /api/v1/session; changing requests also send X-CSRF-Token" }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string" }, "message": { "type": "string" } } } }
                }
            }
        },
        "paths": paths,
    })
}
