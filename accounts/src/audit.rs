//! The audit log: every sign-in and failed sign-in, every account, unit and
//! rule change, every acknowledgement, with actor, time, source address, and
//! the value before and after. It is the append-only `audit` topic; each node
//! keeps a view of it, which `GET /api/v1/audit` reads.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use bus::{Bus, Topic};
use model::{AuditEvent, RegionCode, Scope, wire};
use serde_json::Value;
use time::OffsetDateTime;

/// What happened, to be written to the audit log.
#[derive(Debug)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub regions: &'a [RegionCode],
    /// Where the request came from (see `api::auth::Source`).
    pub source: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl<'a> Entry<'a> {
    pub fn new<S: AsRef<str> + ?Sized>(
        actor: &'a str,
        action: &'a str,
        target: &'a str,
        regions: &'a [RegionCode],
        source: &'a S,
    ) -> Self {
        Self { actor, action, target, regions, source: source.as_ref(), before: None, after: None }
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

impl Entry<'_> {
    /// The event to store, at `at`. Every string is capped, so that no
    /// request can make the log (kept in memory and on disk) grow by more
    /// than a few kilobytes.
    pub fn event(self, at: OffsetDateTime) -> AuditEvent {
        AuditEvent {
            id: uuid::Uuid::now_v7(),
            at,
            actor: capped(self.actor, FIELD_CHARS),
            action: capped(self.action, FIELD_CHARS),
            target: capped(self.target, FIELD_CHARS),
            regions: self.regions.to_vec(),
            source: capped(self.source, FIELD_CHARS),
            before: self.before.map(capped_value),
            after: self.after.map(capped_value),
        }
    }
}

/// What to list of the audit log.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// From this time (inclusive)…
    pub from: Option<OffsetDateTime>,
    /// …to this one (exclusive).
    pub to: Option<OffsetDateTime>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// The audit log: written to the `audit` topic, and this node's view of it,
/// in time order.
#[derive(Debug, Clone)]
pub struct AuditLog {
    bus: Bus,
    events: Arc<RwLock<Vec<AuditEvent>>>,
    seen: Arc<RwLock<HashSet<uuid::Uuid>>>,
}

impl bus::View for AuditLog {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<AuditEvent>(&record.payload) {
            Ok(event) => self.push(event),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring unreadable audit event"),
        }
    }
}

impl AuditLog {
    pub fn new(bus: Bus) -> Self {
        Self { bus, events: Arc::default(), seen: Arc::default() }
    }

    /// Appends `entry`, at `at`, to the log and to this view. The change it
    /// describes has already happened, so a failure here is logged loudly
    /// rather than undone.
    pub async fn record(&self, entry: Entry<'_>, at: OffsetDateTime) {
        let event = entry.event(at);
        if let Err(e) = self.bus.publish(Topic::Audit, &event.actor, &wire::encode(&event)).await {
            tracing::error!(action = %event.action, actor = %event.actor, error = %e, "could not write the audit log");
        }
        self.push(event);
    }

    fn push(&self, event: AuditEvent) {
        if !self.seen.write().unwrap_or_else(|e| e.into_inner()).insert(event.id) {
            return;
        }
        let mut events = self.events.write().unwrap_or_else(|e| e.into_inner());
        let at = events.partition_point(|e| (e.at, e.id) <= (event.at, event.id));
        events.insert(at, event);
    }

    /// Newest first, only what lies in `scope`: an event is shown to a
    /// regional caller only when all its regions are theirs, so national
    /// events go only to national callers.
    pub fn events(&self, scope: &Scope, filter: &AuditFilter) -> Vec<AuditEvent> {
        let limit = filter.limit.unwrap_or(100).min(1000);
        let events = self.events.read().unwrap_or_else(|e| e.into_inner());
        let visible = |e: &&AuditEvent| match scope {
            Scope::All => true,
            Scope::Regions(_) => !e.regions.is_empty() && e.regions.iter().all(|r| scope.covers(Some(r))),
        };
        events
            .iter()
            .rev()
            .filter(visible)
            .filter(|e| filter.actor.as_ref().is_none_or(|a| &e.actor == a))
            .filter(|e| filter.action.as_ref().is_none_or(|a| &e.action == a))
            .filter(|e| filter.from.is_none_or(|f| e.at >= f) && filter.to.is_none_or(|t| e.at < t))
            .take(limit)
            .cloned()
            .collect()
    }
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
