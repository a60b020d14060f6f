//! The matching engine: a pure function of the report and the rule set.

use std::collections::HashMap;

use model::{Classification, IndicatorHit, RegionCode, Report, TermMatch};
use time::OffsetDateTime;
use whatlang::{Detector, Lang};

use crate::rules::{RuleSet, Term};

/// A word of a text: lowercased, with its byte range in the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Splits `text` into lowercase words (runs of letters and digits), keeping
/// byte offsets into `text`. A word boundary is any other character, so
/// `sabun` never contains the word `sabu`.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current: Option<Word> = None;
    for (i, ch) in text.char_indices() {
        if ch.is_alphanumeric() {
            let w = current.get_or_insert_with(|| Word { text: String::new(), start: i, end: i });
            w.text.extend(ch.to_lowercase());
            w.end = i + ch.len_utf8();
        } else if let Some(w) = current.take() {
            out.push(w);
        }
    }
    out.extend(current);
    out
}

/// A compiled rule set that classifies reports.
#[derive(Debug)]
pub struct Classifier {
    rules: RuleSet,
    detector: Detector,
}

impl Classifier {
    pub fn new(rules: RuleSet) -> Self {
        Self { rules, detector: Detector::with_allowlist(vec![Lang::Ind, Lang::Eng, Lang::Jav]) }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Classifies one report. `now` is the classification time.
    pub fn classify(&self, report: &Report, now: OffsetDateTime) -> Classification {
        let mut fields = vec![("text", report.text.as_str())];
        if let Some(title) = &report.title {
            fields.insert(0, ("title", title.as_str()));
        }
        let mut hits: HashMap<&str, IndicatorHit> = HashMap::new();
        for (field, text) in fields {
            let ws = words(text);
            for rule in &self.rules.rules {
                let matches: Vec<TermMatch> = rule
                    .terms
                    .iter()
                    .flat_map(|t| find(t, &ws))
                    .map(|(start, end, term)| TermMatch {
                        term: term.text.clone(),
                        rule: rule.id.clone(),
                        field: field.to_owned(),
                        start,
                        end,
                    })
                    .collect();
                if matches.is_empty() {
                    continue;
                }
                let hit = hits.entry(rule.indicator.as_str()).or_insert_with(|| IndicatorHit {
                    id: rule.indicator.clone(),
                    score: 0.0,
                    rules: Vec::new(),
                    matches: Vec::new(),
                });
                if !hit.rules.contains(&rule.id) {
                    hit.rules.push(rule.id.clone());
                    hit.score += rule.weight;
                }
                hit.matches.extend(matches);
            }
        }
        let mut indicators: Vec<IndicatorHit> = hits.into_values().collect();
        indicators.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        for hit in &mut indicators {
            hit.matches.sort_by(|a, b| (&a.field, a.start).cmp(&(&b.field, b.start)));
        }
        Classification {
            language: self.language(report),
            indicators,
            regions: regions_of(report),
            rules_version: self.rules.version.clone(),
            classified_at: now,
        }
    }

    fn language(&self, report: &Report) -> Option<String> {
        // A sample is enough to tell these languages apart, and much faster.
        let sample: String = report.text.chars().take(400).collect();
        self.detector.detect_lang(&sample).map(|l| l.code().to_owned())
    }
}

fn regions_of(report: &Report) -> Vec<RegionCode> {
    report.region.iter().cloned().collect()
}

/// Every occurrence of `term` in `ws`, as byte ranges of the original text.
fn find<'t>(term: &'t Term, ws: &[Word]) -> Vec<(usize, usize, &'t Term)> {
    let n = term.words.len();
    if ws.len() < n {
        return Vec::new();
    }
    (0..=ws.len() - n)
        .filter(|&i| {
            term.words.iter().enumerate().all(|(j, tw)| {
                let w = &ws[i + j].text;
                if term.prefix && j == n - 1 { w.starts_with(tw.as_str()) } else { w == tw }
            })
        })
        .map(|i| (ws[i].start, ws[i + n - 1].end, term))
        .collect()
}

#[cfg(test)]
mod tests {
    use model::{Channel, ReportId};
    use time::macros::datetime;

    use super::*;

    fn report(text: &str) -> Report {
        let at = datetime!(2026-11-29 10:00 UTC);
        Report {
            id: ReportId::new_at(at),
            received_at: at,
            reported_at: at,
            channel: Channel::Web,
            source: "test".into(),
            reporter: None,
            region: None,
            title: None,
            text: text.into(),
            language: None,
            attachments: vec![],
            location: None,
            external_id: None,
        }
    }

    fn classifier() -> Classifier {
        let src = r#"
            [[rule]]
            id = "n1"
            indicator = "narkoba"
            weight = 2
            any = ["sabu", "pil koplo", "narkoti*"]
            [[rule]]
            id = "k1"
            indicator = "konflik_sosial"
            any = ["bentrok*"]
        "#;
        Classifier::new(RuleSet::parse(&[("t.toml", src)]).unwrap())
    }

    #[test]
    fn words_keep_offsets() {
        let ws = words("Pesta SABU, di gang!");
        let texts: Vec<&str> = ws.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["pesta", "sabu", "di", "gang"]);
        assert_eq!((ws[1].start, ws[1].end), (6, 10));
    }

    #[test]
    fn matches_words_phrases_and_prefixes_with_offsets() {
        let c = classifier();
        let text = "Warga melaporkan bahwa rumah kontrakan itu sering dipakai untuk pesta SABU dan pil koplo, \
                    lalu seorang kurir narkotika ditangkap polisi kemarin. Bentrokan antarwarga pecah setelahnya.";
        let out = c.classify(&report(text), datetime!(2026-11-29 10:00 UTC));
        let n = out.indicator("narkoba").unwrap();
        assert_eq!(n.score, 2.0);
        assert_eq!(n.rules, ["n1"]);
        let found: Vec<&str> = n.matches.iter().map(|m| &text[m.start..m.end]).collect();
        assert_eq!(found, ["SABU", "pil koplo", "narkotika"]);
        let k = out.indicator("konflik_sosial").unwrap();
        assert_eq!(&text[k.matches[0].start..k.matches[0].end], "Bentrokan");
        assert_eq!(out.language.as_deref(), Some("ind"));
    }

    #[test]
    fn word_boundaries_hold() {
        let c = classifier();
        let out = c.classify(&report("Sabun cuci piring dibagikan gratis."), datetime!(2026-11-29 10:00 UTC));
        assert!(out.indicators.is_empty(), "{out:?}");
    }
}
