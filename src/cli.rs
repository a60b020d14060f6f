//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Kentongan: early warning for Indonesian regional governments.
///
/// Reports from field officers, chat bots, SMS and news feeds are classified
/// against five indicators (narkoba, konflik_sosial, kerukunan_beragama,
/// ideologi, demokrasi), archived, counted, and turned into alerts for the
/// unit that must act.
#[derive(Debug, Parser)]
#[command(name = "kentongan", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline.
    ///
    /// With no --role, every stage runs in this process. Without [kafka] in
    /// the configuration, stages talk through the embedded log under data_dir,
    /// so nothing else needs to be installed.
    #[command(after_help = "Examples:
  kentongan run                                  # everything, embedded, http://127.0.0.1:8080
  kentongan run --config /etc/kentongan.toml     # as configured
  kentongan run --config k.toml --role classifier   # one stage, over Kafka
  KENTONGAN_HTTP__LISTEN=0.0.0.0:8080 kentongan run")]
    Run {
        /// TOML configuration file.
        #[arg(long, env = "KENTONGAN_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Run only this stage; repeat for several. Needs [kafka].
        #[arg(long, value_enum, value_name = "ROLE")]
        role: Vec<Role>,
    },
    /// Classify reports read as JSON lines from stdin.
    ///
    /// Each input line is a JSON object with at least `text` (and optionally
    /// `id`, `title`, `region`). Each output line, in the same order, gives the
    /// language, the indicators with their score and matched terms (with byte
    /// offsets and rule ids), and the regions.
    #[command(after_help = r#"Examples:
  echo '{"id":"1","text":"Pesta sabu di Palu Barat"}' | kentongan classify
  kentongan classify --rules my-rules/ < reports.jsonl > tags.jsonl"#)]
    Classify {
        #[arg(long, env = "KENTONGAN_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// A rule file or folder; default: rules.path from the config, else the built-in pack.
        #[arg(long, value_name = "PATH")]
        rules: Option<PathBuf>,
    },
    /// Rebuild the search index and the ClickHouse tables from the log.
    ///
    /// Reads the whole `classified` topic (the embedded log under data_dir, or
    /// Kafka) and writes every report again, applying [retention]. The search
    /// index is built beside the live one and swapped in at the end, so stop
    /// `kentongan run` on this data_dir first. ClickHouse (when configured) is
    /// emptied and refilled, and may be rebuilt while the pipeline runs. An
    /// interrupted rebuild resumes from its checkpoint when run again.
    #[command(after_help = "Examples:
  kentongan reindex                                   # embedded node, stopped first
  kentongan reindex --config /etc/kentongan.toml      # search index and ClickHouse
  kentongan reindex --config k.toml --only clickhouse # ClickHouse alone, pipeline running")]
    Reindex {
        #[arg(long, env = "KENTONGAN_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Rebuild only this store.
        #[arg(long, value_enum, value_name = "STORE")]
        only: Option<Store>,
    },
    /// Work with rule files.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account and print its API token (shown only this once).
    ///
    /// The account is written to the `accounts` topic: over Kafka this works
    /// while the pipeline runs; with the embedded log, stop `kentongan run`
    /// first (or use POST /api/v1/users on the running server). Without
    /// --region the account is national.
    #[command(after_help = "Examples:
  kentongan user add budi --role operator --region 72.71 --email budi@kesbangpol.palukota.go.id
  kentongan user add analis-sulteng --role analyst --region 72
  kentongan user add pusat --role admin                      # national admin")]
    Add {
        /// Sign-in name: lowercase letters, digits, `.`, `_` and `-`.
        name: String,
        #[arg(long, value_name = "ROLE")]
        role: model::Role,
        /// A Kemendagri region code the account covers; repeat for several.
        #[arg(long = "region", value_name = "CODE")]
        regions: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long, env = "KENTONGAN_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Set an account's web password, read from stdin (the first line).
    ///
    /// For a first sign-in or a forgotten password. It ends the account's
    /// web sessions. Like `user add`, it writes to the `accounts` topic:
    /// with the embedded log, stop `kentongan run` first. On a running
    /// server, the bootstrap admin can instead sign in to the web app as
    /// `admin` with auth.bootstrap_token as the password, and set one there.
    #[command(after_help = "Examples:
  kentongan user password admin                 # type the password, then Enter
  printf '%s\\n' \"$PASSWORD\" | kentongan user password budi --config /etc/kentongan.toml")]
    Password {
        /// The account's sign-in name.
        name: String,
        #[arg(long, env = "KENTONGAN_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check a rule file or a folder of them.
    ///
    /// Every problem is printed to stderr as `file:line:col: message`. Exits 0
    /// when the rules are valid, 1 when they are not.
    #[command(after_help = "Examples:
  kentongan rules check rules/
  kentongan rules check rules/narkoba.toml")]
    Check {
        /// A rule file or a folder of `*.toml` rule files.
        path: PathBuf,
    },
}

/// The stages a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Role {
    /// HTTP intake of reports.
    Ingest,
    /// Rules, thresholds and alerts.
    Classifier,
    /// The search index and ClickHouse.
    Indexer,
    /// Alert routing and delivery.
    Alerter,
    /// The query API and web UI.
    Api,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Ingest, Role::Classifier, Role::Indexer, Role::Alerter, Role::Api];
}

/// The stores `kentongan reindex` rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Store {
    /// The tantivy search index under data_dir.
    Search,
    /// ClickHouse's reports, daily counts and alerts.
    Clickhouse,
}
