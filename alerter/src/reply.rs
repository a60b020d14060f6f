//! Replies to reporters, sent once and retried: each `requested` reply on
//! the `replies` topic is written to `data_dir/replies.redb` before its
//! record is committed, then sent over the channel its report came by
//! (email, SMS, Telegram, WhatsApp) with the same backoff as alerts
//! ([`crate::policy`]), and every attempt is published as `delivered`.
//!
//! Keyed by reply id, so a redelivered record never queues a second copy
//! and a reply that was sent is not sent again; a kill -9 between the
//! platform taking a reply and its record sends that one reply again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bus::reopen::ReopeningDb;
use bus::{Bus, Topic};
use model::reply::{Reply, ReplyDelivery, ReplyEvent, ReplyState};
use model::{Channel as ReportChannel, Clock, wire};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::channel::{Channel, Receipt, SendError};
use crate::email::{Composed, Email};
use crate::sms::Sms;
use crate::{Error, Mailer, SmsSender};

/// Replies still to send.
const PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("pending");
/// Replies sent or given up.
const DONE: TableDefinition<&str, &[u8]> = TableDefinition::new("done");

/// The consumer group of the reply outbox on `replies`.
const GROUP: &str = "replies-outbox";

/// A reply in the outbox, with its attempts so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub reply: Reply,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt: OffsetDateTime,
    pub state: ReplyState,
    pub last_error: Option<String>,
}

/// The reply outbox (`data_dir/replies.redb`). Cheap to clone.
#[derive(Clone)]
pub struct ReplyOutbox {
    db: Arc<ReopeningDb>,
    path: String,
}

impl std::fmt::Debug for ReplyOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplyOutbox({})", self.path)
    }
}

impl ReplyOutbox {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let err = |e: &dyn std::fmt::Display| Error::Outbox { path: path.display().to_string(), reason: e.to_string() };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let db = ReopeningDb::open(path, |txn| {
            txn.open_table(PENDING)?;
            txn.open_table(DONE)?;
            Ok(())
        })
        .map_err(|e| err(&e))?;
        Ok(Self { db: Arc::new(db), path: path.display().to_string() })
    }

    /// Whether the outbox can be used, for `/readyz`. Blocks.
    pub fn ready(&self) -> Result<(), String> {
        self.db.get().map(drop)
    }

    fn fail(&self, e: impl std::fmt::Display) -> Error {
        Error::Outbox { path: self.path.clone(), reason: e.to_string() }
    }

    /// Runs `f` on the database, on a blocking thread.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::Database) -> Result<T, redb::Error> + Send + 'static,
    ) -> Result<T, Error> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let db = me.db.get().map_err(|e| me.fail(e))?;
            me.db.check(f(&db)).map_err(|e| me.fail(e))
        })
        .await
        .map_err(|e| Error::Task { task: "reply outbox", reason: e.to_string() })?
    }

    /// Queues the replies not seen before, in one durable transaction;
    /// returns how many were new.
    pub async fn enqueue(&self, replies: Vec<Reply>) -> Result<usize, Error> {
        let mut rows = Vec::new();
        for reply in replies {
            let key = reply.id.to_string();
            let queued =
                Queued { next_attempt: reply.at, reply, attempts: 0, state: ReplyState::Pending, last_error: None };
            rows.push((key, serde_json::to_vec(&queued).map_err(|e| self.fail(e))?));
        }
        self.with(move |db| {
            let txn = db.begin_write()?;
            let mut added = 0;
            {
                let mut pending = txn.open_table(PENDING)?;
                let done = txn.open_table(DONE)?;
                for (key, bytes) in rows {
                    if pending.get(key.as_str())?.is_some() || done.get(key.as_str())?.is_some() {
                        continue;
                    }
                    pending.insert(key.as_str(), bytes.as_slice())?;
                    added += 1;
                }
            }
            txn.commit()?;
            Ok(added)
        })
        .await
    }

    /// Records an attempt: still pending, or done (sent or given up).
    pub async fn update(&self, queued: Queued) -> Result<(), Error> {
        let key = queued.reply.id.to_string();
        let bytes = serde_json::to_vec(&queued).map_err(|e| self.fail(e))?;
        let done = !matches!(queued.state, ReplyState::Pending | ReplyState::Retrying);
        self.with(move |db| {
            let txn = db.begin_write()?;
            {
                let mut pending = txn.open_table(PENDING)?;
                if !done {
                    pending.insert(key.as_str(), bytes.as_slice())?;
                } else {
                    pending.remove(key.as_str())?;
                    txn.open_table(DONE)?.insert(key.as_str(), bytes.as_slice())?;
                }
            }
            txn.commit()?;
            Ok(())
        })
        .await
    }

    /// The pending replies due at `now`, and when the next one after them is due.
    pub async fn due(&self, now: OffsetDateTime) -> Result<(Vec<Queued>, Option<OffsetDateTime>), Error> {
        let all = self
            .with(|db| {
                let txn = db.begin_read()?;
                let table = txn.open_table(PENDING)?;
                let mut out = Vec::new();
                for row in table.iter()? {
                    let (_, value) = row?;
                    out.push(value.value().to_vec());
                }
                Ok(out)
            })
            .await?;
        let all: Vec<Queued> = all
            .iter()
            .filter_map(|bytes| {
                serde_json::from_slice(bytes)
                    .inspect_err(|e| tracing::error!(path = %self.path, error = %e, "unreadable reply in the outbox"))
                    .ok()
            })
            .collect();
        let next = all.iter().filter(|q| q.next_attempt > now).map(|q| q.next_attempt).min();
        Ok((all.into_iter().filter(|q| q.next_attempt <= now).collect(), next))
    }
}

