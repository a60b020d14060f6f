//! The OpenAPI document a node serves against the routes it serves, over
//! HTTP against the running binary (embedded default). Together with the
//! unit tests in `api::routes` (every route of the table is in the document,
//! and nothing else), this shows that a client generated from the document
//! reaches every endpoint.

mod common;

use common::{Node, call};
use serde_json::{Value, json};

/// Every documented path and method is routed: asked without a token, no
/// operation gets the router's own answers for an unknown path (404 "no such
/// endpoint") or an unknown method (405). A route behind a sign-in answers
/// 401, which only a routed request reaches.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let (status, doc) = call(&node, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let concrete = path.replace("{id}", "01939b6e-0000-7000-8000-000000000000").replace("{name}", "tidak-ada");
            let (status, answer) = call(&node, &method.to_uppercase(), &concrete, None, None).await;
            let unrouted =
                |a: &Value| a["error"]["message"].as_str().is_some_and(|m| m.starts_with("no such endpoint"));
            assert!(!(status == 404 && unrouted(&answer)), "{method} {path} is documented but not routed");
            assert_ne!(status, 405, "{method} {path} is documented but takes no {method}");
            let protected = op["x-roles"].as_array().is_some_and(|r| !r.is_empty());
            if protected {
                assert_eq!(status, 401, "{method} {path} without a token: {answer}");
            }
            // every status it answered is one the document lists
            if status != 200 || op["responses"].get("200").is_none() {
                assert!(
                    op["responses"].get(status.to_string()).is_some(),
                    "{method} {path} answered {status}, which its document does not list: {answer}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} operations");
    // and an undocumented path is the router's 404
    let (status, answer) = call(&node, "GET", "/api/v1/nothing", None, None).await;
    assert_eq!(status, 404, "{answer}");
}

/// Times in bodies and query strings are read by serde as RFC 3339: a bad
/// one is refused with the field's name and what a time looks like, and
/// nothing is kept.
#[tokio::test]
async fn a_bad_time_names_its_field_and_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let token = Some(common::TOKEN);
    let cases = [
        (
            "POST",
            "/api/v1/reports",
            Some(json!({"text": "ada pesta sabu", "reported_at": "kemarin"})),
            422,
            "reported_at: ",
        ),
        (
            "POST",
            "/api/v1/silences",
            Some(json!({"region": "72.71", "until": "besok", "reason": "latihan"})),
            422,
            "until: ",
        ),
        ("POST", "/api/v1/rules/backtest", Some(json!({"rules": "", "from": "2026-13-01T00:00:00Z"})), 422, "from: "),
        ("GET", "/api/v1/search?from=kemarin", None, 400, "from: "),
        ("GET", "/api/v1/stats?to=2026-11-31", None, 400, "to: "),
        ("GET", "/api/v1/audit?from=1764400000", None, 400, "from: "),
    ];
    for (method, path, body, status, field) in cases {
        let (got, answer) = call(&node, method, path, token, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field) && message.contains("RFC 3339 time like"), "{method} {path}: {message}");
    }
    let (_, silences) = call(&node, "GET", "/api/v1/silences", token, None).await;
    assert_eq!(silences["silences"], json!([]));
}
