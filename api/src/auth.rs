//! Who is calling, and what they may do. Every handler takes a [`Caller`] and
//! states the roles it needs with [`Caller::require`]; this is the only place
//! tokens are checked.
//!
//! Until accounts exist, the only credential is `auth.bootstrap_token`, which
//! acts as the national admin `admin`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use model::Scope;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

/// The roles of INTERFACE.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Analyst,
    Operator,
    Reporter,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Operator => "operator",
            Role::Reporter => "reporter",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub scope: Scope,
}

impl Caller {
    /// Refuses (403) unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(&names.join(" or ")))
        }
    }

    /// Whether the caller may see who sent a report.
    pub fn sees_reporters(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Operator)
    }
}

/// The credentials this node accepts.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    bootstrap_token: Option<Arc<str>>,
}

impl Auth {
    pub fn new(bootstrap_token: Option<String>) -> Self {
        Self {
            bootstrap_token: bootstrap_token.filter(|t| !t.is_empty()).map(Into::into),
        }
    }

    fn check(&self, token: &str) -> Option<Caller> {
        let expected = self.bootstrap_token.as_deref()?;
        constant_time_eq(expected.as_bytes(), token.as_bytes()).then(|| Caller {
            name: "admin".into(),
            role: Role::Admin,
            scope: Scope::All,
        })
    }
}

/// Compares without stopping at the first difference, so the time taken does
/// not tell an attacker how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .unwrap_or_default();
        if token.is_empty() {
            return Err(ApiError::unauthorized());
        }
        state.auth.check(token).ok_or_else(ApiError::unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_token_is_the_admin() {
        let auth = Auth::new(Some("rahasia".into()));
        assert_eq!(auth.check("rahasia").map(|c| c.role), Some(Role::Admin));
        assert!(auth.check("rahasib").is_none());
        assert!(auth.check("").is_none());
        assert!(Auth::new(None).check("").is_none());
        assert!(Auth::new(Some(String::new())).check("").is_none());
    }
}
