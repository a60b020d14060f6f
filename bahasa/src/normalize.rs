//! Text normalisation for how Indonesians write in chats, SMS and reports.
//!
//! A text becomes a stream of tokens, each tied to its byte range in the
//! original, so every match can be shown where it was written:
//! - case and Unicode folding (`Ṡabu` → `sabu`);
//! - letters repeated three times or more squeezed (`sabuuu` → `sabu`);
//! - reduplication with a 2 (`anak2` → `anak anak`);
//! - abbreviations and slang replaced from data (`yg` → `yang`,
//!   `nyabu` → `pakai sabu`), from the `[replace]` tables of the rule files;
//! - tokens are runs of letters and digits, so `sabun` never holds `sabu`.
//!
//! The stream is also a string `" t1 t2 t3 "` with single spaces, which the
//! engine searches with one automaton: a pattern `" sabu "` can only match a
//! whole token.

use rustc_hash::FxHashMap;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The bundled table of chat and SMS spellings and slang (`yg` → `yang`),
/// in the rule-file format: the classifier reads it before every rule set,
/// and admins add to it, or override an entry, in any rule file's
/// `[replace]`.
pub const SLANG: &str = include_str!("../data/slang.toml");

/// One normalised token and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    /// The original started with an upper-case letter.
    pub capitalized: bool,
    /// Byte range of the normalised word in [`Stream::joined`].
    at: usize,
    len: usize,
}

/// A normalised text.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub tokens: Vec<Token>,
    /// `" t1 t2 … "`.
    pub joined: String,
}

impl Stream {
    /// The normalised word of token `i`.
    #[inline]
    pub fn word(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.joined[t.at..t.at + t.len]
    }

    /// The index of the token that covers byte `at` of `joined`.
    #[inline]
    pub fn token_at(&self, at: usize) -> usize {
        self.tokens.partition_point(|t| t.at <= at).saturating_sub(1)
    }
}

/// Folds case and accents of one character into `out`. A letter or digit
/// folds to letters and digits only: compatibility forms that decompose into
/// punctuation or spaces (`⑴` is `(1)`, `½` is `1⁄2`, `ͺ` is ` ͅ`) keep
/// just their letters and digits, so a token stays one token when it is
/// normalised again.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let word = c.is_alphanumeric();
    for d in c.nfkd() {
        if !is_combining_mark(d) {
            out.extend(d.to_lowercase().filter(|l| !word || l.is_alphanumeric()));
        }
    }
}

/// Folds case and accents of a word and squeezes letters repeated three
/// times or more: the form terms and tokens are compared in.
pub fn fold(word: &str) -> String {
    let mut folded = String::with_capacity(word.len());
    for c in word.chars() {
        fold_char(c, &mut folded);
    }
    let mut out = String::with_capacity(folded.len());
    squeeze_into(&folded, &mut out);
    out
}

/// Appends `word` to `out` with runs of three or more equal letters made one.
fn squeeze_into(word: &str, out: &mut String) {
    let b = word.as_bytes();
    if word.is_ascii() {
        if !b.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]) {
            out.push_str(word);
            return;
        }
        let mut i = 0;
        while i < b.len() {
            let mut j = i + 1;
            while j < b.len() && b[j] == b[i] {
                j += 1;
            }
            let keep = if j - i >= 3 { 1 } else { j - i };
            out.push_str(&word[i..i + keep]);
            i = j;
        }
        return;
    }
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        for _ in 0..(if run >= 3 { 1 } else { run }) {
            out.push(c);
        }
    }
}

/// The normaliser, with its table of abbreviations and slang.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    /// Folded token → the folded words it stands for.
    replace: FxHashMap<String, Vec<String>>,
    /// Bit `b % 64` of entry `len % 32` is set when some word of `replace` has
    /// that length and first byte `b`: most tokens are passed without a
    /// lookup.
    maybe: [u64; 32],
}

/// Most words one entry of a replacement table may stand for once the
/// entries it uses are replaced too; an entry over it is left out.
const MAX_REPLACED_WORDS: usize = 64;

