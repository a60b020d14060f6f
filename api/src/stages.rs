//! Election stages and the files of filings: `GET /api/v1/stages` (the
//! board: regions by stage item, with status, last change, who and
//! documents, and who has not yet), `GET /api/v1/stages/{region}/history`
//! and `GET /api/v1/attachments`. A status is set by filing the stage
//! (`POST /api/v1/templates/{id}/filings` with `period` the stage's id, and
//! documents as file parts), so the log is the record and these read the
//! api node's [`duties::FilingBook`]. The rules are in `duties::stages`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use duties::stages::{Board, ByStage, Change};
use duties::{Document, Template, UnitRow};
use model::RegionCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::duties::{filers_in, loaded, region_param, visible};
use crate::error::{ApiError, ApiQuery, ErrorBody};

/// The built-in election-stage template, used when none is named.
const DEFAULT: &str = "tahapan-pemilu";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// A template scheduled by stage; `tahapan-pemilu` when absent.
    #[serde(default)]
    pub template: Option<String>,
    /// Only regions within this one (and the caller's): `72` for a
    /// province's board.
    #[serde(default)]
    pub region: Option<String>,
}

/// The template named (or the built-in one), when it is scheduled by stage.
fn stage_template(state: &AppState, caller: &Caller, id: Option<&str>) -> Result<Template, ApiError> {
    let id = id.map(str::trim).filter(|t| !t.is_empty()).unwrap_or(DEFAULT);
    let template = visible(state, caller, id, None)?;
    duties::stages::by_stage(&template)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.to_string()))?;
    Ok(template)
}

/// The election-stage board: each region's status on each stage item.
///
/// For every region that files the template within the caller's regions
/// (and `region`): per stage item (hibah, nphd, logistik for
/// `tahapan-pemilu`) its status from its latest filing for the stage
/// (`ditandatangani`), whether that is done (the last option of the stage's
/// status field), when it changed and who changed it (admins and operators
/// see the account), and its supporting documents. Each item lists the
/// regions not done yet, and the totals count done, in progress and not
/// filed per item for each province and nationally. Set a status by filing
/// the stage: `POST /api/v1/templates/{id}/filings` with `period` the
/// stage's id.
#[utoipa::path(get, path = "/api/v1/stages", tag = "duties", params(BoardParams),
    responses((status = 200, body = Board), (status = 503, body = ErrorBody, description = "the filings are still being loaded")))]
pub async fn board(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<BoardParams>,
) -> Result<Json<Board>, ApiError> {
    let template = stage_template(&state, &caller, q.template.as_deref())?;
    let regions = filers_in(&template, &caller, q.region.as_deref())?;
    let book = loaded(&state)?;
    let mut filings: ByStage = BTreeMap::new();
    for stage in &template.definition.schedule.stages {
        filings.insert(stage.id.clone(), book.filings(&template.id, &stage.id));
    }
    let mut board = duties::stages::board(&template, &regions, &filings);
    if !caller.sees_reporters() {
        board.rows.iter_mut().flat_map(|r| r.cells.iter_mut()).for_each(|c| c.account = None);
    }
    Ok(Json(board))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// A template scheduled by stage; `tahapan-pemilu` when absent.
    #[serde(default)]
    pub template: Option<String>,
}

/// Every change of one region's stage items.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageHistory {
    pub template: String,
    pub region: RegionCode,
    pub name: &'static str,
    /// Oldest first.
    pub changes: Vec<Change>,
}

