//! Replies to reporters: a note sent back to the person who made a report,
//! over the channel the report came by (Telegram, WhatsApp, SMS, email), and
//! what became of each attempt. They travel on the `replies` topic, keyed by
//! report id: the api node that takes a reply publishes `requested`, the
//! alerter keeps it in its outbox until it is sent and publishes each
//! attempt as `delivered`, and every api node keeps the history.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Channel, Report, ReportId};

/// Longest reply text, in characters.
pub const MAX_REPLY_CHARS: usize = 1000;

/// Who sends the automatic replies (receipts and status answers).
pub const SYSTEM: &str = "kentongan";

/// A short receipt number for people: the last eight hex digits of the id.
pub fn receipt(id: ReportId) -> String {
    let s = id.0.simple().to_string().to_uppercase();
    format!("KTN-{}", &s[s.len() - 8..])
}

/// A note to a reporter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reply {
    pub id: Uuid,
    /// The report it answers.
    pub report: ReportId,
    /// The alert it was sent for, when it was sent to the reporters of an alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Uuid>,
    /// The channel the report came by, and the reply goes by.
    pub channel: Channel,
    /// Where it goes: an email address, a phone number (`+62…`), a Telegram chat id.
    pub to: String,
    /// The message it answers, where the channel threads replies: a Telegram
    /// message id, an email's Message-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<String>,
    pub text: String,
    /// Who wrote it: an account name, or `kentongan` for receipts and status answers.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where a reply to a report goes, as the channel verified its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub channel: Channel,
    pub to: String,
    pub answers: Option<String>,
}

impl Target {
    /// Where a reply to `report` goes: back over its channel to the sender
    /// the channel verified. `None` for a report made through the API, the
    /// web or a feed (no one to send to but its account, which reads its
    /// reports in the app).
    pub fn of(report: &Report) -> Option<Target> {
        let contact = report.reporter.as_ref().and_then(|r| r.contact.clone()).filter(|c| !c.is_empty());
        let target = |to: String, answers: Option<String>| Some(Target { channel: report.channel, to, answers });
        match report.channel {
            Channel::Telegram => {
                // the chat and message the report came in, else the sender's own chat
                let from_id = report.external_id.as_deref().and_then(|e| e.split_once(':'));
                match from_id {
                    Some((chat, message)) if chat.parse::<i64>().is_ok() => {
                        target(chat.to_owned(), Some(message.to_owned()).filter(|m| m.parse::<i64>().is_ok()))
                    }
                    _ => target(contact?.strip_prefix("telegram:")?.to_owned(), None),
                }
            }
            Channel::Whatsapp | Channel::Sms => target(contact.filter(|c| c.starts_with('+'))?, None),
            Channel::Email => target(contact.filter(|c| c.contains('@'))?, report.external_id.clone()),
            Channel::App | Channel::Web | Channel::Feed => None,
        }
    }
}

/// What became of one attempt to send a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyState {
    /// Waiting for its first attempt.
    Pending,
    /// The mail server, gateway or platform took it.
    Sent,
    /// This attempt failed; it is tried again.
    Retrying,
    /// Given up: the error says why.
    Failed,
}

/// One attempt to send a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplyDelivery {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Counting from 1.
    pub attempt: u32,
    pub state: ReplyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A record of the `replies` topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReplyEvent {
    /// Someone asked for a reply to be sent.
    Requested { reply: Reply },
    /// An attempt to send it.
    Delivered { reply_id: Uuid, report: ReportId, delivery: ReplyDelivery },
}

impl ReplyEvent {
    /// The report it is about, which keys it on the topic.
    pub fn report(&self) -> ReportId {
        match self {
            ReplyEvent::Requested { reply } => reply.report,
            ReplyEvent::Delivered { report, .. } => *report,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::Reporter;

    fn report(channel: Channel, contact: Option<&str>, external_id: Option<&str>) -> Report {
        Report {
            reporter: Some(Reporter { account: None, name: None, contact: contact.map(Into::into) }),
            external_id: external_id.map(Into::into),
            ..Report::new(channel, channel.as_str(), "ada bentrok", datetime!(2026-11-30 10:00 UTC))
        }
    }

    #[test]
    fn replies_go_back_to_the_verified_sender() {
        let t = Target::of(&report(Channel::Telegram, Some("telegram:42"), Some("-100:7"))).unwrap();
        assert_eq!((t.to.as_str(), t.answers.as_deref()), ("-100", Some("7")));
        let t = Target::of(&report(Channel::Telegram, Some("telegram:42"), None)).unwrap();
        assert_eq!((t.to.as_str(), t.answers), ("42", None));
        let t = Target::of(&report(Channel::Sms, Some("+6281234"), Some("SM1"))).unwrap();
        assert_eq!((t.channel, t.to.as_str(), t.answers), (Channel::Sms, "+6281234", None));
        let t = Target::of(&report(Channel::Email, Some("rt05@desa.example"), Some("<a@b>"))).unwrap();
        assert_eq!((t.to.as_str(), t.answers.as_deref()), ("rt05@desa.example", Some("<a@b>")));
        // made through the API: nobody the server verified to send to
        assert_eq!(Target::of(&report(Channel::Email, None, Some("x"))), None);
        assert_eq!(Target::of(&report(Channel::Web, Some("+6281"), None)), None);
        assert_eq!(Target::of(&report(Channel::Sms, Some("telegram:1"), None)), None);
    }

    #[test]
    fn events_round_trip_on_the_wire() {
        let at = datetime!(2026-11-30 10:00 UTC);
        let reply = Reply {
            id: Uuid::now_v7(),
            report: ReportId(Uuid::now_v7()),
            alert: None,
            channel: Channel::Sms,
            to: "+6281".into(),
            answers: None,
            text: "Terima kasih, petugas sudah ke lokasi.".into(),
            by: "operator-palu".into(),
            at,
        };
        let event = ReplyEvent::Requested { reply: reply.clone() };
        let bytes = crate::wire::encode(&event);
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((json["event"].as_str(), json["v"].as_u64()), (Some("requested"), Some(1)));
        assert_eq!(crate::wire::decode::<ReplyEvent>(&bytes).unwrap(), event);
        let delivered = ReplyEvent::Delivered {
            reply_id: reply.id,
            report: reply.report,
            delivery: ReplyDelivery { at, attempt: 1, state: ReplyState::Sent, error: None },
        };
        assert_eq!(crate::wire::decode::<ReplyEvent>(&crate::wire::encode(&delivered)).unwrap(), delivered);
        assert_eq!(delivered.report(), reply.report);
    }
}
