//! The alerter stage: `alerts` in, notifications out.
//!
//! Intake routes each raised alert to its units and writes one outbox entry
//! per recipient; only then is the alert committed on the bus. The sender
//! drains the outbox, retrying with exponential backoff and jitter, and
//! publishes every attempt back onto `alerts` as a `delivered` event.

use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, Topic};
use model::{Alert, AlertEvent, Clock, Delivery, DeliveryChannel, wire};
use tokio::sync::Notify;

use crate::outbox::{Entry, Status};
use crate::{Error, Mailer, Outbox, UnitBook};

/// The consumer group of this stage.
pub const GROUP: &str = "alerter";
/// Attempts before an entry is given up.
pub const MAX_ATTEMPTS: u32 = 12;

/// What the alerter needs.
#[derive(Debug, Clone)]
pub struct Alerter {
    pub bus: Bus,
    pub units: UnitBook,
    pub outbox: Outbox,
    pub mailer: Option<Mailer>,
    /// Sends SMS, when `[sms_gateway]` is set.
    pub sms: Option<crate::SmsSender>,
    /// Base URL of the web UI, for links in notifications.
    pub public_url: String,
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

fn entries_for(alerter: &Alerter, alert: &Alert) -> Vec<Entry> {
    let units = alerter.units.route(&alert.indicator, alert.level, &alert.region);
    if units.is_empty() {
        tracing::warn!(alert = %alert.id, key = %alert.key, level = %alert.level, "no unit handles this alert");
        metrics::counter!("kentongan_alerter_unrouted_total").increment(1);
    }
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

async fn intake(alerter: Alerter, wake: Arc<Notify>) -> Result<(), Error> {
    let mut sub = alerter.bus.subscribe(Topic::Alerts, GROUP).await?;
    loop {
        let batch = sub.next_batch(100, Duration::from_millis(10)).await?;
        let mut entries = Vec::new();
        for record in &batch {
            match wire::decode::<AlertEvent>(&record.payload) {
                Ok(AlertEvent::Raised { alert }) => entries.extend(entries_for(&alerter, &alert)),
                Ok(AlertEvent::Delivered { .. } | AlertEvent::Changed { .. }) => {}
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "unreadable alert event sent to deadletter");
                    alerter.bus.deadletter("alerter", record.topic.name(), &record.payload, &e.to_string()).await?;
                }
            }
        }
        if !entries.is_empty() {
            let outbox = alerter.outbox.clone();
            let added = tokio::task::spawn_blocking(move || outbox.enqueue(&entries))
                .await
                .map_err(|e| Error::Smtp(format!("outbox task failed: {e}")))??;
            metrics::counter!("kentongan_alerter_queued_total").increment(added as u64);
            wake.notify_one();
        }
        sub.commit_all(&batch).await?;
    }
}

/// Backoff after `attempts` failures: 5 s doubling up to 30 min, ± 20 % jitter.
fn backoff(attempts: u32) -> time::Duration {
    let base = 5.0 * 2f64.powi(attempts.saturating_sub(1).min(10) as i32);
    let secs = base.min(1800.0) * (0.8 + 0.4 * fastrand::f64());
    time::Duration::seconds_f64(secs)
}

async fn send_loop(alerter: Alerter, wake: Arc<Notify>) -> Result<(), Error> {
    loop {
        let outbox = alerter.outbox.clone();
        let now = alerter.clock.now();
        let (due, next) = tokio::task::spawn_blocking(move || outbox.due(now))
            .await
            .map_err(|e| Error::Smtp(format!("outbox task failed: {e}")))??;
        let sent_any = !due.is_empty();
        for entry in due {
            attempt(&alerter, entry).await?;
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
    let result = match (&alerter.mailer, entry.channel) {
        (Some(mailer), DeliveryChannel::Email) => {
            let token =
                alerter.links.sign(entry.alert.id, &entry.recipient, alerter.clock.now() + crate::links::LINK_TTL);
            let links = crate::email::Links::new(&alerter.public_url, entry.alert.id, &token);
            mailer.send(&entry.alert, &entry.unit_name, &entry.recipient, &links).await
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
                    alert.id,
                    &sms_callback_recipient(&entry.unit, &entry.recipient),
                    alerter.clock.now() + SMS_CALLBACK_TTL,
                );
                let callback = format!("{base}/api/v1/alerts/{}/sms-status?token={token}", alert.id);
                let text = crate::sms::compose(alert, &format!("{base}/#/alerts/{}", alert.id));
                sms.send(&entry.recipient, &text, &entry.key, &callback).await
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
    use super::*;

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
