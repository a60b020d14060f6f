//! Several copies of each stage over the real broker (`tests/services/up`):
//! idempotency keys that every ingest node recognises, and threshold windows
//! that move with their partitions when a classifier dies or comes back.
//! Run: `. /tmp/kentongan-services/env && cargo test --features services --test scale`.
#![cfg(feature = "services")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bus::{Bus, KafkaConfig, Topic};
use common::{Node, TOKEN, client, eventually};
use serde_json::{Value, json};

fn service(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: start the services with tests/services/up and source its env file")
    })
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

/// The `[kafka]` section of a node on the harness's broker, topics under `prefix`.
fn kafka_section(prefix: &str) -> String {
    kafka_section_at(&service("TEST_KENTONGAN_KAFKA"), prefix)
}

/// The `[kafka]` section of a node on `brokers`, topics under `prefix`.
fn kafka_section_at(brokers: &str, prefix: &str) -> String {
    format!(
        "[kafka]\nbrokers = \"{brokers}\"\ntopic_prefix = \"{prefix}\"\npartitions = 3\nsession_timeout = \"3s\"\nproduce_timeout = \"5s\"\n"
    )
}

async fn bus(prefix: &str) -> Bus {
    bus_at(&service("TEST_KENTONGAN_KAFKA"), prefix).await
}

async fn bus_at(brokers: &str, prefix: &str) -> Bus {
    let toml = kafka_section_at(brokers, prefix).replace("[kafka]\n", "");
    let config: KafkaConfig = toml::from_str(&toml).unwrap();
    Bus::Kafka(bus::kafka::KafkaBus::connect(config).await.unwrap())
}

/// Every record `topic` holds now (read to its exact end), as JSON.
async fn records(bus: &Bus, topic: Topic) -> Vec<Value> {
    let (records, _) = bus.catch_up(topic).await.unwrap();
    records.iter().map(|r| serde_json::from_slice(&r.payload).unwrap()).collect()
}

/// A rules file in `dir` with one rule (`sabu`, indicator `narkoba`) and
/// its threshold over 24 hours at `levels` (TOML lines, `\n`-separated).
fn sabu_rules(dir: &std::path::Path, levels: &str) -> std::path::PathBuf {
    let rules = dir.join("rules.toml");
    let toml = format!(
        "[[rule]]\nid = \"narkoba.sabu\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n\n\
         [threshold.narkoba]\nwindow = \"24h\"\n{levels}"
    );
    std::fs::write(&rules, toml).unwrap();
    rules
}

/// The config of a Kafka-path node that streams through whole: `kafka` (its
/// `[kafka]` section), ClickHouse `database`, the harness's SMTP, the `rules`
/// file, one link secret for all, every alert mailed on its own, no rate limits.
fn kafka_node_config(kafka: &str, database: &str, rules: &std::path::Path) -> String {
    format!(
        "{kafka}\n[clickhouse]\nurl = \"{ch}\"\ndatabase = \"{database}\"\n\n\
         [smtp]\nurl = \"{smtp}\"\nfrom = \"Kentongan <kentongan@example.test>\"\n\n\
         [rules]\npath = \"{rules}\"\n\n\
         [auth]\nlink_secret = \"rahasia-tautan-bersama-untuk-uji-skala-0123\"\n\n\
         [delivery]\ngroup_window = \"0s\"\nper_recipient_per_hour = 0\n\n\
         [ingest]\nrate_per_account = 0\n",
        ch = service("TEST_KENTONGAN_CLICKHOUSE"),
        smtp = service("TEST_KENTONGAN_SMTP"),
        rules = rules.display(),
    )
}

