//! `POST /api/v1/reports`, `GET /api/v1/reports`, `GET /api/v1/reports/{id}`
//! and its attachments.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::{AlertState, ClassifiedReport, Reporter, Role, Scope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};

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
        )
        .pesan("region: kosong: akun ini mencakup beberapa wilayah; pilih wilayah tempat kejadian"));
    }
    for (name, bytes) in files {
        report.attachments.push(intake.attachments().save(&name, bytes).await?);
    }
    let accepted = intake.accept_once(key, report).await?;
    if accepted.changed {
        let reused = if header.is_some() { "this Idempotency-Key" } else { "this external_id" };
        let dipakai = if header.is_some() { "Idempotency-Key ini" } else { "external_id ini" };
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!(
                "{reused} was already used for a different report ({}): send a new key for a new report, or \
                 the same body to retry",
                accepted.id
            ),
        )
        .pesan(format!(
            "{dipakai} sudah dipakai untuk laporan lain ({}): kirim kunci baru untuk laporan baru, atau isi yang \
             sama untuk mengulang",
            accepted.id
        )));
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

/// A multipart body the API cannot read: too large (413) or malformed (400).
pub(crate) fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "malformed" };
    ApiError::new(status, code, e.body_text())
}

/// `what` (a report, a filing) in Indonesian.
fn in_indonesian(what: &str) -> &str {
    match what {
        "report" => "laporan",
        "filing" => "laporan berkala",
        other => other,
    }
}

/// The bytes of the `count`-th file part of a `what` (a report, a filing),
/// within the intake's limits on the number and size of files.
pub(crate) async fn read_file(
    part: axum::extract::multipart::Field<'_>,
    file_name: &str,
    count: usize,
    what: &str,
    limits: &ingest::IngestConfig,
) -> Result<Vec<u8>, ApiError> {
    if count >= limits.max_files {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("at most {} files per {what}", limits.max_files),
        )
        .pesan(format!("paling banyak {} berkas untuk setiap {}", limits.max_files, in_indonesian(what))));
    }
    let bytes = part.bytes().await.map_err(multipart_error)?;
    if bytes.len() as u64 > limits.max_file_size.as_u64() {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "file `{}` is larger than {} (ingest.max_file_size)",
                ingest::quote(file_name),
                limits.max_file_size
            ),
        )
        .pesan(format!(
            "berkas `{}` lebih besar dari {} (batas ingest.max_file_size): kecilkan atau kirim tanpa berkas itu",
            ingest::quote(file_name),
            limits.max_file_size
        )));
    }
    Ok(bytes.to_vec())
}

/// A multipart report: the report as a `report` part holding JSON (or as
/// plain fields `text`, `title`, `region`, …), and files as parts with a
/// file name.
async fn read_multipart(
    mut form: Multipart,
    limits: &ingest::IngestConfig,
) -> Result<(ingest::Submission, Vec<(String, Vec<u8>)>), ApiError> {
    let bad = multipart_error;
    let mut fields = serde_json::Map::new();
    let mut report_json: Option<String> = None;
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            let bytes = read_file(field, &file_name, files.len(), "report", limits).await?;
            files.push((file_name, bytes));
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
    visible(&state, &caller, &id).await.map(Json)
}

/// The report `id` as `caller` may see it: a reporter only their own,
/// everyone else within their regions, and the reporter's identity only to
/// those who [see reporters](accounts::Caller::sees_reporters); else 404.
pub(crate) async fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<ClassifiedReport, ApiError> {
    let index = state.api()?.index.clone();
    let id: model::ReportId = id.parse().map_err(|_| ApiError::not_found("report"))?;
    let scope = if caller.role == Role::Reporter { Scope::All } else { caller.scope.clone() };
    let found =
        tokio::task::spawn_blocking(move || index.get(&id.to_string(), &scope)).await.map_err(ApiError::internal)??;
    let mut item = found
        .filter(|r| caller.role != Role::Reporter || own(caller, r))
        .ok_or_else(|| ApiError::not_found("report (it may not be classified yet)"))?;
    if !caller.sees_reporters() {
        item.report.reporter = None;
    }
    Ok(item)
}

fn own(caller: &Caller, r: &ClassifiedReport) -> bool {
    r.report.reporter.as_ref().and_then(|p| p.account.as_deref()) == Some(caller.name.as_str())
}

/// Most ids one `GET /api/v1/reports?ids=` takes.
const MAX_IDS: usize = 100;
/// Deepest page of `GET /api/v1/reports`.
const MAX_OFFSET: usize = 10_000;
/// The text of a listed report is cut here.
const LISTED_TEXT_CHARS: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// Only these reports: ids separated by commas, at most 100 (the `reports` of an alert).
    pub ids: Option<String>,
    /// Default 50, at most 200.
    pub limit: Option<usize>,
    /// Skip this many (at most 10,000).
    pub offset: Option<usize>,
}

