//! The bus: the log that kentongan's stages talk through.
//!
//! Two implementations share one interface:
//! - [`kafka`]: rdkafka against any Kafka-protocol cluster, for scale-out;
//! - [`embedded`]: a durable log in a redb database under `data_dir`, for the
//!   single-process default.
//!
//! A publish returns only once the record is durable. A [`Subscription`]
//! hands records to a stage, and the stage commits a record only after its own
//! output is durable, so nothing is lost across a crash (delivery is
//! at-least-once; every consumer is idempotent).

mod contain;
pub mod embedded;
pub mod kafka;
pub mod reopen;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod topic;

use std::time::Duration;

pub use contain::{contain, contain_async, panic_cause};
pub use kafka::KafkaConfig;
pub use topic::Topic;

/// How long [`Bus::catch_up`] keeps beginning again a replay that the
/// broker fails, from the first failure; after it the caller's own retry
/// (a stage's supervisor) takes over.
pub const REPLAY_PATIENCE: Duration = Duration::from_secs(120);

/// Sets `kentongan_bus_consumer_lag_records{topic, group}`: the records of
/// `topic` that `group` has not committed yet. The embedded log sets it on
/// every append and commit; over Kafka each consumer sets it for the
/// partitions it holds, from librdkafka's statistics (every
/// [`kafka::LAG_STATS`]), so a group's lag is the sum over its processes.
pub(crate) fn consumer_lag(topic: Topic, group: &str, lag: u64) {
    metrics::gauge!("kentongan_bus_consumer_lag_records", "topic" => topic.name(), "group" => group.to_owned())
        .set(lag as f64);
}

/// Errors of the bus.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The log cannot take or give records right now; retrying later may help.
    #[error("the message bus is unavailable: {0}")]
    Unavailable(String),
    /// The embedded log's database failed.
    #[error("embedded log at {path}: {reason}")]
    Storage { path: String, reason: String },
    /// A setting is wrong; the message says which.
    #[error("{0}")]
    Config(String),
    /// The bus was shut down.
    #[error("the message bus is closed")]
    Closed,
}

impl Error {
    /// Whether doing the same again later can succeed: the log coming back,
    /// or a full disk getting room. A wrong setting or a closed bus cannot.
    pub fn retry(&self) -> Retry {
        match self {
            Error::Unavailable(_) | Error::Storage { .. } => Retry::Later,
            Error::Config(_) | Error::Closed => Retry::Never,
        }
    }
}

/// What an error says about trying again, for every crate's errors alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The cause is outside (a service down, a full disk): back off and retry.
    Later,
    /// The same work fails the same way again: a wrong setting, or input that
    /// can never be taken (which goes to `deadletter` with the reason).
    Never,
}

/// An error that says whether to retry. A stage's supervisor restarts it
/// after a back-off on [`Retry::Later`], and much more slowly on
/// [`Retry::Never`] (a setting must change first).
pub trait Retryable: std::error::Error {
    fn retry(&self) -> Retry;
}

impl Retryable for Error {
    fn retry(&self) -> Retry {
        Error::retry(self)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One record read from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: Topic,
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub payload: Vec<u8>,
}

/// Where a record went: its partition and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// The partitions of a topic a group's subscription holds now. Over Kafka a
/// rebalance changes them (and `generation` counts each change); the
/// embedded log has one partition, always held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub generation: u64,
    pub partitions: Vec<i32>,
    /// How many partitions the topic had when the subscription began.
    pub of: usize,
    /// When the partitions last changed.
    pub changed_at: std::time::Instant,
    /// How long a member that left without a word (its process killed, or
    /// cut off from the broker) keeps its partitions: the group's session
    /// timeout. Until then a rebalance may leave the others only part.
    pub settle: std::time::Duration,
}

/// Something kept in memory from a topic: every record is applied in order,
/// and applying a record again is harmless, so a view can always be rebuilt
/// by replaying its topic.
pub trait View: Clone + Send + Sync + 'static {
    fn apply(&self, record: &Record);
}

/// Applies every record that arrives on `sub` to `view`, forever.
pub async fn follow<V: View>(mut sub: Subscription, view: V) -> Result<()> {
    loop {
        let record = sub.next().await?;
        // applying may take a while (the rule book builds its automaton):
        // not on the threads that serve requests
        let view = view.clone();
        tokio::task::spawn_blocking(move || apply_contained(&view, &record))
            .await
            .map_err(|e| Error::Unavailable(format!("applying a record to a view failed: {e}")))?;
    }
}

