//! Ingest over HTTP against the running binary, with real payload shapes:
//! the field app (JSON and multipart), Telegram and WhatsApp webhooks, an SMS
//! gateway, and RSS/Atom feeds served by a local HTTP server.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Node, TOKEN, call, client, create_user_as, eventually, post_report};
use serde_json::{Value, json};

const TELEGRAM_SECRET: &str = "telegram-secret-0123456789";
const WA_VERIFY: &str = "verifikasi-kentongan";
const WA_SECRET: &str = "app-secret-whatsapp-0123";
const SMS_TOKEN: &str = "sms-gateway-token-0123456789";

fn config() -> String {
    format!(
        "[telegram]\nsecret_token = \"{TELEGRAM_SECRET}\"\n\
         [whatsapp]\nverify_token = \"{WA_VERIFY}\"\napp_secret = \"{WA_SECRET}\"\n\
         [sms]\ninbound_token = \"{SMS_TOKEN}\"\npart_wait = \"2s\"\n"
    )
}

/// The report whose text contains `needle`, once it is searchable.
async fn find(node: &Node, needle: &str) -> Value {
    let path = format!("/api/v1/search?q={}", needle.replace(' ', "+"));
    eventually(Duration::from_secs(15), || async {
        let (_, r) = call(node, "GET", &path, Some(TOKEN), None).await;
        let id = r["hits"].as_array()?.first()?["id"].as_str()?.to_owned();
        let (status, report) = call(node, "GET", &format!("/api/v1/reports/{id}"), Some(TOKEN), None).await;
        (status == 200).then_some(report)
    })
    .await
    .unwrap_or_else(|| panic!("no report with `{needle}`; log:\n{}", node.log()))
}

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8,
    6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
];

#[tokio::test]
async fn field_app_multipart_with_photos_and_idempotent_retries() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "[ingest]\nmax_files = 2\nmax_file_size = \"1KiB\"\n", &[]).await;
    let form = |files: Vec<(&'static str, Vec<u8>)>| {
        let mut f = reqwest::multipart::Form::new()
            .text("report", r#"{"text":"Tawuran pelajar di depan sekolah, foto terlampir","region":"72.71.02"}"#);
        for (name, bytes) in files {
            f = f.part("file", reqwest::multipart::Part::bytes(bytes).file_name(name).mime_str("image/jpeg").unwrap());
        }
        f
    };
    let send = |f: reqwest::multipart::Form, key: Option<&'static str>| {
        let mut r = client().post(node.url("/api/v1/reports")).bearer_auth(TOKEN).multipart(f);
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        r.send()
    };
    let first = send(form(vec![("tawuran.png", PNG.to_vec())]), Some("hp-andi-0001")).await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["duplicate"], false);
    assert!(first["receipt"].as_str().unwrap().starts_with("KTN-"));
    // the app retries after a dropped connection: same key, same id, no second report
    let again: Value =
        send(form(vec![("tawuran.png", PNG.to_vec())]), Some("hp-andi-0001")).await.unwrap().json().await.unwrap();
    assert_eq!((again["id"].clone(), again["duplicate"].clone()), (first["id"].clone(), json!(true)));

    // a "photo" that is really a script: refused by sniffing, whatever the header says
    let fake = send(form(vec![("foto.jpg", b"#!/bin/sh\necho pwned\n".to_vec())]), None).await.unwrap();
    assert_eq!(fake.status(), 415);
    let too_many = send(form(vec![("a.png", PNG.to_vec()), ("b.png", PNG.to_vec()), ("c.png", PNG.to_vec())]), None)
        .await
        .unwrap();
    assert_eq!(too_many.status(), 413);
    let too_big = send(form(vec![("besar.png", [PNG, &[0u8; 2000][..]].concat())]), None).await.unwrap();
    assert_eq!(too_big.status(), 413);
    // the same refusals in Indonesian to the app in Indonesian
    let in_indonesian = |f: reqwest::multipart::Form| {
        let r = client().post(node.url("/api/v1/reports")).bearer_auth(TOKEN).header("Accept-Language", "id");
        let r = r.multipart(f).send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned())
        }
    };
    let files = vec![("a.png", PNG.to_vec()), ("b.png", PNG.to_vec()), ("c.png", PNG.to_vec())];
    let (status, message) = in_indonesian(form(files)).await;
    assert!(status == 413 && message.starts_with("paling banyak 2 berkas untuk setiap laporan"), "{status} {message}");
    let (status, message) = in_indonesian(form(vec![("besar.png", [PNG, &[0u8; 2000][..]].concat())])).await;
    assert!(status == 413 && message.starts_with("berkas `besar.png` lebih besar dari"), "{status} {message}");
    let (status, message) = in_indonesian(form(vec![("foto.jpg", b"#!/bin/sh\n".to_vec())])).await;
    assert!(status == 415 && message.starts_with("lampiran `foto.jpg` bukan jenis"), "{status} {message}");

    let report = find(&node, "tawuran").await;
    let attachment = &report["report"]["attachments"][0];
    assert_eq!(
        (attachment["name"].as_str(), attachment["content_type"].as_str()),
        (Some("tawuran.png"), Some("image/png"))
    );
    let stored = dir.path().join("data/attachments").join(attachment["location"].as_str().unwrap());
    assert_eq!(std::fs::read(stored).unwrap(), PNG);
    let (_, all) = call(&node, "GET", "/api/v1/search", Some(TOKEN), None).await;
    assert_eq!(all["total"], 1, "the retry or a refused upload made a report: {all}");

    // external_id with the channel dedupes too
    let body = json!({"text": "Spanduk provokatif dipasang di jembatan", "channel": "web", "external_id": "form-77"});
    let (_, a) = post_report(&node, body.clone()).await;
    let (_, b) = post_report(&node, body).await;
    assert_eq!((a["id"].clone(), b["duplicate"].clone()), (b["id"].clone(), json!(true)));
}

