//! Rules through the API: list, change (checked before they are saved),
//! test on a text, and backtest on the archive before deploying.
//!
//! A national file applies to the whole country, so changing it takes a
//! national admin. A file that starts with `regions = [...]` is local to
//! those regions: a regional admin reads, tests, backtests and changes the
//! files local to their own regions, and reads the national ones.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bus::Topic;
use classifier::{Classifier, RuleFileRecord, RuleSet};
use model::{Channel, RegionCode, Report, Scope, wire};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson, ErrorBody};

/// `regions` as a person reads them.
fn shown(regions: &[RegionCode]) -> String {
    regions.iter().map(RegionCode::as_str).collect::<Vec<_>>().join(", ")
}

/// What the caller's regions are, for a message.
fn own(caller: &Caller) -> String {
    match &caller.scope {
        Scope::All => "every region".into(),
        Scope::Regions(r) => shown(r),
    }
}

/// Whether the caller may change the file `id` is now, whose regions are
/// `regions` (empty: national): a national admin any, a regional admin only
/// one local to their own regions.
fn may_change(caller: &Caller, id: &str, regions: &[RegionCode]) -> Result<(), ApiError> {
    if caller.scope.covers_all(regions) {
        return Ok(());
    }
    let applies = if regions.is_empty() { "every region".to_owned() } else { format!("regions {}", shown(regions)) };
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "rule file `{id}` applies to {applies}; you may change only files local to your regions ({}): \
             choose another id",
            own(caller)
        ),
    ))
}

/// Whether the caller may put a file whose content declares `regions`.
fn may_write(caller: &Caller, regions: &[RegionCode]) -> Result<(), ApiError> {
    if caller.scope.covers_all(regions) {
        return Ok(());
    }
    let message = if regions.is_empty() {
        format!(
            "this file has no `regions`, so it would apply to every region: start it with `regions = [\"{}\"]` \
             (or codes within your regions: {})",
            match &caller.scope {
                Scope::Regions(r) => r.first().map_or("72", RegionCode::as_str),
                Scope::All => "72",
            },
            own(caller)
        )
    } else {
        format!("`regions` {} reach outside your regions ({}): list codes within them", shown(regions), own(caller))
    };
    Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", message))
}

/// The candidate set with file `id` set to `content`, checked, and what the
/// caller may do with it: change the file `id` is now, and write one with
/// the regions the content declares.
async fn checked_candidate(state: &AppState, caller: &Caller, id: &str, content: &str) -> Result<RuleSet, ApiError> {
    check_id(id)?;
    let book = &state.api()?.rules;
    if let Some(regions) = book.file_regions(id) {
        may_change(caller, id, &regions)?;
    }
    // before the checker, whose errors may name other files
    if let Some(regions) = classifier::rules::declared_regions(content) {
        may_write(caller, &regions)?;
    }
    let candidate = book.candidate_blocking(id, Some(content)).await.map_err(rules_error)?;
    may_write(caller, candidate.regions_of(&RuleFileRecord::file_name(id)))?;
    Ok(candidate)
}

/// Whether a file or rule of `regions` is shown to the caller: a national
/// one always, a local one when it touches the caller's regions.
fn readable(caller: &Caller, regions: &[RegionCode]) -> bool {
    regions.is_empty() || regions.iter().any(|r| caller.scope.touches(r))
}

fn rules_error(e: classifier::Error) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rules", e.to_string())
}

fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid("id", "use lowercase letters, digits, - and _, like `narkoba-lokal`"))
    }
}

/// The rules in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesInForce {
    pub version: String,
    /// The indicators the rules tag.
    pub indicators: Vec<String>,
    pub files: Vec<RuleFileView>,
    pub rules: Vec<RuleView>,
    /// Why the rules last put through the API are not in force, if they are not.
    pub problem: Option<String>,
}

/// Where a rule file comes from.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The node's rule pack or `rules.path`.
    Base,
    /// Put through the API.
    Api,
}

