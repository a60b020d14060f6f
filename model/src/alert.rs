//! Alerts: a level reached by an indicator in a region, and what happened to it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{RegionCode, ReportId, Scope};

/// Alert levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

/// Where an alert is in its lifecycle, in the order it moves through them:
/// open → acknowledged → in progress (tindak lanjut) → resolved.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    #[default]
    Open,
    Acknowledged,
    InProgress,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::InProgress => "in_progress",
            AlertState::Resolved => "resolved",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of an alert's lifecycle, taken by a person: a move to a later
/// state, or a follow-up note (tindak lanjut) that keeps the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateChange {
    /// Identifies the step, so a step delivered twice is applied once.
    pub id: Uuid,
    /// The state after the step.
    pub state: AlertState,
    /// The account that took it.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a step cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("the alert is already resolved")]
    Resolved,
    #[error("the alert is already {current}; it cannot go back to {wanted}")]
    Backwards { current: AlertState, wanted: AlertState },
    #[error("the alert is already {0}; add a note to record a follow-up")]
    Unchanged(AlertState),
    #[error("acknowledge the alert before adding follow-up notes")]
    NoteOnOpen,
}

/// How a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryChannel {
    Email,
    Sms,
}

/// One attempt to notify one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// What the SMS gateway later reported (`delivered`, `undelivered`,
    /// `failed`…), for a status callback; for an attempt, `failed` when it
    /// failed for good and will not be tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A report that counted towards an alert, with enough to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportRef {
    pub id: ReportId,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    /// The start of its title or text, for notifications.
    pub excerpt: String,
}

/// An alert: `indicator` reached `level` in `region` over `window`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Every lifecycle step, oldest first.
    #[serde(default)]
    pub history: Vec<StateChange>,
    /// Where it went when nobody acknowledged it in time, oldest first.
    #[serde(default)]
    pub escalations: Vec<Escalation>,
    /// The alert chain: the alerts of the same indicator in regions below
    /// this one that were in force when it was raised and whose reports it
    /// aggregates. A child does not name its parent on the wire; the view
    /// ([`AlertBook`]) derives that link from this list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Uuid>,
}

/// The alert was passed up to parent units: nobody it had reached
/// acknowledged it within the deadline for its level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Escalation {
    /// The units it was passed to, and their names.
    pub units: Vec<String>,
    pub names: Vec<String>,
    /// The units that had it and did not take it on (or were off duty),
    /// and their names: who was silent.
    pub from: Vec<String>,
    #[serde(default)]
    pub from_names: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Alert {
    /// A siaga alert for social conflict in Kota Palu with one report, raised
    /// at `at`: for trying templates and for tests.
    pub fn example(at: OffsetDateTime) -> Alert {
        Alert {
            id: Uuid::nil(),
            key: "konflik_sosial/72.71".into(),
            indicator: "konflik_sosial".into(),
            region: RegionCode::parse("72.71").expect("a real code"),
            level: Level::Siaga,
            window: Window { start: at - time::Duration::DAY, end: at },
            count: 4,
            score: 8.0,
            reports: vec![ReportRef { id: ReportId(Uuid::nil()), reported_at: at, excerpt: "Bentrok <warga>".into() }],
            state: AlertState::Open,
            raised_at: at,
            deliveries: vec![],
            history: vec![],
            escalations: vec![],
            children: vec![],
        }
    }

    /// A siaga alert for social conflict in Sulawesi Tengah whose chain has
    /// [`Alert::example`] as its one child: for trying templates and for tests.
    pub fn example_parent(at: OffsetDateTime) -> Alert {
        let child = Alert::example(at);
        Alert {
            id: Uuid::from_u128(1),
            key: "konflik_sosial/72".into(),
            region: RegionCode::parse("72").expect("a real code"),
            count: 9,
            score: 18.0,
            children: vec![child.id],
            ..child
        }
    }

    /// Whether `change` may be taken now: forward only, never after
    /// resolved, and a note without a move only once someone has taken the
    /// alert on.
    pub fn check(&self, change: &StateChange) -> Result<(), ChangeError> {
        let (current, wanted) = (self.state, change.state);
        match () {
            _ if current == AlertState::Resolved => Err(ChangeError::Resolved),
            _ if wanted < current => Err(ChangeError::Backwards { current, wanted }),
            _ if wanted == current && change.note.is_none() => Err(ChangeError::Unchanged(current)),
            _ if wanted == AlertState::Open => Err(ChangeError::NoteOnOpen),
            _ => Ok(()),
        }
    }

    /// Takes `change` when [`Alert::check`] allows it. A step already taken
    /// (the same id) changes nothing, so replaying the topic is harmless.
    pub fn apply(&mut self, change: StateChange) -> Result<(), ChangeError> {
        if self.history.iter().any(|c| c.id == change.id) {
            return Ok(());
        }
        self.check(&change)?;
        self.state = change.state;
        self.history.push(change);
        Ok(())
    }

    /// The first step that took the alert on, if any: who acknowledged it and when.
    pub fn acknowledged(&self) -> Option<&StateChange> {
        self.history.iter().find(|c| c.state > AlertState::Open)
    }

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
    /// Someone took a lifecycle step (acknowledged, follow-up, resolved).
    Changed { alert_id: Uuid, change: StateChange },
    /// Nobody acknowledged in time; the alerter passed it up.
    Escalated { alert_id: Uuid, escalation: Escalation },
}

