//! The embedded log: every topic is a table in one redb database.
//!
//! redb is a pure-Rust, copy-on-write B-tree store with ACID transactions whose
//! commits are durable (fsync) when `commit` returns, so a crash or `kill -9`
//! keeps every acknowledged record. One writer thread appends: concurrent
//! publishes are grouped into one transaction, so a burst costs one fsync.
//!
//! Records are stored in batches, as Kafka does: the records of one topic that
//! one transaction appends form one row, keyed by the offset of its first
//! record (offsets count from 0). A row is one B-tree insert however many
//! records it holds, which keeps the writer's work per record small.
//! Committed positions live in the `offsets` table under `group/topic`.
//!
//! After an I/O error (a full disk) the database is opened again once it can
//! be written (see [`crate::reopen`]); until then every publish fails at once
//! and [`crate::Bus::ready`] says why.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use tokio::sync::{oneshot, watch};

use crate::reopen::{RETRY, ReopeningDb};
use crate::{Error, Record, Result, Topic};

const OFFSETS: TableDefinition<&str, u64> = TableDefinition::new("offsets");

/// The table of a topic: first offset of a batch → the batch (see [`Batch`]).
fn table(topic: Topic) -> TableDefinition<'static, u64, &'static [u8]> {
    TableDefinition::new(match topic {
        Topic::Reports => "log.reports",
        Topic::Classified => "log.classified",
        Topic::Alerts => "log.alerts",
        Topic::Rules => "log.rules",
        Topic::Units => "log.units",
        Topic::Accounts => "log.accounts",
        Topic::Templates => "log.templates",
        Topic::Deadletter => "log.deadletter",
        Topic::Audit => "log.audit",
        Topic::Windows => "log.windows",
        Topic::Silences => "log.silences",
        Topic::Replies => "log.replies",
        Topic::Briefs => "log.briefs",
        Topic::Idempotency => "log.idempotency",
    })
}

/// The table of the first format (up to 0.1), one row per record, which
/// [`EmbeddedLog::open`] converts.
fn table_v1(topic: Topic) -> TableDefinition<'static, u64, (u64, &'static str, &'static [u8])> {
    TableDefinition::new(match topic {
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
        Topic::Replies => "topic.replies",
        Topic::Briefs => "topic.briefs",
        Topic::Idempotency => "topic.idempotency",
    })
}

/// A stored batch: the append time in ms (u64), then for each record its key
/// and its payload, each as a u32 length and the bytes, all little-endian.
struct Batch;

impl Batch {
    fn encode<'a>(at_ms: u64, records: impl IntoIterator<Item = Keyed<'a>>) -> Vec<u8> {
        let mut out = at_ms.to_le_bytes().to_vec();
        for (key, payload) in records {
            for part in [key.as_bytes(), payload] {
                out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                out.extend_from_slice(part);
            }
        }
        out
    }

    /// The records of a batch as (key, payload); `None` if it is cut short.
    fn decode(bytes: &[u8]) -> Option<Vec<Keyed<'_>>> {
        fn part<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            let (bytes, tail) = (tail.get(..len)?, tail.get(len..)?);
            *rest = tail;
            Some(bytes)
        }
        let mut rest = bytes.get(8..)?;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let key = std::str::from_utf8(part(&mut rest)?).ok()?;
            out.push((key, part(&mut rest)?));
        }
        Some(out)
    }
}

enum Op {
    Append { topic: Topic, key: String, payload: Vec<u8>, done: oneshot::Sender<Result<u64>> },
    Commit { topic: Topic, group: String, position: String, next: u64, done: oneshot::Sender<Result<u64>> },
}

/// The committed position of each group subscribed in this process, by
/// topic and group: what [`crate::consumer_lag`] is measured from.
type Positions = Arc<std::sync::Mutex<HashMap<(Topic, String), u64>>>;

