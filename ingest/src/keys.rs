//! Idempotency keys that every ingest node recognises, over Kafka.
//!
//! The `idempotency` topic (compacted, keyed by the idempotency key) is the
//! record of which keys are taken. A node that gets a key it has not seen
//! claims it there first: it publishes a claim (the report id it would use,
//! the submission's digest, a claim id of its own), then waits until it has
//! read the topic up to its own claim. The log orders the claims of one key
//! (they share a partition), so every node agrees which came first:
//! - its own: the node publishes the report, then `used` for the key;
//! - another's, for other content: the key was used for something else (422);
//! - another's, for the same content: a retry racing the first attempt. The
//!   node waits for that attempt's `used` and answers with its report id; if
//!   none comes within [`TAKEOVER`] (the node that claimed died before it
//!   published, or its publish failed), it publishes the report itself under
//!   the first claim's id, so the retry is neither lost nor doubled.
//!
//! Every node follows the topic into its own `ingest.redb` ([`follow`]), so a
//! retry that reaches any node later finds the key there at once. A node
//! that cannot read the topic up to its claim answers 503: it never accepts
//! a key twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::{Bus, Position, Topic};
use model::{Report, ReportId, wire};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{Accepted, Error, Intake, Store};

/// How long a node waits to read the topic up to its own claim.
const READ_UP_TO_CLAIM: Duration = Duration::from_secs(10);
/// How long a retry waits for the first attempt's report before it
/// publishes the report itself.
pub const TAKEOVER: Duration = Duration::from_secs(15);

/// A record of the `idempotency` topic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key: String,
    /// The report id.
    pub id: Uuid,
    /// SHA-256 of the submission.
    pub digest: [u8; 32],
    /// The claim's own id (a claim), or the claim the report was published under.
    pub claim: Uuid,
    /// `false`: a claim; `true`: the report is on the log.
    pub used: bool,
}

/// The keys shared through the `idempotency` topic. Cheap to clone.
#[derive(Clone)]
pub struct SharedKeys {
    bus: Bus,
    store: Store,
    /// The highest offset of each partition applied to the store.
    read: Arc<watch::Sender<HashMap<i32, i64>>>,
    /// Claims of this node whose report could not be published: a retry
    /// takes them over at once.
    abandoned: Arc<Mutex<HashSet<Uuid>>>,
}

impl std::fmt::Debug for SharedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedKeys")
    }
}

impl SharedKeys {
    pub fn new(bus: Bus, store: Store) -> Self {
        Self { bus, store, read: Arc::new(watch::channel(HashMap::new()).0), abandoned: Arc::default() }
    }

    /// The first report for `key`, if the key was used.
    async fn used(&self, key: &str, digest: [u8; 32]) -> Result<Option<Accepted>, Error> {
        let (store, k) = (self.store.clone(), key.to_owned());
        let seen = tokio::task::spawn_blocking(move || store.idempotent(&k))
            .await
            .map_err(|e| Error::Storage(e.to_string()))??;
        Ok(seen.map(|(id, first)| Accepted {
            id: ReportId(Uuid::from_u128(id)),
            replayed: true,
            changed: first.is_some_and(|d| d != digest),
        }))
    }

    async fn first_claim(&self, key: &str) -> Result<Option<(u128, [u8; 32], u128)>, Error> {
        let (store, k) = (self.store.clone(), key.to_owned());
        tokio::task::spawn_blocking(move || store.first_claim(&k)).await.map_err(|e| Error::Storage(e.to_string()))?
    }

