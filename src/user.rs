//! `kentongan user add`.

use std::sync::Arc;

use model::{AccountRecord, Clock, SystemClock};

use crate::Failure;
use crate::config::Config;

/// Creates the account on the configured bus and prints its token.
pub async fn add(config: &Config, new: api::accounts::NewAccount) -> Result<(), Failure> {
    let bus = crate::run::open_bus(config).await?;
    let directory = api::Directory::default();
    bus.load(bus::Topic::Accounts, &directory).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (account, credential, token) =
        api::accounts::make_account(new, None, &directory, clock.now()).map_err(|e| match e.status.as_u16() {
            409 => Failure::Runtime(anyhow::anyhow!("{}", e.message)),
            _ => Failure::Config(e.message),
        })?;
    let audit = model::AuditEvent {
        id: uuid::Uuid::now_v7(),
        at: clock.now(),
        actor: "kentongan user add".into(),
        action: "account.create".into(),
        target: account.name.clone(),
        regions: account.regions.clone(),
        source: "command line".into(),
        before: None,
        after: Some(serde_json::json!({ "role": account.role, "regions": account.regions })),
    };
    let name = account.name.clone();
    directory.save(&bus, AccountRecord::Account(account)).await?;
    directory.save(&bus, AccountRecord::Credential(credential)).await?;
    bus.publish(bus::Topic::Audit, &audit.actor, &model::wire::encode(&audit)).await?;
    eprintln!("created account `{name}`; its API token, shown only now:");
    println!("{token}");
    Ok(())
}
