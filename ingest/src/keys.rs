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
//!   none comes within [`TAKEOVER`] of the first claim (its v7 id tells when;
//!   a clock a little behind the claimer's only shortens the wait, and a
//!   report published twice under one id is stored once), or at once when
//!   that claim is older (the node that claimed died before it
//!   published, or its publish failed), it publishes the report itself under
//!   the first claim's id and times, so the retry is neither lost nor doubled.
//!   It does so at once when the claim's attempt failed on this node, or
//!   was made by this node's previous process (killed, then started again).
//!
//! Every node follows the topic into its own `ingest.redb` ([`follow`]), so a
//! retry that reaches any node later finds the key there at once. A node
//! that cannot read the topic up to its claim answers 503: it never accepts
//! a key twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bus::{Bus, Topic};
use model::{Report, ReportId, wire};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
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
    /// When the claim's report was received, and when it says it happened:
    /// a takeover publishes the report with these, so that it is the same
    /// record as one the first attempt may have published after all
    /// (ClickHouse keeps a report by its region, time and id).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub received_at: Option<time::OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reported_at: Option<time::OffsetDateTime>,
    /// The `node_name` of the node that claimed, and an id of its process:
    /// a node started again takes over the claims its previous process left
    /// at once (that process is gone), rather than after [`TAKEOVER`].
    #[serde(default)]
    pub node: Option<(String, Uuid)>,
}

/// The keys shared through the `idempotency` topic. Cheap to clone.
#[derive(Clone)]
pub struct SharedKeys {
    bus: Bus,
    store: Store,
    /// Claims of this node waiting to be read back from the topic.
    waiting: Arc<Mutex<HashMap<Uuid, oneshot::Sender<()>>>>,
    /// Claims of this node whose report could not be published: a retry
    /// takes them over at once. A claim older than [`TAKEOVER`] is taken
    /// over at once anyway ([`claim_age`]), so it is forgotten then: the set
    /// holds at most the claims that failed in the last [`TAKEOVER`].
    abandoned: Arc<Mutex<HashSet<Uuid>>>,
    /// This node's name and the id of this process (see [`KeyRecord::node`]).
    node: Option<(String, Uuid)>,
}

impl std::fmt::Debug for SharedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedKeys")
    }
}

impl SharedKeys {
    pub fn new(bus: Bus, store: Store) -> Self {
        Self { bus, store, waiting: Arc::default(), abandoned: Arc::default(), node: None }
    }

    /// Names the node (its `node_name`, unique among the ingest nodes).
    pub fn named(mut self, node_name: &str) -> Self {
        self.node = Some((node_name.to_owned(), Uuid::now_v7()));
        self
    }

    /// Whether `claim` was made by an earlier process of this node, which
    /// is gone since this one runs in its place.
    fn left_by_earlier_process(&self, claim: &KeyRecord) -> bool {
        match (&self.node, &claim.node) {
            (Some((ours, now)), Some((theirs, then))) => ours == theirs && now != then,
            _ => false,
        }
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

    async fn first_claim(&self, key: &str) -> Result<Option<KeyRecord>, Error> {
        let (store, k) = (self.store.clone(), key.to_owned());
        tokio::task::spawn_blocking(move || store.first_claim(&k)).await.map_err(|e| Error::Storage(e.to_string()))?
    }

    /// Publishes this node's `claim` and waits until [`follow`] has applied
    /// it, and with it everything before it in its partition, to the store.
    /// The claim is known by its own id, not by the offset the broker gave
    /// back: nothing here depends on a broker reporting offsets the way its
    /// consumers then see them.
    async fn claim(&self, claim: &KeyRecord) -> Result<(), Error> {
        let (read, read_back) = oneshot::channel();
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).insert(claim.claim, read);
        let outcome = match self.publish(claim).await {
            Ok(_) => match tokio::time::timeout(READ_UP_TO_CLAIM, read_back).await {
                Ok(Ok(())) => Ok(()),
                _ => Err(Error::Unavailable(bus::Error::Unavailable(
                    "the idempotency keys of the other ingest nodes cannot be read right now".into(),
                ))),
            },
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            self.waiting.lock().unwrap_or_else(|e| e.into_inner()).remove(&claim.claim);
            // the claim may be on the topic, but this attempt publishes
            // nothing under it: its retry takes it over at once
            self.abandon(claim.claim);
        }
        outcome
    }

    /// Notes that this node's attempt under `claim` publishes nothing, and
    /// forgets the claims that no retry needs the note of any more.
    fn abandon(&self, claim: Uuid) {
        let mut abandoned = self.abandoned.lock().unwrap_or_else(|e| e.into_inner());
        abandoned.retain(|c| claim_age(*c) < TAKEOVER);
        abandoned.insert(claim);
    }

    async fn publish(&self, record: &KeyRecord) -> Result<(), Error> {
        Ok(self.bus.publish(Topic::Idempotency, &record.key, &wire::encode(record)).await?)
    }