impl AlertEvent {
    pub fn alert_id(&self) -> Uuid {
        match self {
            AlertEvent::Raised { alert } => alert.id,
            AlertEvent::Delivered { alert_id, .. }
            | AlertEvent::Changed { alert_id, .. }
            | AlertEvent::Escalated { alert_id, .. } => *alert_id,
        }
    }
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub indicator: Option<String>,
    /// Alerts in this region or below it.
    pub region: Option<RegionCode>,
    pub state: Option<AlertState>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// Every alert with its deliveries, escalations and lifecycle, as the events
/// of the `alerts` topic make it. Applying the same events in the same order
/// gives the same book on every node, and applying one twice changes nothing.
///
/// The book also links each alert chain both ways: a parent names its
/// children ([`Alert::children`]); the book finds a child's parent from
/// those lists, whichever of the two was raised first.
#[derive(Debug, Clone, Default)]
pub struct AlertBook {
    alerts: BTreeMap<Uuid, Alert>,
    /// Child id → the alerts whose `children` name it.
    parents: BTreeMap<Uuid, Vec<Uuid>>,
}

impl AlertBook {
    /// Applies one event of the `alerts` topic. An event about an alert the
    /// book does not hold is ignored. A lifecycle step that a concurrent step
    /// (on another node) made impossible is refused here, and so skipped on
    /// every node alike.
    ///
    /// Returns the alerts that look different now: the alert itself when the
    /// event changed it, and, when its level or state changed (it was raised
    /// or took a step), its neighbours in its chain, which show both. An
    /// event applied twice returns nothing the second time.
    pub fn apply(&mut self, event: AlertEvent) -> Result<Vec<Uuid>, ChangeError> {
        let (id, chain) = match event {
            AlertEvent::Raised { alert } => {
                if self.alerts.contains_key(&alert.id) {
                    return Ok(Vec::new());
                }
                for child in &alert.children {
                    self.parents.entry(*child).or_default().push(alert.id);
                }
                let id = alert.id;
                self.alerts.insert(id, alert);
                (id, true)
            }
            AlertEvent::Delivered { alert_id, delivery } => {
                let Some(alert) = self.alerts.get_mut(&alert_id) else { return Ok(Vec::new()) };
                if alert.deliveries.contains(&delivery) {
                    return Ok(Vec::new());
                }
                alert.deliveries.push(delivery);
                (alert_id, false)
            }
            AlertEvent::Escalated { alert_id, escalation } => {
                let Some(alert) = self.alerts.get_mut(&alert_id) else { return Ok(Vec::new()) };
                if alert.escalations.contains(&escalation) {
                    return Ok(Vec::new());
                }
                alert.escalations.push(escalation);
                (alert_id, false)
            }
            AlertEvent::Changed { alert_id, change } => {
                let Some(alert) = self.alerts.get_mut(&alert_id) else { return Ok(Vec::new()) };
                let steps = alert.history.len();
                alert.apply(change)?;
                if alert.history.len() == steps {
                    return Ok(Vec::new());
                }
                (alert_id, true)
            }
        };
        let mut touched = vec![id];
        if chain {
            touched.extend(self.parents.get(&id).into_iter().flatten().filter(|p| self.alerts.contains_key(p)));
            touched.extend(self.children_of(id).into_iter().map(|c| c.id));
        }
        Ok(touched)
    }

