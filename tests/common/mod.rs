//! Helpers for tests that run the `kentongan` binary over its real interfaces.
#![allow(dead_code)]

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod archive;
pub mod gateway;

pub const TOKEN: &str = "uji-token-rahasia-1234567890";

/// A free port on 127.0.0.1 (the OS picks it; the listener is closed again).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The port in a node's "kentongan is running" log line, text
/// (`addr=127.0.0.1:PORT`) or JSON (`"fields":{"addr":…}`).
pub fn listening_port(line: &str) -> Option<u16> {
    let addr = if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["fields"]["message"] == "kentongan is running")
            .then(|| v["fields"]["addr"].as_str().map(str::to_owned))??
    } else {
        let (_, rest) = line.split_once("kentongan is running")?;
        rest.split_once("addr=")?.1.split_whitespace().next()?.to_owned()
    };
    // port 0 is not a port it listens on
    addr.rsplit_once(':')?.1.parse().ok().filter(|port| *port != 0)
}

/// A running `kentongan` process, killed when dropped.
pub struct Node {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    log: PathBuf,
}

impl Node {
    /// Starts `kentongan run` in `dir` with `config` (written to `dir/kentongan.toml`
    /// when not empty), on a port the system gives it (`127.0.0.1:0`: no other
    /// process can take it in between), and waits until it says which it has
    /// and `/healthz` answers there.
    pub async fn start(dir: &Path, config: &str, roles: &[&str]) -> Node {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        std::fs::create_dir_all(dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kentongan"));
        cmd.arg("run").current_dir(dir);
        if !config.is_empty() {
            std::fs::write(dir.join("kentongan.toml"), config).unwrap();
            cmd.arg("--config").arg(dir.join("kentongan.toml"));
        }
        for role in roles {
            cmd.arg("--role").arg(role);
        }
        if !config.contains("[duties]") {
            // no LAPSITDA reminders or summaries unless a test asks for them: in the hours before a deadline
            // somewhere in the country they would reach any unit the test sets up, beside its alerts
            cmd.env("KENTONGAN_DUTIES__REMIND_BEFORE", "0s").env("KENTONGAN_DUTIES__SUMMARIES", "false");
        }
        cmd.env("KENTONGAN_LOG", "info,kentongan=debug")
            .env_remove("KENTONGAN_LOG_FORMAT")
            .env("KENTONGAN_AUTH__BOOTSTRAP_TOKEN", TOKEN)
            .stdout(Stdio::null());
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = dir.join(format!("kentongan-{n}.log"));
        let child = cmd
            .env("KENTONGAN_HTTP__LISTEN", "127.0.0.1:0")
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut node = Node { child, port: 0, dir: dir.to_owned(), log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while node.port == 0 {
            if let Some(port) = node.log().lines().find_map(listening_port) {
                node.port = port;
                break;
            }
            let status = node.child.try_wait().unwrap();
            if status.is_some() || Instant::now() > deadline {
                panic!("kentongan did not come up (exit: {status:?}); log:\n{}", node.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let url = node.url("/healthz");
        let ok = eventually(Duration::from_secs(30), || {
            let url = url.clone();
            async move { client().get(&url).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
        })
        .await;
        if ok.is_none() {
            let status = node.child.try_wait().unwrap();
            panic!("kentongan did not come up (exit: {status:?}); log:\n{}", node.log());
        }
        node
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log's warnings and errors, then its last `lines` lines: what a
    /// failure report shows first, since CI keeps only its head.
    pub fn log_digest(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        let loud: Vec<&str> = all.iter().copied().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).collect();
        let tail = &all[all.len().saturating_sub(lines)..];
        format!("warnings and errors:\n{}\nlast {} lines:\n{}", loud.join("\n"), tail.len(), tail.join("\n"))
    }

    /// SIGKILL: no chance to flush or shut down.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns `Some`, or gives up after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn client() -> reqwest::Client {
    // reqwest is built without a TLS provider of its own; the binary installs ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// POSTs a JSON report with the test token; returns status and body.
pub async fn post_report(node: &Node, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = client().post(node.url("/api/v1/reports")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// GETs `path` with the test token; `None` unless the answer is 200.
pub async fn get_ok(node: &Node, path: &str) -> Option<serde_json::Value> {
    let r = client().get(node.url(path)).bearer_auth(TOKEN).send().await.ok()?;
    if r.status().is_success() { r.json().await.ok() } else { None }
}

/// The alert for `region`, once raised, as the bootstrap admin sees it.
pub async fn alert_for(node: &Node, region: &str) -> serde_json::Value {
    eventually(Duration::from_secs(10), || async {
        let (_, r) = call(node, "GET", &format!("/api/v1/alerts?region={region}"), Some(TOKEN), None).await;
        r["alerts"].as_array()?.iter().find(|a| a["region"] == region).cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no alert for {region}; log:\n{}", node.log()))
}

/// Creates an account as the bootstrap admin; returns its API token.
pub async fn create_user(node: &Node, name: &str, role: &str, regions: &[&str]) -> String {
    create_user_as(node, TOKEN, serde_json::json!({"name": name, "role": role, "regions": regions})).await
}

/// Creates an account with `body` as the caller `token`; returns the new token.
pub async fn create_user_as(node: &Node, token: &str, body: serde_json::Value) -> String {
    let r = client().post(node.url("/api/v1/users")).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status();
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{json}");
    json["token"].as_str().unwrap().to_owned()
}

/// Sends `method path` with `token` (and a JSON body for changing methods);
/// returns the status and the body.
pub async fn call(
    node: &Node,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = client().request(method, node.url(path));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let response = r.send().await.unwrap();
    let status = response.status().as_u16();
    // an event stream never ends: its status is the answer
    let stream = response.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if stream {
        return (status, serde_json::Value::Null);
    }
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}
