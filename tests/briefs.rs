//! The morning brief on a running node: yesterday's reports of Sulawesi
//! Tengah, an open alert and a LAPSITDA filing are counted in the brief's
//! data, its HTML page and its PDF (read back with `pdftotext`); scope and
//! bad queries; the brief that went out is archived and served again as it
//! was sent, across a restart. With `--features services`, reminders go by
//! email only to the units of filers that have not filed, the parent unit
//! gets a summary, and the brief arrives with its PDF.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Node, TOKEN, call, client, create_user, eventually};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

/// `sabu` is narkoba, one report is waspada: the report posted now raises
/// an alert that is open when the brief is made.
const RULES: &str = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n\n[[rule]]\nid = \"k\"\n\
                     indicator = \"konflik_sosial\"\nany = [\"bentrok\"]\n\n[threshold.narkoba]\nwindow = \"1h\"\n\
                     waspada = 1\n\n[threshold.konflik_sosial]\nwindow = \"1h\"\nwaspada = 50\n";

const UNITS: &str = "[[unit]]\nid = \"sulteng\"\nname = \"Kesbangpol Sulawesi Tengah\"\nregions = [\"72\"]\n\
                     emails = [\"sulteng@example.test\"]\n\n[[unit]]\nid = \"palu\"\nname = \"Kesbangpol Kota Palu\"\n\
                     regions = [\"72.71\"]\nparent = \"sulteng\"\nemails = [\"palu@example.test\"]\n\n[[unit]]\n\
                     id = \"donggala\"\nname = \"Kesbangpol Kabupaten Donggala\"\nregions = [\"72.03\"]\n\
                     parent = \"sulteng\"\nemails = [\"donggala@example.test\"]\n";

fn wita() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap()
}

