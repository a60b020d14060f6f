//! `kentongan reindex`: the search index and the ClickHouse tables built
//! again from the log, which is their source of truth.
//!
//! Both rebuilds keep a checkpoint (the next offset of every partition) as
//! they go, so an interrupted rebuild resumes where it stopped:
//! - the search index is built in `index-v<N>.rebuild` beside the live one,
//!   with the checkpoint in each tantivy commit, and swapped in at the end;
//! - ClickHouse is emptied once, then filled in batches, with the checkpoint
//!   in `reindex-clickhouse-<database>.json` under `data_dir`, written after
//!   each batch is stored.
//!
//! Writes are idempotent by report id, so a batch written again after an
//! interruption changes nothing, and a node that resumes consuming after the
//! rebuild merely writes some reports again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bus::{Bus, Record, Subscription, Topic};
use model::{AlertEvent, ClassifiedReport, wire};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clickhouse::{AlertRow, ReportRow};
use crate::{Analytics, Error, Retention, SearchIndex, schema};

/// Records written between checkpoints.
const CHUNK: usize = 10_000;

/// Where a rebuild stands: the next offset to read in each partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub offsets: BTreeMap<i32, i64>,
}

impl Checkpoint {
    /// The records of `batch` not stored before, and moves past all of them.
    fn fresh<'a>(&mut self, batch: &'a [Record]) -> Vec<&'a Record> {
        let mut out = Vec::with_capacity(batch.len());
        for record in batch {
            let next = self.offsets.entry(record.partition).or_insert(0);
            if record.offset >= *next {
                *next = record.offset + 1;
                out.push(record);
            }
        }
        out
    }
}

/// How a rebuild ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything in the log was read; `written` reports stored this run.
    /// `holes`: partitions of a Kafka log taken as ended where the broker
    /// served nothing more though it counted more (topic, partition, offset,
    /// the broker's end), whose records after that offset are missing.
    Done { read: u64, written: u64, holes: Vec<(Topic, i32, i64, i64)> },
    /// Stopped early at `stop_after` (tests simulate an interruption).
    Stopped { read: u64 },
}

/// What the caller wants to hear while a rebuild runs: records read so far,
/// and how many there are when the bus can tell (the embedded log can).
pub trait Progress: Send + Sync {
    fn total(&self, total: Option<u64>);
    fn read(&self, read: u64);
}

/// Reads `topic` from the start to its present end, in batches.
struct Replay {
    sub: Subscription,
    topic: Topic,
    /// The embedded log's length when the rebuild began, for progress. The
    /// end itself is exact on both logs: [`Subscription::at_end`].
    end: Option<u64>,
    /// Where to stop early, if anywhere.
    stop_after: Option<u64>,
    read: u64,
}

impl Replay {
    async fn start(bus: &Bus, topic: Topic, progress: &dyn Progress, stop_after: Option<u64>) -> Result<Self, Error> {
        let end = bus.length(topic)?;
        progress.total(end);
        Ok(Self { sub: bus.replay(topic).await?, topic, end, stop_after, read: 0 })
    }

    /// The partitions taken as ended at a hole (see [`Outcome::Done`]).
    fn holes(&self) -> Vec<(Topic, i32, i64, i64)> {
        self.sub.holes_taken().iter().map(|&(p, at, end)| (self.topic, p, at, end)).collect()
    }

    /// Whether the rebuild is to stop here, before the end.
    fn stopped(&self) -> bool {
        self.stop_after.is_some_and(|n| self.read >= n)
    }

    /// The next batch; empty at the end.
    async fn next(&mut self) -> Result<Vec<Record>, Error> {
        let left = [self.end, self.stop_after].into_iter().flatten().min().map(|n| n.saturating_sub(self.read));
        let want = match left {
            Some(0) => return Ok(Vec::new()),
            Some(left) => usize::try_from(left).unwrap_or(usize::MAX).min(CHUNK),
            None => CHUNK,
        };
        let mut batch = Vec::new();
        while batch.len() < want && !self.sub.at_end() {
            if let Some(record) = self.sub.next_or_end().await? {
                batch.push(record);
            }
        }
        self.read += batch.len() as u64;
        Ok(batch)
    }
}

/// The live index folder, the one being built, and the folder a replaced
/// index is moved to before it is deleted.
fn folders(data_dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let live = data_dir.join(schema::folder());
    (live.clone(), live.with_extension("rebuild"), live.with_extension("old"))
}