/// A rule file in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleFileView {
    pub name: String,
    /// The regions of a local file; empty for a national one.
    #[schema(example = json!(["72"]))]
    pub regions: Vec<String>,
    pub origin: Origin,
    /// Who put it through the API.
    pub author: Option<String>,
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
    /// The whole file, TOML.
    pub content: String,
}

/// A rule in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleView {
    pub id: String,
    pub indicator: String,
    pub description: String,
    pub weight: f64,
    /// The regions of a local rule; empty for a national one.
    pub regions: Vec<String>,
}

/// The rule files and rules in force, and their version.
///
/// The national ones, and those local to the caller's regions.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", responses((status = 200, body = RulesInForce)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<RulesInForce>, ApiError> {
    let book = &state.api()?.rules;
    let classifier = book.classifier();
    let set = classifier.rules();
    let api: BTreeMap<String, RuleFileRecord> =
        book.api_files().into_iter().map(|r| (RuleFileRecord::file_name(&r.id), r)).collect();
    let files = set
        .sources
        .iter()
        .filter(|(name, _)| readable(&caller, set.regions_of(name)))
        .map(|(name, content)| {
            let record = api.get(name);
            RuleFileView {
                name: name.clone(),
                regions: set.regions_of(name).iter().map(ToString::to_string).collect(),
                origin: if record.is_some() { Origin::Api } else { Origin::Base },
                author: record.map(|r| r.author.clone()),
                note: record.map(|r| r.note.clone()),
                updated_at: record.map(|r| r.updated_at),
                content: content.clone(),
            }
        })
        .collect();
    let rules: Vec<RuleView> = set
        .rules
        .iter()
        .filter(|r| readable(&caller, &r.regions))
        .map(|r| RuleView {
            id: r.id.to_string(),
            indicator: r.indicator.to_string(),
            description: r.description.clone(),
            weight: r.weight,
            regions: r.regions.iter().map(ToString::to_string).collect(),
        })
        .collect();
    let mut indicators: Vec<String> = rules.iter().map(|r| r.indicator.clone()).collect();
    indicators.sort();
    indicators.dedup();
    Ok(Json(RulesInForce { version: set.version.to_string(), indicators, files, rules, problem: book.problem() }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFileBody {
    /// The whole file, TOML.
    #[schema(
        example = "regions = [\"72\"]\n\n[[rule]]\nid = \"lokal.miras\"\nindicator = \"miras\"\nany = [\"miras oplosan\"]\n\n[threshold.miras]\nwindow = \"24h\"\nwaspada = 3\n"
    )]
    pub content: String,
    /// The change note, kept with this version in the history (at most 1,000 characters).
    #[serde(default)]
    pub note: String,
}

/// A rule file taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleFilePut {
    pub id: String,
    /// The version of the rules now in force.
    pub version: String,
    /// How many rules are in force.
    pub rules: usize,
}

/// Add or replace a rule file; checked first, in force without a restart.
///
/// National admins change any file; a regional admin only files local to
/// their regions (`regions = [...]` at the top, within the admin's).
#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules",
    params(("id" = String, Path, description = "lowercase letters, digits, - and _")),
    request_body = RuleFileBody,
    responses(
        (status = 200, body = RuleFilePut),
    ))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RuleFileBody>,
) -> Result<Json<RuleFilePut>, ApiError> {
    Ok(Json(save(&state, &caller, &source, &id, body.content, body.note).await?))
}

