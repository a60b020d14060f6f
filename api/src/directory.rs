//! The directory of accounts and credentials: a view of the compacted
//! `accounts` topic that every node keeps, so all api nodes agree on who may
//! do what.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use bus::{Bus, Topic};
use model::{Account, AccountRecord, Credential, CredentialKind, Role, wire};
use time::OffsetDateTime;

use crate::secrets;

/// The id of the credential made from `auth.bootstrap_token`.
pub const BOOTSTRAP_ID: &str = "bootstrap";

#[derive(Debug, Default)]
struct Inner {
    accounts: BTreeMap<String, Account>,
    credentials: HashMap<String, Credential>,
    /// Credential id → fingerprint of the secret that last verified.
    verified: HashMap<String, Vec<u8>>,
}

impl bus::View for Directory {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<AccountRecord>(&record.payload) {
            Ok(r) => Directory::apply(self, r),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring unreadable accounts record"),
        }
    }
}

/// Accounts and credentials, shared by every handler of this node.
#[derive(Debug, Clone)]
pub struct Directory {
    inner: Arc<RwLock<Inner>>,
    locks: Arc<[tokio::sync::Mutex<()>]>,
    argon: Arc<tokio::sync::Semaphore>,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            argon: Arc::new(tokio::sync::Semaphore::new(2)),
        }
    }
}

impl Directory {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one record of the `accounts` topic.
    pub fn apply(&self, record: AccountRecord) {
        let mut inner = self.write();
        match record {
            AccountRecord::Account(a) => {
                inner.accounts.insert(a.name.clone(), a);
            }
            AccountRecord::Credential(c) => {
                inner.verified.remove(&c.id);
                inner.credentials.insert(c.id.clone(), c);
            }
        }
    }

    /// Publishes `record` and applies it here at once, so this node reads
    /// its own writes; other nodes follow the topic.
    pub async fn save(&self, bus: &Bus, record: AccountRecord) -> Result<(), bus::Error> {
        bus.publish(Topic::Accounts, &record.key(), &wire::encode(&record)).await?;
        self.apply(record);
        Ok(())
    }

    pub fn account(&self, name: &str) -> Option<Account> {
        self.read().accounts.get(name).cloned()
    }

    pub fn accounts(&self) -> Vec<Account> {
        self.read().accounts.values().cloned().collect()
    }

    pub fn credential(&self, id: &str) -> Option<Credential> {
        self.read().credentials.get(id).cloned()
    }

    pub fn credentials_of(&self, account: &str) -> Vec<Credential> {
        let mut out: Vec<Credential> =
            self.read().credentials.values().filter(|c| c.account == account).cloned().collect();
        out.sort_by_key(|c| c.created_at);
        out
    }

    /// The active account registered with a phone number (`+62…`).
    pub fn by_phone(&self, phone: &str) -> Option<Account> {
        self.read().accounts.values().find(|a| a.active && a.phone.as_deref() == Some(phone)).cloned()
    }

    /// The active account registered with a Telegram user id.
    pub fn by_telegram(&self, id: &str) -> Option<Account> {
        self.read().accounts.values().find(|a| a.active && a.telegram.as_deref() == Some(id)).cloned()
    }

    pub fn has_active_admin(&self) -> bool {
        self.read().accounts.values().any(|a| a.active && a.role == Role::Admin)
    }

    /// Serialises read-modify-write changes of one account on this node.
    pub async fn lock(&self, name: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let slot = name.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.locks.len();
        self.locks[slot].lock().await
    }

    /// Runs Argon2 on a blocking thread, at most two at a time, so that a
    /// flood of wrong secrets cannot stall the runtime or exhaust memory.
    pub async fn verify(&self, secret: String, hash: String) -> bool {
        let Ok(_permit) = self.argon.acquire().await else { return false };
        tokio::task::spawn_blocking(move || secrets::verify(&secret, &hash)).await.unwrap_or(false)
    }

    /// The account a secret signs in, if it is a valid credential of `kind`
    /// of an active account at `now`. Argon2 runs once per credential; after
    /// that a fingerprint of the verified secret is compared.
    pub async fn authenticate(
        &self,
        secret: &str,
        kind: CredentialKind,
        now: OffsetDateTime,
    ) -> Option<(Account, Credential)> {
        let id = secrets::token_id(secret).unwrap_or(BOOTSTRAP_ID);
        let (account, credential, known) = {
            let inner = self.read();
            let credential = inner.credentials.get(id)?.clone();
            let account = inner.accounts.get(&credential.account)?.clone();
            (account, credential, inner.verified.get(id).cloned())
        };
        if credential.kind != kind || !credential.valid_at(now) || !account.active {
            return None;
        }
        let fingerprint = secrets::fingerprint(secret);
        let ok = match known {
            Some(f) => secrets::constant_time_eq(&f, &fingerprint),
            None => {
                let ok = self.verify(secret.to_owned(), credential.hash.clone()).await;
                if ok {
                    self.write().verified.insert(id.to_owned(), fingerprint);
                }
                ok
            }
        };
        ok.then_some((account, credential))
    }
}
