//! Every endpoint, with the roles it needs, in one table. The router and the
//! OpenAPI document are both built from it, so the document always states
//! what is enforced.
//!
//! Each handler declares its path, method, parameters, body and answers with
//! `#[utoipa::path]` over the types it takes and returns; the table adds who
//! may call it, and [`document`] adds the errors every endpoint of a kind can
//! answer (401 and 403 behind a sign-in, 400, 413, 415 and 422 with a body…).

use axum::Router;
use axum::middleware::from_fn_with_state;
use model::Role;
use serde_json::{Value, json};
use utoipa::openapi::path::Paths;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder};
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use crate::auth::{Required, authorize};
use crate::error::ErrorBody;
use crate::{
    AppState, accounts, alerts, audit, duties, health, regions, replies, reports, rules, search, silences, stages,
    units, webhooks,
};

const ANY: &[Role] = &[Role::Admin, Role::Analyst, Role::Operator, Role::Reporter];
const ADMIN: &[Role] = &[Role::Admin];
const ADMIN_ANALYST: &[Role] = &[Role::Admin, Role::Analyst];
const ADMIN_OPERATOR: &[Role] = &[Role::Admin, Role::Operator];
/// Who may read alerts: operators act on them, analysts map and count them.
const ALERT_READERS: &[Role] = &[Role::Admin, Role::Operator, Role::Analyst];
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
pub struct Endpoint {
    /// Who may call it; empty means no sign-in is needed.
    pub roles: &'static [Role],
    pub part: Part,
    /// Takes bodies up to `ingest.max_report_size` rather than `http.max_body`.
    pub large_body: bool,
    /// Writes nothing to the log, though not a GET (a test, a backtest).
    pub reads_only: bool,
    /// The handler, with the path, method and operation of its `#[utoipa::path]`.
    pub route: UtoipaMethodRouter<AppState>,
}

fn ep(roles: &'static [Role], part: Part, route: UtoipaMethodRouter<AppState>) -> Endpoint {
    Endpoint { roles, part, large_body: false, reads_only: false, route }
}

impl Endpoint {
    fn large(mut self) -> Self {
        self.large_body = true;
        self
    }

    fn reads_only(mut self) -> Self {
        self.reads_only = true;
        self
    }

    /// The path and the lowercase methods this endpoint answers.
    pub fn operations(&self) -> Vec<(String, String)> {
        operations(&self.route.1)
    }
}

