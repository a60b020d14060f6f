//! The indexer: `classified` in; the search index and ClickHouse out.
//!
//! Two consumers, each committing only after its own output is durable:
//! - the search index is a full replica on every node that serves search,
//!   under the consumer group `search-v<schema>-<analysis>-<node_name>`;
//! - ClickHouse is written once for the whole cluster, under the shared group
//!   `indexer`, partitions spread over the indexer nodes.
//!
//! The search index takes records in batches (up to 5,000, or what arrives
//! within 500 ms of the first), so a report is searchable well within 2
//! seconds of its classification. ClickHouse takes bigger batches (up to
//! 20,000, or what arrives within a second), because it prefers fewer,
//! larger inserts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bus::{Bus, Record, Subscription, Topic};
use model::{AlertEvent, ClassifiedReport, Clock, wire};

use crate::clickhouse::{AlertRow, ReportRow};
use crate::{Analytics, Error, Retention, SearchIndex};

/// The ClickHouse writers' consumer group.
pub const ANALYTICS_GROUP: &str = "indexer";
/// The consumer group that copies raised alerts to ClickHouse.
pub const ALERTS_GROUP: &str = "indexer-alerts";
/// Records taken at once.
const BATCH: usize = 5000;
/// While a backlog is worked off, the search index commits this often.
const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// How long a loop waits for records before it looks at retention.
const IDLE: Duration = Duration::from_secs(30);
/// How often retention removes old reports.
const RETENTION_EVERY: Duration = Duration::from_secs(6 * 3600);
/// Records written to ClickHouse at once.
const ANALYTICS_BATCH: usize = 20_000;
/// While caught up, the ClickHouse writer seals the days that can no longer
/// change this often (`Analytics::seal`; with nothing to seal it still asks
/// about ten small questions and waits for the next second).
const SEAL_EVERY: Duration = Duration::from_secs(60);

