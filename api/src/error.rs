//! Every error the API returns, mapped to a status and a code in one place.
//! The body is always `{"error": {"code": "snake_case", "message": "what to fix"}}`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u32>,
    /// The message in Indonesian, answered instead of `message` to a caller
    /// whose `Accept-Language` prefers it (the web app in Indonesian).
    pub pesan: Option<String>,
}

/// An error answer's code and Indonesian message, kept on the response for
/// [`indonesian`], which answers it to callers who prefer Indonesian.
#[derive(Debug, Clone)]
struct Pesan {
    code: &'static str,
    pesan: String,
}

/// Answers an error's Indonesian message, where it has one, to a caller
/// whose `Accept-Language` prefers Indonesian (`id`, or the older `in`)
/// over every other language it names; anyone else gets the English one.
pub(crate) async fn indonesian(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let wanted = request.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).is_some_and(prefers_id);
    let response = next.run(request).await;
    let Some(Pesan { code, pesan }) = wanted.then(|| response.extensions().get::<Pesan>().cloned()).flatten() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: pesan } };
    Response::from_parts(parts, axum::body::Body::from(serde_json::to_vec(&body).unwrap_or_default()))
}

/// Whether an `Accept-Language` value ranks Indonesian first (the highest
/// `q`, the earliest of equals).
fn prefers_id(accept: &str) -> bool {
    let mut best: Option<(f32, &str)> = None;
    for range in accept.split(',') {
        let mut fields = range.split(';').map(str::trim);
        let tag = fields.next().unwrap_or_default();
        let q = fields.find_map(|f| f.strip_prefix("q=")).map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
        if !tag.is_empty() && q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, tag));
        }
    }
    best.is_some_and(|(_, tag)| {
        let primary = tag.split('-').next().unwrap_or_default();
        primary.eq_ignore_ascii_case("id") || primary.eq_ignore_ascii_case("in")
    })
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, in snake_case: `invalid`, `not_found`, `unauthorized`…
    pub code: String,
    /// What to fix, for people.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None, pesan: None }
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "send a valid API token as `Authorization: Bearer TOKEN`")
    }

    pub fn forbidden(need: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", format!("this needs the role {need}"))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("{field}: {message}"))
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self { retry_after: Some(5), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message) }
    }

    /// 429, with `Retry-After` in whole seconds (at least one).
    pub fn too_many(wait: std::time::Duration, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// The same error, saying `pesan` to a caller who prefers Indonesian.
    pub fn pesan(self, pesan: impl Into<String>) -> Self {
        Self { pesan: Some(pesan.into()), ..self }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side; see the server log")
    }
}

/// Longest message an answer carries. Messages may quote what was sent (a
/// serde error quotes the value), and an answer must not echo a large body
/// back; the end of a message, which says what to fix, is kept.
const MESSAGE_CHARS: usize = 400;

const TIME_EXAMPLE: &str = "2026-11-30T08:00:00+08:00";

/// How the errors of `time`'s parser end (`time::error::Parse`).
const TIME_PARSE_ERRORS: [&str; 5] = [
    "component could not be parsed",
    "component is out of range",
    "was not in range",
    "unexpected trailing characters",
    "a character literal was not valid",
];

