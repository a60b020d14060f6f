//! The alerter: routes each alert to the units responsible for its region and
//! indicator, and delivers it through a durable outbox.
//!
//! - [`units`]: the unit book, kept current from the `units` topic;
//! - [`outbox`]: what must be sent, kept on disk until it is;
//! - [`email`]: the Indonesian notification and its delivery over SMTP;
//! - [`links`]: signed, expiring one-click acknowledgement links;
//! - [`sms`]: SMS through an HTTP gateway, split to fit;
//! - [`templates`]: the words of notifications, Indonesian and English;
//! - [`stage`]: the bus loop (`alerts` in) and the sender loop.

pub mod email;
pub mod links;
pub mod outbox;
pub mod sms;
pub mod stage;
pub mod templates;
pub mod units;

pub use email::{Mailer, SmtpConfig};
pub use links::LinkKey;
pub use outbox::{Outbox, Policy};
pub use sms::{SmsGatewayConfig, SmsSender};
pub use templates::Templates;
pub use units::{SilenceBook, UnitBook};

/// Errors of the alerter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("outbox at {path}: {reason}")]
    Outbox { path: String, reason: String },
    #[error("smtp: {0}")]
    Smtp(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Bus(#[from] bus::Error),
}
