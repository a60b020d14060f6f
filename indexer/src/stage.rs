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
use std::time::Duration;

use bus::{Bus, Record, Subscription, Topic};
use model::{AlertEvent, ClassifiedReport, Clock, wire};
use tantivy::IndexWriter;

use crate::clickhouse::{AlertRow, ReportRow};
use crate::{Analytics, Error, SearchIndex};

/// The ClickHouse writers' consumer group.
pub const ANALYTICS_GROUP: &str = "indexer";
/// The consumer group that copies raised alerts to ClickHouse.
pub const ALERTS_GROUP: &str = "indexer-alerts";

/// Reads the next batch; records that cannot be read go to `deadletter`.
async fn next_batch(
    bus: &Bus,
    sub: &mut Subscription,
    source: &str,
) -> Result<(Vec<Record>, Vec<ClassifiedReport>), Error> {
    let batch = sub.next_batch(5000, Duration::from_millis(500)).await?;
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

/// Keeps the search index in `index` current, as consumer group `group`.
pub async fn run_index(bus: Bus, group: String, index: SearchIndex) -> Result<(), Error> {
    let mut writer: IndexWriter = index.writer()?;
    let mut sub = bus.subscribe(Topic::Classified, &group).await?;
    tracing::info!(group, "search indexer started");
    loop {
        let (batch, items) = next_batch(&bus, &mut sub, "indexer").await?;
        let index = index.clone();
        let (w, result) = tokio::task::spawn_blocking(move || {
            let result = items
                .iter()
                .try_for_each(|item| index.upsert(&writer, item))
                .and_then(|()| writer.commit().map(|_| ()).map_err(Error::from))
                .and_then(|()| index.reload());
            (writer, result)
        })
        .await
        .map_err(|e| Error::Other(format!("index task failed: {e}")))?;
        writer = w;
        result?;
        metrics::counter!("kentongan_indexer_indexed_total").increment(batch.len() as u64);
        sub.commit_all(&batch).await?;
    }
}

/// Writes every classified report to ClickHouse, as the shared group.
pub async fn run_analytics(bus: Bus, analytics: Analytics, clock: Arc<dyn Clock>) -> Result<(), Error> {
    let mut sub = bus.subscribe(Topic::Classified, ANALYTICS_GROUP).await?;
    tracing::info!("ClickHouse writer started");
    loop {
        let (batch, items) = next_batch(&bus, &mut sub, "indexer").await?;
        let now = clock.now();
        let rows: Vec<ReportRow> = items.iter().map(|i| ReportRow::from_item(i, now)).collect();
        analytics.insert(&rows).await?;
        metrics::counter!("kentongan_indexer_analytics_rows_total").increment(rows.len() as u64);
        sub.commit_all(&batch).await?;
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
