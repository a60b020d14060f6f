//! The matching engine: `classify(report) -> Classification`, a pure
//! function of the report and the rule set.
//!
//! Every term of every rule (in all its affixed forms) and every region name
//! is compiled into a matcher of whole-word patterns: a trie of words, so
//! each token of a report costs one hash lookup, and a small Aho–Corasick
//! automaton for the few terms that start or end inside a token (`*isme`,
//! `bentrok*`). A report's title and text are normalised into token streams
//! (`" t1 t2 … "`), searched once each, and the hits are then weighed: a rule
//! is evaluated only when one of its triggers occurred (terms without one
//! of which it cannot hold, [`triggers`]), and language is
//! detected from marker words (`bahasa::language`), with whatlang only for
//! texts that have none.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use model::{Classification, IndicatorHit, MatchField, Report, TermMatch};
use rustc_hash::FxHashMap;
use time::OffsetDateTime;
use whatlang::{Detector, Lang as WLang};

use crate::rules::{Expr, Field, Kind, Lang, Marker, RuleSet};
use bahasa::gazetteer as geo;
use bahasa::language;
use bahasa::morph;
use bahasa::normalize::{Normalizer, Stream};

use crate::rules::limits::TERM_FORMS as MAX_FORMS;

#[derive(Debug, Clone, Copy)]
enum Pat {
    Term { term: u32, words: u16, starts_inside: bool },
    Region { entry: u32, words: u16 },
}

/// One occurrence of a term: which field, which tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    term: u32,
    field: u8,
    first: u32,
    last: u32,
}

const TITLE: u8 = 0;
const TEXT: u8 = 1;

/// Patterns of whole words as a trie: node 0 is before any word, and a
/// node's patterns are those whose words lead to it. A pattern whose last
/// word is a prefix (`bentrok*`, `tawuran antar*`) ends at the node of its
/// other words, in that node's [`Prefixes`].
#[derive(Debug, Default)]
struct WordTrie {
    /// The first words, and the node each leads to.
    root: Words,
    /// The patterns of one word that is a prefix.
    root_prefixes: Prefixes,
    nodes: Vec<TrieNode>,
    /// What each node has ([`PATS`], [`PREFIXES`], [`CHILDREN`]), one byte
    /// a node: the scan reads these for every word it follows, and a node
    /// itself (about 140 bytes, in another place of memory) only for what
    /// it has; set by [`WordTrie::seal`].
    has: Vec<u8>,
}

const PATS: u8 = 1;
const PREFIXES: u8 = 2;
const CHILDREN: u8 = 4;

#[derive(Debug, Default)]
struct TrieNode {
    children: Words,
    pats: Vec<Pat>,
    prefixes: Prefixes,
}

/// Words, and the node each leads to. A word of up to 16 bytes is its bytes
/// as one integer (padded with zeros: a normalised word has no zero byte),
/// so a lookup hashes and compares an integer rather than a string.
#[derive(Debug, Default)]
struct Words {
    short: FxHashMap<u128, u32>,
    long: FxHashMap<Box<str>, u32>,
}

impl Words {
    /// The node of `word`, `new` when it had none.
    fn entry(&mut self, word: &str, new: u32) -> u32 {
        match short_key(word.as_bytes()) {
            Some(key) => *self.short.entry(key).or_insert(new),
            None => *self.long.entry(word.into()).or_insert(new),
        }
    }

    /// The node of token `i` of `stream`.
    #[inline]
    fn get(&self, stream: &Stream, i: usize) -> Option<u32> {
        let Some(key) = stream.short_key(i) else { return self.get_long(stream.word(i)) };
        self.short.get(&key).copied()
    }

    #[cold]
    fn get_long(&self, word: &str) -> Option<u32> {
        self.long.get(word).copied()
    }

    fn is_empty(&self) -> bool {
        self.short.is_empty() && self.long.is_empty()
    }
}

/// The first 16 bytes of `word` (zeros after its end) as one integer,
/// little-endian.
#[inline]
fn head_key(word: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    let n = word.len().min(16);
    buf[..n].copy_from_slice(&word[..n]);
    u128::from_le_bytes(buf)
}

/// A word of up to 16 bytes as one integer, little-endian.
fn short_key(word: &[u8]) -> Option<u128> {
    (word.len() <= 16).then(|| head_key(word))
}

/// Patterns that end with a word that is a prefix: a token that starts with
/// the word matches it.
#[derive(Debug, Default)]
struct Prefixes {
    list: Vec<(Box<str>, Vec<Pat>)>,
    /// Each word of `list` as the integer of its first 16 bytes and the
    /// mask of those bytes: a token starts with a word of up to 16 bytes when
    /// its own first 16 bytes, masked, are the word's (no byte comparison).
    heads: Vec<(u128, u128)>,
    /// Bit `b0 * 256 + b1` is set when some word of `list` starts with the
    /// bytes `b0 b1`: most tokens are passed without comparing any word.
    first_two: Vec<u64>,
}

impl Prefixes {
    fn add(&mut self, word: &str, pats: Vec<Pat>) {
        if self.first_two.is_empty() {
            self.first_two = vec![0; 65536 / 64];
        }
        let b = word.as_bytes();
        // a prefix has at least 3 letters (`rules::term`); a shorter one allows any second byte
        let seconds = match b.get(1) {
            Some(&b1) => usize::from(b1)..usize::from(b1) + 1,
            None => 0..256,
        };
        for b1 in seconds {
            let bit = usize::from(b.first().copied().unwrap_or(0)) * 256 + b1;
            self.first_two[bit / 64] |= 1 << (bit % 64);
        }
        self.heads.push((head_key(b), bahasa::normalize::KEY_MASKS[b.len().min(16)]));
        self.list.push((word.into(), pats));
    }

    /// The patterns whose prefix `token` starts with.
    #[inline]
    fn matching<'a>(&'a self, token: &'a str) -> impl Iterator<Item = &'a [Pat]> + 'a {
        let b = token.as_bytes();
        let bit = usize::from(b.first().copied().unwrap_or(0)) * 256 + usize::from(b.get(1).copied().unwrap_or(0));
        let maybe = self.first_two.get(bit / 64).is_some_and(|w| w & (1 << (bit % 64)) != 0);
        let list = if maybe { self.list.as_slice() } else { &[] };
        let token_head = if maybe { head_key(b) } else { 0 };
        list.iter()
            .zip(&self.heads)
            .filter(move |((p, _), (head, mask))| {
                token.len() >= p.len() && token_head & mask == *head && (p.len() <= 16 || token.starts_with(&**p))
            })
            .map(|((_, pats), _)| pats.as_slice())
    }
}

impl WordTrie {
    /// The node that `words` (separated by single spaces) lead to, made as needed;
    /// `None` for no words.
    fn node<'w>(&mut self, words: impl Iterator<Item = &'w str>) -> Option<u32> {
        let mut node: Option<u32> = None;
        for word in words {
            let count = self.nodes.len() as u32;
            let map = match node {
                None => &mut self.root,
                Some(n) => &mut self.nodes[n as usize].children,
            };
            let child = map.entry(word, count);
            if child == count {
                self.nodes.push(TrieNode::default());
            }
            node = Some(child);
        }
        node
    }

    /// Notes what each node has, once every pattern is in.
    fn seal(&mut self) {
        self.has = self
            .nodes
            .iter()
            .map(|n| {
                (if n.pats.is_empty() { 0 } else { PATS })
                    | (if n.prefixes.list.is_empty() { 0 } else { PREFIXES })
                    | (if n.children.is_empty() { 0 } else { CHILDREN })
            })
            .collect();
    }

    /// Adds the patterns of `words`, separated by single spaces.
    fn insert(&mut self, words: &str, pats: Vec<Pat>) {
        if let Some(n) = self.node(words.split(' ')) {
            self.nodes[n as usize].pats.extend(pats);
        }
    }

    /// Adds the patterns of `words`, separated by single spaces, the last a prefix.
    fn insert_prefix(&mut self, words: &str, pats: Vec<Pat>) {
        let (before, prefix) = words.rsplit_once(' ').map_or((None, words), |(b, p)| (Some(b), p));
        match self.node(before.into_iter().flat_map(|b| b.split(' '))) {
            None => self.root_prefixes.add(prefix, pats),
            Some(n) => self.nodes[n as usize].prefixes.add(prefix, pats),
        }
    }
}

/// A compiled rule set that classifies reports.
#[derive(Debug)]
pub struct Classifier {
    rules: RuleSet,
    normalizer: Normalizer,
    /// The patterns that are whole words, first to last.
    words: WordTrie,
    /// The patterns that start or end inside a token, and what each is;
    /// `None` when there are none.
    partial: Option<(AhoCorasick, Vec<Vec<Pat>>)>,
    gazetteer: &'static [geo::Entry],
    /// For each term, the rules to try when it is found: a rule is tried
    /// only for the terms of one of its [`triggers`], without which it
    /// cannot fire.
    term_rules: Vec<Vec<u32>>,
    /// The terms of each rule that a match can show (those not under NOT).
    rule_terms: Vec<TermSet>,
    /// The condition of each `match` rule (`None` for the others).
    conds: Vec<Option<Cond>>,
    /// The group of each rule's `not` terms (`None` for a rule without):
    /// a rule is passed over on one bit, not a lookup for each of its
    /// `not` terms (some rules list a hundred everyday senses).
    nots: Vec<Option<u32>>,
    /// The groups of terms of the conditions and of the `not` lists, and
    /// for each term the groups it is in.
    groups: Vec<TermSet>,
    term_groups: Vec<Vec<u32>>,
    detector: Detector,
}

/// The literal forms of a term for the automaton, and whether its first
/// word is a suffix (the match then starts inside a token).
fn term_patterns(term: &crate::rules::Term) -> (Vec<String>, bool) {
    let mut forms: Vec<String> = vec![String::new()];
    for (i, word) in term.words.iter().enumerate() {
        let options = if word.marker == Marker::Affix { morph::forms(&word.text) } else { vec![word.text.clone()] };
        let mut next = Vec::with_capacity(forms.len() * options.len());
        for f in &forms {
            for o in &options {
                next.push(if i == 0 { o.clone() } else { format!("{f} {o}") });
                if next.len() >= MAX_FORMS {
                    break;
                }
            }
        }
        forms = next;
    }
    let starts_inside = term.words.first().is_some_and(|w| w.marker == Marker::Suffix);
    let open_end = term.words.last().is_some_and(|w| w.marker == Marker::Prefix);
    let lead = if starts_inside { "" } else { " " };
    let tail = if open_end { "" } else { " " };
    (forms.into_iter().map(|f| format!("{lead}{f}{tail}")).collect(), starts_inside)
}

