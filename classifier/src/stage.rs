//! The classifier stage: `reports` in; `classified` and `alerts` out.
//!
//! Each batch is classified with the rule set in force (see [`RuleBook`]),
//! its classifications and alerts are published, and its windows counted.
//! Records are committed only at checkpoints, right after the windows of the
//! provinces that changed are saved on the `windows` topic: after a crash the
//! stage resumes from its last commit with exactly the windows of that
//! moment, so no count is lost or doubled, and the alerts it raises again
//! carry the same ids (which the alerter sends once).
//!
//! Several copies share the partitions of `reports` over Kafka. When a
//! rebalance changes what this copy holds, it saves its windows and commits
//! what it still holds, forgets the provinces of the partitions it lost, and
//! reads the `windows` topic to its end to take the newest state of every
//! province, so a partition that moves here arrives with its windows. Each
//! province's state carries its position in `reports` (see
//! [`crate::thresholds`]), so a record counted before the move is not
//! counted again, whatever the group's committed offset.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bus::{Bus, Record, Subscription, Topic};
use model::{AlertEvent, ClassifiedReport, Clock, Report, wire};

use crate::thresholds::{Snapshot, Windows};
use crate::{Classifier, Error, RuleBook};

/// The consumer group of this stage.
pub const GROUP: &str = "classifier";
/// How often windows are saved and records committed while the stage keeps
/// up with its partitions.
const CHECKPOINT: Duration = Duration::from_secs(1);
/// How often while it is behind (its batches come full: a backlog after an
/// outage, a national import). Every province that changed is saved at each
/// checkpoint, and in a backlog nearly all of them change every second: at
/// one a second, the snapshots outweighed the reports (about 9 MB/s against
/// 3 MB/s in a national catch-up, BENCHMARKS.md). A crash then replays up to
/// this much of the backlog, which counts once (see [`crate::thresholds`]).
const CHECKPOINT_BEHIND: Duration = Duration::from_secs(10);
/// The most records a batch takes.
const BATCH: usize = 512;

/// Whether a checkpoint is due, `since` the last one, when the last batch
/// was `full`.
fn due(since: Duration, full: bool) -> bool {
    since >= if full { CHECKPOINT_BEHIND } else { CHECKPOINT }
}

/// Runs until the bus closes.
pub async fn run(bus: Bus, book: RuleBook, clock: Arc<dyn Clock>) -> Result<(), Error> {
    let mut classifier = book.classifier();
    let mut windows = Windows::new(classifier.rules().window_thresholds());
    restore(&bus, &mut windows).await?;
    let mut sub = bus.subscribe(Topic::Reports, GROUP).await?;
    tracing::info!(rules_version = %classifier.rules().version, "classifier started");
    // the newest processed record of each partition, not yet committed
    let mut pending: HashMap<i32, Record> = HashMap::new();
    let mut last_checkpoint = Instant::now();
    let mut held = sub.assignment();
    loop {
        // waits at most a checkpoint's time for a first record, and never
        // drops a batch part way through filling it
        let mut batch = sub.next_batch_within(BATCH, Duration::from_millis(5), CHECKPOINT).await?;
        let full = batch.len() == BATCH;
        let now_held = sub.assignment();
        if now_held != held {
            let lost: Vec<i32> = held.partitions.iter().filter(|p| !now_held.partitions.contains(p)).copied().collect();
            pending.retain(|p, _| now_held.partitions.contains(p));
            checkpoint(&bus, &mut sub, &mut windows, &mut pending).await?;
            let forgotten = windows.forget_partitions(&lost);
            let taken = restore(&bus, &mut windows).await?;
            tracing::info!(partitions = ?now_held.partitions, ?lost, forgotten, taken, "classifier partitions changed; windows handed over");
            metrics::counter!("kentongan_classifier_handovers_total").increment(1);
            held = now_held;
            last_checkpoint = Instant::now();
        }
        batch.retain(|r| held.partitions.contains(&r.partition));
        if !batch.is_empty() {
            metrics::counter!("kentongan_classifier_received_total").increment(batch.len() as u64);
            let current = book.classifier();
            if current.rules().version != classifier.rules().version {
                windows.set_thresholds(current.rules().window_thresholds());
                classifier = current;
            }
            windows = process(&bus, &classifier, windows, clock.now(), &batch, handle).await?;
            for record in batch {
                pending.insert(record.partition, record);
            }
            metrics::gauge!("kentongan_classifier_uncommitted_partitions").set(pending.len() as f64);
        }
        if !pending.is_empty() && due(last_checkpoint.elapsed(), full) {
            checkpoint(&bus, &mut sub, &mut windows, &mut pending).await?;
            last_checkpoint = Instant::now();
        }
    }
}

