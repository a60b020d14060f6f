//! `GET`, `POST /api/v1/silences` and `DELETE /api/v1/silences/{id}`:
//! alerts that are raised and shown but not notified for a while (a known
//! situation already being handled, a drill). The `silences` topic is their
//! home; every alerter and api node follows it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bus::Topic;
use model::{RegionCode, Silence, wire};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson};

/// The longest silence: past this, nobody remembers why it was set.
const LONGEST: time::Duration = time::Duration::days(30);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// Every indicator when absent.
    #[schema(example = "narkoba")]
    pub indicator: Option<String>,
    /// A Kemendagri code; the silence covers everything under it.
    #[schema(example = "72.71")]
    pub region: String,
    /// In the future, at most 30 days on.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// Why, on one line.
    #[schema(example = "operasi gabungan sedang berjalan")]
    pub reason: String,
}

/// Stop notifications of an indicator in a region until a time; alerts are still raised and shown.
///
/// Within your regions. 201 once durable on the bus.
#[utoipa::path(post, path = "/api/v1/silences", tag = "silences", request_body = NewSilence, responses(
    (status = 201, body = Silence),
))]
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
    let until = new.until;
    if until <= now || until > now + LONGEST {
        return Err(ApiError::invalid("until", "must be in the future and at most 30 days from now"));
    }
    let reason = model::account::check_text(&new.reason, 1, 500)
        .map_err(|e| ApiError::invalid("reason", format!("say why on one line: {e}")))?;
    let indicator = new.indicator.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
    if let Some(i) = &indicator {
        let known = state.api()?.rules.classifier().rules().indicators();
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
    state.api()?.alerts.apply_silence(&silence.id, &wire::encode(&silence));
    let after = serde_json::to_value(&silence).map_err(ApiError::internal)?;
    let regions = [silence.region.clone()];
    audit::record(&state, Entry::new(&caller.name, "silence.create", &silence.id, &regions, &source).after(after))
        .await;
    Ok((StatusCode::CREATED, Json(silence)))
}

/// The silences a caller sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct Silences {
    /// Soonest to end first.
    pub silences: Vec<Silence>,
}

/// Silences in force within your regions.
#[utoipa::path(get, path = "/api/v1/silences", tag = "silences", responses((status = 200, body = Silences)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Silences>, ApiError> {
    let now = state.clock.now();
    let mut silences: Vec<Silence> = state
        .api()?
        .silences
        .all()
        .into_iter()
        .filter(|s| s.until > now && caller.scope.covers(Some(&s.region)))
        .collect();
    silences.sort_by_key(|s| s.until);
    Ok(Json(Silences { silences }))
}

/// End a silence now.
#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "silences", params(("id" = String, Path)), responses(
    (status = 204, description = "ended"),
))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let silence = state
        .api()?
        .silences
        .get(&id)
        .filter(|s| caller.scope.covers(Some(&s.region)))
        .ok_or_else(|| ApiError::not_found(&format!("silence `{id}`")))?;
    state.bus.publish(Topic::Silences, &id, b"").await?;
    state.api()?.alerts.apply_silence(&id, b"");
    let before = serde_json::to_value(&silence).map_err(ApiError::internal)?;
    let regions = [silence.region.clone()];
    audit::record(&state, Entry::new(&caller.name, "silence.delete", &id, &regions, &source).before(before)).await;
    Ok(StatusCode::NO_CONTENT)
}
