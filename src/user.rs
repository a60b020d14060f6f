//! `kentongan user add`.

use std::sync::Arc;

use model::{Clock, SystemClock};

use crate::Failure;
use crate::config::Config;

/// Creates the account on the configured bus and prints its token.
pub async fn add(config: &Config, new: accounts::NewAccount) -> Result<(), Failure> {
    let bus = crate::run::open_bus(config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let accounts = accounts::Accounts::new(bus.clone(), clock);
    bus.load(bus::Topic::Accounts, &accounts.directory).await?;
    let created = accounts.create(None, new, accounts::Origin::COMMAND_LINE).await.map_err(failure)?;
    eprintln!("created account `{}`; its API token, shown only now:", created.account.name);
    println!("{}", created.token);
    Ok(())
}

/// What was given is wrong: exit 2, saying what to fix. Anything else (a
/// name already taken, a log that cannot be written) failed while running:
/// exit 1.
fn failure(e: accounts::Error) -> Failure {
    match e {
        accounts::Error::Invalid { .. } => Failure::Config(e.to_string()),
        other => Failure::Runtime(other.into()),
    }
}
