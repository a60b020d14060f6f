//! Alerts as the API shows them: a view of the `alerts` topic.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use alerter::links::Purpose;
use axum::Extension;
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use bus::Topic;
use model::{Alert, AlertBook, AlertEvent, AlertFilter, AlertState, Clock, Silence, StateChange, wire};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::broadcast;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Required, Source};
use crate::error::{ApiError, ApiJsonOrEmpty, ApiQuery, ErrorBody};
use crate::pages::{self, Page};

impl bus::View for AlertView {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<AlertEvent>(&record.payload) {
            Ok(event) => AlertView::apply(self, event),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring unreadable alert event"),
        }
    }
}

/// What the view tells the alert streams of this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    /// The alert looks different now.
    Changed(Uuid),
    /// The node is stopping: streams end, so that it need not wait for them.
    Closing,
}

/// How many notes a stream may fall behind before it is told to reload.
const BACKLOG: usize = 1024;

/// This node's [`AlertBook`], kept from the `alerts` topic and shared by the
/// handlers, with the silences that hold alerts back. Every change it sees,
/// made here or on another node (they all arrive through the log), is told
/// to the alert streams ([`stream`]).
#[derive(Debug, Clone)]
pub struct AlertView {
    book: Arc<RwLock<AlertBook>>,
    /// Lifecycle steps on this node are checked and published one at a time.
    steps: Arc<tokio::sync::Mutex<()>>,
    silences: alerter::SilenceBook,
    clock: Arc<dyn Clock>,
    notes: broadcast::Sender<Note>,
}

impl AlertView {
    /// An empty view, with `silences` (the book the `silences` topic feeds
    /// through [`AlertView::silence_feed`]).
    pub fn new(silences: alerter::SilenceBook, clock: Arc<dyn Clock>) -> Self {
        Self::with_backlog(silences, clock, BACKLOG)
    }

