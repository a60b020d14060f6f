//! The Telegram Bot API webhook: `Update` objects in, reports out, and the
//! reply (a receipt number) sent back in the webhook's own answer, which the
//! Bot API allows, so no outbound call is needed.

use model::{Attachment, Channel, GeoPoint, Report, Reporter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An incoming update (only what reports need; other fields are ignored).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TelegramUpdate)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub edited_message: Option<Message>,
    #[serde(default)]
    pub channel_post: Option<Message>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TelegramMessage)]
pub struct Message {
    pub message_id: i64,
    #[serde(default)]
    pub from: Option<User>,
    pub chat: Chat,
    pub date: i64,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub photo: Vec<PhotoSize>,
    #[serde(default)]
    pub document: Option<Document>,
    #[serde(default)]
    pub voice: Option<Document>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TelegramUser)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TelegramChat)]
pub struct Chat {
    pub id: i64,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[schema(as = TelegramLocation)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TelegramPhotoSize)]
pub struct PhotoSize {
    pub file_id: String,
    pub file_unique_id: String,
    #[serde(default)]
    pub file_size: Option<u64>,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TelegramDocument)]
pub struct Document {
    pub file_id: String,
    pub file_unique_id: String,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub file_size: Option<u64>,
}

/// What an update asks of us.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A report, from the Telegram user `sender` (their user id).
    Report { report: Box<Report>, sender: String, chat: i64, message: i64 },
    /// A bot command such as `/start`: answer with help, make no report.
    Command { chat: i64, message: i64 },
    /// `status KTN-…` (or `/status`, `cek`): the answer for the sender, no
    /// report (see [`crate::status`]); `Err` holds how to ask.
    Status { chat: i64, message: i64, sender: String, asked: Result<String, String> },
    /// Nothing a report can be made of (a sticker, a poll); the reason.
    Nothing(&'static str),
}

/// Makes a report of an update received at `now`. The reporter's account is
/// filled in by the caller, which knows who registered which Telegram id.
pub fn parse(update: &Update, now: OffsetDateTime) -> Parsed {
    let Some(m) = update.message.as_ref().or(update.edited_message.as_ref()).or(update.channel_post.as_ref()) else {
        return Parsed::Nothing("the update carries no message");
    };
    let said = m.text.as_deref().or(m.caption.as_deref()).map(crate::plain);
    let said = said.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let sender = m.from.as_ref().map_or(m.chat.id, |u| u.id).to_string();
    if let Some(asked) = said.and_then(crate::status::request) {
        return Parsed::Status { chat: m.chat.id, message: m.message_id, sender, asked };
    }
    if said.is_some_and(|t| t.starts_with('/')) {
        return Parsed::Command { chat: m.chat.id, message: m.message_id };
    }
    let location = m.location.map(|l| GeoPoint { lat: l.latitude, lon: l.longitude }).filter(on_earth);
    let mut attachments = Vec::new();
    if let Some(p) = m.photo.iter().max_by_key(|p| u64::from(p.width) * u64::from(p.height)) {
        attachments.push(remote(&p.file_id, &format!("foto-{}.jpg", p.file_unique_id), "image/jpeg", p.file_size));
    }
    for d in [&m.document, &m.voice].into_iter().flatten() {
        let name = d.file_name.clone().unwrap_or_else(|| format!("berkas-{}", d.file_unique_id));
        let kind = d.mime_type.as_deref().unwrap_or("application/octet-stream");
        attachments.push(remote(&d.file_id, &name, kind, d.file_size));
    }
    let text = match (said, location, attachments.is_empty()) {
        (Some(t), _, _) => t.to_owned(),
        (None, Some(l), _) => format!("Lokasi kejadian: {:.5}, {:.5}", l.lat, l.lon),
        (None, None, false) => "(lampiran tanpa keterangan)".to_owned(),
        (None, None, true) => {
            return Parsed::Nothing("the message has no text, location, photo or file");
        }
    };
    let name = m.from.as_ref().map(|u| match &u.last_name {
        Some(last) => format!("{} {last}", u.first_name),
        None => u.first_name.clone(),
    });
    let reported_at = crate::sent_time(OffsetDateTime::from_unix_timestamp(m.date).ok(), now);
    let report = Report {
        reported_at,
        reporter: Some(Reporter { account: None, name, contact: Some(format!("telegram:{sender}")) }),
        region: location.and_then(|l| model::region::nearest(l.lat, l.lon)),
        attachments,
        location,
        external_id: Some(format!("{}:{}", m.chat.id, m.message_id)),
        ..Report::new(Channel::Telegram, "telegram", text, now)
    };
    Parsed::Report { report: Box::new(report), sender, chat: m.chat.id, message: m.message_id }
}

/// Whether a point a channel sent can be a place at all.
pub(crate) fn on_earth(p: &GeoPoint) -> bool {
    (-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.lon)
}

