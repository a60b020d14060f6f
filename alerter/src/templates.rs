//! The words of notifications, from templates (minijinja): Indonesian, and
//! English for units whose `language` is `en`. The built-in templates are in
//! `alerter/templates/`; a folder named by `notification_templates` may
//! replace any of them by file name. Every template is rendered once with a
//! sample alert when the node starts, so a mistake stops the start with the
//! file and line, not a notification at three in the morning.

use std::path::Path;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment};
use model::{Alert, Level, RegionCode, indicator_name};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::Error;
use crate::email::{Composed, Links};

const BUILTIN: [(&str, &str); 8] = [
    ("email.id.subject", include_str!("../templates/email.id.subject")),
    ("email.id.txt", include_str!("../templates/email.id.txt")),
    ("email.id.html", include_str!("../templates/email.id.html")),
    ("email.en.subject", include_str!("../templates/email.en.subject")),
    ("email.en.txt", include_str!("../templates/email.en.txt")),
    ("email.en.html", include_str!("../templates/email.en.html")),
    ("sms.id.txt", include_str!("../templates/sms.id.txt")),
    ("sms.en.txt", include_str!("../templates/sms.en.txt")),
];

/// The notification templates in force.
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

/// A child alert of a parent alert's chain, as its notification lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    pub region: RegionCode,
    pub level: Level,
}

/// What a notification tells beside the alert itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extras<'a> {
    /// For an escalation: the names of the units that did not take it on.
    pub escalated_from: &'a [String],
    /// For an escalation: earlier notifications.
    pub notified: &'a [crate::policy::Notified],
    /// For a parent alert: the child alerts of its chain.
    pub children: &'a [Child],
}

/// What a template can use.
#[derive(Serialize)]
struct Context<'a> {
    level: String,
    indicator: String,
    region: &'a str,
    place: String,
    count: u64,
    start: String,
    end: String,
    zone: &'a str,
    reports: Vec<ReportLine>,
    more: usize,
    unit: &'a str,
    escalated_from: &'a [String],
    /// For an escalation: earlier notifications, with `status` `sent`,
    /// `failed` or `pending`.
    notified: &'a [crate::policy::Notified],
    /// For a parent alert: its child alerts, with `place` (`Kota Palu
    /// (72.71)`) and `level` (`SIAGA`).
    children: Vec<ChildLine>,
    alert_link: &'a str,
    ack_link: &'a str,
}

#[derive(Serialize)]
struct ChildLine {
    place: String,
    level: String,
}

#[derive(Serialize)]
struct ReportLine {
    at: String,
    excerpt: String,
}

fn local(t: OffsetDateTime, offset_hours: i8) -> String {
    let offset = UtcOffset::from_hms(offset_hours, 0, 0).unwrap_or(UtcOffset::UTC);
    let t = t.to_offset(offset);
    format!("{:02}-{:02}-{} {:02}:{:02}", t.day(), u8::from(t.month()), t.year(), t.hour(), t.minute())
}

/// The indicator's name in English.
fn indicator_in_english(id: &str) -> String {
    match id {
        "narkoba" => "Drug trafficking".into(),
        "konflik_sosial" => "Social conflict".into(),
        "kerukunan_beragama" => "Religious harmony".into(),
        "ideologi" => "Ideology, radicalism and separatism".into(),
        "demokrasi" => "Democracy and elections".into(),
        other => indicator_name(other),
    }
}