/// POSTs a report to `node` with an `Idempotency-Key`.
async fn post_keyed(node: &Node, key: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(node.url("/api/v1/reports"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A retry that reaches another ingest node is recognised there: one report,
/// the same id and receipt; the same key with another body is refused on
/// either node; two attempts racing on two nodes make one report.
#[tokio::test]
async fn an_idempotency_key_is_recognised_by_every_ingest_node() {
    let prefix = unique("idem-");
    let root = tempfile::tempdir().unwrap();
    let config = kafka_section(&prefix);
    let a = Node::start(&root.path().join("a"), &format!("node_name = \"a\"\n{config}"), &["ingest"]).await;
    let b = Node::start(&root.path().join("b"), &format!("node_name = \"b\"\n{config}"), &["ingest"]).await;
    let text = format!("Pesta sabu di rumah kontrakan {}", unique(""));
    let body = json!({"text": text, "region": "72.71.02"});

    let (status, first) = post_keyed(&a, "hp-budi-1", &body).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["duplicate"], false);
    let (status, again) = post_keyed(&b, "hp-budi-1", &body).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!((&again["id"], &again["receipt"], &again["duplicate"]), (&first["id"], &first["receipt"], &json!(true)));
    // and once more on a: its own store knows it too
    let (_, third) = post_keyed(&a, "hp-budi-1", &body).await;
    assert_eq!(third["id"], first["id"]);
    // the same key for something else is refused on both nodes
    let other = json!({"text": format!("{text} (lain)"), "region": "72.71.02"});
    for node in [&a, &b] {
        let (status, refused) = post_keyed(node, "hp-budi-1", &other).await;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["error"]["code"], "idempotency_key_reused", "{refused}");
    }

    // two attempts of one key racing on both nodes
    let raced = json!({"text": format!("{text} (balapan)"), "region": "72.71.02"});
    let (on_a, on_b) = tokio::join!(post_keyed(&a, "hp-budi-2", &raced), post_keyed(&b, "hp-budi-2", &raced));
    assert_eq!((on_a.0, on_b.0), (202, 202), "{on_a:?} {on_b:?}");
    assert_eq!(on_a.1["id"], on_b.1["id"]);
    assert_ne!(on_a.1["duplicate"], on_b.1["duplicate"], "exactly one of the two is the first: {on_a:?} {on_b:?}");

    let bus = bus(&prefix).await;
    let reports = records(&bus, Topic::Reports).await;
    let ours = |t: &str| reports.iter().filter(|r| r["text"] == t).map(|r| r["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ours(&text), [first["id"].clone()], "one report for the retried key");
    assert_eq!(ours(raced["text"].as_str().unwrap()), [on_a.1["id"].clone()], "one report for the raced key");
    assert!(ours(other["text"].as_str().unwrap()).is_empty());
}

/// The value of `name` (without labels) on `node`'s /metrics, 0 when absent.
async fn metric(node: &Node, name: &str) -> f64 {
    let Ok(r) = client().get(node.url("/metrics")).bearer_auth(TOKEN).send().await else { return 0.0 };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Regencies of twelve provinces: the reports of each land on the partition
/// of its province, so both classifiers hold some.
const REGENCIES: [&str; 12] =
    ["11.01", "12.01", "13.01", "14.01", "15.01", "16.01", "17.01", "18.01", "19.01", "21.01", "31.01", "32.01"];

/// Posts one `sabu` report to each regency; waits until `n` reports were
/// classified in all by `classifiers`.
async fn round(ingest: &Node, run: &str, classifiers: &[&Node], n: f64) {
    for regency in REGENCIES {
        let body = json!({"text": format!("Pesta sabu lagi di {regency} ({run})"), "region": regency});
        let r = client().post(ingest.url("/api/v1/reports")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 202);
    }
    let done = eventually(Duration::from_secs(60), || async {
        let mut total = 0.0;
        for c in classifiers {
            total += metric(c, "kentongan_classifier_processed_total").await;
        }
        (total >= n).then_some(())
    })
    .await;
    if done.is_none() {
        let logs: Vec<String> = classifiers.iter().map(|c| c.log()).collect();
        panic!("the classifiers did not classify {n} reports:\n{}", logs.join("\n-----\n"));
    }
}

/// What was raised on the topic: (region, level) → (alert ids, counts).
type Raised = BTreeMap<(String, String), (BTreeSet<String>, BTreeSet<u64>)>;

/// The raised alerts on the topic. Each alert's count must be that of the
/// distinct reports it lists: a report counted twice would show.
async fn raised(bus: &Bus) -> Raised {
    let mut out = Raised::new();
    for event in records(bus, Topic::Alerts).await.into_iter().filter(|e| e["event"] == "raised") {
        let alert = &event["alert"];
        let reports: BTreeSet<&str> =
            alert["reports"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(Some(reports.len() as u64), alert["count"].as_u64(), "{alert}");
        let entry = out
            .entry((alert["region"].as_str().unwrap().to_owned(), alert["level"].as_str().unwrap().to_owned()))
            .or_default();
        entry.0.insert(alert["id"].as_str().unwrap().to_owned());
        entry.1.insert(alert["count"].as_u64().unwrap());
    }
    out
}

/// Waits until `n` (region, level) pairs were raised; panics with what was.
async fn raised_n(bus: &Bus, n: usize) -> Raised {
    let alerts = eventually(Duration::from_secs(30), || async {
        let alerts = raised(bus).await;
        (alerts.len() >= n).then_some(alerts)
    })
    .await;
    match alerts {
        Some(alerts) => alerts,
        None => panic!("{n} alerts were not raised: {:?}", raised(bus).await),
    }
}

/// Checks that each (region, level) of `alerts` was raised once, at exactly
/// its count in [`sabu_rules`]' levels 3, 5 and 8; returns the alert ids.
fn each_level_once_at_its_count(alerts: &Raised) -> BTreeSet<String> {
    for ((region, level), (ids, counts)) in alerts {
        let expected = match level.as_str() {
            "waspada" => 3,
            "siaga" => 5,
            _ => 8,
        };
        assert_eq!((ids.len(), counts), (1, &BTreeSet::from([expected])), "{region} {level}");
    }
    alerts.values().flat_map(|(ids, _)| ids.iter().cloned()).collect()
}

/// The mails to `recipient` by alert id, once every one of `ids` has one
/// (or after two minutes, what there is).
async fn mailed(recipient: &str, ids: &BTreeSet<String>) -> BTreeMap<String, usize> {
    eventually(Duration::from_secs(120), || async {
        let mails = mails_to(recipient);
        ids.iter().all(|id| mails.contains_key(id)).then_some(mails)
    })
    .await
    .unwrap_or_else(|| mails_to(recipient))
}

/// The partitions a classifier said it held last, when it holds some.
fn holds(node: &Node) -> Option<String> {
    let log = node.log();
    let line = log.lines().rev().find(|l| l.contains("windows handed over"))?;
    let held = line.split("partitions=").nth(1)?.split(']').next()?.to_owned() + "]";
    (held != "[]").then_some(held)
}

/// Two classifiers share `reports`; one is killed with -9 and comes back.
/// Each time the partitions move, their windows move with them: every
/// threshold fires once, at exactly its count. (Before, the survivor counted
/// a moved province from the windows it had read at its own start: the
/// killed copy's provinces never reached their level.)
#[tokio::test]
async fn threshold_windows_move_with_their_partitions() {
    let prefix = unique("handover-");
    let root = tempfile::tempdir().unwrap();
    let rules = sabu_rules(root.path(), "waspada = 3\nsiaga = 5\n");
    let config = format!("{}\n[rules]\npath = \"{}\"\n", kafka_section(&prefix), rules.display());
    let ingest = Node::start(&root.path().join("ingest"), &config, &["ingest"]).await;
    let mut one = Node::start(&root.path().join("one"), &config, &["classifier"]).await;
    let two = Node::start(&root.path().join("two"), &config, &["classifier"]).await;
    let bus = bus(&prefix).await;

    // both hold partitions before anything is sent
    let both = eventually(Duration::from_secs(60), || async { holds(&one).zip(holds(&two)) }).await;
    assert!(both.is_some(), "the two classifiers did not share the partitions:\n{}\n{}", one.log(), two.log());

    // two reports a province: below waspada (3) everywhere, counted by both copies
    round(&ingest, "1", &[&one, &two], 12.0).await;
    round(&ingest, "2", &[&one, &two], 24.0).await;
    let (by_one, by_two) = (
        metric(&one, "kentongan_classifier_processed_total").await,
        metric(&two, "kentongan_classifier_processed_total").await,
    );
    assert!(by_one > 0.0 && by_two > 0.0, "one copy held every partition ({by_one}, {by_two})");
    // the windows of every regency are saved (a part each: the regency with its districts)
    let saved = eventually(Duration::from_secs(20), || async {
        let parts: BTreeSet<String> =
            records(&bus, Topic::Windows).await.iter().filter_map(|s| s["part"].as_str().map(str::to_owned)).collect();
        REGENCIES.iter().all(|r| parts.contains(*r)).then_some(())
    })
    .await;
    assert!(saved.is_some(), "not every regency's windows were saved");
    assert!(raised(&bus).await.is_empty());

    // the first copy dies; the survivor takes its partitions and their windows
    one.kill9();
    eventually(Duration::from_secs(30), || async { (holds(&two)? == "[0, 1, 2]").then_some(()) })
        .await
        .expect("the survivor did not take the partitions over");
    round(&ingest, "3", &[&two], by_two + 12.0).await;
    let alerts = raised_n(&bus, REGENCIES.len()).await;
    assert_eq!(alerts.len(), REGENCIES.len(), "{alerts:?}");
    for ((region, level), (ids, counts)) in &alerts {
        assert_eq!((level.as_str(), ids.len(), counts), ("waspada", 1, &BTreeSet::from([3])), "{region}");
    }

    // it comes back: the partitions split again, and each moves with its windows
    let one = Node::start(&root.path().join("one"), &config, &["classifier"]).await;
    eventually(Duration::from_secs(60), || async { holds(&one).zip(holds(&two).filter(|h| h != "[0, 1, 2]")) })
        .await
        .expect("the restarted copy took no partitions");
    let before = metric(&two, "kentongan_classifier_processed_total").await;
    round(&ingest, "4", &[&one, &two], before + 12.0).await;
    round(&ingest, "5", &[&one, &two], before + 24.0).await;
    let alerts = raised_n(&bus, 2 * REGENCIES.len()).await;
    assert_eq!(alerts.len(), 2 * REGENCIES.len(), "{alerts:?}");
    for ((region, level), (ids, counts)) in &alerts {
        let expected = if level == "siaga" { 5 } else { 3 };
        assert_eq!((ids.len(), counts), (1, &BTreeSet::from([expected])), "{region} {level}");
    }
    assert!(metric(&one, "kentongan_classifier_processed_total").await > 0.0, "the restarted copy took no reports");
}

/// How many reports the scale-out test streams (`TEST_KENTONGAN_SCALE_REPORTS`).
fn scale_reports() -> usize {
    // The 100,000. It runs on a tansu of the test's own: the
    // harness's memory engine, holding every other test's topics, once spent
    // most of a core while keyed intake fell from about 1,100 to 100
    // reports/s, and the test timed out (BENCHMARKS.md, "The scale-out
    // test's size")
    std::env::var("TEST_KENTONGAN_SCALE_REPORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

/// How many clients post at once in the streaming tests.
const CLIENTS: usize = 32;

/// The messages in the harness's SMTP sink to `recipient`, by alert id (the
/// Message-ID starts with it).
fn mails_to(recipient: &str) -> BTreeMap<String, usize> {
    message_ids_to(recipient).into_iter().map(|(alert, ids)| (alert, ids.values().sum())).collect()
}

/// The mails to `recipient` by alert id, and for each alert how many came
/// with each Message-ID.
fn message_ids_to(recipient: &str) -> BTreeMap<String, BTreeMap<String, usize>> {
    let dir = std::path::PathBuf::from(service("TEST_KENTONGAN_MAILDIR")).join("new");
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(bytes) = std::fs::read(entry.path()) else { continue };
        let Some(message) = mail_parser::MessageParser::default().parse(&bytes) else { continue };
        let to_us = message.to().is_some_and(|to| to.iter().any(|a| a.address() == Some(recipient)));
        if let (true, Some(id)) = (to_us, message.message_id()) {
            let alert = id.split('.').next().unwrap_or_default().to_owned();
            *out.entry(alert).or_default().entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    out
}

/// `SELECT` on the harness's ClickHouse, as tab-separated text.
async fn clickhouse(database: &str, query: &str) -> Option<String> {
    let url = format!("{}/?database={database}", service("TEST_KENTONGAN_CLICKHOUSE"));
    let r = client().post(url).body(query.to_owned()).send().await.ok()?;
    if r.status().is_success() { r.text().await.ok() } else { None }
}

/// Two classifier, two indexer (each with the api, so its search replica can
/// be asked) and two alerter processes share the partitions while a stream
/// of reports goes through one ingest node; a third of the way in, one of
/// each is killed with -9, and two thirds in it comes back. Afterwards every
/// report is in each search replica and in ClickHouse exactly once, every
/// threshold level is raised once at exactly its count, and every alert
/// reaches the unit's mailbox once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_scaled_out_lose_and_double_nothing_under_kill_9() {
    let started = std::time::Instant::now();
    let n = scale_reports();
    let prefix = unique("scale-");
    let database = unique("scale_");
    let recipient = format!("{}@kesbangpol.example.test", unique("unit-"));
    let root = tempfile::tempdir().unwrap();
    let rules = sabu_rules(root.path(), "waspada = 3\nsiaga = 5\nawas = 8\n");
    // a broker of its own, holding only this stream (see `scale_reports`)
    let broker = Broker::in_memory().await;
    let brokers = format!("127.0.0.1:{}", broker.port);
    let config = kafka_node_config(&kafka_section_at(&brokers, &prefix), &database, &rules);
    let start = |name: &'static str, roles: &'static [&'static str]| {
        let (dir, config) = (root.path().join(name), format!("node_name = \"{name}\"\n{config}"));
        async move { Node::start(&dir, &config, roles).await }
    };
    let ingest = start("ingest", &["ingest"]).await;
    let mut classifier_1 = start("classifier-1", &["classifier"]).await;
    let _classifier_2 = start("classifier-2", &["classifier"]).await;
    let mut indexer_1 = start("indexer-1", &["indexer", "api"]).await;
    let indexer_2 = start("indexer-2", &["indexer", "api"]).await;
    // the unit before the alerters, which load the units before they take
    // alerts: an alert taken before its unit is known has nobody to go to
    let provinces: Vec<&str> = REGENCIES.iter().map(|r| &r[..2]).collect();
    let unit = json!({"name": "Kesbangpol", "regions": provinces, "indicators": ["narkoba"], "emails": [recipient]});
    let r = client().post(indexer_2.url("/api/v1/units")).bearer_auth(TOKEN).json(&unit).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mut alerter_1 = start("alerter-1", &["alerter"]).await;
    let _alerter_2 = start("alerter-2", &["alerter"]).await;
    let bus = bus_at(&brokers, &prefix).await;

    // the stream, from CLIENTS clients on one connection pool; one of each
    // stage dies a third of the way in and comes back two thirds in
    let run = unique("run");
    let posted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let http = client();
    let streaming = std::time::Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (http, url, run, posted) = (http.clone(), ingest.url("/api/v1/reports"), run.clone(), posted.clone());
        clients.spawn(async move {
            for i in (c..n).step_by(CLIENTS) {
                let regency = REGENCIES[i % REGENCIES.len()];
                let body = json!({"text": format!("Pesta sabu nomor {i} di {regency} {run}"), "region": regency});
                let key = format!("{run}-{i}");
                // a 503 (the broker busy) is retried with the same key, as a client would
                loop {
                    let r = http.post(&url).bearer_auth(TOKEN).header("Idempotency-Key", &key).json(&body).send().await;
                    match r.as_ref().map(|r| r.status().as_u16()) {
                        Ok(202) => break,
                        Ok(503) | Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                        Ok(status) => panic!("report {i}: {status} {}", r.unwrap().text().await.unwrap()),
                    }
                }
                posted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
    let reached = |share: usize| {
        let posted = posted.clone();
        async move {
            eventually(Duration::from_secs(600), || async {
                (posted.load(std::sync::atomic::Ordering::Relaxed) >= n * share / 3).then_some(())
            })
            .await
        }
    };
    reached(1).await;
    classifier_1.kill9();
    indexer_1.kill9();
    alerter_1.kill9();
    reached(2).await;
    let classifier_1 = start("classifier-1", &["classifier"]).await;
    let indexer_1 = start("indexer-1", &["indexer", "api"]).await;
    let alerter_1 = start("alerter-1", &["alerter"]).await;
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }
    let streamed = streaming.elapsed();
    eprintln!(
        "scale-out: {n} reports posted in {:.1} s ({:.0} reports/s) by {CLIENTS} clients",
        streamed.as_secs_f64(),
        n as f64 / streamed.as_secs_f64()
    );

    // every report in each search replica once
    for indexer in [&indexer_1, &indexer_2] {
        let total = eventually(Duration::from_secs(180), || async {
            let found = common::get_ok(indexer, "/api/v1/search?limit=1").await?;
            let total = found["total"].as_u64()?;
            (total >= n as u64).then_some(total)
        })
        .await;
        assert_eq!(
            total,
            Some(n as u64),
            "search replica at {}: lost {}",
            indexer.dir.display(),
            n as u64 - total.unwrap_or(0)
        );
    }
    // in ClickHouse once
    let counted = eventually(Duration::from_secs(120), || async {
        let row = clickhouse(&database, "SELECT count(), uniqExact(id) FROM reports FINAL FORMAT TSV").await?;
        let mut fields = row.split_whitespace().map(|f| f.parse::<u64>().unwrap_or(0));
        let (rows, distinct) = (fields.next()?, fields.next()?);
        (distinct >= n as u64).then_some((rows, distinct))
    })
    .await;
    assert_eq!(counted, Some((n as u64, n as u64)), "ClickHouse: (rows, distinct ids) of {n}");
    // FINAL folds rows written twice (a replay after a kill), so count them
    // apart; and the statistics people read count each report once
    let written = clickhouse(&database, "SELECT count() FROM reports FORMAT TSV").await.unwrap_or_default();
    eprintln!("scale-out: ClickHouse rows written {} for {n} reports (a replay writes a row again)", written.trim());
    let stats = eventually(Duration::from_secs(30), || async {
        let stats = common::get_ok(&indexer_2, "/api/v1/stats").await?;
        (stats["source"] == "clickhouse" && stats["totals"]["indicator"]["narkoba"].as_u64()? >= n as u64)
            .then_some(stats)
    })
    .await;
    let counted = stats.as_ref().map(|s| s["totals"]["indicator"]["narkoba"].clone());
    assert_eq!(counted, Some(json!(n)), "the statistics from ClickHouse count {n} reports once each");
    let stored = streaming.elapsed();
    eprintln!(
        "scale-out: {n} reports in both search replicas and ClickHouse {:.1} s after the first post ({:.0} reports/s)",
        stored.as_secs_f64(),
        n as f64 / stored.as_secs_f64()
    );
    // every level of every regency raised once, at exactly its count
    let alerts = raised_n(&bus, 3 * REGENCIES.len()).await;
    assert_eq!(alerts.len(), 3 * REGENCIES.len(), "{alerts:?}");
    let ids = each_level_once_at_its_count(&alerts);
    // each alert reaches the unit's mailbox once
    let mails = mailed(&recipient, &ids).await;
    let lost: Vec<&String> = ids.iter().filter(|id| !mails.contains_key(*id)).collect();
    let doubled: Vec<(&String, &usize)> = mails.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "scale-out: the whole test {:.1} s; {} alerts, {} mails, lost {}, doubled {}",
        started.elapsed().as_secs_f64(),
        ids.len(),
        mails.values().sum::<usize>(),
        lost.len(),
        doubled.len()
    );
    assert!(lost.is_empty(), "notifications lost: {lost:?}");
    assert!(doubled.is_empty(), "notifications sent twice: {doubled:?}");
    assert!(mails.keys().all(|id| ids.contains(id)), "mail for an alert never raised: {mails:?}");
    drop((classifier_1, alerter_1));
}

/// A TCP proxy to `target` on a port of its own, that the test takes down
/// (every connection cut, nothing listening) and brings up again.
struct Proxy {
    port: u16,
    target: String,
    serving: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: &str) -> Proxy {
        let mut proxy = Proxy { port: common::free_port(), target: target.to_owned(), serving: None };
        proxy.up().await;
        proxy
    }

    async fn up(&mut self) {
        let listener = eventually(Duration::from_secs(10), || async {
            tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.ok()
        })
        .await
        .expect("the proxy's port was taken");
        let target = self.target.clone();
        self.serving = Some(tokio::spawn(async move {
            // dropped with this task: every connection goes with it
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    async fn down(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
            let _ = serving.await;
        }
    }
}

/// ClickHouse becomes unreachable for a minute in the middle of a stream:
/// the indexer keeps its offsets (killed with -9 and started again while
/// ClickHouse is away, it starts without it, is not ready, and still has
/// every report to write), and once ClickHouse is back it catches up, with
/// every report once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_catches_up_after_clickhouse_was_unreachable() {
    let n = 600;
    let prefix = unique("chdown-");
    let database = unique("chdown_");
    let clickhouse_at = service("TEST_KENTONGAN_CLICKHOUSE");
    let mut proxy = Proxy::start(clickhouse_at.trim_start_matches("http://")).await;
    let root = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\n[clickhouse]\nurl = \"http://127.0.0.1:{}\"\ndatabase = \"{database}\"\n\n[ingest]\nrate_per_account = 0\n",
        kafka_section(&prefix),
        proxy.port
    );
    let ingest = Node::start(&root.path().join("ingest"), &config, &["ingest"]).await;
    let classifier = Node::start(&root.path().join("classifier"), &config, &["classifier"]).await;
    let mut indexer = Node::start(&root.path().join("indexer"), &config, &["indexer"]).await;
    let post = |from: usize, to: usize| {
        let url = ingest.url("/api/v1/reports");
        async move {
            for i in from..to {
                let body = json!({"text": format!("Laporan sabu nomor {i}"), "region": REGENCIES[i % REGENCIES.len()]});
                let r = client().post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 202);
            }
        }
    };
    let stored = || async {
        let row = clickhouse(&database, "SELECT count(), uniqExact(id) FROM reports FINAL FORMAT TSV").await?;
        let mut fields = row.split_whitespace().map(|f| f.parse::<u64>().unwrap_or(0));
        Some((fields.next()?, fields.next()?))
    };

    post(0, n / 2).await;
    let half = (n / 2) as u64;
    eventually(Duration::from_secs(60), || async { (stored().await? == (half, half)).then_some(()) })
        .await
        .expect("the first half never reached ClickHouse");
    proxy.down().await;
    let outage = tokio::time::Instant::now();
    post(n / 2, n).await;
    // the indexer meets the outage: its ClickHouse stage fails and backs off
    eventually(Duration::from_secs(60), || async {
        let log = indexer.log();
        log.lines().any(|l| l.contains("stage failed") && l.contains("stage=\"clickhouse\"")).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("the indexer never noticed ClickHouse was gone:\n{}", indexer.log()));
    assert!(metric(&classifier, "kentongan_classifier_processed_total").await >= half as f64);
    // an indexer that had committed what it could not write would skip it when started again
    indexer.kill9();
    let indexer = Node::start(&root.path().join("indexer"), &config, &["indexer"]).await;
    eventually(Duration::from_secs(60), || async {
        let log = indexer.log();
        log.lines().any(|l| l.contains("stage failed") && l.contains("stage=\"clickhouse\"")).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("the restarted indexer never met the outage:\n{}", indexer.log()));
    let ready = client().get(indexer.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "ready without ClickHouse");
    // the fault under test is a minute's outage: it lasts that long
    tokio::time::sleep_until(outage + Duration::from_secs(60)).await;
    proxy.up().await;
    let all = eventually(Duration::from_secs(120), || async {
        let (rows, distinct) = stored().await?;
        (distinct >= n as u64).then_some((rows, distinct))
    })
    .await;
    assert_eq!(all, Some((n as u64, n as u64)), "ClickHouse after the outage: (rows, distinct ids) of {n}");
    let ready = eventually(Duration::from_secs(30), || async {
        let r = client().get(indexer.url("/readyz")).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    assert!(ready.is_some(), "not ready once ClickHouse was back:\n{}", indexer.log_digest(40));
}

/// An aiosmtpd of the test's own on `port`, writing to `maildir`; killed when dropped.
struct Smtp(std::process::Child);

impl Smtp {
    async fn start(port: u16, maildir: &std::path::Path) -> Smtp {
        let child = std::process::Command::new(service("TEST_KENTONGAN_AIOSMTPD_PYTHON"))
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
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

/// The mail server is down when an alert is raised; the alerter records the
/// failed attempt, is killed with -9 and started again, and once the server
/// is up the alert is mailed exactly once: the retry lives in the outbox.
#[tokio::test]
async fn a_notification_waiting_for_the_mail_server_survives_an_alerter_kill() {
    let prefix = unique("smtpdown-");
    let root = tempfile::tempdir().unwrap();
    let (port, maildir) = (common::free_port(), root.path().join("mail"));
    let rules = sabu_rules(root.path(), "waspada = 1\n");
    let config = format!(
        "{}\n[smtp]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"Kentongan <kentongan@example.test>\"\n\n\
         [rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n",
        kafka_section(&prefix),
        rules.display()
    );
    let front = Node::start(&root.path().join("front"), &config, &["ingest", "classifier", "api"]).await;
    let mut alerter = Node::start(&root.path().join("alerter"), &config, &["alerter"]).await;
    let unit = json!({"name": "Kesbangpol", "regions": ["72"], "indicators": ["narkoba"], "emails": ["piket@sulteng.example.test"]});
    let r = client().post(front.url("/api/v1/units")).bearer_auth(TOKEN).json(&unit).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let body = json!({"text": "Pesta sabu di gang sempit", "region": "72.71.02"});
    let r = client().post(front.url("/api/v1/reports")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 202);
    // a failed attempt is recorded on the alert
    let alert = eventually(Duration::from_secs(60), || async {
        let alerts = common::get_ok(&front, "/api/v1/alerts").await?;
        let alert = alerts["alerts"].as_array()?.first()?.clone();
        alert["deliveries"].as_array()?.iter().any(|d| d["error"].is_string()).then_some(alert)
    })
    .await
    .unwrap_or_else(|| panic!("no failed attempt recorded:\n{}", alerter.log()));
    let id = alert["id"].as_str().unwrap().to_owned();

    alerter.kill9();
    let alerter = Node::start(&root.path().join("alerter"), &config, &["alerter"]).await;
    let _smtp = Smtp::start(port, &maildir).await;
    let sent = |id: String| {
        let maildir = maildir.clone();
        move || {
            let mut n = 0;
            for entry in std::fs::read_dir(maildir.join("new")).into_iter().flatten().flatten() {
                let bytes = std::fs::read(entry.path()).unwrap_or_default();
                let message = mail_parser::MessageParser::default().parse(&bytes);
                n += usize::from(message.and_then(|m| m.message_id().map(|m| m.starts_with(&id))).unwrap_or(false));
            }
            n
        }
    };
    let count = sent(id.clone());
    eventually(Duration::from_secs(120), || async { (count() > 0).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("the alert was never mailed:\n{}", alerter.log()));
    // once its success is recorded, nothing is left to send
    eventually(Duration::from_secs(30), || async {
        let alert = common::get_ok(&front, &format!("/api/v1/alerts/{id}")).await?;
        alert["deliveries"].as_array()?.iter().any(|d| d["error"].is_null()).then_some(())
    })
    .await
    .expect("the delivery was not recorded");
    assert_eq!(count(), 1, "mailed more than once");
}

/// A tansu of the test's own. Most keep their log in a bucket of the
/// harness's S3 server, so that they can be stopped and started again with
/// everything they had; [`Broker::in_memory`] keeps it in memory.
struct Broker {
    port: u16,
    /// the S3 bucket, empty for a broker in memory
    bucket: String,
    child: Option<std::process::Child>,
}

impl Broker {
    async fn start() -> Broker {
        let mut broker = Broker::stopped().await;
        broker.up().await;
        broker
    }

    /// A broker with its bucket and port, not started yet.
    async fn stopped() -> Broker {
        let bucket = unique("tansu-");
        let made = client().put(format!("{}/{bucket}", service("TEST_KENTONGAN_S3"))).send().await.unwrap();
        assert!(made.status().is_success(), "the bucket was not made: {}", made.status());
        Broker { port: common::free_port(), bucket, child: None }
    }

    /// A started broker that keeps its log in memory, as the harness's does,
    /// but holds only what its test gives it: tansu's memory engine costs
    /// more for each request as it grows, and the harness's holds every
    /// other test's topics too.
    async fn in_memory() -> Broker {
        let mut broker = Broker { port: common::free_port(), bucket: String::new(), child: None };
        broker.up().await;
        broker
    }

    async fn up(&mut self) {
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let engine =
            if self.bucket.is_empty() { "memory://tansu/".to_string() } else { format!("s3://{}/", self.bucket) };
        let child = std::process::Command::new(service("TEST_KENTONGAN_TANSU_BIN"))
            .args(["broker", "--storage-engine", &engine])
            .args(["--listener-url", &listener, "--advertised-listener-url", &listener])
            .envs([
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_DEFAULT_REGION", "us-east-1"),
            ])
            .env("AWS_ENDPOINT", service("TEST_KENTONGAN_S3"))
            .env("AWS_ALLOW_HTTP", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let port = self.port;
        eventually(Duration::from_secs(10), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
        })
        .await
        .expect("tansu did not start");
    }

    fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Broker {
    /// A bus's settings for this broker, topics under `prefix`.
    fn config(&self, prefix: &str, partitions: u32) -> KafkaConfig {
        toml::from_str(&format!(
            "brokers = \"127.0.0.1:{}\"\ntopic_prefix = \"{prefix}\"\npartitions = {partitions}\nsession_timeout = \"3s\"\nproduce_timeout = \"5s\"\n",
            self.port
        ))
        .unwrap()
    }

    /// Sends the running broker a signal (`STOP`, `CONT`).
    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the broker runs").id();
        let sent = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
        assert!(sent.success(), "kill -{signal} {pid} failed");
    }

    /// Raises the end of `topic`'s partition `partition` by `n` records that
    /// it never stores, as tansu's S3 engine does when it is killed between
    /// raising a partition's end and storing the batch. Only while it is down.
    async fn leave_hole(&self, topic: &str, partition: u32, n: u64) {
        assert!(self.child.is_none(), "the broker keeps its watermarks in memory while it runs");
        let url = format!(
            "{}/{}/clusters/tansu_cluster/topics/{topic}/partitions/{partition:010}/watermark.json",
            service("TEST_KENTONGAN_S3"),
            self.bucket
        );
        // the harness's S3 server checks that a request is signed, not the signature
        let auth =
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";
        let got = client().get(&url).header("authorization", auth).send().await.unwrap();
        assert!(got.status().is_success(), "no watermark at {url}: {}", got.status());
        let mut watermark: Value = got.json().await.unwrap();
        watermark["high"] = json!(watermark["high"].as_u64().unwrap() + n);
        let put = client().put(&url).header("authorization", auth).json(&watermark).send().await.unwrap();
        assert!(put.status().is_success(), "the watermark was not replaced: {}", put.status());
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.down();
    }
}

/// The broker is stopped in the middle of a stream and started again: while
/// it is gone the intake answers 503 and takes nothing; every report it
/// accepted, before and after, is in the search index once, and nothing else
/// is (the ids, not only their count).
#[tokio::test]
async fn a_broker_stopped_and_started_mid_stream_loses_nothing() {
    let mut broker = Broker::start().await;
    let root = tempfile::tempdir().unwrap();
    let config = format!(
        "[kafka]\nbrokers = \"127.0.0.1:{}\"\ntopic_prefix = \"{}\"\npartitions = 3\nsession_timeout = \"3s\"\nproduce_timeout = \"2s\"\n\n[ingest]\nrate_per_account = 0\n",
        broker.port,
        unique("restart-")
    );
    let ingest = Node::start(&root.path().join("ingest"), &config, &["ingest"]).await;
    let stages = Node::start(&root.path().join("stages"), &config, &["classifier", "indexer", "api"]).await;
    let post = |i: usize| {
        let url = ingest.url("/api/v1/reports");
        async move {
            let body = json!({"text": format!("Laporan sabu nomor {i}"), "region": REGENCIES[i % REGENCIES.len()]});
            let r = client().post(&url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            let id = r.json::<serde_json::Value>().await.ok().and_then(|b| b["id"].as_str().map(str::to_owned));
            (status, id)
        }
    };
    // the ids of the reports accepted
    let mut ids = Vec::new();
    for i in 0..200 {
        let (status, id) = post(i).await;
        assert_eq!(status, 202);
        ids.push(id.expect("a 202 without an id"));
    }
    broker.down();
    // refused while it is gone, and nothing kept
    let refused = eventually(Duration::from_secs(30), || async { (post(1000).await.0 == 503).then_some(()) }).await;
    assert!(refused.is_some(), "the intake did not answer 503 without the broker");
    broker.up().await;
    for i in 200..400 {
        let id = eventually(Duration::from_secs(60), || async {
            match post(i).await {
                (202, id) => id,
                _ => None,
            }
        })
        .await;
        ids.push(
            id.unwrap_or_else(|| panic!("report {i} was never accepted after the broker came back:\n{}", ingest.log())),
        );
    }
    ids.sort();
    let accepted = ids.len() as u64;
    let last = std::sync::atomic::AtomicU64::new(0);
    let total = eventually(Duration::from_secs(180), || async {
        let found = common::get_ok(&stages, "/api/v1/search?limit=1").await?;
        let total = found["total"].as_u64()?;
        last.store(total, std::sync::atomic::Ordering::Relaxed);
        (total >= accepted).then_some(total)
    })
    .await;
    assert!(
        total == Some(accepted),
        "search after the broker's restart finds {} of {accepted} accepted reports;\nstages' {}\n\ningest's {}",
        last.into_inner(),
        stages.log_digest(80),
        ingest.log_digest(30)
    );
    // a lost report and one taken twice would leave the total right
    assert_eq!(indexed_ids(&stages).await, Some(ids), "the reports in the search index are not those accepted");
}

/// A group's consumer over Kafka reports the records its group has not
/// committed of the partitions it holds (from the broker's fetch answers, in
/// librdkafka's statistics): all of them before its first commit, and what
/// lies after each partition's commit once it has committed.
#[tokio::test]
async fn a_groups_lag_over_kafka_is_what_it_has_not_committed() {
    let metrics = api::health::install_metrics().unwrap();
    let lag = || {
        metrics
            .render()
            .lines()
            .filter(|l| l.starts_with("kentongan_bus_consumer_lag_records{"))
            .find(|l| l.contains("topic=\"alerts\"") && l.contains("group=\"lag-test\""))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let broker = Broker::start().await;
    let bus = Bus::Kafka(bus::kafka::KafkaBus::connect(broker.config(&unique("lag-"), 2)).await.unwrap());
    for i in 0..10 {
        bus.publish(Topic::Alerts, &format!("k{i}"), b"x").await.unwrap();
    }
    let mut sub = bus.subscribe(Topic::Alerts, "lag-test").await.unwrap();
    let mut read = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while read.len() < 10 && tokio::time::Instant::now() < deadline {
        read.extend(sub.next_batch_within(10, Duration::from_millis(100), Duration::from_secs(1)).await.unwrap());
    }
    assert_eq!(read.len(), 10, "the ten records were not all read");
    // the statistics arrive inside the consumer's polls: poll until the gauge says `want`
    async fn polled_until(sub: &mut bus::Subscription, lag: impl Fn() -> Option<f64>, want: f64) -> Option<f64> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            let more = sub.next_batch_within(10, Duration::from_millis(10), Duration::from_millis(500)).await.unwrap();
            assert!(more.is_empty(), "records after the ten: {more:?}");
            if lag() == Some(want) {
                break;
            }
        }
        lag()
    }
    assert_eq!(polled_until(&mut sub, &lag, 10.0).await, Some(10.0), "before any commit, all ten wait");
    sub.commit_all(&read[..4]).await.unwrap();
    // each partition: its records less those up to the highest committed
    let mut want = 0;
    for partition in read.iter().map(|r| r.partition).collect::<BTreeSet<_>>() {
        let held = read.iter().filter(|r| r.partition == partition).count() as i64;
        let done = read[..4].iter().filter(|r| r.partition == partition).map(|r| r.offset + 1).max().unwrap_or(0);
        want += held - done;
    }
    assert!(want > 0 && want < 10);
    assert_eq!(polled_until(&mut sub, &lag, want as f64).await, Some(want as f64), "after committing four of ten");
}

/// A node that starts a few seconds before its broker (both started by one
/// unit file, or a broker slow to answer under load) waits for it instead of
/// stopping, and then publishes.
#[tokio::test]
async fn a_bus_started_before_its_broker_waits_for_it() {
    let mut broker = Broker::stopped().await;
    let config = broker.config(&unique("late-"), 1);
    let connecting = tokio::spawn(bus::kafka::KafkaBus::connect(config));
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(!connecting.is_finished(), "the bus gave up on a broker 8 s late");
    broker.up().await;
    let bus = tokio::time::timeout(Duration::from_secs(60), connecting)
        .await
        .expect("the bus did not connect once the broker was up")
        .unwrap()
        .expect("the bus gave up though the broker came up within a minute");
    let bus = Bus::Kafka(bus);
    bus.publish(Topic::Windows, "k", b"late").await.unwrap();
}

/// A broker that counts records it never stored (a hole at a partition's
/// end, left by tansu killed mid-write) does not hold a replay for ever,
/// though records keep coming on another partition: the replay takes what
/// the broker serves as the partition's end, and records written after the
/// hole are read as they come.
#[tokio::test]
async fn a_replay_ends_at_a_hole_the_broker_left_and_reads_what_follows_it() {
    let mut broker = Broker::start().await;
    let prefix = unique("hole-");
    let config = broker.config(&prefix, 2);
    let bus = Bus::Kafka(bus::kafka::KafkaBus::connect(config.clone()).await.unwrap());
    // ten records; the key of each partition's first, and how many each holds
    let mut keys: BTreeMap<i32, String> = BTreeMap::new();
    let mut held: BTreeMap<i32, i64> = BTreeMap::new();
    for i in 0..10 {
        let at = bus.publish_at(Topic::Windows, &format!("k{i}"), format!("{i}").as_bytes()).await.unwrap();
        keys.entry(at.partition).or_insert(format!("k{i}"));
        *held.entry(at.partition).or_default() += 1;
    }
    assert_eq!(keys.len(), 2, "ten keys all went to one partition");
    let (holed, live) = (keys[&0].clone(), keys[&1].clone());
    drop(bus);
    broker.down();
    broker.leave_hole(&format!("{prefix}windows"), 0, 3).await;
    broker.up().await;
    let bus = Bus::Kafka(bus::kafka::KafkaBus::connect(config).await.unwrap());
    // the other partition gets a record every second while the replay runs
    let writer = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for i in 0.. {
                bus.publish(Topic::Windows, &live, format!("live {i}").as_bytes()).await.unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let replayed = tokio::time::timeout(Duration::from_secs(120), bus.catch_up(Topic::Windows)).await;
    writer.abort();
    let (records, mut sub) =
        replayed.expect("the replay is still waiting for records the broker does not have").unwrap();
    let mut read: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.payload).into_owned())
        .filter(|p| !p.starts_with("live"))
        .collect();
    read.sort();
    assert_eq!(read, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
    // the replay says where it took a hole, for `kentongan reindex` to tell
    let taken = sub.holes_taken().to_vec();
    assert!(matches!(taken[..], [(0, at, end)] if at == held[&0] && end > at), "{taken:?}");
    bus.publish(Topic::Windows, &holed, b"after the hole").await.unwrap();
    let after = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let record = sub.next().await.unwrap();
            if record.payload == b"after the hole" {
                return record;
            }
        }
    })
    .await
    .expect("the record written after the hole was not read");
    assert_eq!((after.partition, after.offset), (0, held[&0] + 3), "not the offset after the hole");
}

/// A broker that stops answering while a replay stands at a hole is waited
/// for: the replay does not take its silence for the hole's, and ends 30 s
/// after the broker answers again (and serves nothing beyond the hole).
#[tokio::test]
async fn a_replay_does_not_take_a_frozen_broker_for_a_hole() {
    let mut broker = Broker::start().await;
    let prefix = unique("frozen-");
    let config = broker.config(&prefix, 1);
    let bus = Bus::Kafka(bus::kafka::KafkaBus::connect(config.clone()).await.unwrap());
    for i in 0..5 {
        bus.publish(Topic::Windows, "k", format!("{i}").as_bytes()).await.unwrap();
    }
    drop(bus);
    broker.down();
    broker.leave_hole(&format!("{prefix}windows"), 0, 3).await;
    broker.up().await;
    let bus = Bus::Kafka(bus::kafka::KafkaBus::connect(config).await.unwrap());
    let started = std::time::Instant::now();
    // when the replay ends, taken as it ends: the test looks only after the thaw
    let replay = tokio::spawn(async move {
        bus.catch_up(Topic::Windows).await.map(|(records, _)| (records.len(), started.elapsed()))
    });
    // frozen (SIGSTOP) a few seconds into the replay for 40 s, less than
    // librdkafka's 60 s before it calls a request lost
    tokio::time::sleep(Duration::from_secs(5)).await;
    broker.signal("STOP");
    tokio::time::sleep(Duration::from_secs(40)).await;
    let thawed = started.elapsed();
    broker.signal("CONT");
    let (read, ended) = tokio::time::timeout(Duration::from_secs(120), replay)
        .await
        .expect("the replay did not end after the broker answered again")
        .unwrap()
        .unwrap();
    assert_eq!(read, 5);
    // the hole's 30 s count from when the broker answers again
    assert!(
        ended >= thawed + Duration::from_secs(25),
        "the replay ended at {ended:?}: it counted the broker's frozen time (until {thawed:?}) towards a hole"
    );
}

/// SplitMix64: a small seeded generator, so a run's choices can be replayed.
struct Rng(u64);

impl Rng {
    /// From `TEST_KENTONGAN_SEED`, else from the clock; prints the seed.
    fn seeded() -> Rng {
        let seed = std::env::var("TEST_KENTONGAN_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("random kills: seed {seed} (TEST_KENTONGAN_SEED={seed} replays the choices)");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What a trial kills: the embedded node (every stage in one process), or
/// one stage role of the Kafka path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Victim {
    Embedded,
    Ingest,
    Classifier,
    Indexer,
    Alerter,
}

/// The regencies a trial's reports are about: four of four provinces, none
/// of them in another trial, so each reaches every level of `sabu_rules`
/// on its own (at least 41 reports a trial) and no province is ever raised
/// (a province is raised only when no single regency of it reaches the
/// level alone).
fn trial_regencies(trial: usize) -> Vec<String> {
    let mut by_province: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in include_str!("../model/data/regions/regencies.csv").lines().skip(1) {
        let mut fields = line.split(',');
        let (code, province) = (fields.next().unwrap(), fields.next().unwrap());
        by_province.entry(province).or_default().push(code);
    }
    let provinces: Vec<&Vec<&str>> = by_province.values().collect();
    (4 * trial..4 * trial + 4).map(|k| provinces[k % provinces.len()][k / provinces.len()].to_owned()).collect()
}

/// Every report id in `node`'s search index, in pages of 1,000 (a report
/// indexed twice would be listed twice).
async fn indexed_ids(node: &Node) -> Option<Vec<String>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(cursor) => format!("/api/v1/search?limit=1000&after={cursor}"),
            None => "/api/v1/search?limit=1000".to_owned(),
        };
        let page = common::get_ok(node, &path).await?;
        ids.extend(page["hits"].as_array()?.iter().filter_map(|h| h["id"].as_str().map(str::to_owned)));
        match page["next"].as_str() {
            Some(next) => after = Some(form_urlencoded::byte_serialize(next.as_bytes()).collect()),
            None => break,
        }
    }
    ids.sort();
    Some(ids)
}

/// Reports posted by a few clients, each with its own idempotency key and
/// retried with it (after a refused connection or a 503) until it is
/// accepted, to whichever address the intake has now.
struct Stream {
    url: std::sync::Arc<std::sync::Mutex<String>>,
    accepted: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    clients: tokio::task::JoinSet<()>,
}

impl Stream {
    fn start(url: String, run: &str, regions: Vec<String>) -> Stream {
        let url = std::sync::Arc::new(std::sync::Mutex::new(url));
        let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let http = client();
        let mut clients = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (url, accepted, stop, next, http, run, regions) = (
                url.clone(),
                accepted.clone(),
                stop.clone(),
                next.clone(),
                http.clone(),
                run.to_owned(),
                regions.clone(),
            );
            clients.spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let regency = &regions[i % regions.len()];
                    let body = json!({"text": format!("Pesta sabu nomor {i} di {regency} {run}"), "region": regency});
                    let key = format!("{run}-{i}");
                    let id = loop {
                        let to = url.lock().unwrap().clone();
                        let r = http
                            .post(&to)
                            .bearer_auth(TOKEN)
                            .header("Idempotency-Key", &key)
                            .timeout(Duration::from_secs(30))
                            .json(&body)
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status() == 202 => break r.json::<Value>().await.unwrap()["id"].clone(),
                            Ok(r) if r.status() != 503 => {
                                panic!("report {i}: {} {}", r.status(), r.text().await.unwrap())
                            }
                            _ => tokio::time::sleep(Duration::from_millis(50)).await,
                        }
                    };
                    accepted.lock().unwrap().push(id.as_str().unwrap().to_owned());
                }
            });
        }
        Stream { url, accepted, stop, clients }
    }

    fn accepted(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    async fn until(&self, n: usize) {
        eventually(Duration::from_secs(120), || async { (self.accepted() >= n).then_some(()) })
            .await
            .unwrap_or_else(|| panic!("only {} of {n} reports were accepted", self.accepted()));
    }

    /// Stops after the reports being posted are accepted; their ids, sorted.
    async fn finish(mut self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while let Some(done) = self.clients.join_next().await {
            done.unwrap();
        }
        let mut ids = self.accepted.lock().unwrap().clone();
        ids.sort();
        ids
    }
}

/// Waits until `found` lists exactly `accepted`; panics with what differs.
async fn exactly<F, Fut>(what: &str, accepted: &[String], mut found: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Vec<String>>>,
{
    let seen = eventually(Duration::from_secs(90), || {
        let listed = found();
        async move { listed.await.filter(|ids| ids.len() >= accepted.len()) }
    })
    .await;
    // on a timeout, what is there now, so the panic names only what is missing
    let seen = match seen {
        Some(seen) => seen,
        None => found().await.unwrap_or_default(),
    };
    if seen != accepted {
        let set: BTreeSet<&String> = seen.iter().collect();
        let lost: Vec<&String> = accepted.iter().filter(|id| !set.contains(id)).collect();
        let wanted: BTreeSet<&String> = accepted.iter().collect();
        let extra: Vec<&String> = seen.iter().filter(|id| !wanted.contains(id)).collect();
        let doubled = seen.len() - set.len();
        panic!(
            "{what}: {} accepted, {} stored; lost {lost:?}, not accepted {extra:?}, {doubled} doubled",
            accepted.len(),
            seen.len()
        );
    }
}

/// Twenty trials: while reports stream in, a process is killed with -9 at a
/// random moment (after a random number of accepted reports) and started
/// again: the embedded node, or the Kafka path's ingest, classifier, indexer
/// or alerter node, four times each in a random order. After each trial
/// every report that was answered 202 is in search (and on the Kafka path in
/// ClickHouse) exactly once, and nothing else is. At the end every level of
/// every regency the Kafka path's reports were about was raised once at
/// exactly its count, and each of those alerts reached the unit's mailbox
/// once, though the alerter was killed while it raised and sent them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_survive_kill_9_at_random_moments() {
    let started = std::time::Instant::now();
    let mut rng = Rng::seeded();
    let mut order: Vec<Victim> =
        [Victim::Embedded, Victim::Ingest, Victim::Classifier, Victim::Indexer, Victim::Alerter]
            .into_iter()
            .flat_map(|v| std::iter::repeat_n(v, 4))
            .collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let root = tempfile::tempdir().unwrap();
    let database = unique("kills_");
    let prefix = unique("kills-");
    let recipient = format!("{}@kesbangpol.example.test", unique("unit-"));
    let rules = sabu_rules(root.path(), "waspada = 3\nsiaga = 5\nawas = 8\n");
    let embedded_config = "[ingest]\nrate_per_account = 0\n".to_owned();
    let kafka_config = kafka_node_config(&kafka_section(&prefix), &database, &rules);
    let start = |name: &'static str, roles: &'static [&'static str]| {
        let config = if roles.is_empty() { embedded_config.clone() } else { kafka_config.clone() };
        let dir = root.path().join(name);
        async move { Node::start(&dir, &config, roles).await }
    };
    let mut embedded = start("embedded", &[]).await;
    let mut ingest = start("ingest", &["ingest"]).await;
    let mut classifier = start("classifier", &["classifier"]).await;
    let mut indexer = start("indexer", &["indexer", "api"]).await;
    // the unit before the alerter, which loads the units before it takes alerts
    let provinces: BTreeSet<String> = (0..20).flat_map(trial_regencies).map(|r| r[..2].to_owned()).collect();
    let unit = json!({"name": "Kesbangpol", "regions": provinces, "indicators": ["narkoba"], "emails": [recipient]});
    let r = client().post(indexer.url("/api/v1/units")).bearer_auth(TOKEN).json(&unit).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mut alerter = start("alerter", &["alerter"]).await;
    let (mut on_embedded, mut on_kafka, mut trials_on_kafka) = (Vec::new(), Vec::new(), Vec::new());
    let in_clickhouse = |database: String| async move {
        let rows = clickhouse(&database, "SELECT toString(id) FROM reports FINAL FORMAT TSV").await?;
        let mut ids: Vec<String> = rows.lines().map(str::to_owned).collect();
        ids.sort();
        Some(ids)
    };

    let kills = order.clone();
    for (trial, victim) in order.into_iter().enumerate() {
        let trial_started = std::time::Instant::now();
        let intake = if victim == Victim::Embedded { &embedded } else { &ingest };
        let stream =
            Stream::start(intake.url("/api/v1/reports"), &unique(&format!("t{trial}-")), trial_regencies(trial));
        // the alerter while this trial's alerts are raised (each regency's
        // levels at its 3rd, 5th and 8th report): the other stages anywhere
        let before = 1 + rng.below(if victim == Victim::Alerter { 32 } else { 150 });
        stream.until(before).await;
        let restarted = match victim {
            Victim::Embedded => {
                embedded.kill9();
                embedded = start("embedded", &[]).await;
                &embedded
            }
            Victim::Ingest => {
                ingest.kill9();
                ingest = start("ingest", &["ingest"]).await;
                &ingest
            }
            Victim::Classifier => {
                classifier.kill9();
                classifier = start("classifier", &["classifier"]).await;
                &classifier
            }
            Victim::Indexer => {
                indexer.kill9();
                indexer = start("indexer", &["indexer", "api"]).await;
                &indexer
            }
            Victim::Alerter => {
                alerter.kill9();
                alerter = start("alerter", &["alerter"]).await;
                &alerter
            }
        };
        if matches!(victim, Victim::Embedded | Victim::Ingest) {
            *stream.url.lock().unwrap() = restarted.url("/api/v1/reports");
        }
        let killed_at = stream.accepted();
        stream.until(killed_at + 40).await;
        let accepted = stream.finish().await;
        if victim != Victim::Embedded {
            trials_on_kafka.push(trial);
        }
        let all = if victim == Victim::Embedded { &mut on_embedded } else { &mut on_kafka };
        all.extend(accepted.iter().cloned());
        all.sort();
        let what = format!("trial {trial} ({victim:?} killed after {before} reports)");
        if victim == Victim::Embedded {
            exactly(&format!("{what}: search"), &on_embedded, || indexed_ids(&embedded)).await;
        } else {
            exactly(&format!("{what}: search"), &on_kafka, || indexed_ids(&indexer)).await;
            exactly(&format!("{what}: ClickHouse"), &on_kafka, || in_clickhouse(database.clone())).await;
        }
        eprintln!(
            "random kills: trial {trial}: {victim:?} killed after {before} reports, {} in the trial, {:.1} s",
            accepted.len(),
            trial_started.elapsed().as_secs_f64()
        );
    }
    // every level of every regency of the Kafka path's trials raised once,
    // at exactly its count, and mailed once
    let regencies: BTreeSet<String> = trials_on_kafka.iter().flat_map(|t| trial_regencies(*t)).collect();
    let bus = bus(&prefix).await;
    let alerts = raised_n(&bus, 3 * regencies.len()).await;
    let places: BTreeSet<&String> = alerts.keys().map(|(region, _)| region).collect();
    assert_eq!(places, regencies.iter().collect(), "the regions raised are not those reported on");
    let ids = each_level_once_at_its_count(&alerts);
    let mails = mailed(&recipient, &ids).await;
    let lost: Vec<&String> = ids.iter().filter(|id| !mails.contains_key(*id)).collect();
    assert!(lost.is_empty(), "notifications lost: {lost:?}\nalerter log:\n{}", alerter.log_digest(40));
    assert!(mails.keys().all(|id| ids.contains(id)), "mail for an alert never raised: {mails:?}");
    // each alert is one notification to the unit's address: a message the
    // mail server accepted just before a kill and that went again after the
    // restart is the same message (its Message-ID), which the recipient's
    // mail system shows once
    let notifications = message_ids_to(&recipient);
    let several: Vec<_> = notifications.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(several.is_empty(), "alerts mailed as more than one message: {several:?}");
    // and it is transmitted again only then: each alerter kill may repeat
    // the notifications in flight (ARCHITECTURE.md, "Delivery"); no other
    // kill repeats any
    let alerter_kills = kills.iter().filter(|v| **v == Victim::Alerter).count();
    let repeats: usize = mails.values().map(|n| n - 1).sum();
    let doubled: Vec<(&String, &usize)> = mails.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeats <= alerter::sender::SENDERS * alerter_kills && mails.values().all(|n| *n <= 1 + alerter_kills),
        "{repeats} notifications repeated after {alerter_kills} alerter kills (at most {} each): {doubled:?}\nalerter log:\n{}",
        alerter::sender::SENDERS,
        alerter.log_digest(40)
    );
    eprintln!(
        "random kills: 20 trials, {} reports on the embedded node and {} on Kafka, {} alerts all mailed, {repeats} \
         repeated after {alerter_kills} alerter kills, {:.1} s",
        on_embedded.len(),
        on_kafka.len(),
        ids.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The SMS gateway is unreachable when an alert is raised; the alerter
/// records failed attempts, is killed with -9 and started again, and once the
/// gateway is back each message of the alert goes out exactly once: the
/// retry lives in the outbox.
#[tokio::test]
async fn an_sms_waiting_for_the_gateway_survives_an_alerter_kill() {
    let prefix = unique("smsdown-");
    let root = tempfile::tempdir().unwrap();
    let (gateway, url) = common::gateway::Gateway::start(0).await;
    let (at, path) = url.trim_start_matches("http://").split_once('/').unwrap();
    let mut proxy = Proxy::start(at).await;
    proxy.down().await;
    let rules = sabu_rules(root.path(), "waspada = 1\n");
    let config = format!(
        "{}\n[sms_gateway]\nurl = \"http://127.0.0.1:{}/{}\"\ntoken = \"t\"\n\n\
         [rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n",
        kafka_section(&prefix),
        proxy.port,
        path,
        rules.display()
    );
    let front = Node::start(&root.path().join("front"), &config, &["ingest", "classifier", "api"]).await;
    let mut alerter = Node::start(&root.path().join("alerter"), &config, &["alerter"]).await;
    let phones = ["+6281234567890", "+6281298765432"];
    let unit = json!({"name": "Kesbangpol", "regions": ["72"], "indicators": ["narkoba"], "phones": phones});
    let r = client().post(front.url("/api/v1/units")).bearer_auth(TOKEN).json(&unit).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let body = json!({"text": "Pesta sabu di gang sempit", "region": "72.71.02"});
    let r = client().post(front.url("/api/v1/reports")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 202);
    // a failed attempt is recorded for each phone
    let failed = |d: &Value| d["channel"] == "sms" && d["error"].is_string();
    let alert = eventually(Duration::from_secs(60), || async {
        let alerts = common::get_ok(&front, "/api/v1/alerts").await?;
        let alert = alerts["alerts"].as_array()?.first()?.clone();
        let deliveries = alert["deliveries"].as_array()?;
        phones.iter().all(|p| deliveries.iter().any(|d| d["recipient"] == *p && failed(d))).then_some(alert)
    })
    .await
    .unwrap_or_else(|| panic!("no failed attempt recorded:\n{}", alerter.log()));
    let id = alert["id"].as_str().unwrap().to_owned();
    assert!(gateway.requests().is_empty());

    alerter.kill9();
    let alerter = Node::start(&root.path().join("alerter"), &config, &["alerter"]).await;
    proxy.up().await;
    // once every phone's success is recorded, nothing is left to send
    eventually(Duration::from_secs(120), || async {
        let alert = common::get_ok(&front, &format!("/api/v1/alerts/{id}")).await?;
        let deliveries = alert["deliveries"].as_array()?;
        let sent =
            |p: &str| deliveries.iter().any(|d| d["recipient"] == p && d["channel"] == "sms" && d["error"].is_null());
        phones.iter().all(|p| sent(p)).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("the SMS were not sent and recorded:\n{}", alerter.log()));
    let mut sent: Vec<(String, String)> = gateway
        .requests()
        .iter()
        .map(|(_, body)| {
            let body: Value = serde_json::from_str(body).unwrap();
            (body["to"].as_str().unwrap().to_owned(), body["text"].as_str().unwrap().to_owned())
        })
        .collect();
    sent.sort();
    let once: BTreeSet<&(String, String)> = sent.iter().collect();
    assert_eq!(once.len(), sent.len(), "an SMS went out twice: {sent:?}");
    let to: BTreeSet<&str> = sent.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(to, BTreeSet::from(phones), "{sent:?}");
}
