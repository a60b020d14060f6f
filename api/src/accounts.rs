//! Accounts, tokens and web sign-in: `/api/v1/users`, `/api/v1/me`,
//! `/api/v1/tokens` and `/api/v1/session`. What they do, and every check,
//! is in the `accounts` crate; these handlers read the request and shape the
//! answer.

use accounts::manage::IssuedToken;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use accounts::manage::SESSION_TTL;
pub use accounts::{AccountChange, AccountView, NewAccount, NewToken};

use crate::AppState;
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson, ApiJsonOrEmpty, ErrorBody};

/// A new account, with its first API token.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAccount {
    #[serde(flatten)]
    pub account: AccountView,
    /// Shown only in this answer.
    pub token: String,
}

/// Create an account; its API token is shown only in this answer.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewAccount, responses(
    (status = 201, body = CreatedAccount),
    (status = 409, body = ErrorBody, description = "the name, email, phone or Telegram id is taken"),
))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(new): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<CreatedAccount>), ApiError> {
    let created = state.accounts.create(Some(&caller), new, source.origin()).await?;
    Ok((StatusCode::CREATED, Json(CreatedAccount { account: created.account, token: created.token })))
}

/// The accounts a caller sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct Users {
    pub users: Vec<AccountView>,
}

/// Accounts within your regions.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Users)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Users> {
    Json(Users { users: state.accounts.list(&caller) })
}

/// Change an account: role, regions, contact, active, password.
///
/// Within your regions. `"active": false` deactivates the account: its API
/// tokens and web sessions stop working at once (its sessions are ended;
/// its tokens work again if it is reactivated with `"active": true`). You
/// cannot deactivate yourself. `"password"` sets a new web password (at
/// least 12 characters): for another account, a reset that also ends its
/// web sessions.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", params(("name" = String, Path)),
    request_body = AccountChange,
    responses(
        (status = 200, body = AccountView),
        (status = 409, body = ErrorBody, description = "the email, phone or Telegram id is another account's"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<AccountChange>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(state.accounts.update(&caller, &name, change, source.origin()).await?))
}

/// Issue an API token for an account; shown once.
#[utoipa::path(post, path = "/api/v1/users/{name}/tokens", tag = "users", params(("name" = String, Path)),
    request_body(content = Option<NewToken>, description = "or no body"),
    responses(
        (status = 201, body = IssuedToken),
        (status = 409, body = ErrorBody, description = "the account has as many tokens as it may"),
    ))]
pub async fn create_token_for(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(name): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let account = state.accounts.managed(&caller, &name)?;
    let issued = state.accounts.issue_token(&caller, &account, body, source.origin()).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// Issue yourself an API token (for a second device, say); shown once.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "me",
    request_body(content = Option<NewToken>, description = "or no body"),
    responses(
        (status = 201, body = IssuedToken),
        (status = 409, body = ErrorBody, description = "your account has as many tokens as it may"),
    ))]
pub async fn create_own_token(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<NewToken>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let account = state.accounts.own(&caller)?;
    let issued = state.accounts.issue_token(&caller, &account, body, source.origin()).await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// Your account and tokens.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = AccountView)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<AccountView>, ApiError> {
    let account = state.accounts.own(&caller)?;
    Ok(Json(state.accounts.view(&account)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// At least 12 characters.
    pub password: String,
}

/// Set your web password (at least 12 characters).
#[utoipa::path(put, path = "/api/v1/me/password", tag = "me", request_body = PasswordChange, responses(
    (status = 204, description = "set"),
))]
pub async fn set_own_password(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state.accounts.set_own_password(&caller, change.password, source.origin()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke a token: your own, or (admins) one of an account in your regions.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)), responses(
    (status = 204, description = "revoked"),
))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.revoke(&caller, &id, source.origin()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

/// Who signed in, and the token their changing requests send back.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    pub name: String,
    pub role: Role,
    /// Send as `X-CSRF-Token` with every changing request of this session.
    pub csrf_token: String,
    /// Whether the account has a web password; without one (signed in with
    /// an API token), set one with `PUT /api/v1/me/password`.
    pub has_password: bool,
}

/// Web sign-in: sets the session cookie, returns the CSRF token.
///
/// With name and password. The cookie is HttpOnly and SameSite=Strict
/// (Secure behind TLS); changing requests send the CSRF token back. An
/// account without a password (the bootstrap admin `admin` on a fresh
/// install) signs in with one of its API tokens as the password, such as
/// `auth.bootstrap_token`; the answer then has `has_password: false`.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SignIn, responses(
    (status = 200, body = SignedIn, headers(("set-cookie" = String, description = "the session cookie"))),
    (status = 401, body = ErrorBody, description = "the name or the password is wrong"),
    (status = 429, body = ErrorBody, description = "too many failed sign-ins; wait for Retry-After"),
))]
pub async fn sign_in(
    State(state): State<AppState>,
    source: Source,
    headers: HeaderMap,
    ApiJson(form): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let session = state.accounts.sign_in(&form.name, form.password, source.origin()).await?;
    let behind_tls =
        state.secure_cookies || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let cookie = crate::auth::session_set_cookie(&session.secret, SESSION_TTL, behind_tls)?;
    let body = Json(SignedIn {
        has_password: session.account.password_hash.is_some(),
        name: session.account.name,
        role: session.account.role,
        csrf_token: session.csrf,
    });
    let mut response = body.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Sign out: the session is revoked.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses(
    (status = 204, description = "signed out"),
))]
pub async fn sign_out(State(state): State<AppState>, caller: Caller, source: Source) -> Result<Response, ApiError> {
    state.accounts.sign_out(&caller, source.origin()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, crate::auth::session_clear_cookie()?);
    Ok(response)
}
