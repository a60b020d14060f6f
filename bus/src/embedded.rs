//! The embedded log: every topic is a table in one redb database.
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions whose
//! commits are durable (fsync) when `commit` returns, so a crash or `kill -9`
//! keeps every acknowledged record. One writer thread appends: concurrent
//! publishes are grouped into one transaction, so a burst costs one fsync.
//!
//! A topic table maps offset (u64, from 0) to `(timestamp_ms, key, payload)`.
//! Committed positions live in the `offsets` table under `group/topic`.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{oneshot, watch};

use crate::{Error, Record, Result, Topic};

const OFFSETS: TableDefinition<&str, u64> = TableDefinition::new("offsets");

fn table(topic: Topic) -> TableDefinition<'static, u64, (u64, &'static str, &'static [u8])> {
    let name = match topic {
        Topic::Reports => "topic.reports",
        Topic::Classified => "topic.classified",
        Topic::Alerts => "topic.alerts",
        Topic::Rules => "topic.rules",
        Topic::Units => "topic.units",
        Topic::Accounts => "topic.accounts",
        Topic::Templates => "topic.templates",
        Topic::Deadletter => "topic.deadletter",
        Topic::Audit => "topic.audit",
        Topic::Windows => "topic.windows",
        Topic::Silences => "topic.silences",
    };
    TableDefinition::new(name)
}

enum Op {
    Append { topic: Topic, key: String, payload: Vec<u8>, done: oneshot::Sender<Result<u64>> },
    Commit { position: String, next: u64, done: oneshot::Sender<Result<u64>> },
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    /// `None` only while dropping.
    ops: Option<mpsc::Sender<Op>>,
    writer: Option<std::thread::JoinHandle<()>>,
    changes: HashMap<Topic, watch::Sender<u64>>,
}

impl Inner {
    fn send(&self, op: Op) -> Result<()> {
        self.ops.as_ref().ok_or(Error::Closed)?.send(op).map_err(|_| Error::Closed)
    }
}

impl Drop for Inner {
    /// Stops the writer and waits for it, so the database is closed (and its
    /// lock released) when the last handle goes.
    fn drop(&mut self) {
        self.ops.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The embedded durable log. Cheap to clone; every clone shares one database.
#[derive(Clone)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
}

impl EmbeddedLog {
    /// Opens (or creates) the log at `path`, for example `data/bus.redb`.
    pub fn open(path: &Path) -> Result<Self> {
        let storage =
            |e: &dyn std::fmt::Display| Error::Storage { path: path.display().to_string(), reason: e.to_string() };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| storage(&e))?;
        }
        let db = Arc::new(Database::create(path).map_err(|e| {
            match e {
                redb::DatabaseError::DatabaseAlreadyOpen => Error::Storage {
                    path: path.display().to_string(),
                    reason: "another kentongan process is using this data_dir; stop it first, or use the HTTP API \
                         of the running one"
                        .into(),
                },
                e => storage(&e),
            }
        })?);
        // Create every table up front, so readers never race their creation.
        let txn = db.begin_write().map_err(|e| storage(&e))?;
        for topic in Topic::ALL {
            txn.open_table(table(topic)).map_err(|e| storage(&e))?;
        }
        txn.open_table(OFFSETS).map_err(|e| storage(&e))?;
        txn.commit().map_err(|e| storage(&e))?;

