//! SMS notifications through an HTTP gateway: `[sms_gateway]`.
//!
//! The request is made from a preset, `twilio` (a form with To, From, Body
//! and StatusCallback, basic auth with the account SID and auth token) or
//! `json` (a JSON object with to, from, text, callback_url and ref, bearer
//! auth), whose body may be replaced by a template of one's own with the
//! same placeholders: `{to}`, `{from}`, `{text}`, `{callback}`, `{ref}`.
//! The body is made in one pass (the presets serde-encoded), so a value
//! that holds a placeholder's name is sent as it is.
//!
//! A message longer than one SMS is split into numbered parts at word
//! boundaries, each sent on its own: 160 characters for one GSM-7 message,
//! 153 a part (70 and 67 when the text needs UCS-2).

use std::time::Duration;

use serde::Deserialize;

use crate::Error;
use crate::channel::{Channel, Receipt, SendError};

/// The shapes of gateway request this product knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// A JSON body, bearer auth.
    #[default]
    Json,
    /// Twilio's Messages API and compatible gateways: a form, basic auth.
    Twilio,
}

/// `[sms_gateway]`: where alert SMS go out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsGatewayConfig {
    #[serde(default)]
    pub preset: Preset,
    /// For Twilio: `https://api.twilio.com/2010-04-01/Accounts/<SID>/Messages.json`.
    pub url: String,
    /// `POST` (default) or `PUT`.
    #[serde(default = "default_method")]
    pub method: String,
    /// Basic auth: for Twilio the account SID.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic auth: for Twilio the auth token.
    #[serde(default)]
    pub password: Option<String>,
    /// Bearer auth, for gateways that take a token.
    #[serde(default)]
    pub token: Option<String>,
    /// The sender number or name.
    #[serde(default)]
    pub from: String,
    /// A body template replacing the preset's, with `{to}`, `{from}`,
    /// `{text}`, `{callback}` and `{ref}`; values are JSON-escaped for the
    /// `json` preset and form-encoded for `twilio`.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_method() -> String {
    "POST".into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(15)
}

/// The GSM 03.38 basic character set; the extension set counts two.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// The length of `text` in GSM-7 septets, or `None` when it needs UCS-2.
fn septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0, |n, c| match c {
        c if GSM_BASIC.contains(c) => Some(n + 1),
        c if GSM_EXTENSION.contains(c) => Some(n + 2),
        _ => None,
    })
}

/// `text` as the messages to send: itself when it fits one SMS, else parts
/// numbered `(1/3) …` that each fit one part of a long message.
pub fn segments(text: &str) -> Vec<String> {
    let gsm = septets(text).is_some();
    let length = |s: &str| if gsm { septets(s).unwrap_or(usize::MAX) } else { s.encode_utf16().count() };
    let (single, part) = if gsm { (160, 153) } else { (70, 67) };
    if length(text) <= single {
        return vec![text.to_owned()];
    }
    // room for "(nn/nn) "
    let room = part - 8;
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
        if length(&candidate) <= room {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        // a word longer than a part (a link) is cut
        let mut rest = word.to_owned();
        while length(&rest) > room {
            let mut cut = String::new();
            for c in rest.chars() {
                if length(&format!("{cut}{c}")) > room {
                    break;
                }
                cut.push(c);
            }
            rest = rest[cut.len()..].to_owned();
            parts.push(cut);
        }
        current = rest;
    }
    if !current.is_empty() {
        parts.push(current);
    }
    let n = parts.len();
    parts.into_iter().enumerate().map(|(i, p)| format!("({}/{n}) {p}", i + 1)).collect()
}

