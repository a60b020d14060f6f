//! The bus over a Kafka-protocol cluster, through rdkafka.
//!
//! The producer is idempotent with `acks=all`: a publish returns once every
//! in-sync replica has the record. Consumers never auto-commit; a stage commits
//! a record's offset only after its own output is durable.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;

use crate::{Assignment, Error, Record, Result, Topic};

/// `[kafka]`: run the stages over a Kafka-protocol cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap brokers, comma-separated, for example `127.0.0.1:9092`.
    pub brokers: String,
    /// Prefix of every topic and consumer group name.
    #[serde(default = "default_prefix")]
    pub topic_prefix: String,
    /// Partitions of the topics kentongan creates; at most this many copies
    /// of a stage share the work.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor of the topics kentongan creates.
    #[serde(default = "default_replication")]
    pub replication_factor: i32,
    /// How long a consumer may be silent before its partitions move.
    #[serde(default = "default_session_timeout", with = "humantime_serde")]
    pub session_timeout: Duration,
    /// How long a publish may wait for the cluster before it fails (and the
    /// API answers 503).
    #[serde(default = "default_produce_timeout", with = "humantime_serde")]
    pub produce_timeout: Duration,
    /// Extra librdkafka properties, for example `"security.protocol" = "ssl"`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_prefix() -> String {
    "kentongan.".into()
}
fn default_partitions() -> i32 {
    3
}
fn default_replication() -> i32 {
    1
}
fn default_session_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_produce_timeout() -> Duration {
    Duration::from_secs(10)
}

impl KafkaConfig {
    pub fn topic(&self, topic: Topic) -> String {
        format!("{}{}", self.topic_prefix, topic.name())
    }

    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

/// How long the broker may hold a prompt subscription's fetch. Not less:
/// each fetch costs the broker work (tansu holding 5 GB spent a fifth of a
/// core on an idle follower at 10 ms, and a loaded one slowed the intake
/// sixfold), and a batch of claims arrives together anyway.
const PROMPT_FETCH: Duration = Duration::from_millis(50);

/// A replay takes a partition as read to its end when, for this long, the
/// broker has answered its fetches with nothing while counting records
/// beyond its position, and has served no other partition the replay still
/// reads either (see [`Holes`]). A healthy broker serves records it counts; one that
/// does not never reports the partition's end either. tansu's S3 engine
/// raises a partition's end before it stores the batch, so a broker killed
/// between the two keeps a hole at the end, which nothing fills until new
/// records follow it: a replay waiting for that end would wait for ever
/// (seen: a classifier restoring its windows after the broker's restart,
/// never starting again).
const HOLE_AFTER: Duration = Duration::from_secs(30);
/// How often a replay's consumer reports its fetch state (librdkafka's
/// statistics), and how often the replay looks at it.
const FETCH_STATS: Duration = Duration::from_secs(2);
/// How often a group's consumer reports the lag of the partitions it holds
/// ([`crate::consumer_lag`], from librdkafka's statistics).
pub const LAG_STATS: Duration = Duration::from_secs(5);
/// A broker heard from within this long is answering.
const ANSWERING: Duration = Duration::from_secs(5);
/// How long a starting node waits for the cluster to answer before it stops
/// with an error.
const STARTUP_PATIENCE: Duration = Duration::from_secs(60);

fn unavailable(e: &KafkaError) -> Error {
    Error::Unavailable(e.to_string())
}

/// The bus over Kafka. Cheap to clone.
#[derive(Clone)]
pub struct KafkaBus {
    config: Arc<KafkaConfig>,
    /// Replaced after failures (see [`KafkaBus::repair`]).
    producer: Arc<std::sync::RwLock<FutureProducer>>,
    /// When the last repair started.
    last_repair: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl KafkaBus {
    /// Connects, and creates kentongan's topics when they are missing. A
    /// cluster that does not answer yet (starting, or busy) is waited for up
    /// to a minute.
    pub async fn connect(config: KafkaConfig) -> Result<Self> {
        let producer = Arc::new(std::sync::RwLock::new(Self::producer(&config)?));
        let bus = Self { config: Arc::new(config), producer, last_repair: Arc::default() };
        bus.create_topics(STARTUP_PATIENCE).await?;
        Ok(bus)
    }

    fn producer(config: &KafkaConfig) -> Result<FutureProducer> {
        let mut pc = config.client();
        pc.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", config.produce_timeout.as_millis().to_string());
        pc.create().map_err(|e| Error::Config(format!("kafka producer: {e}")))
    }

    fn current_producer(&self) -> FutureProducer {
        self.producer.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Tries again for `patience` while the cluster does not answer.
    async fn create_topics(&self, patience: Duration) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> =
            self.config.client().create().map_err(|e| Error::Config(format!("kafka admin client: {e}")))?;
        let names: Vec<String> = Topic::ALL.iter().map(|t| self.config.topic(*t)).collect();
        let topics: Vec<NewTopic<'_>> = Topic::ALL
            .iter()
            .zip(&names)
            .map(|(t, name)| {
                let new = NewTopic::new(
                    name,
                    self.config.partitions,
                    TopicReplication::Fixed(self.config.replication_factor),
                );
                if t.compacted() { new.set("cleanup.policy", "compact") } else { new }
            })
            .collect();
        let opts = AdminOptions::new()
            .operation_timeout(Some(self.config.produce_timeout))
            .request_timeout(Some(self.config.produce_timeout));
        // A broker that is starting, or busy, may not answer within the
        // timeout: a node starting with it waits a while before it gives up.
        // A refusal of a topic (a bad replication factor, say) is no such
        // wait, and is told at once.
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(500);
        let results = loop {
            match admin.create_topics(&topics, &opts).await {
                Ok(results) => break results,
                Err(e) if started.elapsed() + pause < patience => {
                    tracing::warn!(brokers = %self.config.brokers, error = %e, "Kafka does not answer yet; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(unavailable(&e)),
            }
        };
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(Error::Unavailable(format!("cannot create topic {name}: {code}")));
                }
            }
        }
        Ok(())
    }

