//! What the web app reads, over HTTP on a running node (embedded default):
//! the live alert stream (Server-Sent Events) signed in with the session
//! cookie, the reports list, attachment downloads and the region list, each
//! with who may see what.

mod common;

use std::time::Duration;

use common::{Node, TOKEN, alert_for, call, client, create_user, create_user_as, eventually, post_report};
use serde_json::{Value, json};

// one report in a regency raises its waspada alert; a province needs two
const RULES: &str = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\nprovince = { waspada = 2 }\n";

const PASSWORD: &str = "kata-sandi-piket-panjang";

async fn node_with_rules(dir: &std::path::Path) -> Node {
    std::fs::write(dir.join("rules.toml"), RULES).unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.join("rules.toml").display());
    Node::start(dir, &config, &[]).await
}

/// Signs `name` in as a browser does; returns the cookie to send and the CSRF token.
async fn sign_in(node: &Node, name: &str) -> (String, String) {
    let r = client()
        .post(node.url("/api/v1/session"))
        .json(&json!({"name": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("kentongan_session=") && set.contains("Path=/"), "{set}");
    let body: Value = r.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

/// An open `GET /api/v1/alerts/stream`, read event by event.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(node: &Node, cookie: &str) -> Events {
        let response = client().get(node.url("/api/v1/alerts/stream")).header("cookie", cookie).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["x-accel-buffering"], "no");
        Events { response, buffer: String::new() }
    }

    /// The next event's name and data; `None` once the stream has ended.
    /// Keep-alive comments are skipped.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((name, serde_json::from_str(&data).unwrap()));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("no event within 20 s");
            match chunk {
                Ok(Some(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

#[tokio::test]
async fn the_alert_stream_sends_a_browser_session_the_changes_within_its_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with_rules(dir.path()).await;
    let piket = create_user_as(
        &node,
        TOKEN,
        json!({"name": "piket-palu", "role": "operator", "regions": ["72.71"], "password": PASSWORD}),
    )
    .await;
    let analyst = create_user(&node, "analis-palu", "analyst", &["72.71"]).await;

    // who may listen: an operator or an admin, signed in
    let (status, _) = call(&node, "GET", "/api/v1/alerts/stream", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = call(&node, "GET", "/api/v1/alerts/stream", Some(&analyst), None).await;
    assert_eq!(status, 403);

    // a browser: the session cookie and nothing else (EventSource sends no header)
    let (cookie, csrf) = sign_in(&node, "piket-palu").await;
    let mut events = Events::open(&node, &cookie).await;
    let (name, _) = events.next().await.unwrap();
    assert_eq!(name, "ready");

    // an alert in Makassar (73.71), outside the operator's regions, first;
    // then one in Palu: the first alert event is Palu's
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di Makassar", "region": "73.71"})).await;
    assert_eq!(status, 202);
    let makassar = alert_for(&node, "73.71").await;
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    let (name, raised) = events.next().await.unwrap();
    assert_eq!((name.as_str(), &raised["region"], &raised["state"]), ("alert", &json!("72.71"), &json!("open")));
    let id = raised["id"].as_str().unwrap().to_owned();
    // the same as GET /api/v1/alerts/{id} answers, chain included
    let (status, got) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(&piket), None).await;
    assert_eq!(status, 200);
    assert_eq!(raised, got);
    assert!(raised["chain"]["children"].is_array(), "{raised}");

    // Makassar's alert acknowledged, then Palu's: only Palu's is sent
    let makassar_ack = format!("/api/v1/alerts/{}/ack", makassar["id"].as_str().unwrap());
    let (status, _) = call(&node, "POST", &makassar_ack, Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&node, "POST", &format!("/api/v1/alerts/{id}/ack"), Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let (name, acked) = events.next().await.unwrap();
    assert_eq!(
        (name.as_str(), acked["id"].as_str(), &acked["state"]),
        ("alert", Some(id.as_str()), &json!("acknowledged"))
    );
    assert_eq!(acked["history"][0]["by"], "admin");
    assert!(acked.get("silenced").is_none(), "{acked}");

    // a silence over Palu marks its alert
    let until = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let silence = json!({"indicator": "narkoba", "region": "72.71", "until": until, "reason": "operasi gabungan"});
    let (status, made) = call(&node, "POST", "/api/v1/silences", Some(TOKEN), Some(silence)).await;
    assert_eq!(status, 201, "{made}");
    let (_, silenced) = events.next().await.unwrap();
    assert_eq!(silenced["id"].as_str(), Some(id.as_str()));
    assert_eq!(silenced["silenced"]["id"], made["id"], "{silenced}");
    assert_eq!(silenced["silenced"]["reason"], "operasi gabungan");

    // signed out, the stream ends at the next change instead of sending it
    let r = client()
        .delete(node.url("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let note = json!({"note": "Tim menuju lokasi"});
    let (status, _) = call(&node, "POST", &format!("/api/v1/alerts/{id}/progress"), Some(TOKEN), Some(note)).await;
    assert_eq!(status, 200);
    assert_eq!(events.next().await, None, "a signed-out session still hears of alerts");
    let r = client().get(node.url("/api/v1/alerts/stream")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8,
    6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

/// A voice note: an Ogg container.
fn voice_note() -> Vec<u8> {
    let mut ogg = b"OggS".to_vec();
    ogg.resize(64, 0);
    ogg
}

/// Posts a report with a photo and a voice note as `token`; returns its id.
async fn post_with_files(node: &Node, token: &str, text: &str) -> String {
    let report = json!({"text": text, "region": "72.71"}).to_string();
    let form = reqwest::multipart::Form::new()
        .text("report", report)
        .part("file", reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("foto \"lokasi\".png"))
        .part("file", reqwest::multipart::Part::bytes(voice_note()).file_name("rekaman.ogg"));
    let r = client().post(node.url("/api/v1/reports")).bearer_auth(token).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 202);
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// `GET path` as `token`: status, headers and body bytes.
async fn fetch(node: &Node, path: &str, token: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = client().get(node.url(path)).bearer_auth(token).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn reports_and_their_files_are_listed_and_served_to_those_who_may_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let node = node_with_rules(dir.path()).await;
    let ani = create_user(&node, "ani", "reporter", &["72.71"]).await;
    let budi = create_user(&node, "budi", "reporter", &["72.71"]).await;
    let piket = create_user(&node, "piket-palu", "operator", &["72.71"]).await;
    let makassar = create_user(&node, "piket-makassar", "operator", &["73"]).await;
    let analyst = create_user(&node, "analis-palu", "analyst", &["72.71"]).await;

    let first = post_with_files(&node, &ani, "Ada transaksi narkoba di gang sempit").await;
    let id = post_with_files(&node, &ani, "Pesta sabu di rumah kontrakan").await;
    let (status, posted) =
        post_report(&node, json!({"text": "Warga resah, ada yang pakai sabu", "region": "72.71"})).await;
    assert_eq!(status, 202);
    let by_admin = posted["id"].as_str().unwrap().to_owned();

    // a reporter: their own reports, newest first, with what became of each
    let mine = eventually(Duration::from_secs(15), || async {
        let (_, r) = call(&node, "GET", "/api/v1/reports", Some(&ani), None).await;
        (r["total"] == 2).then_some(r)
    })
    .await
    .unwrap_or_else(|| panic!("ani's reports are not listed; log:\n{}", node.log()));
    let listed: Vec<&str> = mine["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [id.as_str(), first.as_str()]);
    let report = &mine["reports"][0];
    assert_eq!(report["text"], "Pesta sabu di rumah kontrakan");
    assert_eq!(report["region"], "72.71");
    assert_eq!(mine["names"]["72.71"], "Kota Palu");
    assert_eq!(report["channel"], "app");
    assert_eq!(report["indicators"][0]["id"], "narkoba");
    assert!(report["receipt"].as_str().is_some_and(|r| !r.is_empty()), "{report}");
    assert!(report.get("reporter").is_none(), "{report}");
    let files = report["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!((&files[0]["content_type"], &files[0]["size"]), (&json!("image/png"), &json!(PNG.len())));
    let photo = files[0]["url"].as_str().unwrap().to_owned();
    let voice = files[1]["url"].as_str().unwrap().to_owned();
    assert_eq!(photo, format!("/api/v1/reports/{id}/attachments/0"));
    // its alert, then the alert taken on: the reporter sees how it goes
    let alert = alert_for(&node, "72.71").await;
    assert!(alert["reports"].as_array().unwrap().iter().any(|r| r["id"] == id.as_str()), "{alert}");
    let (_, mine) = call(&node, "GET", "/api/v1/reports", Some(&ani), None).await;
    let status_of = |list: &Value| list["reports"][0]["status"].clone();
    assert_eq!(status_of(&mine), "alerted", "{mine}");
    assert_eq!(mine["reports"][1]["status"], "received", "no alert counts the first: {mine}");
    let (status, _) =
        call(&node, "POST", &format!("/api/v1/alerts/{}/ack", alert["id"].as_str().unwrap()), Some(&piket), None).await;
    assert_eq!(status, 200);
    let (_, mine) = call(&node, "GET", "/api/v1/reports?limit=1", Some(&ani), None).await;
    assert_eq!(
        (status_of(&mine), mine["total"].clone(), mine["reports"].as_array().unwrap().len()),
        (json!("acknowledged"), json!(2), 1)
    );
    let (_, second_page) = call(&node, "GET", "/api/v1/reports?limit=1&offset=1", Some(&ani), None).await;
    assert_eq!(second_page["reports"][0]["id"].as_str(), Some(first.as_str()));

    // the files, as sent, opened in the browser or downloaded, with a safe name
    let (status, headers, bytes) = fetch(&node, &photo, &ani).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, PNG);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "private, no-store", "a photo must not stay in the browser after sign-out");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("inline; filename=\"foto _lokasi_.png\";"), "{disposition}");
    let (status, headers, bytes) = fetch(&node, &voice, &ani).await;
    assert_eq!((status, bytes), (200, voice_note()));
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment; "), "{headers:?}");

    // another reporter: none of it exists
    let (_, theirs) = call(&node, "GET", "/api/v1/reports", Some(&budi), None).await;
    assert_eq!(theirs["total"], 0, "{theirs}");
    let (_, theirs) = call(&node, "GET", &format!("/api/v1/reports?ids={id}"), Some(&budi), None).await;
    assert_eq!(theirs["total"], 0, "{theirs}");
    assert_eq!(call(&node, "GET", &format!("/api/v1/reports/{id}"), Some(&budi), None).await.0, 404);
    assert_eq!(fetch(&node, &photo, &budi).await.0, 404);

    // given reports (an alert's) in one call: the operator in scope sees who sent them
    let path = format!("/api/v1/reports?ids={first},{id},{by_admin}");
    let (status, theirs) = call(&node, "GET", &path, Some(&piket), None).await;
    assert_eq!((status, &theirs["total"]), (200, &json!(3)), "{theirs}");
    let senders: Vec<&Value> =
        theirs["reports"].as_array().unwrap().iter().map(|r| &r["reporter"]["account"]).collect();
    assert_eq!(senders, [&json!("admin"), &json!("ani"), &json!("ani")]);
    assert!(theirs["reports"][0].get("status").is_none());
    assert_eq!(fetch(&node, &photo, &piket).await.0, 200);
    // an analyst in scope: the reports, not who sent them
    let (_, seen) = call(&node, "GET", &path, Some(&analyst), None).await;
    assert_eq!(seen["total"], 3);
    assert!(seen["reports"].as_array().unwrap().iter().all(|r| r.get("reporter").is_none()), "{seen}");
    // an operator of another province: nothing
    let (_, outside) = call(&node, "GET", &path, Some(&makassar), None).await;
    assert_eq!(outside["total"], 0, "{outside}");
    let (_, outside) = call(&node, "GET", "/api/v1/reports", Some(&makassar), None).await;
    assert_eq!(outside["total"], 0, "{outside}");
    assert_eq!(fetch(&node, &photo, &makassar).await.0, 404);

    // what is not there is 404; a bad query is 400 naming its parameter
    for missing in [
        format!("/api/v1/reports/{id}/attachments/2"),
        format!("/api/v1/reports/{id}/attachments/-1"),
        format!("/api/v1/reports/{id}/attachments/x"),
        "/api/v1/reports/01939b6e-0000-7000-8000-000000000000/attachments/0".to_owned(),
        "/api/v1/reports/bukan-id/attachments/0".to_owned(),
    ] {
        let (status, _, body) = fetch(&node, &missing, TOKEN).await;
        assert_eq!(status, 404, "{missing}: {}", String::from_utf8_lossy(&body));
    }
    for (bad, field) in [
        ("ids=bukan-id", "ids"),
        ("ids=", "ids"),
        ("offset=99999999", "offset"),
        ("limit=x", "limit"),
        ("lagi=1", "lagi"),
    ] {
        let (status, err) = call(&node, "GET", &format!("/api/v1/reports?{bad}"), Some(&piket), None).await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains(field), "{bad}: {err}");
    }
}

#[tokio::test]
async fn the_region_list_is_public_compact_and_cacheable() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let r = client().get(node.url("/api/v1/regions")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(r.headers()["cache-control"], "public, max-age=86400");
    let body = r.bytes().await.unwrap();
    eprintln!("GET /api/v1/regions: {} bytes", body.len());
    assert!(body.len() < 1_000_000, "{} bytes", body.len());
    let list: Value = serde_json::from_slice(&body).unwrap();
    let regions = list["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 38 + 514 + 7_285);
    let palu = regions.iter().find(|r| r["code"] == "72.71").unwrap();
    assert_eq!(
        (&palu["name"], &palu["level"], &palu["parent"], &palu["zone"]),
        (&json!("Kota Palu"), &json!("regency"), &json!("72"), &json!("WITA"))
    );
    assert!(palu["lat"].as_f64().is_some() && palu["lon"].as_f64().is_some(), "{palu}");
    let papua = regions.iter().find(|r| r["code"] == "91").unwrap();
    assert_eq!((&papua["zone"], papua.get("parent")), (&json!("WIT"), None));

    // unchanged: 304 with nothing to download again
    let again = client().get(node.url("/api/v1/regions")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    // one city's districts
    let (status, palu) = call(&node, "GET", "/api/v1/regions?prefix=72.71&level=district", None, None).await;
    assert_eq!(status, 200);
    let districts = palu["regions"].as_array().unwrap();
    assert!(!districts.is_empty() && districts.iter().all(|d| d["parent"] == "72.71" && d["level"] == "district"));
    assert!(districts.iter().any(|d| d["name"] == "Palu Barat"), "{palu}");
    for (bad, field) in [("level=village", "level"), ("prefix=99", "prefix"), ("prefix=7", "prefix")] {
        let (status, err) = call(&node, "GET", &format!("/api/v1/regions?{bad}"), None, None).await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains(field), "{bad}: {err}");
    }
}

/// A node told to stop ends its alert streams rather than wait for them: it
/// is gone well within the 10 s it gives requests in flight.
#[tokio::test]
async fn a_stopping_node_ends_its_alert_streams() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), "", &[]).await;
    create_user_as(&node, TOKEN, json!({"name": "piket", "role": "operator", "regions": ["72"], "password": PASSWORD}))
        .await;
    let (cookie, _) = sign_in(&node, "piket").await;
    let mut events = Events::open(&node, &cookie).await;
    assert_eq!(events.next().await.unwrap().0, "ready");
    let started = std::time::Instant::now();
    let term = std::process::Command::new("kill").arg("-TERM").arg(node.child.id().to_string()).status().unwrap();
    assert!(term.success());
    assert_eq!(events.next().await, None);
    let exited = eventually(Duration::from_secs(20), || {
        let done = node.child.try_wait().unwrap().is_some();
        async move { done.then_some(()) }
    })
    .await;
    assert!(exited.is_some(), "the node did not stop; log:\n{}", node.log());
    assert!(started.elapsed() < Duration::from_secs(8), "stopping took {:?}", started.elapsed());
}
