//! An SMS as officers and the public send it: `LAPOR <kode wilayah> <isi>`
//! or free text (`ingest::sms::interpret`). With two or more lines, the first
//! is the sender's number as the gateway gives it. A report made is sent
//! through the wire format, the classifier and the alert windows; a refusal
//! must carry the reply that explains the format.

#![no_main]

use kentongan_fuzz::{NOW, pipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let (from, text) = match input.split_once('\n') {
        Some((from, text)) => (from, text),
        None => ("0812-3456-7890", &*input),
    };
    let phone = ingest::sms::normalize_phone(from);
    assert!(phone.starts_with('+'));
    match ingest::sms::interpret(from, text, NOW, NOW, Some("m-1".into())) {
        Ok(report) => {
            assert!(!report.text.trim().is_empty());
            pipeline(&report);
        }
        Err(reply) => assert!(reply.contains("LAPOR"), "{reply}"),
    }
});
