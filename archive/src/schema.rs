//! The tantivy schema of the report archive.
//!
//! The schema has a version, and the text analysis a fingerprint. A node
//! keeps its index in `index-v<N>-<analysis>` and feeds it under its own
//! consumer group for both, so a node that starts with a new schema or a new
//! analysis builds a new index from the `classified` topic by itself, and
//! drops the folders of other versions.

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions,
};

use bahasa::tokenizer as analysis;

/// Raise when a change to the fields needs the index rebuilt.
pub const VERSION: u32 = 4;

/// The index folder under `data_dir`: the schema version and the text
/// analysis it was built with ([`analysis::fingerprint`]), so a release that
/// changes either builds a new index from the log.
pub fn folder() -> String {
    format!("index-v{VERSION}-{}", analysis::fingerprint())
}

/// The consumer group that keeps the index of node `node` current; it names
/// the same version and analysis as [`folder`].
pub fn group(node: &str) -> String {
    format!("search-v{VERSION}-{}-{node}", analysis::fingerprint())
}

/// Handles to the fields of the archive's schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// The report id (UUID text); the key of every upsert.
    pub id: Field,
    /// The low 64 bits of the id: the tie-break of every sort.
    pub seq: Field,
    /// Title and text, analysed for Indonesian ([`bahasa::tokenizer`]), with positions for phrases.
    pub title: Field,
    pub text: Field,
    /// Indicator ids found by the classifier.
    pub indicators: Field,
    /// Every region the report is about, at every level (`72`, `72.71`, …),
    /// so a scope or filter on a prefix is one term.
    pub regions: Field,
    /// The report's main region (its own, else the first found in the text)
    /// at every level: what statistics count by, as ClickHouse does.
    pub area: Field,
    /// The province and regency of the main region (empty when unknown).
    pub province: Field,
    pub regency: Field,
    pub channel: Field,
    pub source: Field,
    /// The account that sent the report (`reporter.account`; empty when
    /// none): a reporter's own reports.
    pub account: Field,
    pub language: Field,
    /// The sum of the indicators' scores.
    pub score: Field,
    pub rules_version: Field,
    pub received_at: Field,
    pub reported_at: Field,
    /// The day of `reported_at` in UTC+7 (days since 1970-01-01): the day
    /// statistics count it on, as ClickHouse's `toDate(reported_at, 'Asia/Jakarta')`.
    pub day: Field,
    /// The whole report with its classification, as wire JSON.
    pub doc: Field,
}

impl Fields {
    pub fn build() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let date = DateOptions::from(INDEXED).set_stored().set_fast().set_precision(DateTimePrecision::Microseconds);
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analysis::INDONESIAN)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let keyword = STRING | FAST;
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            seq: b.add_u64_field("seq", FAST),
            title: b.add_text_field("title", text.clone()),
            text: b.add_text_field("text", text),
            indicators: b.add_text_field("indicator", keyword.clone()),
            regions: b.add_text_field("region", keyword.clone()),
            area: b.add_text_field("area", keyword.clone()),
            province: b.add_text_field("province", keyword.clone()),
            regency: b.add_text_field("regency", keyword.clone()),
            channel: b.add_text_field("channel", keyword.clone()),
            source: b.add_text_field("source", keyword.clone()),
            account: b.add_text_field("account", STRING),
            language: b.add_text_field("language", keyword.clone()),
            score: b.add_f64_field("score", INDEXED | FAST),
            rules_version: b.add_text_field("rules_version", keyword),
            received_at: b.add_date_field("received_at", date.clone()),
            reported_at: b.add_date_field("reported_at", date),
            day: b.add_u64_field("day", FAST),
            doc: b.add_bytes_field("doc", STORED),
        };
        (b.build(), fields)
    }
}
