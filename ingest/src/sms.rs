//! SMS from an HTTP gateway: one message (or the parts of a long one) per
//! request. Officers without data use the keyword form
//! `LAPOR <kode wilayah> <isi laporan>`; any other text is a report from the
//! public. The answer carries a `reply` for the gateway to send back.

use std::collections::BTreeMap;

use model::{Account, Channel, RegionCode, Report, ReportId, Reporter};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{Error, Idempotency, quote};

/// Longest sender a gateway may give, in characters: a phone number, with
/// room for spaces and dashes (it keys rate limits and stored parts).
pub const MAX_FROM_CHARS: usize = 40;

/// Most parts of one long message (a concatenated SMS counts them in a byte).
pub const MAX_PARTS: u32 = 255;

/// What a gateway posts, as JSON or as a form (where every value is text,
/// numbers too). Field names of common gateways are accepted as aliases
/// (Twilio's `From`/`Body`/`MessageSid`, SMSSync's `message`…).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Inbound {
    #[serde(alias = "From", alias = "sender", alias = "phone", alias = "msisdn")]
    pub from: String,
    #[serde(alias = "Body", alias = "message", alias = "body")]
    pub text: String,
    /// RFC 3339, or Unix seconds (or milliseconds), as a number or as text.
    #[serde(default, alias = "sent_timestamp", alias = "timestamp")]
    pub sent_at: Option<serde_json::Value>,
    #[serde(default, alias = "MessageSid", alias = "message_id")]
    pub id: Option<String>,
    /// For a long message sent in parts: the same `ref` on every part,
    /// `part` counting from 1, and `parts` in all.
    #[serde(default, alias = "concat_ref")]
    pub r#ref: Option<serde_json::Value>,
    #[serde(default, alias = "concat_part", deserialize_with = "count")]
    pub part: Option<u32>,
    #[serde(default, alias = "concat_total", alias = "total", deserialize_with = "count")]
    pub parts: Option<u32>,
}

/// A count given as a number, or as text (a form); empty text is none.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let bad = |shown: &str| D::Error::custom(format!("`{}` is not a whole number from 1 to {MAX_PARTS}", quote(shown)));
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(serde_json::Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(&s)),
        Some(serde_json::Value::Number(n)) => {
            n.as_u64().and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(|| bad(&n.to_string()))
        }
        Some(other) => Err(bad(&other.to_string())),
    }
}

/// Normalises an Indonesian phone number to `+62…`.
pub fn normalize_phone(raw: &str) -> String {
    let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    if let Some(rest) = digits.strip_prefix('0') { format!("+62{rest}") } else { format!("+{digits}") }
}

impl Inbound {
    pub fn sent_at(&self, now: OffsetDateTime) -> OffsetDateTime {
        let unix = |n: i64| {
            // SMSSync sends milliseconds
            let secs = if n > 100_000_000_000 { n / 1000 } else { n };
            OffsetDateTime::from_unix_timestamp(secs).ok()
        };
        let given = match &self.sent_at {
            Some(serde_json::Value::String(s)) => {
                OffsetDateTime::parse(s.trim(), &Rfc3339).ok().or_else(|| s.trim().parse::<i64>().ok().and_then(unix))
            }
            Some(serde_json::Value::Number(n)) => n.as_i64().and_then(unix),
            _ => None,
        };
        crate::sent_time(given, now)
    }

    /// Checks what a gateway says of the sender and the parts (HTTP 422).
    pub fn check(&self) -> Result<(), Error> {
        let invalid = |field, message: String, pesan: String| Err(Error::Invalid { field, message, pesan });
        if !self.from.chars().any(|c| c.is_ascii_digit()) || self.from.chars().count() > MAX_FROM_CHARS {
            let from = quote(&self.from);
            return invalid("from", format!("`{from}` is not a phone number"), format!("`{from}` bukan nomor telepon"));
        }
        let max = crate::submission::MAX_ID_CHARS;
        let longer = || (format!("is longer than {max} characters"), format!("lebih dari {max} karakter"));
        if self.id.as_ref().is_some_and(|id| id.chars().count() > max) {
            let (message, pesan) = longer();
            return invalid("id", message, pesan);
        }
        if self.r#ref.as_ref().is_some_and(|r| r.to_string().chars().count() > max) {
            let (message, pesan) = longer();
            return invalid("ref", message, pesan);
        }
        let parts = self.parts.unwrap_or(1);
        if !(1..=MAX_PARTS).contains(&parts) {
            return invalid(
                "parts",
                format!("{parts} is not from 1 to {MAX_PARTS}"),
                format!("{parts} tidak di antara 1 dan {MAX_PARTS}"),
            );
        }
        if let Some(part) = self.part
            && !(1..=parts).contains(&part)
        {
            return invalid(
                "part",
                format!("{part} is not from 1 to parts ({parts})"),
                format!("{part} tidak di antara 1 dan parts ({parts})"),
            );
        }
        Ok(())
    }

    /// The key that ties the parts of one long message together.
    pub fn parts_key(&self) -> Option<String> {
        let total = self.parts.filter(|p| *p > 1)?;
        let r = match self.r#ref.as_ref()? {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some(format!("{}/{r}/{total}", normalize_phone(&self.from)))
    }
}

