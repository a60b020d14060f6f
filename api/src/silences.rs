//! `GET`, `POST /api/v1/silences` and `DELETE /api/v1/silences/{id}`:
//! alerts that are raised and shown but not notified for a while (a known
//! situation already being handled, a drill). The `silences` topic is their
//! home; every alerter and api node follows it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bus::Topic;
use model::{RegionCode, Silence, wire};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson};

/// The longest silence: past this, nobody remembers why it was set.
const LONGEST: time::Duration = time::Duration::days(30);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Every indicator when absent.
    pub indicator: Option<String>,
    pub region: String,
    /// RFC 3339, in the future, at most 30 days on.
    pub until: String,
    pub reason: String,
}

/// Sets a silence within the caller's scope. 201 once durable on the bus.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(new): ApiJson<NewSilence>,
) -> Result<(StatusCode, Json<Silence>), ApiError> {
    let now = state.clock.now();
    let region = RegionCode::parse(&new.region).map_err(|e| ApiError::invalid("region", e))?;
    if !caller.scope.covers(Some(&region)) {
        return Err(ApiError::invalid("region", format!("{region} is outside your regions")));
    }
    let until = OffsetDateTime::parse(&new.until, &Rfc3339)
        .map_err(|_| ApiError::invalid("until", format!("`{}` is not an RFC 3339 time", new.until)))?;
    if until <= now || until > now + LONGEST {
        return Err(ApiError::invalid("until", "must be in the future and at most 30 days from now"));
    }
    let reason = model::account::check_text(&new.reason, 1, 500)
        .map_err(|e| ApiError::invalid("reason", format!("say why on one line: {e}")))?;
    let indicator = new.indicator.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
    if let Some(i) = &indicator {
        let known = state.rules.classifier().rules().indicators();
        if !known.contains(i) {
            return Err(ApiError::invalid(
                "indicator",
                format!("must be one the rules tag ({}), or left out for all", known.join(", ")),
            ));
        }
    }
    let silence = Silence {
        id: uuid::Uuid::now_v7().to_string(),
        indicator,
        region,
        until,
        reason,
        by: caller.name.clone(),
        created_at: now,
    };
    state.bus.publish(Topic::Silences, &silence.id, &wire::encode(&silence)).await?;
    state.silences.apply(&silence.id, &wire::encode(&silence));
    let after = serde_json::to_value(&silence).map_err(ApiError::internal)?;
    let regions = [silence.region.clone()];
    audit::record(&state, Entry::new(&caller.name, "silence.create", &silence.id, &regions, &source).after(after))
        .await;
    Ok((StatusCode::CREATED, Json(silence)))
}

/// Silences in the caller's scope that have not ended.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let now = state.clock.now();
    let mut silences: Vec<Silence> =
        state.silences.all().into_iter().filter(|s| s.until > now && caller.scope.covers(Some(&s.region))).collect();
    silences.sort_by_key(|s| s.until);
    Json(json!({ "silences": silences }))
}

/// Ends a silence now.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let silence = state
        .silences
        .get(&id)
        .filter(|s| caller.scope.covers(Some(&s.region)))
        .ok_or_else(|| ApiError::not_found(&format!("silence `{id}`")))?;
    state.bus.publish(Topic::Silences, &id, b"").await?;
    state.silences.apply(&id, b"");
    let before = serde_json::to_value(&silence).map_err(ApiError::internal)?;
    let regions = [silence.region.clone()];
    audit::record(&state, Entry::new(&caller.name, "silence.delete", &id, &regions, &source).before(before)).await;
    Ok(StatusCode::NO_CONTENT)
}
