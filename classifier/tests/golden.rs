//! The built-in rule pack against labelled reports.
//!
//! - `dev.jsonl`: the development corpus the pack was written against;
//! - `heldout.jsonl`: 150 reports written separately, in news, field-report
//!   and chat styles, with tricky negatives;
//! - `blind.jsonl`: 120 more, written without sight of the rules, mostly chats
//!   and situation-report lines (issue 13);
//! - `blind2.jsonl` to `blind34.jsonl`: 5,973 more for issue 14, on the
//!   sub-topics of each indicator, with many everyday senses and negations.
//!   Each of `blind3` to `blind34` was written after a round of rule changes
//!   and run once before the next round; QUALITY.md has those first figures,
//!   the honest estimate for reports the pack has never seen.
//!
//! The first three must get exactly their labelled indicators and regions
//! (a short list of known misses excepted); a failure lists every report
//! that differs, so a rule change that trades one report for another shows
//! both. The later sets are held to a floor of micro-averaged F1.
//! `cargo test -p classifier --test golden figures -- --nocapture` prints
//! precision, recall and F1 per indicator and file, and the reports that
//! differ with the rules that fired.

use std::collections::BTreeMap;

use classifier::{Classifier, RuleSet};
use model::{Channel, Report};
use serde::Deserialize;
use time::macros::datetime;

#[derive(Deserialize)]
struct Labelled {
    id: String,
    text: String,
    indicators: Vec<String>,
    #[serde(default)]
    regions: Option<Vec<String>>,
}

/// Reports the pack gets wrong on purpose rather than by a rule fitted to
/// them, with why. Keep this list short and honest.
const KNOWN: [(&str, &str); 1] = [("b081", "a group digging up a grave also reads as mob violence")];

const FILES: [(&str, &str); 36] = [
    ("dev.jsonl", include_str!("data/dev.jsonl")),
    ("heldout.jsonl", include_str!("data/heldout.jsonl")),
    ("blind.jsonl", include_str!("data/blind.jsonl")),
    ("blind2.jsonl", include_str!("data/blind2.jsonl")),
    ("blind3.jsonl", include_str!("data/blind3.jsonl")),
    ("blind4.jsonl", include_str!("data/blind4.jsonl")),
    ("blind5.jsonl", include_str!("data/blind5.jsonl")),
    ("blind6.jsonl", include_str!("data/blind6.jsonl")),
    ("blind7.jsonl", include_str!("data/blind7.jsonl")),
    ("blind8.jsonl", include_str!("data/blind8.jsonl")),
    ("blind9.jsonl", include_str!("data/blind9.jsonl")),
    ("blind10.jsonl", include_str!("data/blind10.jsonl")),
    ("blind11.jsonl", include_str!("data/blind11.jsonl")),
    ("blind12.jsonl", include_str!("data/blind12.jsonl")),
    ("blind13.jsonl", include_str!("data/blind13.jsonl")),
    ("blind14.jsonl", include_str!("data/blind14.jsonl")),
    ("blind15.jsonl", include_str!("data/blind15.jsonl")),
    ("blind16.jsonl", include_str!("data/blind16.jsonl")),
    ("blind17.jsonl", include_str!("data/blind17.jsonl")),
    ("blind18.jsonl", include_str!("data/blind18.jsonl")),
    ("blind19.jsonl", include_str!("data/blind19.jsonl")),
    ("blind20.jsonl", include_str!("data/blind20.jsonl")),
    ("blind21.jsonl", include_str!("data/blind21.jsonl")),
    ("blind22.jsonl", include_str!("data/blind22.jsonl")),
    ("blind23.jsonl", include_str!("data/blind23.jsonl")),
    ("blind24.jsonl", include_str!("data/blind24.jsonl")),
    ("blind25.jsonl", include_str!("data/blind25.jsonl")),
    ("blind26.jsonl", include_str!("data/blind26.jsonl")),
    ("blind27.jsonl", include_str!("data/blind27.jsonl")),
    ("blind28.jsonl", include_str!("data/blind28.jsonl")),
    ("blind29.jsonl", include_str!("data/blind29.jsonl")),
    ("blind30.jsonl", include_str!("data/blind30.jsonl")),
    ("blind31.jsonl", include_str!("data/blind31.jsonl")),
    ("blind32.jsonl", include_str!("data/blind32.jsonl")),
    ("blind33.jsonl", include_str!("data/blind33.jsonl")),
    ("blind34.jsonl", include_str!("data/blind34.jsonl")),
];

