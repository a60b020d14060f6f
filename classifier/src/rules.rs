//! Rule files: plain TOML that admins edit. A rule set is one or more files.
//!
//! ```toml
//! [[rule]]
//! id = "narkoba.sabu"                 # unique across all files
//! indicator = "narkoba"
//! description = "Sabu named outright"
//! weight = 2.0                        # added to the indicator's score when it fires (default 1)
//! any = ["sabu", "pesta sabu", "narkoti*", "~edar sabu"]   # fires when any term occurs
//!
//! [[rule]]
//! id = "konflik.bentrok"
//! indicator = "konflik_sosial"
//! match = '(bentrok* OR tawuran OR "saling serang") AND NOT "latihan"'
//!
//! [[rule]]
//! id = "demokrasi.kampanye"
//! indicator = "demokrasi"
//! match = 'kampanye NEAR/6 (calon OR caleg OR paslon OR partai)'
//!
//! [[rule]]                            # EMM-style weighted list
//! id = "narkoba.jaringan"
//! indicator = "narkoba"
//! threshold = 4
//! weights = { kurir = 2, bandar = 2, gram = 1, diamankan = 1 }
//! not = ["film", "sinetron"]         # never fires when one of these occurs
//!
//! [[rule]]
//! id = "narkoba.en"
//! indicator = "narkoba"
//! any = { en = ["crystal meth", "drug trafficking"], id = ["sabu"] }
//!
//! [replace]                           # chat spelling → standard words
//! yg = "yang"
//! nyabu = "pakai sabu"
//!
//! [threshold.narkoba]
//! window = "24h"                      # sliding, in event time (reported_at)
//! lateness = "6h"                     # older than this behind the newest: not counted
//! waspada = 3                         # reports (or score, with measure = "score")
//! siaga = 6
//! awas = 10
//! rise = { days = 14, min_count = 4, waspada = 2.0, siaga = 3.0, awas = 5.0 }
//! ```
//!
//! Terms: a word (`sabu`), a phrase (`"pesta sabu"`), a prefix (`bentrok*`,
//! last word only), a suffix (`*bakar`, first word only), or the Indonesian
//! affixed forms of a root (`~bakar`: membakar, dibakar, pembakaran,
//! kebakaran, …). `title:` or `text:` limits a term to that field; a rule's
//! `field` does so for all its terms. Expressions use AND, OR, NOT, brackets
//! and `NEAR/n` (both sides within n words, in either order).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::Error;
use crate::normalize::fold;

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

/// How a word of a term matches a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Marker {
    Exact,
    /// `bentrok*`
    Prefix,
    /// `*bakar`
    Suffix,
    /// `~bakar`: the root with Indonesian affixes.
    Affix,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Word {
    /// Folded.
    pub text: String,
    pub marker: Marker,
}

/// Where a term may occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Field {
    #[default]
    Any,
    Title,
    Text,
}

/// Languages terms can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Indonesian (ISO 639-3 `ind`)
    Ind,
    /// English (`eng`)
    Eng,
    /// Javanese (`jav`)
    Jav,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "id" | "ind" => Some(Lang::Ind),
            "en" | "eng" => Some(Lang::Eng),
            "jv" | "jav" => Some(Lang::Jav),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ind => "ind",
            Lang::Eng => "eng",
            Lang::Jav => "jav",
        }
    }
}

/// A term as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// As written in the rule file.
    pub text: std::sync::Arc<str>,
    pub words: Vec<Word>,
    pub field: Field,
    /// Only for reports in this language (or of unknown language).
    pub lang: Option<Lang>,
}

/// A boolean expression over terms (indexes into [`RuleSet::terms`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Term(usize),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// Some term of `left` and some of `right` within `within` words.
    Near {
        left: Vec<usize>,
        right: Vec<usize>,
        within: usize,
    },
}

impl Expr {
    /// The terms this expression can be satisfied by (those not under NOT).
    pub fn positive_terms(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Term(t) => out.push(*t),
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.positive_terms(out)),
            Expr::Not(_) => {}
            Expr::Near { left, right, .. } => {
                out.extend(left);
                out.extend(right);
            }
        }
    }
}

