//! Creating and changing accounts, issuing and revoking credentials, and web
//! sign-in: checked against the caller's scope, published on `accounts`,
//! applied here at once, and audited.

use std::sync::Arc;

use bus::Bus;
use model::account::{MAX_NAME_CHARS, MAX_PASSWORD_BYTES, MAX_REGIONS};
use model::{Account, AccountRecord, Clock, Credential, CredentialKind, RegionCode, Role, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::audit::{AuditLog, Entry};
use crate::directory::{BOOTSTRAP_ID, Directory, Refusal};
use crate::lockout::Lockout;
use crate::{Caller, Error, Origin, Via, secrets};

/// API tokens an account may hold that are neither revoked nor expired.
pub const MAX_LIVE_TOKENS: usize = 20;
/// The furthest a token's `expires_at` may lie ahead.
pub const LONGEST_TOKEN: time::Duration = time::Duration::days(366);
/// How long a web session lasts.
pub const SESSION_TTL: time::Duration = time::Duration::hours(12);
/// The shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// What others may see of an account: never its hashes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub name: String,
    pub display_name: String,
    pub role: Role,
    /// Empty means national.
    pub regions: Vec<RegionCode>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub telegram: Option<String>,
    pub active: bool,
    pub has_password: bool,
    pub tokens: Vec<TokenView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub kind: CredentialKind,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// What it takes to create an account; shared by the API and `kentongan user add`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub name: String,
    pub role: Role,
    /// Kemendagri codes; empty means national.
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Mobile number; WhatsApp and SMS reports from it are this account's.
    #[serde(default)]
    pub phone: Option<String>,
    /// Telegram user id; reports to the bot from it are this account's.
    #[serde(default)]
    pub telegram: Option<String>,
    /// For web sign-in; at least 12 characters.
    #[serde(default)]
    pub password: Option<String>,
}

/// A change to an account; fields left out stay as they are, and an empty
/// email, phone or Telegram id clears it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub regions: Option<Vec<String>>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub telegram: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
}

/// A new API token's label and end.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[serde(default)]
    pub label: Option<String>,
    /// RFC 3339; the token stops working then.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A created account, with its first API token (shown only now).
#[derive(Debug)]
pub struct Created {
    pub account: AccountView,
    pub token: String,
}

/// An issued API token (the secret is shown only now).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    pub id: String,
    pub account: String,
    pub token: String,
}

/// A web session just opened.
#[derive(Debug)]
pub struct SignedIn {
    pub account: Account,
    /// The session's secret, for the cookie.
    pub secret: String,
    /// What every changing request on the session must send back.
    pub csrf: String,
}

fn check_name(name: &str) -> Result<(), Error> {
    model::account::check_account_name(name).map_err(|e| Error::invalid("name", e))
}

fn check_password(password: &str) -> Result<(), Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::invalid(
            "password",
            format!("give {MIN_PASSWORD_CHARS} characters to {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn check_display_name(name: &str) -> Result<String, Error> {
    model::account::check_display_name(name).map_err(|e| Error::invalid("display_name", e))
}

/// An email address, phone number or Telegram id as given: empty clears it,
/// anything else must be one valid value of its kind (a phone number is
/// returned as `+…`).
fn check_contact(field: &'static str, value: &str) -> Result<Option<String>, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let checked = match field {
        "email" => model::account::check_email(value).map(|()| value.to_owned()),
        "phone" => model::account::normalize_phone(value),
        _ => model::account::check_telegram(value).map(|()| value.to_owned()),
    };
    checked.map(Some).map_err(|e| Error::invalid(field, e))
}

