//! Periodic reports: `GET /api/v1/templates`, `GET` and `PUT
//! /api/v1/templates/{id}`, `POST` and `GET /api/v1/templates/{id}/filings`,
//! `GET /api/v1/templates/{id}/draft` and `GET /api/v1/compliance`.
//!
//! Templates live on the `templates` topic (every node follows it); a
//! filing is a report on `reports` that carries its template, version,
//! period, region and values; which filings exist is the api node's
//! [`duties::FilingBook`], fed from `reports` and `classified`. The rules are in the
//! `duties` crate; this file checks who may do what.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use bus::Topic;
use duties::{Compliance, FilingEntry, Period, Template, TemplateBook};
use model::{Channel, Filing, RegionCode, Report, Reporter, Scope, wire};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Source};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};

impl From<duties::Invalid> for ApiError {
    fn from(e: duties::Invalid) -> Self {
        ApiError::invalid(&e.field, e.message)
    }
}

/// How far ahead of the server's clock `reported_at` may be, as for reports.
const AHEAD: time::Duration = time::Duration::minutes(5);

/// The templates a caller sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct Templates {
    pub templates: Vec<Template>,
}

/// The template `id` (the version `version`, else the latest) when the
/// caller sees it; else 404.
pub(crate) fn visible(state: &AppState, caller: &Caller, id: &str, version: Option<u32>) -> Result<Template, ApiError> {
    let found = match version {
        Some(v) => state.templates.version(id, v),
        None => state.templates.current(id),
    };
    match found {
        Some(t) if t.visible(&caller.scope) => Ok((*t).clone()),
        _ => Err(ApiError::not_found(&match version {
            Some(v) => format!("template {} version {v}", ingest::quote(id)),
            None => format!("template {}", ingest::quote(id)),
        })),
    }
}

/// The report templates: national ones and those of the caller's regions.
///
/// Each with its latest version, fields, schedule and filers. The built-in
/// templates are `lapsitda-harian` (the daily regional situation report)
/// and `tahapan-pemilu` (election-stage monitoring).
#[utoipa::path(get, path = "/api/v1/templates", tag = "duties", responses((status = 200, body = Templates)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Templates> {
    let templates =
        state.templates.list().into_iter().filter(|t| t.visible(&caller.scope)).map(|t| (*t).clone()).collect();
    Json(Templates { templates })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// A version other than the latest.
    pub version: Option<u32>,
}

/// One report template, its latest version or the one asked for.
#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "duties",
    params(("id" = String, Path, description = "the template's id"), VersionParam),
    responses((status = 200, body = Template)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<VersionParam>,
) -> Result<Json<Template>, ApiError> {
    visible(&state, &caller, &id, q.version).map(Json)
}

/// The body of `PUT /api/v1/templates/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TemplateChange {
    #[serde(flatten)]
    pub definition: duties::Definition,
    /// Why it changed, kept with this version (at most 1,000 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// Define a report template, or change one: a new version.