/// `en` for English; Indonesian otherwise.
fn lang(language: Option<&str>) -> &'static str {
    if language == Some("en") { "en" } else { "id" }
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Self {
        Self::load(None).expect("the built-in templates render")
    }

    /// The built-in templates, with those in `dir` (same file names) instead.
    pub fn load(dir: Option<&Path>) -> Result<Self, Error> {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(false);
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        for (name, text) in BUILTIN {
            let (source, text) = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                    (path.display().to_string(), text)
                }
                None => (format!("built-in {name}"), text.to_owned()),
            };
            env.add_template_owned(name, text).map_err(|e| Error::Config(format!("{source}: {e:#}")))?;
        }
        let templates = Self { env: Arc::new(env) };
        // a parent alert, escalated: every variable has a value
        let sample = Alert::example_parent(time::macros::datetime!(2026-11-29 02:00 UTC));
        let links = Links::new("https://kentongan.example", sample.id, "0.00.00");
        let notified = [crate::policy::Notified {
            unit: "Kesbangpol Kota Palu".into(),
            channel: model::DeliveryChannel::Email,
            recipient: "piket@palukota.go.id".into(),
            status: crate::policy::Status::Sent,
        }];
        let escalated = ["Kesbangpol Kota Palu".to_owned()];
        let children = [Child { region: RegionCode::parse("72.71").expect("a real code"), level: Level::Siaga }];
        let extras = Extras { escalated_from: &escalated, notified: &notified, children: &children };
        for language in ["id", "en"] {
            templates.email(&sample, "Kesbangpol", &links, extras, Some(language))?;
            templates.sms(&sample, &links.alert, extras, Some(language))?;
        }
        Ok(templates)
    }

    fn context<'a>(
        alert: &'a Alert,
        unit: &'a str,
        links: &'a Links,
        extras: Extras<'a>,
        language: &str,
    ) -> Context<'a> {
        let region = alert.region.name();
        let province = alert.region.province();
        let (zone, hours) = alert.region.time_zone();
        let place = if province == alert.region {
            format!("{region} ({})", alert.region)
        } else {
            format!("{region} ({}), {}", alert.region, province.name())
        };
        Context {
            level: alert.level.as_str().to_uppercase(),
            indicator: if language == "en" {
                indicator_in_english(&alert.indicator)
            } else {
                indicator_name(&alert.indicator)
            },
            region,
            place,
            count: alert.count,
            start: local(alert.window.start, hours),
            end: local(alert.window.end, hours),
            zone,
            reports: alert
                .reports
                .iter()
                .rev()
                .take(10)
                .map(|r| ReportLine { at: local(r.reported_at, hours), excerpt: r.excerpt.clone() })
                .collect(),
            more: alert.reports.len().saturating_sub(10),
            unit,
            escalated_from: extras.escalated_from,
            notified: extras.notified,
            children: extras
                .children
                .iter()
                .map(|c| ChildLine {
                    place: format!("{} ({})", c.region.name(), c.region),
                    level: c.level.as_str().to_uppercase(),
                })
                .collect(),
            alert_link: &links.alert,
            ack_link: &links.ack,
        }
    }

    fn render(&self, name: &str, context: &Context<'_>) -> Result<String, Error> {
        self.env
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(|e| Error::Config(format!("template {name}: {e:#}")))
    }

    /// The email for `alert` to `unit`: subject `[SIAGA] Konflik sosial - Kota Palu`, text and HTML.
    pub fn email(
        &self,
        alert: &Alert,
        unit: &str,
        links: &Links,
        extras: Extras<'_>,
        language: Option<&str>,
    ) -> Result<Composed, Error> {
        let lang = lang(language);
        let context = Self::context(alert, unit, links, extras, lang);
        Ok(Composed {
            subject: self.render(&format!("email.{lang}.subject"), &context)?.trim().to_owned(),
            text: self.render(&format!("email.{lang}.txt"), &context)?,
            html: self.render(&format!("email.{lang}.html"), &context)?,
        })
    }

    /// The SMS for `alert`, before it is split to fit.
    pub fn sms(
        &self,
        alert: &Alert,
        alert_link: &str,
        extras: Extras<'_>,
        language: Option<&str>,
    ) -> Result<String, Error> {
        let lang = lang(language);
        let links = Links { alert: alert_link.to_owned(), ack: String::new() };
        let context = Self::context(alert, "", &links, Extras { notified: &[], ..extras }, lang);
        Ok(self.render(&format!("sms.{lang}.txt"), &context)?.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alert to try the templates on.
    fn sample() -> Alert {
        Alert::example(time::macros::datetime!(2026-11-29 02:00 UTC))
    }

    const NONE: Extras<'static> = Extras { escalated_from: &[], notified: &[], children: &[] };

    #[test]
    fn indonesian_first_english_on_request_and_html_escaped() {
        let t = Templates::builtin();
        let alert = sample();
        let links = Links::new("https://kentongan.example/", alert.id, "123.abc.def");
        let c = t.email(&alert, "Kesbangpol Kota Palu", &links, NONE, None).unwrap();
        assert_eq!(c.subject, "[SIAGA] Konflik sosial - Kota Palu");
        assert!(c.text.contains("Kota Palu (72.71), Sulawesi Tengah"), "{}", c.text);
        assert!(c.text.contains("4 laporan antara 28-11-2026 10:00 dan 29-11-2026 10:00 WITA"), "{}", c.text);
        assert!(c.text.contains("https://kentongan.example/#/alerts/00000000-0000-0000-0000-000000000000"));
        assert!(c.text.contains(
            "satu klik, berlaku 3 hari: https://kentongan.example/api/v1/alerts/00000000-0000-0000-0000-000000000000/ack-link?token=123.abc.def"
        ));
        assert!(c.text.contains("1. [29-11-2026 10:00 WITA] Bentrok <warga>"), "{}", c.text);
        assert!(c.html.contains("Bentrok &lt;warga&gt;"), "{}", c.html);
        assert!(
            c.html.contains("token=123.abc.def\" style=\"font-weight:bold\">Terima peringatan ini</a>"),
            "{}",
            c.html
        );

        let notified = [
            crate::policy::Notified {
                unit: "Kesbangpol Kota Palu".into(),
                channel: model::DeliveryChannel::Email,
                recipient: "piket@palukota.go.id".into(),
                status: crate::policy::Status::Sent,
            },
            crate::policy::Notified {
                unit: "Kesbangpol Kota Palu".into(),
                channel: model::DeliveryChannel::Sms,
                recipient: "+6281100007271".into(),
                status: crate::policy::Status::Failed,
            },
        ];
        let escalated = ["Kesbangpol Kota Palu".to_owned()];
        let extras = Extras { escalated_from: &escalated, notified: &notified, ..NONE };
        let up = t.email(&alert, "Kesbangpol Sulawesi Tengah", &links, extras, Some("id")).unwrap();
        assert!(up.text.contains("- Kesbangpol Kota Palu, email piket@palukota.go.id: terkirim"), "{}", up.text);
        assert!(up.text.contains("- Kesbangpol Kota Palu, sms +6281100007271: gagal"), "{}", up.text);
        assert_eq!(up.subject, "[ESKALASI] [SIAGA] Konflik sosial - Kota Palu");
        assert!(up.text.starts_with(
            "ESKALASI: peringatan ini diteruskan kepada Kesbangpol Sulawesi Tengah karena belum diterima oleh Kesbangpol Kota Palu."
        ), "{}", up.text);

        let en = t.email(&alert, "BNN Palu", &links, NONE, Some("en")).unwrap();
        assert_eq!(en.subject, "[SIAGA] Social conflict - Kota Palu");
        assert!(en.text.contains("4 reports between"), "{}", en.text);
        // an SMS stays one part: the email says who was silent
        let x = ["Kesbangpol Kota Palu".to_owned()];
        let sms = t.sms(&alert, "https://k.example/#/alerts/1", Extras { escalated_from: &x, ..NONE }, None).unwrap();
        assert_eq!(
            sms,
            "ESKALASI [SIAGA] Konflik sosial - Kota Palu: 4 laporan. Mohon segera ditindaklanjuti. https://k.example/#/alerts/1"
        );
    }

    #[test]
    fn a_parent_alert_lists_its_children() {
        let t = Templates::builtin();
        let parent = Alert::example_parent(time::macros::datetime!(2026-11-29 02:00 UTC));
        let links = Links::new("https://kentongan.example/", parent.id, "1.a.b");
        let children = [
            Child { region: RegionCode::parse("72.71").unwrap(), level: Level::Siaga },
            Child { region: RegionCode::parse("72.03").unwrap(), level: Level::Waspada },
        ];
        let extras = Extras { children: &children, ..NONE };
        let id = t.email(&parent, "Kesbangpol Sulawesi Tengah", &links, extras, None).unwrap();
        assert_eq!(id.subject, "[SIAGA] Konflik sosial - Sulawesi Tengah");
        assert!(
            id.text.contains(
                "Peringatan ini menghimpun peringatan wilayah di bawahnya:\n- Kota Palu (72.71): SIAGA\n- Kabupaten Donggala (72.03): WASPADA\n"
            ),
            "{}",
            id.text
        );
        assert!(id.html.contains("<li>Kota Palu (72.71): <b>SIAGA</b></li>"), "{}", id.html);
        let en = t.email(&parent, "BNN", &links, extras, Some("en")).unwrap();
        assert!(en.text.contains("the regions below it:\n- Kota Palu (72.71): SIAGA\n"), "{}", en.text);
        // an alert without children says nothing of a chain
        let alone = t.email(&sample(), "Kesbangpol Kota Palu", &links, NONE, None).unwrap();
        assert!(!alone.text.contains("menghimpun"), "{}", alone.text);
    }

    #[test]
    fn a_folder_replaces_templates_and_mistakes_stop_the_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sms.id.txt"), "KENTONGAN {{ level }} {{ region }}").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(t.sms(&sample(), "", NONE, None).unwrap(), "KENTONGAN SIAGA Kota Palu");
        std::fs::write(dir.path().join("email.id.txt"), "{% for r in reports %}{{ r.at }").unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("email.id.txt"), "{e}");
    }
}
