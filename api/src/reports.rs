//! `POST /api/v1/reports` and `GET /api/v1/reports/{id}`.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use model::{ClassifiedReport, Reporter, Role, Scope};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ErrorBody};

/// A report taken.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub id: String,
    /// The short number to give the reporter.
    pub receipt: String,
    /// This is a retry of a report already taken: `id` is the first one's.
    pub duplicate: bool,
}

/// Submit a report, as JSON or multipart with attachments; 202 only once it is durable.
///
/// Multipart: the report as a `report` part holding JSON (or as plain
/// fields `text`, `title`, `region`, …), and files as parts with a file
/// name. Answers 202 only once the report (and its files) are durable. A repeat by the same
/// account with the same `Idempotency-Key` (or the same channel and
/// `external_id`) and the same body gets the first report's id back, with
/// `"duplicate": true`; the key with another body is refused (422). The
/// report's region must lie within the caller's regions.
#[utoipa::path(post, path = "/api/v1/reports", tag = "reports",
    params(("Idempotency-Key" = Option<String>, Header, description = "the same key and body again is a retry")),
    request_body(
        content((ingest::Submission = "application/json"), (Object = "multipart/form-data")),
        description = "JSON, or multipart: a `report` part holding the JSON (or its fields as parts of their own) and \
                       files as parts with a file name"
    ),
    responses(
        (status = 202, body = Accepted, description = "durable; classified soon"),
        (status = 503, body = ErrorBody, description = "the report could not be stored right now; nothing was kept"),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let intake = state.ingest()?.intake.clone();
    intake.check_account(&caller.name)?;
    let headers: HeaderMap = req.headers().clone();
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (submission, files) = if multipart {
        let form = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.body_text()))?;
        read_multipart(form, intake.config()).await?
    } else {
        let ApiJson(submission) = ApiJson::<ingest::Submission>::from_request(req, &state).await?;
        (submission, Vec::new())
    };
    let header = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let key = submission.idempotency(&caller.name, header, &files)?;
    let reporter = Reporter { account: Some(caller.name.clone()), ..Reporter::default() };
    // The channels the server verifies (SMS, chat bots, feeds) cannot be
    // claimed through the API, except by a national admin importing another
    // system's archive, which keeps its channels.
    let mut submission = submission;
    let imported = submission.channel.filter(|_| caller.role == Role::Admin && caller.scope == Scope::All);
    if imported.is_some() {
        submission.channel = None;
    }
    let mut report = submission.into_report(Some(reporter), intake.now(), intake.config().max_text_chars)?;
    if let Some(channel) = imported {
        report.channel = channel;
    }
    ingest::within_scope(&mut report, &caller.scope)?;
    if report.region.is_none() && caller.scope != Scope::All {
        return Err(ApiError::invalid(
            "region",
            "missing: this account covers several regions; give the one the report is about",
        ));
    }
    for (name, bytes) in files {
        report.attachments.push(intake.attachments().save(&name, bytes).await?);
    }
    let accepted = intake.accept_once(key, report).await?;
    if accepted.changed {
        let reused = if header.is_some() { "this Idempotency-Key" } else { "this external_id" };
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!(
                "{reused} was already used for a different report ({}): send a new key for a new report, or \
                 the same body to retry",
                accepted.id
            ),
        ));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: accepted.id.to_string(),
            receipt: ingest::receipt(accepted.id),
            duplicate: accepted.replayed,
        }),
    ))
}

/// A multipart report: the report as a `report` part holding JSON (or as
/// plain fields `text`, `title`, `region`, …), and files as parts with a
/// file name.
async fn read_multipart(
    mut form: Multipart,
    limits: &ingest::IngestConfig,
) -> Result<(ingest::Submission, Vec<(String, Vec<u8>)>), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "malformed" };
        ApiError::new(status, code, e.body_text())
    };
    let mut fields = serde_json::Map::new();
    let mut report_json: Option<String> = None;
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            if files.len() >= limits.max_files {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!("at most {} files per report", limits.max_files),
                ));
            }
            let bytes = field.bytes().await.map_err(bad)?;
            if bytes.len() as u64 > limits.max_file_size.as_u64() {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    format!(
                        "file `{}` is larger than {} (ingest.max_file_size)",
                        ingest::quote(&file_name),
                        limits.max_file_size
                    ),
                ));
            }
            files.push((file_name, bytes.to_vec()));
        } else {
            let text = field.text().await.map_err(bad)?;
            if name == "report" {
                report_json = Some(text);
            } else {
                fields.insert(name, Value::String(text));
            }
        }
    }
    let submission = match report_json {
        Some(j) => serde_json::from_str(&j).map_err(|e| ApiError::invalid("report", e))?,
        None => serde_json::from_value(Value::Object(fields)).map_err(|e| ApiError::invalid("form", e))?,
    };
    Ok((submission, files))
}

/// A report with its classification (reporters: only their own).
///
/// Once classified. Reporters see only
/// their own reports; everyone else sees what lies in their regions. The
/// reporter's identity is shown only to admins and operators.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "the report's id")),
    responses((status = 200, body = ClassifiedReport)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClassifiedReport>, ApiError> {
    let index = state.api()?.index.clone();
    let id: model::ReportId = id.parse().map_err(|_| ApiError::not_found("report"))?;
    let scope = if caller.role == Role::Reporter { Scope::All } else { caller.scope.clone() };
    let found =
        tokio::task::spawn_blocking(move || index.get(&id.to_string(), &scope)).await.map_err(ApiError::internal)??;
    let own = |r: &model::ClassifiedReport| {
        r.report.reporter.as_ref().and_then(|p| p.account.as_deref()) == Some(caller.name.as_str())
    };
    let mut item = found
        .filter(|r| caller.role != Role::Reporter || own(r))
        .ok_or_else(|| ApiError::not_found("report (it may not be classified yet)"))?;
    if !caller.sees_reporters() {
        item.report.reporter = None;
    }
    Ok(Json(item))
}
