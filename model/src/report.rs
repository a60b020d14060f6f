//! A report as taken in by ingest.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::RegionCode;

/// A report's id: a UUIDv7 given at intake, so ids sort by intake time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ReportId(pub Uuid);

impl ReportId {
    /// A new id for a report taken in at `at`.
    pub fn new_at(at: OffsetDateTime) -> Self {
        let nanos = at.unix_timestamp_nanos();
        let secs = u64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(0);
        let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, sub);
        Self(Uuid::new_v7(ts))
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReportId({})", self.0)
    }
}

impl std::str::FromStr for ReportId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(ReportId)
    }
}

/// How a report reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The field officers' Android app.
    #[default]
    App,
    /// The web form.
    Web,
    Telegram,
    Whatsapp,
    Sms,
    Email,
    /// A news feed (RSS or Atom).
    Feed,
}

impl Channel {
    pub const ALL: [Channel; 7] =
        [Channel::App, Channel::Web, Channel::Telegram, Channel::Whatsapp, Channel::Sms, Channel::Email, Channel::Feed];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Web => "web",
            Channel::Telegram => "telegram",
            Channel::Whatsapp => "whatsapp",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Feed => "feed",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who sent a report. Informants are protected: this is never shown in search
/// hits, and only admins and operators in scope may read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct Reporter {
    /// The account that submitted the report, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone number, chat id or email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// Metadata of a file attached to a report; the bytes live in the attachment store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub name: String,
    /// The content type found by sniffing the bytes.
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// Where the store keeps it, relative to the store's root.
    pub location: String,
}

/// A point on the map, as sent by a chat bot's location pin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A report: what was said, by whom, where and when, as received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub id: ReportId,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When the reporter says it happened; `received_at` when not given.
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    pub channel: Channel,
    /// The sending system: a bot name, a gateway, a feed URL.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    /// The language the sender declared, if any (ISO 639-3, e.g. `ind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// The sender's own id for this report (message id, feed guid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// When the report is a filing of a periodic report template (a
    /// LAPSITDA): which template, version, period and region, and the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filing: Option<Filing>,
}

/// What makes a report a filing of a report template: the template and the
/// version its values were checked against, the period and the region it is
/// for, and the values by field id. The report's text is rendered from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Filing {
    pub template: String,
    pub version: u32,
    /// `2026-11-30` (daily), `2026-W48` (weekly), `2026-11` (monthly) or a stage id.
    pub period: String,
    pub region: RegionCode,
    /// The unit it was filed for, when the template's filers are units
    /// (`region` is then where the unit filed from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Report {
    /// A report of `text` that came through `channel` from `source` at
    /// `received_at`: a new id, said to have happened when it was received,
    /// and nothing else known yet. Give the rest with struct update syntax:
    /// `Report { region, ..Report::new(channel, source, text, now) }`.
    pub fn new(
        channel: Channel,
        source: impl Into<String>,
        text: impl Into<String>,
        received_at: OffsetDateTime,
    ) -> Self {
        Report {
            id: ReportId::new_at(received_at),
            received_at,
            reported_at: received_at,
            channel,
            source: source.into(),
            reporter: None,
            region: None,
            title: None,
            text: text.into(),
            language: None,
            attachments: Vec::new(),
            location: None,
            external_id: None,
            filing: None,
        }
    }

    /// The bus key: the province of the report's region, or `00` when the
    /// region is not known yet, so one province's reports stay in order.
    pub fn partition_key(&self) -> String {
        self.region.as_ref().map_or_else(|| "00".to_owned(), |r| r.province().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;

    #[test]
    fn a_report_without_a_filing_still_decodes_and_a_filing_round_trips() {
        let old = br#"{"v":1,"id":"0193a0e0-0000-7000-8000-000000000001","received_at":"2026-11-30T08:00:00Z",
            "reported_at":"2026-11-30T08:00:00Z","channel":"app","source":"api","text":"pesta sabu"}"#;
        let report: Report = wire::decode(old).unwrap();
        assert_eq!(report.filing, None);
        assert!(!String::from_utf8(wire::encode(&report)).unwrap().contains("filing"));
        let palu = RegionCode::parse("72.71").unwrap();
        let filed = Report {
            filing: Some(Filing {
                template: "lapsitda-harian".into(),
                version: 2,
                period: "2026-11-30".into(),
                region: palu,
                unit: None,
                values: [("upaya".to_owned(), serde_json::json!("mediasi"))].into_iter().collect(),
            }),
            ..report
        };
        assert_eq!(wire::decode::<Report>(&wire::encode(&filed)).unwrap(), filed);
    }
}
