//! `kentongan run`: wires the stages of this node's roles together.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bus::{Bus, Topic, View};
use model::{Clock, SystemClock};
use tokio::task::JoinSet;

use crate::Failure;
use crate::cli::Role;
use crate::config::Config;

/// The configured bus: Kafka when `[kafka]` is set, else the embedded log
/// under data_dir.
pub async fn open_bus(config: &Config) -> Result<Bus, Failure> {
    Ok(match &config.kafka {
        Some(k) => Bus::Kafka(bus::kafka::KafkaBus::connect(k.clone()).await.with_context(|| {
            format!("cannot use Kafka at {}: check kafka.brokers and that the cluster is up", k.brokers)
        })?),
        None => Bus::Embedded(bus::embedded::EmbeddedLog::open(&config.data_dir.join("bus.redb"))?),
    })
}

/// Restarts `stage` whenever it fails (a service went away, say), with a
/// growing pause, until the process stops. Commits happen only after output is
/// durable, so a restart resumes where the last commit left off.
async fn supervise<F, Fut, E>(name: &'static str, mut stage: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: bus::Retryable,
{
    use backon::BackoffBuilder;
    let backoff = || {
        backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(30))
            .with_jitter()
            .without_max_times()
            .build()
    };
    let mut delays = backoff();
    loop {
        let started = tokio::time::Instant::now();
        // a panic outside any one record's work (each stage contains those)
        // restarts the stage like an error
        let outcome = bus::contain_async(name, stage()).await;
        if started.elapsed() > Duration::from_secs(60) {
            delays = backoff();
        }
        let pause = match outcome {
            Ok(Ok(())) => {
                tracing::info!(stage = name, "stage finished");
                delays.next()
            }
            Ok(Err(e)) if e.retry() == bus::Retry::Never => {
                // a wrong setting or a refusal that the same attempt meets
                // again: say so, and look again only now and then
                tracing::error!(stage = name, error = %e, "stage failed, and retrying cannot help until its cause is fixed; trying again in 5 minutes");
                metrics::counter!("kentongan_stage_restarts_total", "stage" => name).increment(1);
                Some(Duration::from_secs(300))
            }
            Ok(Err(e)) => {
                tracing::error!(stage = name, error = %e, "stage failed; restarting after a back-off");
                metrics::counter!("kentongan_stage_restarts_total", "stage" => name).increment(1);
                delays.next()
            }
            Err(cause) => {
                tracing::error!(stage = name, %cause, "stage panicked; restarting");
                metrics::counter!("kentongan_stage_restarts_total", "stage" => name).increment(1);
                delays.next()
            }
        };
        tokio::time::sleep(pause.unwrap_or(Duration::from_secs(30))).await;
    }
}

/// Keeps `v` current from `topic`. With `wait`, the topic is read to its end
/// before this returns; otherwise the loading happens in the background. A
/// restart replays the topic from the start (applying a record twice is
/// harmless for every view).
async fn view<V: View>(
    tasks: &mut JoinSet<()>,
    name: &'static str,
    bus: &Bus,
    topic: Topic,
    v: &V,
    wait: bool,
) -> Result<(), Failure> {
    let mut loaded = if wait { Some(bus.load(topic, v).await?) } else { None };
    let (bus, v) = (bus.clone(), v.clone());
    tasks.spawn(supervise(name, move || {
        let (bus, v, first) = (bus.clone(), v.clone(), loaded.take());
        async move {
            let sub = match first {
                Some(sub) => sub,
                None => bus.load(topic, &v).await?,
            };
            bus::follow(sub, v).await
        }
    }));
    Ok(())
}

/// How much lower the CPU priority of the stages behind the log is than the
/// intake's, in a node that runs both (a `nice` value; 0 to 19).
const BEHIND_THE_LOG_NICE: i32 = 19;

/// The runtime of the stages behind the log: the classifier and the indexers.
///
/// In a node that also takes reports in, their threads (and the threads that
/// tantivy starts from them) run at a lower CPU priority than the intake. A
/// burst then fills the log at the intake's full speed, with short answers,
/// and the stages catch up when it passes: every report in the log is
/// durable already, and classifying it a few seconds later loses nothing. In
/// a node that runs one stage alone, the priority is left as it is.
struct BehindTheLog(Option<tokio::runtime::Runtime>);