/// Every literal to look for in a stream's `joined` text (each form of each
/// term, each searched region name), and what it stands for. Region names
/// are normalised as texts are, so a name that is also a chat spelling
/// (`Bener`, a district, is the chat's `bener`, read as `benar`) is still
/// found.
fn literals(rules: &RuleSet, gazetteer: &[geo::Entry], normalizer: &Normalizer) -> HashMap<String, Vec<Pat>> {
    let mut by_literal: HashMap<String, Vec<Pat>> = HashMap::new();
    for (i, term) in rules.terms.iter().enumerate() {
        let (forms, starts_inside) = term_patterns(term);
        let words = u16::try_from(term.words.len()).unwrap_or(u16::MAX);
        for f in forms {
            by_literal.entry(f).or_default().push(Pat::Term { term: i as u32, words, starts_inside });
        }
    }
    for (i, entry) in gazetteer.iter().enumerate().filter(|(_, e)| e.searched) {
        let stream = normalizer.stream(&entry.words.join(" "));
        if stream.tokens.is_empty() {
            continue;
        }
        let words = u16::try_from(stream.tokens.len()).unwrap_or(u16::MAX);
        by_literal.entry(stream.joined).or_default().push(Pat::Region { entry: i as u32, words });
    }
    by_literal
}

/// Whether a term limited to language `term` counts in a report detected as
/// `report`: in its own language, and an Indonesian term in Javanese,
/// Sundanese and Malay reports too, which share or borrow its words (a
/// Javanese term also counts in Indonesian, as chats mix the two).
fn admits(term: Lang, report: language::Lang) -> bool {
    use language::Lang as L;
    match term {
        Lang::Ind => report != L::Eng,
        Lang::Jav => matches!(report, L::Jav | L::Ind),
        Lang::Eng => report == L::Eng,
    }
}

