//! News feeds: RSS and Atom polled at each feed's interval with conditional
//! GET (ETag, If-Modified-Since). Items are delivered once, by guid or link,
//! across restarts; their HTML is turned into text. A failing feed backs off
//! on its own and never holds up the others. An answer larger than the
//! feed's `max_size` is dropped as it streams in, never kept whole.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use model::{Channel, Report};
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{FeedConfig, Intake};

/// Longest wait between polls of a failing feed.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// What is kept per feed between polls and restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Saved {
    etag: Option<String>,
    last_modified: Option<String>,
}

/// How a feed is doing, for `GET /api/v1/feeds` and `/metrics`: nothing
/// in it may be secret (see [`FeedConfig::shown_url`]), and its error is in
/// words (the raw one is logged).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedStatus {
    pub name: String,
    pub url: String,
    /// The region its items are given; `None` for a national feed.
    pub region: Option<model::RegionCode>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_poll: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    /// Failures in a row; 0 when the last poll worked.
    pub failures: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_poll: Option<OffsetDateTime>,
    /// Items delivered as reports since this node started.
    pub delivered: u64,
}

/// The status of every feed this node polls.
#[derive(Debug, Clone, Default)]
pub struct FeedBoard {
    feeds: Arc<RwLock<BTreeMap<String, FeedStatus>>>,
}

impl FeedBoard {
    pub fn all(&self) -> Vec<FeedStatus> {
        self.feeds.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    fn update(&self, url: &str, f: impl FnOnce(&mut FeedStatus)) {
        if let Some(s) = self.feeds.write().unwrap_or_else(|e| e.into_inner()).get_mut(url) {
            f(s);
        }
    }
}

/// Polls every feed, each in its own task, forever.
pub fn spawn(intake: Intake, feeds: Vec<FeedConfig>, board: FeedBoard) -> Vec<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("kentongan/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(30))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot make an HTTP client: feeds are not polled");
            return Vec::new();
        }
    };
    feeds
        .into_iter()
        .map(|feed| {
            board.feeds.write().unwrap_or_else(|e| e.into_inner()).insert(
                feed.url.clone(),
                FeedStatus {
                    name: feed.label(),
                    url: feed.shown_url(),
                    region: feed.region.clone(),
                    last_poll: None,
                    last_success: None,
                    last_error: None,
                    failures: 0,
                    next_poll: Some(intake.now()),
                    delivered: 0,
                },
            );
            tokio::spawn(poll_forever(intake.clone(), client.clone(), feed, board.clone()))
        })
        .collect()
}

/// The waits after failures in a row: the interval doubled per failure, at
/// most six hours.
fn backoff(interval: Duration) -> backon::ExponentialBackoff {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(interval.saturating_mul(2))
        .with_max_delay(MAX_BACKOFF.max(interval))
        .without_max_times()
        .build()
}

async fn poll_forever(intake: Intake, client: reqwest::Client, feed: FeedConfig, board: FeedBoard) {
    let label = feed.label();
    let mut failures = 0u32;
    let mut delays = backoff(feed.interval);
    loop {
        let started = intake.now();
        let outcome = poll(&intake, &client, &feed).await;
        match &outcome {
            Ok(n) => {
                failures = 0;
                delays = backoff(feed.interval);
                metrics::counter!("kentongan_ingest_feed_polls_total", "feed" => label.clone(), "outcome" => "ok")
                    .increment(1);
                metrics::counter!("kentongan_ingest_feed_items_total", "feed" => label.clone()).increment(*n as u64);
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(feed = %label, failures, error = %e.shown, detail = %e.detail, "feed poll failed");
                metrics::counter!("kentongan_ingest_feed_polls_total", "feed" => label.clone(), "outcome" => "error")
                    .increment(1);
            }
        }
        metrics::gauge!("kentongan_ingest_feed_failures", "feed" => label.clone()).set(f64::from(failures));
        let wait = if failures == 0 { feed.interval } else { delays.next().unwrap_or(MAX_BACKOFF) };
        board.update(&feed.url, |s| {
            s.last_poll = Some(started);
            s.failures = failures;
            s.next_poll = Some(started + wait);
            match &outcome {
                Ok(n) => {
                    s.last_success = Some(started);
                    s.last_error = None;
                    s.delivered += *n as u64;
                }
                Err(e) => s.last_error = Some(e.shown.clone()),
            }
        });
        tokio::time::sleep(wait).await;
    }
}

/// Why a poll failed: `shown` in words, for the feed status; `detail`, the
/// raw error (which may name internal addresses), for the log only.
#[derive(Debug)]
struct Failure {
    shown: String,
    detail: String,
}

impl Failure {
    fn new(shown: impl Into<String>, detail: impl ToString) -> Self {
        Self { shown: shown.into(), detail: detail.to_string() }
    }

    /// A failure of this node's own storage or bus, not of the feed.
    fn here(detail: impl ToString) -> Self {
        Self::new("could not store the items on this node", detail)
    }

    fn fetch(e: reqwest::Error) -> Self {
        let shown = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else if e.is_redirect() {
            "too many redirects"
        } else if e.is_body() || e.is_decode() {
            "the answer broke off"
        } else {
            "could not fetch"
        };
        // the whole chain says why (the top says only "error sending
        // request"); without the URL, whose query may hold a key
        let e = e.without_url();
        let mut detail = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            detail = format!("{detail}: {c}");
            cause = c.source();
        }
        Self::new(shown, detail)
    }
}

