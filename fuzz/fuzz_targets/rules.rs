//! A rule file as an admin writes it (`kentongan rules check`, `PUT
//! /api/v1/rules/{id}`, `POST /api/v1/rules/test`): parsed and checked; when
//! valid, compiled, used to classify reports (a few real ones, and one that
//! holds every term of the file) and to count them in windows with its
//! thresholds. Errors must point inside the file.
//!
//! Runs on a thread with the 2 MiB stack of the node's worker threads, so
//! recursion that would overflow a worker's stack overflows here too.

#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use classifier::thresholds::Windows;
use classifier::{Classifier, Error, RuleSet};
use kentongan_fuzz::{NOW, WORKER_STACK, classify, on_stack};
use libfuzzer_sys::fuzz_target;
use model::{Channel, Classification, ClassifiedReport, IndicatorHit, RegionCode, Report, ReportId};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    on_stack(data, WORKER_STACK, move || check(&text));
});

fn check(text: &str) {
    let set = match RuleSet::parse(&[("fuzz.toml", text)]) {
        Ok(set) => set,
        Err(Error::Rules(errors)) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(inside(text, e.line, e.col), "{e} points outside the file");
            }
            return;
        }
        Err(e) => panic!("not a rule error: {e}"),
    };
    let thresholds = set.thresholds.clone();
    let indicators = set.indicators();
    // a report that holds every term of the file, so every rule is weighed
    let mut every_term = String::new();
    for word in set.terms.iter().flat_map(|t| &t.words) {
        if every_term.len() + word.text.len() >= MAX_TEXT {
            break;
        }
        every_term.push_str(&word.text);
        every_term.push(' ');
    }
    let classifier = Classifier::new(set);
    for text in SAMPLES.iter().copied().chain([every_term.as_str()]) {
        classify(&classifier, &report(text, NOW));
    }
    // every indicator with a threshold, seen twice in Palu a few hours apart
    // and once long before, with the file's own thresholds
    let mut windows = Windows::new(thresholds.clone().into());
    for (i, at) in [NOW - time::Duration::hours(3), NOW, NOW - time::Duration::days(400)].into_iter().enumerate() {
        let r = report(SAMPLES[i], at);
        let hits = thresholds
            .keys()
            .chain(&indicators)
            .map(|id| IndicatorHit { id: Arc::from(id.as_str()), score: 1.5, rules: Vec::new(), matches: Vec::new() })
            .collect();
        let classification = Classification {
            language: None,
            indicators: hits,
            regions: vec![RegionCode::parse("72.71.02").expect("a known district")],
            rules_version: classifier.rules().version.clone(),
            classified_at: NOW,
        };
        windows.observe(&ClassifiedReport { report: r, classification }, NOW);
    }
    let saved = windows.snapshot();
    let mut restored = Windows::new(BTreeMap::new().into());
    saved.into_iter().for_each(|s| restored.restore(s));
}

/// The longest report text, in bytes here (ingest.max_text_chars is 20,000
/// characters).
const MAX_TEXT: usize = 20_000;

const SAMPLES: [&str; 3] = [
    "Warga melaporkan rumah kontrakan di ujung gang sering dipakai pesta sabu pada akhir pekan.",
    "Dua kampung bertikai setelah seorang pemuda dianiaya, warga saling serang di Palu Barat.",
    "anak2 muda yg nyabu di pos ronda, tolonggg dipantau. Kampanye calon bupati ricuh.",
];

fn report(text: &str, at: time::OffsetDateTime) -> Report {
    Report {
        id: ReportId::new_at(at),
        reported_at: at,
        title: Some("Laporan warga".into()),
        ..Report::new(Channel::Web, "fuzz", text, NOW)
    }
}

/// Whether 1-based `line` and `col` (in characters) exist in `text`, one past
/// the end of a line included.
fn inside(text: &str, line: usize, col: usize) -> bool {
    let Some(body) = line.checked_sub(1).and_then(|l| text.split('\n').nth(l)) else { return false };
    col >= 1 && col <= body.chars().count() + 1
}