    /// Waits until the store holds everything up to `at`.
    async fn read_up_to(&self, at: Position) -> Result<(), Error> {
        let mut read = self.read.subscribe();
        let reached = read.wait_for(|m| m.get(&at.partition).is_some_and(|o| *o >= at.offset));
        match tokio::time::timeout(READ_UP_TO_CLAIM, reached).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(Error::Unavailable(bus::Error::Unavailable(
                "the idempotency keys of the other ingest nodes cannot be read right now".into(),
            ))),
        }
    }

    async fn publish(&self, record: &KeyRecord) -> Result<Position, Error> {
        Ok(self.bus.publish_at(Topic::Idempotency, &record.key, &wire::encode(record)).await?)
    }

    /// Publishes `report` under `claim` and records the key as used.
    async fn publish_report(&self, intake: &Intake, claim: &KeyRecord, report: Report) -> Result<ReportId, Error> {
        let id = match intake.accept(report).await {
            Ok(id) => id,
            Err(e) => {
                self.abandoned.lock().unwrap_or_else(|e| e.into_inner()).insert(claim.claim);
                return Err(e);
            }
        };
        let used = KeyRecord { used: true, ..claim.clone() };
        // The report is durable: from here on only its retries could be
        // doubled, so `used` is worth a few tries.
        for attempt in 0..3 {
            match self.publish(&used).await {
                Ok(_) => break,
                Err(e) if attempt == 2 => {
                    tracing::error!(report = %id, error = %e, "could not record the idempotency key as used")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let (store, key, digest) = (self.store.clone(), claim.key.clone(), claim.digest);
        let _ = tokio::task::spawn_blocking(move || store.remember(&key, id.0.as_u128(), digest)).await;
        Ok(id)
    }

    /// [`Intake::accept_once`] over Kafka (see the module's text). The
    /// caller holds this node's lock of `key`.
    pub(crate) async fn accept_once(
        &self,
        intake: &Intake,
        key: String,
        digest: [u8; 32],
        mut report: Report,
    ) -> Result<Accepted, Error> {
        if let Some(first) = self.used(&key, digest).await? {
            return Ok(first);
        }
        let claim = KeyRecord { key: key.clone(), id: report.id.0, digest, claim: Uuid::now_v7(), used: false };
        let at = self.publish(&claim).await?;
        self.read_up_to(at).await?;
        let (first_id, first_digest, first_claim) = self
            .first_claim(&key)
            .await?
            .ok_or_else(|| Error::Storage(format!("the claim of an idempotency key at {at:?} was not kept")))?;
        let (first_id, first_claim) = (Uuid::from_u128(first_id), Uuid::from_u128(first_claim));
        if let Some(first) = self.used(&key, digest).await? {
            return Ok(first);
        }
        if first_claim == claim.claim {
            let id = self.publish_report(intake, &claim, report).await?;
            return Ok(Accepted { id, replayed: false, changed: false });
        }
        let first = KeyRecord { key: key.clone(), id: first_id, digest: first_digest, claim: first_claim, used: false };
        if first_digest != digest {
            return Ok(Accepted { id: ReportId(first_id), replayed: true, changed: true });
        }
        // a retry racing the first attempt: wait for its report
        let abandoned = self.abandoned.lock().unwrap_or_else(|e| e.into_inner()).remove(&first_claim);
        if !abandoned {
            let deadline = tokio::time::Instant::now() + TAKEOVER;
            while tokio::time::Instant::now() < deadline {
                if let Some(first) = self.used(&key, digest).await? {
                    return Ok(first);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tracing::warn!(key, report = %first_id, "the first attempt of an idempotency key never published; publishing it now");
        report.id = ReportId(first_id);
        let id = self.publish_report(intake, &first, report).await?;
        Ok(Accepted { id, replayed: true, changed: false })
    }
}

/// Keeps `keys`' store current from the `idempotency` topic, from its start,
/// forever (records applied again change nothing).
pub async fn follow(keys: SharedKeys) -> bus::Result<()> {
    let mut sub = keys.bus.replay(Topic::Idempotency).await?;
    loop {
        let batch = sub.next_batch(512, Duration::from_millis(2)).await?;
        let records: Vec<KeyRecord> = batch
            .iter()
            .filter_map(|r| {
                wire::decode::<KeyRecord>(&r.payload)
                    .inspect_err(
                        |e| tracing::warn!(offset = r.offset, error = %e, "skipping an unreadable idempotency record"),
                    )
                    .ok()
            })
            .collect();
        let store = keys.store.clone();
        tokio::task::spawn_blocking(move || store.apply_keys(&records))
            .await
            .map_err(|e| bus::Error::Unavailable(e.to_string()))?
            .map_err(|e| bus::Error::Unavailable(e.to_string()))?;
        keys.read.send_modify(|read| {
            for r in &batch {
                let o = read.entry(r.partition).or_insert(r.offset);
                *o = (*o).max(r.offset);
            }
        });
    }
}
