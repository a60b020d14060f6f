//! Geotagging from text with the bundled Kemendagri list: provinces,
//! regencies and cities, districts, and common short names (`Sulteng`,
//! `Pangkep`, data in `model/data/regions/aliases.toml`).
//!
//! Names are searched in the same automaton as rule terms; here they are
//! weighed:
//! - typed names are taken as they are: `Kota Palu`, `Kabupaten Poso`,
//!   `Kab. Poso`, `Provinsi Sulawesi Tengah`, `Kecamatan Palu Barat`,
//!   `Kec. Tatanga`, `kec tatanga`;
//! - a bare name needs evidence that it is a place: written with a capital
//!   (`Palu`, `Palu Barat`), or after `di`, `ke` or `dari`; so
//!   `dipukul dengan palu` and `lempar batu` name no city. A bare district
//!   name of one word is too often a common word (`Ibu`, `Bola`, `Kilo` are
//!   districts): it needs a capital and a locative (`di Tatanga`, `in
//!   Wamena`), or, without one, a region named in the same text that holds
//!   it (`Sugapa, Intan Jaya`: [`Evidence::Weak`]);
//! - names are also found as texts spell them and the list does not: joined
//!   (`Tanjungpinang`), split (`Kramat Jati`), with their closing number in
//!   another script (`Ilir Timur II`), and in English (`Tapung
//!   sub-district`, `the city of Malang`): see [`spellings`], [`typed_span`];
//! - short names of up to four letters (`NTT`, `DIY`) must be capitalised;
//! - the dateline that opens a news item (`PALU - …`, `SAMPIT, KOMPAS -`,
//!   `Palu (ANTARA) -`) names a place even when the word is a common one
//!   elsewhere: see [`dateline`];
//! - a name several regions share (`Bandung`: the city and the regency)
//!   becomes the one inside a region that is certain (named unambiguously in
//!   the same text, or the report's own region), else what they share (the
//!   province). A district name shared by several regencies is resolved the
//!   same way when it is typed (`Kecamatan Ciawi`: two in Jawa Barat, so
//!   Jawa Barat); bare, it is taken only where a certain region says which,
//!   or as the one regency that holds them all, never as the province they
//!   share, since a bare name is weak evidence to begin with. See
//!   [`resolve`].
//!
//! Districts are reported as districts (`Kecamatan Tatanga` is `72.71.06`),
//! so a chat report that names one can raise a district alert.

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
    /// of a sentence, after a locative (`di Kuta`), and must be unique; or,
    /// without the locative, a region named in the same text that holds it
    /// (`Karawaci, Tangerang`): see [`Found::weak`].
    BareDistrict,
    /// A name of one word in the data written as two (`Kramatjati` as
    /// `Kramat Jati`): every word needs a capital.
    Split,
}

/// One name of one region, as folded words.
#[derive(Debug, Clone)]
pub struct Entry {
    pub words: Vec<String>,
    pub codes: Vec<RegionCode>,
    pub form: Form,
    /// For the bare name of districts: the entry of the same name typed
    /// (`kecamatan …`, `kec …`, `polsek …`, `distrik …`), which the engine
    /// takes when one of [`DISTRICT_WORDS`] comes just before, or an English
    /// district word after ([`typed_span`]). The typed forms
    /// are not searched for themselves: there would be one for each word of
    /// [`DISTRICT_WORDS`] and each of the 7,000 districts.
    pub typed: Option<u32>,
    /// Whether the automaton searches for these words (typed district
    /// entries are found through their bare name).
    pub searched: bool,
    /// For the bare name of districts: whether an English district word
    /// after it types it (`Tapung sub-district`). Not where a regency or
    /// city bears the name, which English calls a district as often
    /// (`Jayapura district`).
    pub typed_after: bool,
}

/// The words that make the district name after them typed: a police
/// sector (`Polsek`, its post `Mapolsek`, its chief `Kapolsek`) and an army
/// district command (`Koramil`, its chief `Danramil`) are one to a district
/// and bear its name.
pub const DISTRICT_WORDS: [&str; 8] =
    ["kecamatan", "kec", "polsek", "mapolsek", "kapolsek", "koramil", "danramil", "distrik"];

/// Of [`DISTRICT_WORDS`], the names of the district itself; after the others
/// (a post or its chief) a common word is not a district (`Polsek Kota Palu`
/// is Kota Palu's, not the district Kota).
const DISTRICT_NAMES: [&str; 3] = ["kecamatan", "kec", "distrik"];