impl Normalizer {
    /// The normaliser of the bundled table [`SLANG`] alone, as the search
    /// index analyses reports and queries with it (an admin's `[replace]`
    /// entries apply to rules, not to the index, which must not change with
    /// a node's rule files).
    pub fn bundled() -> &'static Normalizer {
        static BUNDLED: std::sync::OnceLock<Normalizer> = std::sync::OnceLock::new();
        BUNDLED.get_or_init(|| Normalizer::new(bundled_table().iter().map(|(a, b)| (a.as_str(), b.as_str()))))
    }

    /// `replace` maps a word as people write it to what it means, in one or
    /// more words (`nyabu` → `pakai sabu`).
    ///
    /// A normalised text is normalised already: each entry stands for the
    /// tokens its words make (`anak2` is `anak anak`), with the entries they name
    /// replaced in turn (`gk` → `ga` → `tidak` makes `gk` → `tidak`).
    /// Entries that stand for no word, that are caught in a loop (`a` → `b`
    /// → `a`) or lead into one, or that grow past [`MAX_REPLACED_WORDS`]
    /// words are left out: their words stay as written.
    pub fn new<'a>(replace: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let plain = Normalizer::default();
        let direct: FxHashMap<String, Vec<String>> = replace
            .into_iter()
            .map(|(from, to)| {
                let to = plain.stream(to);
                (fold(from), (0..to.tokens.len()).map(|i| to.word(i).to_owned()).collect::<Vec<_>>())
            })
            .filter(|(_, to)| !to.is_empty())
            .collect();
        let replace = resolve(&direct);
        let mut maybe = [0u64; 32];
        for word in replace.keys() {
            let (len, first) = Self::shape(word);
            maybe[len] |= 1 << first;
        }
        Self { replace, maybe }
    }

    fn shape(word: &str) -> (usize, u32) {
        (word.len() % 32, u32::from(word.as_bytes().first().copied().unwrap_or(0) % 64))
    }

    fn push(stream: &mut Stream, word: &str, start: usize, end: usize, capitalized: bool) {
        let at = stream.joined.len();
        stream.joined.push_str(word);
        stream.joined.push(' ');
        stream.tokens.push(Token { start, end, capitalized, at, len: word.len() });
    }

    fn emit(&self, stream: &mut Stream, word: &str, start: usize, end: usize, capitalized: bool) {
        let (len, first) = Self::shape(word);
        if self.maybe[len] & (1 << first) == 0 {
            return Self::push(stream, word, start, end, capitalized);
        }
        match self.replace.get(word) {
            Some(words) => words.iter().for_each(|w| Self::push(stream, w, start, end, capitalized)),
            None => Self::push(stream, word, start, end, capitalized),
        }
    }

    /// Ends a word: `raw` as read, `plain` when it has no run of three equal
    /// letters and nothing but ASCII, so it needs no squeezing.
    #[allow(clippy::too_many_arguments)]
    fn flush(
        &self,
        stream: &mut Stream,
        raw: &str,
        plain: bool,
        squeezed: &mut String,
        start: usize,
        end: usize,
        capitalized: bool,
    ) {
        let squeezed: &str = if plain {
            raw
        } else {
            squeezed.clear();
            squeeze_into(raw, squeezed);
            squeezed
        };
        // `anak2` is `anak-anak`
        let base = squeezed.strip_suffix('2').filter(|b| b.len() >= 2 && b.chars().all(char::is_alphabetic));
        match base {
            Some(b) => {
                self.emit(stream, b, start, end, capitalized);
                self.emit(stream, b, start, end, capitalized);
            }
            None => self.emit(stream, squeezed, start, end, capitalized),
        }
    }

    /// Normalises `text` into a token stream.
    pub fn stream(&self, text: &str) -> Stream {
        let mut stream = Stream {
            tokens: Vec::with_capacity(text.len() / 5),
            joined: String::with_capacity(text.len() + text.len() / 4 + 16),
        };
        stream.joined.push(' ');
        let mut raw = String::with_capacity(32);
        let mut squeezed = String::with_capacity(32);
        let mut start = 0;
        let mut capitalized = false;
        // the word so far is ASCII without three equal letters in a row
        let (mut plain, mut last, mut run) = (true, 0u8, 0u8);
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            // ASCII, the common case, byte by byte; anything else decoded
            let (c, width) = if b.is_ascii() {
                (b as char, 1)
            } else {
                let c = text[i..].chars().next().unwrap_or(' ');
                (c, c.len_utf8())
            };
            if c.is_alphanumeric() {
                if raw.is_empty() {
                    start = i;
                    capitalized = c.is_uppercase();
                    (plain, last, run) = (true, 0, 0);
                }
                if b.is_ascii() {
                    let lower = b.to_ascii_lowercase();
                    run = if lower == last { run.saturating_add(1) } else { 1 };
                    last = lower;
                    plain &= run < 3;
                    raw.push(lower as char);
                } else {
                    plain = false;
                    fold_char(c, &mut raw);
                }
            } else if !raw.is_empty() {
                self.flush(&mut stream, &raw, plain, &mut squeezed, start, i, capitalized);
                raw.clear();
            }
            i += width;
        }
        if !raw.is_empty() {
            self.flush(&mut stream, &raw, plain, &mut squeezed, start, text.len(), capitalized);
        }
        stream
    }
}

/// The `[replace]` table of [`SLANG`], sorted by word. The classifier checks
/// the same file strictly with every rule set (`bahasa/slang.toml`), so a
/// broken table never ships; an entry that is not a string is skipped here.
pub fn bundled_table() -> Vec<(String, String)> {
    let table: toml::Table = SLANG.parse().unwrap_or_default();
    let Some(replace) = table.get("replace").and_then(toml::Value::as_table) else { return Vec::new() };
    replace.iter().filter_map(|(from, to)| Some((from.clone(), to.as_str()?.to_owned()))).collect()
}

