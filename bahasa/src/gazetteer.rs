//! Geotagging from text with the bundled Kemendagri list: provinces,
//! regencies and cities, districts, and common short names (`Sulteng`,
//! `Pangkep`, data in `model/data/regions/aliases.toml`).
//!
//! Names are searched in the same automaton as rule terms; here they are
//! weighed:
//! - typed names are taken as they are: `Kota Palu`, `Kabupaten Poso`,
//!   `Kab. Poso`, `Provinsi Sulawesi Tengah`, `Kecamatan Palu Barat`;
//! - a bare name needs evidence that it is a place: written with a capital
//!   (`Palu`, `Palu Barat`), or after `di`, `ke` or `dari`; so
//!   `dipukul dengan palu` and `lempar batu` name no city. Bare district
//!   names of one word are too often common words and are not taken;
//! - short names of up to four letters (`NTT`, `DIY`) must be capitalised;
//! - a name several regions share (`Bandung`: the city and the regency)
//!   becomes what they share (the province), or the one inside another
//!   region named in the same text.
//!
//! A district is reported as its regency: text rarely names districts
//! reliably, and alerts are raised at regency and province level anyway.

use std::collections::BTreeSet;

use model::{RegionCode, RegionLevel};

use crate::normalize::{Stream, fold};

/// How a gazetteer entry was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// With its type word (`kota palu`): taken as it is.
    Typed,
    /// A short name from the alias list.
    Alias,
    /// The bare name (`palu`): needs a capital or a locative before it.
    Bare,
    /// A district's one-word name (`Kuta`): needs a capital, not at the start
    /// of a sentence, after a locative (`di Kuta`), and must be unique.
    BareDistrict,
}

/// One name of one region, as folded words.
#[derive(Debug, Clone)]
pub struct Entry {
    pub words: Vec<String>,
    pub codes: Vec<RegionCode>,
    pub form: Form,
    /// For the bare name of districts: the entry of the same name typed
    /// (`kecamatan …`, `kec …`, `polsek …`, `distrik …`), which the engine
    /// takes when one of [`DISTRICT_WORDS`] comes just before. The typed forms
    /// are not searched for themselves: there are four for each of the
    /// 7,000 districts, and they made three quarters of the automaton.
    pub typed: Option<u32>,
    /// Whether the automaton searches for these words (typed district
    /// entries are found through their bare name).
    pub searched: bool,
}

/// The words that make the district name after them typed.
pub const DISTRICT_WORDS: [&str; 4] = ["kecamatan", "kec", "polsek", "distrik"];

fn words_of(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold).collect()
}

/// Every name the geotagger looks for, built once. Entries with the same
/// words are merged, so an ambiguous name lists all its regions.
pub fn gazetteer() -> &'static [Entry] {
    static GAZETTEER: std::sync::OnceLock<Vec<Entry>> = std::sync::OnceLock::new();
    GAZETTEER.get_or_init(build)
}