/// `message` in the words of the API rather than of its Rust code: serde
/// names our types (`expected struct SignIn with 2 elements`, "an
/// RFC3339-formatted `OffsetDateTime`"), which tells a caller nothing and
/// the world how the server is built.
pub fn plain(message: &str) -> String {
    let message = message
        .replace("Failed to deserialize the JSON body into the target type: ", "")
        .replace("Failed to deserialize form body: ", "")
        .replace("Failed to deserialize query string: ", "")
        .replace("Failed to parse the request body as JSON: ", "not JSON: ")
        .replace("an RFC3339-formatted `OffsetDateTime`", &format!("an RFC 3339 time like {TIME_EXAMPLE}"))
        .replace("`OffsetDateTime`", "time");
    // time's own parse errors say which part is wrong, not what a time looks like
    let message = match TIME_PARSE_ERRORS.iter().find_map(|e| message.find(e)) {
        Some(at) if !message.contains("RFC 3339") => {
            let start = message[..at].rfind(": ").map_or(0, |i| i + 2);
            format!("{}not an RFC 3339 time like {TIME_EXAMPLE} ({})", &message[..start], &message[start..])
        }
        _ => message,
    };
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(at) =
        ["struct ", "enum ", "tuple struct "].iter().filter_map(|k| rest.find(k).map(|i| (i, *k))).min()
    {
        let (i, kind) = at;
        out.push_str(&rest[..i]);
        let after = &rest[i + kind.len()..];
        let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        if name_len == 0 || !after.starts_with(|c: char| c.is_ascii_uppercase()) {
            out.push_str(kind);
            rest = after;
            continue;
        }
        out.push_str(if kind == "enum " { "one of the allowed values" } else { "a JSON object" });
        rest = &after[name_len..];
        // "with 2 elements": the fields of the struct, as a list
        if let Some(tail) = rest.strip_prefix(" with ")
            && let Some(end) = tail.find(" elements").or_else(|| tail.find(" element"))
            && tail[..end].bytes().all(|b| b.is_ascii_digit())
        {
            rest = tail[end..].trim_start_matches(" elements").trim_start_matches(" element");
        }
    }
    out.push_str(rest);
    out
}

fn shorten(message: String) -> String {
    let n = message.chars().count();
    if n <= MESSAGE_CHARS {
        return message;
    }
    let head: String = message.chars().take(MESSAGE_CHARS / 2).collect();
    let tail: String = message.chars().skip(n - MESSAGE_CHARS / 3).collect();
    format!("{head} … {tail}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            Json(ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: shorten(self.message) } });
        let mut response = (self.status, body).into_response();
        if let Some(pesan) = self.pesan {
            // the answer depends on the caller's language: a cache must keep both
            response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-language"));
            response.extensions_mut().insert(Pesan { code: self.code, pesan: shorten(pesan) });
        }
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            _ => "malformed",
        };
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "the body is larger than this server accepts (http.max_body)".to_owned(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "send the body as JSON with `Content-Type: application/json`".to_owned()
            }
            _ => plain(&r.body_text()),
        };
        Self::new(status, code, message)
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_query", plain(&r.body_text()))
    }
}

impl From<ingest::Error> for ApiError {
    fn from(e: ingest::Error) -> Self {
        use ingest::Error as E;
        match e {
            E::Invalid { field, message, pesan } => Self::invalid(field, message).pesan(format!("{field}: {pesan}")),
            E::TooLarge(m) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", m),
            E::Unsupported { message, pesan } => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message).pesan(pesan)
            }
            E::Unauthenticated(m) => Self::new(StatusCode::UNAUTHORIZED, "unauthorized", m),
            e @ E::RateLimited { retry_after, .. } => Self::too_many(retry_after, "rate_limited", e.to_string())
                .pesan(format!("terlalu banyak laporan: tunggu {} detik", retry_after.as_secs().max(1))),
            e @ (E::Unavailable(_) | E::Storage(_)) => {
                // the detail (a path, an I/O error) is for the server log
                tracing::error!(error = %e, "intake unavailable");
                Self::unavailable("the report could not be stored right now; nothing was kept, try again later")
                    .pesan("laporan belum dapat disimpan saat ini; tidak ada yang tersimpan, coba lagi nanti")
            }
        }
    }
}

impl From<archive::Error> for ApiError {
    fn from(e: archive::Error) -> Self {
        match e {
            archive::Error::Query(q) => Self::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("q: {q}; write words, \"phrases\", AND, OR, NOT, or title:word"),
            ),
            archive::Error::Invalid(message) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
            e if archive::Analytics::unreachable(&e) => {
                Self::unavailable(format!("ClickHouse cannot be reached ({e}); try again shortly"))
            }
            other => Self::internal(other),
        }
    }
}