fn parse_regions(codes: &[String]) -> Result<Vec<RegionCode>, Error> {
    let mut out = Vec::new();
    for c in codes {
        out.push(RegionCode::parse(c).map_err(|e| Error::invalid("regions", e))?);
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_REGIONS {
        return Err(Error::invalid(
            "regions",
            format!("list at most {MAX_REGIONS}; a province code covers all below it"),
        ));
    }
    Ok(out)
}

/// The audit form of an account: what changed, without secrets.
fn audit_value(a: &Account) -> Value {
    json!({ "role": a.role, "regions": a.regions, "display_name": a.display_name,
            "email": a.email, "phone": a.phone, "telegram": a.telegram, "active": a.active, "has_password": a.password_hash.is_some() })
}

/// A new active account, with no contacts and no password.
pub(crate) fn fresh_account(
    name: &str,
    display_name: &str,
    role: Role,
    regions: Vec<RegionCode>,
    now: OffsetDateTime,
) -> Account {
    Account {
        name: name.to_owned(),
        display_name: display_name.to_owned(),
        role,
        regions,
        email: None,
        phone: None,
        telegram: None,
        active: true,
        password_hash: None,
        created_at: now,
        updated_at: now,
    }
}

/// A credential of `kind` for `account` made `now`, with no end.
pub(crate) fn fresh_credential(
    id: String,
    account: &str,
    kind: CredentialKind,
    hash: String,
    label: &str,
    now: OffsetDateTime,
) -> Credential {
    Credential {
        id,
        account: account.to_owned(),
        kind,
        hash,
        label: label.to_owned(),
        csrf: None,
        created_at: now,
        expires_at: None,
        revoked_at: None,
    }
}

/// A new API token for `account`, with its record; the secret is returned once.
pub fn new_token(
    account: &str,
    label: &str,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(Credential, String), Error> {
    let (id, token) = secrets::new_token()?;
    let hash = secrets::hash(&token)?;
    let credential =
        Credential { expires_at, ..fresh_credential(id, account, CredentialKind::ApiToken, hash, label, now) };
    Ok((credential, token))
}

/// Checks `new`, and makes the account and its first API token. `creator`
/// is the scope of whoever creates it (`None` for the command line). Runs
/// Argon2: call it on a blocking thread.
pub fn make_account(
    new: NewAccount,
    creator: Option<&Scope>,
    directory: &Directory,
    now: OffsetDateTime,
) -> Result<(Account, Credential, String), Error> {
    check_name(&new.name)?;
    let regions = parse_regions(&new.regions)?;
    if let Some(scope) = creator
        && !scope.covers_all(&regions)
    {
        return Err(Error::OutsideScope(if regions.is_empty() {
            "a national admin to create a national account;"
        } else {
            "a national admin to create an account outside your regions;"
        }));
    }
    // Names are one namespace for the whole country, so a taken name must
    // be refused even when its account lies outside the caller's regions;
    // the answer is the same either way and says nothing of that account.
    if directory.account(&new.name).is_some() {
        return Err(Error::NameTaken(new.name));
    }
    // a blank display name is the sign-in name
    let display_name = match new.display_name.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => check_display_name(d)?,
        None => new.name.clone(),
    };
    let email = check_contact("email", new.email.as_deref().unwrap_or_default())?;
    let phone = check_contact("phone", new.phone.as_deref().unwrap_or_default())?;
    let telegram = check_contact("telegram", new.telegram.as_deref().unwrap_or_default())?;
    directory.check_identities(&new.name, phone.as_deref(), telegram.as_deref()).map_err(Error::IdentityTaken)?;
    let password_hash = match &new.password {
        Some(p) => {
            check_password(p)?;
            Some(secrets::hash(p)?)
        }
        None => None,
    };
    let account = Account {
        email,
        phone,
        telegram,
        password_hash,
        ..fresh_account(&new.name, &display_name, new.role, regions, now)
    };
    let (credential, token) = new_token(&account.name, "created with the account", None, now)?;
    Ok((account, credential, token))
}

/// The accounts of this node, and everything done to them: shared by every
/// handler, and by the command line.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub directory: Directory,
    pub audit: AuditLog,
    lockout: Lockout,
    bus: Bus,
    clock: Arc<dyn Clock>,
}

/// The actor the command line is audited as.
const COMMAND_LINE_ACTOR: &str = "kentongan user add";

