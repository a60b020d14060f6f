//! How title and text are analysed for search, the same way for reports and
//! for queries: words are folded (case, accents, letters repeated three times
//! or more, as the classifier folds them, [`crate::normalize::fold`]), and
//! each word is reduced to its root ([`crate::stem`]).

use tantivy::Index;
use tantivy::tokenizer::{RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer};

use crate::normalize::fold;
use crate::stem::stem;

/// The name the analyser is registered under, used by the schema.
pub const INDONESIAN: &str = "id_stem";

/// Registers the analyser with `index`; needed before writing or querying.
pub fn register(index: &Index) {
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(IndonesianFilter)
        .build();
    index.tokenizers().register(INDONESIAN, analyzer);
}

/// Folds and stems each token.
#[derive(Clone)]
struct IndonesianFilter;

impl TokenFilter for IndonesianFilter {
    type Tokenizer<T: Tokenizer> = IndonesianTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        IndonesianTokenizer { inner: tokenizer }
    }
}

#[derive(Clone)]
struct IndonesianTokenizer<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for IndonesianTokenizer<T> {
    type TokenStream<'a> = IndonesianStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        IndonesianStream { tail: self.inner.token_stream(text) }
    }
}

struct IndonesianStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for IndonesianStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        token.text = stem(&fold(&token.text));
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
