//! Accounts, credentials, scopes, lockout and the audit log: who may sign in,
//! as whom, with what reach, and what they did. Used alike by the HTTP API
//! (`api`, which turns [`Error`] into statuses in one place) and by the
//! command line (`kentongan user add`, which turns it into an exit code).
//!
//! - [`Directory`]: the accounts and credentials of the compacted `accounts`
//!   topic, kept in memory on every node; credential checks (Argon2id, once
//!   per credential) and their throttles per credential id and per address.
//! - [`Accounts`]: creating and changing accounts within the caller's scope,
//!   API tokens, web sign-in (sessions with a CSRF token) with its lockout,
//!   revocation, and the bootstrap admin. Every change is published, applied
//!   here at once, and audited.
//! - [`AuditLog`]: the append-only `audit` topic and this node's view of it.
//! - [`secrets`]: random tokens and Argon2id hashes.

pub mod audit;
pub mod directory;
pub mod lockout;
pub mod manage;
pub mod secrets;

use std::net::IpAddr;
use std::time::Duration;

use model::{Role, Scope};

pub use audit::{AuditFilter, AuditLog, Entry};
pub use directory::{BOOTSTRAP_ID, Directory, Refusal};
pub use lockout::Lockout;
pub use manage::{
    AccountChange, AccountView, Accounts, Created, IssuedToken, NewAccount, NewToken, SignedIn, TokenView, make_account,
};

/// Why an account operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field is wrong; the message says how to fix it.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// The account name is in use somewhere in the country (names are one
    /// namespace, so this is said even of accounts outside the caller's scope).
    #[error("name: `{0}` is not available; choose another")]
    NameTaken(String),
    /// The phone number or Telegram id (the field named) is another account's.
    #[error("{0}: is registered to another account; each can belong to one account only")]
    IdentityTaken(&'static str),
    /// The account holds the most live API tokens allowed.
    #[error("`{0}` has {max} live tokens, the most allowed: revoke one first", max = manage::MAX_LIVE_TOKENS)]
    TooManyTokens(String),
    /// No such thing, or one outside the caller's scope: the same answer, so
    /// that existence does not leak.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller's scope does not reach that far; says who could.
    #[error("this needs {0}")]
    OutsideScope(&'static str),
    /// No valid credential.
    #[error("not signed in: no valid token or session")]
    Unauthenticated,
    /// A sign-in with a wrong name or password.
    #[error("wrong name or password")]
    WrongPassword,
    /// Too many failed sign-ins for this account name lately.
    #[error("too many failed sign-ins for this account: wait, or ask an admin")]
    LockedOut { retry_after: Duration },
    /// Too many failed checks lately from this address or with this credential.
    #[error("{reason}")]
    Throttled { retry_after: Duration, reason: &'static str },
    /// The log did not take or give the record; nothing was changed.
    #[error(transparent)]
    Bus(#[from] bus::Error),
    /// A fault on our side (randomness, hashing, a blocking task); the detail
    /// is for the server log.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &'static str, message: impl std::fmt::Display) -> Self {
        Error::Invalid { field, message: message.to_string() }
    }

    fn joined(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("a blocking task failed: {e}"))
    }

    /// Whether the refusal tells that a name or number is in use: such
    /// answers are throttled and audited like failed sign-ins.
    pub fn is_taken(&self) -> bool {
        matches!(self, Error::NameTaken(_) | Error::IdentityTaken(_))
    }
}

impl bus::Retryable for Error {
    fn retry(&self) -> bus::Retry {
        match self {
            // the log or the machine may recover; a throttle or a lock ends
            Error::Bus(e) => e.retry(),
            Error::Internal(_) | Error::LockedOut { .. } | Error::Throttled { .. } => bus::Retry::Later,
            // the same request is refused the same way until something else changes
            Error::Invalid { .. }
            | Error::NameTaken(_)
            | Error::IdentityTaken(_)
            | Error::TooManyTokens(_)
            | Error::NotFound(_)
            | Error::OutsideScope(_)
            | Error::Unauthenticated
            | Error::WrongPassword => bus::Retry::Never,
        }
    }
}

/// How a caller signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Session,
}

/// An authenticated caller: whose account, with what role and reach.
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

/// Where a request came from: the text the audit log records, and the peer
/// address that throttles count.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub text: &'a str,
    pub peer: Option<IpAddr>,
}

impl Origin<'static> {
    /// The command line on this machine.
    pub const COMMAND_LINE: Origin<'static> = Origin { text: "command line", peer: None };
}