impl BehindTheLog {
    fn start(lower_priority: bool) -> Result<Self, Failure> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("kentongan-stage")
            .enable_all()
            .on_thread_start(move || {
                if lower_priority {
                    let me = rustix::thread::gettid();
                    if let Err(e) = rustix::process::setpriority_process(Some(me), BEHIND_THE_LOG_NICE) {
                        tracing::debug!(error = %e, "cannot lower the priority of a stage thread");
                    }
                }
            })
            .build()
            .context("starting the stage runtime")?;
        Ok(Self(Some(runtime)))
    }

    /// Runs `stage` on this runtime; `tasks` sees it end (or panic).
    fn spawn(&self, tasks: &mut JoinSet<()>, stage: impl Future<Output = ()> + Send + 'static) {
        let handle = self.0.as_ref().expect("running").spawn(stage);
        tasks.spawn(async move {
            if let Err(e) = handle.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        });
    }
}

impl Drop for BehindTheLog {
    /// Dropped inside the main runtime, so it must not wait for its threads.
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

pub async fn run(mut config: Config, roles: Vec<Role>) -> Result<(), Failure> {
    let roles: HashSet<Role> =
        if roles.is_empty() { Role::ALL.into_iter().collect() } else { roles.into_iter().collect() };
    if roles.len() < Role::ALL.len() && config.kafka.is_none() {
        return Err(Failure::Config(
            "--role runs one stage alone, so the stages need a shared bus: set [kafka] brokers in the config \
             (or run without --role to use the embedded log)"
                .into(),
        ));
    }
    // port 0 asks the system for one: taken now, so that the links
    // (`public_url`) name it; any other is taken once the node can serve,
    // so that a client is refused, not kept waiting, while it starts
    let early = if config.http.listen.port() == 0 {
        let listener = listen(config.http.listen).await?;
        config.http.listen = listener.local_addr().context("listener address")?;
        Some(listener)
    } else {
        None
    };
    let has = |r: Role| roles.contains(&r);
    let metrics = api::health::install_metrics().map_err(|e| Failure::Runtime(anyhow::anyhow!("metrics: {e}")))?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Parse the region list now rather than inside the first request.
    let _ = model::regions();

    let book = classifier::RuleBook::new(config.rules.path.as_deref())
        .map_err(|e| Failure::Config(format!("rules.path:\n{e}")))?;

    let bus = open_bus(&config).await?;

    let mut tasks: JoinSet<()> = JoinSet::new();
    let behind = BehindTheLog::start(has(Role::Ingest) && (has(Role::Classifier) || has(Role::Indexer)))?;
    let units = alerter::UnitBook::default();
    let silences = alerter::SilenceBook::default();

    if has(Role::Classifier) || has(Role::Api) {
        // Rule changes through the API arrive on the `rules` topic, folder edits by polling.
        view(&mut tasks, "rules", &bus, Topic::Rules, &book, true).await?;
        let watcher = book.clone();
        tasks.spawn(supervise("rules-folder", move || watcher.clone().watch_folder()));
    }
    if has(Role::Classifier) {
        let (bus, book, clock) = (bus.clone(), book.clone(), clock.clone());
        behind.spawn(
            &mut tasks,
            supervise("classifier", move || classifier::stage::run(bus.clone(), book.clone(), clock.clone())),
        );
    }

    let index = if has(Role::Indexer) || has(Role::Api) {
        Some(archive::SearchIndex::open_in(&config.data_dir)?)
    } else {
        None
    };
    if let Some(index) = &index {
        // Every node that keeps the index keeps all of it: its own group.
        let group = archive::schema::group(&config.node_name);
        let (bus, index, retention, clock) = (bus.clone(), index.clone(), config.retention.clone(), clock.clone());
        behind.spawn(
            &mut tasks,
            supervise("search-index", move || {
                archive::stage::run_index(bus.clone(), group.clone(), index.clone(), retention.clone(), clock.clone())
            }),
        );
    }
    let analytics = match &config.clickhouse {
        Some(c) if has(Role::Indexer) || has(Role::Api) => {
            let analytics = archive::Analytics::new(c).map_err(|e| Failure::Config(e.to_string()))?;
            // a server that is away (restarting, not up yet, not answering) does not stop the node: its writers
            // retry and /readyz is not ready until it answers; the migration goes on in the background
            match tokio::time::timeout(CLICKHOUSE_PATIENCE, analytics.migrate()).await {
                Ok(Err(e)) if archive::Analytics::unreachable(&e) => tracing::warn!(
                    url = %c.url,
                    error = %e,
                    "ClickHouse cannot be reached: starting without it; its writers retry and /readyz is not ready until it answers (check clickhouse.url if this lasts)"
                ),
                Err(_) => tracing::warn!(
                    url = %c.url,
                    "ClickHouse did not answer within {} s: starting without it; its writers retry and /readyz is not ready until it answers",
                    CLICKHOUSE_PATIENCE.as_secs()
                ),
                Ok(Err(e)) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!(
                            "cannot use ClickHouse at {}: check clickhouse.url, its user and password, and the server's log",
                            c.url
                        ))
                        .into());
                }
                Ok(Ok(())) => {}
            }
            Some(analytics)
        }
        _ => None,
    };
    // what /readyz asks beyond the bus and the intake's database
    let mut readiness = api::health::Readiness { clickhouse: analytics.clone(), ..Default::default() };
    if has(Role::Indexer)
        && let Some(analytics) = analytics.clone()
    {
        let (bus2, analytics2) = (bus.clone(), analytics.clone());
        behind.spawn(
            &mut tasks,
            supervise("clickhouse-alerts", move || {
                archive::stage::run_alert_analytics(bus2.clone(), analytics2.clone())
            }),
        );
        let (bus, clock, retention) = (bus.clone(), clock.clone(), config.retention.clone());
        behind.spawn(
            &mut tasks,
            supervise("clickhouse", move || {
                archive::stage::run_analytics(bus.clone(), analytics.clone(), retention.clone(), clock.clone())
            }),
        );
    }

    // An api node's alert view is told of silence changes, for its alert streams.
    let alerts = has(Role::Api).then(|| api::AlertView::new(silences.clone(), clock.clone()));
    if has(Role::Alerter) || has(Role::Api) {
        // Loaded before the alerter starts, so no alert is routed against a
        // half-read book.
        view(&mut tasks, "units", &bus, Topic::Units, &units, true).await?;
        match &alerts {
            Some(alerts) => view(&mut tasks, "silences", &bus, Topic::Silences, &alerts.silence_feed(), true).await?,
            None => view(&mut tasks, "silences", &bus, Topic::Silences, &silences, true).await?,
        }
        if let Some(path) = &config.units_file {
            let seed = alerter::units::load_seed(path).map_err(|e| Failure::Config(e.to_string()))?;
            for unit in seed.into_iter().filter(|u| !units.known(&u.id)) {
                tracing::info!(unit = %unit.id, name = %unit.name, "adding a unit from units_file");
                let payload = model::wire::encode(&unit);
                bus.publish(Topic::Units, &unit.id, &payload).await?;
                units.apply(&unit.id, &payload);
            }
        }
    }

    let links = match config.auth.link_secret.as_deref() {
        Some(secret) => alerter::LinkKey::from_secret(secret).map_err(|e| Failure::Config(e.to_string()))?,
        None => {
            if config.kafka.is_some() && (has(Role::Alerter) || has(Role::Api)) {
                tracing::warn!(
                    "auth.link_secret is not set: acknowledgement links in email work only on the node that sent them"
                );
            }
            alerter::LinkKey::load_or_create(&config.data_dir.join("link.key"))
                .map_err(|e| Failure::Config(e.to_string()))?
        }
    };
    if has(Role::Alerter) {
        let mailer =
            config.smtp.as_ref().map(alerter::Mailer::new).transpose().map_err(|e| Failure::Config(e.to_string()))?;
        if mailer.is_none() {
            tracing::warn!("no [smtp] configured: alerts are recorded but not emailed");
        }
        let sms = config
            .sms_gateway
            .as_ref()
            .map(alerter::SmsSender::new)
            .transpose()
            .map_err(|e| Failure::Config(e.to_string()))?;
        let templates = alerter::Templates::load(config.notification_templates.as_deref())
            .map_err(|e| Failure::Config(format!("notification_templates: {e}")))?;
        let outbox = alerter::Outbox::open(&config.data_dir.join("outbox.redb"))?;
        readiness.outbox = Some(outbox.clone());
        // replies to reporters, over the channel each report came by
        let replies = alerter::reply::Replies {
            bus: bus.clone(),
            outbox: alerter::reply::ReplyOutbox::open(&config.data_dir.join("replies.redb"))?,
            channels: Arc::new(reply_channels(&config, mailer.clone(), sms.clone())),
            http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?,
            clock: clock.clone(),
        };
        tasks.spawn(supervise("replies", move || alerter::reply::run(replies.clone())));
        let alerter = alerter::stage::Alerter {
            bus: bus.clone(),
            units: units.clone(),
            silences: silences.clone(),
            outbox,
            mailer,
            sms,
            templates,
            public_url: config.public_url(),
            policy: config.delivery.policy(config.escalation.clone()),
            per_recipient_per_hour: config.delivery.per_recipient_per_hour,
            links: links.clone(),
            clock: clock.clone(),
        };
        tasks.spawn(supervise("alerter", move || alerter::stage::run(alerter.clone())));
    }

    if let Some(alerts) = &alerts {
        view(&mut tasks, "alert-view", &bus, Topic::Alerts, alerts, false).await?;
    }
    // Accounts first: the node answers no request before it knows them.
    let accounts = accounts::Accounts::new(bus.clone(), clock.clone());
    view(&mut tasks, "accounts", &bus, Topic::Accounts, &accounts.directory, true).await?;
    view(&mut tasks, "audit-view", &bus, Topic::Audit, &accounts.audit, false).await?;
    // Report templates: where filings are taken in, and for the api's answers.
    let templates = duties::TemplateBook::default();
    view(&mut tasks, "templates", &bus, Topic::Templates, &templates, true).await?;
    let filings = duties::FilingBook::default();
    if has(Role::Api) {
        let (bus, filings) = (bus.clone(), filings.clone());
        tasks.spawn(supervise("filings-view", move || duties::book::follow(bus.clone(), filings.clone())));
    }
    // the morning briefs that went out, as they were sent
    let briefs = duties::BriefBook::default();
    if has(Role::Api) {
        view(&mut tasks, "briefs", &bus, Topic::Briefs, &briefs, true).await?;
    }
    // where the ingest role keeps attachments, and the api role reads them
    let files = match &config.attachments.s3 {
        Some(s3) => ingest::AttachmentStore::s3(s3).map_err(|e| Failure::Config(e.to_string()))?,
        None => ingest::AttachmentStore::local(&config.data_dir.join("attachments")),
    };
    let intake = if has(Role::Ingest) {
        let store = ingest::Store::open(&config.data_dir.join("ingest.redb"))?;
        Some(
            ingest::Intake::new(bus.clone(), clock.clone(), config.ingest.clone(), store, files.clone())
                .named(&config.node_name),
        )
    } else {
        None
    };
    // replies to reporters and their deliveries, for the reports' history
    let replies = api::replies::ReplyBook::default();
    if has(Role::Api) {
        view(&mut tasks, "replies", &bus, Topic::Replies, &replies, false).await?;
    }
    let feed_board = ingest::feeds::FeedBoard::default();
    if let Some(intake) = &intake {
        for handle in ingest::feeds::spawn(intake.clone(), config.feeds.clone(), feed_board.clone()) {
            tasks.spawn(async move {
                let _ = handle.await;
            });
        }
        if let Some(sms) = &config.sms {
            tasks.spawn(ingest::sms::flush_expired(intake.clone(), sms.part_wait));
        }
        if let Some(mail) = &config.email_intake {
            let directory = accounts.directory.clone();
            let alert_view = alerts.clone();
            let mailbox = ingest::imap::Mailbox {
                intake: intake.clone(),
                config: mail.clone(),
                accounts: Arc::new(move |address: &str| {
                    // an address on more than one account names nobody
                    let mut found = directory
                        .accounts()
                        .into_iter()
                        .filter(|a| a.active && a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(address)));
                    found.next().filter(|_| found.next().is_none())
                }),
                alert_state: alert_view
                    .map(|alerts| Arc::new(move |id| Some(alerts.state_of_report(id))) as ingest::status::AlertStateOf),
            };
            tasks.spawn(mailbox.run());
        }
        if let Some(keys) = intake.shared_keys().cloned() {
            tasks.spawn(supervise("idempotency-keys", move || ingest::keys::follow(keys.clone())));
        }
    }
    let public_url = config.public_url();
    let ingest_part = match intake.clone() {
        Some(intake) => Some(api::IngestPart {
            intake,
            telegram: config.telegram.clone(),
            whatsapp: config.whatsapp.clone(),
            sms: config.sms.clone(),
            feeds: feed_board,
            http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build()?,
        }),
        None => None,
    };
    // `alerts` is there with the api role, which also opens the index
    let api_part = match (index.clone(), alerts) {
        (Some(index), Some(alerts)) => Some(api::ApiPart {
            index,
            analytics,
            alerts,
            links,
            units,
            silences,
            rules: book.clone(),
            max_text_chars: config.ingest.max_text_chars,
            attachments: files,
            filings,
            replies,
            briefs: briefs.clone(),
            public_url: public_url.clone(),
        }),
        _ => None,
    };
    let duty_mail = config.duties.sends(&config.node_name, config.kafka.is_some());
    let duty_outbox = (has(Role::Api) && duty_mail)
        .then(|| alerter::duty_mail::DutyOutbox::open(&config.data_dir.join("duty-outbox.redb")))
        .transpose()?;
    readiness.duty_outbox = duty_outbox.clone();
    let state = api::AppState::new(api::Shared {
        bus: bus.clone(),
        clock: clock.clone(),
        accounts: accounts.clone(),
        secure_cookies: public_url.starts_with("https://"),
        metrics: Some(metrics),
        readiness,
        templates,
        max_body: usize::try_from(config.http.max_body.as_u64()).unwrap_or(usize::MAX),
        max_report_body: usize::try_from(config.ingest.max_report_size.as_u64().max(config.http.max_body.as_u64()))
            .unwrap_or(usize::MAX),
        ingest: ingest_part,
        api: api_part,
    });
    if has(Role::Api) && config.kafka.is_some() && config.duties.send.is_none() && config.duties.sender.is_none() {
        tracing::warn!(
            "neither duties.send nor duties.sender is set: over Kafka no node sends reminders or morning briefs \
             until one api node has duties.send = true, or duties.sender names it"
        );
    }
    if let Some(outbox) = duty_outbox {
        // reminders, summaries and morning briefs, each sent once through an outbox of their own
        let mail = alerter::duty_mail::DutyMail {
            outbox,
            mailer: config
                .smtp
                .as_ref()
                .map(alerter::Mailer::new)
                .transpose()
                .map_err(|e| Failure::Config(e.to_string()))?,
            sms: config
                .sms_gateway
                .as_ref()
                .map(alerter::SmsSender::new)
                .transpose()
                .map_err(|e| Failure::Config(e.to_string()))?,
            clock: clock.clone(),
            wake: Arc::default(),
        };
        let sender = mail.clone();
        tasks.spawn(supervise("duty-mail", move || alerter::duty_mail::run(sender.clone())));
        let (state, plan) = (state.clone(), config.duties.plan());
        tasks.spawn(supervise("duty-schedule", move || {
            api::briefs::schedule(state.clone(), plan.clone(), mail.clone())
        }));
    }
    if let Some(token) = config.auth.bootstrap_token.as_deref().filter(|t| !t.is_empty()) {
        accounts.bootstrap(token).await.context("creating the bootstrap admin")?;
    }
    let listener = match early {
        Some(listener) => listener,
        None => listen(config.http.listen).await?,
    };
    let addr = listener.local_addr().context("listener address")?;
    let mut names: Vec<String> = roles.iter().map(|r| format!("{r:?}").to_lowercase()).collect();
    names.sort_unstable();
    tracing::info!(%addr, roles = ?names, bus = ?bus, "kentongan is running");
    let stopping = Arc::new(tokio::sync::Notify::new());
    let signalled = stopping.clone();
    // the alert streams end at once rather than hold the shutdown up
    let streams = state.api.as_ref().map(|api| api.alerts.clone());
    let server =
        axum::serve(listener, api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                tracing::info!("stopping: finishing the requests in flight");
                if let Some(streams) = streams {
                    streams.close();
                }
                signalled.notify_one();
            });
    tokio::select! {
        r = server => r.context("http server")?,
        Some(r) = tasks.join_next() => r.context("a stage stopped")?,
        () = async {
            stopping.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still running after the grace period; stopping without them"),
    }
    tasks.abort_all();
    tracing::info!("kentongan stopped");
    Ok(())
}

/// How long requests in flight may go on after SIGTERM or Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a starting node waits for ClickHouse to answer before it starts
/// without it (a server that drops connections, or accepts and never answers).
const CLICKHOUSE_PATIENCE: Duration = Duration::from_secs(10);

/// The API's listener on `addr` (`http.listen`).
async fn listen(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::Config(format!("cannot listen on http.listen {addr}: {e}")))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// How replies reach each channel: the alerts' mail server and SMS gateway,
/// and the bots' outgoing settings.
fn reply_channels(
    config: &Config,
    mailer: Option<alerter::Mailer>,
    sms: Option<alerter::SmsSender>,
) -> alerter::reply::ReplyChannels {
    alerter::reply::ReplyChannels {
        mailer,
        sms,
        telegram: config.telegram.as_ref().and_then(|t| {
            Some(alerter::reply::TelegramBot { api_url: t.api_url.clone(), token: t.bot_token.clone()? })
        }),
        whatsapp: config.whatsapp.as_ref().and_then(|w| {
            Some(alerter::reply::WhatsappCloud {
                graph_url: w.graph_url.clone(),
                access_token: w.access_token.clone()?,
                phone_number_id: w.phone_number_id.clone()?,
            })
        }),
    }
}
