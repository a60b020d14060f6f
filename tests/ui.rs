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

/// Rules for the board: any report of sabu is a waspada for drugs, any of
/// bentrok an awas for social conflict in its district; a city is awas at
/// two, which two districts reach together and neither alone.
const BOARD_RULES: &str = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n\
    [threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\n\n\
    [[rule]]\nid = \"k\"\nindicator = \"konflik_sosial\"\nany = [\"bentrok\"]\n\
    [threshold.konflik_sosial]\nwindow = \"1h\"\nawas = 1\nregency = { awas = 2 }\n";

/// The newest alert of `indicator` in `region`, as the bootstrap admin sees it.
async fn alert_of(node: &Node, indicator: &str, region: &str) -> Option<serde_json::Value> {
    let (_, r) =
        call(node, "GET", &format!("/api/v1/alerts?region={region}&indicator={indicator}"), Some(TOKEN), None).await;
    r["alerts"].as_array()?.iter().find(|a| a["region"] == region).cloned()
}

/// An operator opens the email's link to an alert: the board shows it
/// focused, with the notifications in words ("SMS belum dikonfigurasi" once)
/// and the escalation; a report with a photo posted meanwhile raises an awas
/// that arrives live with a banner and a chime; the operator opens its
/// reports and the photo, acknowledges it by keyboard alone, and follows up
/// the first alert with a note. The same board at 390 px.
#[tokio::test]
async fn an_operator_watches_alerts_arrive_live_and_takes_them_on_in_the_browser() {
    let smtp = std::env::var("TEST_KENTONGAN_SMTP").expect("TEST_KENTONGAN_SMTP: source /tmp/kentongan-services/env");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), BOARD_RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n[escalation]\nwaspada = \"2s\"\n\n\
         [smtp]\nurl = \"{smtp}\"\nfrom = \"Kentongan <k@example.test>\"\n",
        dir.path().join("rules.toml").display()
    );
    let node = Node::start(dir.path(), &config, &[]).await;
    let province =
        json!({"name": "Kesbangpol Sulawesi Tengah", "regions": ["72"], "emails": ["piket@sultengprov.go.id"]});
    let (status, province) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(province)).await;
    assert_eq!(status, 201, "{province}");
    let city = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "emails": ["piket@palukota.go.id"],
                      "phones": ["+6281234567890"], "parent": province["id"]});
    let (status, city) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(city)).await;
    assert_eq!(status, 201, "{city}");
    let user = json!({"name": "piket-palu", "display_name": "Piket Kota Palu", "role": "operator",
                      "regions": ["72.71"], "password": "kata-sandi-panjang-1"});
    create_user_as(&node, TOKEN, user).await;
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    // the first alert, mailed and then escalated (nobody took it on in 2 s)
    let first = eventually(Duration::from_secs(20), || async {
        let a = alert_of(&node, "narkoba", "72.71").await?;
        (!a["escalations"].as_array()?.is_empty()).then_some(a)
    })
    .await
    .unwrap_or_else(|| panic!("no escalated alert; log:\n{}", node.log()));
    let first = first["id"].as_str().unwrap().to_owned();
    browser(
        &node,
        "board.js",
        &[
            ("ALERT_ID", &first),
            ("USER_NAME", "piket-palu"),
            ("USER_PASSWORD", "kata-sandi-panjang-1"),
            ("TOKEN", TOKEN),
        ],
    )
    .await;
    let live = alert_of(&node, "konflik_sosial", "72.71.02").await.expect("the live alert is gone");
    assert_eq!(live["level"], "awas");
    assert_eq!(live["history"][0]["state"], "acknowledged", "{live}");
    assert_eq!(live["history"][0]["by"], "piket-palu");
    let (_, after) = call(&node, "GET", &format!("/api/v1/alerts/{first}"), Some(TOKEN), None).await;
    assert_eq!(after["state"], "resolved", "{after}");
    let notes: Vec<&str> = after["history"].as_array().unwrap().iter().filter_map(|s| s["note"].as_str()).collect();
    assert_eq!(notes, ["Tim gabungan menuju lokasi"], "{after}");
    assert_eq!(after["history"][0]["state"], "in_progress", "{after}");
    let (_, silences) = call(&node, "GET", "/api/v1/silences", Some(TOKEN), None).await;
    let silence = &silences["silences"][0];
    assert_eq!(
        (&silence["indicator"], &silence["region"], &silence["reason"], &silence["by"]),
        (
            &json!("konflik_sosial"),
            &json!("72.71.02"),
            &json!("Operasi gabungan sedang berjalan"),
            &json!("piket-palu")
        ),
        "{silences}"
    );
}