impl Accounts {
    pub fn new(bus: Bus, clock: Arc<dyn Clock>) -> Self {
        Self {
            directory: Directory::default(),
            audit: AuditLog::new(bus.clone()),
            lockout: Lockout::default(),
            bus,
            clock,
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Appends `entry` to the audit log, now.
    pub async fn record(&self, entry: Entry<'_>) {
        self.audit.record(entry, self.clock.now()).await;
    }

    async fn save(&self, record: AccountRecord) -> Result<(), Error> {
        Ok(self.directory.save(&self.bus, record).await?)
    }

    /// What others may see of `a`, with its API tokens.
    pub fn view(&self, a: &Account) -> AccountView {
        AccountView {
            name: a.name.clone(),
            display_name: a.display_name.clone(),
            role: a.role,
            regions: a.regions.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            telegram: a.telegram.clone(),
            active: a.active,
            has_password: a.password_hash.is_some(),
            tokens: self
                .directory
                .credentials_of(&a.name)
                .into_iter()
                .filter(|c| c.kind == CredentialKind::ApiToken)
                .map(|c| TokenView {
                    id: c.id,
                    kind: c.kind,
                    label: c.label,
                    created_at: c.created_at,
                    expires_at: c.expires_at,
                    revoked_at: c.revoked_at,
                })
                .collect(),
        }
    }

    /// The caller's own account (gone means signed out).
    pub fn own(&self, caller: &Caller) -> Result<Account, Error> {
        self.directory.account(&caller.name).ok_or(Error::Unauthenticated)
    }

    /// The accounts inside the caller's scope.
    pub fn list(&self, caller: &Caller) -> Vec<AccountView> {
        self.directory.accounts().iter().filter(|a| caller.covers_all(&a.regions)).map(|a| self.view(a)).collect()
    }

    /// An account the caller (an admin) may manage; outside their scope it is
    /// not found, so that existence does not leak.
    pub fn managed(&self, caller: &Caller, name: &str) -> Result<Account, Error> {
        self.directory.account(name).filter(|a| caller.covers_all(&a.regions)).ok_or(Error::NotFound("account"))
    }

    /// Refuses a caller who has had too many names or numbers refused as taken
    /// (or too many wrong tokens) lately: each refusal tells whether a name or
    /// number is in use somewhere in the country, so asking costs like a failed
    /// token check and is throttled with it, per credential and per address.
    fn check_probes(&self, caller: &Caller, origin: Origin<'_>) -> Result<(), Error> {
        match self.directory.throttled(Some(&caller.credential), origin.peer) {
            Err(Refusal::Throttled(retry_after)) => Err(Error::Throttled {
                retry_after,
                reason: "too many names or numbers refused as taken lately: wait, then try again",
            }),
            _ => Ok(()),
        }
    }

    /// Records a refusal of a taken name or number: audited (national admins
    /// see it) and counted against the caller's credential and address.
    async fn refused(&self, caller: &Caller, origin: Origin<'_>, action: &str, target: &str, e: &Error) {
        self.directory.count_failure(Some(&caller.credential), origin.peer);
        let entry =
            Entry::new(&caller.name, action, target, &[], origin.text).after(json!({ "reason": e.to_string() }));
        self.record(entry).await;
    }

    /// Creates an account with its first API token: by `caller` within their
    /// scope, or from the command line (`None`).
    pub async fn create(&self, caller: Option<&Caller>, new: NewAccount, origin: Origin<'_>) -> Result<Created, Error> {
        if let Some(caller) = caller {
            self.check_probes(caller, origin)?;
        }
        let now = self.clock.now();
        let name = new.name.clone();
        let _guard = self.directory.lock(&name).await;
        let made = tokio::task::spawn_blocking({
            let (directory, scope) = (self.directory.clone(), caller.map(|c| c.scope.clone()));
            move || make_account(new, scope.as_ref(), &directory, now)
        });
        let (account, credential, token) = match made.await.map_err(Error::joined)? {
            Ok(made) => made,
            Err(e) => {
                if let Some(caller) = caller
                    && e.is_taken()
                {
                    self.refused(caller, origin, "account.create_refused", &name, &e).await;
                }
                return Err(e);
            }
        };
        self.save(AccountRecord::Account(account.clone())).await?;
        self.save(AccountRecord::Credential(credential)).await?;
        let actor = caller.map_or(COMMAND_LINE_ACTOR, |c| c.name.as_str());
        self.record(
            Entry::new(actor, "account.create", &account.name, &account.regions, origin.text)
                .after(audit_value(&account)),
        )
        .await;
        Ok(Created { account: self.view(&account), token })
    }

    /// Changes the account `name`, within the caller's scope.
    pub async fn update(
        &self,
        caller: &Caller,
        name: &str,
        change: AccountChange,
        origin: Origin<'_>,
    ) -> Result<AccountView, Error> {
        let password_hash = match change.password {
            Some(p) => {
                check_password(&p)?;
                Some(secrets::hash_blocking(p).await?)
            }
            None => None,
        };
        // Re-read under the lock, so a change made meanwhile is not overwritten.
        let _guard = self.directory.lock(name).await;
        let before = self.managed(caller, name)?;
        let mut after = before.clone();
        if let Some(d) = change.display_name {
            after.display_name = check_display_name(&d)?;
        }
        if let Some(r) = change.role {
            after.role = r;
        }
        if let Some(codes) = change.regions {
            let regions = parse_regions(&codes)?;
            if !caller.covers_all(&regions) {
                return Err(Error::OutsideScope("a national admin to give regions outside your own;"));
            }
            after.regions = regions;
        }
        if let Some(e) = change.email {
            after.email = check_contact("email", &e)?;
        }
        if let Some(p) = change.phone {
            after.phone = check_contact("phone", &p)?;
        }
        if let Some(t) = change.telegram {
            after.telegram = check_contact("telegram", &t)?;
        }
        if let Some(a) = change.active {
            if !a && name == caller.name {
                return Err(Error::invalid("active", "you cannot deactivate your own account; ask another admin"));
            }
            after.active = a;
        }
        fn changed<'a>(new: &'a Option<String>, old: &Option<String>) -> Option<&'a str> {
            new.as_deref().filter(|_| new != old)
        }
        let (phone, telegram) = (changed(&after.phone, &before.phone), changed(&after.telegram, &before.telegram));
        if phone.is_some() || telegram.is_some() {
            self.check_probes(caller, origin)?;
            if let Err(field) = self.directory.check_identities(name, phone, telegram) {
                let e = Error::IdentityTaken(field);
                self.refused(caller, origin, "account.update_refused", name, &e).await;
                return Err(e);
            }
        }
        // a password reset for someone else, or a deactivation, ends the
        // account's web sessions: whoever held one signs in again
        let end_sessions = (password_hash.is_some() && name != caller.name) || (before.active && !after.active);
        if password_hash.is_some() {
            after.password_hash = password_hash;
        }
        after.updated_at = self.clock.now();
        self.save(AccountRecord::Account(after.clone())).await?;
        if end_sessions {
            self.end_sessions(name).await?;
        }
        let mut regions = before.regions.clone();
        regions.extend(after.regions.iter().cloned());
        self.record(
            Entry::new(&caller.name, "account.update", name, &regions, origin.text)
                .before(audit_value(&before))
                .after(audit_value(&after)),
        )
        .await;
        Ok(self.view(&after))
    }

