//! End-to-end tests against the real services that `tests/services/up`
//! starts: a Kafka-protocol broker (tansu), ClickHouse and an SMTP server.
//! Run them with `tests/run`, or by hand:
//! `tests/services/up && . /tmp/kentongan-services/env && cargo test --features services`.
#![cfg(feature = "services")]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use bus::{Bus, KafkaConfig, Topic};
use common::{Node, TOKEN, call, client, create_user, eventually, get_ok, post_report};
use serde_json::json;

fn service(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: start the services with tests/services/up and source its env file")
    })
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

fn kafka_config(prefix: &str) -> KafkaConfig {
    let toml = format!(
        "brokers = \"{}\"\ntopic_prefix = \"{prefix}\"\npartitions = 3\nsession_timeout = \"3s\"\nproduce_timeout = \"5s\"\n",
        service("TEST_KENTONGAN_KAFKA")
    );
    toml::from_str(&toml).unwrap()
}

#[tokio::test]
async fn kafka_bus_commits_and_resumes_without_loss() {
    let prefix = unique("bus-");
    let bus = Bus::Kafka(bus::kafka::KafkaBus::connect(kafka_config(&prefix)).await.unwrap());
    for i in 0..30 {
        let key = ["72", "73", "31"][i % 3];
        bus.publish(Topic::Reports, key, format!("r{i}").as_bytes()).await.unwrap();
    }
    // first consumer takes 10 and commits them, then goes away
    let mut seen = Vec::new();
    {
        let mut sub = bus.subscribe(Topic::Reports, "g").await.unwrap();
        let mut taken = Vec::new();
        while taken.len() < 10 {
            taken.push(tokio::time::timeout(Duration::from_secs(30), sub.next()).await.unwrap().unwrap());
        }
        sub.commit_all(&taken).await.unwrap();
        seen.extend(taken.into_iter().map(|r| String::from_utf8(r.payload).unwrap()));
    }
    // a new member of the group continues after the commit: nothing lost, nothing twice
    let mut sub = bus.subscribe(Topic::Reports, "g").await.unwrap();
    while seen.len() < 30 {
        let r = tokio::time::timeout(Duration::from_secs(30), sub.next()).await.expect("records missing").unwrap();
        seen.push(String::from_utf8(r.payload).unwrap());
    }
    seen.sort();
    let mut want: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
    want.sort();
    assert_eq!(seen, want);
    // and a replay sees every record from the start
    let mut replay = bus.replay(Topic::Reports).await.unwrap();
    let mut n = 0;
    while n < 30 {
        tokio::time::timeout(Duration::from_secs(30), replay.next()).await.unwrap().unwrap();
        n += 1;
    }
}

/// Reads every message the SMTP server has stored.
fn mailbox() -> Vec<mail_parser::Message<'static>> {
    let dir = PathBuf::from(service("TEST_KENTONGAN_MAILDIR")).join("new");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .filter_map(|bytes| mail_parser::MessageParser::default().parse(&bytes).map(|m| m.into_owned()))
        .collect()
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct Row {
    #[serde(with = "clickhouse::serde::uuid")]
    id: uuid::Uuid,
    region: String,
    province: String,
    regency: String,
    indicators: Vec<String>,
    text: String,
}