struct Inner {
    db: Arc<ReopeningDb>,
    path: PathBuf,
    /// `None` only while dropping.
    ops: Option<mpsc::Sender<Op>>,
    writer: Option<std::thread::JoinHandle<()>>,
    changes: HashMap<Topic, watch::Sender<u64>>,
    positions: Positions,
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
        let db = Arc::new(ReopeningDb::open(path, setup).map_err(|e| {
            match e {
                redb::Error::DatabaseAlreadyOpen => Error::Storage {
                    path: path.display().to_string(),
                    reason: "another kentongan process is using this data_dir; stop it first, or use the HTTP API \
                         of the running one"
                        .into(),
                },
                e => storage(&e),
            }
        })?);
        let changes: HashMap<Topic, watch::Sender<u64>> =
            Topic::ALL.into_iter().map(|t| (t, watch::channel(0).0)).collect();
        let (ops, rx) = mpsc::channel();
        let writer_db = db.clone();
        let writer_changes = changes.clone();
        let writer_path = path.display().to_string();
        let positions = Positions::default();
        let writer_positions = positions.clone();
        let writer = std::thread::Builder::new()
            .name("embedded-log-writer".into())
            .spawn(move || write_loop(&writer_db, &writer_path, &rx, &writer_changes, &writer_positions))
            .map_err(|e| storage(&e))?;
        let inner = Inner { db, path: path.to_owned(), ops: Some(ops), writer: Some(writer), changes, positions };
        let log = Self { inner: Arc::new(inner) };
        log.known_groups()?;
        Ok(log)
    }

    /// Reads the committed position of every group that ever committed on
    /// this log, and sets its lag: a stage that does not start (its store is
    /// away) still shows what waits for it, and it grows with every append.
    fn known_groups(&self) -> Result<()> {
        let committed: Vec<(String, u64)> = self.reading(|db| {
            let txn = db.begin_read()?;
            let offsets = txn.open_table(OFFSETS)?;
            let mut committed = Vec::new();
            for row in offsets.iter()? {
                let (position, next) = row?;
                committed.push((position.value().to_owned(), next.value()));
            }
            Ok(committed)
        })?;
        for (position, next) in committed {
            let Some((group, name)) = position.rsplit_once('/') else { continue };
            let Some(topic) = Topic::ALL.into_iter().find(|t| t.name() == name) else { continue };
            let end = self.len(topic)?;
            self.inner.positions.lock().unwrap_or_else(|e| e.into_inner()).insert((topic, group.to_owned()), next);
            crate::consumer_lag(topic, group, end.saturating_sub(next));
        }
        Ok(())
    }

    /// Appends a record; returns its offset once it is durable.
    pub(crate) async fn publish(&self, topic: Topic, key: &str, payload: &[u8]) -> Result<u64> {
        let (done, rx) = oneshot::channel();
        let op = Op::Append { topic, key: key.to_owned(), payload: payload.to_vec(), done };
        self.inner.send(op)?;
        rx.await.map_err(|_| Error::Closed)?
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
        let end = self.len(topic)?;
        if let Some(group) = group {
            let mut positions = self.inner.positions.lock().unwrap_or_else(|e| e.into_inner());
            let at = positions.entry((topic, group.to_owned())).or_insert(next);
            *at = next.max(*at);
            // the end read again under the lock: an append the writer made
            // meanwhile set the lag already, and this must not set an older one
            let end = self.len(topic)?.max(end);
            crate::consumer_lag(topic, group, end.saturating_sub(*at));
        }
        Ok(EmbeddedSubscription {
            log: self.clone(),
            topic,
            group: group.map(str::to_owned),
            position,
            next,
            end,
            buffer: VecDeque::new(),
            changes: self.inner.changes[&topic].subscribe(),
            opened_at: std::time::Instant::now(),
        })
    }

    /// Whether the log can be written; after an I/O error, this is also what
    /// tries to open it again when nothing else does.
    pub(crate) async fn ready(&self) -> Result<()> {
        let db = self.inner.db.clone();
        let opened = tokio::task::spawn_blocking(move || db.get().map(drop)).await.map_err(|_| Error::Closed)?;
        opened.map_err(|reason| {
            Error::Unavailable(format!(
                "the embedded log cannot be written ({reason}); it is opened again every {} s until it can",
                RETRY.as_secs()
            ))
        })
    }

    fn storage(&self, e: impl std::fmt::Display) -> Error {
        Error::Storage { path: self.inner.path.display().to_string(), reason: e.to_string() }
    }

    /// The database, or why it cannot be used now.
    fn db(&self) -> Result<Arc<Database>> {
        self.inner.db.get().map_err(|reason| self.storage(reason))
    }

    /// Runs `read` on the database; an I/O error in it closes the database
    /// until it can be opened again.
    fn reading<T>(&self, read: impl FnOnce(&Database) -> Result<T, redb::Error>) -> Result<T> {
        let db = self.db()?;
        self.inner.db.check(read(&db)).map_err(|e| self.storage(e))
    }

    fn committed(&self, position: &str) -> Result<u64> {
        self.reading(|db| {
            let txn = db.begin_read()?;
            let offsets = txn.open_table(OFFSETS)?;
            Ok(offsets.get(position)?.map_or(0, |v| v.value()))
        })
    }

    /// Reads the records of `topic` from offset `from`: whole batches, until
    /// there are at least `max` (or no more).
    fn read(&self, topic: Topic, from: u64, max: usize) -> Result<Vec<Record>> {
        self.reading(|db| {
            let txn = db.begin_read()?;
            let t = txn.open_table(table(topic))?;
            // the batch holding `from` starts at or before it
            let start = t.range(..=from)?.next_back().transpose()?;
            let start = start.map_or(from, |(first, _)| first.value());
            let mut out = Vec::new();
            for row in t.range(start..)? {
                let (first, bytes) = row?;
                let records = Batch::decode(bytes.value()).ok_or_else(|| {
                    redb::Error::Corrupted(format!(
                        "the batch at offset {} of {} is damaged",
                        first.value(),
                        topic.name()
                    ))
                })?;
                for (offset, (key, payload)) in (first.value()..).zip(records) {
                    if offset >= from {
                        out.push(Record {
                            topic,
                            partition: 0,
                            offset: i64::try_from(offset).unwrap_or(i64::MAX),
                            key: key.to_owned(),
                            payload: payload.to_vec(),
                        });
                    }
                }
                if out.len() >= max {
                    break;
                }
            }
            Ok(out)
        })
    }

    /// The number of records ever appended to `topic`.
    pub fn len(&self, topic: Topic) -> Result<u64> {
        self.reading(|db| end_of(&db.begin_read()?.open_table(table(topic))?))
    }
}

