//! The archive's figures, run by `bench/archive`: indexing throughput of the
//! indexer stage into tantivy alone and into tantivy plus ClickHouse; the
//! ClickHouse insert rate beside `clickhouse-client` inserting the same rows
//! as JSONEachRow; search latency over the archive for 20 analyst queries;
//! stats latency from ClickHouse and from the index.
//!
//! usage: archive REPORTS WORK_DIR CLICKHOUSE_URL CLICKHOUSE_TCP_PORT
//!
//! Reports are generated (Indonesian sentences, 20,000 made-up names with a
//! Zipf-like spread, real region codes, a year of dates), classified by the
//! built-in rules, and written to an embedded log; the stages read them from
//! there exactly as they do in `kentongan run`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use archive::clickhouse::ReportRow;
use archive::stats::{Bucket, By, StatsQuery};
use archive::{Analytics, ClickHouseConfig, Retention, SearchIndex, SearchQuery, Sort};
use bus::{Bus, Topic};
use classifier::{Classifier, RuleSet};
use kentongan_bench::Gen;
use model::{Channel, ClassifiedReport, Clock, RegionCode, Scope, SystemClock};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// Runs `f` `runs` times after two warm-ups; returns the sorted durations.
fn time_runs(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f();
    f();
    let mut out: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    out.sort();
    out
}

async fn time_runs_async<F: std::future::Future<Output = ()>>(runs: usize, mut f: impl FnMut() -> F) -> Vec<Duration> {
    f().await;
    f().await;
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        out.push(t.elapsed());
    }
    out.sort();
    out
}

async fn count(analytics: &Analytics) -> u64 {
    analytics.client().query("SELECT count() FROM reports").fetch_one().await.expect("count")
}