/// The body of `response`, read as it streams in, or a failure as soon as
/// it is larger than `max` bytes (nothing larger is ever held).
async fn read_capped(mut response: reqwest::Response, max: bytesize::ByteSize) -> Result<Vec<u8>, Failure> {
    let too_large = || Failure::new(format!("too large: more than {max} (max_size)"), format!("larger than {max}"));
    if response.content_length().is_some_and(|n| n > max.as_u64()) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Failure::fetch)? {
        if (body.len() + chunk.len()) as u64 > max.as_u64() {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// One poll: fetch (conditionally), parse, and deliver the new items.
/// Returns how many were delivered.
async fn poll(intake: &Intake, client: &reqwest::Client, feed: &FeedConfig) -> Result<usize, Failure> {
    let store = intake.store().clone();
    let url = feed.url.clone();
    let saved: Saved = tokio::task::spawn_blocking(move || store.feed_state(&url))
        .await
        .map_err(Failure::here)?
        .map_err(Failure::here)?
        .unwrap_or_default();
    let mut request = client.get(&feed.url);
    if let Some(etag) = &saved.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(lm) = &saved.last_modified {
        request = request.header(IF_MODIFIED_SINCE, lm);
    }
    let response = request.send().await.map_err(Failure::fetch)?;
    if response.status() == StatusCode::NOT_MODIFIED {
        return Ok(0);
    }
    if !response.status().is_success() {
        let status = response.status();
        return Err(Failure::new(format!("HTTP {}", status.as_u16()), status));
    }
    let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let next = Saved { etag: header(ETAG), last_modified: header(LAST_MODIFIED) };
    let body = read_capped(response, feed.max_size).await?;
    let parsed = feed_rs::parser::parse(body.as_slice()).map_err(|e| Failure::new("not an RSS or Atom feed", e))?;
    drop(body);
    let mut delivered = 0;
    // oldest first, so the archive receives them in order
    let mut entries = parsed.entries;
    entries.sort_by_key(|e| e.published.or(e.updated));
    for entry in entries {
        let store = intake.store().clone();
        let (url, id) = (feed.url.clone(), entry.id.clone());
        let seen = tokio::task::spawn_blocking(move || store.seen(&url, &id))
            .await
            .map_err(Failure::here)?
            .map_err(Failure::here)?;
        if seen {
            continue;
        }
        let Some(report) = item_report(feed, &entry, intake.now()) else {
            let original = serde_json::json!({ "feed": feed.url, "id": entry.id }).to_string();
            intake
                .deadletter("feed", original.as_bytes(), "the item has neither title nor text")
                .await
                .map_err(Failure::here)?;
            continue;
        };
        intake.accept(report).await.map_err(Failure::here)?;
        let store = intake.store().clone();
        let (url, id, at) = (feed.url.clone(), entry.id.clone(), intake.now().unix_timestamp());
        tokio::task::spawn_blocking(move || store.mark_seen(&url, &id, at))
            .await
            .map_err(Failure::here)?
            .map_err(Failure::here)?;
        delivered += 1;
    }
    let store = intake.store().clone();
    let url = feed.url.clone();
    tokio::task::spawn_blocking(move || store.put_feed_state(&url, &next))
        .await
        .map_err(Failure::here)?
        .map_err(Failure::here)?;
    Ok(delivered)
}

/// HTML to plain text, with whitespace tidied and control characters removed.
pub fn clean(html: &str) -> String {
    let text = crate::plain(&nanohtml2text::html2text(html));
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// The report an entry of `feed` makes, or `None` when it has neither title
/// nor text.
pub fn item_report(feed: &FeedConfig, entry: &feed_rs::model::Entry, now: OffsetDateTime) -> Option<Report> {
    let title = entry.title.as_ref().map(|t| clean(&t.content)).filter(|t| !t.is_empty());
    let body = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .or(entry.summary.as_ref().map(|s| s.content.as_str()))
        .map(clean)
        .filter(|t| !t.is_empty());
    let text = body.or_else(|| title.clone())?;
    let given = entry.published.or(entry.updated).and_then(|t| OffsetDateTime::from_unix_timestamp(t.timestamp()).ok());
    let at = crate::sent_time(given, now);
    let link = entry.links.first().map(|l| l.href.clone());
    let source = link.map_or_else(|| feed.label(), |l| format!("{} {l}", feed.label()));
    Some(Report {
        reported_at: at,
        region: feed.region.clone(),
        title,
        external_id: Some(entry.id.clone()),
        ..Report::new(Channel::Feed, source, text, now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_six_hours() {
        let delays: Vec<Duration> = backoff(Duration::from_secs(600)).take(30).collect();
        assert_eq!(delays[0], Duration::from_secs(1200));
        assert_eq!(delays[2], Duration::from_secs(4800));
        assert_eq!(delays[29], MAX_BACKOFF);
    }

    #[test]
    fn html_becomes_text() {
        let t = clean("<p>Bentrok&nbsp;warga di <b>Palu</b>.</p>\n\n<script>alert(1)</script><p>Dua luka.</p>");
        assert!(t.contains("Bentrok") && t.contains("Palu") && t.contains("Dua luka"), "{t}");
        assert!(!t.contains('<') && !t.contains("alert"), "{t}");
        assert_eq!(clean("Bentrok\u{0}\u{1b}[2J di <b>Palu</b>"), "Bentrok[2J di Palu");
    }
}