/// The offset after the last record of a topic's table. A damaged last batch
/// is an error, so nothing is ever appended over it.
fn end_of(t: &impl ReadableTable<u64, &'static [u8]>) -> Result<u64, redb::Error> {
    Ok(match t.last()? {
        Some((first, bytes)) => {
            let records = Batch::decode(bytes.value()).ok_or_else(|| {
                redb::Error::Corrupted(format!("the last batch of the log, at offset {}, is damaged", first.value()))
            })?;
            first.value() + records.len() as u64
        }
        None => 0,
    })
}

/// Creates every table up front, so readers never race their creation, and
/// converts a log of the first format.
fn setup(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    convert_v1(txn)?;
    for topic in Topic::ALL {
        txn.open_table(table(topic))?;
    }
    txn.open_table(OFFSETS)?;
    Ok(())
}

/// Converts the tables of the first format, one row per record, into
/// batches, keeping every offset; a database without them is left as is.
fn convert_v1(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    let old: Vec<String> = txn.list_tables()?.map(|t| t.name().to_owned()).collect();
    for topic in Topic::ALL {
        let v1 = table_v1(topic);
        if !old.iter().any(|name| name == v1.name()) {
            continue;
        }
        {
            let from = txn.open_table(v1)?;
            let mut to = txn.open_table(table(topic))?;
            let mut rows = from.iter()?.peekable();
            while rows.peek().is_some() {
                let chunk: Vec<_> = rows.by_ref().take(1024).collect::<Result<_, _>>()?;
                let first = chunk[0].0.value();
                let at = chunk[0].1.value().0;
                let values: Vec<_> = chunk.iter().map(|(_, v)| v.value()).collect();
                to.insert(first, Batch::encode(at, values.iter().map(|(_, k, p)| (*k, *p))).as_slice())?;
            }
        }
        txn.delete_table(v1)?;
        tracing::info!(topic = topic.name(), "converted the embedded log to batches");
    }
    Ok(())
}

