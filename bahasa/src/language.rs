//! The language of a short report: Indonesian, Javanese, Sundanese, Malay
//! (as written in Malaysia) or English, from marker words.
//!
//! Reports are short (a chat line, a news lead), and statistical detectors
//! guess wildly on a dozen words: `Pengedar narkoba ditangkap di pelabuhan
//! Pantoloan` looks Javanese to trigram statistics. Here each word of a fixed
//! table is evidence for the languages it is common in (`yang` for Indonesian
//! and Malay, `ora` for Javanese, `teu` for Sundanese, `kerana` for Malay,
//! `the` for English), and a word that is not in the table but carries an
//! Indonesian affix (`me-`, `ber-`, `ter-`, `per-`, `-kan`, `-nya`) is
//! evidence for Indonesian and Malay. Indonesian wins unless another
//! language has at least two pieces of evidence and more than Indonesian
//! has: a language shared word for word with Indonesian (Malay) wins only on
//! its own words (`polis`, `dadah`, `kerana`). A text with no evidence at all
//! is [`Verdict::Unknown`]: the caller may ask a statistical detector then.
//!
//! The words are those of the normalised stream ([`crate::normalize`]), so
//! chat spellings (`yg`, `gak`, `udah`) count as the Indonesian they stand
//! for. Only the first [`WORDS_READ`] words of each stream are read, and
//! nothing is allocated per word.

use rustc_hash::FxHashMap;

use crate::normalize::Stream;

/// A language the detector tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Indonesian, ISO 639-3 `ind`.
    Ind,
    /// Javanese, `jav`.
    Jav,
    /// Sundanese, `sun`.
    Sun,
    /// Malay as written in Malaysia (Standard Malay), `zsm`.
    Zsm,
    /// English, `eng`.
    Eng,
}

impl Lang {
    /// The ISO 639-3 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ind => "ind",
            Lang::Jav => "jav",
            Lang::Sun => "sun",
            Lang::Zsm => "zsm",
            Lang::Eng => "eng",
        }
    }

    const ALL: [Lang; 5] = [Lang::Ind, Lang::Jav, Lang::Sun, Lang::Zsm, Lang::Eng];

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// What the marker words say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Lang(Lang),
    /// No marker word and no affixed word: nothing to go on.
    Unknown,
}

/// How many words of each stream are read: the first sentence or two
/// settle it, and reading on costs time and changes little.
pub const WORDS_READ: usize = 24;

const IND: u8 = Lang::Ind.bit();
const JAV: u8 = Lang::Jav.bit();
const SUN: u8 = Lang::Sun.bit();
const ZSM: u8 = Lang::Zsm.bit();
const ENG: u8 = Lang::Eng.bit();

