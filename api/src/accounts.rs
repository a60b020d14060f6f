//! Accounts, tokens and web sign-in: `/api/v1/users`, `/api/v1/me`,
//! `/api/v1/tokens` and `/api/v1/session`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::account::{MAX_NAME_CHARS, MAX_PASSWORD_BYTES, MAX_REGIONS};
use model::{Account, AccountRecord, Credential, CredentialKind, RegionCode, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, SESSION_COOKIE, Source, Via, rate_limited};
use crate::directory::{Directory, Refusal};
use crate::error::{ApiError, ApiJson, ApiJsonOrEmpty};
use crate::secrets;

/// Failed sign-ins before an account is locked, and for how long.
pub const MAX_FAILURES: usize = 5;
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);
/// API tokens an account may hold that are neither revoked nor expired.
pub const MAX_LIVE_TOKENS: usize = 20;
/// The furthest a token's `expires_at` may lie ahead.
pub const LONGEST_TOKEN: time::Duration = time::Duration::days(366);
/// How long a web session lasts.
pub const SESSION_TTL: time::Duration = time::Duration::hours(12);

/// What others may see of an account: never its hashes.
#[derive(Debug, Serialize)]
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

#[derive(Debug, Serialize)]
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

fn view(directory: &Directory, a: &Account) -> AccountView {
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
        tokens: directory
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

/// The audit form of an account: what changed, without secrets.
fn audit_value(a: &Account) -> Value {
    json!({ "role": a.role, "regions": a.regions, "display_name": a.display_name,
            "email": a.email, "phone": a.phone, "telegram": a.telegram, "active": a.active, "has_password": a.password_hash.is_some() })
}

fn check_name(name: &str) -> Result<(), ApiError> {
    model::account::check_account_name(name).map_err(|e| ApiError::invalid("name", e))
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 12 || password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid("password", format!("give 12 characters to {MAX_PASSWORD_BYTES} bytes")));
    }
    Ok(())
}

fn check_display_name(name: &str) -> Result<String, ApiError> {
    model::account::check_display_name(name).map_err(|e| ApiError::invalid("display_name", e))
}

/// An email address, phone number or Telegram id as given: empty clears it,
/// anything else must be one valid value of its kind (a phone number is
/// returned as `+…`).
fn check_contact(field: &'static str, value: &str) -> Result<Option<String>, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let checked = match field {
        "email" => model::account::check_email(value).map(|()| value.to_owned()),
        "phone" => model::account::normalize_phone(value),
        _ => model::account::check_telegram(value).map(|()| value.to_owned()),
    };
    checked.map(Some).map_err(|e| ApiError::invalid(field, e))
}

/// Refuses a caller who has had too many names or numbers refused as taken
/// (or too many wrong tokens) lately: each refusal tells whether a name or
/// number is in use somewhere in the country, so asking costs like a failed
/// token check and is throttled with it, per credential and per address.
fn check_probes(state: &AppState, caller: &Caller, source: &Source) -> Result<(), ApiError> {
    match state.directory.throttled(Some(&caller.credential), source.1) {
        Err(Refusal::Throttled(wait)) => {
            Err(rate_limited(wait, "too many names or numbers refused as taken lately: wait, then try again"))
        }
        _ => Ok(()),
    }
}

/// Records a refusal of a taken name or number: audited (national admins
/// see it) and counted against the caller's credential and address.
async fn refused(state: &AppState, caller: &Caller, source: &Source, action: &str, target: &str, e: &ApiError) {
    state.directory.count_failure(Some(&caller.credential), source.1);
    let entry = Entry::new(&caller.name, action, target, &[], source).after(json!({ "reason": e.message }));
    audit::record(state, entry).await;
}

/// The answer when a phone number or Telegram id is already another
/// account's: each may sign in one account only, or reports from it could be
/// filed as someone else's (in another region, say).
fn taken(what: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "unavailable",
        format!("{what}: is registered to another account; each can belong to one account only"),
    )
}