/// Rebuilds the search index of `data_dir` from `classified`. The node that
/// uses `data_dir` must be stopped: the live index is replaced at the end.
pub async fn rebuild_search(
    bus: &Bus,
    data_dir: &Path,
    retention: &Retention,
    now: OffsetDateTime,
    progress: &dyn Progress,
    stop_after: Option<u64>,
) -> Result<Outcome, Error> {
    let (live, building, old) = folders(data_dir);
    ensure_unused(&live)?;
    let index = SearchIndex::open(&building)?;
    let mut checkpoint: Checkpoint = match index.tantivy().load_metas()?.payload {
        Some(payload) => serde_json::from_str(&payload)
            .map_err(|e| Error::Corrupt(format!("the checkpoint in {} is unreadable: {e}", building.display())))?,
        None => Checkpoint::default(),
    };
    if !checkpoint.offsets.is_empty() {
        tracing::info!(?checkpoint, "resuming the search index rebuild");
    }
    let mut writer = index.writer()?;
    let mut replay = Replay::start(bus, Topic::Classified, progress, stop_after).await?;
    let mut written = 0;
    loop {
        let batch = replay.next().await?;
        if batch.is_empty() {
            break;
        }
        let fresh: Vec<Record> = checkpoint.fresh(&batch).into_iter().cloned().collect();
        let payload = serde_json::to_string(&checkpoint).map_err(|e| Error::Task("checkpoint", e.to_string()))?;
        // decoding, analysing and committing are CPU and disk work: not on
        // the async threads
        let (index2, retention2) = (index.clone(), retention.clone());
        let (w, result) = tokio::task::spawn_blocking(move || {
            let result = (|| {
                let mut n = 0;
                for record in &fresh {
                    match wire::decode::<ClassifiedReport>(&record.payload) {
                        Ok(item) if retention2.keeps(&item, now) => {
                            index2.upsert(&writer, &item)?;
                            n += 1;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(offset = record.offset, error = %e, "skipping an unreadable classified record")
                        }
                    }
                }
                let mut prepared = writer.prepare_commit()?;
                prepared.set_payload(&payload);
                prepared.commit()?;
                Ok::<_, Error>(n)
            })();
            (writer, result)
        })
        .await
        .map_err(|e| Error::Task("index", e.to_string()))?;
        writer = w;
        written += result?;
        progress.read(replay.read);
        if replay.stopped() {
            return Ok(Outcome::Stopped { read: replay.read });
        }
    }
    let (read, retention) = (replay.read, retention.clone());
    tokio::task::spawn_blocking(move || finish(index, writer, &retention, now, read, [live, building, old]))
        .await
        .map_err(|e| Error::Task("index", e.to_string()))??;
    Ok(Outcome::Done { read: replay.read, written, holes: replay.holes() })
}

/// The end of a search rebuild, on a blocking thread: retention, the last
/// commit and merges, then the rebuilt index replaces the live one.
fn finish(
    index: SearchIndex,
    mut writer: tantivy::IndexWriter,
    retention: &Retention,
    now: OffsetDateTime,
    read: u64,
    [live, building, old]: [PathBuf; 3],
) -> Result<(), Error> {
    // retention applies to what was there before, too
    for (channel, before) in retention.cutoffs(now) {
        index.delete_older(&writer, channel, before)?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    drop(index);
    ensure_unused(&live)?;
    // nothing read, yet the live index has reports: the log was not reachable
    // as it should be, and an empty index must not replace a good one
    if read == 0 && live.join("meta.json").exists() {
        let reports = SearchIndex::open(&live)?.len();
        if reports > 0 {
            std::fs::remove_dir_all(&building).map_err(|e| Error::io("cannot remove", &building, e))?;
            return Err(Error::Invalid(format!(
                "read nothing from the log, while the search index in {} holds {reports} reports: not replaced",
                live.display()
            )));
        }
    }
    let move_to = |from: &Path, to: &Path| {
        std::fs::rename(from, to).map_err(|e| Error::io(format_args!("cannot move {} to", from.display()), to, e))
    };
    if live.exists() {
        move_to(&live, &old)?;
    }
    move_to(&building, &live)?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io("cannot remove", &old, e))?;
    }
    Ok(())
}

