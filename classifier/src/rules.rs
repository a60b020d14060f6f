//! Rule files: plain TOML that admins edit. A rule set is one or more files.
//!
//! ```toml
//! regions = ["72"]                    # optional: a local file (see below)
//!
//! [[rule]]
//! id = "narkoba.sabu"                 # unique across all files
//! indicator = "narkoba"               # a built-in indicator, or one with a [threshold.x] table
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
//! [[rule]]                            # `@name`: the terms of a list of this file
//! id = "konflik.demo_pejabat"
//! indicator = "demokrasi"
//! match = '(demo OR "unjuk rasa") NEAR/8 @pejabat'
//! not = ["@latihan"]
//!
//! [lists]                             # named lists of terms, for this file's rules
//! pejabat = ["bupati", "wali kota", "camat", "dprd*"]
//! latihan = ["simulasi", "gladi"]
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
//! regency = { waspada = 6, siaga = 12, awas = 20 }   # a regency as a whole (default: as above)
//! province = { waspada = 12, siaga = 24, awas = 40 } # a province as a whole (default: as above)
//! rise = { days = 14, min_count = 4, history_days = 7, waspada = 2.0, siaga = 3.0, awas = 5.0 }
//! ```
//!
//! A list in `[lists]` is named like an indicator and holds 1 to 2,000
//! terms (no other list). `@name` stands for its terms: in `any` and `not`
//! as if each were written there, in `match` as `(t1 OR t2 OR …)`, so also
//! as a side of a NEAR. A list holds only in its own file; `weights` cannot
//! name one. One guard shared by several rules is then written once.
//!
//! Terms: a word (`sabu`), a phrase (`"pesta sabu"`), a prefix (`bentrok*`,
//! last word only), a suffix (`*bakar`, first word only), or the Indonesian
//! affixed forms of a root (`~bakar`: membakar, dibakar, pembakaran,
//! kebakaran, …). `title:` or `text:` limits a term to that field; a rule's
//! `field` does so for all its terms. Expressions use AND, OR, NOT, brackets
//! and `NEAR/n` (both sides within n words, in either order).
//!
//! A rule's indicator is one of the built-in ones ([`model::INDICATORS`]) or
//! one a national `[threshold.x]` table in the set defines (or, for a local
//! rule, a table of a file whose regions enclose the rule's); any other
//! indicator could never raise an alert, so it is an error. Alerts reach the
//! units that handle every indicator, or that list it.
//!
//! A file that starts with `regions = [...]` is local to those regions: its
//! rules count only for reports whose regions all lie within them (after
//! geotagging), and its `[threshold.x]` tables override the national ones in
//! those regions and below. A local file cannot have `[replace]`, which would
//! change how every report reads.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use model::RegionCode;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::Error;
use crate::thresholds::{LocalThreshold, Thresholds};
use bahasa::normalize::fold;

/// Limits on what one rule file may ask of a node. Each keeps a rule that
/// an admin can write from costing the pipeline more than it gives: deep
/// nesting would exhaust the stack, long terms the matcher, long windows the
/// memory of every series.
pub mod limits {
    use std::time::Duration;

    /// Bytes in one rule file.
    pub const FILE_BYTES: usize = 4 << 20;
    /// Brackets and NOTs nested inside each other in a `match` expression.
    pub const DEPTH: usize = 32;
    /// Words in one term (`"pesta sabu"` is two).
    pub const TERM_WORDS: usize = 12;
    /// Characters in one term as written.
    pub const TERM_CHARS: usize = 200;
    /// Terms in one rule.
    pub const RULE_TERMS: usize = 5_000;
    /// The `n` of `NEAR/n`.
    pub const NEAR: usize = 100;
    /// A rule's `weight`, a weighted term's weight and a `threshold`.
    pub const WEIGHT: f64 = 1_000.0;
    /// A threshold window: at least a minute (windows count by the minute),
    /// at most 31 days.
    pub const WINDOW_MIN: Duration = Duration::from_secs(60);
    pub const WINDOW_MAX: Duration = Duration::from_secs(31 * 86_400);
    /// How late a report may come and still count.
    pub const LATENESS_MAX: Duration = Duration::from_secs(7 * 86_400);
    /// Days a rise compares with.
    pub const RISE_DAYS: u32 = 366;
    /// A threshold level's amount, and a rise's `min_count`.
    pub const AMOUNT: f64 = 1_000_000.0;
    /// Words a `[replace]` entry may stand for.
    pub const REPLACE_WORDS: usize = 8;
    /// Word forms one term may expand to (`~bakar ~rumah` is every form of
    /// one times every form of the other); the rest are not searched.
    pub const TERM_FORMS: usize = 4096;
    /// Word forms of all terms together: the size of the automaton every
    /// report goes through.
    pub const FORMS: usize = 1_000_000;
    /// Terms that the `@name`s of a whole rule set may stand for together: a
    /// file of a few bytes a use could otherwise name a long list millions
    /// of times.
    pub const LISTED: usize = 1_000_000;
}

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
    /// The regions of a local rule (empty for a national one): it counts only
    /// for a report whose regions all lie within them.
    pub regions: Arc<[RegionCode]>,
}

impl Rule {
    /// Whether the rule counts for a report in `regions`: always for a
    /// national rule; for a local one, when the report has regions and each
    /// lies within the rule's (a report that also names a place outside
    /// would carry the tag into that place's counts).
    pub fn applies_in(&self, regions: &[RegionCode]) -> bool {
        self.regions.is_empty()
            || (!regions.is_empty() && regions.iter().all(|r| self.regions.iter().any(|s| r.is_within(s))))
    }
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
    /// Days a series must have been seen before its own average counts.
    pub history_days: u32,
    /// The daily average assumed for a series seen for fewer days; without
    /// it, such a series does not rise.
    pub prior_per_day: Option<f64>,
    /// `(level, factor)`: today ≥ factor × the daily average of the last `days` days.
    pub levels: Vec<(model::Level, f64)>,
}

/// The triggers of one indicator.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub window: Duration,
    pub lateness: Duration,
    pub measure: Measure,
    /// `(level, amount)`, lowest level first: for a district, and for the
    /// reports placed at a regency or province and no lower.
    pub levels: Vec<(model::Level, f64)>,
    /// The same, for all the reports of a regency, and of a province.
    pub regency: Vec<(model::Level, f64)>,
    pub province: Vec<(model::Level, f64)>,
    pub rise: Option<Rise>,
}

impl Threshold {
    /// The amounts all the reports of a region at `level` are held to.
    pub fn levels_at(&self, level: model::RegionLevel) -> &[(model::Level, f64)] {
        match level {
            model::RegionLevel::Province => &self.province,
            model::RegionLevel::Regency => &self.regency,
            model::RegionLevel::District | model::RegionLevel::Village => &self.levels,
        }
    }
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
    /// The regions of each local file, by file name; national files are not listed.
    pub file_regions: BTreeMap<String, Vec<RegionCode>>,
    /// The `[threshold.x]` tables of local files, one for each of their regions.
    pub local_thresholds: Vec<LocalThreshold>,
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
    /// A local file's regions.
    #[serde(default)]
    regions: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    threshold: BTreeMap<String, Spanned<ThresholdDef>>,
    #[serde(default)]
    replace: BTreeMap<String, String>,
    /// Named lists of terms, for this file's rules: `@name`.
    #[serde(default)]
    lists: BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>,
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
    days: Spanned<i64>,
    #[serde(default = "three")]
    min_count: Spanned<i64>,
    #[serde(default = "seven")]
    history_days: Spanned<i64>,
    #[serde(default)]
    prior_per_day: Option<Spanned<f64>>,
    waspada: Option<f64>,
    siaga: Option<f64>,
    awas: Option<f64>,
}