fn day(t: OffsetDateTime) -> String {
    let d = t.to_offset(wita()).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The node's configuration: the rules, the units, and `extra`.
fn config(dir: &Path, extra: &str) -> String {
    std::fs::write(dir.join("rules.toml"), RULES).unwrap();
    std::fs::write(dir.join("units.toml"), UNITS).unwrap();
    format!(
        "units_file = \"{}\"\n\n[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n{extra}",
        dir.join("units.toml").display(),
        dir.join("rules.toml").display()
    )
}

async fn get(node: &Node, path: &str, token: &str) -> reqwest::Response {
    client().get(node.url(path)).bearer_auth(token).send().await.unwrap()
}

/// The text of a PDF, by `pdftotext` (Debian's poppler-utils).
fn pdf_text(dir: &Path, pdf: &[u8]) -> String {
    let path = dir.join("brief.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is missing: install Debian's poppler-utils");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Yesterday (in WITA) in Sulawesi Tengah: two narkoba reports in Palu, one
/// konflik sosial report in Donggala, one untagged; a sabu report now
/// raises an alert; Kota Palu files its LAPSITDA for yesterday with one
/// incident. Returns the ids of the reports of yesterday that are tagged.
async fn a_day_in_sulteng(node: &Node) -> Vec<String> {
    let now = OffsetDateTime::now_utc();
    let yesterday = now.to_offset(wita()) - time::Duration::days(1);
    let at = |h: u8| {
        let t = yesterday.replace_hour(h).unwrap().replace_minute(0).unwrap();
        t.format(&time::format_description::well_known::Rfc3339).unwrap()
    };
    let mut ids = Vec::new();
    for (text, region, hour, tagged) in [
        ("Peredaran sabu di pasar <Inpres>", "72.71", 9, true),
        ("Penangkapan kurir sabu di pelabuhan", "72.71", 14, true),
        ("Bentrok antarwarga di Donggala", "72.03", 16, true),
        ("Jalan rusak di Donggala", "72.03", 11, false),
    ] {
        let body = json!({"text": text, "region": region, "reported_at": at(hour)});
        let (status, r) = call(node, "POST", "/api/v1/reports", Some(TOKEN), Some(body)).await;
        assert_eq!(status, 202, "{r}");
        if tagged {
            ids.push(r["id"].as_str().unwrap().to_owned());
        }
    }
    let (status, r) =
        call(node, "POST", "/api/v1/reports", Some(TOKEN), Some(json!({"text": "sabu lagi", "region": "72.71"}))).await;
    assert_eq!(status, 202, "{r}");
    common::alert_for(node, "72.71").await;

    let palu = create_user(node, "kesbang-palu", "operator", &["72.71"]).await;
    let mut values = json!({});
    for i in ["narkoba", "kerukunan_beragama", "ideologi", "demokrasi"] {
        values[format!("situasi_{i}")] = json!({"status": "aman"});
    }
    values["situasi_konflik_sosial"] =
        json!({"status": "athg", "incidents": [{"category": "gangguan", "text": "Keributan pemuda di Palu Barat"}]});
    let filing = json!({"period": day(yesterday), "region": "72.71", "values": values, "reported_at": at(20)});
    let (status, r) = call(node, "POST", "/api/v1/templates/lapsitda-harian/filings", Some(&palu), Some(filing)).await;
    assert_eq!(status, 202, "{r}");
    let filing = r["id"].as_str().unwrap().to_owned();
    // everything archived: the reports and the filing are found
    for id in ids.iter().chain([&filing]) {
        let found = eventually(Duration::from_secs(20), || async {
            let (s, _) = call(node, "GET", &format!("/api/v1/reports/{id}"), Some(TOKEN), None).await;
            (s == 200).then_some(())
        })
        .await;
        assert!(found.is_some(), "report {id} was not archived; log:\n{}", node.log());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brief_holds_the_days_numbers_and_the_one_sent_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &config(dir.path(), "[duties]\nremind_before = \"0s\"\n"), &[]).await;
    let tagged = a_day_in_sulteng(&node).await;

    // the live brief's data
    let response = get(&node, "/api/v1/briefs?region=72&format=json", TOKEN).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["kentongan-brief"], "live");
    let answer: Value = response.json().await.unwrap();
    let brief = &answer["brief"];
    assert_eq!((answer["archived"].as_bool(), brief["name"].as_str()), (Some(false), Some("Sulawesi Tengah")));
    // the four reports, and the filing, which is a report too
    assert_eq!(brief["reports"], 5, "{brief}");
    let indicator = |id: &str| brief["indicators"].as_array().unwrap().iter().find(|i| i["indicator"] == id).unwrap();
    assert_eq!(indicator("narkoba")["reports"], 2, "{brief}");
    assert_eq!(indicator("narkoba")["aman"], 1, "{brief}");
    assert_eq!(indicator("konflik_sosial")["reports"], 1, "{brief}");
    assert_eq!(indicator("konflik_sosial")["athg"]["gangguan"], 1, "{brief}");
    // the tagged reports of the day, each linked to its page in the web app
    let incidents: Vec<&str> =
        brief["incidents"].as_array().unwrap().iter().map(|i| i["report"].as_str().unwrap()).collect();
    assert_eq!(incidents.len(), 3, "{brief}");
    assert!(tagged.iter().all(|id| incidents.contains(&id.as_str())), "{incidents:?}");
    let link = brief["incidents"][0]["link"].as_str().unwrap();
    assert!(link.starts_with("http://127.0.0.1:") && link.contains("/#/reports/"), "{link}");
    // the alert raised now is open
    assert!(brief["open_alerts"].as_u64() >= Some(1), "{brief}");
    assert_eq!(
        (brief["alerts"][0]["level"].as_str(), brief["alerts"][0]["state"].as_str()),
        (Some("waspada"), Some("open"))
    );
    // Palu filed yesterday's LAPSITDA; the province and its other regencies did not
    let filings = &brief["filings"];
    let expected = filings["expected"].as_u64().unwrap();
    assert!(expected > 10, "{filings}");
    assert_eq!((filings["filed"].as_u64(), filings["on_time"].as_u64()), (Some(1), Some(1)), "{filings}");
    let missing: Vec<&str> =
        filings["missing"].as_array().unwrap().iter().map(|m| m["region"].as_str().unwrap()).collect();
    assert!(missing.contains(&"72") && missing.contains(&"72.03") && !missing.contains(&"72.71"), "{missing:?}");
    assert_eq!(missing.len() as u64, expected - 1);

    // the HTML page holds the same numbers, escaped
    let response = get(&node, "/api/v1/briefs?region=72", TOKEN).await;
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let page = response.text().await.unwrap();
    assert!(page.contains("<td>Narkoba</td><td>2</td>"), "{page}");
    assert!(page.contains("Peredaran sabu di pasar &lt;Inpres&gt;"), "{page}");
    assert!(page.contains(&format!("1 dari {expected} mengirim")), "{page}");
    assert!(page.contains("Kabupaten Donggala (72.03): belum mengirim"), "{page}");

    // and so does the PDF, as pdftotext reads it
    let response = get(&node, "/api/v1/briefs?region=72&format=pdf", TOKEN).await;
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let text = pdf_text(dir.path(), &response.bytes().await.unwrap());
    assert!(text.contains("Ringkasan Pagi Sulawesi Tengah"), "{text}");
    assert!(text.contains("Narkoba: 2 laporan"), "{text}");
    assert!(text.contains("Peredaran sabu di pasar <Inpres>"), "{text}");
    assert!(text.contains(&format!("1 dari {expected} mengirim")), "{text}");
    assert!(text.contains("Kabupaten Donggala (72.03): belum mengirim"), "{text}");

    // scope: a regency's account does not see its province's brief, nor the nation's
    let palu = create_user(&node, "analis-palu", "analyst", &["72.71"]).await;
    assert_eq!(get(&node, "/api/v1/briefs?region=72", &palu).await.status(), 404);
    assert_eq!(get(&node, "/api/v1/briefs", &palu).await.status(), 404);
    let sulteng = create_user(&node, "analis-sulteng", "analyst", &["72"]).await;
    assert_eq!(get(&node, "/api/v1/briefs?region=72", &sulteng).await.status(), 200);
    assert_eq!(get(&node, "/api/v1/briefs?format=json", TOKEN).await.status(), 200, "national");
    let reporter = create_user(&node, "warga", "reporter", &["72"]).await;
    assert_eq!(get(&node, "/api/v1/briefs?region=72", &reporter).await.status(), 403);
    // bad queries say what to fix
    for (query, status, says) in [
        ("region=72.71", 422, "not a province"),
        ("region=72&date=2999-01-01", 422, "has not come yet"),
        ("region=72&date=kemarin", 422, "not a day"),
        ("region=99", 422, "region"),
        ("region=72&format=docx", 400, "docx"),
    ] {
        let (s, body) = call(&node, "GET", &format!("/api/v1/briefs?{query}"), Some(TOKEN), None).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(s, status, "{query}: {body}");
        assert!(message.contains(says), "{query}: {message}");
    }
    let (s, list) = call(&node, "GET", "/api/v1/briefs/archive", Some(TOKEN), None).await;
    assert_eq!((s, list["briefs"].as_array().map(Vec::len)), (200, Some(0)), "nothing went out yet: {list}");
    drop(node);

    // Sulawesi Tengah's unit subscribes: the brief of today is made and archived at once
    let extra = "[duties]\nremind_before = \"0s\"\nbrief_at = \"00:00\"\nbrief_units = [\"sulteng\"]\n";
    let node = Node::start(dir.path(), &config(dir.path(), extra), &[]).await;
    let archived = eventually(Duration::from_secs(30), || async {
        let (_, list) = call(&node, "GET", "/api/v1/briefs/archive", Some(&sulteng), None).await;
        list["briefs"].as_array().filter(|b| !b.is_empty()).cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no brief archived; log:\n{}", node.log()));
    assert_eq!(archived.len(), 1, "{archived:?}");
    assert_eq!((archived[0]["region"].as_str(), archived[0]["reports"].as_u64()), (Some("72"), Some(5)));
    let today = day(OffsetDateTime::now_utc());
    assert_eq!(archived[0]["date"].as_str(), Some(today.as_str()));
    let (_, none) = call(&node, "GET", "/api/v1/briefs/archive", Some(&palu), None).await;
    assert_eq!(none["briefs"].as_array().map(Vec::len), Some(0), "out of a regency's scope");
    let sent = |node: &Node| {
        let url = format!("/api/v1/briefs?region=72&date={today}&format=json");
        let node_url = node.url(&url);
        async move {
            let r = client().get(node_url).bearer_auth(TOKEN).send().await.unwrap();
            assert_eq!(r.headers()["kentongan-brief"], "archived");
            r.json::<Value>().await.unwrap()["brief"].clone()
        }
    };
    let first = sent(&node).await;
    assert_eq!(first["generated_at"], archived[0]["generated_at"]);
    // a report of yesterday arriving later does not change the brief that went out
    let late = json!({"text": "sabu ketiga", "region": "72.71", "reported_at": (OffsetDateTime::now_utc() - time::Duration::days(1)).format(&time::format_description::well_known::Rfc3339).unwrap()});
    assert_eq!(call(&node, "POST", "/api/v1/reports", Some(TOKEN), Some(late)).await.0, 202);
    drop(node);
    let node = Node::start(dir.path(), &config(dir.path(), extra), &[]).await;
    let again = eventually(Duration::from_secs(20), || async {
        let (s, _) = call(&node, "GET", "/api/v1/briefs/archive", Some(TOKEN), None).await;
        (s == 200).then_some(())
    })
    .await;
    assert!(again.is_some());
    assert_eq!(sent(&node).await, first, "the archived brief is the one that was made");
    let text = pdf_text(
        dir.path(),
        &get(&node, &format!("/api/v1/briefs?region=72&date={today}&format=pdf"), TOKEN).await.bytes().await.unwrap(),
    );
    assert!(text.contains("Narkoba: 2 laporan"), "{text}");
}

/// Email to a real SMTP server (aiosmtpd from `tests/services/up`).
#[cfg(feature = "services")]
mod delivery {
    use std::collections::BTreeMap;
    use std::process::{Child, Command, Stdio};

    use super::*;
    use common::free_port;

    struct Smtp(Child);

    impl Smtp {
        async fn start(port: u16, maildir: &Path) -> Smtp {
            let python = std::env::var("TEST_KENTONGAN_AIOSMTPD_PYTHON")
                .expect("TEST_KENTONGAN_AIOSMTPD_PYTHON is not set: start the services with tests/services/up");
            let child = Command::new(python)
                .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
                .arg(maildir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let up = eventually(Duration::from_secs(20), || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok().map(|_| ())
            })
            .await;
            assert!(up.is_some(), "aiosmtpd did not start on {port}");
            Smtp(child)
        }
    }

    impl Drop for Smtp {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Each stored message: (recipient, subject, names of its attachments).
    fn mails(maildir: &Path) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(maildir.join("new")) else { return out };
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            let Some(m) = mail_parser::MessageParser::default().parse(&bytes) else { continue };
            let to = m.to().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
            let files = m
                .attachments()
                .filter_map(|a| mail_parser::MimeHeaders::attachment_name(a).map(str::to_owned))
                .collect();
            out.push((to, m.subject().unwrap_or_default().to_owned(), files));
        }
        out.sort();
        out
    }

    /// Reminders go only to the units of filers that have not filed; the
    /// parent unit gets yesterday's summary; the subscribed unit the brief
    /// with its PDF; each once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reminders_summaries_and_the_brief_arrive_by_email() {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let port = free_port();
        let _smtp = Smtp::start(port, &maildir).await;
        let smtp = format!("[smtp]\nurl = \"smtp://127.0.0.1:{port}\"\nfrom = \"Kentongan <k@example.test>\"\n\n");
        // first without reminders: Palu files today's LAPSITDA
        let quiet = format!("{smtp}[duties]\nremind_before = \"0s\"\nsummaries = false\n");
        let node = Node::start(dir.path(), &config(dir.path(), &quiet), &[]).await;
        let palu = create_user(&node, "kesbang-palu", "operator", &["72.71"]).await;
        let mut values = json!({});
        for i in ["narkoba", "konflik_sosial", "kerukunan_beragama", "ideologi", "demokrasi"] {
            values[format!("situasi_{i}")] = json!({"status": "aman"});
        }
        let today = day(OffsetDateTime::now_utc());
        let filing = json!({"period": today, "region": "72.71", "values": values});
        let (status, r) =
            call(&node, "POST", "/api/v1/templates/lapsitda-harian/filings", Some(&palu), Some(filing)).await;
        assert_eq!(status, 202, "{r}");
        drop(node);

        // then with reminders a whole day ahead, summaries and the brief
        let loud =
            format!("{smtp}[duties]\nremind_before = \"24h\"\nbrief_at = \"00:00\"\nbrief_units = [\"sulteng\"]\n");
        let node = Node::start(dir.path(), &config(dir.path(), &loud), &[]).await;
        let got = eventually(Duration::from_secs(60), || async {
            let all = mails(&maildir);
            let kinds = |to: &str, what: &str| all.iter().filter(|(t, s, _)| t == to && s.contains(what)).count();
            (kinds("donggala@example.test", "[PENGINGAT]") >= 1
                && kinds("sulteng@example.test", "[REKAP]") >= 1
                && kinds("sulteng@example.test", "Ringkasan Pagi") == 1)
                .then_some(all)
        })
        .await
        .unwrap_or_else(|| panic!("not every message arrived: {:?}; log:\n{}", mails(&maildir), node.log()));
        let to = |who: &str, what: &str| -> Vec<&(String, String, Vec<String>)> {
            got.iter().filter(|(t, s, _)| t == who && s.contains(what)).collect()
        };
        // Palu filed: no reminder; Donggala did not: one, for today
        assert!(to("palu@example.test", "[PENGINGAT]").is_empty(), "{got:?}");
        let donggala = to("donggala@example.test", "[PENGINGAT]");
        assert_eq!(donggala.len(), 1, "{got:?}");
        assert!(donggala[0].1.contains(&today) && donggala[0].1.contains("Kabupaten Donggala"), "{got:?}");
        // the province's unit is reminded of the filers without a unit of their own (the province, its other regencies)
        assert!(to("sulteng@example.test", "[PENGINGAT]").iter().any(|m| m.1.contains("Sulawesi Tengah")), "{got:?}");
        // yesterday's summary to the parent of Palu's and Donggala's units
        assert!(to("palu@example.test", "[REKAP]").is_empty() && to("donggala@example.test", "[REKAP]").is_empty());
        // the brief with its PDF
        let brief = to("sulteng@example.test", "Ringkasan Pagi");
        assert_eq!(brief[0].2, [format!("ringkasan-72-{today}.pdf")], "{got:?}");
        let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (t, s, _) in &got {
            *counts.entry((t.clone(), s.clone())).or_default() += 1;
        }
        assert!(counts.values().all(|n| *n == 1), "each message once: {counts:?}");
    }
}