#[tokio::test]
async fn per_account_rate_limit_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "[ingest]\nrate_per_account = 3\n", &[]).await;
    for i in 0..3 {
        let (status, body) = post_report(&node, json!({"text": format!("laporan {i}")})).await;
        assert_eq!(status, 202, "{body}");
    }
    let r = client()
        .post(node.url("/api/v1/reports"))
        .bearer_auth(TOKEN)
        .json(&json!({"text": "satu lagi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u32>().unwrap() >= 1);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn telegram_webhook_with_secret_token() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(), &[]).await;
    create_user_as(
        &node,
        TOKEN,
        json!({"name": "andi", "role": "reporter", "regions": ["72.71"], "telegram": "1111111"}),
    )
    .await;
    // an Update as the Bot API sends it
    let update = json!({
        "update_id": 987654321,
        "message": {
            "message_id": 1365,
            "from": {"id": 1111111, "is_bot": false, "first_name": "Andi", "last_name": "Lamba", "username": "andilamba", "language_code": "id"},
            "chat": {"id": 1111111, "first_name": "Andi", "last_name": "Lamba", "username": "andilamba", "type": "private"},
            "date": 1764400000,
            "text": "Ada perkelahian antar kelompok pemuda di Jalan Gajah Mada"
        }
    });
    let post = |secret: &'static str, body: Value| {
        client()
            .post(node.url("/api/v1/ingest/telegram"))
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .json(&body)
            .send()
    };
    assert_eq!(post("salah", update.clone()).await.unwrap().status(), 401);
    let r = post(TELEGRAM_SECRET, update.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().await.unwrap();
    assert_eq!((reply["method"].as_str(), reply["chat_id"].as_i64()), (Some("sendMessage"), Some(1111111)));
    assert!(reply["text"].as_str().unwrap().contains("KTN-"), "{reply}");
    // Telegram retries: the same message makes no second report
    let again: Value = post(TELEGRAM_SECRET, update).await.unwrap().json().await.unwrap();
    assert_eq!(again["text"], reply["text"]);

    let report = find(&node, "perkelahian").await;
    assert_eq!(report["report"]["channel"], "telegram");
    assert_eq!(report["report"]["reporter"]["account"], "andi");
    let (_, all) = call(&node, "GET", "/api/v1/search?q=perkelahian", Some(TOKEN), None).await;
    assert_eq!(all["total"], 1);

    let start = json!({"update_id": 2, "message": {"message_id": 2, "chat": {"id": 5, "type": "private"}, "date": 1764400000, "text": "/start"}});
    let help: Value = post(TELEGRAM_SECRET, start).await.unwrap().json().await.unwrap();
    assert!(help["text"].as_str().unwrap().starts_with("Selamat datang"));
    let malformed = client()
        .post(node.url("/api/v1/ingest/telegram"))
        .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
        .header("content-type", "application/json")
        .body("{\"update_id\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

fn sign(body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WA_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn whatsapp_handshake_and_signed_messages() {
    // Meta's Graph API is out of reach here: a local server stands in for it
    // and records the reply the bot sends.
    let replies: Arc<std::sync::Mutex<Vec<(String, Value)>>> = Arc::default();
    let seen = replies.clone();
    let graph = axum::Router::new().route(
        "/{number}/messages",
        axum::routing::post(
            move |axum::extract::Path(number): axum::extract::Path<String>,
                  headers: axum::http::HeaderMap,
                  body: axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    assert_eq!(headers["authorization"], "Bearer wa-access-token");
                    seen.lock().unwrap().push((number, body.0));
                    axum::Json(json!({"messages": [{"id": "wamid.reply"}]}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let graph_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, graph).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let config =
        config().replace("[sms]", &format!("access_token = \"wa-access-token\"\ngraph_url = \"{graph_url}\"\n[sms]"));
    let node = Node::start(dir.path(), &config, &[]).await;
    create_user_as(
        &node,
        TOKEN,
        json!({"name": "siti", "role": "reporter", "regions": ["72"], "phone": "0812-3456-7890"}),
    )
    .await;
    let verify = |token: &str| {
        client()
            .get(node.url(&format!(
                "/api/v1/ingest/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
            )))
            .send()
    };
    let ok = verify(WA_VERIFY).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(verify("salah").await.unwrap().status(), 403);

    // a notification as the Cloud API sends it
    let body = serde_json::to_vec(&json!({
      "object": "whatsapp_business_account",
      "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Siti Aminah"}, "wa_id": "6281234567890"}],
        "messages": [
          {"from": "6281234567890", "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
           "timestamp": "1764400000", "type": "text", "text": {"body": "Ada spanduk penolakan rumah ibadah di depan masjid"}},
          {"from": "6281234567890", "id": "wamid.B", "timestamp": "1764400005", "type": "sticker",
           "sticker": {"mime_type": "image/webp", "sha256": "x", "id": "s1", "animated": false}}
        ]}}]}]
    }))
    .unwrap();
    let send = |signature: String| {
        client()
            .post(node.url("/api/v1/ingest/whatsapp"))
            .header("content-type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body.clone())
            .send()
    };
    assert_eq!(send("sha256=00".into()).await.unwrap().status(), 401);
    let r = send(sign(&body)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["reports"].as_array().unwrap().len(), 1);
    let report = find(&node, "spanduk").await;
    assert_eq!(report["report"]["channel"], "whatsapp");
    assert_eq!(report["report"]["reporter"]["account"], "siti");
    assert_eq!(report["report"]["reporter"]["contact"], "+6281234567890");
    let sent = eventually(Duration::from_secs(10), || async { replies.lock().unwrap().first().cloned() })
        .await
        .expect("no receipt sent back on WhatsApp");
    assert_eq!(sent.0, "106540352242922");
    assert_eq!((sent.1["to"].as_str(), sent.1["type"].as_str()), (Some("6281234567890"), Some("text")));
    assert!(sent.1["text"]["body"].as_str().unwrap().starts_with("Laporan diterima, nomor KTN-"));
}

#[tokio::test]
async fn sms_keyword_errors_and_long_messages() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(), &[]).await;
    let sms =
        |body: Value, token: &str| client().post(node.url("/api/v1/ingest/sms")).bearer_auth(token).json(&body).send();
    assert_eq!(sms(json!({"from": "081234", "text": "x"}), "salah").await.unwrap().status(), 401);

    let r: Value = sms(
        json!({"from": "0812-1111-2222", "text": "LAPOR 72.71.02 tawuran remaja di lapangan", "id": "sms-1"}),
        SMS_TOKEN,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(r["accepted"], true);
    assert!(r["reply"].as_str().unwrap().starts_with("Laporan diterima, nomor KTN-"), "{r}");
    let report = find(&node, "tawuran remaja").await;
    assert_eq!(report["report"]["region"], "72.71.02");
    assert_eq!(report["report"]["reporter"]["contact"], "+6281211112222");

    let bad: Value =
        sms(json!({"from": "0812", "text": "LAPOR 99.99 ada bentrok"}), SMS_TOKEN).await.unwrap().json().await.unwrap();
    assert_eq!(bad["accepted"], false);
    assert!(bad["reply"].as_str().unwrap().contains("LAPOR <kode wilayah>"), "{bad}");

    // a long message in two parts, second part first, arrives as one report
    let part2 =
        json!({"from": "0813", "text": "kelompok di perbatasan desa sejak sore.", "ref": 42, "part": 2, "parts": 2});
    let part1 =
        json!({"from": "0813", "text": "LAPOR 72.03 terjadi ketegangan antara dua ", "ref": 42, "part": 1, "parts": 2});
    let first: Value = sms(part2, SMS_TOKEN).await.unwrap().json().await.unwrap();
    assert_eq!((first["accepted"].clone(), first["id"].clone()), (json!(true), Value::Null));
    let whole: Value = sms(part1, SMS_TOKEN).await.unwrap().json().await.unwrap();
    assert!(whole["id"].is_string(), "{whole}");
    let report = find(&node, "ketegangan").await;
    assert_eq!(report["report"]["text"], "terjadi ketegangan antara dua kelompok di perbatasan desa sejak sore.");
    assert_eq!(report["report"]["region"], "72.03");

    // a part whose sibling never comes is taken as it is after sms.part_wait
    let lone = json!({"from": "0814", "text": "pembakaran ban di simpang", "ref": 7, "part": 1, "parts": 2});
    sms(lone, SMS_TOKEN).await.unwrap();
    let report = find(&node, "pembakaran").await;
    assert_eq!(report["report"]["text"], "pembakaran ban di simpang[…]");
}

