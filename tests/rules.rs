//! Rules over the API and the folder: checked changes, hot reload without a
//! restart, test and backtest.

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, create_user, eventually, post_report};
use serde_json::{Value, json};

/// The classification of the report with `text`, once archived.
async fn classified(node: &Node, text: &str) -> Value {
    let (_, body) = post_report(node, json!({"text": text, "region": "72.71"})).await;
    let path = format!("/api/v1/reports/{}", body["id"].as_str().unwrap());
    eventually(Duration::from_secs(15), || async {
        let (status, r) = call(node, "GET", &path, Some(TOKEN), None).await;
        (status == 200).then(|| r["classification"].clone())
    })
    .await
    .expect("not classified")
}

fn indicators(c: &Value) -> Vec<String> {
    c["indicators"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

// The built-in pack tags deadly or bulk bootleg liquor as drugs
// (`narkoba.oplosan`), so the texts here tell of its sale, not its deaths.
const MIRAS: &str = "[[rule]]\nid = \"lokal.miras\"\nindicator = \"miras\"\ndescription = \"Minuman keras oplosan\"\nany = [\"miras oplosan\", \"~oplos\"]\n\n[threshold.miras]\nwindow = \"24h\"\nwaspada = 1\n";

#[tokio::test]
async fn a_rule_change_through_the_api_is_checked_and_in_force_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let before = classified(&node, "Warga resah dengan peredaran miras oplosan di kampung").await;
    assert!(indicators(&before).is_empty(), "{before}");
    let (_, listing) = call(&node, "GET", "/api/v1/rules", Some(TOKEN), None).await;
    let version = listing["version"].as_str().unwrap().to_owned();
    assert!(listing["rules"].as_array().unwrap().len() > 20);

    // a broken file is refused with file:line:col, and nothing changes
    let broken = json!({"content": "[[rule]]\nid = \"x\"\nindicator = \"miras\"\nany = [\"mi*ras\"]\n"});
    let (status, err) = call(&node, "PUT", "/api/v1/rules/lokal", Some(TOKEN), Some(broken)).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().starts_with("api/lokal.toml:4:9: term `mi*ras`"), "{err}");
    // a national file takes a national admin (tests/local_rules.rs has the rest)
    let regional = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let (status, _) = call(&node, "PUT", "/api/v1/rules/lokal", Some(&regional), Some(json!({"content": MIRAS}))).await;
    assert_eq!(status, 403);

    let (status, saved) = call(
        &node,
        "PUT",
        "/api/v1/rules/lokal",
        Some(TOKEN),
        Some(json!({"content": MIRAS, "note": "permintaan Kesbangpol Palu"})),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let after = classified(&node, "Warga mengeluhkan miras oplosan dijual bebas di warung").await;
    assert_eq!(indicators(&after), ["miras"]);
    assert_ne!(after["rules_version"], version);
    assert_eq!(after["rules_version"], saved["version"]);
    // its threshold is in force too: one report raises waspada
    eventually(Duration::from_secs(10), || async {
        let (_, a) = call(&node, "GET", "/api/v1/alerts?indicator=miras", Some(TOKEN), None).await;
        (!a["alerts"].as_array()?.is_empty()).then_some(())
    })
    .await
    .expect("no alert from the new rule's threshold");
    let (_, log) = call(&node, "GET", "/api/v1/audit?action=rule.update", Some(TOKEN), None).await;
    assert!(log["events"][0]["after"]["content"].as_str().unwrap().contains("lokal.miras"));

    // removing it brings the old behaviour back
    let (status, _) = call(&node, "DELETE", "/api/v1/rules/lokal", Some(TOKEN), None).await;
    assert_eq!(status, 204);
    let gone = classified(&node, "Razia miras oplosan di terminal").await;
    assert!(indicators(&gone).is_empty(), "{gone}");
}

#[tokio::test]
async fn editing_the_rules_folder_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("narkoba.toml"), "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n")
        .unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", rules.display());
    let node = Node::start(dir.path(), &config, &[]).await;
    assert_eq!(indicators(&classified(&node, "ada pesta sabu").await), ["narkoba"]);
    assert!(indicators(&classified(&node, "ada judi online").await).is_empty());
    std::fs::write(
        rules.join("judi.toml"),
        "[[rule]]\nid = \"j\"\nindicator = \"judi\"\nany = [\"judi online\", \"judol\"]\n\
         [threshold.judi]\nwindow = \"24h\"\nwaspada = 3\n",
    )
    .unwrap();
    let found = eventually(Duration::from_secs(20), || async {
        let c = classified(&node, "warga kecanduan judi online").await;
        (indicators(&c) == ["judi"]).then_some(())
    })
    .await;
    assert!(found.is_some(), "the new file was not taken up; log:\n{}", node.log());
    // a broken edit keeps the last good rules in force
    std::fs::write(rules.join("judi.toml"), "[[rule]]\nid = ").unwrap();
    let problem = eventually(Duration::from_secs(20), || async {
        let (_, listing) = call(&node, "GET", "/api/v1/rules", Some(TOKEN), None).await;
        listing["problem"].as_str().map(str::to_owned)
    })
    .await
    .expect("the broken file was not noticed");
    assert!(problem.contains("judi.toml"), "{problem}");
    assert_eq!(indicators(&classified(&node, "judol lagi").await), ["judi"]);
}