/// The parts of a long message received so far, kept until all arrive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub from: String,
    pub total: u32,
    pub parts: BTreeMap<u32, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    pub ids: Vec<String>,
}

impl Pending {
    pub fn complete(&self) -> bool {
        (1..=self.total).all(|p| self.parts.contains_key(&p))
    }

    /// The text so far; a gap where a part never came.
    pub fn text(&self) -> String {
        (1..=self.total).map(|p| self.parts.get(&p).map_or("[…]", String::as_str)).collect::<Vec<_>>().join("")
    }
}

/// The format officers are asked to use.
pub const FORMAT: &str = "Format: LAPOR <kode wilayah> <isi laporan>, contoh: LAPOR 72.71 ada bentrok di pasar";

/// Makes a report of a whole message from `from`, or the reply explaining
/// what is wrong with it.
pub fn interpret(
    from: &str,
    text: &str,
    sent_at: OffsetDateTime,
    now: OffsetDateTime,
    id: Option<String>,
) -> Result<Report, String> {
    let text = crate::plain(text);
    let text = text.trim();
    let mut words = text.splitn(3, char::is_whitespace);
    let (region, body) = match words.next() {
        Some(w) if w.eq_ignore_ascii_case("lapor") => {
            let code = words.next().unwrap_or_default();
            let body = words.next().unwrap_or_default().trim();
            let region = RegionCode::parse(code)
                .map_err(|_| format!("Kode wilayah `{}` tidak dikenal. {FORMAT}", quote(code)))?;
            if body.is_empty() {
                return Err(format!("Isi laporan kosong. {FORMAT}"));
            }
            (Some(region), body)
        }
        _ if text.is_empty() => return Err(format!("Pesan kosong. {FORMAT}")),
        _ => (None, text),
    };
    let from = normalize_phone(from);
    Ok(Report {
        reported_at: sent_at,
        reporter: Some(Reporter { account: None, name: None, contact: Some(from) }),
        region,
        external_id: id,
        ..Report::new(Channel::Sms, "sms", body.to_owned(), now)
    })
}

/// What became of one gateway request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The report made, once the whole message is in.
    pub id: Option<ReportId>,
    /// The text to send back to the sender.
    pub reply: String,
    pub accepted: bool,
}

/// Takes one message or one part of a long one. A part is kept durably
/// until its siblings arrive (or [`flush_expired`] gives up waiting).
/// `account` is the account registered with the sender's number, if any.
pub async fn receive(intake: &crate::Intake, inbound: Inbound, account: Option<Account>) -> Result<Outcome, Error> {
    inbound.check()?;
    let now = intake.now();
    let sent_at = inbound.sent_at(now);
    let Some(key) = inbound.parts_key() else {
        return finish(intake, &inbound.from, &inbound.text, sent_at, inbound.id.clone(), account).await;
    };
    let store = intake.store().clone();
    let k = key.clone();
    let mut pending: Pending = tokio::task::spawn_blocking(move || store.sms_parts(&k))
        .await
        .map_err(|e| Error::Storage(e.to_string()))??
        .unwrap_or(Pending {
            from: inbound.from.clone(),
            total: inbound.parts.unwrap_or(1),
            parts: BTreeMap::new(),
            first_at: now,
            sent_at,
            ids: Vec::new(),
        });
    let part = inbound.part.unwrap_or(1).clamp(1, pending.total);
    // a part is kept until its siblings come: no longer than a whole report
    let mut text = inbound.text.clone();
    crate::cut(&mut text, intake.config().max_text_chars);
    pending.parts.insert(part, text);
    pending.ids.extend(inbound.id.clone());
    let store = intake.store().clone();
    if !pending.complete() {
        let k = key.clone();
        let p = pending.clone();
        tokio::task::spawn_blocking(move || store.put_sms_parts(&k, Some(&p)))
            .await
            .map_err(|e| Error::Storage(e.to_string()))??;
        return Ok(Outcome { id: None, reply: String::new(), accepted: true });
    }
    let outcome =
        finish(intake, &pending.from, &pending.text(), pending.sent_at, pending.ids.first().cloned(), account).await?;
    tokio::task::spawn_blocking(move || store.put_sms_parts::<Pending>(&key, None))
        .await
        .map_err(|e| Error::Storage(e.to_string()))??;
    Ok(outcome)
}