    /// Appends a record; returns its partition and offset once it is durable.
    pub(crate) async fn publish(&self, topic: Topic, key: &str, payload: &[u8]) -> Result<(i32, i64)> {
        let name = self.config.topic(topic);
        let record = FutureRecord::to(&name).key(key).payload(payload);
        let result = self.current_producer().send(record, self.config.produce_timeout).await;
        result.map(|d| (d.partition, d.offset)).map_err(|(e, _)| {
            self.repair();
            unavailable(&e)
        })
    }

    pub(crate) async fn publish_batch(&self, records: &[(Topic, String, Vec<u8>)]) -> Result<()> {
        let producer = self.current_producer();
        let mut pending = Vec::with_capacity(records.len());
        for (topic, key, payload) in records {
            let name = self.config.topic(*topic);
            let record = FutureRecord::to(&name).key(key.as_str()).payload(payload.as_slice());
            match producer.send_result(record) {
                Ok(delivery) => pending.push(delivery),
                Err((e, _)) => {
                    self.repair();
                    return Err(unavailable(&e));
                }
            }
        }
        for delivery in pending {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    self.repair();
                    return Err(unavailable(&e));
                }
                Err(_) => return Err(Error::Closed),
            }
        }
        Ok(())
    }

    /// After a failed publish (at most every 5 s, in the background): makes
    /// sure the topics exist and starts a fresh producer. A broker that was
    /// replaced, or lost its state, comes back without the topics and without
    /// the idempotent producer's id, and would otherwise refuse every record
    /// of the old producer for good.
    fn repair(&self) {
        let mut last = self.last_repair.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
            return;
        }
        *last = Some(std::time::Instant::now());
        let bus = self.clone();
        tokio::spawn(async move {
            if let Err(e) = bus.create_topics(Duration::ZERO).await {
                tracing::debug!(error = %e, "topics not checked: the cluster is still unreachable");
                return;
            }
            match Self::producer(&bus.config) {
                Ok(fresh) => {
                    let old = std::mem::replace(&mut *bus.producer.write().unwrap_or_else(|e| e.into_inner()), fresh);
                    close_aside("producer", old);
                    tracing::info!("kafka producer restarted after failed publishes");
                }
                Err(e) => tracing::warn!(error = %e, "could not restart the kafka producer"),
            }
        });
    }

    pub(crate) async fn ready(&self) -> Result<()> {
        let producer = self.current_producer();
        let topic = self.config.topic(Topic::Reports);
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&topic), Duration::from_secs(2))
                .map(|_| ())
                .map_err(|e| unavailable(&e))
        })
        .await
        .map_err(|_| Error::Closed)?
    }

    /// A consumer of `topic` for `group` (`None`: a replay). `prompt`: the
    /// broker answers each fetch within [`PROMPT_FETCH`] even when nothing is
    /// new (by default it may hold a fetch for 500 ms, and tansu does).
    pub(crate) fn subscribe(&self, topic: Topic, group: Option<&str>, prompt: bool) -> Result<KafkaSubscription> {
        let name = self.config.topic(topic);
        let mut cc = self.config.client();
        if prompt {
            cc.set("fetch.wait.max.ms", PROMPT_FETCH.as_millis().to_string());
        }
        let session = self.config.session_timeout.as_millis();
        // the consumer says when it has reached the end of a partition: a
        // fetch found nothing after its position (tansu misreports the end
        // offsets a client asks for, but not this)
        cc.set("enable.partition.eof", "true")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", session.to_string())
            .set("heartbeat.interval.ms", (session / 4).max(100).to_string());
        let commits = group.is_some();
        // a replay: what it needs to tell a hole from a slow broker (see
        // [`HOLE_AFTER`]); a group: the lag of its partitions
        let every = if commits { LAG_STATS } else { FETCH_STATS };
        cc.set("statistics.interval.ms", every.as_millis().to_string());
        match group {
            Some(g) => {
                cc.set("group.id", format!("{}{g}", self.config.topic_prefix));
            }
            None => {
                // A replay reads every partition from the start and commits
                // nothing; librdkafka's assign needs a group all the same.
                cc.set("group.id", format!("{}replay-{}", self.config.topic_prefix, uuid_like()));
            }
        }
        let tracker = Tracker {
            topic: name.clone(),
            lag_of: group.map(|g| (topic, g.to_owned())),
            state: Arc::default(),
            fetching: Arc::default(),
            stats_unreadable: Default::default(),
        };
        let (state, fetching) = (tracker.state.clone(), tracker.fetching.clone());
        // closed aside however this ends, a failure below included
        let consumer =
            Closing(Some(cc.create_with_context(tracker).map_err(|e| Error::Config(format!("kafka consumer: {e}")))?));
        // Every partition the topic really has, not the configured count: the
        // topic may have been made with another.
        let metadata =
            consumer.fetch_metadata(Some(&name), self.config.produce_timeout).map_err(|e| unavailable(&e))?;
        let partitions =
            metadata.topics().iter().find(|t| t.name() == name).map_or(0, |t| t.partitions().len() as i32).max(1);
        if commits {
            consumer.subscribe(&[&name]).map_err(|e| unavailable(&e))?;
        } else {
            let mut tpl = TopicPartitionList::new();
            for p in 0..partitions {
                tpl.add_partition_offset(&name, p, Offset::Beginning).map_err(|e| unavailable(&e))?;
            }
            consumer.assign(&tpl).map_err(|e| unavailable(&e))?;
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            state.partitions = (0..partitions).collect();
            state.generation = 1;
            state.changed_at = Some(std::time::Instant::now());
        }
        Ok(KafkaSubscription {
            topic,
            name,
            consumer: Arc::new(consumer),
            commits,
            state,
            ended: BTreeSet::new(),
            partitions: partitions as usize,
            opened_at: std::time::Instant::now(),
            session: self.config.session_timeout,
            fetching,
            holes: Holes::default(),
            taken: Vec::new(),
            last_look: std::time::Instant::now(),
        })
    }
}