/// Of [`DISTRICT_WORDS`], a chief's title, after which a word is as often a
/// verb or a person's name (`Kapolsek Bambang`, `kapolsek kudu`): the
/// district's name must be capitalised and follow it with only spaces
/// between.
const CHIEFS: [&str; 2] = ["kapolsek", "danramil"];

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
    // ordered maps: the entries come in a fixed order, so that no tie
    // between names depends on a hash
    let mut map: std::collections::BTreeMap<(Vec<String>, Form), BTreeSet<RegionCode>> = Default::default();
    // every district of a name, and the forms it is searched in
    let mut districts: std::collections::BTreeMap<Vec<String>, (BTreeSet<RegionCode>, BTreeSet<Form>)> =
        Default::default();
    let mut add = |words: Vec<String>, code: &RegionCode, form: Form| {
        if words.is_empty() {
            return;
        }
        map.entry((words, form)).or_default().insert(code.clone());
    };
    let pieces = pieces();
    // the names of regencies and cities as bare words, and the spellings
    // `X Kota` of cities, added where no district bears the name (`Medan Kota`)
    let mut regency_names: std::collections::HashSet<Vec<String>> = Default::default();
    let mut city_kota: Vec<(Vec<String>, RegionCode)> = Vec::new();
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
                for (words, form) in spellings(base, &pieces) {
                    let base = words.join(" ");
                    if kind == "kabupaten" {
                        add(words_of(&format!("kab {base}")), code, Form::Typed);
                        add(words_of(&format!("kabupaten {base}")), code, Form::Typed);
                        add(words_of(&format!("{base} regency")), code, Form::Typed);
                        add(words_of(&format!("regency of {base}")), code, Form::Typed);
                    } else if kind == "kota" {
                        add(words_of(&format!("kota {base}")), code, Form::Typed);
                        add(words_of(&format!("{base} city")), code, Form::Typed);
                        add(words_of(&format!("city of {base}")), code, Form::Typed);
                        // as police and offices of a city write it: `Polres Mojokerto Kota`
                        city_kota.push((words_of(&format!("{base} kota")), code.clone()));
                    }
                    regency_names.insert(words.clone());
                    add(words, code, if form == Form::BareDistrict { Form::Bare } else { form });
                }
                // as English wire reports write it: `Central Maluku`, `South Sorong`
                if let Some(english) = in_english(base) {
                    add(words_of(&english), code, Form::Bare);
                }
            }
            RegionLevel::District => {
                for (w, form) in spellings(name, &pieces).into_iter().filter(|(w, _)| !w.is_empty()) {
                    let (codes, forms) = districts.entry(w.clone()).or_default();
                    codes.insert(code.clone());
                    forms.insert(form);
                    add(w, code, form);
                }
            }
            RegionLevel::Village => {}
        }
    }
    for (words, code) in city_kota {
        if !districts.contains_key(&words) {
            add(words, &code, Form::Typed);
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
            typed_after: false,
        })
        .collect();
    let index: std::collections::HashMap<(Vec<String>, Form), usize> =
        entries.iter().enumerate().map(|(i, e)| ((e.words.clone(), e.form), i)).collect();
    for (words, (codes, forms)) in districts {
        let typed_after = !regency_names.contains(&words);
        let typed = entries.len() as u32;
        for form in forms {
            let bare = &mut entries[index[&(words.clone(), form)]];
            bare.typed = Some(typed);
            bare.typed_after = typed_after;
        }
        entries.push(Entry {
            words: std::iter::once(DISTRICT_WORDS[0].to_owned()).chain(words).collect(),
            codes: codes.into_iter().collect(),
            form: Form::Typed,
            typed: None,
            searched: false,
            typed_after: false,
        });
    }
    entries
}

/// The words of region names written as several words, at every level
/// (villages too), of three letters or more: what a name of one word may be
/// written as when split ([`spellings`]).
fn pieces() -> rustc_hash::FxHashSet<String> {
    // the names are ASCII but for a few, which a split needs not serve
    model::regions()
        .iter()
        .filter(|r| r.name.contains(' '))
        .flat_map(|r| r.name.split(' '))
        .filter(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase)
        .collect()
}

/// The ways a name of a regency or a district (as `words`) is written, and
/// the form each is searched in: as the data has it, with its closing number
/// in words, Roman or Arabic numerals (`Ilir Timur II`), a name of two words
/// also joined (`Tanjung Pinang` as `Tanjungpinang`, a name of one word),
/// and a name of one word also split in two where both halves are words of
/// other names, of four letters and three at least (`Kramatjati` as `Kramat
/// Jati`).
fn spellings(name: &str, pieces: &rustc_hash::FxHashSet<String>) -> Vec<(Vec<String>, Form)> {
    let words = words_of(name);
    let one_word = |w: &[String]| if w.len() >= 2 { Form::Bare } else { Form::BareDistrict };
    let mut out = Vec::with_capacity(3);
    // `Ilir Timur Dua` is written `Ilir Timur II` and `Ilir Timur 2`, and
    // `Banyuasin I` `Banyuasin Satu` (the numeral as written: folding squeezes `III` to `i`)
    let written = name.rsplit(|c: char| !c.is_alphanumeric()).next().unwrap_or_default().to_lowercase();
    if let [rest @ .., last] = words.as_slice()
        && !rest.is_empty()
        && let Some(number) = NUMBERS.iter().find(|n| n.contains(&written.as_str()))
    {
        out.extend(
            number
                .iter()
                // `iii` is squeezed to `i`, the same as `I`: not written for `Tiga`
                .filter(|n| **n != written && **n != last && **n != "iii")
                .map(|n| (rest.iter().cloned().chain([(*n).to_owned()]).collect(), Form::Bare)),
        );
    }
    match words.as_slice() {
        [a, b] => out.push((vec![format!("{a}{b}")], Form::BareDistrict)),
        [one] => out.extend(
            one.char_indices()
                .map(|(i, _)| one.split_at(i))
                .filter(|(a, b)| a.len() >= 4 && b.len() >= 3 && pieces.contains(*a) && pieces.contains(*b))
                .map(|(a, b)| (vec![a.to_owned(), b.to_owned()], Form::Split)),
        ),
        _ => {}
    }
    let form = one_word(&words);
    out.insert(0, (words, form));
    out
}

/// The numbers that end some names of districts, as words, in Roman and in
/// Arabic numerals.
const NUMBERS: [[&str; 3]; 4] = [["satu", "i", "1"], ["dua", "ii", "2"], ["tiga", "iii", "3"], ["empat", "iv", "4"]];

/// The English name of a regency named after a direction (`Maluku Tengah`
/// is `Central Maluku`), if it is one.
fn in_english(base: &str) -> Option<String> {
    const DIRECTIONS: [(&str, &str); 8] = [
        (" Barat Daya", "Southwest"),
        (" Barat Laut", "Northwest"),
        (" Tenggara", "Southeast"),
        (" Tengah", "Central"),
        (" Utara", "North"),
        (" Selatan", "South"),
        (" Barat", "West"),
        (" Timur", "East"),
    ];
    DIRECTIONS.iter().find_map(|(suffix, english)| base.strip_suffix(suffix).map(|rest| format!("{english} {rest}")))
}

/// Words after which a capitalised name is a place: Indonesian (`perairan
/// Sebatik` too), Javanese (`neng Dolopo`) and English (`in Wamena`).
const LOCATIVES: [&str; 12] =
    ["di", "ke", "dari", "wilayah", "kawasan", "daerah", "perairan", "neng", "ning", "nang", "in", "near"];

