//! The root of an Indonesian word, so that `bentrok` finds `bentrokan` and
//! `membakar` finds `pembakaran`; chat reduplication is undone (`anak2` →
//! `anak`).
//!
//! The root of a word is the longest root from Sastrawi's dictionary of
//! Indonesian roots of which the word is an affixed form, as the
//! morphology ([`crate::morph`]) makes them: `perusakan` is pe- + rusak +
//! -an (not pe- + rusa + -kan), `penolakan` is peN- + tolak + -an, `pengedar`
//! is peN- + edar. A word that is no form of a known root goes to Snowball's
//! Tala stemmer (rule-based): `penyalahgunaan` → `salahguna`. A few words that
//! look affixed but are roots or names in this domain (`pemilu`, `teroris`)
//! are never stemmed.

use std::cell::RefCell;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

/// Words that look affixed but are roots (or names) here.
const PROTECTED: &[&str] = &[
    "pemilu",
    "pemilihan",
    "pilkada",
    "pilkades",
    "pilpres",
    "pileg",
    "pemda",
    "pemkab",
    "pemkot",
    "pemprov",
    "pemuda",
    "pemudi",
    "teroris",
    "terorisme",
    "teror",
    "kebaktian",
    "pesantren",
    "pengajian",
    "perda",
    "perppu",
    "pendeta",
    "penghulu",
    "kepolisian",
    "kejaksaan",
    "kelurahan",
    "kecamatan",
    "kabupaten",
    "kesbangpol",
    "bhabinkamtibmas",
    "babinsa",
    "sabu",
    "sabun",
    "narkoba",
    "narkotika",
    "ganja",
    "papua",
    "pancasila",
];

fn dictionary() -> &'static sastrawi::Dictionary {
    static DICTIONARY: OnceLock<sastrawi::Dictionary> = OnceLock::new();
    DICTIONARY.get_or_init(sastrawi::Dictionary::new)
}

/// Words stemmed per thread, so each word is stemmed once.
const CACHE_LIMIT: usize = 200_000;

thread_local! {
    static CACHE: RefCell<FxHashMap<String, String>> = RefCell::new(FxHashMap::default());
}

/// The root of one folded word.
pub fn stem(word: &str) -> String {
    let word = match word.strip_suffix('2') {
        Some(base) if base.len() >= 2 && base.bytes().all(|b| b.is_ascii_alphabetic()) => base,
        _ => word,
    };
    // the stemmers expect lower-case ASCII letters; names and numbers stay
    if word.len() < 4 || word.len() > 30 || !word.bytes().all(|b| b.is_ascii_lowercase()) || PROTECTED.contains(&word) {
        return word.to_owned();
    }
    CACHE.with(|cache| {
        if let Some(root) = cache.borrow().get(word) {
            return root.clone();
        }
        let root = stem_uncached(word);
        let mut cache = cache.borrow_mut();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(word.to_owned(), root.clone());
        root
    })
}

/// Longest prefix (`memper`) and suffix (`kannya`) the morphology adds.
const MAX_PREFIX: usize = 6;
const MAX_SUFFIX: usize = 6;

fn stem_uncached(word: &str) -> String {
    let dictionary = dictionary();
    let mut probe = word.to_owned();
    if dictionary.find(&probe) {
        return probe;
    }
    // every root the word could be made of: a middle part, with the first
    // letter a nasal prefix swallowed (menolak: t-olak) put back
    let mut best: Option<String> = None;
    for start in 0..=MAX_PREFIX.min(word.len()) {
        for end in (word.len().saturating_sub(MAX_SUFFIX)..=word.len()).rev() {
            if end < start + 3 || (start == 0 && end == word.len()) || !crate::morph::is_suffix(&word[end..]) {
                continue;
            }
            for restored in ["", "t", "k", "p", "s"] {
                if !restored.is_empty() && start == 0 {
                    continue;
                }
                probe.clear();
                probe.push_str(restored);
                probe.push_str(&word[start..end]);
                if best.as_ref().is_some_and(|b| b.len() >= probe.len()) || !dictionary.find(&probe) {
                    continue;
                }
                if crate::morph::is_form(&probe, word) {
                    best = Some(probe.clone());
                }
            }
        }
    }
    best.unwrap_or_else(|| tantivy_stemmers::algorithms::indonesian_tala(word).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(words: &[&str]) {
        let roots: Vec<String> = words.iter().map(|w| stem(w)).collect();
        assert!(roots.iter().all(|r| r == &roots[0]), "{words:?} → {roots:?}");
    }

    #[test]
    fn affixed_forms_share_their_root() {
        same(&["bentrok", "bentrokan", "membentrok"]);
        same(&["bakar", "membakar", "dibakar", "pembakaran", "terbakar"]);
        same(&["edar", "pengedar", "peredaran", "mengedarkan", "diedarkan"]);
        same(&["tangkap", "penangkapan", "ditangkap", "menangkap"]);
        same(&["coblos", "pencoblosan", "tercoblos", "mencoblos"]);
        same(&["nista", "penistaan", "menistakan"]);
        same(&["gerebek", "penggerebekan", "digerebek"]);
        same(&["serang", "penyerangan", "menyerang", "diserang"]);
        same(&["rusak", "perusakan", "dirusak", "merusak"]);
        same(&["salahguna", "penyalahgunaan"]);
        same(&["anak2", "anak"]);
    }

    #[test]
    fn roots_and_names_are_left_alone() {
        for word in ["pemilu", "sabu", "sabun", "teroris", "palu", "poso", "ganja", "bnn", "2024"] {
            assert_eq!(stem(word), word);
        }
        assert_ne!(stem("pemilu"), stem("pilu"));
        assert_ne!(stem("sabun"), stem("sabu"));
    }
}
