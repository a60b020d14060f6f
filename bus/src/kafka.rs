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
    /// Connects, and creates kentongan's topics when they are missing.
    pub async fn connect(config: KafkaConfig) -> Result<Self> {
        let producer = Arc::new(std::sync::RwLock::new(Self::producer(&config)?));
        let bus = Self { config: Arc::new(config), producer, last_repair: Arc::default() };
        bus.create_topics().await?;
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

    async fn create_topics(&self) -> Result<()> {
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
        let results = admin.create_topics(&topics, &opts).await.map_err(|e| unavailable(&e))?;
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
            if let Err(e) = bus.create_topics().await {
                tracing::debug!(error = %e, "topics not checked: the cluster is still unreachable");
                return;
            }
            match Self::producer(&bus.config) {
                Ok(fresh) => {
                    *bus.producer.write().unwrap_or_else(|e| e.into_inner()) = fresh;
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
        match group {
            Some(g) => {
                cc.set("group.id", format!("{}{g}", self.config.topic_prefix));
            }
            None => {
                // A replay reads every partition from the start and commits nothing.
                cc.set("group.id", format!("{}replay-{}", self.config.topic_prefix, uuid_like()));
            }
        }
        let tracker = Tracker { topic: name.clone(), state: Arc::default() };
        let state = tracker.state.clone();
        let consumer: StreamConsumer<Tracker> =
            cc.create_with_context(tracker).map_err(|e| Error::Config(format!("kafka consumer: {e}")))?;
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
        }
        Ok(KafkaSubscription {
            topic,
            name,
            consumer: Arc::new(consumer),
            commits,
            state,
            ended: BTreeSet::new(),
            partitions: partitions as usize,
        })
    }
}

/// The partitions a consumer holds, as its group's rebalances leave them.
#[derive(Debug, Default)]
struct Held {
    /// Counts the changes, so a reader can tell that one happened.
    generation: u64,
    partitions: BTreeSet<i32>,
}

/// Follows a consumer's rebalances (they run inside its polls).
struct Tracker {
    topic: String,
    state: Arc<Mutex<Held>>,
}

impl ClientContext for Tracker {}

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
        tracing::info!(topic = %self.topic, partitions = ?state.partitions, "kafka partitions assigned");
    }
}

/// A name unique to this process and moment, for throwaway consumer groups.
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// A consumer of one topic.
pub struct KafkaSubscription {
    topic: Topic,
    name: String,
    consumer: Arc<StreamConsumer<Tracker>>,
    commits: bool,
    state: Arc<Mutex<Held>>,
    /// The partitions whose end this subscription has reached at least once.
    ended: BTreeSet<i32>,
    /// How many partitions the topic had when the subscription began.
    partitions: usize,
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
        }
    }

    /// Whether the end of every partition held has been reached at least
    /// once: everything the topic held when the subscription began is read.
    pub(crate) fn at_end(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.generation > 0 && state.partitions.iter().all(|p| self.ended.contains(p))
    }

    /// The next record; `None` when an end of a partition is reached instead.
    pub(crate) async fn next_or_end(&mut self) -> Result<Option<Record>> {
        let m = match self.consumer.recv().await {
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
