//! The alerter: routes each alert to the units responsible for its region and
//! indicator, and delivers it through a durable outbox.
//!
//! - [`policy`]: every decision, as pure functions of the alert, the units,
//!   what the outbox remembers and the time: routing, off-duty stand-ins,
//!   silences, repeats, inhibition, grouping, escalation timers, the
//!   per-recipient limit, retries;
//! - [`stage`]: the bus loop (`alerts` in): gathers what a decision needs,
//!   has the policy decide, and hands the decision to the outbox; and the
//!   escalation timers as they fall due;
//! - [`outbox`]: what was decided, kept on disk until it is sent;
//! - [`sender`]: works the outbox off through the channels, recording each
//!   attempt;
//! - [`channel`]: the [`Channel`] trait, and why a send failed and whether a
//!   retry can help;
//! - [`email`]: email over SMTP (lettre); [`sms`]: SMS through an HTTP
//!   gateway, split to fit;
//! - [`units`]: the unit book and the silences, kept current from their topics;
//! - [`links`]: signed, expiring one-click acknowledgement links;
//! - [`templates`]: the words of notifications, Indonesian and English;
//! - [`reply`]: replies to reporters over their own channel, through an
//!   outbox of their own;
//! - [`duty_mail`]: reminders, summaries and morning briefs, each sent once
//!   through an outbox of their own.

pub mod channel;
pub mod duty_mail;
pub mod email;
pub mod links;
pub mod outbox;
pub mod policy;
pub mod reply;
pub mod sender;
pub mod sms;
pub mod stage;
pub mod templates;
pub mod units;

pub use channel::{Channel, Receipt, SendError};
pub use email::{Mailer, SmtpConfig};
pub use links::LinkKey;
pub use outbox::Outbox;
pub use policy::{EscalationConfig, Policy};
pub use sms::{SmsGatewayConfig, SmsSender};
pub use templates::Templates;
pub use units::{SilenceBook, UnitBook};

/// Errors of the alerter stage and its setup.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The outbox database failed (a full disk, say).
    #[error("outbox at {path}: {reason}")]
    Outbox { path: String, reason: String },
    /// A setting or template is wrong; the message says which.
    #[error("{0}")]
    Config(String),
    /// A task of the stage stopped without finishing (it was cancelled).
    #[error("{task} task failed: {reason}")]
    Task { task: &'static str, reason: String },
    #[error(transparent)]
    Bus(#[from] bus::Error),
}

impl bus::Retryable for Error {
    /// Running the stage again can help unless a setting (of its own or of
    /// the bus) is wrong or the bus was shut down.
    fn retry(&self) -> bus::Retry {
        match self {
            Error::Outbox { .. } | Error::Task { .. } => bus::Retry::Later,
            Error::Config(_) => bus::Retry::Never,
            Error::Bus(e) => e.retry(),
        }
    }
}