fn operations(paths: &Paths) -> Vec<(String, String)> {
    let value = serde_json::to_value(paths).unwrap_or_default();
    let mut out = Vec::new();
    for (path, item) in value.as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone()));
            }
        }
    }
    out
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The table: every endpoint and its handler.
pub fn endpoints() -> Vec<Endpoint> {
    use Part::{Always, Api, Ingest};
    vec![
        ep(PUBLIC, Always, routes!(health::healthz)),
        ep(PUBLIC, Always, routes!(health::readyz)),
        ep(ADMIN, Always, routes!(health::metrics)),
        ep(PUBLIC, Always, routes!(openapi)),
        ep(ANY, Ingest, routes!(reports::submit)).large(),
        ep(PUBLIC, Ingest, routes!(webhooks::telegram)),
        ep(PUBLIC, Ingest, routes!(webhooks::whatsapp_verify)),
        ep(PUBLIC, Ingest, routes!(webhooks::whatsapp)),
        ep(PUBLIC, Ingest, routes!(webhooks::sms)),
        ep(ADMIN_ANALYST, Ingest, routes!(webhooks::feeds)),
        ep(ANY, Api, routes!(reports::get)),
        ep(ANY, Api, routes!(reports::list)),
        ep(ANY, Api, routes!(reports::attachment)),
        ep(ADMIN_OPERATOR, Api, routes!(replies::send_reply)),
        ep(ADMIN_OPERATOR, Api, routes!(replies::list_replies)),
        ep(ADMIN_OPERATOR, Api, routes!(replies::reply_to_reporters)),
        ep(PUBLIC, Always, routes!(regions::list)),
        ep(ADMIN_ANALYST, Api, routes!(search::search)),
        ep(ADMIN_ANALYST, Api, routes!(search::export)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(search::stats)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(search::series)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(search::breakdown)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(search::rising)),
        ep(ALERT_READERS, Api, routes!(alerts::list)),
        ep(ALERT_READERS, Api, routes!(alerts::get)),
        ep(ADMIN_OPERATOR, Api, routes!(alerts::stream)),
        ep(ADMIN_OPERATOR, Api, routes!(alerts::ack)),
        ep(PUBLIC, Api, routes!(alerts::ack_link_page)),
        ep(PUBLIC, Api, routes!(alerts::ack_link)),
        ep(PUBLIC, Api, routes!(alerts::sms_status)),
        ep(ADMIN_OPERATOR, Api, routes!(alerts::progress)),
        ep(ADMIN_OPERATOR, Api, routes!(alerts::resolve)),
        ep(ADMIN_OPERATOR, Api, routes!(silences::list)),
        ep(ADMIN_OPERATOR, Api, routes!(silences::create)),
        ep(ADMIN_OPERATOR, Api, routes!(silences::delete)),
        ep(ADMIN_OPERATOR, Api, routes!(units::list)),
        ep(ADMIN, Api, routes!(units::create)),
        ep(ADMIN, Api, routes!(units::update)),
        ep(ADMIN, Api, routes!(units::delete)),
        ep(ADMIN, Api, routes!(accounts::create)),
        ep(ADMIN, Api, routes!(accounts::list)),
        ep(ADMIN, Api, routes!(accounts::update)),
        ep(ADMIN, Api, routes!(accounts::create_token_for)),
        ep(ANY, Api, routes!(accounts::me)),
        ep(ANY, Api, routes!(accounts::create_own_token)),
        ep(ANY, Api, routes!(accounts::set_own_password)),
        ep(ANY, Api, routes!(accounts::revoke)),
        ep(PUBLIC, Api, routes!(accounts::sign_in)),
        ep(ANY, Api, routes!(accounts::sign_out)),
        ep(ADMIN, Api, routes!(audit::list)),
        ep(ADMIN, Api, routes!(rules::list)),
        ep(ADMIN, Api, routes!(rules::put)),
        ep(ADMIN, Api, routes!(rules::delete)),
        ep(ADMIN, Api, routes!(rules::history)),
        ep(ADMIN, Api, routes!(rules::rollback)),
        ep(ADMIN, Api, routes!(rules::test)).reads_only(),
        ep(ADMIN, Api, routes!(rules::backtest)).reads_only(),
        ep(ANY, Api, routes!(duties::list)),
        ep(ANY, Api, routes!(duties::get)),
        ep(ADMIN, Api, routes!(duties::put)),
        ep(ANY, Ingest, routes!(duties::file)).large(),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(duties::filings)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(duties::draft)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(duties::compliance)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(stages::board)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(stages::history)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(stages::attachments)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(crate::briefs::get)),
        ep(&[Role::Admin, Role::Analyst, Role::Operator], Api, routes!(crate::briefs::archive)),
        ep(PUBLIC, Api, routes!(crate::ui)),
    ]
}

/// The routes this node serves, each behind its role check.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut app = Router::new();
    for endpoint in endpoints() {
        let served = match endpoint.part {
            Part::Always => true,
            Part::Ingest => state.ingest.is_some(),
            Part::Api => state.api.is_some(),
        };
        if !served {
            continue;
        }
        let (_, paths, method_router) = endpoint.route;
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
        for path in paths.paths.keys() {
            app = app.route(path, method_router.clone());
        }
    }
    app.method_not_allowed_fallback(|| async {
        crate::error::ApiError::new(
            axum::http::StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take that method; see /api/v1/openapi.json",
        )
    })
}