/// A report posted to the ingest node travels through the broker, is
/// classified, and shows up in search (tantivy), in ClickHouse, and as an
/// email at the unit, with each stage in a process of its own.
#[tokio::test]
async fn a_report_reaches_search_clickhouse_and_email_through_kafka() {
    let prefix = unique("e2e-");
    let database = unique("e2e_");
    let recipient = format!("{}@kesbangpol.example.test", unique("unit-"));
    let root = tempfile::tempdir().unwrap();
    let rules = root.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"narkoba.sabu\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n\n\
         [threshold.narkoba]\nwindow = \"24h\"\nwaspada = 1\n",
    )
    .unwrap();
    let config = format!(
        "[kafka]\nbrokers = \"{kafka}\"\ntopic_prefix = \"{prefix}\"\npartitions = 3\nsession_timeout = \"3s\"\n\n\
         [clickhouse]\nurl = \"{ch}\"\ndatabase = \"{database}\"\n\n\
         [smtp]\nurl = \"{smtp}\"\nfrom = \"Kentongan <kentongan@example.test>\"\n\n\
         [rules]\npath = \"{rules}\"\n\n\
         [auth]\nlink_secret = \"rahasia-tautan-bersama-untuk-uji-e2e-0123\"\n\n\
         [delivery]\ngroup_window = \"0s\"\n",
        kafka = service("TEST_KENTONGAN_KAFKA"),
        ch = service("TEST_KENTONGAN_CLICKHOUSE"),
        smtp = service("TEST_KENTONGAN_SMTP"),
        rules = rules.display(),
    );
    let ingest = Node::start(&root.path().join("ingest"), &config, &["ingest"]).await;
    let _classifier = Node::start(&root.path().join("classifier"), &config, &["classifier"]).await;
    let api = Node::start(&root.path().join("api"), &config, &["indexer", "api"]).await;
    let alerter = Node::start(&root.path().join("alerter"), &config, &["alerter"]).await;

    let unit = client()
        .post(api.url("/api/v1/units"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Kesbangpol Sulawesi Tengah", "regions": ["72"], "indicators": ["narkoba"], "emails": [recipient]}))
        .send()
        .await
        .unwrap();
    assert_eq!(unit.status(), 201, "{}", unit.text().await.unwrap());

    let text = "Warga melaporkan pesta sabu setiap malam di rumah kontrakan dekat pasar";
    let (status, body) = post_report(&ingest, json!({"text": text, "region": "72.71.02"})).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();

    // 1. search, over the index the api node keeps
    let hit = eventually(Duration::from_secs(60), || async {
        let r = get_ok(&api, "/api/v1/search?q=sabu").await?;
        r["hits"].as_array()?.iter().find(|h| h["id"] == id.as_str()).cloned()
    })
    .await
    .unwrap_or_else(|| panic!("not searchable; api log:\n{}", api.log()));
    assert_eq!(hit["indicators"], json!(["narkoba"]));

    // 2. ClickHouse, read back as typed rows
    let ch = clickhouse::Client::default()
        .with_url(service("TEST_KENTONGAN_CLICKHOUSE"))
        .with_database(&database)
        .with_validation(false);
    let uuid: uuid::Uuid = id.parse().unwrap();
    let rows: Vec<Row> = eventually(Duration::from_secs(30), || async {
        let rows: Vec<Row> =
            ch.query("SELECT ?fields FROM reports FINAL WHERE id = ?").bind(uuid).fetch_all().await.ok()?;
        (!rows.is_empty()).then_some(rows)
    })
    .await
    .expect("no row in ClickHouse");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, uuid);
    assert_eq!(
        (rows[0].region.as_str(), rows[0].province.as_str(), rows[0].regency.as_str()),
        ("72.71.02", "72", "72.71")
    );
    assert_eq!(rows[0].indicators, ["narkoba"]);
    assert_eq!(rows[0].text, text);
    // the trends count from ClickHouse too: Palu's districts, and a day of the district.
    // The rollups are the reports table's views, written after its own part by the
    // same insert, so a question asked at once may come a moment before them
    let breakdown = || async {
        let (status, table) = call(&api, "GET", "/api/v1/stats/breakdown?region=72.71", Some(TOKEN), None).await;
        assert_eq!(status, 200, "{table}");
        table
    };
    let table = eventually(Duration::from_secs(10), || async {
        let table = breakdown().await;
        let district = table["rows"].as_array()?.iter().find(|r| r["region"] == "72.71.02")?.clone();
        (district["counts"]["narkoba"] == 1).then_some(table)
    })
    .await;
    let table = match table {
        Some(table) => table,
        None => breakdown().await,
    };
    assert_eq!((table["source"].as_str(), table["level"].as_str()), (Some("clickhouse"), Some("district")));
    let district = table["rows"].as_array().unwrap().iter().find(|r| r["region"] == "72.71.02").cloned();
    assert_eq!(district.unwrap_or_default()["counts"]["narkoba"], 1, "{table}");
    let (status, series) = call(&api, "GET", "/api/v1/stats/series?region=72.71.02", Some(TOKEN), None).await;
    assert_eq!(status, 200, "{series}");
    let days = series["indicators"]["narkoba"].as_array().unwrap();
    assert_eq!(days.iter().filter_map(|n| n.as_u64()).sum::<u64>(), 1, "{series}");

    // 3. email at the unit: one alert, the district's (the city and the
    //    province raise none for a report from one district)
    let mails = eventually(Duration::from_secs(60), || async {
        let mine: Vec<_> = mailbox()
            .into_iter()
            .filter(|m| m.to().and_then(|t| t.first()).and_then(|a| a.address()) == Some(recipient.as_str()))
            .collect();
        (!mine.is_empty()).then_some(mine)
    })
    .await
    .unwrap_or_else(|| panic!("no email for {recipient}; alerter log:\n{}", alerter.log()));
    let mut subjects: Vec<String> = mails.iter().map(|m| m.subject().unwrap_or_default().to_owned()).collect();
    subjects.sort();
    assert_eq!(subjects, ["[WASPADA] Narkoba - Palu Barat"]);
    let district = &mails[0];
    let body = district.body_text(0).unwrap();
    assert!(body.contains("pesta sabu setiap malam"), "{body}");
    assert!(body.contains("Palu Barat (72.71.02), Sulawesi Tengah"), "{body}");
    assert!(district.body_html(0).is_some(), "no HTML part");

    // 4. the deliveries are recorded on the alert
    let delivered = eventually(Duration::from_secs(30), || async {
        let r = get_ok(&api, "/api/v1/alerts?region=72.71").await?;
        let alert = r["alerts"].as_array()?.iter().find(|a| a["region"] == "72.71.02")?.clone();
        (alert["deliveries"].as_array()?.iter().any(|d| d["recipient"] == recipient.as_str() && d["error"].is_null()))
            .then_some(alert)
    })
    .await
    .expect("delivery not recorded on the alert");
    assert_eq!(delivered["level"], "waspada");
    assert_eq!(delivered["reports"][0]["id"], id.as_str());

    // 5. the email's one-click link acknowledges the alert, once, on any
    //    node that shares auth.link_secret
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/ack-link?token="))
        .unwrap_or_else(|| panic!("no acknowledgement link in:\n{body}"));
    // the HTML part escapes what it quotes, slashes too
    let html = district.body_html(0).unwrap().replace("&#x2f;", "/").replace("&amp;", "&");
    assert!(html.contains(link), "the HTML part lacks the link:\n{html}");
    let path = &link[link.find("/api/").unwrap()..];
    let token = &path[path.find("token=").unwrap() + 6..];
    let opened = client().get(api.url(path)).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains("Terima peringatan ini"));
    let form = |t: &str| {
        client()
            .post(api.url(&path[..path.find('?').unwrap()]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={t}"))
            .send()
    };
    let tampered = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { '1' } else { '0' });
    assert_eq!(form(&tampered).await.unwrap().status(), 403);
    let acked = form(token).await.unwrap();
    assert_eq!(acked.status(), 200);
    assert!(acked.text().await.unwrap().contains("Peringatan diterima"));
    let again = form(token).await.unwrap();
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains(recipient.as_str()));
    let alert_id = delivered["id"].as_str().unwrap();
    let (_, alert) = call(&api, "GET", &format!("/api/v1/alerts/{alert_id}"), Some(TOKEN), None).await;
    assert_eq!(alert["state"], "acknowledged");
    assert_eq!(alert["history"][0]["by"], recipient.as_str());
}