/// Words that make what follows the name of a street, a building or a
/// neighbourhood (`Jalan Raya Bogor`, `Kampung Ambon`), not of the region.
const NOT_A_REGION_AFTER: [&str; 31] = [
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
    // `Selat Malaka` is a strait, not Kabupaten Malaka
    "selat",
    // a slogan or a name of something else: `referendum Papua`, `Republik
    // Maluku Selatan`, `deklarasi kemerdekaan Papua`
    "referendum",
    "republik",
    "kemerdekaan",
    // `Kongres Rakyat Papua`, `bangsa Papua`: a movement's words for a people
    "rakyat",
    "bangsa",
    // where someone comes from, not where it happens: `mahasiswa asal Papua`
    "asal",
];

/// Words that make the name after them a village's. A district's name
/// split in two is taken only where no village word comes before it: many
/// villages elsewhere bear such names (`Desa Tanjung Anom`).
const VILLAGE_WORDS: [&str; 8] = ["desa", "kelurahan", "kel", "dusun", "dukuh", "gampong", "nagari", "jorong"];

/// Words that make the name before them part of another name or a slogan:
/// `Papua Nugini` and `Papua New Guinea` are a country, `Papua merdeka` a
/// separatist slogan, and the `West Papua National Liberation Army` or
/// `West Papua separatists` a group, rather than a report about the province.
const NOT_A_REGION_BEFORE: [&str; 7] =
    ["nugini", "new", "merdeka", "national", "separatist", "separatists", "independence"];

/// Region names that are also everyday words (`padang` a field, `serang`
/// attack, `tegal` a dry field, `lombok` a chilli, `candi` a temple, `batang`
/// a stick, `buru` to hunt, `landak` a porcupine): without
/// a capital they are words, even after `di`, and a district of such a name
/// is taken only typed (`Candi Borobudur` is no district).
const COMMON_WORDS: [&str; 17] = [
    "padang", "batu", "palu", "malang", "banjar", "tegal", "serang", "pati", "kota", "puncak", "lombok", "candi",
    "batang", "buru", "landak", "ketapang", "kuningan",
];

/// Offices that say which of a city and a regency of one name is meant:
/// `Bupati Bima` heads Kabupaten Bima, `Wali Kota Bima` Kota Bima.
const REGENCY_OFFICES: [&str; 4] = ["bupati", "wabup", "pemkab", "kabupaten"];
const CITY_OFFICES: [&str; 5] = ["walikota", "wali", "wawali", "pemkot", "kota"];

/// Whether the token starting at byte `at` of `text` begins a sentence.
fn sentence_start(text: &str, at: usize) -> bool {
    match text[..at].trim_end().chars().last() {
        None => true,
        Some(c) => matches!(c, '.' | '!' | '?' | ':' | ';' | '"' | '\u{201c}' | '(' | '-' | '\u{2014}'),
    }
}

/// How a match names a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// It does not.
    None,
    /// Only if a region named in the same text holds it: a capitalised
    /// district name with no locative (`Sugapa, Intan Jaya`).
    Weak,
    /// It does.
    Strong,
}

/// How a match of `entry` over tokens `first..=last` of `stream` (made from
/// `text`) names a place.
pub fn accept(entry: &Entry, stream: &Stream, text: &str, first: usize, last: usize) -> Evidence {
    let token = &stream.tokens[first];
    let before = |n: usize| first.checked_sub(n).map(|i| stream.word(i));
    // the word just before, when nothing but spaces (after its dot: `Jl.`,
    // `Kel.`) parts them (`Stadion Harapan Bangsa, Banda Aceh`: `bangsa` is
    // not before `Banda Aceh`);
    // not one written word read as two (`Batu2`, a slang word made two)
    let joined_to = |words: &[&str]| {
        first > 0
            && words.contains(&stream.word(first - 1))
            && text
                .get(stream.tokens[first - 1].end..token.start)
                .is_some_and(|gap| gap.trim_start_matches('.').chars().all(char::is_whitespace))
    };
    // each test is made only when the form needs it, the cheapest first
    let after_locative = || before(1).is_some_and(|p| LOCATIVES.contains(&p));
    // `Jalan Bogor`, and `Jalan Raya Bogor`
    let inside_a_name = || {
        joined_to(&NOT_A_REGION_AFTER)
            || (before(1) == Some("raya") && before(2).is_some_and(|p| NOT_A_REGION_AFTER.contains(&p)))
            || (last + 1 < stream.tokens.len() && NOT_A_REGION_BEFORE.contains(&stream.word(last + 1)))
    };
    let capital = || token.capitalized && !sentence_start(text, token.start);
    let common = || last == first && COMMON_WORDS.contains(&stream.word(first));
    let strong = |yes: bool| if yes { Evidence::Strong } else { Evidence::None };
    // one written word read as two (`Batu2` is stones): a common noun, no name
    let doubled = || {
        (first > 0 && stream.tokens[first - 1].start == token.start)
            || (last + 1 < stream.tokens.len() && stream.tokens[last + 1].start == stream.tokens[last].start)
    };
    if entry.form != Form::Typed && doubled() {
        return Evidence::None;
    }
    match entry.form {
        Form::Typed => Evidence::Strong,
        // an alias that is also a word needs a capital not opening a sentence (`Lombok`)
        Form::Alias => strong(
            (if common() {
                capital()
            } else {
                token.capitalized || entry.words.iter().map(|w| w.chars().count()).sum::<usize>() > 4
            }) && !inside_a_name(),
        ),
        // one word at the start of a sentence may just be a capitalised word (`Batu akik …`)
        Form::Bare => strong(
            ((after_locative() && !common()) || if last > first { token.capitalized } else { capital() })
                && !inside_a_name(),
        ),
        Form::BareDistrict if capital() && !common() && !inside_a_name() => {
            if after_locative() {
                Evidence::Strong
            } else {
                Evidence::Weak
            }
        }
        Form::BareDistrict => Evidence::None,
        Form::Split => strong(
            stream.tokens[first..=last].iter().all(|t| t.capitalized) && !inside_a_name() && !joined_to(&VILLAGE_WORDS),
        ),
    }
}

