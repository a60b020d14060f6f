//! Accounts, tokens and web sign-in: `/api/v1/users`, `/api/v1/me`,
//! `/api/v1/tokens` and `/api/v1/session`. What they do, and every check,
//! is in the `accounts` crate; these handlers read the request and shape the
//! answer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

pub use accounts::manage::SESSION_TTL;
pub use accounts::{AccountChange, AccountView, NewAccount, NewToken};

use crate::AppState;
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson, ApiJsonOrEmpty};

/// `POST /api/v1/users`: creates an account and returns its API token, once.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(new): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let created = state.accounts.create(Some(&caller), new, source.origin()).await?;
    let mut body = serde_json::to_value(created.account).map_err(ApiError::internal)?;
    body["token"] = json!(created.token);
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/v1/users`: the accounts inside the caller's scope.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    Json(json!({ "users": state.accounts.list(&caller) }))
}

/// `PATCH /api/v1/users/{name}`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(name): Path<String>,
    ApiJson(change): ApiJson<AccountChange>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(state.accounts.update(&caller, &name, change, source.origin()).await?))
}

/// `POST /api/v1/users/{name}/tokens`: an admin issues a token for an account in scope.
pub async fn create_token_for(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(name): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let account = state.accounts.managed(&caller, &name)?;
    let issued = state.accounts.issue_token(&caller, &account, body, source.origin()).await?;
    Ok((StatusCode::CREATED, Json(json!(issued))))
}

/// `POST /api/v1/me/tokens`: a token for oneself (for a second device, say).
pub async fn create_own_token(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let account = state.accounts.own(&caller)?;
    let issued = state.accounts.issue_token(&caller, &account, body, source.origin()).await?;
    Ok((StatusCode::CREATED, Json(json!(issued))))
}

/// `GET /api/v1/me`.
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<AccountView>, ApiError> {
    let account = state.accounts.own(&caller)?;
    Ok(Json(state.accounts.view(&account)))
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
    state.accounts.set_own_password(&caller, change.password, source.origin()).await?;
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
    state.accounts.revoke(&caller, &id, source.origin()).await?;
    Ok(StatusCode::NO_CONTENT)
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
    let session = state.accounts.sign_in(&form.name, form.password, source.origin()).await?;
    let behind_tls =
        state.secure_cookies || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let cookie = crate::auth::session_set_cookie(&session.secret, SESSION_TTL, behind_tls)?;
    let body = Json(json!({ "name": session.account.name, "role": session.account.role, "csrf_token": session.csrf }));
    let mut response = body.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `DELETE /api/v1/session`: signs out (revokes the session).
pub async fn sign_out(State(state): State<AppState>, caller: Caller, source: Source) -> Result<Response, ApiError> {
    state.accounts.sign_out(&caller, source.origin()).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, crate::auth::session_clear_cookie()?);
    Ok(response)
}
