//! The body of `POST /api/v1/reports`, and the checks every report passes.

use model::{Channel, RegionCode, Report, Reporter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{EARLIEST, Error, Idempotency, quote};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 300;

/// Longest `Idempotency-Key`, `external_id` and `source`, in characters.
pub const MAX_ID_CHARS: usize = 200;

/// Whether a client may name `channel`: not one whose messages the server
/// receives and verifies itself (SMS, the chat bots, news feeds).
pub fn claimable(channel: Channel) -> bool {
    !matches!(channel, Channel::Sms | Channel::Telegram | Channel::Whatsapp | Channel::Feed)
}

/// How far ahead of the server's clock `reported_at` may be.
const AHEAD: time::Duration = time::Duration::minutes(5);

/// A report as a client submits it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    pub text: String,
    #[serde(default)]
    pub title: Option<String>,
    /// A Kemendagri code, such as `72.71`.
    #[serde(default)]
    pub region: Option<String>,
    /// When it happened, such as `2026-11-29T08:30:00+08:00`; at most 5 minutes ahead.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reported_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub channel: Option<Channel>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
}

fn invalid(field: &'static str, message: impl Into<String>, pesan: impl Into<String>) -> Error {
    Error::Invalid { field, message: message.into(), pesan: pesan.into() }
}

impl Submission {
    /// The idempotency key of this submission by `account`: the
    /// `Idempotency-Key` header when sent, else the channel and `external_id`.
    /// Both are the account's own: another account's ids never match.
    pub fn idempotency_key(&self, account: &str, header: Option<&str>) -> Option<String> {
        match header.map(str::trim).filter(|h| !h.is_empty()) {
            Some(h) => Some(format!("key/{account}/{h}")),
            None => self
                .external_id
                .as_deref()
                .filter(|e| !e.is_empty())
                .map(|e| format!("ext/{account}/{}/{e}", self.channel.unwrap_or_default())),
        }
    }

    /// The idempotency key (see [`Submission::idempotency_key`]) with the
    /// digest of this submission and its `files`, so that a key reused for a
    /// different report is told from a retry.
    pub fn idempotency(
        &self,
        account: &str,
        header: Option<&str>,
        files: &[(String, Vec<u8>)],
    ) -> Result<Option<Idempotency>, Error> {
        if let Some(h) = header
            && h.trim().chars().count() > MAX_ID_CHARS
        {
            return Err(invalid(
                "Idempotency-Key",
                format!("is longer than {MAX_ID_CHARS} characters"),
                format!("lebih dari {MAX_ID_CHARS} karakter"),
            ));
        }
        let Some(key) = self.idempotency_key(account, header) else { return Ok(None) };
        let body = serde_json::to_vec(self).map_err(|e| Error::Storage(e.to_string()))?;
        let mut content = vec![body.as_slice()];
        for (name, bytes) in files {
            content.extend([name.as_bytes(), bytes.as_slice()]);
        }
        Ok(Some(Idempotency::of(key, &content)))
    }