fn build() -> Vec<Entry> {
    let mut map: std::collections::HashMap<(Vec<String>, Form), BTreeSet<RegionCode>> = Default::default();
    let mut districts: std::collections::HashMap<Vec<String>, BTreeSet<RegionCode>> = Default::default();
    let mut add = |words: Vec<String>, code: &RegionCode, form: Form| {
        if words.is_empty() {
            return;
        }
        map.entry((words, form)).or_default().insert(code.clone());
    };
    for region in model::regions().iter() {
        let code = &region.code;
        let name = region.name.as_str();
        match code.level() {
            RegionLevel::Province => {
                add(words_of(&format!("provinsi {name}")), code, Form::Typed);
                add(words_of(&format!("prov {name}")), code, Form::Typed);
                add(words_of(name), code, Form::Bare);
            }
            RegionLevel::Regency => {
                let (kind, base) = [
                    ("kota", "Kota Administrasi "),
                    ("kabupaten", "Kabupaten Administrasi "),
                    ("kota", "Kota "),
                    ("kabupaten", "Kabupaten "),
                ]
                .iter()
                .find_map(|(k, p)| name.strip_prefix(p).map(|b| (*k, b)))
                .unwrap_or(("", name));
                add(words_of(name), code, Form::Typed);
                if kind == "kabupaten" {
                    add(words_of(&format!("kab {base}")), code, Form::Typed);
                    add(words_of(&format!("kabupaten {base}")), code, Form::Typed);
                    add(words_of(&format!("{base} regency")), code, Form::Typed);
                } else if kind == "kota" {
                    add(words_of(&format!("kota {base}")), code, Form::Typed);
                    add(words_of(&format!("{base} city")), code, Form::Typed);
                }
                add(words_of(base), code, Form::Bare);
            }
            RegionLevel::District => {
                let w = words_of(name);
                if w.is_empty() {
                    continue;
                }
                districts.entry(w.clone()).or_default().insert(code.clone());
                let form = if w.len() >= 2 { Form::Bare } else { Form::BareDistrict };
                add(w, code, form);
            }
            RegionLevel::Village => {}
        }
    }
    for (name, code) in model::region::aliases() {
        add(words_of(name), code, Form::Alias);
    }
    let mut entries: Vec<Entry> = map
        .into_iter()
        .map(|((words, form), codes)| Entry {
            words,
            codes: codes.into_iter().collect(),
            form,
            typed: None,
            searched: true,
        })
        .collect();
    let index: std::collections::HashMap<(Vec<String>, Form), usize> =
        entries.iter().enumerate().map(|(i, e)| ((e.words.clone(), e.form), i)).collect();
    for (words, codes) in districts {
        let form = if words.len() >= 2 { Form::Bare } else { Form::BareDistrict };
        let bare = index[&(words.clone(), form)];
        entries[bare].typed = Some(entries.len() as u32);
        entries.push(Entry {
            words: std::iter::once(DISTRICT_WORDS[0].to_owned()).chain(words).collect(),
            codes: codes.into_iter().collect(),
            form: Form::Typed,
            typed: None,
            searched: false,
        });
    }
    entries
}

const LOCATIVES: [&str; 6] = ["di", "ke", "dari", "wilayah", "kawasan", "daerah"];

/// Words that make what follows the name of a street, a building or a
/// neighbourhood (`Jalan Raya Bogor`, `Kampung Ambon`), not of the region.
const NOT_A_REGION_AFTER: [&str; 24] = [
    "jalan",
    "jl",
    "jln",
    "gang",
    "gg",
    "kampung",
    "kp",
    "pasar",
    "kompleks",
    "komplek",
    "perumahan",
    "perum",
    "hotel",
    "gedung",
    "stadion",
    "bandara",
    "pelabuhan",
    "terminal",
    "sungai",
    "gunung",
    "teluk",
    "universitas",
    "toko",
    "batu",
];

/// Region names that are also everyday words (`padang` a field, `serang`
/// attack, `tegal` a dry field): without a capital they are words, even after `di`.
const COMMON_WORDS: [&str; 9] = ["padang", "batu", "palu", "malang", "banjar", "tegal", "serang", "pati", "kota"];

/// Whether the token starting at byte `at` of `text` begins a sentence.
fn sentence_start(text: &str, at: usize) -> bool {
    match text[..at].trim_end().chars().last() {
        None => true,
        Some(c) => matches!(c, '.' | '!' | '?' | ':' | ';' | '"' | '\u{201c}' | '(' | '-' | '\u{2014}'),
    }
}