/// The partitions a consumer holds, as its group's rebalances leave them.
#[derive(Debug, Default)]
struct Held {
    /// Counts the changes, so a reader can tell that one happened.
    generation: u64,
    partitions: BTreeSet<i32>,
    /// When `partitions` last changed (`None`: not yet).
    changed_at: Option<std::time::Instant>,
}

/// Follows a consumer's rebalances (they run inside its polls).
struct Tracker {
    topic: String,
    /// A group's consumer: the topic and group its lag is reported for.
    lag_of: Option<(Topic, String)>,
    state: Arc<Mutex<Held>>,
    /// A replay's fetch state of each partition, from librdkafka's statistics.
    fetching: Arc<Mutex<HashMap<i32, Fetching>>>,
    /// Said once: the statistics could not be read.
    stats_unreadable: std::sync::atomic::AtomicBool,
}

/// Where a replay's consumer stands with one partition, as its last
/// statistics tell (they arrive inside its polls).
#[derive(Debug, Clone, Copy)]
struct Fetching {
    /// The next offset to fetch.
    next: i64,
    /// The partition's end, as the broker's last fetch answer gave it.
    high: i64,
    /// Fetching: active, and not held back by a full queue.
    fetching: bool,
    /// The broker fetched from has answered within [`ANSWERING`].
    answering: bool,
    /// When the statistics were taken.
    at: std::time::Instant,
}

