//! The web app in a real browser: Debian's chromium driven by playwright-core
//! (installed by `tests/services/up`), one node script per user's journey in
//! tests/browser/, each against its own `kentongan run`. Every script checks
//! each page it shows with axe-core (no serious violations), at 390 px wide
//! with no sideways scroll, and saves screenshots to artifacts/screenshots/.
#![cfg(feature = "services")]

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, create_user_as, eventually, post_report};
use serde_json::json;

/// Runs `tests/browser/<script>` against `node` with `env`; fails the test
/// with the script's output when it fails.
async fn browser(node: &Node, script: &str, env: &[(&str, &str)]) {
    let root = env!("CARGO_MANIFEST_DIR");
    let stem = script.trim_end_matches(".js");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(format!("{root}/tests/browser/{script}"))
        .env("KENTONGAN_URL", node.url(""))
        .env("KENTONGAN_ARTIFACTS", format!("{root}/artifacts/screenshots/{stem}"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} ran for over 4 minutes"))
        .unwrap();
    assert!(
        out.status.success(),
        "the browser run {script} failed:\n{}\n{}\nnode log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        node.log()
    );
}

// ---- the operator's board and the reports (WEB-A) ----

#[tokio::test]
async fn an_operator_sees_the_chart_and_acknowledges_and_follows_up_an_alert_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\n",
    )
    .unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.path().join("rules.toml").display());
    let node = Node::start(dir.path(), &config, &[]).await;
    let user =
        json!({"name": "piket-palu", "role": "operator", "regions": ["72.71"], "password": "kata-sandi-panjang-1"});
    create_user_as(&node, TOKEN, user).await;
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    let alert = eventually(Duration::from_secs(10), || async {
        let (_, r) = call(&node, "GET", "/api/v1/alerts?region=72.71", Some(TOKEN), None).await;
        r["alerts"].as_array()?.iter().find(|a| a["region"] == "72.71").cloned()
    })
    .await
    .expect("no alert raised");
    let id = alert["id"].as_str().unwrap().to_owned();
    browser(
        &node,
        "alerts.js",
        &[("ALERT_ID", &id), ("USER_NAME", "piket-palu"), ("USER_PASSWORD", "kata-sandi-panjang-1")],
    )
    .await;
    let (_, after) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(TOKEN), None).await;
    assert_eq!(after["state"], "in_progress");
    assert_eq!(after["history"][0]["state"], "acknowledged");
    assert_eq!(after["history"][0]["by"], "piket-palu");
    assert_eq!(after["history"][1]["note"], "Tim gabungan menuju lokasi");
}

// ---- search, trends, the rule workbench and administration (WEB-B) ----
