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
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use cookie::{Cookie, SameSite};
use model::{CredentialKind, Role};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "kentongan_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The roles a route needs; empty means the route is public.
#[derive(Debug, Clone, Copy)]
pub struct Required(pub &'static [Role]);

/// How the caller signed in.
pub use accounts::Via;

/// An authenticated caller (see [`accounts::Caller`]), as handlers take it.
#[derive(Debug, Clone)]
pub struct Caller(pub accounts::Caller);

impl std::ops::Deref for Caller {
    type Target = accounts::Caller;

    fn deref(&self) -> &accounts::Caller {
        &self.0
    }
}

/// The session secret from the request's `Cookie` headers, if it sent one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// The `Set-Cookie` value of a new web session: HttpOnly, SameSite=Strict,
/// and Secure when the UI is served over TLS.
pub fn session_set_cookie(secret: &str, max_age: time::Duration, secure: bool) -> Result<HeaderValue, ApiError> {
    let cookie = Cookie::build((SESSION_COOKIE, secret))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .secure(secure);
    HeaderValue::from_str(&cookie.to_string()).map_err(ApiError::internal)
}

/// The `Set-Cookie` value that ends the web session in the browser.
pub fn session_clear_cookie() -> Result<HeaderValue, ApiError> {
    let cookie = Cookie::build((SESSION_COOKIE, "")).path("/").http_only(true).same_site(SameSite::Strict).removal();
    HeaderValue::from_str(&cookie.to_string()).map_err(ApiError::internal)
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
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let session = session_cookie(headers);
    let (secret, kind, via) = match (bearer, session.as_deref()) {
        (Some(token), _) => (token, CredentialKind::ApiToken, Via::Bearer),
        (None, Some(session)) => (session, CredentialKind::Session, Via::Session),
        (None, None) => return Err(ApiError::unauthorized()),
    };
    let (caller, credential) = state.accounts.authenticate(secret, kind, peer).await?;
    if via == Via::Session && !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !accounts::manage::csrf_matches(&credential, sent) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "send the csrf_token from your sign-in as the X-CSRF-Token header",
            ));
        }
    }
    Ok(Caller(caller))
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

/// The caller as the accounts are now, for an answer that goes on for long
/// (the alert stream): `None` once the credential has been revoked or has
/// expired, the account deactivated, or its role is no longer one of
/// `roles`; otherwise the caller with the account's current role and regions.
pub fn recheck(state: &AppState, caller: &Caller, roles: &[Role]) -> Option<Caller> {
    let directory = &state.accounts.directory;
    let credential = directory.credential(&caller.credential)?;
    let account = directory.account(&caller.name)?;
    let current = credential.account == account.name
        && credential.valid_at(state.clock.now())
        && account.active
        && roles.contains(&account.role);
    current.then(|| Caller(accounts::Caller { role: account.role, scope: account.scope(), ..caller.0.clone() }))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(ApiError::unauthorized)
    }
}

/// Where a request came from, for the audit log: the peer address, plus the
/// addresses a proxy named in `X-Forwarded-For`; and the peer address itself,
/// for throttles.
#[derive(Debug, Clone)]
pub struct Source(pub String, pub Option<IpAddr>);

impl Source {
    /// What the `accounts` crate records and throttles by.
    pub fn origin(&self) -> accounts::Origin<'_> {
        accounts::Origin { text: &self.0, peer: self.1 }
    }
}

impl AsRef<str> for Source {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The most characters of a recorded source.
pub const SOURCE_CHARS: usize = 100;

/// The text of a source: the peer, and after it, only what parses as IP
/// addresses in `X-Forwarded-For` (a client sets that header as it likes), up
/// to [`SOURCE_CHARS`] in all.
fn source_text(peer: Option<IpAddr>, forwarded: Option<&str>) -> String {
    let mut text = peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let claimed: Vec<String> = forwarded
        .unwrap_or_default()
        .split(',')
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_string())
        .collect();
    if claimed.is_empty() {
        return text;
    }
    let mut list = String::new();
    for ip in claimed {
        let sep = if list.is_empty() { "" } else { ", " };
        if text.len() + " (for )".len() + list.len() + sep.len() + ip.len() > SOURCE_CHARS {
            break;
        }
        list.push_str(sep);
        list.push_str(&ip);
    }
    if !list.is_empty() {
        text = format!("{text} (for {list})");
    }
    text
}

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Ok(Source(source_text(peer, forwarded), peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_hold_only_addresses_and_stay_short() {
        let peer = Some(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(source_text(peer, None), "127.0.0.1");
        assert_eq!(source_text(peer, Some("203.0.113.7, 10.0.0.1")), "127.0.0.1 (for 203.0.113.7, 10.0.0.1)");
        assert_eq!(source_text(peer, Some("<script>, x\u{1b}")), "127.0.0.1");
        let long = vec!["2001:db8::1"; 10_000].join(",");
        let text = source_text(peer, Some(&long));
        assert!(text.len() <= SOURCE_CHARS && text.starts_with("127.0.0.1 (for 2001:db8::1"), "{text}");
        assert_eq!(source_text(None, Some(&"a".repeat(60_000))), "unknown");
    }
}
