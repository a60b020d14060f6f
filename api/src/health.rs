//! `/healthz`, `/readyz` and `/metrics`; the inventory of every metric the
//! node emits ([`METRICS`]), and the HTTP latency of each route ([`track`]).
//!
//! Metric names follow `kentongan_<stage>_<thing>_<unit>`. Each stage that
//! reads records counts what it `received`, what it `processed` (its output
//! durable) and what `failed` (set aside on `deadletter`); `lag_seconds` is
//! how long the newest record it handled had waited since the report was
//! received; `end_to_end_seconds` is the time from a report's receipt to its
//! being searchable (indexer) or notified (alerter).

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use model::Scope;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};

/// What a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    /// Rendered with buckets (`_bucket`, `_sum`, `_count`).
    Histogram,
}

/// One metric the code emits.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// The `# HELP` line, labels included.
    pub help: &'static str,
}

const fn m(name: &'static str, kind: Kind, help: &'static str) -> Metric {
    Metric { name, kind, help }
}

/// Every metric the node emits. A test (`tests/deploy.rs`) checks this list
/// against the `metrics::counter!`/`gauge!`/`histogram!` calls in the source
/// and the Grafana dashboard against this list.
pub const METRICS: &[Metric] = {
    use Kind::{Counter, Gauge, Histogram};
    &[
        // HTTP
        m(
            "kentongan_http_request_duration_seconds",
            Histogram,
            "HTTP requests by route (the path pattern), method and status, and how long each took to answer",
        ),
        // the bus
        m(
            "kentongan_bus_consumer_lag_records",
            Gauge,
            "records of a topic a consumer group has not committed yet, by topic and group (over Kafka each process \
             reports the partitions it holds, every 5 s: sum them)",
        ),
        m("kentongan_bus_published_total", Counter, "records published, by topic and outcome (ok, error)"),
        m("kentongan_bus_consumed_total", Counter, "records read by subscriptions, by topic"),
        m(
            "kentongan_bus_deadletter_total",
            Counter,
            "records set aside on the deadletter topic, by source (stage or channel)",
        ),
        m(
            "kentongan_bus_replay_holes_total",
            Counter,
            "partitions a replay took as read to their end at a hole, by topic: for 30 s the broker answered with \
             nothing while counting records beyond (records it counts but does not serve)",
        ),
        m(
            "kentongan_bus_replay_restarts_total",
            Counter,
            "replays to a topic's end begun again after the broker failed them (all its connections lost, say), by \
             topic",
        ),
        m("kentongan_bus_embedded_commit_seconds", Histogram, "time to make a write to the embedded log durable"),
        // supervision
        m("kentongan_stage_restarts_total", Counter, "stages restarted after an error or a panic, by stage"),
        m("kentongan_stage_panics_total", Counter, "panics contained while handling one record, by stage"),
        // ingest
        m("kentongan_ingest_received_total", Counter, "reports that reached the intake, by channel"),
        m("kentongan_ingest_processed_total", Counter, "reports made durable on the reports topic, by channel"),
        m(
            "kentongan_ingest_failed_total",
            Counter,
            "reports the intake could not take, by channel and reason (invalid, bus)",
        ),
        m("kentongan_ingest_fields_cut_total", Counter, "report fields cut to their limit, by channel and field"),
        m("kentongan_ingest_feed_polls_total", Counter, "news feed polls, by feed and outcome"),
        m("kentongan_ingest_feed_items_total", Counter, "new items taken from news feeds, by feed"),
        m("kentongan_ingest_feed_failures", Gauge, "failed polls in a row, by feed"),
        // classifier
        m("kentongan_classifier_received_total", Counter, "reports read from the reports topic"),
        m("kentongan_classifier_processed_total", Counter, "reports classified"),
        m(
            "kentongan_classifier_failed_total",
            Counter,
            "reports the classifier could not read or handle (sent to deadletter)",
        ),
        m(
            "kentongan_classifier_lag_seconds",
            Gauge,
            "time from receipt to classification of the newest report classified",
        ),
        m("kentongan_classifier_indicator_total", Counter, "reports tagged with each indicator"),
        m("kentongan_classifier_alerts_total", Counter, "alerts raised, by level"),
        m("kentongan_classifier_checkpoints_total", Counter, "threshold windows saved and offsets committed"),
        m(
            "kentongan_classifier_snapshots_unsaved_total",
            Counter,
            "parts of the threshold windows too large to save even without their excerpts (see the log)",
        ),
        m(
            "kentongan_classifier_handovers_total",
            Counter,
            "partition rebalances on which the threshold windows were saved and re-read",
        ),
        m("kentongan_classifier_uncommitted_partitions", Gauge, "partitions with classified reports not yet committed"),
        m("kentongan_classifier_rule_reloads_total", Counter, "rule sets loaded after a change"),
        m("kentongan_classifier_rule_errors_total", Counter, "rule changes refused as invalid"),
        // indexer
        m("kentongan_indexer_received_total", Counter, "classified reports read, by store (search, clickhouse)"),
        m("kentongan_indexer_processed_total", Counter, "classified reports written and committed, by store"),
        m(
            "kentongan_indexer_seal_failures_total",
            Counter,
            "ClickHouse seals of settled days that failed (stats read the open sets until a later seal)",
        ),
        m(
            "kentongan_indexer_failed_total",
            Counter,
            "classified reports a store refused (sent to deadletter), by store",
        ),
        m(
            "kentongan_indexer_lag_seconds",
            Gauge,
            "time from receipt to the store of the newest report written, by store",
        ),
        m(
            "kentongan_indexer_end_to_end_seconds",
            Histogram,
            "time from a report's receipt to its being searchable (store=search) or in ClickHouse (store=clickhouse)",
        ),
        // alerter
        m("kentongan_alerter_received_total", Counter, "alert events read from the alerts topic"),
        m("kentongan_alerter_processed_total", Counter, "alert events taken into the outbox"),
        m("kentongan_alerter_failed_total", Counter, "alert events the alerter could not handle (sent to deadletter)"),
        m("kentongan_alerter_lag_seconds", Gauge, "time from raising to the alerter's taking the newest alert"),
        m(
            "kentongan_alerter_end_to_end_seconds",
            Histogram,
            "time from the receipt of an alert's newest report to its notification, by channel (first notifications)",
        ),
        m("kentongan_alerter_outbox_depth", Gauge, "notifications waiting in the outbox (due or later)"),
        m("kentongan_alerter_queued_total", Counter, "notifications queued in the outbox"),
        m("kentongan_alerter_deliveries_total", Counter, "notification attempts, by outcome (sent, retry, failed)"),
        m(
            "kentongan_alerter_replies_total",
            Counter,
            "attempts to send replies to reporters, by outcome (sent, retry, failed)",
        ),
        m("kentongan_alerter_rate_limited_total", Counter, "notifications held back by the per-recipient limit"),
        m(
            "kentongan_alerter_briefs_failed_total",
            Counter,
            "morning briefs that could not be made, archived or rendered (tried again at the next tick)",
        ),
        m("kentongan_alerter_held_back_total", Counter, "alerts not notified, by why (silenced, repeat, inhibited)"),
        m("kentongan_alerter_routing_gaps_total", Counter, "alerts no unit handles, by indicator and province"),
        m("kentongan_alerter_unrouted_total", Counter, "alerts no unit covers at all"),
        m("kentongan_alerter_escalations_total", Counter, "unacknowledged alerts passed to parent units"),
        m("kentongan_alerter_escalations_ended_total", Counter, "escalation timers that ended at the top of the chain"),
    ]
};

