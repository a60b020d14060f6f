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

/// Accounts and credentials, shared by every handler of this node.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    inner: Arc<RwLock<Inner>>,
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
        bus.publish(Topic::Accounts, &record.key(), &wire::encode(&record))
            .await?;
        self.apply(record);
        Ok(())
    }

    /// Reads the topic up to its end; returns the subscription to follow.
    pub async fn load(&self, bus: &Bus) -> Result<bus::Subscription, bus::Error> {
        let (records, sub) = bus.catch_up(Topic::Accounts).await?;
        for record in records {
            self.apply_bytes(&record.payload);
        }
        Ok(sub)
    }

    fn apply_bytes(&self, payload: &[u8]) {
        match wire::decode::<AccountRecord>(payload) {
            Ok(record) => self.apply(record),
            Err(e) => tracing::warn!(error = %e, "ignoring unreadable accounts record"),
        }
    }

    /// Keeps following the topic after [`Directory::load`].
    pub async fn follow(self, mut sub: bus::Subscription) -> Result<(), bus::Error> {
        loop {
            let record = sub.next().await?;
            self.apply_bytes(&record.payload);
        }
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
        let mut out: Vec<Credential> = self
            .read()
            .credentials
            .values()
            .filter(|c| c.account == account)
            .cloned()
            .collect();
        out.sort_by_key(|c| c.created_at);
        out
    }

    /// The active account registered with a phone number (`+62…`).
    pub fn by_phone(&self, phone: &str) -> Option<Account> {
        self.read()
            .accounts
            .values()
            .find(|a| a.active && a.phone.as_deref() == Some(phone))
            .cloned()
    }

    /// The active account registered with a Telegram user id.
    pub fn by_telegram(&self, id: &str) -> Option<Account> {
        self.read()
            .accounts
            .values()
            .find(|a| a.active && a.telegram.as_deref() == Some(id))
            .cloned()
    }

    pub fn has_active_admin(&self) -> bool {
        self.read()
            .accounts
            .values()
            .any(|a| a.active && a.role == Role::Admin)
    }

    /// The account a secret signs in, if it is a valid credential of `kind`
    /// of an active account at `now`. Argon2 runs once per credential; after
    /// that a fingerprint of the verified secret is compared.
    pub fn authenticate(
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
                let ok = secrets::verify(secret, &credential.hash);
                if ok {
                    self.write().verified.insert(id.to_owned(), fingerprint);
                }
                ok
            }
        };
        ok.then_some((account, credential))
    }
}
