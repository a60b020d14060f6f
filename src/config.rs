//! The configuration: defaults, then the TOML file, then `KENTONGAN_*`
//! environment variables (`KENTONGAN_HTTP__LISTEN=127.0.0.1:9000`).
//! Unknown keys are refused, naming the key and where it came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytesize::ByteSize;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

/// The whole configuration. Without a file, these defaults run every stage
/// in one process on the embedded log, with state under `./data`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// All local state: the embedded log, the search index, the outbox.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// A name for this node, unique among nodes sharing a Kafka cluster; an
    /// `api` node without the `indexer` role keeps its own search replica
    /// under the consumer group `search-v<schema>-<analysis>-<node_name>`
    /// (a changed text analysis has a new fingerprint, so the replica is
    /// rebuilt from the log).
    #[serde(default = "default_node_name")]
    pub node_name: String,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub auth: AuthConfig,
    /// Run over Kafka instead of the embedded log.
    #[serde(default)]
    pub kafka: Option<bus::KafkaConfig>,
    /// Send analytics to ClickHouse.
    #[serde(default)]
    pub clickhouse: Option<archive::ClickHouseConfig>,
    /// Send alert email.
    #[serde(default)]
    pub smtp: Option<alerter::SmtpConfig>,
    /// A folder of notification templates replacing the built-in ones by
    /// file name (`email.id.subject`, `email.id.txt`, `email.id.html`,
    /// `sms.id.txt`, and `.en.` for English).
    #[serde(default)]
    pub notification_templates: Option<PathBuf>,
    /// Units to start with (TOML `[[unit]]` tables with ids); those missing
    /// from the `units` topic are added at start.
    #[serde(default)]
    pub units_file: Option<PathBuf>,
    /// How long each level may stay unacknowledged before the parent units
    /// hear of it.
    #[serde(default)]
    pub escalation: alerter::EscalationConfig,
    /// How alert notifications go out.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Send alert SMS through an HTTP gateway.
    #[serde(default)]
    pub sms_gateway: Option<alerter::SmsGatewayConfig>,
    #[serde(default)]
    pub rules: RulesConfig,
    /// Limits on reports and their senders.
    #[serde(default)]
    pub ingest: ingest::IngestConfig,
    /// Where attachments are kept.
    #[serde(default)]
    pub attachments: ingest::AttachmentsConfig,
    /// The Telegram bot webhook.
    #[serde(default)]
    pub telegram: Option<ingest::TelegramConfig>,
    /// The WhatsApp Cloud API webhook.
    #[serde(default)]
    pub whatsapp: Option<ingest::WhatsappConfig>,
    /// The SMS gateway.
    #[serde(default)]
    pub sms: Option<ingest::SmsConfig>,
    /// A mailbox polled over IMAP: email as a channel.
    #[serde(default)]
    pub email_intake: Option<ingest::EmailIntakeConfig>,
    /// News feeds to poll.
    #[serde(default)]
    pub feeds: Vec<ingest::FeedConfig>,
    /// How long each channel's reports are kept, in the search index and in
    /// ClickHouse; channels not listed are kept forever.
    #[serde(default)]
    pub retention: archive::Retention,
    /// Reminders before a report template's deadline, summaries to parent
    /// units after it, and the morning brief.
    #[serde(default)]
    pub duties: DutiesConfig,
}

/// `[duties]`: what a node with the `api` role sends about periodic
/// reports, through its duty outbox (`data_dir/duty-outbox.redb`), by
/// `[smtp]` and `[sms_gateway]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutiesConfig {
    /// Whether this node sends them (and archives the briefs). By default
    /// yes on the embedded log; over Kafka no, since each api node would
    /// send its own copy: set it on one api node of the cluster, or name
    /// that node in `sender`.
    #[serde(default)]
    pub send: Option<bool>,
    /// Over Kafka, the `node_name` of the one api node that sends, so that
    /// replicas sharing one config (a StatefulSet's `kentongan-api-0`) agree
    /// on it. `send`, when set, wins.
    #[serde(default)]
    pub sender: Option<String>,
    /// How long before a filer's deadline (in its own zone) the units of
    /// the filers that have not filed are reminded, by email and SMS; 0
    /// turns reminders off.
    #[serde(default = "default_remind_before", with = "humantime_serde")]
    pub remind_before: std::time::Duration,
    /// Whether the parent units get a summary (filed, late, not filed)
    /// once the deadline has passed.
    #[serde(default = "yes")]
    pub summaries: bool,
    /// The local time (`HH:MM`, in each province's zone, WIB for the
    /// national brief) the morning brief goes out.
    #[serde(default = "default_brief_at")]
    pub brief_at: String,
    /// Units (by id) that get, by email with the PDF attached, the brief of
    /// each province their regions lie in.
    #[serde(default)]
    pub brief_units: Vec<String>,
    /// Units (by id) that get the national brief.
    #[serde(default)]
    pub national_brief_units: Vec<String>,
}

