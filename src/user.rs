//! `kentongan user add` and `kentongan user password`.

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

/// Sets the password of account `name` to the first line of stdin.
pub async fn password(config: &Config, name: &str) -> Result<(), Failure> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::Config(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    let bus = crate::run::open_bus(config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let accounts = accounts::Accounts::new(bus.clone(), clock);
    bus.load(bus::Topic::Accounts, &accounts.directory).await?;
    accounts.set_password(name, password).await.map_err(failure)?;
    eprintln!("set the web password of `{name}`");
    Ok(())
}

/// What was given is wrong: exit 2, saying what to fix. Anything else (a
/// name already taken, a log that cannot be written) failed while running:
/// exit 1.
fn failure(e: accounts::Error) -> Failure {
    match e {
        accounts::Error::Invalid { .. } | accounts::Error::NotFound(_) => Failure::Config(e.to_string()),
        other => Failure::Runtime(other.into()),
    }
}
