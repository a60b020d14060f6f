//! The webhook bodies of the chat bots and the SMS gateway. Each input is
//! tried as all of them:
//! - a Telegram `Update` (`ingest::telegram::parse`);
//! - a WhatsApp Cloud API notification, its signature checked first
//!   (`ingest::whatsapp::verify_signature`, `parse`);
//! - an SMS gateway message as JSON, and as a form (read as the API reads
//!   it: each field a string), its time and parts worked out and its parts
//!   joined as `sms::receive` and `flush_expired` join them;
//! - a message in the email channel's mailbox (`ingest::imap::parse`).
//!
//! Every report made is sent through the wire format, the classifier and
//! the alert windows.

#![no_main]

use std::collections::BTreeMap;

use ingest::sms::{Inbound, Pending};
use ingest::{imap, sms, telegram, whatsapp};
use kentongan_fuzz::{NOW, pipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(update) = serde_json::from_slice::<telegram::Update>(data) {
        match telegram::parse(&update, NOW) {
            telegram::Parsed::Report { report, .. } => pipeline(&report),
            telegram::Parsed::Command { chat, message } => {
                let _ = serde_json::to_string(&telegram::reply(chat, message, telegram::HELP));
            }
            telegram::Parsed::Status { asked, .. } => status(asked),
            telegram::Parsed::Nothing(reason) => assert!(!reason.is_empty()),
        }
    }
    // a message in the mailbox of the email channel, as the IMAP poller reads it
    match imap::parse(data, NOW, Some("mx.kesbang.example"), false) {
        imap::Parsed::Report { report, sender, .. } => {
            assert!(sender.contains('@'));
            pipeline(&report);
        }
        imap::Parsed::Status { asked, .. } => status(asked),
        imap::Parsed::Nothing(reason) => assert!(!reason.is_empty()),
    }
    assert!(whatsapp::verify_signature("rahasia", data, Some("sha256=00")).is_err());
    if let Ok(notification) = serde_json::from_slice::<whatsapp::Notification>(data) {
        let (incoming, _skipped) = whatsapp::parse(&notification, NOW);
        for m in incoming {
            assert!(m.sender.starts_with('+'));
            pipeline(&m.report);
        }
    }
    if let Ok(inbound) = serde_json::from_slice::<Inbound>(data) {
        sms(inbound);
    }
    // as `api::webhooks::sms` reads a form
    let form: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    if let Ok(inbound) = serde_json::from_value::<Inbound>(serde_json::Value::Object(form)) {
        sms(inbound);
    }
});

/// A status request names a receipt (`KTN-` and eight hex digits) or says
/// how to ask.
fn status(asked: Result<String, String>) {
    match asked {
        Ok(receipt) => assert!(receipt.len() == 12 && receipt.starts_with("KTN-"), "{receipt}"),
        Err(how) => assert!(!how.is_empty()),
    }
}

/// What `sms::receive` does with one message, without the store: checked; a
/// single message is interpreted at once; a part waits in a [`Pending`] that
/// is joined when complete, or as it is when its wait ends.
fn sms(inbound: Inbound) {
    if let Err(e) = inbound.check() {
        // answered 422
        assert!(!e.to_string().is_empty());
        return;
    }
    let sent_at = inbound.sent_at(NOW);
    assert!(sent_at <= NOW);
    let text = match inbound.parts_key() {
        None => inbound.text.clone(),
        Some(_) => {
            let mut pending = Pending {
                from: inbound.from.clone(),
                total: inbound.parts.unwrap_or(1),
                parts: BTreeMap::new(),
                first_at: NOW,
                sent_at,
                ids: Vec::new(),
            };
            let part = inbound.part.unwrap_or(1).clamp(1, pending.total);
            pending.parts.insert(part, inbound.text.clone());
            pending.ids.extend(inbound.id.clone());
            let _ = pending.complete();
            pending.text()
        }
    };
    match sms::interpret(&inbound.from, &text, sent_at, NOW, inbound.id.clone()) {
        Ok(report) => pipeline(&report),
        Err(reply) => assert!(reply.contains("LAPOR")),
    }
}