/// The marker words, each group with the languages its words are evidence
/// for. A word in several groups is evidence for each of their languages.
/// Words that every one of the four Austronesian languages uses alike
/// (`di`, `tapi`, `polisi` in chats) are left out: they tell nothing.
const MARKERS: &[(u8, &str)] = &[
    // Indonesian and Malay alike
    (
        IND | ZSM,
        "yang dan ini itu dengan untuk tidak pada akan dalam oleh juga sudah atau telah masih \
         mereka seorang sebuah antara belum agar tetapi namun ketika kepada sebagai lebih hanya \
         jika kalau pun sangat semua setiap orang hari tahun malam pagi siang baru sedang dia ia \
         beliau saya kami kita ada ke dari bagi para sebelum daripada lagi mana apa kerja \
         bahwa bahawa tersebut terhadap bersama banyak sendiri kemudian selama melalui sejak \
         menjadi adalah ialah boleh kawasan penduduk pihak anggota berkata ditahan lelaki \
         kampung jalan sekolah kejadian",
    ),
    // Indonesian, not Malay
    (
        IND,
        "karena setelah saat yaitu bisa uang mau sekitar terjadi mengatakan kemarin sore warga \
         tersangka korban pelaku kantor mobil sejumlah diduga banget dong sih deh kok nih tuh gue \
         gw kalian rp wib wita wit polres polsek polda polresta satreskrim satnarkoba kapolres \
         kapolsek pukul sementara hingga menurut ujar katanya mengaku dibawa diamankan ricuh \
         bentrok bupati camat lurah kades ormas aparat setempat pemerintah kabupaten \
         narkoba pengedar pelabuhan perempuan pria laki",
    ),
    // Malay as written in Malaysia
    (
        ZSM,
        "kerana polis dadah wang mahu semasa selepas iaitu sahaja disyaki dipercayai siasatan \
         mangsa suspek tempatan akhbar kereta teksi hospital kerajaan mendapati encik puan \
         ringgit sebarang telefon kes seksyen memandangkan menerusi baharu kenderaan \
         jenayah rompakan samun bapa kedai majlis perbicaraan tandas warganegara",
    ),
    // Javanese (ngoko and krama)
    (
        JAV,
        "ing lan sing ora karo iku kanggo saka wis wes arep nanging menyang kowe amarga dhewe \
         punika wonten kula panjenengan mboten ana iki kuwi kae ning neng nang uga kabeh akeh \
         durung isih dadi merga mergo amargi sampun dereng badhe saking dhateng kaliyan menika \
         niki nggih inggih bocah wong omah dalan wingi sesuk bengi esuk ngerti weruh krungu \
         jarene tiyang griya ono onok opo piye ngendi ditangkep digawa nggawa ngombe mangan turu \
         mlaku lunga teka metu mlebu tekan cah arek sithik gedhe cilik banjur nalika sawise \
         sakwise sadurunge rak wae",
    ),
    // Sundanese
    (
        SUN,
        "teh jeung ka ti nu aya teu henteu ulah urang anjeun maneh sareng kana dina keur lamun mun \
         oge pisan naon kumaha iraha saha geus acan ayeuna kamari isuk peuting beurang imah jalma \
         budak lalaki awewe sakola ceuk cenah nya eta ieu kitu kieu deui atuh euy nuhun hatur \
         punten sumping indit bari kudu bisi meureun sigana kungsi loba saeutik leutik lembur \
         pulisi ditewak tos parantos sanes tiasa sadaya sadayana tina ku wae",
    ),
    // Javanese and Sundanese alike
    (JAV | SUN, "dicekel anyar dulur"),
    // English
    (
        ENG,
        "the and of to in is was for that with on at by are were be been after an it this said \
         has have had between their they from police people village arrested residents officers \
         according reported yesterday today there will would not but or if about into which who \
         we you he she his her our my your them than then also because so very just can could \
         should new more two three woman men women local city district province regency \
         near over during while until since being its what when where how why all some \
         any other one did does do up out off yes",
    ),
];

/// A word of up to 16 bytes as one number, the key of the marker table: a
/// lookup compares one integer instead of a string. Longer words are no
/// markers. Folded words have no NUL byte, so the padding cannot collide.
fn key(word: &[u8]) -> Option<u128> {
    if word.len() > 16 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..word.len()].copy_from_slice(word);
    Some(u128::from_le_bytes(buf))
}

/// Twelve bits of a counter per language, in `Lang` order, so that one
/// addition counts a word for every language it is evidence for (a report
/// has at most `2 * WORDS_READ` words read, well below 4,096).
const COUNTER_BITS: u32 = 12;

/// What to add to the packed counters for a word that is evidence for `langs`.
fn increment(langs: u8) -> u64 {
    Lang::ALL.iter().filter(|l| langs & l.bit() != 0).map(|l| 1u64 << (COUNTER_BITS * *l as u32)).sum()
}

/// The marker words by key, with the languages each is evidence for: an
/// open-addressing table at most half full, small enough to stay in the
/// first-level cache (32 KiB of keys), so a lookup is one multiplication
/// and one or two comparisons.
struct Markers {
    keys: Vec<u128>,
    langs: Vec<u8>,
    /// [`increment`] of every set of languages.
    increments: [u64; 32],
    shift: u32,
}

