//! What every fuzz target does with a report its parser made: the checks a
//! report meets on its way through the pipeline.
//!
//! - it is bounded as every channel's reports are (`ingest::bound`);
//! - it goes onto the bus and must come off it unchanged (`model::wire`);
//! - the classifier stage classifies it with the built-in rules and counts it
//!   in the alert windows.
//!
//! Any panic here or in the parsers is a crash that libFuzzer reports.
//!
//! [`on_stack`] runs a check on a thread with a small stack, as the node's
//! worker threads have, so that recursion too deep for them is found too.

use std::path::PathBuf;
use std::sync::LazyLock;

use classifier::Classifier;
use classifier::thresholds::Windows;
use ingest::{AttachmentStore, Submission};
use model::{Attachment, ClassifiedReport, RegionCode, Report, Reporter, Scope};
use time::OffsetDateTime;
use time::macros::datetime;

/// The time every target runs at, so an input always does the same.
pub const NOW: OffsetDateTime = datetime!(2026-11-29 10:00 UTC);

/// The built-in rule pack, compiled once per process.
pub static BUILTIN: LazyLock<Classifier> = LazyLock::new(|| Classifier::new(classifier::RuleSet::builtin()));

/// Takes a submission to `POST /api/v1/reports`, with its files, as the API
/// does: keyed, checked and made a report for the account `budi`, held to
/// the account's regions (national, and Palu's province 72), files sniffed,
/// then sent on ([`pipeline`]).
pub fn submitted(submission: Submission, files: Vec<(String, Vec<u8>)>) {
    let max = ingest::IngestConfig::default().max_text_chars;
    if let Err(e) = submission.idempotency("budi", submission.external_id.as_deref(), &files) {
        assert!(!e.to_string().is_empty());
        return;
    }
    let reporter = Reporter { account: Some("budi".into()), ..Reporter::default() };
    let mut report = match submission.into_report(Some(reporter), NOW, max) {
        Ok(report) => report,
        Err(e) => return assert!(!e.to_string().is_empty()),
    };
    for (name, bytes) in files {
        if let Some(kind) = AttachmentStore::sniff(&bytes) {
            let size = bytes.len() as u64;
            let (sha256, location) = (String::new(), String::new());
            report.attachments.push(Attachment { name, content_type: kind.into(), size, sha256, location });
        }
    }
    let palu = Scope::Regions(vec![RegionCode::parse("72").expect("a province")]);
    for scope in [Scope::All, palu] {
        let mut report = report.clone();
        match ingest::within_scope(&mut report, &scope) {
            Ok(()) => pipeline(&report),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// Sends `report` on as `ingest::Intake::accept` does, bounded (fields cut
/// to their limits, control characters out), then through the wire format,
/// the classifier and the alert windows.
pub fn pipeline(report: &Report) {
    let mut report = report.clone();
    let max = ingest::IngestConfig::default().max_text_chars;
    if let Err(e) = ingest::bound(&mut report, max) {
        // refused, with a message that says why
        assert!(!e.to_string().is_empty());
        return;
    }
    round_trip(&report);
    classify(&BUILTIN, &report);
}

/// A report written to the bus must be read back as the same report.
pub fn round_trip(report: &Report) {
    let bytes = model::wire::encode(report);
    assert!(!bytes.is_empty(), "a report could not be encoded: {report:?}");
    let back: Report = model::wire::decode(&bytes)
        .unwrap_or_else(|e| panic!("a report does not survive the bus: {e}\n{}", String::from_utf8_lossy(&bytes)));
    // JSON keeps a float to within rounding, not always to the last bit
    let near = |a: f64, b: f64| a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    match (&report.location, &back.location) {
        (Some(a), Some(b)) => assert!(near(a.lat, b.lat) && near(a.lon, b.lon), "{a:?} came back as {b:?}"),
        (a, b) => assert_eq!(a, b),
    }
    let (mut a, mut b) = (report.clone(), back);
    (a.location, b.location) = (None, None);
    assert_eq!(a, b, "the report changed on the bus");
}

/// Classifies `report` and counts it in windows with the classifier's own
/// thresholds.
pub fn classify(classifier: &Classifier, report: &Report) {
    let classification = classifier.classify(report, NOW);
    // every match is shown where it was written: it must be a slice of its field
    for hit in &classification.indicators {
        for m in &hit.matches {
            let field = match m.field {
                model::MatchField::Title => report.title.as_deref().unwrap_or(""),
                model::MatchField::Text => &report.text,
            };
            assert!(
                m.start < m.end && field.get(m.start..m.end).is_some(),
                "match {m:?} is not a slice of its field {field:?}"
            );
        }
    }
    let item = ClassifiedReport { report: report.clone(), classification };
    let mut windows = Windows::new(classifier.rules().thresholds.clone().into());
    windows.observe(&item, NOW);
    let _ = windows.snapshot();
}

/// The stack of the node's worker threads (tokio's default).
pub const WORKER_STACK: usize = 2 * 1024 * 1024;

/// Where [`on_stack`] writes each input first: `FUZZ_LAST_INPUT`, if set.
static LAST_INPUT: LazyLock<Option<PathBuf>> = LazyLock::new(|| std::env::var_os("FUZZ_LAST_INPUT").map(PathBuf::from));

/// Runs `f` on a new thread with a `stack`-byte stack and waits for it; a
/// panic in it is resumed here, so libFuzzer reports it. Overflowing the
/// stack kills the process before libFuzzer can write the input (without a
/// sanitizer its handler runs on the overflowed stack), so `data` is first
/// written to `FUZZ_LAST_INPUT`, for tests/fuzz to keep.
pub fn on_stack(data: &[u8], stack: usize, f: impl FnOnce() + Send + 'static) {
    if let Some(path) = LAST_INPUT.as_ref() {
        std::fs::write(path, data).expect("FUZZ_LAST_INPUT is writable");
    }
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .expect("a thread")
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
}
