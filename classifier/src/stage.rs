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
        let batch = sub.next_batch(256, Duration::from_millis(5)).await?;
        for record in &batch {
            handle(&bus, &classifier, &mut windows, clock.now(), record).await?;
        }
        sub.commit_all(&batch).await?;
    }
}

async fn handle(
    bus: &Bus,
    classifier: &Classifier,
    windows: &mut Windows,
    now: time::OffsetDateTime,
    record: &Record,
) -> Result<(), Error> {
    let report: Report = match wire::decode(&record.payload) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(offset = record.offset, error = %e, "unreadable report sent to deadletter");
            bus.deadletter("classifier", record.topic.name(), &record.payload, &e.to_string()).await?;
            return Ok(());
        }
    };
    let classification = classifier.classify(&report, now);
    let item = ClassifiedReport { report, classification };
    bus.publish(Topic::Classified, &record.key, &wire::encode(&item)).await?;
    metrics::counter!("kentongan_classifier_reports_total").increment(1);
    for hit in &item.classification.indicators {
        metrics::counter!("kentongan_classifier_indicator_total", "indicator" => hit.id.clone()).increment(1);
    }
    for alert in windows.observe(&item, now) {
        tracing::info!(alert = %alert.id, key = %alert.key, level = %alert.level, "alert raised");
        metrics::counter!("kentongan_classifier_alerts_total", "level" => alert.level.as_str()).increment(1);
        let key = alert.key.clone();
        bus.publish(Topic::Alerts, &key, &wire::encode(&AlertEvent::Raised { alert })).await?;
    }
    Ok(())
}
