//! Rule files: plain TOML that admins edit.
//!
//! ```toml
//! [[rule]]
//! id = "narkoba.sabu"
//! indicator = "narkoba"
//! description = "Sabu (methamphetamine) use or trade"
//! weight = 2.0
//! any = ["sabu", "pesta sabu", "narkoba*"]   # a word, a phrase, or a prefix with *
//!
//! [threshold.narkoba]
//! window = "24h"
//! waspada = 3      # reports in the window, per region, at every level
//! siaga = 6
//! awas = 10
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::Error;

/// One problem in a rule file, printed as `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    threshold: BTreeMap<String, Spanned<ThresholdDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: Spanned<String>,
    indicator: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default = "one")]
    weight: f64,
    any: Spanned<Vec<Spanned<String>>>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdDef {
    #[serde(with = "humantime_serde")]
    window: Duration,
    waspada: Option<u64>,
    siaga: Option<u64>,
    awas: Option<u64>,
}

/// A term of a rule: one or more words, the last possibly a prefix (`bentrok*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// As written in the rule file.
    pub text: String,
    /// Lowercased words.
    pub words: Vec<String>,
    /// Whether the last word matches as a prefix.
    pub prefix: bool,
}

/// A rule: if any of its terms occurs, the report gets `weight` on `indicator`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub indicator: String,
    pub description: String,
    pub weight: f64,
    pub terms: Vec<Term>,
}

/// The counts at which an indicator reaches each level within `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    pub window: Duration,
    /// `(level, count)`, lowest level first.
    pub levels: Vec<(model::Level, u64)>,
}

/// A checked set of rules and thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub thresholds: BTreeMap<String, Threshold>,
    /// Changes whenever any rule file's content changes.
    pub version: String,
}

const BUILTIN: [(&str, &str); 1] = [("builtin/indicators.toml", include_str!("../rules/indicators.toml"))];

impl RuleSet {
    /// The built-in rule pack.
    pub fn builtin() -> RuleSet {
        // The built-in pack is checked by a test; a broken one is a build defect.
        Self::parse(&BUILTIN).unwrap_or_else(|e| panic!("built-in rule pack is invalid: {e}"))
    }