/// Reads the next batch of up to `max` records, waiting at most `idle` for
/// the first and `linger` for the rest; records that cannot be read go to
/// `deadletter`.
async fn next_batch(
    bus: &Bus,
    sub: &mut Subscription,
    (max, linger, idle): (usize, Duration, Duration),
) -> Result<(Vec<Record>, Vec<ClassifiedReport>), Error> {
    let batch = sub.next_batch_within(max, linger, idle).await?;
    if batch.is_empty() {
        return Ok((batch, Vec::new()));
    }
    let records = batch.clone();
    let decoded = tokio::task::spawn_blocking(move || {
        records
            .iter()
            .map(|r| wire::decode::<ClassifiedReport>(&r.payload).map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::Task("decode", e.to_string()))?;
    let mut items = Vec::with_capacity(batch.len());
    for (record, item) in batch.iter().zip(decoded) {
        match item {
            Ok(item) => items.push(item),
            Err(e) => {
                tracing::warn!(offset = record.offset, error = %e, "unreadable classified record sent to deadletter");
                bus.deadletter("indexer", record.topic.name(), &record.payload, &e).await?;
            }
        }
    }
    Ok((batch, items))
}

/// Keeps the search index in `index` current, as consumer group `group`,
/// and removes what `retention` no longer keeps.
///
/// Documents are added as batches arrive; the index is committed (and the
/// batches' offsets after it) as soon as the stage has caught up, and at
/// least every second while a backlog is worked off, so a report is
/// searchable within about a second and a half of its classification and a
/// backlog is not slowed by a commit per batch.
pub async fn run_index(
    bus: Bus,
    group: String,
    index: SearchIndex,
    retention: Retention,
    clock: Arc<dyn Clock>,
) -> Result<(), Error> {
    let mut writer = Some(index.writer()?);
    let mut sub = bus.subscribe(Topic::Classified, &group).await?;
    tracing::info!(group, "search indexer started");
    let mut last_retention: Option<Instant> = None;
    let mut last_commit = Instant::now();
    let mut uncommitted: Vec<Record> = Vec::new();
    // the reports added since the last commit: (id, when it was received)
    let mut added: Vec<(model::ReportId, time::OffsetDateTime)> = Vec::new();
    loop {
        // with documents waiting for a commit, wait only briefly for more
        let idle = if uncommitted.is_empty() { IDLE } else { COMMIT_EVERY };
        let (batch, items) = next_batch(&bus, &mut sub, (BATCH, Duration::from_millis(500), idle)).await?;
        whole_replica(&sub, &group)?;
        metrics::counter!("kentongan_indexer_received_total", "store" => "search").increment(batch.len() as u64);
        added.extend(items.iter().map(|i| (i.report.id, i.report.received_at)));
        let now = clock.now();
        let prune = !retention.is_empty() && last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY);
        let caught_up = batch.len() < BATCH;
        uncommitted.extend(batch);
        let commit = !uncommitted.is_empty() && (caught_up || last_commit.elapsed() >= COMMIT_EVERY);
        if items.is_empty() && !commit && !prune {
            continue;
        }
        let (index2, retention2, mut w) = (index.clone(), retention.clone(), writer.take().expect("writer"));
        let (w, result, failed) = tokio::task::spawn_blocking(move || {
            // reports whose indexing panicked: (the record, the cause)
            let mut failed: Vec<(Vec<u8>, String)> = Vec::new();
            let result = (|| {
                for item in items.iter().filter(|i| retention2.keeps(i, now)) {
                    match bus::contain("indexer", || index2.upsert(&w, item)) {
                        Ok(done) => done?,
                        Err(cause) => failed.push((wire::encode(item), cause)),
                    }
                }
                if prune {
                    for (channel, before) in retention2.cutoffs(now) {
                        index2.delete_older(&w, channel, before)?;
                    }
                }
                if commit || prune {
                    w.commit()?;
                    index2.reload()?;
                }
                Ok::<_, Error>(())
            })();
            (w, result, failed)
        })
        .await
        .map_err(|e| Error::Task("index", e.to_string()))?;
        writer = Some(w);
        result?;
        metrics::counter!("kentongan_indexer_failed_total", "store" => "search").increment(failed.len() as u64);
        for (original, cause) in failed {
            bus.deadletter("indexer", Topic::Classified.name(), &original, &cause).await?;
        }
        if prune {
            tracing::info!(cutoffs = ?retention.cutoffs(now), "retention applied to the search index");
            last_retention = Some(Instant::now());
        }
        if commit || prune {
            sub.commit_all(&uncommitted).await?;
            metrics::counter!("kentongan_indexer_processed_total", "store" => "search")
                .increment(uncommitted.len() as u64);
            searchable(&added, "search", clock.now());
            uncommitted.clear();
            added.clear();
            last_commit = Instant::now();
        }
    }
}

/// Every search replica holds the whole log: its group must hold every
/// partition of `classified`. Two processes with one `node_name` share the
/// group, and each would hold only part of the reports without a word (seen
/// with two roles started on one host with the default name). Two moments
/// look alike and are not a split, so only a part held longer than they last
/// counts: a group holds nothing between giving its partitions up and getting
/// them back in a rebalance (the broker away longer than the session), and a
/// member that could not leave (this node's consumer before a restart of the
/// stage, with the broker gone) keeps its share until its session expires.
fn whole_replica(sub: &Subscription, group: &str) -> Result<(), Error> {
    let held = sub.assignment();
    let partial = held.generation > 0 && !held.partitions.is_empty() && held.partitions.len() < held.of;
    if partial && held.changed_at.elapsed() > split_after(held.settle) {
        return Err(Error::Config(format!(
            "this node's search replica (consumer group {group}) was given only partitions {:?} of the {} of \
             `classified`: another running node has the same node_name, and each would search only part of \
             the reports. Give every node its own node_name (or KENTONGAN_NODE_NAME)",
            held.partitions, held.of
        )));
    }
    Ok(())
}

/// How long a search replica's group may hold only part of `classified`
/// before that is taken for a second node with the same name: twice the
/// session, for a departed member to expire and the rebalance that follows,
/// and some seconds for a slow broker.
fn split_after(session: Duration) -> Duration {
    session * 2 + Duration::from_secs(10)
}

/// Writes every classified report to ClickHouse, as the shared group,
/// removes what `retention` no longer keeps, and seals the days that can no
/// longer change: when it starts, then each minute while it is caught up.
pub async fn run_analytics(
    bus: Bus,
    analytics: Analytics,
    retention: Retention,
    clock: Arc<dyn Clock>,
) -> Result<(), Error> {
    analytics.migrate().await?;
    // the first seal of a database with years of open days takes a while:
    // before the group is joined, so the consumer is not dropped from it
    // for not polling
    seal(&analytics).await;
    let mut sub = bus.subscribe(Topic::Classified, ANALYTICS_GROUP).await?;
    tracing::info!("ClickHouse writer started");
    let mut last_retention: Option<Instant> = None;
    let mut last_seal = Instant::now();
    loop {
        let (batch, items) = next_batch(&bus, &mut sub, (ANALYTICS_BATCH, Duration::from_secs(1), IDLE)).await?;
        metrics::counter!("kentongan_indexer_received_total", "store" => "clickhouse").increment(batch.len() as u64);
        let now = clock.now();
        let mut rows: Vec<ReportRow> = Vec::with_capacity(items.len());
        let mut made_from: Vec<&ClassifiedReport> = Vec::with_capacity(items.len());
        for item in items.iter().filter(|i| retention.keeps(i, now)) {
            match bus::contain("indexer", || ReportRow::from_item(item, now)) {
                Ok(row) => {
                    rows.push(row);
                    made_from.push(item);
                }
                Err(cause) => {
                    metrics::counter!("kentongan_indexer_failed_total", "store" => "clickhouse").increment(1);
                    bus.deadletter("indexer", Topic::Classified.name(), &wire::encode(item), &cause).await?;
                }
            }
        }
        let original = |i: usize| wire::encode(made_from[i]);
        let taken = insert_setting_aside(&bus, Topic::Classified, &rows, original, |r| analytics.insert(r)).await?;
        sub.commit_all(&batch).await?;
        metrics::counter!("kentongan_indexer_processed_total", "store" => "clickhouse").increment(taken as u64);
        let written: Vec<_> = made_from.iter().map(|i| (i.report.id, i.report.received_at)).collect();
        searchable(&written, "clickhouse", clock.now());
        if !retention.is_empty() && last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
            analytics.apply_retention(&retention.cutoffs(now)).await?;
            last_retention = Some(Instant::now());
        }
        if batch.len() < ANALYTICS_BATCH && last_seal.elapsed() >= SEAL_EVERY {
            seal(&analytics).await;
            last_seal = Instant::now();
        }
    }
}