/// Checks `content` as file `id`, and puts it on the `rules` topic with its
/// author and change note: in force here at once, and audited.
async fn save(
    state: &AppState,
    caller: &Caller,
    source: &Source,
    id: &str,
    content: String,
    note: String,
) -> Result<RuleFilePut, ApiError> {
    let note = note.trim().to_owned();
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        return Err(ApiError::invalid("note", format!("has {chars} characters; at most {MAX_NOTE_CHARS}")));
    }
    let candidate = checked_candidate(state, caller, id, &content).await?;
    let regions = candidate.regions_of(&RuleFileRecord::file_name(id)).to_vec();
    let before = state.api()?.rules.api_files().into_iter().find(|r| r.id == id).map(|r| r.content);
    let record =
        RuleFileRecord { id: id.to_owned(), content, author: caller.name.clone(), note, updated_at: state.clock.now() };
    state.bus.publish(Topic::Rules, id, &wire::encode(&record)).await?;
    let applied = bus::Record {
        topic: Topic::Rules,
        partition: 0,
        offset: 0,
        key: id.to_owned(),
        payload: wire::encode(&record),
    };
    state.api()?.rules.apply_blocking(applied).await;
    let entry = Entry::new(&caller.name, "rule.update", id, &regions, source)
        .after(json!({ "content": record.content, "note": record.note }));
    let entry = match before {
        Some(b) => entry.before(json!({ "content": b })),
        None => entry,
    };
    audit::record(state, entry).await;
    Ok(RuleFilePut { id: id.to_owned(), version: candidate.version.to_string(), rules: candidate.rules.len() })
}

/// The longest change note, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// One version of a rule file put through the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleVersion {
    /// 1 for the first, counting removals.
    pub version: u32,
    /// The whole file, TOML; empty when this version removed it.
    pub content: String,
    /// This version removed the file (`DELETE`); a base file it replaced came back.
    pub removed: bool,
    /// Who put or removed it, when known.
    pub author: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
    /// The change note given with it; `rollback to vN` for a rollback.
    pub note: String,
    /// The regions the file declares; empty for a national one.
    pub regions: Vec<RegionCode>,
}

/// Every version of a rule file, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleHistory {
    pub id: String,
    pub versions: Vec<RuleVersion>,
    /// The version in force, or none when the file is removed.
    pub current: Option<u32>,
}

/// Every version of file `id` on the `rules` topic, oldest first: the log
/// is the record of them. Removals leave no author on the topic; theirs is
/// taken from the audit log.
async fn versions(state: &AppState, id: &str) -> Result<Vec<RuleVersion>, ApiError> {
    // a request is answered 503 at once rather than wait for the broker
    let (records, _) = state.bus.catch_up_within(Topic::Rules, std::time::Duration::ZERO).await?;
    let mut removals = state
        .accounts
        .audit
        .events(
            &Scope::All,
            &accounts::AuditFilter { action: Some("rule.delete".into()), limit: Some(1000), ..Default::default() },
        )
        .into_iter()
        .filter(|e| e.target == id)
        .rev();
    let mut out = Vec::new();
    for record in records.iter().filter(|r| r.key == id) {
        let version = out.len() as u32 + 1;
        if record.payload.is_empty() {
            let by = removals.next();
            out.push(RuleVersion {
                version,
                content: String::new(),
                removed: true,
                author: by.as_ref().map(|e| e.actor.clone()),
                at: by.as_ref().map(|e| e.at),
                note: String::new(),
                regions: Vec::new(),
            });
            continue;
        }
        match wire::decode::<RuleFileRecord>(&record.payload) {
            Ok(r) => out.push(RuleVersion {
                version,
                regions: classifier::rules::declared_regions(&r.content).unwrap_or_default(),
                content: r.content,
                removed: false,
                author: Some(r.author),
                at: Some(r.updated_at),
                note: r.note,
            }),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "rule history: skipping an unreadable record"),
        }
    }
    Ok(out)
}

/// The versions of `id` the caller may read (national ones, and those local
/// to files touching their regions); not found when there are none.
async fn readable_versions(state: &AppState, caller: &Caller, id: &str) -> Result<Vec<RuleVersion>, ApiError> {
    check_id(id)?;
    let all = versions(state, id).await?;
    let shown: Vec<RuleVersion> = all.into_iter().filter(|v| v.removed || readable(caller, &v.regions)).collect();
    if shown.iter().all(|v| v.removed) {
        return Err(ApiError::not_found(&format!("rule file `{id}` put through the API:")));
    }
    Ok(shown)
}