/// Replaces the words of each entry that are entries themselves, until none
/// is, each entry after those it names; the entries left over when no more
/// can be resolved are in a loop or lead into one, and are left out, as are
/// those that grow too long (see [`Normalizer::new`]).
fn resolve(direct: &FxHashMap<String, Vec<String>>) -> FxHashMap<String, Vec<String>> {
    // for each entry, how many distinct entries it names are not resolved yet
    let mut waiting: FxHashMap<&str, usize> = FxHashMap::default();
    let mut named_by: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    for (key, to) in direct {
        let mut names: Vec<&str> = to.iter().map(String::as_str).filter(|w| direct.contains_key(*w)).collect();
        names.sort_unstable();
        names.dedup();
        waiting.insert(key, names.len());
        for n in names {
            named_by.entry(n).or_default().push(key);
        }
    }
    let mut ready: Vec<&str> = waiting.iter().filter(|(_, n)| **n == 0).map(|(k, _)| *k).collect();
    let mut resolved: FxHashMap<String, Vec<String>> = FxHashMap::default();
    while let Some(key) = ready.pop() {
        let mut words = Vec::new();
        for w in &direct[key] {
            match resolved.get(w) {
                Some(r) => words.extend(r.iter().cloned()),
                None => words.push(w.clone()),
            }
        }
        if words.len() <= MAX_REPLACED_WORDS {
            resolved.insert(key.to_owned(), words);
        }
        for user in named_by.get(key).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(user) {
                *n -= 1;
                if *n == 0 {
                    ready.push(user);
                }
            }
        }
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: &Normalizer, text: &str) -> Vec<String> {
        let s = n.stream(text);
        (0..s.tokens.len()).map(|i| s.word(i).to_owned()).collect()
    }

    #[test]
    fn folds_squeezes_reduplicates_and_replaces() {
        let n = Normalizer::new([("yg", "yang"), ("nyabu", "pakai sabu"), ("td", "tadi")]);
        assert_eq!(words(&n, "Ṡabuuu di GANG!"), ["sabu", "di", "gang"]);
        assert_eq!(words(&n, "anak2 yg nyabu"), ["anak", "anak", "yang", "pakai", "sabu"]);
        assert_eq!(words(&n, "tolonggg, td mlm"), ["tolong", "tadi", "mlm"]);
        // two letters stay: maaf, saat
        assert_eq!(words(&n, "maaf saat itu"), ["maaf", "saat", "itu"]);
        assert_eq!(words(&n, "sabun bukan sabu-sabu"), ["sabun", "bukan", "sabu", "sabu"]);
        assert_eq!(words(&n, "TPS 12"), ["tps", "12"]);
    }

    #[test]
    fn replacements_are_resolved_so_normalised_text_stays_normalised() {
        // chains are followed; words are tokens as in any text
        let n = Normalizer::new([
            ("gk", "ga"),
            ("ga", "tidak"),
            ("bbrp", "beberapa"),
            ("x", "Anak2, ya!"),
            ("kosong", "-"),
        ]);
        assert_eq!(words(&n, "gk ga x kosong"), ["tidak", "tidak", "anak", "anak", "ya", "kosong"]);
        // loops, and what leads into them, are left out
        let n = Normalizer::new([("a", "b"), ("b", "a"), ("c", "a"), ("d", "d x"), ("e", "f")]);
        assert_eq!(words(&n, "a b c d e"), ["a", "b", "c", "d", "f"]);
        // an entry that would grow past the limit is left out, and is a word to those naming it
        let n = Normalizer::new([("a", "b b b b b b b b"), ("b", "c c c c c c c c"), ("c", "d d"), ("z", "a")]);
        assert_eq!(words(&n, "b"), ["d"; 16]);
        assert_eq!(words(&n, "a z"), ["a", "a"]);
    }

    #[test]
    fn letters_and_digits_fold_to_letters_and_digits() {
        let n = Normalizer::default();
        assert_eq!(n.stream("⑴ ½ ͺ x").joined, " 1 12 x ");
        assert_eq!(fold("k.o"), "k.o");
    }

    #[test]
    fn tokens_point_back_into_the_original() {
        let n = Normalizer::default();
        let text = "Warga résah, pesta SABU";
        let s = n.stream(text);
        assert_eq!(s.joined, " warga resah pesta sabu ");
        let sabu = &s.tokens[3];
        assert_eq!(&text[sabu.start..sabu.end], "SABU");
        assert!(s.tokens[0].capitalized && !s.tokens[1].capitalized);
        assert_eq!(s.token_at(s.tokens[2].at + 3), 2);
        assert_eq!(s.word(3), "sabu");
    }
}
