//! The chat-bot and SMS webhooks, and the feed status. Webhooks carry no
//! account token: Telegram proves itself with the secret token, WhatsApp
//! with an HMAC signature of the body, the SMS gateway with its own token.
//! A sender whose number or Telegram id is registered on an account reports
//! as that account; anyone else reports as the public. `status <receipt>`
//! (or `cek …`) from a sender is answered with the status of that sender's
//! report, and makes no report (see `ingest::status`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest::{sms, telegram, whatsapp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery, ErrorBody};

fn intake(state: &AppState) -> Result<&ingest::Intake, ApiError> {
    state.ingest().map(|i| &i.intake)
}

fn not_configured(what: &str) -> ApiError {
    ApiError::not_found(&format!("{what} is not configured on this node;"))
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let status = if e.is_data() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::BAD_REQUEST };
        ApiError::new(status, if e.is_data() { "invalid" } else { "malformed" }, e.to_string())
    })
}

/// Telegram Bot API webhook (checks X-Telegram-Bot-Api-Secret-Token).
///
/// Takes a Bot API `Update`. The answer tells the bot to reply with the
/// receipt number (a `sendMessage` call), or is `null` for an update that
/// carries no report.
#[utoipa::path(post, path = "/api/v1/ingest/telegram", tag = "ingest",
    request_body = telegram::Update,
    responses(
        (status = 200, description = "a Bot API `sendMessage` call replying to the sender, or null", body = Option<telegram::Reply>),
        (status = 401, body = ErrorBody, description = "the secret token is missing or wrong"),
        (status = 404, body = ErrorBody, description = "Telegram is not configured on this node"),
        (status = 429, body = ErrorBody, description = "this sender sends too much; wait for Retry-After"),
        (status = 503, body = ErrorBody, description = "the report could not be stored right now"),
    ))]
pub async fn telegram(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Option<telegram::Reply>>, ApiError> {
    let intake = intake(&state)?;
    let config = state.ingest()?.telegram.as_ref().ok_or_else(|| not_configured("telegram"))?;
    let sent = headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !crate::secrets::constant_time_eq(sent.as_bytes(), config.secret_token.as_bytes()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "X-Telegram-Bot-Api-Secret-Token is missing or wrong",
        ));
    }
    let update: telegram::Update = json_body(&body)?;
    match telegram::parse(&update, intake.now()) {
        telegram::Parsed::Report { mut report, sender, chat, message } => {
            intake.check_source(&format!("telegram:{sender}"))?;
            if let Some(account) = state.accounts.directory.by_telegram(&sender) {
                if let Some(r) = report.reporter.as_mut() {
                    r.account = Some(account.name.clone());
                }
                if let Err(e) = ingest::within_scope(&mut report, &account.scope()) {
                    intake.deadletter("telegram", &body, &e.to_string()).await?;
                    let reply = ingest::outside_reply(&report, &account.scope());
                    return Ok(Json(Some(telegram::reply(chat, message, &reply))));
                }
            }
            // the chat and message ids of an update the secret token vouches for
            let key = ingest::Idempotency::of(format!("telegram/{chat}:{message}"), &[report.text.as_bytes()]);
            let accepted = intake.accept_once(Some(key), *report).await?;
            ingest::status::keep(intake.store(), &format!("telegram:{sender}"), accepted.id).await;
            let text = format!("Laporan diterima, nomor {}. Terima kasih.", ingest::receipt(accepted.id));
            Ok(Json(Some(telegram::reply(chat, message, &text))))
        }
        telegram::Parsed::Status { chat, message, sender, asked } => {
            intake.check_source(&format!("telegram:{sender}"))?;
            let text = crate::replies::status_answer(&state, &format!("telegram:{sender}"), asked).await?;
            Ok(Json(Some(telegram::reply(chat, message, &text))))
        }
        telegram::Parsed::Command { chat, message } => Ok(Json(Some(telegram::reply(chat, message, telegram::HELP)))),
        telegram::Parsed::Nothing(reason) => {
            // Telegram retries whatever is not answered 200: take it, keep it, say why.
            intake.deadletter("telegram", &body, reason).await?;
            Ok(Json(None))
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Handshake {
    /// `subscribe`
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    /// `whatsapp.verify_token`
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    /// Echoed back.
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// WhatsApp Cloud API verification handshake.
#[utoipa::path(get, path = "/api/v1/ingest/whatsapp", tag = "ingest", params(Handshake), responses(
    (status = 200, description = "`hub.challenge`, echoed", body = String, content_type = "text/plain"),
    (status = 403, body = ErrorBody, description = "`hub.mode` is not subscribe or `hub.verify_token` does not match"),
    (status = 404, body = ErrorBody, description = "WhatsApp is not configured on this node"),
))]
pub async fn whatsapp_verify(
    State(state): State<AppState>,
    ApiQuery(h): ApiQuery<Handshake>,
) -> Result<Response, ApiError> {
    let config = state.ingest()?.whatsapp.as_ref().ok_or_else(|| not_configured("whatsapp"))?;
    let token = h.verify_token.unwrap_or_default();
    if h.mode.as_deref() == Some("subscribe")
        && crate::secrets::constant_time_eq(token.as_bytes(), config.verify_token.as_bytes())
    {
        let challenge = h.challenge.unwrap_or_default();
        return Ok(([(header::CONTENT_TYPE, "text/plain")], challenge).into_response());
    }
    Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "hub.mode must be subscribe and hub.verify_token must match"))
}