/// Two api nodes, `a` and `b`, sharing topics of their own on the broker;
/// and the topics' prefix.
async fn two_api_nodes(root: &std::path::Path, prefix: &str) -> (Node, Node, String) {
    let prefix = unique(prefix);
    let config = format!(
        "[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{prefix}\"\nsession_timeout = \"3s\"\n",
        service("TEST_KENTONGAN_KAFKA")
    );
    let a = Node::start(&root.join("a"), &format!("node_name = \"a\"\n{config}"), &["api"]).await;
    let b = Node::start(&root.join("b"), &format!("node_name = \"b\"\n{config}"), &["api"]).await;
    (a, b, prefix)
}

/// Several api nodes agree on who may do what: an account made on one is
/// accepted by the other, and a revocation on one holds on the other.
#[tokio::test]
async fn api_nodes_share_accounts_through_kafka() {
    let root = tempfile::tempdir().unwrap();
    let (a, b, _) = two_api_nodes(root.path(), "acct-").await;
    let token = create_user(&a, "analis-bersama", "analyst", &["72"]).await;
    let on_b = eventually(Duration::from_secs(20), || async {
        let (status, me) = call(&b, "GET", "/api/v1/me", Some(&token), None).await;
        (status == 200).then_some(me)
    })
    .await
    .expect("node b never learned the account made on node a");
    assert_eq!(on_b["role"], "analyst");
    let id = on_b["tokens"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&b, "DELETE", &format!("/api/v1/tokens/{id}"), Some(TOKEN), None).await;
    assert_eq!(status, 204);
    eventually(Duration::from_secs(20), || async {
        (call(&a, "GET", "/api/v1/me", Some(&token), None).await.0 == 401).then_some(())
    })
    .await
    .expect("node a still accepts a token revoked on node b");
    // and the audit log of either node shows both changes
    let log = eventually(Duration::from_secs(20), || async {
        let (_, log) = call(&a, "GET", "/api/v1/audit", Some(TOKEN), None).await;
        let actions: Vec<String> =
            log["events"].as_array()?.iter().filter_map(|e| e["action"].as_str().map(str::to_owned)).collect();
        (actions.contains(&"token.revoke".to_owned()) && actions.contains(&"account.create".to_owned()))
            .then_some(actions)
    })
    .await;
    assert!(log.is_some(), "audit events did not reach node a");
}

