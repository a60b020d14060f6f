//! Ingest: turns what a channel sends into a [`Report`] and hands it to the
//! bus. A report is accepted only once the bus has it durably.
//!
//! - [`submission`]: the body of `POST /api/v1/reports` and its checks;
//! - [`attachments`]: photos and documents, sniffed and stored;
//! - [`telegram`], [`whatsapp`], [`sms`]: the chat-bot and SMS webhooks;
//! - [`feeds`]: RSS and Atom polling;
//! - [`store`]: idempotency keys, SMS parts and feed state on disk.

pub mod attachments;
pub mod config;
pub mod feeds;
pub mod sms;
pub mod store;
pub mod submission;
pub mod telegram;
pub mod whatsapp;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, Topic};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use model::{Clock, Report, ReportId, wire};

pub use attachments::AttachmentStore;
pub use config::{AttachmentsConfig, FeedConfig, IngestConfig, S3Config, SmsConfig, TelegramConfig, WhatsappConfig};
pub use store::Store;
pub use submission::Submission;

/// Why a report was not taken.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field is wrong; the message says how to fix it (HTTP 422).
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// Too big or too many (HTTP 413).
    #[error("{0}")]
    TooLarge(String),
    /// A kind of content this intake does not take (HTTP 415).
    #[error("{message}")]
    Unsupported { message: String },
    /// Too many reports from one account or sender (HTTP 429).
    #[error("too many reports from {who}: wait {} s", retry_after.as_secs().max(1))]
    RateLimited { who: String, retry_after: Duration },
    /// The webhook's secret or signature is wrong (HTTP 401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The bus cannot take the report now; nothing was accepted (HTTP 503).
    #[error("reports cannot be accepted right now, try again shortly: {0}")]
    Unavailable(#[from] bus::Error),
    /// The intake's own files failed (HTTP 503: nothing was accepted).
    #[error("intake storage: {0}")]
    Storage(String),
}

fn limiter(per_minute: u32) -> Option<Arc<DefaultKeyedRateLimiter<String>>> {
    let n = NonZeroU32::new(per_minute)?;
    Some(Arc::new(governor::RateLimiter::keyed(Quota::per_minute(n))))
}

/// The result of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub id: ReportId,
    /// The same submission was accepted before; this is its first id.
    pub replayed: bool,
}

/// The intake: checks, idempotency, rate limits, and durable publication on
/// `reports`. Cheap to clone.
#[derive(Clone)]
pub struct Intake {
    bus: Bus,
    clock: Arc<dyn Clock>,
    config: IngestConfig,
    store: Store,
    attachments: AttachmentStore,
    per_account: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    per_source: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    /// Submissions with the same idempotency key wait for each other.
    key_locks: Arc<[tokio::sync::Mutex<()>]>,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake").field("config", &self.config).finish()
    }
}

impl Intake {
    pub fn new(
        bus: Bus,
        clock: Arc<dyn Clock>,
        config: IngestConfig,
        store: Store,
        attachments: AttachmentStore,
    ) -> Self {
        Self {
            per_account: limiter(config.rate_per_account),
            per_source: limiter(config.rate_per_source),
            bus,
            clock,
            config,
            store,
            attachments,
            key_locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    pub fn config(&self) -> &IngestConfig {
        &self.config
    }

    pub fn attachments(&self) -> &AttachmentStore {
        &self.attachments
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Refuses (429) an account that has submitted too much this minute.
    pub fn check_account(&self, account: &str) -> Result<(), Error> {
        check(self.per_account.as_deref(), account)
    }

    /// Refuses (429) a chat or SMS sender that has sent too much this minute.
    pub fn check_source(&self, source: &str) -> Result<(), Error> {
        check(self.per_source.as_deref(), source)
    }

    /// Publishes `report` unless `key` was seen before, in which case the
    /// first report's id is returned. Same-key submissions are serialised, so
    /// two retries racing each other still make one report.
    pub async fn accept_once(&self, key: Option<String>, report: Report) -> Result<Accepted, Error> {
        let Some(key) = key else {
            return self.accept(&report).await.map(|id| Accepted { id, replayed: false });
        };
        let slot = key.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.key_locks.len();
        let _guard = self.key_locks[slot].lock().await;
        let store = self.store.clone();
        let k = key.clone();
        let seen = tokio::task::spawn_blocking(move || store.idempotent(&k))
            .await
            .map_err(|e| Error::Storage(e.to_string()))??;
        if let Some(id) = seen {
            return Ok(Accepted { id: ReportId(uuid_from(id)), replayed: true });
        }
        let id = self.accept(&report).await?;
        let store = self.store.clone();
        let remembered = tokio::task::spawn_blocking(move || store.remember(&key, id.0.as_u128())).await;
        if !matches!(remembered, Ok(Ok(()))) {
            // The report is durable; only a retry of it could now be doubled.
            tracing::error!(report = %id, "could not record the idempotency key");
        }
        Ok(Accepted { id, replayed: false })
    }

    /// Publishes an already checked report, keyed by its province.
    pub async fn accept(&self, report: &Report) -> Result<ReportId, Error> {
        self.bus.publish(Topic::Reports, &report.partition_key(), &wire::encode(report)).await?;
        metrics::counter!("kentongan_ingest_reports_total", "channel" => report.channel.as_str()).increment(1);
        tracing::debug!(report = %report.id, channel = %report.channel, "report accepted");
        Ok(report.id)
    }

    /// Sends what a channel could not turn into a report to `deadletter`,
    /// with the reason, so nothing received is silently dropped.
    pub async fn deadletter(&self, source: &str, original: &[u8], reason: &str) -> Result<(), Error> {
        self.bus.deadletter(source, "ingest", original, reason).await?;
        Ok(())
    }
}

fn check(limiter: Option<&DefaultKeyedRateLimiter<String>>, who: &str) -> Result<(), Error> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(&who.to_owned()).map_err(|not_until| Error::RateLimited {
        who: who.to_owned(),
        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
    })
}

fn uuid_from(v: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(v)
}

/// A short receipt number for people: the last eight hex digits of the id.
pub fn receipt(id: ReportId) -> String {
    let s = id.0.simple().to_string().to_uppercase();
    format!("KTN-{}", &s[s.len() - 8..])
}
