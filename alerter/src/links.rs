//! Signed tokens in the links this node sends out: the one-click
//! acknowledgement links in alert email, and the status callbacks given to
//! the SMS gateway. Signed with HMAC-SHA256, expiring, and bound to their
//! [`Purpose`]: a token made for one purpose is refused for any other. An
//! acknowledgement link is good for one acknowledgement (the alert then is
//! no longer open, so the link cannot take a second step).
//!
//! A token is `<expiry, unix seconds>.<recipient, hex>.<signature, hex>`,
//! the signature over the purpose, the alert id, the expiry and the
//! recipient. Every node that makes or checks links needs the same key:
//! `auth.link_secret`, or on a single node a key kept in `data_dir/link.key`.

use std::path::Path;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;

/// How long a link works.
pub const LINK_TTL: time::Duration = time::Duration::days(3);

/// What a token is for. The label is the first part of what is signed, so a
/// token of one purpose never verifies as another, though the key is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A one-click acknowledgement link in an alert email, for its recipient.
    AckLink,
    /// The status callback handed to the SMS gateway, for one unit and phone.
    SmsStatus,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::AckLink => "kentongan/ack-link/v1",
            Purpose::SmsStatus => "kentongan/sms-status/v1",
        }
    }
}

/// The key links are signed with.
#[derive(Clone)]
pub struct LinkKey(Arc<[u8; 32]>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid: copy the whole link from the email")]
    Invalid,
    #[error("this link has expired: open the alert in kentongan to acknowledge it")]
    Expired,
}

impl LinkKey {
    /// The key from a configured secret (at least 32 characters).
    pub fn from_secret(secret: &str) -> Result<Self, Error> {
        if secret.chars().count() < 32 {
            return Err(Error::Config("auth.link_secret must be at least 32 characters long".into()));
        }
        Ok(Self(Arc::new(Sha256::digest(secret.as_bytes()).into())))
    }

    /// The key kept in `path`, made on first use (readable by this user only).
    pub fn load_or_create(path: &Path) -> Result<Self, Error> {
        let bad = |e: &dyn std::fmt::Display| Error::Config(format!("{}: {e}", path.display()));
        if let Ok(text) = std::fs::read_to_string(path) {
            let bytes = hex::decode(text.trim()).map_err(|e| bad(&e))?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| bad(&"not a 32-byte key; delete it to make a new one"))?;
            return Ok(Self(Arc::new(key)));
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| bad(&e))?;
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(|e| bad(&e))?;
            file.write_all(hex::encode(key).as_bytes()).and_then(|()| file.sync_all()).map_err(|e| bad(&e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| bad(&e))?;
        Ok(Self(Arc::new(key)))
    }

    fn mac(&self, purpose: Purpose, alert: Uuid, expires: i64, recipient: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&*self.0).expect("any key length");
        // the label, ended by a byte no label has; then fields of fixed
        // length; the recipient last, so no two inputs read alike
        mac.update(purpose.label().as_bytes());
        mac.update(b"\0");
        mac.update(alert.as_bytes());
        mac.update(&expires.to_be_bytes());
        mac.update(recipient.as_bytes());
        mac
    }

    /// A token for `purpose` about `alert`, made for `recipient`, good until `expires`.
    pub fn sign(&self, purpose: Purpose, alert: Uuid, recipient: &str, expires: OffsetDateTime) -> String {
        let expires = expires.unix_timestamp();
        let signature = self.mac(purpose, alert, expires, recipient).finalize().into_bytes();
        format!("{expires}.{}.{}", hex::encode(recipient), hex::encode(signature))
    }

    /// The recipient a valid, unexpired token for `purpose` and `alert` was made for.
    pub fn verify(&self, purpose: Purpose, alert: Uuid, token: &str, now: OffsetDateTime) -> Result<String, LinkError> {
        let mut parts = token.trim().splitn(3, '.');
        let (Some(expires), Some(recipient), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(LinkError::Invalid);
        };
        let expires_text = expires;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        // one spelling per token: no leading zeros or signs
        if expires.to_string() != expires_text {
            return Err(LinkError::Invalid);
        }
        let recipient =
            hex::decode(recipient).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(LinkError::Invalid)?;
        let signature = hex::decode(signature).map_err(|_| LinkError::Invalid)?;
        self.mac(purpose, alert, expires, &recipient).verify_slice(&signature).map_err(|_| LinkError::Invalid)?;
        if now.unix_timestamp() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(recipient)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn links_are_signed_bound_to_their_alert_and_expire() {
        let key = LinkKey::from_secret("rahasia-yang-cukup-panjang-untuk-uji-123").unwrap();
        let alert = Uuid::now_v7();
        let now = datetime!(2026-11-29 10:00 UTC);
        let ack = Purpose::AckLink;
        let token = key.sign(ack, alert, "piket@palukota.go.id", now + LINK_TTL);
        assert_eq!(key.verify(ack, alert, &token, now).unwrap(), "piket@palukota.go.id");
        assert_eq!(key.verify(ack, alert, &token, now + LINK_TTL), Err(LinkError::Expired));
        assert_eq!(key.verify(ack, Uuid::now_v7(), &token, now), Err(LinkError::Invalid));
        let other = LinkKey::from_secret("kunci-lain-yang-juga-cukup-panjang-456").unwrap();
        assert_eq!(other.verify(ack, alert, &token, now), Err(LinkError::Invalid));
        // a changed recipient or expiry breaks the signature
        let (_, rest) = token.split_once('.').unwrap();
        let later = format!("{}.{rest}", (now + time::Duration::days(30)).unix_timestamp());
        assert_eq!(key.verify(ack, alert, &later, now), Err(LinkError::Invalid));
        assert_eq!(key.verify(ack, alert, "", now), Err(LinkError::Invalid));
        assert_eq!(key.verify(ack, alert, &format!("0{token}"), now), Err(LinkError::Invalid));
        assert!(LinkKey::from_secret("pendek").is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("link.key");
        let made = LinkKey::load_or_create(&path).unwrap();
        let again = LinkKey::load_or_create(&path).unwrap();
        assert_eq!(again.verify(ack, alert, &made.sign(ack, alert, "a@b.id", now + LINK_TTL), now).unwrap(), "a@b.id");
    }

    #[test]
    fn a_token_is_good_only_for_its_purpose() {
        let key = LinkKey::from_secret("rahasia-yang-cukup-panjang-untuk-uji-123").unwrap();
        let alert = Uuid::now_v7();
        let now = datetime!(2026-11-29 10:00 UTC);
        let until = now + time::Duration::days(7);
        for (made, used) in [(Purpose::SmsStatus, Purpose::AckLink), (Purpose::AckLink, Purpose::SmsStatus)] {
            let token = key.sign(made, alert, "sms:palu:+6281234567890", until);
            assert_eq!(key.verify(made, alert, &token, now).unwrap(), "sms:palu:+6281234567890");
            assert_eq!(key.verify(used, alert, &token, now), Err(LinkError::Invalid), "{made:?} as {used:?}");
        }
    }
}