    /// Checks the submission and makes it a report received at `now`.
    pub fn into_report(
        self,
        reporter: Option<Reporter>,
        now: OffsetDateTime,
        max_text_chars: usize,
    ) -> Result<Report, Error> {
        // control characters out (newlines and tabs stay), as on every channel
        let text = crate::plain(&self.text).trim().to_owned();
        if text.is_empty() {
            return Err(invalid("text", "is empty: describe what happened", "kosong: tuliskan apa yang terjadi"));
        }
        let chars = text.chars().count();
        if chars > max_text_chars {
            return Err(invalid(
                "text",
                format!("has {chars} characters, more than the limit of {max_text_chars}: shorten it"),
                format!("berisi {chars} karakter, lebih dari batas {max_text_chars}: persingkat"),
            ));
        }
        let title = self.title.map(|t| crate::one_line(&t)).filter(|t| !t.is_empty());
        if title.as_ref().is_some_and(|t| t.chars().count() > MAX_TITLE_CHARS) {
            return Err(invalid(
                "title",
                format!("is longer than {MAX_TITLE_CHARS} characters"),
                format!("lebih dari {MAX_TITLE_CHARS} karakter"),
            ));
        }
        let region = match self.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(code) => {
                Some(RegionCode::parse(&quote(code)).map_err(|e| invalid("region", e.to_string(), e.pesan()))?)
            }
        };
        let reported_at = self.reported_at.unwrap_or(now);
        if reported_at < EARLIEST || reported_at > now + AHEAD {
            let at = reported_at.format(&Rfc3339).unwrap_or_default();
            return Err(invalid(
                "reported_at",
                format!(
                    "{at} is outside the accepted range, from 2000-01-01T00:00:00Z to 5 minutes from now: give the \
                     time the event happened, and check the device's clock"
                ),
                format!(
                    "{at} di luar rentang yang diterima, dari 2000-01-01T00:00:00Z sampai 5 menit dari sekarang: \
                     isikan waktu kejadian, dan periksa jam perangkat"
                ),
            ));
        }
        for (field, value) in [("source", &self.source), ("external_id", &self.external_id)] {
            if value.as_ref().is_some_and(|v| v.chars().count() > MAX_ID_CHARS) {
                return Err(invalid(
                    field,
                    format!("is longer than {MAX_ID_CHARS} characters"),
                    format!("lebih dari {MAX_ID_CHARS} karakter"),
                ));
            }
        }
        let channel = self.channel.unwrap_or_default();
        if !claimable(channel) {
            let allowed: Vec<&str> = Channel::ALL.into_iter().filter(|c| claimable(*c)).map(Channel::as_str).collect();
            let allowed = allowed.join(", ");
            return Err(invalid(
                "channel",
                format!(
                    "`{channel}` reports come only through the server's own intake (SMS gateway, chat bots, news \
                     feeds); through the API give one of: {allowed}"
                ),
                format!(
                    "laporan `{channel}` hanya masuk lewat penerima milik server (gateway SMS, bot obrolan, umpan \
                     berita); lewat API pilih salah satu: {allowed}"
                ),
            ));
        }
        let source = self.source.map(|s| crate::one_line(&s)).filter(|s| !s.is_empty()).unwrap_or_else(|| "api".into());
        Ok(Report {
            reported_at,
            reporter,
            region,
            title,
            external_id: self.external_id.map(|s| crate::one_line(&s)).filter(|s| !s.is_empty()),
            ..Report::new(channel, source, text, now)
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn check(json: &str) -> Result<Report, Error> {
        let s: Submission = serde_json::from_str(json).unwrap();
        s.into_report(None, datetime!(2026-11-29 10:00 UTC), 20_000)
    }

    fn field_of(r: Result<Report, Error>) -> &'static str {
        match r {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_full_report() {
        let r = check(
            r#"{"text":" pesta sabu ","title":"Sabu","region":"72.71","reported_at":"2026-11-29T17:00:00+08:00","channel":"web","external_id":"a1"}"#,
        )
        .unwrap();
        assert_eq!(r.text, "pesta sabu");
        assert_eq!(r.region.unwrap().as_str(), "72.71");
        assert_eq!(r.reported_at, datetime!(2026-11-29 09:00 UTC));
        assert_eq!(r.channel, Channel::Web);
        assert_eq!(r.source, "api");
    }

    #[test]
    fn names_the_bad_field() {
        assert_eq!(field_of(check(r#"{"text":"   "}"#)), "text");
        assert_eq!(field_of(check(r#"{"text":"x","region":"99.99"}"#)), "region");
        assert!(serde_json::from_str::<Submission>(r#"{"text":"x","reported_at":"kemarin"}"#).is_err());
        assert_eq!(field_of(check(r#"{"text":"x","reported_at":"2026-11-29T10:06:00Z"}"#)), "reported_at");
        assert_eq!(field_of(check(r#"{"text":"x","reported_at":"0001-01-01T00:00:00Z"}"#)), "reported_at");
        assert_eq!(field_of(check(r#"{"text":"x","reported_at":"1900-06-01T00:00:00+07:00"}"#)), "reported_at");
        assert!(check(r#"{"text":"x","reported_at":"2000-01-01T00:00:00Z"}"#).is_ok());
        let long_id = format!(r#"{{"text":"x","external_id":"{}"}}"#, "e".repeat(201));
        assert_eq!(field_of(check(&long_id)), "external_id");
        assert!(check(r#"{"text":"x","reported_at":"2026-11-29T10:04:00Z"}"#).is_ok());
        let long = format!(r#"{{"text":"{}"}}"#, "a".repeat(20_001));
        assert_eq!(field_of(check(&long)), "text");
        assert!(serde_json::from_str::<Submission>(r#"{"text":"x","colour":"red"}"#).is_err());
        let long_source = format!(r#"{{"text":"x","source":"{}"}}"#, "s".repeat(201));
        assert_eq!(field_of(check(&long_source)), "source");
    }

    #[test]
    fn verified_channels_cannot_be_claimed() {
        for channel in ["sms", "telegram", "whatsapp", "feed"] {
            let e = check(&format!(r#"{{"text":"x","channel":"{channel}"}}"#)).unwrap_err().to_string();
            assert!(e.starts_with(&format!("channel: `{channel}` reports come only")), "{e}");
            assert!(e.ends_with("give one of: app, web, email"), "{e}");
        }
        for channel in ["app", "web", "email"] {
            assert!(check(&format!(r#"{{"text":"x","channel":"{channel}"}}"#)).is_ok());
        }
    }

    #[test]
    fn control_characters_are_taken_out() {
        let r = check(r#"{"text":"ada\u0000 bentrok\r\ndi pasar\u001b[2J","source":"Polda\u0000\n<script>"}"#).unwrap();
        assert_eq!((r.text.as_str(), r.source.as_str()), ("ada bentrok\ndi pasar[2J", "Polda <script>"));
        assert_eq!(field_of(check(r#"{"text":"\u0000\u0007 \n\t"}"#)), "text");
    }

    #[test]
    fn long_input_is_not_quoted_back_whole() {
        let body = format!(r#"{{"text":"x","region":"{}"}}"#, "7".repeat(100_000));
        let message = check(&body).unwrap_err().to_string();
        assert!(message.len() < 500, "{} characters: {}", message.len(), &message[..500]);
        let body = format!(r#"{{"text":"x","reported_at":"{}"}}"#, "9".repeat(100_000));
        let message = serde_json::from_str::<Submission>(&body).unwrap_err().to_string();
        assert!(message.len() < 500, "{} characters: {}", message.len(), &message[..500]);
    }

    #[test]
    fn idempotency_keys() {
        let s: Submission = serde_json::from_str(r#"{"text":"x","channel":"sms","external_id":"m-1"}"#).unwrap();
        assert_eq!(s.idempotency_key("budi", Some("abc")).as_deref(), Some("key/budi/abc"));
        assert_eq!(s.idempotency_key("budi", None).as_deref(), Some("ext/budi/sms/m-1"));
        assert_eq!(Submission::default().idempotency_key("budi", Some(" ")), None);
        // another account's ids are its own
        assert_ne!(s.idempotency_key("siti", None), s.idempotency_key("budi", None));
        // the digest tells a different report, or different files, from a retry
        let key = |s: &Submission, files: &[(String, Vec<u8>)]| s.idempotency("budi", Some("k"), files).unwrap();
        let other: Submission = serde_json::from_str(r#"{"text":"y","channel":"sms","external_id":"m-1"}"#).unwrap();
        let photo = [("a.jpg".to_owned(), vec![1, 2, 3])];
        assert_eq!(key(&s, &photo), key(&s.clone(), &photo));
        assert_ne!(key(&s, &[]).unwrap().digest, key(&other, &[]).unwrap().digest);
        assert_ne!(key(&s, &[]).unwrap().digest, key(&s, &photo).unwrap().digest);
        let too_long = "k".repeat(201);
        assert!(matches!(s.idempotency("budi", Some(&too_long), &[]), Err(Error::Invalid { .. })));
    }
}