impl Classifier {
    pub fn new(rules: RuleSet) -> Self {
        let gazetteer = geo::gazetteer();
        let normalizer = Normalizer::new(rules.replace.iter().map(|(a, b)| (a.as_str(), b.as_str())));
        let by_literal = literals(&rules, gazetteer, &normalizer);
        // a literal `" w1 … wn "` is whole words, `" w1 … wn"` ends with a
        // prefix; any other starts inside a token
        let mut words = WordTrie::default();
        let mut partial: (Vec<String>, Vec<Vec<Pat>>) = Default::default();
        let mut by_literal: Vec<(String, Vec<Pat>)> = by_literal.into_iter().collect();
        by_literal.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (literal, pats) in by_literal {
            match literal.strip_prefix(' ').map(|l| (l, l.strip_suffix(' '))) {
                Some((_, Some(inner))) if !inner.is_empty() => words.insert(inner, pats),
                // ends inside a token: the last word is a prefix
                Some((open, None)) if !open.is_empty() => words.insert_prefix(open, pats),
                _ => {
                    partial.0.push(literal);
                    partial.1.push(pats);
                }
            }
        }
        words.seal();
        let partial = (!partial.0.is_empty()).then(|| {
            // Standard semantics: every match, overlapping ones included.
            let automaton = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .byte_classes(true)
                .build(&partial.0)
                .unwrap_or_else(|e| panic!("building the term automaton: {e}"));
            (automaton, partial.1)
        });
        let mut term_rules = vec![Vec::new(); rules.terms.len()];
        let mut rule_terms = Vec::with_capacity(rules.rules.len());
        for (r, rule) in rules.rules.iter().enumerate() {
            let mut terms = Vec::new();
            match &rule.kind {
                Kind::Any(t) => terms.extend(t),
                Kind::Match(e) => e.positive_terms(&mut terms),
                Kind::Weighted { weights, .. } => terms.extend(weights.iter().map(|(t, _)| *t)),
            }
            let mut trigger = match &rule.kind {
                Kind::Match(e) => triggers(e).unwrap_or_else(|| terms.clone()),
                _ => terms.clone(),
            };
            trigger.sort_unstable();
            trigger.dedup();
            for &t in &trigger {
                term_rules[t].push(r as u32);
            }
            terms.sort_unstable();
            terms.dedup();
            rule_terms.push(TermSet::new(terms.iter().map(|&t| t as u32)));
        }
        let mut groups = Groups::default();
        let conds = rules
            .rules
            .iter()
            .map(|rule| match &rule.kind {
                Kind::Match(e) => Some(groups.cond(e)),
                _ => None,
            })
            .collect();
        let nots = rules.rules.iter().map(|rule| (!rule.not.is_empty()).then(|| groups.group(&rule.not))).collect();
        let mut term_groups = vec![Vec::new(); rules.terms.len()];
        for (g, terms) in groups.list.iter().enumerate() {
            for &t in terms {
                term_groups[t as usize].push(g as u32);
            }
        }
        Self {
            rules,
            normalizer,
            words,
            partial,
            gazetteer,
            term_rules,
            rule_terms,
            conds,
            nots,
            groups: groups.list.iter().map(|g| TermSet::new(g.iter().copied())).collect(),
            term_groups,
            detector: Detector::with_allowlist(vec![WLang::Ind, WLang::Eng, WLang::Jav]),
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// The hits of terms in one field's `stream` (those denied left out),
    /// and the places it names (gazetteer entry, first and last token), in
    /// the order of their last token and, ending at one token, the longest
    /// first.
    fn scan(&self, stream: &Stream, text: &str, field: u8, hits: &mut Vec<Hit>, places: &mut Vec<(u32, usize, usize)>) {
        // the tokens that are negators or words of what was thought
        // (`dikira`: `negated` holds only with one near the term), listed in the walk over the tokens below, so every
        // pattern is taken after it
        let mut negators: Vec<usize> = Vec::new();
        let found = |negators: &[usize],
                     pat: &Pat,
                     first: usize,
                     hits: &mut Vec<Hit>,
                     places: &mut Vec<(u32, usize, usize)>| {
            match *pat {
                Pat::Term { term, words, .. } => {
                    let last = first + usize::from(words) - 1;
                    if !(near_negator(negators, first, last) && negated(stream, text, first, last)) {
                        hits.push(Hit { term, field, first: first as u32, last: last as u32 });
                    }
                }
                Pat::Region { entry, words } => {
                    let last = first + usize::from(words) - 1;
                    places.push((entry, first, last));
                    // `kecamatan Palu Barat`, `Kec. Tatanga`, `Tatanga district`
                    // (the words around it first: they are at hand, the entry is not)
                    if let Some((from, to)) =
                        geo::typed_span(stream, text, first, last, || self.gazetteer[entry as usize].typed_after)
                        && let Some(typed) = self.gazetteer[entry as usize].typed
                    {
                        places.push((typed, from, to));
                    }
                }
            }
        };
        // the words that end a pattern: (last token, first token, node)
        let mut ends: Vec<(usize, usize, u32)> = Vec::with_capacity(32);
        // the patterns that end with a prefix, and their first token: terms,
        // whose order does not matter (their hits are sorted)
        let mut prefixed: Vec<(&[Pat], usize)> = Vec::new();
        let n = stream.tokens.len();
        for first in 0..n {
            let word = stream.word(first);
            if (negator(word) && !numbered(stream, first)) || thought(word) {
                negators.push(first);
            }
            prefixed.extend(self.words.root_prefixes.matching(word).map(|pats| (pats, first)));
            let Some(mut node) = self.words.root.get(stream, first) else { continue };
            let mut next = first + 1;
            loop {
                let has = self.words.has[node as usize];
                if has & PATS != 0 {
                    ends.push((next - 1, first, node));
                }
                if next == n {
                    break;
                }
                let at = &self.words.nodes[node as usize];
                if has & PREFIXES != 0 {
                    prefixed.extend(at.prefixes.matching(stream.word(next)).map(|pats| (pats, first)));
                }
                if has & CHILDREN == 0 {
                    break;
                }
                match at.children.get(stream, next) {
                    Some(child) => node = child,
                    None => break,
                }
                next += 1;
            }
        }
        // in the order of their last token and, ending at one token, the
        // longest first, as one automaton over all literals reports them:
        // `found_in` keeps that order among names of one length and form
        ends.sort_unstable_by_key(|&(last, first, _)| (last, first));
        for (_, first, node) in ends {
            for pat in &self.words.nodes[node as usize].pats {
                found(&negators, pat, first, hits, places);
            }
        }
        for (pats, first) in prefixed {
            pats.iter().for_each(|pat| found(&negators, pat, first, hits, places));
        }
        if let Some((automaton, patterns)) = &self.partial {
            for m in automaton.find_overlapping_iter(stream.joined.as_str()) {
                for pat in &patterns[m.pattern().as_usize()] {
                    let starts_inside = matches!(pat, Pat::Term { starts_inside: true, .. });
                    let first = if starts_inside { stream.token_at(m.start()) } else { stream.token_at(m.start() + 1) };
                    found(&negators, pat, first, hits, places);
                }
            }
        }
    }

    /// The language of a report from the marker words of its title and text
    /// ([`language::detect`]). Only a text without any marker word goes to
    /// whatlang, and is taken as English when whatlang is sure of it, else
    /// as Indonesian when it is written in Latin letters: on a few words
    /// whatlang's statistics mistake Indonesian for Javanese.
    fn language(&self, streams: &[&Stream], text: &str) -> Option<language::Lang> {
        match language::detect(streams) {
            language::Verdict::Lang(l) => Some(l),
            language::Verdict::Unknown => {
                let sample = &text[..text.floor_char_boundary(200)];
                let info = self.detector.detect(sample)?;
                if info.lang() == WLang::Eng && info.is_reliable() {
                    Some(language::Lang::Eng)
                } else if info.script() == whatlang::Script::Latin {
                    Some(language::Lang::Ind)
                } else {
                    None
                }
            }
        }
    }

    /// Classifies one report. `now` is the classification time.
    pub fn classify(&self, report: &Report, now: OffsetDateTime) -> Classification {
        let title = report.title.as_deref().unwrap_or("");
        let streams = [self.normalizer.stream(title), self.normalizer.stream(&report.text)];
        let mut hits = Vec::with_capacity(64);
        let mut places = [Vec::new(), Vec::with_capacity(32)];
        for (field, (stream, text)) in streams.iter().zip([title, &report.text]).enumerate() {
            self.scan(stream, text, field as u8, &mut hits, &mut places[field]);
        }
        let language = self.language(&[&streams[0], &streams[1]], &report.text);
        // a term limited to a language counts unless the report is plainly in another
        let fits = |l: Option<Lang>| match (l, language) {
            (None, _) | (_, None) => true,
            (Some(a), Some(b)) => admits(a, b),
        };
        hits.retain(|h| {
            let term = &self.rules.terms[h.term as usize];
            fits(term.lang)
                && match term.field {
                    Field::Any => true,
                    Field::Title => h.field == TITLE,
                    Field::Text => h.field == TEXT,
                }
        });
        hits.sort_unstable();
        hits.dedup();
        // the regions first: a local rule counts only for reports within its regions
        let regions = self.geotag(&streams, [title, &report.text], &places, report.region.as_ref());
        let indicators = self.evaluate(&hits, &streams, &regions);
        Classification {
            language: language.map(|l| l.code().to_owned()),
            indicators,
            regions,
            rules_version: self.rules.version.clone(),
            classified_at: now,
        }
    }

    /// The regions a report is about: the districts, regencies and provinces
    /// its title and text name (a dateline only at the start of the text),
    /// resolved within the report's own region when it has one, which they
    /// can only narrow (`72.71` naming `Kecamatan Tatanga` is `72.71.06`).
    fn geotag(
        &self,
        streams: &[Stream; 2],
        texts: [&str; 2],
        places: &[Vec<(u32, usize, usize)>; 2],
        region: Option<&model::RegionCode>,
    ) -> Vec<model::RegionCode> {
        if region.is_some() && places.iter().all(Vec::is_empty) {
            return region.into_iter().cloned().collect();
        }
        let mut found = Vec::with_capacity(places.iter().map(Vec::len).sum());
        for (field, ((stream, text), list)) in streams.iter().zip(texts).zip(places).enumerate() {
            let dateline = if field == usize::from(TEXT) { geo::dateline(text) } else { None };
            geo::found_in(self.gazetteer, stream, text, list, dateline, &mut found);
        }
        geo::resolve(&found, region)
    }

    fn evaluate(&self, hits: &[Hit], streams: &[Stream; 2], regions: &[model::RegionCode]) -> Vec<IndicatorHit> {
        // each distinct term and where its hits are, for quick lookups
        let mut ranges: Vec<(u32, u32, u32)> = Vec::with_capacity(hits.len());
        // one bit per term of the rule set: most terms a rule asks about are
        // not in the text, and the bit says so without a search
        let mut present = vec![0u64; self.rules.terms.len().div_ceil(64)];
        for (i, h) in hits.iter().enumerate() {
            present[h.term as usize / 64] |= 1 << (h.term % 64);
            match ranges.last_mut() {
                Some(r) if r.0 == h.term => r.2 = i as u32 + 1,
                _ => ranges.push((h.term, i as u32, i as u32 + 1)),
            }
        }
        // the groups of terms with a term found
        let mut groups = vec![0u64; self.groups.len().div_ceil(64)];
        for &(t, _, _) in &ranges {
            for &g in &self.term_groups[t as usize] {
                groups[g as usize / 64] |= 1 << (g % 64);
            }
        }
        let found = Found { hits, ranges: &ranges, present, groups, group_terms: &self.groups };
        let has = |t: usize| found.has(t);
        // the rules that a term found is a trigger of, in order
        let mut candidates: Vec<u32> = Vec::with_capacity(32);
        for &(term, _, _) in &ranges {
            candidates.extend_from_slice(&self.term_rules[term as usize]);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut by_indicator: Vec<IndicatorHit> = Vec::new();
        for r in candidates {
            let rule = &self.rules.rules[r as usize];
            if self.nots[r as usize].is_some_and(|g| found.group(g)) || !rule.applies_in(regions) {
                continue;
            }
            let fired = match &rule.kind {
                Kind::Any(_) => true,
                Kind::Match(_) => self.conds[r as usize].as_ref().is_some_and(|c| eval(c, &found)),
                Kind::Weighted { weights, threshold } => {
                    weights.iter().filter(|(t, _)| !has(*t).is_empty()).map(|(_, w)| w).sum::<f64>() >= *threshold
                }
            };
            if !fired {
                continue;
            }
            let idx = match by_indicator.iter().position(|i| i.id == rule.indicator) {
                Some(i) => i,
                None => {
                    by_indicator.push(IndicatorHit {
                        id: rule.indicator.clone(),
                        score: 0.0,
                        rules: Vec::new(),
                        matches: Vec::with_capacity(8),
                    });
                    by_indicator.len() - 1
                }
            };
            let hit = &mut by_indicator[idx];
            hit.score += rule.weight;
            hit.rules.push(rule.id.clone());
            // the rule's terms that were found, each with its hits
            found.each_found(&self.rule_terms[r as usize], |t, from, to| {
                let term = &self.rules.terms[t as usize];
                for h in &hits[from as usize..to as usize] {
                    let stream = &streams[h.field as usize];
                    let (first, last) = (&stream.tokens[h.first as usize], &stream.tokens[h.last as usize]);
                    hit.matches.push(TermMatch {
                        term: term.text.clone(),
                        rule: rule.id.clone(),
                        field: if h.field == TITLE { MatchField::Title } else { MatchField::Text },
                        start: first.start,
                        end: last.end,
                    });
                }
            });
        }
        for hit in &mut by_indicator {
            hit.matches.sort_by(|a, b| (a.field, a.start, &a.rule).cmp(&(b.field, b.start, &b.rule)));
            hit.matches.dedup_by(|a, b| a.field == b.field && a.start == b.start && a.end == b.end && a.rule == b.rule);
        }
        by_indicator.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        by_indicator
    }
}

/// A set of terms as the words of a bitset over all terms that have any of
/// them: (word, its bits), by word. The terms of a rule are numbered as it
/// is read, so most sit in a few words, and the set meets the terms found
/// in a report one word at a time.
#[derive(Debug)]
struct TermSet(Vec<(u32, u64)>);

impl TermSet {
    /// The set of `terms`, sorted.
    fn new(terms: impl IntoIterator<Item = u32>) -> Self {
        let mut words: Vec<(u32, u64)> = Vec::new();
        for t in terms {
            let (word, bit) = (t / 64, 1u64 << (t % 64));
            match words.last_mut() {
                Some((w, bits)) if *w == word => *bits |= bit,
                last => {
                    debug_assert!(last.is_none_or(|(w, _)| *w < word), "terms must be sorted");
                    words.push((word, bit));
                }
            }
        }
        Self(words)
    }
}

/// Terms of which one must be found for `expr` to hold, as few as this
/// can tell: of an AND, its part with the fewest; of a NEAR, its smaller
/// side. `None` when `expr` can hold without any term (`(a AND b) OR NOT
/// c`): such a rule is tried for every term it names, as before. A rule is
/// tried only when one of these is found: the big lists beside a rule's
/// specific words (60–100 words of `massa OR warga OR …`) no longer make
/// every rule that names them a candidate.
fn triggers(expr: &Expr) -> Option<Vec<usize>> {
    match expr {
        Expr::Term(t) => Some(vec![*t]),
        Expr::Or(v) => v.iter().try_fold(Vec::new(), |mut all, e| {
            all.extend(triggers(e)?);
            Some(all)
        }),
        Expr::And(v) => v.iter().filter_map(triggers).min_by_key(Vec::len),
        Expr::Not(_) => None,
        Expr::Near { left, right, .. } => Some(if left.len() <= right.len() { left.clone() } else { right.clone() }),
    }
}

/// A `match` rule's expression as it is evaluated: an `OR` of terms alone,
/// and each side of a `NEAR`, is one group of terms, and which groups have a
/// term in the text is worked out once a report, from the terms found, for
/// all rules; the big lists (60–100 words of `massa OR warga OR …`) then
/// cost one bit each rather than a lookup for each of their terms.
#[derive(Debug)]
enum Cond {
    Term(usize),
    /// Some term of the group occurs.
    Group(u32),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// Some term of group `left` and some of `right` within `within` words.
    Near {
        left: u32,
        right: u32,
        within: usize,
    },
}

/// The groups of terms of a rule set's conditions, one for each distinct
/// list of terms.
#[derive(Debug, Default)]
struct Groups {
    list: Vec<Vec<u32>>,
    index: FxHashMap<Vec<u32>, u32>,
}

impl Groups {
    fn group(&mut self, terms: &[usize]) -> u32 {
        let mut terms: Vec<u32> = terms.iter().map(|&t| t as u32).collect();
        terms.sort_unstable();
        terms.dedup();
        let next = self.list.len() as u32;
        *self.index.entry(terms).or_insert_with_key(|terms| {
            self.list.push(terms.clone());
            next
        })
    }

    fn cond(&mut self, expr: &Expr) -> Cond {
        match expr {
            Expr::Term(t) => Cond::Term(*t),
            Expr::Or(v) if v.iter().all(|e| matches!(e, Expr::Term(_))) => {
                let terms: Vec<usize> =
                    v.iter().filter_map(|e| if let Expr::Term(t) = e { Some(*t) } else { None }).collect();
                Cond::Group(self.group(&terms))
            }
            Expr::And(v) => Cond::And(v.iter().map(|e| self.cond(e)).collect()),
            Expr::Or(v) => Cond::Or(v.iter().map(|e| self.cond(e)).collect()),
            Expr::Not(e) => Cond::Not(Box::new(self.cond(e))),
            Expr::Near { left, right, within } => {
                Cond::Near { left: self.group(left), right: self.group(right), within: *within }
            }
        }
    }
}

/// The terms found in a report: their hits, sorted by term, and where each
/// term's hits are; which terms, and which groups, have any.
struct Found<'a> {
    hits: &'a [Hit],
    /// (term, first hit, end of its hits).
    ranges: &'a [(u32, u32, u32)],
    /// One bit per term.
    present: Vec<u64>,
    /// One bit per group.
    groups: Vec<u64>,
    /// The terms of each group.
    group_terms: &'a [TermSet],
}

impl<'a> Found<'a> {
    fn has(&self, t: usize) -> &'a [Hit] {
        match self.range(t as u32) {
            Some((from, to)) => &self.hits[from as usize..to as usize],
            None => &[],
        }
    }

    /// Where the hits of term `t` are in `hits`, if it has any.
    fn range(&self, t: u32) -> Option<(u32, u32)> {
        if self.present[t as usize / 64] & (1 << (t % 64)) == 0 {
            return None;
        }
        let i = self.ranges.binary_search_by_key(&t, |r| r.0).ok()?;
        Some((self.ranges[i].1, self.ranges[i].2))
    }

    fn group(&self, g: u32) -> bool {
        self.groups[g as usize / 64] & (1 << (g % 64)) != 0
    }

    /// The terms of `terms` that were found, in order, each with where its
    /// hits are.
    fn each_found(&self, terms: &TermSet, mut f: impl FnMut(u32, u32, u32)) {
        for &(word, mask) in &terms.0 {
            let mut bits = self.present[word as usize] & mask;
            while bits != 0 {
                let t = word * 64 + bits.trailing_zeros();
                bits &= bits - 1;
                if let Ok(i) = self.ranges.binary_search_by_key(&t, |r| r.0) {
                    f(t, self.ranges[i].1, self.ranges[i].2);
                }
            }
        }
    }

    /// The hits of the terms of group `g`.
    fn hits_of(&self, g: u32) -> Vec<&'a Hit> {
        let mut out = Vec::new();
        self.each_found(&self.group_terms[g as usize], |_, from, to| {
            out.extend(&self.hits[from as usize..to as usize]);
        });
        out
    }
}

/// Whether `cond` holds for the terms found.
fn eval(cond: &Cond, found: &Found) -> bool {
    match cond {
        Cond::Term(t) => !found.has(*t).is_empty(),
        Cond::Group(g) => found.group(*g),
        Cond::And(v) => v.iter().all(|c| eval(c, found)),
        Cond::Or(v) => v.iter().any(|c| eval(c, found)),
        Cond::Not(c) => !eval(c, found),
        Cond::Near { left, right, within } => {
            if !(found.group(*left) && found.group(*right)) {
                return false;
            }
            let (l, r) = (found.hits_of(*left), found.hits_of(*right));
            if l.len() * r.len() <= FEW_PAIRS {
                // the usual case: a handful of hits, every pair compared
                l.iter().any(|a| r.iter().any(|b| close(a, b, *within)))
            } else {
                near(&l, &r, *within)
            }
        }
    }
}