///
/// A national admin may define any template; a regional admin only one
/// whose filers all lie within the admin's regions (before and after the
/// change). Each change makes a new version; filings record the version
/// they used, and a filing may name any version. Sending the same
/// definition as the latest version changes nothing. Each wrong part is
/// refused with 422 naming it (`fields[2].options`).
#[utoipa::path(put, path = "/api/v1/templates/{id}", tag = "duties",
    params(("id" = String, Path, description = "1 to 64 lowercase letters, digits and `-`")),
    request_body = TemplateChange,
    responses((status = 200, body = Template, description = "the version now in force")))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    source: Source,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Template>, ApiError> {
    duties::template::check_id(&id)?;
    let before = state.templates.current(&id);
    if let Some(b) = &before {
        if !b.visible(&caller.scope) {
            return Err(ApiError::not_found(&format!("template {id}")));
        }
        if !caller.scope.covers_all(&b.owner_regions()) {
            return Err(ApiError::forbidden("admin of every region this template's filers lie in"));
        }
    }
    let indicators = state.api()?.rules.classifier().rules().indicators();
    let change = duties::template::parse_change(body, &indicators)?;
    let owners = change.definition.filers.owner_regions();
    crate::stages::check_unit_filers(&state, &caller, &change.definition.filers.units, &owners)?;
    if !caller.scope.covers_all(&owners) {
        return Err(ApiError::forbidden(
            "admin of every region the filers lie in (a national admin for a national template)",
        ));
    }
    if let Some(b) = &before
        && b.definition == change.definition
    {
        return Ok(Json((**b).clone()));
    }
    let template = Template {
        id: id.clone(),
        version: before.as_ref().map_or(1, |b| b.version + 1),
        definition: change.definition,
        author: caller.name.clone(),
        note: change.note,
        changed_at: state.clock.now(),
    };
    state.bus.publish(Topic::Templates, &TemplateBook::key(&template), &wire::encode(&template)).await?;
    state.templates.insert(template.clone());
    let entry = Entry::new(&caller.name, "template.put", &id, &owners, &source)
        .after(serde_json::to_value(&template).map_err(ApiError::internal)?);
    let entry = match &before {
        Some(b) => entry.before(serde_json::to_value(&**b).map_err(ApiError::internal)?),
        None => entry,
    };
    audit::record(&state, entry).await;
    Ok(Json(template))
}

/// A filing, as a filer sends it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFiling {
    /// `2026-11-30` (daily), `2026-W48` (weekly), `2026-11` (monthly) or a stage id.
    #[schema(example = "2026-11-30")]
    pub period: String,
    /// The region it is for; the account's own when it has just one.
    #[serde(default)]
    #[schema(example = "72.71")]
    pub region: Option<String>,
    /// The unit it is for, when the template's filers are units; `region`
    /// is then where it is filed from, one of the unit's regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "kesbangpol-palu")]
    pub unit: Option<String>,
    /// The template version the form was made from; the latest when absent.
    #[serde(default)]
    pub version: Option<u32>,
    /// The answers, by field id.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: Map<String, Value>,
    /// When the filer made it (an offline form keeps it); now when absent.
    /// Whether it was on time is judged by this.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reported_at: Option<OffsetDateTime>,
}

/// A filing taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingAccepted {
    /// The id of the report the filing became.
    pub id: String,
    pub receipt: String,
    /// A retry of a filing already taken: `id` is the first one's.
    pub duplicate: bool,
    pub version: u32,
    pub period: String,
    pub region: RegionCode,
    /// The filer's deadline for the period, in its own zone.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    pub on_time: bool,
}