fn parse_regions(codes: &[String]) -> Result<Vec<RegionCode>, ApiError> {
    let mut out = Vec::new();
    for c in codes {
        out.push(RegionCode::parse(c).map_err(|e| ApiError::invalid("regions", e))?);
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_REGIONS {
        return Err(ApiError::invalid(
            "regions",
            format!("list at most {MAX_REGIONS}; a province code covers all below it"),
        ));
    }
    Ok(out)
}

/// A new API token for `account`, with its record; the secret is returned once.
pub fn new_token(
    account: &str,
    label: &str,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(Credential, String), ApiError> {
    let (id, token) = secrets::new_token()?;
    let credential = Credential {
        id,
        account: account.to_owned(),
        kind: CredentialKind::ApiToken,
        hash: secrets::hash(&token)?,
        label: label.to_owned(),
        csrf: None,
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    Ok((credential, token))
}

/// What it takes to create an account; shared by the API and `kentongan user add`.
#[derive(Debug, Clone, Deserialize)]
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

/// Checks `new`, and makes the account and its first API token. `creator`
/// is the scope of whoever creates it (`None` for the command line).
pub fn make_account(
    new: NewAccount,
    creator: Option<&Caller>,
    directory: &Directory,
    now: OffsetDateTime,
) -> Result<(Account, Credential, String), ApiError> {
    check_name(&new.name)?;
    let regions = parse_regions(&new.regions)?;
    if let Some(caller) = creator
        && !caller.covers_all(&regions)
    {
        let what = if regions.is_empty() { "a national account" } else { "an account outside your regions" };
        return Err(ApiError::forbidden(&format!("a national admin to create {what};")));
    }
    // Names are one namespace for the whole country, so a taken name must
    // be refused even when its account lies outside the caller's regions;
    // the answer is the same either way and says nothing of that account.
    if directory.account(&new.name).is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "unavailable",
            format!("name: `{}` is not available; choose another", new.name),
        ));
    }
    // a blank display name is the sign-in name
    let display_name = match new.display_name.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => check_display_name(d)?,
        None => new.name.clone(),
    };
    let email = check_contact("email", new.email.as_deref().unwrap_or_default())?;
    let phone = check_contact("phone", new.phone.as_deref().unwrap_or_default())?;
    let telegram = check_contact("telegram", new.telegram.as_deref().unwrap_or_default())?;
    directory.check_identities(&new.name, phone.as_deref(), telegram.as_deref()).map_err(taken)?;
    let password_hash = match &new.password {
        Some(p) => {
            check_password(p)?;
            Some(secrets::hash(p)?)
        }
        None => None,
    };
    let account = Account {
        display_name,
        name: new.name,
        role: new.role,
        regions,
        email,
        phone,
        telegram,
        active: true,
        password_hash,
        created_at: now,
        updated_at: now,
    };
    let (credential, token) = new_token(&account.name, "created with the account", None, now)?;
    Ok((account, credential, token))
}

/// `POST /api/v1/users`: creates an account and returns its API token, once.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(new): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_probes(&state, &caller, &source)?;
    let now = state.clock.now();
    let directory = state.directory.clone();
    let name = new.name.clone();
    let _guard = state.directory.lock(&name).await;
    let made = tokio::task::spawn_blocking({
        let caller = caller.clone();
        move || make_account(new, Some(&caller), &directory, now)
    });
    let (account, credential, token) = match made.await.map_err(ApiError::internal)? {
        Ok(made) => made,
        Err(e) => {
            if e.status == StatusCode::CONFLICT {
                refused(&state, &caller, &source, "account.create_refused", &name, &e).await;
            }
            return Err(e);
        }
    };
    state.directory.save(&state.bus, AccountRecord::Account(account.clone())).await?;
    state.directory.save(&state.bus, AccountRecord::Credential(credential)).await?;
    audit::record(
        &state,
        Entry::new(&caller.name, "account.create", &account.name, &account.regions, &source)
            .after(audit_value(&account)),
    )
    .await;
    let mut body = serde_json::to_value(view(&state.directory, &account)).map_err(ApiError::internal)?;
    body["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(body)))
}

/// An account the caller (an admin) may manage, or 404 so existence does not leak.
fn managed(state: &AppState, caller: &Caller, name: &str) -> Result<Account, ApiError> {
    state
        .directory
        .account(name)
        .filter(|a| caller.covers_all(&a.regions))
        .ok_or_else(|| ApiError::not_found("account"))
}

/// `GET /api/v1/users`: the accounts inside the caller's scope.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let accounts: Vec<AccountView> = state
        .directory
        .accounts()
        .iter()
        .filter(|a| caller.covers_all(&a.regions))
        .map(|a| view(&state.directory, a))
        .collect();
    Json(json!({ "users": accounts }))
}

