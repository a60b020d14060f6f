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

/// The low `n` bytes of a `u128` set, for `n` up to 16: one load, where
/// computing the mask took a branch and a 128-bit shift for every token.
pub const KEY_MASKS: [u128; 17] = {
    let mut masks = [u128::MAX; 17];
    let mut n = 0;
    while n < 16 {
        masks[n] = (1u128 << (8 * n)) - 1;
        n += 1;
    }
    masks
};

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

    /// The normalised word of token `i` as one integer, its bytes
    /// little-endian and zeros after them; `None` for a word over 16 bytes.
    /// One 16-byte load where `joined` goes on that far, so cheaper than
    /// copying the word.
    #[inline]
    pub fn short_key(&self, i: usize) -> Option<u128> {
        let t = &self.tokens[i];
        if t.len > 16 {
            return None;
        }
        let bytes = self.joined.as_bytes();
        let mut window = [0u8; 16];
        match bytes.get(t.at..t.at + 16) {
            Some(b) => window.copy_from_slice(b),
            None => window[..t.len].copy_from_slice(&bytes[t.at..t.at + t.len]),
        }
        Some(u128::from_le_bytes(window) & KEY_MASKS[t.len])
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

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that lies strictly between `low` and
/// `high` (`high` at most 128); bytes of 128 and over never do. Exact for
/// every byte: no byte's sum or difference reaches into the next.
#[inline]
fn between(x: u64, low: u8, high: u8) -> u64 {
    let seven = x & (ONES * 127);
    ((ONES * (127 + u64::from(high))) - seven) & !x & (seven + ONES * (127 - u64::from(low))) & HIGH
}

/// The high bit of each byte of `x` that is zero.
#[inline]
fn zeros(x: u64) -> u64 {
    !(((x & (ONES * 127)) + ONES * 127) | x) & HIGH
}

/// The eight bytes of `bytes` from `i` on, zeros past its end.
#[inline]
fn load8(bytes: &[u8], i: usize) -> u64 {
    match bytes.get(i..i + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
        None => {
            let mut chunk = [0u8; 8];
            let rest = &bytes[i.min(bytes.len())..];
            chunk[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(chunk)
        }
    }
}

/// The high bit of each byte of `x` that is an ASCII letter or digit.
#[inline]
fn alnum(x: u64) -> u64 {
    between(x, b'0' - 1, b'9' + 1) | between(x | (ONES * 0x20), b'a' - 1, b'z' + 1)
}

/// The end of the run of ASCII letters and digits from `i` on, read eight
/// bytes at a time.
#[cfg(test)]
fn alnum_end(bytes: &[u8], mut i: usize) -> usize {
    loop {
        let stop = !alnum(load8(bytes, i)) & HIGH;
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
}

/// A stream being made: `joined` as bytes, made a string at the end.
struct Building {
    tokens: Vec<Token>,
    joined: Vec<u8>,
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
    /// Bit [`slang_bit`] of each word of `replace`: the words read eight
    /// bytes at a time are passed on one bit.
    slang: Vec<u64>,
}

/// log2 of the bits of [`Normalizer::slang`].
const SLANG_BITS: u32 = 14;

/// The bit of [`Normalizer::slang`] for a word of `len` bytes whose first
/// eight bytes (zeros after its end) are `head`, little-endian.
#[inline]
fn slang_bit(head: u64, len: usize) -> usize {
    ((head ^ (len as u64).rotate_right(7)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLANG_BITS)) as usize
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
        let mut slang = vec![0u64; (1 << SLANG_BITS) / 64];
        for word in replace.keys() {
            let mut head = [0u8; 8];
            let take = word.len().min(8);
            head[..take].copy_from_slice(&word.as_bytes()[..take]);
            let bit = slang_bit(u64::from_le_bytes(head), word.len());
            slang[bit / 64] |= 1 << (bit % 64);
        }
        Self { replace, maybe, slang }
    }

    fn shape(word: &str) -> (usize, u32) {
        (word.len() % 32, u32::from(word.as_bytes().first().copied().unwrap_or(0) % 64))
    }

    fn push(stream: &mut Building, word: &str, start: usize, end: usize, capitalized: bool) {
        let at = stream.joined.len();
        stream.joined.extend_from_slice(word.as_bytes());
        stream.joined.push(b' ');
        stream.tokens.push(Token { start, end, capitalized, at, len: word.len() });
    }

    fn emit(&self, stream: &mut Building, word: &str, start: usize, end: usize, capitalized: bool) {
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
        stream: &mut Building,
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

    /// The word of ASCII letters and digits that starts at `start` of
    /// `text`, read and lowercased eight bytes at a time straight into
    /// `joined`; only the rare word that needs more (squeezing, `anak2`, a
    /// slang entry) goes through [`Normalizer::flush`] from there. Returns
    /// the word's end, or `None` (and emits nothing) when a letter that is
    /// not ASCII follows it: the word is then read a character at a time.
    fn ascii_word(
        &self,
        stream: &mut Building,
        text: &str,
        start: usize,
        raw: &mut String,
        squeezed: &mut String,
    ) -> Option<usize> {
        let bytes = text.as_bytes();
        let at = stream.joined.len();
        let mut i = start;
        // the first eight bytes lowercased: all of a word of up to eight
        let mut head = None;
        let end = loop {
            let x = load8(bytes, i);
            let lower = x | (between(x, b'A' - 1, b'Z' + 1) >> 2);
            head.get_or_insert(lower);
            stream.joined.extend_from_slice(&lower.to_le_bytes());
            let stop = !alnum(x) & HIGH;
            if stop != 0 {
                break i + (stop.trailing_zeros() / 8) as usize;
            }
            i += 8;
        };
        let head = head.unwrap_or_default();
        let len = end - start;
        stream.joined.truncate(at + len);
        if end < bytes.len() && !bytes[end].is_ascii() && text[end..].starts_with(char::is_alphanumeric) {
            stream.joined.truncate(at);
            return None;
        }
        let capitalized = bytes[start].is_ascii_uppercase();
        let word = &stream.joined[at..];
        // three equal letters in a row: in one chunk, where each byte is
        // compared with the next two, else byte by byte
        let triple = if len <= 8 {
            let same = zeros(head ^ (head >> 8));
            let within = if len >= 3 { HIGH & (u64::MAX >> (8 * (10 - len))) } else { 0 };
            same & (same >> 8) & within != 0
        } else {
            word.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
        };
        let own = if len >= 8 { head } else { head & ((1 << (8 * len)) - 1) };
        let bit = slang_bit(own, len);
        let slang = self.slang.get(bit / 64).is_some_and(|w| w & (1 << (bit % 64)) != 0);
        if triple || slang || (len >= 3 && word[len - 1] == b'2') {
            raw.clear();
            raw.extend(word.iter().map(|&b| char::from(b)));
            stream.joined.truncate(at);
            self.flush(stream, raw, !triple, squeezed, start, end, capitalized);
            raw.clear();
        } else {
            stream.joined.push(b' ');
            stream.tokens.push(Token { start, end, capitalized, at, len });
        }
        Some(end)
    }

    /// Normalises `text` into a token stream.
    pub fn stream(&self, text: &str) -> Stream {
        let mut stream = Building {
            tokens: Vec::with_capacity(text.len() / 5),
            joined: Vec::with_capacity(text.len() + text.len() / 4 + 24),
        };
        stream.joined.push(b' ');
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
            // between words, ASCII that is no letter is passed at once
            if raw.is_empty() && b.is_ascii() && !b.is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            // a word of ASCII letters and digits alone, the common case
            if raw.is_empty()
                && b.is_ascii_alphanumeric()
                && let Some(end) = self.ascii_word(&mut stream, text, i, &mut raw, &mut squeezed)
            {
                i = end;
                continue;
            }
            // ASCII byte by byte; anything else decoded
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
        // every byte in is a whole string's or an ASCII letter's
        let joined =
            String::from_utf8(stream.joined).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Stream { tokens: stream.tokens, joined }
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
    fn alnum_end_reads_eight_bytes_as_the_byte_by_byte_test_would() {
        // every byte value at every place of a chunk, at the end of the text or not
        for b in 0..=255u8 {
            for at in 0..10 {
                for tail in [0, 1, 9] {
                    let mut text = vec![b'a'; at];
                    text.push(b);
                    text.extend(std::iter::repeat_n(b'Z', tail));
                    let want = text.iter().position(|c| !c.is_ascii_alphanumeric()).unwrap_or(text.len());
                    assert_eq!(alnum_end(&text, 0), want, "byte {b} at {at}, {tail} after");
                }
            }
        }
    }

    #[test]
    fn ascii_words_and_the_rest_alike() {
        let n = Normalizer::new([("yg", "yang"), ("x", "anak2"), ("tersangkanya", "tersangka dia")]);
        assert_eq!(words(&n, "TERSANGKANYA tersangkanyaa"), ["tersangka", "dia", "tersangkanyaa"]);
        assert_eq!(
            words(&n, "Yg X anak2 2012 12 a2 ab2 AAAh caaat—kota naïve é2 12345678abcdefgh9"),
            [
                "yang",
                "anak",
                "anak",
                "anak",
                "anak",
                "2012",
                "12",
                "a2",
                "ab",
                "ab",
                "ah",
                "cat",
                "kota",
                "naive",
                "e2",
                "12345678abcdefgh9"
            ]
        );
        // every word of up to 19 of `a`, `B`, `2` (runs and `2`s at every
        // place, across the eight-byte chunks), as the byte-by-byte path reads it
        let plain = Normalizer::default();
        for len in 1..20u32 {
            for seed in 0..200u64 {
                let word: String = (0..len)
                    .map(|k| ['a', 'B', '2'][((seed.wrapping_mul(6364136223846793005) >> (k % 40)) % 3) as usize])
                    .collect();
                let folded = fold(&word);
                let want = match folded.strip_suffix('2').filter(|b| b.len() >= 2 && b.chars().all(char::is_alphabetic))
                {
                    Some(b) => vec![b.to_owned(), b.to_owned()],
                    None => vec![folded.clone()],
                };
                assert_eq!(words(&plain, &format!("{word}, {word}")), [want.clone(), want].concat(), "{word}");
            }
        }
        let s = n.stream("Kota—Palu");
        assert_eq!((s.tokens[1].start, s.tokens[1].end, s.tokens[1].capitalized), (7, 11, true));
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
