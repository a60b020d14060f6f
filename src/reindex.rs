//! `kentongan reindex`: the search index and the ClickHouse tables rebuilt
//! from the log, with a progress bar. See `archive::rebuild`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use model::{Clock, SystemClock};

use crate::Failure;
use crate::cli::Store;
use crate::config::Config;

/// A progress bar on stderr: a bar when the log's length is known (the
/// embedded log), a running count otherwise (Kafka).
struct Bar(ProgressBar);

impl Bar {
    fn new(what: &'static str) -> Self {
        let bar = ProgressBar::no_length();
        bar.set_message(what);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(bar)
    }
}

impl archive::rebuild::Progress for Bar {
    fn total(&self, total: Option<u64>) {
        let style = match total {
            Some(total) => {
                self.0.set_length(total);
                ProgressStyle::with_template(
                    "{msg:12} [{bar:40}] {human_pos}/{human_len} laporan, {per_sec}, sisa {eta}",
                )
            }
            None => ProgressStyle::with_template("{msg:12} {spinner} {human_pos} laporan, {per_sec}"),
        };
        self.0.set_style(style.expect("valid template").progress_chars("=> "));
    }

    fn read(&self, read: u64) {
        self.0.set_position(read);
    }
}

/// What the rebuild of one store came to, for the closing line; how many
/// partitions it took as ended at a hole, whose later records it lacks.
fn report(what: &str, outcome: archive::rebuild::Outcome, bar: Bar) -> usize {
    bar.0.finish_and_clear();
    match outcome {
        archive::rebuild::Outcome::Done { read, written, holes } => {
            eprintln!("{what}: {read} records read from the log, {written} reports written");
            for (topic, partition, at, end) in &holes {
                eprintln!(
                    "{what}: INCOMPLETE: the broker served nothing after offset {at} of partition {partition} of \
                     `{}`, though it counts records up to {end}; those records are missing",
                    topic.name()
                );
            }
            holes.len()
        }
        archive::rebuild::Outcome::Stopped { read } => {
            eprintln!("{what}: stopped after {read} records");
            0
        }
    }
}

pub async fn run(config: &Config, only: Option<Store>) -> Result<(), Failure> {
    let search = only.is_none_or(|s| s == Store::Search);
    let clickhouse = match (&config.clickhouse, only) {
        (None, Some(Store::Clickhouse)) => {
            return Err(Failure::Config("--only clickhouse needs [clickhouse] in the configuration".into()));
        }
        (Some(c), None | Some(Store::Clickhouse)) => Some(c),
        _ => None,
    };
    let invalid = |e: archive::Error| match e {
        archive::Error::Invalid(message) => Failure::Config(message),
        e => Failure::Runtime(e.into()),
    };
    if search {
        // before the embedded log, which a running node also holds, says so less clearly
        archive::rebuild::check_unused(&config.data_dir).map_err(invalid)?;
    }
    let bus = crate::run::open_bus(config).await?;
    let now = SystemClock.now();
    let mut holes = 0;
    if search {
        let bar = Bar::new("pencarian");
        let outcome = archive::rebuild::rebuild_search(&bus, &config.data_dir, &config.retention, now, &bar, None)
            .await
            .map_err(invalid)?;
        holes += report("search index", outcome, bar);
    }
    if let Some(c) = clickhouse {
        let analytics = archive::Analytics::connect(c).await.map_err(|e| {
            Failure::Runtime(anyhow::anyhow!(
                "cannot use ClickHouse at {}: {e}; check clickhouse.url and that the server is up",
                c.url
            ))
        })?;
        let bar = Bar::new("clickhouse");
        let outcome = archive::rebuild::rebuild_clickhouse(
            &bus,
            &analytics,
            &config.data_dir,
            &config.retention,
            now,
            &bar,
            None,
        )
        .await
        .map_err(invalid)?;
        holes += report("ClickHouse", outcome, bar);
    }
    if holes > 0 {
        return Err(Failure::Runtime(anyhow::anyhow!(
            "the log had {holes} partition(s) the broker would not serve to their end (see above): what was read \
             is stored, the rest is not; once the broker serves them (check its health, or restart it), run \
             `kentongan reindex` again"
        )));
    }
    Ok(())
}