/// The request body for `text` to `to` under `config`, and its content type.
fn request_body(
    config: &SmsGatewayConfig,
    to: &str,
    text: &str,
    reference: &str,
    callback: &str,
) -> (String, &'static str) {
    let from = config.from.as_str();
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    match (&config.body, config.preset) {
        (None, Preset::Json) => {
            let body = JsonBody { to, from, text, callback_url: callback, reference };
            (serde_json::to_string(&body).unwrap_or_default(), json)
        }
        (None, Preset::Twilio) => {
            let mut body = form_urlencoded::Serializer::new(String::new());
            body.append_pair("To", to).append_pair("From", from).append_pair("Body", text);
            // a reply to a reporter has no status callback; Twilio refuses an empty one
            if !callback.is_empty() {
                body.append_pair("StatusCallback", callback);
            }
            (body.finish(), form)
        }
        (Some(template), preset) => {
            let escape = |s: &str| match preset {
                Preset::Json => {
                    let quoted = serde_json::to_string(s).unwrap_or_default();
                    quoted[1..quoted.len() - 1].to_owned()
                }
                Preset::Twilio => form_urlencoded::byte_serialize(s.as_bytes()).collect(),
            };
            let body = fill(template, |name| {
                let value = match name {
                    "to" => to,
                    "from" => from,
                    "text" => text,
                    "callback" => callback,
                    "ref" => reference,
                    _ => return None,
                };
                Some(escape(value))
            });
            (body, if preset == Preset::Json { json } else { form })
        }
    }
}

/// Sends SMS through the configured gateway.
#[derive(Debug, Clone)]
pub struct SmsSender {
    config: SmsGatewayConfig,
    method: reqwest::Method,
    http: reqwest::Client,
}

/// One SMS: its text, the delivery it belongs to (`ref` for the gateway),
/// and where the gateway reports its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub text: String,
    pub reference: String,
    pub callback: String,
}

/// The `json` preset's body.
#[derive(serde::Serialize)]
struct JsonBody<'a> {
    to: &'a str,
    from: &'a str,
    text: &'a str,
    callback_url: &'a str,
    #[serde(rename = "ref")]
    reference: &'a str,
}

/// `template` with each `{name}` that `value` knows replaced by its value,
/// in one pass: what is put in is never read again. Other braces stay.
fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| Some((value(&after[..close])?, close))) {
            Some((v, close)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl SmsSender {
    pub fn new(config: &SmsGatewayConfig) -> Result<Self, Error> {
        let bad = |m: String| Error::Config(format!("sms_gateway.{m}"));
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(bad(format!("url `{}` must be an http:// or https:// address", config.url)));
        }
        let method = match config.method.to_ascii_uppercase().as_str() {
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            other => return Err(bad(format!("method `{other}` must be POST or PUT"))),
        };
        let http =
            reqwest::Client::builder().timeout(config.timeout).build().map_err(|e| bad(format!("client: {e}")))?;
        Ok(Self { config: config.clone(), method, http })
    }

    async fn send_one(&self, to: &str, text: &str, reference: &str, callback: &str) -> Result<Receipt, SendError> {
        let (body, content_type) = request_body(&self.config, to, text, reference, callback);
        let mut request =
            self.http.request(self.method.clone(), &self.config.url).header("content-type", content_type).body(body);
        if let Some(user) = &self.config.username {
            request = request.basic_auth(user, self.config.password.as_deref());
        } else if let Some(token) = &self.config.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| SendError::Unreachable(e.to_string()))?;
        let status = response.status();
        let detail: String = response.text().await.unwrap_or_default().chars().take(300).collect();
        if status.is_success() {
            return Ok(Receipt { reply: detail });
        }
        Err(SendError::Gateway { status: status.as_u16(), detail })
    }
}

impl Channel for SmsSender {
    type Message = Sms;

