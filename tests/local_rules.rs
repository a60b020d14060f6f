//! Local rules: a regional admin's rules and threshold overrides hold only
//! within the admin's regions, and never change a national file or another
//! region's; a rule naming an indicator that does not exist is refused, with
//! its position, over the API, in a rules folder and by `kentongan rules check`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Node, TOKEN, call, create_user, eventually, post_report};
use serde_json::{Value, json};

/// Sulawesi Tengah's own file: a new indicator with its levels, and a lower
/// threshold for drugs in the province.
const SULTENG: &str = r#"regions = ["72"]

[[rule]]
id = "sulteng.miras"
indicator = "miras"
description = "Minuman keras oplosan"
any = ["miras oplosan"]

[threshold.miras]
window = "24h"
waspada = 1

[threshold.narkoba]
window = "24h"
waspada = 1
siaga = 5
"#;

const TYPO: &str = "[[rule]]\nid = \"salah.ketik\"\nindicator = \"narkobaa\"\nany = [\"sabu\"]\n";

/// The report with `text` in `region`, once classified and archived.
async fn classified(node: &Node, text: &str, region: &str) -> Value {
    let (status, body) = post_report(node, json!({"text": text, "region": region})).await;
    assert_eq!(status, 202, "{body}");
    let path = format!("/api/v1/reports/{}", body["id"].as_str().unwrap());
    eventually(Duration::from_secs(15), || async {
        let (status, r) = call(node, "GET", &path, Some(TOKEN), None).await;
        (status == 200 && r["classification"].is_object()).then(|| r["classification"].clone())
    })
    .await
    .expect("not classified")
}