    fn with_backlog(silences: alerter::SilenceBook, clock: Arc<dyn Clock>, backlog: usize) -> Self {
        Self { book: Arc::default(), steps: Arc::default(), silences, clock, notes: broadcast::channel(backlog).0 }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, AlertBook> {
        self.book.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one event; a step that a concurrent one made impossible is
    /// skipped (on every node alike). The streams hear of every alert that
    /// looks different after it.
    pub fn apply(&self, event: AlertEvent) {
        let alert_id = event.alert_id();
        match self.book.write().unwrap_or_else(|e| e.into_inner()).apply(event) {
            Ok(changed) => self.tell(changed),
            Err(e) => tracing::warn!(alert = %alert_id, error = %e, "skipping a lifecycle step"),
        }
    }

    fn tell(&self, changed: impl IntoIterator<Item = Uuid>) {
        for id in changed {
            // an error only says that no stream listens
            let _ = self.notes.send(Note::Changed(id));
        }
    }

    /// Ends every alert stream of this node (it is stopping).
    pub fn close(&self) {
        let _ = self.notes.send(Note::Closing);
    }

    /// Applies one record of the `silences` topic to the silence book, and
    /// tells the streams of the alerts it starts or stops holding back.
    pub fn apply_silence(&self, key: &str, payload: &[u8]) {
        let before = self.silences.get(key);
        self.silences.apply(key, payload);
        let after = self.silences.get(key);
        if before == after {
            return;
        }
        let now = self.clock.now();
        let changed: Vec<Uuid> = self
            .read()
            .iter()
            .filter(|a| a.state != AlertState::Resolved)
            .filter(|a| [&before, &after].into_iter().flatten().any(|s| s.covers(&a.indicator, &a.region, now)))
            .map(|a| a.id)
            .collect();
        self.tell(changed);
    }

    /// The `silences` topic as an api node follows it (see [`AlertView::apply_silence`]).
    pub fn silence_feed(&self) -> SilenceFeed {
        SilenceFeed(self.clone())
    }

    /// The alert `id`, when the caller's scope covers it.
    pub fn get(&self, caller: &Caller, id: &str) -> Option<Alert> {
        let id = Uuid::parse_str(id).ok()?;
        self.read().get_within(&caller.scope, id).cloned()
    }

    /// The alert `id` with its chain, when the caller's scope covers it.
    fn get_chained(&self, caller: &Caller, id: &str) -> Option<ChainedAlert> {
        self.chained(caller, Uuid::parse_str(id).ok()?)
    }

    fn chained(&self, caller: &Caller, id: Uuid) -> Option<ChainedAlert> {
        let book = self.read();
        let alert = book.get_within(&caller.scope, id)?.clone();
        Some(ChainedAlert::new(&book, caller, alert, &self.silences.all(), self.clock.now()))
    }

    /// The alert `id`, whatever its region (for links that prove themselves).
    pub fn find(&self, id: Uuid) -> Option<Alert> {
        self.read().get(id).cloned()
    }

    pub fn list(&self, caller: &Caller, q: &AlertsQuery) -> Vec<ChainedAlert> {
        let filter =
            AlertFilter { indicator: q.indicator.clone(), region: q.region.clone(), state: q.state, limit: q.limit };
        let (silences, now) = (self.silences.all(), self.clock.now());
        let book = self.read();
        book.list(&caller.scope, &filter)
            .into_iter()
            .map(|a| ChainedAlert::new(&book, caller, a, &silences, now))
            .collect()
    }

    /// The state of the newest alert that `report` counted towards, if any,
    /// whatever its region.
    pub fn state_of_report(&self, report: model::ReportId) -> Option<AlertState> {
        self.read().with_report(report).last().map(|a| a.state)
    }
}

/// The `silences` topic, applied to the silence book through the alert
/// view so that the alert streams hear of it.
#[derive(Debug, Clone)]
pub struct SilenceFeed(AlertView);

impl bus::View for SilenceFeed {
    fn apply(&self, record: &bus::Record) {
        self.0.apply_silence(&record.key, &record.payload);
    }
}

/// An alert with its place in its alert chain: the alert one region level
/// up or more that aggregates it, and the alerts below it that it
/// aggregates, as far as the caller's regions reach.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainedAlert {
    #[serde(flatten)]
    pub alert: Alert,
    pub chain: Chain,
    /// Present while a silence holds back the notifications of this alert
    /// (not resolved yet): it is shown, but nobody is told of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silenced: Option<Silenced>,
}

/// The silence that holds an alert back.
#[derive(Debug, Serialize, ToSchema)]
pub struct Silenced {
    /// When notifications start again (the latest end of the silences that
    /// cover the alert). No event is sent when it passes: take the mark
    /// away then.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// The silence, when it lies within your regions (`GET /api/v1/silences`
    /// lists it and `DELETE /api/v1/silences/{id}` ends it); absent for a
    /// silence set above your regions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The neighbours of an alert in its chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Chain {
    /// The nearest alert above that lists this one among its children;
    /// absent when there is none, or none within your regions.
    pub parent: Option<ChainLink>,
    /// The child alerts (`children`), by region.
    pub children: Vec<ChainLink>,
}

/// Another alert of the chain, with enough to show and link it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainLink {
    pub id: Uuid,
    pub region: model::RegionCode,
    /// The region's name, for example `Kota Palu`.
    pub name: String,
    pub level: model::Level,
    pub state: AlertState,
}

impl ChainLink {
    fn of(alert: &Alert) -> Self {
        Self {
            id: alert.id,
            region: alert.region.clone(),
            name: alert.region.name().to_owned(),
            level: alert.level,
            state: alert.state,
        }
    }
}

impl ChainedAlert {
    fn new(book: &AlertBook, caller: &Caller, alert: Alert, silences: &[Silence], now: OffsetDateTime) -> Self {
        let within = |a: &&Alert| caller.scope.covers(Some(&a.region));
        let chain = Chain {
            parent: book.parent_of(alert.id).filter(within).map(ChainLink::of),
            children: book.children_of(alert.id).into_iter().filter(within).map(ChainLink::of).collect(),
        };
        let silenced = silences
            .iter()
            .filter(|s| alert.state != AlertState::Resolved && s.covers(&alert.indicator, &alert.region, now))
            .max_by_key(|s| s.until)
            .map(|s| {
                let shown = caller.scope.covers(Some(&s.region));
                Silenced { until: s.until, id: shown.then(|| s.id.clone()), reason: shown.then(|| s.reason.clone()) }
            });
        Self { alert, chain, silenced }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// An indicator id.
    pub indicator: Option<String>,
    /// A region code; everything under it.
    #[param(inline)]
    pub region: Option<model::RegionCode>,
    /// `open`, `acknowledged`, `in_progress` or `resolved`.
    #[param(inline)]
    pub state: Option<AlertState>,
    /// Default 100.
    pub limit: Option<usize>,
}

/// Alerts, with the names of their regions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Alerts {
    /// Newest first.
    pub alerts: Vec<ChainedAlert>,
    /// The name of each region code in `alerts`.
    pub names: BTreeMap<String, String>,
}

