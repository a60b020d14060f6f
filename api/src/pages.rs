//! The HTML pages the API renders: minijinja templates from `api/templates/`,
//! compiled in. Every template is named `*.html`, so minijinja escapes all
//! that it inserts; this is the only place in `api` that writes HTML (the
//! web UI is a static page that builds its DOM from JSON).

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::Html;
use minijinja::{Environment, context};
use model::Alert;
use serde::Serialize;
use time::OffsetDateTime;

/// A rendered page and the status to answer it with.
pub type Page = (StatusCode, Html<String>);

const TEMPLATES: [(&str, &str); 3] = [
    ("page.html", include_str!("../templates/page.html")),
    ("ack_link.html", include_str!("../templates/ack_link.html")),
    ("ack_taken.html", include_str!("../templates/ack_taken.html")),
];

/// The templates are compiled in, and the tests render each one.
static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source).unwrap_or_else(|e| panic!("a compiled-in template is broken: {e:#}"));
    }
    env
});

fn render(status: StatusCode, name: &str, context: minijinja::Value) -> Page {
    match PAGES.get_template(name).and_then(|t| t.render(context)) {
        Ok(html) => (status, Html(html)),
        Err(e) => {
            tracing::error!(template = name, error = %e, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<!doctype html><title>Kentongan</title>Kesalahan server".into()))
        }
    }
}

/// What a page says about the alert it is about.
#[derive(Serialize)]
struct AlertSummary {
    level: &'static str,
    indicator: String,
    region: String,
    count: u64,
}

impl From<&Alert> for AlertSummary {
    fn from(alert: &Alert) -> Self {
        AlertSummary {
            level: alert.level.as_str(),
            indicator: model::indicator_name(&alert.indicator),
            region: alert.region.name().to_owned(),
            count: alert.count,
        }
    }
}

/// A page with a title and one line of text.
pub fn message(status: StatusCode, title: &str, message: &str) -> Page {
    render(status, "page.html", context! { title, message })
}

/// A page with a title and one line of text about `alert`.
pub fn about_alert(status: StatusCode, alert: &Alert, title: &str, message: &str) -> Page {
    render(status, "page.html", context! { title, message, alert => AlertSummary::from(alert) })
}

/// The page an acknowledgement link opens: the alert, and one button that
/// posts `token` back to acknowledge it as `recipient`.
pub fn ack_form(alert: &Alert, recipient: &str, token: &str) -> Page {
    let alert = AlertSummary::from(alert);
    render(StatusCode::OK, "ack_link.html", context! { title => "Terima peringatan", alert, recipient, token })
}

/// The page of a link whose alert someone has acknowledged already (409).
pub fn ack_taken(alert: &Alert, by: &str, at: OffsetDateTime) -> Page {
    let at = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let alert = AlertSummary::from(alert);
    render(StatusCode::CONFLICT, "ack_taken.html", context! { title => "Sudah diterima", alert, by, at })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str = "<script>alert(\"x\")</script> & 'y'";

    fn escaped(page: &Page) -> &str {
        let html = &page.1.0;
        assert!(!html.contains("<script>") && !html.contains("\"x\"") && !html.contains("'y'"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt; &amp; &#x27;y&#x27;"), "{html}");
        html
    }

    #[test]
    fn every_page_escapes_what_it_inserts() {
        let at = time::macros::datetime!(2026-11-30 04:00 UTC);
        let alert = Alert { indicator: NASTY.into(), ..Alert::example(at) };

        let page = message(StatusCode::BAD_REQUEST, NASTY, NASTY);
        assert_eq!(page.0, StatusCode::BAD_REQUEST);
        assert_eq!(escaped(&page).matches("&lt;script&gt;").count(), 3, "title, heading and text");

        let page = about_alert(StatusCode::OK, &alert, "Peringatan diterima", "Terima kasih.");
        assert!(escaped(&page).contains("[SIAGA] ") && page.1.0.contains("Kota Palu</b><br>4 laporan"));

        let page = ack_form(&alert, NASTY, NASTY);
        assert_eq!(page.0, StatusCode::OK);
        let html = escaped(&page);
        assert!(
            html.contains("value=\"&lt;script&gt;alert(&quot;x&quot;)"),
            "the token stays inside the attribute: {html}"
        );
        assert!(html.contains("<button>Terima peringatan ini</button>"));

        let page = ack_taken(&alert, NASTY, at);
        assert_eq!(page.0, StatusCode::CONFLICT);
        assert!(escaped(&page).contains("pada 2026-11-30T04:00:00Z UTC"));
    }
}
