//! The embedded default, over HTTP and the command line: no Kafka, ClickHouse
//! or SMTP involved.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Node, TOKEN, client, eventually, get_ok, post_report};
use serde_json::json;

/// How fast it starts is measured by `bench/startup`, not here.
#[tokio::test]
async fn starts_in_an_empty_folder_with_no_config() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    assert!(dir.path().join("data/bus.redb").is_file(), "state is not under ./data");
    let ready = client().get(node.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let (status, _) = post_report(&node, json!({"text": "Tawuran pelajar di alun-alun"})).await;
    assert_eq!(status, 202);
    assert_eq!(client().get(node.url("/metrics")).send().await.unwrap().status(), 401);
    let metrics = client().get(node.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kentongan_ingest_processed_total{channel=\"app\"} 1"), "{metrics}");
    let home = client().get(node.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("lang=\"id\""));
}

#[tokio::test]
async fn a_report_survives_kill_9_right_after_its_202() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), "", &[]).await;
    let (status, body) =
        post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan ujung gang", "region": "72.71.02"})).await;
    assert_eq!(status, 202, "{body}");
    node.kill9();
    let id = body["id"].as_str().unwrap().to_owned();

    let node = Node::start(dir.path(), "", &[]).await;
    let path = format!("/api/v1/reports/{id}");
    let found = eventually(Duration::from_secs(20), || get_ok(&node, &path)).await;
    let found = found.unwrap_or_else(|| panic!("report {id} lost after kill -9; log:\n{}", node.log()));
    assert_eq!(found["report"]["text"], "Pesta sabu di rumah kontrakan ujung gang");
    assert_eq!(found["report"]["region"], "72.71.02");
    assert_eq!(found["classification"]["indicators"][0]["id"], "narkoba");
}