/// The tokens the typed name of a district spans, when a district word
/// comes with its bare name at `first..=last`: before it (`Kecamatan
/// Tatanga`, `Kec. Tatanga`, `Distrik Kurulu`) or, in English, after it
/// (`Tatanga district`, `Tapung sub-district`).
/// The English form is taken only where `english()` says (the entry's
/// [`Entry::typed_after`], asked last: the words are at hand, the entry is
/// not).
pub fn typed_span(
    stream: &Stream,
    text: &str,
    first: usize,
    last: usize,
    english: impl FnOnce() -> bool,
) -> Option<(usize, usize)> {
    if first > 0 && DISTRICT_WORDS.contains(&stream.word(first - 1)) {
        let word = stream.word(first - 1);
        let token = &stream.tokens[first];
        let common = !DISTRICT_NAMES.contains(&word) && last == first && COMMON_WORDS.contains(&stream.word(first));
        let loose = CHIEFS.contains(&word)
            && !(token.capitalized
                && text
                    .get(stream.tokens[first - 1].end..token.start)
                    .is_some_and(|gap| gap.chars().all(|c| c == ' ')));
        if !common && !loose {
            return Some((first - 1, last));
        }
    }
    let after = |n: usize| (last + n < stream.tokens.len()).then(|| stream.word(last + n));
    let span = match after(1)? {
        "district" | "subdistrict" => (first, last + 1),
        "sub" if after(2) == Some("district") => (first, last + 2),
        _ => return None,
    };
    english().then_some(span)
}

/// The end (a byte offset into `text`) of the place name in the dateline that
/// opens `text`, if it opens with one: `PALU - …`, `PALU, KOMPAS.com - …`,
/// `SAMPIT, KOMPAS — …`, `Palu (ANTARA) - …`, `JAKARTA, Kompas.com — …`.
///
/// A dateline is one to four words before a dash within the first 64 bytes,
/// each capitalised, optionally followed by the news agency after a comma or
/// in brackets (up to four words). Without an agency the place must be in
/// capitals (`PALU -`), so that a chat's `Palu - Donggala macet` is no
/// dateline.
pub fn dateline(text: &str) -> Option<usize> {
    let head = text.trim_start();
    let offset = text.len() - head.len();
    // most texts have no dash in their first 64 bytes: `-`, or the first byte of `–` and `—`
    if !head.as_bytes()[..head.len().min(64)].iter().any(|&b| b == b'-' || b == 0xe2) {
        return None;
    }
    let mut dash = None;
    let mut prev = ' ';
    for (i, c) in head.char_indices().take_while(|(i, _)| *i < 64) {
        let spaced = prev.is_whitespace() || prev == ')';
        if c == '\u{2014}' || c == '\u{2013}' || (c == '-' && spaced) {
            dash = Some(i);
            break;
        }
        prev = c;
    }
    let prefix = head[..dash?].trim_end();
    let (place, agency) = match prefix.find([',', '(']) {
        Some(i) => (prefix[..i].trim_end(), Some(prefix[i..].trim_matches(|c: char| c == ',' || c.is_whitespace()))),
        None => (prefix, None),
    };
    let words = place.split_whitespace().count();
    let capitalised = place.split_whitespace().all(|w| w.chars().next().is_some_and(char::is_uppercase));
    let in_capitals = place.chars().all(|c| !c.is_lowercase()) && place.chars().any(char::is_alphabetic);
    let agency_ok = match agency {
        None => in_capitals,
        Some(a) => !a.is_empty() && a.split_whitespace().count() <= 4,
    };
    ((1..=4).contains(&words) && capitalised && agency_ok).then_some(offset + place.len())
}

/// One place name found in a text.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    pub codes: &'a [RegionCode],
    pub form: Form,
    /// Taken only inside a region named in the same text ([`Evidence::Weak`]).
    pub weak: bool,
    /// The place of a news dateline ([`dateline`]).
    pub dateline: bool,
}

/// The names found in one field (`stream`, made from `text`) that count,
/// from the matches of gazetteer entries (`places`: entry, first and last
/// token), into `out`. The longest name wins where names overlap (`Sumba
/// Barat Daya` holds `Sumba Barat`), and a typed name over a bare one. With
/// `dateline`, the end of a dateline's place name ([`dateline`]), the name
/// that spans it counts whatever its form.
pub fn found_in<'g>(
    gazetteer: &'g [Entry],
    stream: &Stream,
    text: &str,
    places: &[(u32, usize, usize)],
    dateline: Option<usize>,
    out: &mut Vec<Found<'g>>,
) {
    let at_dateline = |first: usize, last: usize| first == 0 && dateline == Some(stream.tokens[last].end);
    let mut accepted: Vec<(usize, usize, &Entry, Evidence)> = Vec::with_capacity(places.len());
    accepted.extend(places.iter().map(|(entry, first, last)| (*first, *last, &gazetteer[*entry as usize])).filter_map(
        |(first, last, e)| {
            let evidence =
                if at_dateline(first, last) { Evidence::Strong } else { accept(e, stream, text, first, last) };
            (evidence != Evidence::None).then_some((first, last, e, evidence))
        },
    ));
    accepted.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.2.form.cmp(&b.2.form)));
    let mut kept: Vec<(usize, usize, Found)> = Vec::with_capacity(accepted.len());
    for (first, last, e, evidence) in accepted {
        if kept.iter().any(|(f, l, _)| *f <= first && last <= *l) {
            continue;
        }
        let before = first.checked_sub(1).map(|i| stream.word(i));
        let (codes, weak, dateline) = (office(e, before), evidence == Evidence::Weak, at_dateline(first, last));
        kept.push((first, last, Found { codes, form: e.form, weak, dateline }));
    }
    // an address runs from the smaller place to the larger: in `Manggarai,
    // Kecamatan Tebet` or `Desa Tanjung Sari, Kec. Natar`, a bare name
    // before a typed district that does not hold it is a village or a
    // neighbourhood of the same name (before a typed regency it may be
    // another item of a list: `Sukabumi, Kabupaten Poso`)
    let smaller_place = |(_, last, f): &(usize, usize, Found)| {
        f.form != Form::Typed
            && kept.iter().any(|(next, _, typed)| {
                *next == last + 1
                    && typed.form == Form::Typed
                    && typed.codes.iter().all(|b| b.level() == RegionLevel::District)
                    && text
                        .get(stream.tokens[*last].end..stream.tokens[*next].start)
                        .is_some_and(|gap| gap.trim() == ",")
                    && !f.codes.iter().any(|a| typed.codes.iter().any(|b| a.is_within(b) || b.is_within(a)))
            })
    };
    out.extend(kept.iter().filter(|k| !smaller_place(k)).map(|(_, _, f)| *f));
}

