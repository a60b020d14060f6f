//! Accounts and their credentials: the values of the `accounts` topic.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{RegionCode, Scope};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages rules, units and accounts in scope.
    Admin,
    /// Searches and reads statistics in scope.
    Analyst,
    /// A monitoring centre: sees and acknowledges alerts in scope.
    Operator,
    /// Submits reports and sees only their own.
    Reporter,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Operator, Role::Reporter];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Operator => "operator",
            Role::Reporter => "reporter",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`: use admin, analyst, operator or reporter"))
    }
}

/// An officer's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The sign-in name: lowercase letters, digits, `.`, `_` and `-`.
    pub name: String,
    pub display_name: String,
    pub role: Role,
    /// The regions the account covers; empty means national (every region).
    pub regions: Vec<RegionCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Mobile number as `+62…`; messages from it (WhatsApp, SMS) are this account's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Telegram user id; messages to the bot from it are this account's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram: Option<String>,
    pub active: bool,
    /// Argon2id PHC string of the web password, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Account {
    pub fn scope(&self) -> Scope {
        if self.regions.is_empty() { Scope::All } else { Scope::Regions(self.regions.clone()) }
    }

    pub fn is_national(&self) -> bool {
        self.regions.is_empty()
    }
}

/// How a credential is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A bearer token for the field app, bots and scripts.
    ApiToken,
    /// A web sign-in, sent as a cookie.
    Session,
}

/// A secret that signs an account in. Only its Argon2id hash is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Public id, also the first part of the secret (`ktn_<id>_<secret>`).
    pub id: String,
    pub account: String,
    pub kind: CredentialKind,
    /// Argon2id PHC string of the whole secret.
    pub hash: String,
    #[serde(default)]
    pub label: String,
    /// For sessions: the token that state-changing requests must echo in `X-CSRF-Token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl Credential {
    /// Whether it can sign in at `now`.
    pub fn valid_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// A value of the `accounts` topic, keyed `account/<name>` or `credential/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AccountRecord {
    Account(Account),
    Credential(Credential),
}

impl AccountRecord {
    pub fn key(&self) -> String {
        match self {
            AccountRecord::Account(a) => format!("account/{}", a.name),
            AccountRecord::Credential(c) => format!("credential/{}", c.id),
        }
    }
}