/// The OpenAPI 3.1 document of the whole API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", body = Object)))]
async fn openapi() -> axum::Json<Value> {
    axum::Json(document())
}

/// An error answer, described.
fn error(description: &str) -> Value {
    json!({ "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } } })
}

/// The OpenAPI document of the whole API, generated from the handlers'
/// types and the roles in [`endpoints`].
pub fn document() -> Value {
    let mut paths = Paths::new();
    let mut schemas = Vec::new();
    let mut roles = Vec::new();
    for endpoint in endpoints() {
        for op in endpoint.operations() {
            let changes = op.1 != "get" && !endpoint.reads_only;
            roles.push((op, endpoint.roles, changes));
        }
        let (s, p, _) = endpoint.route;
        schemas.extend(s);
        paths.merge(p);
    }
    let api = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Kentongan API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Early-warning pipeline for Indonesian regional governments. Every answer about reports, \
                     alerts, statistics and accounts is limited to the caller's regions (Kemendagri codes; \
                     `72` covers everything under `72.`). Errors are `{\"error\": {\"code\", \"message\"}}`.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(ComponentsBuilder::new().schemas_from_iter(schemas).schema_from::<ErrorBody>().build()))
        .build();
    let mut doc = serde_json::to_value(&api).unwrap_or_default();
    doc["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer", "description": "An API token: `Authorization: Bearer ktn_…`" },
        "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE,
                     "description": "A web session from POST /api/v1/session; changing requests also send X-CSRF-Token" }
    });
    for ((path, method), roles, changes) in roles {
        describe(&mut doc["paths"][&path][&method], roles, changes);
    }
    link(&mut doc);
    doc
}

/// The fields of the object a schema describes, through `$ref` and `allOf`.
fn fields(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        return fields(doc, &doc["components"]["schemas"][name]);
    }
    let mut out: Vec<String> = schema["properties"].as_object().into_iter().flat_map(|p| p.keys().cloned()).collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(fields(doc, part));
    }
    out
}

/// OpenAPI links from what makes a thing to what works on it: a success
/// whose body has the `id` (or `name`) of `/things/{id}` leads to the
/// operations there, so that a client, and schemathesis, can follow it.
fn link(doc: &mut Value) {
    let mut links = Vec::new();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (path, item) in &paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if !status.starts_with('2') {
                    continue;
                }
                let body = &response["content"]["application/json"]["schema"];
                for field in fields(doc, body) {
                    let param = format!("{{{field}}}");
                    let item_path =
                        if path.ends_with(&format!("/{param}")) { path.clone() } else { format!("{path}/{param}") };
                    for (to_method, to) in paths.get(&item_path).and_then(Value::as_object).into_iter().flatten() {
                        if (&item_path, to_method) == (path, method) {
                            continue;
                        }
                        let Some(id) = to["operationId"].as_str() else { continue };
                        let link = json!({ "operationId": id, "parameters": { field.clone(): format!("$response.body#/{field}") } });
                        links.push((path.clone(), method.clone(), status.clone(), id.to_owned(), link));
                    }
                }
            }
        }
    }
    for (path, method, status, id, link) in links {
        doc["paths"][&path][&method]["responses"][&status]["links"][id] = link;
    }
}