impl Drop for Tracker {
    /// A consumer gone holds nothing: another process, or the next
    /// subscription of this one, reports the group's partitions now.
    fn drop(&mut self) {
        if let Some((topic, group)) = &self.lag_of {
            crate::consumer_lag(*topic, group, 0);
        }
    }
}

/// The parts of librdkafka's statistics a replay reads (rdkafka's own
/// `Statistics` requires every field, and would log each report it could not
/// read).
#[derive(serde::Deserialize)]
struct Stats {
    brokers: HashMap<String, StatsBroker>,
    topics: HashMap<String, StatsTopic>,
}

#[derive(serde::Deserialize)]
struct StatsBroker {
    nodeid: i32,
    /// Microseconds since anything was received (-1: nothing yet).
    rxidle: i64,
}

#[derive(serde::Deserialize)]
struct StatsTopic {
    partitions: HashMap<String, StatsPartition>,
}

#[derive(serde::Deserialize)]
struct StatsPartition {
    partition: i32,
    /// The broker fetched from (-1: none known).
    broker: i32,
    fetch_state: String,
    /// What the consumer holds fetched and not yet handed out: the whole
    /// consumer's queue, not this partition's alone.
    fetchq_cnt: i64,
    fetchq_size: i64,
    next_offset: i64,
    hi_offset: i64,
    /// The partition's end less the group's committed offset (-1: not
    /// known). A partition the consumer held keeps its last figures after a
    /// rebalance takes it: only the partitions held count.
    #[serde(default = "unknown")]
    consumer_lag: i64,
    /// The group's committed offset (negative: none yet).
    #[serde(default = "unknown")]
    committed_offset: i64,
    /// The partition's first offset (-1: not known).
    #[serde(default = "unknown")]
    lo_offset: i64,
}

impl StatsPartition {
    /// What the group has not committed of this partition, for a partition
    /// this consumer holds: all of it from its start when the group has
    /// committed nothing yet (librdkafka then says -1).
    fn lag(&self) -> i64 {
        if self.consumer_lag >= 0 {
            self.consumer_lag
        } else if self.fetch_state != "none" && self.committed_offset < 0 && self.hi_offset >= 0 {
            self.hi_offset - self.lo_offset.max(0)
        } else {
            0
        }
    }
}

fn unknown() -> i64 {
    -1
}

/// librdkafka stops fetching while its queue holds this many messages or
/// bytes (`queued.min.messages`, `queued.max.messages.kbytes`; kentongan
/// leaves both at their defaults): only then does a next offset that stands
/// still mean anything but that the broker served nothing.
const FETCH_QUEUE_MESSAGES: i64 = 100_000;
const FETCH_QUEUE_BYTES: i64 = 65_536 * 1024;

impl ClientContext for Tracker {
    fn stats_raw(&self, statistics: &[u8]) {
        let stats: Stats = match serde_json::from_slice(statistics) {
            Ok(stats) => stats,
            Err(e) => {
                if !self.stats_unreadable.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(topic = %self.topic, error = %e, "librdkafka's statistics are unreadable: a hole in a replay's partitions would not be noticed, nor a group's lag");
                }
                return;
            }
        };
        let Some(topic) = stats.topics.get(&self.topic) else {
            return;
        };
        if let Some((t, group)) = &self.lag_of {
            let held = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let lag = topic
                .partitions
                .values()
                .filter(|p| held.partitions.contains(&p.partition))
                .map(StatsPartition::lag)
                .sum::<i64>();
            drop(held);
            crate::consumer_lag(*t, group, lag as u64);
            return;
        }
        let answering = |broker: i32| {
            broker >= 0
                && stats
                    .brokers
                    .values()
                    .any(|b| b.nodeid == broker && b.rxidle >= 0 && (b.rxidle as u128) < ANSWERING.as_micros())
        };
        let at = std::time::Instant::now();
        let mut fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        for part in topic.partitions.values().filter(|p| p.partition >= 0) {
            fetching.insert(
                part.partition,
                Fetching {
                    next: part.next_offset,
                    high: part.hi_offset,
                    fetching: part.fetch_state == "active"
                        && part.fetchq_cnt < FETCH_QUEUE_MESSAGES
                        && part.fetchq_size < FETCH_QUEUE_BYTES,
                    answering: answering(part.broker),
                    at,
                },
            );
        }
    }
}