/// The Telegram Bot API, for replies: `sendMessage` as the bot.
#[derive(Debug, Clone)]
pub struct TelegramBot {
    /// `https://api.telegram.org` (a test server in tests).
    pub api_url: String,
    pub token: String,
}

/// The WhatsApp Cloud API, for replies: messages from the business number.
#[derive(Debug, Clone)]
pub struct WhatsappCloud {
    pub graph_url: String,
    pub access_token: String,
    pub phone_number_id: String,
}

/// How replies reach each channel; a channel without its settings fails
/// its replies at once, naming the setting.
#[derive(Debug, Clone, Default)]
pub struct ReplyChannels {
    pub mailer: Option<Mailer>,
    pub sms: Option<SmsSender>,
    pub telegram: Option<TelegramBot>,
    pub whatsapp: Option<WhatsappCloud>,
}

/// The reply stage: the outbox, what feeds it and what empties it.
#[derive(Clone)]
pub struct Replies {
    pub bus: Bus,
    pub outbox: ReplyOutbox,
    pub channels: Arc<ReplyChannels>,
    pub http: reqwest::Client,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Replies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replies").field("outbox", &self.outbox).finish()
    }
}

/// Takes requested replies in and sends them, until one of the two fails.
pub async fn run(replies: Replies) -> Result<(), Error> {
    let wake = Arc::new(Notify::new());
    tokio::select! {
        r = intake(replies.clone(), wake.clone()) => r,
        r = send_due(replies, wake) => r,
    }
}

async fn intake(replies: Replies, wake: Arc<Notify>) -> Result<(), Error> {
    let mut sub = replies.bus.subscribe(Topic::Replies, GROUP).await?;
    loop {
        let batch = sub.next_batch(100, Duration::from_millis(10)).await?;
        let mut requested = Vec::new();
        for record in &batch {
            match wire::decode::<ReplyEvent>(&record.payload) {
                Ok(ReplyEvent::Requested { reply }) => requested.push(reply),
                Ok(ReplyEvent::Delivered { .. }) => {}
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "unreadable reply event sent to deadletter");
                    replies.bus.deadletter("replies", record.topic.name(), &record.payload, &e.to_string()).await?;
                }
            }
        }
        if !requested.is_empty() && replies.outbox.enqueue(requested).await? > 0 {
            wake.notify_one();
        }
        sub.commit_all(&batch).await?;
    }
}