#[tokio::test]
async fn search_finds_what_was_posted() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    for (text, region) in
        [("Bentrokan antarwarga pecah di perbatasan desa", "72.03"), ("Pesta sabu digerebek polisi", "73.71")]
    {
        let (status, _) = post_report(&node, json!({"text": text, "region": region})).await;
        assert_eq!(status, 202);
    }
    let hit = eventually(Duration::from_secs(10), || async {
        let r = get_ok(&node, "/api/v1/search?q=sabu").await?;
        (r["total"] == 1).then_some(r)
    })
    .await
    .expect("not searchable in time");
    assert!(hit["hits"][0]["snippet"].as_str().unwrap().contains("<b>sabu</b>"));
    assert_eq!(hit["hits"][0]["regions"], json!(["73.71"]));
    let scoped = get_ok(&node, "/api/v1/search?region=72").await.unwrap();
    assert_eq!(scoped["total"], 1);
    assert_eq!(scoped["facets"]["indicator"]["konflik_sosial"], 1);
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[http]\nmax_body = \"1KiB\"\n[ingest]\nmax_report_size = \"1KiB\"\nmax_file_size = \"1KiB\"\n";
    let node = Node::start(dir.path(), config, &[]).await;
    let post = |body: String, token: Option<&str>, ctype: &str| {
        let mut r = client().post(node.url("/api/v1/reports")).header("content-type", ctype).body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let cases = [
        (post(r#"{"text":"x"}"#.into(), None, "application/json").await.unwrap(), 401, "unauthorized"),
        (post(r#"{"text":"x"}"#.into(), Some("salah"), "application/json").await.unwrap(), 401, "unauthorized"),
        (post(r#"{"text":"#.into(), Some(TOKEN), "application/json").await.unwrap(), 400, "malformed"),
        (post(r#"{"text":"x"}"#.into(), Some(TOKEN), "text/plain").await.unwrap(), 415, "unsupported_media_type"),
        (post(r#"{"text":""}"#.into(), Some(TOKEN), "application/json").await.unwrap(), 422, "invalid"),
        (
            post(r#"{"text":"x","region":"99.99"}"#.into(), Some(TOKEN), "application/json").await.unwrap(),
            422,
            "invalid",
        ),
        (post(r#"{"txt":"x"}"#.into(), Some(TOKEN), "application/json").await.unwrap(), 422, "invalid"),
        (
            post(format!(r#"{{"text":"{}"}}"#, "a".repeat(2000)), Some(TOKEN), "application/json").await.unwrap(),
            413,
            "too_large",
        ),
    ];
    for (response, status, code) in cases {
        assert_eq!(response.status().as_u16(), status);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let region = post(r#"{"text":"x","region":"99.99"}"#.into(), Some(TOKEN), "application/json").await.unwrap();
    let body: serde_json::Value = region.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().starts_with("region:"), "{body}");
    // nothing was accepted: a good report sent last is the only one indexed
    let (status, _) = post_report(&node, json!({"text": "laporan yang benar"})).await;
    assert_eq!(status, 202);
    let all = eventually(Duration::from_secs(10), || async {
        let r = get_ok(&node, "/api/v1/search").await?;
        (r["total"] != 0).then_some(r)
    })
    .await
    .expect("the good report was not indexed");
    assert_eq!(all["total"], 1, "{all}");
    let missing = client()
        .get(node.url("/api/v1/reports/01939b6e-0000-7000-8000-000000000000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

fn kentongan(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kentongan")).args(args).current_dir(dir).output().unwrap()
}

#[test]
fn configuration_errors_exit_2_and_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[http]\nlisten = \"127.0.0.1:0\"\ncolour = \"red\"\n").unwrap();
    let out = kentongan(&["run", "--config", "bad.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("colour") && err.contains("bad.toml"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_kentongan"))
        .args(["run"])
        .env("KENTONGAN_HTTP__COLOUR", "red")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));

    let out = kentongan(&["run", "--config", "missing.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));

    let out = kentongan(&["run", "--role", "classifier"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[kafka]"));

    let out = kentongan(&["run", "--role", "pemimpin"], dir.path());
    assert_eq!(out.status.code(), Some(2));

    std::fs::write(dir.path().join("units.toml"), "[[unit]]\nid = \"a\"\nname = \"A\"\nregions = [\"72.99\"]\n")
        .unwrap();
    std::fs::write(
        dir.path().join("units-config.toml"),
        "units_file = \"units.toml\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let out = kentongan(&["run", "--config", "units-config.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("units.toml") && err.contains("72.99"), "{err}");

    for args in [&["reindex", "--help"][..], &["user", "add", "--help"]] {
        let out = kentongan(args, dir.path());
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Examples:"), "{args:?}");
    }

    for args in [&["run", "--help"][..], &["classify", "--help"], &["rules", "check", "--help"]] {
        let out = kentongan(args, dir.path());
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Examples:"), "{args:?}");
    }
}

#[test]
fn rules_check_points_at_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("narkoba.toml"),
        "[[rule]]\nid = \"n1\"\nindicator = \"narkoba\"\nany = [\"sabu\", \"ga*nja\"]\n",
    )
    .unwrap();
    let out = kentongan(&["rules", "check", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("narkoba.toml:4:17: term `ga*nja`"), "{err}");

    std::fs::write(
        dir.path().join("narkoba.toml"),
        "[[rule]]\nid = \"n1\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n",
    )
    .unwrap();
    let out = kentongan(&["rules", "check", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn classify_explains_each_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kentongan"))
        .arg("classify")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = concat!(
        r#"{"id":"a","text":"Warga melaporkan pesta sabu di rumah kontrakan","region":"72.71"}"#,
        "\n",
        r#"{"id":"b","text":"Sabun cuci piring dibagikan gratis"}"#,
        "\n"
    );
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["indicators"][0]["id"], "narkoba");
    let matches = lines[0]["indicators"][0]["matches"].as_array().unwrap();
    let sabu = matches.iter().find(|m| m["term"] == "sabu").expect("no match for sabu");
    assert_eq!(
        (sabu["start"].as_u64(), sabu["end"].as_u64(), sabu["field"].as_str()),
        (Some(23), Some(27), Some("text"))
    );
    assert!(sabu["rule"].as_str().unwrap().starts_with("narkoba."));
    assert_eq!(lines[0]["regions"], json!(["72.71"]));
    assert_eq!(lines[1]["indicators"], json!([]));
}

/// A tmpfs mounted on `dir` for one test, unmounted when dropped. Mounting
/// needs root: without it the test is skipped with a message, except in a
/// run with the `services` feature (CI, as root), where that is a failure.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            if cfg!(feature = "services") {
                panic!("cannot mount a tmpfs: this test runs as root in tests/run");
            }
            eprintln!("SKIPPED: cannot mount a tmpfs (this test needs root) to show what a full disk does");
            return None;
        }
        Some(Self(dir.to_owned()))
    }

    /// Writes a file until the disk is full.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        for size in [1 << 16, 1 << 12, 1] {
            while f.write_all(&vec![1u8; size]).is_ok() {}
        }
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A full disk: reports are refused (503) and the node says it is not
/// ready; once there is room again it takes reports and is ready, without a
/// restart, and every report it took is there.
#[tokio::test]
async fn takes_reports_again_once_a_full_disk_has_room() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("data"), "48m") else { return };
    let node = Node::start(dir.path(), "", &[]).await;
    let readyz = || async { client().get(node.url("/readyz")).send().await.unwrap() };
    let mut taken = Vec::new();
    let mut post = async |n: usize| {
        let text = format!("Pesta sabu di gang nomor {n} dibubarkan warga");
        let (status, body) = post_report(&node, json!({"text": text, "region": "72.71"})).await;
        if status == 202 {
            taken.push(body["id"].as_str().unwrap().to_owned());
        }
        (status, body)
    };
    for n in 0..5 {
        assert_eq!(post(n).await.0, 202);
    }
    disk.fill();
    let mut refused = None;
    for n in 5..2000 {
        let (status, body) = post(n).await;
        if status != 202 {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("a full disk took every report");
    assert_eq!(status, 503, "{body}");
    let unready = readyz().await;
    assert_eq!(unready.status(), 503);
    let reason = unready.text().await.unwrap();
    assert!(reason.contains("cannot be written"), "{reason}");

    disk.free();
    let ready = eventually(Duration::from_secs(20), || async { (readyz().await.status() == 200).then_some(()) }).await;
    assert!(ready.is_some(), "not ready again after the disk had room; log:\n{}", node.log());
    let (status, body) = post(9999).await;
    assert_eq!(status, 202, "{body}");
    for id in &taken {
        let path = format!("/api/v1/reports/{id}");
        let found = eventually(Duration::from_secs(60), || get_ok(&node, &path)).await;
        assert!(found.is_some(), "report {id} taken with 202 is not there; log:\n{}", node.log());
    }
}