/// A local HTTP server with an RSS and an Atom feed, honouring ETag, and a
/// broken feed. Returns its address and a counter of 304 answers.
async fn feed_server() -> (String, Arc<AtomicUsize>) {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::IntoResponse;
    let not_modified = Arc::new(AtomicUsize::new(0));
    let serve = |body: &'static str, kind: &'static str, etag: &'static str, counter: Arc<AtomicUsize>| {
        move |headers: HeaderMap| {
            let counter = counter.clone();
            async move {
                if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == etag) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                ([(header::CONTENT_TYPE, kind), (header::ETAG, etag)], body).into_response()
            }
        }
    };
    let app = axum::Router::new()
        .route(
            "/berita.rss",
            axum::routing::get(serve(
                include_str!("data/feeds/berita.rss"),
                "application/rss+xml",
                "\"rss-1\"",
                not_modified.clone(),
            )),
        )
        .route(
            "/kesbangpol.atom",
            axum::routing::get(serve(
                include_str!("data/feeds/kesbangpol.atom"),
                "application/atom+xml",
                "\"atom-1\"",
                not_modified.clone(),
            )),
        )
        .route("/rusak.xml", axum::routing::get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "rusak") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), not_modified)
}

#[tokio::test]
async fn rss_and_atom_feeds_polled_once_each_item_with_backoff_for_a_broken_one() {
    let (base, not_modified) = feed_server().await;
    let dir = tempfile::tempdir().unwrap();
    let feeds = format!(
        "[[feeds]]\nurl = \"{base}/berita.rss\"\ninterval = \"1s\"\nname = \"kabar-sulteng\"\nregion = \"72\"\n\
         [[feeds]]\nurl = \"{base}/kesbangpol.atom\"\ninterval = \"1s\"\n\
         [[feeds]]\nurl = \"{base}/rusak.xml\"\ninterval = \"1s\"\nname = \"rusak\"\n"
    );
    let mut node = Node::start(dir.path(), &feeds, &[]).await;
    let gerebek = find(&node, "menggerebek").await;
    assert_eq!(gerebek["report"]["channel"], "feed");
    assert_eq!(gerebek["report"]["title"], "Polisi Gerebek Pesta Sabu di Kontrakan Palu Barat");
    assert_eq!(gerebek["report"]["region"], "72");
    assert_eq!(gerebek["report"]["external_id"], "kabar-sulteng-88412");
    let text = gerebek["report"]["text"].as_str().unwrap();
    assert!(text.contains("Empat orang diamankan") && !text.contains('<') && !text.contains("trackView"), "{text}");
    let atom = find(&node, "FKDM").await;
    assert!(atom["report"]["text"].as_str().unwrap().contains("politik uang"));
    // later polls ask conditionally and get 304
    eventually(Duration::from_secs(10), || async { (not_modified.load(Ordering::SeqCst) >= 2).then_some(()) })
        .await
        .expect("no conditional GET");
    let (status, board) = call(&node, "GET", "/api/v1/feeds", Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let broken = board["feeds"].as_array().unwrap().iter().find(|f| f["name"] == "rusak").unwrap().clone();
    assert!(broken["failures"].as_u64().unwrap() >= 1, "{broken}");
    assert!(broken["last_error"].as_str().unwrap().contains("500"));
    let good = board["feeds"].as_array().unwrap().iter().find(|f| f["name"] == "kabar-sulteng").unwrap().clone();
    assert_eq!((good["failures"].clone(), good["delivered"].clone()), (json!(0), json!(2)));
    let metrics = client().get(node.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("kentongan_ingest_feed_failures{feed=\"rusak\"}"), "{metrics}");

    // after a restart, nothing is delivered twice
    node.kill9();
    let node = Node::start(dir.path(), &feeds, &[]).await;
    eventually(Duration::from_secs(10), || async {
        let (_, f) = call(&node, "GET", "/api/v1/feeds", Some(TOKEN), None).await;
        f["feeds"].as_array()?.iter().all(|f| !f["last_poll"].is_null()).then_some(())
    })
    .await
    .expect("feeds not polled after restart");
    let (_, all) = call(&node, "GET", "/api/v1/search?channel=feed", Some(TOKEN), None).await;
    assert_eq!(all["total"], 3, "{all}");
}

/// What could not be used is kept on the deadletter topic with the reason.
#[tokio::test]
async fn unusable_messages_go_to_deadletter() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &config(), &[]).await;
    let sticker = json!({"update_id": 3, "message": {"message_id": 9, "chat": {"id": 5, "type": "private"},
                         "date": 1764400000, "sticker": {"file_id": "x", "file_unique_id": "y", "width": 512, "height": 512}}});
    let r = client()
        .post(node.url("/api/v1/ingest/telegram"))
        .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
        .json(&sticker)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "Telegram must not be made to retry");
    node.kill9();
    let log = bus::embedded::EmbeddedLog::open(&dir.path().join("data/bus.redb")).unwrap();
    let bus = bus::Bus::Embedded(log);
    let (records, _) = bus.catch_up(bus::Topic::Deadletter).await.unwrap();
    let letters: Vec<Value> = records.iter().map(|r| serde_json::from_slice(&r.payload).unwrap()).collect();
    assert!(
        letters.iter().any(|l| l["source"] == "telegram" && l["reason"].as_str().unwrap().contains("no text")),
        "{letters:?}"
    );
}

