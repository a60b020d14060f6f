//! The sender: works the outbox off. Each pass takes the time once, lets the
//! escalation timers that fell due escalate, and sends what is due through
//! its [`Channel`], up to [`SENDERS`] at once, each recipient within the
//! per-recipient limit ([`Pacer`]). Every attempt is recorded in the outbox
//! as it ends ([`policy::record`]: sent, tried again after a backoff, or
//! failed for good with its reason) and published on `alerts` as a
//! `delivered` event.

use std::sync::Arc;
use std::time::Duration;

use bus::Topic;
use model::{AlertEvent, Delivery, DeliveryChannel, wire};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::Error;
use crate::channel::{Channel, SendError};
use crate::email::{Email, Links};
use crate::policy::{self, Entry, Pacer, Status};
use crate::sms::Sms;
use crate::stage::Alerter;
use crate::templates::Extras;

/// Notifications in flight at once: a slow mail server or gateway does not
/// hold up the rest, and a kill -9 repeats at most this many.
pub const SENDERS: usize = 8;

/// How long an SMS gateway may report the status of a message.
const SMS_CALLBACK_TTL: time::Duration = time::Duration::days(7);

/// The recipient of a status callback: which unit, which phone.
pub fn sms_callback_recipient(unit: &str, phone: &str) -> String {
    format!("sms:{unit}:{phone}")
}