    /// Revokes every live web session of account `name`.
    async fn end_sessions(&self, name: &str) -> Result<(), Error> {
        let now = self.clock.now();
        for mut session in self.directory.credentials_of(name) {
            if session.kind == CredentialKind::Session && session.valid_at(now) {
                session.revoked_at = Some(now);
                self.save(AccountRecord::Credential(session)).await?;
            }
        }
        Ok(())
    }

    /// Sets the password of account `name` from the command line, which
    /// has every right (`kentongan user password`); ends its web sessions.
    pub async fn set_password(&self, name: &str, password: String) -> Result<(), Error> {
        check_password(&password)?;
        let hash = secrets::hash_blocking(password).await?;
        let _guard = self.directory.lock(name).await;
        let mut account = self.directory.account(name).ok_or(Error::NotFound("account"))?;
        account.password_hash = Some(hash);
        account.updated_at = self.clock.now();
        self.save(AccountRecord::Account(account.clone())).await?;
        self.end_sessions(name).await?;
        let origin = Origin::COMMAND_LINE.text;
        self.record(Entry::new("kentongan user password", "account.password", name, &account.regions, origin)).await;
        Ok(())
    }

    /// Issues an API token for `account` (the caller's own, or one they
    /// manage); at most [`MAX_LIVE_TOKENS`] live at once.
    pub async fn issue_token(
        &self,
        caller: &Caller,
        account: &Account,
        new: NewToken,
        origin: Origin<'_>,
    ) -> Result<IssuedToken, Error> {
        let now = self.clock.now();
        if new.expires_at.is_some_and(|e| e <= now || e > now + LONGEST_TOKEN) {
            return Err(Error::invalid("expires_at", "must be in the future and at most 366 days from now"));
        }
        let label = model::account::check_text(new.label.as_deref().unwrap_or_default(), 0, MAX_NAME_CHARS)
            .map_err(|e| Error::invalid("label", e))?;
        // counted and saved under the account's lock, so parallel requests cannot pass the cap together
        let _guard = self.directory.lock(&account.name).await;
        let live = self
            .directory
            .credentials_of(&account.name)
            .iter()
            .filter(|c| c.kind == CredentialKind::ApiToken && c.valid_at(now))
            .count();
        if live >= MAX_LIVE_TOKENS {
            return Err(Error::TooManyTokens(account.name.clone()));
        }
        let name = account.name.clone();
        let expires = new.expires_at;
        let (credential, token) = tokio::task::spawn_blocking(move || new_token(&name, &label, expires, now))
            .await
            .map_err(Error::joined)??;
        let id = credential.id.clone();
        self.save(AccountRecord::Credential(credential)).await?;
        self.record(
            Entry::new(&caller.name, "token.create", &format!("{}/{id}", account.name), &account.regions, origin.text)
                .after(json!({ "expires_at": expires.map(|e| e.to_string()) })),
        )
        .await;
        Ok(IssuedToken { id, account: account.name.clone(), token })
    }

