//! Search latency over a generated national index: a search asked the
//! first time (nothing kept from earlier searches) and again (the totals
//! and facets of unchanged segments kept), beside the one pass over every
//! match that a search made before (page, `Count` and `Facets` together),
//! whose answer it must equal (checked here, at scale, before timing); then
//! the parts of that pass alone.
//!
//! `cargo bench -p archive --bench search -- [REPORTS]` (default 300,000).
//! The index is built once (reports of `Gen::national`, classified by the
//! built-in rules) under `$SEARCH_BENCH_DIR` (default
//! `/tmp/kentongan-search-bench-REPORTS`) and reused while it holds REPORTS.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use archive::search::{Facets, ordered};
use archive::{SearchIndex, SearchQuery, Sort};
use classifier::{Classifier, RuleSet};
use model::{ClassifiedReport, RegionCode, Scope};
use tantivy::collector::{Collector, Count};
use tantivy::schema::Value;
use time::macros::datetime;

// the report generator the other benchmarks use
#[allow(dead_code)]
#[path = "../../bench/src/lib.rs"]
mod generator;

const RUNS: usize = 60;

fn build(dir: &std::path::Path, n: usize) -> SearchIndex {
    let index = SearchIndex::open(dir).unwrap();
    if index.len() == n as u64 {
        return index;
    }
    drop(index);
    let _ = std::fs::remove_dir_all(dir);
    let index = SearchIndex::open(dir).unwrap();
    let t = Instant::now();
    let now = datetime!(2026-11-30 00:00 UTC);
    let classifier = Classifier::new(RuleSet::builtin());
    let mut generator = generator::Gen::new();
    let mut writer = index.writer().unwrap();
    for i in 0..n {
        let report = generator.national(i, now);
        let classification = classifier.classify(&report, now);
        index.upsert(&writer, &ClassifiedReport { report, classification }).unwrap();
        // commits as often as the indexer stage does under load
        if (i + 1) % 20_000 == 0 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    index.reload().unwrap();
    eprintln!("built {} reports in {:.0} s", index.len(), t.elapsed().as_secs_f64());
    index
}

/// p50 and p99 in ms of `RUNS` runs after two warm-ups.
fn time(mut f: impl FnMut()) -> (f64, f64) {
    f();
    f();
    let mut runs: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    runs.sort();
    let at = |p: f64| runs[((runs.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

fn main() {
    let n: usize = std::env::args().skip(1).find(|a| !a.starts_with('-')).map_or(300_000, |a| a.parse().unwrap());
    let dir = std::env::var_os("SEARCH_BENCH_DIR")
        .map_or_else(|| PathBuf::from(format!("/tmp/kentongan-search-bench-{n}")), PathBuf::from);
    let index = build(&dir, n);
    let reader = index.tantivy().reader().unwrap();
    let searcher = reader.searcher();
    let id_field = index.tantivy().schema().get_field("id").unwrap();
    let id_of = |address| {
        let doc: tantivy::TantivyDocument = searcher.doc(address).unwrap();
        doc.get_first(id_field).and_then(|v| v.as_str().map(str::to_owned)).unwrap()
    };
    println!(
        "\n{} reports, {} segments; p50 / p99 in ms of {RUNS} runs\n",
        index.len(),
        searcher.segment_readers().len()
    );
    println!(
        "| query | matches | search, first ask | search, asked again | one pass (as before) | page alone | Count alone | Facets alone |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let q = |text: &str| SearchQuery { q: Some(text.into()), limit: 20, ..Default::default() };
    let browse = |sort| SearchQuery { sort, limit: 20, ..Default::default() };
    let city = Scope::Regions(vec![RegionCode::parse("72.71").unwrap()]);
    let cases: Vec<(&str, SearchQuery, Scope)> = vec![
        ("sort=newest (match-all)", browse(Sort::Newest), Scope::All),
        ("sort=oldest (match-all)", browse(Sort::Oldest), Scope::All),
        ("q=warga", q("warga"), Scope::All),
        ("q=warga&sort=newest", SearchQuery { sort: Sort::Newest, ..q("warga") }, Scope::All),
        (
            "indicator=konflik_sosial",
            SearchQuery { indicator: Some("konflik_sosial".into()), limit: 20, ..Default::default() },
            Scope::All,
        ),
        ("q=sabu", q("sabu"), Scope::All),
        ("q=kurir AND narkotika", q("kurir AND narkotika"), Scope::All),
        ("sort=newest, one regency", browse(Sort::Newest), city),
    ];
    for (name, query, scope) in cases {
        let built = index.build_query(&query, &scope).unwrap();
        let sort = match query.sort {
            Sort::Relevance if query.q.is_none() => Sort::Newest,
            sort => sort,
        };
        let fmt = |(p50, p99): (f64, f64)| format!("{p50:.1} / {p99:.1}");
        let run = |c: &dyn Fn()| fmt(time(c));
        fn alone<C: Collector>(searcher: &tantivy::Searcher, query: &dyn tantivy::query::Query, c: &C) {
            std::hint::black_box(searcher.search(query, c).unwrap());
        }
        // the search's answer is the one pass's
        let one_pass = (ordered(sort, None, 20, 0), Count, Facets);
        let (page, total, facets) = searcher.search(&built, &one_pass).unwrap();
        index.forget_kept_counts();
        let found = index.search(&query, &scope).unwrap();
        let ids: Vec<String> = page.into_iter().map(|(_, a)| id_of(a)).collect();
        assert_eq!(found.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>(), ids, "{name}");
        assert_eq!(found.total, total, "{name}");
        if scope == Scope::All {
            assert_eq!(found.facets, facets, "{name}");
        }
        println!(
            "| {name} | {total} | {} | {} | {} | {} | {} | {} |",
            run(&|| {
                index.forget_kept_counts();
                std::hint::black_box(index.search(&query, &scope).unwrap());
            }),
            run(&|| {
                std::hint::black_box(index.search(&query, &scope).unwrap());
            }),
            run(&|| alone(&searcher, &built, &one_pass)),
            run(&|| alone(&searcher, &built, &ordered(sort, None, 20, 0))),
            run(&|| alone(&searcher, &built, &Count)),
            run(&|| alone(&searcher, &built, &Facets)),
        );
    }
}
