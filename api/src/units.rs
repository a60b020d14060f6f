//! `GET`, `POST /api/v1/units`, `PUT` and `DELETE /api/v1/units/{id}`: the
//! responsible units. The `units` topic is their home; this node's book
//! follows it. `units_file` in the configuration seeds it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bus::Topic;
use model::account::{MAX_CONTACTS, MAX_REGIONS};
use model::{Level, RegionCode, Unit, wire};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson, ErrorBody};

/// A unit's settings, as a caller sends them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    #[schema(example = "Kesbangpol Kota Palu")]
    pub name: String,
    /// Kemendagri codes; at least one.
    #[schema(example = json!(["72.71"]))]
    pub regions: Vec<String>,
    /// Indicator ids the rules tag; all when empty.
    #[serde(default)]
    #[schema(example = json!(["narkoba"]))]
    pub indicators: Vec<String>,
    #[serde(default)]
    pub min_level: Option<Level>,
    #[serde(default)]
    #[schema(example = json!(["kesbangpol@palukota.go.id"]))]
    pub emails: Vec<String>,
    #[serde(default)]
    #[schema(example = json!(["+6281234567890"]))]
    pub phones: Vec<String>,
    #[serde(default)]
    pub parent: Option<String>,
    /// `{days?: [1..7], from: "08:00", to: "16:00"}`; always on duty when absent.
    #[serde(default)]
    pub working_hours: Option<model::unit::WorkingHours>,
    /// `WIB`, `WITA` or `WIT`; that of the first region when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// `id` (the default) or `en`: the language of its notifications.
    #[serde(default)]
    pub language: Option<String>,
}

/// Whether the caller sees `unit`: one of its regions lies in the caller's
/// scope, or encloses part of it (the province unit above a city admin).
fn visible(caller: &Caller, unit: &Unit) -> bool {
    unit.regions.iter().any(|r| caller.scope.touches(r))
}

/// Checks `new` as the settings of the unit `id`, which was `before` (`None`
/// for a new unit). Its indicators must be known to the rules in force,
/// `known` (or have been the unit's before: a rule may since have gone).
///
/// Who may name which parent: escalations must not leave the caller's hands
/// sideways. A parent must be a unit the caller could edit (all of its regions
/// in the caller's scope), or a unit that encloses every region of this one,
/// the way the province unit `72` encloses a unit of `72.71`. A parent that
/// is neither (a unit of another province) is refused, unless it is the one
/// the unit already had, which a national admin chose.
fn validate(
    new: NewUnit,
    caller: &Caller,
    book: &alerter::UnitBook,
    id: String,
    before: Option<&Unit>,
    known: &[String],
) -> Result<Unit, ApiError> {
    let name = model::account::check_display_name(&new.name)
        .map_err(|e| ApiError::invalid("name", format!("{e}, like `Kesbangpol Kota Palu`")))?;
    if new.regions.is_empty() {
        return Err(ApiError::invalid("regions", "list at least one Kemendagri region code, like `72.71`"));
    }
    let mut regions = Vec::new();
    for code in &new.regions {
        let region = RegionCode::parse(code).map_err(|e| ApiError::invalid("regions", e))?;
        if !caller.scope.covers(Some(&region)) {
            return Err(ApiError::forbidden(&format!("admin of a scope that covers {region}")));
        }
        if !regions.contains(&region) {
            regions.push(region);
        }
    }
    if regions.len() > MAX_REGIONS {
        return Err(ApiError::invalid(
            "regions",
            format!("list at most {MAX_REGIONS}; a province code covers all below it"),
        ));
    }
    let mut indicators: Vec<String> = Vec::new();
    for i in &new.indicators {
        let kept = before.is_some_and(|b| b.indicators.contains(i));
        if !kept && !known.contains(i) {
            let message = if known.is_empty() {
                "the rules in force tag no indicators yet; leave indicators out for all".to_owned()
            } else {
                format!("each must be one the rules tag: {}", known.join(", "))
            };
            return Err(ApiError::invalid("indicators", message));
        }
        if !indicators.contains(i) {
            indicators.push(i.clone());
        }
    }
    if new.emails.len() > MAX_CONTACTS || new.phones.len() > MAX_CONTACTS {
        let field = if new.emails.len() > MAX_CONTACTS { "emails" } else { "phones" };
        return Err(ApiError::invalid(field, format!("list at most {MAX_CONTACTS}; use a mailing list for more")));
    }
    let mut emails: Vec<String> = Vec::new();
    for e in &new.emails {
        model::account::check_email(e.trim()).map_err(|m| ApiError::invalid("emails", m))?;
        if !emails.iter().any(|x| x.eq_ignore_ascii_case(e.trim())) {
            emails.push(e.trim().to_owned());
        }
    }
    let mut phones: Vec<String> = Vec::new();
    for p in &new.phones {
        let p = model::account::normalize_phone(p).map_err(|m| ApiError::invalid("phones", m))?;
        if !phones.contains(&p) {
            phones.push(p);
        }
    }
    if let Some(problem) = new.working_hours.as_ref().and_then(|h| h.problem()) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", problem));
    }
    if let Some(zone) = &new.time_zone
        && model::unit::zone_offset(zone).is_none()
    {
        return Err(ApiError::invalid("time_zone", format!("`{zone}` is not WIB, WITA or WIT")));
    }
    if let Some(language) = &new.language
        && !["id", "en"].contains(&language.as_str())
    {
        return Err(ApiError::invalid("language", format!("`{language}` is not id or en")));
    }
    if let Some(parent) = &new.parent {
        let kept = before.and_then(|b| b.parent.as_ref()) == Some(parent);
        // a unit the caller does not see is answered like one that does not exist
        let Some(unit) = book.get(parent).filter(|p| kept || visible(caller, p)) else {
            return Err(ApiError::invalid("parent", format!("no unit has the id `{parent}`")));
        };
        if !kept && !caller.covers_all(&unit.regions) && !unit.encloses(&regions) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "parent: `{}` covers regions outside yours and not all of this unit's; \
                     name a unit of your regions, or one above this unit's regions (the province unit)",
                    unit.name
                ),
            ));
        }
        // the chain up must end: not at this unit again (nor in a loop made
        // meanwhile by two nodes at once)
        let mut seen = std::collections::HashSet::new();
        let mut at = Some(parent.clone());
        while let Some(p) = at {
            if p == id || !seen.insert(p.clone()) {
                return Err(ApiError::invalid("parent", "would make the chain of parents a loop"));
            }
            at = book.get(&p).and_then(|u| u.parent);
        }
    }
    Ok(Unit {
        id,
        name,
        regions,
        indicators,
        min_level: new.min_level.unwrap_or(Level::Waspada),
        emails,
        phones,
        parent: new.parent,
        working_hours: new.working_hours,
        time_zone: new.time_zone,
        language: new.language,
    })
}

