//! The audit log: every sign-in and failed sign-in, every account, unit and
//! rule change, every acknowledgement, with actor, time, source address, and
//! the value before and after. It is the append-only `audit` topic; each api
//! node keeps a view of it for `GET /api/v1/audit`.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use bus::Topic;
use model::{AuditEvent, RegionCode, Scope, wire};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiQuery};

/// What happened, to be written to the audit log.
#[derive(Debug)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub regions: &'a [RegionCode],
    pub source: &'a Source,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl<'a> Entry<'a> {
    pub fn new(
        actor: &'a str,
        action: &'a str,
        target: &'a str,
        regions: &'a [RegionCode],
        source: &'a Source,
    ) -> Self {
        Self { actor, action, target, regions, source, before: None, after: None }
    }

    pub fn before(mut self, value: Value) -> Self {
        self.before = Some(value);
        self
    }

    pub fn after(mut self, value: Value) -> Self {
        self.after = Some(value);
        self
    }
}

/// The most characters of the actor, action, target and source of an event.
const FIELD_CHARS: usize = 200;
/// The most characters of any one string inside the value before or after.
const VALUE_CHARS: usize = 1_000;

/// `text`, cut to `max` characters (marked with `…`).
fn capped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// `value` with every string in it (keys too) cut to [`VALUE_CHARS`].
fn capped_value(value: Value) -> Value {
    match value {
        Value::String(s) if s.chars().nth(VALUE_CHARS).is_some() => Value::String(capped(&s, VALUE_CHARS)),
        Value::Array(items) => Value::Array(items.into_iter().map(capped_value).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (capped(&k, VALUE_CHARS), capped_value(v))).collect())
        }
        other => other,
    }
}

/// Appends `entry` to the audit log. Every string it stores is capped, so
/// that no request can make the log (kept in memory and on disk) grow by
/// more than a few kilobytes. The change it describes has already
/// happened, so a failure here is logged loudly rather than undone.
pub async fn record(state: &AppState, entry: Entry<'_>) {
    let event = AuditEvent {
        id: uuid::Uuid::now_v7(),
        at: state.clock.now(),
        actor: capped(entry.actor, FIELD_CHARS),
        action: capped(entry.action, FIELD_CHARS),
        target: capped(entry.target, FIELD_CHARS),
        regions: entry.regions.to_vec(),
        source: capped(&entry.source.0, FIELD_CHARS),
        before: entry.before.map(capped_value),
        after: entry.after.map(capped_value),
    };
    if let Err(e) = state.bus.publish(Topic::Audit, &event.actor, &wire::encode(&event)).await {
        tracing::error!(action = %event.action, actor = %event.actor, error = %e, "could not write the audit log");
    }
    state.audit.push(event);
}

/// This node's view of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditView {
    events: Arc<RwLock<Vec<AuditEvent>>>,
    seen: Arc<RwLock<HashSet<uuid::Uuid>>>,
}

impl bus::View for AuditView {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<AuditEvent>(&record.payload) {
            Ok(event) => self.push(event),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring unreadable audit event"),
        }
    }
}

impl AuditView {
    fn push(&self, event: AuditEvent) {
        if !self.seen.write().unwrap_or_else(|e| e.into_inner()).insert(event.id) {
            return;
        }
        let mut events = self.events.write().unwrap_or_else(|e| e.into_inner());
        let at = events.partition_point(|e| (e.at, e.id) <= (event.at, event.id));
        events.insert(at, event);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
}

fn time_param(name: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    v.map(|v| OffsetDateTime::parse(v, &Rfc3339).map_err(|_| ApiError::invalid(name, "is not an RFC 3339 time")))
        .transpose()
}

/// `GET /api/v1/audit`: newest first, only what lies in the caller's scope
/// (national events only for national admins).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = (time_param("from", p.from.as_deref())?, time_param("to", p.to.as_deref())?);
    let limit = p.limit.unwrap_or(100).min(1000);
    let events = state.audit.events.read().unwrap_or_else(|e| e.into_inner());
    let visible = |e: &&AuditEvent| match &caller.scope {
        Scope::All => true,
        Scope::Regions(_) => !e.regions.is_empty() && e.regions.iter().all(|r| caller.scope.covers(Some(r))),
    };
    let out: Vec<&AuditEvent> = events
        .iter()
        .rev()
        .filter(visible)
        .filter(|e| p.actor.as_ref().is_none_or(|a| &e.actor == a))
        .filter(|e| p.action.as_ref().is_none_or(|a| &e.action == a))
        .filter(|e| from.is_none_or(|f| e.at >= f) && to.is_none_or(|t| e.at < t))
        .take(limit)
        .collect();
    Ok(Json(serde_json::json!({ "events": out })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_strings_are_capped() {
        assert_eq!(capped("pendek", 10), "pendek");
        assert_eq!(capped(&"é".repeat(300), FIELD_CHARS).chars().count(), FIELD_CHARS + 1);
        let big = serde_json::json!({ "a": ["x".repeat(5_000)], "k".repeat(2_000): 1 });
        let small = capped_value(big).to_string();
        assert!(small.len() < 2 * (VALUE_CHARS + 10) * 3, "{}", small.len());
    }
}