/// Up to this many pairs of hits, NEAR compares every pair.
const FEW_PAIRS: usize = 256;

/// Whether two hits are in the same field and at most `within` words apart.
fn close(a: &Hit, b: &Hit, within: usize) -> bool {
    let gap = if a.last < b.first {
        b.first - a.last - 1
    } else if b.last < a.first {
        a.first - b.last - 1
    } else {
        0
    };
    a.field == b.field && gap as usize <= within
}

/// Whether some hit of `left` and some of `right` in the same field are at
/// most `within` words apart (or overlap), in O(n log n) for n hits: a text
/// repeating both sides thousands of times must not cost their product.
///
/// Hits `a` and `b` are close enough exactly when
/// `b.first ≤ a.last + within + 1` and `b.last + within + 1 ≥ a.first`; so,
/// with `right` sorted by `first`, each `a` needs only the largest `last`
/// among the hits of `right` that start early enough.
fn near(left: &[&Hit], right: &[&Hit], within: usize) -> bool {
    let within = u64::try_from(within).unwrap_or(u64::MAX / 4);
    [TITLE, TEXT].into_iter().any(|field| {
        let mut r: Vec<(u64, u64)> =
            right.iter().filter(|h| h.field == field).map(|h| (u64::from(h.first), u64::from(h.last))).collect();
        if r.is_empty() {
            return false;
        }
        r.sort_unstable();
        let mut furthest = Vec::with_capacity(r.len());
        let mut max = 0;
        for (_, last) in &r {
            max = max.max(*last);
            furthest.push(max);
        }
        left.iter().filter(|h| h.field == field).any(|a| {
            let starts_early_enough = r.partition_point(|(first, _)| *first <= u64::from(a.last) + within + 1);
            starts_early_enough > 0 && furthest[starts_early_enough - 1] + within + 1 >= u64::from(a.first)
        })
    })
}

/// Words that deny what follows them: `tidak terprovokasi`, `bukan demo`,
/// `tanpa narkoba`, `negatif narkoba`, `no drugs`.
const NEGATORS: [&str; 12] =
    ["tidak", "tak", "bukan", "belum", "tanpa", "nihil", "negatif", "not", "no", "without", "never", "nor"];

fn negator(word: &str) -> bool {
    // most words are passed on their first letter and length alone
    may_deny(word) && NEGATORS.contains(&word)
}

/// Whether token `i` is `no` short for *nomor*, which denies nothing: before
/// a number (`no 12`, `no 0812…`) or a word of what is numbered (`no hp`,
/// `pilih no urut 2`, `no kursi`, `no rek`), where the English negator is
/// followed by what is absent (`no drugs`, `no one`).
fn numbered(stream: &Stream, i: usize) -> bool {
    stream.word(i) == "no"
        && i + 1 < stream.tokens.len()
        && (stream.word(i + 1).starts_with(|c: char| c.is_ascii_digit()) || NUMBERED.contains(&stream.word(i + 1)))
}

/// What *nomor* is put before in chats and notices: phones, accounts and
/// wallets, queues and seats, ballots, documents, houses and vehicles
/// (Indonesian words, none of which follows the English `no`).
#[rustfmt::skip]
const NUMBERED: [&str; 43] = [
    "hp", "hape", "handphone", "telp", "tlp", "telepon", "telpon", "ponsel", "wa", "whatsapp", "kontak",
    "rek", "rekening", "dana", "ovo", "gopay", "akun", "pin", "resi", "tiket", "pesanan",
    "urut", "antrian", "antrean", "antri", "kursi", "meja", "tps", "dpt", "surat", "sk", "ktp", "kk", "nik",
    "induk", "seri", "register", "reg", "rumah", "kamar", "pol", "polisi", "laporan",
];

/// Words that say what was thought before it was found otherwise: `dikira
/// bawa ganja ternyata daun kelor`. Listed with the negators, so that
/// [`near_negator`] lets [`negated`] look.
const THOUGHT: [&str; 10] =
    ["dikira", "dikirain", "dikiranya", "kirain", "disangka", "mengira", "menyangka", "nyangka", "ngira", "kukira"];

fn thought(word: &str) -> bool {
    may_deny(word) && THOUGHT.contains(&word)
}

/// Whether some negator or word of thought has `word`'s first byte and
/// length: one table lookup passes nearly every word of a report, which
/// the scan asks about each of its tokens.
#[inline]
fn may_deny(word: &str) -> bool {
    const SHAPES: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < NEGATORS.len() + THOUGHT.len() {
            let w = if i < NEGATORS.len() { NEGATORS[i] } else { THOUGHT[i - NEGATORS.len()] };
            table[w.as_bytes()[0] as usize] |= 1 << w.len();
            i += 1;
        }
        table
    };
    let (Some(&first), len) = (word.as_bytes().first(), word.len()) else { return false };
    len < 32 && SHAPES[usize::from(first)] & (1 << len) != 0
}

/// Negators that deny a thing named right after them (`bukan demo`, `tanpa
/// keributan`, `no drugs`), where the others deny a deed or a state (`tidak
/// terima`, `belum ditangkap`) and a thing only through a bridging word
/// (`tidak ada`, `belum ditemukan`).
fn denies_things(word: &str) -> bool {
    matches!(word, "bukan" | "tanpa" | "nihil" | "negatif" | "no" | "without" | "nor")
}

/// Words that tell what was found instead of what was thought.
fn found_otherwise(word: &str) -> bool {
    matches!(word, "ternyata" | "rupanya" | "taunya" | "tahunya" | "nyatanya")
}

/// Words after `ternyata` that confirm what was thought (`dikira sabu,
/// ternyata benar sabu`) instead of correcting it.
fn confirms(word: &str) -> bool {
    matches!(word, "benar" | "betul" | "bener" | "beneran" | "memang" | "emang" | "positif" | "asli" | "sungguhan")
}

/// Words that may stand between a negator and what it denies, as in `tidak
/// ditemukan narkoba`, `tidak ada lagi tawuran`, `bukan merupakan aksi teror`,
/// `no evidence of terrorism`: finding, seeing, being and involvement, never
/// a word that turns the negation around (`tidak hanya`, `bukan sekadar`).
#[rustfmt::skip]
fn bridge(word: &str) -> bool {
    matches!(
        word,
        "ada" | "adanya" | "ditemukan" | "ditemukannya" | "menemukan" | "ditemui" | "dijumpai" | "didapati"
            | "mendapati" | "terdapat" | "terjadi" | "terjadinya" | "terlihat" | "tampak" | "terpantau"
            | "terdeteksi" | "terbukti" | "pernah" | "lagi" | "satupun" | "merupakan" | "termasuk" | "terlibat"
            | "terkait" | "mengandung" | "unsur" | "indikasi" | "any" | "evidence" | "of" | "sign" | "signs"
            | "found" | "seen" | "reported" | "reports" | "indication" | "a" | "an" | "involved" | "in"
            | "linked" | "related" | "to"
    )
}

/// Nouns of an event or a sign that bridge a denial only after a word of
/// finding or being (`tidak terdapat kegiatan unjuk rasa`, `belum ada
/// laporan tawuran`): right after the negator they are what it denies, not
/// the thing named after them (`ini bukan kasus narkoba pertama di desa`).
#[rustfmt::skip]
fn event_noun(word: &str) -> bool {
    matches!(
        word,
        "kegiatan" | "aktivitas" | "aktifitas" | "aksi" | "kasus" | "laporan" | "kejadian" | "peristiwa"
            | "praktik" | "praktek" | "tanda" | "potensi" | "kelompok"
    )
}

/// Nouns that may stand before a term in its item of a denied list (`maupun
/// kegiatan demo`, `maupun peredaran sabu`); any other word may be a deed of
/// another clause (`tanpa izin, warga maupun mahasiswa menggelar demo`).
fn item_noun(word: &str) -> bool {
    event_noun(word)
        || matches!(word, "peredaran" | "penyalahgunaan" | "pengibaran" | "transaksi" | "pesta" | "barang" | "bukti")
}

/// Words of intent that `bukan` may deny through: `..., bukan mau tawuran`
/// (what was meant is corrected). After `tidak` they would deny a wish, not
/// a thing (`tidak mau ada demo lagi`), so only `bukan` has them.
fn intent(word: &str) -> bool {
    matches!(word, "mau" | "akan" | "hendak" | "ingin" | "untuk" | "buat")
}

/// Words that join the items of a denied list. After `maupun`, `ataupun`,
/// `apalagi` and `nor` the list goes on whatever follows the item; `atau`,
/// `dan`, `serta`, `or` and `and` join clauses too (`tidak ada korban jiwa
/// dan tawuran di Jalan Sudirman berlangsung hingga pagi`), so after them
/// the item must end the sentence or the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    Things,
    Clauses,
}

fn join(word: &str) -> Option<Join> {
    match word {
        "maupun" | "ataupun" | "apalagi" | "nor" => Some(Join::Things),
        "atau" | "dan" | "serta" | "or" | "and" => Some(Join::Clauses),
        _ => None,
    }
}

/// Words that never stand inside an item of a denied list: places, times,
/// causes and relative clauses (`tidak ada korban jiwa dalam tawuran maupun
/// bentrokan`: the clash is real), words that start another clause, turn the
/// negation around or deny again.
#[rustfmt::skip]
fn ends_item(word: &str) -> bool {
    matches!(
        word,
        "di" | "ke" | "dari" | "dalam" | "pada" | "selama" | "saat" | "ketika" | "sejak" | "hingga" | "sampai"
            | "akibat" | "karena" | "krn" | "oleh" | "dengan" | "yang" | "yg" | "usai" | "setelah" | "sebelum"
            | "antara" | "antar" | "tetapi" | "tapi" | "namun" | "sedangkan" | "melainkan" | "padahal"
            | "sementara" | "sehingga" | "lalu" | "kemudian" | "hanya" | "sekadar" | "sekedar" | "cuma"
            | "semata" | "saja" | "biasa" | "at" | "on" | "during" | "from" | "after" | "before" | "in" | "by"
            | "with" | "but" | "however" | "while" | "only" | "just"
    ) || negator(word) || join(word).is_some()
}

/// What stands between two adjacent tokens of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// Spaces, one line break, quotes, or the hyphen of `sabu-sabu`.
    Space,
    /// A comma, with spaces or quotes.
    Comma,
    /// Anything that ends a clause (`.`, `;`, `:`, `?`, a blank line, ...).
    Break,
}

/// What stands between tokens `a` and `a + 1` of `stream`, read in `text`
/// (the end of the text after the last token is a break).
fn gap(stream: &Stream, text: &str, a: usize) -> Gap {
    if a + 1 >= stream.tokens.len() {
        return Gap::Break;
    }
    let (end, start) = (stream.tokens[a].end, stream.tokens[a + 1].start);
    // one word made into several (`nyabu` is `pakai sabu`, `anak2` `anak anak`)
    let Some(between) = text.get(end..start) else { return Gap::Space };
    let (mut comma, mut lines) = (false, 0);
    for c in between.chars() {
        match c {
            ',' if !comma => comma = true,
            '\n' => lines += 1,
            '-' | '/' if between.len() == 1 => {}
            '\'' | '"' | '‘' | '’' | '“' | '”' => {}
            c if c.is_whitespace() => {}
            _ => return Gap::Break,
        }
    }
    match (lines, comma) {
        (2.., _) => Gap::Break,
        (_, true) => Gap::Comma,
        _ => Gap::Space,
    }
}

