//! `GET /api/v1/units` and `POST /api/v1/units`: the responsible units.
//! The `units` topic is their home; this node's book follows it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bus::Topic;
use model::{Level, RegionCode, Unit, wire};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    pub name: String,
    pub regions: Vec<String>,
    #[serde(default)]
    pub indicators: Vec<String>,
    #[serde(default)]
    pub min_level: Option<Level>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub parent: Option<String>,
}

fn validate(new: NewUnit, caller: &Caller, book: &alerter::UnitBook) -> Result<Unit, ApiError> {
    let name = new.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "is empty: give the unit a name, like `Kesbangpol Kota Palu`"));
    }
    if new.regions.is_empty() {
        return Err(ApiError::invalid("regions", "list at least one Kemendagri region code, like `72.71`"));
    }
    let mut regions = Vec::new();
    for code in &new.regions {
        let region = RegionCode::parse(code).map_err(|e| ApiError::invalid("regions", e))?;
        if !caller.scope.covers(Some(&region)) {
            return Err(ApiError::forbidden(&format!("admin of a scope that covers {region}")));
        }
        regions.push(region);
    }
    for i in &new.indicators {
        if i.is_empty() || !i.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(ApiError::invalid("indicators", format!("`{i}` is not an indicator id like `narkoba`")));
        }
    }
    for e in &new.emails {
        let ok = e.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if !ok {
            return Err(ApiError::invalid("emails", format!("`{e}` is not an email address")));
        }
    }
    for p in &new.phones {
        let digits = p.strip_prefix('+').unwrap_or(p);
        if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::invalid("phones", format!("`{p}` is not a phone number like +6281234567890")));
        }
    }
    if let Some(parent) = &new.parent
        && book.get(parent).is_none()
    {
        return Err(ApiError::invalid("parent", format!("no unit has the id `{parent}`")));
    }
    Ok(Unit {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        regions,
        indicators: new.indicators,
        min_level: new.min_level.unwrap_or(Level::Waspada),
        emails: new.emails,
        phones: new.phones,
        parent: new.parent,
    })
}

/// Creates a unit. Answers 201 once the unit is durable on the bus.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(new): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Unit>), ApiError> {
    let unit = validate(new, &caller, &state.units)?;
    state.bus.publish(Topic::Units, &unit.id, &wire::encode(&unit)).await?;
    state.units.apply(&unit.id, &wire::encode(&unit));
    audit::record(
        &state,
        Entry::new(&caller.name, "unit.create", &unit.id, &unit.regions, &source)
            .after(serde_json::to_value(&unit).map_err(ApiError::internal)?),
    )
    .await;
    Ok((StatusCode::CREATED, Json(unit)))
}

/// The units whose regions lie in the caller's scope.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let units: Vec<Unit> =
        state.units.all().into_iter().filter(|u| u.regions.iter().any(|r| caller.scope.covers(Some(r)))).collect();
    Json(json!({ "units": units }))
}
