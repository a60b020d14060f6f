//! The web UI in a real browser (chromium through playwright-core, installed
//! by `tests/services/up`): a monitoring centre's operator follows an
//! email's alert link, signs in, sees the chart of the last 30 days,
//! acknowledges the alert and records a follow-up, and the API shows
//! exactly that.
#![cfg(feature = "services")]

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, create_user_as, eventually, post_report};
use serde_json::json;

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
    let indexed = eventually(Duration::from_secs(10), || async {
        let (_, r) = call(&node, "GET", "/api/v1/search?q=sabu", Some(TOKEN), None).await;
        (r["total"] == 1).then_some(())
    })
    .await;
    assert!(indexed.is_some(), "the report was not indexed");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/alerts.js");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .env("KENTONGAN_URL", node.url(""))
        .env("ALERT_ID", &id)
        .env("USER_NAME", "piket-palu")
        .env("USER_PASSWORD", "kata-sandi-panjang-1")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, after) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(TOKEN), None).await;
    assert_eq!(after["state"], "in_progress");
    assert_eq!(after["history"][0]["state"], "acknowledged");
    assert_eq!(after["history"][0]["by"], "piket-palu");
    assert_eq!(after["history"][1]["note"], "Tim gabungan menuju lokasi");
}