/// Applies `record` to `view`; a record whose applying panics is skipped
/// (logged with its cause and counted), so one bad record cannot keep a
/// view, and the node it serves, from loading. It stays on its topic.
fn apply_contained<V: View>(view: &V, record: &Record) {
    let _ = contain(&format!("view of {}", record.topic.name()), || view.apply(record));
}

/// The bus, over Kafka or over the embedded log. Cheap to clone.
#[derive(Clone)]
pub enum Bus {
    Embedded(embedded::EmbeddedLog),
    Kafka(kafka::KafkaBus),
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bus::Embedded(_) => f.write_str("Bus::Embedded"),
            Bus::Kafka(_) => f.write_str("Bus::Kafka"),
        }
    }
}

impl Bus {
    /// Appends a record and returns once it is durable.
    pub async fn publish(&self, topic: Topic, key: &str, payload: &[u8]) -> Result<()> {
        self.publish_at(topic, key, payload).await.map(drop)
    }

    /// Appends a record and returns where it went, once it is durable.
    pub async fn publish_at(&self, topic: Topic, key: &str, payload: &[u8]) -> Result<Position> {
        let result = match self {
            Bus::Embedded(log) => log
                .publish(topic, key, payload)
                .await
                .map(|offset| Position { partition: 0, offset: i64::try_from(offset).unwrap_or(i64::MAX) }),
            Bus::Kafka(k) => {
                k.publish(topic, key, payload).await.map(|(partition, offset)| Position { partition, offset })
            }
        };
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!("kentongan_bus_published_total", "topic" => topic.name(), "outcome" => outcome).increment(1);
        result
    }

    /// Appends several records and returns once all are durable. They go to
    /// the log together (one transaction for the embedded log, pipelined for
    /// Kafka), in order, which is much faster than one `publish` after another.
    pub async fn publish_batch(&self, records: &[(Topic, String, Vec<u8>)]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let result = match self {
            Bus::Embedded(log) => log.publish_batch(records).await,
            Bus::Kafka(k) => k.publish_batch(records).await,
        };
        let outcome = if result.is_ok() { "ok" } else { "error" };
        for (topic, _, _) in records {
            metrics::counter!("kentongan_bus_published_total", "topic" => topic.name(), "outcome" => outcome)
                .increment(1);
        }
        result
    }

    /// Reads `topic` as consumer group `group`, from the group's committed
    /// position (or the beginning, the first time).
    pub async fn subscribe(&self, topic: Topic, group: &str) -> Result<Subscription> {
        match self {
            Bus::Embedded(log) => log.subscribe(topic, Some(group)).map(Subscription::Embedded),
            Bus::Kafka(k) => {
                let (k, group) = (k.clone(), group.to_owned());
                tokio::task::spawn_blocking(move || k.subscribe(topic, Some(&group), false))
                    .await
                    .map_err(|_| Error::Closed)?
                    .map(Subscription::Kafka)
            }
        }
    }

    /// Reads `topic` from the beginning without a group and without commits:
    /// how a node rebuilds state from a compacted configuration topic.
    pub async fn replay(&self, topic: Topic) -> Result<Subscription> {
        self.replay_as(topic, false).await
    }

    /// [`Bus::replay`] for a follower that requests wait on (the intake's
    /// idempotency keys): a new record reaches it within milliseconds, not
    /// after the broker held an idle fetch for up to half a second, at the
    /// cost of a fetch every few milliseconds while the topic is quiet.
    pub async fn replay_promptly(&self, topic: Topic) -> Result<Subscription> {
        self.replay_as(topic, true).await
    }

    async fn replay_as(&self, topic: Topic, prompt: bool) -> Result<Subscription> {
        match self {
            Bus::Embedded(log) => log.subscribe(topic, None).map(Subscription::Embedded),
            Bus::Kafka(k) => {
                let k = k.clone();
                tokio::task::spawn_blocking(move || k.subscribe(topic, None, prompt))
                    .await
                    .map_err(|_| Error::Closed)?
                    .map(Subscription::Kafka)
            }
        }
    }

