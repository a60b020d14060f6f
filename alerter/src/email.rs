//! Email notifications, in Indonesian, over SMTP with lettre.

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use model::{Alert, indicator_name};
use serde::Deserialize;
use time::{OffsetDateTime, UtcOffset};

use crate::Error;

/// `[smtp]`: where alert email goes out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host:port` (plain, or STARTTLS when offered with `?tls=required`),
    /// `smtps://user:pass@host` for TLS.
    pub url: String,
    /// The sender, for example `Kentongan <kentongan@kesbangpol.example.go.id>`.
    pub from: String,
}

/// The result of one delivery attempt that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    /// Retrying will not help (a 5xx answer, a malformed address).
    pub permanent: bool,
}

/// Sends alert email.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer")
    }
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|e| Error::Smtp(format!("smtp.url `{}`: {e}", redact(&config.url))))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = config
            .from
            .parse()
            .map_err(|e| Error::Smtp(format!("smtp.from `{}` is not an email address: {e}", config.from)))?;
        Ok(Self { transport, from })
    }

    /// Sends `alert` to `recipient` on behalf of `unit_name`.
    pub async fn send(
        &self,
        alert: &Alert,
        unit_name: &str,
        recipient: &str,
        links: &Links,
        escalated_from: &[String],
    ) -> Result<(), SendError> {
        let to: Mailbox = recipient
            .parse()
            .map_err(|e| SendError { message: format!("bad recipient `{recipient}`: {e}"), permanent: true })?;
        let body = compose(alert, unit_name, links, escalated_from);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&body.subject)
            .message_id(Some(format!("<{}.{}@kentongan>", alert.id, fastrand::u64(..))))
            .multipart(MultiPart::alternative_plain_html(body.text, body.html))
            .map_err(|e| SendError { message: e.to_string(), permanent: true })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError { message: e.to_string(), permanent: e.is_permanent() })
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

/// The links in an alert email: the alert in the web UI, and the one-click
/// acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    pub alert: String,
    pub ack: String,
}

impl Links {
    pub fn new(public_url: &str, alert: uuid::Uuid, token: &str) -> Self {
        let base = public_url.trim_end_matches('/');
        Self {
            alert: format!("{base}/#/alerts/{alert}"),
            ack: format!("{base}/api/v1/alerts/{alert}/ack-link?token={token}"),
        }
    }
}

/// The subject and bodies of an alert email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn local(t: OffsetDateTime, offset_hours: i8) -> String {
    let offset = UtcOffset::from_hms(offset_hours, 0, 0).unwrap_or(UtcOffset::UTC);
    let t = t.to_offset(offset);
    format!("{:02}-{:02}-{} {:02}:{:02}", t.day(), u8::from(t.month()), t.year(), t.hour(), t.minute())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes the notification for `alert`: subject `[SIAGA] Konflik sosial - Kota Palu`,