    /// Sets the caller's own web password.
    pub async fn set_own_password(&self, caller: &Caller, password: String, origin: Origin<'_>) -> Result<(), Error> {
        check_password(&password)?;
        let hash = secrets::hash_blocking(password).await?;
        let _guard = self.directory.lock(&caller.name).await;
        let mut account = self.own(caller)?;
        account.password_hash = Some(hash);
        account.updated_at = self.clock.now();
        self.save(AccountRecord::Account(account.clone())).await?;
        self.record(Entry::new(&caller.name, "account.password", &caller.name, &account.regions, origin.text)).await;
        Ok(())
    }

    /// Revokes one's own credential `id`, or, for an admin, one of an account
    /// in scope; anything else is not found.
    pub async fn revoke(&self, caller: &Caller, id: &str, origin: Origin<'_>) -> Result<(), Error> {
        let mut credential = self.directory.credential(id).ok_or(Error::NotFound("token"))?;
        let owner = self.directory.account(&credential.account).ok_or(Error::NotFound("token"))?;
        let allowed = owner.name == caller.name || (caller.role == Role::Admin && caller.covers_all(&owner.regions));
        if !allowed {
            return Err(Error::NotFound("token"));
        }
        if credential.revoked_at.is_none() {
            credential.revoked_at = Some(self.clock.now());
            self.save(AccountRecord::Credential(credential)).await?;
        }
        self.record(Entry::new(
            &caller.name,
            "token.revoke",
            &format!("{}/{id}", owner.name),
            &owner.regions,
            origin.text,
        ))
        .await;
        Ok(())
    }

