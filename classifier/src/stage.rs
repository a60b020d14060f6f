//! The classifier stage: `reports` in; `classified` and `alerts` out.

use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, Record, Topic};
use model::{AlertEvent, ClassifiedReport, Clock, Report, wire};

use crate::thresholds::Windows;
use crate::{Classifier, Error};

/// The consumer group of this stage.
pub const GROUP: &str = "classifier";

/// Runs until the bus closes. Each report is classified, its classification
/// and any alerts it raises are published, and only then is it committed.
pub async fn run(bus: Bus, classifier: Arc<Classifier>, clock: Arc<dyn Clock>) -> Result<(), Error> {
    let mut windows = Windows::new(classifier.rules().thresholds.clone());
    let mut sub = bus.subscribe(Topic::Reports, GROUP).await?;
    tracing::info!(rules_version = %classifier.rules().version, "classifier started");
    loop {
        let batch = sub.next_batch(512, Duration::from_millis(5)).await?;
        let now = clock.now();
        // Decoding and classifying a batch is CPU work: keep it off the
        // runtime threads that answer HTTP.
        let work = {
            let (classifier, batch) = (classifier.clone(), batch.clone());
            let mut w = std::mem::take(&mut windows);
            tokio::task::spawn_blocking(move || {
                let mut out = Vec::with_capacity(batch.len());
                let mut unreadable = Vec::new();
                for record in &batch {
                    match wire::decode::<Report>(&record.payload) {
                        Ok(report) => out.extend(handle(&classifier, &mut w, now, record, report)),
                        Err(e) => unreadable.push((record.clone(), e.to_string())),
                    }
                }
                (w, out, unreadable)
            })
        };
        let (w, out, unreadable) = work.await.map_err(|e| Error::Task(e.to_string()))?;
        windows = w;
        for (record, reason) in unreadable {
            tracing::warn!(offset = record.offset, error = %reason, "unreadable report sent to deadletter");
            bus.deadletter("classifier", record.topic.name(), &record.payload, &reason).await?;
        }
        bus.publish_batch(&out).await?;
        sub.commit_all(&batch).await?;
    }
}

/// Classifies one report: its `classified` record, and any alerts it raises.
fn handle(
    classifier: &Classifier,
    windows: &mut Windows,
    now: time::OffsetDateTime,
    record: &Record,
    report: Report,
) -> Vec<(Topic, String, Vec<u8>)> {
    let classification = classifier.classify(&report, now);
    let item = ClassifiedReport { report, classification };
    metrics::counter!("kentongan_classifier_reports_total").increment(1);
    for hit in &item.classification.indicators {
        metrics::counter!("kentongan_classifier_indicator_total", "indicator" => hit.id.clone()).increment(1);
    }
    let mut out = vec![(Topic::Classified, record.key.clone(), wire::encode(&item))];
    for alert in windows.observe(&item, now) {
        tracing::info!(alert = %alert.id, key = %alert.key, level = %alert.level, "alert raised");
        metrics::counter!("kentongan_classifier_alerts_total", "level" => alert.level.as_str()).increment(1);
        let key = alert.key.clone();
        out.push((Topic::Alerts, key, wire::encode(&AlertEvent::Raised { alert })));
    }
    out
}