    /// Publishes `report` under `claim` and records the key as used.
    async fn publish_report(&self, intake: &Intake, claim: &KeyRecord, report: Report) -> Result<ReportId, Error> {
        let id = match intake.publish(report).await {
            Ok(id) => id,
            Err(e) => {
                self.abandon(claim.claim);
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
        // The store learns of `used` from the topic ([`follow`]); a retry that
        // comes before it claims again, and reading up to that claim brings
        // `used` in. (Writing it here too cost a commit, a disk flush, on
        // every request, one after another.)
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
        let claim = KeyRecord {
            key: key.clone(),
            id: report.id.0,
            digest,
            claim: Uuid::now_v7(),
            used: false,
            received_at: Some(report.received_at),
            reported_at: Some(report.reported_at),
            node: self.node.clone(),
        };
        self.claim(&claim).await?;
        let first = self
            .first_claim(&key)
            .await?
            .ok_or_else(|| Error::Storage(format!("the claim {} of an idempotency key was not kept", claim.claim)))?;
        let (first_id, first_claim) = (first.id, first.claim);
        if let Some(first) = self.used(&key, digest).await? {
            return Ok(first);
        }
        if first_claim == claim.claim {
            let id = self.publish_report(intake, &claim, report).await?;
            return Ok(Accepted { id, replayed: false, changed: false });
        }
        if first.digest != digest {
            return Ok(Accepted { id: ReportId(first_id), replayed: true, changed: true });
        }
        // a retry racing the first attempt: wait for its report
        // (kept until the report is out: a takeover that fails leaves the
        // claim abandoned for the next retry, which would otherwise wait)
        let abandoned = self.abandoned.lock().unwrap_or_else(|e| e.into_inner()).contains(&first_claim)
            || self.left_by_earlier_process(&first);
        if !abandoned {
            // from the first attempt's claim, not from this retry: a retry
            // long after a first attempt that never published takes over at once
            let deadline = tokio::time::Instant::now() + TAKEOVER.saturating_sub(claim_age(first_claim));
            while tokio::time::Instant::now() < deadline {
                if let Some(first) = self.used(&key, digest).await? {
                    return Ok(first);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tracing::warn!(key, report = %first_id, "the first attempt of an idempotency key never published; publishing it now");
        report.id = ReportId(first_id);
        report.received_at = first.received_at.unwrap_or(report.received_at);
        report.reported_at = first.reported_at.unwrap_or(report.reported_at);
        let id = self.publish_report(intake, &first, report).await?;
        self.abandoned.lock().unwrap_or_else(|e| e.into_inner()).remove(&first_claim);
        Ok(Accepted { id, replayed: true, changed: false })
    }
}

/// How long ago `claim` (a v7 id, made by [`Uuid::now_v7`] on the node that
/// claimed) was made, by this node's clock; zero for a claim from a clock
/// ahead of this one's, or an id that holds no time.
fn claim_age(claim: Uuid) -> Duration {
    let Some((secs, nanos)) = claim.get_timestamp().map(|t| t.to_unix()) else { return Duration::ZERO };
    let made = std::time::UNIX_EPOCH + Duration::new(secs, nanos);
    std::time::SystemTime::now().duration_since(made).unwrap_or(Duration::ZERO)
}

/// Keeps `keys`' store current from the `idempotency` topic, from its start,
/// forever (records applied again change nothing).
pub async fn follow(keys: SharedKeys) -> bus::Result<()> {
    let mut sub = keys.bus.replay_promptly(Topic::Idempotency).await?;
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
        let claims: Vec<Uuid> = records.iter().filter(|r| !r.used).map(|r| r.claim).collect();
        let store = keys.store.clone();
        tokio::task::spawn_blocking(move || store.apply_keys(&records))
            .await
            .map_err(|e| bus::Error::Unavailable(e.to_string()))?
            .map_err(|e| bus::Error::Unavailable(e.to_string()))?;
        let mut waiting = keys.waiting.lock().unwrap_or_else(|e| e.into_inner());
        for claim in claims {
            if let Some(read) = waiting.remove(&claim) {
                let _ = read.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::{NoContext, Timestamp};

    fn made_at(at: std::time::SystemTime) -> Uuid {
        let at = at.duration_since(std::time::UNIX_EPOCH).unwrap();
        Uuid::new_v7(Timestamp::from_unix(NoContext, at.as_secs(), at.subsec_nanos()))
    }

    fn made_ago(ago: Duration) -> Uuid {
        made_at(std::time::SystemTime::now() - ago)
    }

    #[test]
    fn a_claim_is_as_old_as_its_id_says() {
        assert!(claim_age(Uuid::now_v7()) < Duration::from_secs(1));
        let old = claim_age(made_ago(Duration::from_secs(20)));
        assert!(old >= Duration::from_secs(20) && old < Duration::from_secs(21), "{old:?}");
        // a clock ahead of ours, and an id without a time
        assert_eq!(claim_age(made_at(std::time::SystemTime::now() + Duration::from_secs(60))), Duration::ZERO);
        assert_eq!(claim_age(Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef)), Duration::ZERO);
    }
}
