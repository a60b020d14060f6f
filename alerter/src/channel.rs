//! A way to reach a recipient: email ([`crate::Mailer`]) and SMS
//! ([`crate::SmsSender`]) each take a message of their own and say how the
//! attempt went, and whether trying again can help.

use std::future::Future;

use bus::{Retry, Retryable};

/// Sends one kind of message to one recipient.
pub trait Channel {
    /// What this channel sends: an email, or the text of an SMS.
    type Message;

    /// Sends `message` to `to` (an email address, a phone number).
    fn send(&self, to: &str, message: &Self::Message) -> impl Future<Output = Result<Receipt, SendError>> + Send;
}

/// What the mail server or gateway answered when it took a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub reply: String,
}

/// Why a message did not go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No `[smtp]` or `[sms_gateway]` for this channel.
    #[error("{channel} is not configured: set {hint}")]
    NotConfigured { channel: &'static str, hint: &'static str },
    /// The address or number cannot be sent to.
    #[error("bad recipient `{recipient}`: {reason}")]
    BadRecipient { recipient: String, reason: String },
    /// The message could not be made (a template, a header).
    #[error("{0}")]
    Compose(String),
    /// The mail server refused the message for good (a 5xx reply such as 550).
    #[error("the mail server refused the message: {0}")]
    SmtpRefused(String),
    /// The mail server could not be reached, or asked to try later (a 4xx reply).
    #[error("{0}")]
    Smtp(String),
    /// The SMS gateway could not be reached or did not answer in time.
    #[error("SMS gateway unreachable: {0}")]
    Unreachable(String),
    /// The SMS gateway answered with an error status.
    #[error("SMS gateway answered {status}: {detail}")]
    Gateway { status: u16, detail: String },
    /// A chat platform's API (Telegram, WhatsApp) could not be reached.
    #[error("{platform} unreachable: {reason}")]
    PlatformUnreachable { platform: &'static str, reason: String },
    /// A chat platform's API answered with an error status.
    #[error("{platform} answered {status}: {detail}")]
    Platform { platform: &'static str, status: u16, detail: String },
}

impl Retryable for SendError {
    /// Whether sending the same message again later can succeed: not for a
    /// missing setting, a bad address, a message that cannot be made, a
    /// refusal for good, or a gateway's 4xx other than 408 and 429.
    fn retry(&self) -> Retry {
        let retryable = match self {
            SendError::NotConfigured { .. }
            | SendError::BadRecipient { .. }
            | SendError::Compose(_)
            | SendError::SmtpRefused(_) => false,
            SendError::Smtp(_) | SendError::Unreachable(_) | SendError::PlatformUnreachable { .. } => true,
            SendError::Gateway { status, .. } | SendError::Platform { status, .. } => {
                !(400..500).contains(status) || *status == 408 || *status == 429
            }
        };
        if retryable { Retry::Later } else { Retry::Never }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_that_may_pass_are_retried() {
        let retry = |e: SendError| e.retry();
        let gateway = |status| retry(SendError::Gateway { status, detail: String::new() });
        for (status, want) in [(500, Retry::Later), (503, Retry::Later), (408, Retry::Later), (429, Retry::Later)]
            .into_iter()
            .chain([(400, Retry::Never), (401, Retry::Never), (404, Retry::Never), (422, Retry::Never)])
        {
            assert_eq!(gateway(status), want, "{status}");
        }
        assert_eq!(retry(SendError::Smtp("connection refused".into())), Retry::Later);
        assert_eq!(retry(SendError::Unreachable("timed out".into())), Retry::Later);
        assert_eq!(retry(SendError::SmtpRefused("550 no such user".into())), Retry::Never);
        let bad = SendError::BadRecipient { recipient: "x".into(), reason: "missing @".into() };
        assert_eq!(retry(bad), Retry::Never);
        assert_eq!(retry(SendError::NotConfigured { channel: "email", hint: "[smtp] url and from" }), Retry::Never);
    }
}
