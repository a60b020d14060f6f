//! The alerter's decisions, as pure functions of what they are given:
//!
//! - [`route`]: who hears of a raised alert: the units responsible for its
//!   region, indicator and level (else the nearest above), the parents of
//!   those off duty, or nobody while a silence holds;
//! - [`Policy::admit`]: whether and when they hear of it, given what the
//!   outbox remembers ([`History`]): repeats, inhibition, grouping, and the
//!   escalation timer it starts;
//! - [`Policy::escalate`]: who hears of it when its timer falls due;
//! - [`Pacer`]: how many notifications one recipient gets an hour;
//! - [`record`]: what a send attempt leaves behind, and when the next is due.
//!
//! Each takes the time of its decision as `now` and reads no clock, no disk
//! and no network: the stage gathers what they need, the outbox stores what
//! they decided, and the tests move the clock by hand.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::BackoffBuilder;
use bus::Retryable;
use model::{Alert, DeliveryChannel, Escalation, Level, RegionCode, RegionLevel, Silence, Unit};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::channel::SendError;

/// How long an awas alert at province level holds back waspada alerts
/// below it, unless it is resolved sooner.
pub const INHIBIT_FOR: time::Duration = time::Duration::DAY;
/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: u32 = 12;

/// How raised alerts are grouped, held back and escalated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Notifications wait this long, so that a quick succession of alerts
    /// of one series goes out as one (the latest); awas never waits.
    pub group_window: time::Duration,
    /// The same series and level is not notified again within this.
    pub repeat_interval: time::Duration,
    /// How long each level may stay unacknowledged before it escalates.
    pub escalation: EscalationConfig,
}

/// `[escalation]`: how long an alert of each level may stay unacknowledged
/// before it is passed to the parent units.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    #[serde(default = "waspada", with = "humantime_serde")]
    pub waspada: Duration,
    #[serde(default = "siaga", with = "humantime_serde")]
    pub siaga: Duration,
    #[serde(default = "awas", with = "humantime_serde")]
    pub awas: Duration,
}

fn waspada() -> Duration {
    Duration::from_secs(4 * 3600)
}
fn siaga() -> Duration {
    Duration::from_secs(3600)
}
fn awas() -> Duration {
    Duration::from_secs(15 * 60)
}

impl Default for EscalationConfig {
    fn default() -> Self {
        Self { waspada: waspada(), siaga: siaga(), awas: awas() }
    }
}

impl EscalationConfig {
    pub fn deadline(&self, level: Level) -> time::Duration {
        let d = match level {
            Level::Waspada => self.waspada,
            Level::Siaga => self.siaga,
            Level::Awas => self.awas,
        };
        time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Sent,
    /// Given up: a permanent error, or too many attempts.
    Failed,
    /// Not sent: a later alert of the same series, queued within the group
    /// window, went out in its place.
    Grouped,
}

/// One notification to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub alert: Alert,
    pub unit: String,
    pub unit_name: String,
    pub channel: DeliveryChannel,
    pub recipient: String,
    pub status: Status,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt: OffsetDateTime,
    #[serde(default)]
    pub last_error: Option<String>,
    /// For an escalation: the names of the units that did not acknowledge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalated_from: Vec<String>,
    /// For an escalation: who had been notified, and how that went.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notified: Vec<Notified>,
}

impl Entry {
    pub fn key_for(alert: &Alert, channel: DeliveryChannel, recipient: &str) -> String {
        let channel = match channel {
            DeliveryChannel::Email => "email",
            DeliveryChannel::Sms => "sms",
        };
        format!("{}/{channel}/{recipient}", alert.id)
    }
}

/// One earlier notification of an alert, told in its escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notified {
    pub unit: String,
    pub channel: DeliveryChannel,
    pub recipient: String,
    pub status: Status,
}

/// An alert waiting for someone to take it on: when it falls due, the
/// parents of `units` hear of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub alert: Alert,
    /// The units that have it now: their parents hear of it next.
    pub units: Vec<String>,
    /// Every unit told that a unit below was silent (off duty, or did not
    /// take it on in time), so none is told twice.
    #[serde(default)]
    pub escalated: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
}

/// How the units of a [`Plan`] were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routing {
    /// A silence holds the alert back: nobody is notified.
    Silenced { silence: String, reason: String },
    /// Units that handle its indicator and level in its region.
    Handled,
    /// No unit handles it: the units of the nearest region above it have it (a gap).
    Nearest,
    /// No unit handles it, and no unit covers its region (a gap).
    Nobody,
}

/// Who hears of a raised alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub alert: Alert,
    pub routing: Routing,
    /// One notification per address of each unit, the stand-ins' included.
    pub entries: Vec<Entry>,
    /// The parents told at once because a unit is off duty.
    pub stand_in: Option<Escalation>,
    /// Every unit that has the alert: the escalation timer starts from these.
    pub units: Vec<String>,
}

