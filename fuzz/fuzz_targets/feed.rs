//! A polled RSS, Atom or JSON feed: parsed (feed-rs), each entry made a
//! report (`ingest::feeds::item_report`, HTML turned to text), and sent
//! through the wire format, the classifier and the alert windows.

#![no_main]

use ingest::FeedConfig;
use kentongan_fuzz::{NOW, pipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = feed_rs::parser::parse(data) else { return };
    let feed: FeedConfig = serde_json::from_value(serde_json::json!({
        "url": "https://berita.example.id/rss",
        "name": "berita",
        "region": "72.71",
    }))
    .expect("a feed");
    for entry in &parsed.entries {
        if let Some(report) = ingest::feeds::item_report(&feed, entry, NOW) {
            assert!(!report.text.is_empty());
            pipeline(&report);
        }
    }
});
