//! Alert email when the mail server is away, and when the alerter dies in
//! the middle of sending: nothing is lost, and nothing is sent twice beyond
//! the messages in flight at a kill -9 (`alerter::sender::SENDERS`). Each test runs an
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
        // alert mail only: its Message-ID starts with the alert's id; a node with units also sends
        // LAPSITDA reminders (`remind.…`) in the hours before a deadline somewhere in the country
        if let Some(id) =
            message.message_id().and_then(|m| m.split('.').next()).filter(|id| uuid::Uuid::parse_str(id).is_ok())
        {
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
        (alerts.len() == 1 && alerts.iter().all(|a| a["deliveries"].as_array().is_some_and(|d| !d.is_empty())))
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
    // and nothing comes twice: once every alert's success is recorded, the
    // outbox has nothing left to send
    let recorded = eventually(Duration::from_secs(20), || async {
        let (_, r) = call(&node, "GET", "/api/v1/alerts", Some(TOKEN), None).await;
        let alerts = r["alerts"].as_array()?.clone();
        alerts
            .iter()
            .all(|a| a["deliveries"].as_array().is_some_and(|d| d.iter().any(|d| d["error"].is_null())))
            .then_some(())
    })
    .await;
    assert!(recorded.is_some(), "not every success was recorded; log:\n{}", node.log());
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
    // the restarted node classifies what it had not, and its view of the
    // alerts loads in the background: wait until every alert is there
    // a regency's alert for each; none for a province, where each regency
    // alone reaches the province's amount (the same as a regency's here)
    let raised = regencies.len();
    let raised_all = eventually(Duration::from_secs(30), || async {
        let ids = alert_ids(&node).await;
        (ids.len() == raised).then_some(ids)
    })
    .await;
    let Some(want) = raised_all else {
        panic!("alerts raised: {} of {raised}; log:\n{}", alert_ids(&node).await.len(), node.log())
    };
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
    assert!(twice.len() <= alerter::sender::SENDERS, "more than the messages in flight were sent twice: {twice:?}");
    eprintln!("{before_restart} of {} sent before kill -9; sent twice: {}", want.len(), twice.len());
}

/// A certificate authority and a certificate for `localhost` signed by it,
/// made with openssl in `dir`: `(ca.pem, server.pem, server.key)`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Uji CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

/// aiosmtpd that requires STARTTLS and then a login: `kentongan` / `rahasia smtp`.
/// (A wrong login is not tested: this aiosmtpd never answers a failed AUTH.)
const STARTTLS_SERVER: &str = r#"
import ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
port, maildir, cert, key = sys.argv[1:5]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
def auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"kentongan" and data.password == b"rahasia smtp"
    return AuthResult(success=ok)
Controller(Mailbox(maildir), hostname="127.0.0.1", port=int(port), tls_context=ctx, require_starttls=True,
           authenticator=auth, auth_required=True, auth_require_tls=True).start()
while True:
    time.sleep(3600)
"#;

#[tokio::test]
async fn email_goes_over_starttls_with_a_login_trusting_an_internal_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let maildir = dir.path().join("mail");
    std::fs::create_dir_all(&maildir).unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("server.py"), STARTTLS_SERVER).unwrap();
    let port = free_port();
    let python = std::env::var("TEST_KENTONGAN_AIOSMTPD_PYTHON").expect("TEST_KENTONGAN_AIOSMTPD_PYTHON is not set");
    let _server = Smtp(
        Command::new(python)
            .arg(dir.path().join("server.py"))
            .args([
                port.to_string(),
                maildir.display().to_string(),
                cert.display().to_string(),
                key.display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let up = eventually(Duration::from_secs(20), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
    })
    .await;
    assert!(up.is_some(), "the STARTTLS server did not start");

    // one node that trusts the internal CA, one that does not
    let start = |name: &str, ca_file: Option<&Path>| {
        let node_dir = dir.path().join(name);
        std::fs::create_dir_all(&node_dir).unwrap();
        std::fs::write(node_dir.join("rules.toml"), RULES).unwrap();
        let config = format!(
            "[rules]\npath = \"{}\"\n\n[smtp]\nurl = \"smtp://kentongan:rahasia%20smtp@localhost:{port}?tls=required\"\n\
             {}from = \"Kentongan <k@example.test>\"\n\n[delivery]\ngroup_window = \"0s\"\n",
            node_dir.join("rules.toml").display(),
            ca_file.map(|c| format!("ca_file = \"{}\"\n", c.display())).unwrap_or_default()
        );
        async move { Node::start(&node_dir, &config, &[]).await }
    };
    let good = start("good", Some(&ca)).await;
    let bad = start("bad", None).await;
    for node in [&good, &bad] {
        let unit =
            json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "emails": ["piket@palukota.example.test"]});
        assert_eq!(call(node, "POST", "/api/v1/units", Some(TOKEN), Some(unit)).await.0, 201);
        let (status, _) = post_report(node, json!({"text": "Pesta sabu di gang sempit", "region": "72.71"})).await;
        assert_eq!(status, 202);
    }
    let got = eventually(Duration::from_secs(30), || async {
        (!delivered(&maildir).is_empty()).then(|| delivered(&maildir))
    })
    .await
    .unwrap_or_else(|| panic!("nothing arrived over STARTTLS; log:\n{}", good.log()));
    // the city's alert (the province's has no unit)
    let (_, r) = call(&good, "GET", "/api/v1/alerts?region=72.71", Some(TOKEN), None).await;
    let want: BTreeSet<String> =
        r["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), want);
    // a server whose certificate nobody vouches for gets nothing: the failure is recorded on the alert
    let error = eventually(Duration::from_secs(30), || async {
        let (_, r) = call(&bad, "GET", "/api/v1/alerts", Some(TOKEN), None).await;
        r["alerts"]
            .as_array()?
            .iter()
            .flat_map(|a| a["deliveries"].as_array().cloned().unwrap_or_default())
            .find_map(|d| d["error"].as_str().map(str::to_owned))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no failed delivery recorded; log:\n{}\nserver:\n{}",
            bad.log(),
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        )
    });
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert_eq!(delivered(&maildir).len(), want.len());
}