/// Sends until an error; woken by `wake` when intake queued something.
pub async fn run(alerter: Alerter, wake: Arc<Notify>) -> Result<(), Error> {
    let pacer = Pacer::new(alerter.per_recipient_per_hour);
    let joined = |done: Result<Result<(), Error>, tokio::task::JoinError>| match done {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Task { task: "send", reason: e.to_string() }),
    };
    loop {
        let now = alerter.clock.now();
        let (escalated, next_timer) = crate::stage::escalate(&alerter, now).await?;
        let (due, next) = alerter.outbox.call(move |outbox| outbox.due(now)).await?;
        let next = next.into_iter().chain(next_timer).min();
        let mut sent_any = escalated > 0;
        let mut running = tokio::task::JoinSet::new();
        for mut entry in due {
            if let Some(later) = pacer.pace(&entry, now) {
                tracing::info!(alert = %entry.alert.id, recipient = %entry.recipient, until = %later, "rate limit: notification waits");
                metrics::counter!("kentongan_alerter_rate_limited_total").increment(1);
                entry.next_attempt = later;
                alerter.outbox.call(move |outbox| outbox.update(&entry)).await?;
                continue;
            }
            sent_any = true;
            while running.len() >= SENDERS {
                if let Some(done) = running.join_next().await {
                    joined(done)?;
                }
            }
            let alerter = alerter.clone();
            running.spawn(async move { attempt(&alerter, entry).await });
        }
        while let Some(done) = running.join_next().await {
            joined(done)?;
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

/// Sends `message`, made by `compose`, through `channel` to `to`; `missing`
/// when the channel is not configured.
async fn deliver<C: Channel>(
    channel: Option<&C>,
    to: &str,
    compose: impl FnOnce() -> Result<C::Message, Error>,
    missing: SendError,
) -> Result<crate::Receipt, SendError> {
    let channel = channel.ok_or(missing)?;
    let message = compose().map_err(|e| SendError::Compose(e.to_string()))?;
    channel.send(to, &message).await
}

/// The email for `entry`, its acknowledgement link signed at `now`.
fn email(
    alerter: &Alerter,
    entry: &Entry,
    extras: Extras<'_>,
    language: Option<&str>,
    now: OffsetDateTime,
) -> Result<Email, Error> {
    let alert = &entry.alert;
    let purpose = crate::links::Purpose::AckLink;
    let token = alerter.links.sign(purpose, alert.id, &entry.recipient, now + crate::links::LINK_TTL);
    let links = Links::new(&alerter.public_url, alert.id, &token);
    let body = alerter.templates.email(alert, &entry.unit_name, &links, extras, language)?;
    Ok(Email { alert: alert.id, notification: entry.key.clone(), body })
}

/// The SMS for `entry`, its status callback signed at `now`.
fn sms(
    alerter: &Alerter,
    entry: &Entry,
    extras: Extras<'_>,
    language: Option<&str>,
    now: OffsetDateTime,
) -> Result<Sms, Error> {
    let alert = &entry.alert;
    let base = alerter.public_url.trim_end_matches('/');
    let recipient = sms_callback_recipient(&entry.unit, &entry.recipient);
    let token = alerter.links.sign(crate::links::Purpose::SmsStatus, alert.id, &recipient, now + SMS_CALLBACK_TTL);
    let link = format!("{base}/#/alerts/{}", alert.id);
    Ok(Sms {
        text: alerter.templates.sms(alert, &link, extras, language)?,
        reference: entry.key.clone(),
        callback: format!("{base}/api/v1/alerts/{}/sms-status?token={token}", alert.id),
    })
}

/// One attempt at `entry`, recorded in the outbox and on `alerts`.
async fn attempt(alerter: &Alerter, entry: Entry) -> Result<(), Error> {
    let language = alerter.units.get(&entry.unit).and_then(|u| u.language);
    let language = language.as_deref();
    // a parent alert lists its children as this outbox saw them raised
    let ids = entry.alert.children.clone();
    let children = if ids.is_empty() { Vec::new() } else { alerter.outbox.call(move |o| o.children(&ids)).await? };
    let extras = Extras { escalated_from: &entry.escalated_from, notified: &entry.notified, children: &children };
    let now = alerter.clock.now();
    let to = entry.recipient.as_str();
    let result = match entry.channel {
        DeliveryChannel::Email => {
            let missing = SendError::NotConfigured { channel: "email", hint: "[smtp] url and from" };
            deliver(alerter.mailer.as_ref(), to, || email(alerter, &entry, extras, language, now), missing).await
        }
        DeliveryChannel::Sms => {
            let missing = SendError::NotConfigured { channel: "SMS", hint: "[sms_gateway] url" };
            deliver(alerter.sms.as_ref(), to, || sms(alerter, &entry, extras, language, now), missing).await
        }
    };
    let now = alerter.clock.now();
    let entry = policy::record(entry, result.as_ref().err(), now);
    let (id, recipient) = (entry.alert.id, entry.recipient.as_str());
    // the report that raised it: the newest, whose id (a UUIDv7) is its time of receipt
    let report = entry.alert.reports.iter().map(|r| r.id).max();
    match (&result, entry.status) {
        (Ok(receipt), _) => {
            let report_id = report.map(|r| r.to_string()).unwrap_or_default();
            tracing::info!(alert = %id, report = %report_id, %recipient, reply = %receipt.reply, "alert delivered");
            let received = report.and_then(|r| r.0.get_timestamp()).map(|t| t.to_unix());
            // first notifications only: an escalation waits on purpose
            if let Some((secs, nanos)) = received.filter(|_| entry.escalated_from.is_empty()) {
                let received = i128::from(secs) * 1_000_000_000 + i128::from(nanos);
                let waited = now.unix_timestamp_nanos().saturating_sub(received) as f64 / 1e9;
                let channel = match entry.channel {
                    DeliveryChannel::Email => "email",
                    DeliveryChannel::Sms => "sms",
                };
                metrics::histogram!("kentongan_alerter_end_to_end_seconds", "channel" => channel).record(waited);
            }
        }
        (Err(e), Status::Failed) => {
            tracing::error!(alert = %id, %recipient, error = %e, attempts = entry.attempts, "alert delivery failed for good");
        }
        (Err(e), _) => tracing::warn!(alert = %id, %recipient, error = %e, "alert delivery failed, will retry"),
    }
    let outcome = match entry.status {
        Status::Sent => "sent",
        Status::Failed => "failed",
        _ => "retry",
    };
    metrics::counter!("kentongan_alerter_deliveries_total", "outcome" => outcome).increment(1);
    let saved = entry.clone();
    alerter.outbox.call(move |outbox| outbox.update(&saved)).await?;
    let event = AlertEvent::Delivered {
        alert_id: entry.alert.id,
        delivery: Delivery {
            channel: entry.channel,
            recipient: entry.recipient.clone(),
            unit: entry.unit.clone(),
            at: now,
            attempt: entry.attempts,
            error: entry.last_error.clone(),
            // given up: the delivery says so, as a gateway's report would
            status: (entry.status == Status::Failed).then(|| "failed".to_owned()),
        },
    };
    if let Err(e) = alerter.bus.publish(Topic::Alerts, &entry.alert.key, &wire::encode(&event)).await {
        tracing::warn!(alert = %entry.alert.id, error = %e, "could not record the delivery on the bus");
    }
    Ok(())
}
