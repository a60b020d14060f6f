//! Mail about duties: reminders before a deadline, summaries after it, and
//! the morning brief. What to send is decided and written elsewhere (the
//! `duties` crate and the api's scheduler); here each message is kept in a
//! durable outbox of the same kind as the alerts' (`data_dir/duty-outbox.redb`),
//! keyed so that it goes out once even across restarts
//! (`remind/<template>/<period>/<region>/<channel>/<recipient>`,
//! `summary/…/<parent unit>/…`, `brief/<region>/<date>/<recipient>`), and
//! sent by email (with an attachment, the brief's PDF) or SMS, with the
//! alerts' retries: a permanent failure ends a message at once, anything
//! else is tried again after a backoff.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bus::reopen::ReopeningDb;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart};
use model::{Clock, DeliveryChannel};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::channel::{Channel, SendError};
use crate::policy::{Status, outcome};
use crate::sms::Sms;
use crate::{Error, Mailer, SmsSender};

/// Messages still to send.
const PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("pending");
/// Messages sent or given up.
const DONE: TableDefinition<&str, &[u8]> = TableDefinition::new("done");

/// A file sent with an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct File {
    pub name: String,
    pub content_type: String,
    /// The bytes, in hex.
    pub hex: String,
}

impl File {
    pub fn new(name: &str, content_type: &str, bytes: &[u8]) -> Self {
        Self { name: name.to_owned(), content_type: content_type.to_owned(), hex: hex::encode(bytes) }
    }
}

/// One message to one recipient, written in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Unique: a second message of the same key is not queued.
    pub key: String,
    pub channel: DeliveryChannel,
    /// An email address or a phone number.
    pub to: String,
    /// The unit it is for, for the logs.
    pub unit: String,
    /// For email: the subject and HTML body; `text` is the plain body, or
    /// the whole SMS.
    #[serde(default)]
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
}

impl Message {
    /// The key of a message about `what` to `to` over `channel`.
    pub fn key(what: &str, channel: DeliveryChannel, to: &str) -> String {
        let channel = match channel {
            DeliveryChannel::Email => "email",
            DeliveryChannel::Sms => "sms",
        };
        format!("{what}/{channel}/{to}")
    }
}

/// A message in the outbox, with how sending it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub message: Message,
    pub status: Status,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The duty outbox database.
#[derive(Clone)]
pub struct DutyOutbox {
    db: Arc<ReopeningDb>,
    path: String,
}

impl std::fmt::Debug for DutyOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DutyOutbox({})", self.path)
    }
}

impl DutyOutbox {
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

    /// A database error; an I/O error closes the database until it can be
    /// opened again.
    fn err(&self, e: impl Into<redb::Error>) -> Error {
        let e = self.db.check::<(), _>(Err(e)).err().map_or_else(String::new, |e| e.to_string());
        Error::Outbox { path: self.path.clone(), reason: e }
    }

    fn bad(&self, e: serde_json::Error) -> Error {
        Error::Outbox { path: self.path.clone(), reason: e.to_string() }
    }

    fn db(&self) -> Result<Arc<redb::Database>, Error> {
        self.db.get().map_err(|reason| Error::Outbox { path: self.path.clone(), reason })
    }

    /// Whether the database can be used (for `/readyz`).
    pub fn ready(&self) -> Result<(), String> {
        self.db.get().map(drop)
    }