/// When a rule fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Any of these terms occurs.
    Any(Vec<usize>),
    /// The expression holds.
    Match(Expr),
    /// The weights of the distinct terms that occur add up to `threshold`.
    Weighted { weights: Vec<(usize, f64)>, threshold: f64 },
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: std::sync::Arc<str>,
    pub indicator: std::sync::Arc<str>,
    pub description: String,
    pub weight: f64,
    pub kind: Kind,
    /// The rule does not fire when any of these occurs.
    pub not: Vec<usize>,
}

/// What a threshold counts in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Measure {
    #[default]
    Count,
    Score,
}

/// The rise trigger: today against the region's own recent days.
#[derive(Debug, Clone, PartialEq)]
pub struct Rise {
    pub days: u32,
    pub min_count: u64,
    /// `(level, factor)`: today ≥ factor × the daily average of the last `days` days.
    pub levels: Vec<(model::Level, f64)>,
}

/// The triggers of one indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub window: Duration,
    pub lateness: Duration,
    pub measure: Measure,
    /// `(level, amount)`, lowest level first.
    pub levels: Vec<(model::Level, f64)>,
    pub rise: Option<Rise>,
}

/// A checked set of rules, thresholds and replacements.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub terms: Vec<Term>,
    pub thresholds: BTreeMap<String, Threshold>,
    /// Chat spellings → standard words.
    pub replace: BTreeMap<String, String>,
    /// A digest of the sources: changes whenever any file changes.
    pub version: std::sync::Arc<str>,
    /// `(file name, content)` it was made from.
    pub sources: Vec<(String, String)>,
}

impl PartialEq for RuleSet {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}

// ---------------------------------------------------------------- TOML shape

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    threshold: BTreeMap<String, Spanned<ThresholdDef>>,
    #[serde(default)]
    replace: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: Spanned<String>,
    indicator: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    weight: Option<Spanned<f64>>,
    #[serde(default)]
    field: Option<Spanned<String>>,
    #[serde(default)]
    lang: Option<Spanned<String>>,
    /// A list of terms, or a table of lists by language.
    #[serde(default)]
    any: Option<Spanned<toml::Value>>,
    #[serde(default, rename = "match")]
    expr: Option<Spanned<String>>,
    #[serde(default)]
    weights: Option<Spanned<BTreeMap<Spanned<String>, f64>>>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    not: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RiseDef {
    #[serde(default = "fourteen")]
    days: u32,
    #[serde(default = "three")]
    min_count: u64,
    waspada: Option<f64>,
    siaga: Option<f64>,
    awas: Option<f64>,
}

