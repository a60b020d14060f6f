//! Settings of the intake: `[ingest]`, `[telegram]`, `[whatsapp]`, `[sms]`,
//! `[email_intake]`, `[[feeds]]`.

use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

/// `[ingest]`: limits on what one report may carry and how fast reports may come.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Longest report text, in characters.
    #[serde(default = "default_text_chars")]
    pub max_text_chars: usize,
    /// Largest single attachment.
    #[serde(default = "default_file_size")]
    pub max_file_size: ByteSize,
    /// Largest whole report with its attachments (the multipart body).
    #[serde(default = "default_report_size")]
    pub max_report_size: ByteSize,
    /// Most attachments on one report.
    #[serde(default = "default_files")]
    pub max_files: usize,
    /// Reports per minute one account may submit; 0 turns the limit off.
    #[serde(default = "default_per_account")]
    pub rate_per_account: u32,
    /// Reports per minute from one sender on a chat bot or SMS (a phone
    /// number, a chat); 0 turns the limit off.
    #[serde(default = "default_per_source")]
    pub rate_per_source: u32,
}

fn default_text_chars() -> usize {
    20_000
}
fn default_file_size() -> ByteSize {
    ByteSize::mib(10)
}
fn default_report_size() -> ByteSize {
    ByteSize::mib(25)
}
fn default_files() -> usize {
    5
}
fn default_per_account() -> u32 {
    120
}
fn default_per_source() -> u32 {
    30
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_text_chars: default_text_chars(),
            max_file_size: default_file_size(),
            max_report_size: default_report_size(),
            max_files: default_files(),
            rate_per_account: default_per_account(),
            rate_per_source: default_per_source(),
        }
    }
}

/// `[attachments]`: where photos and documents are kept.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsConfig {
    /// An S3-compatible bucket; without it, files go under `data_dir/attachments`.
    #[serde(default)]
    pub s3: Option<S3Config>,
}

/// An S3-compatible object store (AWS S3, MinIO, Ceph, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// For example `https://s3.ap-southeast-3.amazonaws.com` or `http://minio:9000`.
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Put before every key, like `kentongan/`.
    #[serde(default)]
    pub prefix: String,
}

fn default_region() -> String {
    "us-east-1".into()
}

/// `[telegram]`: the Telegram Bot API webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The `secret_token` given to `setWebhook`; Telegram sends it back in
    /// `X-Telegram-Bot-Api-Secret-Token` and anything without it is refused.
    pub secret_token: String,
    /// The bot's token from BotFather, for replies sent later than the
    /// webhook's answer (an operator's note on a report); without it those
    /// replies fail, saying so.
    #[serde(default)]
    pub bot_token: Option<String>,
    /// The Bot API base the replies go to.
    #[serde(default = "default_bot_api_url")]
    pub api_url: String,
}

fn default_bot_api_url() -> String {
    "https://api.telegram.org".into()
}

/// `[whatsapp]`: the WhatsApp Cloud API webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappConfig {
    /// The verify token set in the Meta app dashboard, for the GET handshake.
    pub verify_token: String,
    /// The app secret; every POST must carry `X-Hub-Signature-256` made with it.
    pub app_secret: String,
    /// A Cloud API access token; when set, each sender gets the receipt
    /// number back as a WhatsApp message.
    #[serde(default)]
    pub access_token: Option<String>,
    /// The Graph API base the replies go to.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// The business number's id that operators' replies are sent from
    /// (receipts go from the number the message came to).
    #[serde(default)]
    pub phone_number_id: Option<String>,
}

fn default_graph_url() -> String {
    "https://graph.facebook.com/v21.0".into()
}

/// `[sms]`: the HTTP SMS gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The gateway sends this as `Authorization: Bearer …` (or `?token=`).
    pub inbound_token: String,
    /// How long to wait for the missing parts of a long message before
    /// taking what arrived as the report.
    #[serde(default = "default_part_wait", with = "humantime_serde")]
    pub part_wait: Duration,
}

fn default_part_wait() -> Duration {
    Duration::from_secs(600)
}

/// `[email_intake]`: a mailbox polled over IMAP; each new message is a report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailIntakeConfig {
    /// `imaps://imap.example.go.id` (TLS; port 993 unless given) or
    /// `imap://127.0.0.1:143` (no encryption: only for a server on the same
    /// host or a private network).
    pub url: String,
    pub username: String,
    pub password: String,
    /// The folder read.
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// How often the mailbox is polled.
    #[serde(default = "default_mail_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// A PEM file of certificate authorities to trust besides the public ones.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The mail server's name in its `Authentication-Results` headers. When
    /// set, a sender is matched to an account by address only when the
    /// topmost such header, the server's own, says `dmarc=pass`, or
    /// `dkim=pass` signed by the sender's domain; otherwise the message is a
    /// report from the public.
    #[serde(default)]
    pub authserv_id: Option<String>,
    /// Without `authserv_id`, whether `From` is believed anyway: only for a
    /// mail server that refuses forged senders itself. By default no, and
    /// every message is a report from the public.
    #[serde(default)]
    pub trust_from: bool,
}

fn default_mailbox() -> String {
    "INBOX".into()
}

fn default_mail_interval() -> Duration {
    Duration::from_secs(60)
}

/// One `[[feeds]]` entry: an RSS or Atom feed to poll.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub url: String,
    /// How often to poll, like `10m`.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// A short name for status pages and metrics; the URL when unset.
    #[serde(default)]
    pub name: Option<String>,
    /// The region a local news source covers, given to its items. Only
    /// accounts covering it see the feed in `GET /api/v1/feeds`; a feed
    /// without one is shown to national accounts only.
    #[serde(default)]
    pub region: Option<model::RegionCode>,
    /// Largest answer taken from the feed (after decompression); a larger
    /// one is a failed poll ("too large") and is not kept.
    #[serde(default = "default_feed_size")]
    pub max_size: ByteSize,
}

fn default_feed_size() -> ByteSize {
    ByteSize::mib(10)
}

fn default_interval() -> Duration {
    Duration::from_secs(600)
}

impl FeedConfig {
    /// Its name, or else its URL as it may be shown (see [`FeedConfig::shown_url`]).
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.shown_url())
    }

    /// The URL without what may be secret: no user name or password, no
    /// query (which often carries an API key), no fragment.
    pub fn shown_url(&self) -> String {
        match reqwest::Url::parse(&self.url) {
            Ok(mut url) => {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.set_query(None);
                url.set_fragment(None);
                url.to_string()
            }
            Err(_) => "(not a valid URL)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_keep_no_secrets() {
        let feed = |url: &str| FeedConfig {
            url: url.into(),
            interval: default_interval(),
            name: None,
            region: None,
            max_size: default_feed_size(),
        };
        let secret = feed("https://budi:sandi@berita.example.id:8443/rss/palu.xml?key=SECRET&x=1#atas");
        assert_eq!(secret.shown_url(), "https://berita.example.id:8443/rss/palu.xml");
        assert_eq!(secret.label(), secret.shown_url());
        assert_eq!(feed("http://127.0.0.1:9/a?token=t").shown_url(), "http://127.0.0.1:9/a");
        assert_eq!(feed("bukan url ?key=SECRET").shown_url(), "(not a valid URL)");
    }
}