/// File a template for a period and a region; 202 once it is durable.
///
/// The values are checked against the template version named (the latest
/// when none); a problem is refused with 422 naming it (`values.upaya`).
/// The region must lie within the caller's regions and be one of the
/// template's filers. The filing becomes a report whose text is the
/// filer's own words (incidents by ATHG category, text answers), so it is
/// classified, searchable and counted for alerts like any other; the report
/// carries the template, version, period, region and values in `filing`.
/// A repeat with the same `Idempotency-Key` and body gets the first id back.
/// Files for attachment fields come in a multipart request: the filing as a
/// `filing` part holding the JSON, and each file as a part named after its
/// field; they are stored with the report, and the field's value records
/// the file's name, type, size and SHA-256.
#[utoipa::path(post, path = "/api/v1/templates/{id}/filings", tag = "duties",
    params(("id" = String, Path, description = "the template's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "the same key and body again is a retry")),
    request_body(
        content((NewFiling = "application/json"), (Object = "multipart/form-data")),
        description = "JSON, or multipart: a `filing` part holding the JSON and files as parts named after their \
                       attachment fields"
    ),
    responses(
        (status = 202, body = FilingAccepted, description = "durable; classified soon"),
        (status = 503, body = ErrorBody, description = "the filing could not be stored right now; nothing was kept"),
    ))]
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    req: Request,
) -> Result<(StatusCode, Json<FilingAccepted>), ApiError> {
    let intake = state.ingest()?.intake.clone();
    intake.check_account(&caller.name)?;
    let headers = req.headers().clone();
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (new, files) = if multipart {
        let form = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.body_text()))?;
        read_multipart(form, intake.config()).await?
    } else {
        let ApiJson(new) = ApiJson::<NewFiling>::from_request(req, &state).await?;
        (new, Vec::new())
    };
    let template = visible(&state, &caller, &id, new.version)?;
    let now = state.clock.now();
    let region = filer_region(&caller, new.region.as_deref())?;
    let unit = new.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if let Some(unit) = unit {
        crate::stages::check_unit_filing(&state, &template, unit, &region)?;
    } else if !template.definition.filers.expects(&region) {
        return Err(ApiError::invalid(
            "region",
            format!(
                "{region} is not one of the filers of template {} version {}{}",
                template.id,
                template.version,
                if template.definition.filers.units.is_empty() { "" } else { "; to file for a unit, give `unit`" }
            ),
        ));
    }
    let schedule = &template.definition.schedule;
    let period = Period::parse(schedule, new.period.trim()).map_err(|m| ApiError::invalid("period", m))?;
    let begins = period.begins(&region);
    if begins.is_some_and(|b| now < b) {
        return Err(ApiError::invalid("period", format!("{period} has not begun yet in {region}")));
    }
    let reported_at = new.reported_at.unwrap_or(now);
    if reported_at > now + AHEAD || reported_at < ingest::EARLIEST || begins.is_some_and(|b| reported_at < b) {
        return Err(ApiError::invalid(
            "reported_at",
            format!("give a time between the start of {period} and now (at most 5 minutes ahead)"),
        ));
    }
    let sent: Vec<&str> = files.iter().map(|(field, _, _)| field.as_str()).collect();
    let mut values = duties::filing::check(&template, &region, &new.values, &sent)?;
    duties::stages::check_filing(&template, &period.to_string(), &values)?;
    crate::stages::check_files(&template, &files)?;
    let text = duties::filing::render(&template, &values);
    let max = intake.config().max_text_chars;
    if text.chars().count() > max {
        return Err(ApiError::invalid("values", format!("the answers together are longer than {max} characters")));
    }
    let header = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::trim).filter(|h| !h.is_empty());
    if header.is_some_and(|h| h.chars().count() > ingest::submission::MAX_ID_CHARS) {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("is longer than {} characters", ingest::submission::MAX_ID_CHARS),
        ));
    }
    let body = serde_json::to_vec(&new).map_err(ApiError::internal)?;
    let key = header.map(|h| {
        let mut content = vec![body.as_slice()];
        for (field, name, bytes) in &files {
            content.extend([field.as_bytes(), name.as_bytes(), bytes.as_slice()]);
        }
        ingest::Idempotency::of(format!("filing/{}/{id}/{h}", caller.name), &content)
    });
    let mut attachments = Vec::with_capacity(files.len());
    for (field, name, bytes) in files {
        let saved = intake.attachments().save(&name, bytes).await?;
        values.insert(
            field,
            json!({"name": saved.name, "content_type": saved.content_type, "size": saved.size, "sha256": saved.sha256}),
        );
        attachments.push(saved);
    }
    let report = Report {
        attachments,
        region: Some(region.clone()),
        reported_at,
        reporter: Some(Reporter { account: Some(caller.name.clone()), ..Reporter::default() }),
        filing: Some(Filing {
            template: template.id.clone(),
            version: template.version,
            period: period.to_string(),
            region: region.clone(),
            unit: unit.map(str::to_owned),
            values,
        }),
        ..Report::new(Channel::App, format!("template/{}", template.id), text, intake.now())
    };
    let accepted = intake.accept_once(key, report.clone()).await?;
    if accepted.changed {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!(
                "this Idempotency-Key was already used for a different filing ({}): send a new key for a new \
                 filing, or the same body to retry",
                accepted.id
            ),
        ));
    }
    if !accepted.replayed
        && let Some(api) = &state.api
    {
        // seen at once on this node; the classified record adds its indicators
        api.filings.record(&report, None);
    }
    let deadline = period.deadline(schedule, &region);
    Ok((
        StatusCode::ACCEPTED,
        Json(FilingAccepted {
            id: accepted.id.to_string(),
            receipt: ingest::receipt(accepted.id),
            duplicate: accepted.replayed,
            version: template.version,
            period: period.to_string(),
            region,
            deadline,
            on_time: deadline.is_none_or(|d| reported_at <= d),
        }),
    ))
}

