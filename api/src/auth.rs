//! Who is calling, and whether they may. This is the only place credentials
//! are checked: every route declares the roles it needs in [`crate::routes`],
//! and [`authorize`] enforces that before the handler runs.
//!
//! A caller signs in with `Authorization: Bearer <token>` (API tokens, for the
//! field app, bots and scripts) or with the session cookie of a web sign-in.
//! A request that changes something and rides on the cookie must also carry
//! the session's CSRF token in `X-CSRF-Token`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use model::{CredentialKind, Role, Scope};

use crate::AppState;
use crate::directory::Refusal;
use crate::error::ApiError;
use crate::secrets;

pub const SESSION_COOKIE: &str = "kentongan_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The roles a route needs; empty means the route is public.
#[derive(Debug, Clone, Copy)]
pub struct Required(pub &'static [Role]);

/// How the caller signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Session,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    /// The credential used for this request.
    pub credential: String,
    pub via: Via,
}

impl Caller {
    /// Whether the caller may see who sent a report.
    pub fn sees_reporters(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Operator)
    }

    /// Whether everything an account in `regions` covers is inside this caller's
    /// scope (an account with no regions is national).
    pub fn covers_all(&self, regions: &[model::RegionCode]) -> bool {
        self.scope.covers_all(regions)
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Signs the request from `peer` in, from its bearer token or its session
/// cookie. Failed checks are counted per credential id and per peer address;
/// past the limit the answer is 429 for a while.
pub async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Caller, ApiError> {
    let now = state.clock.now();
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let (secret, kind, via) = match (bearer, cookie(headers, SESSION_COOKIE)) {
        (Some(token), _) => (token, CredentialKind::ApiToken, Via::Bearer),
        (None, Some(session)) => (session, CredentialKind::Session, Via::Session),
        (None, None) => return Err(ApiError::unauthorized()),
    };
    let (account, credential) = state.directory.authenticate(secret, kind, now, peer).await.map_err(|r| match r {
        Refusal::Invalid => ApiError::unauthorized(),
        Refusal::Throttled(wait) => ApiError {
            retry_after: Some(u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many failed sign-ins with this token or from this address: wait, then send a valid token",
            )
        },
    })?;
    if via == Via::Session && !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let expected = credential.csrf.as_deref().unwrap_or_default();
        if expected.is_empty() || !secrets::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "send the csrf_token from your sign-in as the X-CSRF-Token header",
            ));
        }
    }
    Ok(Caller { scope: account.scope(), name: account.name, role: account.role, credential: credential.id, via })
}

/// Middleware on every non-public route: signs the caller in (401 when that
/// fails), checks the route's roles (403), and hands the [`Caller`] on.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let Some(Required(roles)) = req.extensions().get::<Required>().copied() else {
        return Err(ApiError::internal("route without declared roles"));
    };
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
    let caller = authenticate(&state, req.method(), req.headers(), peer).await?;
    if !roles.contains(&caller.role) {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::forbidden(&names.join(" or ")));
    }
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(ApiError::unauthorized)
    }
}

/// Where a request came from, for the audit log: the peer address, plus
/// `X-Forwarded-For` when a proxy sent one.
#[derive(Debug, Clone)]
pub struct Source(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |ConnectInfo(a)| a.ip().to_string());
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Ok(Source(match forwarded {
            Some(f) => format!("{peer} (for {f})"),
            None => peer,
        }))
    }
}