/// A page of reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    /// All the reports that match, not only this page.
    pub total: usize,
    /// Newest received first.
    pub reports: Vec<ListedReport>,
    /// The name of each region code in `reports`.
    pub names: BTreeMap<String, String>,
}

/// A report as listed: enough to show it in a list and open its files.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedReport {
    pub id: model::ReportId,
    /// The short number the reporter was given.
    pub receipt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The text, cut at 1,000 characters (then `truncated` is true, and
    /// `GET /api/v1/reports/{id}` has all of it).
    pub text: String,
    pub truncated: bool,
    /// The region the report was sent for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<model::RegionCode>,
    /// The regions the classifier found in it.
    pub regions: Vec<model::RegionCode>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When it happened, as the reporter said.
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
    pub channel: model::Channel,
    /// The indicators found, with their scores.
    pub indicators: Vec<FoundIndicator>,
    pub attachments: Vec<ListedAttachment>,
    /// Who sent it: shown to admins and operators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    /// For a reporter's own reports: what became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ReportStatus>,
}

/// An indicator found in a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct FoundIndicator {
    pub id: String,
    pub score: f64,
}

/// A file of a report, and where to fetch it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedAttachment {
    /// Its place in the report, from 0.
    pub n: usize,
    pub name: String,
    /// Found by reading the file, not as the sender named it.
    pub content_type: String,
    pub size: u64,
    /// `GET` this for the file.
    pub url: String,
}

/// What became of a reporter's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Read and filed; no alert (yet).
    Received,
    /// It counts towards an alert nobody has taken on yet.
    Alerted,
    /// Someone took the alert on.
    Acknowledged,
    /// The alert is being followed up (tindak lanjut).
    InProgress,
    /// The alert is resolved.
    Resolved,
}

impl From<Option<AlertState>> for ReportStatus {
    fn from(alert: Option<AlertState>) -> Self {
        match alert {
            None => ReportStatus::Received,
            Some(AlertState::Open) => ReportStatus::Alerted,
            Some(AlertState::Acknowledged) => ReportStatus::Acknowledged,
            Some(AlertState::InProgress) => ReportStatus::InProgress,
            Some(AlertState::Resolved) => ReportStatus::Resolved,
        }
    }
}

fn bad_query(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message)
}

/// `ids=a,b,c` as report ids.
fn parse_ids(ids: &str) -> Result<Vec<model::ReportId>, ApiError> {
    let ids: Vec<&str> = ids.split(',').map(str::trim).filter(|i| !i.is_empty()).collect();
    if ids.is_empty() {
        return Err(bad_query("ids: give report ids separated by commas, or leave ids out"));
    }
    if ids.len() > MAX_IDS {
        return Err(bad_query(format!("ids: {} ids; at most {MAX_IDS} at a time", ids.len())));
    }
    ids.iter()
        .map(|i| i.parse().map_err(|_| bad_query(format!("ids: `{}` is not a report id", ingest::quote(i)))))
        .collect()
}

/// Reports: a reporter's own, or those within your regions; newest first.
///
/// Reporters get the reports they sent, each with what became of it
/// (`status`); everyone else the reports within their regions. `ids` picks
/// given reports, such as an alert's `reports`, in one call. Only reports
/// already classified are listed. The reporter's identity is shown only to
/// admins and operators.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportsQuery),
    responses((status = 200, body = ReportList)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ReportsQuery>,
) -> Result<Json<ReportList>, ApiError> {
    let api = state.api()?;
    let ids = q.ids.as_deref().map(parse_ids).transpose()?;
    let offset = q.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(bad_query(format!("offset: at most {MAX_OFFSET}; narrow the list with ids instead")));
    }
    let reporter = caller.role == Role::Reporter;
    let (scope, account) =
        if reporter { (Scope::All, Some(caller.name.clone())) } else { (caller.scope.clone(), None) };
    let query = archive::search::ReportsQuery { account, ids, limit: q.limit.unwrap_or(50).clamp(1, 200), offset };
    let index = api.index.clone();
    let (total, found) =
        tokio::task::spawn_blocking(move || index.reports(&query, &scope)).await.map_err(ApiError::internal)??;
    let mut names = BTreeMap::new();
    let reports = found
        .into_iter()
        .map(|item| {
            let (report, classification) = (item.report, item.classification);
            for region in report.region.iter().chain(&classification.regions) {
                names.insert(region.to_string(), region.name().to_owned());
            }
            let text: String = report.text.chars().take(LISTED_TEXT_CHARS).collect();
            let id = report.id;
            ListedReport {
                receipt: ingest::receipt(id),
                title: report.title,
                truncated: text.len() < report.text.len(),
                text,
                region: report.region,
                regions: classification.regions,
                received_at: report.received_at,
                reported_at: report.reported_at,
                channel: report.channel,
                indicators: classification
                    .indicators
                    .iter()
                    .map(|i| FoundIndicator { id: i.id.to_string(), score: i.score })
                    .collect(),
                attachments: report
                    .attachments
                    .into_iter()
                    .enumerate()
                    .map(|(n, a)| ListedAttachment {
                        n,
                        url: format!("/api/v1/reports/{id}/attachments/{n}"),
                        name: a.name,
                        content_type: a.content_type,
                        size: a.size,
                    })
                    .collect(),
                reporter: report.reporter.filter(|_| caller.sees_reporters()),
                status: reporter.then(|| api.alerts.state_of_report(id).into()),
                id,
            }
        })
        .collect();
    Ok(Json(ReportList { total, reports, names }))
}