fn write_loop(
    db: &ReopeningDb,
    path: &str,
    rx: &mpsc::Receiver<Op>,
    changes: &HashMap<Topic, watch::Sender<u64>>,
    positions: &Positions,
) {
    // the next offset of each topic, once known
    let mut ends: HashMap<Topic, u64> = HashMap::new();
    while let Ok(first) = rx.recv() {
        let mut ops = vec![first];
        while ops.len() < 4096 {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let applied = match db.get() {
            Ok(handle) => db.check(apply(&handle, &ops, &mut ends)).map_err(|e| e.to_string()),
            Err(reason) => Err(reason),
        };
        let took = started.elapsed();
        metrics::histogram!("kentongan_bus_embedded_commit_seconds").record(took.as_secs_f64());
        if took > std::time::Duration::from_millis(100) {
            tracing::warn!(path, ops = ops.len(), ms = took.as_millis() as u64, "slow embedded log commit");
        }
        match applied {
            Ok(results) => {
                let mut touched = Vec::new();
                // the topics whose groups' lag changed: appended to, or committed;
                // set before the writers are answered, so what they did shows in it
                let mut moved = Vec::new();
                {
                    let mut positions = positions.lock().unwrap_or_else(|e| e.into_inner());
                    for op in &ops {
                        match op {
                            Op::Append { topic, .. } => touched.push(*topic),
                            Op::Commit { topic, group, next, .. } => {
                                let at = positions.entry((*topic, group.clone())).or_insert(*next);
                                *at = (*next).max(*at);
                                moved.push(*topic);
                            }
                        }
                    }
                    moved.extend_from_slice(&touched);
                    moved.sort();
                    moved.dedup();
                    for ((topic, group), at) in positions.iter() {
                        if let (true, Some(end)) = (moved.contains(topic), ends.get(topic)) {
                            crate::consumer_lag(*topic, group, end.saturating_sub(*at));
                        }
                    }
                }
                for (op, result) in ops.into_iter().zip(results) {
                    match op {
                        Op::Append { done, .. } | Op::Commit { done, .. } => {
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
            Err(reason) => {
                tracing::error!(path, error = %reason, "embedded log write failed");
                // a failed commit may still have reached the disk: read the ends again
                ends.clear();
                for op in ops {
                    let err = Error::Storage { path: path.to_owned(), reason: reason.clone() };
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

/// A record as (key, payload).
type Keyed<'a> = (&'a str, &'a [u8]);

/// Applies a group of operations in one durable transaction; returns each
/// append's offset (or each commit's position). `ends` holds the next offset
/// of the topics known so far, and is updated once the transaction commits.
fn apply(db: &Database, ops: &[Op], ends: &mut HashMap<Topic, u64>) -> Result<Vec<u64>, redb::Error> {
    let txn = db.begin_write()?;
    let mut results = Vec::with_capacity(ops.len());
    {
        // each topic's appends, in order: (offset of the first, records)
        let mut batches: HashMap<Topic, (u64, Vec<Keyed<'_>>)> = HashMap::new();
        for op in ops {
            match op {
                Op::Append { topic, key, payload, .. } => {
                    let (first, records) = match batches.entry(*topic) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            let end = match ends.get(topic) {
                                Some(end) => *end,
                                None => end_of(&txn.open_table(table(*topic))?)?,
                            };
                            e.insert((end, Vec::new()))
                        }
                    };
                    results.push(*first + records.len() as u64);
                    records.push((key.as_str(), payload.as_slice()));
                }
                Op::Commit { topic, position, next: n, .. } => {
                    // the topic's end, for the group's lag
                    if !ends.contains_key(topic) {
                        let end = end_of(&txn.open_table(table(*topic))?)?;
                        ends.insert(*topic, end);
                    }
                    let mut offsets = txn.open_table(OFFSETS)?;
                    let current = offsets.get(position.as_str())?.map_or(0, |v| v.value());
                    offsets.insert(position.as_str(), (*n).max(current))?;
                    results.push(*n);
                }
            }
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        for (topic, (first, records)) in &batches {
            txn.open_table(table(*topic))?.insert(first, Batch::encode(now, records.iter().copied()).as_slice())?;
        }
        txn.commit()?;
        for (topic, (first, records)) in batches {
            ends.insert(topic, first + records.len() as u64);
        }
    }
    Ok(results)
}

/// A reader of one topic of the embedded log.
pub struct EmbeddedSubscription {
    log: EmbeddedLog,
    topic: Topic,
    /// The group, for a group's subscription.
    group: Option<String>,
    /// `group/topic` for a group's subscription, `None` for a replay.
    position: Option<String>,
    next: u64,
    /// The topic's end when the subscription began.
    end: u64,
    buffer: VecDeque<Record>,
    changes: watch::Receiver<u64>,
    opened_at: std::time::Instant,
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

    /// When the subscription began: it holds the one partition from then on.
    pub(crate) fn opened_at(&self) -> std::time::Instant {
        self.opened_at
    }

    /// Whether every record the topic held when the subscription began has
    /// been handed out.
    pub(crate) fn at_end(&self) -> bool {
        self.buffer.is_empty() && self.next >= self.end
    }

    pub(crate) async fn commit(&mut self, records: &[Record]) -> Result<()> {
        let (Some(position), Some(group)) = (&self.position, &self.group) else {
            return Ok(());
        };
        let Some(max) = records.iter().map(|r| r.offset).max() else {
            return Ok(());
        };
        let (done, rx) = oneshot::channel();
        let op = Op::Commit {
            topic: self.topic,
            group: group.clone(),
            position: position.clone(),
            next: max as u64 + 1,
            done,
        };
        self.log.inner.send(op)?;
        rx.await.map_err(|_| Error::Closed)?.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Bus;

    /// The value of `kentongan_bus_consumer_lag_records` for `topic` and
    /// `group` in what `metrics` renders (`None`: not set).
    pub(crate) fn lag_in(metrics: &str, topic: &str, group: &str) -> Option<f64> {
        metrics
            .lines()
            .filter(|l| l.starts_with("kentongan_bus_consumer_lag_records{"))
            .find(|l| l.contains(&format!("topic=\"{topic}\"")) && l.contains(&format!("group=\"{group}\"")))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }

    /// The process's metrics, rendered (a recorder is installed once).
    pub(crate) fn rendered() -> String {
        static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> = std::sync::OnceLock::new();
        HANDLE
            .get_or_init(|| metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().unwrap())
            .render()
    }

    #[tokio::test]
    async fn a_groups_lag_is_what_it_has_not_committed() {
        rendered();
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::Embedded(EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
        for i in 0..5 {
            bus.publish(Topic::Alerts, "72", format!("a{i}").as_bytes()).await.unwrap();
        }
        let mut sub = bus.subscribe(Topic::Alerts, "lag-test").await.unwrap();
        // a group that has read nothing yet has the whole topic to read
        assert_eq!(lag_in(&rendered(), "alerts", "lag-test"), Some(5.0));
        sub.next().await.unwrap();
        let second = sub.next().await.unwrap();
        // read is not done: only a commit counts
        assert_eq!(lag_in(&rendered(), "alerts", "lag-test"), Some(5.0));
        sub.commit(&second).await.unwrap();
        assert_eq!(lag_in(&rendered(), "alerts", "lag-test"), Some(3.0));
        // what arrives is waiting too
        bus.publish(Topic::Alerts, "72", b"a5").await.unwrap();
        assert_eq!(lag_in(&rendered(), "alerts", "lag-test"), Some(4.0));
        // a reopened log knows its groups, and what waits for them, before any subscribes
        drop(sub);
        drop(bus);
        let bus = Bus::Embedded(EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
        bus.publish(Topic::Alerts, "72", b"a6").await.unwrap();
        assert_eq!(lag_in(&rendered(), "alerts", "lag-test"), Some(5.0));
    }

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

    #[tokio::test]
    async fn reads_start_inside_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::Embedded(EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
        let records: Vec<(Topic, String, Vec<u8>)> =
            (0..10).map(|i| (Topic::Reports, format!("k{i}"), vec![i as u8; i])).collect();
        bus.publish_batch(&records).await.unwrap();
        bus.publish(Topic::Reports, "k10", b"last").await.unwrap();
        let mut sub = bus.subscribe(Topic::Reports, "g").await.unwrap();
        let first = sub.next_batch(4, Duration::from_millis(10)).await.unwrap();
        assert_eq!(first.len(), 4, "the commit falls inside the first batch");
        sub.commit_all(&first).await.unwrap();
        drop(sub);
        let mut sub = bus.subscribe(Topic::Reports, "g").await.unwrap();
        let rest = sub.next_batch(100, Duration::from_millis(50)).await.unwrap();
        let got: Vec<(i64, String, usize)> = rest.iter().map(|r| (r.offset, r.key.clone(), r.payload.len())).collect();
        let mut want: Vec<(i64, String, usize)> = (4..10).map(|i| (i as i64, format!("k{i}"), i)).collect();
        want.push((10, "k10".into(), 4));
        assert_eq!(got, want);
    }

    /// A full disk makes publishes fail and the log unready; once there is
    /// room again, the same log takes records and is ready, without a restart.
    #[tokio::test]
    async fn takes_records_again_once_a_full_disk_has_room() {
        let Some(disk) = crate::testing::SmallDisk::mount("8m") else { return };
        let bus = Bus::Embedded(EmbeddedLog::open(&disk.path().join("bus.redb")).unwrap());
        let mut sub = bus.subscribe(Topic::Reports, "g").await.unwrap();
        let payload = vec![b'x'; 2000];
        let mut taken = 0;
        for _ in 0..10 {
            bus.publish(Topic::Reports, "72", &payload).await.unwrap();
            taken += 1;
        }
        bus.ready().await.unwrap();
        disk.fill();
        let mut refused = None;
        for _ in 0..5000 {
            match bus.publish(Topic::Reports, "72", &payload).await {
                Ok(()) => taken += 1,
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let refused = refused.expect("a full disk took every record");
        assert!(refused.to_string().contains("No space left"), "{refused}");
        let unready = bus.ready().await.expect_err("ready while the disk is full");
        assert!(unready.to_string().contains("cannot be written"), "{unready}");
        assert!(bus.publish(Topic::Reports, "72", &payload).await.is_err());
        disk.free();
        let again = async {
            while bus.ready().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(RETRY * 10, again).await.expect("never ready again after the disk had room");
        bus.publish(Topic::Reports, "72", b"after").await.unwrap();
        let mut got = Vec::new();
        while got.len() < taken + 1 {
            got.extend(sub.next_batch(512, Duration::from_millis(10)).await.unwrap());
        }
        assert_eq!(got.last().unwrap().payload, b"after");
        assert!(got[..taken].iter().all(|r| r.payload == payload));
        assert_eq!(bus.length(Topic::Reports).unwrap(), Some(taken as u64 + 1));
    }

    #[tokio::test]
    async fn a_log_of_the_first_format_is_converted_with_its_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(table_v1(Topic::Units)).unwrap();
                for i in 0..2500u64 {
                    t.insert(i, (7, format!("u{i}").as_str(), format!("unit {i}").as_bytes())).unwrap();
                }
                txn.open_table(OFFSETS).unwrap().insert("alerter/units", 1200).unwrap();
            }
            txn.commit().unwrap();
        }
        let log = EmbeddedLog::open(&path).unwrap();
        assert_eq!(log.len(Topic::Units).unwrap(), 2500);
        let bus = Bus::Embedded(log);
        bus.publish(Topic::Units, "u2500", b"unit 2500").await.unwrap();
        let mut sub = bus.subscribe(Topic::Units, "alerter").await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < 1301 {
            seen.extend(sub.next_batch(512, Duration::from_millis(10)).await.unwrap());
        }
        assert_eq!(seen.len(), 1301);
        for (r, i) in seen.iter().zip(1200..) {
            assert_eq!(
                (r.offset, r.key.as_str(), r.payload.as_slice()),
                (i, format!("u{i}").as_str(), format!("unit {i}").as_bytes())
            );
        }
    }
}
