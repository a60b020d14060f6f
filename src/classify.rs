//! `kentongan classify`: JSON lines in, one verdict per line out.

use std::borrow::Cow;
use std::io::{BufRead, Write};

use anyhow::Context;
use classifier::Classifier;
use model::{Channel, Classification, Clock, MatchField, RegionCode, Report, SystemClock};
use serde::Deserialize;

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

/// Appends `s` to `out` as a JSON string. Rule, term and region names
/// need no escape, and are copied as they are; any other string is written
/// by serde_json.
fn write_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // writing into a Vec cannot fail, nor can a string's serialisation
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether `s` holds a byte JSON escapes in a string (a control character,
/// `"` or `\\`), read eight bytes at a time.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // some byte of `x` is zero (exact for "some", as it is used)
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let x = u64::from_le_bytes(b);
        // some byte under 0x20, or equal to `"` or `\\`
        if x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0 || zero(x ^ (ONES * 0x22)) || zero(x ^ (ONES * 0x5c)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends the verdict on one line as a JSON object: `id` (as given),
/// `language`, `indicators` (`id`, `score`, `matches` with `term`, `rule`,
/// `field`, `start`, `end`) and `regions`, and a newline.
fn write_line(out: &mut Vec<u8>, id: Option<&serde_json::Value>, c: &Classification) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"id\":");
    serde_json::to_writer(&mut *out, &id)?;
    out.extend_from_slice(b",\"language\":");
    match &c.language {
        Some(l) => write_str(out, l),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"indicators\":[");
    for (i, hit) in c.indicators.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":");
        write_str(out, &hit.id);
        out.extend_from_slice(b",\"score\":");
        serde_json::to_writer(&mut *out, &hit.score)?;
        out.extend_from_slice(b",\"matches\":[");
        for (j, m) in hit.matches.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"term\":");
            write_str(out, &m.term);
            out.extend_from_slice(b",\"rule\":");
            write_str(out, &m.rule);
            out.extend_from_slice(match m.field {
                MatchField::Title => b",\"field\":\"title\",\"start\":",
                MatchField::Text => b",\"field\":\"text\",\"start\":",
            });
            out.extend_from_slice(itoa::Buffer::new().format(m.start).as_bytes());
            out.extend_from_slice(b",\"end\":");
            out.extend_from_slice(itoa::Buffer::new().format(m.end).as_bytes());
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"],\"regions\":[");
    for (i, r) in c.regions.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, r.as_str());
    }
    out.extend_from_slice(b"]}\n");
    Ok(())
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
    let mut line_out: Vec<u8> = Vec::with_capacity(1 << 12);
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
        line_out.clear();
        write_line(&mut line_out, input.id.as_ref(), &c)?;
        out.write_all(&line_out)?;
    }
    out.flush()?;
    Ok(())
}
