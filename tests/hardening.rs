//! Hostile and absurd input over the real interfaces: no rule file can stop
//! the node, no answer crosses the caller's regions, and no answer echoes a
//! large body or leaks what the server keeps to itself.

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, client, create_user, eventually, post_report};
use serde_json::{Value, json};

fn rule_with(expr: &str) -> String {
    format!("[[rule]]\nid = \"uji.dalam\"\nindicator = \"narkoba\"\nmatch = '{expr}'\n")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// Every way found to crash or wedge a node through a rule file, sent by an
/// admin to each endpoint that takes rules: each is refused with the file,
/// line and column, and the node goes on classifying.
#[tokio::test]
async fn rules_that_would_stop_the_node_are_refused_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let threshold = |body: &str| format!("[threshold.narkoba]\nwaspada = 3\n{body}\n");
    let phrase = vec!["kata"; 8000].join(" ");
    let cases: Vec<(String, &str, &str)> = vec![
        // stack overflow: brackets, NOT chains, both
        (rule_with(&format!("{}sabu{}", "(".repeat(5000), ")".repeat(5000))), ":4:", "nested more than"),
        (rule_with(&format!("{}sabu", "NOT ".repeat(5000))), ":4:", "nested more than"),
        // the classifier stage panicked on these, forever
        (threshold("window = \"1ns\""), ":3:10:", "window must be from 1m"),
        (threshold("window = \"24h\"\nrise = { days = 4294967295, waspada = 2.0 }"), ":4:", "rise.days"),
        // quadratic time that outlived the request
        (format!("[[rule]]\nid = \"p\"\nindicator = \"narkoba\"\nany = [\"{phrase}\"]\n"), ":4:", "at most 200"),
        (rule_with("sabu NEAR/4000000000 pesta"), ":4:", "NEAR/n"),
    ];
    for (content, at, says) in &cases {
        let (status, err) =
            call(&node, "PUT", "/api/v1/rules/uji", Some(TOKEN), Some(json!({ "content": content }))).await;
        assert_eq!(status, 422, "{err}");
        assert!(message(&err).starts_with("api/uji.toml") && message(&err).contains(at), "{err}");
        assert!(message(&err).contains(says), "{err}");
        assert!(message(&err).len() < 500, "the answer echoes the file: {} bytes", message(&err).len());
        let (status, err) = call(
            &node,
            "POST",
            "/api/v1/rules/test",
            Some(TOKEN),
            Some(json!({ "rules": content, "text": "pesta sabu" })),
        )
        .await;
        assert_eq!(status, 422, "{err}");
        let (status, err) = call(
            &node,
            "POST",
            "/api/v1/rules/backtest",
            Some(TOKEN),
            Some(json!({ "rules": content, "from": "2020-01-01T00:00:00Z" })),
        )
        .await;
        assert_eq!(status, 422, "{err}");

        // `kentongan rules check` says the same of the same file
        let file = dir.path().join("uji.toml");
        std::fs::write(&file, content).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kentongan"))
            .args(["rules", "check"])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "rules check calls it valid: {content:.80}");
        assert!(stderr.contains(&format!("uji.toml{at}")) && stderr.contains(says), "{stderr}");
    }
    // the node is alive and classifies as before
    let (status, body) =
        post_report(&node, json!({"text": "Pesta sabu digerebek di rumah kos", "region": "72.71"})).await;
    assert_eq!(status, 202, "{body}");
    let path = format!("/api/v1/reports/{}", body["id"].as_str().unwrap());
    let classified = eventually(Duration::from_secs(15), || async {
        let (status, r) = call(&node, "GET", &path, Some(TOKEN), None).await;
        (status == 200 && r["classification"].is_object()).then_some(r)
    })
    .await
    .expect("the node no longer classifies");
    assert_eq!(classified["classification"]["indicators"][0]["id"], "narkoba");
}

