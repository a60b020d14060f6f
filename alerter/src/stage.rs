//! The alerter stage: `alerts` in, decisions into the outbox.
//!
//! Intake routes each raised alert ([`policy::route`]), has the outbox admit
//! it ([`crate::Policy::admit`], one transaction), and only then commits the
//! alert on the bus. A `changed` event (someone took the alert on) closes its
//! escalation timer. [`escalate`] passes the alerts whose timers fell due to
//! the parents of the units that had them ([`crate::Policy::escalate`]),
//! publishes an `escalated` event, and starts their timers again one step up.
//! The sender ([`crate::sender`]) works the outbox off.
//!
//! Each decision reads the clock once, here, and hands the time to the policy.

use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, Topic};
use model::{Alert, AlertEvent, AlertState, Clock, wire};
use tokio::sync::Notify;

use crate::policy::{self, Outcome, Plan, Routing, Step};
use crate::{Error, Mailer, Outbox, Policy, UnitBook};

/// The consumer group of this stage.
pub const GROUP: &str = "alerter";

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
    /// Grouping, repeats and escalation.
    pub policy: Policy,
    /// Notifications one recipient gets in an hour at most (awas excepted);
    /// more wait their turn. 0: no limit.
    pub per_recipient_per_hour: u32,
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
        r = crate::sender::run(alerter, wake) => r,
    }
}

/// Counts and logs how `plan` found its units: a gap (no unit handles the
/// alert) is counted in /metrics by indicator and province.
fn observe(plan: &Plan) {
    let alert = &plan.alert;
    match &plan.routing {
        Routing::Silenced { silence, reason } => {
            tracing::info!(alert = %alert.id, key = %alert.key, silence = %silence, reason = %reason, "silenced: not notified");
            metrics::counter!("kentongan_alerter_held_back_total", "why" => "silenced").increment(1);
        }
        Routing::Handled => {}
        Routing::Nearest | Routing::Nobody => {
            let labels =
                [("indicator", alert.indicator.to_string()), ("province", alert.region.province().to_string())];
            metrics::counter!("kentongan_alerter_routing_gaps_total", &labels).increment(1);
            if plan.routing == Routing::Nobody {
                tracing::warn!(alert = %alert.id, key = %alert.key, level = %alert.level, "no unit handles this alert, and no unit covers its region");
                metrics::counter!("kentongan_alerter_unrouted_total").increment(1);
            } else {
                tracing::warn!(alert = %alert.id, key = %alert.key, level = %alert.level, to = ?plan.units, "no unit handles this alert: sent to the nearest unit above");
            }
        }
    }
}

/// Takes a raised alert in: routed, admitted, and its stand-ins' escalation
/// published. Returns how many notifications were queued.
async fn raise(alerter: &Alerter, alert: Alert) -> Result<usize, Error> {
    // kept even when silenced: a parent's notification may list it later
    let kept = alert.clone();
    alerter.outbox.call(move |outbox| outbox.remember(&kept)).await?;
    let now = alerter.clock.now();
    metrics::gauge!("kentongan_alerter_lag_seconds").set((now - alert.raised_at).as_seconds_f64());
    let plan = policy::route(&alert, &alerter.units.all(), &alerter.silences.all(), now);
    observe(&plan);
    if matches!(plan.routing, Routing::Silenced { .. }) {
        return Ok(0);
    }
    let stand_in = plan.stand_in.clone();
    let policy = alerter.policy.clone();
    let decision =
        alerter.outbox.call(move |outbox| outbox.admit(&plan, |history| policy.admit(history, &plan, now))).await?;
    let (id, key) = (alert.id, alert.key);
    match decision.outcome {
        Outcome::Queued(added) => {
            if let Some(escalation) = stand_in
                && added > 0
            {
                tracing::info!(alert = %id, to = ?escalation.names, "units off duty: their parents hear of it at once");
                let event = AlertEvent::Escalated { alert_id: id, escalation };
                alerter.bus.publish(Topic::Alerts, &key, &wire::encode(&event)).await?;
            }
            Ok(added)
        }
        Outcome::Redelivered => Ok(0),
        Outcome::Repeat => {
            tracing::info!(alert = %id, %key, "same series and level notified within the repeat interval: not sent again");
            metrics::counter!("kentongan_alerter_held_back_total", "why" => "repeat").increment(1);
            Ok(0)
        }
        Outcome::Inhibited { by } => {
            tracing::info!(alert = %id, %key, by = %by, "held back by an open awas alert for the province");
            metrics::counter!("kentongan_alerter_held_back_total", "why" => "inhibited").increment(1);
            Ok(0)
        }
    }
}