    /// Web sign-in with name and password: a new session, with its CSRF
    /// token. Throttled per address (shared with token checks, so one address
    /// cannot lock out every name in turn) and locked per name after
    /// repeated failures.
    pub async fn sign_in(&self, name: &str, password: String, origin: Origin<'_>) -> Result<SignedIn, Error> {
        let now = self.clock.now();
        // Nothing is counted or recorded for a name no account can have, nor for
        // a password no account can have.
        check_name(name)?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(Error::invalid("password", format!("is longer than {MAX_PASSWORD_BYTES} bytes")));
        }
        let throttled = |retry_after| Error::Throttled {
            retry_after,
            reason: "too many failed sign-ins from this address: wait, then try again",
        };
        if let Err(Refusal::Throttled(wait)) = self.directory.throttled(None, origin.peer) {
            return Err(throttled(wait));
        }
        if let Err(until) = self.lockout.attempt(name, now) {
            let secs = u64::try_from((until - now).whole_seconds().max(1)).unwrap_or(1);
            return Err(Error::LockedOut { retry_after: std::time::Duration::from_secs(secs) });
        }
        let account = self.directory.account(name).filter(|a| a.active);
        let checked = match account.as_ref() {
            // An account without a password (the bootstrap admin on a fresh
            // install, one made with only a token) signs in with one of its
            // API tokens, and then sets a password.
            Some(a) if a.password_hash.is_none() => self
                .directory
                .authenticate(&password, CredentialKind::ApiToken, now, origin.peer)
                .await
                .map(|(holder, _)| holder.name == a.name),
            // Without an account, check a dummy hash anyway, so the time
            // taken does not tell which names exist.
            _ => {
                let hash = account.as_ref().and_then(|a| a.password_hash.clone());
                self.directory.verify_password(password, hash, origin.peer).await
            }
        };
        let ok = match checked {
            Ok(ok) => ok,
            Err(Refusal::Throttled(wait)) => return Err(throttled(wait)),
            Err(Refusal::Invalid) => false,
        };
        let account = match (ok, account) {
            (true, Some(a)) => a,
            _ => {
                self.record(Entry::new(name, "sign_in_failed", name, &[], origin.text)).await;
                return Err(Error::WrongPassword);
            }
        };
        self.lockout.clear(&account.name);
        let (id, secret) = secrets::new_token()?;
        let csrf = secrets::random_hex(16)?;
        let hash = secrets::hash_blocking(secret.clone()).await?;
        let credential = Credential {
            csrf: Some(csrf.clone()),
            expires_at: Some(now + SESSION_TTL),
            ..fresh_credential(id, &account.name, CredentialKind::Session, hash, "web", now)
        };
        self.save(AccountRecord::Credential(credential)).await?;
        self.record(Entry::new(&account.name, "sign_in", &account.name, &account.regions, origin.text)).await;
        Ok(SignedIn { account, secret, csrf })
    }

    /// Signs out: revokes the session the caller came with.
    pub async fn sign_out(&self, caller: &Caller, origin: Origin<'_>) -> Result<(), Error> {
        if caller.via == Via::Session
            && let Some(mut credential) = self.directory.credential(&caller.credential)
        {
            credential.revoked_at = Some(self.clock.now());
            self.save(AccountRecord::Credential(credential)).await?;
        }
        self.record(Entry::new(&caller.name, "sign_out", &caller.name, &[], origin.text)).await;
        Ok(())
    }

    /// The caller a secret signs in, if it is a valid credential of `kind` of
    /// an active account now; see [`Directory::authenticate`].
    pub async fn authenticate(
        &self,
        secret: &str,
        kind: CredentialKind,
        peer: Option<std::net::IpAddr>,
    ) -> Result<(Caller, Credential), Error> {
        let via = if kind == CredentialKind::Session { Via::Session } else { Via::Bearer };
        let (account, credential) =
            self.directory.authenticate(secret, kind, self.clock.now(), peer).await.map_err(|r| match r {
                Refusal::Invalid => Error::Unauthenticated,
                Refusal::Throttled(retry_after) => Error::Throttled {
                    retry_after,
                    reason: "too many failed sign-ins with this token or from this address: wait, then send a valid token",
                },
            })?;
        let caller = Caller {
            scope: account.scope(),
            name: account.name,
            role: account.role,
            credential: credential.id.clone(),
            via,
        };
        Ok((caller, credential))
    }

    /// Creates the national admin `admin` with `token` when no admin exists yet.
    pub async fn bootstrap(&self, token: &str) -> Result<(), Error> {
        if self.directory.has_active_admin() {
            return Ok(());
        }
        // Never overwrite what exists: an `admin` account that was demoted or
        // deactivated, or a bootstrap token that was revoked, stays so.
        if self.directory.account("admin").is_some() || self.directory.credential(BOOTSTRAP_ID).is_some() {
            tracing::warn!(
                "auth.bootstrap_token is ignored: the account `admin` or its bootstrap token already exists"
            );
            return Ok(());
        }
        let now = self.clock.now();
        let account = fresh_account("admin", "Administrator", Role::Admin, Vec::new(), now);
        let hash = secrets::hash_blocking(token.to_owned()).await?;
        let credential =
            fresh_credential(BOOTSTRAP_ID.into(), "admin", CredentialKind::ApiToken, hash, "auth.bootstrap_token", now);
        self.save(AccountRecord::Account(account)).await?;
        self.save(AccountRecord::Credential(credential)).await?;
        tracing::info!("created the national admin `admin` from auth.bootstrap_token");
        Ok(())
    }
}

/// Whether `sent` is the CSRF token of the session `credential`.
pub fn csrf_matches(credential: &Credential, sent: &str) -> bool {
    let expected = credential.csrf.as_deref().unwrap_or_default();
    !expected.is_empty() && secrets::constant_time_eq(sent.as_bytes(), expected.as_bytes())
}

#[cfg(test)]
mod tests {
    use model::SystemClock;

    use crate::AuditFilter;

    use super::*;