/// A field officer files a report from the form (region found by typing
/// "palu", and from the phone's location; a photo), gets its receipt, sees
/// it classified in "my reports" with the matched terms marked, then files
/// one with no connection: it waits, and once the connection returns it is
/// sent, exactly once. The same pages at 390 px.
#[tokio::test]
async fn a_field_officer_files_reports_online_and_offline_in_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let user = json!({"name": "pelapor-palu", "display_name": "Pelapor Palu", "role": "reporter",
                      "regions": ["72.71"], "password": "kata-sandi-panjang-2"});
    create_user_as(&node, TOKEN, user).await;
    let offline = format!("Laporan luring {}: warga melihat pesta sabu di pos ronda", uuid::Uuid::now_v7().simple());
    browser(
        &node,
        "reports.js",
        &[("USER_NAME", "pelapor-palu"), ("USER_PASSWORD", "kata-sandi-panjang-2"), ("OFFLINE_TEXT", &offline)],
    )
    .await;
    // the report written offline is kept once, whatever the browser retried
    let found = eventually(Duration::from_secs(20), || async {
        let (_, r) = call(&node, "GET", "/api/v1/reports?limit=200", Some(TOKEN), None).await;
        let same: Vec<serde_json::Value> =
            r["reports"].as_array()?.iter().filter(|x| x["text"] == offline.as_str()).cloned().collect();
        (!same.is_empty()).then_some(same)
    })
    .await
    .expect("the report written offline never arrived");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["reporter"]["account"], "pelapor-palu");
    assert_eq!(found[0]["region"], "72.71.03");
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
    assert_eq!(unit["min_level"], "siaga");
    assert_eq!(unit["working_hours"], json!({"days": [1, 2, 3, 4, 5], "from": "08:00", "to": "16:00"}));
    let (_, silences) = call(&node, "GET", "/api/v1/silences", Some(TOKEN), None).await;
    assert_eq!(silences["silences"][0]["region"], "72.71", "{silences}");
    assert_eq!(silences["silences"][0]["by"], "admin-pusat");
}

// ---- periodic reports (DUTY-WEB) ----

/// A regency operator files today's LAPSITDA on a phone, first with no
/// connection, signs the NPHD with its document and answers an SMS
/// reporter; the province operator sees it in compliance, drafts the
/// province's LAPSITDA from its regencies, edits and files it, and reads the
/// stage board and the morning brief; a national admin's template change is
/// refused at the part the API names, then saved.
#[tokio::test]
async fn a_regency_files_lapsitda_on_a_phone_and_the_province_drafts_and_files_its_own_in_the_browser() {
    // a local SMS gateway (the `json` preset) that keeps what it is sent
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let keep = sent.clone();
    let gateway = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            keep.lock().unwrap().push(body.0);
            async { axum::Json(json!({"status": "queued"})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, gateway).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let config =
        format!("[sms]\ninbound_token = \"sms-gateway-uji-dutyweb\"\n\n[sms_gateway]\nurl = \"{gateway_url}\"\n");
    let node = Node::start(dir.path(), &config, &[]).await;
    for (name, role, regions) in [
        ("kesbang-palu", "operator", json!(["72.71"])),
        ("kesbang-sulteng", "operator", json!(["72"])),
        ("admin-pusat", "admin", json!([])),
    ] {
        create_user_as(
            &node,
            TOKEN,
            json!({"name": name, "role": role, "regions": regions, "password": "kata-sandi-tugas-1"}),
        )
        .await;
    }
    let sms = common::client()
        .post(node.url("/api/v1/ingest/sms"))
        .bearer_auth("sms-gateway-uji-dutyweb")
        .json(&json!({"from": "0812-7777-0002", "text": "LAPOR 72.71 warga resah ada pesta sabu di gang", "id": "sms-dutyweb-1"}))
        .send()
        .await
        .unwrap();
    let sms: serde_json::Value = sms.json().await.unwrap();
    let sms_report = sms["id"].as_str().unwrap_or_else(|| panic!("the SMS was not taken: {sms}")).to_owned();
    let incident = format!("Bentrok antarwarga di Tatanga {}", uuid::Uuid::now_v7().simple());
    browser(
        &node,
        "duties.js",
        &[
            ("REGENCY_USER", "kesbang-palu"),
            ("PROVINCE_USER", "kesbang-sulteng"),
            ("ADMIN_USER", "admin-pusat"),
            ("PASSWORD", "kata-sandi-tugas-1"),
            ("INCIDENT", &incident),
            ("SMS_REPORT", &sms_report),
        ],
    )
    .await;
    // Kota Palu filed once (the offline attempt kept once) and on time; the province too
    let (_, t) = call(&node, "GET", "/api/v1/templates/lapsitda-harian", Some(TOKEN), None).await;
    assert_eq!(t["version"], 2, "{t}");
    assert_eq!(t["note"], "tambah catatan lain");
    let period = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap()).date();
    let (_, c) = call(
        &node,
        "GET",
        &format!("/api/v1/compliance?template=lapsitda-harian&period={period}&region=72"),
        Some(TOKEN),
        None,
    )
    .await;
    let row = |code: &str| c["rows"].as_array().unwrap().iter().find(|r| r["region"] == code).cloned().unwrap();
    assert_eq!((row("72.71")["status"].clone(), row("72.71")["filings"].clone()), (json!("filed"), json!(1)), "{c}");
    assert_eq!(row("72")["status"], "filed", "{c}");
    // the reply reached the reporter's phone through the gateway
    let texts: Vec<serde_json::Value> = sent.lock().unwrap().iter().map(|m| m["text"].clone()).collect();
    assert!(texts.contains(&json!("Petugas sudah di lokasi, terima kasih.")), "{texts:?}");
}
