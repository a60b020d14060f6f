//! Indonesian text as kentongan reads it, shared by the classifier (rules
//! and geotagging) and the archive (search), so a word means the same in a
//! rule, a report and a query.
//!
//! - [`normalize`]: folding (case, accents, letters repeated), tokens with
//!   their byte offsets, and the table of chat and SMS spellings and slang;
//! - [`morph`]: the affixed forms of a root (`bakar` → `membakar`,
//!   `pembakaran`), and whether a word is one;
//! - [`stem`]: the root of a word (Sastrawi's dictionary, else Tala);
//! - [`gazetteer`]: place names in text over model's Kemendagri list;
//! - [`language`]: the language of a short report from marker words;
//! - `tokenizer` (feature `tantivy`): the search analyser built from the above.

pub mod gazetteer;
pub mod language;
pub mod morph;
pub mod normalize;
pub mod stem;
#[cfg(feature = "tantivy")]
pub mod tokenizer;