/// True positives, false positives and false negatives of one indicator.
#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }

    fn precision(self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    fn recall(self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    fn f1(self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

/// A ratio that is 1 when there is nothing to get wrong.
fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 { 1.0 } else { num as f64 / den as f64 }
}

/// One file scored: counts per indicator and the reports that differ from
/// their labels, as (id, description).
struct Scored {
    reports: usize,
    regions_right: usize,
    per_indicator: BTreeMap<String, Counts>,
    wrong: Vec<(String, String)>,
}

impl Scored {
    fn micro(&self) -> Counts {
        let mut all = Counts::default();
        for c in self.per_indicator.values() {
            all.add(*c);
        }
        all
    }

    fn table(&self, file: &str) -> String {
        let mut out = format!(
            "{file}: {} reports, {} with every indicator and region right, regions right on {}\n",
            self.reports,
            self.reports - self.wrong.len(),
            self.regions_right
        );
        out.push_str("  indicator            tp   fp   fn  precision  recall     F1\n");
        let row = |name: &str, c: Counts| {
            format!(
                "  {name:<18} {:>4} {:>4} {:>4}      {:.3}   {:.3}  {:.3}\n",
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall(),
                c.f1()
            )
        };
        for (name, c) in &self.per_indicator {
            out.push_str(&row(name, *c));
        }
        out.push_str(&row("micro-average", self.micro()));
        out
    }
}

/// The regions found, with a district counted as its regency when the label
/// names that regency: the labels of the older sets were written when only
/// regencies were found. A label with a district must match exactly.
fn regions_as_labelled(found: &[String], want: &[String]) -> Vec<String> {
    let mut out: Vec<String> = found
        .iter()
        .map(|code| {
            let is_district = code.matches('.').count() == 2;
            match code.rsplit_once('.') {
                Some((regency, _)) if is_district && !want.contains(code) && want.iter().any(|w| w == regency) => {
                    regency.to_string()
                }
                _ => code.clone(),
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn score(data: &str) -> Scored {
    let classifier = Classifier::new(RuleSet::builtin());
    let at = datetime!(2026-11-29 10:00 UTC);
    let mut scored = Scored { reports: 0, regions_right: 0, per_indicator: BTreeMap::new(), wrong: Vec::new() };
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let l: Labelled = serde_json::from_str(line).unwrap();
        let report = Report::new(Channel::Web, "golden", l.text.clone(), at);
        let c = classifier.classify(&report, at);
        let mut got: Vec<String> = c.indicators.iter().map(|i| i.id.to_string()).collect();
        got.sort();
        let mut want = l.indicators.clone();
        want.sort();
        for name in want.iter().chain(got.iter().filter(|g| !want.contains(g))) {
            let counts = scored.per_indicator.entry(name.clone()).or_default();
            match (got.contains(name), want.contains(name)) {
                (true, true) => counts.tp += 1,
                (true, false) => counts.fp += 1,
                _ => counts.fn_ += 1,
            }
        }
        let mut want_regions = l.regions.clone().unwrap_or_default();
        want_regions.sort();
        let found: Vec<String> = c.regions.iter().map(ToString::to_string).collect();
        let regions = regions_as_labelled(&found, &want_regions);
        scored.reports += 1;
        if regions == want_regions {
            scored.regions_right += 1;
        }
        if got != want || regions != want_regions {
            let rules: Vec<&str> = c.indicators.iter().flat_map(|i| i.rules.iter().map(AsRef::as_ref)).collect();
            let why =
                format!("{} want {want:?} {want_regions:?}, got {got:?} {regions:?} by {rules:?}: {}", l.id, l.text);
            scored.wrong.push((l.id, why));
        }
    }
    scored
}

fn check(file: &str) {
    let (_, data) = FILES.iter().find(|(name, _)| *name == file).unwrap();
    let scored = score(data);
    println!("{}", scored.table(file));
    let wrong: Vec<&str> = scored
        .wrong
        .iter()
        .filter(|(id, _)| !KNOWN.iter().any(|(known, _)| known == id))
        .map(|(_, why)| why.as_str())
        .collect();
    assert!(wrong.is_empty(), "{file}: {} reports differ:\n{}", wrong.len(), wrong.join("\n"));
    // a known miss that the pack now gets right leaves the list
    let fixed: Vec<&str> = KNOWN
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| data.contains(&format!("{{\"id\": \"{id}\"")) && !scored.wrong.iter().any(|(w, _)| w == id))
        .collect();
    assert!(fixed.is_empty(), "{file}: right now, remove from KNOWN: {fixed:?}");
}

#[test]
fn development_corpus() {
    check("dev.jsonl");
}

#[test]
fn held_out_reports() {
    check("heldout.jsonl");
}

#[test]
fn blind_reports() {
    check("blind.jsonl");
}

/// The sets of issue 14 are held to a floor of micro-averaged F1 rather
/// than report by report: fitting the pack to each of their reports would
/// make their figures say nothing about reports it has never seen. The floors
/// sit a little under the figures of the pack that was committed with them.
const FLOORS: [(&str, f64); 33] = [
    ("blind2.jsonl", 0.97),
    ("blind3.jsonl", 0.97),
    ("blind4.jsonl", 0.96),
    ("blind5.jsonl", 0.95),
    ("blind6.jsonl", 0.96),
    ("blind7.jsonl", 0.97),
    ("blind8.jsonl", 0.95),
    ("blind9.jsonl", 0.97),
    ("blind10.jsonl", 0.98),
    ("blind11.jsonl", 0.99),
    ("blind12.jsonl", 0.98),
    ("blind13.jsonl", 0.94),
    ("blind14.jsonl", 0.97),
    ("blind15.jsonl", 0.98),
    ("blind16.jsonl", 0.98),
    ("blind17.jsonl", 0.99),
    ("blind18.jsonl", 0.91),
    ("blind19.jsonl", 0.95),
    ("blind20.jsonl", 0.98),
    ("blind21.jsonl", 0.98),
    ("blind22.jsonl", 0.99),
    ("blind23.jsonl", 0.98),
    ("blind24.jsonl", 0.99),
    ("blind25.jsonl", 0.99),
    ("blind26.jsonl", 0.99),
    ("blind27.jsonl", 0.99),
    ("blind28.jsonl", 0.99),
    ("blind29.jsonl", 0.95),
    ("blind30.jsonl", 0.99),
    ("blind31.jsonl", 0.95),
    ("blind32.jsonl", 0.94),
    ("blind33.jsonl", 0.95),
    ("blind34.jsonl", 0.95),
];

#[test]
fn later_sets_keep_their_floor() {
    let mut below = Vec::new();
    for (file, min_f1) in FLOORS {
        let (_, data) = FILES.iter().find(|(name, _)| *name == file).unwrap();
        let scored = score(data);
        let f1 = scored.micro().f1();
        if f1 < min_f1 {
            below.push(format!("micro-F1 {f1:.3} below {min_f1}\n{}", scored.table(file)));
        }
    }
    assert!(below.is_empty(), "{}", below.join("\n"));
}

/// Regions, over the later sets together: the share of reports whose
/// regions are right (a district found inside a labelled regency counts as
/// it). 0.915 before the gazetteer learned districts told without a
/// locative or in English, other spellings and addresses; 0.943 after
/// (`blind2` to `blind23`); on first run `blind24` was 0.965, `blind25`
/// 0.930, `blind26` 0.880, `blind27` 0.985, `blind28` 0.955, `blind29`
/// 0.975, `blind30` 0.930, `blind31` 0.935, `blind32` 0.970, `blind33`
/// 0.885 and `blind34` 0.845 (0.890 once a dateline alone names its city).
const REGIONS_FLOOR: f64 = 0.94;

#[test]
fn later_sets_keep_their_regions() {
    let (mut right, mut reports) = (0, 0);
    for (file, _) in FLOORS {
        let (_, data) = FILES.iter().find(|(name, _)| *name == file).unwrap();
        let scored = score(data);
        right += scored.regions_right;
        reports += scored.reports;
    }
    let share = right as f64 / reports as f64;
    assert!(share >= REGIONS_FLOOR, "regions right on {right} of {reports} ({share:.3}), below {REGIONS_FLOOR}");
}

/// Prints the figures of every file, for QUALITY.md.
#[test]
fn figures() {
    let pack = RuleSet::builtin();
    println!("built-in pack: {} terms in {} rules\n", pack.terms.len(), pack.rules.len());
    for (file, data) in FILES {
        let scored = score(data);
        println!("{}", scored.table(file));
        for (_, why) in &scored.wrong {
            println!("  {why}");
        }
    }
}

#[test]
fn a_district_counts_as_its_labelled_regency_but_a_district_label_is_exact() {
    let s = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(regions_as_labelled(&s(&["72.71.01"]), &s(&["72.71"])), s(&["72.71"]));
    assert_eq!(regions_as_labelled(&s(&["72.71.01", "72.71.02"]), &s(&["72.71"])), s(&["72.71"]));
    assert_eq!(regions_as_labelled(&s(&["72.71.01"]), &s(&["72.71.01"])), s(&["72.71.01"]));
    // a district of another regency, or a regency found for a district label
    assert_eq!(regions_as_labelled(&s(&["72.10.01"]), &s(&["72.71"])), s(&["72.10.01"]));
    assert_eq!(regions_as_labelled(&s(&["72.71"]), &s(&["72.71.01"])), s(&["72.71"]));
    // a district inside a labelled province is not its province
    assert_eq!(regions_as_labelled(&s(&["72.71.01"]), &s(&["72"])), s(&["72.71.01"]));
}
