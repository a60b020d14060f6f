//! The directory of accounts and credentials: a view of the compacted
//! `accounts` topic that every node keeps, so all api nodes agree on who may
//! do what.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bus::{Bus, Topic};
use model::{Account, AccountRecord, Credential, CredentialKind, Role, wire};
use time::OffsetDateTime;

use crate::secrets;

/// The id of the credential made from `auth.bootstrap_token`.
pub const BOOTSTRAP_ID: &str = "bootstrap";

/// Failed credential checks allowed within [`WINDOW`], per credential id and
/// per client address; past them, checks are refused (429) until the oldest
/// failure is a window old. Each failure costs an Argon2 run; a secret that
/// verified before costs nothing and is never refused.
pub const FAILURES_PER_ID: usize = 10;
pub const FAILURES_PER_ADDRESS: usize = 30;
pub const WINDOW: Duration = Duration::from_secs(60);

/// Why a credential did not sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a valid credential now (401).
    Invalid,
    /// Too many failed checks lately for this credential id or this address:
    /// no check is made until this long has passed (429).
    Throttled(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A token id, as sent from one address (none when unknown). Anyone can
    /// send any id: counted across addresses, a stranger's wrong secrets
    /// would lock the token's owner out.
    Id(String, Option<IpAddr>),
    Address(IpAddr),
}

impl Key {
    fn limit(&self) -> usize {
        match self {
            Key::Id(..) => FAILURES_PER_ID,
            Key::Address(_) => FAILURES_PER_ADDRESS,
        }
    }
}

/// The times of recent failed checks, per credential id and per address.
/// (A window of times rather than governor's cells: a check must be refused
/// before it runs, but only failures may count, and governor cannot count
/// an event without first deciding whether to allow it.)
#[derive(Debug, Default)]
struct Throttle {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

/// The address a throttle counts: IPv6 clients by their /64, which one
/// subscriber usually holds whole.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl Throttle {
    /// The keys counted for a check of credential `id` (if any) from `from`.
    fn keys(id: Option<&str>, from: Option<IpAddr>) -> Vec<Key> {
        let address = from.map(address_key);
        id.map(|id| Key::Id(id.to_owned(), address)).into_iter().chain(address.map(Key::Address)).collect()
    }

    /// Refuses while one of `keys` has used up its failures.
    fn check(&self, keys: &[Key]) -> Result<(), Refusal> {
        let now = Instant::now();
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let wait = keys
            .iter()
            .filter_map(|key| {
                let times = failures.get(key)?;
                let recent = times.iter().filter(|t| now.duration_since(**t) < WINDOW).count();
                (recent >= key.limit())
                    .then(|| WINDOW.saturating_sub(now.duration_since(times[times.len() - key.limit()])))
            })
            .max()
            .unwrap_or_default();
        if wait.is_zero() { Ok(()) } else { Err(Refusal::Throttled(wait)) }
    }