fn yes() -> bool {
    true
}

fn default_remind_before() -> std::time::Duration {
    std::time::Duration::from_secs(2 * 3600)
}

fn default_brief_at() -> String {
    "06:00".into()
}

impl Default for DutiesConfig {
    fn default() -> Self {
        Self {
            send: None,
            sender: None,
            remind_before: default_remind_before(),
            summaries: true,
            brief_at: default_brief_at(),
            brief_units: Vec::new(),
            national_brief_units: Vec::new(),
        }
    }
}

impl DutiesConfig {
    /// Whether the node `node_name` sends reminders, summaries and briefs:
    /// `send` when set, else whether `sender` names it, else only on the
    /// embedded log (over Kafka every api node would send its own copy).
    pub fn sends(&self, node_name: &str, on_kafka: bool) -> bool {
        match (self.send, &self.sender) {
            (Some(send), _) => send,
            (None, Some(sender)) => sender == node_name,
            (None, None) => !on_kafka,
        }
    }

    /// The scheduler's plan (the configuration is validated first).
    pub fn plan(&self) -> api::briefs::Plan {
        api::briefs::Plan {
            remind_before: time::Duration::try_from(self.remind_before).unwrap_or(time::Duration::MAX),
            summaries: self.summaries,
            brief_at: duties::period::minutes_of(&self.brief_at).unwrap_or(360),
            brief_units: self.brief_units.clone(),
            national_brief_units: self.national_brief_units.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address of the API and web UI.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The address people use to reach the web UI, for links in alerts;
    /// defaults to `http://<listen>`.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Largest request body accepted; larger ones get 413.
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { listen: default_listen(), public_url: None, max_body: default_max_body() }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// When set, the national admin `admin` signs in with this bearer token.
    #[serde(default)]
    pub bootstrap_token: Option<String>,
    /// Signs the one-click acknowledgement links in alert email (at least 32
    /// characters). Every alerter and api node needs the same one; without
    /// it a node keeps a key of its own in `data_dir/link.key`.
    #[serde(default)]
    pub link_secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Notifications one email address or phone gets an hour: that many at
    /// once, then one more each time an hour's share of them has passed;
    /// more wait their turn, awas excepted. 0: no limit.
    #[serde(default = "default_per_recipient")]
    pub per_recipient_per_hour: u32,
    /// Alerts of one series (indicator and region) raised within this go out
    /// as one notification, the latest; awas never waits. 0: no wait.
    #[serde(default = "default_group_window", with = "humantime_serde")]
    pub group_window: std::time::Duration,
    /// The same series and level is not notified again within this.
    #[serde(default = "default_repeat_interval", with = "humantime_serde")]
    pub repeat_interval: std::time::Duration,
}

fn default_group_window() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

fn default_repeat_interval() -> std::time::Duration {
    std::time::Duration::from_secs(4 * 3600)
}

impl DeliveryConfig {
    pub fn policy(&self, escalation: alerter::EscalationConfig) -> alerter::Policy {
        let d = |d: std::time::Duration| time::Duration::try_from(d).unwrap_or(time::Duration::MAX);
        alerter::Policy { group_window: d(self.group_window), repeat_interval: d(self.repeat_interval), escalation }
    }
}

fn default_per_recipient() -> u32 {
    30
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            per_recipient_per_hour: default_per_recipient(),
            group_window: default_group_window(),
            repeat_interval: default_repeat_interval(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// A rule file or a folder of them; the built-in pack when unset.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./data")
}

fn default_node_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kentongan".into())
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_max_body() -> ByteSize {
    ByteSize::mib(2)
}

impl Config {
    /// Loads the file (if any) and the environment over the defaults.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.is_file() {
                return Err(format!(
                    "config file {} does not exist: check --config or KENTONGAN_CONFIG",
                    file.display()
                ));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("KENTONGAN_").split("__").ignore(&["config", "log", "log_format"]));
        let config: Config =
            figment.extract().map_err(|e| e.into_iter().map(|e| describe(&e)).collect::<Vec<_>>().join("\n"))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot, reporting every problem at once.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if let Some(k) = &self.kafka {
            if k.brokers.trim().is_empty() {
                problems.push("kafka.brokers is empty: list at least one broker, like `127.0.0.1:9092`".to_owned());
            }
            if k.partitions < 1 {
                problems.push("kafka.partitions must be at least 1".to_owned());
            }
        }
        if let Some(s) = &self.smtp
            && !(s.url.starts_with("smtp://") || s.url.starts_with("smtps://"))
        {
            problems.push(format!("smtp.url `{}` must start with smtp:// or smtps://", s.url));
        }
        if let Some(c) = &self.clickhouse
            && !(c.url.starts_with("http://") || c.url.starts_with("https://"))
        {
            problems.push(format!("clickhouse.url `{}` must be the HTTP interface, like http://127.0.0.1:8123", c.url));
        }
        for (i, feed) in self.feeds.iter().enumerate() {
            if !(feed.url.starts_with("http://") || feed.url.starts_with("https://")) {
                problems.push(format!("feeds[{i}].url `{}` must be an http:// or https:// address", feed.url));
            }
            if feed.interval < std::time::Duration::from_secs(1) {
                problems.push(format!("feeds[{i}].interval must be at least 1s"));
            }
        }
        if self.telegram.as_ref().is_some_and(|t| t.secret_token.len() < 16) {
            problems.push("telegram.secret_token needs at least 16 characters".to_owned());
        }
        if self.whatsapp.as_ref().is_some_and(|w| w.app_secret.is_empty() || w.verify_token.is_empty()) {
            problems.push("whatsapp.app_secret and whatsapp.verify_token must not be empty".to_owned());
        }
        if self.sms.as_ref().is_some_and(|s| s.inbound_token.len() < 16) {
            problems.push("sms.inbound_token needs at least 16 characters".to_owned());
        }
        if let Some(mail) = &self.email_intake
            && let Err(problem) = mail.check()
        {
            problems.push(problem);
        }
        if self.ingest.max_files == 0 || self.ingest.max_file_size > self.ingest.max_report_size {
            problems.push("ingest: max_files must be at least 1, and max_file_size at most max_report_size".to_owned());
        }
        if self.node_name.is_empty() || !self.node_name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            problems.push(format!("node_name `{}` may hold only letters, digits, - _ and .", self.node_name));
        }
        if duties::period::minutes_of(&self.duties.brief_at).is_err() || self.duties.brief_at == "24:00" {
            problems.push(format!(
                "duties.brief_at `{}` is not a time of day: write HH:MM, like 06:00",
                self.duties.brief_at
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
    }

    pub fn public_url(&self) -> String {
        self.http.public_url.clone().unwrap_or_else(|| format!("http://{}", self.http.listen))
    }
}

/// `configuration error in FILE: key `http.colour`: unknown field …`
fn describe(e: &figment::Error) -> String {
    let origin = e.metadata.as_ref().map_or_else(
        || "the defaults".to_owned(),
        |m| m.source.as_ref().map_or_else(|| m.name.to_string(), ToString::to_string),
    );
    let key = e.path.join(".").to_lowercase();
    if key.is_empty() {
        format!("configuration error in {origin}: {}", e.kind)
    } else {
        format!("configuration error in {origin}: key `{key}`: {}", e.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brief_time_that_is_not_a_time_of_day_is_refused() {
        let load = |text: &str| -> Config { Figment::new().merge(Toml::string(text)).extract().unwrap() };
        for bad in ["6 pagi", "24:00", "06:60"] {
            let e = load(&format!("[duties]\nbrief_at = \"{bad}\"")).validate().unwrap_err();
            assert!(e.contains(&format!("duties.brief_at `{bad}`")), "{e}");
        }
        let good = load("[duties]\nbrief_at = \"05:30\"\nremind_before = \"90m\"");
        assert!(good.validate().is_ok());
        let plan = good.duties.plan();
        assert_eq!((plan.brief_at, plan.remind_before), (330, time::Duration::minutes(90)));
        assert_eq!(good.duties.send, None, "decided by the bus: yes on the embedded log, no over Kafka");
    }

    #[test]
    fn one_node_of_a_cluster_sends_the_duty_mail() {
        let load = |text: &str| -> DutiesConfig {
            Figment::new().merge(Toml::string(text)).extract::<Config>().unwrap().duties
        };
        let default = load("");
        assert!(default.sends("kentongan", false), "the embedded log: the one node sends");
        assert!(!default.sends("kentongan-api-0", true), "over Kafka nobody unless chosen");
        // replicas sharing one config agree on the one named
        let named = load("[duties]\nsender = \"kentongan-api-0\"");
        assert!(named.sends("kentongan-api-0", true));
        assert!(!named.sends("kentongan-api-1", true));
        // send, when set, wins either way
        assert!(!load("[duties]\nsend = false\nsender = \"a\"").sends("a", false));
        assert!(load("[duties]\nsend = true").sends("b", true));
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kentongan.example.toml");
        let config = Config::load(Some(&path)).unwrap();
        assert!(config.kafka.is_some());
        assert!(config.clickhouse.is_some());
        assert!(config.smtp.is_some());
    }
}