    /// Replays `topic` up to its end and returns what it read, with the
    /// subscription to follow on from there. The end is exact: the embedded
    /// log's length when the replay began; over Kafka, the end of every
    /// partition as a fetch made after the replay began finds it, or a hole
    /// at its end (see [`Subscription::at_end`]).
    ///
    /// Over Kafka, a replay the broker fails (all its connections lost, say,
    /// while it is frozen or restarting) is begun again, with a growing pause,
    /// for up to [`REPLAY_PATIENCE`] after the first failure: a replay can
    /// always be repeated, and its consumer is not kept across the outage
    /// (librdkafka 2.12 was seen to crash on a fetch answer from a restarted
    /// tansu that had lost its topics). A wrong setting or a closed bus still
    /// fails at once.
    pub async fn catch_up(&self, topic: Topic) -> Result<(Vec<Record>, Subscription)> {
        self.catch_up_within(topic, REPLAY_PATIENCE).await
    }

    /// [`Bus::catch_up`], beginning a failed replay again only within
    /// `patience` of the first failure: an HTTP request asks with none.
    pub async fn catch_up_within(&self, topic: Topic, patience: Duration) -> Result<(Vec<Record>, Subscription)> {
        let mut pause = Duration::from_millis(500);
        let mut failed: Option<std::time::Instant> = None;
        loop {
            match self.catch_up_once(topic).await {
                Err(e)
                    if matches!(self, Bus::Kafka(_))
                        && e.retry() == Retry::Later
                        && failed.get_or_insert_with(std::time::Instant::now).elapsed() + pause <= patience =>
                {
                    tracing::warn!(topic = ?topic, error = %e, ?pause, "a replay failed; beginning it again");
                    metrics::counter!("kentongan_bus_replay_restarts_total", "topic" => topic.name()).increment(1);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                done => return done,
            }
        }
    }

    async fn catch_up_once(&self, topic: Topic) -> Result<(Vec<Record>, Subscription)> {
        let mut sub = self.replay(topic).await?;
        let mut records = Vec::new();
        let started = std::time::Instant::now();
        let mut told = Duration::ZERO;
        while !sub.at_end() {
            let next = tokio::time::timeout(Duration::from_secs(5), sub.next_or_end()).await;
            if let Ok(next) = next
                && let Some(record) = next?
            {
                records.push(record);
            }
            if started.elapsed() >= told + Duration::from_secs(10) {
                told = started.elapsed();
                tracing::warn!(topic = ?topic, read = records.len(), waited = ?told, state = %sub.progress(), "still replaying a topic to its end");
            }
        }
        Ok((records, sub))
    }

    /// How many records `topic` holds, when the bus can tell: the embedded
    /// log knows; over Kafka it is not asked (tansu misreports end offsets).
    pub fn length(&self, topic: Topic) -> Result<Option<u64>> {
        match self {
            Bus::Embedded(log) => log.len(topic).map(Some),
            Bus::Kafka(_) => Ok(None),
        }
    }

    /// Keeps what a stage could not use on the `deadletter` topic, with the
    /// reason, so nothing received is silently dropped. `source` is the stage
    /// or channel, `topic` where the bytes came from.
    pub async fn deadletter(&self, source: &str, topic: &str, original: &[u8], reason: &str) -> Result<()> {
        let letter = serde_json::json!({
            "v": 1,
            "source": source,
            "topic": topic,
            "reason": reason,
            "original": String::from_utf8_lossy(original),
        });
        metrics::counter!("kentongan_bus_deadletter_total", "source" => source.to_owned()).increment(1);
        self.publish(Topic::Deadletter, source, letter.to_string().as_bytes()).await
    }

    /// Brings `view` up to the current end of `topic` (see [`Bus::catch_up`])
    /// and returns the subscription to [`follow`] on from there.
    pub async fn load<V: View>(&self, topic: Topic, view: &V) -> Result<Subscription> {
        let (records, sub) = self.catch_up(topic).await?;
        let view = view.clone();
        tokio::task::spawn_blocking(move || records.iter().for_each(|record| apply_contained(&view, record)))
            .await
            .map_err(|e| Error::Unavailable(format!("loading a view failed: {e}")))?;
        Ok(sub)
    }

    /// Whether the bus can take a record now, for `/readyz`.
    pub async fn ready(&self) -> Result<()> {
        match self {
            Bus::Embedded(log) => log.ready().await,
            Bus::Kafka(k) => k.ready().await,
        }
    }
}

/// A stream of records of one topic.
pub enum Subscription {
    Embedded(embedded::EmbeddedSubscription),
    Kafka(kafka::KafkaSubscription),
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

impl Subscription {
    /// The next record, or `None` when the subscription reaches the end of
    /// a partition instead. Once [`Subscription::at_end`] holds, every
    /// record the topic held when the subscription began has been handed out.
    pub async fn next_or_end(&mut self) -> Result<Option<Record>> {
        let record = match self {
            Subscription::Embedded(s) => {
                if s.at_end() {
                    return Ok(None);
                }
                s.next().await?
            }
            Subscription::Kafka(s) => match s.next_or_end().await? {
                Some(record) => record,
                None => return Ok(None),
            },
        };
        metrics::counter!("kentongan_bus_consumed_total", "topic" => record.topic.name()).increment(1);
        Ok(Some(record))
    }

