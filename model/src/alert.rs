//! Alerts: a level reached by an indicator in a region, and what happened to it.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{RegionCode, ReportId};

/// Alert levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Waspada,
    Siaga,
    Awas,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Waspada, Level::Siaga, Level::Awas];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Waspada => "waspada",
            Level::Siaga => "siaga",
            Level::Awas => "awas",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event-time window an alert was computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

/// Where an alert is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    #[default]
    Open,
    Acknowledged,
    InProgress,
    Resolved,
}

/// How a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryChannel {
    Email,
    Sms,
}

/// One attempt to notify one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: DeliveryChannel,
    pub recipient: String,
    /// The unit the recipient was notified for.
    pub unit: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub attempt: u32,
    /// `None` when the attempt succeeded, else why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A report that counted towards an alert, with enough to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRef {
    pub id: ReportId,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    /// The start of its title or text, for notifications.
    pub excerpt: String,
}

/// An alert: `indicator` reached `level` in `region` over `window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: Uuid,
    /// `indicator/region`: the series this alert belongs to, and its bus key.
    pub key: String,
    pub indicator: String,
    pub region: RegionCode,
    pub level: Level,
    pub window: Window,
    /// Reports in the window, and the sum of their scores.
    pub count: u64,
    pub score: f64,
    /// The reports in the window, oldest first.
    pub reports: Vec<ReportRef>,
    pub state: AlertState,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

impl Alert {
    /// The key of the series an alert belongs to.
    pub fn series_key(indicator: &str, region: &RegionCode) -> String {
        format!("{indicator}/{region}")
    }
}

/// A value of the `alerts` topic, keyed by [`Alert::key`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AlertEvent {
    /// The classifier saw a level reached or raised.
    Raised { alert: Alert },
    /// The alerter tried to notify someone.
    Delivered { alert_id: Uuid, delivery: Delivery },
}

impl AlertEvent {
    pub fn alert_id(&self) -> Uuid {
        match self {
            AlertEvent::Raised { alert } => alert.id,
            AlertEvent::Delivered { alert_id, .. } => *alert_id,
        }
    }
}