/// A backtest replays only the archive within the caller's regions: an
/// admin of Sulawesi Tengah sees neither Gorontalo's reports nor counts.
#[tokio::test]
async fn a_backtest_answers_only_from_the_callers_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let mut ids = Vec::new();
    for region in ["72.71", "75.71", "75.71"] {
        let (status, body) =
            post_report(&node, json!({"text": "Pesta sabu digerebek di rumah kos", "region": region})).await;
        assert_eq!(status, 202);
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // reports with no region naming a place in 72 and one in 73: in scope
    // for 72, and counted in 73's windows too
    for _ in 0..3 {
        let text = "Kurir sabu dari Kota Makassar ditangkap di Kota Palu";
        assert_eq!(post_report(&node, json!({ "text": text })).await.0, 202);
    }
    eventually(Duration::from_secs(15), || async {
        let (_, r) = call(&node, "GET", "/api/v1/search", Some(TOKEN), None).await;
        (r["total"] == 6).then_some(())
    })
    .await
    .expect("not archived");
    let regional = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    // a local candidate (a regional admin backtests only those): drug
    // trafficking as its own indicator in Sulawesi Tengah
    let local = "regions = [\"72\"]\n[[rule]]\nid = \"x\"\nindicator = \"peredaran\"\nany = [\"sabu\"]\n\
                 [threshold.peredaran]\nwindow = \"24h\"\nwaspada = 1\n";
    let body = json!({"rules": local, "file": "sulteng", "from": "2020-01-01T00:00:00Z"});
    let (status, b) = call(&node, "POST", "/api/v1/rules/backtest", Some(&regional), Some(body.clone())).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["reports"], 4, "{b}");
    // only the report wholly within 72 gains it; those also about Makassar do not
    assert_eq!(b["indicators"]["peredaran"]["gained"], 1, "{b}");
    let text = b.to_string();
    assert!(text.contains(&ids[0]));
    assert!(!text.contains(&ids[1]) && !text.contains(&ids[2]) && !text.contains("\"75"), "{b}");
    let fired = b["alerts"]["only_candidate"].as_array().unwrap();
    assert!(!fired.is_empty() && fired.iter().all(|a| a["region"].as_str().unwrap().starts_with("72")), "{b}");
    // the live alerts of Makassar that the reports naming both cities raise
    // are counted for a national admin only
    let (_, national) = call(&node, "POST", "/api/v1/rules/backtest", Some(TOKEN), Some(body)).await;
    assert_eq!(national["reports"], 6, "{national}");
    assert_eq!(national["indicators"]["peredaran"]["gained"], 1, "{national}");
    assert!(national["alerts"]["live"].as_u64() > b["alerts"]["live"].as_u64(), "{national} {b}");
}

/// Metrics count every province, so only a national admin reads them; every
/// answer carries the browser's protections; no error echoes a large body.
#[tokio::test]
async fn metrics_headers_and_error_messages_leak_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let regional = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let metrics = |token: String| {
        let url = node.url("/metrics");
        async move { client().get(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(metrics(regional).await.status(), 403);
    let national = metrics(TOKEN.to_owned()).await;
    assert_eq!(national.status(), 200);
    assert!(national.text().await.unwrap().contains("kentongan_"));

    for path in ["/", "/api/v1/search?q=x", "/api/v1/nothing"] {
        let r = client().get(node.url(path)).send().await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap_or_default();
        assert!(!scripts.contains("unsafe"), "{csp}");
        assert_eq!(h.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert_eq!(h.get("referrer-policy").unwrap(), "no-referrer", "{path}");
    }
    // the page runs no inline script, so the policy does not break it; its
    // script is content-hashed, cached for good, and comes compressed
    let page = client().get(node.url("/")).send().await.unwrap().text().await.unwrap();
    let script = page.split("src=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_default().to_owned();
    assert!(script.starts_with("/assets/index-") && script.ends_with(".js"), "{page}");
    assert!(!page.contains("<script>"), "{page}");
    let r = client().get(node.url(&script)).header("accept-encoding", "br, gzip").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(r.headers()["content-encoding"], "br");
    // API answers are gzipped for a browser that accepts it (a phone on 3G)
    let r = client().get(node.url("/api/v1/regions")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert!(r.bytes().await.unwrap().len() < 300_000);
    // a missing file outside the API is the API's JSON 404, not the page
    let r = client().get(node.url("/assets/nothing.js")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    // 100 KB where a short value belongs: the answer names the field, briefly
    let huge = "x".repeat(100_000);
    for body in [
        json!({"text": "ada", "reported_at": huge}),
        json!({"text": "ada", "region": huge}),
        json!({"text": "ada", "channel": huge}),
        json!({"text": 1, "title": huge}),
    ] {
        let (status, err) = post_report(&node, body).await;
        assert!(status == 422 || status == 400, "{status} {err:.200}");
        assert!(err.to_string().len() < 1000, "{} bytes echoed: {:.200}", err.to_string().len(), err.to_string());
    }
    // periods the wrong way round, scores that are no number
    for path in [
        "/api/v1/search?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "/api/v1/search?min_score=NaN",
        "/api/v1/stats?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let (status, err) = call(&node, "GET", path, Some(TOKEN), None).await;
        assert_eq!(status, 422, "{path}: {err}");
    }
    // `field:*` failed the search with a 500
    let (status, err) = call(&node, "GET", "/api/v1/search?q=title:*", Some(TOKEN), None).await;
    assert_eq!(status, 422, "{err}");
    // no answer names our Rust types, and every client error is JSON
    let (status, err) = call(&node, "POST", "/api/v1/session", None, Some(json!([]))).await;
    assert_eq!(status, 422, "{err}");
    assert!(!message(&err).contains("SignIn") && !message(&err).contains("struct"), "{err}");
    let r = client()
        .post(node.url("/api/v1/alerts/00000000-0000-0000-0000-000000000000/ack-link"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("nothing=1")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let err: Value = r.json().await.expect("a JSON error");
    assert!(err["error"]["code"].is_string(), "{err}");
    let (status, err) = call(&node, "GET", &format!("/api/v1/search?q={}", "(".repeat(5000)), Some(TOKEN), None).await;
    assert!(status == 400 || status == 422, "{status}");
    assert!(err.to_string().len() < 1000, "{:.200}", err.to_string());
}