/// Alerts within your regions, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertsQuery), responses((status = 200, body = Alerts)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<Json<Alerts>, ApiError> {
    let alerts = view(&state)?.list(&caller, &q);
    // region names, for people rather than codes
    let names = alerts.iter().map(|a| (a.alert.region.to_string(), a.alert.region.name().to_owned())).collect();
    Ok(Json(Alerts { alerts, names }))
}

fn view(state: &AppState) -> Result<&AlertView, ApiError> {
    Ok(&state.api()?.alerts)
}

/// One alert with its reports, deliveries, lifecycle history and chain.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, body = ChainedAlert)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ChainedAlert>, ApiError> {
    view(&state)?.get_chained(&caller, &id).map(Json).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))
}

/// How often a stream checks that its caller may still listen, when
/// nothing happens.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(15);

/// What a stream does with what the view told it.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Send this alert, if the caller may see it.
    Alert(Uuid),
    /// The stream missed this many notes: the client must load the list again.
    Reload(u64),
    /// Stop.
    End,
}

fn next(note: Result<Note, broadcast::error::RecvError>) -> Next {
    match note {
        Ok(Note::Changed(id)) => Next::Alert(id),
        Ok(Note::Closing) | Err(broadcast::error::RecvError::Closed) => Next::End,
        Err(broadcast::error::RecvError::Lagged(missed)) => Next::Reload(missed),
    }
}

/// One client's alert stream.
struct Listener {
    state: AppState,
    caller: Caller,
    /// The roles the route takes, to check the caller against again.
    roles: &'static [model::Role],
    notes: broadcast::Receiver<Note>,
    ready: bool,
    recheck: tokio::time::Interval,
}

impl Listener {
    /// The next event for the client; `None` ends the stream.
    async fn event(&mut self) -> Option<Event> {
        if !self.ready {
            self.ready = true;
            return Some(Event::default().event("ready").data("{}"));
        }
        loop {
            let note = tokio::select! {
                note = self.notes.recv() => note,
                _ = self.recheck.tick() => {
                    self.caller = crate::auth::recheck(&self.state, &self.caller, self.roles)?;
                    continue;
                }
            };
            match next(note) {
                Next::Alert(id) => {
                    self.caller = crate::auth::recheck(&self.state, &self.caller, self.roles)?;
                    // the scope is checked where every alert answer checks it
                    let Some(alert) = self.state.api().ok()?.alerts.chained(&self.caller, id) else { continue };
                    return Event::default().event("alert").json_data(&alert).ok();
                }
                Next::Reload(missed) => {
                    return Event::default().event("reload").json_data(serde_json::json!({ "missed": missed })).ok();
                }
                Next::End => return None,
            }
        }
    }
}

/// Changes to the alerts within your regions as they happen (Server-Sent Events).
///
/// Events: first `ready` (data `{}`): every change from then on is sent, so
/// load `GET /api/v1/alerts` after it. Then `alert` whenever an alert within
/// your regions changes on this node, data the alert as `GET
/// /api/v1/alerts/{id}` answers it (chain and silence included): raised,
/// acknowledged, followed up, resolved, a delivery or an escalation
/// recorded, a silence set or ended, or its neighbour in the chain changed.
/// Changes made on other nodes count too: they reach this node through the
/// log. `reload` (data `{"missed": n}`) when the client fell behind and
/// changes were dropped for it: load the list again. A comment every 15 s
/// keeps the connection open. The stream ends when the credential is revoked
/// or expires, the account is deactivated or loses the role, or the node
/// stops; EventSource then reconnects by itself. Browsers sign in with the
/// session cookie, which EventSource sends (it cannot send a header).
#[utoipa::path(get, path = "/api/v1/alerts/stream", tag = "alerts", responses(
    (status = 200, description = "a stream of `ready`, `alert` (a ChainedAlert as JSON) and `reload` events",
     body = String, content_type = "text/event-stream"),
))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    Extension(Required(roles)): Extension<Required>,
) -> Result<impl IntoResponse, ApiError> {
    let notes = view(&state)?.notes.subscribe();
    let recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    let listener = Listener { state, caller, roles, notes, ready: false, recheck };
    let events = futures_util::stream::unfold(listener, |mut listener| async move {
        let event = listener.event().await?;
        Some((Ok::<_, Infallible>(event), listener))
    });
    // proxies that buffer answers (nginx) pass this one on as it comes
    Ok(([("x-accel-buffering", "no")], Sse::new(events).keep_alive(KeepAlive::default())))
}