async fn finish(
    intake: &crate::Intake,
    from: &str,
    text: &str,
    sent_at: OffsetDateTime,
    id: Option<String>,
    account: Option<Account>,
) -> Result<Outcome, Error> {
    let mut report = match interpret(from, text, sent_at, intake.now(), id.clone()) {
        Ok(report) => report,
        Err(reply) => return refuse(intake, from, text, reply.clone(), &reply).await,
    };
    if let Some(account) = account {
        if let Some(r) = report.reporter.as_mut() {
            r.account = Some(account.name.clone());
        }
        if let Err(e) = crate::within_scope(&mut report, &account.scope()) {
            let reply = crate::outside_reply(&report, &account.scope());
            return refuse(intake, from, text, reply, &e.to_string()).await;
        }
    }
    // the gateway's id, under the number it verified the message came from
    let key = id.map(|i| Idempotency::of(format!("sms/{}/{i}", normalize_phone(from)), &[text.as_bytes()]));
    let accepted = intake.accept_once(key, report).await?;
    // so the sender may ask its status by the receipt number
    crate::status::keep(intake.store(), &normalize_phone(from), accepted.id).await;
    let reply = format!("Laporan diterima, nomor {}. Terima kasih.", crate::receipt(accepted.id));
    Ok(Outcome { id: Some(accepted.id), reply, accepted: true })
}

/// Keeps a message that makes no report on `deadletter`, and answers the
/// sender why.
async fn refuse(intake: &crate::Intake, from: &str, text: &str, reply: String, reason: &str) -> Result<Outcome, Error> {
    let original = serde_json::json!({ "from": normalize_phone(from), "text": text }).to_string();
    intake.deadletter("sms", original.as_bytes(), reason).await?;
    Ok(Outcome { id: None, reply, accepted: false })
}