/// The history of a rule file put through the API: every version, with who, when, the note and the content.
///
/// Read from the `rules` topic, oldest first; a removal is a version with
/// `removed`. A regional admin sees the versions of national files and of
/// files local to their regions. Diff two versions' `content` to show a
/// change.
#[utoipa::path(get, path = "/api/v1/rules/{id}/history", tag = "rules",
    params(("id" = String, Path, description = "lowercase letters, digits, - and _")),
    responses((status = 200, body = RuleHistory)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RuleHistory>, ApiError> {
    let versions = readable_versions(&state, &caller, &id).await?;
    let in_force = state.api()?.rules.api_files().into_iter().any(|r| r.id == id);
    let current = versions.last().filter(|v| in_force && !v.removed).map(|v| v.version);
    Ok(Json(RuleHistory { id, versions, current }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The version to bring back, from the history.
    pub version: u32,
    /// Why; added to the change note `rollback to vN`.
    #[serde(default)]
    pub note: String,
}

/// Roll a rule file back to an earlier version: its content is put again, checked, as a new version.
///
/// The new version's note is `rollback to vN` (with your note after it).
/// The same checks and rights as `PUT /api/v1/rules/{id}`.
#[utoipa::path(post, path = "/api/v1/rules/{id}/rollback", tag = "rules",
    params(("id" = String, Path, description = "lowercase letters, digits, - and _")),
    request_body = Rollback,
    responses(
        (status = 200, body = RuleFilePut),
    ))]
pub async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Rollback>,
) -> Result<Json<RuleFilePut>, ApiError> {
    let versions = readable_versions(&state, &caller, &id).await?;
    let last = versions.last().map_or(0, |v| v.version);
    let Some(old) = versions.into_iter().find(|v| v.version == body.version) else {
        return Err(ApiError::invalid(
            "version",
            format!("file `{id}` has no version {} you may read; see its history (1 to {last})", body.version),
        ));
    };
    if old.removed {
        return Err(ApiError::invalid(
            "version",
            format!("version {} removed the file; choose one with content, or DELETE the file", old.version),
        ));
    }
    let note = match body.note.trim() {
        "" => format!("rollback to v{}", old.version),
        why => format!("rollback to v{}: {why}", old.version),
    };
    Ok(Json(save(&state, &caller, &source, &id, old.content, note).await?))
}

/// Remove a rule file put through the API.
///
/// A base file it replaced comes back. A regional admin removes only files
/// local to their regions.
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path)), responses(
    (status = 204, description = "removed"),
    (status = 422, body = ErrorBody, description = "the rules would not check without it"),
))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let before = state
        .api()?
        .rules
        .api_files()
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("rule file"))?;
    let regions = state.api()?.rules.file_regions(&id).unwrap_or_default();
    may_change(&caller, &id, &regions)?;
    state.api()?.rules.candidate_blocking(&id, None).await.map_err(rules_error)?;
    state.bus.publish(Topic::Rules, &id, &[]).await?;
    let applied = bus::Record { topic: Topic::Rules, partition: 0, offset: 0, key: id.clone(), payload: vec![] };
    state.api()?.rules.apply_blocking(applied).await;
    audit::record(
        &state,
        Entry::new(&caller.name, "rule.delete", &id, &regions, &source).before(json!({ "content": before.content })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A candidate: a file to add or replace, by id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// The candidate file; without it only the live rules run.
    #[serde(default)]
    pub rules: Option<String>,
    /// Which file the candidate replaces (default: a new file `candidate`).
    #[serde(default)]
    pub file: Option<String>,
    #[schema(example = "Ada transaksi sabu di dekat pasar Masomba")]
    pub text: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(example = "72.71")]
    pub region: Option<String>,
}

/// The rules in force with file `file` (default `candidate`) set to
/// `content`, if the caller may put that file.
async fn candidate_classifier(
    state: &AppState,
    caller: &Caller,
    file: Option<&str>,
    content: &str,
) -> Result<Classifier, ApiError> {
    let set = checked_candidate(state, caller, file.unwrap_or("candidate"), content).await?;
    tokio::task::spawn_blocking(move || Classifier::new(set)).await.map_err(ApiError::internal)
}