/// The body of a lifecycle step: an optional note (a follow-up, tindak lanjut).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// At most 4000 characters.
    pub note: Option<String>,
}

/// Longest note accepted, in characters.
const MAX_NOTE: usize = 4000;

/// Takes a lifecycle step towards `to` on alert `id` for `caller`: checked
/// against the alert as this node knows it, durable on `alerts` before the
/// answer, then applied here at once. Resolving an alert resolves the open
/// alerts below it in its chain first, each by its own step (see
/// [`AlertBook::resolved_with`]); the other steps are for the alert alone.
async fn step(
    state: &AppState,
    caller: &Caller,
    source: &Source,
    id: &str,
    to: AlertState,
    note: Option<String>,
) -> Result<Json<ChainedAlert>, ApiError> {
    let view = view(state)?;
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(ApiError::invalid("note", format!("is longer than {MAX_NOTE} characters")));
    }
    let _one_at_a_time = view.steps.lock().await;
    let alert = view.get(caller, id).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))?;
    if to == AlertState::Resolved && alert.state != AlertState::Resolved {
        // the lowest first: a failure half-way leaves this alert open, and
        // resolving it again picks up where this stopped
        let below: Vec<Alert> = view.read().resolved_with(alert.id).into_iter().cloned().collect();
        let with = format!("diselesaikan bersama alert induk {}", alert.id);
        for child in below.iter().filter(|c| caller.scope.covers(Some(&c.region))) {
            match take(state, view, child, &caller.name, source, to, Some(with.clone())).await {
                // resolved meanwhile on another node
                Err(e) if e.status == StatusCode::CONFLICT => {}
                other => other?,
            }
        }
    }
    take(state, view, &alert, &caller.name, source, to, note).await?;
    view.get_chained(caller, id).map(Json).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))
}

/// Checks `to` against `alert`, publishes the step, applies it here and
/// writes the audit entry. The caller holds `view.steps`.
async fn take(
    state: &AppState,
    view: &AlertView,
    alert: &Alert,
    actor: &str,
    source: &Source,
    to: AlertState,
    note: Option<String>,
) -> Result<(), ApiError> {
    let change = StateChange { id: Uuid::now_v7(), state: to, by: actor.to_owned(), at: state.clock.now(), note };
    alert.check(&change).map_err(|e| ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()))?;
    let event = AlertEvent::Changed { alert_id: alert.id, change: change.clone() };
    state.bus.publish(Topic::Alerts, &alert.key, &wire::encode(&event)).await?;
    view.apply(event);
    let action = match (alert.state == to, to) {
        (true, _) => "alert.note",
        (false, AlertState::Acknowledged) => "alert.ack",
        (false, AlertState::InProgress) => "alert.progress",
        (false, _) => "alert.resolve",
    };
    let regions = [alert.region.clone()];
    let after = serde_json::to_value(&change).map_err(ApiError::internal)?;
    audit::record(state, Entry::new(actor, action, &alert.id.to_string(), &regions, source).after(after)).await;
    Ok(())
}

/// Acknowledge an alert (diterima): who and when are recorded.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "alerts", params(("id" = String, Path)),
    request_body(content = Option<Step>, description = "or no body"),
    responses(
        (status = 200, body = ChainedAlert),
        (status = 409, body = ErrorBody, description = "the alert is past this step"),
    ))]
pub async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Step>,
) -> Result<Json<ChainedAlert>, ApiError> {
    step(&state, &caller, &source, &id, AlertState::Acknowledged, body.note).await
}

/// Follow-up under way (tindak lanjut); again with a note for each further step.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/progress", tag = "alerts", params(("id" = String, Path)),
    request_body(content = Option<Step>, description = "or no body"),
    responses(
        (status = 200, body = ChainedAlert),
        (status = 409, body = ErrorBody, description = "the alert is past this step"),
    ))]
pub async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Step>,
) -> Result<Json<ChainedAlert>, ApiError> {
    step(&state, &caller, &source, &id, AlertState::InProgress, body.note).await
}