    /// The alerts whose reports include `report`, oldest raised first.
    pub fn with_report(&self, report: ReportId) -> Vec<&Alert> {
        let mut out: Vec<&Alert> = self.alerts.values().filter(|a| a.reports.iter().any(|r| r.id == report)).collect();
        out.sort_by_key(|a| (a.raised_at, a.id));
        out
    }

    /// Every alert, whatever its region.
    pub fn iter(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// The alert `id`, whatever its region.
    pub fn get(&self, id: Uuid) -> Option<&Alert> {
        self.alerts.get(&id)
    }

    /// The alert `id`, when `scope` covers its region.
    pub fn get_within(&self, scope: &Scope, id: Uuid) -> Option<&Alert> {
        self.alerts.get(&id).filter(|a| scope.covers(Some(&a.region)))
    }

    /// The parent of alert `id` in its chain: of the alerts that name it
    /// among their children, the one of the lowest region (the nearest
    /// level up), the latest raised if several.
    pub fn parent_of(&self, id: Uuid) -> Option<&Alert> {
        let parents = self.parents.get(&id)?.iter().filter_map(|p| self.alerts.get(p));
        parents.max_by(|a, b| (a.region.level(), a.raised_at, a.id).cmp(&(b.region.level(), b.raised_at, b.id)))
    }

    /// The child alerts of alert `id` that the book holds, by region.
    pub fn children_of(&self, id: Uuid) -> Vec<&Alert> {
        let Some(alert) = self.alerts.get(&id) else { return Vec::new() };
        let mut children: Vec<&Alert> = alert.children.iter().filter_map(|c| self.alerts.get(c)).collect();
        children.sort_by(|a, b| a.region.cmp(&b.region).then(a.raised_at.cmp(&b.raised_at)));
        children
    }

    /// The alerts that resolving alert `id` resolves too: every alert below
    /// it in its chain (children, their children…) not resolved yet, the
    /// lowest first, each once.
    pub fn resolved_with(&self, id: Uuid) -> Vec<&Alert> {
        let mut seen = std::collections::BTreeSet::from([id]);
        let mut out = Vec::new();
        self.below(id, &mut seen, &mut out);
        out
    }

    fn below<'a>(&'a self, id: Uuid, seen: &mut std::collections::BTreeSet<Uuid>, out: &mut Vec<&'a Alert>) {
        for child in self.children_of(id) {
            if seen.insert(child.id) {
                self.below(child.id, seen, out);
                if child.state != AlertState::Resolved {
                    out.push(child);
                }
            }
        }
    }

    /// The alerts within `scope` that pass `filter`, newest first.
    pub fn list(&self, scope: &Scope, filter: &AlertFilter) -> Vec<Alert> {
        let mut out: Vec<Alert> = self
            .alerts
            .values()
            .filter(|a| scope.covers(Some(&a.region)))
            .filter(|a| filter.indicator.as_ref().is_none_or(|i| &a.indicator == i))
            .filter(|a| filter.region.as_ref().is_none_or(|r| a.region.is_within(r)))
            .filter(|a| filter.state.is_none_or(|s| a.state == s))
            .cloned()
            .collect();
        out.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(b.id.cmp(&a.id)));
        out.truncate(filter.limit.unwrap_or(100).min(1000));
        out
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn alert() -> Alert {
        Alert { id: Uuid::now_v7(), ..Alert::example(datetime!(2026-11-29 10:00 UTC)) }
    }

    fn step(state: AlertState, note: Option<&str>) -> StateChange {
        StateChange {
            id: Uuid::now_v7(),
            state,
            by: "piket".into(),
            at: datetime!(2026-11-29 10:05 UTC),
            note: note.map(Into::into),
        }
    }

    fn delivery(channel: DeliveryChannel, recipient: &str) -> Delivery {
        Delivery {
            channel,
            recipient: recipient.into(),
            unit: "palu".into(),
            at: datetime!(2026-11-29 10:01 UTC),
            attempt: 1,
            error: None,
            status: None,
        }
    }