/// Nouns that `negatif` describes rather than denies what follows: `dampak
/// negatif narkoba` is about drugs.
fn negative_about(word: &str) -> bool {
    matches!(
        word,
        "dampak" | "pengaruh" | "efek" | "sisi" | "konten" | "hal" | "bahaya" | "stigma" | "paham" | "perilaku"
    )
}

/// How far before a term, in words, the word that denies it may stand (a
/// negator with its bridges, or before the first item of a denied list).
/// [`near_negator`] and [`negated`] both keep to it.
const DENIED_FROM: usize = 12;
/// How far after a term, in words, its clause may call it untrue.
const DENIED_WITHIN: usize = 8;
/// The most bridging words between a negator and what it denies.
const BRIDGES: usize = 3;
/// The most words of one item of a denied list before the item of the term,
/// and before the term in its own item (`maupun kegiatan demo`).
const ITEM_WORDS: usize = 3;
const BEFORE_IN_ITEM: usize = 2;
/// The most words between `dikira` and the term, and between the term and
/// `ternyata`.
const THOUGHT_WORDS: usize = 2;
const _: () = assert!(BRIDGES < DENIED_FROM && THOUGHT_WORDS < DENIED_FROM);

/// Whether a negator, or a word of what was thought, is close enough to
/// tokens `first..=last` of `stream` for [`negated`] to hold: every word that
/// denies is one. `negators` is the list of their tokens, in order.
fn near_negator(negators: &[usize], first: usize, last: usize) -> bool {
    let next = negators.partition_point(|&i| i < first.saturating_sub(DENIED_FROM));
    negators.get(next).is_some_and(|&i| i <= last + DENIED_WITHIN)
}

/// Whether the term at tokens `first..=last` of `stream` (read from `text`)
/// is denied:
/// - a negator right before it, or with up to three bridging words between,
///   in the same clause (`tidak ditemukan narkoba`, `tidak terdapat kegiatan
///   unjuk rasa`); `bukan` also through a word of intent (`bukan mau
///   tawuran`);
/// - an item of a list whose first item is so denied (`tidak ditemukan miras,
///   senjata tajam, maupun sabu`), every item a few plain words in one
///   clause, with no place, time or cause in them ([`in_denied_list`]);
/// - `nihil` or `negatif` right after it (`narkoba: nihil` in a situation
///   report), or the rest of its clause calling it untrue (`kabar ada bentrok
///   di pasar itu tidak benar`, `isu ladang ganja ternyata tidak terbukti`);
/// - what was thought and then found otherwise (`dikira bawa ganja ternyata
///   daun kelor`).
///
/// The word that denies stands at most [`DENIED_FROM`] words before the term
/// or [`DENIED_WITHIN`] after it. A denied term does not count.
fn negated(stream: &Stream, text: &str, first: usize, last: usize) -> bool {
    denial_before(stream, text, first).is_some()
        || in_denied_list(stream, text, first, last)
        || untrue_after(stream, last)
        || thought_otherwise(stream, text, first, last)
}

/// Whether token `i` is a negator that denies (`dampak negatif narkoba` is
/// about drugs).
fn denies(stream: &Stream, i: usize) -> bool {
    let word = stream.word(i);
    negator(word) && !numbered(stream, i) && !(word == "negatif" && i > 0 && negative_about(stream.word(i - 1)))
}

/// The negator that denies what starts at token `at`, and how many bridging
/// words stand between them, in one clause.
fn denial_before(stream: &Stream, text: &str, at: usize) -> Option<(usize, usize)> {
    let mut i = at;
    let mut intended = false;
    for bridges in 0..=BRIDGES {
        if i == 0 || gap(stream, text, i - 1) != Gap::Space {
            return None;
        }
        i -= 1;
        let word = stream.word(i);
        if denies(stream, i) {
            // after `bukan`, an event noun right after it is what it
            // denies (`bukan kasus narkoba pertama` says there were others);
            // `nihil`, `tanpa` and the rest deny the event (`nihil kasus
            // narkoba`)
            let noun_first = bridges > 0 && word == "bukan" && event_noun(stream.word(i + 1));
            return (!noun_first && (!intended || word == "bukan")).then_some((i, bridges));
        }
        if intent(word) {
            intended = true;
        } else if !(bridge(word) || event_noun(word)) {
            return None;
        }
    }
    None
}

/// Whether the term at `first..=last` is an item of a denied list: after
/// `maupun`, `atau`, `dan` or a comma, with up to [`BEFORE_IN_ITEM`] nouns
/// of an event or a thing before it in its item ([`item_noun`]); the items before it of up to
/// [`ITEM_WORDS`] plain words each, parted by commas, the first denied by a
/// negator through a bridge (`tidak ada`) or by one that denies things
/// (`tanpa`, `bukan`), no further back than [`DENIED_FROM`]. After `atau`
/// and `dan` the term's item ends the sentence; after a comma the list goes
/// on to a `maupun` or to a last item that ends it.
fn in_denied_list(stream: &Stream, text: &str, first: usize, last: usize) -> bool {
    let floor = first.saturating_sub(DENIED_FROM);
    // the separator before the term's item, and the last token of the item
    // before it
    let mut p = first;
    let mut end = loop {
        if p == 0 || p <= floor {
            return false;
        }
        match gap(stream, text, p - 1) {
            Gap::Break => return false,
            Gap::Comma if list_goes_on(stream, text, last) => break p - 1,
            Gap::Comma => return false,
            Gap::Space => {}
        }
        let word = stream.word(p - 1);
        if let Some(kind) = join(word) {
            if p < 2 || gap(stream, text, p - 2) == Gap::Break {
                return false;
            }
            if kind == Join::Clauses && !ends_list(stream, text, last) {
                return false;
            }
            break p - 2;
        }
        if !item_noun(word) || first - p == BEFORE_IN_ITEM {
            return false;
        }
        p -= 1;
    };
    // the items before, back to the first, which must be denied
    let mut words = 0;
    loop {
        if end < floor || ends_item(stream.word(end)) {
            return false;
        }
        if let Some((negator, bridges)) = denial_before(stream, text, end) {
            return negator >= floor && (bridges > 0 || denies_things(stream.word(negator)));
        }
        if end == 0 {
            return false;
        }
        match gap(stream, text, end - 1) {
            Gap::Break => return false,
            Gap::Comma => words = 0,
            Gap::Space => {
                words += 1;
                if words == ITEM_WORDS {
                    return false;
                }
            }
        }
        end -= 1;
    }
}

/// Whether the list goes on after an item that ends at token `last` and a
/// comma: more items of a few plain words, parted by commas, then
/// `maupun` and the like, or `dan` / `atau` with a last item that ends the
/// sentence (`tidak ditemukan miras, sabu, maupun ganja`; not `tidak
/// ditemukan senjata, warga bentrok dengan aparat`).
fn list_goes_on(stream: &Stream, text: &str, last: usize) -> bool {
    let n = stream.tokens.len();
    let (mut j, mut words) = (last, 0);
    while j + 1 < n && j < last + DENIED_FROM {
        let between = gap(stream, text, j);
        j += 1;
        let word = stream.word(j);
        match (between, join(word)) {
            (Gap::Break, _) => return false,
            (_, Some(Join::Things)) => return true,
            (_, Some(Join::Clauses)) => return ends_list(stream, text, last_of_item(stream, text, j + 1)),
            (Gap::Comma, None) => words = 1,
            (Gap::Space, None) => words += 1,
        }
        if words > ITEM_WORDS || ends_item(word) {
            return false;
        }
    }
    false
}

/// The last token of an item of up to [`ITEM_WORDS`] plain words from token
/// `at` to a break or a comma; past the text when there is none.
fn last_of_item(stream: &Stream, text: &str, at: usize) -> usize {
    let n = stream.tokens.len();
    let mut j = at;
    while j < n && j < at + ITEM_WORDS && !ends_item(stream.word(j)) {
        if gap(stream, text, j) != Gap::Space {
            return j;
        }
        j += 1;
    }
    n
}

/// Whether an item ending at token `last` ends its sentence, or the list
/// goes on after it with a joiner.
fn ends_list(stream: &Stream, text: &str, last: usize) -> bool {
    let n = stream.tokens.len();
    last < n
        && match gap(stream, text, last) {
            Gap::Break => true,
            Gap::Comma => false,
            Gap::Space => last + 1 < n && join(stream.word(last + 1)).is_some(),
        }
}

/// Whether `nihil` or `negatif` follows the term ending at token `last`
/// (`narkoba: nihil`), or its clause goes on to call it untrue (`tidak
/// benar`, `tidak terbukti`, but not `tidak benar-benar`, not really).
fn untrue_after(stream: &Stream, last: usize) -> bool {
    // the words are adjacent in the text: only a space between them
    let joined = |a: usize, b: usize| stream.tokens[b].start <= stream.tokens[a].end + 1;
    let n = stream.tokens.len();
    let word = |j: usize| if j < n { stream.word(j) } else { "" };
    let mut j = last;
    while j + 1 < n && j < last + DENIED_WITHIN && joined(j, j + 1) {
        j += 1;
        if j == last + 1 && matches!(word(j), "nihil" | "negatif") {
            return true;
        }
        if matches!(word(j), "tidak" | "tak" | "bukan")
            && matches!(word(j + 1), "benar" | "terbukti")
            && j + 1 < n
            && joined(j, j + 1)
            && word(j + 2) != "benar"
        {
            return true;
        }
    }
    false
}

/// Whether the term at `first..=last` is what was thought and then found
/// otherwise: `dikira` up to [`THOUGHT_WORDS`] words before it and
/// `ternyata` as many after, in one sentence, nothing between that makes it
/// less than it was (`dikira tawuran biasa, ternyata ada korban` is a clash)
/// and no word after `ternyata` that confirms it (`ternyata benar`).
fn thought_otherwise(stream: &Stream, text: &str, first: usize, last: usize) -> bool {
    let n = stream.tokens.len();
    let mut i = first;
    loop {
        if i == 0 || first - i > THOUGHT_WORDS || gap(stream, text, i - 1) != Gap::Space {
            return false;
        }
        i -= 1;
        if thought(stream.word(i)) {
            break;
        }
        if ends_item(stream.word(i)) {
            return false;
        }
    }
    let mut j = last;
    loop {
        if j + 1 >= n || j - last > THOUGHT_WORDS || gap(stream, text, j) == Gap::Break {
            return false;
        }
        j += 1;
        let word = stream.word(j);
        if found_otherwise(word) {
            return j + 1 >= n || !confirms(stream.word(j + 1));
        }
        if ends_item(word) {
            return false;
        }
    }
}

#[cfg(test)]
mod negation {
    use time::macros::datetime;

    use super::*;