/// The units that must hear of `alert` at `now`, from `units`, unless one of
/// `silences` holds it back. A unit off duty has its parent told at once as
/// well, as an escalation naming it "di luar jam kerja".
pub fn route(alert: &Alert, units: &[Unit], silences: &[Silence], now: OffsetDateTime) -> Plan {
    if let Some(silence) = silences.iter().find(|s| s.covers(&alert.indicator, &alert.region, now)) {
        let routing = Routing::Silenced { silence: silence.id.clone(), reason: silence.reason.clone() };
        return Plan { alert: alert.clone(), routing, entries: Vec::new(), stand_in: None, units: Vec::new() };
    }
    let handled: Vec<&Unit> =
        units.iter().filter(|u| u.handles(&alert.indicator, alert.level, &alert.region)).collect();
    let (routing, routed) = if handled.is_empty() {
        let nearest = nearest(&alert.region, units);
        (if nearest.is_empty() { Routing::Nobody } else { Routing::Nearest }, nearest)
    } else {
        (Routing::Handled, handled)
    };
    // a unit off duty: its parent is told at once, even when it has the
    // alert itself (it was told of the alert, not that nobody is on duty)
    let off_duty: Vec<&Unit> = routed.iter().copied().filter(|u| !u.on_duty(now)).collect();
    let told = parents_of(&off_duty, units, &[]);
    let stand_ins: Vec<&Unit> =
        told.iter().map(|(parent, _)| *parent).filter(|p| !routed.iter().any(|u| u.id == p.id)).collect();
    let mut entries = Vec::new();
    for unit in routed.iter().chain(&stand_ins) {
        let from: Vec<String> = told
            .iter()
            .filter(|(parent, _)| parent.id == unit.id)
            .flat_map(|(_, from)| from.iter().map(|u| format!("{} (di luar jam kerja)", u.name)))
            .collect();
        entries.extend(entries_to(alert, &[unit], &from, now));
    }
    let stand_in = (!told.is_empty()).then(|| escalation(&told, now));
    let units = routed.iter().chain(&stand_ins).map(|u| u.id.clone()).collect();
    Plan { alert: alert.clone(), routing, entries, stand_in, units }
}

/// The parents of the `silent` units, each with the silent units it is
/// told about, leaving out those in `skip` and a unit that names itself.
fn parents_of<'a>(silent: &[&'a Unit], units: &'a [Unit], skip: &[String]) -> Vec<(&'a Unit, Vec<&'a Unit>)> {
    let mut told: Vec<(&Unit, Vec<&Unit>)> = Vec::new();
    for unit in silent {
        let Some(parent) = unit.parent.as_deref().and_then(|p| units.iter().find(|u| u.id == p)) else {
            continue;
        };
        if parent.id == unit.id || skip.contains(&parent.id) {
            continue;
        }
        match told.iter_mut().find(|(p, _)| p.id == parent.id) {
            Some((_, from)) => from.push(unit),
            None => told.push((parent, vec![unit])),
        }
    }
    told
}

/// The record of telling the parents in `told` at `now`, with who was silent.
fn escalation(told: &[(&Unit, Vec<&Unit>)], now: OffsetDateTime) -> Escalation {
    let mut from: Vec<&Unit> = told.iter().flat_map(|(_, from)| from.iter().copied()).collect();
    from.dedup_by(|a, b| a.id == b.id);
    Escalation {
        units: told.iter().map(|(p, _)| p.id.clone()).collect(),
        names: told.iter().map(|(p, _)| p.name.clone()).collect(),
        from: from.iter().map(|u| u.id.clone()).collect(),
        from_names: from.iter().map(|u| u.name.clone()).collect(),
        at: now,
    }
}

/// When no unit handles an alert: the units of the nearest region at or
/// above `region`, whatever their indicators and levels.
pub fn nearest<'a>(region: &RegionCode, units: &'a [Unit]) -> Vec<&'a Unit> {
    region
        .lineage()
        .iter()
        .rev()
        .map(|ancestor| units.iter().filter(|u| u.regions.iter().any(|r| r == ancestor)).collect::<Vec<_>>())
        .find(|found| !found.is_empty())
        .unwrap_or_default()
}

/// One notification per address of each unit in `units`, due at `now`.
fn entries_to(alert: &Alert, units: &[&Unit], escalated_from: &[String], now: OffsetDateTime) -> Vec<Entry> {
    let mut entries = Vec::new();
    for unit in units {
        let addresses = unit.emails.iter().map(|a| (DeliveryChannel::Email, a));
        for (channel, recipient) in addresses.chain(unit.phones.iter().map(|p| (DeliveryChannel::Sms, p))) {
            entries.push(Entry {
                key: Entry::key_for(alert, channel, recipient),
                alert: alert.clone(),
                unit: unit.id.clone(),
                unit_name: unit.name.clone(),
                channel,
                recipient: recipient.clone(),
                status: Status::Pending,
                attempts: 0,
                next_attempt: now,
                last_error: None,
                escalated_from: escalated_from.to_vec(),
                notified: Vec::new(),
            });
        }
    }
    entries
}

/// An open awas alert at province level, which holds back the waspada
/// alerts of its province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inhibitor {
    pub alert: String,
    pub province: String,
    pub raised_at: OffsetDateTime,
}