fn fourteen() -> u32 {
    14
}
fn three() -> u64 {
    3
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdDef {
    #[serde(with = "humantime_serde")]
    window: Duration,
    #[serde(default, with = "humantime_serde::option")]
    lateness: Option<Duration>,
    #[serde(default)]
    measure: Option<String>,
    waspada: Option<f64>,
    siaga: Option<f64>,
    awas: Option<f64>,
    #[serde(default)]
    rise: Option<RiseDef>,
}

const BUILTIN: [(&str, &str); 7] = [
    ("builtin/narkoba.toml", include_str!("../rules/narkoba.toml")),
    ("builtin/konflik_sosial.toml", include_str!("../rules/konflik_sosial.toml")),
    ("builtin/kerukunan_beragama.toml", include_str!("../rules/kerukunan_beragama.toml")),
    ("builtin/ideologi.toml", include_str!("../rules/ideologi.toml")),
    ("builtin/demokrasi.toml", include_str!("../rules/demokrasi.toml")),
    ("builtin/thresholds.toml", include_str!("../rules/thresholds.toml")),
    ("builtin/normalize.toml", include_str!("../rules/normalize.toml")),
];

impl RuleSet {
    /// The built-in rule pack.
    pub fn builtin() -> RuleSet {
        // The built-in pack is checked by a test; a broken one is a build defect.
        Self::parse(&BUILTIN).unwrap_or_else(|e| panic!("built-in rule pack is invalid: {e}"))
    }

    /// The files of the built-in pack, as `(name, content)`.
    pub fn builtin_sources() -> Vec<(String, String)> {
        BUILTIN.iter().map(|(n, c)| ((*n).to_owned(), (*c).to_owned())).collect()
    }

    /// Reads a rule file, or every `*.toml` file under a folder, as
    /// `(file name, content)` pairs.
    pub fn read_sources(path: &Path) -> Result<Vec<(String, String)>, Error> {
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
            for entry in std::fs::read_dir(path).map_err(|e| io_error(path, e))? {
                let p = entry.map_err(|e| io_error(path, e))?.path();
                if p.extension().is_some_and(|x| x == "toml") {
                    files.push(p);
                }
            }
            files.sort();
        } else {
            files.push(path.to_owned());
        }
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).map(|t| (f.display().to_string(), t)).map_err(|e| io_error(f, e)))
            .collect()
    }

    /// Loads a rule file, or every `*.toml` file under a folder.
    pub fn load(path: &Path) -> Result<RuleSet, Error> {
        let sources = Self::read_sources(path)?;
        let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        Self::parse(&refs)
    }

    /// Parses and checks rule sources given as `(file name, content)`,
    /// reporting every problem found, not just the first.
    pub fn parse(sources: &[(&str, &str)]) -> Result<RuleSet, Error> {
        let mut b = Builder::default();
        let mut hasher = Sha256::new();
        for (file, text) in sources {
            hasher.update(file.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
            b.file(file, text);
        }
        if !b.errors.is_empty() {
            return Err(Error::Rules(b.errors));
        }
        Ok(RuleSet {
            rules: b.rules,
            terms: b.terms,
            thresholds: b.thresholds,
            replace: b.replace,
            version: hex::encode(&hasher.finalize()[..8]).into(),
            sources: sources.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect(),
        })
    }

    /// The indicators the rules can tag.
    pub fn indicators(&self) -> Vec<String> {
        let mut out: Vec<String> = self.rules.iter().map(|r| r.indicator.to_string()).collect();
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Default)]
struct Builder {
    rules: Vec<Rule>,
    terms: Vec<Term>,
    term_ids: HashMap<Term, usize>,
    thresholds: BTreeMap<String, Threshold>,
    replace: BTreeMap<String, String>,
    errors: Vec<RuleError>,
    seen: HashMap<String, String>,
}

