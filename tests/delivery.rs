//! Alert email when the mail server is away, and when the alerter dies in
//! the middle of sending: nothing is lost, and nothing is sent twice beyond
//! the messages in flight at a kill -9 (`alerter::stage::SENDERS`). Each test runs an
//! SMTP server of its own (aiosmtpd from `tests/services/up`), so it can be
//! stopped and started.
#![cfg(feature = "services")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Node, TOKEN, call, eventually, free_port, post_report};
use serde_json::json;

const RULES: &str = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\n";

/// An SMTP server on `port` that stores messages in `maildir`; stopped when dropped.
struct Smtp(Child);

impl Smtp {
    async fn start(port: u16, maildir: &Path) -> Smtp {
        let python = std::env::var("TEST_KENTONGAN_AIOSMTPD_PYTHON")
            .expect("TEST_KENTONGAN_AIOSMTPD_PYTHON is not set: start the services with tests/services/up");
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = eventually(Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
        })
        .await;
        assert!(up.is_some(), "aiosmtpd did not start on {port}");
        Smtp(child)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The alert id of every stored message, with how many times it came.
fn delivered(maildir: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else { return out };
    for entry in entries.flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let Some(message) = mail_parser::MessageParser::default().parse(&bytes) else { continue };
        if let Some(id) = message.message_id().and_then(|m| m.split('.').next()) {
            *out.entry(id.to_owned()).or_default() += 1;
        }
    }
    out
}

/// Starts a node in `dir` whose alerts go by email to `smtp_port`, with
/// every report raising an alert and no waiting or rate limits.
async fn node(dir: &Path, smtp_port: u16) -> Node {
    std::fs::write(dir.join("rules.toml"), RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[smtp]\nurl = \"smtp://127.0.0.1:{smtp_port}\"\nfrom = \"Kentongan <k@example.test>\"\n\n\
         [delivery]\ngroup_window = \"0s\"\nper_recipient_per_hour = 0\n",
        dir.join("rules.toml").display()
    );
    Node::start(dir, &config, &[]).await
}

/// Every alert id the node has raised.
async fn alert_ids(node: &Node) -> BTreeSet<String> {
    let (_, r) = call(node, "GET", "/api/v1/alerts?limit=1000", Some(TOKEN), None).await;
    r["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn mail_server_down_for_a_while_then_up_gets_everything_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let maildir: PathBuf = dir.path().join("mail");
    let port = free_port();
    let node = node(dir.path(), port).await;
    let unit =
        json!({"name": "Kesbangpol Sulawesi Tengah", "regions": ["72"], "emails": ["piket@sulteng.example.test"]});
    assert_eq!(call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(unit)).await.0, 201);
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di gang sempit", "region": "72.71.02"})).await;
    assert_eq!(status, 202);
    // the first attempts fail: nobody listens yet
    let failed = eventually(Duration::from_secs(15), || async {
        let (_, r) = call(&node, "GET", "/api/v1/alerts", Some(TOKEN), None).await;
        let alerts = r["alerts"].as_array()?.clone();
        (alerts.len() == 3 && alerts.iter().all(|a| a["deliveries"].as_array().is_some_and(|d| !d.is_empty())))
            .then_some(alerts)
    })
    .await
    .unwrap_or_else(|| panic!("no failed attempt recorded; log:\n{}", node.log()));
    assert!(failed.iter().all(|a| a["deliveries"][0]["error"].is_string()), "{failed:?}");

    let _smtp = Smtp::start(port, &maildir).await;
    let want = alert_ids(&node).await;
    let got = eventually(Duration::from_secs(40), || async {
        let got = delivered(&maildir);
        (got.len() == want.len()).then_some(got)
    })
    .await
    .unwrap_or_else(|| panic!("not every alert was emailed: {:?}; log:\n{}", delivered(&maildir), node.log()));
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), want);
    // and nothing comes twice, now or later
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(delivered(&maildir).values().all(|n| *n == 1), "{:?}", delivered(&maildir));
}

#[tokio::test]
async fn kill_9_while_sending_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let maildir: PathBuf = dir.path().join("mail");
    let port = free_port();
    let _smtp = Smtp::start(port, &maildir).await;
    let mut node = node(dir.path(), port).await;
    // sixty regencies across the country, and a unit per province covering them
    let mut regencies: Vec<String> =
        model::regions().iter().map(|r| r.code.to_string()).filter(|c| c.len() == 5 && !c.starts_with("9")).collect();
    regencies.sort();
    let regencies: Vec<String> = regencies.into_iter().step_by(8).take(60).collect();
    let provinces: BTreeSet<String> = regencies.iter().map(|c| c[..2].to_owned()).collect();
    let unit = json!({"name": "Pusat Pemantauan", "regions": provinces, "emails": ["pusat@kemendagri.example.test"]});
    let (status, body) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(unit)).await;
    assert_eq!(status, 201, "{body}");
    for code in &regencies {
        let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": code})).await;
        assert_eq!(status, 202);
    }
    // kill -9 once some, but not all, have gone out
    let started =
        eventually(Duration::from_secs(30), || async { (!delivered(&maildir).is_empty()).then_some(()) }).await;
    assert!(started.is_some(), "nothing was emailed; log:\n{}", node.log());
    node.kill9();
    let before_restart = delivered(&maildir).len();

    let node = self::node(dir.path(), port).await;
    let want = alert_ids(&node).await;
    assert_eq!(want.len(), regencies.len() + provinces.len(), "alerts raised");
    let got = eventually(Duration::from_secs(60), || async {
        let got = delivered(&maildir);
        (got.len() == want.len()).then_some(got)
    })
    .await
    .unwrap_or_else(|| {
        panic!("alerts lost across kill -9: {} of {}; log:\n{}", delivered(&maildir).len(), want.len(), node.log())
    });
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), want);
    let twice: Vec<&String> = got.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
    assert!(twice.len() <= alerter::stage::SENDERS, "more than the messages in flight were sent twice: {twice:?}");
    eprintln!("{before_restart} of {} sent before kill -9; sent twice: {}", want.len(), twice.len());
}