    fn ids(text: &str) -> Vec<String> {
        let src = r#"
            [[rule]]
            id = "n"
            indicator = "narkoba"
            any = ["narkoba", "sabu", "drugs"]
            [[rule]]
            id = "k"
            indicator = "konflik_sosial"
            any = ["demo", "~provokasi", "tawuran"]
        "#;
        ids_in(src, text)
    }

    /// The indicators of `text` under a wider pack of test rules.
    fn wide(text: &str) -> Vec<String> {
        let src = r#"
            [[rule]]
            id = "n"
            indicator = "narkoba"
            any = ["narkoba", "sabu", "drugs", "ganja", "pil koplo"]
            [[rule]]
            id = "k"
            indicator = "konflik_sosial"
            any = ["demo", "~provokasi", "tawuran", "bentrok*", "unjuk rasa", "clash", "clashes"]
            [[rule]]
            id = "i"
            indicator = "ideologi"
            any = ["separatis", "bom"]
        "#;
        ids_in(src, text)
    }

    fn ids_in(src: &str, text: &str) -> Vec<String> {
        let c = Classifier::new(RuleSet::parse(&[("t.toml", src)]).unwrap());
        let at = datetime!(2026-11-29 10:00 UTC);
        let report = Report::new(model::Channel::Web, "test", text, at);
        c.classify(&report, at).indicators.into_iter().map(|i| i.id.to_string()).collect()
    }

    #[test]
    fn a_negator_before_a_term_or_a_bridge_or_two_denies_it() {
        for text in [
            "Petugas tidak menemukan narkoba di lapas.",
            "Hasil penggeledahan: tidak ditemukan adanya narkoba.",
            "Seluruh pegawai negatif narkoba.",
            "Konser berjalan lancar, nihil narkoba.",
            "Itu bukan demo, hanya pawai budaya.",
            "Warga diminta tidak terprovokasi isu penculikan.",
            "Sudah dua tahun tidak ada lagi tawuran di kampung ini.",
            "Razia tempat hiburan: narkoba nihil.",
            "di kamarnya gak ada sabu, pak",
            "Isu adanya pesta sabu di asrama itu tidak benar.",
            "Kabar tawuran di pasar pagi ini ternyata tidak terbukti.",
            "Hasil pemeriksaan BNN: narkoba negatif.",
            "Police found no drugs in the car.",
            "There was no evidence of drugs at the party.",
        ] {
            assert!(ids(text).is_empty(), "{text}: {:?}", ids(text));
        }
    }

    #[test]
    fn other_words_punctuation_and_positive_senses_keep_a_term() {
        for (text, want) in [
            ("Polisi menemukan narkoba di kamar kos.", "narkoba"),
            // a word that is no bridge: the negation is about something else
            ("Warga tidak terima lalu menggelar demo di kantor desa.", "konflik_sosial"),
            ("Tidak hanya narkoba, polisi juga menyita senjata.", "narkoba"),
            ("Bukan sekadar demo, mahasiswa menduduki gedung.", "konflik_sosial"),
            // the negation ends with its clause
            ("Apakah aman? Tidak. Tawuran pecah lagi tadi malam.", "konflik_sosial"),
            ("Penyuluhan tentang dampak negatif narkoba bagi pelajar.", "narkoba"),
            // the untrue is another clause's, or `tidak benar-benar` (not really)
            ("Sabu ditemukan di kamar, keterangan tersangka tidak benar.", "narkoba"),
            ("Tawuran pelajar kemarin tidak benar-benar selesai.", "konflik_sosial"),
            // three words between are too far to tell
            ("Petugas tidak sempat mengamankan barang bukti sabu.", "narkoba"),
        ] {
            assert_eq!(ids(text), [want], "{text}");
        }
    }

    /// `no` short for *nomor*, before a number or a word of what is numbered,
    /// denies nothing; the English `no` before what is absent still does.
    #[test]
    fn no_before_a_number_is_nomor() {
        let src = "[[rule]]\nid = \"d\"\nindicator = \"demokrasi\"\nany = [\"urut\", \"kursi\", \"hp\", \"sabu\", \"weapons\"]\n";
        for text in [
            "Coblos no urut 2, dapat amplop",
            "warga disuruh pilih no kursi yg dikasih",
            "Simpan no hp koordinator",
            "Tempat no 12 ada sabu",
            "Call no 0812 for sabu",
        ] {
            assert_eq!(ids_in(src, text), ["demokrasi"], "{text}");
        }
        for text in ["no sabu at the scene", "Police found no weapons."] {
            assert!(ids_in(src, text).is_empty(), "{text}");
        }
    }

    /// The sentences that a denial carried over lists and clauses once took
    /// from real incidents (059244b, reverted in 3aca6f4), and more of their
    /// kind in chat, SMS, news and situation-report styles: each keeps its
    /// indicator.
    #[test]
    fn real_incidents_beside_a_denial_keep_their_terms() {
        for (text, want) in [
            // the review's counter-examples
            ("Tidak ada korban jiwa dalam tawuran maupun bentrokan susulan", "konflik_sosial"),
            ("Tidak ada korban jiwa dan tawuran di Jalan Sudirman berlangsung hingga pagi", "konflik_sosial"),
            ("Tidak ditemukan senjata, warga bentrok dengan aparat di depan kantor bupati", "konflik_sosial"),
            // a place, time or cause inside an item ends the list
            ("Tidak ada korban maupun kerusakan akibat tawuran semalam.", "konflik_sosial"),
            ("Belum ada tersangka maupun motif dalam tawuran itu.", "konflik_sosial"),
            ("Tidak ditemukan korban, senjata, maupun barang bukti dalam tawuran di pasar.", "konflik_sosial"),
            // a comma, `dan` or `atau` that joins clauses
            ("Tidak ada korban jiwa, tawuran di pasar berhasil dibubarkan.", "konflik_sosial"),
            ("Tidak ada korban jiwa dan tawuran masih berlangsung hingga pagi.", "konflik_sosial"),
            ("Jangan sampai tidak ada pengawasan atau tawuran akan pecah lagi.", "konflik_sosial"),
            ("Pak, tdk ada korban, tp demo msh berlangsung di depan DPRD", "konflik_sosial"),
            ("yg luka gak ada, tp tawuran msh lanjut di gg 5", "konflik_sosial"),
            ("Tidak ada narkoba di lokasi, namun tawuran antarpemuda terjadi.", "konflik_sosial"),
            ("LAPSITDA Kec. Tallo: nihil korban jiwa. Tawuran antarkampung berhasil diredam.", "konflik_sosial"),
            ("No one was hurt, but the clash went on until dawn.", "konflik_sosial"),
            ("Police found no weapons, but drugs were hidden in the trunk.", "narkoba"),
            // a negator of a deed denies no thing after it, nor a list
            ("Warga tak terima dan demo di kantor desa.", "konflik_sosial"),
            ("Pelaku belum ditangkap dan sabu masih dicari.", "narkoba"),
            ("Petugas tidak sempat mengamankan sabu maupun ganja.", "narkoba"),
            ("Belum jelas apakah itu demo atau tawuran.", "konflik_sosial"),
            ("Tanpa izin, warga maupun mahasiswa menggelar demo.", "konflik_sosial"),
            ("Tak lama kemudian warga dan pemuda terlibat tawuran.", "konflik_sosial"),
            ("Tidak hanya miras dan sabu, polisi juga menyita senjata.", "narkoba"),
            // an event noun right after the negator is what it denies
            ("Ini bukan kasus narkoba pertama di desa kami.", "narkoba"),
            // what was thought was less than it was, or was confirmed
            ("Awalnya dikira tawuran biasa, ternyata ada korban tewas.", "konflik_sosial"),
            ("dikira aman, ternyata tawuran pecah lagi", "konflik_sosial"),
            ("Dikira sabu, ternyata benar sabu setelah diuji lab.", "narkoba"),
            ("Polisi mengira ada transaksi sabu di rumah itu.", "narkoba"),
            // what is corrected comes after the correction; a wish is no correction
            ("Mereka bukan mau gotong royong, tapi mau tawuran.", "konflik_sosial"),
            ("Warga tidak mau ada demo lagi.", "konflik_sosial"),
        ] {
            assert_eq!(wide(text), [want], "{text}");
        }
    }

    /// Denials over a list, through words of finding and events, of what
    /// was meant and of what was thought.
    #[test]
    fn denials_over_lists_events_corrections_and_mistakes() {
        for text in [
            "Tidak ditemukan narkoba maupun senjata tajam.",
            "Polisi tidak menemukan miras, senjata tajam, maupun sabu.",
            "Razia kos-kosan: tidak ditemukan sabu, ganja, maupun pil koplo.",
            "Tidak ditemukan miras dan narkoba.",
            "Nihil miras serta narkoba.",
            "Tidak ada korban jiwa ataupun tawuran susulan.",
            "Sudah dua tahun tidak ada lagi balap liar, apalagi tawuran.",
            "Pertandingan berjalan tanpa keributan maupun tawuran antarsuporter.",
            "Selama operasi, tidak ada kasus narkoba maupun tawuran pelajar.",
            "Tidak terpantau pengerahan massa maupun aksi demo di wilayah.",
            "Police found no weapons or drugs.",
            "Tidak terdapat kegiatan unjuk rasa.",
            "Tidak ditemukan adanya kegiatan demo di wilayah.",
            "Belum ada laporan tawuran malam ini.",
            "Tidak terlihat aktivitas tawuran di sekitar sekolah.",
            "LAPSITDA Kec. Sentani: tidak ditemukan aktivitas kelompok separatis di wilayah.",
            "Itu bukan demo, hanya pawai budaya.",
            "yg gerombolan pemuda itu mau gotong royong bersihin kebun, bukan mau tawuran.",
            "dikira bom ternyata trafo meledak",
            "dikira bawa ganja ternyata daun kelor buat ibu wkwk",
            "Dikira demo, eh ternyata antre sembako.",
            "Dikiranya sabu, taunya garam dapur.",
            "Sitkamtibmas Kec. Palu Barat: nihil kasus narkoba.",
            "Pertandingan berakhir tanpa aksi anarkis.",
        ] {
            assert!(wide(text).is_empty(), "{text}: {:?}", wide(text));
        }
    }

