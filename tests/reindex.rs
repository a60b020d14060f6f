//! `kentongan reindex` rebuilds the search index from the embedded log: the
//! same answers as the live index had, retention applied, and an interrupted
//! rebuild resumes from its checkpoint. (ClickHouse's rebuild is in
//! archive.rs, against the real server.)

mod common;

use std::process::Command;
use std::time::Duration;

use archive::rebuild::{Outcome, Silent, rebuild_search};
use archive::stats::{By, StatsQuery};
use archive::{Retention, SearchIndex};
use bus::{Bus, Topic};
use common::archive::{index_of, item, numbers};
use common::{Node, TOKEN, client, eventually, get_ok, post_report};
use model::{ClassifiedReport, Scope};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn reindex(dir: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kentongan"))
        .args(["reindex", "--config", "kentongan.toml"])
        .current_dir(dir)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// What analysts would see: whole answers where order is by time, the set of
/// hits where it is by relevance (scores depend on segments and deletions).
async fn answers(node: &Node) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/search?limit=100&sort=newest",
        "/api/v1/search?region=72&sort=oldest&limit=100",
        "/api/v1/search?channel=web&indicator=narkoba&sort=newest",
        "/api/v1/stats",
        "/api/v1/stats?by=regency&bucket=week",
        "/api/v1/stats?indicator=konflik_sosial&channel=feed",
    ] {
        out.push(get_ok(node, path).await.unwrap_or_else(|| panic!("{path} failed")));
    }
    for q in ["sabu", "bentrok", "\"rumah ibadah\" OR pemilu"] {
        let r = client().get(node.url("/api/v1/search")).query(&[("q", q), ("limit", "100")]);
        let mut r: Value = r.bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
        let mut ids: Vec<String> = r["hits"].as_array().unwrap().iter().map(|h| h["id"].to_string()).collect();
        ids.sort();
        r["hits"] = json!(ids);
        out.push(r);
    }
    out
}

#[tokio::test]
async fn reindex_gives_the_answers_the_live_index_gave_and_keeps_retention() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[retention]\nfeed = \"30days\"\n";
    let node = Node::start(dir.path(), config, &[]).await;
    let texts = [
        "Pesta sabu digerebek polisi di rumah kontrakan",
        "Bentrokan antarwarga pecah di perbatasan desa",
        "Warga menolak pembangunan rumah ibadah di kompleks",
        "Politik uang menjelang pemilu di kecamatan",
        "Kurir sabu ditangkap membawa satu kilogram",
        "Dua kelompok pemuda bentrok usai pertandingan",
    ];
    let regions = ["72.71.02", "72.03", "73.71", "72.71", "11.71", "32.73"];
    let channels = ["app", "web", "feed"];
    let now = OffsetDateTime::now_utc();
    let mut kept = 0;
    for n in 0..36usize {
        let days = (n * 7 % 60) as i64;
        let channel = channels[n % 3];
        let body = json!({
            "text": format!("{} (laporan {n})", texts[n % texts.len()]),
            "region": regions[n % regions.len()],
            "channel": channel,
            "reported_at": (now - time::Duration::days(days)).format(&Rfc3339).unwrap(),
        });
        let (status, answer) = post_report(&node, body).await;
        assert_eq!(status, 202, "{answer}");
        if channel != "feed" || days <= 30 {
            kept += 1;
        }
    }
    assert!(kept < 36);
    let live = eventually(Duration::from_secs(20), || async {
        let r = get_ok(&node, "/api/v1/search?limit=100").await?;
        (r["total"] == kept).then_some(())
    })
    .await;
    assert!(live.is_some(), "the live index did not reach {kept} reports; log:\n{}", node.log());
    let before = answers(&node).await;
    assert_eq!(before[0]["total"], kept);
    assert!(before[3]["rows"].as_array().is_some_and(|r| !r.is_empty()), "{}", before[3]);
    assert!(before[6]["total"].as_u64().is_some_and(|n| n > 0), "{}", before[6]);

    // the node holds the index: refused, nothing changed
    let (code, stderr) = reindex(dir.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("in use") && stderr.contains("stop `kentongan run`"), "{stderr}");
    drop(node);

    // the index lost entirely; the node's consumer offset is past every report
    std::fs::remove_dir_all(dir.path().join("data").join(archive::schema::folder())).unwrap();
    let (code, stderr) = reindex(dir.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("36 records read from the log"), "{stderr}");
    assert!(stderr.contains(&format!("{kept} reports written")), "{stderr}");

    let node = Node::start(dir.path(), config, &[]).await;
    assert_eq!(answers(&node).await, before);
}

#[tokio::test]
async fn an_interrupted_search_rebuild_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
    let items: Vec<ClassifiedReport> = (0..300).map(item).collect();
    let records: Vec<(Topic, String, Vec<u8>)> =
        items.iter().map(|i| (Topic::Classified, i.report.id.to_string(), model::wire::encode(i))).collect();
    bus.publish_batch(&records).await.unwrap();
    let data = dir.path().join("data");
    let now = OffsetDateTime::now_utc();
    let none = Retention::default();

    let stopped = rebuild_search(&bus, &data, &none, now, &Silent, Some(120)).await.unwrap();
    assert_eq!(stopped, Outcome::Stopped { read: 120 });
    let live = data.join(archive::schema::folder());
    assert!(!live.exists(), "the live index is replaced only at the end");
    assert_eq!(SearchIndex::open(&live.with_extension("rebuild")).unwrap().len(), 120);

    let done = rebuild_search(&bus, &data, &none, now, &Silent, None).await.unwrap();
    assert_eq!(done, Outcome::Done { read: 300, written: 180, holes: vec![] });
    assert!(!live.with_extension("rebuild").exists());
    let rebuilt = SearchIndex::open(&live).unwrap();
    assert_eq!(rebuilt.len(), 300);
    let (_expected_dir, expected) = index_of(&items);
    let q = StatsQuery { by: By::Regency, ..Default::default() };
    assert_eq!(numbers(&rebuilt.stats(&q, &Scope::All).unwrap()), numbers(&expected.stats(&q, &Scope::All).unwrap()));
}

#[tokio::test]
async fn an_empty_log_does_not_replace_an_index_that_has_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let live = data.join(archive::schema::folder());
    {
        let index = SearchIndex::open(&live).unwrap();
        let mut writer = index.writer().unwrap();
        index.upsert(&writer, &item(1)).unwrap();
        writer.commit().unwrap();
    }
    let bus = Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
    let now = OffsetDateTime::now_utc();
    let refused = rebuild_search(&bus, &data, &Retention::default(), now, &Silent, None).await;
    assert!(matches!(refused, Err(archive::Error::Invalid(ref m)) if m.contains("not replaced")), "{refused:?}");
    assert_eq!(SearchIndex::open(&live).unwrap().len(), 1);
}