/// The reports a WhatsApp notification made.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhatsappAnswer {
    /// Their ids, one per message taken.
    pub reports: Vec<String>,
}

/// WhatsApp Cloud API webhook (checks X-Hub-Signature-256).
#[utoipa::path(post, path = "/api/v1/ingest/whatsapp", tag = "ingest",
    request_body = whatsapp::Notification,
    responses(
        (status = 200, body = WhatsappAnswer),
        (status = 401, body = ErrorBody, description = "the signature is missing or wrong"),
        (status = 404, body = ErrorBody, description = "WhatsApp is not configured on this node"),
        (status = 429, body = ErrorBody, description = "this sender sends too much; wait for Retry-After"),
        (status = 503, body = ErrorBody, description = "the report could not be stored right now"),
    ))]
pub async fn whatsapp(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WhatsappAnswer>, ApiError> {
    let intake = intake(&state)?;
    let config = state.ingest()?.whatsapp.as_ref().ok_or_else(|| not_configured("whatsapp"))?;
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    whatsapp::verify_signature(&config.app_secret, &body, signature)?;
    let notification: whatsapp::Notification = json_body(&body)?;
    let (incoming, skipped) = whatsapp::parse(&notification, intake.now());
    let mut ids = Vec::new();
    // The reply is a courtesy: it goes in the background and a failure is only logged.
    let http = &state.ingest()?.http;
    let send = |number: Option<String>, to: String, text: String| {
        let (client, config) = (http.clone(), config.clone());
        tokio::spawn(async move {
            let Some(number) = number else { return };
            if let Err(e) = whatsapp::send_reply(&client, &config, &number, &to, &text).await {
                tracing::warn!(error = %e, "could not send the WhatsApp reply");
            }
        });
    };
    for mut m in incoming {
        intake.check_source(&format!("whatsapp:{}", m.sender))?;
        if let Some(asked) = ingest::status::request(&m.report.text) {
            let text = crate::replies::status_answer(&state, &m.sender, asked).await?;
            send(m.phone_number_id, m.wa_id, text);
            continue;
        }
        if let Some(account) = state.accounts.directory.by_phone(&m.sender) {
            if let Some(r) = m.report.reporter.as_mut() {
                r.account = Some(account.name.clone());
            }
            if let Err(e) = ingest::within_scope(&mut m.report, &account.scope()) {
                let original = serde_json::to_vec(&m.report).unwrap_or_default();
                intake.deadletter("whatsapp", &original, &e.to_string()).await?;
                send(m.phone_number_id, m.wa_id, ingest::outside_reply(&m.report, &account.scope()));
                continue;
            }
        }
        // Meta's message id, under the business number and the sender the signature vouches for
        let key = ingest::Idempotency::of(
            format!(
                "whatsapp/{}/{}/{}",
                m.phone_number_id.as_deref().unwrap_or_default(),
                m.wa_id,
                m.report.external_id.as_deref().unwrap_or_default()
            ),
            &[m.report.text.as_bytes()],
        );
        let accepted = intake.accept_once(Some(key), m.report).await?;
        ingest::status::keep(intake.store(), &m.sender, accepted.id).await;
        ids.push(accepted.id.to_string());
        if !accepted.replayed {
            let text = format!("Laporan diterima, nomor {}. Terima kasih.", ingest::receipt(accepted.id));
            send(m.phone_number_id, m.wa_id, text);
        }
    }
    for (id, reason) in skipped {
        intake.deadletter("whatsapp", id.as_bytes(), reason).await?;
    }
    Ok(Json(WhatsappAnswer { reports: ids }))
}

/// What became of an SMS.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmsAnswer {
    /// Whether it was taken (a part of a long message waits for the rest).
    pub accepted: bool,
    /// The report made, once the whole message is in.
    pub id: Option<String>,
    /// The text to send back to the sender.
    pub reply: String,
}

