//! The intake's own durable state, in `data_dir/ingest.redb`: idempotency
//! keys, parts of long SMS messages waiting for the rest, and what each feed
//! has already delivered.

use std::path::Path;
use std::sync::Arc;

use bus::reopen::ReopeningDb;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// The report id first given for an idempotency key, and the digest of that
/// submission (`None` for keys recorded before digests were kept).
pub type FirstGiven = (u128, Option<[u8; 32]>);

const IDEMPOTENCY: TableDefinition<&str, FirstGiven> = TableDefinition::new("idempotency.v2");
/// The first format, key → report id, converted at open.
const IDEMPOTENCY_V1: TableDefinition<&str, u128> = TableDefinition::new("idempotency");
/// Over Kafka: the first claim of each key on the `idempotency` topic (see
/// [`crate::keys`]), as the topic carries it.
const CLAIMS: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency.claims.v2");
/// The first format of [`CLAIMS`] (without the claim's times), dropped at
/// open: the table is made again from the topic.
const CLAIMS_V1: TableDefinition<&str, (u128, [u8; 32], u128)> = TableDefinition::new("idempotency.claims");
/// Without Kafka: the keys whose report is on its way to the log (a
/// [`Pending`] each), written before it goes there and cleared by
/// [`Store::remember`] once it is.
const PENDING: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency.pending");
const SMS_PARTS: TableDefinition<&str, &[u8]> = TableDefinition::new("sms_parts");
const FEED_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("feed_state");
const FEED_SEEN: TableDefinition<&str, i64> = TableDefinition::new("feed_seen");

/// The report an idempotency key's first attempt is publishing: after a
/// crash before the key was remembered, its retry publishes this same report
/// (id and times) again rather than a second one, and the stores, which keep
/// a report by its id, hold it once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub id: uuid::Uuid,
    pub digest: [u8; 32],
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: time::OffsetDateTime,
}

/// The intake's durable state. Cheap to clone. After an I/O error (a full
/// disk) the file is opened again once it can be written.
#[derive(Clone)]
pub struct Store {
    db: Arc<ReopeningDb>,
    path: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path)
    }
}