/// A file's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// A file attached to a report, as it was sent.
///
/// With the content type found when it was taken in; photos and PDF open in
/// the browser, other files download. Who may fetch it is who may read the
/// report: a reporter their own, everyone else within their regions.
#[utoipa::path(get, path = "/api/v1/reports/{id}/attachments/{n}", tag = "reports",
    params(
        ("id" = String, Path, description = "the report's id"),
        ("n" = String, Path, description = "the file's place in the report's `attachments`, from 0"),
    ),
    responses(
        (status = 200, description = "the file, with its own Content-Type", body = FileBytes,
         content_type = "application/octet-stream"),
        (status = 503, body = ErrorBody, description = "the attachment store cannot be read right now"),
    ))]
pub async fn attachment(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let item = visible(&state, &caller, &id).await?;
    let not_found = || ApiError::not_found(&format!("attachment {} of report `{id}`", ingest::quote(&n)));
    let file = n.parse::<usize>().ok().and_then(|n| item.report.attachments.get(n)).ok_or_else(not_found)?;
    let chunks = match state.api()?.attachments.open(&file.sha256).await {
        Ok(Some(chunks)) => chunks,
        Ok(None) => {
            // on a node of its own without [attachments.s3], the files are on the ingest node
            tracing::warn!(report = %id, sha256 = %file.sha256, "the attachment store of this node does not have this file");
            return Err(not_found());
        }
        Err(e) => {
            tracing::error!(report = %id, error = %e, "cannot read an attachment");
            return Err(ApiError::unavailable("the attachment store cannot be read right now; try again later"));
        }
    };
    let shown = file.content_type.starts_with("image/") || file.content_type == "application/pdf";
    let disposition = content_disposition(if shown { "inline" } else { "attachment" }, &file.name);
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_str(&file.content_type).map_err(ApiError::internal)?),
        (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(ApiError::internal)?),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        // an informant's photo must not outlive the session in a shared browser
        (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
    ];
    Ok((headers, Body::from_stream(chunks)).into_response())
}

/// A `Content-Disposition` value naming `name` safely: printable ASCII
/// without quotes, slashes or backslashes as `filename`, and the name as
/// sent, percent-encoded, as `filename*` (RFC 6266).
fn content_disposition(kind: &str, name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '/' | '%' | ';')) || c == ' ' { c } else { '_' })
        .collect();
    let plain = if plain.trim().is_empty() { "lampiran".to_owned() } else { plain };
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_in_the_header() {
        assert_eq!(
            content_disposition("inline", "foto bentrok.jpg"),
            "inline; filename=\"foto bentrok.jpg\"; filename*=UTF-8''foto%20bentrok.jpg"
        );
        let hostile = content_disposition("attachment", "a\";b=c\\..%2F\u{202e}gpj.exe");
        assert_eq!(
            hostile,
            "attachment; filename=\"a__b=c_.._2F_gpj.exe\"; filename*=UTF-8''a%22%3Bb%3Dc%5C..%252F%E2%80%AEgpj.exe"
        );
        assert!(HeaderValue::from_str(&hostile).is_ok());
        assert_eq!(content_disposition("attachment", "\u{1}"), "attachment; filename=\"_\"; filename*=UTF-8''%01");
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(parse_ids(" 01939b6e-0000-7000-8000-000000000000 ,").unwrap().len(), 1);
        for bad in ["", ",", "x", "01939b6e-0000-7000-8000-000000000000,../etc"] {
            assert_eq!(parse_ids(bad).unwrap_err().status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let many = vec!["01939b6e-0000-7000-8000-000000000000"; MAX_IDS + 1].join(",");
        assert!(parse_ids(&many).is_err());
    }
}