/// The largest window snapshot published: under Kafka's default limit of
/// 1 MB a message (librdkafka's `message.max.bytes`, a broker's own), with
/// room for the record's framing.
const SNAPSHOT_MAX: usize = 900_000;

/// Saves the windows of the parts that changed, then commits `pending`.
async fn checkpoint(
    bus: &Bus,
    sub: &mut Subscription,
    windows: &mut Windows,
    pending: &mut HashMap<i32, Record>,
) -> Result<(), Error> {
    let mut snapshots: Vec<(Topic, String, Vec<u8>)> = Vec::new();
    for snapshot in windows.snapshot() {
        let part = snapshot.part.clone();
        match snapshot.encode_within(SNAPSHOT_MAX) {
            Ok(bytes) => snapshots.push((Topic::Windows, part, bytes)),
            // counts alone this large would take a regency's districts busy in
            // every minute of a day-long window; the part is then not saved,
            // and a new owner of its partitions starts it from its last save:
            // the part's counts since then are lost (the offsets are committed)
            Err(size) => {
                metrics::counter!("kentongan_classifier_snapshots_unsaved_total").increment(1);
                tracing::error!(part, size, max = SNAPSHOT_MAX, "a part of the threshold windows is too large to save");
            }
        }
    }
    bus.publish_batch(&snapshots).await?;
    let done: Vec<Record> = pending.drain().map(|(_, r)| r).collect();
    sub.commit_all(&done).await?;
    metrics::counter!("kentongan_classifier_checkpoints_total").increment(1);
    metrics::gauge!("kentongan_classifier_uncommitted_partitions").set(0.0);
    Ok(())
}

/// Reads the `windows` topic to its end and takes every province's state
/// that is further along than the one held; returns how many it took.
async fn restore(bus: &Bus, windows: &mut Windows) -> Result<usize, Error> {
    let (saved, _) = bus.catch_up(Topic::Windows).await?;
    let mut taken = 0;
    for record in saved {
        match wire::decode::<Snapshot>(&record.payload) {
            Ok(s) => taken += usize::from(windows.restore_if_newer(s)),
            Err(e) => tracing::warn!(key = %record.key, error = %e, "ignoring unreadable window snapshot"),
        }
    }
    Ok(taken)
}

/// What the stage does with one report: [`handle`].
type Handler = fn(&Classifier, &mut Windows, time::OffsetDateTime, &Record, Report) -> Vec<(Topic, String, Vec<u8>)>;

