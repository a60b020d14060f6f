//! Replies to reporters: `POST /api/v1/reports/{id}/replies` sends a note
//! back to the person who made a report, over the channel it came by;
//! `POST /api/v1/alerts/{id}/replies` to the reporters of an alert's
//! reports; `GET /api/v1/reports/{id}/replies` is the history (who sent
//! what, when, and each delivery attempt). A reply is published on the
//! `replies` topic and sent by the alerter's reply outbox (see
//! `alerter::reply`); this node's [`ReplyBook`] follows the topic.
//!
//! Also the answer to `status <receipt>` over the chat and SMS webhooks.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use model::reply::{MAX_REPLY_CHARS, Reply, ReplyDelivery, ReplyEvent, ReplyState, Target};
use model::{ClassifiedReport, ReportId, wire};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};

/// Every reply and its deliveries, by report, from the `replies` topic.
#[derive(Debug, Clone, Default)]
pub struct ReplyBook(Arc<RwLock<HashMap<ReportId, Vec<ReplyRecord>>>>);

impl bus::View for ReplyBook {
    fn apply(&self, record: &bus::Record) {
        match wire::decode::<ReplyEvent>(&record.payload) {
            Ok(event) => self.apply_event(event),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "ignoring an unreadable reply event"),
        }
    }
}

impl ReplyBook {
    /// Applies one event; applying it again changes nothing.
    pub fn apply_event(&self, event: ReplyEvent) {
        let mut book = self.0.write().unwrap_or_else(|e| e.into_inner());
        match event {
            ReplyEvent::Requested { reply } => {
                let replies = book.entry(reply.report).or_default();
                if !replies.iter().any(|r| r.id == reply.id) {
                    replies.push(ReplyRecord::from(reply));
                }
            }
            ReplyEvent::Delivered { reply_id, report, delivery } => {
                let Some(record) = book.get_mut(&report).and_then(|rs| rs.iter_mut().find(|r| r.id == reply_id)) else {
                    return;
                };
                if !record.deliveries.iter().any(|d| d.attempt == delivery.attempt) {
                    record.deliveries.push(delivery);
                    record.deliveries.sort_by_key(|d| d.attempt);
                    record.state = record.deliveries.last().map_or(ReplyState::Pending, |d| d.state);
                }
            }
        }
    }

    /// The replies to `report`, oldest first.
    pub fn of(&self, report: ReportId) -> Vec<ReplyRecord> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(&report).cloned().unwrap_or_default()
    }
}

/// A reply and what became of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyRecord {
    pub id: Uuid,
    pub report: ReportId,
    /// The alert it was sent for, when sent to an alert's reporters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Uuid>,
    /// The channel it goes by: the one the report came by.
    pub channel: model::Channel,
    /// The reporter's address, number or chat.
    pub to: String,
    pub text: String,
    /// Who wrote it: an account, or `kentongan` for receipts and status answers.
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Where it is now: pending, sent, retrying or failed.
    pub state: ReplyState,
    /// Each attempt, in order.
    pub deliveries: Vec<ReplyDelivery>,
}

impl From<Reply> for ReplyRecord {
    fn from(r: Reply) -> Self {
        Self {
            id: r.id,
            report: r.report,
            alert: r.alert,
            channel: r.channel,
            to: r.to,
            text: r.text,
            by: r.by,
            at: r.at,
            state: ReplyState::Pending,
            deliveries: Vec::new(),
        }
    }
}

/// A note to send back to a reporter.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    /// What to tell the reporter, at most 1,000 characters (an SMS sends it in parts).
    pub text: String,
}

/// The replies to a report, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replies {
    pub replies: Vec<ReplyRecord>,
}

/// The replies sent for an alert, one per report whose reporter can be reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertReplies {
    pub replies: Vec<ReplyRecord>,
    /// The alert's reports that came through the API, the web or a feed,
    /// whose reporters no channel reaches.
    pub unreachable: Vec<ReportId>,
}

/// The text of a reply, checked: printable, 1 to 1,000 characters.
fn checked_text(text: &str) -> Result<String, ApiError> {
    let text = ingest::plain(text).trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::invalid("text", "is empty: write what the reporter should hear"));
    }
    let chars = text.chars().count();
    if chars > MAX_REPLY_CHARS {
        return Err(ApiError::invalid(
            "text",
            format!("has {chars} characters, more than {MAX_REPLY_CHARS}: shorten it"),
        ));
    }
    Ok(text)
}

/// The reply to `report` by `caller`, if its sender can be reached.
fn reply_to(
    report: &ClassifiedReport,
    text: &str,
    by: &str,
    alert: Option<Uuid>,
    now: OffsetDateTime,
) -> Option<Reply> {
    let target = Target::of(&report.report)?;
    Some(Reply {
        id: Uuid::now_v7(),
        report: report.report.id,
        alert,
        channel: target.channel,
        to: target.to,
        answers: target.answers,
        text: text.to_owned(),
        by: by.to_owned(),
        at: now,
    })
}

/// Publishes `replies` (durably) and applies them to this node's book at once.
async fn publish(state: &AppState, replies: &[Reply]) -> Result<Vec<ReplyRecord>, ApiError> {
    let records: Vec<(bus::Topic, String, Vec<u8>)> = replies
        .iter()
        .map(|r| {
            let event = ReplyEvent::Requested { reply: r.clone() };
            (bus::Topic::Replies, r.report.to_string(), wire::encode(&event))
        })
        .collect();
    if !records.is_empty() {
        state.bus.publish_batch(&records).await?;
    }
    let book = &state.api()?.replies;
    for reply in replies {
        book.apply_event(ReplyEvent::Requested { reply: reply.clone() });
    }
    Ok(replies.iter().cloned().map(ReplyRecord::from).collect())
}