    /// [`near_negator`] lets [`negated`] look exactly as far back as it can
    /// deny: a list whose negator stands [`DENIED_FROM`] words before the
    /// term denies it, one word further does not, and the scan agrees with
    /// `negated` alone at both.
    #[test]
    fn near_negator_reaches_as_far_as_negated() {
        let c = Classifier::new(
            RuleSet::parse(&[("t.toml", "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n")]).unwrap(),
        );
        let items = ["miras", "pisau", "golok", "parang", "panah", "busur", "batu", "kayu", "botol", "tombak"];
        for (count, denied) in [(items.len() - 1, true), (items.len(), false)] {
            let text = format!("tidak ditemukan {} maupun sabu", items[..count].join(", "));
            let stream = c.normalizer.stream(&text);
            let first = stream.tokens.len() - 1;
            assert_eq!(first, if denied { DENIED_FROM } else { DENIED_FROM + 1 }, "{text}");
            let negators: Vec<usize> = (0..=first).filter(|&i| negator(stream.word(i))).collect();
            assert_eq!(negated(&stream, &text, first, first), denied, "{text}");
            assert_eq!(near_negator(&negators, first, first), denied, "{text}");
            let want: &[&str] = if denied { &[] } else { &["narkoba"] };
            let at = time::macros::datetime!(2026-11-29 10:00 UTC);
            let got: Vec<String> = c
                .classify(&Report::new(model::Channel::Web, "test", &text, at), at)
                .indicators
                .into_iter()
                .map(|i| i.id.to_string())
                .collect();
            assert_eq!(got, want, "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use model::{Channel, RegionCode};
    use time::macros::datetime;

    use super::*;

    fn report(text: &str) -> Report {
        let at = datetime!(2026-11-29 10:00 UTC);
        Report::new(Channel::Web, "test", text, at)
    }

    fn classifier(src: &str) -> Classifier {
        Classifier::new(RuleSet::parse(&[("t.toml", src)]).unwrap())
    }

    fn ids(c: &Classifier, text: &str) -> Vec<String> {
        c.classify(&report(text), datetime!(2026-11-29 10:00 UTC))
            .indicators
            .into_iter()
            .map(|i| i.id.to_string())
            .collect()
    }

    #[test]
    fn words_phrases_prefixes_affixes_with_offsets() {
        let c = classifier(
            r#"
            [[rule]]
            id = "n1"
            indicator = "narkoba"
            weight = 2
            any = ["sabu", "pil koplo", "narkoti*"]
            [[rule]]
            id = "k1"
            indicator = "konflik_sosial"
            any = ["bentrok*", "~bakar rumah"]
            [replace]
            nyabu = "pakai sabu"
        "#,
        );
        let text = "Warga melaporkan pesta SABUUU dan pil koplo; kurir narkotika ditangkap. Bentrokan pecah, massa membakar rumah.";
        let out = c.classify(&report(text), datetime!(2026-11-29 10:00 UTC));
        let n = out.indicator("narkoba").unwrap();
        assert_eq!((n.score, n.rules.len(), &*n.rules[0]), (2.0, 1, "n1"));
        let found: Vec<&str> = n.matches.iter().map(|m| &text[m.start..m.end]).collect();
        assert_eq!(found, ["SABUUU", "pil koplo", "narkotika"]);
        let k = out.indicator("konflik_sosial").unwrap();
        let found: Vec<&str> = k.matches.iter().map(|m| &text[m.start..m.end]).collect();
        assert_eq!(found, ["Bentrokan", "membakar rumah"]);
        assert_eq!(out.language.as_deref(), Some("ind"));
        assert_eq!(ids(&c, "td mlm ada yg nyabu di pos"), ["narkoba"]);
    }

    #[test]
    fn word_boundaries_hold() {
        let c = classifier("[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\", \"ganja\"]\n");
        assert!(ids(&c, "Sabun cuci piring dibagikan gratis.").is_empty());
        assert!(ids(&c, "Batu besar mengganjal pintu, ganjal dengan kayu.").is_empty());
        assert_eq!(ids(&c, "sabu-sabu dan ganja kering"), ["narkoba"]);
    }

    #[test]
    fn near_agrees_with_every_pair_and_is_not_quadratic() {
        let hit = |field, first, last| Hit { term: 0, field, first, last };
        // every pair, as NEAR does for few hits
        let naive = |l: &[Hit], r: &[Hit], w: u32| l.iter().any(|a| r.iter().any(|b| close(a, b, w as usize)));
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let mut hits = |n: usize| -> Vec<Hit> {
                (0..rng.usize(0..n))
                    .map(|_| {
                        let first = rng.u32(0..40);
                        hit(rng.u8(0..2), first, first + rng.u32(0..3))
                    })
                    .collect()
            };
            let (l, r) = (hits(5), hits(5));
            let w = rng.u32(0..6);
            let (lr, rr): (Vec<&Hit>, Vec<&Hit>) = (l.iter().collect(), r.iter().collect());
            assert_eq!(near(&lr, &rr, w as usize), naive(&l, &r, w), "{l:?} {r:?} {w}");
        }
        // "kampanye" 40,000 times and then "calon" 40,000 times: every pair
        // would be 1.6 billion comparisons (22 s of a node's CPU per report)
        let words = 40_000;
        let c = classifier("[[rule]]\nid = \"k\"\nindicator = \"demokrasi\"\nmatch = 'kampanye NEAR/3 calon'\n");
        let text = format!("{}x y z w {}", "kampanye ".repeat(words), "calon ".repeat(words));
        assert!(ids(&c, &text).is_empty());
        let text = format!("{}x y {}", "kampanye ".repeat(words), "calon ".repeat(words));
        assert_eq!(ids(&c, &text), ["demokrasi"]);
    }

    #[test]
    fn boolean_near_not_and_weights() {
        let c = classifier(
            r#"
            [[rule]]
            id = "kampanye"
            indicator = "demokrasi"
            match = 'kampanye NEAR/4 (calon OR caleg) AND NOT "cuci tangan"'
            [[rule]]
            id = "jaringan"
            indicator = "narkoba"
            threshold = 4
            weights = { kurir = 2, bandar = 2, gram = 1, diamankan = 1 }
            not = ["sinetron"]
            [[rule]]
            id = "judul"
            indicator = "ideologi"
            any = ["title:khilafah"]
        "#,
        );
        assert_eq!(ids(&c, "Perangkat desa hadir di kampanye terbuka salah satu calon gubernur."), ["demokrasi"]);
        assert!(ids(&c, "Kampanye cuci tangan di sekolah, calon siswa ikut.").is_empty());
        assert!(ids(&c, "kampanye akbar itu ramai sekali dan panjang, lalu datang calon").is_empty());
        assert_eq!(ids(&c, "Kurir dan bandar diamankan polisi"), ["narkoba"]);
        assert!(ids(&c, "Kurir diamankan polisi").is_empty());
        assert!(ids(&c, "Kurir dan bandar diamankan dalam sinetron").is_empty());
        let mut r = report("isi berita tentang khilafah");
        assert!(c.classify(&r, datetime!(2026-11-29 10:00 UTC)).indicators.is_empty());
        r.title = Some("Khilafah".into());
        assert_eq!(c.classify(&r, datetime!(2026-11-29 10:00 UTC)).indicators[0].id.as_ref(), "ideologi");
    }

    #[test]
    fn a_rule_is_tried_on_its_triggers_and_shows_every_term_found() {
        let c = classifier(
            r#"
            [[rule]]
            id = "bentrok"
            indicator = "konflik_sosial"
            match = '(massa OR warga OR pemuda) AND (bentrok OR tawuran) AND NOT latihan'
            [[rule]]
            id = "nested"
            indicator = "demokrasi"
            match = '(kampanye AND (calon OR caleg)) OR "politik uang"'
            [[rule]]
            id = "bare_not"
            indicator = "ideologi"
            match = '(khilafah AND baiat) OR NOT pancasila'
            [[rule]]
            id = "near"
            indicator = "narkoba"
            match = '(kurir OR bandar OR pengedar) NEAR/3 sabu'
        "#,
        );
        let triggers_of = |i: usize| -> Option<Vec<String>> {
            let Kind::Match(e) = &c.rules.rules[i].kind else { unreachable!() };
            let mut t: Vec<String> = triggers(e)?.into_iter().map(|t| c.rules.terms[t].text.to_string()).collect();
            t.sort();
            Some(t)
        };
        // the smaller part of an AND, a NEAR's smaller side, an OR's parts together
        assert_eq!(triggers_of(0).unwrap(), ["bentrok", "tawuran"]);
        assert_eq!(triggers_of(1).unwrap(), ["kampanye", "politik uang"]);
        assert_eq!(triggers_of(2), None, "an OR with a bare NOT can hold without any term");
        assert_eq!(triggers_of(3).unwrap(), ["sabu"]);
        // a rule tried on its trigger shows the other terms found too
        let r = c.classify(&report("Warga dan pemuda bentrok di pasar"), datetime!(2026-11-29 10:00 UTC));
        let terms: Vec<&str> = r.indicators[0].matches.iter().map(|m| m.term.as_ref()).collect();
        assert_eq!((r.indicators.len(), terms), (1, vec!["warga", "pemuda", "bentrok"]));
        assert!(ids(&c, "Warga dan pemuda berkumpul di pasar").is_empty());
        assert!(ids(&c, "Latihan: warga bentrok dalam simulasi").is_empty());
        assert_eq!(ids(&c, "Caleg itu kampanye di desa"), ["demokrasi"]);
        assert_eq!(ids(&c, "Dugaan politik uang di desa"), ["demokrasi"]);
        assert_eq!(ids(&c, "Khilafah dan baiat dibahas, Pancasila ditolak"), ["ideologi"]);
        // tried on a term of the AND alone, and holding by its NOT
        assert_eq!(ids(&c, "Baiat dibahas"), ["ideologi"]);
        assert!(ids(&c, "Khilafah dibahas, Pancasila dijunjung").is_empty());
        assert_eq!(ids(&c, "Pengedar membawa sabu"), ["narkoba"]);
        assert!(ids(&c, "Pengedar ditangkap di pelabuhan tanpa barang, sabu disita di tempat lain").is_empty());
    }

    /// Random expressions of every shape the language allows (AND, OR, NOT
    /// at any depth, NEAR of groups), each classified with the rules tried
    /// on their triggers and with every rule tried on every term of it that
    /// is found, as before triggers: the verdicts must be the same.
    #[test]
    fn triggers_give_the_verdicts_of_trying_every_rule_on_every_term() {
        const WORDS: [&str; 7] = ["alfa", "beta", "gama", "delta", "eko", "foxi", "golf"];
        fn expr(rng: &mut fastrand::Rng, depth: u32) -> String {
            let word = |rng: &mut fastrand::Rng| WORDS[rng.usize(..WORDS.len())].to_owned();
            let group = |rng: &mut fastrand::Rng| match rng.usize(..3) {
                0 => word(rng),
                _ => format!("({} OR {})", word(rng), word(rng)),
            };
            match if depth == 0 { 0 } else { rng.usize(..6) } {
                0 => word(rng),
                1 => format!("({} AND {})", expr(rng, depth - 1), expr(rng, depth - 1)),
                2 => format!("({} OR {})", expr(rng, depth - 1), expr(rng, depth - 1)),
                3 => format!("({} AND NOT {})", expr(rng, depth - 1), expr(rng, depth - 1)),
                4 => format!("({} OR NOT {})", expr(rng, depth - 1), expr(rng, depth - 1)),
                _ => format!("{} NEAR/{} {}", group(rng), rng.usize(0..3), group(rng)),
            }
        }
        let mut rng = fastrand::Rng::with_seed(17);
        let mut tried = 0;
        while tried < 100 {
            let src: String = (0..5)
                .map(|i| {
                    let indicator = ["narkoba", "demokrasi", "ideologi"][i % 3];
                    format!("[[rule]]\nid = \"r{i}\"\nindicator = \"{indicator}\"\nmatch = '{}'\n", expr(&mut rng, 3))
                })
                .collect();
            let Ok(rules) = RuleSet::parse(&[("t.toml", &src)]) else { continue };
            tried += 1;
            let fast = Classifier::new(rules.clone());
            let mut every = Classifier::new(rules);
            // as before triggers: a rule on every term of it that is found
            every.term_rules = vec![Vec::new(); every.rules.terms.len()];
            for (r, rule) in every.rules.rules.iter().enumerate() {
                let Kind::Match(e) = &rule.kind else { unreachable!() };
                let mut terms = Vec::new();
                e.positive_terms(&mut terms);
                terms.sort_unstable();
                terms.dedup();
                terms.into_iter().for_each(|t| every.term_rules[t].push(r as u32));
            }
            for _ in 0..40 {
                // the words, and now and then a filler word or a full stop
                let text: Vec<&str> = (0..rng.usize(1..9))
                    .map(|_| match rng.usize(..10) {
                        0 => "dan",
                        1 => ".",
                        _ => WORDS[rng.usize(..WORDS.len())],
                    })
                    .collect();
                let r = report(&text.join(" "));
                let at = datetime!(2026-11-29 10:00 UTC);
                assert_eq!(fast.classify(&r, at), every.classify(&r, at), "rules:\n{src}\ntext: {}", r.text);
            }
        }
    }

    #[test]
    fn language_lists() {
        let c = classifier(
            r#"
            [[rule]]
            id = "n"
            indicator = "narkoba"
            any = { en = ["meth"], id = ["sabu"] }
        "#,
        );
        assert_eq!(ids(&c, "Customs officers found crystal meth hidden in a shipment of dried fish."), ["narkoba"]);
        assert!(ids(&c, "Warga melihat meth di gang dan melaporkan kepada polisi setempat").is_empty());
        let out = c.classify(
            &report("Customs officers found crystal meth hidden in a shipment."),
            datetime!(2026-11-29 10:00 UTC),
        );
        assert_eq!(out.language.as_deref(), Some("eng"));
    }

    #[test]
    fn a_local_rule_counts_only_for_reports_within_its_regions() {
        let national = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n";
        let local =
            "regions = [\"72\"]\n[[rule]]\nid = \"l\"\nindicator = \"narkoba\"\nweight = 3\nany = [\"tramadol\"]\n";
        let c = Classifier::new(RuleSet::parse(&[("n.toml", national), ("l.toml", local)]).unwrap());
        let at = datetime!(2026-11-29 10:00 UTC);
        let score = |text: &str, region: Option<&str>| {
            let mut r = report(text);
            r.region = region.map(|c| RegionCode::parse(c).unwrap());
            c.classify(&r, at).indicator("narkoba").map(|i| i.score)
        };
        assert_eq!(score("tramadol dijual bebas", Some("72.71.02")), Some(3.0));
        assert_eq!(score("tramadol dijual bebas", Some("73.71")), None);
        assert_eq!(score("tramadol dijual bebas", None), None, "no region, no local rule");
        // geotagged from the text first
        assert_eq!(score("tramadol dijual bebas di Kota Palu", None), Some(3.0));
        assert_eq!(score("sabu dan tramadol di Makassar", None), Some(1.0));
        assert_eq!(score("sabu dan tramadol di Poso", None), Some(4.0));
    }

    #[test]
    fn geotags_names_but_not_common_words() {
        let c = classifier("[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n");
        let regions = |t: &str| -> Vec<String> {
            c.classify(&report(t), datetime!(2026-11-29 10:00 UTC)).regions.iter().map(ToString::to_string).collect()
        };
        assert_eq!(regions("Keributan di luar stadion Gelora Bumi Kaktus Kota Palu."), ["72.71"]);
        assert_eq!(regions("Satresnarkoba Polres Donggala menyita ganja."), ["72.03"]);
        assert_eq!(regions("Pj Gubernur Sulsel meminta laporan."), ["73"]);
        assert_eq!(regions("Kondisi wilayah Kecamatan Tatanga aman."), ["72.71.06"]);
        // a typed district is found through its bare name and the word before
        assert_eq!(regions("laporan polsek tatanga: aman"), ["72.71.06"]);
        assert_eq!(regions("Warga Kec. Palu Barat resah"), ["72.71.02"]);
        // two districts named Ciawi, in two regencies of Jawa Barat; bare, it is no place
        assert_eq!(regions("Razia di Kecamatan Ciawi semalam"), ["32"]);
        assert!(regions("Razia di Ciawi semalam").is_empty());
        assert_eq!(regions("Bentrok di Palu Barat semalam"), ["72.71.02"]);
        assert!(regions("Seorang warga dipukul dengan palu oleh tetangganya.").is_empty());
        assert!(regions("td mlm ada yg lempar batu ke rumah ibadah").is_empty());
        assert_eq!(regions("ada yang nyabu di poso"), ["72.02"]);
        // names are read as texts are: `Bener` is also the chat's `bener` (`benar`)
        assert_eq!(regions("Warga Kecamatan Bener, Purworejo, menghadang petugas"), ["33.06.16"]);
        // a district with no locative, held by the regency named; in English, after its name
        assert_eq!(regions("TPNPB membakar sekolah di Sugapa, Intan Jaya"), ["94.07.01"]);
        assert_eq!(regions("a bomb at a church in Surabaya's Wonokromo district"), ["35.78.04"]);
        // one written word read as two tokens is a common noun, and has no gap
        // inside to look at (9f65d80 panicked on it)
        assert!(regions("ada Batu2 di jalan").is_empty());
        let mut r = report("Pesta sabu di Kota Palu");
        r.region = Some(RegionCode::parse("73.71").unwrap());
        let out = c.classify(&r, datetime!(2026-11-29 10:00 UTC));
        assert_eq!(out.regions, [RegionCode::parse("73.71").unwrap()]);
    }
}

#[cfg(test)]
mod matcher {
    use super::*;

    /// The plain way to find every pattern: one automaton over all the
    /// literals, every overlapping match, as the engine did before the trie.
    struct Reference {
        automaton: AhoCorasick,
        patterns: Vec<Vec<Pat>>,
    }

    impl Reference {
        fn new(c: &Classifier) -> Self {
            let (literals, patterns): (Vec<String>, Vec<Vec<Pat>>) =
                literals(&c.rules, c.gazetteer, &c.normalizer).into_iter().unzip();
            let automaton = AhoCorasick::builder().match_kind(MatchKind::Standard).build(&literals).unwrap();
            Self { automaton, patterns }
        }

        fn scan(
            &self,
            c: &Classifier,
            stream: &Stream,
            text: &str,
            hits: &mut Vec<Hit>,
            places: &mut Vec<(u32, usize, usize)>,
        ) {
            for m in self.automaton.find_overlapping_iter(stream.joined.as_str()) {
                for pat in &self.patterns[m.pattern().as_usize()] {
                    match *pat {
                        Pat::Term { term, words, starts_inside } => {
                            let first = stream.token_at(if starts_inside { m.start() } else { m.start() + 1 });
                            let last = first + usize::from(words) - 1;
                            if !negated(stream, text, first, last) {
                                hits.push(Hit { term, field: TEXT, first: first as u32, last: last as u32 });
                            }
                        }
                        Pat::Region { entry, words } => {
                            let first = stream.token_at(m.start() + 1);
                            let last = first + usize::from(words) - 1;
                            places.push((entry, first, last));
                            if let Some(typed) = c.gazetteer[entry as usize].typed
                                && let Some((from, to)) = geo::typed_span(stream, text, first, last, || {
                                    c.gazetteer[entry as usize].typed_after
                                })
                            {
                                places.push((typed, from, to));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Texts made of the patterns' own words and pieces of them (whole,
    /// cut short, with letters before or after), negators, district words,
    /// filler, punctuation and chat spellings.
    fn texts(c: &Classifier, rng: &mut fastrand::Rng, count: usize) -> Vec<String> {
        let mut vocabulary: Vec<String> = Vec::new();
        for term in &c.rules.terms {
            for w in &term.words {
                vocabulary.push(w.text.clone());
                if w.marker == Marker::Affix {
                    vocabulary.extend(morph::forms(&w.text).into_iter().take(4));
                }
            }
        }
        for e in c.gazetteer.iter().step_by(7) {
            vocabulary.extend(e.words.iter().cloned());
        }
        let extra = [
            "tidak",
            "bukan",
            "ada",
            "di",
            "kecamatan",
            "kec",
            "polsek",
            "district",
            "sub",
            "nihil",
            "warga",
            "yg",
            "anak2",
            "x",
            // its first 16 bytes are a longer prefix's
            "penyalahgunaannarasi",
        ];
        vocabulary.extend(extra.iter().map(|w| (*w).to_owned()));
        (0..count)
            .map(|_| {
                let mut text = String::new();
                for _ in 0..rng.usize(1..40) {
                    let mut w = vocabulary[rng.usize(0..vocabulary.len())].clone();
                    match rng.u8(0..12) {
                        0 => w.truncate(w.floor_char_boundary(rng.usize(0..=w.len()))),
                        1 => w.insert_str(0, ["ber", "me", "x", "anti"][rng.usize(0..4)]),
                        2 => w.push_str(["an", "nya", "isme", "2", "s"][rng.usize(0..5)]),
                        3 => w = w.to_uppercase(),
                        _ => {}
                    }
                    text.push_str(&w);
                    text.push_str([" ", " ", " ", ", ", ". ", "-", "\n"][rng.usize(0..7)]);
                }
                text
            })
            .collect()
    }

    fn agree(c: &Classifier, texts: &[String]) {
        let reference = Reference::new(c);
        let mut seen = (0, 0);
        for text in texts {
            let stream = c.normalizer.stream(text);
            let (mut hits, mut places) = (Vec::new(), Vec::new());
            c.scan(&stream, text, TEXT, &mut hits, &mut places);
            let (mut want_hits, mut want_places) = (Vec::new(), Vec::new());
            reference.scan(c, &stream, text, &mut want_hits, &mut want_places);
            hits.sort_unstable();
            want_hits.sort_unstable();
            assert_eq!(hits, want_hits, "{text:?}");
            assert_eq!(places, want_places, "{text:?}");
            seen.0 += hits.len();
            seen.1 += places.len();
        }
        // the texts do hold terms and places, so agreeing means something
        assert!(seen.0 > texts.len() / 4 && seen.1 > texts.len() / 4, "{seen:?}");
    }

    #[test]
    fn the_word_trie_finds_what_one_automaton_over_all_literals_finds() {
        let mut rng = fastrand::Rng::with_seed(14);
        let c = Classifier::new(RuleSet::builtin());
        agree(&c, &texts(&c, &mut rng, 3000));
        // every kind of word: suffix, prefix, affix, both ends, several words
        let src = r#"
            [[rule]]
            id = "a"
            indicator = "narkoba"
            any = ["*isme", "*isme radikal", "narkoti*", "pil koplo*", "~bakar rumah", "~bakar", "*ganja",
                   "sabu", "sabu sabu", "kota palu", "di kota", "*bakar", "bakar*", "~provokasi massa*",
                   "penyalahgunaannarko*", "penyalahguna*", "pengedar penyalahgunaannar*"]
        "#;
        let c = Classifier::new(RuleSet::parse(&[("t.toml", src)]).unwrap());
        agree(&c, &texts(&c, &mut rng, 3000));
    }
}
