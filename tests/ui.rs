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

/// Posts `reports` (text, region) as the bootstrap admin and waits until
/// the search index holds all of them.
async fn archived(node: &Node, reports: &[(&str, &str)]) {
    for (text, region) in reports {
        let (status, body) = post_report(node, json!({"text": text, "region": region})).await;
        assert_eq!(status, 202, "{body}");
    }
    let indexed = eventually(Duration::from_secs(20), || async {
        let (_, r) = call(node, "GET", "/api/v1/search?limit=1", Some(TOKEN), None).await;
        (r["total"].as_u64()? >= reports.len() as u64).then_some(())
    })
    .await;
    assert!(indexed.is_some(), "the reports never reached the search index:\n{}", node.log());
}

#[tokio::test]
async fn an_analyst_searches_exports_and_reads_the_trends_of_their_province_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let user =
        json!({"name": "analis-sulteng", "role": "analyst", "regions": ["72"], "password": "kata-sandi-analis-1"});
    create_user_as(&node, TOKEN, user).await;
    let mut reports = vec![
        ("Pesta sabu di rumah kontrakan dekat pasar Masomba".to_owned(), "72.71"),
        ("Transaksi sabu di pelabuhan Pantoloan, dua orang diamankan".to_owned(), "72.71"),
        ("Warga melaporkan peredaran sabu di sekitar terminal".to_owned(), "72.71"),
        ("Bentrok antarwarga dua desa, beberapa rumah dibakar massa".to_owned(), "72.02"),
        // outside the analyst's province: counted nowhere on their pages
        ("Pesta sabu di Makassar digerebek polisi".to_owned(), "73.71"),
    ];
    // enough for a second page of results (20 a page)
    reports.extend((1..=20).map(|i| (format!("Rapat koordinasi forum kewaspadaan dini yang ke-{i}"), "72.03")));
    let reports: Vec<(&str, &str)> = reports.iter().map(|(t, r)| (t.as_str(), *r)).collect();
    archived(&node, &reports).await;
    browser(
        &node,
        "analyst.js",
        &[
            ("USER_NAME", "analis-sulteng"),
            ("USER_PASSWORD", "kata-sandi-analis-1"),
            ("REPORTS", "3"),
            ("IN_SCOPE", "24"),
        ],
    )
    .await;
}

#[tokio::test]
async fn an_admin_backtests_saves_and_rolls_back_a_rule_and_manages_accounts_units_and_silences_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\n",
    )
    .unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.path().join("rules.toml").display());
    let node = Node::start(dir.path(), &config, &[]).await;
    let admin = json!({"name": "admin-pusat", "role": "admin", "display_name": "Admin Pusat", "password": "kata-sandi-admin-1"});
    create_user_as(&node, TOKEN, admin).await;
    archived(
        &node,
        &[
            ("Pesta sabu di rumah kontrakan dekat pasar Masomba", "72.71"),
            ("Peredaran ganja kering di Poso Pesisir, warga resah", "72.02"),
        ],
    )
    .await;
    browser(
        &node,
        "admin.js",
        &[("USER_NAME", "admin-pusat"), ("USER_PASSWORD", "kata-sandi-admin-1"), ("RULE_FILE", "rules")],
    )
    .await;

    // the rollback took effect: a third version with the first one's content, in force
    let (status, history) = call(&node, "GET", "/api/v1/rules/rules/history", Some(TOKEN), None).await;
    assert_eq!(status, 200, "{history}");
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{history}");
    assert_eq!(history["current"], 3);
    assert_eq!(versions[0]["note"], "tambah ganja");
    assert_eq!(versions[0]["author"], "admin-pusat");
    assert_eq!(versions[1]["note"], "tambah heroin");
    assert_eq!(versions[2]["note"], "rollback to v1");
    assert_eq!(versions[2]["content"], versions[0]["content"]);
    let test = |text: &str| json!({"text": text});
    let (_, heroin) =
        call(&node, "POST", "/api/v1/rules/test", Some(TOKEN), Some(test("Kurir heroin ditangkap"))).await;
    assert_eq!(heroin["live"]["indicators"], json!([]), "heroin is still a rule in force: {heroin}");
    let (_, ganja) = call(&node, "POST", "/api/v1/rules/test", Some(TOKEN), Some(test("Kurir ganja ditangkap"))).await;
    assert_eq!(ganja["live"]["indicators"][0]["id"], "narkoba", "{ganja}");

    // the account made in the browser: operator of Kota Palu, with a password, deactivated
    let (_, users) = call(&node, "GET", "/api/v1/users", Some(TOKEN), None).await;
    let made = users["users"].as_array().unwrap().iter().find(|u| u["name"] == "petugas-baru").cloned();
    let made = made.unwrap_or_else(|| panic!("no account petugas-baru: {users}"));
    assert_eq!(made["role"], "operator");
    assert_eq!(made["regions"], json!(["72.71"]));
    assert_eq!(made["has_password"], true);
    assert_eq!(made["active"], false);

    // the unit and the silence
    let (_, units) = call(&node, "GET", "/api/v1/units", Some(TOKEN), None).await;
    let unit = units["units"].as_array().unwrap().iter().find(|u| u["name"] == "Kesbangpol Kota Palu").cloned();
    let unit = unit.unwrap_or_else(|| panic!("no unit: {units}"));
    assert_eq!(unit["emails"], json!(["kesbangpol@palukota.go.id"]));
    assert_eq!(unit["working_hours"], json!({"days": [1, 2, 3, 4, 5], "from": "08:00", "to": "16:00"}));
    let (_, silences) = call(&node, "GET", "/api/v1/silences", Some(TOKEN), None).await;
    assert_eq!(silences["silences"][0]["region"], "72.71", "{silences}");
    assert_eq!(silences["silences"][0]["by"], "admin-pusat");
}