/// The regions of `entry` that the word before it leaves: the regency after
/// `Bupati`, the city after `Wali Kota` (where the name is both), else all.
fn office<'g>(entry: &'g Entry, before: Option<&str>) -> &'g [RegionCode] {
    let kind = match before {
        Some(w) if REGENCY_OFFICES.contains(&w) => "Kabupaten ",
        Some(w) if CITY_OFFICES.contains(&w) => "Kota ",
        _ => return &entry.codes,
    };
    let mut of_kind = entry.codes.iter().enumerate().filter(|(_, c)| c.name().starts_with(kind));
    match (of_kind.next(), of_kind.next()) {
        (Some((i, _)), None) if entry.codes.len() > 1 => &entry.codes[i..=i],
        _ => &entry.codes,
    }
}

/// Provinces made in 2022 out of an older one, which people still name the
/// new ones by: `Papua` holds Papua Selatan, Papua Tengah and Papua
/// Pegunungan as they write it (`Wamena, Papua`), and `Papua Barat` holds
/// Papua Barat Daya.
const SPLIT_FROM: [(&str, &[&str]); 2] = [("91", &["93", "94", "95"]), ("92", &["96"])];

/// The regions named, most specific first (a region that contains another
/// found region is dropped). `context` is the report's own region: names
/// outside it are dropped, and when none is left the result is the context.
///
/// A name of districts that is weak or shared by several (`Tatanga`,
/// `Ciawi`) becomes the one inside a region named with certainty (the
/// context, or a name with one region), or else inside a regency or city
/// of a name they share (`Karawaci, Tangerang`: Kota Tangerang's); a weak
/// one is dropped otherwise, and a bare one is taken without such a region
/// only as the regency that holds all its districts, if one does. Then any other ambiguous name becomes its region inside a
/// certain one or a district just taken (a district counts as its regency,
/// so `Palu Barat` makes `Tatanga` the one of Kota Palu), else the one
/// regency or city among districts ([`one_regency`]), else what its
/// regions share (`Bandung` alone is Jawa Barat).
pub fn resolve(found: &[Found], context: Option<&RegionCode>) -> Vec<RegionCode> {
    let settled = |f: &Found| !f.weak && f.codes.len() == 1;
    let mut out: Vec<RegionCode> = Vec::with_capacity(found.len());
    // most texts name only places of one region each
    if found.iter().all(settled) {
        out.extend(found.iter().map(|f| f.codes[0].clone()));
    } else {
        resolve_into(found, context, &mut out);
    }
    if let Some(context) = context {
        out.retain(|c| c.is_within(context));
        if out.is_empty() {
            out.push(context.clone());
        }
    }
    out.sort();
    out.dedup();
    // a province people still name the ones made out of it by
    let named_within = |old: &str, new: &[&str], out: &[RegionCode]| {
        out.iter().any(|c| new.iter().any(|n| code_within(c.as_str(), n))) && out.iter().any(|c| c.as_str() == old)
    };
    for (old, new) in SPLIT_FROM {
        if named_within(old, new, &out) {
            out.retain(|c| c.as_str() != old);
        }
    }
    // sorted, a region's own regions follow it: it is dropped when the next one is within it
    let contains_next: Vec<bool> = out.windows(2).map(|w| w[1].is_within(&w[0])).chain([false]).collect();
    let mut next = contains_next.iter();
    out.retain(|_| !next.next().copied().unwrap_or(false));
    out
}

/// [`resolve`]'s work on names that are not yet settled, into `out`.
fn resolve_into(found: &[Found], context: Option<&RegionCode>, out: &mut Vec<RegionCode>) {
    let districts_only = |f: &Found| f.codes.iter().all(|c| c.level() == RegionLevel::District);
    let open_district = |f: &Found| districts_only(f) && (f.weak || f.codes.len() > 1);
    // the certain regions at regency level (a province as it is), as the
    // first characters of their codes: `72.71.06` is within `72.71`
    let mut certain: Vec<&str> = found
        .iter()
        .filter(|f| !f.weak && f.codes.len() == 1)
        .map(|f| area(&f.codes[0]))
        .chain(context.map(area))
        .collect();
    // `Wamena, Papua`: the provinces made out of one are in it, as people write it
    for (old, new) in SPLIT_FROM {
        if certain.contains(&old) {
            certain.extend_from_slice(new);
        }
    }
    // the regencies and cities of names that are several (`Tangerang`)
    let shared: Vec<&str> = found
        .iter()
        .filter(|f| !f.weak && f.codes.len() > 1 && !districts_only(f))
        .flat_map(|f| f.codes.iter().filter(|c| c.level() == RegionLevel::Regency).map(area))
        .collect();
    // districts first, as they make the rest certain
    let mut districts: Vec<RegionCode> = Vec::new();
    for f in found.iter().filter(|f| open_district(f)) {
        let inside = |list: &[&str]| -> Vec<&RegionCode> {
            f.codes.iter().filter(|c| list.iter().any(|a| code_within(c.as_str(), a))).collect()
        };
        let chosen = match (inside(&certain).as_slice(), inside(&shared).as_slice()) {
            ([one], _) | ([], [one]) => Some((*one).clone()),
            _ if f.weak => None,
            // bare, only where its districts are of one regency (`Banyuasin
            // III` reads as `Banyuasin I`: three letters in a row are squeezed)
            _ if matches!(f.form, Form::Bare | Form::BareDistrict | Form::Split) => {
                common_ancestor(f.codes).filter(|c| c.level() >= RegionLevel::Regency)
            }
            _ => common_ancestor(f.codes),
        };
        districts.extend(chosen);
    }
    let areas: Vec<&str> = certain
        .iter()
        .copied()
        .chain(districts.iter().filter(|c| c.level() == RegionLevel::District).map(area))
        .collect();
    for f in found.iter().filter(|f| !open_district(f)) {
        let chosen = if let [one] = f.codes {
            Some(one.clone())
        } else {
            let inside: Vec<&RegionCode> = f
                .codes
                .iter()
                .filter(|c| areas.iter().any(|a| code_within(c.as_str(), a) || code_within(a, c.as_str())))
                .collect();
            match inside.as_slice() {
                [one] => Some((*one).clone()),
                // a dateline names where the newsroom files from, a city:
                // `BANDUNG -` is Kota Bandung, `JAMBI -` Kota Jambi, when the
                // report names no other place (`JAYAPURA - … di Distrik
                // Ilaga, Kab. Puncak` is about Puncak, not the city)
                _ if f.dateline && found.iter().all(|g| g.codes == f.codes) => {
                    the_city(f.codes).or_else(|| one_regency(f.codes)).or_else(|| common_ancestor(f.codes))
                }
                _ => one_regency(f.codes).or_else(|| common_ancestor(f.codes)),
            }
        };
        out.extend(chosen);
    }
    out.append(&mut districts);
}