    /// Whether every one of `keys` was queued before (and is waiting, sent
    /// or given up).
    pub fn has_all(&self, keys: &[String]) -> Result<bool, Error> {
        let txn = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let pending = txn.open_table(PENDING).map_err(|e| self.err(e))?;
        let done = txn.open_table(DONE).map_err(|e| self.err(e))?;
        for key in keys {
            if pending.get(key.as_str()).map_err(|e| self.err(e))?.is_none()
                && done.get(key.as_str()).map_err(|e| self.err(e))?.is_none()
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Queues the messages whose keys are new (never queued, sent or given
    /// up), due at `now`, in one durable transaction; returns how many.
    pub fn enqueue(&self, messages: Vec<Message>, now: OffsetDateTime) -> Result<usize, Error> {
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        let mut added = 0;
        {
            let mut pending = txn.open_table(PENDING).map_err(|e| self.err(e))?;
            let done = txn.open_table(DONE).map_err(|e| self.err(e))?;
            for message in messages {
                let key = message.key.clone();
                if pending.get(key.as_str()).map_err(|e| self.err(e))?.is_some()
                    || done.get(key.as_str()).map_err(|e| self.err(e))?.is_some()
                {
                    continue;
                }
                let entry =
                    Entry { message, status: Status::Pending, attempts: 0, next_attempt: now, last_error: None };
                let bytes = serde_json::to_vec(&entry).map_err(|e| self.bad(e))?;
                pending.insert(key.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
                added += 1;
            }
        }
        txn.commit().map_err(|e| self.err(e))?;
        Ok(added)
    }

    /// Records an attempt: pending stays pending, sent or failed is done.
    pub fn update(&self, entry: &Entry) -> Result<(), Error> {
        let txn = self.db()?.begin_write().map_err(|e| self.err(e))?;
        {
            let bytes = serde_json::to_vec(entry).map_err(|e| self.bad(e))?;
            let key = entry.message.key.as_str();
            let mut pending = txn.open_table(PENDING).map_err(|e| self.err(e))?;
            if entry.status == Status::Pending {
                pending.insert(key, bytes.as_slice()).map_err(|e| self.err(e))?;
            } else {
                pending.remove(key).map_err(|e| self.err(e))?;
                txn.open_table(DONE)
                    .map_err(|e| self.err(e))?
                    .insert(key, bytes.as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        txn.commit().map_err(|e| self.err(e))?;
        Ok(())
    }

    fn read(&self, table: TableDefinition<&str, &[u8]>, prefix: &str) -> Result<Vec<Entry>, Error> {
        let txn = self.db()?.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(table).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in table.range(prefix..).map_err(|e| self.err(e))? {
            let (key, value) = row.map_err(|e| self.err(e))?;
            if !key.value().starts_with(prefix) {
                break;
            }
            match serde_json::from_slice::<Entry>(value.value()) {
                Ok(entry) => out.push(entry),
                Err(e) => tracing::error!(path = %self.path, error = %e, "unreadable duty outbox entry"),
            }
        }
        Ok(out)
    }

    /// The entries whose keys start with `prefix`, pending ones first.
    pub fn entries(&self, prefix: &str) -> Result<Vec<Entry>, Error> {
        let mut all = self.read(PENDING, prefix)?;
        all.extend(self.read(DONE, prefix)?);
        Ok(all)
    }

    /// Pending entries due at `now`, and when the next one after them is due.
    pub fn due(&self, now: OffsetDateTime) -> Result<(Vec<Entry>, Option<OffsetDateTime>), Error> {
        let pending = self.read(PENDING, "")?;
        let next = pending.iter().filter(|e| e.next_attempt > now).map(|e| e.next_attempt).min();
        Ok((pending.into_iter().filter(|e| e.next_attempt <= now).collect(), next))
    }
}

/// What sends duty mail. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DutyMail {
    pub outbox: DutyOutbox,
    pub mailer: Option<Mailer>,
    pub sms: Option<SmsSender>,
    pub clock: Arc<dyn Clock>,
    /// Told when something was queued.
    pub wake: Arc<Notify>,
}

impl DutyMail {
    /// Queues `messages` (those not queued before) and wakes the sender.
    pub async fn queue(&self, messages: Vec<Message>) -> Result<usize, Error> {
        if messages.is_empty() {
            return Ok(0);
        }
        let (outbox, now) = (self.outbox.clone(), self.clock.now());
        let added = tokio::task::spawn_blocking(move || outbox.enqueue(messages, now))
            .await
            .map_err(|e| Error::Task { task: "duty outbox", reason: e.to_string() })??;
        if added > 0 {
            self.wake.notify_one();
        }
        Ok(added)
    }

    /// Whether every one of `keys` was queued before.
    pub async fn has_all(&self, keys: Vec<String>) -> Result<bool, Error> {
        let outbox = self.outbox.clone();
        tokio::task::spawn_blocking(move || outbox.has_all(&keys))
            .await
            .map_err(|e| Error::Task { task: "duty outbox", reason: e.to_string() })?
    }

    /// One attempt at `message`.
    async fn send(&self, message: &Message) -> Result<crate::Receipt, SendError> {
        match message.channel {
            DeliveryChannel::Email => {
                let mailer = self
                    .mailer
                    .as_ref()
                    .ok_or(SendError::NotConfigured { channel: "email", hint: "[smtp] url and from" })?;
                let body = MultiPart::alternative_plain_html(
                    message.text.clone(),
                    message.html.clone().unwrap_or_else(|| message.text.clone()),
                );
                let body = match &message.file {
                    None => body,
                    Some(f) => {
                        let bytes = hex::decode(&f.hex).map_err(|e| SendError::Compose(e.to_string()))?;
                        let kind =
                            ContentType::parse(&f.content_type).map_err(|e| SendError::Compose(e.to_string()))?;
                        MultiPart::mixed().multipart(body).singlepart(Attachment::new(f.name.clone()).body(bytes, kind))
                    }
                };
                let kind = message.key.split('/').next().unwrap_or("duty");
                let id = crate::email::message_id(kind, &message.key);
                mailer
                    .send_built(&message.to, |b| b.subject(&message.subject).message_id(Some(id)).multipart(body))
                    .await
            }
            DeliveryChannel::Sms => {
                let sms =
                    self.sms.as_ref().ok_or(SendError::NotConfigured { channel: "SMS", hint: "[sms_gateway] url" })?;
                // no status callback: a duty SMS has no alert to record it on
                let text = Sms { text: message.text.clone(), reference: message.key.clone(), callback: String::new() };
                sms.send(&message.to, &text).await
            }
        }
    }
}

/// `entry` after an attempt at `now` that ended with `error` (`None`: sent).
fn record(mut entry: Entry, error: Option<&SendError>, now: OffsetDateTime) -> Entry {
    entry.attempts += 1;
    entry.last_error = error.map(ToString::to_string);
    let (status, next) = outcome(entry.attempts, error, now);
    entry.status = status;
    entry.next_attempt = next.unwrap_or(entry.next_attempt);
    entry
}

/// Sends what is due, one message at a time, until an error of the outbox.
pub async fn run(mail: DutyMail) -> Result<(), Error> {
    loop {
        let now = mail.clock.now();
        let outbox = mail.outbox.clone();
        let (due, next) = tokio::task::spawn_blocking(move || outbox.due(now))
            .await
            .map_err(|e| Error::Task { task: "duty outbox", reason: e.to_string() })??;
        let sent_any = !due.is_empty();
        for entry in due {
            let result = mail.send(&entry.message).await;
            let entry = record(entry, result.as_ref().err(), mail.clock.now());
            let (key, to) = (&entry.message.key, &entry.message.to);
            match (&result, entry.status) {
                (Ok(_), _) => tracing::info!(key = %key, %to, unit = %entry.message.unit, "duty mail sent"),
                (Err(e), Status::Failed) => tracing::error!(key = %key, %to, error = %e, "duty mail failed for good"),
                (Err(e), _) => tracing::warn!(key = %key, %to, error = %e, "duty mail failed, will retry"),
            }
            let outbox = mail.outbox.clone();
            tokio::task::spawn_blocking(move || outbox.update(&entry))
                .await
                .map_err(|e| Error::Task { task: "duty outbox", reason: e.to_string() })??;
        }
        if sent_any {
            continue;
        }
        let wait = next.map_or(Duration::from_secs(60), |t| {
            Duration::try_from(t - mail.clock.now()).unwrap_or(Duration::ZERO).min(Duration::from_secs(60))
        });
        tokio::select! {
            () = mail.wake.notified() => {}
            () = tokio::time::sleep(wait.max(Duration::from_millis(50))) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(key: &str) -> Message {
        Message {
            key: key.into(),
            channel: DeliveryChannel::Email,
            to: "piket@palukota.go.id".into(),
            unit: "palu".into(),
            subject: "s".into(),
            text: "t".into(),
            html: None,
            file: Some(File::new("a.pdf", "application/pdf", b"%PDF-")),
        }
    }

    /// A message is queued once: again after a restart, or once sent, it is not.
    #[test]
    fn each_key_is_queued_once_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duty-outbox.redb");
        let now = OffsetDateTime::UNIX_EPOCH;
        let outbox = DutyOutbox::open(&path).unwrap();
        assert_eq!(outbox.enqueue(vec![message("a"), message("b"), message("a")], now).unwrap(), 2);
        let (due, _) = outbox.due(now).unwrap();
        let sent = record(due[0].clone(), None, now);
        outbox.update(&sent).unwrap();
        drop(outbox);
        let outbox = DutyOutbox::open(&path).unwrap();
        assert_eq!(outbox.enqueue(vec![message("a"), message("b")], now).unwrap(), 0);
        // known whether waiting or sent (a brief is not rendered again for them)
        assert!(outbox.has_all(&["a".into(), "b".into()]).unwrap());
        assert!(!outbox.has_all(&["a".into(), "c".into()]).unwrap());
        assert_eq!(outbox.due(now).unwrap().0.len(), 1);
        let entries = outbox.entries("").unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].status, Status::Sent);
        assert_eq!(hex::decode(&entries[1].message.file.as_ref().unwrap().hex).unwrap(), b"%PDF-");
        // a permanent failure ends it; a passing one is tried again later
        let refused = record(entries[0].clone(), Some(&SendError::SmtpRefused("550".into())), now);
        assert_eq!(refused.status, Status::Failed);
        let later = record(entries[0].clone(), Some(&SendError::Smtp("down".into())), now);
        assert_eq!(later.status, Status::Pending);
        assert!(later.next_attempt > now);
    }
}