/// Makes every table, and converts the keys of the first format: those of
/// `Idempotency-Key` headers (`key/<account>/<key>`) are kept; those made of
/// a channel and an `external_id` named no account or verified sender, so
/// one account could take another's, and are dropped.
fn setup(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    let v1 = txn.list_tables()?.any(|t| t.name() == IDEMPOTENCY_V1.name());
    {
        let mut keys = txn.open_table(IDEMPOTENCY)?;
        if v1 {
            let old = txn.open_table(IDEMPOTENCY_V1)?;
            for row in old.iter()? {
                let (key, id) = row?;
                if key.value().starts_with("key/") {
                    keys.insert(key.value(), (id.value(), None))?;
                }
            }
        }
    }
    if v1 {
        txn.delete_table(IDEMPOTENCY_V1)?;
    }
    if txn.list_tables()?.any(|t| t.name() == CLAIMS_V1.name()) {
        txn.delete_table(CLAIMS_V1)?;
    }
    txn.open_table(CLAIMS)?;
    txn.open_table(PENDING)?;
    txn.open_table(SMS_PARTS)?;
    txn.open_table(FEED_STATE)?;
    txn.open_table(FEED_SEEN)?;
    Ok(())
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let fail = |e: &dyn std::fmt::Display| Error::Storage(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let db = ReopeningDb::open(path, setup).map_err(|e| fail(&e))?;
        Ok(Self { db: Arc::new(db), path: path.display().to_string() })
    }

    /// Runs `f` on the database. The error a client is told names no path;
    /// the log has it.
    fn with<T>(&self, f: impl FnOnce(&Database) -> Result<T, redb::Error>) -> Result<T, Error> {
        let result = match self.db.get() {
            Ok(db) => self.db.check(f(&db)).map_err(|e| e.to_string()),
            Err(reason) => Err(reason),
        };
        result.map_err(|reason| {
            tracing::error!(path = %self.path, error = %reason, "intake storage failed");
            Error::Storage(reason)
        })
    }

    /// Whether the store can be used, for `/readyz`; after an I/O error, this
    /// is also what tries to open it again when nothing else does. Blocks.
    pub fn ready(&self) -> Result<(), String> {
        self.db.get().map(drop)
    }

    /// The report id first given for `key`, and the digest of what was
    /// submitted then (`None` if it was recorded before digests were kept).
    pub fn idempotent(&self, key: &str) -> Result<Option<FirstGiven>, Error> {
        self.with(|db| Ok(db.begin_read()?.open_table(IDEMPOTENCY)?.get(key)?.map(|v| v.value())))
    }

    /// Records `id` as the report for `key`, submitted with `digest`, durably
    /// (and the key as no longer [`Store::pending`]).
    pub fn remember(&self, key: &str, id: u128, digest: [u8; 32]) -> Result<(), Error> {
        self.with(|db| {
            let txn = db.begin_write()?;
            txn.open_table(IDEMPOTENCY)?.insert(key, (id, Some(digest)))?;
            txn.open_table(PENDING)?.remove(key)?;
            txn.commit()?;
            Ok(())
        })
    }

    /// The first claim of `key` read from the `idempotency` topic.
    pub fn first_claim(&self, key: &str) -> Result<Option<crate::keys::KeyRecord>, Error> {
        let bytes = self.with(|db| Ok(db.begin_read()?.open_table(CLAIMS)?.get(key)?.map(|v| v.value().to_vec())))?;
        bytes.map(|b| model::wire::decode(&b)).transpose().map_err(|e| Error::Storage(e.to_string()))
    }

    /// Applies records of the `idempotency` topic, in their order, in one
    /// transaction: the first claim of a key is kept, and a key's first use
    /// is remembered as [`Store::remember`] does.
    pub fn apply_keys(&self, records: &[crate::keys::KeyRecord]) -> Result<(), Error> {
        self.with(|db| {
            let txn = db.begin_write()?;
            {
                let mut claims = txn.open_table(CLAIMS)?;
                let mut used = txn.open_table(IDEMPOTENCY)?;
                for r in records {
                    let id = r.id.as_u128();
                    if r.used {
                        if used.get(r.key.as_str())?.is_none() {
                            used.insert(r.key.as_str(), (id, Some(r.digest)))?;
                        }
                    } else if claims.get(r.key.as_str())?.is_none() {
                        claims.insert(r.key.as_str(), model::wire::encode(r).as_slice())?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        })
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, Error> {
        let bytes = self.with(|db| Ok(db.begin_read()?.open_table(table)?.get(key)?.map(|v| v.value().to_vec())))?;
        bytes.map(|b| serde_json::from_slice(&b)).transpose().map_err(|e| Error::Storage(e.to_string()))
    }

    fn put_json<T: Serialize>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
        value: Option<&T>,
    ) -> Result<(), Error> {
        let bytes = value.map(serde_json::to_vec).transpose().map_err(|e| Error::Storage(e.to_string()))?;
        self.with(|db| {
            let txn = db.begin_write()?;
            {
                let mut t = txn.open_table(table)?;
                match &bytes {
                    Some(b) => {
                        t.insert(key, b.as_slice())?;
                    }
                    None => {
                        t.remove(key)?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        })
    }

    fn all_json<T: DeserializeOwned>(&self, table: TableDefinition<&str, &[u8]>) -> Result<Vec<(String, T)>, Error> {
        let rows = self.with(|db| {
            let txn = db.begin_read()?;
            let t = txn.open_table(table)?;
            let mut out = Vec::new();
            for row in t.iter()? {
                let (k, v) = row?;
                out.push((k.value().to_owned(), v.value().to_vec()));
            }
            Ok(out)
        })?;
        rows.into_iter()
            .map(|(k, v)| serde_json::from_slice(&v).map(|v| (k, v)).map_err(|e| Error::Storage(e.to_string())))
            .collect()
    }

    /// The report `key`'s first attempt was publishing when it last had
    /// news of it (see [`Pending`]).
    pub fn pending(&self, key: &str) -> Result<Option<Pending>, Error> {
        self.get_json(PENDING, key)
    }

    /// Records, durably, that `key`'s report is going to the log.
    pub fn set_pending(&self, key: &str, pending: &Pending) -> Result<(), Error> {
        self.put_json(PENDING, key, Some(pending))
    }

    pub fn sms_parts<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.get_json(SMS_PARTS, key)
    }

    pub fn put_sms_parts<T: Serialize>(&self, key: &str, value: Option<&T>) -> Result<(), Error> {
        self.put_json(SMS_PARTS, key, value)
    }

    pub fn all_sms_parts<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, Error> {
        self.all_json(SMS_PARTS)
    }

    pub fn feed_state<T: DeserializeOwned>(&self, url: &str) -> Result<Option<T>, Error> {
        self.get_json(FEED_STATE, url)
    }

    pub fn put_feed_state<T: Serialize>(&self, url: &str, value: &T) -> Result<(), Error> {
        self.put_json(FEED_STATE, url, Some(value))
    }

    fn seen_key(url: &str, item: &str) -> String {
        format!("{url}\u{1f}{item}")
    }

    /// Whether the feed at `url` has already delivered `item`.
    pub fn seen(&self, url: &str, item: &str) -> Result<bool, Error> {
        let key = Self::seen_key(url, item);
        self.with(|db| Ok(db.begin_read()?.open_table(FEED_SEEN)?.get(key.as_str())?.is_some()))
    }

    /// Marks `item` of the feed at `url` as delivered, durably.
    pub fn mark_seen(&self, url: &str, item: &str, at: i64) -> Result<(), Error> {
        let key = Self::seen_key(url, item);
        self.with(|db| {
            let txn = db.begin_write()?;
            txn.open_table(FEED_SEEN)?.insert(key.as_str(), at)?;
            txn.commit()?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store of the first format opens; the keys of `Idempotency-Key`
    /// headers still answer, those of channel and `external_id` are gone.
    #[test]
    fn keys_of_the_first_format_are_converted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ingest.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut t = txn.open_table(IDEMPOTENCY_V1).unwrap();
                t.insert("key/budi/hp-1", 7u128).unwrap();
                t.insert("ext/sms/SM1", 8u128).unwrap();
            }
            txn.open_table(SMS_PARTS).unwrap();
            txn.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.idempotent("key/budi/hp-1").unwrap(), Some((7, None)));
        assert_eq!(store.idempotent("ext/sms/SM1").unwrap(), None);
        store.remember("sms/+6281/SM1", 9, [1; 32]).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.idempotent("sms/+6281/SM1").unwrap(), Some((9, Some([1; 32]))));
        assert_eq!(store.idempotent("key/budi/hp-1").unwrap(), Some((7, None)));
    }
}