    #[test]
    fn the_lifecycle_moves_forward_only_and_notes_need_someone_on_it() {
        let mut a = alert();
        assert_eq!(a.apply(step(AlertState::Open, Some("catatan"))), Err(ChangeError::NoteOnOpen));
        let ack = step(AlertState::Acknowledged, None);
        a.apply(ack.clone()).unwrap();
        assert_eq!(a.acknowledged(), Some(&ack));
        // the same step delivered twice is taken once
        a.apply(ack).unwrap();
        assert_eq!(a.history.len(), 1);
        assert_eq!(
            a.apply(step(AlertState::Acknowledged, None)),
            Err(ChangeError::Unchanged(AlertState::Acknowledged))
        );
        a.apply(step(AlertState::InProgress, Some("Tim gabungan menuju lokasi"))).unwrap();
        a.apply(step(AlertState::InProgress, Some("Situasi terkendali"))).unwrap();
        assert_eq!(
            a.apply(step(AlertState::Acknowledged, None)),
            Err(ChangeError::Backwards { current: AlertState::InProgress, wanted: AlertState::Acknowledged })
        );
        a.apply(step(AlertState::Resolved, None)).unwrap();
        assert_eq!(a.apply(step(AlertState::Resolved, Some("lagi"))), Err(ChangeError::Resolved));
        assert_eq!(a.state, AlertState::Resolved);
        assert_eq!(a.history.len(), 4);
        // a false alarm may be closed at once
        let mut b = alert();
        b.apply(step(AlertState::Resolved, Some("laporan palsu"))).unwrap();
        assert_eq!(b.acknowledged().map(|c| c.state), Some(AlertState::Resolved));
    }

    #[test]
    fn the_book_applies_each_event_once_and_skips_impossible_steps() {
        let raised = alert();
        let id = raised.id;
        let mut book = AlertBook::default();
        let event = AlertEvent::Raised { alert: raised.clone() };
        book.apply(event.clone()).unwrap();
        // raised again (a replay), with another count: the first stays
        book.apply(AlertEvent::Raised { alert: Alert { count: 99, ..raised } }).unwrap();
        assert_eq!(book.get(id).map(|a| a.count), Some(4));
        let delivery = delivery(DeliveryChannel::Email, "piket@example.go.id");
        for _ in 0..2 {
            book.apply(AlertEvent::Delivered { alert_id: id, delivery: delivery.clone() }).unwrap();
        }
        assert_eq!(book.get(id).unwrap().deliveries.len(), 1);
        // two nodes resolve at once: the second step is refused on every book
        let first = AlertEvent::Changed { alert_id: id, change: step(AlertState::Resolved, None) };
        let second = AlertEvent::Changed { alert_id: id, change: step(AlertState::Resolved, None) };
        book.apply(first).unwrap();
        assert_eq!(book.apply(second), Err(ChangeError::Resolved));
        assert_eq!(book.get(id).unwrap().history.len(), 1);
        // an event about an alert the book does not hold changes nothing
        book.apply(AlertEvent::Changed { alert_id: Uuid::now_v7(), change: step(AlertState::Resolved, None) }).unwrap();
    }

    #[test]
    fn the_book_lists_within_a_scope_newest_first() {
        let mut book = AlertBook::default();
        let palu = alert();
        let later = Alert {
            id: Uuid::now_v7(),
            region: RegionCode::parse("72.71.01").unwrap(),
            raised_at: palu.raised_at + time::Duration::HOUR,
            ..alert()
        };
        let jakarta = Alert { id: Uuid::now_v7(), region: RegionCode::parse("31").unwrap(), ..alert() };
        for a in [&palu, &later, &jakarta] {
            book.apply(AlertEvent::Raised { alert: a.clone() }).unwrap();
        }
        let sulteng = Scope::Regions(vec![RegionCode::parse("72").unwrap()]);
        let ids = |list: Vec<Alert>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(book.list(&sulteng, &AlertFilter::default())), [later.id, palu.id]);
        assert_eq!(book.list(&Scope::All, &AlertFilter::default()).len(), 3);
        let below = AlertFilter { region: Some(RegionCode::parse("72.71.01").unwrap()), ..AlertFilter::default() };
        assert_eq!(ids(book.list(&Scope::All, &below)), [later.id]);
        let one = AlertFilter { limit: Some(1), ..AlertFilter::default() };
        assert_eq!(book.list(&Scope::All, &one).len(), 1);
        assert!(book.get_within(&sulteng, jakarta.id).is_none());
        assert!(book.get(jakarta.id).is_some());
    }

