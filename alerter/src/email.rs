//! Email notifications, in Indonesian, over SMTP with lettre.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::Error;
use crate::channel::{Channel, Receipt, SendError};

/// `[smtp]`: where alert email goes out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS, required) or `?tls=opportunistic`, `smtps://user:pass@host`
    /// (TLS from the start). Characters in the password other than letters
    /// and digits are percent-encoded.
    pub url: String,
    /// A PEM file of certificate authorities to trust besides the public
    /// ones, for a mail server with a certificate from an internal CA.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The sender, for example `Kentongan <kentongan@kesbangpol.example.go.id>`.
    pub from: String,
}

/// Sends alert email.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer")
    }
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, Error> {
        let bad_url = |e: &dyn std::fmt::Display| Error::Config(format!("smtp.url `{}`: {e}", redact(&config.url)));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url).map_err(|e| bad_url(&e))?;
        if let Some(ca_file) = &config.ca_file {
            builder = builder.tls(tls_trusting(&config.url, ca_file)?);
        }
        let transport = builder.timeout(Some(std::time::Duration::from_secs(20))).build();
        let from = config
            .from
            .parse()
            .map_err(|e| Error::Config(format!("smtp.from `{}` is not an email address: {e}", config.from)))?;
        Ok(Self { transport, from })
    }
}

/// An alert email: the alert it is about, the notification it is (its
/// outbox key), and its subject and bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub alert: uuid::Uuid,
    pub notification: String,
    pub body: Composed,
}

/// The Message-ID of `notification` (an outbox key) about `about`: the same
/// for every attempt at it, so a message the mail server accepted just
/// before a kill -9, and that is sent again after the restart, is the same
/// message to the recipient's mail system (RFC 5322 3.6.4), which shows it
/// once. It starts with `about` (an alert's or a reply's id); the rest is a
/// digest of the key, which names the recipient's address.
pub fn message_id(about: &str, notification: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(notification.as_bytes());
    format!("<{about}.{}@kentongan>", hex::encode(&digest[..12]))
}

impl Channel for Mailer {
    type Message = Email;

    async fn send(&self, to: &str, email: &Email) -> Result<Receipt, SendError> {
        let body = email.body.clone();
        self.send_built(to, |m| {
            m.subject(&body.subject)
                .message_id(Some(message_id(&email.alert.to_string(), &email.notification)))
                .multipart(MultiPart::alternative_plain_html(body.text, body.html))
        })
        .await
    }
}

impl Mailer {
    /// Sends the message `finish` makes of one from the configured sender
    /// to `to` (alert email, and duty mail with its attachments).
    pub(crate) async fn send_built(
        &self,
        to: &str,
        finish: impl FnOnce(lettre::message::MessageBuilder) -> Result<Message, lettre::error::Error>,
    ) -> Result<Receipt, SendError> {
        let mailbox: Mailbox = to.parse().map_err(|e: lettre::address::AddressError| SendError::BadRecipient {
            recipient: to.to_owned(),
            reason: e.to_string(),
        })?;
        let message = finish(Message::builder().from(self.from.clone()).to(mailbox))
            .map_err(|e| SendError::Compose(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(response) => Ok(Receipt { reply: response.message().collect::<Vec<_>>().join(" ") }),
            Err(e) if e.is_permanent() => Err(SendError::SmtpRefused(e.to_string())),
            Err(e) => Err(SendError::Smtp(e.to_string())),
        }
    }
}

/// The TLS mode `url` asks for, with the authorities in `ca_file` trusted too.
fn tls_trusting(url: &str, ca_file: &std::path::Path) -> Result<Tls, Error> {
    let bad = |m: String| Error::Config(format!("smtp.ca_file {}: {m}", ca_file.display()));
    let pem = std::fs::read(ca_file).map_err(|e| bad(e.to_string()))?;
    let parsed = url::Url::parse(url).map_err(|e| Error::Config(format!("smtp.url `{}`: {e}", redact(url))))?;
    let host = parsed.host_str().ok_or_else(|| Error::Config("smtp.url has no host".into()))?.to_owned();
    let params = TlsParameters::builder(host)
        .add_root_certificate(Certificate::from_pem(&pem).map_err(|e| bad(e.to_string()))?)
        .build_rustls()
        .map_err(|e| bad(e.to_string()))?;
    let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
    Ok(match (parsed.scheme(), tls.as_deref()) {
        ("smtps", _) => Tls::Wrapper(params),
        (_, Some("opportunistic")) => Tls::Opportunistic(params),
        _ => Tls::Required(params),
    })
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

/// The links in an alert email: the alert in the web UI, and the one-click
/// acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    pub alert: String,
    pub ack: String,
}

impl Links {
    pub fn new(public_url: &str, alert: uuid::Uuid, token: &str) -> Self {
        let base = public_url.trim_end_matches('/');
        Self {
            alert: format!("{base}/#/alerts/{alert}"),
            ack: format!("{base}/api/v1/alerts/{alert}/ack-link?token={token}"),
        }
    }
}

/// The subject and bodies of an alert email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("smtps://user:pw@mail.example:465"), "smtps://***@mail.example:465");
        assert_eq!(redact("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
    }

    #[test]
    fn a_notification_has_one_message_id_and_names_no_address() {
        let alert = "0190c5a4-7c1e-7000-8000-000000000001";
        let key = format!("{alert}/email/camat@palu.example");
        let id = message_id(alert, &key);
        assert_eq!(id, message_id(alert, &key), "every attempt, every node");
        assert!(id.starts_with(&format!("<{alert}.")) && id.ends_with("@kentongan>"), "{id}");
        assert!(!id.contains("camat") && !id.contains("palu.example"), "{id}");
        assert_ne!(id, message_id(alert, &format!("{alert}/email/lurah@palu.example")));
        assert_ne!(id, message_id(alert, &format!("{key}/eskalasi")));
    }
}
