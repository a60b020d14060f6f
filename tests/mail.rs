//! Email as a channel and replies to reporters, on a running node: reports
//! read from a real IMAP server (dovecot, from `tests/services/up`) with
//! their attachments, taken once across a restart; receipts, operators'
//! replies and status answers reaching an email reporter through the real
//! SMTP server, and Telegram and SMS reporters through local servers that
//! speak the Bot API and the SMS gateway's protocol.
#![cfg(feature = "services")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Node, TOKEN, call, client, eventually, get_ok};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const TELEGRAM_SECRET: &str = "rahasia-telegram-uji-123";
const BOT_TOKEN: &str = "123456:uji-bot";
const SMS_TOKEN: &str = "rahasia-sms-gateway-uji";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: start the services with tests/services/up"))
}

/// A mail folder of its own on the test IMAP server, so tests run side by side.
struct Folder {
    name: String,
}

/// Sends IMAP commands (each with its tag) and reads to each tagged answer.
async fn imap(commands: &[(&str, Option<&[u8]>)]) {
    let address = env("TEST_KENTONGAN_IMAP");
    let address = address.trim_start_matches("imap://");
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    lines.next_line().await.unwrap().expect("a greeting");
    let login = format!("LOGIN {} {}", env("TEST_KENTONGAN_IMAP_USER"), env("TEST_KENTONGAN_IMAP_PASSWORD"));
    let all = std::iter::once((login.as_str(), None)).chain(commands.iter().copied());
    for (n, (command, literal)) in all.enumerate() {
        let tag = format!("t{n}");
        match literal {
            Some(bytes) => {
                write.write_all(format!("{tag} {command} {{{}}}\r\n", bytes.len()).as_bytes()).await.unwrap();
                let go = lines.next_line().await.unwrap().unwrap();
                assert!(go.starts_with('+'), "{command}: {go}");
                write.write_all(bytes).await.unwrap();
                write.write_all(b"\r\n").await.unwrap();
            }
            None => write.write_all(format!("{tag} {command}\r\n").as_bytes()).await.unwrap(),
        }
        loop {
            let line = lines.next_line().await.unwrap().expect("an answer");
            if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
                assert!(status.starts_with("OK"), "{command}: {line}");
                break;
            }
        }
    }
}

impl Folder {
    async fn new() -> Folder {
        let name = format!("uji-{}", uuid::Uuid::now_v7().simple());
        imap(&[(&format!("CREATE {name}"), None)]).await;
        Folder { name }
    }

    /// Delivers `message` into the folder, unread.
    async fn deliver(&self, message: &[u8]) {
        imap(&[(&format!("APPEND {}", self.name), Some(message))]).await;
    }
}

/// A message from `from`: text, and a PNG when `photo`.
fn message(from: &str, subject: &str, text: &str, photo: bool) -> Vec<u8> {
    let id = uuid::Uuid::now_v7().simple();
    // what the mail server that took it would put on top
    let domain = from.rsplit('@').next().unwrap_or_default();
    let mut m = format!(
        "Authentication-Results: mx.kesbang.example; dmarc=pass header.from={domain}\r\n\
         From: Pak RT <{from}>\r\nTo: lapor@kesbang.example\r\nSubject: {subject}\r\n\
         Date: Mon, 30 Nov 2026 08:00:00 +0800\r\nMessage-ID: <{id}@desa.example>\r\nMIME-Version: 1.0\r\n"
    );
    if photo {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"batas\"\r\n\r\n--batas\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--batas\r\n\
             Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"foto-lokasi.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{PNG_BASE64}\r\n--batas--\r\n"
        ));
    } else {
        m.push_str(&format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"));
    }
    m.into_bytes()
}

/// A 1×1 PNG.
const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// Every message the test SMTP server took for `to`: (subject, text).
fn mail_to(to: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(std::path::Path::new(&env("TEST_KENTONGAN_MAILDIR")).join("new")) else {
        return out;
    };
    for entry in entries.flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let Some(m) = mail_parser::MessageParser::default().parse(&bytes) else { continue };
        let addressed = m.to().and_then(|a| a.first()).and_then(|a| a.address()).is_some_and(|a| a == to);
        if addressed {
            let text = m.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
            out.push((m.subject().unwrap_or_default().to_owned(), text));
        }
    }
    out
}