#[derive(Debug, Deserialize)]
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

/// `PATCH /api/v1/users/{name}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<AccountChange>,
) -> Result<Json<AccountView>, ApiError> {
    let password_hash = match change.password {
        Some(p) => {
            check_password(&p)?;
            Some(secrets::hash_blocking(p).await?)
        }
        None => None,
    };
    // Re-read under the lock, so a change made meanwhile is not overwritten.
    let _guard = state.directory.lock(&name).await;
    let before = managed(&state, &caller, &name)?;
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
            return Err(ApiError::forbidden("a national admin to give regions outside your own;"));
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
        after.active = a;
    }
    fn changed<'a>(new: &'a Option<String>, old: &Option<String>) -> Option<&'a str> {
        new.as_deref().filter(|_| new != old)
    }
    let (phone, telegram) = (changed(&after.phone, &before.phone), changed(&after.telegram, &before.telegram));
    if phone.is_some() || telegram.is_some() {
        check_probes(&state, &caller, &source)?;
        if let Err(e) = state.directory.check_identities(&name, phone, telegram).map_err(taken) {
            refused(&state, &caller, &source, "account.update_refused", &name, &e).await;
            return Err(e);
        }
    }
    if password_hash.is_some() {
        after.password_hash = password_hash;
    }
    after.updated_at = state.clock.now();
    state.directory.save(&state.bus, AccountRecord::Account(after.clone())).await?;
    let mut regions = before.regions.clone();
    regions.extend(after.regions.iter().cloned());
    audit::record(
        &state,
        Entry::new(&caller.name, "account.update", &name, &regions, &source)
            .before(audit_value(&before))
            .after(audit_value(&after)),
    )
    .await;
    Ok(Json(view(&state.directory, &after)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[serde(default)]
    pub label: Option<String>,
    /// RFC 3339; the token stops working then.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

async fn issue_token(
    state: &AppState,
    caller: &Caller,
    source: &Source,
    account: &Account,
    new: NewToken,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = state.clock.now();
    if new.expires_at.is_some_and(|e| e <= now || e > now + LONGEST_TOKEN) {
        return Err(ApiError::invalid("expires_at", "must be in the future and at most 366 days from now"));
    }
    let label = model::account::check_text(new.label.as_deref().unwrap_or_default(), 0, MAX_NAME_CHARS)
        .map_err(|e| ApiError::invalid("label", e))?;
    // counted and saved under the account's lock, so parallel requests cannot pass the cap together
    let _guard = state.directory.lock(&account.name).await;
    let live = state
        .directory
        .credentials_of(&account.name)
        .iter()
        .filter(|c| c.kind == CredentialKind::ApiToken && c.valid_at(now))
        .count();
    if live >= MAX_LIVE_TOKENS {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "too_many_tokens",
            format!("`{}` has {MAX_LIVE_TOKENS} live tokens, the most allowed: revoke one first", account.name),
        ));
    }
    let name = account.name.clone();
    let expires = new.expires_at;
    let (credential, token) = tokio::task::spawn_blocking(move || new_token(&name, &label, expires, now))
        .await
        .map_err(ApiError::internal)??;
    let id = credential.id.clone();
    state.directory.save(&state.bus, AccountRecord::Credential(credential)).await?;
    audit::record(
        state,
        Entry::new(&caller.name, "token.create", &format!("{}/{id}", account.name), &account.regions, source)
            .after(json!({ "expires_at": expires.map(|e| e.to_string()) })),
    )
    .await;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "account": account.name, "token": token }))))
}

/// `POST /api/v1/users/{name}/tokens`: an admin issues a token for an account in scope.
pub async fn create_token_for(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(name): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let account = managed(&state, &caller, &name)?;
    issue_token(&state, &caller, &source, &account, body).await
}

/// `POST /api/v1/me/tokens`: a token for oneself (for a second device, say).
pub async fn create_own_token(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let account = state.directory.account(&caller.name).ok_or_else(ApiError::unauthorized)?;
    issue_token(&state, &caller, &source, &account, body).await
}