/// Takes long messages whose parts stopped coming `wait` ago as they are,
/// with a gap marked where a part is missing. Runs until the process stops.
pub async fn flush_expired(intake: crate::Intake, wait: std::time::Duration) {
    let every = (wait / 4).clamp(std::time::Duration::from_millis(100), std::time::Duration::from_secs(15));
    let wait = time::Duration::try_from(wait).unwrap_or(time::Duration::minutes(10));
    loop {
        tokio::time::sleep(every).await;
        let store = intake.store().clone();
        let Ok(Ok(all)) = tokio::task::spawn_blocking(move || store.all_sms_parts::<Pending>()).await else {
            continue;
        };
        for (key, pending) in all.into_iter().filter(|(_, p)| intake.now() - p.first_at > wait) {
            let id = pending.ids.first().cloned();
            match finish(&intake, &pending.from, &pending.text(), pending.sent_at, id, None).await {
                Ok(_) => {
                    let store = intake.store().clone();
                    let _ = tokio::task::spawn_blocking(move || store.put_sms_parts::<Pending>(&key, None)).await;
                }
                Err(e) => tracing::warn!(error = %e, "could not take an incomplete long SMS yet"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn keyword_and_public_messages() {
        let now = datetime!(2026-11-29 10:00 UTC);
        let r = interpret("0812-3456-7890", "LAPOR 72.71 ada bentrok di pasar", now, now, None).unwrap();
        assert_eq!(r.region.unwrap().as_str(), "72.71");
        assert_eq!(r.text, "ada bentrok di pasar");
        assert_eq!(r.reporter.unwrap().contact.as_deref(), Some("+6281234567890"));
        let r = interpret("+6281", "lapor 72.71.02 tawuran pelajar", now, now, None).unwrap();
        assert_eq!(r.region.unwrap().as_str(), "72.71.02");
        let public = interpret("+6281", "tolong, ada pesta sabu di gang", now, now, None).unwrap();
        assert_eq!(public.region, None);
        assert!(interpret("+6281", "LAPOR 99 x", now, now, None).unwrap_err().contains("99"));
        assert!(interpret("+6281", "LAPOR 72.71", now, now, None).unwrap_err().starts_with("Isi laporan kosong"));
    }

    #[test]
    fn parts_join_in_order_with_gaps_marked() {
        let t = datetime!(2026-11-29 10:00 UTC);
        let mut p =
            Pending { from: String::new(), total: 3, parts: BTreeMap::new(), first_at: t, sent_at: t, ids: vec![] };
        p.parts.insert(3, "akhir.".into());
        p.parts.insert(1, "awal ".into());
        assert!(!p.complete());
        assert_eq!(p.text(), "awal […]akhir.");
        p.parts.insert(2, "tengah ".into());
        assert!(p.complete());
        assert_eq!(p.text(), "awal tengah akhir.");
    }

    #[test]
    fn counts_come_as_numbers_or_as_text() {
        let form: Inbound = serde_json::from_str(
            r#"{"from":"0812","text":"a","ref":"9","part":"1","parts":" 2 ","sent_at":"1764410000000"}"#,
        )
        .unwrap();
        assert_eq!((form.part, form.parts), (Some(1), Some(2)));
        assert_eq!(form.sent_at(datetime!(2026-11-29 10:00 UTC)), datetime!(2025-11-29 09:53:20 UTC));
        let empty: Inbound = serde_json::from_str(r#"{"from":"0812","text":"a","part":"","parts":""}"#).unwrap();
        assert_eq!((empty.part, empty.parts), (None, None));
        let long = "x".repeat(100_000);
        let e = serde_json::from_str::<Inbound>(&format!(r#"{{"from":"0812","text":"a","part":"{long}"}}"#))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 300 && e.contains("whole number"), "{}", &e[..300.min(e.len())]);
        assert!(serde_json::from_str::<Inbound>(r#"{"from":"0812","text":"a","part":-1}"#).is_err());
    }

    #[test]
    fn senders_and_parts_are_checked() {
        let inbound = |json: &str| serde_json::from_str::<Inbound>(json).unwrap().check();
        assert!(inbound(r#"{"from":"0812","text":"a","ref":1,"part":2,"parts":2}"#).is_ok());
        let field = |r: Result<(), Error>| match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(inbound(r#"{"from":"0812","text":"a","ref":1,"part":3,"parts":2}"#)), "part");
        assert_eq!(field(inbound(r#"{"from":"0812","text":"a","ref":1,"part":0,"parts":2}"#)), "part");
        assert_eq!(field(inbound(r#"{"from":"0812","text":"a","ref":1,"part":1,"parts":4000000000}"#)), "parts");
        assert_eq!(field(inbound(r#"{"from":"anonim","text":"a"}"#)), "from");
        let long_from = format!(r#"{{"from":"0812{}","text":"a"}}"#, "9".repeat(100_000));
        assert_eq!(field(inbound(&long_from)), "from");
        let long_ref = format!(r#"{{"from":"0812","text":"a","ref":"{}","part":1,"parts":2}}"#, "r".repeat(100_000));
        assert_eq!(field(inbound(&long_ref)), "ref");
        // a time before 2000 is not believed
        let old: Inbound =
            serde_json::from_str(r#"{"from":"0812","text":"a","sent_at":"1900-01-01T00:00:00Z"}"#).unwrap();
        let now = datetime!(2026-11-29 10:00 UTC);
        assert_eq!(old.sent_at(now), now);
    }

    #[test]
    fn gateway_aliases() {
        let twilio: Inbound = serde_json::from_str(r#"{"From":"+6281","Body":"halo","MessageSid":"SM1"}"#).unwrap();
        assert_eq!((twilio.from.as_str(), twilio.text.as_str(), twilio.id.as_deref()), ("+6281", "halo", Some("SM1")));
        let part: Inbound = serde_json::from_str(r#"{"from":"0812","text":"a","ref":17,"part":1,"parts":2}"#).unwrap();
        assert_eq!(part.parts_key().as_deref(), Some("+62812/17/2"));
    }
}