#[tokio::test]
async fn test_and_backtest_a_candidate_before_deploying_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    // the archive: reports over two days
    for text in [
        "Miras oplosan beredar di pos ronda, dua orang dilarikan ke rumah sakit",
        "Penjual miras oplosan ditangkap polisi",
        "Pesta sabu digerebek di rumah kos",
        "Harga cabai naik di pasar",
    ] {
        let (status, _) = post_report(&node, json!({"text": text, "region": "72.71.02"})).await;
        assert_eq!(status, 202);
    }
    eventually(Duration::from_secs(15), || async {
        let (_, r) = call(&node, "GET", "/api/v1/search", Some(TOKEN), None).await;
        (r["total"] == 4).then_some(())
    })
    .await
    .expect("not archived");

    let (status, t) = call(
        &node,
        "POST",
        "/api/v1/rules/test",
        Some(TOKEN),
        Some(json!({"rules": MIRAS, "text": "Miras oplosan beredar di Kota Palu"})),
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert!(indicators(&t["live"]).is_empty());
    assert_eq!(indicators(&t["candidate"]), ["miras"]);
    assert_eq!(t["candidate"]["regions"], json!(["72.71"]));
    assert_eq!(t["candidate"]["indicators"][0]["matches"][0]["term"], "miras oplosan");

    // the candidate also drops the built-in drug rules (it replaces the file `narkoba`)
    let from = "2020-01-01T00:00:00Z";
    let (status, b) = call(
        &node,
        "POST",
        "/api/v1/rules/backtest",
        Some(TOKEN),
        Some(json!({"rules": MIRAS, "file": "narkoba", "from": from})),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["reports"], 4);
    assert_eq!(b["indicators"]["miras"]["gained"], 2);
    assert_eq!(b["indicators"]["narkoba"]["lost"], 1);
    assert!(b["indicators"]["narkoba"]["lost_examples"][0]["excerpt"].as_str().unwrap().contains("sabu"));
    let fired: Vec<&Value> = b["alerts"]["only_candidate"].as_array().unwrap().iter().collect();
    assert!(
        fired.iter().any(|a| a["indicator"] == "miras" && a["region"] == "72.71.02" && a["level"] == "waspada"),
        "{b}"
    );
    // nothing was deployed
    let (_, listing) = call(&node, "GET", "/api/v1/rules", Some(TOKEN), None).await;
    assert!(!listing["indicators"].as_array().unwrap().contains(&json!("miras")));
    let (status, bad) =
        call(&node, "POST", "/api/v1/rules/test", Some(TOKEN), Some(json!({"rules": "[[rule]]", "text": "x"}))).await;
    assert_eq!(status, 422, "{bad}");
}

/// Windows survive a kill -9: counts go on where they were, and an alert
/// already raised is not raised again.
#[tokio::test]
async fn windows_survive_a_restart_without_refiring() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 2\nsiaga = 3\n",
    )
    .unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.path().join("rules.toml").display());
    let mut node = Node::start(dir.path(), &config, &[]).await;
    for i in 0..2 {
        post_report(&node, json!({"text": format!("pesta sabu {i}"), "region": "72.71"})).await;
    }
    let alerts = |node: &Node| {
        let url = "/api/v1/alerts?region=72.71";
        let node_url = node.url(url);
        async move {
            let r = common::client().get(node_url).bearer_auth(TOKEN).send().await.ok()?.json::<Value>().await.ok()?;
            Some(
                r["alerts"]
                    .as_array()?
                    .iter()
                    .filter(|a| a["region"] == "72.71")
                    .map(|a| a["level"].as_str().unwrap_or("").to_owned())
                    .collect::<Vec<_>>(),
            )
        }
    };
    eventually(Duration::from_secs(15), || async { alerts(&node).await.filter(|l| l == &["waspada"]) })
        .await
        .expect("waspada not raised");
    // wait until everything processed is saved and committed, then kill
    let uncommitted = |node: &Node| {
        let url = node.url("/metrics");
        async move {
            let text = common::client().get(url).bearer_auth(TOKEN).send().await.ok()?.text().await.ok()?;
            let line = text.lines().find(|l| l.starts_with("kentongan_classifier_uncommitted_partitions"))?;
            line.rsplit(' ').next()?.parse::<f64>().ok()
        }
    };
    eventually(Duration::from_secs(10), || async { uncommitted(&node).await.filter(|n| *n == 0.0) })
        .await
        .expect("no checkpoint");
    node.kill9();
    let node = Node::start(dir.path(), &config, &[]).await;
    post_report(&node, json!({"text": "pesta sabu 3", "region": "72.71"})).await;
    let levels = eventually(Duration::from_secs(15), || async { alerts(&node).await.filter(|l| l.len() >= 2) })
        .await
        .expect("siaga not raised after the restart");
    // siaga from the third report: the first two were remembered, and waspada was not raised twice
    let mut levels = levels;
    levels.sort();
    assert_eq!(levels, ["siaga", "waspada"]);
}