/// SMS gateway webhook (checks sms.inbound_token); answers with the reply to send.
///
/// One message from the SMS gateway, as JSON or a form.
#[utoipa::path(post, path = "/api/v1/ingest/sms", tag = "ingest", params(SmsQuery),
    request_body(content(
        (sms::Inbound = "application/json"),
        (sms::Inbound = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, body = SmsAnswer),
        (status = 401, body = ErrorBody, description = "sms.inbound_token is missing or wrong"),
        (status = 404, body = ErrorBody, description = "SMS is not configured on this node"),
        (status = 429, body = ErrorBody, description = "this sender sends too much; wait for Retry-After"),
        (status = 503, body = ErrorBody, description = "the report could not be stored right now"),
    ))]
pub async fn sms(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SmsQuery>,
    body: Bytes,
) -> Result<Json<SmsAnswer>, ApiError> {
    let intake = intake(&state)?;
    let config = state.ingest()?.sms.as_ref().ok_or_else(|| not_configured("sms"))?;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(query.token.as_deref())
        .unwrap_or_default();
    if !crate::secrets::constant_time_eq(bearer.as_bytes(), config.inbound_token.as_bytes()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send sms.inbound_token as a bearer token or ?token=",
        ));
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let inbound: sms::Inbound = if form { serde_urlencoded_from(&body)? } else { json_body(&body)? };
    // checked before the sender keys the rate limit
    inbound.check()?;
    let sender = sms::normalize_phone(&inbound.from);
    intake.check_source(&format!("sms:{sender}"))?;
    if inbound.parts_key().is_none()
        && let Some(asked) = ingest::status::request(&inbound.text)
    {
        let reply = crate::replies::status_answer(&state, &sender, asked).await?;
        return Ok(Json(SmsAnswer { accepted: true, id: None, reply }));
    }
    let account = state.accounts.directory.by_phone(&sender);
    let outcome = sms::receive(intake, inbound, account).await?;
    Ok(Json(SmsAnswer { accepted: outcome.accepted, id: outcome.id.map(|i| i.to_string()), reply: outcome.reply }))
}

fn serde_urlencoded_from(body: &[u8]) -> Result<sms::Inbound, ApiError> {
    use serde_json::Value;
    let pairs: serde_json::Map<String, Value> = url_pairs(body).map(|(k, v)| (k, Value::String(v))).collect();
    serde_json::from_value(Value::Object(pairs)).map_err(|e| ApiError::invalid("form", e))
}

fn url_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SmsQuery {
    /// sms.inbound_token, for gateways that cannot send a bearer token.
    token: Option<String>,
}

/// The feeds a node polls.
#[derive(Debug, Serialize, ToSchema)]
pub struct Feeds {
    pub feeds: Vec<ingest::feeds::FeedStatus>,
}

/// The news feeds this node polls, and how each is doing.
///
/// Only feeds whose region lies within yours (a feed without a region:
/// national callers only). URLs are shown without query or user info,
/// errors in words.
#[utoipa::path(get, path = "/api/v1/feeds", tag = "ingest", responses((status = 200, body = Feeds)))]
pub async fn feeds(State(state): State<AppState>, caller: Caller) -> Result<Json<Feeds>, ApiError> {
    let shown: Vec<_> =
        state.ingest()?.feeds.all().into_iter().filter(|f| caller.scope.covers(f.region.as_ref())).collect();
    Ok(Json(Feeds { feeds: shown }))
}