/// A text classified by the live rules and by a candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestAnswer {
    pub live: model::Classification,
    /// Absent without a candidate.
    pub candidate: Option<model::Classification>,
}

/// Classify a text with the live rules and a candidate file, side by side.
///
/// A regional admin tests only files local to their regions.
#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules", request_body = TestBody,
    responses((status = 200, body = TestAnswer)))]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TestBody>,
) -> Result<Json<TestAnswer>, ApiError> {
    let now = state.clock.now();
    let region = body
        .region
        .as_deref()
        .filter(|r| !r.is_empty())
        .map(RegionCode::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("region", e))?;
    if body.text.trim().is_empty() {
        return Err(ApiError::invalid("text", "is empty"));
    }
    // the same bound as a report's text: the test runs the same matching
    let limit = state.api()?.max_text_chars;
    for (field, value) in [("text", Some(&body.text)), ("title", body.title.as_ref())] {
        let chars = value.map_or(0, |v| v.chars().count());
        if chars > limit {
            return Err(ApiError::invalid(field, format!("has {chars} characters; at most {limit}")));
        }
    }
    let report = Report { region, title: body.title, ..Report::new(Channel::Web, "rules/test", body.text, now) };
    let live = state.api()?.rules.classifier();
    let candidate = match body.rules.as_deref() {
        Some(r) => Some(candidate_classifier(&state, &caller, body.file.as_deref(), r).await?),
        None => None,
    };
    let (live_out, candidate_out) =
        tokio::task::spawn_blocking(move || (live.classify(&report, now), candidate.map(|c| c.classify(&report, now))))
            .await
            .map_err(ApiError::internal)?;
    Ok(Json(TestAnswer { live: live_out, candidate: candidate_out }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestBody {
    /// The candidate file.
    #[schema(example = "[[rule]]\nid = \"x\"\nindicator = \"narkoba\"\nany = [\"heroin\"]\n")]
    pub rules: String,
    /// Which file it replaces (default: a new file `candidate`).
    #[serde(default)]
    pub file: Option<String>,
    /// Reports that happened from then…
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    /// …until then (exclusive; default: now).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    /// Most reports to replay (default 10,000, at most 100,000).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A backtest's answer: the period replayed, and what would change.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestAnswer {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    #[serde(flatten)]
    pub result: classifier::backtest::Backtest,
}

/// Replay archived reports through a candidate: indicators gained or lost, alerts that would fire.
///
/// Only reports within your regions, through the live rules and the
/// candidate; examples of reports gaining or losing each indicator. A
/// regional admin backtests only files local to their regions.
#[utoipa::path(post, path = "/api/v1/rules/backtest", tag = "rules", request_body = BacktestBody,
    responses((status = 200, body = BacktestAnswer)))]
pub async fn backtest(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<BacktestBody>,
) -> Result<Json<BacktestAnswer>, ApiError> {
    let index = state.api()?.index.clone();
    let from = body.from;
    let to = body.to.unwrap_or_else(|| state.clock.now());
    if from >= to {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    let limit = body.limit.unwrap_or(10_000);
    if limit == 0 || limit > 100_000 {
        return Err(ApiError::invalid("limit", "must be between 1 and 100000"));
    }
    let live: Arc<Classifier> = state.api()?.rules.classifier();
    let candidate = candidate_classifier(&state, &caller, body.file.as_deref(), &body.rules).await?;
    let state2 = state.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        // only what the caller may see: the examples quote reports, and
        // the counts and alerts would tell of regions outside their scope
        let reports = index.between(from, to, &caller.scope, limit)?;
        let visible = |region: &RegionCode| caller.scope.covers(Some(region));
        Ok(classifier::backtest::backtest(&live, &candidate, reports, visible, state2.clock.now()))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(BacktestAnswer { from, to, result }))
}
