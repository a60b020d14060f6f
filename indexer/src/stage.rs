//! The indexer stage: `classified` in; the search index and ClickHouse out.
//!
//! Records are taken in batches (up to 1,000, or what arrives within 200 ms of
//! the first), so a report is searchable well within 2 seconds of its
//! classification. A batch is committed on the bus only after the tantivy
//! commit and the ClickHouse insert have both returned.

use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, Topic};
use model::{ClassifiedReport, Clock, wire};
use tantivy::IndexWriter;

use crate::clickhouse::ReportRow;
use crate::{Analytics, Error, SearchIndex};

/// Runs until the bus closes.
pub async fn run(
    bus: Bus,
    group: String,
    index: SearchIndex,
    analytics: Option<Analytics>,
    clock: Arc<dyn Clock>,
) -> Result<(), Error> {
    let mut writer: IndexWriter = index.writer()?;
    let mut sub = bus.subscribe(Topic::Classified, &group).await?;
    tracing::info!(group, clickhouse = analytics.is_some(), "indexer started");
    loop {
        let batch = sub.next_batch(1000, Duration::from_millis(200)).await?;
        let mut items = Vec::with_capacity(batch.len());
        for record in &batch {
            match wire::decode::<ClassifiedReport>(&record.payload) {
                Ok(item) => items.push(item),
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "unreadable classified record sent to deadletter");
                    let letter = serde_json::json!({
                        "v": wire::VERSION,
                        "topic": record.topic.name(),
                        "reason": e.to_string(),
                        "original": String::from_utf8_lossy(&record.payload),
                    });
                    bus.publish(Topic::Deadletter, "indexer", letter.to_string().as_bytes())
                        .await?;
                }
            }
        }
        let (w, items, result) = {
            let index = index.clone();
            tokio::task::spawn_blocking(move || {
                let result = items
                    .iter()
                    .try_for_each(|item| index.upsert(&writer, item))
                    .and_then(|()| writer.commit().map(|_| ()).map_err(Error::from))
                    .and_then(|()| index.reload());
                (writer, items, result)
            })
            .await
            .map_err(|e| Error::Other(format!("index task failed: {e}")))?
        };
        writer = w;
        result?;
        if let Some(analytics) = &analytics {
            let now = clock.now();
            let rows: Vec<ReportRow> = items.iter().map(|i| ReportRow::from_item(i, now)).collect();
            analytics.insert(&rows).await?;
        }
        metrics::counter!("kentongan_indexer_reports_total").increment(items.len() as u64);
        sub.commit_all(&batch).await?;
    }
}
