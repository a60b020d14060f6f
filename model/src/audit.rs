//! The audit log: the values of the append-only `audit` topic.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::RegionCode;

/// One thing someone did: a sign-in, a change, an acknowledgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The account that acted, or the name tried in a failed sign-in.
    pub actor: String,
    /// `sign_in`, `sign_in_failed`, `account.create`, `token.revoke`, `unit.create`, …
    pub action: String,
    /// What was acted on: an account name, a credential or unit id.
    pub target: String,
    /// The regions of what was acted on; empty for national things.
    #[serde(default)]
    pub regions: Vec<RegionCode>,
    /// The peer address, and `X-Forwarded-For` when a proxy sent one.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
}