        let changes: HashMap<Topic, watch::Sender<u64>> =
            Topic::ALL.into_iter().map(|t| (t, watch::channel(0).0)).collect();
        let (ops, rx) = mpsc::channel();
        let writer_db = db.clone();
        let writer_changes = changes.clone();
        let writer_path = path.display().to_string();
        let writer = std::thread::Builder::new()
            .name("embedded-log-writer".into())
            .spawn(move || write_loop(&writer_db, &writer_path, &rx, &writer_changes))
            .map_err(|e| storage(&e))?;
        let inner = Inner { db, path: path.to_owned(), ops: Some(ops), writer: Some(writer), changes };
        Ok(Self { inner: Arc::new(inner) })
    }

    pub(crate) async fn publish(&self, topic: Topic, key: &str, payload: &[u8]) -> Result<()> {
        let (done, rx) = oneshot::channel();
        let op = Op::Append { topic, key: key.to_owned(), payload: payload.to_vec(), done };
        self.inner.send(op)?;
        rx.await.map_err(|_| Error::Closed)?.map(|_| ())
    }

    pub(crate) async fn publish_batch(&self, records: &[(Topic, String, Vec<u8>)]) -> Result<()> {
        let mut waiting = Vec::with_capacity(records.len());
        for (topic, key, payload) in records {
            let (done, rx) = oneshot::channel();
            self.inner.send(Op::Append { topic: *topic, key: key.clone(), payload: payload.clone(), done })?;
            waiting.push(rx);
        }
        for rx in waiting {
            rx.await.map_err(|_| Error::Closed)??;
        }
        Ok(())
    }

    pub(crate) fn subscribe(&self, topic: Topic, group: Option<&str>) -> Result<EmbeddedSubscription> {
        let position = group.map(|g| format!("{g}/{}", topic.name()));
        let next = match &position {
            Some(p) => self.committed(p)?,
            None => 0,
        };
        Ok(EmbeddedSubscription {
            log: self.clone(),
            topic,
            position,
            next,
            buffer: VecDeque::new(),
            changes: self.inner.changes[&topic].subscribe(),
        })
    }

    pub(crate) fn ready(&self) -> Result<()> {
        Ok(())
    }

    fn storage(&self, e: impl std::fmt::Display) -> Error {
        Error::Storage { path: self.inner.path.display().to_string(), reason: e.to_string() }
    }

    fn committed(&self, position: &str) -> Result<u64> {
        let txn = self.inner.db.begin_read().map_err(|e| self.storage(e))?;
        let offsets = txn.open_table(OFFSETS).map_err(|e| self.storage(e))?;
        Ok(offsets.get(position).map_err(|e| self.storage(e))?.map_or(0, |v| v.value()))
    }

    /// Reads up to `max` records of `topic` from offset `from`.
    fn read(&self, topic: Topic, from: u64, max: usize) -> Result<Vec<Record>> {
        let txn = self.inner.db.begin_read().map_err(|e| self.storage(e))?;
        let t = txn.open_table(table(topic)).map_err(|e| self.storage(e))?;
        let mut out = Vec::new();
        for row in t.range(from..).map_err(|e| self.storage(e))?.take(max) {
            let (offset, value) = row.map_err(|e| self.storage(e))?;
            let (_at, key, payload) = value.value();
            out.push(Record {
                topic,
                partition: 0,
                offset: i64::try_from(offset.value()).unwrap_or(i64::MAX),
                key: key.to_owned(),
                payload: payload.to_vec(),
            });
        }
        Ok(out)
    }

    /// The number of records ever appended to `topic`.
    pub fn len(&self, topic: Topic) -> Result<u64> {
        let txn = self.inner.db.begin_read().map_err(|e| self.storage(e))?;
        let t = txn.open_table(table(topic)).map_err(|e| self.storage(e))?;
        Ok(t.last().map_err(|e| self.storage(e))?.map_or(0, |(k, _)| k.value() + 1))
    }
}

