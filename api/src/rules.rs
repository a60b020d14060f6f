//! Rules through the API: list, change (checked before they are saved),
//! test on a text, and backtest on the archive before deploying.
//! Rules apply to the whole country, so changing them takes a national admin.

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

fn national(caller: &Caller) -> Result<(), ApiError> {
    if caller.scope == Scope::All {
        Ok(())
    } else {
        Err(ApiError::forbidden("a national admin (rules apply to every region);"))
    }
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
}

/// The rule files and rules in force, and their version.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", responses((status = 200, body = RulesInForce)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<RulesInForce>, ApiError> {
    let book = &state.api()?.rules;
    let classifier = book.classifier();
    let set = classifier.rules();
    let api: BTreeMap<String, RuleFileRecord> =
        book.api_files().into_iter().map(|r| (RuleFileRecord::file_name(&r.id), r)).collect();
    let files = set
        .sources
        .iter()
        .map(|(name, content)| {
            let record = api.get(name);
            RuleFileView {
                name: name.clone(),
                origin: if record.is_some() { Origin::Api } else { Origin::Base },
                author: record.map(|r| r.author.clone()),
                note: record.map(|r| r.note.clone()),
                updated_at: record.map(|r| r.updated_at),
                content: content.clone(),
            }
        })
        .collect();
    let rules = set
        .rules
        .iter()
        .map(|r| RuleView {
            id: r.id.to_string(),
            indicator: r.indicator.to_string(),
            description: r.description.clone(),
            weight: r.weight,
        })
        .collect();
    Ok(Json(RulesInForce {
        version: set.version.to_string(),
        indicators: set.indicators(),
        files,
        rules,
        problem: book.problem(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFileBody {
    /// The whole file, TOML.
    #[schema(example = "[[rule]]\nid = \"lokal.miras\"\nindicator = \"miras\"\nany = [\"miras oplosan\"]\n")]
    pub content: String,
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

/// Add or replace a rule file (national admins); checked first, in force everywhere without a restart.
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
    national(&caller)?;
    check_id(&id)?;
    let candidate = state.api()?.rules.candidate_blocking(&id, Some(&body.content)).await.map_err(rules_error)?;
    let before = state.api()?.rules.api_files().into_iter().find(|r| r.id == id).map(|r| r.content);
    let record = RuleFileRecord {
        id: id.clone(),
        content: body.content,
        author: caller.name.clone(),
        note: body.note,
        updated_at: state.clock.now(),
    };
    state.bus.publish(Topic::Rules, &id, &wire::encode(&record)).await?;
    let applied =
        bus::Record { topic: Topic::Rules, partition: 0, offset: 0, key: id.clone(), payload: wire::encode(&record) };
    state.api()?.rules.apply_blocking(applied).await;
    let entry = Entry::new(&caller.name, "rule.update", &id, &[], &source).after(json!({ "content": record.content }));
    let entry = match before {
        Some(b) => entry.before(json!({ "content": b })),
        None => entry,
    };
    audit::record(&state, entry).await;
    Ok(Json(RuleFilePut { id, version: candidate.version.to_string(), rules: candidate.rules.len() }))
}

/// Remove a rule file put through the API (national admins).
///
/// A base file it replaced comes back.
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
    national(&caller)?;
    let before = state
        .api()?
        .rules
        .api_files()
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("rule file"))?;
    state.api()?.rules.candidate_blocking(&id, None).await.map_err(rules_error)?;
    state.bus.publish(Topic::Rules, &id, &[]).await?;
    let applied = bus::Record { topic: Topic::Rules, partition: 0, offset: 0, key: id.clone(), payload: vec![] };
    state.api()?.rules.apply_blocking(applied).await;
    audit::record(
        &state,
        Entry::new(&caller.name, "rule.delete", &id, &[], &source).before(json!({ "content": before.content })),
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

/// The rules in force with file `file` (default `candidate`) set to `content`.
fn candidate_classifier(state: &AppState, file: Option<&str>, content: &str) -> Result<Classifier, ApiError> {
    let id = file.unwrap_or("candidate");
    check_id(id)?;
    let set: RuleSet = state.api()?.rules.candidate(id, Some(content)).map_err(rules_error)?;
    Ok(Classifier::new(set))
}

/// A text classified by the live rules and by a candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestAnswer {
    pub live: model::Classification,
    /// Absent without a candidate.
    pub candidate: Option<model::Classification>,
}

/// Classify a text with the live rules and a candidate file, side by side.
#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules", request_body = TestBody,
    responses((status = 200, body = TestAnswer)))]
pub async fn test(
    State(state): State<AppState>,
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
    let rules = body.rules.clone();
    let file = body.file.clone();
    let state2 = state.clone();
    let (live_out, candidate_out) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let candidate = rules.as_deref().map(|r| candidate_classifier(&state2, file.as_deref(), r)).transpose()?;
        Ok((live.classify(&report, now), candidate.map(|c| c.classify(&report, now))))
    })
    .await
    .map_err(ApiError::internal)??;
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
/// candidate; examples of reports gaining or losing each indicator.
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
    let state2 = state.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let candidate = candidate_classifier(&state2, body.file.as_deref(), &body.rules)?;
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