/// Where the quoted term `raw` is written at or after `from` (to point an
/// error at it); `from` itself when it cannot be found.
fn locate(text: &str, from: usize, raw: &str) -> usize {
    [format!("\"{raw}\""), format!("'{raw}'")]
        .iter()
        .filter_map(|q| text.get(from..)?.find(q.as_str()).map(|i| from + i + 1))
        .min()
        .unwrap_or(from)
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Builder {
    fn error(&mut self, file: &str, text: &str, at: usize, message: String) {
        let (line, col) = line_col(text, at);
        self.errors.push(RuleError { file: file.to_owned(), line, col, message });
    }

    fn file(&mut self, file: &str, text: &str) {
        let parsed: RuleFile = match toml::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                let at = e.span().map_or(0, |s| s.start);
                self.error(file, text, at, e.message().trim().to_owned());
                return;
            }
        };
        for (from, to) in parsed.replace {
            self.replace.insert(from, to);
        }
        for def in parsed.rule {
            self.rule(file, text, def);
        }
        for (indicator, def) in parsed.threshold {
            self.threshold(file, text, indicator, def);
        }
    }

    /// Interns a term; `at` is where the text of the term starts in the file.
    fn term(&mut self, raw: &str, field: Field, lang: Option<Lang>) -> Result<usize, String> {
        let term = parse_term(raw, field, lang)?;
        let next = self.terms.len();
        let id = *self.term_ids.entry(term.clone()).or_insert(next);
        if id == next {
            self.terms.push(term);
        }
        Ok(id)
    }

    fn rule(&mut self, file: &str, text: &str, def: RuleDef) {
        let id = def.id.get_ref().trim().to_owned();
        let id_at = def.id.span().start;
        if id.is_empty() {
            self.error(file, text, id_at, "rule id is empty: give every rule a unique id".into());
        } else if let Some(other) = self.seen.insert(id.clone(), file.to_owned()) {
            self.error(file, text, id_at, format!("rule id `{id}` is already used in {other}"));
        }
        let indicator = def.indicator.get_ref().trim().to_owned();
        if !is_ident(&indicator) {
            let at = def.indicator.span().start;
            self.error(
                file,
                text,
                at,
                format!("indicator `{indicator}` must be lowercase letters, digits and _, like `narkoba`"),
            );
        }
        let weight = def.weight.as_ref().map_or(1.0, |w| *w.get_ref());
        if !(weight.is_finite() && weight > 0.0) {
            let at = def.weight.as_ref().map_or(id_at, |w| w.span().start);
            self.error(file, text, at, format!("rule `{id}`: weight must be a number above 0"));
        }
        let field = match def.field.as_ref().map(|f| f.get_ref().as_str()) {
            None | Some("any") => Field::Any,
            Some("title") => Field::Title,
            Some("text") => Field::Text,
            Some(other) => {
                let at = def.field.as_ref().map_or(id_at, |f| f.span().start);
                self.error(file, text, at, format!("field `{other}` must be any, title or text"));
                Field::Any
            }
        };
        let lang = match &def.lang {
            None => None,
            Some(l) => match Lang::parse(l.get_ref()) {
                Some(l) => Some(l),
                None => {
                    self.error(file, text, l.span().start, format!("lang `{}` must be id, en or jv", l.get_ref()));
                    None
                }
            },
        };
        let given = [def.any.is_some(), def.expr.is_some(), def.weights.is_some()].iter().filter(|b| **b).count();
        if given != 1 {
            self.error(file, text, id_at, format!("rule `{id}` needs exactly one of `any`, `match` or `weights`"));
            return;
        }
        let mut kind = None;
        if let Some(any) = def.any {
            let span = any.span();
            let mut ids = Vec::new();
            let mut lists: Vec<(Option<Lang>, &toml::value::Array)> = Vec::new();
            match any.get_ref() {
                toml::Value::Array(list) => lists.push((lang, list)),
                toml::Value::Table(by_lang) => {
                    for (l, v) in by_lang {
                        match (Lang::parse(l), v.as_array()) {
                            (Some(lang), Some(list)) => lists.push((Some(lang), list)),
                            (None, _) => {
                                self.error(file, text, span.start, format!("language `{l}` must be id, en or jv"))
                            }
                            (_, None) => {
                                self.error(file, text, span.start, format!("`any.{l}` must be a list of terms"))
                            }
                        }
                    }
                }
                _ => self.error(
                    file,
                    text,
                    span.start,
                    "`any` must be a list of terms, or a table of lists by language".into(),
                ),
            }
            for (l, list) in lists {
                for item in list {
                    let Some(raw) = item.as_str() else {
                        self.error(file, text, span.start, format!("rule `{id}`: terms are strings, like \"sabu\""));
                        continue;
                    };
                    match self.term(raw, field, l) {
                        Ok(i) => ids.push(i),
                        Err(m) => {
                            let at = locate(text, span.start, raw);
                            self.error(file, text, at, m);
                        }
                    }
                }
            }
            if ids.is_empty() {
                self.error(file, text, span.start, format!("rule `{id}`: `any` needs at least one term"));
            }
            kind = Some(Kind::Any(ids));
        }
        if let Some(expr) = def.expr {
            // +1: the opening quote of the TOML string
            let base = expr.span().start + 1;
            match parse_expr(expr.get_ref(), &mut |raw, f| {
                self.term(raw, if f == Field::Any { field } else { f }, lang)
            }) {
                Ok(e) => kind = Some(Kind::Match(e)),
                Err((offset, m)) => self.error(file, text, base + offset, format!("rule `{id}`: {m}")),
            }
        }
        if let Some(weights) = def.weights {
            let span = weights.span();
            let threshold = def.threshold.unwrap_or(0.0);
            if !(threshold.is_finite() && threshold > 0.0) {
                self.error(file, text, span.start, format!("rule `{id}`: weighted terms need `threshold` above 0"));
            }
            let mut list = Vec::new();
            for (t, w) in weights.into_inner() {
                match self.term(t.get_ref(), field, lang) {
                    Ok(i) => list.push((i, w)),
                    Err(m) => self.error(file, text, t.span().start, m),
                }
            }
            kind = Some(Kind::Weighted { weights: list, threshold });
        } else if def.threshold.is_some() {
            self.error(file, text, id_at, format!("rule `{id}`: `threshold` only goes with `weights`"));
        }
        let mut not = Vec::new();
        for t in &def.not {
            match self.term(t.get_ref(), field, lang) {
                Ok(i) => not.push(i),
                Err(m) => self.error(file, text, t.span().start + 1, m),
            }
        }
        if let Some(kind) = kind {
            self.rules.push(Rule {
                id: id.into(),
                indicator: indicator.into(),
                description: def.description,
                weight,
                kind,
                not,
            });
        }
    }

    fn threshold(&mut self, file: &str, text: &str, indicator: String, def: Spanned<ThresholdDef>) {
        let at = def.span().start;
        let def = def.into_inner();
        let levels = |w: Option<f64>, s: Option<f64>, a: Option<f64>| -> Vec<(model::Level, f64)> {
            [(model::Level::Waspada, w), (model::Level::Siaga, s), (model::Level::Awas, a)]
                .into_iter()
                .filter_map(|(l, c)| c.map(|c| (l, c)))
                .collect()
        };
        let rising =
            |v: &[(model::Level, f64)]| v.iter().all(|(_, c)| *c > 0.0) && v.windows(2).all(|w| w[0].1 < w[1].1);
        let absolute = levels(def.waspada, def.siaga, def.awas);
        if !rising(&absolute) {
            self.error(
                file,
                text,
                at,
                format!("threshold `{indicator}`: amounts must be above 0 and rise from waspada to siaga to awas"),
            );
        }
        if def.window.is_zero() {
            self.error(file, text, at, format!("threshold `{indicator}`: window must be longer than 0, like \"24h\""));
        }
        let measure = match def.measure.as_deref() {
            None | Some("count") => Measure::Count,
            Some("score") => Measure::Score,
            Some(other) => {
                self.error(
                    file,
                    text,
                    at,
                    format!("threshold `{indicator}`: measure `{other}` must be count or score"),
                );
                Measure::Count
            }
        };
        let rise =
            def.rise.map(|r| Rise { days: r.days, min_count: r.min_count, levels: levels(r.waspada, r.siaga, r.awas) });
        if let Some(r) = &rise
            && (r.levels.is_empty() || !rising(&r.levels) || r.days == 0 || r.levels.iter().any(|(_, f)| *f <= 1.0))
        {
            self.error(
                file,
                text,
                at,
                format!(
                    "threshold `{indicator}`: rise needs days ≥ 1 and factors above 1 that rise from waspada to awas"
                ),
            );
        }
        if absolute.is_empty() && rise.is_none() {
            self.error(
                file,
                text,
                at,
                format!("threshold `{indicator}` sets no level: add waspada, siaga or awas, or a rise"),
            );
        }
        let lateness = def.lateness.unwrap_or(def.window);
        self.thresholds.insert(indicator, Threshold { window: def.window, lateness, measure, levels: absolute, rise });
    }
}