async fn send_due(replies: Replies, wake: Arc<Notify>) -> Result<(), Error> {
    loop {
        let now = replies.clock.now();
        let (due, next) = replies.outbox.due(now).await?;
        let sent_any = !due.is_empty();
        for queued in due {
            attempt(&replies, queued).await?;
        }
        if sent_any {
            continue;
        }
        let wait = next.map_or(Duration::from_secs(60), |t| {
            Duration::try_from(t - replies.clock.now()).unwrap_or(Duration::ZERO).min(Duration::from_secs(60))
        });
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
        }
    }
}

/// One attempt at `queued`, recorded in the outbox and on `replies`.
async fn attempt(replies: &Replies, mut queued: Queued) -> Result<(), Error> {
    let result = send(replies, &queued.reply).await;
    let now = replies.clock.now();
    queued.attempts += 1;
    queued.last_error = result.as_ref().err().map(ToString::to_string);
    // the same retries as alert notifications
    let (status, next) = crate::policy::outcome(queued.attempts, result.as_ref().err(), now);
    queued.next_attempt = next.unwrap_or(queued.next_attempt);
    queued.state = match status {
        crate::policy::Status::Sent => ReplyState::Sent,
        crate::policy::Status::Failed => ReplyState::Failed,
        _ => ReplyState::Retrying,
    };
    let reply = &queued.reply;
    match (&result, queued.state) {
        (Ok(receipt), _) => {
            tracing::info!(reply = %reply.id, report = %reply.report, channel = %reply.channel, answer = %receipt.reply, "reply sent")
        }
        (Err(e), ReplyState::Failed) => {
            tracing::error!(reply = %reply.id, report = %reply.report, error = %e, "reply failed for good")
        }
        (Err(e), _) => {
            tracing::warn!(reply = %reply.id, report = %reply.report, error = %e, "reply failed, will retry")
        }
    }
    let outcome = match queued.state {
        ReplyState::Sent => "sent",
        ReplyState::Failed => "failed",
        _ => "retry",
    };
    metrics::counter!("kentongan_alerter_replies_total", "outcome" => outcome).increment(1);
    let event = ReplyEvent::Delivered {
        reply_id: reply.id,
        report: reply.report,
        delivery: ReplyDelivery {
            at: now,
            attempt: queued.attempts,
            state: queued.state,
            error: queued.last_error.clone(),
        },
    };
    let key = reply.report.to_string();
    replies.outbox.update(queued).await?;
    if let Err(e) = replies.bus.publish(Topic::Replies, &key, &wire::encode(&event)).await {
        tracing::warn!(error = %e, "could not record the reply's delivery on the bus");
    }
    Ok(())
}

/// Sends `reply` over its channel.
async fn send(replies: &Replies, reply: &Reply) -> Result<Receipt, SendError> {
    let channels = &replies.channels;
    let missing = |channel, hint| SendError::NotConfigured { channel, hint };
    match reply.channel {
        ReportChannel::Email => {
            let mailer = channels.mailer.as_ref().ok_or(missing("email", "[smtp] url and from"))?;
            mailer.send(&reply.to, &email(reply)).await
        }
        ReportChannel::Sms => {
            let sms = channels.sms.as_ref().ok_or(missing("SMS", "[sms_gateway] url"))?;
            let message = Sms { text: reply.text.clone(), reference: reply.id.to_string(), callback: String::new() };
            sms.send(&reply.to, &message).await
        }
        ReportChannel::Telegram => {
            let bot = channels.telegram.as_ref().ok_or(missing("Telegram", "[telegram] bot_token"))?;
            let mut body = serde_json::json!({ "chat_id": reply.to, "text": reply.text });
            if let Some(message) = reply.answers.as_deref().and_then(|m| m.parse::<i64>().ok()) {
                body["reply_parameters"] =
                    serde_json::json!({ "message_id": message, "allow_sending_without_reply": true });
            }
            let url = format!("{}/bot{}/sendMessage", bot.api_url.trim_end_matches('/'), bot.token);
            post("Telegram", replies.http.post(url).json(&body)).await
        }
        ReportChannel::Whatsapp => {
            let wa =
                channels.whatsapp.as_ref().ok_or(missing("WhatsApp", "[whatsapp] access_token and phone_number_id"))?;
            let body = serde_json::json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": reply.to.trim_start_matches('+'),
                "type": "text",
                "text": { "body": reply.text },
            });
            let url = format!("{}/{}/messages", wa.graph_url.trim_end_matches('/'), wa.phone_number_id);
            post("WhatsApp", replies.http.post(url).bearer_auth(&wa.access_token).json(&body)).await
        }
        other => Err(SendError::BadRecipient {
            recipient: reply.to.clone(),
            reason: format!("reports that came by {other} cannot be replied to"),
        }),
    }
}