impl Markers {
    #[inline]
    fn slot(&self, key: u128) -> usize {
        let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
        (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The increment of a marker word, 0 for any other word.
    #[inline]
    fn get(&self, key: u128) -> u64 {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        loop {
            let k = self.keys[i];
            if k == key {
                return self.increments[usize::from(self.langs[i] & 31)];
            }
            if k == 0 {
                return 0;
            }
            i = (i + 1) & mask;
        }
    }
}

fn markers() -> &'static Markers {
    static MARKER_TABLE: std::sync::OnceLock<Markers> = std::sync::OnceLock::new();
    MARKER_TABLE.get_or_init(|| {
        let mut langs: FxHashMap<&str, u8> = FxHashMap::default();
        for (l, words) in MARKERS {
            for w in words.split_whitespace() {
                *langs.entry(w).or_insert(0) |= l;
            }
        }
        let bits = (langs.len() * 2).next_power_of_two().trailing_zeros();
        let mut table = Markers {
            keys: vec![0; 1 << bits],
            langs: vec![0; 1 << bits],
            increments: std::array::from_fn(|l| increment(l as u8)),
            shift: 64 - bits,
        };
        let mask = table.keys.len() - 1;
        for (w, l) in langs {
            let Some(k) = key(w.as_bytes()) else { continue };
            let mut i = table.slot(k);
            while table.keys[i] != 0 {
                i = (i + 1) & mask;
            }
            table.keys[i] = k;
            table.langs[i] = l;
        }
        table
    })
}

/// Whether a word that is no marker carries an affix of Indonesian and
/// Malay (which Javanese, Sundanese and English do not use): `menangkap`,
/// `berkumpul`, `tertangkap`, `perkelahian`, `amankan`, `rumahnya`.
fn affixed(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 6
        && (b.starts_with(b"me")
            || matches!(&b[..3], b"ber" | b"ter" | b"per")
            || b.ends_with(b"kan")
            || b.ends_with(b"nya"))
}

/// The evidence of the first [`WORDS_READ`] words of each stream, by
/// language (indexed by `Lang as usize`).
pub fn evidence(streams: &[&Stream]) -> [u16; 5] {
    let table = markers();
    let affix = increment(IND | ZSM);
    let mut packed = 0u64;
    for s in streams {
        for i in 0..s.tokens.len().min(WORDS_READ) {
            let add = s.short_key(i).map_or(0, |k| table.get(k));
            packed += if add == 0 && affixed(s.word(i)) { affix } else { add };
        }
    }
    Lang::ALL.map(|l| ((packed >> (COUNTER_BITS * l as u32)) & ((1 << COUNTER_BITS) - 1)) as u16)
}

/// The language of the text of `streams` (a report's title and text):
/// Indonesian unless another language has at least two pieces of evidence
/// and more than Indonesian; with some evidence for one language only, that
/// language.
pub fn detect(streams: &[&Stream]) -> Verdict {
    let counts = evidence(streams);
    let ind = counts[Lang::Ind as usize];
    // the strongest other language; on a tie the first of this order
    let (other, score) = [Lang::Eng, Lang::Jav, Lang::Sun, Lang::Zsm]
        .into_iter()
        .map(|l| (l, counts[l as usize]))
        .fold((Lang::Eng, 0), |best, c| if c.1 > best.1 { c } else { best });
    if score > ind && (score >= 2 || ind == 0) {
        Verdict::Lang(other)
    } else if ind > 0 {
        Verdict::Lang(Lang::Ind)
    } else {
        Verdict::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::Normalizer;

    fn lang(text: &str) -> Verdict {
        // as the bundled slang table has them
        let n = Normalizer::new([("yg", "yang"), ("td", "tadi"), ("mlm", "malam"), ("gak", "tidak")]);
        detect(&[&n.stream(text)])
    }

    #[test]
    fn marker_table_has_no_empty_or_unfolded_words() {
        for (_, words) in MARKERS {
            for w in words.split_whitespace() {
                assert_eq!(w, crate::normalize::fold(w), "{w} must be written folded");
            }
        }
        // a word in two groups is evidence for both
        let get = |w: &str| markers().get(key(w.as_bytes()).unwrap());
        assert_eq!(get("wae"), increment(JAV | SUN));
        assert_eq!(get("yang"), increment(IND | ZSM));
        assert_eq!(get("pantoloan"), 0);
        // every marker fits a key and is found
        for (l, words) in MARKERS {
            for w in words.split_whitespace() {
                assert!(key(w.as_bytes()).is_some(), "{w}");
                assert_eq!(get(w) & increment(*l), increment(*l), "{w}");
            }
        }
    }

    #[test]
    fn indonesian_wins_short_texts_unless_clearly_another_language() {
        use Lang::*;
        let cases: &[(&str, Verdict)] = &[
            ("Pengedar narkoba ditangkap di pelabuhan Pantoloan", Verdict::Lang(Ind)),
            ("Demo mahasiswa ricuh", Verdict::Lang(Ind)),
            ("yg ditangkep td mlm", Verdict::Lang(Ind)),
            ("Wong loro ditangkep polisi merga nggawa sabu ing pasar", Verdict::Lang(Jav)),
            ("Aya nu maling motor di lembur peuting tadi", Verdict::Lang(Sun)),
            ("Polis menahan seorang lelaki kerana memiliki dadah", Verdict::Lang(Zsm)),
            ("Police arrested two men at the port", Verdict::Lang(Eng)),
            ("Pantoloan", Verdict::Unknown),
            ("", Verdict::Unknown),
        ];
        for (text, want) in cases {
            assert_eq!(lang(text), *want, "{text}");
        }
    }

    #[test]
    fn affixes_are_indonesian_evidence() {
        assert!(affixed("menangkap") && affixed("amankan") && affixed("rumahnya") && affixed("berkumpul"));
        assert!(!affixed("mes") && !affixed("ditangkep") && !affixed("sabu"));
        assert_eq!(lang("Menangkap berkumpul"), Verdict::Lang(Lang::Ind));
    }
}
