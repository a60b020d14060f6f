//! Rules through the API: list, change (checked before they are saved),
//! test on a text, and backtest on the archive before deploying.
//! Rules apply to the whole country, so changing them takes a national admin.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bus::Topic;
use classifier::thresholds::Windows;
use classifier::{Classifier, RuleFileRecord, RuleSet};
use model::{Channel, ClassifiedReport, RegionCode, Report, ReportId, Scope, wire};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson};

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

/// `GET /api/v1/rules`: the files and rules in force.
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let classifier = state.rules.classifier();
    let set = classifier.rules();
    let api: BTreeMap<String, RuleFileRecord> =
        state.rules.api_files().into_iter().map(|r| (RuleFileRecord::file_name(&r.id), r)).collect();
    let files: Vec<Value> = set
        .sources
        .iter()
        .map(|(name, content)| {
            let record = api.get(name);
            json!({
                "name": name,
                "origin": if record.is_some() { "api" } else { "base" },
                "author": record.map(|r| r.author.clone()),
                "note": record.map(|r| r.note.clone()),
                "updated_at": record.map(|r| r.updated_at.format(&Rfc3339).unwrap_or_default()),
                "content": content,
            })
        })
        .collect();
    let rules: Vec<Value> = set
        .rules
        .iter()
        .map(|r| json!({ "id": r.id, "indicator": r.indicator, "description": r.description, "weight": r.weight }))
        .collect();
    Json(json!({
        "version": set.version,
        "indicators": set.indicators(),
        "files": files,
        "rules": rules,
        "problem": state.rules.problem(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFileBody {
    /// The whole file, TOML.
    pub content: String,
    #[serde(default)]
    pub note: String,
}

/// `PUT /api/v1/rules/{id}`: adds or replaces a rule file once it checks;
/// every classifier takes it up without a restart.
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RuleFileBody>,
) -> Result<Json<Value>, ApiError> {
    national(&caller)?;
    check_id(&id)?;
    let candidate = state.rules.candidate(&id, Some(&body.content)).map_err(rules_error)?;
    let before = state.rules.api_files().into_iter().find(|r| r.id == id).map(|r| r.content);
    let record = RuleFileRecord {
        id: id.clone(),
        content: body.content,
        author: caller.name.clone(),
        note: body.note,
        updated_at: state.clock.now(),
    };
    state.bus.publish(Topic::Rules, &id, &wire::encode(&record)).await?;
    bus::View::apply(
        &state.rules,
        &bus::Record { topic: Topic::Rules, partition: 0, offset: 0, key: id.clone(), payload: wire::encode(&record) },
    );
    let entry = Entry::new(&caller.name, "rule.update", &id, &[], &source).after(json!({ "content": record.content }));
    let entry = match before {
        Some(b) => entry.before(json!({ "content": b })),
        None => entry,
    };
    audit::record(&state, entry).await;
    Ok(Json(json!({ "id": id, "version": candidate.version, "rules": candidate.rules.len() })))
}

/// `DELETE /api/v1/rules/{id}`: removes a file put through the API (a base
/// file it replaced comes back).
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    national(&caller)?;
    let before =
        state.rules.api_files().into_iter().find(|r| r.id == id).ok_or_else(|| ApiError::not_found("rule file"))?;
    state.rules.candidate(&id, None).map_err(rules_error)?;
    state.bus.publish(Topic::Rules, &id, &[]).await?;
    bus::View::apply(
        &state.rules,
        &bus::Record { topic: Topic::Rules, partition: 0, offset: 0, key: id.clone(), payload: vec![] },
    );
    audit::record(
        &state,
        Entry::new(&caller.name, "rule.delete", &id, &[], &source).before(json!({ "content": before.content })),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A candidate: a file to add or replace, by id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// The candidate file; without it only the live rules run.
    #[serde(default)]
    pub rules: Option<String>,
    /// Which file the candidate replaces (default: a new file `candidate`).
    #[serde(default)]
    pub file: Option<String>,
    pub text: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

/// The rules in force with file `file` (default `candidate`) set to `content`.
fn candidate_classifier(state: &AppState, file: Option<&str>, content: &str) -> Result<Classifier, ApiError> {
    let id = file.unwrap_or("candidate");
    check_id(id)?;
    let set: RuleSet = state.rules.candidate(id, Some(content)).map_err(rules_error)?;
    Ok(Classifier::new(set))
}

/// Longest text a rule test takes on a node without the intake (whose
/// `ingest.max_text_chars` applies otherwise).
const TEST_TEXT_CHARS: usize = 20_000;

/// `POST /api/v1/rules/test`: classifies a text with the live rules and with
/// a candidate, side by side.
pub async fn test(State(state): State<AppState>, ApiJson(body): ApiJson<TestBody>) -> Result<Json<Value>, ApiError> {
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
    let limit = state.intake.as_ref().map_or(TEST_TEXT_CHARS, |i| i.config().max_text_chars);
    for (field, value) in [("text", Some(&body.text)), ("title", body.title.as_ref())] {
        let chars = value.map_or(0, |v| v.chars().count());
        if chars > limit {
            return Err(ApiError::invalid(field, format!("has {chars} characters; at most {limit}")));
        }
    }
    let report = Report {
        id: ReportId::new_at(now),
        received_at: now,
        reported_at: now,
        channel: Channel::Web,
        source: "rules/test".into(),
        reporter: None,
        region,
        title: body.title,
        text: body.text,
        language: None,
        attachments: Vec::new(),
        location: None,
        external_id: None,
    };
    let live = state.rules.classifier();
    let rules = body.rules.clone();
    let file = body.file.clone();
    let state2 = state.clone();
    let (live_out, candidate_out) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let candidate = rules.as_deref().map(|r| candidate_classifier(&state2, file.as_deref(), r)).transpose()?;
        Ok((live.classify(&report, now), candidate.map(|c| c.classify(&report, now))))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(json!({ "live": live_out, "candidate": candidate_out })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestBody {
    /// The candidate file.
    pub rules: String,
    /// Which file it replaces (default: a new file `candidate`).
    #[serde(default)]
    pub file: Option<String>,
    /// RFC 3339; reports that happened from then…
    pub from: String,
    /// …until then (exclusive; default: now).
    #[serde(default)]
    pub to: Option<String>,
    /// Most reports to replay (default 10,000, at most 100,000).
    #[serde(default)]
    pub limit: Option<usize>,
}

fn time_field(name: &str, v: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(v, &Rfc3339).map_err(|_| ApiError::invalid(name, format!("`{v}` is not an RFC 3339 time")))
}

/// What changes for one indicator.
#[derive(Debug, Default)]
struct Change {
    live: u64,
    candidate: u64,
    gained: Vec<Value>,
    lost: Vec<Value>,
    gained_total: u64,
    lost_total: u64,
}

fn example(r: &ClassifiedReport, c: &model::Classification, indicator: &str) -> Value {
    let terms: BTreeSet<&str> =
        c.indicator(indicator).map(|i| i.matches.iter().map(|m| &*m.term).collect()).unwrap_or_default();
    json!({ "id": r.report.id.to_string(), "excerpt": model::excerpt(&r.report.text, 160), "terms": terms })
}

/// `POST /api/v1/rules/backtest`: replays archived reports within the
/// caller's regions through the live rules and a candidate, and says what
/// would change: reports gaining or
/// losing each indicator (with examples) and the alerts that would fire.
pub async fn backtest(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<BacktestBody>,
) -> Result<Json<Value>, ApiError> {
    let index = state.index.clone().ok_or_else(|| ApiError::not_found("this node keeps no archive;"))?;
    let from = time_field("from", &body.from)?;
    let to = match &body.to {
        Some(t) => time_field("to", t)?,
        None => state.clock.now(),
    };
    if from >= to {
        return Err(ApiError::invalid("from", "must be before `to`"));
    }
    let limit = body.limit.unwrap_or(10_000);
    if limit == 0 || limit > 100_000 {
        return Err(ApiError::invalid("limit", "must be between 1 and 100000"));
    }
    let live: Arc<Classifier> = state.rules.classifier();
    let state2 = state.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let candidate = candidate_classifier(&state2, body.file.as_deref(), &body.rules)?;
        // only what the caller may see: the examples quote reports, and
        // the counts and alerts would tell of regions outside their scope
        let reports = index.between(from, to, &caller.scope, limit)?;
        let now = state2.clock.now();
        let mut changes: BTreeMap<String, Change> = BTreeMap::new();
        let mut live_windows = Windows::new(live.rules().thresholds.clone());
        let mut candidate_windows = Windows::new(candidate.rules().thresholds.clone());
        let mut live_alerts = BTreeSet::new();
        let mut candidate_alerts: BTreeMap<(String, String, String), Value> = BTreeMap::new();
        for item in &reports {
            let l = live.classify(&item.report, now);
            let c = candidate.classify(&item.report, now);
            let ids = |x: &model::Classification| x.indicators.iter().map(|i| i.id.clone()).collect::<BTreeSet<_>>();
            let (li, ci) = (ids(&l), ids(&c));
            for i in li.union(&ci) {
                let ch = changes.entry(i.to_string()).or_default();
                ch.live += u64::from(li.contains(i));
                ch.candidate += u64::from(ci.contains(i));
                if ci.contains(i) && !li.contains(i) {
                    ch.gained_total += 1;
                    if ch.gained.len() < 5 {
                        ch.gained.push(example(item, &c, i));
                    }
                } else if li.contains(i) && !ci.contains(i) {
                    ch.lost_total += 1;
                    if ch.lost.len() < 5 {
                        ch.lost.push(example(item, &l, i));
                    }
                }
            }
            let key = |a: &model::Alert| (a.indicator.clone(), a.region.to_string(), a.level.to_string());
            let live_item = ClassifiedReport { report: item.report.clone(), classification: l };
            // a report in scope may name places outside it, whose windows it
            // also counts: their alerts are not the caller's to see
            let visible = |a: &model::Alert| caller.scope.covers(Some(&a.region));
            for a in live_windows.observe(&live_item, now).into_iter().filter(visible) {
                live_alerts.insert(key(&a));
            }
            let candidate_item = ClassifiedReport { report: item.report.clone(), classification: c };
            for a in candidate_windows.observe(&candidate_item, now).into_iter().filter(visible) {
                candidate_alerts.entry(key(&a)).or_insert_with(|| {
                    json!({ "indicator": a.indicator, "region": a.region, "region_name": a.region.name(),
                            "level": a.level, "at": a.window.end.format(&Rfc3339).unwrap_or_default(), "count": a.count })
                });
            }
        }
        let only_candidate: Vec<&Value> =
            candidate_alerts.iter().filter(|(k, _)| !live_alerts.contains(*k)).map(|(_, v)| v).collect();
        let only_live: Vec<Value> = live_alerts
            .iter()
            .filter(|k| !candidate_alerts.contains_key(*k))
            .map(|(i, r, l)| json!({ "indicator": i, "region": r, "level": l }))
            .collect();
        let indicators: BTreeMap<String, Value> = changes
            .into_iter()
            .map(|(i, c)| {
                (i, json!({ "live": c.live, "candidate": c.candidate, "gained": c.gained_total, "lost": c.lost_total,
                            "gained_examples": c.gained, "lost_examples": c.lost }))
            })
            .collect();
        Ok(json!({
            "reports": reports.len(),
            "from": from.format(&Rfc3339).unwrap_or_default(),
            "to": to.format(&Rfc3339).unwrap_or_default(),
            "live_version": live.rules().version,
            "candidate_version": candidate.rules().version,
            "indicators": indicators,
            "alerts": { "live": live_alerts.len(), "candidate": candidate_alerts.len(),
                        "only_candidate": only_candidate, "only_live": only_live },
        }))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(result))
}