/// What the outbox remembers that bears on admitting a [`Plan`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The keys of the plan's notifications already in the outbox (the
    /// alert was seen before: a redelivery, a restart).
    pub known: HashSet<String>,
    /// When the alert's series last had its level notified.
    pub last_notified: Option<OffsetDateTime>,
    /// The open awas alerts at province level.
    pub inhibitors: Vec<Inhibitor>,
    /// The notifications of the alert's series still waiting to be sent.
    pub waiting: Vec<Entry>,
    /// The alert's timer was closed (someone took it on, or a later alert
    /// took its place): it does not start again.
    pub closed: bool,
}

/// What became of a raised alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Seen before: whatever was decided then stands.
    Redelivered,
    /// The same series and level was notified within the repeat interval.
    Repeat,
    /// An open awas alert for its province holds it back.
    Inhibited { by: String },
    /// Queued this many new notifications.
    Queued(usize),
}

/// What the outbox is to store for a raised alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    /// New notifications, each with the time it falls due.
    pub queue: Vec<Entry>,
    /// Waiting notifications of earlier alerts of the series that this
    /// alert's go out in place of (status `Grouped`).
    pub grouped: Vec<Entry>,
    /// Alerts whose escalation timers stop for good.
    pub close_timers: Vec<String>,
    /// The escalation timer this alert starts.
    pub timer: Option<Timer>,
    /// When the series was notified at this level, for the repeat interval.
    pub notified_at: Option<OffsetDateTime>,
    /// An awas alert at province level starts holding back waspada below it.
    pub inhibitor: Option<Inhibitor>,
}

impl Decision {
    fn only(outcome: Outcome, inhibitor: Option<Inhibitor>) -> Self {
        Self {
            outcome,
            queue: Vec::new(),
            grouped: Vec::new(),
            close_timers: Vec::new(),
            timer: None,
            notified_at: None,
            inhibitor,
        }
    }
}

/// What happens when an alert's timer falls due.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nobody above the units that have it: the timer stops.
    Top,
    /// The parents hear of it (`entries`), the escalation is told to
    /// everyone, and the timer starts again one step up.
    Up { entries: Vec<Entry>, escalation: Escalation, timer: Timer },
}

impl Policy {
    /// Decides what becomes of `plan` at `now`, given `history`:
    /// - held back while an awas alert for its province is open (waspada
    ///   only; at most [`INHIBIT_FOR`], until it is resolved);
    /// - not notified again when its series had its level notified within
    ///   the repeat interval;
    /// - otherwise notified after the group window (awas at once), in place
    ///   of the notifications of earlier alerts of its series still
    ///   waiting, due when the first of those was; and its escalation timer
    ///   starts.
    pub fn admit(&self, history: &History, plan: &Plan, now: OffsetDateTime) -> Decision {
        let alert = &plan.alert;
        if plan.entries.first().is_some_and(|e| history.known.contains(&e.key)) {
            return Decision::only(Outcome::Redelivered, None);
        }
        let id = alert.id.to_string();
        let province = alert.region.province().to_string();
        let inhibitor = (alert.level == Level::Awas && alert.region.level() == RegionLevel::Province)
            .then(|| Inhibitor { alert: id.clone(), province: province.clone(), raised_at: alert.raised_at });
        if alert.level == Level::Waspada
            && let Some(by) = history
                .inhibitors
                .iter()
                .find(|i| i.province == province && i.alert != id && now - i.raised_at < INHIBIT_FOR)
        {
            return Decision::only(Outcome::Inhibited { by: by.alert.clone() }, inhibitor);
        }
        if history.last_notified.is_some_and(|t| now - t < self.repeat_interval) {
            return Decision::only(Outcome::Repeat, inhibitor);
        }
        let mut due = if alert.level == Level::Awas { now } else { now + self.group_window };
        let grouped: Vec<Entry> = history
            .waiting
            .iter()
            .filter(|e| {
                // still waiting out its group window: with `group_window = 0`
                // nothing waits, and every alert goes out on its own
                e.alert.key == alert.key
                    && e.alert.id != alert.id
                    && e.status == Status::Pending
                    && e.attempts == 0
                    && e.next_attempt > now
                    && e.escalated_from.is_empty()
            })
            .map(|e| {
                due = due.min(e.next_attempt.max(now));
                Entry {
                    status: Status::Grouped,
                    last_error: Some(format!("grouped into alert {}", alert.id)),
                    ..e.clone()
                }
            })
            .collect();
        let mut close_timers: Vec<String> = grouped.iter().map(|e| e.alert.id.to_string()).collect();
        close_timers.dedup();
        let queue: Vec<Entry> = plan
            .entries
            .iter()
            .filter(|e| !history.known.contains(&e.key))
            .map(|e| Entry { next_attempt: due, ..e.clone() })
            .collect();
        let timer = (!plan.units.is_empty() && !history.closed).then(|| Timer {
            due: alert.raised_at.max(now) + self.escalation.deadline(alert.level),
            alert: alert.clone(),
            units: plan.units.clone(),
            escalated: plan.stand_in.iter().flat_map(|s| s.units.clone()).collect(),
        });
        Decision {
            outcome: Outcome::Queued(queue.len()),
            notified_at: (!queue.is_empty()).then_some(now),
            queue,
            grouped,
            close_timers,
            timer,
            inhibitor,
        }
    }