fn indicators(c: &Value) -> Vec<String> {
    c["indicators"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// Alerts the classifier has raised since the node started (from /metrics):
/// counted before they are published, so they include those of every report
/// already classified.
async fn alerts_raised(node: &Node) -> f64 {
    let text =
        common::client().get(node.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("kentongan_classifier_alerts_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The alerts of `indicator`, as (region, level).
async fn alerts(node: &Node, indicator: &str) -> Vec<(String, String)> {
    let (_, a) = call(node, "GET", &format!("/api/v1/alerts?indicator={indicator}"), Some(TOKEN), None).await;
    a["alerts"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|a| (a["region"].as_str().unwrap_or("").to_owned(), a["level"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_regional_admins_rules_and_thresholds_hold_only_in_their_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    // the archive: the same text in Palu and in Makassar
    for region in ["72.71", "73.71"] {
        classified(&node, "Miras oplosan beredar di pos ronda", region).await;
    }

    // test and backtest first, as for national rules
    let test = |region: &'static str| {
        let body = json!({"rules": SULTENG, "file": "sulteng", "text": "Warga resah, miras oplosan beredar", "region": region});
        let admin = admin.clone();
        let node = &node;
        async move { call(node, "POST", "/api/v1/rules/test", Some(&admin), Some(body)).await }
    };
    let (status, palu) = test("72.71").await;
    assert_eq!(status, 200, "{palu}");
    assert_eq!(indicators(&palu["candidate"]), ["miras"]);
    let (status, makassar) = test("73.71").await;
    assert_eq!(status, 200, "{makassar}");
    assert!(indicators(&makassar["candidate"]).is_empty(), "{makassar}");
    let backtest = json!({"rules": SULTENG, "file": "sulteng", "from": "2020-01-01T00:00:00Z"});
    let (status, b) = call(&node, "POST", "/api/v1/rules/backtest", Some(&admin), Some(backtest.clone())).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!((b["reports"].as_u64(), b["indicators"]["miras"]["gained"].as_u64()), (Some(1), Some(1)), "{b}");
    // the whole archive, to a national admin: Makassar's report gains nothing
    let (_, b) = call(&node, "POST", "/api/v1/rules/backtest", Some(TOKEN), Some(backtest)).await;
    assert_eq!((b["reports"].as_u64(), b["indicators"]["miras"]["gained"].as_u64()), (Some(2), Some(1)), "{b}");

    let (status, saved) =
        call(&node, "PUT", "/api/v1/rules/sulteng", Some(&admin), Some(json!({"content": SULTENG}))).await;
    assert_eq!(status, 200, "{saved}");
    let (_, listing) = call(&node, "GET", "/api/v1/rules", Some(&admin), None).await;
    let file = listing["files"].as_array().unwrap().iter().find(|f| f["name"] == "api/sulteng.toml").unwrap();
    assert_eq!(file["regions"], json!(["72"]), "{file}");

    // in Sulawesi Tengah: the new tag and its alert, and drugs alert at one report
    let c = classified(&node, "Warga mengeluhkan miras oplosan dijual bebas di warung", "72.71").await;
    assert_eq!(indicators(&c), ["miras"]);
    let c = classified(&node, "Pesta sabu digerebek di rumah kos", "72.71").await;
    assert_eq!(indicators(&c), ["narkoba"]);
    for indicator in ["miras", "narkoba"] {
        let found = eventually(Duration::from_secs(15), || async {
            alerts(&node, indicator).await.iter().any(|(r, l)| r.starts_with("72") && l == "waspada").then_some(())
        })
        .await;
        assert!(found.is_some(), "no {indicator} alert in 72: {:?}", alerts(&node, indicator).await);
    }

    // the same texts in Sulawesi Selatan: neither the tag nor an alert
    let raised = alerts_raised(&node).await;
    let c = classified(&node, "Warga mengeluhkan miras oplosan dijual bebas di warung", "73.71").await;
    assert!(indicators(&c).is_empty(), "{c}");
    let c = classified(&node, "Pesta sabu digerebek di rumah kos", "73.71").await;
    assert_eq!(indicators(&c), ["narkoba"], "the national rule still tags it");
    assert_eq!(alerts_raised(&node).await, raised, "the national threshold (3) holds in 73");
    for indicator in ["miras", "narkoba"] {
        let outside: Vec<(String, String)> =
            alerts(&node, indicator).await.into_iter().filter(|(r, _)| !r.starts_with("72")).collect();
        assert!(outside.is_empty(), "{outside:?}");
    }
}

#[tokio::test]
async fn a_regional_admin_cannot_change_a_national_file_or_another_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let sulsel = "regions = [\"73\"]\n[[rule]]\nid = \"sulsel.ballo\"\nindicator = \"narkoba\"\nany = [\"ballo\"]\n";
    let (status, body) =
        call(&node, "PUT", "/api/v1/rules/sulsel", Some(TOKEN), Some(json!({"content": sulsel}))).await;
    assert_eq!(status, 200, "{body}");
    let (_, before) = call(&node, "GET", "/api/v1/rules", Some(TOKEN), None).await;

    let refused = |method: &'static str, path: &'static str, body: Option<Value>| {
        let (node, admin) = (&node, admin.clone());
        async move {
            let (status, err) = call(node, method, path, Some(&admin), body).await;
            assert_eq!(status, 403, "{method} {path}: {err}");
            err["error"]["message"].as_str().unwrap().to_owned()
        }
    };
    let put = |content: &str| Some(json!({"content": content}));
    // a national file, even with the admin's regions in it
    let m = refused("PUT", "/api/v1/rules/narkoba", put(SULTENG)).await;
    assert!(m.contains("`narkoba` applies to every region") && m.contains("(72)"), "{m}");
    // another province's file
    let m = refused("PUT", "/api/v1/rules/sulsel", put(SULTENG)).await;
    assert!(m.contains("`sulsel` applies to regions 73"), "{m}");
    refused("DELETE", "/api/v1/rules/sulsel", None).await;
    // a new file that would hold outside the admin's regions
    let m = refused("PUT", "/api/v1/rules/baru", put(TYPO.replace("narkobaa", "narkoba").as_str())).await;
    assert!(m.contains("has no `regions`") && m.contains("regions = [\"72\"]"), "{m}");
    let m = refused("PUT", "/api/v1/rules/baru", put(&SULTENG.replace("[\"72\"]", "[\"72\", \"73\"]"))).await;
    assert!(m.contains("reach outside your regions (72)"), "{m}");
    // nor test or backtest them
    let body = json!({"rules": SULTENG, "file": "sulsel", "text": "miras oplosan"});
    refused("POST", "/api/v1/rules/test", Some(body)).await;
    let body = json!({"rules": sulsel, "file": "lain", "from": "2020-01-01T00:00:00Z"});
    refused("POST", "/api/v1/rules/backtest", Some(body)).await;

    // nothing changed, and the admin reads the national files but not 73's
    let (_, after) = call(&node, "GET", "/api/v1/rules", Some(TOKEN), None).await;
    assert_eq!(after["version"], before["version"]);
    let (status, listing) = call(&node, "GET", "/api/v1/rules", Some(&admin), None).await;
    assert_eq!(status, 200, "{listing}");
    let names: Vec<&str> = listing["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"builtin/narkoba.toml") && !names.contains(&"api/sulsel.toml"), "{names:?}");
    assert!(!listing["rules"].as_array().unwrap().iter().any(|r| r["id"] == "sulsel.ballo"));

    // a city admin may not write for the whole province either
    let palu = create_user(&node, "admin-palu", "admin", &["72.71"]).await;
    let (status, err) = call(&node, "PUT", "/api/v1/rules/kota", Some(&palu), put(SULTENG)).await;
    assert_eq!(status, 403, "{err}");
    // a national admin may still change any file
    let (status, err) = call(&node, "DELETE", "/api/v1/rules/sulsel", Some(TOKEN), None).await;
    assert_eq!(status, 204, "{err}");
}

/// Runs `kentongan ARGS` to its end (at most 30 s); its exit code and stderr.
fn kentongan(args: &[&str], dir: &std::path::Path) -> (Option<i32>, String) {
    let stderr = dir.join("stderr.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kentongan"))
        .args(args)
        .current_dir(dir)
        .env("KENTONGAN_HTTP__LISTEN", format!("127.0.0.1:{}", common::free_port()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kentongan {args:?} did not end; stderr:\n{}", std::fs::read_to_string(&stderr).unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status.code(), std::fs::read_to_string(&stderr).unwrap())
}

#[tokio::test]
async fn a_rule_with_an_unknown_indicator_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    // `kentongan rules check`
    std::fs::write(dir.path().join("typo.toml"), TYPO).unwrap();
    let (code, stderr) = kentongan(&["rules", "check", "typo.toml"], dir.path());
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.starts_with("typo.toml:3:13: indicator `narkobaa` is not known"), "{stderr}");
    // the same file with its indicator defined is fine
    let defined = format!("{TYPO}\n[threshold.narkobaa]\nwindow = \"24h\"\nwaspada = 2\n");
    std::fs::write(dir.path().join("defined.toml"), &defined).unwrap();
    let (code, stderr) = kentongan(&["rules", "check", "defined.toml"], dir.path());
    assert_eq!(code, Some(0), "{stderr}");

    // a rules folder: the node does not start on it
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("lokal.toml"), TYPO).unwrap();
    std::fs::write(dir.path().join("folder.toml"), format!("[rules]\npath = \"{}\"\n", rules.display())).unwrap();
    let (code, stderr) = kentongan(&["run", "--config", "folder.toml"], dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("rules/lokal.toml:3:13: indicator `narkobaa` is not known"), "{stderr}");

    // the API, for national and regional admins alike
    let node = Node::start(&dir.path().join("node"), "", &[]).await;
    let (status, err) = call(&node, "PUT", "/api/v1/rules/typo", Some(TOKEN), Some(json!({"content": TYPO}))).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "invalid_rules");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("api/typo.toml:3:13: indicator `narkobaa` is not known"), "{message}");
    let admin = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let local = format!("regions = [\"72\"]\n{TYPO}");
    let (status, err) = call(&node, "PUT", "/api/v1/rules/lokal", Some(&admin), Some(json!({"content": local}))).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().starts_with("api/lokal.toml:4:13:"), "{err}");
    let (_, listing) = call(&node, "GET", "/api/v1/rules", Some(TOKEN), None).await;
    assert!(!listing["indicators"].as_array().unwrap().contains(&json!("narkobaa")));
}