/// Create a responsible unit.
///
/// Answers 201 once the unit is durable on the bus.
#[utoipa::path(post, path = "/api/v1/units", tag = "units", request_body = NewUnit, responses(
    (status = 201, body = Unit),
))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    ApiJson(new): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Unit>), ApiError> {
    let known = state.api()?.rules.classifier().rules().indicators();
    let unit = validate(new, &caller, &state.api()?.units, uuid::Uuid::now_v7().to_string(), None, &known)?;
    state.bus.publish(Topic::Units, &unit.id, &wire::encode(&unit)).await?;
    state.api()?.units.apply(&unit.id, &wire::encode(&unit));
    audit::record(
        &state,
        Entry::new(&caller.name, "unit.create", &unit.id, &unit.regions, &source)
            .after(serde_json::to_value(&unit).map_err(ApiError::internal)?),
    )
    .await;
    Ok((StatusCode::CREATED, Json(unit)))
}

/// The units a caller sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct Units {
    pub units: Vec<Unit>,
}

/// Responsible units within your regions.
///
/// Those of your regions, and those above them that they may escalate to.
#[utoipa::path(get, path = "/api/v1/units", tag = "units", responses((status = 200, body = Units)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Units>, ApiError> {
    let units: Vec<Unit> = state.api()?.units.all().into_iter().filter(|u| visible(&caller, u)).collect();
    Ok(Json(Units { units }))
}

/// The unit `id`, if the caller may change it: all of its regions lie in the
/// caller's scope. One the caller does not see is 404; one the caller sees
/// but shares with other regions (the province above, a unit that also
/// covers another province) is 403.
fn editable(state: &AppState, caller: &Caller, id: &str) -> Result<Unit, ApiError> {
    let unit = state
        .api()?
        .units
        .get(id)
        .filter(|u| visible(caller, u))
        .ok_or_else(|| ApiError::not_found(&format!("unit `{id}`")))?;
    if !caller.covers_all(&unit.regions) {
        let outside: Vec<&str> =
            unit.regions.iter().filter(|r| !caller.scope.covers(Some(r))).map(|r| r.as_str()).collect();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "`{}` also covers {}: only an admin whose regions cover all of a unit's regions may change it",
                unit.name,
                outside.join(", ")
            ),
        ));
    }
    Ok(unit)
}

/// Replace a unit's settings (the same body as creating one).
#[utoipa::path(put, path = "/api/v1/units/{id}", tag = "units", params(("id" = String, Path)), request_body = NewUnit,
    responses(
        (status = 200, body = Unit),
    ))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJson(new): ApiJson<NewUnit>,
) -> Result<Json<Unit>, ApiError> {
    let before = editable(&state, &caller, &id)?;
    let known = state.api()?.rules.classifier().rules().indicators();
    let unit = validate(new, &caller, &state.api()?.units, id, Some(&before), &known)?;
    state.bus.publish(Topic::Units, &unit.id, &wire::encode(&unit)).await?;
    state.api()?.units.apply(&unit.id, &wire::encode(&unit));
    let mut regions = before.regions.clone();
    regions.extend(unit.regions.iter().filter(|r| !before.regions.contains(r)).cloned());
    audit::record(
        &state,
        Entry::new(&caller.name, "unit.update", &unit.id, &regions, &source)
            .before(serde_json::to_value(&before).map_err(ApiError::internal)?)
            .after(serde_json::to_value(&unit).map_err(ApiError::internal)?),
    )
    .await;
    Ok(Json(unit))
}

/// Remove a unit no other unit escalates to.
#[utoipa::path(delete, path = "/api/v1/units/{id}", tag = "units", params(("id" = String, Path)), responses(
    (status = 204, description = "removed"),
    (status = 409, body = ErrorBody, description = "another unit escalates to this one"),
))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let unit = editable(&state, &caller, &id)?;
    if let Some(child) = state.api()?.units.all().into_iter().find(|u| u.parent.as_deref() == Some(id.as_str())) {
        let message = if visible(&caller, &child) {
            format!("`{}` escalates to this unit: give it another parent first", child.name)
        } else {
            "a unit outside your regions escalates to this unit: ask a national admin".to_owned()
        };
        return Err(ApiError::new(StatusCode::CONFLICT, "conflict", message));
    }
    state.bus.publish(Topic::Units, &id, b"").await?;
    state.api()?.units.apply(&id, b"");
    audit::record(
        &state,
        Entry::new(&caller.name, "unit.delete", &id, &unit.regions, &source)
            .before(serde_json::to_value(&unit).map_err(ApiError::internal)?),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