/// `GET /api/v1/me`.
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<AccountView>, ApiError> {
    let account = state.directory.account(&caller.name).ok_or_else(ApiError::unauthorized)?;
    Ok(Json(view(&state.directory, &account)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub password: String,
}

/// `PUT /api/v1/me/password`.
pub async fn set_own_password(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    check_password(&change.password)?;
    let hash = secrets::hash_blocking(change.password).await?;
    let _guard = state.directory.lock(&caller.name).await;
    let mut account = state.directory.account(&caller.name).ok_or_else(ApiError::unauthorized)?;
    account.password_hash = Some(hash);
    account.updated_at = state.clock.now();
    state.directory.save(&state.bus, AccountRecord::Account(account.clone())).await?;
    audit::record(&state, Entry::new(&caller.name, "account.password", &caller.name, &account.regions, &source)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/tokens/{id}`: revokes one's own credential, or, for an
/// admin, one of an account in scope.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut credential = state.directory.credential(&id).ok_or_else(|| ApiError::not_found("token"))?;
    let owner = state.directory.account(&credential.account).ok_or_else(|| ApiError::not_found("token"))?;
    let allowed = owner.name == caller.name || (caller.role == Role::Admin && caller.covers_all(&owner.regions));
    if !allowed {
        return Err(ApiError::not_found("token"));
    }
    if credential.revoked_at.is_none() {
        credential.revoked_at = Some(state.clock.now());
        state.directory.save(&state.bus, AccountRecord::Credential(credential)).await?;
    }
    audit::record(
        &state,
        Entry::new(&caller.name, "token.revoke", &format!("{}/{id}", owner.name), &owner.regions, &source),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Failed sign-ins per account name, on this node. A name is forgotten once
/// its failures are older than [`LOCKOUT`], so the map holds only names tried
/// in the last 15 minutes (and those are bounded by the per-address throttle).
#[derive(Debug, Clone, Default)]
pub struct Lockout {
    failures: Arc<Mutex<HashMap<String, Vec<OffsetDateTime>>>>,
}

/// Names the lockout map holds before it drops those whose failures are old.
const LOCKOUT_SWEEP: usize = 1_000;

impl Lockout {
    /// Counts an attempt by `name` at `now` before its password is checked,
    /// so that parallel guesses count too; refuses with the time the lock
    /// ends when `name` has failed too often. A success clears the count.
    fn attempt(&self, name: &str, now: OffsetDateTime) -> Result<(), OffsetDateTime> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= LOCKOUT_SWEEP {
            failures.retain(|_, list| list.last().is_some_and(|t| *t > now - LOCKOUT));
        }
        let list = failures.entry(name.to_owned()).or_default();
        list.retain(|t| *t > now - LOCKOUT);
        if list.len() >= MAX_FAILURES {
            return Err(list[list.len() - MAX_FAILURES] + LOCKOUT);
        }
        list.push(now);
        Ok(())
    }

    fn clear(&self, name: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

/// `POST /api/v1/session`: web sign-in with name and password. Sets an
/// HttpOnly, SameSite=Strict session cookie (Secure behind TLS) and returns
/// the CSRF token that changing requests must send back.
pub async fn sign_in(
    State(state): State<AppState>,
    source: Source,
    headers: HeaderMap,
    ApiJson(form): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    // Nothing is counted or recorded for a name no account can have, nor for
    // a password no account can have.
    check_name(&form.name)?;
    if form.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid("password", format!("is longer than {MAX_PASSWORD_BYTES} bytes")));
    }
    // One address may fail only so often (shared with token checks), so it
    // cannot lock out every account name in turn.
    let throttled = |wait| rate_limited(wait, "too many failed sign-ins from this address: wait, then try again");
    if let Err(Refusal::Throttled(wait)) = state.directory.throttled(None, source.1) {
        return Err(throttled(wait));
    }
    if let Err(until) = state.lockout.attempt(&form.name, now) {
        let secs = u32::try_from((until - now).whole_seconds().max(1)).unwrap_or(u32::MAX);
        return Err(ApiError {
            retry_after: Some(secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "locked",
                "too many failed sign-ins for this account: wait, or ask an admin",
            )
        });
    }
    let account = state.directory.account(&form.name).filter(|a| a.active);
    // Without an account or password, check a dummy hash anyway, so the time
    // taken does not tell which names exist.
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let ok = match state.directory.verify_password(form.password, hash, source.1).await {
        Ok(ok) => ok,
        Err(Refusal::Throttled(wait)) => return Err(throttled(wait)),
        Err(Refusal::Invalid) => false,
    };
    let account = match (ok, account) {
        (true, Some(a)) => a,
        _ => {
            audit::record(&state, Entry::new(&form.name, "sign_in_failed", &form.name, &[], &source)).await;
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong name or password"));
        }
    };
    state.lockout.clear(&account.name);
    let (id, secret) = secrets::new_token()?;
    let csrf = secrets::random_hex(16)?;
    let hash = secrets::hash_blocking(secret.clone()).await?;
    let credential = Credential {
        id,
        account: account.name.clone(),
        kind: CredentialKind::Session,
        hash,
        label: "web".into(),
        csrf: Some(csrf.clone()),
        created_at: now,
        expires_at: Some(now + SESSION_TTL),
        revoked_at: None,
    };
    state.directory.save(&state.bus, AccountRecord::Credential(credential)).await?;
    audit::record(&state, Entry::new(&account.name, "sign_in", &account.name, &account.regions, &source)).await;
    let behind_tls =
        state.secure_cookies || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        SESSION_TTL.whole_seconds(),
        if behind_tls { "; Secure" } else { "" }
    );
    let body = Json(json!({ "name": account.name, "role": account.role, "csrf_token": csrf }));
    let mut response = body.into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(ApiError::internal)?);
    Ok(response)
}

/// `DELETE /api/v1/session`: signs out (revokes the session).
pub async fn sign_out(State(state): State<AppState>, caller: Caller, source: Source) -> Result<Response, ApiError> {
    if caller.via == Via::Session
        && let Some(mut credential) = state.directory.credential(&caller.credential)
    {
        credential.revoked_at = Some(state.clock.now());
        state.directory.save(&state.bus, AccountRecord::Credential(credential)).await?;
    }
    audit::record(&state, Entry::new(&caller.name, "sign_out", &caller.name, &[], &source)).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(ApiError::internal)?);
    Ok(response)
}

/// Creates the national admin `admin` with `token` when no admin exists yet.
pub async fn bootstrap(state: &AppState, token: &str) -> Result<(), ApiError> {
    if state.directory.has_active_admin() {
        return Ok(());
    }
    // Never overwrite what exists: an `admin` account that was demoted or
    // deactivated, or a bootstrap token that was revoked, stays so.
    if state.directory.account("admin").is_some()
        || state.directory.credential(crate::directory::BOOTSTRAP_ID).is_some()
    {
        tracing::warn!("auth.bootstrap_token is ignored: the account `admin` or its bootstrap token already exists");
        return Ok(());
    }
    let now = state.clock.now();
    let account = Account {
        name: "admin".into(),
        display_name: "Administrator".into(),
        role: Role::Admin,
        regions: Vec::new(),
        email: None,
        phone: None,
        telegram: None,
        active: true,
        password_hash: None,
        created_at: now,
        updated_at: now,
    };
    let hash = secrets::hash_blocking(token.to_owned()).await?;
    let credential = Credential {
        id: crate::directory::BOOTSTRAP_ID.into(),
        account: "admin".into(),
        kind: CredentialKind::ApiToken,
        hash,
        label: "auth.bootstrap_token".into(),
        csrf: None,
        created_at: now,
        expires_at: None,
        revoked_at: None,
    };
    state.directory.save(&state.bus, AccountRecord::Account(account)).await?;
    state.directory.save(&state.bus, AccountRecord::Credential(credential)).await?;
    tracing::info!("created the national admin `admin` from auth.bootstrap_token");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockout_forgets_names_whose_failures_are_old() {
        let lockout = Lockout::default();
        let start = OffsetDateTime::now_utc();
        for n in 0..5_000 {
            assert!(lockout.attempt(&format!("nama-{n}"), start).is_ok());
        }
        let later = start + LOCKOUT + time::Duration::seconds(1);
        for _ in 0..MAX_FAILURES {
            assert!(lockout.attempt("dewi", later).is_ok());
        }
        assert!(lockout.attempt("dewi", later).is_err(), "still locks");
        let held = lockout.failures.lock().unwrap().len();
        assert!(held < LOCKOUT_SWEEP, "{held} names held");
    }
}