/// Waits until `done()`; returns how long it took from `start`.
async fn until<F: std::future::Future<Output = bool>>(start: Instant, mut done: impl FnMut() -> F) -> Duration {
    while !done().await {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

fn clickhouse(url: &str, database: &str) -> ClickHouseConfig {
    ClickHouseConfig { url: url.into(), database: database.into(), user: None, password: None }
}

async fn drop_database(url: &str, database: &str) {
    let client = clickhouse::Client::default().with_url(url);
    client.query(&format!("DROP DATABASE IF EXISTS {database}")).execute().await.expect("drop database");
}

/// Waits (up to two minutes) until ClickHouse has no merge running, so one
/// timed insert does not pay for the merges of the one before.
async fn settle(url: &str) {
    let client = clickhouse::Client::default().with_url(url).with_validation(false);
    for _ in 0..240 {
        let running: u64 = client.query("SELECT count() FROM system.merges").fetch_one().await.expect("system.merges");
        if running == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, n, work, url, tcp_port] = &args[..] else {
        eprintln!("usage: archive REPORTS WORK_DIR CLICKHOUSE_URL CLICKHOUSE_TCP_PORT");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("REPORTS is a number");
    let work = Path::new(work);
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();

    // the archive, classified and in the log
    let t = Instant::now();
    let classifier = Classifier::new(RuleSet::builtin());
    let mut generator = Gen::new();
    let items: Vec<ClassifiedReport> = (0..n)
        .map(|i| {
            let report = generator.report(i, now);
            let classification = classifier.classify(&report, now);
            ClassifiedReport { report, classification }
        })
        .collect();
    let tagged = items.iter().filter(|i| !i.classification.indicators.is_empty()).count();
    let bytes: usize = items.iter().map(|i| i.report.text.len()).sum();
    let bus = Bus::Embedded(bus::embedded::EmbeddedLog::open(&work.join("bus.redb")).unwrap());
    for chunk in items.chunks(20_000) {
        let records: Vec<(Topic, String, Vec<u8>)> =
            chunk.iter().map(|i| (Topic::Classified, i.report.id.to_string(), model::wire::encode(i))).collect();
        bus.publish_batch(&records).await.unwrap();
    }
    eprintln!(
        "archive: {n} reports (mean {} bytes of text, {:.0} % with an indicator) generated, classified and logged in {:.1} s",
        bytes / n.max(1),
        tagged as f64 * 100.0 / n.max(1) as f64,
        t.elapsed().as_secs_f64()
    );

    println!("## Indexing (the indexer stage, from the embedded log)\n");
    println!("| into | reports | seconds | reports/s |");
    println!("|---|---|---|---|");
    // tantivy alone
    let index = SearchIndex::open(&work.join("index-alone")).unwrap();
    let start = Instant::now();
    let stage = tokio::spawn(archive::stage::run_index(
        bus.clone(),
        "bench-alone".into(),
        index.clone(),
        Retention::default(),
        clock.clone(),
    ));
    let took = until(start, || async { index.len() >= n as u64 }).await;
    stage.abort();
    println!("| tantivy | {n} | {:.1} | {:.0} |", took.as_secs_f64(), n as f64 / took.as_secs_f64());

    // tantivy and ClickHouse together, as an indexer node with [clickhouse] runs
    let database = "bench_archive_live";
    drop_database(url, database).await;
    let analytics = Analytics::connect(&clickhouse(url, database)).await.unwrap();
    let both = SearchIndex::open(&work.join("index-both")).unwrap();
    let start = Instant::now();
    let stages = [
        tokio::spawn(archive::stage::run_index(
            bus.clone(),
            "bench-both".into(),
            both.clone(),
            Retention::default(),
            clock.clone(),
        )),
        tokio::spawn(archive::stage::run_analytics(
            bus.clone(),
            analytics.clone(),
            Retention::default(),
            clock.clone(),
        )),
    ];
    let took = until(start, || async { both.len() >= n as u64 && count(&analytics).await >= n as u64 }).await;
    stages.iter().for_each(|s| s.abort());
    println!("| tantivy + ClickHouse | {n} | {:.1} | {:.0} |", took.as_secs_f64(), n as f64 / took.as_secs_f64());
    drop(both);

    // ClickHouse inserts: this product's client beside clickhouse-client, same rows
    println!("\n## ClickHouse inserts, same rows (reports table and its daily rollup view)\n");
    println!("| writer | rows | seconds | rows/s |");
    println!("|---|---|---|---|");
    let rows: Vec<ReportRow> = items.iter().map(|i| ReportRow::from_item(i, now)).collect();
    let ours = "bench_archive_client";
    drop_database(url, ours).await;
    let target = Analytics::connect(&clickhouse(url, ours)).await.unwrap();
    settle(url).await;
    let start = Instant::now();
    for chunk in rows.chunks(20_000) {
        target.insert(chunk).await.unwrap();
    }
    let took = start.elapsed();
    println!(
        "| kentongan (clickhouse crate, RowBinary, 20,000 an insert as the stage does) | {} | {:.1} | {:.0} |",
        rows.len(),
        took.as_secs_f64(),
        rows.len() as f64 / took.as_secs_f64()
    );
    let theirs = "bench_archive_cli";
    drop_database(url, theirs).await;
    Analytics::connect(&clickhouse(url, theirs)).await.unwrap();
    let json = work.join("rows.jsonl");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&json).unwrap());
        for r in &rows {
            let line = serde_json::json!({
                "id": r.id.to_string(),
                "received_at": r.received_at.unix_timestamp(),
                "reported_at": r.reported_at.unix_timestamp(),
                "channel": r.channel, "source": r.source, "region": r.region, "province": r.province,
                "regency": r.regency, "regions": r.regions, "indicators": r.indicators, "score": r.score,
                "language": r.language, "rules_version": r.rules_version, "title": r.title, "text": r.text,
                "indexed_at": r.indexed_at.unix_timestamp(),
            });
            serde_json::to_writer(&mut out, &line).unwrap();
            out.write_all(b"\n").unwrap();
        }
    }
    settle(url).await;
    let start = Instant::now();
    let status = std::process::Command::new("clickhouse-client")
        .args(["--host", "127.0.0.1", "--port", tcp_port, "--database", theirs])
        .args(["--query", "INSERT INTO reports FORMAT JSONEachRow"])
        .stdin(std::fs::File::open(&json).unwrap())
        .status()
        .expect("clickhouse-client runs");
    let took = start.elapsed();
    assert!(status.success(), "clickhouse-client failed");
    println!(
        "| clickhouse-client, JSONEachRow from a file | {} | {:.1} | {:.0} |",
        rows.len(),
        took.as_secs_f64(),
        rows.len() as f64 / took.as_secs_f64()
    );
    for db in [ours, theirs] {
        let a = Analytics::connect(&clickhouse(url, db)).await.unwrap();
        assert_eq!(count(&a).await, rows.len() as u64, "{db} holds every row");
        drop_database(url, db).await;
    }
    drop(rows);

    // search
    index.reload().unwrap();
    let searcher_segments = index.tantivy().searchable_segment_ids().map(|s| s.len()).unwrap_or(0);
    println!(
        "\n## Search over {} reports ({searcher_segments} segments), 200 runs each after 2 warm-ups\n",
        index.len()
    );
    let q = |text: &str| SearchQuery { q: Some(text.into()), limit: 20, ..Default::default() };
    let region = |code: &str| RegionCode::parse(code).unwrap();
    let sulteng = Scope::Regions(vec![region("72")]);
    let days = |d: i64| Some(now - time::Duration::days(d));
    let deep = {
        let mut page = SearchQuery { q: Some("warga".into()), limit: 100, sort: Sort::Newest, ..Default::default() };
        for _ in 0..50 {
            page.after = index.search(&page, &Scope::All).unwrap().next;
        }
        SearchQuery { limit: 20, ..page }
    };
    let queries: Vec<(&str, SearchQuery, Scope)> = vec![
        ("sabu", q("sabu"), Scope::All),
        ("bentrok (finds bentrokan)", q("bentrok"), Scope::All),
        ("\"pesta sabu\"", q("\"pesta sabu\""), Scope::All),
        ("pemilu OR pilkada", q("pemilu OR pilkada"), Scope::All),
        ("kurir AND narkotika", q("kurir AND narkotika"), Scope::All),
        ("ganja NOT sabu", q("ganja NOT sabu"), Scope::All),
        ("text:teroris", q("text:teroris"), Scope::All),
        ("rumah ibadah", q("rumah ibadah"), Scope::All),
        ("warga (very common)", q("warga"), Scope::All),
        ("tawuran, scope 72", q("tawuran"), sulteng.clone()),
        ("bentrokan antarwarga, scope 72.71", q("bentrokan antarwarga"), Scope::Regions(vec![region("72.71")])),
        (
            "politik uang, feed, last 30 days",
            SearchQuery { channel: Some(Channel::Feed), from: days(30), ..q("politik uang") },
            Scope::All,
        ),
        (
            "indicator konflik_sosial, newest",
            SearchQuery { indicator: Some("konflik_sosial".into()), limit: 20, ..Default::default() },
            Scope::All,
        ),
        (
            "narkoba, min_score 2",
            SearchQuery { indicator: Some("narkoba".into()), min_score: Some(2.0), limit: 20, ..Default::default() },
            Scope::All,
        ),
        ("sabu, newest", SearchQuery { sort: Sort::Newest, ..q("sabu") }, Scope::All),
        (
            "sabu, oldest, region 73",
            SearchQuery { sort: Sort::Oldest, region: Some(region("73")), ..q("sabu") },
            Scope::All,
        ),
        ("everything, newest (landing page)", SearchQuery { limit: 20, ..Default::default() }, Scope::All),
        (
            "serangan fajar, ind, last 90 days",
            SearchQuery { language: Some("ind".into()), from: days(90), ..q("\"serangan fajar\"") },
            Scope::All,
        ),
        ("radikal OR teroris OR separatis, scope 72", q("radikal OR teroris OR separatis"), sulteng),
        ("warga, page 51 via after", deep, Scope::All),
    ];
    println!("| query | hits | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    let mut all = Vec::new();
    for (name, query, scope) in &queries {
        let total = index.search(query, scope).unwrap().total;
        let runs = time_runs(200, || {
            std::hint::black_box(index.search(query, scope).unwrap());
        });
        println!("| {name} | {total} | {} | {} |", ms(percentile(&runs, 0.5)), ms(percentile(&runs, 0.99)));
        all.extend(runs);
    }
    all.sort();
    println!(
        "| **all {} searches** | | **{}** | **{}** |",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );

    // stats, once ClickHouse has merged what the inserts above left it
    settle(url).await;
    println!("\n## Stats over {n} reports, 30 runs each after 2 warm-ups\n");
    let midnight = |d: i64| {
        let day = archive::stats::date_of(archive::stats::day_number(now) - d);
        let offset = time::UtcOffset::from_hms(archive::stats::DAY_OFFSET_HOURS, 0, 0).unwrap();
        Some(day.midnight().assume_offset(offset))
    };
    let stats_queries: Vec<(&str, StatsQuery, Scope)> = vec![
        ("by province, daily, last 30 days", StatsQuery { from: midnight(30), ..Default::default() }, Scope::All),
        ("by province, monthly, all", StatsQuery { bucket: Bucket::Month, ..Default::default() }, Scope::All),
        (
            "by regency, weekly, 90 days, scope 72",
            StatsQuery { by: By::Regency, bucket: Bucket::Week, from: midnight(90), ..Default::default() },
            Scope::Regions(vec![region("72")]),
        ),
        (
            "narkoba by province, daily, 30 days",
            StatsQuery { indicator: Some("narkoba".into()), from: midnight(30), ..Default::default() },
            Scope::All,
        ),
        (
            "by regency, scope 72.71.02 (raw)",
            StatsQuery { by: By::Regency, ..Default::default() },
            Scope::Regions(vec![region("72.71.02")]),
        ),
        (
            "by regency, last 24 hours (raw)",
            StatsQuery { by: By::Regency, from: Some(now - time::Duration::hours(24)), ..Default::default() },
            Scope::All,
        ),
    ];
    println!("| question | rows | ClickHouse p50 ms | ClickHouse p99 ms | index p50 ms | index p99 ms |");
    println!("|---|---|---|---|---|---|");
    for (name, query, scope) in &stats_queries {
        let rows = analytics.stats(query, scope).await.unwrap().rows.len();
        let from_clickhouse = time_runs_async(30, || async {
            std::hint::black_box(analytics.stats(query, scope).await.unwrap());
        })
        .await;
        let from_index = time_runs(30, || {
            std::hint::black_box(index.stats(query, scope).unwrap());
        });
        println!(
            "| {name} | {rows} | {} | {} | {} | {} |",
            ms(percentile(&from_clickhouse, 0.5)),
            ms(percentile(&from_clickhouse, 0.99)),
            ms(percentile(&from_index, 0.5)),
            ms(percentile(&from_index, 0.99))
        );
    }
    // KEEP=1 leaves the database for a look with clickhouse-client
    if std::env::var_os("KEEP").is_none() {
        drop_database(url, database).await;
    }
}