    /// Whether everything the topic held when this subscription began has
    /// been handed out: the exact marker a view is loaded from. Over Kafka
    /// it is known once the consumer has reached the end of each partition
    /// it holds (a fetch found nothing after its position); for a group's
    /// subscription that is of the partitions held now. A replay also takes
    /// as ended a partition whose broker, answering, has served nothing for
    /// 30 s while counting records beyond its position, and no other
    /// partition the replay still reads meanwhile: a hole, whose end would
    /// never come (`bus::kafka`, `HOLE_AFTER`).
    pub fn at_end(&self) -> bool {
        match self {
            Subscription::Embedded(s) => s.at_end(),
            Subscription::Kafka(s) => s.at_end(),
        }
    }

    /// The partitions this replay took as ended at a hole (over Kafka):
    /// (partition, the offset it stood at, the broker's end). What lies
    /// between was not read.
    pub fn holes_taken(&self) -> &[(i32, i64, i64)] {
        match self {
            Subscription::Embedded(_) => &[],
            Subscription::Kafka(s) => s.holes_taken(),
        }
    }

    /// Where the replay stands, for a log line: each partition held, whether
    /// its end was reached, and where it fetches.
    pub fn progress(&self) -> String {
        match self {
            Subscription::Embedded(s) => format!("embedded, at end: {}", s.at_end()),
            Subscription::Kafka(s) => s.progress(),
        }
    }

    /// The partitions this subscription holds now.
    pub fn assignment(&self) -> Assignment {
        match self {
            Subscription::Embedded(s) => Assignment {
                generation: 1,
                partitions: vec![0],
                of: 1,
                changed_at: s.opened_at(),
                settle: std::time::Duration::ZERO,
            },
            Subscription::Kafka(s) => s.assignment(),
        }
    }

    /// Waits for the next record.
    pub async fn next(&mut self) -> Result<Record> {
        let record = match self {
            Subscription::Embedded(s) => s.next().await,
            Subscription::Kafka(s) => s.next().await,
        }?;
        metrics::counter!("kentongan_bus_consumed_total", "topic" => record.topic.name()).increment(1);
        Ok(record)
    }

    /// Waits for at least one record, then takes whatever else arrives within
    /// `linger`, up to `max` records in all.
    pub async fn next_batch(&mut self, max: usize, linger: Duration) -> Result<Vec<Record>> {
        let first = self.next().await?;
        self.fill_batch(first, max, linger).await
    }

    /// Like [`Subscription::next_batch`], but gives up with an empty batch
    /// when nothing arrives within `idle`, so the caller can do other work.
    pub async fn next_batch_within(&mut self, max: usize, linger: Duration, idle: Duration) -> Result<Vec<Record>> {
        match tokio::time::timeout(idle, self.next()).await {
            Ok(first) => self.fill_batch(first?, max, linger).await,
            Err(_) => Ok(Vec::new()),
        }
    }

    async fn fill_batch(&mut self, first: Record, max: usize, linger: Duration) -> Result<Vec<Record>> {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + linger;
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Ok(record) => batch.push(record?),
                Err(_) => break,
            }
        }
        Ok(batch)
    }

    /// Marks every record up to and including `record` (in its partition) as
    /// done for this group. Call it only after the output is durable.
    pub async fn commit(&mut self, record: &Record) -> Result<()> {
        self.commit_all(std::slice::from_ref(record)).await
    }

    /// Commits the highest offset of every partition in `records`.
    pub async fn commit_all(&mut self, records: &[Record]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        match self {
            Subscription::Embedded(s) => s.commit(records).await,
            Subscription::Kafka(s) => s.commit(records).await,
        }
    }
}
