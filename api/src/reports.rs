//! `POST /api/v1/reports` and `GET /api/v1/reports/{id}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use model::{Reporter, Role, Scope};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};

/// Takes a report. Answers 202 only once the report is durable on the bus.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(submission): ApiJson<ingest::Submission>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let intake = state
        .intake
        .as_ref()
        .ok_or_else(|| ApiError::not_found("this node takes no reports;"))?;
    let reporter = Reporter {
        account: Some(caller.name.clone()),
        ..Reporter::default()
    };
    let id = intake.submit(submission, Some(reporter)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id.to_string() }))))
}

/// The report with its classification, once classified. Reporters see only
/// their own reports; everyone else sees what lies in their regions. The
/// reporter's identity is shown only to admins and operators.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let index = state
        .index
        .clone()
        .ok_or_else(|| ApiError::not_found("this node keeps no archive;"))?;
    let id: model::ReportId = id.parse().map_err(|_| ApiError::not_found("report"))?;
    let scope = if caller.role == Role::Reporter {
        Scope::All
    } else {
        caller.scope.clone()
    };
    let found = tokio::task::spawn_blocking(move || index.get(&id.to_string(), &scope))
        .await
        .map_err(ApiError::internal)??;
    let own = |r: &model::ClassifiedReport| {
        r.report
            .reporter
            .as_ref()
            .and_then(|p| p.account.as_deref())
            == Some(caller.name.as_str())
    };
    let mut item = found
        .filter(|r| caller.role != Role::Reporter || own(r))
        .ok_or_else(|| ApiError::not_found("report (it may not be classified yet)"))?;
    if !caller.sees_reporters() {
        item.report.reporter = None;
    }
    Ok(Json(
        json!({ "report": item.report, "classification": item.classification }),
    ))
}
