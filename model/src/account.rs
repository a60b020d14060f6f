//! Accounts and their credentials: the values of the `accounts` topic.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{RegionCode, Scope};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// The most characters in a name people read: a display name, a unit's name,
/// a token's label.
pub const MAX_NAME_CHARS: usize = 100;
/// The most bytes of a password: Argon2 takes any length, so without a
/// limit a sign-in could make the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The most regions an account or a unit lists.
pub const MAX_REGIONS: usize = 100;
/// The most email addresses, and the most phone numbers, of a unit.
pub const MAX_CONTACTS: usize = 20;

/// Checks a sign-in name: 2–64 lowercase letters, digits, `.`, `_` or `-`,
/// starting with a letter or digit. The message does not quote the name.
pub fn check_account_name(name: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err("use 2–64 lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit".into())
    }
}

/// Whether `c` may not appear in text we store and show: control characters
/// (NUL, ESC, CR, LF, …) and the bidirectional overrides and isolates that
/// make text read differently from what it is (U+202A–U+202E, U+2066–U+2069,
/// U+200E, U+200F, U+061C).
fn forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Checks one line of text people read (a display name, a unit's name, a
/// reason, a label): trimmed, `min` to `max` characters, no control or bidi
/// override characters. Returns the trimmed text.
pub fn check_text(text: &str, min: usize, max: usize) -> Result<String, String> {
    let text = text.trim();
    let n = text.chars().count();
    if n < min || n > max {
        return Err(if min > 0 {
            format!("give {min} to {max} characters")
        } else {
            format!("give at most {max} characters")
        });
    }
    if text.chars().any(forbidden_char) {
        return Err("must not contain control characters (line breaks, tabs, NUL, ESC) or direction overrides".into());
    }
    Ok(text.to_owned())
}

/// Checks a name people read (display name, unit name): 1–100 characters.
pub fn check_display_name(name: &str) -> Result<String, String> {
    check_text(name, 1, MAX_NAME_CHARS)
}

/// Checks one email address, strictly: `local@domain`, at most 254
/// characters, a local part of letters, digits and ``!#$%&'*+/=?^_`{|}~.-``
/// (no leading, trailing or double dot), a domain of at least two labels of
/// letters, digits and hyphens. Nothing else: no spaces, quotes, display
/// names, comments, CR or LF, so an address can never add a mail header.
pub fn check_email(email: &str) -> Result<(), String> {
    const SHAPE: &str = "give one address like `nama@contoh.go.id`";
    if email.len() > 254 {
        return Err(format!("{SHAPE}, of at most 254 characters"));
    }
    let Some((local, domain)) = email.split_once('@') else { return Err(SHAPE.into()) };
    let local_ok = (1..=64).contains(&local.len())
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()));
    if local_ok && domain_ok { Ok(()) } else { Err(SHAPE.into()) }
}

/// Checks a phone number as written (`+62 812-3456-7890`, `0812 3456 7890`)
/// and returns it as `+` and 8–15 digits (E.164), a leading `0` read as
/// Indonesia's `+62`.
pub fn normalize_phone(raw: &str) -> Result<String, String> {
    const SHAPE: &str = "give a phone number like +6281234567890 (8 to 15 digits)";
    let raw = raw.trim();
    let rest = raw.strip_prefix('+').unwrap_or(raw);
    if !rest.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')) {
        return Err(SHAPE.into());
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let e164 = match digits.strip_prefix('0') {
        // `00…` is no national number
        Some(national) if !raw.starts_with('+') && !national.starts_with('0') => format!("62{national}"),
        _ => digits,
    };
    let ok = (8..=15).contains(&e164.len()) && !e164.starts_with('0');
    if ok { Ok(format!("+{e164}")) } else { Err(SHAPE.into()) }
}

/// Checks a Telegram user id: its decimal number.
pub fn check_telegram(id: &str) -> Result<(), String> {
    let ok = (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(()) } else { Err("give the Telegram user id, a number like 123456789".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_strictly() {
        assert_eq!(check_display_name("  Dewi Lestari ").as_deref(), Ok("Dewi Lestari"));
        for bad in ["", "   ", "a\u{0}b", "a\u{1b}[31m", "abc\u{202E}gpj.exe", "a\nb", &"x".repeat(101)] {
            assert!(check_display_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_email("dewi.l+alert@kesbangpol.palu.go.id").is_ok());
        for bad in [
            "not an email \r\nBcc: x@evil",
            "a@b",
            "@contoh.go.id",
            "a..b@contoh.go.id",
            "a@contoh..id",
            "Dewi <dewi@contoh.go.id>",
            "a@b@contoh.id",
            "a@-x.id",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
        assert!(check_email(&format!("{}@{}.id", "a".repeat(64), "b".repeat(200))).is_err());
        assert_eq!(normalize_phone("0812-3456-7890").as_deref(), Ok("+6281234567890"));
        assert_eq!(normalize_phone("+62 812 3456 7890").as_deref(), Ok("+6281234567890"));
        for bad in ["abc\u{0}", "00000000", "+", "1234567", "+1234567890123456", "0812\n3456"] {
            assert!(normalize_phone(bad).is_err(), "{bad:?}");
        }
        assert!(check_telegram("7300001").is_ok() && check_telegram("@dewi").is_err());
        assert!(check_account_name("admin").is_ok() && check_account_name(&"a".repeat(65)).is_err());
    }
}