/// Waits for mail to `to` whose text holds `needle`; returns its text.
async fn mail_with(to: &str, needle: &str, node: &Node) -> String {
    eventually(Duration::from_secs(30), || async {
        mail_to(to).into_iter().map(|(_, text)| text).find(|t| t.contains(needle))
    })
    .await
    .unwrap_or_else(|| panic!("no mail to {to} with `{needle}`: {:?}; log:\n{}", mail_to(to), node.log()))
}

/// The reports by email the admin sees, newest first.
async fn email_reports(node: &Node) -> Vec<Value> {
    let (_, r) = call(node, "GET", "/api/v1/reports?limit=200", Some(TOKEN), None).await;
    r["reports"].as_array().cloned().unwrap_or_default().into_iter().filter(|r| r["channel"] == "email").collect()
}

/// What the local Bot API and SMS gateway were sent.
#[derive(Clone, Default)]
struct Outside {
    telegram: Arc<Mutex<Vec<Value>>>,
    sms: Arc<Mutex<Vec<Value>>>,
    /// The gateway is down (503) for the first SMS with this text.
    sms_down_once: Arc<Mutex<Option<String>>>,
}

/// A local server speaking the Telegram Bot API's `sendMessage` and the
/// `json` SMS gateway preset; returns its base URL.
async fn outside_server(outside: Outside) -> String {
    let (telegram, sms, down) = (outside.telegram.clone(), outside.sms.clone(), outside.sms_down_once.clone());
    let app = axum::Router::new()
        .route(
            &format!("/bot{BOT_TOKEN}/sendMessage"),
            axum::routing::post(move |body: axum::Json<Value>| {
                let telegram = telegram.clone();
                async move {
                    telegram.lock().unwrap().push(body.0.clone());
                    axum::Json(json!({"ok": true, "result": {"message_id": 99, "chat": {"id": body.0["chat_id"]}}}))
                }
            }),
        )
        .route(
            "/sms",
            axum::routing::post(move |body: axum::Json<Value>| {
                let (sms, down) = (sms.clone(), down.clone());
                async move {
                    let mut down = down.lock().unwrap();
                    if down.as_deref().is_some_and(|text| body.0["text"] == text) {
                        *down = None;
                        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": "sibuk"})));
                    }
                    sms.lock().unwrap().push(body.0);
                    (axum::http::StatusCode::OK, axum::Json(json!({"status": "queued"})))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A node reading `folder`, sending mail through the test SMTP server, and
/// Telegram and SMS through `outside`.
async fn start(dir: &std::path::Path, folder: &Folder, outside: &str) -> Node {
    std::fs::write(
        dir.join("rules.toml"),
        "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\n",
    )
    .unwrap();
    let config = format!(
        "[rules]\npath = \"{rules}\"\n\n\
         [email_intake]\nurl = \"{imap}\"\nusername = \"{user}\"\npassword = \"{password}\"\nmailbox = \"{folder}\"\ninterval = \"1s\"\n\
         authserv_id = \"mx.kesbang.example\"\n\n\
         [smtp]\nurl = \"{smtp}\"\nfrom = \"Kentongan <lapor@kesbang.example>\"\n\n\
         [telegram]\nsecret_token = \"{TELEGRAM_SECRET}\"\nbot_token = \"{BOT_TOKEN}\"\napi_url = \"{outside}\"\n\n\
         [sms]\ninbound_token = \"{SMS_TOKEN}\"\n\n\
         [sms_gateway]\nurl = \"{outside}/sms\"\n\n\
         [delivery]\ngroup_window = \"0s\"\nper_recipient_per_hour = 0\n",
        rules = dir.join("rules.toml").display(),
        imap = env("TEST_KENTONGAN_IMAP"),
        user = env("TEST_KENTONGAN_IMAP_USER"),
        password = env("TEST_KENTONGAN_IMAP_PASSWORD"),
        folder = folder.name,
        smtp = env("TEST_KENTONGAN_SMTP"),
    );
    Node::start(dir, &config, &[]).await
}

#[tokio::test]
async fn a_report_by_email_is_taken_once_with_its_photo_and_answered() {
    let dir = tempfile::tempdir().unwrap();
    let folder = Folder::new().await;
    let outside = outside_server(Outside::default()).await;
    let sender = format!("rt05-{}@desa.example", uuid::Uuid::now_v7().simple());
    folder.deliver(&message(&sender, "Bentrok di pasar", "Ada bentrok antarwarga di pasar Inpres.", true)).await;
    let mut node = start(dir.path(), &folder, &outside).await;

    let report = eventually(Duration::from_secs(30), || async { email_reports(&node).await.into_iter().next() })
        .await
        .unwrap_or_else(|| panic!("the email became no report; log:\n{}", node.log()));
    assert_eq!(report["text"], "Ada bentrok antarwarga di pasar Inpres.");
    assert_eq!(report["title"], "Bentrok di pasar");
    assert_eq!(report["reporter"]["contact"], sender.as_str(), "{report}");
    assert_eq!(report["attachments"][0]["content_type"], "image/png", "{report}");
    assert_eq!(report["attachments"][0]["name"], "foto-lokasi.png");
    let photo = client().get(node.url(report["attachments"][0]["url"].as_str().unwrap())).bearer_auth(TOKEN);
    let photo = photo.send().await.unwrap();
    assert_eq!(photo.status(), 200);
    assert!(photo.bytes().await.unwrap().starts_with(b"\x89PNG"));
    // the receipt goes back by email, and is in the report's history
    let receipt = report["receipt"].as_str().unwrap().to_owned();
    let text = mail_with(&sender, &receipt, &node).await;
    assert!(text.starts_with("Laporan diterima, nomor KTN-"), "{text}");
    let id = report["id"].as_str().unwrap().to_owned();
    let history = eventually(Duration::from_secs(15), || async {
        let h = get_ok(&node, &format!("/api/v1/reports/{id}/replies")).await?;
        (h["replies"][0]["state"] == "sent").then_some(h)
    })
    .await
    .unwrap_or_else(|| panic!("the receipt is not recorded as sent; log:\n{}", node.log()));
    assert_eq!(history["replies"][0]["by"], "kentongan");
    assert_eq!(history["replies"][0]["channel"], "email");

    // a kill -9 and a restart: the message is not taken again. A second
    // message, delivered after, is the positive signal that the mailbox
    // was read again (messages are taken in order).
    node.kill9();
    folder.deliver(&message(&sender, "Susulan", "Warga sudah tenang, polisi berjaga.", false)).await;
    drop(node);
    let node = start(dir.path(), &folder, &outside).await;
    let both = eventually(Duration::from_secs(30), || async {
        let all = email_reports(&node).await;
        all.iter().any(|r| r["text"] == "Warga sudah tenang, polisi berjaga.").then_some(all)
    })
    .await
    .unwrap_or_else(|| panic!("the second email became no report; log:\n{}", node.log()));
    assert_eq!(both.len(), 2, "{both:?}");

    // status by receipt number, by email: the sender hears it; another
    // sender asking the same number hears nothing about it
    folder.deliver(&message(&sender, &format!("status {receipt}"), "", false)).await;
    let answer = mail_with(&sender, &format!("Laporan {receipt} sudah diterima"), &node).await;
    assert!(answer.contains("Terima kasih"), "{answer}");
    let stranger = format!("orang-lain-{}@desa.example", uuid::Uuid::now_v7().simple());
    folder.deliver(&message(&stranger, &format!("cek {receipt}"), "", false)).await;
    let refused = mail_with(&stranger, "tidak ditemukan untuk pengirim ini", &node).await;
    assert!(!refused.contains("sudah diterima"), "{refused}");
    // status questions are no reports
    assert_eq!(email_reports(&node).await.len(), 2);

    // a sender whose address is an account's reports as that account, in its region
    let officer = format!("babinsa-{}@kesbang.example", uuid::Uuid::now_v7().simple());
    let body = json!({"name": "babinsa-uji", "role": "reporter", "regions": ["72.71"], "email": officer});
    common::create_user_as(&node, TOKEN, body).await;
    folder.deliver(&message(&officer, "Patroli", "Patroli malam di Tatanga aman.", false)).await;
    let filed = eventually(Duration::from_secs(30), || async {
        email_reports(&node).await.into_iter().find(|r| r["text"] == "Patroli malam di Tatanga aman.")
    })
    .await
    .unwrap_or_else(|| panic!("the officer's email became no report; log:\n{}", node.log()));
    assert_eq!(filed["reporter"]["account"], "babinsa-uji", "{filed}");
    assert_eq!(filed["region"], "72.71");
}

#[tokio::test]
async fn replies_reach_email_telegram_and_sms_reporters_and_status_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let folder = Folder::new().await;
    let outside = Outside::default();
    let base = outside_server(outside.clone()).await;
    let node = start(dir.path(), &folder, &base).await;
    let sender = format!("rt07-{}@desa.example", uuid::Uuid::now_v7().simple());
    folder.deliver(&message(&sender, "Jalan rusak", "Jembatan desa retak, warga khawatir.", false)).await;
    // a Telegram report through the webhook
    let update = json!({"update_id": 1, "message": {
        "message_id": 1365, "from": {"id": 4242, "first_name": "Andi"}, "chat": {"id": 4242, "type": "private"},
        "date": 1764400000, "text": "Ada keributan di terminal Mamboro"}});
    let telegram = |body: Value| {
        client()
            .post(node.url("/api/v1/ingest/telegram"))
            .header("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET)
            .json(&body)
            .send()
    };
    let answer: Value = telegram(update).await.unwrap().json().await.unwrap();
    let telegram_receipt = answer["text"].as_str().unwrap().split_whitespace().nth(3).unwrap().trim_end_matches('.');
    let telegram_receipt = telegram_receipt.to_owned();
    // an SMS report in the keyword form, in a region where one report of sabu raises an alert
    let sms = |body: Value| client().post(node.url("/api/v1/ingest/sms")).bearer_auth(SMS_TOKEN).json(&body).send();
    let answer: Value =
        sms(json!({"from": "0812-7777-0001", "text": "LAPOR 72.71 ada pesta sabu di gang", "id": "sms-uji-1"}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(answer["accepted"], true, "{answer}");
    let sms_id = answer["id"].as_str().unwrap().to_owned();
    let sms_receipt = answer["reply"].as_str().unwrap().split_whitespace().nth(3).unwrap().trim_end_matches('.');
    let sms_receipt = sms_receipt.to_owned();

    // every report classified: the admin sees all three
    let reports = eventually(Duration::from_secs(30), || async {
        let (_, r) = call(&node, "GET", "/api/v1/reports?limit=200", Some(TOKEN), None).await;
        let all = r["reports"].as_array()?.clone();
        let by = |channel: &str| all.iter().find(|r| r["channel"] == channel).cloned();
        Some((by("email")?, by("telegram")?, by("sms")?))
    })
    .await
    .unwrap_or_else(|| panic!("not every report arrived; log:\n{}", node.log()));
    let (email, tg, text_message) = reports;
    assert_eq!(text_message["id"], sms_id.as_str());

    // an operator's note goes back over each report's own channel
    for (report, note) in [
        (&email, "Terima kasih, petugas PU sudah dijadwalkan memeriksa jembatan."),
        (&tg, "Terima kasih, polisi sudah di terminal."),
        (&text_message, "Terima kasih, laporan diteruskan ke BNN."),
    ] {
        let path = format!("/api/v1/reports/{}/replies", report["id"].as_str().unwrap());
        let (status, made) = call(&node, "POST", &path, Some(TOKEN), Some(json!({"text": note}))).await;
        assert_eq!(status, 202, "{made}");
        assert_eq!(made["state"], "pending");
        assert_eq!(made["by"], "admin");
    }
    mail_with(&sender, "petugas PU sudah dijadwalkan", &node).await;
    let sent = eventually(Duration::from_secs(30), || async {
        let all = outside.telegram.lock().unwrap().clone();
        all.into_iter().find(|m| m["text"] == "Terima kasih, polisi sudah di terminal.")
    })
    .await
    .unwrap_or_else(|| panic!("no sendMessage reached the bot API; log:\n{}", node.log()));
    assert_eq!(sent["chat_id"], "4242");
    assert_eq!(sent["reply_parameters"]["message_id"], 1365);
    let texted = eventually(Duration::from_secs(30), || async {
        let all = outside.sms.lock().unwrap().clone();
        all.into_iter().find(|m| m["text"] == "Terima kasih, laporan diteruskan ke BNN.")
    })
    .await
    .unwrap_or_else(|| panic!("no SMS reached the gateway; log:\n{}", node.log()));
    assert_eq!(texted["to"], "+6281277770001");
    // the history: who sent what, and that it went out
    let path = format!("/api/v1/reports/{}/replies", tg["id"].as_str().unwrap());
    let history = eventually(Duration::from_secs(15), || async {
        let h = get_ok(&node, &path).await?;
        (h["replies"][0]["state"] == "sent").then_some(h)
    })
    .await
    .unwrap_or_else(|| panic!("the reply is not recorded as sent; log:\n{}", node.log()));
    assert_eq!(history["replies"][0]["deliveries"][0]["attempt"], 1);
    assert_eq!(history["replies"][0]["to"], "4242");

    // the reporters of an alert's reports: the sabu SMS raised one in 72.71;
    // the gateway is down for the first attempt, and the reply is sent again
    *outside.sms_down_once.lock().unwrap() = Some("Petugas sudah di lokasi.".to_owned());
    let alert = common::alert_for(&node, "72.71").await;
    let path = format!("/api/v1/alerts/{}/replies", alert["id"].as_str().unwrap());
    let (status, made) =
        call(&node, "POST", &path, Some(TOKEN), Some(json!({"text": "Petugas sudah di lokasi."}))).await;
    assert_eq!(status, 202, "{made}");
    assert_eq!(made["replies"].as_array().unwrap().len(), 1, "{made}");
    eventually(Duration::from_secs(30), || async {
        outside.sms.lock().unwrap().iter().any(|m| m["text"] == "Petugas sudah di lokasi.").then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("the alert's reporter got no SMS; log:\n{}", node.log()));
    let path = format!("/api/v1/reports/{sms_id}/replies");
    let history = eventually(Duration::from_secs(15), || async {
        let h = get_ok(&node, &path).await?;
        let of_alert = h["replies"].as_array()?.iter().find(|r| r["alert"] == alert["id"])?.clone();
        (of_alert["state"] == "sent").then_some(of_alert)
    })
    .await
    .unwrap_or_else(|| panic!("the retried reply is not recorded as sent; log:\n{}", node.log()));
    let deliveries = history["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{history}");
    assert_eq!(deliveries[0]["state"], "retrying");
    assert!(deliveries[0]["error"].as_str().unwrap().contains("503"), "{history}");
    assert_eq!(deliveries[1]["state"], "sent");
    // sent once: the gateway took it once
    let taken = outside.sms.lock().unwrap().iter().filter(|m| m["text"] == "Petugas sudah di lokasi.").count();
    assert_eq!(taken, 1);

    // a report made through the API has no sender to answer; a bad note is refused
    let (_, web) = common::post_report(&node, json!({"text": "laporan dari web", "region": "72.71"})).await;
    let web_id = web["id"].as_str().unwrap().to_owned();
    let unreachable = eventually(Duration::from_secs(20), || async {
        let path = format!("/api/v1/reports/{web_id}/replies");
        let (status, body) = call(&node, "POST", &path, Some(TOKEN), Some(json!({"text": "halo"}))).await;
        (status != 404).then_some((status, body))
    })
    .await
    .unwrap();
    assert_eq!(unreachable.0, 422, "{:?}", unreachable.1);
    assert_eq!(unreachable.1["error"]["code"], "unreachable");
    let path = format!("/api/v1/reports/{}/replies", tg["id"].as_str().unwrap());
    let (status, body) = call(&node, "POST", &path, Some(TOKEN), Some(json!({"text": "  "}))).await;
    assert_eq!(status, 422, "{body}");
    // an analyst may not send replies, nor read who they went to
    let analyst = common::create_user(&node, "analis-uji", "analyst", &["72"]).await;
    assert_eq!(call(&node, "GET", &path, Some(&analyst), None).await.0, 403);

    // status by receipt number, over the same channel, for one's own report only
    let status = json!({"update_id": 2, "message": {
        "message_id": 1366, "from": {"id": 4242, "first_name": "Andi"}, "chat": {"id": 4242, "type": "private"},
        "date": 1764400100, "text": format!("/status {telegram_receipt}")}});
    let answer: Value = telegram(status).await.unwrap().json().await.unwrap();
    assert_eq!(answer["text"], format!("Laporan {telegram_receipt} sudah diterima dan dicatat petugas. Terima kasih."));
    let stranger = json!({"update_id": 3, "message": {
        "message_id": 5, "from": {"id": 777, "first_name": "B"}, "chat": {"id": 777, "type": "private"},
        "date": 1764400100, "text": format!("/status {telegram_receipt}")}});
    let answer: Value = telegram(stranger).await.unwrap().json().await.unwrap();
    assert!(answer["text"].as_str().unwrap().contains("tidak ditemukan untuk pengirim ini"), "{answer}");
    let asked: Value = sms(json!({"from": "0812-7777-0001", "text": format!("cek {sms_receipt}")}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(asked["id"], Value::Null, "a status request makes no report: {asked}");
    let reply = asked["reply"].as_str().unwrap();
    assert!(reply.starts_with(&format!("Laporan {sms_receipt} sudah diterima dan masuk dalam peringatan")), "{reply}");
    let asked: Value = sms(json!({"from": "0813-0000-0000", "text": format!("status {sms_receipt}")}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(asked["reply"].as_str().unwrap().contains("tidak ditemukan"), "{asked}");
}