    /// Counts a failure of each of `keys`.
    fn failed(&self, keys: Vec<Key>) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 10_000 {
            failures.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        for key in keys {
            let limit = key.limit();
            let times = failures.entry(key).or_default();
            times.push_back(now);
            if times.len() > limit {
                times.pop_front();
            }
        }
    }
}

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
    throttle: Arc<Throttle>,
    /// Argon2 checks run so far.
    argon_runs: Arc<AtomicU64>,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            argon: Arc::new(tokio::sync::Semaphore::new(2)),
            throttle: Arc::default(),
            argon_runs: Arc::default(),
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

    /// Refuses a phone number or Telegram id that an account other than
    /// `name` has, active or not: each may sign one account in. The error
    /// names the field.
    pub fn check_identities(
        &self,
        name: &str,
        phone: Option<&str>,
        telegram: Option<&str>,
    ) -> Result<(), &'static str> {
        let inner = self.read();
        let others = || inner.accounts.values().filter(|a| a.name != name);
        if phone.is_some_and(|p| others().any(|a| a.phone.as_deref() == Some(p))) {
            return Err("phone");
        }
        if telegram.is_some_and(|t| others().any(|a| a.telegram.as_deref() == Some(t))) {
            return Err("telegram");
        }
        Ok(())
    }

    pub fn has_active_admin(&self) -> bool {
        self.read().accounts.values().any(|a| a.active && a.role == Role::Admin)
    }

    /// Refuses while the credential `id` or the address `from` has used up
    /// its failed checks (see [`FAILURES_PER_ID`]); for other failures that
    /// must cost like a wrong token, such as asking whose a phone number is.
    pub fn throttled(&self, id: Option<&str>, from: Option<IpAddr>) -> Result<(), Refusal> {
        self.throttle.check(&Throttle::keys(id, from))
    }

    /// Counts a failure against the credential `id` and the address `from`.
    pub fn count_failure(&self, id: Option<&str>, from: Option<IpAddr>) {
        self.throttle.failed(Throttle::keys(id, from));
    }

    /// Checks a sign-in password against `hash` (a dummy one without),
    /// throttled per address like token checks: refused while `from` has
    /// used up its failures, and a wrong password counts as one.
    pub async fn verify_password(
        &self,
        password: String,
        hash: Option<String>,
        from: Option<IpAddr>,
    ) -> Result<bool, Refusal> {
        let Ok(_permit) = self.argon.acquire().await else { return Err(Refusal::Invalid) };
        let keys = Throttle::keys(None, from);
        self.throttle.check(&keys)?;
        let ok = self.argon2(password, hash).await;
        if !ok {
            self.throttle.failed(keys);
        }
        Ok(ok)
    }

    /// Serialises read-modify-write changes of one account on this node.
    pub async fn lock(&self, name: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let slot = name.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)) % self.locks.len();
        self.locks[slot].lock().await
    }

    /// Runs Argon2 on a blocking thread, for a caller that holds one of the
    /// two permits, so that a flood of wrong secrets cannot stall the runtime
    /// or exhaust memory. Without a `hash`, checks against a dummy one, which
    /// takes as long.
    async fn argon2(&self, secret: String, hash: Option<String>) -> bool {
        self.argon_runs.fetch_add(1, Ordering::Relaxed);
        let known = hash.is_some();
        let checked = tokio::task::spawn_blocking(move || {
            secrets::verify(&secret, hash.as_deref().unwrap_or_else(|| secrets::dummy_hash()))
        });
        checked.await.unwrap_or(false) && known
    }

    /// The account a secret signs in, if it is a valid credential of `kind`
    /// of an active account at `now`. Argon2 runs once per credential; after
    /// that a fingerprint of the verified secret is compared. Every other
    /// attempt costs one Argon2 run, whether or not its id exists (so the time
    /// taken does not tell), and counts as a failure of its id and of the
    /// address `from` unless it succeeds.
    pub async fn authenticate(
        &self,
        secret: &str,
        kind: CredentialKind,
        now: OffsetDateTime,
        from: Option<IpAddr>,
    ) -> Result<(Account, Credential), Refusal> {
        let id = secrets::token_id(secret).unwrap_or(BOOTSTRAP_ID);
        let fingerprint = secrets::fingerprint(secret);
        let (usable, known) = {
            let inner = self.read();
            let found =
                inner.credentials.get(id).and_then(|c| Some((inner.accounts.get(&c.account)?.clone(), c.clone())));
            let usable = found
                .filter(|(account, credential)| credential.kind == kind && credential.valid_at(now) && account.active);
            (usable, inner.verified.get(id).cloned())
        };
        if let (Some(found), Some(known)) = (&usable, &known)
            && secrets::constant_time_eq(known, &fingerprint)
        {
            return Ok(found.clone());
        }
        let Ok(_permit) = self.argon.acquire().await else { return Err(Refusal::Invalid) };
        // checked with the permit held, so that requests queued behind the
        // permit see the failures of those before them
        let keys = Throttle::keys(Some(id), from);
        self.throttle.check(&keys)?;
        let hash = usable.as_ref().map(|(_, credential)| credential.hash.clone());
        let verified = self.argon2(secret.to_owned(), hash).await;
        match usable {
            Some(found) if verified => {
                self.write().verified.insert(id.to_owned(), fingerprint);
                Ok(found)
            }
            _ => {
                self.throttle.failed(keys);
                Err(Refusal::Invalid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manage::{fresh_account, fresh_credential};

    fn directory_with(name: &str) -> (Directory, String) {
        let directory = Directory::default();
        let now = OffsetDateTime::now_utc();
        let regions = vec![model::RegionCode::parse("72").unwrap()];
        directory.apply(AccountRecord::Account(fresh_account(name, name, Role::Operator, regions, now)));
        let (id, token) = secrets::new_token().unwrap();
        let hash = secrets::hash(&token).unwrap();
        directory.apply(AccountRecord::Credential(fresh_credential(id, name, CredentialKind::ApiToken, hash, "", now)));
        (directory, token)
    }

    fn runs(d: &Directory) -> u64 {
        d.argon_runs.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn unknown_ids_cost_an_argon2_run_like_known_ones() {
        let (directory, token) = directory_with("petugas");
        let now = OffsetDateTime::now_utc();
        let check = |secret: String, kind| {
            let directory = directory.clone();
            async move { directory.authenticate(&secret, kind, now, None).await.map(|(a, _)| a.name) }
        };
        let id = secrets::token_id(&token).unwrap().to_owned();
        let mut counted = Vec::new();
        for (secret, kind, expected) in [
            (format!("ktn_{id}_salah"), CredentialKind::ApiToken, Err(Refusal::Invalid)),
            ("ktn_000000000000_salah".to_owned(), CredentialKind::ApiToken, Err(Refusal::Invalid)),
            ("bukan-token".to_owned(), CredentialKind::ApiToken, Err(Refusal::Invalid)),
            (token.clone(), CredentialKind::Session, Err(Refusal::Invalid)),
            (token.clone(), CredentialKind::ApiToken, Ok("petugas".to_owned())),
            // verified before: the fingerprint, no Argon2
            (token.clone(), CredentialKind::ApiToken, Ok("petugas".to_owned())),
            // a wrong secret for an id whose secret is cached costs the same as any other
            (format!("ktn_{id}_salah"), CredentialKind::ApiToken, Err(Refusal::Invalid)),
        ] {
            let before = runs(&directory);
            assert_eq!(check(secret.clone(), kind).await, expected, "{secret}");
            counted.push(runs(&directory) - before);
        }
        assert_eq!(counted, [1, 1, 1, 1, 1, 0, 1]);
    }

    #[tokio::test]
    async fn failed_checks_are_throttled_per_id_and_per_address() {
        let (directory, token) = directory_with("petugas");
        let now = OffsetDateTime::now_utc();
        let here: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
        let check = |secret: String, from: Option<IpAddr>| {
            let directory = directory.clone();
            async move { directory.authenticate(&secret, CredentialKind::ApiToken, now, from).await.map(|_| ()) }
        };
        assert_eq!(check(token.clone(), here).await, Ok(()));
        let id = secrets::token_id(&token).unwrap().to_owned();
        // the same number of failures for a known id and an unknown one, each
        // from its own address
        for (n, wrong) in [format!("ktn_{id}_salah"), "ktn_000000000000_salah".to_owned()].into_iter().enumerate() {
            let from = Some(IpAddr::from([198, 51, 100, n as u8]));
            for _ in 0..FAILURES_PER_ID {
                assert_eq!(check(wrong.clone(), from).await, Err(Refusal::Invalid), "{wrong}");
            }
            let before = runs(&directory);
            let refused = check(wrong.clone(), from).await;
            assert!(matches!(refused, Err(Refusal::Throttled(wait)) if wait > Duration::ZERO), "{wrong}: {refused:?}");
            assert_eq!(runs(&directory), before, "a throttled check runs no Argon2");
        }
        // the real secret, verified before, still works
        assert_eq!(check(token.clone(), here).await, Ok(()));

        // many ids from one address; another address is not affected
        for n in 0..FAILURES_PER_ADDRESS {
            assert_eq!(check(format!("ktn_b{n:011}_salah"), here).await, Err(Refusal::Invalid));
        }
        assert!(matches!(check("ktn_aaaaaaaaaaaa_salah".into(), here).await, Err(Refusal::Throttled(_))));
        assert_eq!(
            check("ktn_aaaaaaaaaaaa_salah".into(), Some(IpAddr::from([203, 0, 113, 9]))).await,
            Err(Refusal::Invalid)
        );
        assert_eq!(check(token, here).await, Ok(()));
        // an IPv6 client is counted by its /64
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn a_stranger_sending_an_id_cannot_lock_its_owner_out() {
        let (directory, token) = directory_with("petugas");
        let now = OffsetDateTime::now_utc();
        let id = secrets::token_id(&token).unwrap().to_owned();
        let stranger = Some(IpAddr::from([198, 51, 100, 7]));
        for _ in 0..=FAILURES_PER_ID {
            let _ = directory.authenticate(&format!("ktn_{id}_salah"), CredentialKind::ApiToken, now, stranger).await;
        }
        // first use of the real secret on this node, from the owner's address
        let owner = Some(IpAddr::from([192, 0, 2, 1]));
        assert!(directory.authenticate(&token, CredentialKind::ApiToken, now, owner).await.is_ok());
        // nor does junk without an id count against anyone but its sender
        for _ in 0..=FAILURES_PER_ID {
            let _ = directory.authenticate("sampah", CredentialKind::ApiToken, now, stranger).await;
        }
        assert_eq!(
            directory.authenticate("sampah", CredentialKind::ApiToken, now, owner).await.map(|_| ()),
            Err(Refusal::Invalid)
        );
    }
}