    /// Loads a rule file, or every `*.toml` file under a folder.
    pub fn load(path: &Path) -> Result<RuleSet, Error> {
        let io_error = |p: &Path, e: std::io::Error| {
            Error::Rules(vec![RuleError {
                file: p.display().to_string(),
                line: 1,
                col: 1,
                message: format!("cannot read: {e}"),
            }])
        };
        let mut files: Vec<PathBuf> = Vec::new();
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| io_error(path, e))?;
            for entry in entries {
                let p = entry.map_err(|e| io_error(path, e))?.path();
                if p.extension().is_some_and(|x| x == "toml") {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.to_owned());
        }
        let mut sources = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).map_err(|e| io_error(f, e))?;
            sources.push((f.display().to_string(), text));
        }
        let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        Self::parse(&refs)
    }

    /// Parses and checks rule sources given as `(file name, content)`,
    /// reporting every problem found, not just the first.
    pub fn parse(sources: &[(&str, &str)]) -> Result<RuleSet, Error> {
        let mut errors = Vec::new();
        let mut rules: Vec<Rule> = Vec::new();
        let mut thresholds = BTreeMap::new();
        let mut hasher = std::hash::DefaultHasher::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (file, text) in sources {
            text.hash(&mut hasher);
            let at = |span: std::ops::Range<usize>, message: String| {
                let (line, col) = line_col(text, span.start);
                RuleError { file: (*file).to_owned(), line, col, message }
            };
            let parsed: RuleFile = match toml::from_str(text) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(at(e.span().unwrap_or(0..0), e.message().trim().to_owned()));
                    continue;
                }
            };
            for def in parsed.rule {
                let id = def.id.get_ref().trim().to_owned();
                if id.is_empty() {
                    errors.push(at(def.id.span(), "rule id is empty: give every rule a unique id".into()));
                } else if let Some(other) = seen.insert(id.clone(), (*file).to_owned()) {
                    errors.push(at(def.id.span(), format!("rule id `{id}` is already used in {other}")));
                }
                let indicator = def.indicator.get_ref().trim().to_owned();
                if !is_ident(&indicator) {
                    errors.push(at(
                        def.indicator.span(),
                        format!("indicator `{indicator}` must be lowercase letters, digits and _, like `narkoba`"),
                    ));
                }
                if !(def.weight.is_finite() && def.weight > 0.0) {
                    errors.push(at(def.id.span(), format!("rule `{id}`: weight must be a number above 0")));
                }
                if def.any.get_ref().is_empty() {
                    errors.push(at(def.any.span(), format!("rule `{id}`: `any` needs at least one term")));
                }
                let mut terms = Vec::new();
                for t in def.any.into_inner() {
                    match parse_term(t.get_ref()) {
                        Ok(term) => terms.push(term),
                        Err(message) => errors.push(at(t.span(), message)),
                    }
                }
                rules.push(Rule { id, indicator, description: def.description, weight: def.weight, terms });
            }
            for (indicator, def) in parsed.threshold {
                let span = def.span();
                let def = def.into_inner();
                let levels: Vec<(model::Level, u64)> = [
                    (model::Level::Waspada, def.waspada),
                    (model::Level::Siaga, def.siaga),
                    (model::Level::Awas, def.awas),
                ]
                .into_iter()
                .filter_map(|(l, c)| c.map(|c| (l, c)))
                .collect();
                if levels.is_empty() {
                    errors.push(at(
                        span.clone(),
                        format!("threshold `{indicator}` sets no level: add waspada, siaga or awas"),
                    ));
                }
                if levels.iter().any(|(_, c)| *c == 0) || levels.windows(2).any(|w| w[0].1 >= w[1].1) {
                    errors.push(at(
                        span.clone(),
                        format!(
                            "threshold `{indicator}`: counts must be above 0 and rise from waspada to siaga to awas"
                        ),
                    ));
                }
                if def.window.is_zero() {
                    errors
                        .push(at(span, format!("threshold `{indicator}`: window must be longer than 0, like \"24h\"")));
                }
                thresholds.insert(indicator, Threshold { window: def.window, levels });
            }
        }
        if errors.is_empty() {
            Ok(RuleSet { rules, thresholds, version: format!("{:016x}", hasher.finish()) })
        } else {
            Err(Error::Rules(errors))
        }
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn parse_term(raw: &str) -> Result<Term, String> {
    let text = raw.trim();
    let prefix = text.ends_with('*');
    let body = text.trim_end_matches('*');
    if body.contains('*') {
        return Err(format!("term `{raw}`: `*` may only end a term, as in `bentrok*`"));
    }
    let words = crate::engine::words(body).into_iter().map(|w| w.text).collect::<Vec<_>>();
    if words.is_empty() {
        return Err(format!("term `{raw}` has no words"));
    }
    if prefix && words.last().is_some_and(|w| w.chars().count() < 3) {
        return Err(format!("term `{raw}`: a prefix needs at least 3 letters before `*`"));
    }
    Ok(Term { text: text.to_owned(), words, prefix })
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_is_valid() {
        let set = RuleSet::builtin();
        for id in model::INDICATORS {
            assert!(set.rules.iter().any(|r| r.indicator == id), "no rule for {id}");
        }
    }

    #[test]
    fn errors_point_at_file_line_col() {
        let src = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"sa*bu\", \"ok\"]\n";
        let Err(Error::Rules(errs)) = RuleSet::parse(&[("x.toml", src)]) else { panic!("accepted") };
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].to_string(), "x.toml:4:8: term `sa*bu`: `*` may only end a term, as in `bentrok*`");

        let src = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"x\"]\ncolour = 1\n";
        let Err(Error::Rules(errs)) = RuleSet::parse(&[("y.toml", src)]) else { panic!("accepted") };
        assert!(errs[0].to_string().starts_with("y.toml:"), "{}", errs[0]);
        assert!(errs[0].message.contains("colour"), "{}", errs[0]);

        let src = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"x\"]\n[[rule]]\nid = \"a\"\nindicator = \"Bad\"\nany = []\n";
        let Err(Error::Rules(errs)) = RuleSet::parse(&[("z.toml", src)]) else { panic!("accepted") };
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("z.toml:6:6: rule id `a` is already used"), "{lines:?}");
    }

    #[test]
    fn thresholds_must_rise() {
        let src = "[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 5\nsiaga = 3\n";
        assert!(RuleSet::parse(&[("t.toml", src)]).is_err());
        let src = "[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 3\nsiaga = 5\n";
        let set = RuleSet::parse(&[("t.toml", src)]).unwrap();
        assert_eq!(set.thresholds["narkoba"].window, Duration::from_secs(86_400));
    }
}