/// Sends a platform API request; an error status is the platform's refusal.
async fn post(platform: &'static str, request: reqwest::RequestBuilder) -> Result<Receipt, SendError> {
    let response = request
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| SendError::PlatformUnreachable { platform, reason: e.without_url().to_string() })?;
    let status = response.status();
    let detail: String = response.text().await.unwrap_or_default().chars().take(300).collect();
    if status.is_success() {
        Ok(Receipt { reply: detail })
    } else {
        Err(SendError::Platform { platform, status: status.as_u16(), detail })
    }
}

/// The email of a reply: its text, and the same as HTML.
fn email(reply: &Reply) -> Email {
    let receipt = model::reply::receipt(reply.report);
    let html =
        format!("<!doctype html><html><body><p>{}</p></body></html>", escape(&reply.text).replace('\n', "<br>\n"));
    Email {
        alert: reply.id,
        notification: format!("reply/{}", reply.id),
        body: Composed { subject: format!("Tanggapan atas laporan {receipt}"), text: reply.text.clone(), html },
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use model::ReportId;
    use uuid::Uuid;

    use super::*;

    fn reply(n: u8) -> Reply {
        Reply {
            id: Uuid::from_u128(u128::from(n)),
            report: ReportId(Uuid::now_v7()),
            alert: None,
            channel: ReportChannel::Sms,
            to: "+6281".into(),
            answers: None,
            text: "Terima kasih <b>&</b>".into(),
            by: "op".into(),
            at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn a_reply_is_queued_once_and_kept_until_done() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = ReplyOutbox::open(&dir.path().join("replies.redb")).unwrap();
        assert_eq!(outbox.enqueue(vec![reply(1), reply(2)]).await.unwrap(), 2);
        // a redelivered request queues nothing
        assert_eq!(outbox.enqueue(vec![reply(1)]).await.unwrap(), 0);
        let (due, _) = outbox.due(OffsetDateTime::now_utc()).await.unwrap();
        assert_eq!(due.len(), 2);
        let mut sent = due[0].clone();
        sent.state = ReplyState::Sent;
        outbox.update(sent.clone()).await.unwrap();
        drop(outbox);
        // after a restart: the sent one stays done, and is not queued again
        let outbox = ReplyOutbox::open(&dir.path().join("replies.redb")).unwrap();
        assert_eq!(outbox.enqueue(vec![sent.reply.clone()]).await.unwrap(), 0);
        let (due, _) = outbox.due(OffsetDateTime::now_utc()).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_ne!(due[0].reply.id, sent.reply.id);
    }

    #[test]
    fn reply_email_escapes_its_html() {
        let e = email(&reply(1));
        assert!(e.body.html.contains("Terima kasih &lt;b&gt;&amp;&lt;/b&gt;"), "{}", e.body.html);
        assert!(e.body.subject.starts_with("Tanggapan atas laporan KTN-"));
        assert_eq!(e.body.text, "Terima kasih <b>&</b>");
    }
}