/// Parses one term as written in a rule.
pub fn parse_term(raw: &str, field: Field, lang: Option<Lang>) -> Result<Term, String> {
    let trimmed = raw.trim();
    let (field, body) = match trimmed.split_once(':') {
        Some(("title", rest)) => (Field::Title, rest),
        Some(("text", rest)) => (Field::Text, rest),
        _ => (field, trimmed),
    };
    let parts: Vec<&str> = body.split_whitespace().collect();
    if parts.is_empty() {
        return Err(format!("term `{raw}` has no words"));
    }
    let last = parts.len() - 1;
    let mut words = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let (marker, core) = if let Some(c) = part.strip_prefix('~') {
            (Marker::Affix, c)
        } else if let Some(c) = part.strip_prefix('*') {
            if i != 0 {
                return Err(format!("term `{raw}`: `*word` (a suffix) may only start a term"));
            }
            (Marker::Suffix, c)
        } else if let Some(c) = part.strip_suffix('*') {
            if i != last {
                return Err(format!("term `{raw}`: `word*` (a prefix) may only end a term"));
            }
            (Marker::Prefix, c)
        } else {
            (Marker::Exact, *part)
        };
        if core.contains(['*', '~']) {
            return Err(format!(
                "term `{raw}`: `*` goes at the start or end of a word, `~` before a root, as in `bentrok*` or `~bakar`"
            ));
        }
        // a word such as `sabu-sabu` or `al-jufri` is several tokens
        let pieces: Vec<String> =
            core.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).map(fold).collect();
        if pieces.is_empty() {
            return Err(format!("term `{raw}` has no letters in `{part}`"));
        }
        if marker != Marker::Exact && (pieces.len() != 1 || pieces[0].chars().count() < 3) {
            return Err(format!(
                "term `{raw}`: `{part}` needs at least 3 letters and no punctuation to take `*` or `~`"
            ));
        }
        let n = pieces.len();
        for (j, p) in pieces.into_iter().enumerate() {
            let m = if j + 1 == n { marker } else { Marker::Exact };
            words.push(Word { text: p, marker: m });
        }
    }
    Ok(Term { text: trimmed.into(), words, field, lang })
}