/// Classifies a batch off the runtime threads with `handle`, publishes what
/// it makes, and hands the windows back. A report that cannot be read, or
/// whose handling panics, goes to `deadletter` with the reason.
async fn process(
    bus: &Bus,
    classifier: &Arc<Classifier>,
    windows: Windows,
    now: time::OffsetDateTime,
    batch: &[Record],
    handle: Handler,
) -> Result<Windows, Error> {
    let (classifier, records) = (classifier.clone(), batch.to_vec());
    let (windows, out, unreadable) = tokio::task::spawn_blocking(move || {
        let mut windows = windows;
        let mut out = Vec::with_capacity(records.len());
        let mut unreadable = Vec::new();
        for record in &records {
            match wire::decode::<Report>(&record.payload) {
                Ok(report) => {
                    // a panic part way through counting may leave a series
                    // short of this report; the windows' arithmetic saturates,
                    // so later reports count on from there
                    match bus::contain("classifier", || handle(&classifier, &mut windows, now, record, report)) {
                        Ok(made) => out.extend(made),
                        Err(cause) => unreadable.push((record.clone(), cause)),
                    }
                }
                Err(e) => unreadable.push((record.clone(), e.to_string())),
            }
        }
        (windows, out, unreadable)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))?;
    metrics::counter!("kentongan_classifier_failed_total").increment(unreadable.len() as u64);
    for (record, reason) in unreadable {
        tracing::warn!(offset = record.offset, error = %reason, "report sent to deadletter");
        bus.deadletter("classifier", record.topic.name(), &record.payload, &reason).await?;
    }
    bus.publish_batch(&out).await?;
    Ok(windows)
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
    metrics::counter!("kentongan_classifier_processed_total").increment(1);
    metrics::gauge!("kentongan_classifier_lag_seconds").set((now - item.report.received_at).as_seconds_f64());
    tracing::debug!(report = %item.report.id, indicators = item.classification.indicators.len(), "report classified");
    for hit in &item.classification.indicators {
        metrics::counter!("kentongan_classifier_indicator_total", "indicator" => hit.id.clone()).increment(1);
    }
    let mut out = vec![(Topic::Classified, record.key.clone(), wire::encode(&item))];
    for alert in windows.observe_at(&item, now, record.partition, record.offset) {
        tracing::info!(alert = %alert.id, key = %alert.key, level = %alert.level, report = %item.report.id, "alert raised");
        metrics::counter!("kentongan_classifier_alerts_total", "level" => alert.level.as_str()).increment(1);
        let key = alert.key.clone();
        out.push((Topic::Alerts, key, wire::encode(&AlertEvent::Raised { alert })));
    }
    out
}

#[cfg(test)]
mod tests {
    use bus::embedded::EmbeddedLog;
    use model::Channel;

    use super::*;

    fn report(text: &str) -> Vec<u8> {
        let now = time::OffsetDateTime::now_utc();
        wire::encode(&Report::new(Channel::Web, "t", text, now))
    }

    /// A stage that keeps up saves its windows every second; one working
    /// through a backlog (full batches) every ten.
    #[test]
    fn a_stage_behind_checkpoints_less_often() {
        let s = Duration::from_secs;
        assert!(!due(Duration::from_millis(999), false));
        assert!(due(s(1), false));
        assert!(!due(s(1), true));
        assert!(!due(s(9), true));
        assert!(due(s(10), true));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_report_that_panics_goes_to_deadletter_and_the_rest_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::Embedded(EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
        let records: Vec<(Topic, String, Vec<u8>)> = ["pesta sabu", "boom", "tawuran warga"]
            .iter()
            .map(|t| (Topic::Reports, "72".to_owned(), report(t)))
            .collect();
        bus.publish_batch(&records).await.unwrap();
        let (batch, _) = bus.catch_up(Topic::Reports).await.unwrap();
        assert_eq!(batch.len(), 3);
        let classifier = Arc::new(Classifier::new(crate::RuleSet::builtin()));
        let windows = Windows::new(classifier.rules().window_thresholds());
        // a bug that only one report trips
        let buggy: Handler = |c, w, now, record, report| {
            assert!(report.text != "boom", "tripped on {}", report.text);
            handle(c, w, now, record, report)
        };
        process(&bus, &classifier, windows, time::OffsetDateTime::now_utc(), &batch, buggy).await.unwrap();
        let (classified, _) = bus.catch_up(Topic::Classified).await.unwrap();
        assert_eq!(classified.len(), 2);
        let (dead, _) = bus.catch_up(Topic::Deadletter).await.unwrap();
        assert_eq!(dead.len(), 1);
        let letter: serde_json::Value = serde_json::from_slice(&dead[0].payload).unwrap();
        assert_eq!(letter["source"], "classifier");
        assert!(letter["reason"].as_str().unwrap().starts_with("panic: tripped on boom"), "{letter}");
        assert!(letter["original"].as_str().unwrap().contains("boom"), "{letter}");
    }
}
