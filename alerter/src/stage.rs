//! The alerter stage: `alerts` in, notifications out.
//!
//! Intake routes each raised alert to its units and writes one outbox entry
//! per recipient; only then is the alert committed on the bus. The sender
//! drains the outbox, retrying with exponential backoff and jitter, and
//! publishes every attempt back onto `alerts` as a `delivered` event.
//!
//! Escalation: each routed alert starts a timer in the outbox database, due
//! after the deadline for its level. A `changed` event (someone took the
//! alert on) closes it. A timer that falls due passes the alert to the
//! parent units of those that had it, publishes an `escalated` event, and
//! starts again for the next step up, to the top of the chain.

use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, Topic};
use model::{Alert, AlertEvent, AlertState, Clock, Delivery, DeliveryChannel, Escalation, Level, Unit, wire};
use serde::Deserialize;
use tokio::sync::Notify;

use crate::outbox::{Admitted, Entry, Policy, Status, Timer};
use crate::{Error, Mailer, Outbox, UnitBook};

/// The consumer group of this stage.
pub const GROUP: &str = "alerter";
/// Attempts before an entry is given up.
pub const MAX_ATTEMPTS: u32 = 12;
/// Notifications in flight at once: a slow mail server or gateway does not
/// hold up the rest, and a kill -9 repeats at most this many.
pub const SENDERS: usize = 8;

/// What the alerter needs.
#[derive(Debug, Clone)]
pub struct Alerter {
    pub bus: Bus,
    pub units: UnitBook,
    pub silences: crate::SilenceBook,
    pub outbox: Outbox,
    pub mailer: Option<Mailer>,
    /// Sends SMS, when `[sms_gateway]` is set.
    pub sms: Option<crate::SmsSender>,
    /// The words of notifications.
    pub templates: crate::Templates,
    /// Base URL of the web UI, for links in notifications.
    pub public_url: String,
    /// How long each level may stay unacknowledged before it escalates.
    pub escalation: EscalationConfig,
    /// Notifications one recipient gets in an hour at most (awas excepted);
    /// more wait their turn. 0: no limit.
    pub per_recipient_per_hour: u32,
    /// Grouping and repeats.
    pub policy: Policy,
    /// Signs the one-click acknowledgement links.
    pub links: crate::LinkKey,
    pub clock: Arc<dyn Clock>,
}