/// Resolve an alert (selesai): the situation is handled.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", tag = "alerts", params(("id" = String, Path)),
    request_body(content = Option<Step>, description = "or no body"),
    responses(
        (status = 200, body = ChainedAlert),
        (status = 409, body = ErrorBody, description = "the alert is resolved already"),
    ))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJsonOrEmpty(body): ApiJsonOrEmpty<Step>,
) -> Result<Json<ChainedAlert>, ApiError> {
    step(&state, &caller, &source, &id, AlertState::Resolved, body.note).await
}

/// The token of an acknowledgement link.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct LinkToken {
    /// From the link: signed, expires after 3 days.
    pub token: String,
}

/// Checks a link's token; the alert it acknowledges and the recipient it was
/// sent to, or the page that says why not.
fn check_link(state: &AppState, id: &str, token: &str) -> Result<(AlertView, Alert, String), Page> {
    let not_found = || {
        pages::message(
            StatusCode::NOT_FOUND,
            "Peringatan tidak ditemukan",
            "Tautan ini tidak menunjuk ke peringatan yang ada.",
        )
    };
    let api = state.api.as_ref().ok_or_else(not_found)?;
    let view = api.alerts.clone();
    let alert_id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let recipient = api.links.verify(Purpose::AckLink, alert_id, token, state.clock.now()).map_err(|e| match e {
        alerter::links::LinkError::Expired => pages::message(
            StatusCode::GONE,
            "Tautan kedaluwarsa",
            "Tautan ini sudah tidak berlaku. Buka peringatan di Kentongan untuk menerimanya.",
        ),
        alerter::links::LinkError::Invalid => pages::message(
            StatusCode::FORBIDDEN,
            "Tautan tidak sah",
            "Salin seluruh tautan dari email, atau buka peringatan di Kentongan.",
        ),
    })?;
    let alert = view.find(alert_id).ok_or_else(not_found)?;
    Ok((view, alert, recipient))
}

/// `GET /api/v1/alerts/{id}/ack-link?token=`: the page an email link opens,
/// with one button. Opening it changes nothing, so mail scanners that fetch
/// links do not acknowledge alerts on anyone's behalf.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/ack-link", tag = "alerts",
    summary = "The page an email's acknowledgement link opens (HTML, one button); changes nothing", params(("id" = String, Path), LinkToken),
    responses(
        (status = 200, description = "the page with the button", body = String, content_type = "text/html"),
        (status = 403, description = "the token is not valid", body = String, content_type = "text/html"),
        (status = 404, description = "no such alert", body = String, content_type = "text/html"),
        (status = 410, description = "the link has expired", body = String, content_type = "text/html"),
    ))]
pub async fn ack_link_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LinkToken>,
) -> Page {
    let (_, alert, recipient) = match check_link(&state, &id, &q.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Some(done) = alert.acknowledged() {
        return pages::ack_taken(&alert, &done.by, done.at);
    }
    pages::ack_form(&alert, &recipient, &q.token)
}

/// `POST /api/v1/alerts/{id}/ack-link` with the form field `token`: the
/// recipient acknowledges the alert; the link then cannot be used again.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack-link", tag = "alerts",
    summary = "Acknowledge by the email link's token (form field `token`), once", params(("id" = String, Path)),
    request_body(content = LinkToken, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "acknowledged, or who did first", body = String, content_type = "text/html"),
        (status = 403, description = "the token is not valid", body = String, content_type = "text/html"),
        (status = 404, description = "no such alert", body = String, content_type = "text/html"),
        (status = 409, description = "the alert is past acknowledging", body = String, content_type = "text/html"),
        (status = 410, description = "the link has expired", body = String, content_type = "text/html"),
        (status = 503, description = "the log cannot take the step right now", body = String, content_type = "text/html"),
    ))]