fn fourteen() -> Spanned<i64> {
    Spanned::new(0..0, 14)
}
fn three() -> Spanned<i64> {
    Spanned::new(0..0, 3)
}
fn seven() -> Spanned<i64> {
    Spanned::new(0..0, 7)
}

/// A `regency = { .. }` or `province = { .. }` table of a threshold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelsDef {
    waspada: Option<f64>,
    siaga: Option<f64>,
    awas: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdDef {
    window: Spanned<String>,
    #[serde(default)]
    lateness: Option<Spanned<String>>,
    #[serde(default)]
    measure: Option<String>,
    waspada: Option<f64>,
    siaga: Option<f64>,
    awas: Option<f64>,
    #[serde(default)]
    regency: Option<Spanned<LevelsDef>>,
    #[serde(default)]
    province: Option<Spanned<LevelsDef>>,
    #[serde(default)]
    rise: Option<RiseDef>,
}

const BUILTIN: [(&str, &str); 6] = [
    ("builtin/narkoba.toml", include_str!("../rules/narkoba.toml")),
    ("builtin/konflik_sosial.toml", include_str!("../rules/konflik_sosial.toml")),
    ("builtin/kerukunan_beragama.toml", include_str!("../rules/kerukunan_beragama.toml")),
    ("builtin/ideologi.toml", include_str!("../rules/ideologi.toml")),
    ("builtin/demokrasi.toml", include_str!("../rules/demokrasi.toml")),
    ("builtin/thresholds.toml", include_str!("../rules/thresholds.toml")),
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
    /// `(file name, content)` pairs. A file is named by its own name, and a
    /// file in a folder by the folder's name and its own (`rules/narkoba.toml`):
    /// the names appear in errors that API callers read, which must not tell
    /// them where the server keeps its files.
    pub fn read_sources(path: &Path) -> Result<Vec<(String, String)>, Error> {
        let name = |f: &Path| -> String {
            let own = f.file_name().map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into_owned());
            match (f == path, path.file_name()) {
                (false, Some(folder)) => format!("{}/{own}", folder.to_string_lossy()),
                _ => own,
            }
        };
        let io_error = |p: &Path, e: std::io::Error| {
            Error::Rules(vec![RuleError { file: name(p), line: 1, col: 1, message: format!("cannot read: {e}") }])
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
        files.iter().map(|f| std::fs::read_to_string(f).map(|t| (name(f), t)).map_err(|e| io_error(f, e))).collect()
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
        // the bundled chat spellings and slang are always in force; a rule
        // file's `[replace]` adds to them or overrides an entry
        for (file, text) in std::iter::once(&("bahasa/slang.toml", bahasa::normalize::SLANG)).chain(sources) {
            hasher.update(file.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
            b.file(file, text);
        }
        b.check_indicators();
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
            file_regions: b.file_regions,
            local_thresholds: b.local,
        })
    }

    /// The regions of file `name`: empty for a national file.
    pub fn regions_of(&self, name: &str) -> &[RegionCode] {
        self.file_regions.get(name).map_or(&[], Vec::as_slice)
    }

    /// The thresholds the windows go by: the national ones, and the local
    /// files' for their regions.
    pub fn window_thresholds(&self) -> Thresholds {
        Thresholds { global: self.thresholds.clone(), local: self.local_thresholds.clone() }
    }

    /// The indicators the rules can tag.
    pub fn indicators(&self) -> Vec<String> {
        let mut out: Vec<String> = self.rules.iter().map(|r| r.indicator.to_string()).collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The regions a rule file declares (empty for a national file), read
/// before it is checked; `None` when they cannot be read, which the checker
/// then reports.
pub fn declared_regions(text: &str) -> Option<Vec<RegionCode>> {
    #[derive(Deserialize)]
    struct Declared {
        #[serde(default)]
        regions: Vec<String>,
    }
    let declared: Declared = toml::from_str(text).ok()?;
    declared.regions.iter().map(|r| RegionCode::parse(r).ok()).collect()
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
    /// Word forms of all terms so far (see [`limits::FORMS`]).
    forms: usize,
    /// The regions of the file being read (empty: national).
    scope: Arc<[RegionCode]>,
    file_regions: BTreeMap<String, Vec<RegionCode>>,
    local: Vec<LocalThreshold>,
    /// Indicators a `[threshold.x]` table defines, with the regions of its
    /// file (empty: national).
    defined: Vec<(String, Arc<[RegionCode]>)>,
    /// Each rule's indicator, where it is written, and the rule's regions:
    /// checked once every file is read, as a later file may define it.
    uses: Vec<(String, RuleError, Arc<[RegionCode]>)>,
    /// The `[lists]` of the file being read: a list holds only in its file.
    lists: HashMap<String, Vec<String>>,
    /// Terms the `@name`s so far stood for (see [`limits::LISTED`]).
    listed: usize,
}

/// Most terms one `[lists]` entry may hold.
const LIST_TERMS: usize = 2_000;

/// Where the quoted term `raw` is written at or after `from` (to point an
/// error at it); `from` itself when it cannot be found.
fn locate(text: &str, from: usize, raw: &str) -> usize {
    [format!("\"{raw}\""), format!("'{raw}'")]
        .iter()
        .filter_map(|q| text.get(from..)?.find(q.as_str()).map(|i| from + i + 1))
        .min()
        .unwrap_or(from)
}

/// Where in `text` the byte at an offset into the TOML string `value` is
/// written. Exact when the string is written as it reads (no escapes); else
/// the string's own start, as an escape (`\t`) makes the two differ.
fn value_offsets<'a>(text: &'a str, value: &'a Spanned<String>) -> impl Fn(usize) -> usize + 'a {
    let span = value.span();
    let raw = text.get(span.clone()).unwrap_or_default();
    let quotes = if raw.starts_with("'''") || raw.starts_with("\"\"\"") { 3 } else { 1 };
    let mut start = span.start + quotes;
    // in a multi-line string, a newline right after the quotes is not part of it
    if quotes == 3 {
        let rest = text.get(start..).unwrap_or_default();
        start += if rest.starts_with("\r\n") { 2 } else { usize::from(rest.starts_with('\n')) };
    }
    let verbatim = text.get(start..span.end.saturating_sub(quotes)) == Some(value.get_ref().as_str());
    move |offset| if verbatim { start + offset } else { span.start }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = text.floor_char_boundary(at.min(text.len()));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Errors reported for one set of sources; the rest are left unsaid.
const MAX_ERRORS: usize = 100;

/// `s` as quoted in a message: at most 60 characters.
fn clip(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

fn too_many_terms(rule: &str, n: usize) -> Option<String> {
    (n > limits::RULE_TERMS)
        .then(|| format!("rule `{rule}` has {n} terms; at most {}: split it into several rules", limits::RULE_TERMS))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Builder {
    fn error(&mut self, file: &str, text: &str, at: usize, message: String) {
        let (line, col) = line_col(text, at);
        self.push(RuleError { file: file.to_owned(), line, col, message });
    }

    fn push(&mut self, error: RuleError) {
        // a file with thousands of mistakes needs the first ones, not all
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(error);
        }
    }

    /// A local file's regions, from its `regions = [...]`.
    fn regions(&mut self, file: &str, text: &str, list: Option<Spanned<Vec<Spanned<String>>>>) -> Vec<RegionCode> {
        let Some(list) = list else { return Vec::new() };
        if list.get_ref().is_empty() {
            let m = "`regions` lists region codes, like [\"72\"]; leave it out for a national file".to_owned();
            self.error(file, text, list.span().start, m);
        }
        let mut out: Vec<RegionCode> = Vec::new();
        for code in list.into_inner() {
            match RegionCode::parse(code.get_ref()) {
                Ok(r) => out.push(r),
                // the region list's messages quote the code: not a long one
                Err(e) if code.get_ref().len() <= 20 => {
                    self.error(file, text, code.span().start, format!("regions: {e}"))
                }
                Err(_) => {
                    let m =
                        format!("regions: `{}` is not a region code like \"72\" or \"72.71\"", clip(code.get_ref()));
                    self.error(file, text, code.span().start, m);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Reports each rule whose indicator is neither built in nor defined by a
    /// threshold table that holds where the rule does.
    fn check_indicators(&mut self) {
        for (indicator, mut at, regions) in std::mem::take(&mut self.uses) {
            let defined = |(i, scope): &(String, Arc<[RegionCode]>)| {
                *i == indicator
                    && (scope.is_empty()
                        || (!regions.is_empty() && regions.iter().all(|r| scope.iter().any(|s| r.is_within(s)))))
            };
            if model::INDICATORS.contains(&indicator.as_str()) || self.defined.iter().any(defined) {
                continue;
            }
            let mut known: Vec<&str> = model::INDICATORS.to_vec();
            known.extend(self.defined.iter().filter(|(_, s)| s.is_empty()).map(|(i, _)| i.as_str()));
            known.sort_unstable();
            known.dedup();
            at.message = format!(
                "indicator `{indicator}` is not known, so the rule could never raise an alert: use one of {}, \
                 or define it in this file with a `[threshold.{indicator}]` table of its levels",
                known.join(", ")
            );
            self.push(at);
        }
    }

    fn file(&mut self, file: &str, text: &str) {
        if text.len() > limits::FILE_BYTES {
            self.error(
                file,
                text,
                0,
                format!(
                    "the file is {} bytes; a rule file may have at most {} MiB: split it into several files",
                    text.len(),
                    limits::FILE_BYTES >> 20
                ),
            );
            return;
        }
        let mut parsed: RuleFile = match toml::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                let at = e.span().map_or(0, |s| s.start);
                let mut m = e.message().trim().to_owned();
                if m.starts_with("unknown field `regions`") {
                    m.push_str("; a local file's `regions = [...]` goes at the top, before any `[[rule]]` or table");
                }
                self.error(file, text, at, m);
                return;
            }
        };
        let regions = self.regions(file, text, parsed.regions);
        if !regions.is_empty() {
            self.file_regions.insert(file.to_owned(), regions.clone());
            if !parsed.replace.is_empty() {
                let at = text.find("[replace]").unwrap_or(0);
                let m = "a local file (one with `regions`) cannot have `[replace]`: chat spellings change how \
                         every report reads; ask a national admin to add them"
                    .to_owned();
                self.error(file, text, at, m);
                parsed.replace.clear();
            }
        }
        self.scope = regions.into();
        self.lists = self.lists_of(file, text, parsed.lists);
        for (from, to) in parsed.replace {
            let words = to.split_whitespace().count();
            if from.split_whitespace().count() != 1 || from.chars().count() > 64 {
                let at = locate(text, 0, &from);
                self.error(file, text, at, "a `[replace]` entry replaces one word of at most 64 letters".into());
            } else if words == 0 || words > limits::REPLACE_WORDS || to.chars().count() > limits::TERM_CHARS {
                let at = locate(text, 0, &to);
                self.error(
                    file,
                    text,
                    at,
                    format!(
                        "`{}` may stand for 1 to {} words of at most {} characters in all",
                        clip(&from),
                        limits::REPLACE_WORDS,
                        limits::TERM_CHARS
                    ),
                );
            } else {
                self.replace.insert(from, to);
            }
        }
        for def in parsed.rule {
            self.rule(file, text, def);
        }
        let scope = self.scope.clone();
        self.defined.extend(parsed.threshold.keys().map(|i| (i.clone(), scope.clone())));
        // a local file's tables are read aside, then hold in its regions
        let national = if scope.is_empty() { None } else { Some(std::mem::take(&mut self.thresholds)) };
        let places: Vec<(String, usize)> = parsed.threshold.iter().map(|(i, d)| (i.clone(), d.span().start)).collect();
        for (indicator, def) in parsed.threshold {
            self.threshold(file, text, indicator, def);
        }
        if let Some(national) = national {
            let local = std::mem::replace(&mut self.thresholds, national);
            for (indicator, at) in places {
                let Some(threshold) = local.get(&indicator) else { continue };
                for region in scope.iter() {
                    if self.local.iter().any(|l| l.indicator == indicator && l.region == *region) {
                        let m = format!(
                            "threshold `{}` for region {region} is already set by another local file",
                            clip(&indicator)
                        );
                        self.error(file, text, at, m);
                        continue;
                    }
                    self.local.push(LocalThreshold {
                        region: region.clone(),
                        indicator: indicator.clone(),
                        threshold: threshold.clone(),
                    });
                }
            }
        }
    }

    /// A file's `[lists]`, checked: each name like an indicator's, each list
    /// of 1 to [`LIST_TERMS`] terms, none of them naming another list.
    fn lists_of(
        &mut self,
        file: &str,
        text: &str,
        defs: BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>,
    ) -> HashMap<String, Vec<String>> {
        let mut lists = HashMap::new();
        for (name, terms) in defs {
            let at = name.span().start;
            let name = name.into_inner();
            if !is_ident(&name) || name.len() > 64 {
                let m = format!(
                    "list name `{}` must be up to 64 lowercase letters, digits and _, like `pejabat`",
                    clip(&name)
                );
                self.error(file, text, at, m);
                continue;
            }
            let span = terms.span();
            let terms = terms.into_inner();
            if terms.is_empty() || terms.len() > LIST_TERMS {
                let m = format!("list `{name}` has {} terms; give it 1 to {LIST_TERMS}", terms.len());
                self.error(file, text, span.start, m);
                continue;
            }
            let mut ok = true;
            for t in &terms {
                let problem = if t.get_ref().trim_start().starts_with('@') {
                    Some(format!(
                        "list `{name}`: a list cannot name another list (`{}`): write its terms",
                        clip(t.get_ref())
                    ))
                } else {
                    parse_term(t.get_ref(), Field::Any, None).err()
                };
                if let Some(m) = problem {
                    self.error(file, text, t.span().start + 1, m);
                    ok = false;
                }
            }
            if ok {
                lists.insert(name, terms.into_iter().map(Spanned::into_inner).collect());
            }
        }
        lists
    }

    /// The terms `raw` stands for: the terms of list `@name`, else `raw`.
    fn expand(&mut self, raw: &str) -> Result<Vec<String>, String> {
        let Some(name) = raw.trim().strip_prefix('@') else { return Ok(vec![raw.to_owned()]) };
        match self.lists.get(name) {
            Some(terms) if self.listed + terms.len() > limits::LISTED => Err(format!(
                "the lists named in these rules stand for more than {} terms in all: name `@{}` fewer times",
                limits::LISTED,
                clip(name)
            )),
            Some(terms) => {
                self.listed += terms.len();
                Ok(terms.clone())
            }
            None => Err(format!(
                "list `@{0}` is not defined in this file: add it under `[lists]` as {0} = [\"term\", …]",
                clip(name)
            )),
        }
    }

    /// Interns `raw`, or each term of the list it names.
    fn terms(&mut self, raw: &str, field: Field, lang: Option<Lang>) -> Result<Vec<usize>, String> {
        self.expand(raw)?.iter().map(|t| self.term(t, field, lang)).collect()
    }

    /// Interns a term; `at` is where the text of the term starts in the file.
    fn term(&mut self, raw: &str, field: Field, lang: Option<Lang>) -> Result<usize, String> {
        let term = parse_term(raw, field, lang)?;
        if let Some(id) = self.term_ids.get(&term) {
            return Ok(*id);
        }
        let forms = term
            .words
            .iter()
            .map(|w| if w.marker == Marker::Affix { bahasa::morph::forms(&w.text).len() } else { 1 })
            .fold(1usize, |n, f| n.saturating_mul(f))
            .min(limits::TERM_FORMS);
        if self.forms + forms > limits::FORMS {
            return Err(format!(
                "the rules expand to more than {} word forms with term `{}`: use fewer `~` terms",
                limits::FORMS,
                clip(raw)
            ));
        }
        self.forms += forms;
        let id = self.terms.len();
        self.term_ids.insert(term.clone(), id);
        self.terms.push(term);
        Ok(id)
    }

    fn rule(&mut self, file: &str, text: &str, def: RuleDef) {
        let full_id = def.id.get_ref().trim().to_owned();
        // as shown in messages
        let id = clip(&full_id);
        let id_at = def.id.span().start;
        if full_id.is_empty() {
            self.error(file, text, id_at, "rule id is empty: give every rule a unique id".into());
        } else if full_id.chars().count() > 100 {
            self.error(file, text, id_at, format!("rule id `{id}` is longer than 100 characters"));
        } else if let Some(other) = self.seen.insert(full_id.clone(), file.to_owned()) {
            self.error(file, text, id_at, format!("rule id `{id}` is already used in {other}"));
        }
        let indicator = def.indicator.get_ref().trim().to_owned();
        if is_ident(&indicator) && indicator.len() <= 64 {
            // whether it is known can be told once every file is read
            let (line, col) = line_col(text, def.indicator.span().start);
            let at = RuleError { file: file.to_owned(), line, col, message: String::new() };
            self.uses.push((indicator.clone(), at, self.scope.clone()));
        } else {
            let at = def.indicator.span().start;
            self.error(
                file,
                text,
                at,
                format!(
                    "indicator `{}` must be up to 64 lowercase letters, digits and _, like `narkoba`",
                    clip(&indicator)
                ),
            );
        }
        let weight = def.weight.as_ref().map_or(1.0, |w| *w.get_ref());
        if !(weight.is_finite() && weight > 0.0 && weight <= limits::WEIGHT) {
            let at = def.weight.as_ref().map_or(id_at, |w| w.span().start);
            self.error(
                file,
                text,
                at,
                format!("rule `{id}`: weight must be a number above 0, at most {}", limits::WEIGHT),
            );
        }
        let field = match def.field.as_ref().map(|f| f.get_ref().as_str()) {
            None | Some("any") => Field::Any,
            Some("title") => Field::Title,
            Some("text") => Field::Text,
            Some(other) => {
                let at = def.field.as_ref().map_or(id_at, |f| f.span().start);
                self.error(file, text, at, format!("field `{}` must be any, title or text", clip(other)));
                Field::Any
            }
        };
        let lang = match &def.lang {
            None => None,
            Some(l) => match Lang::parse(l.get_ref()) {
                Some(l) => Some(l),
                None => {
                    self.error(
                        file,
                        text,
                        l.span().start,
                        format!("lang `{}` must be id, en or jv", clip(l.get_ref())),
                    );
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
                            (None, _) => self.error(
                                file,
                                text,
                                span.start,
                                format!("language `{}` must be id, en or jv", clip(l)),
                            ),
                            (_, None) => {
                                self.error(file, text, span.start, format!("`any.{}` must be a list of terms", clip(l)))
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
            let mut unread = false;
            for (l, list) in lists {
                for item in list {
                    let Some(raw) = item.as_str() else {
                        self.error(file, text, span.start, format!("rule `{id}`: terms are strings, like \"sabu\""));
                        continue;
                    };
                    match self.terms(raw, field, l) {
                        Ok(i) => ids.extend(i),
                        Err(m) => {
                            let at = locate(text, span.start, raw);
                            self.error(file, text, at, m);
                            unread = true;
                        }
                    }
                }
            }
            if ids.is_empty() && !unread {
                self.error(file, text, span.start, format!("rule `{id}`: `any` needs at least one term"));
            } else if let Some(m) = too_many_terms(&id, ids.len()) {
                self.error(file, text, span.start, m);
            }
            kind = Some(Kind::Any(ids));
        }
        if let Some(expr) = def.expr {
            let at = value_offsets(text, &expr);
            match parse_expr(expr.get_ref(), &mut |raw, f| {
                self.terms(raw, if f == Field::Any { field } else { f }, lang)
            }) {
                Ok(e) => kind = Some(Kind::Match(e)),
                Err((offset, m)) => self.error(file, text, at(offset), format!("rule `{id}`: {m}")),
            }
        }
        if let Some(weights) = def.weights {
            let span = weights.span();
            let threshold = def.threshold.unwrap_or(0.0);
            if !(threshold.is_finite() && threshold > 0.0 && threshold <= limits::WEIGHT) {
                self.error(
                    file,
                    text,
                    span.start,
                    format!("rule `{id}`: weighted terms need `threshold` above 0, at most {}", limits::WEIGHT),
                );
            }
            let weights = weights.into_inner();
            if let Some(m) = too_many_terms(&id, weights.len()) {
                self.error(file, text, span.start, m);
            }
            let mut list = Vec::new();
            for (t, w) in weights {
                if !(w.is_finite() && w.abs() <= limits::WEIGHT) {
                    let m = format!("rule `{id}`: a term's weight must be a number from -{0} to {0}", limits::WEIGHT);
                    self.error(file, text, t.span().start, m);
                }
                let listed = t.get_ref().trim_start().starts_with('@');
                match self.term(t.get_ref(), field, lang) {
                    _ if listed => {
                        let m = format!("rule `{id}`: a list has no weight of its own: write its terms in `weights`");
                        self.error(file, text, t.span().start, m);
                    }
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
            match self.terms(t.get_ref(), field, lang) {
                Ok(i) => not.extend(i),
                Err(m) => self.error(file, text, t.span().start + 1, m),
            }
        }
        if let Some(kind) = kind {
            self.rules.push(Rule {
                id: full_id.into(),
                indicator: indicator.into(),
                description: def.description,
                weight,
                kind,
                not,
                regions: self.scope.clone(),
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
        let shown = clip(&indicator);
        let absolute = levels(def.waspada, def.siaga, def.awas);
        // a regency's or a province's own table, else the base amounts
        let own = |table: Option<Spanned<LevelsDef>>| {
            table.map(|t| (t.span().start, levels(t.get_ref().waspada, t.get_ref().siaga, t.get_ref().awas)))
        };
        let (regency, province) = (own(def.regency), own(def.province));
        let mut written = vec![("", at, &absolute)];
        if let Some((at, v)) = &regency {
            written.push(("regency ", *at, v));
        }
        if let Some((at, v)) = &province {
            written.push(("province ", *at, v));
        }
        for (what, at, v) in written {
            if !rising(v) || v.iter().any(|(_, c)| *c > limits::AMOUNT) {
                let m = format!(
                    "threshold `{shown}`: {what}amounts must be above 0, at most {}, and rise from waspada to siaga to awas",
                    limits::AMOUNT
                );
                self.error(file, text, at, m);
            } else if v.is_empty() && !what.is_empty() {
                let m =
                    format!("threshold `{shown}`: {what}sets no level: add waspada, siaga or awas, or leave it out");
                self.error(file, text, at, m);
            }
        }
        let regency = regency.map_or_else(|| absolute.clone(), |(_, v)| v);
        let province = province.map_or_else(|| absolute.clone(), |(_, v)| v);
        let mut duration = |value: &Spanned<String>, what: &str, min: Duration, max: Duration| -> Duration {
            let at = value.span().start;
            match humantime_serde::re::humantime::parse_duration(value.get_ref()) {
                Ok(d) if d >= min && d <= max => d,
                Ok(_) => {
                    // as a person writes them: 1m, 24h, 31days
                    let show = |d: Duration| match d.as_secs() {
                        s if s % 86_400 == 0 && s > 0 => format!("{}days", s / 86_400),
                        s if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
                        s if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
                        s => format!("{s}s"),
                    };
                    let m = format!(
                        "threshold `{shown}`: {what} must be from {} to {}, like \"24h\"",
                        show(min),
                        show(max)
                    );
                    self.error(file, text, at, m);
                    min
                }
                Err(e) => {
                    self.error(
                        file,
                        text,
                        at,
                        format!(
                            "threshold `{shown}`: {what} `{}` is not a duration like \"24h\" or \"30m\": {e}",
                            clip(value.get_ref())
                        ),
                    );
                    min
                }
            }
        };
        let window = duration(&def.window, "window", limits::WINDOW_MIN, limits::WINDOW_MAX);
        let lateness = match &def.lateness {
            Some(l) => duration(l, "lateness", Duration::ZERO, limits::LATENESS_MAX),
            None => window.min(limits::LATENESS_MAX),
        };
        let measure = match def.measure.as_deref() {
            None | Some("count") => Measure::Count,
            Some("score") => Measure::Score,
            Some(other) => {
                self.error(
                    file,
                    text,
                    at,
                    format!("threshold `{shown}`: measure `{}` must be count or score", clip(other)),
                );
                Measure::Count
            }
        };
        let rise = def.rise.map(|r| {
            let mut whole = |value: &Spanned<i64>, what: &str, min: i64, max: i64| -> i64 {
                let v = *value.get_ref();
                if !(min..=max).contains(&v) {
                    let at = if value.span().is_empty() { at } else { value.span().start };
                    self.error(file, text, at, format!("threshold `{shown}`: rise.{what} must be from {min} to {max}"));
                }
                v.clamp(min, max)
            };
            let days = whole(&r.days, "days", 1, i64::from(limits::RISE_DAYS));
            let min_count = whole(&r.min_count, "min_count", 0, limits::AMOUNT as i64);
            let history_days = whole(&r.history_days, "history_days", 0, i64::from(limits::RISE_DAYS));
            let prior_per_day = r.prior_per_day.map(|p| {
                let (at, p) = (p.span().start, *p.get_ref());
                if !(p > 0.0 && p <= limits::AMOUNT) {
                    let m =
                        format!("threshold `{shown}`: rise.prior_per_day must be above 0, at most {}", limits::AMOUNT);
                    self.error(file, text, at, m);
                }
                p
            });
            Rise {
                days: days as u32,
                min_count: min_count as u64,
                history_days: history_days as u32,
                prior_per_day,
                levels: levels(r.waspada, r.siaga, r.awas),
            }
        });
        if let Some(r) = &rise
            && (r.levels.is_empty()
                || !rising(&r.levels)
                || r.levels.iter().any(|(_, f)| !(*f > 1.0 && *f <= limits::AMOUNT)))
        {
            self.error(
                file,
                text,
                at,
                format!(
                    "threshold `{shown}`: rise needs factors above 1 (at most {}) that rise from waspada to awas",
                    limits::AMOUNT
                ),
            );
        }
        if absolute.is_empty() && rise.is_none() {
            self.error(
                file,
                text,
                at,
                format!("threshold `{shown}` sets no level: add waspada, siaga or awas, or a rise"),
            );
        }
        if !is_ident(&indicator) || indicator.len() > 64 {
            self.error(
                file,
                text,
                at,
                format!("threshold `{shown}`: name it by its indicator, like `[threshold.narkoba]`"),
            );
        }
        self.thresholds
            .insert(indicator, Threshold { window, lateness, measure, levels: absolute, regency, province, rise });
    }
}

/// Parses one term as written in a rule.
pub fn parse_term(raw: &str, field: Field, lang: Option<Lang>) -> Result<Term, String> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars > limits::TERM_CHARS {
        return Err(format!(
            "term `{}` has {chars} characters; a term may have at most {}",
            clip(trimmed),
            limits::TERM_CHARS
        ));
    }
    let raw = trimmed;
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
    if words.len() > limits::TERM_WORDS {
        return Err(format!(
            "term `{raw}` has {} words; a term may have at most {}: use NEAR/n for words further apart",
            words.len(),
            limits::TERM_WORDS
        ));
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

impl Tok {
    /// As written, for a message.
    fn shown(&self) -> String {
        match self {
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::And => "AND".into(),
            Tok::Or => "OR".into(),
            Tok::Not => "NOT".into(),
            Tok::Near(n) => format!("NEAR/{n}"),
            Tok::Term(t) => format!("`{}`", clip(t)),
        }
    }
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
                    Ok(n) if (1..=limits::NEAR).contains(&n) => Tok::Near(n),
                    _ => {
                        return Err((
                            start,
                            format!(
                                "`{}` must be NEAR/n with n a number of words from 1 to {}, like NEAR/5",
                                clip(w),
                                limits::NEAR
                            ),
                        ));
                    }
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
    /// Brackets and NOTs open around the current token.
    depth: usize,
    intern: &'a mut F,
}

type PResult<T> = Result<T, (usize, String)>;

impl<F: FnMut(&str, Field) -> Result<Vec<usize>, String>> Parser<'_, F> {
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

    /// Goes one level deeper, or fails when that is too deep.
    fn descend(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > limits::DEPTH {
            return Err((
                self.at(),
                format!("brackets and NOTs are nested more than {} deep here: simplify the expression", limits::DEPTH),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.descend()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
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
                self.descend()?;
                let e = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::Close) {
                    return Err((self.at(), "a bracket is never closed".into()));
                }
                self.pos += 1;
                Ok(e)
            }
            Some((_, Tok::Term(t))) => {
                self.pos += 1;
                // a list (`@name`) is the OR of its terms
                let mut ids = (self.intern)(&t, Field::Any).map_err(|m| (at, m))?;
                Ok(if ids.len() == 1 {
                    Expr::Term(ids.remove(0))
                } else {
                    Expr::Or(ids.into_iter().map(Expr::Term).collect())
                })
            }
            Some((_, tok)) => Err((at, format!("expected a term or `(`, found {}", tok.shown()))),
            None => Err((at, "the expression ends too early".into())),
        }
    }
}

/// Parses a `match` expression; errors carry the byte offset in `src`.
/// `intern` gives the terms a word stands for: itself, or a list's.
pub fn parse_expr(src: &str, intern: &mut impl FnMut(&str, Field) -> Result<Vec<usize>, String>) -> PResult<Expr> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0, len: src.len(), depth: 0, intern };
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
    fn the_bundled_slang_is_in_force_for_any_folder_and_a_file_may_override_it() {
        let rule = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n";
        let set = RuleSet::parse(&[("folder/narkoba.toml", rule)]).unwrap();
        assert_eq!(set.replace.get("yg").map(String::as_str), Some("yang"));
        let set = RuleSet::parse(&[("folder/narkoba.toml", rule), ("folder/lokal.toml", "[replace]\nyg = \"yagn\"\n")])
            .unwrap();
        assert_eq!(set.replace.get("yg").map(String::as_str), Some("yagn"));
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
    fn a_files_lists_stand_for_their_terms_in_any_match_and_not() {
        let src = r#"
            [lists]
            pejabat = ["bupati", "wali kota", "dprd*"]
            latihan = ["simulasi", "gladi"]

            [[rule]]
            id = "a"
            indicator = "demokrasi"
            any = ["@pejabat", "camat"]
            not = ["@latihan"]

            [[rule]]
            id = "b"
            indicator = "demokrasi"
            match = '(demo OR unjuk) NEAR/5 @pejabat AND NOT @latihan'
        "#;
        let set = RuleSet::parse(&[("x.toml", src)]).unwrap();
        let words = |ids: &[usize]| ids.iter().map(|&i| set.terms[i].text.to_string()).collect::<Vec<_>>();
        let Kind::Any(any) = &set.rules[0].kind else { panic!("{:?}", set.rules[0].kind) };
        assert_eq!(words(any), ["bupati", "wali kota", "dprd*", "camat"]);
        assert_eq!(words(&set.rules[0].not), ["simulasi", "gladi"]);
        let Kind::Match(Expr::And(parts)) = &set.rules[1].kind else { panic!("{:?}", set.rules[1].kind) };
        let Expr::Near { right, .. } = &parts[0] else { panic!("{parts:?}") };
        assert_eq!(words(right), ["bupati", "wali kota", "dprd*"]);
        let Expr::Not(inner) = &parts[1] else { panic!("{parts:?}") };
        assert!(matches!(&**inner, Expr::Or(v) if v.len() == 2), "{inner:?}");
        // the same verdict as the terms written out
        let c = crate::Classifier::new(set);
        let verdict = |text: &str| {
            let report = model::Report::new(model::Channel::App, "x", text, time::OffsetDateTime::UNIX_EPOCH);
            c.classify(&report, time::OffsetDateTime::UNIX_EPOCH).indicators.len()
        };
        assert_eq!(verdict("Massa demo di kantor DPRD kabupaten"), 1);
        assert_eq!(verdict("Simulasi demo di kantor bupati"), 0);
    }

    #[test]
    fn a_list_is_checked_and_holds_only_in_its_file() {
        let rule = |any: &str| format!("[[rule]]\nid = \"r{}\"\nindicator = \"narkoba\"\nany = [{any}]\n", any.len());
        let lists = "[lists]\nzat = [\"sabu\", \"ganja\"]\n";
        // another file's list is unknown here
        let other = rule("\"@zat\"");
        match RuleSet::parse(&[("a.toml", lists), ("b.toml", &other)]) {
            Err(Error::Rules(e)) => {
                let all: Vec<String> = e.iter().map(ToString::to_string).collect();
                assert_eq!(all.len(), 1, "{all:?}");
                assert!(all[0].starts_with("b.toml:4:9: list `@zat` is not defined in this file"), "{all:?}");
            }
            other => panic!("{other:?}"),
        }
        for (src, message) in [
            ("[lists]\nZat = [\"sabu\"]\n", "list name `Zat` must be"),
            ("[lists]\nzat = []\n", "list `zat` has 0 terms"),
            ("[lists]\nzat = [\"@obat\"]\n", "a list cannot name another list"),
            ("[lists]\nzat = [\"sa*bu\"]\n", "x.toml:2:"),
            (
                "[lists]\nzat = [\"sabu\"]\n[[rule]]\nid = \"w\"\nindicator = \"narkoba\"\nthreshold = 1\nweights = { \"@zat\" = 1 }\n",
                "a list has no weight",
            ),
            (
                "[[rule]]\nid = \"m\"\nindicator = \"narkoba\"\nmatch = 'sabu AND NOT @tes'\n",
                "x.toml:4:23: rule `m`: list `@tes` is not defined",
            ),
        ] {
            let found = errors(src);
            assert!(found.iter().any(|e| e.contains(message)), "{src}: {found:?}");
        }
    }

    #[test]
    fn a_long_list_named_over_and_over_is_refused() {
        let list: Vec<String> = (0..2_000).map(|i| format!("\"kata{i}\"")).collect();
        let uses = vec!["\"@panjang\""; 600].join(", ");
        let src = format!(
            "[lists]\npanjang = [{}]\n[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\nnot = [{uses}]\n",
            list.join(", ")
        );
        let found = errors(&src);
        assert!(found.iter().any(|e| e.contains("stand for more than 1000000 terms in all")), "{found:?}");
    }

    #[test]
    fn expressions() {
        let mut terms: Vec<String> = Vec::new();
        let mut intern = |t: &str, _f: Field| {
            terms.push(t.to_owned());
            Ok(vec![terms.len() - 1])
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

    fn rule(expr: &str) -> String {
        format!("[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nmatch = '{expr}'\n")
    }

    #[test]
    fn errors_in_escaped_or_multiline_expressions_point_into_the_file() {
        // found by fuzzing: the offset inside the value was taken as one in
        // the file, and cut a character in two (a panic)
        for src in [
            "[[rule]]\nid = \"r\"\nindicator = \"narkoba\"\nmatch = \"\\t\\t\\t(éé\"\n",
            "[[rule]]\nid = \"r\"\nindicator = \"narkoba\"\nmatch = '''\n((éé'''\n",
        ] {
            let e = errors(src);
            assert!(e[0].starts_with("x.toml:4:") || e[0].starts_with("x.toml:5:"), "{e:?}");
        }
        // without escapes the column is exact
        let e = errors(&rule("sabu AND (ganja"));
        assert!(e[0].starts_with("x.toml:4:25:"), "{e:?}");
        let e = errors("[[rule]]\nid = \"r\"\nindicator = \"narkoba\"\nmatch = '''\nsabu AND\n(ganja'''\n");
        assert!(e[0].starts_with("x.toml:6:7:"), "{e:?}");
    }

    #[test]
    fn nesting_is_bounded() {
        // thousands deep overflowed the stack of `rules/test` and the node
        for src in [
            rule(&format!("{}sabu{}", "(".repeat(5000), ")".repeat(5000))),
            rule(&format!("{}sabu", "NOT ".repeat(5000))),
            rule(&format!("sabu AND {}ganja{}", "(NOT ".repeat(3000), ")".repeat(3000))),
        ] {
            let e = errors(&src);
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(e[0].starts_with("x.toml:4:") && e[0].contains("nested more than 32"), "{e:?}");
        }
        // 32 levels are fine
        assert_eq!(errors(&rule(&format!("{}sabu{}", "(".repeat(32), ")".repeat(32)))), Vec::<String>::new());
        // deep TOML arrays are refused by the TOML reader, not the stack
        let deep = format!(
            "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = {}\"x\"{}\n",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert!(errors(&deep)[0].starts_with("x.toml:4:"), "{:?}", errors(&deep));
    }

    #[test]
    fn terms_are_bounded() {
        let long = vec!["kata"; 8000].join(" ");
        let e = errors(&format!("[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"{long}\"]\n"));
        assert!(e[0].starts_with("x.toml:4:") && e[0].contains("at most 200"), "{e:?}");
        assert!(e[0].len() < 300, "the message quotes the whole term: {}", e[0].len());
        let e = errors(&rule(&format!("\"{}\" AND sabu", vec!["aa"; 13].join(" "))));
        assert!(e[0].contains("13 words") && e[0].contains("at most 12"), "{e:?}");
        let e = errors(&rule("sabu NEAR/100000 pesta"));
        assert!(e[0].contains("from 1 to 100"), "{e:?}");
        let e = errors(
            "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nthreshold = 2\nweights = { sabu = nan, ganja = 1e308 }\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
        let e = errors(&format!("[replace]\nyg = \"{}\"\n", vec!["yang"; 1000].join(" ")));
        assert!(e[0].starts_with("x.toml:2:") && e[0].contains("1 to 8 words"), "{e:?}");
        let e = errors("[replace]\n\"dua kata\" = \"x\"\n");
        assert!(e[0].contains("one word"), "{e:?}");
    }

    #[test]
    fn durations_and_counts_are_in_range() {
        let t = |body: &str| errors(&format!("[threshold.narkoba]\nwaspada = 3\n{body}\n"));
        // a window under a minute made the classifier stage panic forever
        for window in ["1ns", "59s", "0s", "400days", "1000000000years"] {
            let e = t(&format!("window = \"{window}\""));
            assert_eq!(e.len(), 1, "{window}: {e:?}");
            assert!(e[0].starts_with("x.toml:3:10:") && e[0].contains("window must be from 1m to 31days"), "{e:?}");
        }
        let e = t("window = \"soon\"");
        assert!(e[0].contains("not a duration"), "{e:?}");
        let e = t("window = \"24h\"\nlateness = \"30days\"");
        assert!(e[0].starts_with("x.toml:4:") && e[0].contains("lateness"), "{e:?}");
        for days in ["0", "4294967295", "-1", "367"] {
            let e = t(&format!("window = \"24h\"\nrise = {{ days = {days}, waspada = 2.0 }}"));
            assert!(e.iter().any(|e| e.contains("rise.days must be from 1 to 366")), "{days}: {e:?}");
        }
        let e = t("window = \"24h\"\nrise = { min_count = 99999999999, waspada = 2.0 }");
        assert!(e[0].contains("min_count"), "{e:?}");
        let e = t("window = \"24h\"\nsiaga = inf");
        assert!(e[0].contains("at most"), "{e:?}");
        // the longest allowed still works
        assert_eq!(
            t("window = \"31days\"\nlateness = \"7days\"\nrise = { days = 366, waspada = 2.0 }"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn word_forms_are_bounded() {
        // every term `~xxx ~yyy` expands to thousands of forms
        let terms: Vec<String> = (0..400).map(|i| format!("\"~bakar{i} ~tembak{i}\"")).collect();
        let src = format!("[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [{}]\n", terms.join(", "));
        let e = errors(&src);
        assert!(e.iter().any(|e| e.starts_with("x.toml:4:") && e.contains("word forms")), "{e:?}");
    }

    #[test]
    fn a_file_with_many_mistakes_reports_the_first_hundred() {
        let src = (0..1000)
            .map(|i| format!("[[rule]]\nid = \"r{i}\"\nindicator = \"X\"\nany = [\"a\"]\n"))
            .collect::<String>();
        assert_eq!(errors(&src).len(), MAX_ERRORS);
    }

    #[test]
    fn an_unknown_indicator_is_an_error_unless_a_threshold_defines_it() {
        let typo = "[[rule]]\nid = \"a\"\nindicator = \"narkobaa\"\nany = [\"sabu\"]\n";
        let e = errors(typo);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("x.toml:3:13: indicator `narkobaa` is not known"), "{e:?}");
        assert!(e[0].contains("narkoba, ") && e[0].contains("[threshold.narkobaa]"), "{e:?}");
        // a threshold table defines it: in the same file, or in another one
        let table = "[threshold.narkobaa]\nwindow = \"24h\"\nwaspada = 2\n";
        assert_eq!(errors(&format!("{typo}{table}")), Vec::<String>::new());
        assert!(RuleSet::parse(&[("a.toml", typo), ("b.toml", table)]).is_ok());
        // a built-in indicator needs none
        assert_eq!(errors(&typo.replace("narkobaa", "narkoba")), Vec::<String>::new());
        // a local table defines it only for rules within its regions
        let local = format!("regions = [\"72\"]\n{table}");
        assert!(RuleSet::parse(&[("a.toml", typo), ("b.toml", &local)]).is_err(), "a national rule");
        let palu = format!("regions = [\"72.71\"]\n{typo}");
        assert!(RuleSet::parse(&[("a.toml", &palu), ("b.toml", &local)]).is_ok());
        let poso = format!("regions = [\"73\"]\n{typo}");
        assert!(RuleSet::parse(&[("a.toml", &poso), ("b.toml", &local)]).is_err(), "another province");
    }

    #[test]
    fn a_local_file_holds_in_its_regions() {
        let src = "regions = [\"72\", \"73.71\"]\n\n[[rule]]\nid = \"l\"\nindicator = \"miras\"\nany = [\"miras\"]\n\n\
                   [threshold.miras]\nwindow = \"24h\"\nwaspada = 1\n\n[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 1\n";
        let national = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n\n\
                        [threshold.narkoba]\nwindow = \"24h\"\nwaspada = 5\n";
        let set = RuleSet::parse(&[("local.toml", src), ("national.toml", national)]).unwrap();
        let codes = |c: &[&str]| c.iter().map(|c| RegionCode::parse(c).unwrap()).collect::<Vec<_>>();
        assert_eq!(set.regions_of("local.toml"), codes(&["72", "73.71"]));
        assert!(set.regions_of("national.toml").is_empty());
        let rule = |id: &str| set.rules.iter().find(|r| &*r.id == id).unwrap();
        assert_eq!(&*rule("l").regions, codes(&["72", "73.71"]));
        assert!(rule("n").regions.is_empty());
        assert!(rule("l").applies_in(&codes(&["72.71.02"])) && rule("l").applies_in(&codes(&["72", "73.71"])));
        assert!(!rule("l").applies_in(&codes(&["73"])), "73.71 is within 73, not 73 within 73.71");
        assert!(!rule("l").applies_in(&codes(&["72.71", "31.71"])), "a report also about Jakarta");
        assert!(!rule("l").applies_in(&[]), "a report with no region");
        assert!(rule("n").applies_in(&[]));
        // its tables hold in its regions; the national ones stay
        assert_eq!(set.thresholds["narkoba"].levels[0].1, 5.0);
        assert!(!set.thresholds.contains_key("miras"));
        let local: Vec<(String, String, f64)> = set
            .local_thresholds
            .iter()
            .map(|l| (l.indicator.clone(), l.region.to_string(), l.threshold.levels[0].1))
            .collect();
        assert_eq!(local.len(), 4, "{local:?}");
        assert!(local.contains(&("narkoba".into(), "73.71".into(), 1.0)), "{local:?}");
        let windows = set.window_thresholds();
        let level = |i: &str, r: &str| windows.get(i, &RegionCode::parse(r).unwrap()).map(|t| t.levels[0].1);
        assert_eq!((level("narkoba", "72.71"), level("narkoba", "73")), (Some(1.0), Some(5.0)));
        assert_eq!((level("miras", "72.71.02"), level("miras", "31")), (Some(1.0), None));
        // what a file declares, before it is checked
        assert_eq!(declared_regions(src), Some(codes(&["72", "73.71"])));
        assert_eq!(declared_regions(national), Some(vec![]));
        assert_eq!(declared_regions("regions = [\"99\"]\n"), None);
        assert_eq!(declared_regions("regions = "), None);
    }

    #[test]
    fn a_local_file_cannot_change_every_region() {
        let e = errors("regions = [\"72\"]\n[replace]\nyg = \"yang\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("x.toml:2:1: a local file (one with `regions`) cannot have `[replace]`"), "{e:?}");
        let e = errors("regions = [\"72\", \"99\", \"pusat\"]\n");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("x.toml:1:18: regions: unknown region code `99`"), "{e:?}");
        assert!(e[1].starts_with("x.toml:1:24: regions: malformed region code `pusat`"), "{e:?}");
        assert!(errors("regions = []\n")[0].contains("leave it out for a national file"));
        let late = "[[rule]]\nid = \"a\"\nindicator = \"narkoba\"\nany = [\"x\"]\nregions = [\"72\"]\n";
        let e = errors(late);
        assert!(e[0].starts_with("x.toml:5:1:") && e[0].contains("goes at the top"), "{e:?}");
        // two local files may not set one region's table twice
        let t = "regions = [\"72\"]\n[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 1\n";
        match RuleSet::parse(&[("a.toml", t), ("b.toml", t)]) {
            Err(Error::Rules(e)) => {
                assert!(e[0].to_string().starts_with("b.toml:2:1: threshold `narkoba` for region 72"), "{e:?}")
            }
            other => panic!("{other:?}"),
        }
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

    #[test]
    fn regencies_and_provinces_have_their_own_amounts_and_rises_need_history() {
        let t = |body: &str| format!("[threshold.narkoba]\nwindow = \"24h\"\nwaspada = 3\nsiaga = 5\n{body}\n");
        let parsed = |body: &str| RuleSet::parse(&[("t.toml", &t(body))]).unwrap().thresholds["narkoba"].clone();
        // left out: the base amounts, and a week of history before a rise counts
        let plain = parsed("rise = { siaga = 3.0 }");
        assert_eq!((&plain.regency, &plain.province), (&plain.levels, &plain.levels));
        assert_eq!(plain.levels_at(model::RegionLevel::District), plain.levels);
        let rise = plain.rise.unwrap();
        assert_eq!((rise.history_days, rise.prior_per_day), (7, None));
        let own = parsed(
            "regency = { waspada = 6, awas = 20 }\nprovince = { siaga = 40 }\n\
             rise = { history_days = 0, prior_per_day = 0.5, siaga = 3.0 }",
        );
        assert_eq!(
            own.levels_at(model::RegionLevel::Regency),
            [(model::Level::Waspada, 6.0), (model::Level::Awas, 20.0)]
        );
        assert_eq!(own.levels_at(model::RegionLevel::Province), [(model::Level::Siaga, 40.0)]);
        assert_eq!(own.rise.unwrap().prior_per_day, Some(0.5));
        // mistakes point at the table
        let e = |body: &str| errors(&t(body));
        let m = e("regency = { waspada = 6, siaga = 4 }");
        assert!(m.len() == 1 && m[0].starts_with("x.toml:5:11:") && m[0].contains("regency amounts must"), "{m:?}");
        let m = e("province = {}");
        assert!(m.len() == 1 && m[0].contains("province sets no level"), "{m:?}");
        let m = e("province = { watch = 3 }");
        assert!(m.len() == 1 && m[0].contains("watch"), "{m:?}");
        let m = e("rise = { history_days = 400, siaga = 3.0 }");
        assert!(m.len() == 1 && m[0].contains("rise.history_days must be from 0 to 366"), "{m:?}");
        for prior in ["0.0", "-1.0", "nan", "inf"] {
            let m = e(&format!("rise = {{ prior_per_day = {prior}, siaga = 3.0 }}"));
            assert!(
                m.len() == 1 && m[0].starts_with("x.toml:5:26:") && m[0].contains("rise.prior_per_day must be above 0"),
                "{prior}: {m:?}"
            );
        }
    }

    #[test]
    fn the_shipped_thresholds_hold_regencies_and_provinces_to_more() {
        for (indicator, t) in &RuleSet::builtin().thresholds {
            let first = |v: &[(model::Level, f64)]| v[0].1;
            assert!(first(&t.levels) < first(&t.regency) && first(&t.regency) < first(&t.province), "{indicator}");
            assert!(t.rise.as_ref().is_some_and(|r| r.history_days >= 7), "{indicator}");
        }
    }
}