impl ConsumerContext for Tracker {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let ours = |tpl: &TopicPartitionList| -> Vec<i32> {
            tpl.elements().iter().filter(|e| e.topic() == self.topic).map(|e| e.partition()).collect()
        };
        match rebalance {
            Rebalance::Assign(tpl) => state.partitions.extend(ours(tpl)),
            Rebalance::Revoke(tpl) => {
                for p in ours(tpl) {
                    state.partitions.remove(&p);
                }
            }
            Rebalance::Error(e) => {
                tracing::warn!(topic = %self.topic, error = %e, "kafka rebalance failed");
                return;
            }
        }
        state.generation += 1;
        state.changed_at = Some(std::time::Instant::now());
        tracing::info!(topic = %self.topic, partitions = ?state.partitions, "kafka partitions assigned");
    }
}

/// A name unique to this process and moment, for throwaway consumer groups.
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// Drops a Kafka client on a thread of its own. Closing a consumer waits
/// for its group's coordinator (rust-rdkafka's drop polls until librdkafka
/// says closed), and with the broker gone or just back that can take minutes
/// (librdkafka#4519, rust-rdkafka#509); a producer flushes first. Dropped on
/// the runtime, the client would hold the stage that owned it, so the stage
/// would not restart, and block a worker thread of the whole node.
fn close_aside<T: Send + 'static>(what: &'static str, client: T) {
    let closing = std::thread::Builder::new().name("kafka-close".into()).spawn(move || {
        let started = std::time::Instant::now();
        drop(client);
        if started.elapsed() > Duration::from_secs(5) {
            tracing::warn!(what, took = ?started.elapsed(), "a kafka client took long to close");
        }
    });
    if let Err(e) = closing {
        // the client went down with the closure, here
        tracing::warn!(what, error = %e, "no thread to close a kafka client on");
    }
}

/// A consumer that is closed aside (see [`close_aside`]) when dropped.
struct Closing(Option<StreamConsumer<Tracker>>);

impl std::ops::Deref for Closing {
    type Target = StreamConsumer<Tracker>;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("a consumer is held until it is dropped")
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(consumer) = self.0.take() {
            close_aside("consumer", consumer);
        }
    }
}

/// A consumer of one topic.
pub struct KafkaSubscription {
    topic: Topic,
    name: String,
    consumer: Arc<Closing>,
    commits: bool,
    state: Arc<Mutex<Held>>,
    /// The partitions whose end this subscription has reached at least once.
    ended: BTreeSet<i32>,
    /// How many partitions the topic had when the subscription began.
    partitions: usize,
    opened_at: std::time::Instant,
    /// The group's session timeout.
    session: Duration,
    /// A replay's fetch state of each partition (see [`Fetching`]).
    fetching: Arc<Mutex<HashMap<i32, Fetching>>>,
    /// For a replay: the partitions the broker answers with nothing while it
    /// counts records beyond (see [`Holes`]).
    holes: Holes,
    /// The partitions this replay took as ended at a hole: (partition, the
    /// offset it stood at, the broker's end).
    taken: Vec<(i32, i64, i64)>,
    /// When the replay last looked for holes.
    last_look: std::time::Instant,
}

/// Which partitions of a replay stand in a hole. A partition is stuck when
/// the broker answers, the consumer keeps fetching (its queue is not full),
/// and the broker counts records beyond the next offset to fetch, which does
/// not move. It is in a hole only when every partition the replay still
/// reads has been stuck, together, for [`HOLE_AFTER`]: while some partition
/// moves, the broker may be serving it first and leaving the others for
/// later (tansu fills a fetch's answer in the order the request lists the
/// partitions; seen: a reindex of 10,000,000 reports took partition 2 of
/// three as ended at offset 36,864 of 1.25 million while partitions 0 and 1
/// were read, and rebuilt 9,462,399 reports, though a second reader read on
/// past that offset at once).
#[derive(Debug, Default)]
struct Holes {
    /// Each stuck partition: the offset it stands at, and since when.
    stuck: HashMap<i32, (i64, std::time::Instant)>,
    /// Since when every partition still read has been stuck.
    all_since: Option<std::time::Instant>,
    /// The partitions still read at the last look: one that has left since
    /// was read to its end, so the broker was serving, and the wait starts
    /// again.
    reading: Vec<i32>,
}