// ------------------------------------------------------------- expressions

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    Near(usize),
    Term(String),
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, (usize, String)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push((at, Tok::Open));
            i += 1;
        } else if c == ')' {
            out.push((at, Tok::Close));
            i += 1;
        } else if c == '"' || (c != '(' && src[at..].starts_with("title:\"")) || src[at..].starts_with("text:\"") {
            // a quoted phrase, maybe with a field prefix
            let open = src[at..].find('"').map_or(at, |o| at + o);
            let Some(close) = src[open + 1..].find('"') else {
                return Err((open, "this quote is never closed".into()));
            };
            out.push((at, Tok::Term(src[at..open + 1 + close + 1].replace('"', ""))));
            let end = open + 1 + close + 1;
            while i < chars.len() && chars[i].0 < end {
                i += 1;
            }
        } else {
            let start = at;
            while i < chars.len() && !chars[i].1.is_whitespace() && !matches!(chars[i].1, '(' | ')' | '"') {
                i += 1;
            }
            let end = chars.get(i).map_or(src.len(), |(a, _)| *a);
            let word = &src[start..end];
            let tok = match word {
                "AND" => Tok::And,
                "OR" => Tok::Or,
                "NOT" => Tok::Not,
                w if w.starts_with("NEAR/") => match w[5..].parse::<usize>() {
                    Ok(n) if n >= 1 => Tok::Near(n),
                    _ => return Err((start, format!("`{w}` must be NEAR/n with n a number of words, like NEAR/5"))),
                },
                w if w.starts_with("NEAR") => {
                    return Err((start, "write NEAR/n, with n the most words between, like NEAR/5".into()));
                }
                w => Tok::Term(w.to_owned()),
            };
            out.push((start, tok));
        }
    }
    Ok(out)
}

struct Parser<'a, F> {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
    intern: &'a mut F,
}

type PResult<T> = Result<T, (usize, String)>;

impl<F: FnMut(&str, Field) -> Result<usize, String>> Parser<'_, F> {
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |(a, _)| *a)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut items = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    items.push(self.unary()?);
                }
                Some(Tok::Term(_) | Tok::Open | Tok::Not) => {
                    return Err((self.at(), "put AND or OR between terms".into()));
                }
                _ => break,
            }
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        let start = self.at();
        let left = self.primary()?;
        if let Some(Tok::Near(n)) = self.peek().cloned() {
            self.pos += 1;
            let right_at = self.at();
            let right = self.primary()?;
            let terms = |e: &Expr, at: usize| -> PResult<Vec<usize>> {
                match e {
                    Expr::Term(t) => Ok(vec![*t]),
                    Expr::Or(v) if v.iter().all(|x| matches!(x, Expr::Term(_))) => {
                        Ok(v.iter().filter_map(|x| if let Expr::Term(t) = x { Some(*t) } else { None }).collect())
                    }
                    _ => Err((at, "NEAR joins terms or (a OR b …) lists of terms".into())),
                }
            };
            return Ok(Expr::Near { left: terms(&left, start)?, right: terms(&right, right_at)?, within: n });
        }
        Ok(left)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let at = self.at();
        match self.toks.get(self.pos).cloned() {
            Some((_, Tok::Open)) => {
                self.pos += 1;
                let e = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err((self.at(), "a bracket is never closed".into()));
                }
                self.pos += 1;
                Ok(e)
            }
            Some((_, Tok::Term(t))) => {
                self.pos += 1;
                (self.intern)(&t, Field::Any).map(Expr::Term).map_err(|m| (at, m))
            }
            Some((_, tok)) => Err((at, format!("expected a term or `(`, found {tok:?}"))),
            None => Err((at, "the expression ends too early".into())),
        }
    }
}