/// Send a note back to a report's sender, over the channel the report came by.
///
/// Telegram, WhatsApp, SMS or email, to the sender the channel verified;
/// sent once and retried until delivered (the history shows each attempt).
/// A report made through the API, the web or a feed has no such sender
/// (422 `unreachable`). Admins and operators, within their regions.
#[utoipa::path(post, path = "/api/v1/reports/{id}/replies", tag = "reports",
    params(("id" = String, Path, description = "the report's id")),
    request_body = NewReply,
    responses((status = 202, body = ReplyRecord, description = "durable; sent soon")))]
pub async fn send_reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(new): ApiJson<NewReply>,
) -> Result<(StatusCode, Json<ReplyRecord>), ApiError> {
    let report = crate::reports::visible(&state, &caller, &id).await?;
    let text = checked_text(&new.text)?;
    let Some(reply) = reply_to(&report, &text, &caller.name, None, state.clock.now()) else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreachable",
            format!(
                "this report came through {}: there is no sender to reply to over it (only reports by Telegram, \
                 WhatsApp, SMS or email can be answered)",
                report.report.channel
            ),
        ));
    };
    let mut made = publish(&state, &[reply]).await?;
    Ok((StatusCode::ACCEPTED, Json(made.remove(0))))
}

/// The replies sent to a report's sender, with each delivery attempt.
///
/// Oldest first: operators' notes, and the receipts and status answers the
/// system sent. Admins and operators, within their regions.
#[utoipa::path(get, path = "/api/v1/reports/{id}/replies", tag = "reports",
    params(("id" = String, Path, description = "the report's id")),
    responses((status = 200, body = Replies)))]
pub async fn list_replies(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Replies>, ApiError> {
    let report = crate::reports::visible(&state, &caller, &id).await?;
    Ok(Json(Replies { replies: state.api()?.replies.of(report.report.id) }))
}

/// Send a note to the reporters of an alert's reports, each over its own channel.
///
/// One reply per report within your regions whose sender a channel reaches;
/// the others are listed as `unreachable`. Admins and operators, within
/// their regions.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/replies", tag = "alerts",
    params(("id" = String, Path, description = "the alert's id")),
    request_body = NewReply,
    responses((status = 202, body = AlertReplies, description = "durable; sent soon")))]
pub async fn reply_to_reporters(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(new): ApiJson<NewReply>,
) -> Result<(StatusCode, Json<AlertReplies>), ApiError> {
    let api = state.api()?;
    let alert = api.alerts.get(&caller, &id).ok_or_else(|| ApiError::not_found("alert"))?;
    let text = checked_text(&new.text)?;
    let now = state.clock.now();
    let mut replies = Vec::new();
    let mut unreachable = Vec::new();
    for r in &alert.reports {
        let Ok(report) = crate::reports::visible(&state, &caller, &r.id.to_string()).await else {
            // not yet classified, or outside the caller's regions
            continue;
        };
        match reply_to(&report, &text, &caller.name, Some(alert.id), now) {
            Some(reply) => replies.push(reply),
            None => unreachable.push(r.id),
        }
    }
    let replies = publish(&state, &replies).await?;
    Ok((StatusCode::ACCEPTED, Json(AlertReplies { replies, unreachable })))
}

/// The state of the alert a report counts towards, as this node knows it
/// (`None`: this node keeps no alert view).
pub fn alert_state(state: &AppState) -> Option<ingest::status::AlertStateOf> {
    let alerts = state.api.as_ref()?.alerts.clone();
    Some(Arc::new(move |id| Some(alerts.state_of_report(id))))
}

/// The answer to `status <receipt>` from `sender` over a webhook.
pub async fn status_answer(state: &AppState, sender: &str, asked: Result<String, String>) -> Result<String, ApiError> {
    let receipt = match asked {
        Ok(receipt) => receipt,
        Err(how) => return Ok(how),
    };
    let intake = &state.ingest()?.intake;
    let (_, text) = ingest::status::respond(intake.store(), sender, &receipt, alert_state(state).as_ref()).await?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use model::reply::ReplyDelivery;

    use super::*;

    #[test]
    fn the_history_takes_each_event_once_in_order() {
        let book = ReplyBook::default();
        let at = OffsetDateTime::UNIX_EPOCH;
        let reply = Reply {
            id: Uuid::now_v7(),
            report: ReportId(Uuid::now_v7()),
            alert: None,
            channel: model::Channel::Sms,
            to: "+6281".into(),
            answers: None,
            text: "Terima kasih".into(),
            by: "op".into(),
            at,
        };
        let delivered = |attempt, state| ReplyEvent::Delivered {
            reply_id: reply.id,
            report: reply.report,
            delivery: ReplyDelivery { at, attempt, state, error: None },
        };
        book.apply_event(ReplyEvent::Requested { reply: reply.clone() });
        book.apply_event(ReplyEvent::Requested { reply: reply.clone() });
        book.apply_event(delivered(2, ReplyState::Sent));
        book.apply_event(delivered(1, ReplyState::Retrying));
        book.apply_event(delivered(2, ReplyState::Sent));
        let history = book.of(reply.report);
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].deliveries.iter().map(|d| d.attempt).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(history[0].state, ReplyState::Sent, "the latest attempt says where it is");
        assert!(checked_text(" \u{7} ").is_err());
        assert!(checked_text(&"a".repeat(1001)).is_err());
        assert_eq!(checked_text(" ok\r\n ").unwrap(), "ok");
    }
}
