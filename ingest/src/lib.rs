//! Ingest: turns what a channel sends into a [`Report`] and hands it to the
//! bus. A report is accepted only once the bus has it durably.
//!
//! - [`submission`]: the JSON body of `POST /api/v1/reports` and its validation.

pub mod submission;

use std::sync::Arc;

use bus::{Bus, Topic};
use model::{Clock, Report, ReportId, wire};

pub use submission::{Limits, Submission};

/// Why a report was not taken.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field is wrong; the message says how to fix it (HTTP 422).
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The bus cannot take the report now; nothing was accepted (HTTP 503).
    #[error("reports cannot be accepted right now, try again shortly: {0}")]
    Unavailable(#[from] bus::Error),
}

/// The intake: validation plus durable publication on `reports`.
#[derive(Debug, Clone)]
pub struct Intake {
    bus: Bus,
    clock: Arc<dyn Clock>,
    limits: Limits,
}

impl Intake {
    pub fn new(bus: Bus, clock: Arc<dyn Clock>, limits: Limits) -> Self {
        Self { bus, clock, limits }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validates `submission` as sent by `reporter` and publishes it. Returns
    /// only when the report is durable on the bus.
    pub async fn submit(
        &self,
        submission: Submission,
        reporter: Option<model::Reporter>,
    ) -> Result<ReportId, Error> {
        let report = submission.into_report(reporter, self.clock.now(), &self.limits)?;
        self.accept(&report).await
    }

    /// Publishes an already validated report, keyed by its province.
    pub async fn accept(&self, report: &Report) -> Result<ReportId, Error> {
        self.bus
            .publish(
                Topic::Reports,
                &report.partition_key(),
                &wire::encode(report),
            )
            .await?;
        metrics::counter!("kentongan_ingest_reports_total", "channel" => report.channel.as_str())
            .increment(1);
        tracing::debug!(report = %report.id, channel = %report.channel, "report accepted");
        Ok(report.id)
    }
}