/// Buckets of every `_seconds` histogram: from a fast HTTP answer to an
/// alert that waited for a retry.
const BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Installs the Prometheus recorder with every metric of [`METRICS`]
/// described, and a thread that keeps its histograms from growing between
/// scrapes.
pub fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .install_recorder()?;
    for metric in METRICS {
        match metric.kind {
            Kind::Counter => metrics::describe_counter!(metric.name, metric.help),
            Kind::Gauge => metrics::describe_gauge!(metric.name, metric.help),
            Kind::Histogram => metrics::describe_histogram!(metric.name, metrics::Unit::Seconds, metric.help),
        }
    }
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        })
        .map_err(|e| BuildError::FailedToCreateRuntime(e.to_string()))?;
    Ok(handle)
}

/// Records each request's latency by route pattern (`/api/v1/reports/{id}`,
/// not the id itself), method and status; what no route matched (the web
/// app's files, unknown paths) is `route="fallback"`.
pub async fn track(matched: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let route = matched.map_or_else(|| "fallback".to_owned(), |m| m.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("kentongan_http_request_duration_seconds", "route" => route, "method" => method, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// What `/readyz` checks beyond the bus and the intake's database: the
/// dependencies of the node's other roles.
#[derive(Clone, Default)]
pub struct Readiness {
    /// ClickHouse, on a node with `[clickhouse]` and the indexer or api role.
    pub clickhouse: Option<archive::Analytics>,
    /// The alerter's outbox database, with the alerter role.
    pub outbox: Option<alerter::Outbox>,
    /// The outbox of reminders, summaries and morning briefs, on the api
    /// node that sends them.
    pub duty_outbox: Option<alerter::duty_mail::DutyOutbox>,
}

/// How long one dependency may take to answer `/readyz`.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its work.
///
/// The bus takes records, and the intake's own database (idempotency keys,
/// SMS parts) can be used.
// Every dependency of the node's roles is asked (the text above is the
// OpenAPI description, kept as it was): the bus; with the ingest role, the
// intake's database; with the alerter role, the outbox database (and on the
// api node that sends duty mail, its outbox); with
// ClickHouse (indexer, api), a query. SMTP and the SMS gateway are not: while
// they are down, notifications wait in the outbox and are retried
// (`kentongan_alerter_deliveries_total{outcome="retry"}`), and an unready
// node would help nobody.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "`ready`", body = String, content_type = "text/plain"),
    (status = 503, description = "the bus or the intake's database cannot be used", body = ErrorBody),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.bus.ready().await.map_err(|e| ApiError::unavailable(e.to_string()))?;
    if let Some(store) = state.ingest.as_ref().map(|i| i.intake.store().clone()) {
        let ready = tokio::task::spawn_blocking(move || store.ready()).await.map_err(ApiError::internal)?;
        ready.map_err(|reason| ApiError::unavailable(format!("the intake's database cannot be written ({reason})")))?;
    }
    if let Some(outbox) = state.readiness.outbox.clone() {
        let ready = tokio::task::spawn_blocking(move || outbox.ready()).await.map_err(ApiError::internal)?;
        ready.map_err(|reason| ApiError::unavailable(format!("the alerter's outbox cannot be used ({reason})")))?;
    }
    if let Some(outbox) = state.readiness.duty_outbox.clone() {
        let ready = tokio::task::spawn_blocking(move || outbox.ready()).await.map_err(ApiError::internal)?;
        ready.map_err(|reason| {
            ApiError::unavailable(format!("the outbox of reminders and briefs cannot be used ({reason})"))
        })?;
    }
    if let Some(analytics) = &state.readiness.clickhouse {
        let answer = tokio::time::timeout(CHECK_TIMEOUT, async {
            analytics.migrate().await?;
            analytics.count().await
        })
        .await;
        let reason = match answer {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {CHECK_TIMEOUT:?}")),
        };
        if let Some(reason) = reason {
            return Err(ApiError::unavailable(format!("ClickHouse cannot be queried ({reason})")));
        }
    }
    Ok("ready")
}

/// Prometheus metrics (national admins only).
///
/// The counts are national and labelled by province, so only a national
/// admin (a scraper's account) may read them.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4")))]
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Result<impl IntoResponse, ApiError> {
    if caller.scope != Scope::All {
        return Err(ApiError::forbidden("a national admin (metrics count every province);"));
    }
    let body = state.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    Ok((StatusCode::OK, [(CONTENT_TYPE, "text/plain; version=0.0.4")], body))
}