/// A multipart filing: the `filing` part holding the JSON, and files as
/// parts named after their attachment fields: (field, file name, bytes).
async fn read_multipart(
    mut form: Multipart,
    limits: &ingest::IngestConfig,
) -> Result<(NewFiling, Vec<(String, String, Vec<u8>)>), ApiError> {
    let bad = crate::reports::multipart_error;
    let mut filing: Option<NewFiling> = None;
    let mut files = Vec::new();
    while let Some(part) = form.next_field().await.map_err(bad)? {
        let field = part.name().unwrap_or_default().to_owned();
        match part.file_name().map(str::to_owned) {
            Some(file_name) => {
                if files.iter().any(|(f, _, _)| *f == field) {
                    return Err(ApiError::invalid(
                        &format!("files.{}", ingest::quote(&field)),
                        "send one file per attachment field",
                    ));
                }
                let bytes = crate::reports::read_file(part, &file_name, files.len(), "filing", limits).await?;
                files.push((field, file_name, bytes));
            }
            None if field == "filing" => {
                let text = part.text().await.map_err(bad)?;
                filing = Some(serde_json::from_str(&text).map_err(|e| ApiError::invalid("filing", e))?);
            }
            None => {
                return Err(ApiError::invalid(
                    &ingest::quote(&field),
                    "send the filing as a `filing` part holding the JSON, and files as parts with a file name",
                ));
            }
        }
    }
    let filing =
        filing.ok_or_else(|| ApiError::invalid("filing", "missing: send the filing's JSON as a `filing` part"))?;
    Ok((filing, files))
}

/// The region a filing is for: the one given, within the caller's regions,
/// or the caller's only region.
fn filer_region(caller: &Caller, given: Option<&str>) -> Result<RegionCode, ApiError> {
    let region = match given.map(str::trim).filter(|r| !r.is_empty()) {
        Some(code) => RegionCode::parse(code).map_err(|e| ApiError::invalid("region", e))?,
        None => match &caller.scope {
            Scope::Regions(own) if own.len() == 1 => own[0].clone(),
            _ => return Err(ApiError::invalid("region", "missing: give the region this filing is for")),
        },
    };
    if !caller.scope.covers(Some(&region)) {
        return Err(ApiError::invalid(
            "region",
            format!("{region} is outside the regions of this account: file only for them"),
        ));
    }
    Ok(region)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodParams {
    /// The period, like `2026-11-30`, `2026-W48`, `2026-11` or a stage id.
    pub period: String,
    /// Only filers within this region (and the caller's).
    #[serde(default)]
    pub region: Option<String>,
}

/// The filers of `template` the caller may see within `region`: a region
/// outside the caller's scope is 404, one enclosing it is narrowed to it.
pub(crate) fn filers_in(
    template: &Template,
    caller: &Caller,
    region: Option<&str>,
) -> Result<Vec<RegionCode>, ApiError> {
    let within = region_param(caller, region)?;
    Ok(template
        .definition
        .filers
        .expected()
        .into_iter()
        .filter(|f| caller.scope.covers(Some(f)) && within.as_ref().is_none_or(|w| f.is_within(w)))
        .collect())
}

/// The `region` of a query: none when empty, 400 when not a code, 404
/// when outside the caller's regions (one enclosing them is fine).
pub(crate) fn region_param(caller: &Caller, region: Option<&str>) -> Result<Option<RegionCode>, ApiError> {
    let Some(code) = region.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    let r = RegionCode::parse(code)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", format!("region: {e}")))?;
    if !caller.scope.touches(&r) {
        return Err(ApiError::not_found(&format!("region {r}")));
    }
    Ok(Some(r))
}

fn period_of(template: &Template, text: &str) -> Result<Period, ApiError> {
    Period::parse(&template.definition.schedule, text.trim())
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", format!("period: {m}")))
}

/// The filings view has read the log to its end; until then, 503.
pub(crate) fn loaded(state: &AppState) -> Result<&duties::FilingBook, ApiError> {
    let book = &state.api()?.filings;
    if book.loaded() {
        Ok(book)
    } else {
        Err(ApiError::unavailable("the filings are still being read from the log; try again shortly"))
    }
}

/// One region's filings for a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionFilings {
    pub region: RegionCode,
    pub name: &'static str,
    /// Oldest first; the last is the one in force.
    pub filings: Vec<FilingEntry>,
}

