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

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// One normalised token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    /// The original started with an upper-case letter.
    pub capitalized: bool,
}

/// A normalised text.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub tokens: Vec<Token>,
    /// `" t1 t2 … "`.
    pub joined: String,
    /// Where each token starts in `joined`.
    pub starts: Vec<usize>,
}

impl Stream {
    /// The index of the token that covers byte `at` of `joined`.
    pub fn token_at(&self, at: usize) -> usize {
        self.starts.partition_point(|s| *s <= at).saturating_sub(1)
    }
}

/// Folds case and accents of one character into `out`.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for d in c.nfkd() {
        if !is_combining_mark(d) {
            out.extend(d.to_lowercase());
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
    squeeze(&folded)
}

fn squeeze(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last = '\0';
    let mut run = 0;
    let mut pending: Vec<char> = Vec::new();
    for c in word.chars() {
        if c == last {
            run += 1;
        } else {
            out.extend(if run >= 3 { &pending[..1] } else { &pending[..] });
            pending.clear();
            last = c;
            run = 1;
        }
        pending.push(c);
    }
    out.extend(if run >= 3 { &pending[..1] } else { &pending[..] });
    out
}

/// The normaliser, with its table of abbreviations and slang.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    /// Folded token → the folded words it stands for.
    replace: HashMap<String, Vec<String>>,
}

impl Normalizer {
    /// `replace` maps a word as people write it to what it means, in one or
    /// more words (`nyabu` → `pakai sabu`).
    pub fn new<'a>(replace: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let replace =
            replace.into_iter().map(|(from, to)| (fold(from), to.split_whitespace().map(fold).collect())).collect();
        Self { replace }
    }

    fn emit(&self, stream: &mut Stream, word: &str, start: usize, end: usize, capitalized: bool) {
        let push = |stream: &mut Stream, text: &str| {
            stream.joined.push_str(text);
            stream.starts.push(stream.joined.len() - text.len());
            stream.joined.push(' ');
            stream.tokens.push(Token { text: text.to_owned(), start, end, capitalized });
        };
        match self.replace.get(word) {
            Some(words) => words.iter().for_each(|w| push(stream, w)),
            None => push(stream, word),
        }
    }

    /// Normalises `text` into a token stream.
    pub fn stream(&self, text: &str) -> Stream {
        let mut stream =
            Stream { tokens: Vec::new(), joined: String::with_capacity(text.len() + 2), starts: Vec::new() };
        stream.joined.push(' ');
        let mut word = String::new();
        let mut start = 0;
        let mut capitalized = false;
        let flush = |stream: &mut Stream, word: &mut String, start: usize, end: usize, capitalized: bool| {
            if word.is_empty() {
                return;
            }
            let w = squeeze(word);
            // `anak2` is `anak-anak`
            let base = w.strip_suffix('2').filter(|b| b.chars().count() >= 2 && b.chars().all(char::is_alphabetic));
            match base {
                Some(b) => {
                    self.emit(stream, b, start, end, capitalized);
                    self.emit(stream, b, start, end, capitalized);
                }
                None => self.emit(stream, &w, start, end, capitalized),
            }
            word.clear();
        };
        for (i, c) in text.char_indices() {
            if c.is_alphanumeric() {
                if word.is_empty() {
                    start = i;
                    capitalized = c.is_uppercase();
                }
                fold_char(c, &mut word);
            } else {
                flush(&mut stream, &mut word, start, i, capitalized);
            }
        }
        flush(&mut stream, &mut word, start, text.len(), capitalized);
        stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(n: &Normalizer, text: &str) -> Vec<String> {
        n.stream(text).tokens.into_iter().map(|t| t.text).collect()
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
    fn tokens_point_back_into_the_original() {
        let n = Normalizer::default();
        let text = "Warga résah, pesta SABU";
        let s = n.stream(text);
        assert_eq!(s.joined, " warga resah pesta sabu ");
        let sabu = &s.tokens[3];
        assert_eq!(&text[sabu.start..sabu.end], "SABU");
        assert!(s.tokens[0].capitalized && !s.tokens[1].capitalized);
        assert_eq!(s.token_at(s.starts[2] + 3), 2);
    }
}
