//! The `kentongan` binary: parses the command line and wires the stages.

mod classify;
mod cli;
mod config;
mod reindex;
mod run;
mod user;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, RulesCommand, UserCommand};

/// mimalloc rather than the system allocator: buffers are made on the
/// request threads and freed on the log's writer thread, which glibc's
/// allocator handles slowly (a tenth of the intake's time under load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use crate::config::Config;

/// How a command failed, which decides the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or configuration: exit 2.
    Config(String),
    /// Something failed while running: exit 1.
    Runtime(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Runtime(e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // TLS (feeds over https, SMTPS) uses rustls with the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let filter = tracing_subscriber::EnvFilter::try_from_env("KENTONGAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tantivy=warn,rdkafka=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // KENTONGAN_LOG_FORMAT=json: one JSON object a line, for a log collector;
    // the events of one report carry its id as the field `report`
    match std::env::var("KENTONGAN_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().with_current_span(true).with_span_list(false).init(),
        Ok("text") | Err(std::env::VarError::NotPresent) => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        Ok(other) => {
            eprintln!("error: KENTONGAN_LOG_FORMAT is `{other}`: set it to `json` or `text` (the default)");
            return ExitCode::from(2);
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            eprintln!("error: KENTONGAN_LOG_FORMAT is not UTF-8: set it to `json` or `text` (the default)");
            return ExitCode::from(2);
        }
    }
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs `f` on a multi-threaded tokio runtime.
fn block_on<F: std::future::Future<Output = Result<(), Failure>>>(f: F) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(f);
    // blocking work still running (a request the grace period gave up on)
    // does not keep the process from exiting
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

fn execute(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Run { config, role } => {
            let config = Config::load(config.as_deref()).map_err(Failure::Config)?;
            block_on(run::run(config, role))
        }
        Command::Classify { config, rules } => {
            let config = Config::load(config.as_deref()).map_err(Failure::Config)?;
            let set = match rules.or(config.rules.path) {
                Some(path) => classifier::RuleSet::load(&path).map_err(|e| Failure::Config(e.to_string()))?,
                None => classifier::RuleSet::builtin(),
            };
            let classifier = classifier::Classifier::new(set);
            classify::run(&classifier, std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(())
        }
        Command::User { command: UserCommand::Add { name, role, regions, display_name, email, phone, config } } => {
            let config = Config::load(config.as_deref()).map_err(Failure::Config)?;
            let new = accounts::NewAccount {
                name,
                role,
                regions,
                display_name,
                email,
                phone,
                telegram: None,
                password: None,
            };
            block_on(user::add(&config, new))
        }
        Command::User { command: UserCommand::Password { name, config } } => {
            let config = Config::load(config.as_deref()).map_err(Failure::Config)?;
            block_on(user::password(&config, &name))
        }
        Command::Reindex { config, only } => {
            let config = Config::load(config.as_deref()).map_err(Failure::Config)?;
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| Failure::Config(format!("cannot create data_dir {}: {e}", config.data_dir.display())))?;
            block_on(reindex::run(&config, only))
        }
        Command::Rules { command: RulesCommand::Check { path } } => match classifier::RuleSet::load(&path) {
            Ok(set) => {
                println!(
                    "{}: {} rules, {} thresholds, all valid",
                    path.display(),
                    set.rules.len(),
                    set.thresholds.len()
                );
                Ok(())
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
    }
}
