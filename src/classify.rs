//! `kentongan classify`: JSON lines in, one verdict per line out.

use std::borrow::Cow;
use std::io::{BufRead, Write};

use anyhow::Context;
use classifier::Classifier;
use model::{Channel, Clock, RegionCode, Report, SystemClock};
use serde::{Deserialize, Serialize};

/// One line of input; its strings borrow from the line unless they hold escapes.
#[derive(Debug, Deserialize)]
struct Input<'a> {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default, borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    region: Option<Cow<'a, str>>,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    id: Option<serde_json::Value>,
    language: Option<&'a str>,
    indicators: Vec<Indicator<'a>>,
    regions: Vec<&'a str>,
}

#[derive(Debug, Serialize)]
struct Indicator<'a> {
    id: &'a str,
    score: f64,
    matches: Vec<Match<'a>>,
}

#[derive(Debug, Serialize)]
struct Match<'a> {
    term: &'a str,
    rule: &'a str,
    field: model::MatchField,
    start: usize,
    end: usize,
}

/// Classifies every line of `input`; a line that is not a report fails the
/// run with its line number.
pub fn run(classifier: &Classifier, mut input: impl BufRead, out: impl Write) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let now = SystemClock.now();
    // one report, refilled for each line: the id and times are not printed
    let mut report = Report::new(Channel::App, "classify", "", now);
    // one line buffer, and the report's strings, reused for every line
    let mut line = String::new();
    for n in 0.. {
        line.clear();
        if input.read_line(&mut line).context("reading stdin")? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let input: Input = serde_json::from_str(&line)
            .with_context(|| format!("line {}: expected a JSON object with at least \"text\"", n + 1))?;
        report.region = input
            .region
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(RegionCode::parse)
            .transpose()
            .with_context(|| format!("line {}: region", n + 1))?;
        match input.title {
            Some(title) => report.title.get_or_insert_default().replace_range(.., &title),
            None => report.title = None,
        }
        report.text.replace_range(.., &input.text);
        let c = classifier.classify(&report, now);
        let output = Output {
            id: input.id,
            language: c.language.as_deref(),
            indicators: c
                .indicators
                .iter()
                .map(|i| Indicator {
                    id: &i.id,
                    score: i.score,
                    matches: i
                        .matches
                        .iter()
                        .map(|m| Match { term: &m.term, rule: &m.rule, field: m.field, start: m.start, end: m.end })
                        .collect(),
                })
                .collect(),
            regions: c.regions.iter().map(RegionCode::as_str).collect(),
        };
        serde_json::to_writer(&mut out, &output)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