    #[test]
    fn the_book_links_a_chain_whichever_end_arrives_first() {
        let at = |h: i64| datetime!(2026-11-29 10:00 UTC) + time::Duration::hours(h);
        let in_region = |code: &str, h: i64, children: &[&Alert]| Alert {
            id: Uuid::now_v7(),
            region: RegionCode::parse(code).unwrap(),
            raised_at: at(h),
            children: children.iter().map(|c| c.id).collect(),
            ..alert()
        };
        let district = in_region("72.71.02", 0, &[]);
        let other = in_region("72.71.03", 0, &[]);
        let city = in_region("72.71", 1, &[&district, &other]);
        let province = in_region("72", 2, &[&city, &district]);
        let mut book = AlertBook::default();
        // the province arrives before its child the city (another partition)
        for a in [&district, &other, &province, &city] {
            book.apply(AlertEvent::Raised { alert: a.clone() }).unwrap();
        }
        let id = |a: Option<&Alert>| a.map(|a| a.id);
        let ids = |list: Vec<&Alert>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(id(book.parent_of(district.id)), Some(city.id), "the nearest level up");
        assert_eq!(id(book.parent_of(city.id)), Some(province.id));
        assert_eq!(id(book.parent_of(province.id)), None);
        assert_eq!(ids(book.children_of(city.id)), [district.id, other.id]);
        assert_eq!(ids(book.children_of(province.id)), [city.id, district.id]);
        // replayed: the links are not doubled
        book.apply(AlertEvent::Raised { alert: province.clone() }).unwrap();
        assert_eq!(book.parents[&district.id].len(), 2);

        // resolving the province resolves every open alert below it, the
        // lowest first and each once; one resolved already is left alone
        let done = AlertEvent::Changed { alert_id: other.id, change: step(AlertState::Resolved, None) };
        book.apply(done).unwrap();
        assert_eq!(ids(book.resolved_with(province.id)), [district.id, city.id]);
        // resolving a child leaves its parent open; acknowledging is for the alert itself
        assert!(book.resolved_with(district.id).is_empty());
        book.apply(AlertEvent::Changed { alert_id: city.id, change: step(AlertState::Acknowledged, None) }).unwrap();
        assert_eq!(book.get(province.id).unwrap().state, AlertState::Open);
        assert_eq!(book.get(district.id).unwrap().state, AlertState::Open);
        // a chain that loops (a broken producer) still ends
        let a = in_region("72.71", 3, &[]);
        let b = Alert { children: vec![a.id], ..in_region("72", 3, &[]) };
        let a = Alert { children: vec![b.id], ..a };
        book.apply(AlertEvent::Raised { alert: a.clone() }).unwrap();
        book.apply(AlertEvent::Raised { alert: b.clone() }).unwrap();
        assert_eq!(ids(book.resolved_with(a.id)), [b.id]);
    }

    #[test]
    fn the_book_says_which_alerts_an_event_changed() {
        let child = Alert { id: Uuid::now_v7(), region: RegionCode::parse("72.71.02").unwrap(), ..alert() };
        let parent = Alert { id: Uuid::now_v7(), children: vec![child.id], ..alert() };
        let mut book = AlertBook::default();
        assert_eq!(book.apply(AlertEvent::Raised { alert: child.clone() }), Ok(vec![child.id]));
        // the child's chain now shows its parent
        assert_eq!(book.apply(AlertEvent::Raised { alert: parent.clone() }), Ok(vec![parent.id, child.id]));
        assert_eq!(book.apply(AlertEvent::Raised { alert: parent.clone() }), Ok(vec![]), "a replay");
        // a step shows in the chain of both; a delivery only on the alert
        let ack = AlertEvent::Changed { alert_id: child.id, change: step(AlertState::Acknowledged, None) };
        assert_eq!(book.apply(ack.clone()), Ok(vec![child.id, parent.id]));
        assert_eq!(book.apply(ack), Ok(vec![]), "the same step again");
        let delivered =
            AlertEvent::Delivered { alert_id: parent.id, delivery: delivery(DeliveryChannel::Sms, "+6281234") };
        assert_eq!(book.apply(delivered.clone()), Ok(vec![parent.id]));
        assert_eq!(book.apply(delivered), Ok(vec![]));
        let unknown = AlertEvent::Changed { alert_id: Uuid::now_v7(), change: step(AlertState::Resolved, None) };
        assert_eq!(book.apply(unknown), Ok(vec![]));
        // the alerts a report counted towards
        let report = child.reports[0].id;
        assert_eq!(book.with_report(report).len(), 2);
        assert!(book.with_report(ReportId(Uuid::now_v7())).is_empty());
    }
}
