//! The intake's own durable state, in `data_dir/ingest.redb`: idempotency
//! keys, parts of long SMS messages waiting for the rest, and what each feed
//! has already delivered.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

const IDEMPOTENCY: TableDefinition<&str, u128> = TableDefinition::new("idempotency");
const SMS_PARTS: TableDefinition<&str, &[u8]> = TableDefinition::new("sms_parts");
const FEED_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("feed_state");
const FEED_SEEN: TableDefinition<&str, i64> = TableDefinition::new("feed_seen");

/// The intake's durable state. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path)
    }
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let fail = |e: &dyn std::fmt::Display| Error::Storage(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let db = Database::create(path).map_err(|e| fail(&e))?;
        let txn = db.begin_write().map_err(|e| fail(&e))?;
        txn.open_table(IDEMPOTENCY).map_err(|e| fail(&e))?;
        txn.open_table(SMS_PARTS).map_err(|e| fail(&e))?;
        txn.open_table(FEED_STATE).map_err(|e| fail(&e))?;
        txn.open_table(FEED_SEEN).map_err(|e| fail(&e))?;
        txn.commit().map_err(|e| fail(&e))?;
        Ok(Self { db: Arc::new(db), path: path.display().to_string() })
    }

    fn fail(&self, e: impl std::fmt::Display) -> Error {
        Error::Storage(format!("{}: {e}", self.path))
    }

    /// The report id first given for `key`.
    pub fn idempotent(&self, key: &str) -> Result<Option<u128>, Error> {
        let txn = self.db.begin_read().map_err(|e| self.fail(e))?;
        let t = txn.open_table(IDEMPOTENCY).map_err(|e| self.fail(e))?;
        Ok(t.get(key).map_err(|e| self.fail(e))?.map(|v| v.value()))
    }

    /// Records `id` as the report for `key`, durably.
    pub fn remember(&self, key: &str, id: u128) -> Result<(), Error> {
        let txn = self.db.begin_write().map_err(|e| self.fail(e))?;
        txn.open_table(IDEMPOTENCY).map_err(|e| self.fail(e))?.insert(key, id).map_err(|e| self.fail(e))?;
        txn.commit().map_err(|e| self.fail(e))
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, Error> {
        let txn = self.db.begin_read().map_err(|e| self.fail(e))?;
        let t = txn.open_table(table).map_err(|e| self.fail(e))?;
        let Some(v) = t.get(key).map_err(|e| self.fail(e))? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value()).map(Some).map_err(|e| self.fail(e))
    }

    fn put_json<T: Serialize>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
        value: Option<&T>,
    ) -> Result<(), Error> {
        let txn = self.db.begin_write().map_err(|e| self.fail(e))?;
        {
            let mut t = txn.open_table(table).map_err(|e| self.fail(e))?;
            match value {
                Some(v) => {
                    let bytes = serde_json::to_vec(v).map_err(|e| self.fail(e))?;
                    t.insert(key, bytes.as_slice()).map_err(|e| self.fail(e))?;
                }
                None => {
                    t.remove(key).map_err(|e| self.fail(e))?;
                }
            }
        }
        txn.commit().map_err(|e| self.fail(e))
    }

    fn all_json<T: DeserializeOwned>(&self, table: TableDefinition<&str, &[u8]>) -> Result<Vec<(String, T)>, Error> {
        let txn = self.db.begin_read().map_err(|e| self.fail(e))?;
        let t = txn.open_table(table).map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.fail(e))? {
            let (k, v) = row.map_err(|e| self.fail(e))?;
            out.push((k.value().to_owned(), serde_json::from_slice(v.value()).map_err(|e| self.fail(e))?));
        }
        Ok(out)
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
        let txn = self.db.begin_read().map_err(|e| self.fail(e))?;
        let t = txn.open_table(FEED_SEEN).map_err(|e| self.fail(e))?;
        Ok(t.get(Self::seen_key(url, item).as_str()).map_err(|e| self.fail(e))?.is_some())
    }

    /// Marks `item` of the feed at `url` as delivered, durably.
    pub fn mark_seen(&self, url: &str, item: &str, at: i64) -> Result<(), Error> {
        let txn = self.db.begin_write().map_err(|e| self.fail(e))?;
        txn.open_table(FEED_SEEN)
            .map_err(|e| self.fail(e))?
            .insert(Self::seen_key(url, item).as_str(), at)
            .map_err(|e| self.fail(e))?;
        txn.commit().map_err(|e| self.fail(e))
    }
}