pub async fn ack_link(
    State(state): State<AppState>,
    source: Source,
    Path(id): Path<String>,
    Form(form): Form<LinkToken>,
) -> Page {
    let (view, _, recipient) = match check_link(&state, &id, &form.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    let _one_at_a_time = view.steps.lock().await;
    // looked up again under the lock: another step may have come first
    let (_, alert, _) = match check_link(&state, &id, &form.token) {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Some(done) = alert.acknowledged() {
        return pages::ack_taken(&alert, &done.by, done.at);
    }
    match take(&state, &view, &alert, &recipient, &source, AlertState::Acknowledged, None).await {
        Ok(()) => pages::about_alert(
            StatusCode::OK,
            &alert,
            "Peringatan diterima",
            "Terima kasih. Penerimaan Anda tercatat; lanjutkan penanganan di Kentongan.",
        ),
        Err(e) => pages::message(e.status, "Gagal", &e.message),
    }
}

/// What an SMS gateway reports about a message: Twilio's form fields, or a
/// JSON object with `status` (and `error`).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SmsStatus {
    #[serde(alias = "MessageStatus")]
    pub status: Option<String>,
    #[serde(alias = "ErrorMessage", alias = "ErrorCode")]
    pub error: Option<String>,
}

/// `POST /api/v1/alerts/{id}/sms-status?token=`: the SMS gateway's status
/// callback. The token (made with the message) says which unit and phone it
/// is about; the status is recorded on the alert as one more delivery entry.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/sms-status", tag = "alerts",
    summary = "The SMS gateway's status callback (the URL carries a signed token); recorded on the alert",
    params(("id" = String, Path), LinkToken),
    request_body(content(
        (SmsStatus = "application/json"),
        (SmsStatus = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 204, description = "recorded"),
        (status = 403, body = ErrorBody, description = "the token is not one this node made"),
    ))]
pub async fn sms_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LinkToken>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let bad_token = || ApiError::new(StatusCode::FORBIDDEN, "forbidden", "token: not a status callback this node made");
    let alert_id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found(&format!("alert `{id}`")))?;
    let signed = state
        .api()?
        .links
        .verify(Purpose::SmsStatus, alert_id, &q.token, state.clock.now())
        .map_err(|_| bad_token())?;
    let mut parts = signed.splitn(3, ':');
    let (Some("sms"), Some(unit), Some(phone)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_token());
    };
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let report: SmsStatus = if form {
        let field = |names: &[&str]| {
            form_urlencoded::parse(&body).find(|(k, _)| names.contains(&k.as_ref())).map(|(_, v)| v.into_owned())
        };
        SmsStatus { status: field(&["MessageStatus", "status"]), error: field(&["ErrorMessage", "ErrorCode", "error"]) }
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid("body", format!("not the JSON {{status, error?}}: {e}")))?
    };
    let status = report
        .status
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("status", "missing: send `status` (or Twilio's `MessageStatus`)"))?;
    let failed = ["failed", "undelivered", "rejected", "expired"].contains(&status.as_str());
    let event = AlertEvent::Delivered {
        alert_id,
        delivery: model::Delivery {
            channel: model::DeliveryChannel::Sms,
            recipient: phone.to_owned(),
            unit: unit.to_owned(),
            at: state.clock.now(),
            attempt: 0,
            error: failed.then(|| report.error.unwrap_or_else(|| status.clone())),
            status: Some(status),
        },
    };
    let view = view(&state)?;
    let key = view.find(alert_id).map(|a| a.key).ok_or_else(|| ApiError::not_found(&format!("alert `{id}`")))?;
    state.bus.publish(Topic::Alerts, &key, &wire::encode(&event)).await?;
    view.apply(event);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raised(n: u128) -> AlertEvent {
        let at = time::macros::datetime!(2026-11-29 10:00 UTC);
        AlertEvent::Raised { alert: Alert { id: Uuid::from_u128(n), ..Alert::example(at) } }
    }

    /// A stream that falls behind is told to reload and then goes on; the
    /// view never waits for it.
    #[tokio::test]
    async fn a_stream_that_falls_behind_is_told_to_reload() {
        let view = AlertView::with_backlog(alerter::SilenceBook::default(), Arc::new(model::SystemClock), 4);
        let mut notes = view.notes.subscribe();
        view.apply(raised(1));
        assert_eq!(next(notes.recv().await), Next::Alert(Uuid::from_u128(1)));
        // ten changes while the stream reads none: applying does not wait
        for n in 2..12 {
            view.apply(raised(n));
        }
        assert_eq!(next(notes.recv().await), Next::Reload(6));
        assert_eq!(next(notes.recv().await), Next::Alert(Uuid::from_u128(8)));
        // a replayed event changes nothing and tells nobody
        view.apply(raised(1));
        view.close();
        for n in 9..12 {
            assert_eq!(next(notes.recv().await), Next::Alert(Uuid::from_u128(n)));
        }
        assert_eq!(next(notes.recv().await), Next::End);
    }
}