/// The filings of a template for a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Filings {
    pub template: String,
    pub period: String,
    /// Only the filers that filed, by region code.
    pub regions: Vec<RegionFilings>,
}

/// The filings made for a period, within the caller's regions.
///
/// Each filer's filings, by region; `region=72` narrows to what lies in
/// Sulawesi Tengah, so a province sees what its regencies filed. The
/// values are in each report (`GET /api/v1/reports/{id}`).
#[utoipa::path(get, path = "/api/v1/templates/{id}/filings", tag = "duties",
    params(("id" = String, Path, description = "the template's id"), PeriodParams),
    responses((status = 200, body = Filings), (status = 503, body = ErrorBody, description = "the filings are still being loaded")))]
pub async fn filings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PeriodParams>,
) -> Result<Json<Filings>, ApiError> {
    let template = visible(&state, &caller, &id, None)?;
    let period = period_of(&template, &q.period)?;
    let filers = filers_in(&template, &caller, q.region.as_deref())?;
    let mut filed = loaded(&state)?.filings(&template.id, &period.to_string());
    let regions = filers
        .into_iter()
        .filter_map(|r| {
            let mut filings = filed.remove(&r)?;
            filings.sort_by_key(|f| (f.received_at, f.report));
            if !caller.sees_reporters() {
                filings.iter_mut().for_each(|f| f.account = None);
            }
            Some(RegionFilings { name: r.name(), region: r, filings })
        })
        .collect();
    Ok(Json(Filings { template: template.id, period: period.to_string(), regions }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DraftParams {
    pub period: String,
    /// The region to draft for: a province drafts from its regencies.
    pub region: String,
}

/// A draft filing, for a region from its children's filings.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FilingDraft)]
pub struct Draft {
    pub template: String,
    pub version: u32,
    pub period: String,
    pub region: RegionCode,
    /// Ready to edit and send as the region's own filing.
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, Value>,
    /// The children's filings it was made from (report ids).
    pub from: Vec<String>,
    /// Children that must file and have not yet.
    pub missing: Vec<RegionCode>,
}

/// A pre-filled draft of a region's filing from its children's filings.
///
/// For a province, from its regencies' latest filings for the period:
/// incidents and text answers gathered with each regency's name, numbers
/// summed, a choice kept when all agree. Edit it and send it with `POST
/// .../filings` as the province's own.
#[utoipa::path(get, path = "/api/v1/templates/{id}/draft", tag = "duties",
    params(("id" = String, Path, description = "the template's id"), DraftParams),
    responses((status = 200, body = Draft), (status = 503, body = ErrorBody, description = "the filings are still being loaded")))]
pub async fn draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DraftParams>,
) -> Result<Json<Draft>, ApiError> {
    let template = visible(&state, &caller, &id, None)?;
    let period = period_of(&template, &q.period)?;
    let region = filer_region(&caller, Some(&q.region))?;
    let children: Vec<RegionCode> = filers_in(&template, &caller, Some(region.as_str()))?
        .into_iter()
        .filter(|c| c.parent().as_ref() == Some(&region))
        .collect();
    let filed = loaded(&state)?.filings(&template.id, &period.to_string());
    let index = state.api()?.index.clone();
    let mut latest = Vec::new();
    let mut missing = Vec::new();
    for child in children {
        match filed.get(&child).and_then(|f| f.iter().max_by_key(|e| (e.received_at, e.report))) {
            Some(e) => latest.push((child, e.report.to_string())),
            None => missing.push(child),
        }
    }
    let scope = caller.scope.clone();
    let ids: Vec<String> = latest.iter().map(|(_, id)| id.clone()).collect();
    let found =
        tokio::task::spawn_blocking(move || ids.iter().map(|id| index.get(id, &scope)).collect::<Result<Vec<_>, _>>())
            .await
            .map_err(ApiError::internal)??;
    let mut sources = Vec::new();
    let mut from = Vec::new();
    for ((child, id), report) in latest.into_iter().zip(found) {
        // not archived yet: left out, and said so in `from`
        if let Some(values) = report.and_then(|r| r.report.filing).map(|f| f.values) {
            sources.push((child, values));
            from.push(id);
        }
    }
    Ok(Json(Draft {
        values: duties::filing::draft(&template, &sources),
        template: template.id,
        version: template.version,
        period: period.to_string(),
        region,
        from,
        missing,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceParams {
    pub template: String,
    pub period: String,
    /// Only filers within this region (and the caller's).
    #[serde(default)]
    pub region: Option<String>,
}

/// Who filed a template for a period: filed, filed late, not filed.
///
/// For every expected filer within the caller's regions (and `region`):
/// its deadline in its own zone (WIB, WITA, WIT), its status, when it filed
/// and its latest filing; then the counts and rates (expected, filed, on
/// time) for the filers of each level under every region above them and
/// nationally. On time is judged by the first filing's `reported_at`.
#[utoipa::path(get, path = "/api/v1/compliance", tag = "duties", params(ComplianceParams),
    responses((status = 200, body = Compliance), (status = 503, body = ErrorBody, description = "the filings are still being loaded")))]
pub async fn compliance(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ComplianceParams>,
) -> Result<Json<Compliance>, ApiError> {
    let template = visible(&state, &caller, q.template.trim(), None)?;
    let period = period_of(&template, &q.period)?;
    let filers = filers_in(&template, &caller, q.region.as_deref())?;
    let filed = loaded(&state)?.filings(&template.id, &period.to_string());
    let mut c = duties::compliance::compliance(&template, &period, &filers, &filed, state.clock.now());
    c.units = crate::stages::unit_rows(&state, &caller, &template, &period, q.region.as_deref())?;
    Ok(Json(c))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Schemas are named by their Rust type's name, and the document keeps
    /// one schema per name: two types of one name (this module's compliance
    /// `Row` and the statistics' `Row` once) would silently describe one
    /// endpoint with the other's fields. So every name stands for one schema.
    #[test]
    fn no_two_types_share_a_schema_name() {
        let mut seen: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for endpoint in crate::routes::endpoints() {
            let (schemas, _, _) = endpoint.route;
            for (name, schema) in schemas {
                let schema = serde_json::to_value(&schema).unwrap();
                if let Some(before) = seen.insert(name.clone(), schema.clone()) {
                    assert_eq!(before, schema, "two types are named `{name}` in the OpenAPI document");
                }
            }
        }
    }
}