fn write_loop(db: &Database, path: &str, rx: &mpsc::Receiver<Op>, changes: &HashMap<Topic, watch::Sender<u64>>) {
    while let Ok(first) = rx.recv() {
        let mut ops = vec![first];
        while ops.len() < 4096 {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let applied = apply(db, &ops);
        let took = started.elapsed();
        metrics::histogram!("kentongan_bus_embedded_commit_seconds").record(took.as_secs_f64());
        if took > std::time::Duration::from_millis(100) {
            tracing::warn!(path, ops = ops.len(), ms = took.as_millis() as u64, "slow embedded log commit");
        }
        match applied {
            Ok(results) => {
                let mut touched = Vec::new();
                for (op, result) in ops.into_iter().zip(results) {
                    match op {
                        Op::Append { topic, done, .. } => {
                            touched.push(topic);
                            let _ = done.send(Ok(result));
                        }
                        Op::Commit { done, .. } => {
                            let _ = done.send(Ok(result));
                        }
                    }
                }
                touched.sort();
                touched.dedup();
                for topic in touched {
                    changes[&topic].send_modify(|v| *v += 1);
                }
            }
            Err(e) => {
                tracing::error!(path, error = %e, "embedded log write failed");
                for op in ops {
                    let err = Error::Storage { path: path.to_owned(), reason: e.to_string() };
                    match op {
                        Op::Append { done, .. } | Op::Commit { done, .. } => {
                            let _ = done.send(Err(err));
                        }
                    }
                }
            }
        }
    }
}

/// Applies a group of operations in one durable transaction; returns each
/// append's offset (or each commit's position).
fn apply(db: &Database, ops: &[Op]) -> Result<Vec<u64>, redb::Error> {
    let txn = db.begin_write()?;
    let mut results = Vec::with_capacity(ops.len());
    {
        let mut next: HashMap<Topic, u64> = HashMap::new();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        for op in ops {
            match op {
                Op::Append { topic, key, payload, .. } => {
                    let mut t = txn.open_table(table(*topic))?;
                    let offset = match next.get(topic) {
                        Some(n) => *n,
                        None => t.last()?.map_or(0, |(k, _)| k.value() + 1),
                    };
                    t.insert(offset, (now, key.as_str(), payload.as_slice()))?;
                    next.insert(*topic, offset + 1);
                    results.push(offset);
                }
                Op::Commit { position, next: n, .. } => {
                    let mut offsets = txn.open_table(OFFSETS)?;
                    let current = offsets.get(position.as_str())?.map_or(0, |v| v.value());
                    offsets.insert(position.as_str(), (*n).max(current))?;
                    results.push(*n);
                }
            }
        }
    }
    txn.commit()?;
    Ok(results)
}

/// A reader of one topic of the embedded log.
pub struct EmbeddedSubscription {
    log: EmbeddedLog,
    topic: Topic,
    /// `group/topic` for a group's subscription, `None` for a replay.
    position: Option<String>,
    next: u64,
    buffer: VecDeque<Record>,
    changes: watch::Receiver<u64>,
}

impl EmbeddedSubscription {
    pub(crate) async fn next(&mut self) -> Result<Record> {
        loop {
            if let Some(record) = self.buffer.pop_front() {
                return Ok(record);
            }
            self.changes.borrow_and_update();
            let (log, topic, from) = (self.log.clone(), self.topic, self.next);
            let batch =
                tokio::task::spawn_blocking(move || log.read(topic, from, 512)).await.map_err(|_| Error::Closed)??;
            if let Some(last) = batch.last() {
                self.next = last.offset as u64 + 1;
                self.buffer.extend(batch);
            } else {
                self.changes.changed().await.map_err(|_| Error::Closed)?;
            }
        }
    }

    pub(crate) async fn commit(&mut self, records: &[Record]) -> Result<()> {
        let Some(position) = &self.position else {
            return Ok(());
        };
        let Some(max) = records.iter().map(|r| r.offset).max() else {
            return Ok(());
        };
        let (done, rx) = oneshot::channel();
        let op = Op::Commit { position: position.clone(), next: max as u64 + 1, done };
        self.log.inner.send(op)?;
        rx.await.map_err(|_| Error::Closed)?.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Bus;

    #[tokio::test]
    async fn publish_subscribe_commit_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus.redb");
        {
            let bus = Bus::Embedded(EmbeddedLog::open(&path).unwrap());
            for i in 0..5 {
                bus.publish(Topic::Reports, "72", format!("r{i}").as_bytes()).await.unwrap();
            }
            let mut sub = bus.subscribe(Topic::Reports, "classifier").await.unwrap();
            let a = sub.next().await.unwrap();
            let b = sub.next().await.unwrap();
            assert_eq!((a.offset, a.payload.as_slice(), a.key.as_str()), (0, &b"r0"[..], "72"));
            sub.commit(&b).await.unwrap();
        }
        // reopened: the group resumes after its commit, a replay starts at 0
        let bus = Bus::Embedded(EmbeddedLog::open(&path).unwrap());
        let mut sub = bus.subscribe(Topic::Reports, "classifier").await.unwrap();
        assert_eq!(sub.next().await.unwrap().payload, b"r2");
        let mut replay = bus.replay(Topic::Reports).await.unwrap();
        assert_eq!(replay.next().await.unwrap().payload, b"r0");
        // other topics and groups are independent
        let mut other = bus.subscribe(Topic::Reports, "indexer").await.unwrap();
        assert_eq!(other.next().await.unwrap().offset, 0);
    }

    #[tokio::test]
    async fn waiting_reader_wakes_on_publish() {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::Embedded(EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
        let mut sub = bus.subscribe(Topic::Alerts, "alerter").await.unwrap();
        let reader = tokio::spawn(async move { sub.next().await.unwrap().payload });
        tokio::task::yield_now().await;
        bus.publish(Topic::Alerts, "k", b"hello").await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), reader).await.unwrap().unwrap();
        assert_eq!(got, b"hello");
    }

    #[tokio::test]
    async fn concurrent_publishes_get_distinct_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let log = EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap();
        let bus = Bus::Embedded(log.clone());
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let bus = bus.clone();
                tokio::spawn(async move { bus.publish(Topic::Classified, "72", &[i as u8]).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(log.len(Topic::Classified).unwrap(), 200);
        let mut sub = bus.replay(Topic::Classified).await.unwrap();
        let batch = sub.next_batch(500, Duration::from_millis(50)).await.unwrap();
        let offsets: Vec<i64> = batch.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (0..200).collect::<Vec<i64>>());
    }
}
