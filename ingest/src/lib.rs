//! Ingest: turns what a channel sends into a [`Report`] and hands it to the
//! bus. A report is accepted only once the bus has it durably.
//!
//! - [`submission`]: the body of `POST /api/v1/reports` and its checks;
//! - [`attachments`]: photos and documents, sniffed and stored;
//! - [`telegram`], [`whatsapp`], [`sms`]: the chat-bot and SMS webhooks;
//! - [`imap`]: a mailbox polled over IMAP; [`status`]: status by receipt number;
//! - [`feeds`]: RSS and Atom polling;
//! - [`store`]: idempotency keys, SMS parts and feed state on disk;
//! - [`keys`]: idempotency keys shared by the ingest nodes over Kafka.

pub mod attachments;
pub mod config;
pub mod feeds;
pub mod imap;
pub mod keys;
pub mod sms;
pub mod status;
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
use model::{Clock, Report, ReportId, Scope, wire};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::datetime;

pub use attachments::AttachmentStore;
pub use config::{
    AttachmentsConfig, EmailIntakeConfig, FeedConfig, IngestConfig, S3Config, SmsConfig, TelegramConfig, WhatsappConfig,
};
pub use store::Store;
pub use submission::Submission;

/// Why a report was not taken.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field is wrong; the message says how to fix it (HTTP 422), and
    /// `pesan` says it in Indonesian.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String, pesan: String },
    /// Too big or too many (HTTP 413).
    #[error("{0}")]
    TooLarge(String),
    /// A kind of content this intake does not take (HTTP 415).
    #[error("{message}")]
    Unsupported { message: String, pesan: String },
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

impl bus::Retryable for Error {
    /// The sender's own mistakes stay mistakes; a busy log, a full disk or a
    /// rate limit pass.
    fn retry(&self) -> bus::Retry {
        match self {
            Error::Invalid { .. } | Error::TooLarge(_) | Error::Unsupported { .. } | Error::Unauthenticated(_) => {
                bus::Retry::Never
            }
            Error::RateLimited { .. } | Error::Storage(_) => bus::Retry::Later,
            Error::Unavailable(e) => e.retry(),
        }
    }
}

/// The earliest time a report may say it happened.
pub const EARLIEST: OffsetDateTime = datetime!(2000-01-01 0:00 UTC);

/// The time a channel gives for a message, when it can be right: not before
/// [`EARLIEST`] and not after `now` (a phone's clock may run ahead). Else the
/// time it was received, `now`.
pub fn sent_time(given: Option<OffsetDateTime>, now: OffsetDateTime) -> OffsetDateTime {
    given.filter(|t| *t >= EARLIEST).map_or(now, |t| t.min(now))
}

/// Longest piece of a client's input quoted back in a message.
const QUOTED_CHARS: usize = 100;