/// The history of a region's stage items, oldest first.
///
/// Each filing of a stage is a change: the status it gave and the one
/// before, whether the item was done after it, who made it (admins and
/// operators see the account) and when, and its documents.
#[utoipa::path(get, path = "/api/v1/stages/{region}/history", tag = "duties",
    params(("region" = String, Path, description = "a region code within the caller's regions"), HistoryParams),
    responses((status = 200, body = StageHistory), (status = 503, body = ErrorBody, description = "the filings are still being loaded")))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path(region): Path<String>,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<Json<StageHistory>, ApiError> {
    let template = stage_template(&state, &caller, q.template.as_deref())?;
    let region = RegionCode::parse(region.trim())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", format!("region: {e}")))?;
    if !caller.scope.covers(Some(&region)) {
        return Err(ApiError::not_found(&format!("region {region}")));
    }
    if !template.definition.filers.expects(&region) {
        return Err(ApiError::not_found(&format!("region {region} among the filers of template {}", template.id)));
    }
    let book = loaded(&state)?;
    let mut filings = BTreeMap::new();
    for stage in &template.definition.schedule.stages {
        if let Some(entries) = book.filings(&template.id, &stage.id).remove(&region) {
            filings.insert(stage.id.clone(), entries);
        }
    }
    let mut changes = duties::stages::history(&template, &filings);
    if !caller.sees_reporters() {
        changes.iter_mut().for_each(|c| c.account = None);
    }
    Ok(Json(StageHistory { template: template.id, name: region.name(), region, changes }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentParams {
    /// The template whose filings' files to list.
    pub template: String,
    /// Only this period (`2026-11-30`, or a stage id like `nphd`).
    #[serde(default)]
    pub period: Option<String>,
    /// Only filers within this region (and the caller's).
    #[serde(default)]
    pub region: Option<String>,
    /// The field the files were sent for, like `dokumen`.
    #[serde(default)]
    pub field: Option<String>,
    /// At most this many, newest first (1 to 1,000; 200 when absent).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A file of a filing.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingAttachment {
    pub template: String,
    /// The period, or the stage, it was filed for.
    pub period: String,
    /// The region it was filed for (for a unit's filing, filed from).
    pub region: RegionCode,
    pub region_name: &'static str,
    /// The unit it was filed for, when the template's filers are units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The filing's report: the file downloads from
    /// `/api/v1/reports/{report}/attachments/{n}`.
    pub report: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// Who filed it (shown to admins and operators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(flatten)]
    pub document: Document,
}

/// Files of filings, within the caller's regions.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingAttachments {
    /// How many match, of which `attachments` has the newest.
    pub total: usize,
    pub attachments: Vec<FilingAttachment>,
}

/// The files of a template's filings, per region, period (stage) and field.
///
/// Newest first, each with its name, content type, size, SHA-256, the
/// field it was sent for, its filing's report and when it came in. View or
/// download one with `GET /api/v1/reports/{report}/attachments/{n}`.
#[utoipa::path(get, path = "/api/v1/attachments", tag = "duties", params(AttachmentParams),
    responses((status = 200, body = FilingAttachments), (status = 503, body = ErrorBody, description = "the filings are still being loaded")))]