    fn accounts() -> (Accounts, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let bus = Bus::Embedded(bus::embedded::EmbeddedLog::open(&dir.path().join("bus.redb")).unwrap());
        (Accounts::new(bus, Arc::new(SystemClock)), dir)
    }

    fn new(name: &str, role: Role, regions: &[&str]) -> NewAccount {
        NewAccount {
            name: name.into(),
            role,
            regions: regions.iter().map(|r| r.to_string()).collect(),
            display_name: None,
            email: None,
            phone: None,
            telegram: None,
            password: Some("kata-sandi-panjang".into()),
        }
    }

    fn caller(name: &str, scope: Scope) -> Caller {
        Caller { name: name.into(), role: Role::Admin, scope, credential: "c".into(), via: Via::Bearer }
    }

    const HERE: Origin<'static> = Origin { text: "192.0.2.1", peer: None };

    #[tokio::test]
    async fn accounts_are_made_within_the_creators_scope_and_names_are_one_namespace() {
        let (accounts, _dir) = accounts();
        let created =
            accounts.create(None, new("dewi", Role::Operator, &["72.71"]), Origin::COMMAND_LINE).await.unwrap();
        assert_eq!(created.account.regions, [RegionCode::parse("72.71").unwrap()]);
        let (found, _) = accounts.authenticate(&created.token, CredentialKind::ApiToken, None).await.unwrap();
        assert_eq!((found.name.as_str(), found.role), ("dewi", Role::Operator));

        let sulteng = caller("admin-72", Scope::Regions(vec![RegionCode::parse("72").unwrap()]));
        let outside = accounts.create(Some(&sulteng), new("budi", Role::Analyst, &["31"]), HERE).await;
        assert!(matches!(outside, Err(Error::OutsideScope(_))), "{outside:?}");
        let national = accounts.create(Some(&sulteng), new("budi", Role::Analyst, &[]), HERE).await;
        assert!(matches!(national, Err(Error::OutsideScope(_))), "{national:?}");
        // a name taken anywhere, even outside the caller's scope
        let jakarta = caller("admin-31", Scope::Regions(vec![RegionCode::parse("31").unwrap()]));
        let taken = accounts.create(Some(&jakarta), new("dewi", Role::Analyst, &["31"]), HERE).await;
        assert!(matches!(&taken, Err(Error::NameTaken(n)) if n == "dewi"), "{taken:?}");
        assert!(accounts.directory.account("budi").is_none(), "a refusal changes nothing");
        // the refusal is audited where national admins see it
        let refused = accounts.audit.events(&Scope::All, &AuditFilter::default());
        assert!(refused.iter().any(|e| e.action == "account.create_refused"), "{refused:?}");
        let bad = accounts.create(None, new("Bad Name", Role::Analyst, &[]), Origin::COMMAND_LINE).await;
        assert!(matches!(bad, Err(Error::Invalid { field: "name", .. })), "{bad:?}");
    }

    #[tokio::test]
    async fn sign_in_locks_a_name_out_after_repeated_failures() {
        let (accounts, _dir) = accounts();
        accounts.create(None, new("dewi", Role::Operator, &["72"]), Origin::COMMAND_LINE).await.unwrap();
        let session = accounts.sign_in("dewi", "kata-sandi-panjang".into(), HERE).await.unwrap();
        let (signed, credential) = accounts.authenticate(&session.secret, CredentialKind::Session, None).await.unwrap();
        assert_eq!(signed.via, Via::Session);
        assert!(csrf_matches(&credential, &session.csrf) && !csrf_matches(&credential, "salah"));
        for _ in 0..crate::lockout::MAX_FAILURES {
            let wrong = accounts.sign_in("dewi", "bukan-sandinya".into(), HERE).await;
            assert!(matches!(wrong, Err(Error::WrongPassword)), "{wrong:?}");
        }
        let locked = accounts.sign_in("dewi", "kata-sandi-panjang".into(), HERE).await;
        assert!(matches!(locked, Err(Error::LockedOut { retry_after }) if retry_after.as_secs() > 60), "{locked:?}");
        // signing out revokes the session
        accounts.sign_out(&signed, HERE).await.unwrap();
        let after = accounts.authenticate(&session.secret, CredentialKind::Session, None).await;
        assert!(matches!(after, Err(Error::Unauthenticated)), "{after:?}");
    }
}