/// Seals what can be sealed. A failure is logged and counted, not raised:
/// the open days' sets still answer exactly, and the writes go on.
async fn seal(analytics: &Analytics) {
    if let Err(e) = analytics.seal().await {
        tracing::warn!(error = %e, "sealing settled days failed; stats read their sets until a later seal");
        metrics::counter!("kentongan_indexer_seal_failures_total").increment(1);
    }
}

/// Records, for reports just made durable in `store`, the time from their
/// receipt, and logs each at debug level with its id.
fn searchable(reports: &[(model::ReportId, time::OffsetDateTime)], store: &'static str, now: time::OffsetDateTime) {
    let Some(newest) = reports.iter().map(|r| r.1).max() else { return };
    let latency = metrics::histogram!("kentongan_indexer_end_to_end_seconds", "store" => store);
    for (id, received_at) in reports {
        latency.record((now - *received_at).as_seconds_f64());
        tracing::debug!(report = %id, store, "report indexed");
    }
    metrics::gauge!("kentongan_indexer_lag_seconds", "store" => store).set((now - newest).as_seconds_f64());
}

/// Copies every raised alert to ClickHouse's `alerts` table, as the shared group.
pub async fn run_alert_analytics(bus: Bus, analytics: Analytics) -> Result<(), Error> {
    analytics.migrate().await?;
    let mut sub = bus.subscribe(Topic::Alerts, ALERTS_GROUP).await?;
    tracing::info!("ClickHouse alert writer started");
    loop {
        let batch = sub.next_batch(5000, Duration::from_millis(500)).await?;
        let (mut rows, mut originals) = (Vec::new(), Vec::new());
        for record in &batch {
            match wire::decode::<AlertEvent>(&record.payload) {
                Ok(AlertEvent::Raised { alert }) => match bus::contain("indexer", || AlertRow::from_alert(&alert)) {
                    Ok(row) => {
                        rows.push(row);
                        originals.push(record.payload.clone());
                    }
                    Err(cause) => bus.deadletter("indexer", record.topic.name(), &record.payload, &cause).await?,
                },
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "unreadable alert record sent to deadletter");
                    bus.deadletter("indexer", record.topic.name(), &record.payload, &e.to_string()).await?;
                }
            }
        }
        let original = |i: usize| originals[i].clone();
        insert_setting_aside(&bus, Topic::Alerts, &rows, original, |r| analytics.insert_alerts(r)).await?;
        sub.commit_all(&batch).await?;
    }
}

/// Inserts `rows` (row `i` made from the record `original(i)`, which is
/// only asked for when the row is refused) and returns how many
/// were taken. When ClickHouse refuses rows for good (a value it cannot
/// store, a constraint), the refused ones are found by halving the insert,
/// and their records go to `deadletter` with ClickHouse's reason: the rest
/// are written, and nothing is sent again forever. Any other failure (the
/// server down, too many parts) is returned, to be retried after a back-off.
async fn insert_setting_aside<'a, R, F, Fut>(
    bus: &Bus,
    topic: Topic,
    rows: &'a [R],
    original: impl Fn(usize) -> Vec<u8>,
    insert: F,
) -> Result<usize, Error>
where
    F: Fn(&'a [R]) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let mut pending: Vec<std::ops::Range<usize>> = Vec::new();
    pending.push(0..rows.len());
    let mut taken = 0;
    while let Some(range) = pending.pop() {
        if range.is_empty() {
            continue;
        }
        match insert(&rows[range.clone()]).await {
            Ok(()) => taken += range.len(),
            Err(e) if e.rejects_rows() && range.len() > 1 => {
                let middle = range.start + range.len() / 2;
                pending.push(middle..range.end);
                pending.push(range.start..middle);
            }
            Err(e) if e.rejects_rows() => {
                tracing::warn!(error = %e, "ClickHouse refused a row for good; its record goes to deadletter");
                metrics::counter!("kentongan_indexer_failed_total", "store" => "clickhouse").increment(1);
                bus.deadletter("indexer", topic.name(), &original(range.start), &e.to_string()).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(taken)
}