/// A file kept by Telegram; `location` is `telegram:<file_id>` for `getFile`.
fn remote(file_id: &str, name: &str, kind: &str, size: Option<u64>) -> Attachment {
    Attachment {
        name: name.to_owned(),
        content_type: kind.to_owned(),
        size: size.unwrap_or(0),
        sha256: String::new(),
        location: format!("telegram:{file_id}"),
    }
}

/// The webhook answer that makes the bot reply in the chat: a Bot API
/// `sendMessage` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reply {
    /// `sendMessage`.
    pub method: &'static str,
    pub chat_id: i64,
    pub text: String,
    pub reply_parameters: ReplyTo,
}

/// The message a [`Reply`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplyTo {
    pub message_id: i64,
    pub allow_sending_without_reply: bool,
}

/// The webhook answer that makes the bot reply in the chat.
pub fn reply(chat: i64, message: i64, text: &str) -> Reply {
    Reply {
        method: "sendMessage",
        chat_id: chat,
        text: text.to_owned(),
        reply_parameters: ReplyTo { message_id: message, allow_sending_without_reply: true },
    }
}

/// The help a bot command gets.
pub const HELP: &str = "Selamat datang di Kentongan. Kirim laporan Anda sebagai pesan: apa yang terjadi, di mana, \
     dan kapan. Lokasi dan foto boleh disertakan. Setiap laporan mendapat nomor tanda terima.";

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn text_photo_and_location_messages() {
        let now = datetime!(2026-11-29 10:00 UTC);
        let update: Update = serde_json::from_value(json!({
            "update_id": 10000,
            "message": {
                "message_id": 1365,
                "from": {"id": 1111111, "is_bot": false, "first_name": "Andi", "last_name": "Lamba", "language_code": "id"},
                "chat": {"id": 1111111, "first_name": "Andi", "type": "private"},
                "date": 1764410000,
                "photo": [
                    {"file_id": "small", "file_unique_id": "s1", "file_size": 1200, "width": 90, "height": 67},
                    {"file_id": "big", "file_unique_id": "b1", "file_size": 61234, "width": 1280, "height": 960}
                ],
                "caption": "Ada bentrok di pasar"
            }
        }))
        .unwrap();
        let Parsed::Report { report, sender, .. } = parse(&update, now) else { panic!() };
        assert_eq!(report.text, "Ada bentrok di pasar");
        assert_eq!(sender, "1111111");
        assert_eq!(report.attachments[0].location, "telegram:big");
        assert_eq!(report.external_id.as_deref(), Some("1111111:1365"));
        assert_eq!(report.reporter.unwrap().name.as_deref(), Some("Andi Lamba"));

        let update: Update = serde_json::from_value(json!({"update_id": 1, "message": {
            "message_id": 7, "chat": {"id": 5}, "date": 1764410000,
            "location": {"latitude": -0.9, "longitude": 119.87}}}))
        .unwrap();
        let Parsed::Report { report, .. } = parse(&update, now) else { panic!() };
        assert!(report.text.starts_with("Lokasi kejadian: -0.90000, 119.87000"));
        assert_eq!(report.reported_at, datetime!(2025-11-29 09:53:20 UTC));
        assert_eq!(report.location.unwrap().lat, -0.9);
        // a pin inland in Kota Palu, far from any island: its district (Palu Timur)
        assert_eq!(report.region.map(String::from).as_deref(), Some("72.71.01"));

        // a date before 2000, or a point off the earth, is not believed
        let odd: Update = serde_json::from_value(json!({"update_id": 1, "message": {
            "message_id": 7, "chat": {"id": 5}, "date": -2208988800i64, "text": "x",
            "location": {"latitude": 900.0, "longitude": 119.87}}}))
        .unwrap();
        let Parsed::Report { report, .. } = parse(&odd, now) else { panic!() };
        assert_eq!((report.reported_at, report.location), (now, None));

        let start: Update = serde_json::from_value(json!({"update_id": 2, "message": {
            "message_id": 8, "chat": {"id": 5}, "date": 1764410000, "text": "/start"}}))
        .unwrap();
        assert!(matches!(parse(&start, now), Parsed::Command { chat: 5, message: 8 }));
        let status: Update = serde_json::from_value(json!({"update_id": 4, "message": {
            "message_id": 9, "from": {"id": 77, "first_name": "A"}, "chat": {"id": 5}, "date": 1764410000,
            "text": "/status KTN-1a2b3c4d"}}))
        .unwrap();
        let Parsed::Status { chat, sender, asked, .. } = parse(&status, now) else { panic!() };
        assert_eq!((chat, sender.as_str(), asked), (5, "77", Ok("KTN-1A2B3C4D".to_owned())));
        let sticker: Update = serde_json::from_value(json!({"update_id": 3, "message": {
            "message_id": 9, "chat": {"id": 5}, "date": 1764410000, "sticker": {"file_id": "x"}}}))
        .unwrap();
        assert!(matches!(parse(&sticker, now), Parsed::Nothing(_)));
    }
}
