//! The lifecycle of an alert over HTTP on the embedded default: acknowledged,
//! followed up with notes (tindak lanjut), resolved; who and when recorded;
//! scope and roles enforced; the same state after a restart, because the
//! steps live on the `alerts` topic.

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, create_user, eventually, post_report};
use serde_json::{Value, json};

const RULES: &str = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\n";

/// The alert for `region`, once raised.
async fn alert_for(node: &Node, region: &str) -> Value {
    eventually(Duration::from_secs(10), || async {
        let (_, r) = call(node, "GET", &format!("/api/v1/alerts?region={region}"), Some(TOKEN), None).await;
        r["alerts"].as_array()?.iter().find(|a| a["region"] == region).cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no alert for {region}; log:\n{}", node.log()))
}

#[tokio::test]
async fn an_alert_is_acknowledged_followed_up_and_resolved_by_people_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.path().join("rules.toml").display());
    let node = Node::start(dir.path(), &config, &[]).await;
    let piket = create_user(&node, "piket-palu", "operator", &["72.71"]).await;
    let elsewhere = create_user(&node, "piket-makassar", "operator", &["73"]).await;
    let analyst = create_user(&node, "analis-palu", "analyst", &["72.71"]).await;
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    let alert = alert_for(&node, "72.71").await;
    assert_eq!(alert["state"], "open");
    let id = alert["id"].as_str().unwrap().to_owned();
    let path = |step: &str| format!("/api/v1/alerts/{id}/{step}");

    // out of scope: as if it did not exist; wrong role: refused
    let (status, _) = call(&node, "POST", &path("ack"), Some(&elsewhere), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(&elsewhere), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&node, "POST", &path("ack"), Some(&analyst), None).await;
    assert_eq!(status, 403);
    let (status, _) = call(&node, "POST", "/api/v1/alerts/bukan-id/ack", Some(&piket), None).await;
    assert_eq!(status, 404);
    // a note needs someone on it first
    let (status, err) = call(&node, "POST", &path("progress"), Some(&piket), Some(json!({"catatan": "x"}))).await;
    assert_eq!(status, 422, "{err}");

    let (status, acked) = call(&node, "POST", &path("ack"), Some(&piket), None).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["history"][0]["by"], "piket-palu");
    assert!(acked["history"][0]["at"].as_str().is_some());
    let (status, err) = call(&node, "POST", &path("ack"), Some(&piket), None).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("already acknowledged"), "{err}");

    let note = |text: &str| Some(json!({ "note": text }));
    let (status, r) = call(
        &node,
        "POST",
        &path("progress"),
        Some(&piket),
        note("Tim gabungan Babinsa dan Bhabinkamtibmas ke lokasi"),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "in_progress");
    let (status, _) = call(&node, "POST", &path("progress"), Some(TOKEN), note("Dua orang diamankan")).await;
    assert_eq!(status, 200);
    let (status, err) = call(&node, "POST", &path("progress"), Some(&piket), None).await;
    assert_eq!(status, 409, "{err}");
    let (status, r) = call(&node, "POST", &path("resolve"), Some(&piket), note("Selesai, situasi kondusif")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "resolved");
    let (status, _) = call(&node, "POST", &path("progress"), Some(&piket), note("terlambat")).await;
    assert_eq!(status, 409);

    let steps = |a: &Value| -> Vec<(String, String, Option<String>)> {
        a["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["state"].as_str().unwrap().into(),
                    c["by"].as_str().unwrap().into(),
                    c["note"].as_str().map(Into::into),
                )
            })
            .collect()
    };
    let (_, before) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(&piket), None).await;
    assert_eq!(
        steps(&before),
        [
            ("acknowledged".into(), "piket-palu".into(), None),
            (
                "in_progress".into(),
                "piket-palu".into(),
                Some("Tim gabungan Babinsa dan Bhabinkamtibmas ke lokasi".into())
            ),
            ("in_progress".into(), "admin".into(), Some("Dua orang diamankan".into())),
            ("resolved".into(), "piket-palu".into(), Some("Selesai, situasi kondusif".into())),
        ]
    );
    let (_, list) = call(&node, "GET", "/api/v1/alerts?state=resolved", Some(&piket), None).await;
    assert_eq!(list["alerts"].as_array().unwrap().len(), 1);
    let (_, log) = call(&node, "GET", "/api/v1/audit?action=alert.ack", Some(TOKEN), None).await;
    assert_eq!(log["events"][0]["target"], id.as_str());

    // the steps are on the alerts topic: a restarted node shows the same
    drop(node);
    let node = Node::start(dir.path(), &config, &[]).await;
    let after = eventually(Duration::from_secs(10), || async {
        let (status, a) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(TOKEN), None).await;
        (status == 200).then_some(a)
    })
    .await
    .expect("alert gone after a restart");
    assert_eq!(steps(&after), steps(&before));
    assert_eq!(after["state"], "resolved");
}