    /// What happens when `timer` falls due at `now`: the parent of each unit
    /// that has the alert hears that the unit did not take it on, with who
    /// had been told and how that went (from `earlier`, the alert's
    /// notifications so far). A parent hears this even when the alert
    /// reached it already (its regions cover the alert's): it was told of
    /// the alert, not of the silence below it. Each unit is escalated to once
    /// an alert, so a chain of parents that loops still ends.
    pub fn escalate(&self, timer: &Timer, units: &[Unit], earlier: &[Entry], now: OffsetDateTime) -> Step {
        let had: Vec<&Unit> = timer.units.iter().filter_map(|id| units.iter().find(|u| &u.id == id)).collect();
        let told = parents_of(&had, units, &timer.escalated);
        if told.is_empty() {
            return Step::Top;
        }
        let alert = &timer.alert;
        let notified: Vec<Notified> = earlier
            .iter()
            .filter(|e| e.alert.id == alert.id && e.status != Status::Grouped)
            .map(|e| Notified {
                unit: e.unit_name.clone(),
                channel: e.channel,
                recipient: e.recipient.clone(),
                status: e.status,
            })
            .collect();
        let mut entries = Vec::new();
        for (parent, from) in &told {
            let from: Vec<String> = from.iter().map(|u| u.name.clone()).collect();
            for entry in entries_to(alert, &[parent], &from, now) {
                // not the key of the alert's first notification, which the
                // parent may have had: the outbox keeps each key once
                entries.push(Entry { key: format!("{}/eskalasi", entry.key), notified: notified.clone(), ..entry });
            }
        }
        let escalation = escalation(&told, now);
        let mut escalated = timer.escalated.clone();
        escalated.extend(escalation.units.iter().cloned());
        let timer = Timer {
            due: now + self.escalation.deadline(alert.level),
            units: escalation.units.clone(),
            escalated,
            alert: alert.clone(),
        };
        Step::Up { entries, escalation, timer }
    }
}

/// Each recipient's notifications an hour (awas excepted): a recipient may
/// have that many at once, and one more each time an hour's share of them
/// has passed (a keyed `governor` limiter). The count is kept in memory, so
/// a restart forgets it.
pub struct Pacer {
    limiter: Option<Limiter>,
    clock: MovedClock,
}

type Limiter = governor::RateLimiter<
    String,
    governor::state::keyed::DefaultKeyedStateStore<String>,
    MovedClock,
    governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
>;

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pacer")
    }
}

/// The limiter's clock: moved to the `now` of each decision, never read
/// from the system. Nanoseconds since the Unix epoch, never going back.
#[derive(Debug, Clone, Default)]
struct MovedClock(Arc<AtomicU64>);

impl MovedClock {
    fn move_to(&self, now: OffsetDateTime) {
        let nanos = u64::try_from(now.unix_timestamp_nanos()).unwrap_or(0);
        self.0.fetch_max(nanos, Ordering::Relaxed);
    }
}

impl governor::clock::Clock for MovedClock {
    type Instant = governor::nanos::Nanos;

    fn now(&self) -> Self::Instant {
        self.0.load(Ordering::Relaxed).into()
    }
}

impl Pacer {
    /// `per_hour` notifications a recipient; 0: no limit.
    pub fn new(per_hour: u32) -> Self {
        let clock = MovedClock::default();
        let limiter = NonZeroU32::new(per_hour)
            .map(|n| governor::RateLimiter::dashmap_with_clock(governor::Quota::per_hour(n), clock.clone()));
        Self { limiter, clock }
    }

    /// Whether `entry` may go out at `now` (`None`, and it is counted), or
    /// the time when it may.
    pub fn pace(&self, entry: &Entry, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let limiter = self.limiter.as_ref().filter(|_| entry.alert.level != Level::Awas)?;
        self.clock.move_to(now);
        // recipients with a full allowance again take no room
        limiter.retain_recent();
        let key = format!("{:?}/{}", entry.channel, entry.recipient);
        let earliest = limiter.check_key(&key).err()?.earliest_possible().as_u64();
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(earliest)).ok()
    }
}

/// When the attempt after `attempts` failed ones may be made: from 4–8 s
/// doubling to 20–40 min, or `None` once [`MAX_ATTEMPTS`] were made.
fn retry_after(attempts: u32) -> Option<Duration> {
    backon::ExponentialBuilder::new()
        .with_min_delay(Duration::from_secs(4))
        .with_max_delay(Duration::from_secs(20 * 60))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(MAX_ATTEMPTS as usize - 1)
        .build()
        .nth(attempts.checked_sub(1)? as usize)
}

/// `entry` after an attempt at `now` that ended with `error` (`None`:
/// sent): sent, pending again after a backoff when a retry can help, or
/// failed for good with its reason.
pub fn record(mut entry: Entry, error: Option<&SendError>, now: OffsetDateTime) -> Entry {
    entry.attempts += 1;
    entry.last_error = error.map(ToString::to_string);
    let (status, next) = outcome(entry.attempts, error, now);
    entry.status = status;
    entry.next_attempt = next.unwrap_or(entry.next_attempt);
    entry
}