/// Ids are the submitter's own: a report posted first under someone else's
/// `external_id` (or a chat's message id) does not make the real one a
/// duplicate, and an `Idempotency-Key` reused for another body is refused.
#[tokio::test]
async fn one_account_cannot_take_anothers_report_ids() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(), &[]).await;
    let mallory = create_user_as(&node, TOKEN, json!({"name": "mallory", "role": "reporter", "regions": ["72"]})).await;
    let budi = create_user_as(&node, TOKEN, json!({"name": "budi", "role": "reporter", "regions": ["72"]})).await;
    let post = |token: &str, key: Option<&str>, body: Value| {
        let mut r = client().post(node.url("/api/v1/reports")).bearer_auth(token).json(&body);
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    // decoys, posted first with the ids the real messages will carry; a
    // channel the server verifies cannot even be claimed
    let decoy = |channel: &str, id: &str| json!({"text": "laporan palsu pengalih", "channel": channel, "external_id": id, "region": "72"});
    for (channel, id) in [("telegram", "1111111:1365"), ("sms", "SM-77")] {
        let (status, refused) = post(&mallory, None, decoy(channel, id)).await;
        assert_eq!(status, 422, "{refused}");
    }
    let (_, web_decoy) = post(&mallory, None, decoy("web", "form-77")).await;

    // the real Telegram update gets a receipt of its own
    let update = json!({"update_id": 5, "message": {"message_id": 1365, "date": 1764400000,
        "from": {"id": 1111111, "first_name": "Andi"}, "chat": {"id": 1111111, "type": "private"},
        "text": "Warga membakar ban di perempatan jalan protokol"}});
    let reply: Value = client()
        .post(node.url("/api/v1/ingest/telegram"))
        .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(reply["text"].as_str().unwrap().contains("KTN-"), "{reply}");
    // so do the real SMS and the real form of another account
    let sms: Value = client()
        .post(node.url("/api/v1/ingest/sms"))
        .bearer_auth(SMS_TOKEN)
        .json(&json!({"from": "0812-5555-0001", "text": "Ada penimbunan solar di gudang pelabuhan", "id": "SM-77"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(sms["id"].is_string(), "{sms}");
    let form = json!({"text": "Spanduk provokatif dipasang di jembatan", "channel": "web", "external_id": "form-77"});
    let (status, real) = post(&budi, None, form.clone()).await;
    assert_eq!((status, real["duplicate"].clone()), (202, json!(false)), "{real}");
    assert_ne!(real["id"], web_decoy["id"]);
    // the account's own retry is still one report
    let (_, again) = post(&budi, None, form).await;
    assert_eq!((again["id"].clone(), again["duplicate"].clone()), (real["id"].clone(), json!(true)));
    for text in ["membakar ban", "penimbunan solar", "spanduk provokatif"] {
        find(&node, text).await;
    }

    // Idempotency-Key: the same body is a retry, another body an error
    let first = json!({"text": "Bentrok antarkelompok di pasar malam", "region": "72.71"});
    let (status, a) = post(&budi, Some("hp-budi-1"), first.clone()).await;
    assert_eq!(status, 202, "{a}");
    let (status, b) = post(&budi, Some("hp-budi-1"), first).await;
    assert_eq!((status, b["id"].clone(), b["duplicate"].clone()), (202, a["id"].clone(), json!(true)));
    let (status, c) = post(&budi, Some("hp-budi-1"), json!({"text": "Laporan lain sama sekali", "region": "72"})).await;
    assert_eq!(status, 422, "{c}");
    assert_eq!(c["error"]["code"], "idempotency_key_reused");
    assert!(c["error"]["message"].as_str().unwrap().contains("new key"), "{c}");
    let (status, c) =
        post(&budi, None, json!({"text": "teks berbeda", "channel": "web", "external_id": "form-77"})).await;
    assert_eq!((status, c["error"]["code"].as_str()), (422, Some("idempotency_key_reused")), "{c}");
    // another account's key of the same name is its own
    let (status, d) = post(&mallory, Some("hp-budi-1"), json!({"text": "Laporan lain sama sekali"})).await;
    assert_eq!((status, d["duplicate"].clone()), (202, json!(false)), "{d}");
    // the refused body made no report: only mallory's, posted after it, is there
    find(&node, "sama sekali").await;
    let (_, only) = call(&node, "GET", "/api/v1/search?q=lain", Some(TOKEN), None).await;
    assert_eq!(only["total"], 1, "the refused body was taken: {only}");
}

/// A report lies within its account's regions, on every channel an account
/// reports through, and says it happened at a time that can be right.
#[tokio::test]
async fn reports_stay_within_the_senders_regions_and_sane_times() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(), &[]).await;
    let rina = create_user_as(
        &node,
        TOKEN,
        json!({"name": "rina", "role": "reporter", "regions": ["72"], "phone": "0812-7272-0001"}),
    )
    .await;
    let dua = create_user_as(&node, TOKEN, json!({"name": "dua", "role": "reporter", "regions": ["72", "73"]})).await;
    let post = |token: &str, body: Value| {
        let r = client().post(node.url("/api/v1/reports")).bearer_auth(token).json(&body);
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let message = |v: &Value| v["error"]["message"].as_str().unwrap_or_default().to_owned();

    let (status, outside) = post(&rina, json!({"text": "Pesta sabu di Makassar", "region": "73.71"})).await;
    assert_eq!(status, 422, "{outside}");
    assert!(message(&outside).starts_with("region: 73.71 is outside the regions of this account (72)"), "{outside}");
    let (status, several) = post(&dua, json!({"text": "Ada bentrok"})).await;
    assert_eq!(status, 422, "{several}");
    assert!(message(&several).starts_with("region: missing"), "{several}");
    // without a region, a report is placed in the account's one region
    let (status, placed) = post(&rina, json!({"text": "Penyelundupan kayu ulin di sungai"})).await;
    assert_eq!(status, 202, "{placed}");
    assert_eq!(find(&node, "penyelundupan").await["report"]["region"], "72");

    for when in ["0001-01-01T00:00:00Z", "1900-08-17T10:00:00+07:00", "2999-01-01T00:00:00Z"] {
        let (status, old) = post(TOKEN, json!({"text": "x", "reported_at": when})).await;
        assert_eq!(status, 422, "{when}: {old}");
        assert!(message(&old).starts_with("reported_at:") && message(&old).contains("2000-01-01"), "{old}");
    }
    // long input is not quoted back whole
    let long = "9".repeat(100_000);
    for body in [json!({"text": "x", "reported_at": long}), json!({"text": "x", "region": long})] {
        let (status, answer) = post(TOKEN, body).await;
        assert_eq!(status, 422);
        assert!(message(&answer).len() < 400, "{} characters", message(&answer).len());
    }

    // the same refusals in Indonesian to a caller who prefers it (the web
    // app in Indonesian), with the same status and code; English otherwise
    let post_in = |language: &'static str, token: &str, body: Value| {
        let r = client().post(node.url("/api/v1/reports")).bearer_auth(token).header("Accept-Language", language);
        let r = r.json(&body);
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let id = "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7";
    let cases = [
        (
            &rina,
            json!({"text": "Pesta sabu di Makassar", "region": "73.71"}),
            "region: 73.71 di luar wilayah akun ini (72)",
        ),
        (&dua, json!({"text": "Ada bentrok"}), "region: kosong"),
        (&rina, json!({"text": "Ada bentrok", "region": "72.99"}), "region: kode wilayah `72.99` tidak ada"),
        (&rina, json!({"text": "Ada bentrok", "region": "Palu"}), "region: kode wilayah `Palu` salah tulis"),
        (&rina, json!({"text": "  "}), "text: kosong"),
        (
            &rina,
            json!({"text": "x", "reported_at": "2999-01-01T00:00:00Z"}),
            "reported_at: 2999-01-01T00:00:00Z di luar rentang",
        ),
    ];
    for (token, body, expected) in cases {
        let (status, answer) = post_in(id, token, body.clone()).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid")), "{body}: {answer}");
        assert!(message(&answer).starts_with(expected), "{body}: {answer}");
        let r = client().post(node.url("/api/v1/reports")).bearer_auth(token).json(&body).send().await.unwrap();
        assert_eq!(r.headers().get("vary").map(|v| v.to_str().unwrap()), Some("accept-language"), "{body}");
        let (status, english) = post_in("en-US,en;q=0.9,id;q=0.8", token, body.clone()).await;
        assert_eq!(status, 422, "{body}: {english}");
        assert!(!message(&english).contains(expected) && message(&english).is_ascii(), "{body}: {english}");
    }
    let (_, answer) = post_in("id", TOKEN, json!({"text": "x", "region": long})).await;
    assert!(message(&answer).starts_with("region: kode wilayah") && message(&answer).len() < 400, "{answer}");

    // over SMS, the keyword form naming another province is refused with a reply
    let sms = |body: Value| client().post(node.url("/api/v1/ingest/sms")).bearer_auth(SMS_TOKEN).json(&body).send();
    let refused: Value = sms(json!({"from": "0812-7272-0001", "text": "LAPOR 73.71 ada pembalakan liar"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["accepted"], false, "{refused}");
    assert!(refused["reply"].as_str().unwrap().contains("73.71 di luar wilayah tugas akun Anda (72)"), "{refused}");
    let inside: Value = sms(json!({"from": "0812-7272-0001", "text": "LAPOR 72.71 ada pembakaran lahan"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inside["accepted"], true, "{inside}");
    let report = find(&node, "pembakaran lahan").await;
    assert_eq!(report["report"]["reporter"]["account"], "rina");
    let (_, none) = call(&node, "GET", "/api/v1/search?q=pembalakan", Some(TOKEN), None).await;
    assert_eq!(none["total"], 0, "{none}");
}

/// A gateway that posts forms sends every number as text; a long message in
/// two parts is still joined into one report.
#[tokio::test]
async fn long_sms_posted_as_forms_is_joined() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(), &[]).await;
    let form = |pairs: &[(&str, &str)]| {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        client()
            .post(node.url("/api/v1/ingest/sms"))
            .bearer_auth(SMS_TOKEN)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let second = form(&[
        ("from", "0815-2222-3333"),
        ("text", "yang datang dari kampung sebelah."),
        ("ref", "311"),
        ("part", "2"),
        ("parts", "2"),
        ("sent_timestamp", "1764400000000"),
    ])
    .await
    .unwrap();
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!((second["accepted"].clone(), second["id"].clone()), (json!(true), Value::Null), "{second}");
    let first = form(&[
        ("from", "0815-2222-3333"),
        ("text", "LAPOR 72.71 ada keributan antara pemuda dan kelompok "),
        ("ref", "311"),
        ("part", "1"),
        ("parts", "2"),
    ])
    .await
    .unwrap();
    let first: Value = first.json().await.unwrap();
    assert!(first["id"].is_string(), "{first}");
    let report = find(&node, "keributan").await;
    assert_eq!(report["report"]["text"], "ada keributan antara pemuda dan kelompok yang datang dari kampung sebelah.");
    assert_eq!(report["report"]["reported_at"], "2025-11-29T07:06:40Z");
    // a count that is not one gets a clear error
    let bad = form(&[("from", "0815"), ("text", "x"), ("ref", "1"), ("part", "satu"), ("parts", "2")]).await.unwrap();
    assert_eq!(bad.status(), 422);
    let bad: Value = bad.json().await.unwrap();
    assert!(bad["error"]["message"].as_str().unwrap().contains("`satu` is not a whole number"), "{bad}");
}

/// Text from outside sources meets the same limit as the API's: a webhook
/// message over `ingest.max_text_chars` (a long SMS joined from its parts
/// too) is cut to it rather than stored whole or lost, every free-text field
/// is bounded, and control characters are taken out, on every channel.
#[tokio::test]
async fn outside_text_is_cut_to_the_limit_and_kept_plain() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(), &[]).await;
    let long = |word: &str, n: usize| format!("{word}\u{0}\u{1b}[31m {}", "kata ".repeat(n));
    let check = |report: &Value| {
        let text = report["report"]["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), 20_000, "{}", &text[..100]);
        assert!(text.ends_with('…') && !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        let reporter = &report["report"]["reporter"];
        for field in ["name", "contact"] {
            if let Some(v) = reporter[field].as_str() {
                assert!(v.chars().count() <= 200 && !v.chars().any(char::is_control), "{field}: {} chars", v.len());
            }
        }
    };

    let update = json!({"update_id": 5, "message": {"message_id": 5, "chat": {"id": 77, "type": "private"},
        "from": {"id": 77, "first_name": "n".repeat(100_000), "last_name": "\u{0}x"}, "date": 1764400000,
        "text": long("telegrampanjang", 100_000)}});
    let r = client()
        .post(node.url("/api/v1/ingest/telegram"))
        .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check(&find(&node, "telegrampanjang").await);

    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": "1"},
        "contacts": [{"profile": {"name": "s".repeat(100_000)}, "wa_id": "6281299990000"}],
        "messages": [{"from": "6281299990000", "id": "wamid.long", "timestamp": "1764400000", "type": "text",
                      "text": {"body": long("whatsapppanjang", 100_000)}}]}}]}]}))
    .unwrap();
    let r = client()
        .post(node.url("/api/v1/ingest/whatsapp"))
        .header("content-type", "application/json")
        .header("X-Hub-Signature-256", sign(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check(&find(&node, "whatsapppanjang").await);

    // two parts, each short of the limit, joined over it
    let sms = |body: Value| client().post(node.url("/api/v1/ingest/sms")).bearer_auth(SMS_TOKEN).json(&body).send();
    for part in [1, 2] {
        let text = if part == 1 { long("smspanjang", 3_000) } else { "kata ".repeat(3_000) };
        let r = sms(json!({"from": "0816", "text": text, "ref": 5, "part": part, "parts": 2})).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    check(&find(&node, "smspanjang").await);
    // a message of control characters only makes no report
    let r: Value = sms(json!({"from": "0816", "text": "\u{0}\u{7}"})).await.unwrap().json().await.unwrap();
    assert_eq!(r["accepted"], false, "{r}");
}

/// Feeds are bounded and discreet: an answer over the feed's `max_size` is
/// dropped as it streams in (a 5 MB answer with no length given), an item's
/// text is cut to `ingest.max_text_chars`, and `GET /api/v1/feeds` shows a
/// caller only the feeds within their regions, with URLs stripped of keys
/// and passwords and errors in words.
#[tokio::test]
async fn feeds_are_bounded_and_shown_only_within_the_callers_regions() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // an endless-looking feed, sent without Content-Length
    let big = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let big_addr = big.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = big.accept().await {
            tokio::spawn(async move {
                let _ = stream.read(&mut [0u8; 4096]).await;
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                let _ =
                    stream.write_all(b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title>").await;
                let chunk = "<!-- padding -->".repeat(4096);
                for _ in 0..80 {
                    if stream.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let long_item = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Panjang</title><item><guid>p-1</guid>\
         <title>Berita panjang</title><description>beritapanjang {}</description></item></channel></rss>",
        "kata ".repeat(10_000)
    );
    let app = axum::Router::new()
        .route("/panjang.rss", axum::routing::get(move || async move { long_item }))
        .route("/bukan.html", axum::routing::get(|| async { "<html><body>bukan feed</body></html>" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let closed = common::free_port();
    let feeds = format!(
        "[[feeds]]\nurl = \"{base}/panjang.rss?key=SECRET1\"\ninterval = \"1s\"\nregion = \"72\"\n\
         [[feeds]]\nurl = \"http://{big_addr}/besar.xml\"\ninterval = \"1s\"\nname = \"besar\"\nregion = \"72.71\"\n\
         max_size = \"64 KiB\"\n\
         [[feeds]]\nurl = \"http://budi:SECRET2@127.0.0.1:{closed}/mati.xml?token=SECRET3\"\ninterval = \"1s\"\n\
         name = \"mati\"\n\
         [[feeds]]\nurl = \"{base}/bukan.html\"\ninterval = \"1s\"\nname = \"bukan\"\nregion = \"73\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &feeds, &[]).await;
    let report = find(&node, "beritapanjang").await;
    let text = report["report"]["text"].as_str().unwrap();
    assert_eq!(text.chars().count(), 20_000);
    assert!(text.ends_with('…'));

    let board = eventually(Duration::from_secs(15), || async {
        let (_, b) = call(&node, "GET", "/api/v1/feeds", Some(TOKEN), None).await;
        let all = b["feeds"].as_array()?;
        (all.len() == 4 && all.iter().all(|f| !f["last_poll"].is_null())).then(|| b.clone())
    })
    .await
    .expect("feeds not polled");
    let shown = board.to_string();
    assert!(!shown.contains("SECRET") && !shown.contains("budi"), "{shown}");
    let feed = |name: &str| board["feeds"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap().clone();
    assert_eq!(feed("mati")["url"], format!("http://127.0.0.1:{closed}/mati.xml"));
    assert_eq!(feed("mati")["last_error"], "could not connect");
    assert_eq!(feed("bukan")["last_error"], "not an RSS or Atom feed");
    assert!(feed("besar")["last_error"].as_str().unwrap().starts_with("too large"), "{}", feed("besar"));
    let unnamed = format!("{base}/panjang.rss");
    assert_eq!((feed(&unnamed)["url"].as_str(), feed(&unnamed)["last_error"].clone()), (Some(&*unnamed), Value::Null));
    // the raw error is logged, without the URL's secrets
    let log = node.log();
    assert!(log.contains("refused") && !log.contains("SECRET"), "{log}");

    // an admin of 72 sees 72's feeds; an analyst of 73 only 73's; national feeds only national callers
    let names = |token: String| {
        let node = &node;
        async move {
            let (status, b) = call(node, "GET", "/api/v1/feeds", Some(&token), None).await;
            assert_eq!(status, 200, "{b}");
            let mut names: Vec<String> =
                b["feeds"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect();
            names.sort();
            names
        }
    };
    let admin72 = common::create_user(&node, "admin72", "admin", &["72"]).await;
    let analyst73 = common::create_user(&node, "analis73", "analyst", &["73"]).await;
    assert_eq!(names(admin72).await, vec!["besar".to_owned(), unnamed.clone()]);
    assert_eq!(names(analyst73).await, vec!["bukan".to_owned()]);
}

/// Through the API, no account but a national admin (importing an archive)
/// may claim a channel the server verifies itself; `source` is kept plain and short, and a text of control
/// characters is empty.
#[tokio::test]
async fn api_reports_claim_no_verified_channel_and_carry_no_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(), &[]).await;
    let reporter = create_user_as(&node, TOKEN, json!({"name": "tono", "role": "reporter", "regions": ["72"]})).await;
    let post = |token: String, body: Value| {
        let r = client().post(node.url("/api/v1/reports")).bearer_auth(token).json(&body);
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let message = |v: &Value| v["error"]["message"].as_str().unwrap_or_default().to_owned();
    let regional = create_user_as(&node, TOKEN, json!({"name": "admin-72", "role": "admin", "regions": ["72"]})).await;
    for token in [regional, reporter.clone()] {
        for channel in ["sms", "telegram", "whatsapp", "feed"] {
            let (status, e) =
                post(token.clone(), json!({"text": "ada bentrok", "channel": channel, "region": "72"})).await;
            assert_eq!(status, 422, "{e}");
            assert!(message(&e).starts_with("channel:") && message(&e).contains("app, web, email"), "{e}");
        }
    }
    // a national admin importing another system's archive keeps its channels
    let (status, e) = post(TOKEN.to_owned(), json!({"text": "arsip lama: ada bentrok", "channel": "feed"})).await;
    assert_eq!(status, 202, "{e}");
    let (status, e) = post(reporter.clone(), json!({"text": "\u{0}\u{7} \n\u{1b}"})).await;
    assert_eq!(status, 422, "{e}");
    assert!(message(&e).starts_with("text: is empty"), "{e}");
    let (status, e) = post(reporter.clone(), json!({"text": "x", "source": "s".repeat(201)})).await;
    assert!(status == 422 && message(&e).starts_with("source:"), "{e}");
    let (status, ok) = post(
        reporter,
        json!({"text": "Konvoi\u{0} massa\u{1b}[2J menuju kantor bupati", "channel": "app", "source": "Polda\u{0}\n<script>"}),
    )
    .await;
    assert_eq!(status, 202, "{ok}");
    let report = find(&node, "konvoi").await;
    assert_eq!(report["report"]["source"], "Polda <script>");
    assert_eq!(report["report"]["text"], "Konvoi massa[2J menuju kantor bupati");
}
