//! The types that cross kentongan's stage boundaries, with their versioned JSON
//! wire format. This crate does no I/O: the region list is compiled in.

pub mod account;
pub mod alert;
pub mod audit;
pub mod classification;
pub mod region;
pub mod reply;
pub mod report;
pub mod scope;
pub mod unit;
pub mod wire;

pub use account::{Account, AccountRecord, Credential, CredentialKind, Role};
pub use alert::{
    Alert, AlertBook, AlertEvent, AlertFilter, AlertState, ChangeError, Delivery, DeliveryChannel, Escalation, Level,
    ReportRef, StateChange, Window,
};
pub use audit::AuditEvent;
pub use classification::{Classification, ClassifiedReport, IndicatorHit, MatchField, TermMatch};
pub use region::{RegionCode, RegionLevel, regions};
pub use report::{Attachment, Channel, Filing, GeoPoint, Report, ReportId, Reporter};
pub use scope::Scope;
pub use unit::{Silence, Unit};

/// The built-in indicator ids (INTERFACE.md). Rule packs may add more.
pub const INDICATORS: [&str; 5] = ["narkoba", "konflik_sosial", "kerukunan_beragama", "ideologi", "demokrasi"];

/// The Indonesian name of an indicator, for people: `konflik_sosial` → `Konflik sosial`.
pub fn indicator_name(id: &str) -> String {
    match id {
        "narkoba" => "Narkoba".into(),
        "konflik_sosial" => "Konflik sosial".into(),
        "kerukunan_beragama" => "Kerukunan beragama".into(),
        "ideologi" => "Ideologi, radikalisme dan separatisme".into(),
        "demokrasi" => "Demokrasi dan pemilu".into(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// The first `max` characters of `text` on whole words, with `…` when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rfind(char::is_whitespace).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", cut.trim_end())
}

/// Errors of this crate; each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "malformed region code `{0}`: write a Kemendagri code such as `72`, `72.71`, `72.71.02` or `72.71.02.1001`"
    )]
    MalformedRegion(String),
    #[error("unknown region code `{0}`: it is not in the Kemendagri list bundled with kentongan (idn-area-data 4.0.1)")]
    UnknownRegion(String),
    #[error("message has wire version {found}, this build reads version {supported}: upgrade kentongan")]
    WireVersion { found: u64, supported: u64 },
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// What to fix, in Indonesian, for a person filing a report.
    pub fn pesan(&self) -> String {
        match self {
            Error::MalformedRegion(code) => format!(
                "kode wilayah `{code}` salah tulis: tulis kode Kemendagri seperti `72`, `72.71`, `72.71.02` atau \
                 `72.71.02.1001`"
            ),
            Error::UnknownRegion(code) => {
                format!(
                    "kode wilayah `{code}` tidak ada dalam daftar Kemendagri yang dipakai kentongan: periksa kodenya"
                )
            }
            other => other.to_string(),
        }
    }
}

/// Where time comes from, so tests can control it. Logic takes `now` as an
/// argument; only the edges of the system ask a clock.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> time::OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }
}