    /// Sends the text to `to`, in parts when long; the receipt is the
    /// gateway's answer to the last part.
    async fn send(&self, to: &str, sms: &Sms) -> Result<Receipt, SendError> {
        let mut receipt = Receipt { reply: String::new() };
        for part in segments(&sms.text) {
            receipt = self.send_one(to, &part, &sms.reference, &sms.callback).await?;
        }
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(preset: Preset, body: Option<&str>) -> SmsGatewayConfig {
        SmsGatewayConfig {
            preset,
            url: "http://127.0.0.1:9/send".into(),
            method: default_method(),
            username: None,
            password: None,
            token: None,
            from: "KENTONGAN {to}".into(),
            body: body.map(Into::into),
            timeout: default_timeout(),
        }
    }

    /// A value that holds another placeholder's name goes out as it is: the
    /// body is made in one pass.
    #[test]
    fn values_are_put_in_once_whatever_they_hold() {
        let text = "kode {ref} {callback} {from} \"{to}\" 100% & lain-lain";
        let (to, reference, callback) = ("+62812{text}", "ref-{to}", "https://k.example/cb?token={ref}&x=1");
        let json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap();

        let (body, content_type) = request_body(&config(Preset::Json, None), to, text, reference, callback);
        assert_eq!(content_type, "application/json");
        let sent = json(&body);
        assert_eq!(
            (&sent["to"], &sent["from"], &sent["text"], &sent["callback_url"], &sent["ref"]),
            (&to.into(), &"KENTONGAN {to}".into(), &text.into(), &callback.into(), &reference.into())
        );

        let (body, content_type) = request_body(&config(Preset::Twilio, None), to, text, reference, callback);
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        let form: std::collections::HashMap<String, String> =
            form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        assert_eq!(
            (form["To"].as_str(), form["From"].as_str(), form["Body"].as_str(), form["StatusCallback"].as_str()),
            (to, "KENTONGAN {to}", text, callback)
        );

        let (body, _) = request_body(&config(Preset::Twilio, None), to, text, reference, "");
        assert!(!body.contains("StatusCallback"), "{body}");

        // a template of one's own: its placeholders once, other braces as they are
        let template = r#"{"msg":{"to":"{to}","body":"{text}","id":"{ref}","hook":"{callback}","x":"{nama}"}}"#;
        let (body, _) = request_body(&config(Preset::Json, Some(template)), to, text, reference, callback);
        let sent = json(&body);
        assert_eq!(
            (&sent["msg"]["to"], &sent["msg"]["body"], &sent["msg"]["id"], &sent["msg"]["hook"], &sent["msg"]["x"]),
            (&to.into(), &text.into(), &reference.into(), &callback.into(), &"{nama}".into())
        );
        let (body, _) = request_body(
            &config(Preset::Twilio, Some("To={to}&Body={text}&From={from}")),
            to,
            text,
            reference,
            callback,
        );
        let form: std::collections::HashMap<String, String> =
            form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        assert_eq!((form["To"].as_str(), form["Body"].as_str(), form["From"].as_str()), (to, text, "KENTONGAN {to}"));
    }

    #[test]
    fn short_messages_go_whole_and_long_ones_in_numbered_parts() {
        let short = "[SIAGA] Narkoba - Kota Palu: 5 laporan.";
        assert_eq!(segments(short), [short]);
        let exactly = "a".repeat(160);
        assert_eq!(segments(&exactly).len(), 1);
        // the extension set counts two: 80 euro signs are 160 septets, 81 are not
        assert_eq!(segments(&"€".repeat(80)).len(), 1);
        assert_eq!(segments(&"€".repeat(81)).len(), 2);
        let long = "Mohon segera ditindaklanjuti laporan warga tentang bentrokan antarkelompok pemuda di perbatasan \
                    desa yang sudah terjadi dua malam berturut-turut https://kentongan.example.go.id/#/alerts/0193a1b2-0000-7000-8000-000000000001";
        let parts = segments(long);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts.iter().all(|p| septets(p).unwrap() <= 153), "{parts:?}");
        assert!(parts[0].starts_with("(1/2) Mohon") && parts[1].starts_with("(2/2) "));
        let joined: String = parts.iter().map(|p| &p[6..]).collect::<Vec<_>>().join(" ");
        assert_eq!(joined, long);
        // text outside GSM-7 is sent as UCS-2: 70 a message, 67 a part
        let unicode = "Bentrokan ✊ di perbatasan desa, warga mengungsi ke balai desa dan masjid";
        assert!(septets(unicode).is_none());
        let parts = segments(unicode);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.encode_utf16().count() <= 67), "{parts:?}");
    }
}
