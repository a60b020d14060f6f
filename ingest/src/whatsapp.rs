//! The WhatsApp Cloud API webhook: the GET verification handshake, and POSTs
//! whose `X-Hub-Signature-256` is an HMAC-SHA256 of the raw body with the
//! app secret. Each message in a notification becomes a report.

use hmac::{Hmac, KeyInit, Mac};
use model::{Attachment, Channel, GeoPoint, Report, Reporter};
use serde::Deserialize;
use sha2::Sha256;
use time::OffsetDateTime;

use crate::Error;

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the body.
pub fn verify_signature(app_secret: &str, body: &[u8], header: Option<&str>) -> Result<(), Error> {
    let bad = || Error::Unauthenticated("X-Hub-Signature-256 is missing or does not match the body".into());
    let hex_sig = header.and_then(|h| h.trim().strip_prefix("sha256=")).ok_or_else(bad)?;
    let signature = hex::decode(hex_sig).map_err(|_| bad())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).map_err(|_| bad())?;
    mac.update(body);
    mac.verify_slice(&signature).map_err(|_| bad())
}

/// A webhook notification (only what reports need).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappNotification)]
pub struct Notification {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappEntry)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappChange)]
pub struct Change {
    pub field: String,
    pub value: Value,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappValue)]
pub struct Value {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappMetadata)]
pub struct Metadata {
    pub phone_number_id: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappContact)]
pub struct Contact {
    pub wa_id: String,
    #[serde(default)]
    pub profile: Option<Profile>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappProfile)]
pub struct Profile {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappMessage)]
pub struct Message {
    pub from: String,
    pub id: String,
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<Text>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub image: Option<Media>,
    #[serde(default)]
    pub document: Option<Media>,
    #[serde(default)]
    pub audio: Option<Media>,
    #[serde(default)]
    pub video: Option<Media>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappText)]
pub struct Text {
    pub body: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappLocation)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = WhatsappMedia)]
pub struct Media {
    pub id: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
}

/// One message made into a report, with its sender's number (`+62…`) and
/// the business number it was sent to (for the reply).
#[derive(Debug, Clone)]
pub struct Incoming {
    pub report: Report,
    pub sender: String,
    pub wa_id: String,
    pub phone_number_id: Option<String>,
}

/// Sends `text` to `to` from the business number `phone_number_id` through
/// the Cloud API.
pub async fn send_reply(
    client: &reqwest::Client,
    config: &crate::WhatsappConfig,
    phone_number_id: &str,
    to: &str,
    text: &str,
) -> Result<(), String> {
    let Some(token) = &config.access_token else { return Ok(()) };
    let url = format!("{}/{phone_number_id}/messages", config.graph_url.trim_end_matches('/'));
    let body = serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "body": text },
    });
    let response = client.post(url).bearer_auth(token).json(&body).send().await.map_err(|e| e.to_string())?;
    if response.status().is_success() { Ok(()) } else { Err(format!("the Graph API answered {}", response.status())) }
}

/// The reports in a notification, and the messages that could not be used
/// (with why). Status updates and other fields carry no messages.
pub fn parse(n: &Notification, now: OffsetDateTime) -> (Vec<Incoming>, Vec<(String, &'static str)>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for change in n.entry.iter().flat_map(|e| &e.changes).filter(|c| c.field == "messages") {
        for m in &change.value.messages {
            let name = change
                .value
                .contacts
                .iter()
                .find(|c| c.wa_id == m.from)
                .and_then(|c| c.profile.as_ref())
                .map(|p| p.name.clone())
                .filter(|n| !n.is_empty());
            let media = [&m.image, &m.document, &m.audio, &m.video].into_iter().flatten().next();
            let location = m
                .location
                .as_ref()
                .map(|l| GeoPoint { lat: l.latitude, lon: l.longitude })
                .filter(crate::telegram::on_earth);
            let text = match (m.kind.as_str(), &m.text, &m.location, media) {
                ("text", Some(t), _, _) => crate::plain(&t.body).trim().to_owned(),
                ("location", _, Some(l), _) => {
                    let place =
                        [l.name.as_deref(), l.address.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
                    let at = format!("{:.5}, {:.5}", l.latitude, l.longitude);
                    if place.is_empty() {
                        format!("Lokasi kejadian: {at}")
                    } else {
                        format!("Lokasi kejadian: {place} ({at})")
                    }
                }
                (_, _, _, Some(media)) => media
                    .caption
                    .as_deref()
                    .map(|c| crate::plain(c).trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| "(lampiran tanpa keterangan)".into()),
                _ => {
                    skipped.push((m.id.clone(), "the message type carries no text, location or media"));
                    continue;
                }
            };
            if text.is_empty() {
                skipped.push((m.id.clone(), "the message is empty"));
                continue;
            }
            let sender = format!("+{}", m.from.trim_start_matches('+'));
            let given =
                m.timestamp.trim().parse::<i64>().ok().and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
            let reported_at = crate::sent_time(given, now);
            let attachments = media
                .map(|md| Attachment {
                    name: md.filename.clone().unwrap_or_else(|| format!("whatsapp-{}", md.id)),
                    content_type: md.mime_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
                    size: 0,
                    sha256: md.sha256.clone().unwrap_or_default(),
                    location: format!("whatsapp:{}", md.id),
                })
                .into_iter()
                .collect();
            let report = Report {
                reported_at,
                reporter: Some(Reporter { account: None, name, contact: Some(sender.clone()) }),
                region: location.and_then(|l| model::region::nearest(l.lat, l.lon)),
                attachments,
                location,
                external_id: Some(m.id.clone()),
                ..Report::new(Channel::Whatsapp, "whatsapp", text, now)
            };
            out.push(Incoming {
                report,
                sender,
                wa_id: m.from.clone(),
                phone_number_id: change.value.metadata.as_ref().map(|md| md.phone_number_id.clone()),
            });
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    pub fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        assert!(verify_signature("rahasia", body, Some(&sign("rahasia", body))).is_ok());
        assert!(verify_signature("rahasia", body, Some(&sign("lain", body))).is_err());
        assert!(verify_signature("rahasia", body, Some("sha256=zz")).is_err());
        assert!(verify_signature("rahasia", body, None).is_err());
    }

    #[test]
    fn messages_become_reports() {
        let n: Notification = serde_json::from_value(serde_json::json!({
          "object": "whatsapp_business_account",
          "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Siti"}, "wa_id": "6281234567890"}],
            "messages": [
              {"from": "6281234567890", "id": "wamid.A", "timestamp": "1764410000", "type": "text",
               "text": {"body": "Ada pesta sabu di gang"}},
              {"from": "6281234567890", "id": "wamid.B", "timestamp": "1764410001", "type": "location",
               "location": {"latitude": -0.9, "longitude": 119.87, "name": "Pasar Inpres", "address": "Jl. Cut Meutia"}},
              {"from": "6281234567890", "id": "wamid.C", "timestamp": "1764410002", "type": "sticker",
               "sticker": {"id": "s"}}
            ]}}]}]
        }))
        .unwrap();
        let (reports, skipped) = parse(&n, datetime!(2026-11-29 10:00 UTC));
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].report.text, "Ada pesta sabu di gang");
        assert_eq!(reports[0].sender, "+6281234567890");
        assert_eq!(reports[0].report.reporter.as_ref().unwrap().name.as_deref(), Some("Siti"));
        assert!(reports[1].report.text.contains("Pasar Inpres"));
        assert_eq!(skipped.len(), 1);
    }
}