/// Runs intake and sender until one fails; the other is then stopped too,
/// so a restart never leaves a second sender running.
pub async fn run(alerter: Alerter) -> Result<(), Error> {
    let wake = Arc::new(Notify::new());
    tokio::select! {
        r = intake(alerter.clone(), wake.clone()) => r,
        r = send_loop(alerter, wake) => r,
    }
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

/// The units an alert goes to: those that handle it, else the units of the
/// nearest region above it. A gap (no unit handles it) is counted in
/// /metrics by indicator and province, and logged.
fn route(alerter: &Alerter, alert: &Alert) -> Vec<Unit> {
    let units = alerter.units.route(&alert.indicator, alert.level, &alert.region);
    if !units.is_empty() {
        return units;
    }
    let nearest = alerter.units.nearest(&alert.region);
    let labels = [("indicator", alert.indicator.to_string()), ("province", alert.region.province().to_string())];
    metrics::counter!("kentongan_alerter_routing_gaps_total", &labels).increment(1);
    if nearest.is_empty() {
        tracing::warn!(alert = %alert.id, key = %alert.key, level = %alert.level, "no unit handles this alert, and no unit covers its region");
        metrics::counter!("kentongan_alerter_unrouted_total").increment(1);
    } else {
        let names: Vec<&str> = nearest.iter().map(|u| u.name.as_str()).collect();
        tracing::warn!(alert = %alert.id, key = %alert.key, level = %alert.level, to = ?names, "no unit handles this alert: sent to the nearest unit above");
    }
    nearest
}

/// One outbox entry per address of each unit in `units`.
fn entries_to(alerter: &Alerter, alert: &Alert, units: &[Unit], escalated_from: &[String]) -> Vec<Entry> {
    let now = alerter.clock.now();
    let mut entries = Vec::new();
    for unit in units {
        for email in &unit.emails {
            entries.push(Entry {
                key: Entry::key_for(alert, DeliveryChannel::Email, email),
                alert: alert.clone(),
                unit: unit.id.clone(),
                unit_name: unit.name.clone(),
                channel: DeliveryChannel::Email,
                recipient: email.clone(),
                status: Status::Pending,
                attempts: 0,
                next_attempt: now,
                last_error: None,
                escalated_from: escalated_from.to_vec(),
                notified: Vec::new(),
            });
        }
        for phone in &unit.phones {
            entries.push(Entry {
                key: Entry::key_for(alert, DeliveryChannel::Sms, phone),
                alert: alert.clone(),
                unit: unit.id.clone(),
                unit_name: unit.name.clone(),
                channel: DeliveryChannel::Sms,
                recipient: phone.clone(),
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

/// How long an SMS gateway may report the status of a message.
const SMS_CALLBACK_TTL: time::Duration = time::Duration::days(7);

/// The recipient of a status callback: which unit, which phone.
pub fn sms_callback_recipient(unit: &str, phone: &str) -> String {
    format!("sms:{unit}:{phone}")
}

/// Runs `f` on the outbox off the async threads.
async fn with_outbox<T: Send + 'static>(
    alerter: &Alerter,
    f: impl FnOnce(&crate::Outbox) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let outbox = alerter.outbox.clone();
    match tokio::task::spawn_blocking(move || f(&outbox)).await {
        Ok(done) => done,
        // on to the caller, which may contain it (see `bus::contain`)
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Smtp(format!("outbox task failed: {e}"))),
    }
}

/// Takes one alert event into the outbox: notifications and a timer for a
/// raised alert, the end of its timer once someone took it on. Returns how
/// many notifications were queued.
pub async fn take(alerter: &Alerter, event: AlertEvent) -> Result<usize, Error> {
    match event {
        AlertEvent::Raised { alert } => {
            if let Some(silence) = alerter.silences.matching(&alert.indicator, &alert.region, alerter.clock.now()) {
                tracing::info!(alert = %alert.id, key = %alert.key, silence = %silence.id, reason = %silence.reason, "silenced: not notified");
                metrics::counter!("kentongan_alerter_held_back_total", "why" => "silenced").increment(1);
                return Ok(0);
            }
            let routed = route(alerter, &alert);
            let now = alerter.clock.now();
            let mut entries = entries_to(alerter, &alert, &routed, &[]);
            // a unit off duty: its parent hears of it at once as well
            let mut stand_ins: Vec<Unit> = Vec::new();
            let mut off_duty: Vec<&Unit> = Vec::new();
            for unit in routed.iter().filter(|u| !u.on_duty(now)) {
                if let Some(parent) = unit.parent.as_deref().and_then(|p| alerter.units.get(p))
                    && !routed.iter().chain(&stand_ins).any(|u| u.id == parent.id)
                {
                    off_duty.push(unit);
                    stand_ins.push(parent);
                }
            }
            let off_duty_names: Vec<String> =
                off_duty.iter().map(|u| format!("{} (di luar jam kerja)", u.name)).collect();
            entries.extend(entries_to(alerter, &alert, &stand_ins, &off_duty_names));
            let escalation = (!stand_ins.is_empty()).then(|| Escalation {
                units: stand_ins.iter().map(|u| u.id.clone()).collect(),
                names: stand_ins.iter().map(|u| u.name.clone()).collect(),
                from: off_duty.iter().map(|u| u.id.clone()).collect(),
                at: now,
            });
            let units: Vec<String> = routed.into_iter().chain(stand_ins).map(|u| u.id).collect();
            let timer = (!units.is_empty()).then(|| Timer {
                due: alert.raised_at.max(now) + alerter.escalation.deadline(alert.level),
                alert: alert.clone(),
                reached: units.clone(),
                units,
            });
            let policy = alerter.policy;
            let (id, key) = (alert.id, alert.key.clone());
            let admitted =
                with_outbox(alerter, move |outbox| outbox.admit(&alert, entries, timer.as_ref(), policy, now)).await?;
            match admitted {
                Admitted::Queued(added) => {
                    if let Some(escalation) = escalation
                        && added > 0
                    {
                        tracing::info!(alert = %id, to = ?escalation.names, "units off duty: their parents hear of it at once");
                        let event = AlertEvent::Escalated { alert_id: id, escalation };
                        alerter.bus.publish(Topic::Alerts, &key, &wire::encode(&event)).await?;
                    }
                    Ok(added)
                }
                Admitted::Repeat => {
                    tracing::info!(alert = %id, %key, "same series and level notified within the repeat interval: not sent again");
                    metrics::counter!("kentongan_alerter_held_back_total", "why" => "repeat").increment(1);
                    Ok(0)
                }
                Admitted::Inhibited { by } => {
                    tracing::info!(alert = %id, %key, by = %by, "held back by an open awas alert for the province");
                    metrics::counter!("kentongan_alerter_held_back_total", "why" => "inhibited").increment(1);
                    Ok(0)
                }
            }
        }
        AlertEvent::Changed { alert_id, change } if change.state > AlertState::Open => {
            let resolved = change.state == AlertState::Resolved;
            with_outbox(alerter, move |outbox| {
                let id = alert_id.to_string();
                outbox.close_timer(&id)?;
                if resolved {
                    outbox.resolved(&id)?;
                }
                Ok(())
            })
            .await?;
            Ok(0)
        }
        AlertEvent::Changed { .. } | AlertEvent::Delivered { .. } | AlertEvent::Escalated { .. } => Ok(0),
    }
}

async fn intake(alerter: Alerter, wake: Arc<Notify>) -> Result<(), Error> {
    let mut sub = alerter.bus.subscribe(Topic::Alerts, GROUP).await?;
    loop {
        let batch = sub.next_batch(100, Duration::from_millis(10)).await?;
        let mut added = 0;
        for record in &batch {
            match wire::decode::<AlertEvent>(&record.payload) {
                Ok(event) => match bus::contain_async("alerter", take(&alerter, event)).await {
                    Ok(queued) => added += queued?,
                    Err(cause) => {
                        alerter.bus.deadletter("alerter", record.topic.name(), &record.payload, &cause).await?;
                    }
                },
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "unreadable alert event sent to deadletter");
                    alerter.bus.deadletter("alerter", record.topic.name(), &record.payload, &e.to_string()).await?;
                }
            }
        }
        if added > 0 {
            metrics::counter!("kentongan_alerter_queued_total").increment(added as u64);
            wake.notify_one();
        }
        sub.commit_all(&batch).await?;
    }
}

/// Escalates every alert whose timer is due at `now`: its parent units are
/// notified, an `escalated` event is published, and the timer starts again
/// one step up. Returns the timers that fell due and when the next falls due.
pub async fn escalate(
    alerter: &Alerter,
    now: time::OffsetDateTime,
) -> Result<(usize, Option<time::OffsetDateTime>), Error> {
    let (due, next) = with_outbox(alerter, move |outbox| outbox.due_timers(now)).await?;
    let fired = due.len();
    for timer in due {
        let alert = timer.alert.clone();
        let had: Vec<Unit> = timer.units.iter().filter_map(|id| alerter.units.get(id)).collect();
        let mut parents: Vec<Unit> = Vec::new();
        for unit in &had {
            if let Some(parent) = unit.parent.as_deref().and_then(|p| alerter.units.get(p))
                && !timer.reached.contains(&parent.id)
                && !parents.iter().any(|p| p.id == parent.id)
            {
                parents.push(parent);
            }
        }
        if parents.is_empty() {
            // the top of the chain had it: nowhere further to go
            let id = alert.id.to_string();
            with_outbox(alerter, move |outbox| outbox.close_timer(&id)).await?;
            continue;
        }
        let from: Vec<String> = had.iter().map(|u| u.name.clone()).collect();
        let escalation = Escalation {
            units: parents.iter().map(|u| u.id.clone()).collect(),
            names: parents.iter().map(|u| u.name.clone()).collect(),
            from: timer.units.clone(),
            at: now,
        };
        tracing::warn!(alert = %alert.id, to = ?escalation.names, "alert not acknowledged in time: escalated");
        metrics::counter!("kentongan_alerter_escalations_total").increment(1);
        // the escalation tells who had it, and how each notification went
        let prefix = format!("{}/", alert.id);
        let notified: Vec<crate::outbox::Notified> = with_outbox(alerter, move |outbox| outbox.entries_of(&prefix))
            .await?
            .into_iter()
            .filter(|e| e.status != Status::Grouped)
            .map(|e| crate::outbox::Notified {
                unit: e.unit_name,
                channel: e.channel,
                recipient: e.recipient,
                status: e.status,
            })
            .collect();
        let mut entries = entries_to(alerter, &alert, &parents, &from);
        for entry in &mut entries {
            entry.notified.clone_from(&notified);
        }
        let mut reached = timer.reached.clone();
        reached.extend(escalation.units.iter().cloned());
        let next_timer = Timer {
            due: now + alerter.escalation.deadline(alert.level),
            units: escalation.units.clone(),
            reached,
            alert,
        };
        // notifications first: a crash after them escalates again, and the
        // outbox keeps each recipient's copy once
        with_outbox(alerter, move |outbox| outbox.enqueue(&entries)).await?;
        let event = AlertEvent::Escalated { alert_id: next_timer.alert.id, escalation };
        alerter.bus.publish(Topic::Alerts, &next_timer.alert.key, &wire::encode(&event)).await?;
        with_outbox(alerter, move |outbox| outbox.reset_timer(&next_timer)).await?;
    }
    Ok((fired, next))
}

/// Backoff after `attempts` failures: 5 s doubling up to 30 min, ± 20 % jitter.
fn backoff(attempts: u32) -> time::Duration {
    let base = 5.0 * 2f64.powi(attempts.saturating_sub(1).min(10) as i32);
    let secs = base.min(1800.0) * (0.8 + 0.4 * fastrand::f64());
    time::Duration::seconds_f64(secs)
}

/// Notifications sent to each recipient in the last hour, oldest first.
#[derive(Debug, Default)]
pub struct RateLimiter {
    sent: std::collections::HashMap<String, std::collections::VecDeque<time::OffsetDateTime>>,
}

impl RateLimiter {
    /// Whether `recipient` may get one more at `now` under `limit` an hour:
    /// `None` (counted), or when a place frees up.
    pub fn admit(&mut self, recipient: &str, now: time::OffsetDateTime, limit: u32) -> Option<time::OffsetDateTime> {
        if limit == 0 {
            return None;
        }
        let hour = time::Duration::HOUR;
        let sent = self.sent.entry(recipient.to_owned()).or_default();
        while sent.front().is_some_and(|t| *t <= now - hour) {
            sent.pop_front();
        }
        if sent.len() >= limit as usize {
            return sent.front().map(|t| *t + hour);
        }
        sent.push_back(now);
        None
    }
}

async fn send_loop(alerter: Alerter, wake: Arc<Notify>) -> Result<(), Error> {
    let mut limiter = RateLimiter::default();
    loop {
        let now = alerter.clock.now();
        let (escalated, next_timer) = escalate(&alerter, now).await?;
        let (due, next) = with_outbox(&alerter, move |outbox| outbox.due(now)).await?;
        let next = next.into_iter().chain(next_timer).min();
        let mut sent_any = escalated > 0;
        let mut running = tokio::task::JoinSet::new();
        for mut entry in due {
            let recipient = format!("{:?}/{}", entry.channel, entry.recipient);
            if entry.alert.level != Level::Awas
                && let Some(later) = limiter.admit(&recipient, now, alerter.per_recipient_per_hour)
            {
                tracing::info!(alert = %entry.alert.id, recipient = %entry.recipient, until = %later, "rate limit: notification waits");
                metrics::counter!("kentongan_alerter_rate_limited_total").increment(1);
                entry.next_attempt = later;
                with_outbox(&alerter, move |outbox| outbox.update(&entry)).await?;
                continue;
            }
            sent_any = true;
            while running.len() >= SENDERS {
                if let Some(done) = running.join_next().await {
                    done.map_err(|e| Error::Smtp(format!("send task failed: {e}")))??;
                }
            }
            let alerter = alerter.clone();
            running.spawn(async move { attempt(&alerter, entry).await });
        }
        while let Some(done) = running.join_next().await {
            done.map_err(|e| Error::Smtp(format!("send task failed: {e}")))??;
        }
        if sent_any {
            // attempts may have rescheduled entries; look again at once
            continue;
        }
        let wait = next.map_or(Duration::from_secs(60), |t| {
            Duration::try_from(t - alerter.clock.now()).unwrap_or(Duration::ZERO).min(Duration::from_secs(60))
        });
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
        }
    }
}

async fn attempt(alerter: &Alerter, mut entry: Entry) -> Result<(), Error> {
    let language = alerter.units.get(&entry.unit).and_then(|u| u.language);
    let result = match (&alerter.mailer, entry.channel) {
        (Some(mailer), DeliveryChannel::Email) => {
            let token = alerter.links.sign(
                crate::links::Purpose::AckLink,
                entry.alert.id,
                &entry.recipient,
                alerter.clock.now() + crate::links::LINK_TTL,
            );
            let links = crate::email::Links::new(&alerter.public_url, entry.alert.id, &token);
            match alerter.templates.email(
                &entry.alert,
                &entry.unit_name,
                &links,
                (&entry.escalated_from, &entry.notified),
                language.as_deref(),
            ) {
                Ok(body) => mailer.send(&entry.alert, &entry.recipient, body).await,
                Err(e) => Err(crate::email::SendError { message: e.to_string(), permanent: true }),
            }
        }
        (None, DeliveryChannel::Email) => Err(crate::email::SendError {
            message: "email is not configured: set [smtp] url and from".into(),
            permanent: true,
        }),
        (_, DeliveryChannel::Sms) => match &alerter.sms {
            Some(sms) => {
                let base = alerter.public_url.trim_end_matches('/');
                let alert = &entry.alert;
                let token = alerter.links.sign(
                    crate::links::Purpose::SmsStatus,
                    alert.id,
                    &sms_callback_recipient(&entry.unit, &entry.recipient),
                    alerter.clock.now() + SMS_CALLBACK_TTL,
                );
                let callback = format!("{base}/api/v1/alerts/{}/sms-status?token={token}", alert.id);
                let link = format!("{base}/#/alerts/{}", alert.id);
                match alerter.templates.sms(alert, &link, &entry.escalated_from, language.as_deref()) {
                    Ok(text) => sms.send(&entry.recipient, &text, &entry.key, &callback).await,
                    Err(e) => Err(crate::email::SendError { message: e.to_string(), permanent: true }),
                }
            }
            None => Err(crate::email::SendError {
                message: "SMS is not configured: set [sms_gateway] url".into(),
                permanent: true,
            }),
        },
    };
    let now = alerter.clock.now();
    entry.attempts += 1;
    let error = match result {
        Ok(()) => {
            entry.status = Status::Sent;
            entry.last_error = None;
            tracing::info!(alert = %entry.alert.id, recipient = %entry.recipient, "alert delivered");
            None
        }
        Err(e) => {
            if e.permanent || entry.attempts >= MAX_ATTEMPTS {
                entry.status = Status::Failed;
                tracing::error!(alert = %entry.alert.id, recipient = %entry.recipient, error = %e.message, "alert delivery failed for good");
            } else {
                entry.next_attempt = now + backoff(entry.attempts);
                tracing::warn!(alert = %entry.alert.id, recipient = %entry.recipient, error = %e.message, "alert delivery failed, will retry");
            }
            entry.last_error = Some(e.message.clone());
            Some(e.message)
        }
    };
    let outcome = if error.is_none() { "sent" } else { "failed" };
    metrics::counter!("kentongan_alerter_deliveries_total", "outcome" => outcome).increment(1);
    let outbox = alerter.outbox.clone();
    let saved = entry.clone();
    tokio::task::spawn_blocking(move || outbox.update(&saved))
        .await
        .map_err(|e| Error::Smtp(format!("outbox task failed: {e}")))??;
    let event = AlertEvent::Delivered {
        alert_id: entry.alert.id,
        delivery: Delivery {
            channel: entry.channel,
            recipient: entry.recipient.clone(),
            unit: entry.unit.clone(),
            at: now,
            attempt: entry.attempts,
            error,
            status: None,
        },
    };
    if let Err(e) = alerter.bus.publish(Topic::Alerts, &entry.alert.key, &wire::encode(&event)).await {
        tracing::warn!(alert = %entry.alert.id, error = %e, "could not record the delivery on the bus");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use model::{RegionCode, StateChange};
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;

    /// A clock the test moves by hand.
    #[derive(Debug)]
    struct Hand(Mutex<OffsetDateTime>);

    impl Clock for Hand {
        fn now(&self) -> OffsetDateTime {
            *self.0.lock().unwrap()
        }
    }

    fn unit(id: &str, name: &str, region: &str, parent: Option<&str>, min: Level) -> Unit {
        Unit {
            id: id.into(),
            name: name.into(),
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

    fn alert(at: OffsetDateTime) -> Alert {
        Alert { id: uuid::Uuid::now_v7(), ..Alert::example(at) }
    }

    /// Recipients queued for `alert`, with the units they were escalated from.
    fn queued(alerter: &Alerter, alert: &Alert) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = alerter
            .outbox
            .entries()
            .unwrap()
            .into_iter()
            .filter(|e| e.alert.id == alert.id)
            .map(|e| (e.recipient, e.escalated_from))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn each_recipient_gets_at_most_the_limit_an_hour() {
        let mut limiter = RateLimiter::default();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        let minutes = |m: i64| t0 + time::Duration::minutes(m);
        assert_eq!(limiter.admit("a", minutes(0), 2), None);
        assert_eq!(limiter.admit("a", minutes(10), 2), None);
        assert_eq!(limiter.admit("a", minutes(20), 2), Some(minutes(60)));
        assert_eq!(limiter.admit("b", minutes(20), 2), None, "each recipient counts alone");
        assert_eq!(limiter.admit("a", minutes(60), 2), None);
        assert_eq!(limiter.admit("a", minutes(61), 2), Some(minutes(70)));
        assert_eq!(limiter.admit("a", minutes(61), 0), None, "0 means no limit");
    }

    fn alerter_at(dir: &std::path::Path, clock: Arc<Hand>, units: &[Unit], policy: Policy) -> Alerter {
        let book = UnitBook::default();
        for u in units {
            book.apply(&u.id.clone(), &wire::encode(u));
        }
        Alerter {
            bus: Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.join("bus.redb")).unwrap()),
            units: book,
            silences: crate::SilenceBook::default(),
            outbox: crate::Outbox::open(&dir.join("outbox.redb")).unwrap(),
            mailer: None,
            sms: None,
            templates: crate::Templates::builtin(),
            public_url: "http://127.0.0.1:8080".into(),
            escalation: EscalationConfig::default(),
            per_recipient_per_hour: 30,
            policy,
            links: crate::LinkKey::from_secret("rahasia-yang-cukup-panjang-untuk-uji-123").unwrap(),
            clock,
        }
    }

    fn raised(region: &str, level: Level, at: OffsetDateTime) -> Alert {
        let region = RegionCode::parse(region).unwrap();
        Alert { key: format!("narkoba/{region}"), indicator: "narkoba".into(), region, level, ..alert(at) }
    }

    /// The alerts whose notifications are due at `at`.
    fn due_at(alerter: &Alerter, at: OffsetDateTime) -> Vec<uuid::Uuid> {
        let mut ids: Vec<uuid::Uuid> = alerter.outbox.due(at).unwrap().0.into_iter().map(|e| e.alert.id).collect();
        ids.dedup();
        ids
    }

    #[tokio::test]
    async fn alerts_are_grouped_not_repeated_and_held_back_under_a_provincial_awas() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        let clock = Arc::new(Hand(Mutex::new(t0)));
        let policy = Policy { group_window: time::Duration::seconds(30), repeat_interval: time::Duration::hours(4) };
        let units = [unit("sulteng", "Kesbangpol Sulawesi Tengah", "72", None, Level::Waspada)];
        let alerter = alerter_at(dir.path(), clock.clone(), &units, policy);
        let at = |s: i64| t0 + time::Duration::seconds(s);
        let raise = |a: &Alert| {
            *clock.0.lock().unwrap() = a.raised_at;
            take(&alerter, AlertEvent::Raised { alert: a.clone() })
        };

        // waspada, then siaga within the group window: one notification, the siaga, when the waspada's was due
        let waspada = raised("72.71", Level::Waspada, at(0));
        assert_eq!(raise(&waspada).await.unwrap(), 1);
        let siaga = raised("72.71", Level::Siaga, at(10));
        assert_eq!(raise(&siaga).await.unwrap(), 1);
        assert!(due_at(&alerter, at(29)).is_empty());
        assert_eq!(due_at(&alerter, at(30)), [siaga.id]);
        let grouped = alerter.outbox.entries().unwrap().into_iter().find(|e| e.alert.id == waspada.id).unwrap();
        assert_eq!(grouped.status, Status::Grouped);
        // awas goes at once, and takes the siaga's place
        let awas = raised("72.71", Level::Awas, at(20));
        assert_eq!(raise(&awas).await.unwrap(), 1);
        assert_eq!(due_at(&alerter, at(20)), [awas.id]);
        for mut entry in alerter.outbox.due(at(20)).unwrap().0 {
            entry.status = Status::Sent;
            alerter.outbox.update(&entry).unwrap();
        }
        // the same series and level again within four hours: not sent again; later: sent
        assert_eq!(raise(&raised("72.71", Level::Awas, at(3600))).await.unwrap(), 0);
        assert_eq!(raise(&raised("72.71", Level::Awas, at(5 * 3600))).await.unwrap(), 1);

        // an awas alert for the province holds back waspada below it, until it is resolved
        let province = raised("72", Level::Awas, at(6 * 3600));
        assert_eq!(raise(&province).await.unwrap(), 1);
        assert_eq!(raise(&raised("72.03", Level::Waspada, at(6 * 3600 + 60))).await.unwrap(), 0);
        assert_eq!(
            raise(&raised("72.03", Level::Siaga, at(6 * 3600 + 70))).await.unwrap(),
            1,
            "siaga is not held back"
        );
        let resolve = StateChange {
            id: uuid::Uuid::now_v7(),
            state: AlertState::Resolved,
            by: "piket".into(),
            at: at(6 * 3600 + 80),
            note: None,
        };
        take(&alerter, AlertEvent::Changed { alert_id: province.id, change: resolve }).await.unwrap();
        assert_eq!(raise(&raised("72.05", Level::Waspada, at(6 * 3600 + 90))).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_unit_off_duty_has_its_parent_told_at_once() {
        let dir = tempfile::tempdir().unwrap();
        // Sunday 10:00 in Palu (WITA)
        let sunday = datetime!(2026-11-29 02:00 UTC);
        let clock = Arc::new(Hand(Mutex::new(sunday)));
        let policy = Policy { group_window: time::Duration::ZERO, repeat_interval: time::Duration::ZERO };
        let mut palu = unit("palu", "Kesbangpol Kota Palu", "72.71", Some("sulteng"), Level::Waspada);
        palu.working_hours =
            Some(model::unit::WorkingHours { days: vec![1, 2, 3, 4, 5], from: "08:00".into(), to: "16:00".into() });
        let units = [palu, unit("sulteng", "Kesbangpol Sulawesi Tengah", "72", None, Level::Awas)];
        let alerter = alerter_at(dir.path(), clock.clone(), &units, policy);
        let weekend = raised("72.71", Level::Siaga, sunday);
        assert_eq!(take(&alerter, AlertEvent::Raised { alert: weekend.clone() }).await.unwrap(), 2);
        assert_eq!(
            queued(&alerter, &weekend),
            [
                ("palu@example.go.id".into(), vec![]),
                ("sulteng@example.go.id".into(), vec!["Kesbangpol Kota Palu (di luar jam kerja)".into()])
            ]
        );
        // Monday 10:00 WITA: the unit is on duty
        let monday = sunday + time::Duration::days(1);
        *clock.0.lock().unwrap() = monday;
        let weekday = Alert { key: "narkoba/72.71.02".into(), ..raised("72.71.02", Level::Siaga, monday) };
        assert_eq!(take(&alerter, AlertEvent::Raised { alert: weekday.clone() }).await.unwrap(), 1);
        assert_eq!(queued(&alerter, &weekday), [("palu@example.go.id".into(), vec![])]);
    }

    #[tokio::test]
    async fn silenced_alerts_are_not_notified_until_the_silence_ends() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        let clock = Arc::new(Hand(Mutex::new(t0)));
        let policy = Policy { group_window: time::Duration::ZERO, repeat_interval: time::Duration::ZERO };
        let units = [unit("sulteng", "Kesbangpol Sulawesi Tengah", "72", None, Level::Waspada)];
        let alerter = alerter_at(dir.path(), clock.clone(), &units, policy);
        let silence = model::Silence {
            id: "s1".into(),
            indicator: Some("narkoba".into()),
            region: RegionCode::parse("72.71").unwrap(),
            until: t0 + time::Duration::hours(1),
            reason: "operasi gabungan sedang berjalan".into(),
            by: "piket".into(),
            created_at: t0,
        };
        alerter.silences.apply("s1", &wire::encode(&silence));
        let raise = |a: Alert| {
            *clock.0.lock().unwrap() = a.raised_at;
            take(&alerter, AlertEvent::Raised { alert: a })
        };
        let later = t0 + time::Duration::minutes(10);
        assert_eq!(raise(raised("72.71.02", Level::Siaga, later)).await.unwrap(), 0, "silenced");
        assert_eq!(raise(raised("72.03", Level::Siaga, later)).await.unwrap(), 1, "another regency");
        let other = Alert {
            indicator: "konflik_sosial".into(),
            key: "konflik_sosial/72.71".into(),
            ..raised("72.71", Level::Siaga, later)
        };
        assert_eq!(raise(other).await.unwrap(), 1, "another indicator");
        assert_eq!(
            raise(raised("72.71", Level::Siaga, t0 + time::Duration::hours(2))).await.unwrap(),
            1,
            "the silence ended"
        );
    }

    #[tokio::test]
    async fn unacknowledged_alerts_climb_the_chain_and_acknowledged_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        let units = [
            unit("palu", "Kesbangpol Kota Palu", "72.71", Some("sulteng"), Level::Waspada),
            unit("sulteng", "Kesbangpol Sulawesi Tengah", "72", Some("pusat"), Level::Awas),
            unit("pusat", "Ditjen Polpum Kemendagri", "72", None, Level::Awas),
        ];
        let clock = Arc::new(Hand(Mutex::new(t0)));
        let policy = Policy { group_window: time::Duration::ZERO, repeat_interval: time::Duration::ZERO };
        let alerter = alerter_at(dir.path(), clock.clone(), &units, policy);
        let ignored = alert(t0);
        assert_eq!(take(&alerter, AlertEvent::Raised { alert: ignored.clone() }).await.unwrap(), 1);
        assert_eq!(queued(&alerter, &ignored), [("palu@example.go.id".into(), vec![])]);

        // siaga: one hour for someone to take it on
        assert_eq!(escalate(&alerter, t0 + time::Duration::minutes(59)).await.unwrap().0, 0);
        assert_eq!(escalate(&alerter, t0 + time::Duration::minutes(61)).await.unwrap().0, 1);
        let palu = vec!["Kesbangpol Kota Palu".to_owned()];
        assert_eq!(
            queued(&alerter, &ignored),
            [("palu@example.go.id".into(), vec![]), ("sulteng@example.go.id".into(), palu.clone())]
        );
        // with who had been told, and how that went
        let up =
            alerter.outbox.entries().unwrap().into_iter().find(|e| e.recipient == "sulteng@example.go.id").unwrap();
        let told: Vec<(&str, Status)> = up.notified.iter().map(|n| (n.recipient.as_str(), n.status)).collect();
        assert_eq!(told, [("palu@example.go.id", Status::Pending)]);
        // then on up, an hour later, to the ministry, and no further
        assert_eq!(escalate(&alerter, t0 + time::Duration::minutes(100)).await.unwrap().0, 0);
        assert_eq!(escalate(&alerter, t0 + time::Duration::minutes(122)).await.unwrap().0, 1);
        assert_eq!(escalate(&alerter, t0 + time::Duration::minutes(300)).await.unwrap().0, 1);
        assert_eq!(escalate(&alerter, t0 + time::Duration::minutes(900)).await.unwrap(), (0, None));
        let to: Vec<String> = queued(&alerter, &ignored).into_iter().map(|(r, _)| r).collect();
        assert_eq!(to, ["palu@example.go.id", "pusat@example.go.id", "sulteng@example.go.id"]);
        // a redelivered alert does not start over
        take(&alerter, AlertEvent::Raised { alert: ignored.clone() }).await.unwrap();
        assert_eq!(escalate(&alerter, t0 + time::Duration::days(2)).await.unwrap(), (0, None));

        // the escalations are on the alerts topic, for every api node
        let (records, _) = alerter.bus.catch_up(Topic::Alerts).await.unwrap();
        let escalated: Vec<Vec<String>> = records
            .iter()
            .filter_map(|r| match wire::decode::<AlertEvent>(&r.payload).unwrap() {
                AlertEvent::Escalated { escalation, .. } => Some(escalation.names),
                _ => None,
            })
            .collect();
        assert_eq!(
            escalated,
            [vec!["Kesbangpol Sulawesi Tengah".to_owned()], vec!["Ditjen Polpum Kemendagri".to_owned()]]
        );

        // taken on in time: nothing climbs
        let handled = alert(t0);
        take(&alerter, AlertEvent::Raised { alert: handled.clone() }).await.unwrap();
        let ack = StateChange {
            id: uuid::Uuid::now_v7(),
            state: AlertState::Acknowledged,
            by: "piket-palu".into(),
            at: t0 + time::Duration::minutes(10),
            note: None,
        };
        take(&alerter, AlertEvent::Changed { alert_id: handled.id, change: ack }).await.unwrap();
        assert_eq!(escalate(&alerter, t0 + time::Duration::hours(5)).await.unwrap(), (0, None));
        assert_eq!(queued(&alerter, &handled), [("palu@example.go.id".into(), vec![])]);
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        for _ in 0..50 {
            let first = backoff(1).as_seconds_f64();
            assert!((4.0..=6.0).contains(&first), "{first}");
            let late = backoff(30).as_seconds_f64();
            assert!((1440.0..=2160.0).contains(&late), "{late}");
        }
    }
}