/// How a message stands after its `attempts`-th attempt, at `now`, ended
/// with `error` (`None`: sent): sent, pending until the time given when a
/// retry can help, or failed for good.
pub(crate) fn outcome(
    attempts: u32,
    error: Option<&SendError>,
    now: OffsetDateTime,
) -> (Status, Option<OffsetDateTime>) {
    match error {
        None => (Status::Sent, None),
        Some(e) => match retry_after(attempts).filter(|_| e.retry() == bus::Retry::Later) {
            Some(delay) => (Status::Pending, Some(now + delay)),
            None => (Status::Failed, None),
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use model::unit::WorkingHours;
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-11-29 10:00 UTC);

    fn at(seconds: i64) -> OffsetDateTime {
        T0 + time::Duration::seconds(seconds)
    }

    pub(crate) fn unit(id: &str, region: &str, parent: Option<&str>, min: Level) -> Unit {
        Unit {
            id: id.into(),
            name: format!("Unit {id}"),
            regions: vec![RegionCode::parse(region).unwrap()],
            indicators: vec![],
            min_level: min,
            emails: vec![format!("{id}@example.go.id")],
            phones: vec![],
            parent: parent.map(Into::into),
            working_hours: None,
            time_zone: None,
            language: None,
        }
    }

    pub(crate) fn raised(region: &str, level: Level, at: OffsetDateTime) -> Alert {
        let region = RegionCode::parse(region).unwrap();
        Alert {
            id: uuid::Uuid::now_v7(),
            key: format!("narkoba/{region}"),
            indicator: "narkoba".into(),
            region,
            level,
            raised_at: at,
            ..Alert::example(at)
        }
    }

    fn policy(group: i64, repeat: i64) -> Policy {
        Policy {
            group_window: time::Duration::seconds(group),
            repeat_interval: time::Duration::seconds(repeat),
            escalation: EscalationConfig::default(),
        }
    }

    fn to(plan: &Plan) -> Vec<(&str, &[String])> {
        plan.entries.iter().map(|e| (e.recipient.as_str(), e.escalated_from.as_slice())).collect()
    }

    #[test]
    fn routes_by_region_indicator_and_level_else_to_the_nearest_unit_above() {
        let mut bnn = unit("bnn-palu", "72.71", None, Level::Waspada);
        bnn.indicators = vec!["narkoba".into()];
        let units = [bnn, unit("sulteng", "72", None, Level::Siaga), unit("sulsel", "73", None, Level::Waspada)];
        let ids = |p: Plan| (p.routing, p.units);
        let route = |region: &str, level: Level, indicator: &str| {
            let alert = Alert { indicator: indicator.into(), ..raised(region, level, T0) };
            ids(route(&alert, &units, &[], T0))
        };
        assert_eq!(route("72.71.02", Level::Waspada, "narkoba"), (Routing::Handled, vec!["bnn-palu".into()]));
        assert_eq!(
            route("72.71.02", Level::Siaga, "narkoba"),
            (Routing::Handled, vec!["bnn-palu".into(), "sulteng".into()])
        );
        assert_eq!(route("72.71.02", Level::Awas, "demokrasi"), (Routing::Handled, vec!["sulteng".into()]));
        // nobody takes demokrasi at waspada: the nearest unit above hears of it
        assert_eq!(route("72.71.02", Level::Waspada, "demokrasi"), (Routing::Nearest, vec!["bnn-palu".into()]));
        assert_eq!(route("72.03", Level::Waspada, "demokrasi"), (Routing::Nearest, vec!["sulteng".into()]));
        assert_eq!(route("11", Level::Awas, "narkoba"), (Routing::Nobody, vec![]));
    }

    #[test]
    fn a_unit_off_duty_has_its_parent_told_at_once() {
        // Sunday 10:00 in Palu (WITA)
        let sunday = datetime!(2026-11-29 02:00 UTC);
        let mut palu = unit("palu", "72.71", Some("sulteng"), Level::Waspada);
        palu.working_hours = Some(WorkingHours { days: vec![1, 2, 3, 4, 5], from: "08:00".into(), to: "16:00".into() });
        let units = [palu, unit("sulteng", "72", None, Level::Awas)];
        let plan = route(&raised("72.71", Level::Siaga, sunday), &units, &[], sunday);
        let off = ["Unit palu (di luar jam kerja)".to_owned()];
        assert_eq!(to(&plan), [("palu@example.go.id", &[][..]), ("sulteng@example.go.id", &off[..])]);
        let stand_in = plan.stand_in.clone().unwrap();
        assert_eq!((stand_in.units, stand_in.from, stand_in.at), (vec!["sulteng".into()], vec!["palu".into()], sunday));
        assert_eq!(plan.units, ["palu", "sulteng"], "the timer starts from both");
        // Monday 10:00 WITA: on duty
        let monday = sunday + time::Duration::days(1);
        let plan = route(&raised("72.71", Level::Siaga, monday), &units, &[], monday);
        assert_eq!(to(&plan), [("palu@example.go.id", &[][..])]);
        assert_eq!(plan.stand_in, None);
    }

    #[test]
    fn silences_hold_back_within_their_indicator_region_and_time() {
        let units = [unit("sulteng", "72", None, Level::Waspada)];
        let silence = Silence {
            id: "s1".into(),
            indicator: Some("narkoba".into()),
            region: RegionCode::parse("72.71").unwrap(),
            until: at(3600),
            reason: "operasi gabungan sedang berjalan".into(),
            by: "piket".into(),
            created_at: T0,
        };
        let silences = [silence];
        let plan = |alert: Alert, now| route(&alert, &units, &silences, now);
        let silenced = plan(raised("72.71.02", Level::Siaga, at(600)), at(600));
        assert_eq!(
            silenced.routing,
            Routing::Silenced { silence: "s1".into(), reason: "operasi gabungan sedang berjalan".into() }
        );
        assert!(silenced.entries.is_empty() && silenced.units.is_empty());
        assert_eq!(plan(raised("72.03", Level::Siaga, at(600)), at(600)).entries.len(), 1, "another regency");
        // the province's alert of the chain is not held back by a silence on
        // the city: the province as a whole crossed its own threshold
        let child = raised("72.71.02", Level::Siaga, at(600));
        let parent = Alert { children: vec![child.id], ..raised("72", Level::Siaga, at(600)) };
        assert_eq!(plan(parent, at(600)).entries.len(), 1, "a parent above the silence");
        let other = Alert { indicator: "konflik_sosial".into(), ..raised("72.71", Level::Siaga, at(600)) };
        assert_eq!(plan(other, at(600)).entries.len(), 1, "another indicator");
        assert_eq!(plan(raised("72.71", Level::Siaga, at(7200)), at(7200)).entries.len(), 1, "the silence ended");
    }

    /// The history the outbox would hand over once `decisions` are stored.
    fn remembered(decisions: &[&Decision], plan: &Plan) -> History {
        let mut history = History::default();
        for d in decisions {
            let series = |a: &Alert| (a.key.clone(), a.level);
            if d.notified_at.is_some() && d.queue.iter().any(|e| series(&e.alert) == series(&plan.alert)) {
                history.last_notified = d.notified_at;
            }
            history.inhibitors.extend(d.inhibitor.clone());
            history.waiting.retain(|w| !d.grouped.iter().any(|g| g.key == w.key));
            history.waiting.extend(d.queue.iter().filter(|e| e.alert.key == plan.alert.key).cloned());
        }
        history
    }

    #[test]
    fn alerts_are_grouped_not_repeated_and_held_back_under_a_provincial_awas() {
        let policy = policy(30, 4 * 3600);
        let units = [unit("sulteng", "72", None, Level::Waspada), unit("sulsel", "73", None, Level::Waspada)];
        let admit = |alert: &Alert, before: &[&Decision]| {
            let plan = route(alert, &units, &[], alert.raised_at);
            policy.admit(&remembered(before, &plan), &plan, alert.raised_at)
        };
        // waspada, then siaga within the group window: the siaga goes, when the waspada's was due
        let waspada = raised("72.71", Level::Waspada, at(0));
        let first = admit(&waspada, &[]);
        assert_eq!((first.outcome.clone(), first.queue[0].next_attempt), (Outcome::Queued(1), at(30)));
        let siaga = raised("72.71", Level::Siaga, at(10));
        let second = admit(&siaga, &[&first]);
        assert_eq!((second.outcome.clone(), second.queue[0].next_attempt), (Outcome::Queued(1), at(30)));
        assert_eq!(
            second.grouped.iter().map(|e| (e.alert.id, e.status)).collect::<Vec<_>>(),
            [(waspada.id, Status::Grouped)]
        );
        assert_eq!(second.close_timers, [waspada.id.to_string()], "the waspada's timer stops");
        // awas goes at once, and takes the siaga's place
        let awas = admit(&raised("72.71", Level::Awas, at(20)), &[&first, &second]);
        assert_eq!(awas.queue[0].next_attempt, at(20));
        assert_eq!(awas.grouped[0].alert.id, siaga.id);
        // the same series and level again within four hours: not sent again; later: sent
        let sent = [&first, &second, &awas];
        assert_eq!(admit(&raised("72.71", Level::Awas, at(3600)), &sent).outcome, Outcome::Repeat);
        assert_eq!(admit(&raised("72.71", Level::Awas, at(5 * 3600)), &sent).outcome, Outcome::Queued(1));
        // the same alert again (a redelivery): what was decided stands
        let mut seen = History::default();
        seen.known.insert(first.queue[0].key.clone());
        let plan = route(&waspada, &units, &[], at(40));
        assert_eq!(policy.admit(&seen, &plan, at(40)), Decision::only(Outcome::Redelivered, None));

        // an awas alert for the province holds back waspada below it, for a day at most
        let province = raised("72", Level::Awas, at(6 * 3600));
        let held = admit(&province, &[]);
        let inhibitor = held.inhibitor.clone().unwrap();
        assert_eq!((inhibitor.province.as_str(), inhibitor.alert), ("72", province.id.to_string()));
        assert_eq!(
            admit(&raised("72.03", Level::Waspada, at(6 * 3600 + 60)), &[&held]).outcome,
            Outcome::Inhibited { by: province.id.to_string() }
        );
        assert_eq!(admit(&raised("72.03", Level::Siaga, at(6 * 3600 + 70)), &[&held]).outcome, Outcome::Queued(1));
        let elsewhere = admit(&raised("73.71", Level::Waspada, at(6 * 3600 + 70)), &[&held]);
        assert_eq!(elsewhere.outcome, Outcome::Queued(1), "another province");
        assert_eq!(admit(&raised("72.05", Level::Waspada, at(31 * 3600)), &[&held]).outcome, Outcome::Queued(1));
    }

    #[test]
    fn the_escalation_timer_falls_due_for_the_right_parent_at_the_right_time() {
        let policy = policy(0, 0);
        let units = [
            unit("palu", "72.71", Some("sulteng"), Level::Waspada),
            unit("sulteng", "72", Some("pusat"), Level::Awas),
            unit("pusat", "72", None, Level::Awas),
        ];
        let alert = raised("72.71", Level::Siaga, T0);
        let plan = route(&alert, &units, &[], T0);
        let timer = policy.admit(&History::default(), &plan, T0).timer.unwrap();
        // siaga: one hour for someone to take it on
        assert_eq!((timer.due, timer.units.clone()), (at(3600), vec!["palu".to_owned()]));
        let told = [Entry { status: Status::Sent, ..plan.entries[0].clone() }];
        let Step::Up { entries, escalation, timer } = policy.escalate(&timer, &units, &told, at(3600)) else {
            panic!("did not escalate")
        };
        assert_eq!(escalation.units, ["sulteng"]);
        assert_eq!(
            (escalation.from, escalation.from_names, escalation.at),
            (vec!["palu".to_owned()], vec!["Unit palu".to_owned()], at(3600))
        );
        let notified = vec![Notified {
            unit: "Unit palu".into(),
            channel: DeliveryChannel::Email,
            recipient: "palu@example.go.id".into(),
            status: Status::Sent,
        }];
        assert_eq!(
            entries.iter().map(|e| (e.recipient.as_str(), e.escalated_from.clone(), &e.notified)).collect::<Vec<_>>(),
            [("sulteng@example.go.id", vec!["Unit palu".to_owned()], &notified)]
        );
        // then on up, an hour later, to the ministry, and no further
        assert_eq!((timer.due, timer.units.clone()), (at(7200), vec!["sulteng".to_owned()]));
        let Step::Up { escalation, timer, .. } = policy.escalate(&timer, &units, &told, at(7200)) else {
            panic!("did not escalate")
        };
        assert_eq!(escalation.units, ["pusat"]);
        assert_eq!(policy.escalate(&timer, &units, &told, at(10_800)), Step::Top);

        // taken on already, or redelivered: no timer again
        let closed = History { closed: true, ..History::default() };
        assert_eq!(policy.admit(&closed, &plan, T0).timer, None);
        // awas: fifteen minutes, from when it was raised
        let awas = raised("72.71", Level::Awas, T0);
        let plan = route(&awas, &units, &[], at(60));
        assert_eq!(policy.admit(&History::default(), &plan, at(60)).timer.unwrap().due, at(60 + 15 * 60));
    }

    #[test]
    fn a_parent_that_covers_the_region_still_hears_that_its_unit_was_silent() {
        let policy = policy(0, 0);
        let units = [
            unit("palu", "72.71", Some("sulteng"), Level::Waspada),
            unit("sulteng", "72", Some("pusat"), Level::Waspada),
            unit("pusat", "72", None, Level::Awas),
        ];
        // both have the alert at once: the province's regions cover the city
        let alert = raised("72.71", Level::Siaga, T0);
        let plan = route(&alert, &units, &[], T0);
        assert_eq!(plan.units, ["palu", "sulteng"]);
        let timer = policy.admit(&History::default(), &plan, T0).timer.unwrap();
        let told: Vec<Entry> = plan.entries.iter().map(|e| Entry { status: Status::Sent, ..e.clone() }).collect();
        assert_eq!(timer.due, at(3600), "siaga: an hour");
        let Step::Up { entries, escalation, timer } = policy.escalate(&timer, &units, &told, at(3600)) else {
            panic!("the province was not told that the city was silent")
        };
        // each parent hears of its own silent unit, on a key of its own
        assert_eq!(
            (escalation.units, escalation.from),
            (vec!["sulteng".into(), "pusat".into()], vec!["palu".into(), "sulteng".into()])
        );
        assert_eq!(escalation.from_names, ["Unit palu", "Unit sulteng"]);
        let to = |e: &Entry| (e.recipient.clone(), e.escalated_from.clone(), e.notified.len());
        assert_eq!(
            entries.iter().map(to).collect::<Vec<_>>(),
            [
                ("sulteng@example.go.id".to_owned(), vec!["Unit palu".to_owned()], 2),
                ("pusat@example.go.id".to_owned(), vec!["Unit sulteng".to_owned()], 2),
            ]
        );
        assert!(entries.iter().all(|e| !told.iter().any(|t| t.key == e.key)), "the outbox would drop them");
        // the top has been told: nothing further, even though pusat stays silent
        assert_eq!(policy.escalate(&timer, &units, &told, at(7200)), Step::Top);

        // parents that loop still end
        let looping = [unit("a", "72.71", Some("b"), Level::Waspada), unit("b", "72", Some("a"), Level::Awas)];
        let plan = route(&alert, &looping, &[], T0);
        let mut timer = policy.admit(&History::default(), &plan, T0).timer.unwrap();
        let mut steps = 0;
        while let Step::Up { timer: next, .. } = policy.escalate(&timer, &looping, &[], timer.due) {
            timer = next;
            steps += 1;
        }
        assert_eq!(steps, 2, "b hears of a, then a of b");
    }

    #[test]
    fn an_off_duty_unit_is_named_to_a_parent_that_has_the_alert_too() {
        let sunday = datetime!(2026-11-29 02:00 UTC);
        let mut palu = unit("palu", "72.71", Some("sulteng"), Level::Waspada);
        palu.working_hours = Some(WorkingHours { days: vec![1, 2, 3, 4, 5], from: "08:00".into(), to: "16:00".into() });
        let units = [palu, unit("sulteng", "72", None, Level::Waspada)];
        let plan = route(&raised("72.71", Level::Siaga, sunday), &units, &[], sunday);
        // one message to the province, which says the city is off duty
        let off = ["Unit palu (di luar jam kerja)".to_owned()];
        assert_eq!(to(&plan), [("palu@example.go.id", &[][..]), ("sulteng@example.go.id", &off[..])]);
        let stand_in = plan.stand_in.clone().unwrap();
        assert_eq!((stand_in.units, stand_in.from), (vec!["sulteng".into()], vec!["palu".into()]));
        // and when the timer falls due it is not told a second time
        let timer = policy(0, 0).admit(&History::default(), &plan, sunday).timer.unwrap();
        assert_eq!(policy(0, 0).escalate(&timer, &units, &[], timer.due), Step::Top);
    }

    #[test]
    fn each_recipient_gets_the_limit_an_hour_and_awas_always_goes() {
        let pacer = Pacer::new(2);
        let entry = |recipient: &str, level: Level| {
            let plan = route(&raised("72.71", level, T0), &[unit(recipient, "72", None, Level::Waspada)], &[], T0);
            plan.entries[0].clone()
        };
        let (a, b) = (entry("a", Level::Siaga), entry("b", Level::Siaga));
        let minutes = |m: i64| at(60 * m);
        assert_eq!(pacer.pace(&a, minutes(0)), None);
        assert_eq!(pacer.pace(&a, minutes(10)), None);
        // two an hour: the third waits for an hour's half since the first
        assert_eq!(pacer.pace(&a, minutes(20)), Some(minutes(30)));
        assert_eq!(pacer.pace(&b, minutes(20)), None, "each recipient counts alone");
        assert_eq!(pacer.pace(&entry("a", Level::Awas), minutes(20)), None, "awas is never held back");
        assert_eq!(pacer.pace(&a, minutes(30)), None);
        assert_eq!(pacer.pace(&a, minutes(31)), Some(minutes(60)));
        let unlimited = Pacer::new(0);
        assert!((0..100).all(|_| unlimited.pace(&a, minutes(0)).is_none()), "0 means no limit");
    }

    #[test]
    fn transient_failures_back_off_and_permanent_ones_fail_with_their_reason() {
        let plan = route(&raised("72.71", Level::Siaga, T0), &[unit("palu", "72", None, Level::Waspada)], &[], T0);
        let entry = plan.entries[0].clone();
        let busy = SendError::Gateway { status: 503, detail: "sibuk".into() };
        let once = record(entry.clone(), Some(&busy), T0);
        assert_eq!((once.status, once.attempts), (Status::Pending, 1));
        assert!((at(4)..at(8)).contains(&once.next_attempt), "{}", once.next_attempt);
        assert_eq!(once.last_error.as_deref(), Some("SMS gateway answered 503: sibuk"));
        let mut late = once.clone();
        for _ in 1..10 {
            late = record(late, Some(&busy), T0);
        }
        assert!((at(20 * 60)..at(40 * 60)).contains(&late.next_attempt), "bounded: {}", late.next_attempt);
        assert_eq!(record(late.clone(), Some(&busy), T0).status, Status::Pending);
        assert_eq!(record(record(late, Some(&busy), T0), Some(&busy), T0).status, Status::Failed, "12 attempts");

        let refused = SendError::Gateway { status: 400, detail: "nomor tidak sah".into() };
        let failed = record(entry.clone(), Some(&refused), T0);
        assert_eq!((failed.status, failed.attempts), (Status::Failed, 1));
        assert_eq!(failed.last_error.as_deref(), Some("SMS gateway answered 400: nomor tidak sah"));
        let sent = record(once, None, T0);
        assert_eq!((sent.status, sent.attempts, sent.last_error), (Status::Sent, 2, None));
    }
}
