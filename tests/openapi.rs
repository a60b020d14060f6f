//! The OpenAPI document a node serves against the routes it serves, over
//! HTTP against the running binary (embedded default). Together with the
//! unit tests in `api::routes` (every route of the table is in the document,
//! and nothing else), this shows that a client generated from the document
//! reaches every endpoint.

mod common;

use common::{Node, call};
use serde_json::Value;

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
            let unrouted = |a: &Value| a["error"]["message"].as_str().is_some_and(|m| m.starts_with("no such endpoint"));
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