impl From<accounts::Error> for ApiError {
    fn from(e: accounts::Error) -> Self {
        use accounts::Error as E;
        match e {
            E::Invalid { field, message } => Self::invalid(field, message),
            e @ (E::NameTaken(_) | E::IdentityTaken(_)) => {
                Self::new(StatusCode::CONFLICT, "unavailable", e.to_string())
            }
            e @ E::TooManyTokens(_) => Self::new(StatusCode::CONFLICT, "too_many_tokens", e.to_string()),
            E::NotFound(what) => Self::not_found(what),
            E::OutsideScope(need) => Self::forbidden(need),
            E::Unauthenticated => Self::unauthorized(),
            e @ E::WrongPassword => Self::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
            e @ E::LockedOut { retry_after } => Self::too_many(retry_after, "locked", e.to_string()),
            E::Throttled { retry_after, reason } => Self::too_many(retry_after, "rate_limited", reason),
            E::Bus(e) => e.into(),
            E::Internal(e) => Self::internal(e),
        }
    }
}

impl From<bus::Error> for ApiError {
    fn from(e: bus::Error) -> Self {
        // the detail (a path, a broker's address) is for the server log
        tracing::error!(error = %e, "bus unavailable");
        Self::unavailable("the log cannot take or give records right now; try again later")
    }
}

/// `Json` whose rejections use our error format.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_is_answered_when_it_ranks_first() {
        for accept in ["id", "id-ID", "id-ID,id;q=0.9,en;q=0.8", "en;q=0.5, id", "in", "ID-id", "en;q=0, id;q=0.1"] {
            assert!(prefers_id(accept), "{accept}");
        }
        for accept in ["", "en", "en-US,en;q=0.9,id;q=0.8", "id;q=0, en", "en;q=0.5, id;q=0.5", "jv, id", "*", "idx"] {
            assert!(!prefers_id(accept), "{accept}");
        }
    }

    #[test]
    fn long_messages_keep_their_start_and_end() {
        let long = format!("q: {} expected a number", "x".repeat(100_000));
        let short = shorten(long);
        assert!(short.chars().count() < MESSAGE_CHARS + 10, "{}", short.len());
        assert!(short.starts_with("q: xxx") && short.ends_with("expected a number"));
        assert_eq!(shorten("fine".into()), "fine");
    }

    #[test]
    fn messages_do_not_name_our_types() {
        assert_eq!(
            plain(
                "Failed to deserialize the JSON body into the target type: invalid type: sequence, expected struct SignIn with 2 elements at line 1 column 2"
            ),
            "invalid type: sequence, expected a JSON object at line 1 column 2"
        );
        assert_eq!(
            plain("until: invalid type: integer `5`, expected an RFC3339-formatted `OffsetDateTime`"),
            "until: invalid type: integer `5`, expected an RFC 3339 time like 2026-11-30T08:00:00+08:00"
        );
        assert_eq!(
            plain("unknown variant `x`, expected enum Role"),
            "unknown variant `x`, expected one of the allowed values"
        );
        assert_eq!(plain("a struct of ours"), "a struct of ours");
        assert_eq!(
            plain("until: the 'year' component could not be parsed at line 1 column 18"),
            "until: not an RFC 3339 time like 2026-11-30T08:00:00+08:00 (the 'year' component could not be parsed at line 1 column 18)"
        );
        assert_eq!(
            plain("Failed to deserialize query string: from: month was not in range"),
            "from: not an RFC 3339 time like 2026-11-30T08:00:00+08:00 (month was not in range)"
        );
    }
}

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state).await.map(|Json(v)| ApiJson(v)).map_err(ApiError::from)
    }
}

/// `Query` whose rejections use our error format.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(ApiError::from)
    }
}

/// Like [`ApiJson`], but an empty body means `T::default()`.
#[derive(Debug)]
pub struct ApiJsonOrEmpty<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJsonOrEmpty<T>
where
    T: serde::de::DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req.headers().get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() == b"0")
            || (req.headers().get(header::CONTENT_TYPE).is_none()
                && req.headers().get(header::CONTENT_LENGTH).is_none());
        if empty {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        // JSON `null` is no body too, as the document's optional body allows
        ApiJson::<Option<T>>::from_request(req, state).await.map(|ApiJson(v)| ApiJsonOrEmpty(v.unwrap_or_default()))
    }
}