/// then the window, the triggering reports, the acknowledgement link and a
/// link to the alert.
///
/// An escalation (`escalated_from` names the units that did not
/// acknowledge) says so in the subject and first.
pub fn compose(alert: &Alert, unit_name: &str, links: &Links, escalated_from: &[String]) -> Composed {
    let level = alert.level.as_str().to_uppercase();
    let indicator = indicator_name(&alert.indicator);
    let region = alert.region.name();
    let province = alert.region.province();
    let (zone, hours) = alert.region.time_zone();
    let escalated = (!escalated_from.is_empty()).then(|| {
        format!(
            "ESKALASI: peringatan ini diteruskan kepada {unit_name} karena belum diterima oleh {}.",
            escalated_from.join(", ")
        )
    });
    let subject = match &escalated {
        Some(_) => format!("[ESKALASI] [{level}] {indicator} - {region}"),
        None => format!("[{level}] {indicator} - {region}"),
    };
    let place = if province == alert.region {
        format!("{region} ({})", alert.region)
    } else {
        format!("{region} ({}), {}", alert.region, province.name())
    };
    let link = &links.alert;
    let ack = &links.ack;
    let window = format!(
        "{} laporan antara {} dan {} {zone}",
        alert.count,
        local(alert.window.start, hours),
        local(alert.window.end, hours)
    );
    let mut text = escalated.as_ref().map(|e| format!("{e}\n\n")).unwrap_or_default();
    text.push_str(&format!(
        "PERINGATAN DINI: {level}\n\nIndikator : {indicator}\nWilayah   : {place}\nJumlah    : {window}\n\nLaporan pemicu:\n"
    ));
    let mut items = String::new();
    for (i, r) in alert.reports.iter().rev().take(10).enumerate() {
        text.push_str(&format!("{}. [{} {zone}] {}\n", i + 1, local(r.reported_at, hours), r.excerpt));
        items.push_str(&format!("<li><b>{} {zone}</b> {}</li>", local(r.reported_at, hours), html_escape(&r.excerpt)));
    }
    if alert.reports.len() > 10 {
        text.push_str(&format!("… dan {} laporan lain\n", alert.reports.len() - 10));
    }
    text.push_str(&format!(
        "\nTerima (akui) peringatan ini dengan satu klik, berlaku 3 hari: {ack}\n\
         Lihat dan tindak lanjuti peringatan ini: {link}\n\n\
         Pesan otomatis dari kentongan untuk {unit_name}. Jangan teruskan: laporan dapat memuat identitas pelapor.\n"
    ));
    let html = format!(
        "<!doctype html><html lang=\"id\"><body style=\"font-family:sans-serif\">\
         {}<h2 style=\"margin:0\">Peringatan dini: {level}</h2>\
         <table><tr><td>Indikator</td><td><b>{}</b></td></tr>\
         <tr><td>Wilayah</td><td><b>{}</b></td></tr>\
         <tr><td>Jumlah</td><td>{}</td></tr></table>\
         <h3>Laporan pemicu</h3><ol>{items}</ol>\
         <p><a href=\"{}\" style=\"font-weight:bold\">Terima peringatan ini</a> (satu klik, berlaku 3 hari) · \
         <a href=\"{}\">Lihat dan tindak lanjuti</a></p>\
         <p style=\"color:#666;font-size:small\">Pesan otomatis dari kentongan untuk {}. \
         Jangan teruskan: laporan dapat memuat identitas pelapor.</p></body></html>",
        escalated.map(|e| format!("<p style=\"color:#b00020\"><b>{}</b></p>", html_escape(&e))).unwrap_or_default(),
        html_escape(&indicator),
        html_escape(&place),
        html_escape(&window),
        html_escape(ack),
        html_escape(link),
        html_escape(unit_name),
    );
    Composed { subject, text, html }
}

#[cfg(test)]
mod tests {
    use model::{AlertState, Level, RegionCode, ReportId, ReportRef, Window};
    use time::macros::datetime;

    use super::*;

    #[test]
    fn indonesian_subject_and_body_in_local_time() {
        let t = datetime!(2026-11-29 02:00 UTC);
        let alert = Alert {
            id: uuid::Uuid::nil(),
            key: "konflik_sosial/72.71".into(),
            indicator: "konflik_sosial".into(),
            region: RegionCode::parse("72.71").unwrap(),
            level: Level::Siaga,
            window: Window { start: t - time::Duration::DAY, end: t },
            count: 4,
            score: 8.0,
            reports: vec![ReportRef {
                id: ReportId(uuid::Uuid::nil()),
                reported_at: t,
                excerpt: "Bentrok <warga>".into(),
            }],
            state: AlertState::Open,
            raised_at: t,
            deliveries: vec![],
            history: vec![],
            escalations: vec![],
        };
        let links = Links::new("https://kentongan.example/", alert.id, "123.abc.def");
        let c = compose(&alert, "Kesbangpol Kota Palu", &links, &[]);
        assert_eq!(c.subject, "[SIAGA] Konflik sosial - Kota Palu");
        assert!(c.text.contains("Kota Palu (72.71), Sulawesi Tengah"), "{}", c.text);
        assert!(c.text.contains("4 laporan antara 28-11-2026 10:00 dan 29-11-2026 10:00 WITA"), "{}", c.text);
        assert!(c.text.contains("https://kentongan.example/#/alerts/00000000-0000-0000-0000-000000000000"));
        assert!(c.text.contains(
            "satu klik, berlaku 3 hari: https://kentongan.example/api/v1/alerts/00000000-0000-0000-0000-000000000000/ack-link?token=123.abc.def"
        ));
        assert!(c.html.contains("Bentrok &lt;warga&gt;"));
        assert!(c.html.contains("ack-link?token=123.abc.def\" style=\"font-weight:bold\">Terima peringatan ini</a>"));
        assert_eq!(redact("smtps://user:pw@mail.example:465"), "smtps://***@mail.example:465");
        let up = compose(&alert, "Kesbangpol Sulawesi Tengah", &links, &["Kesbangpol Kota Palu".into()]);
        assert_eq!(up.subject, "[ESKALASI] [SIAGA] Konflik sosial - Kota Palu");
        assert!(up.text.starts_with(
            "ESKALASI: peringatan ini diteruskan kepada Kesbangpol Sulawesi Tengah karena belum diterima oleh Kesbangpol Kota Palu."
        ));
        assert!(up.html.contains("ESKALASI: peringatan ini diteruskan"));
    }
}