impl Holes {
    /// The partitions of `reading` that are in a hole at `now`, given each
    /// one's last statistics: (partition, next offset, the broker's end).
    fn look(
        &mut self,
        now: std::time::Instant,
        reading: &[i32],
        fetching: &HashMap<i32, Fetching>,
    ) -> Vec<(i32, i64, i64)> {
        let same = reading == self.reading.as_slice();
        if !same {
            self.reading = reading.to_vec();
        }
        let mut all = same && !reading.is_empty();
        let mut found = Vec::new();
        for &p in reading {
            let stuck = fetching.get(&p).filter(|f| {
                now.saturating_duration_since(f.at) < FETCH_STATS * 3
                    && f.fetching
                    && f.answering
                    && f.next >= 0
                    && f.high > f.next
            });
            let Some(f) = stuck else {
                self.stuck.remove(&p);
                all = false;
                continue;
            };
            let (at, since) = self.stuck.entry(p).or_insert((f.next, now));
            if *at != f.next {
                (*at, *since) = (f.next, now);
                all = false;
            }
            found.push((p, f.next, f.high));
        }
        if !all {
            self.all_since = None;
            return Vec::new();
        }
        let since = *self.all_since.get_or_insert(now);
        if now.saturating_duration_since(since) < HOLE_AFTER {
            return Vec::new();
        }
        for (p, _, _) in &found {
            self.stuck.remove(p);
        }
        self.all_since = None;
        found
    }
}

impl KafkaSubscription {
    pub(crate) async fn next(&mut self) -> Result<Record> {
        loop {
            match self.next_or_end().await? {
                Some(record) => return Ok(record),
                None => continue,
            }
        }
    }

    /// The partitions held now, and how many times that has changed.
    pub(crate) fn assignment(&self) -> Assignment {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Assignment {
            generation: state.generation,
            partitions: state.partitions.iter().copied().collect(),
            of: self.partitions,
            changed_at: state.changed_at.unwrap_or(self.opened_at),
            settle: self.session,
        }
    }