/// `input` as a message may quote it: at most 100 characters (an answer
/// must not echo a large body back).
pub fn quote(input: &str) -> String {
    match input.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

/// Longest `source` a report keeps, in characters: a feed item's holds the
/// feed's name and the item's link. (The API takes at most
/// [`submission::MAX_ID_CHARS`] from a client.)
pub const MAX_SOURCE_CHARS: usize = 500;

/// Longest reporter name, contact, account, external id, and attachment
/// name, type and digest a report keeps, in characters.
pub const MAX_FIELD_CHARS: usize = submission::MAX_ID_CHARS;

/// Longest attachment location (a store key, or a chat service's file id).
const MAX_LOCATION_CHARS: usize = 1000;

/// `s` without control characters, except newlines and tabs: a carriage
/// return ends a line like a newline does.
pub fn plain(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter_map(|c| match c {
            '\r' => Some('\n'),
            '\n' | '\t' => Some(c),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// `s` as one trimmed line: control characters removed, and newlines and
/// tabs made spaces.
pub fn one_line(s: &str) -> String {
    let line: String = s
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    line.trim().to_owned()
}

/// Cuts `s` to `max` characters, the last of them an ellipsis; returns how
/// many characters it had when it was cut.
pub(crate) fn cut(s: &mut String, max: usize) -> Option<usize> {
    let (over, _) = s.char_indices().nth(max)?;
    let chars = max + s[over..].chars().count();
    let keep = s.char_indices().nth(max.saturating_sub(1)).map_or(0, |(i, _)| i);
    s.truncate(keep);
    s.push('…');
    Some(chars)
}

/// Makes `report` fit for the log, whichever channel it came by: control
/// characters out of every free-text field (newlines and tabs stay in the
/// text and title), and each field cut to its limit, the text to
/// `ingest.max_text_chars`, with a warning in the log. The API refuses its
/// own bodies over the limits before this (422); a webhook message or a
/// feed item is cut instead, so the report is still useful, and the cut
/// part is not kept anywhere (keeping it would store what the limit is
/// there to refuse). A text with nothing left is refused.
pub fn bound(report: &mut Report, max_text_chars: usize) -> Result<(), Error> {
    let mut cut_fields = Vec::new();
    let mut fit = |field: &'static str, value: &mut String, lines: bool, max: usize| {
        *value = if lines { plain(value).trim().to_owned() } else { one_line(value) };
        if let Some(chars) = cut(value, max) {
            cut_fields.push((field, chars, max));
        }
    };
    fit("text", &mut report.text, true, max_text_chars);
    if let Some(title) = report.title.as_mut() {
        fit("title", title, true, submission::MAX_TITLE_CHARS);
    }
    fit("source", &mut report.source, false, MAX_SOURCE_CHARS);
    for (field, value) in [("external_id", &mut report.external_id), ("language", &mut report.language)] {
        if let Some(v) = value.as_mut() {
            fit(field, v, false, MAX_FIELD_CHARS);
        }
    }
    if let Some(r) = report.reporter.as_mut() {
        for (field, value) in
            [("reporter.account", &mut r.account), ("reporter.name", &mut r.name), ("reporter.contact", &mut r.contact)]
        {
            if let Some(v) = value.as_mut() {
                fit(field, v, false, MAX_FIELD_CHARS);
            }
        }
    }
    for a in &mut report.attachments {
        fit("attachment.name", &mut a.name, false, MAX_FIELD_CHARS);
        fit("attachment.content_type", &mut a.content_type, false, MAX_FIELD_CHARS);
        fit("attachment.sha256", &mut a.sha256, false, MAX_FIELD_CHARS);
        fit("attachment.location", &mut a.location, false, MAX_LOCATION_CHARS);
    }
    for (field, chars, limit) in cut_fields {
        tracing::warn!(report = %report.id, channel = %report.channel, field, chars, limit, "a field over its limit was cut");
        metrics::counter!("kentongan_ingest_fields_cut_total", "channel" => report.channel.as_str(), "field" => field)
            .increment(1);
    }
    let empty = |v: &Option<String>| v.as_ref().is_some_and(String::is_empty);
    if empty(&report.title) {
        report.title = None;
    }
    if empty(&report.external_id) {
        report.external_id = None;
    }
    if empty(&report.language) {
        report.language = None;
    }
    if let Some(r) = report.reporter.as_mut() {
        for value in [&mut r.account, &mut r.name, &mut r.contact] {
            if empty(value) {
                *value = None;
            }
        }
    }
    if report.source.is_empty() {
        report.source = report.channel.as_str().to_owned();
    }
    if report.text.is_empty() {
        return Err(Error::Invalid {
            field: "text",
            message: "is empty: describe what happened".into(),
            pesan: "kosong: tuliskan apa yang terjadi".into(),
        });
    }
    Ok(())
}

/// Checks that a report from an account with `scope` lies inside it. A
/// report without a region is placed in the account's region when it has
/// just one; otherwise it stays without (a chat message names no region).
pub fn within_scope(report: &mut Report, scope: &Scope) -> Result<(), Error> {
    let Scope::Regions(regions) = scope else { return Ok(()) };
    match &report.region {
        Some(r) if scope.covers(Some(r)) => Ok(()),
        Some(r) => Err(Error::Invalid {
            field: "region",
            message: format!(
                "{r} is outside the regions of this account ({}): report only within them, or ask an admin to \
                 add the region to the account",
                region_list(regions)
            ),
            pesan: format!(
                "{r} di luar wilayah akun ini ({}): laporkan hanya di wilayah itu, atau minta admin menambahkan \
                 wilayahnya ke akun",
                region_list(regions)
            ),
        }),
        None => {
            if let [only] = regions.as_slice() {
                report.region = Some(only.clone());
            }
            Ok(())
        }
    }
}

/// The answer to a sender whose report lies outside their account's regions.
pub fn outside_reply(report: &Report, scope: &Scope) -> String {
    let region = report.region.as_ref().map_or_else(String::new, |r| format!(" {r}"));
    let own = match scope {
        Scope::All => String::new(),
        Scope::Regions(regions) => format!(" ({})", region_list(regions)),
    };
    format!("Laporan tidak diterima: wilayah{region} di luar wilayah tugas akun Anda{own}.")
}

fn region_list(regions: &[model::RegionCode]) -> String {
    regions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// What makes a submission a repeat: its key (which names the account or
/// the verified sender, so no one else can take it), and a digest of its
/// content, to tell a retry from a different report under a reused key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub digest: [u8; 32],
}

impl Idempotency {
    /// `key`, and the digest of `content` (each part counted with its length).
    pub fn of(key: String, content: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for part in content {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        Self { key, digest: h.finalize().into() }
    }
}

fn limiter(per_minute: u32) -> Option<Arc<DefaultKeyedRateLimiter<String>>> {
    let n = NonZeroU32::new(per_minute)?;
    Some(Arc::new(governor::RateLimiter::keyed(Quota::per_minute(n))))
}

/// The result of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub id: ReportId,
    /// The key was used before; this is the first report's id.
    pub replayed: bool,
    /// The key was used before for different content: not a retry.
    pub changed: bool,
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
    /// Over Kafka: the keys of every ingest node (see [`keys`]).
    shared_keys: Option<keys::SharedKeys>,
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
            clock,
            config,
            shared_keys: matches!(bus, Bus::Kafka(_)).then(|| keys::SharedKeys::new(bus.clone(), store.clone())),
            bus,
            store,
            attachments,
            // many, so that a key waiting for its first attempt (up to
            // `keys::TAKEOVER`) seldom holds up another
            key_locks: (0..4096).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// Names the node, for its idempotency keys over Kafka: its `node_name`,
    /// unique among the ingest nodes (see [`keys::KeyRecord::node`]).
    pub fn named(mut self, node_name: &str) -> Self {
        self.shared_keys = self.shared_keys.map(|k| k.named(node_name));
        self
    }

    /// Over Kafka, the keys this node must follow ([`keys::follow`]) for
    /// its idempotency keys to work.
    pub fn shared_keys(&self) -> Option<&keys::SharedKeys> {
        self.shared_keys.as_ref()
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

    /// Publishes `report` unless its key was seen before, in which case the
    /// first report's id is returned (and whether the content differed).
    /// Same-key submissions are serialised, so two retries racing each other
    /// still make one report.
    pub async fn accept_once(&self, key: Option<Idempotency>, report: Report) -> Result<Accepted, Error> {
        let Some(Idempotency { key, digest }) = key else {
            return self.accept(report).await.map(|id| Accepted { id, replayed: false, changed: false });
        };
        // refused before its key is claimed: a corrected body may use the key
        let report = self.admit(report)?;
        let slot = key.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.key_locks.len();
        let _guard = self.key_locks[slot].lock().await;
        if let Some(shared) = &self.shared_keys {
            return shared.accept_once(self, key, digest, report).await;
        }
        let store = self.store.clone();
        let k = key.clone();
        let (seen, pending) =
            tokio::task::spawn_blocking(move || Ok::<_, Error>((store.idempotent(&k)?, store.pending(&k)?)))
                .await
                .map_err(|e| Error::Storage(e.to_string()))??;
        if let Some((id, first)) = seen {
            // a key recorded before digests were kept counts as the same content
            let changed = first.is_some_and(|d| d != digest);
            return Ok(Accepted { id: ReportId(uuid_from(id)), replayed: true, changed });
        }
        let mut report = report;
        // the first attempt's report may be on the log already (the node
        // stopped before it remembered the key): the same report again
        let replayed = match pending {
            Some(first) if first.digest != digest => {
                return Ok(Accepted { id: ReportId(first.id), replayed: true, changed: true });
            }
            Some(first) => {
                (report.id, report.received_at, report.reported_at) =
                    (ReportId(first.id), first.received_at, first.reported_at);
                true
            }
            None => {
                let (store, k) = (self.store.clone(), key.clone());
                let pending = store::Pending {
                    id: report.id.0,
                    digest,
                    received_at: report.received_at,
                    reported_at: report.reported_at,
                };
                tokio::task::spawn_blocking(move || store.set_pending(&k, &pending))
                    .await
                    .map_err(|e| Error::Storage(e.to_string()))??;
                false
            }
        };
        let id = self.publish(report).await?;
        let store = self.store.clone();
        let remembered = tokio::task::spawn_blocking(move || store.remember(&key, id.0.as_u128(), digest)).await;
        if !matches!(remembered, Ok(Ok(()))) {
            // The report is durable; a retry publishes it again under its id.
            tracing::error!(report = %id, "could not record the idempotency key");
        }
        Ok(Accepted { id, replayed, changed: false })
    }

    /// Publishes a report, keyed by its province, once it is bounded (see
    /// [`bound`]): every channel's reports pass here on their way to the log.
    pub async fn accept(&self, report: Report) -> Result<ReportId, Error> {
        let report = self.admit(report)?;
        self.publish(report).await
    }

    /// Bounds `report` (see [`bound`]); a report refused here is counted as
    /// received and failed. One taken is counted as received when it is
    /// published ([`Intake::publish`]), so a retry that finds its key used
    /// counts nothing, and received = processed + failed.
    fn admit(&self, mut report: Report) -> Result<Report, Error> {
        let channel = report.channel.as_str();
        bound(&mut report, self.config.max_text_chars).inspect_err(|_| {
            metrics::counter!("kentongan_ingest_received_total", "channel" => channel).increment(1);
            metrics::counter!("kentongan_ingest_failed_total", "channel" => channel, "reason" => "invalid")
                .increment(1);
        })?;
        Ok(report)
    }

    /// Publishes a report that [`Intake::admit`] took.
    pub(crate) async fn publish(&self, report: Report) -> Result<ReportId, Error> {
        let channel = report.channel.as_str();
        metrics::counter!("kentongan_ingest_received_total", "channel" => channel).increment(1);
        self.bus.publish(Topic::Reports, &report.partition_key(), &wire::encode(&report)).await.inspect_err(|_| {
            metrics::counter!("kentongan_ingest_failed_total", "channel" => channel, "reason" => "bus").increment(1);
        })?;
        metrics::counter!("kentongan_ingest_processed_total", "channel" => channel).increment(1);
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
    model::reply::receipt(id)
}

#[cfg(test)]
mod tests {
    use model::RegionCode;
    use time::macros::datetime;

    use super::*;

    fn report(region: Option<&str>) -> Report {
        let mut r = sms::interpret("0812", "ada bentrok", EARLIEST, EARLIEST, None).unwrap();
        r.region = region.map(|c| RegionCode::parse(c).unwrap());
        r
    }

    fn scope(codes: &[&str]) -> Scope {
        Scope::Regions(codes.iter().map(|c| RegionCode::parse(c).unwrap()).collect())
    }

    #[test]
    fn a_report_lies_within_its_accounts_regions() {
        let mut inside = report(Some("72.71.02"));
        assert!(within_scope(&mut inside, &scope(&["72"])).is_ok());
        let mut outside = report(Some("73.71"));
        let e = within_scope(&mut outside, &scope(&["72"])).unwrap_err().to_string();
        assert!(e.starts_with("region: 73.71 is outside the regions of this account (72)"), "{e}");
        assert!(outside_reply(&outside, &scope(&["72"])).contains("73.71 di luar wilayah tugas akun Anda (72)"));
        assert!(within_scope(&mut outside, &Scope::All).is_ok());
        // no region: the account's own when it has one, else none
        let mut placed = report(None);
        within_scope(&mut placed, &scope(&["72.71"])).unwrap();
        assert_eq!(placed.region.unwrap().as_str(), "72.71");
        let mut unplaced = report(None);
        within_scope(&mut unplaced, &scope(&["72", "73"])).unwrap();
        assert_eq!(unplaced.region, None);
    }

    #[test]
    fn channel_times_before_2000_or_ahead_are_not_believed() {
        let now = datetime!(2026-11-29 10:00 UTC);
        assert_eq!(sent_time(Some(datetime!(1900-01-01 0:00 UTC)), now), now);
        assert_eq!(sent_time(Some(datetime!(2027-01-01 0:00 UTC)), now), now);
        assert_eq!(sent_time(Some(datetime!(2026-11-29 9:00 UTC)), now), datetime!(2026-11-29 9:00 UTC));
        assert_eq!(sent_time(None, now), now);
    }

    #[test]
    fn every_report_is_bounded_and_plain_before_the_log() {
        let mut r = report(None);
        r.text = format!("a\u{0}b\r\nc\td\u{1b}[31m{}", "é".repeat(30_000));
        r.title = Some(format!("judul\u{7}\n{}", "t".repeat(1_000)));
        r.source = "Polda\u{0}\n<script>".into();
        r.reporter = Some(model::Reporter {
            account: None,
            name: Some("n".repeat(100_000)),
            contact: Some("\u{0}\u{1}".into()),
        });
        bound(&mut r, 20_000).unwrap();
        assert_eq!(r.text.chars().count(), 20_000);
        assert!(r.text.starts_with("ab\nc\td[31mééé") && r.text.ends_with("é…"), "{}", &r.text[..20]);
        let title = r.title.as_deref().unwrap();
        assert!(title.starts_with("judul\n") && title.chars().count() == submission::MAX_TITLE_CHARS, "{title}");
        assert_eq!(r.source, "Polda <script>");
        let reporter = r.reporter.unwrap();
        assert_eq!(reporter.name.unwrap().chars().count(), MAX_FIELD_CHARS);
        assert_eq!(reporter.contact, None);
        // a text of control characters only is no report
        let mut empty = report(None);
        empty.text = "\u{0}\u{7} \r\n".into();
        assert!(matches!(bound(&mut empty, 20_000), Err(Error::Invalid { field: "text", .. })));
        // a report within the limits is kept as it is
        let mut fine = report(Some("72"));
        let before = fine.clone();
        bound(&mut fine, 20_000).unwrap();
        assert_eq!(fine, before);
    }

    #[test]
    fn long_input_is_quoted_short() {
        assert_eq!(quote("72.71"), "72.71");
        assert_eq!(quote(&"é".repeat(500)).chars().count(), 101);
    }
}