/// Parses a `match` expression; errors carry the byte offset in `src`.
pub fn parse_expr(src: &str, intern: &mut impl FnMut(&str, Field) -> Result<usize, String>) -> PResult<Expr> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0, len: src.len(), intern };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err((p.at(), "unexpected text: an extra `)`?".into()));
    }
    if let Expr::Not(_) = e {
        return Err((0, "an expression cannot be only NOT: say what must occur".into()));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        match RuleSet::parse(&[("x.toml", src)]) {
            Err(Error::Rules(e)) => e.iter().map(ToString::to_string).collect(),
            Err(e) => vec![e.to_string()],
            Ok(_) => vec![],
        }
    }

    #[test]
    fn builtin_pack_is_valid_and_covers_every_indicator() {
        let set = RuleSet::builtin();
        for id in model::INDICATORS {
            assert!(set.rules.iter().any(|r| &*r.indicator == id), "no rule for {id}");
            assert!(set.thresholds.contains_key(id), "no threshold for {id}");
        }
        assert!(set.replace.contains_key("yg"));
    }

    #[test]
    fn terms() {
        let t = parse_term("~bakar rumah", Field::Any, None).unwrap();
        assert_eq!(
            t.words,
            [
                Word { text: "bakar".into(), marker: Marker::Affix },
                Word { text: "rumah".into(), marker: Marker::Exact }
            ]
        );
        let t = parse_term("title:Sabu-Sabu", Field::Any, None).unwrap();
        assert_eq!((t.field, t.words.len()), (Field::Title, 2));
        assert!(parse_term("sa*bu", Field::Any, None).is_err());
        assert!(parse_term("ab*", Field::Any, None).is_err());
        assert!(parse_term("pesta* sabu", Field::Any, None).is_err());
    }

    #[test]
    fn expressions() {
        let mut terms: Vec<String> = Vec::new();
        let mut intern = |t: &str, _f: Field| {
            terms.push(t.to_owned());
            Ok(terms.len() - 1)
        };
        let e = parse_expr(r#"(bentrok* OR "saling serang") AND NOT latihan"#, &mut intern).unwrap();
        assert!(matches!(e, Expr::And(ref v) if v.len() == 2));
        let e = parse_expr("kampanye NEAR/5 (calon OR caleg)", &mut intern).unwrap();
        assert!(matches!(e, Expr::Near { within: 5, ref right, .. } if right.len() == 2));
        assert!(parse_expr("a b", &mut intern).unwrap_err().1.contains("AND or OR"));
        assert!(parse_expr("(a OR b", &mut intern).is_err());
        assert!(parse_expr("NOT a", &mut intern).is_err());
        assert!(parse_expr("a NEAR b", &mut intern).is_err());
        assert!(parse_expr("(a AND b) NEAR/3 c", &mut intern).is_err());
    }

    #[test]
    fn errors_point_at_file_line_col() {
        let src = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"sa*bu\", \"ok\"]\n";
        assert_eq!(
            errors(src),
            [
                "x.toml:4:9: term `sa*bu`: `*` goes at the start or end of a word, `~` before a root, as in `bentrok*` or `~bakar`"
            ]
        );
        let src = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nmatch = 'sabu AND (pesta OR'\n";
        let e = errors(src);
        assert!(e[0].starts_with("x.toml:4:"), "{e:?}");
        let src = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"x\"]\ncolour = 1\n";
        let e = errors(src);
        assert!(e[0].starts_with("x.toml:") && e[0].contains("colour"), "{e:?}");
        let src = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"x\"]\n[[rule]]\nid = \"a\"\nindicator = \"Bad\"\nmatch = 'x'\nany = ['y']\n";
        let e = errors(src);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].starts_with("x.toml:6:6: rule id `a` is already used"), "{e:?}");
    }

    #[test]
    fn thresholds_must_rise() {
        assert!(!errors("[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 5\nsiaga = 3\n").is_empty());
        assert!(!errors("[threshold.narkoba]\nwindow = \"24h\"\nrise = { waspada = 0.5 }\n").is_empty());
        let set = RuleSet::parse(&[("t.toml", "[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 3\nsiaga = 5\nrise = { days = 7, min_count = 4, siaga = 3.0 }\n")]).unwrap();
        let t = &set.thresholds["narkoba"];
        assert_eq!((t.window, t.lateness), (Duration::from_secs(86_400), Duration::from_secs(86_400)));
        assert_eq!(t.rise.as_ref().unwrap().days, 7);
    }
}