/// The first characters of a code, up to a regency's (`72.71.06` is within
/// `72.71`; a province stays as it is).
fn area(code: &RegionCode) -> &str {
    &code.as_str()[..code.as_str().len().min(REGENCY_CODE_LEN)]
}

/// The length of a regency's code (`72.71`).
const REGENCY_CODE_LEN: usize = 5;

/// [`RegionCode::is_within`] on codes as text.
fn code_within(code: &str, scope: &str) -> bool {
    code == scope || (code.len() > scope.len() && code.starts_with(scope) && code.as_bytes()[scope.len()] == b'.')
}

/// The regency or city of a name it shares only with districts elsewhere
/// (`Tebing Tinggi`, a city and four districts): named bare, it is the
/// city.
fn one_regency(codes: &[RegionCode]) -> Option<RegionCode> {
    let mut regencies = codes.iter().filter(|c| c.level() != RegionLevel::District);
    match (regencies.next(), regencies.next()) {
        (Some(one), None) if one.level() == RegionLevel::Regency => Some(one.clone()),
        _ => None,
    }
}

/// The one city (`Kota …`) among `codes`, if there is one.
fn the_city(codes: &[RegionCode]) -> Option<RegionCode> {
    let mut cities = codes.iter().filter(|c| c.level() == RegionLevel::Regency && c.name().starts_with("Kota "));
    match (cities.next(), cities.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    }
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
        let f = |codes: &'static [RegionCode], form| Found { codes, form, weak: false, dateline: false };
        let leak = |v: Vec<RegionCode>| -> &'static [RegionCode] { Vec::leak(v) };
        let bandung = leak(vec![c("32.04"), c("32.73")]);
        // Bandung alone: the province both share
        assert_eq!(resolve(&[f(bandung, Form::Bare)], None), [c("32")]);
        // a district stays a district; the province named too is dropped
        assert_eq!(
            resolve(&[f(leak(vec![c("72.71.02")]), Form::Bare), f(leak(vec![c("72")]), Form::Alias)], None),
            [c("72.71.02")]
        );
        // an ambiguous name inside a certain one
        assert_eq!(
            resolve(&[f(leak(vec![c("32")]), Form::Alias), f(leak(vec![c("32.04"), c("72.71")]), Form::Bare)], None),
            [c("32.04")]
        );
        // districts of one name in two regencies: typed, what they share;
        // bare, nothing, unless a certain region says which
        let ciawi: Vec<RegionCode> = gazetteer().iter().find(|e| e.words == ["ciawi"]).unwrap().codes.clone();
        assert_eq!(ciawi.len(), 2);
        let ciawi = leak(ciawi);
        assert_eq!(resolve(&[f(ciawi, Form::Typed)], None), [c("32")]);
        assert!(resolve(&[f(ciawi, Form::BareDistrict)], None).is_empty());
        let bogor = ciawi.iter().find(|d| d.name() == "Ciawi" && d.parent().unwrap().name().contains("Bogor")).unwrap();
        let regency = bogor.parent().unwrap();
        assert_eq!(resolve(&[f(ciawi, Form::BareDistrict)], Some(&regency)), std::slice::from_ref(bogor));
        assert_eq!(
            resolve(&[f(ciawi, Form::BareDistrict), f(leak(vec![regency.clone()]), Form::Typed)], None),
            std::slice::from_ref(bogor)
        );
        // a district of the report's regency refines it; a name outside it is dropped
        let tatanga = leak(vec![c("72.71.06")]);
        assert_eq!(resolve(&[f(tatanga, Form::BareDistrict)], Some(&c("72.71"))), [c("72.71.06")]);
        assert_eq!(resolve(&[f(tatanga, Form::BareDistrict)], Some(&c("73.71"))), [c("73.71")]);
        assert_eq!(resolve(&[], Some(&c("73.71"))), [c("73.71")]);
    }

    #[test]
    fn datelines() {
        let place = |t: &str| dateline(t).map(|end| t[..end].trim_start().to_owned());
        assert_eq!(place("PALU - Polisi menangkap dua pengedar").as_deref(), Some("PALU"));
        assert_eq!(place("PALU, KOMPAS.com - Polisi menangkap").as_deref(), Some("PALU"));
        assert_eq!(place("SAMPIT, KOMPAS - Warga resah").as_deref(), Some("SAMPIT"));
        assert_eq!(place("Palu (ANTARA) - Polisi menangkap").as_deref(), Some("Palu"));
        assert_eq!(place("JAKARTA, Kompas.com \u{2014} Polisi menangkap").as_deref(), Some("JAKARTA"));
        assert_eq!(place("  KOTA PALU \u{2013} Hujan deras").as_deref(), Some("KOTA PALU"));
        // not datelines
        assert_eq!(place("Palu - Donggala macet total"), None, "no agency and not in capitals");
        assert_eq!(place("Warga Palu-Donggala resah - katanya"), None);
        assert_eq!(place("Ada demo di kantor bupati - ricuh"), None);
        assert_eq!(place("Seorang warga dipukul dengan palu oleh tetangganya."), None);
        assert_eq!(place(&format!("{} - x", "A".repeat(80))), None);
    }

    /// Every entry's matches in `text`, found naively (the engine uses its automaton).
    fn tag(text: &str, context: Option<&str>) -> Vec<String> {
        let g = gazetteer();
        // with the bundled chat spellings, as the classifier reads texts and names
        let normalizer = crate::normalize::Normalizer::bundled();
        let stream = normalizer.stream(text);
        let words: Vec<&str> = (0..stream.tokens.len()).map(|i| stream.word(i)).collect();
        let mut places = Vec::new();
        for (i, e) in g.iter().enumerate().filter(|(_, e)| e.searched) {
            // normalised as the text is, as the engine does
            let name = normalizer.stream(&e.words.join(" "));
            let name: Vec<&str> = (0..name.tokens.len()).map(|i| name.word(i)).collect();
            for first in 0..words.len() {
                if words[first..].starts_with(&name) {
                    let last = first + name.len() - 1;
                    places.push((i as u32, first, last));
                    if let Some(typed) = e.typed
                        && let Some((from, to)) = typed_span(&stream, text, first, last, || e.typed_after)
                    {
                        places.push((typed, from, to));
                    }
                }
            }
        }
        let mut found = Vec::new();
        found_in(g, &stream, text, &places, dateline(text), &mut found);
        let context = context.map(c);
        resolve(&found, context.as_ref()).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn districts_datelines_and_common_words() {
        assert_eq!(tag("Bentrok warga di Kecamatan Tatanga semalam", None), ["72.71.06"]);
        assert_eq!(tag("Warga Kec. Palu Barat resah", None), ["72.71.02"]);
        assert_eq!(tag("laporan kec tatanga: aman", None), ["72.71.06"]);
        assert_eq!(tag("Demo di Palu Timur dan Palu Barat", None), ["72.71.01", "72.71.02"]);
        assert_eq!(tag("Pencurian motor di Tatanga", None), ["72.71.06"]);
        // a police sector, its post and its chief, an army district command and its chief: one to a district
        for typed in ["Polsek", "Mapolsek", "Kapolsek", "Koramil", "Danramil", "polsek", "koramil"] {
            assert_eq!(tag(&format!("Laporan {typed} Tatanga semalam"), None), ["72.71.06"], "{typed}");
        }
        assert_eq!(tag("Laporan Babinsa Koramil Sunggal: ladang ganja dimusnahkan", None), ["12.07.23"]);
        // a chief's title is followed as often by a verb or a name: only a capital, right after it, is the district
        // (a name written right after the title, `Danramil Bambang`, is still read as the district: the title
        // comes before the district's name, and the rank before the person's, `Kapolsek Tebet Kompol Bambang`)
        for text in ["kapolsek kudu turun tangan", "Kata Kapolsek. Bareng warga kami berjaga", "danramil bareng warga"]
        {
            assert!(tag(text, None).is_empty(), "{text}: {:?}", tag(text, None));
        }
        assert_eq!(tag("Polsek Kota Palu menangkap pengedar", None), ["72.71"]);
        assert_eq!(tag("Kapolsek Kota Palu menangkap pengedar", None), ["72.71"]);
        // the hammer, in a sentence and at its start
        assert!(tag("Seorang warga dipukul dengan palu oleh tetangganya.", None).is_empty());
        assert!(tag("Palu dipakai untuk memukul korban", None).is_empty());
        // the dateline names the city
        assert_eq!(tag("PALU - Seorang warga dipukul dengan palu oleh tetangganya.", None), ["72.71"]);
        assert_eq!(tag("Palu (ANTARA) - Polisi menangkap pengedar di Tatanga", None), ["72.71.06"]);
        assert_eq!(tag("BATU, KOMPAS.com - Warga melempar batu", None), ["35.79"]);
        assert_eq!(tag("SAMPIT, KOMPAS - Warga dua desa bentrok", None), ["62.02"]);
        // a name that is a regency and a city, or a province and a city: the city
        assert_eq!(tag("BANDUNG - Massa membubarkan acara di sebuah gedung", None), ["32.73"]);
        assert_eq!(tag("JAMBI - Petugas lapas menggagalkan penyelundupan", None), ["15.71"]);
        assert_eq!(tag("Malang (ANTARA) - Polisi membubarkan pertemuan", None), ["35.73"]);
        // unless the text says which
        assert_eq!(tag("BANDUNG - Bentrok di Kabupaten Bandung semalam", None), ["32.04"]);
        // and the same name not in a dateline is still both
        assert_eq!(tag("Massa dari Bandung datang", None), ["32"]);
        // a district name in two regencies: not tagged bare, the regency's with it
        assert!(tag("Razia di Ciawi semalam", None).is_empty());
        assert_eq!(tag("Razia di Kecamatan Ciawi semalam", None), ["32"]);
        assert_eq!(tag("Razia di Ciawi, Kabupaten Bogor semalam", None).len(), 1);
        assert!(tag("Razia di Ciawi, Kabupaten Bogor semalam", None)[0].starts_with("32.01."));
        assert!(tag("Razia di Ciawi semalam", Some("32.01"))[0].starts_with("32.01."));
        // other names and slogans that hold a region's name
        assert_eq!(tag("Sabu diselundupkan lewat Selat Malaka ke Kabupaten Asahan", None), ["12.09"]);
        assert!(tag("Ganja dari Papua Nugini disita", None).is_empty());
        assert!(tag("Coretan 'Papua merdeka' di tembok ruko", None).is_empty());
        assert!(tag("Video ajakan referendum Papua diunggah", None).is_empty());
        assert_eq!(tag("Demo di Papua kemarin", None), ["91"]);
        assert_eq!(tag("Warga Kabupaten Malaka resah", None), ["53.21"]);
        assert_eq!(tag("Villagers in Central Maluku clashed", None), ["81.01"]);
        assert_eq!(tag("Police in South Sorong said", None), ["96.02"]);
        assert!(tag("Mahasiswa asal Papua berdemo", None).is_empty());
        assert!(tag("Bendera dikibarkan di puncak bukit", None).is_empty());
        // Bima is a regency and a city: the office says which
        assert_eq!(tag("Banjir di Bima", None), ["52"]);
        assert_eq!(tag("Bupati Bima meninjau banjir", None), ["52.06"]);
        assert_eq!(tag("Wali Kota Bima meninjau banjir", None), ["52.72"]);
    }

    #[test]
    fn districts_told_without_a_locative_or_in_english() {
        // a capitalised district name, held by a region named with it
        assert_eq!(tag("TPNPB membakar sekolah di Sugapa, Intan Jaya", None), ["94.07.01"]);
        assert_eq!(tag("Pabrik ekstasi di rumah sewa Karawaci, Tangerang", None), ["36.71.07"]);
        assert_eq!(tag("Kurir ditangkap di perairan Sebatik, Nunukan", None), ["65.03.01"]);
        assert_eq!(tag("Pemuda asal Kecamatan Cibadak, Sukabumi, tewas", None), ["32.02.11"]);
        // and nothing without one, nor a capitalised word that is no district there
        assert!(tag("Warga Sugapa resah", None).is_empty());
        assert_eq!(tag("Warga Sugapa, Kabupaten Nduga resah", None), ["95.08"]);
        // English: `X district`, `X sub-district`, `city of X`, `in X`
        assert_eq!(tag("a bomb at a church in Surabaya's Wonokromo district", None), ["35.78.04"]);
        assert_eq!(tag("a crowd in Tapung sub-district was met with clubs", None), ["14.01.10"]);
        assert_eq!(tag("an explosion in the city of Cirebon", None), ["32.74"]);
        assert_eq!(tag("Police in Wamena imposed a curfew", None), ["95.01.01"]);
        // Javanese locatives
        assert_eq!(tag("mau bengi ning Dolopo ono gegeran", None), ["35.19.02"]);
    }

    #[test]
    fn spellings_the_list_does_not_carry() {
        // joined where the list has two words, and split where it has one
        assert_eq!(tag("BNNK Tanjungpinang menggelar razia", None), ["21.72"]);
        assert_eq!(tag("Caleg DPRD Kota Pangkalpinang digerebek", None), ["19.71"]);
        assert_eq!(tag("Tawuran di Jalan Raya Bogor, Kecamatan Kramat Jati", None), ["31.75.04"]);
        assert!(tag("Rencana pendirian pura di Kelurahan Bumi Ayu ditolak", None).is_empty());
        // numbers in words, Roman or Arabic numerals
        assert_eq!(tag("rumahnya di Kecamatan Ilir Timur II, Palembang", None), ["16.71.06"]);
        assert_eq!(tag("GOR Kecamatan Ilir Barat 1", None), ["16.71.04"]);
        assert_eq!(tag("Warga Kecamatan Banyuasin Satu", None), ["16.07.01"]);
        // short names and islands
        assert_eq!(tag("Polda Metro Jaya membongkar produksi tembakau gorila di Jakarta Selatan", None), ["31.74"]);
        assert_eq!(tag("Ratusan warga Pulau Rempang menghadang petugas", None), ["21.71"]);
        assert!(tag("harga lombok naik lagi", None).is_empty());
    }

    #[test]
    fn names_that_are_something_else_there() {
        // a neighbourhood before a typed district it is not in
        assert_eq!(tag("Tawuran di Manggarai, Kecamatan Tebet, Jakarta Selatan", None), ["31.74.01"]);
        // a group's name, and a movement's words
        assert_eq!(
            tag("The West Papua National Liberation Army burned a school in Sugapa, Intan Jaya", None),
            ["94.07.01"]
        );
        assert_eq!(tag("West Papua separatists in Nduga released a video", None), ["95.08"]);
        assert_eq!(tag("peringatan Kongres Rakyat Papua di Kec. Manokwari Barat", None), ["92.02.12"]);
        // Papua as people still name the provinces made out of it
        assert_eq!(tag("Polisi di Papua menangkap kurir di Yahukimo", None), ["95.03"]);
        // a name word that is not joined to the name
        assert_eq!(tag("agenda konser di Stadion Harapan Bangsa, Banda Aceh", None), ["11.71"]);
        // a city that shares its name only with districts elsewhere is the city
        assert_eq!(tag("A shop owner in Tebing Tinggi was named a suspect", None), ["12.76"]);
        // everyday words: a stick, a temple
        assert!(tag("meriam dari batang kayu besar", None).is_empty());
        assert_eq!(tag("prosesi dari Candi Mendut ke Candi Borobudur di Kabupaten Magelang", None), ["33.08.02"]);
        // a chat spelling that is a district's name
        assert_eq!(tag("Warga Kecamatan Bener, Purworejo, menghadang petugas", None), ["33.06.16"]);
        // one written word read as two is a common noun (`Batu2`, stones), and
        // has no gap inside to look at (9f65d80 panicked on it)
        assert!(tag("ada Batu2 di jalan", None).is_empty());
        assert_eq!(tag("Warga Kecamatan Tatanga2, Kecamatan Palu Barat2", None), ["72.71.02", "72.71.06"]);
        // a dot after a street's or a village's word still makes a name of what follows
        assert_eq!(tag("Kebakaran di Jl. Kebon Jeruk, Kabupaten Bandung", None), ["32.04"]);
        assert!(tag("Rencana pendirian pura di Kel. Bumi Ayu ditolak", None).is_empty());
        // English `district` after a name a regency bears is the regency's
        assert_eq!(tag("Police in Jayapura district arrested two men", None), ["91"]);
        // a city's `X Kota` that is also one of its districts is the district
        assert_eq!(tag("Warga Medan Kota resah", None), ["12.71.01"]);
        // a weak district inside a province made out of the one named
        assert_eq!(tag("Warga Wamena, Papua resah", None), ["95.01.01"]);
        // a village before its district; a list of regencies is no address
        assert_eq!(tag("Kepala Desa Tanjung Sari, Kec. Natar, dilaporkan", None), ["18.01.04"]);
        assert_eq!(tag("Banjir melanda Sukabumi, Kabupaten Poso", None), ["32", "72.02"]);
        // an alias that is also a word, opening a sentence
        assert!(tag("Lombok rawit naik lagi", None).is_empty());
        // `I` and `III` fold alike; `Tiga` is not read from `I`
        assert_eq!(tag("Banjir di Kecamatan Ilir Timur I, Palembang", None), ["16.71.05"]);
    }
}