/// Whether a match of `entry` over tokens `first..=last` of `stream` (made
/// from `text`) counts.
pub fn accept(entry: &Entry, stream: &Stream, text: &str, first: usize, last: usize) -> bool {
    let token = &stream.tokens[first];
    let before = |n: usize| first.checked_sub(n).map(|i| stream.word(i));
    let after_locative = before(1).is_some_and(|p| LOCATIVES.contains(&p));
    // `Jalan Bogor`, and `Jalan Raya Bogor`
    let inside_a_name = before(1).is_some_and(|p| NOT_A_REGION_AFTER.contains(&p))
        || (before(1) == Some("raya") && before(2).is_some_and(|p| NOT_A_REGION_AFTER.contains(&p)));
    let capital = token.capitalized && !sentence_start(text, token.start);
    match entry.form {
        Form::Typed => true,
        Form::Alias => {
            !inside_a_name && (entry.words.iter().map(|w| w.chars().count()).sum::<usize>() > 4 || token.capitalized)
        }
        // one word at the start of a sentence may just be a capitalised word (`Batu akik …`)
        Form::Bare => {
            let common = last == first && COMMON_WORDS.contains(&stream.word(first));
            !inside_a_name && ((after_locative && !common) || if last > first { token.capitalized } else { capital })
        }
        // the name of several districts is not taken bare
        Form::BareDistrict => entry.codes.len() == 1 && !inside_a_name && capital && after_locative,
    }
}

/// The regions named, most specific first, each at most regency level:
/// ambiguous names are narrowed by the others, then to what their regions
/// share; a region that contains another found region is dropped.
pub fn resolve(found: &[&[RegionCode]]) -> Vec<RegionCode> {
    let certain: Vec<RegionCode> = found.iter().filter(|c| c.len() == 1).map(|c| c[0].clone()).collect();
    let mut out: Vec<RegionCode> = Vec::new();
    for candidates in found {
        let chosen = if candidates.len() == 1 {
            Some(candidates[0].clone())
        } else {
            let inside: Vec<&RegionCode> =
                candidates.iter().filter(|c| certain.iter().any(|k| c.is_within(k) || k.is_within(c))).collect();
            match inside.as_slice() {
                [one] => Some((*one).clone()),
                _ => common_ancestor(candidates),
            }
        };
        if let Some(c) = chosen {
            let c = if c.level() > RegionLevel::Regency { c.at_level(RegionLevel::Regency).unwrap_or(c) } else { c };
            out.push(c);
        }
    }
    out.sort();
    out.dedup();
    let specific: Vec<RegionCode> =
        out.iter().filter(|c| !out.iter().any(|o| o != *c && o.is_within(c))).cloned().collect();
    specific
}

fn common_ancestor(codes: &[RegionCode]) -> Option<RegionCode> {
    let first = codes.first()?;
    first.lineage().into_iter().rev().find(|a| codes.iter().all(|c| c.is_within(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn gazetteer_has_typed_bare_and_alias_names() {
        let g = gazetteer();
        let find = |w: &[&str]| g.iter().filter(|e| e.words == w).min_by_key(|e| e.form).cloned();
        assert_eq!(find(&["kota", "palu"]).unwrap().codes, [c("72.71")]);
        assert_eq!(find(&["palu", "barat"]).unwrap().codes, [c("72.71.02")]);
        assert_eq!(find(&["sulteng"]).unwrap().codes, [c("72")]);
        assert_eq!(find(&["pangkep"]).unwrap().codes, [c("73.10")]);
        assert_eq!(find(&["bandung"]).unwrap().codes.len(), 2);
        let typed = find(&["kecamatan", "tatanga"]).unwrap();
        assert!(!typed.searched);
        let bare = g.iter().find(|e| e.words == ["tatanga"]).unwrap();
        assert_eq!(g[bare.typed.unwrap() as usize].codes, typed.codes);
        // single-word district names are only typed
        assert!(g.iter().all(|e| !(e.form == Form::Bare
            && e.words.len() == 1
            && e.codes.iter().all(|x| x.level() == RegionLevel::District))));
    }

    #[test]
    fn resolution() {
        // Bandung alone: the province both share
        assert_eq!(resolve(&[&[c("32.04"), c("32.73")]]), [c("32")]);
        // a district becomes its regency; the province named too is dropped
        assert_eq!(resolve(&[&[c("72.71.02")], &[c("72")]]), [c("72.71")]);
        // an ambiguous name inside a certain one
        assert_eq!(resolve(&[&[c("32")], &[c("32.04"), c("72.71")]]), [c("32.04")]);
    }
}