/// A broker of this test's own, on a free port, killed when dropped.
struct Broker {
    child: std::process::Child,
    port: u16,
}

impl Broker {
    async fn start(port: u16) -> Broker {
        let child = std::process::Command::new(service("TEST_KENTONGAN_TANSU_BIN"))
            .args(["broker", "--storage-engine", "memory://tansu/"])
            .arg("--listener-url")
            .arg(format!("tcp://127.0.0.1:{port}"))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        eventually(Duration::from_secs(10), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
        })
        .await
        .expect("tansu did not start");
        Broker { child, port }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// With the broker gone, intake answers 503 and keeps nothing; once it is
/// back, new reports flow again. (tansu keeps topics in memory, so the
/// restarted broker starts empty, as a replaced node would.)
#[tokio::test]
async fn broker_outage_gives_503_then_reports_flow_again() {
    let mut broker = Broker::start(common::free_port()).await;
    let config = format!(
        "[kafka]\nbrokers = \"127.0.0.1:{}\"\ntopic_prefix = \"{}\"\npartitions = 1\nsession_timeout = \"3s\"\nproduce_timeout = \"2s\"\n",
        broker.port,
        unique("outage-")
    );
    let root = tempfile::tempdir().unwrap();
    let node = Node::start(root.path(), &config, &[]).await;
    let (status, _) = post_report(&node, json!({"text": "sebelum gangguan: pesta sabu"})).await;
    assert_eq!(status, 202);

    broker.kill();
    let r = client()
        .post(node.url("/api/v1/reports"))
        .bearer_auth(TOKEN)
        .json(&json!({"text": "selama gangguan: bentrok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], "unavailable");
    assert_eq!(client().get(node.url("/readyz")).send().await.unwrap().status(), 503);

    let _broker = Broker::start(broker.port).await;
    let id = eventually(Duration::from_secs(60), || async {
        let (status, body) = post_report(&node, json!({"text": "setelah pulih: tawuran pelajar"})).await;
        (status == 202).then(|| body["id"].as_str().unwrap().to_owned())
    })
    .await
    .expect("intake did not recover");
    let found = eventually(Duration::from_secs(60), || async {
        let (_, r) = call(&node, "GET", "/api/v1/search?q=tawuran", Some(TOKEN), None).await;
        r["hits"].as_array()?.iter().any(|h| h["id"] == id.as_str()).then_some(())
    })
    .await;
    assert!(found.is_some(), "reports do not flow after the broker came back; log:\n{}", node.log());
    let (_, during) = call(&node, "GET", "/api/v1/search?q=gangguan+bentrok", Some(TOKEN), None).await;
    assert_eq!(during["total"], 0, "a refused report was kept: {during}");
}

/// With `[attachments.s3]`, photos go to the S3-compatible store (moto's
/// server in tests) before the report is accepted.
#[tokio::test]
async fn attachments_go_to_an_s3_compatible_store() {
    let endpoint = service("TEST_KENTONGAN_S3");
    let bucket = unique("lampiran-");
    // moto makes a bucket on a plain PUT
    let made = client().put(format!("{endpoint}/{bucket}")).send().await.unwrap();
    assert!(made.status().is_success(), "{}", made.status());
    let config = format!(
        "[attachments.s3]\nendpoint = \"{endpoint}\"\nbucket = \"{bucket}\"\naccess_key_id = \"uji\"\n\
         secret_access_key = \"rahasia\"\nprefix = \"kentongan/\"\n"
    );
    let root = tempfile::tempdir().unwrap();
    let node = Node::start(root.path(), &config, &[]).await;
    let png: Vec<u8> = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1,
        8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
    ];
    let form = reqwest::multipart::Form::new()
        .text("report", r#"{"text":"Coretan provokatif di tembok sekolah","region":"72.71"}"#)
        .part("file", reqwest::multipart::Part::bytes(png.clone()).file_name("coretan.png"));
    let r = client().post(node.url("/api/v1/reports")).bearer_auth(TOKEN).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/reports/{id}");
    let report = eventually(Duration::from_secs(15), || get_ok(&node, &path)).await.expect("report not archived");
    let location = report["report"]["attachments"][0]["location"].as_str().unwrap().to_owned();
    let key = location.strip_prefix(&format!("s3://{bucket}/")).expect("not in the bucket");
    assert!(key.starts_with("kentongan/"), "{key}");
    use object_store::ObjectStoreExt;
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&endpoint)
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("uji")
        .with_secret_access_key("rahasia")
        .with_allow_http(true)
        .build()
        .unwrap();
    let stored = store.get(&object_store::path::Path::from(key)).await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.as_ref(), png.as_slice());
    // and the api role serves it back from the bucket
    let r = client().get(node.url(&format!("{path}/attachments/0"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
    assert!(!root.path().join("data/attachments").exists(), "kept on local disk too");
}

/// An alert's lifecycle lives on the `alerts` topic: acknowledged and
/// followed up on one api node, the other shows the same steps.
#[tokio::test]
async fn api_nodes_share_an_alerts_lifecycle_through_kafka() {
    let root = tempfile::tempdir().unwrap();
    let (a, b, prefix) = two_api_nodes(root.path(), "life-").await;
    let bus = Bus::Kafka(bus::kafka::KafkaBus::connect(kafka_config(&prefix)).await.unwrap());
    let alert = model::Alert { id: uuid::Uuid::now_v7(), ..model::Alert::example(time::OffsetDateTime::now_utc()) };
    let id = alert.id.to_string();
    bus.publish(Topic::Alerts, &alert.key.clone(), &model::wire::encode(&model::AlertEvent::Raised { alert }))
        .await
        .unwrap();
    let path = format!("/api/v1/alerts/{id}");
    for node in [&a, &b] {
        let seen = eventually(Duration::from_secs(30), || async {
            (call(node, "GET", &path, Some(TOKEN), None).await.0 == 200).then_some(())
        })
        .await;
        assert!(seen.is_some(), "the alert did not reach a node");
    }
    // node b's alert stream, open before the steps are taken on node a
    let mut stream = client().get(b.url("/api/v1/alerts/stream")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut heard = String::new();
    let mut hear = async |until: &str| {
        while !heard.contains(until) {
            let chunk = tokio::time::timeout(Duration::from_secs(30), stream.chunk()).await;
            let chunk = chunk.expect("node b's stream heard nothing").unwrap().expect("node b's stream ended");
            heard.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    hear("event: ready").await;
    let (status, _) = call(&a, "POST", &format!("{path}/ack"), Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let (status, _) =
        call(&a, "POST", &format!("{path}/progress"), Some(TOKEN), Some(json!({"note": "Tim ke lokasi"}))).await;
    assert_eq!(status, 200);
    // the steps taken on a reach b's stream through the log
    hear("\"state\":\"in_progress\"").await;
    let on_b = eventually(Duration::from_secs(30), || async {
        let (_, r) = call(&b, "GET", &path, Some(TOKEN), None).await;
        (r["state"] == "in_progress").then_some(r)
    })
    .await
    .expect("node b never saw the steps taken on node a");
    assert_eq!(on_b["history"][1]["note"], "Tim ke lokasi");
    // and b may go on from there: a step a has already taken is refused on b too
    let (status, _) = call(&b, "POST", &format!("{path}/ack"), Some(TOKEN), None).await;
    assert_eq!(status, 409);
    let (status, _) = call(&b, "POST", &format!("{path}/resolve"), Some(TOKEN), None).await;
    assert_eq!(status, 200);
}

/// Each search replica reads the whole log under a consumer group named
/// after its node. Two processes given one `node_name` (two roles started on
/// one host with the default name) would share the group and each search
/// only part of the reports, silently; the replica says so instead.
#[tokio::test]
async fn two_nodes_with_one_node_name_are_told_their_search_replicas_are_partial() {
    let root = tempfile::tempdir().unwrap();
    let config = format!(
        "node_name = \"same\"\n[kafka]\nbrokers = \"{}\"\ntopic_prefix = \"{}\"\npartitions = 3\nsession_timeout = \"3s\"\n",
        service("TEST_KENTONGAN_KAFKA"),
        unique("samename-")
    );
    let a = Node::start(&root.path().join("a"), &config, &[]).await;
    let b = Node::start(&root.path().join("b"), &config, &[]).await;
    let body = json!({"text": "Pesta sabu digerebek warga", "region": "72.71"});
    let (status, _) = call(&a, "POST", "/api/v1/reports", Some(TOKEN), Some(body)).await;
    assert_eq!(status, 202);
    let told = eventually(Duration::from_secs(120), || async {
        [&a, &b].iter().any(|n| n.log().contains("another running node has the same node_name")).then_some(())
    })
    .await;
    assert!(told.is_some(), "neither node said its search replica is partial:\n{}\n{}", a.log(), b.log());
}