/// Fails with [`Error::Invalid`] when a running node holds the search index
/// of `data_dir`.
pub fn check_unused(data_dir: &Path) -> Result<(), Error> {
    ensure_unused(&folders(data_dir).0)
}

/// Fails when a running node holds the index in `dir`.
fn ensure_unused(dir: &Path) -> Result<(), Error> {
    if !dir.join("meta.json").exists() {
        return Ok(());
    }
    match SearchIndex::open(dir)?.writer() {
        Ok(_) => Ok(()),
        Err(Error::Index(tantivy::TantivyError::LockFailure(..))) => Err(Error::Invalid(format!(
            "the search index in {} is in use: stop `kentongan run` on this data_dir first",
            dir.display()
        ))),
        Err(e) => Err(e),
    }
}

/// The ClickHouse checkpoint file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ClickHouseCheckpoint {
    /// The tables were emptied; set before anything is written.
    truncated: bool,
    reports: Checkpoint,
    alerts: Checkpoint,
}

/// Rebuilds ClickHouse's reports, daily counts and alerts from the log. It
/// may run while the pipeline runs: what the live writer adds meanwhile is
/// written again at most, never counted twice.
pub async fn rebuild_clickhouse(
    bus: &Bus,
    analytics: &Analytics,
    data_dir: &Path,
    retention: &Retention,
    now: OffsetDateTime,
    progress: &dyn Progress,
    stop_after: Option<u64>,
) -> Result<Outcome, Error> {
    let path = data_dir.join(format!("reindex-clickhouse-{}.json", analytics.database()));
    let mut checkpoint: ClickHouseCheckpoint = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::Corrupt(format!("{} is unreadable ({e}); delete it to start over", path.display())))?,
        Err(_) => ClickHouseCheckpoint::default(),
    };
    let save = |c: &ClickHouseCheckpoint| -> Result<(), Error> {
        let bytes = serde_json::to_vec(c).map_err(|e| Error::Task("checkpoint", e.to_string()))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::io("cannot write", &path, e))
    };
    let mut written = 0;
    let mut replay = Replay::start(bus, Topic::Classified, progress, stop_after).await?;
    // the first records are read before anything is emptied: a log that
    // gives nothing must not leave ClickHouse empty
    let mut batch = replay.next().await?;
    if !checkpoint.truncated {
        let reports = analytics.count().await?;
        if batch.is_empty() && reports > 0 {
            return Err(Error::Invalid(format!(
                "read nothing from the log, while ClickHouse holds {reports} reports: not emptied"
            )));
        }
        analytics.truncate().await?;
        checkpoint.truncated = true;
        save(&checkpoint)?;
    } else {
        tracing::info!(path = %path.display(), "resuming the ClickHouse rebuild");
    }
    while !batch.is_empty() {
        let mut rows = Vec::with_capacity(batch.len());
        for record in checkpoint.reports.fresh(&batch) {
            match wire::decode::<ClassifiedReport>(&record.payload) {
                Ok(item) if retention.keeps(&item, now) => rows.push(ReportRow::from_item(&item, now)),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "skipping an unreadable classified record")
                }
            }
        }
        analytics.insert(&rows).await?;
        written += rows.len() as u64;
        save(&checkpoint)?;
        progress.read(replay.read);
        if replay.stopped() {
            return Ok(Outcome::Stopped { read: replay.read });
        }
        batch = replay.next().await?;
    }
    let read = replay.read;
    let mut alerts = Replay::start(bus, Topic::Alerts, &Silent, None).await?;
    loop {
        let batch = alerts.next().await?;
        if batch.is_empty() {
            break;
        }
        let mut rows = Vec::new();
        for record in checkpoint.alerts.fresh(&batch) {
            if let Ok(AlertEvent::Raised { alert }) = wire::decode::<AlertEvent>(&record.payload) {
                rows.push(AlertRow::from_alert(&alert));
            }
        }
        analytics.insert_alerts(&rows).await?;
        save(&checkpoint)?;
    }
    std::fs::remove_file(&path).map_err(|e| Error::io("cannot remove", &path, e))?;
    Ok(Outcome::Done { read, written, holes: [replay.holes(), alerts.holes()].concat() })
}

/// Progress nobody watches.
pub struct Silent;

impl Progress for Silent {
    fn total(&self, _: Option<u64>) {}
    fn read(&self, _: u64) {}
}
