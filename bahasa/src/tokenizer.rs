//! How title and text are analysed for search, the same way for reports and
//! for queries, and the same way the rules read them: the bundled
//! normaliser ([`Normalizer::bundled`]: case and accents folded, letters
//! repeated three times or more squeezed, `anak2` made `anak anak`, chat
//! spellings such as `yg` replaced from the slang table), then each word
//! reduced to its root ([`crate::stem`]). So an analyst's `anak-anak` finds
//! a chat's `anak2`, `yang` finds `yg` and `banget` finds `bangettt`.
//!
//! What a text is indexed as depends on this code and on the slang table:
//! [`fingerprint`] names both, and the archive keeps its index under that
//! name, so a release that analyses differently rebuilds its index from the
//! log instead of answering from one analysed another way.

use tantivy::Index;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use crate::normalize::{Normalizer, Stream, bundled_table};
use crate::stem::stem;

/// The name the analyser is registered under, used by the schema.
pub const INDONESIAN: &str = "id_stem";

/// Raise when a change to this analysis (here, in the normaliser or in the
/// stemmer) changes the terms a text is indexed as.
const REVISION: u32 = 3;

/// Words this long or longer are not indexed (as tantivy's `RemoveLongFilter`).
const LONGEST: usize = 60;

/// Registers the analyser with `index`; needed before writing or querying.
pub fn register(index: &Index) {
    index.tokenizers().register(INDONESIAN, TextAnalyzer::from(IndonesianTokenizer));
}

/// Eight hex digits naming this analysis: [`REVISION`] and the bundled slang
/// table (its entries, not its comments). FNV-1a, so it stays the same
/// across builds and platforms.
pub fn fingerprint() -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    };
    eat(&REVISION.to_le_bytes());
    for (from, to) in bundled_table() {
        eat(from.as_bytes());
        eat(&[0]);
        eat(to.as_bytes());
        eat(&[0]);
    }
    format!("{hash:08x}")
}

/// Normalises a text with [`Normalizer::bundled`] and stems each word.
#[derive(Clone, Default)]
struct IndonesianTokenizer;

impl Tokenizer for IndonesianTokenizer {
    type TokenStream<'a> = IndonesianStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> IndonesianStream {
        IndonesianStream { words: Normalizer::bundled().stream(text), next: 0, token: Token::default() }
    }
}

/// The stemmed words of a normalised text. A word the slang table replaces
/// with several (`anak2`, `nyabu`) gives a token for each, at consecutive
/// positions and each spanning the word as written, so phrases match and
/// snippets mark the original.
struct IndonesianStream {
    words: Stream,
    next: usize,
    token: Token,
}

impl TokenStream for IndonesianStream {
    fn advance(&mut self) -> bool {
        while self.next < self.words.tokens.len() {
            let i = self.next;
            self.next += 1;
            let word = self.words.word(i);
            if word.len() >= LONGEST {
                continue;
            }
            let t = &self.words.tokens[i];
            self.token =
                Token { offset_from: t.start, offset_to: t.end, position: i, text: stem(word), position_length: 1 };
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse(text: &str) -> Vec<(String, usize, &str)> {
        let mut analyzer = TextAnalyzer::from(IndonesianTokenizer);
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.position, &text[t.offset_from..t.offset_to]));
        }
        out
    }

    fn terms(text: &str) -> Vec<String> {
        analyse(text).into_iter().map(|(t, _, _)| t).collect()
    }

    #[test]
    fn chat_spellings_and_standard_words_are_the_same_terms() {
        // (as an analyst types it, as a chat writes it)
        for (query, chat) in [
            ("anak-anak", "anak2"),
            ("yang", "yg"),
            ("banget", "bangettt"),
            ("BANGET", "bgt"),
            ("pakai sabu", "nyabu"),
            ("rumah-rumah dibakar", "rmh2 dibakarrr"),
            ("Tidak", "gak"),
        ] {
            assert_eq!(terms(query), terms(chat), "{query} / {chat}");
        }
        assert_eq!(terms("Pembakaran, dibakar; membakar"), ["bakar"; 3]);
    }

    #[test]
    fn tokens_keep_positions_and_point_at_the_word_as_written() {
        assert_eq!(
            analyse("Ada anak2 yg nyabu"),
            [
                ("ada".into(), 0, "Ada"),
                ("anak".into(), 1, "anak2"),
                ("anak".into(), 2, "anak2"),
                ("yang".into(), 3, "yg"),
                ("pakai".into(), 4, "nyabu"),
                ("sabu".into(), 5, "nyabu"),
            ]
        );
        // a word of 60 letters or more is left out, the rest keep their places
        let long = "ab".repeat(30);
        assert_eq!(analyse(&format!("sabu {long} sabu")), [("sabu".into(), 0, "sabu"), ("sabu".into(), 2, "sabu")]);
    }

    #[test]
    fn the_fingerprint_names_the_revision_and_the_table() {
        let f = fingerprint();
        assert_eq!((f.len(), f.chars().all(|c| c.is_ascii_hexdigit())), (8, true), "{f}");
        assert_eq!(f, fingerprint());
    }
}