    /// Each partition held: for a replay, the next offset to fetch and the
    /// broker's end from its last statistics ("?" before them), and whether
    /// its end was reached; nothing is asked of librdkafka's threads.
    pub(crate) fn progress(&self) -> String {
        let held: Vec<i32> = self.state.lock().unwrap_or_else(|e| e.into_inner()).partitions.iter().copied().collect();
        // from the statistics, not `position()`: that asks librdkafka's main
        // thread for the assignment and waits for its answer, on a runtime
        // thread
        let fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner()).clone();
        held.iter()
            .map(|&p| {
                let at =
                    fetching.get(&p).map_or("?".to_owned(), |f| format!("next {}, broker's end {}", f.next, f.high));
                format!("{p}: {at}, ended {}", self.ended.contains(&p))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// For a replay: takes each partition held that stands in a hole (see
    /// [`Holes`]) as read to its end, says so, and returns whether it did.
    fn end_holes(&mut self) -> bool {
        self.last_look = std::time::Instant::now();
        let reading: Vec<i32> = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.partitions.iter().copied().filter(|p| !self.ended.contains(p)).collect()
        };
        let fetching = self.fetching.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let ended = self.holes.look(self.last_look, &reading, &fetching);
        if ended.is_empty() {
            return false;
        }
        for (p, next, high) in &ended {
            tracing::error!(
                topic = %self.name,
                partition = p,
                at = next,
                broker_end = high,
                "the broker counts records up to its end but serves none after this offset (a hole, left for \
                 example by a broker killed while it stored a batch): this replay takes what it read as the \
                 partition's end, and reads records written after the hole as they come",
            );
            self.ended.insert(*p);
            self.taken.push((*p, *next, *high));
        }
        metrics::counter!("kentongan_bus_replay_holes_total", "topic" => self.topic.name())
            .increment(ended.len() as u64);
        true
    }

    /// The partitions taken as ended at a hole: (partition, the offset the
    /// replay stood at, the broker's end).
    pub(crate) fn holes_taken(&self) -> &[(i32, i64, i64)] {
        &self.taken
    }

    /// Whether the end of every partition held has been reached at least
    /// once: everything the topic held when the subscription began is read.
    pub(crate) fn at_end(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.generation > 0 && state.partitions.iter().all(|p| self.ended.contains(p))
    }

    /// The next record; `None` when an end of a partition is reached instead.
    pub(crate) async fn next_or_end(&mut self) -> Result<Option<Record>> {
        let consumer = self.consumer.clone();
        let received = loop {
            if self.commits {
                break consumer.recv().await;
            }
            // records of other partitions may keep coming while one stands in a hole
            match tokio::time::timeout(FETCH_STATS, consumer.recv()).await {
                Ok(received) => {
                    if self.last_look.elapsed() >= FETCH_STATS {
                        self.end_holes();
                    }
                    break received;
                }
                Err(_) if self.end_holes() => return Ok(None),
                Err(_) => {}
            }
        };
        let m = match received {
            Ok(m) => m,
            Err(KafkaError::PartitionEOF(p)) => {
                self.ended.insert(p);
                return Ok(None);
            }
            Err(e) => return Err(unavailable(&e)),
        };
        Ok(Some(Record {
            topic: self.topic,
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default(),
            payload: m.payload().unwrap_or_default().to_vec(),
        }))
    }

    pub(crate) async fn commit(&mut self, records: &[Record]) -> Result<()> {
        if !self.commits {
            return Ok(());
        }
        let mut highest: HashMap<i32, i64> = HashMap::new();
        for r in records {
            let e = highest.entry(r.partition).or_insert(r.offset);
            *e = (*e).max(r.offset);
        }
        let mut tpl = TopicPartitionList::new();
        for (partition, offset) in highest {
            tpl.add_partition_offset(&self.name, partition, Offset::Offset(offset + 1)).map_err(|e| unavailable(&e))?;
        }
        let consumer = self.consumer.clone();
        tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync))
            .await
            .map_err(|_| Error::Closed)?
            .map_err(|e| unavailable(&e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn stats(at: Instant, next: i64, high: i64) -> Fetching {
        Fetching { next, high, fetching: true, answering: true, at }
    }

    /// A partition the broker leaves behind while it serves the others is no
    /// hole; once the others are read, it is one if it stays stuck
    /// [`HOLE_AFTER`] more.
    #[test]
    fn a_partition_left_behind_while_others_move_is_no_hole() {
        let (start, s) = (Instant::now(), Duration::from_secs);
        let mut holes = Holes::default();
        for t in 0..=90u64 {
            let now = start + s(t);
            let moved = 1_000 * t as i64;
            let f = HashMap::from([
                (0, stats(now, moved, 5_000_000)),
                (1, stats(now, moved, 5_000_000)),
                (2, stats(now, 36_864, 1_253_940)),
            ]);
            assert!(holes.look(now, &[0, 1, 2], &f).is_empty(), "second {t}");
        }
        // the look that finds the others ended starts the wait
        let read = start + s(91);
        for t in 0..=30 {
            let now = read + s(t);
            let f = HashMap::from([(2, stats(now, 36_864, 1_253_940))]);
            assert!(holes.look(now, &[2], &f).is_empty(), "second {t} after the others ended");
        }
        let now = read + s(31);
        let f = HashMap::from([(2, stats(now, 36_864, 1_253_940))]);
        assert_eq!(holes.look(now, &[2], &f), [(2, 36_864, 1_253_940)]);
    }

    /// A partition read to its end between two looks was served: the
    /// others' wait starts again, rather than ending at once.
    #[test]
    fn a_partition_that_ends_between_looks_restarts_the_wait() {
        let (start, s) = (Instant::now(), Duration::from_secs);
        let mut holes = Holes::default();
        for t in 0..=28 {
            let now = start + s(t);
            let f = HashMap::from([(0, stats(now, 36_864, 1_253_940)), (1, stats(now, 500, 900))]);
            assert!(holes.look(now, &[0, 1], &f).is_empty(), "second {t}");
        }
        // partition 1 was served to its end between the looks at 28 and 31
        for t in 31..61 {
            let now = start + s(t);
            let f = HashMap::from([(0, stats(now, 36_864, 1_253_940))]);
            assert!(holes.look(now, &[0], &f).is_empty(), "second {t}");
        }
        let now = start + s(62);
        let f = HashMap::from([(0, stats(now, 36_864, 1_253_940))]);
        assert_eq!(holes.look(now, &[0], &f), [(0, 36_864, 1_253_940)]);
    }

    /// All partitions stuck together for [`HOLE_AFTER`] are in a hole; one
    /// that moves, a broker that does not answer, a full queue or statistics
    /// that stopped coming start the wait again.
    #[test]
    fn only_partitions_stuck_together_long_enough_are_in_a_hole() {
        let (start, s) = (Instant::now(), Duration::from_secs);
        let mut holes = Holes::default();
        let look = |holes: &mut Holes, t: u64, edit: &dyn Fn(&mut Fetching)| {
            let now = start + s(t);
            let mut f = HashMap::from([(0, stats(now, 10, 20)), (1, stats(now, 7, 9))]);
            f.values_mut().for_each(edit);
            holes.look(now, &[0, 1], &f)
        };
        assert!(look(&mut holes, 0, &|_| {}).is_empty());
        assert!(look(&mut holes, 29, &|_| {}).is_empty());
        // the broker stops answering for a moment: the wait starts again
        assert!(look(&mut holes, 30, &|f| f.answering = false).is_empty());
        assert!(look(&mut holes, 31, &|_| {}).is_empty());
        assert!(look(&mut holes, 60, &|_| {}).is_empty());
        // a full queue, or statistics a minute old
        assert!(look(&mut holes, 61, &|f| f.fetching = false).is_empty());
        assert!(look(&mut holes, 62, &|f| f.at = start).is_empty());
        assert!(look(&mut holes, 63, &|_| {}).is_empty());
        assert_eq!(look(&mut holes, 93, &|_| {}), [(0, 10, 20), (1, 7, 9)]);
        // nothing left to read: nothing to end
        assert!(holes.look(start + s(200), &[], &HashMap::new()).is_empty());
    }

    /// A replay to the end that its broker fails is begun again once the
    /// broker answers, not given up (seen: "all broker connections are down"
    /// while the broker was frozen for 40 s, and a catch-up that failed).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_catch_up_waits_for_a_lost_broker() {
        let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
        let config = KafkaConfig {
            brokers: cluster.bootstrap_servers(),
            topic_prefix: "lost.".into(),
            partitions: 1,
            replication_factor: 1,
            session_timeout: Duration::from_secs(6),
            produce_timeout: Duration::from_secs(1),
            properties: BTreeMap::from([("reconnect.backoff.max.ms".into(), "200".into())]),
        };
        // the mock cluster makes no topics on request
        cluster.create_topic(&config.topic(Topic::Windows), 1, 1).unwrap();
        // the records are written with patience (the first waits for a
        // connection, which loaded cores can hold past a second: a CI run
        // saw `MessageTimedOut` here); the replay is what is tried
        let patient = KafkaConfig { produce_timeout: Duration::from_secs(30), ..config.clone() };
        let producer = Arc::new(std::sync::RwLock::new(KafkaBus::producer(&patient).unwrap()));
        let bus = crate::Bus::Kafka(KafkaBus { config: Arc::new(config), producer, last_repair: Arc::default() });
        for payload in [b"a", b"b"] {
            bus.publish(Topic::Windows, "k", payload).await.unwrap();
        }
        cluster.broker_down(1).unwrap();
        // asked with no patience (an HTTP request), it fails at once
        let now = bus.catch_up_within(Topic::Windows, Duration::ZERO).await;
        assert!(matches!(now, Err(crate::Error::Unavailable(_))), "{:?}", now.map(|(r, _)| r.len()));
        let replay = tokio::spawn(async move { bus.catch_up(Topic::Windows).await.map(|(records, _)| records.len()) });
        // several of the replay's one-second waits for the broker
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(!replay.is_finished(), "the catch-up gave up: {:?}", replay.await.unwrap());
        cluster.broker_up(1).unwrap();
        let read = tokio::time::timeout(Duration::from_secs(60), replay).await;
        assert_eq!(read.expect("the catch-up did not end after the broker came back").unwrap().unwrap(), 2);
    }
}