/// Takes one alert event into the outbox: notifications and a timer for a
/// raised alert, the end of its timer once someone took it on. Returns how
/// many notifications were queued.
pub async fn take(alerter: &Alerter, event: AlertEvent) -> Result<usize, Error> {
    match event {
        AlertEvent::Raised { alert } => raise(alerter, alert).await,
        AlertEvent::Changed { alert_id, change } if change.state > AlertState::Open => {
            let resolved = change.state == AlertState::Resolved;
            alerter
                .outbox
                .call(move |outbox| {
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
        metrics::counter!("kentongan_alerter_received_total").increment(batch.len() as u64);
        let mut added = 0;
        for record in &batch {
            match wire::decode::<AlertEvent>(&record.payload) {
                Ok(event) => match bus::contain_async("alerter", take(&alerter, event)).await {
                    Ok(queued) => {
                        added += queued?;
                        metrics::counter!("kentongan_alerter_processed_total").increment(1);
                    }
                    Err(cause) => {
                        metrics::counter!("kentongan_alerter_failed_total").increment(1);
                        alerter.bus.deadletter("alerter", record.topic.name(), &record.payload, &cause).await?;
                    }
                },
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "unreadable alert event sent to deadletter");
                    metrics::counter!("kentongan_alerter_failed_total").increment(1);
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
/// one step up; a timer with nobody above stops. Returns the timers that
/// fell due and when the next falls due.
pub async fn escalate(
    alerter: &Alerter,
    now: time::OffsetDateTime,
) -> Result<(usize, Option<time::OffsetDateTime>), Error> {
    let (due, next) = alerter.outbox.call(move |outbox| outbox.due_timers(now)).await?;
    let fired = due.len();
    let units = alerter.units.all();
    for timer in due {
        let id = timer.alert.id;
        let prefix = format!("{id}/");
        let earlier = alerter.outbox.call(move |outbox| outbox.entries_of(&prefix)).await?;
        match alerter.policy.escalate(&timer, &units, &earlier, now) {
            Step::Top => {
                // the top of the chain had it: nowhere further to go
                alerter.outbox.call(move |outbox| outbox.close_timer(&id.to_string())).await?;
                metrics::counter!("kentongan_alerter_escalations_ended_total").increment(1);
            }
            Step::Up { entries, escalation, timer } => {
                tracing::warn!(alert = %id, to = ?escalation.names, "alert not acknowledged in time: escalated");
                metrics::counter!("kentongan_alerter_escalations_total").increment(1);
                // notifications first: a crash after them escalates again,
                // and the outbox keeps each recipient's copy once
                alerter.outbox.call(move |outbox| outbox.enqueue(&entries)).await?;
                let event = AlertEvent::Escalated { alert_id: id, escalation };
                alerter.bus.publish(Topic::Alerts, &timer.alert.key, &wire::encode(&event)).await?;
                alerter.outbox.call(move |outbox| outbox.reset_timer(&timer)).await?;
            }
        }
    }
    Ok((fired, next))
}

/// The stage over a real outbox and bus, with a clock moved by hand.
#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use model::{Level, StateChange, Unit};
    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;
    use crate::policy::Status;
    use crate::policy::tests::raised;

    /// A clock the test moves by hand.
    #[derive(Debug)]
    struct Hand(Mutex<OffsetDateTime>);

    impl Clock for Hand {
        fn now(&self) -> OffsetDateTime {
            *self.0.lock().unwrap()
        }
    }

    fn unit(id: &str, name: &str, region: &str, parent: Option<&str>, min: Level) -> Unit {
        Unit { name: name.into(), ..crate::policy::tests::unit(id, region, parent, min) }
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
            policy,
            per_recipient_per_hour: 30,
            links: crate::LinkKey::from_secret("rahasia-yang-cukup-panjang-untuk-uji-123").unwrap(),
            clock,
        }
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
        let policy = Policy {
            group_window: time::Duration::seconds(30),
            repeat_interval: time::Duration::hours(4),
            escalation: crate::EscalationConfig::default(),
        };
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

    /// `group_window = 0`: nothing waits, so nothing is grouped: a waspada,
    /// siaga and awas taken in one batch, before the sender ran, each go out
    /// (they were grouped into the last whenever the sender had not started
    /// yet, and the first two never mailed).
    #[tokio::test]
    async fn with_no_group_window_every_alert_goes_out_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = datetime!(2026-11-29 10:00 UTC);
        let clock = Arc::new(Hand(Mutex::new(t0)));
        let policy = Policy {
            group_window: time::Duration::ZERO,
            repeat_interval: time::Duration::hours(4),
            escalation: crate::EscalationConfig::default(),
        };
        let units = [unit("sulteng", "Kesbangpol Sulawesi Tengah", "72", None, Level::Waspada)];
        let alerter = alerter_at(dir.path(), clock.clone(), &units, policy);
        let levels = [Level::Waspada, Level::Siaga, Level::Awas];
        let alerts: Vec<Alert> = levels.iter().map(|l| raised("72.71", *l, t0)).collect();
        for a in &alerts {
            assert_eq!(take(&alerter, AlertEvent::Raised { alert: a.clone() }).await.unwrap(), 1);
        }
        let mut due = due_at(&alerter, t0);
        due.sort();
        let mut expected: Vec<uuid::Uuid> = alerts.iter().map(|a| a.id).collect();
        expected.sort();
        assert_eq!(due, expected);
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
        let policy = Policy {
            group_window: time::Duration::ZERO,
            repeat_interval: time::Duration::ZERO,
            escalation: crate::EscalationConfig::default(),
        };
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
}
