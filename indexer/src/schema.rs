//! The tantivy schema of the report archive.

use tantivy::schema::{DateOptions, FAST, Field, INDEXED, STORED, STRING, Schema, TEXT};

/// Handles to the fields of the archive's schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The report id (UUID text); the key of every upsert.
    pub id: Field,
    pub title: Field,
    pub text: Field,
    /// Indicator ids found by the classifier.
    pub indicators: Field,
    /// Every region the report is about, at every level (`72`, `72.71`, …),
    /// so a scope or filter on a prefix is one term.
    pub regions: Field,
    pub channel: Field,
    pub received_at: Field,
    pub reported_at: Field,
    /// The whole report with its classification, as wire JSON.
    pub doc: Field,
}

impl Fields {
    pub fn build() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let date = DateOptions::from(INDEXED).set_stored().set_fast();
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            title: b.add_text_field("title", TEXT),
            text: b.add_text_field("text", TEXT),
            indicators: b.add_text_field("indicator", STRING | FAST),
            regions: b.add_text_field("region", STRING | FAST),
            channel: b.add_text_field("channel", STRING | FAST),
            received_at: b.add_date_field("received_at", date.clone()),
            reported_at: b.add_date_field("reported_at", date),
            doc: b.add_bytes_field("doc", STORED),
        };
        (b.build(), fields)
    }
}