pub async fn attachments(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AttachmentParams>,
) -> Result<Json<FilingAttachments>, ApiError> {
    let template = visible(&state, &caller, q.template.trim(), None)?;
    let limit = q.limit.unwrap_or(200);
    if !(1..=1_000).contains(&limit) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", "limit: give 1 to 1000"));
    }
    let period = q.period.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let region = region_param(&caller, q.region.as_deref())?;
    let field = q.field.as_deref().map(str::trim).filter(|f| !f.is_empty());
    let found = loaded(&state)?.with_documents(
        &template.id,
        |p| period.is_none_or(|want| p == want),
        |r| caller.scope.covers(Some(r)) && region.as_ref().is_none_or(|w| r.is_within(w)),
    );
    let sees = caller.sees_reporters();
    let mut all: Vec<FilingAttachment> = found
        .into_iter()
        .flat_map(|a| {
            let template = template.id.clone();
            a.entry
                .documents
                .iter()
                .filter(|d| field.is_none_or(|f| d.field == f))
                .map(|d| FilingAttachment {
                    template: template.clone(),
                    period: a.period.clone(),
                    region_name: a.region.name(),
                    region: a.region.clone(),
                    unit: a.unit.clone(),
                    report: a.entry.report.to_string(),
                    received_at: a.entry.received_at,
                    account: a.entry.account.clone().filter(|_| sees),
                    document: d.clone(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    all.sort_by(|a, b| (b.received_at, &b.report, b.document.n).cmp(&(a.received_at, &a.report, a.document.n)));
    let total = all.len();
    all.truncate(limit);
    Ok(Json(FilingAttachments { total, attachments: all }))
}

/// The compliance rows of the units among `template`'s filers that the
/// caller sees (a unit with a region in the caller's scope; a unit no
/// longer in the unit book only nationally), within `region` when given.
pub(crate) fn unit_rows(
    state: &AppState,
    caller: &Caller,
    template: &Template,
    period: &duties::Period,
    region: Option<&str>,
) -> Result<Vec<UnitRow>, ApiError> {
    let units = &template.definition.filers.units;
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let within = region_param(caller, region)?;
    let api = state.api()?;
    let filers: Vec<duties::compliance::UnitFiler> = units
        .iter()
        .filter_map(|id| match api.units.get(id) {
            Some(unit) => {
                // a unit whose regions the caller covers, not one above the caller
                let seen = caller.scope.covers_any(&unit.regions)
                    && within.as_ref().is_none_or(|w| unit.regions.iter().any(|r| r.is_within(w) || w.is_within(r)));
                seen.then(|| (unit.id.clone(), unit.name.clone(), unit.regions.first().cloned()))
            }
            None => {
                (matches!(caller.scope, model::Scope::All) && within.is_none()).then(|| (id.clone(), id.clone(), None))
            }
        })
        .collect();
    let filings = api.filings.unit_filings(&template.id, &period.to_string());
    Ok(duties::compliance::units(template, period, &filers, &filings, state.clock.now()))
}

/// Checks the units a template names as filers: each in the unit book,
/// lying within the template's regions (`owners`, none for a national
/// template), and all of its regions within the caller's (else 403).
pub(crate) fn check_unit_filers(
    state: &AppState,
    caller: &Caller,
    units: &[String],
    owners: &[RegionCode],
) -> Result<(), ApiError> {
    if units.is_empty() {
        return Ok(());
    }
    let book = &state.api()?.units;
    for (i, id) in units.iter().enumerate() {
        let at = format!("filers.units[{i}]");
        let unit = book
            .get(id)
            .ok_or_else(|| ApiError::invalid(&at, format!("there is no unit `{id}`; see GET /api/v1/units")))?;
        if !owners.is_empty() && !unit.regions.iter().all(|r| owners.iter().any(|o| r.is_within(o))) {
            let within: Vec<&str> = owners.iter().map(RegionCode::as_str).collect();
            return Err(ApiError::invalid(
                &at,
                format!("unit `{id}` lies outside {} (filers.within); add its regions there", within.join(", ")),
            ));
        }
        if !caller.scope.covers_all(&unit.regions) {
            return Err(ApiError::forbidden(&format!("admin of every region of unit `{id}`")));
        }
    }
    Ok(())
}

/// Checks a filing for the unit `unit` from `region`: the unit is one of
/// the template's filers and, where this node has the unit book, exists
/// and covers `region`.
pub(crate) fn check_unit_filing(
    state: &AppState,
    template: &Template,
    unit: &str,
    region: &RegionCode,
) -> Result<(), ApiError> {
    let units = &template.definition.filers.units;
    if !units.iter().any(|u| u == unit) {
        return Err(ApiError::invalid(
            "unit",
            format!(
                "`{}` is not one of the units that file template {}{}",
                ingest::quote(unit),
                template.id,
                if units.is_empty() { String::new() } else { format!("; they are: {}", units.join(", ")) }
            ),
        ));
    }
    if let Some(api) = &state.api {
        let found =
            api.units.get(unit).ok_or_else(|| ApiError::invalid("unit", format!("there is no unit `{unit}`")))?;
        if !found.regions.iter().any(|r| region.is_within(r)) {
            let regions: Vec<&str> = found.regions.iter().map(RegionCode::as_str).collect();
            return Err(ApiError::invalid(
                "region",
                format!("{region} is outside unit `{unit}`; file from one of its regions: {}", regions.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Checks each file against the policy of its attachment field (kind and
/// size): too large is 413, a kind the field does not take is 422, each
/// naming the field and what it takes.
pub(crate) fn check_files(template: &Template, files: &[(String, String, Vec<u8>)]) -> Result<(), ApiError> {
    for (field, name, bytes) in files {
        let Some(field) = template.field(field) else { continue };
        let kind = ingest::AttachmentStore::sniff(bytes);
        match duties::stages::check_file(field, &ingest::quote(name), kind, bytes.len() as u64) {
            Ok(()) => {}
            Err(duties::stages::Refused::TooLarge(e)) => {
                return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string()));
            }
            Err(duties::stages::Refused::WrongKind(e)) => return Err(e.into()),
        }
    }
    Ok(())
}