/// Adds to an operation who may call it and the errors every operation of
/// its kind can answer; `changes`: it writes to the log.
fn describe(op: &mut Value, roles: &[Role], changes: bool) {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let who = if names.is_empty() {
        "No sign-in needed.".to_owned()
    } else {
        format!("Requires role: {}.", names.join(", "))
    };
    op["description"] = match op["description"].as_str() {
        Some(d) => json!(format!("{who}\n\n{d}")),
        None => json!(who),
    };
    op["x-roles"] = json!(names);
    if let Some(tag) = op["tags"][0].as_str()
        && let Some(id) = op["operationId"].as_str()
    {
        op["operationId"] = json!(format!("{tag}_{id}"));
    }
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    op["security"] = json!([]);
    if !roles.is_empty() {
        op["security"] = json!([{ "bearer": [] }, { "session": [] }]);
        errors.push(("401", "no valid token or session"));
        errors.push(("403", "your role or regions may not do this"));
        errors.push(("429", "too many failed sign-ins from your address; wait for Retry-After"));
    }
    if params.iter().any(|p| p["in"] == "query") {
        errors.push(("400", "a query parameter is malformed; the message names it"));
    }
    if params.iter().any(|p| p["in"] == "path") {
        errors.push(("404", "not found, or outside your regions"));
    }
    if op.get("requestBody").is_some() {
        errors.push(("400", "the body is not JSON"));
        errors.push(("413", "the body is too large"));
        errors.push(("415", "the body is not of a type this endpoint takes"));
        errors.push(("422", "a field is wrong; the message names it"));
    }
    if changes {
        errors.push(("503", "the log cannot take the change right now; nothing changed, try again after Retry-After"));
    }
    let responses = op["responses"].as_object_mut().expect("every operation declares its answers");
    for (status, description) in errors {
        responses.entry(status).or_insert_with(|| error(description));
    }
    // a success described only by its body gets the status's name
    for (status, response) in responses.iter_mut() {
        if response["description"] == "" {
            let name = status.parse().ok().and_then(|s| axum::http::StatusCode::from_u16(s).ok());
            response["description"] = json!(name.and_then(|s| s.canonical_reason()).unwrap_or("success"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The web app is typed from `web/openapi.json`, a copy of this document:
    /// the copy must be current. `UPDATE_OPENAPI=1` rewrites it; then run
    /// `npm run api` in web/ to regenerate the TypeScript types.
    #[test]
    fn openapi_copy_in_web_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/openapi.json");
        let now = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &now).unwrap();
        }
        let copy = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            copy == now,
            "web/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p api openapi_copy`, then `npm run api` in web/"
        );
    }

    /// Every route of the router is in the document, and the document has no
    /// operation the router does not serve: the router is built from
    /// [`endpoints`] alone, so comparing the two compares router and document.
    #[test]
    fn the_document_lists_exactly_the_routes() {
        let routed: BTreeSet<(String, String)> = endpoints().iter().flat_map(Endpoint::operations).collect();
        assert_eq!(routed.len(), endpoints().len(), "one operation per endpoint, no path twice");
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
                documented.insert((path.clone(), method.clone()));
            }
        }
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(undocumented.is_empty(), "routes missing from the document: {undocumented:?}");
        assert!(unrouted.is_empty(), "documented, but not routed: {unrouted:?}");
        // the operations are named once each, for generated clients
        let ids: Vec<&str> = documented
            .iter()
            .map(|(p, m)| doc["paths"][p][m]["operationId"].as_str().expect("an operationId"))
            .collect();
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "{ids:?}");
    }

    /// Each operation states who may call it, answers with a schema, and
    /// every `$ref` in the document resolves.
    #[test]
    fn every_operation_is_described() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(op["x-roles"].is_array(), "{method} {path}");
                let summary = op["summary"].as_str().unwrap_or_default();
                assert!(
                    !summary.is_empty() && !summary.contains('\n'),
                    "{method} {path}: the summary is the first paragraph of the handler's doc, one line: {summary:?}"
                );
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success");
                for (status, response) in responses {
                    assert!(
                        response["description"].as_str().is_some_and(|d| !d.is_empty()),
                        "{method} {path} {status}"
                    );
                }
                if op["x-roles"].as_array().is_some_and(|r| !r.is_empty()) {
                    assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
                }
            }
        }
        // what makes a thing leads to what works on it
        let made = &doc["paths"]["/api/v1/units"]["post"]["responses"]["201"]["links"];
        assert_eq!(made["units_delete"]["parameters"]["id"], "$response.body#/id", "{made}");
        assert!(made["units_update"].is_object(), "{made}");
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(doc["components"]["schemas"][name].is_object(), "`{name}` is referenced but not defined");
        }
    }
}
