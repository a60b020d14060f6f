//! The indexer: `classified` in; the search index and ClickHouse out.
//!
//! Two consumers, each committing only after its own output is durable:
//! - the search index is a full replica on every node that serves search,
//!   under the consumer group `search-<node_name>`;
//! - ClickHouse is written once for the whole cluster, under the shared group
//!   `indexer`, partitions spread over the indexer nodes.
//!
//! Records are taken in batches (up to 5,000, or what arrives within 500 ms of
//! the first), so a report is searchable well within 2 seconds of its
//! classification.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bus::{Bus, Record, Subscription, Topic};
use model::{AlertEvent, ClassifiedReport, Clock, wire};
use tantivy::IndexWriter;

use crate::clickhouse::{AlertRow, ReportRow};
use crate::{Analytics, Error, Retention, SearchIndex};

/// The ClickHouse writers' consumer group.
pub const ANALYTICS_GROUP: &str = "indexer";
/// The consumer group that copies raised alerts to ClickHouse.
pub const ALERTS_GROUP: &str = "indexer-alerts";
/// How long a loop waits for records before it looks at retention.
const IDLE: Duration = Duration::from_secs(30);
/// How often retention removes old reports.
const RETENTION_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Reads the next batch; records that cannot be read go to `deadletter`.
async fn next_batch(
    bus: &Bus,
    sub: &mut Subscription,
    source: &str,
) -> Result<(Vec<Record>, Vec<ClassifiedReport>), Error> {
    let batch = sub.next_batch_within(5000, Duration::from_millis(500), IDLE).await?;
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
    .map_err(|e| Error::Other(format!("decode task failed: {e}")))?;
    let mut items = Vec::with_capacity(batch.len());
    for (record, item) in batch.iter().zip(decoded) {
        match item {
            Ok(item) => items.push(item),
            Err(e) => {
                tracing::warn!(offset = record.offset, error = %e, "unreadable classified record sent to deadletter");
                bus.deadletter(source, record.topic.name(), &record.payload, &e).await?;
            }
        }
    }
    Ok((batch, items))
}

/// Keeps the search index in `index` current, as consumer group `group`,
/// and removes what `retention` no longer keeps.
pub async fn run_index(
    bus: Bus,
    group: String,
    index: SearchIndex,
    retention: Retention,
    clock: Arc<dyn Clock>,
) -> Result<(), Error> {
    let mut writer: IndexWriter = index.writer()?;
    let mut sub = bus.subscribe(Topic::Classified, &group).await?;
    tracing::info!(group, "search indexer started");
    let mut last_retention: Option<Instant> = None;
    loop {
        let (batch, items) = next_batch(&bus, &mut sub, "indexer").await?;
        let now = clock.now();
        let prune = !retention.is_empty() && last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY);
        if batch.is_empty() && !prune {
            continue;
        }
        let (index2, retention2) = (index.clone(), retention.clone());
        let (w, result) = tokio::task::spawn_blocking(move || {
            let result = (|| {
                for item in items.iter().filter(|i| retention2.keeps(i, now)) {
                    index2.upsert(&writer, item)?;
                }
                if prune {
                    for (channel, before) in retention2.cutoffs(now) {
                        index2.delete_older(&writer, channel, before)?;
                    }
                }
                writer.commit()?;
                index2.reload()
            })();
            (writer, result)
        })
        .await
        .map_err(|e| Error::Other(format!("index task failed: {e}")))?;
        writer = w;
        result?;
        if prune {
            tracing::info!(cutoffs = ?retention.cutoffs(now), "retention applied to the search index");
            last_retention = Some(Instant::now());
        }
        metrics::counter!("kentongan_indexer_indexed_total").increment(batch.len() as u64);
        sub.commit_all(&batch).await?;
    }
}

/// Writes every classified report to ClickHouse, as the shared group, and
/// removes what `retention` no longer keeps.
pub async fn run_analytics(
    bus: Bus,
    analytics: Analytics,
    retention: Retention,
    clock: Arc<dyn Clock>,
) -> Result<(), Error> {
    let mut sub = bus.subscribe(Topic::Classified, ANALYTICS_GROUP).await?;
    tracing::info!("ClickHouse writer started");
    let mut last_retention: Option<Instant> = None;
    loop {
        let (batch, items) = next_batch(&bus, &mut sub, "indexer").await?;
        let now = clock.now();
        let rows: Vec<ReportRow> =
            items.iter().filter(|i| retention.keeps(i, now)).map(|i| ReportRow::from_item(i, now)).collect();
        analytics.insert(&rows).await?;
        metrics::counter!("kentongan_indexer_analytics_rows_total").increment(rows.len() as u64);
        sub.commit_all(&batch).await?;
        if !retention.is_empty() && last_retention.is_none_or(|t| t.elapsed() >= RETENTION_EVERY) {
            analytics.apply_retention(&retention.cutoffs(now)).await?;
            last_retention = Some(Instant::now());
        }
    }
}

/// Copies every raised alert to ClickHouse's `alerts` table, as the shared group.
pub async fn run_alert_analytics(bus: Bus, analytics: Analytics) -> Result<(), Error> {
    let mut sub = bus.subscribe(Topic::Alerts, ALERTS_GROUP).await?;
    tracing::info!("ClickHouse alert writer started");
    loop {
        let batch = sub.next_batch(5000, Duration::from_millis(500)).await?;
        let mut rows = Vec::new();
        for record in &batch {
            match wire::decode::<AlertEvent>(&record.payload) {
                Ok(AlertEvent::Raised { alert }) => rows.push(AlertRow::from_alert(&alert)),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "unreadable alert record sent to deadletter");
                    bus.deadletter("indexer", record.topic.name(), &record.payload, &e.to_string()).await?;
                }
            }
        }
        analytics.insert_alerts(&rows).await?;
        sub.commit_all(&batch).await?;
    }
}
