//! What the analyst and admin pages of the web app need from the API, on a
//! running node: the CSV export of a search, trends (a daily series, a
//! region × indicator breakdown, rising regions), the history of a rule file
//! and its rollback, the bootstrap admin's first sign-in, and deactivating
//! an account or resetting its password. Each within the caller's regions.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Node, TOKEN, call, client, create_user, create_user_as, eventually, post_report};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Posts a report that happened `days_ago` days before now.
async fn report(node: &Node, text: &str, region: &str, days_ago: i64) -> String {
    let at = (OffsetDateTime::now_utc() - time::Duration::days(days_ago) - time::Duration::minutes(5))
        .format(&Rfc3339)
        .unwrap();
    let (status, body) = post_report(node, json!({"text": text, "region": region, "reported_at": at})).await;
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Waits until the national search finds `n` reports.
async fn archived(node: &Node, n: u64) {
    let found = eventually(Duration::from_secs(30), || async {
        let (_, body) = call(node, "GET", "/api/v1/search?limit=1", Some(TOKEN), None).await;
        (body["total"].as_u64() == Some(n)).then_some(())
    })
    .await;
    assert!(found.is_some(), "the archive did not reach {n} reports");
}

/// A GET with `token`: status, headers and text.
async fn get_text(node: &Node, path: &str, token: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = client().get(node.url(path)).bearer_auth(token).send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// CSV as rows of cells (quoted cells with `""`, commas and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut cell)),
            ('\n', false) => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => cell.push(c),
        }
    }
    rows
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

/// The export holds every match within the caller's regions, as CSV with
/// region names and local times; formulas are defused; the cap and the
/// total are in the headers; paging parameters and bad values are refused.
#[tokio::test]
async fn a_search_is_exported_as_csv_within_the_callers_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let palu = report(&node, "Pesta sabu di Palu, warga resah", "72.71", 0).await;
    let formula = r#"=HYPERLINK("http://contoh.invalid","klik") pesta sabu di pasar"#;
    let (status, body) = post_report(&node, json!({"text": formula, "title": "-2+3 sabu", "region": "72.71.02"})).await;
    assert_eq!(status, 202, "{body}");
    report(&node, "Pesta sabu di Makassar", "73.71", 0).await;
    archived(&node, 3).await;
    let analyst = create_user(&node, "analis-sulteng", "analyst", &["72"]).await;

    let (status, headers, text) = get_text(&node, "/api/v1/search/export?q=sabu", &analyst).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
    let wib = OffsetDateTime::now_utc().to_offset(time::macros::offset!(+7)).date();
    let filename =
        format!("attachment; filename=\"kentongan-{:04}{:02}{:02}.csv\"", wib.year(), u8::from(wib.month()), wib.day());
    assert_eq!(header(&headers, "content-disposition"), filename);
    assert_eq!((header(&headers, "x-total-count"), header(&headers, "x-export-rows")), ("2", "2"));
    // a browser asks for it gzipped: the whole file comes, compressed
    let r = client()
        .get(node.url("/api/v1/search/export?q=sabu"))
        .bearer_auth(&analyst)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!((r.status().as_u16(), header(r.headers(), "content-encoding")), (200, "gzip"));
    let gzipped = r.bytes().await.expect("the gzipped export ends cleanly");
    assert!(gzipped.starts_with(&[0x1f, 0x8b]) && gzipped.len() > 20, "{gzipped:?}");
    let rows = parse_csv(&text);
    assert_eq!(
        rows[0],
        [
            "id",
            "received_at",
            "received_at_local",
            "time_zone",
            "region",
            "region_name",
            "indicators",
            "channel",
            "source",
            "title",
            "text"
        ]
    );
    assert_eq!(rows.len(), 3, "{text}");
    assert!(!text.contains("Makassar"), "73 is outside the analyst's regions: {text}");
    let row = rows.iter().find(|r| r[0] == palu).expect("the Palu report");
    assert_eq!((row[3].as_str(), row[4].as_str(), row[5].as_str()), ("WITA", "72.71", "Kota Palu"));
    assert!(row[6].split(';').any(|i| i == "narkoba"), "{row:?}");
    let utc = OffsetDateTime::parse(&row[1], &Rfc3339).unwrap();
    let local = OffsetDateTime::parse(&row[2], &Rfc3339).unwrap();
    assert!(row[1].ends_with('Z') && row[2].ends_with("+08:00") && utc == local, "{row:?}");
    // cells a spreadsheet would run as formulas start with '
    let defused = rows.iter().find(|r| r[4] == "72.71.02").expect("the formula report");
    assert_eq!(defused[9], "'-2+3 sabu");
    assert_eq!(defused[10], format!("'{formula}"));

    // a national caller gets every region; `limit` caps the rows, and the headers say so
    let (status, headers, text) = get_text(&node, "/api/v1/search/export?indicator=narkoba&limit=1", TOKEN).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!((header(&headers, "x-total-count"), header(&headers, "x-export-rows")), ("3", "1"));
    assert_eq!(parse_csv(&text).len(), 2);

    for (query, field) in [
        ("offset=10", "offset"),
        ("after=n123", "offset"),
        ("limit=0", "limit"),
        ("limit=50001", "limit"),
        ("q=title:*", "q"),
        ("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "from"),
    ] {
        let (status, body) = call(&node, "GET", &format!("/api/v1/search/export?{query}"), Some(TOKEN), None).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{query}: {body}");
    }
    let (status, _) = call(&node, "GET", "/api/v1/search/export?region=99", Some(TOKEN), None).await;
    assert_eq!(status, 422);
    let operator = create_user(&node, "operator-palu", "operator", &["72.71"]).await;
    let (status, _) = call(&node, "GET", "/api/v1/search/export", Some(&operator), None).await;
    assert_eq!(status, 403);
}

/// The daily series, the breakdown one level below the caller's regions
/// and the rising regions count only within the caller's regions, and
/// refuse regions outside them and absurd periods.
#[tokio::test]
async fn trends_are_counted_one_level_below_the_callers_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    // Palu: three reports this week, none before; Donggala (72.03): one this
    // week against four in the four weeks before; Makassar (73.71): two this week
    let sabu = "Pesta sabu digerebek polisi";
    for (region, days_ago) in [
        ("72.71", 0),
        ("72.71", 1),
        ("72.71.02", 2),
        ("72.03", 1),
        ("72.03", 10),
        ("72.03", 15),
        ("72.03", 20),
        ("72.03", 25),
        ("73.71", 0),
        ("73.71", 1),
    ] {
        report(&node, sabu, region, days_ago).await;
    }
    archived(&node, 10).await;
    let national = create_user(&node, "analis-pusat", "analyst", &[]).await;
    let sulteng = create_user(&node, "analis-sulteng", "analyst", &["72"]).await;
    let palu = create_user(&node, "analis-palu", "analyst", &["72.71"]).await;

    // the series: one count per day, zeros included
    let (status, series) = call(&node, "GET", "/api/v1/stats/series?region=72.71", Some(&sulteng), None).await;
    assert_eq!(status, 200, "{series}");
    assert_eq!(series["name"], "Kota Palu");
    let days = series["days"].as_array().unwrap().len();
    assert!((30..=31).contains(&days), "{days}");
    let narkoba: Vec<u64> =
        series["indicators"]["narkoba"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    assert_eq!(narkoba.len(), days);
    assert_eq!(narkoba.iter().sum::<u64>(), 3, "{series}");
    assert!(series["indicators"]["konflik_sosial"].as_array().is_some_and(|z| z.iter().all(|n| n == 0)));
    // without a region, the caller's own: Sulawesi Tengah has 8, never Makassar's
    let (_, all) = call(&node, "GET", "/api/v1/stats/series?indicator=narkoba", Some(&sulteng), None).await;
    let sum: u64 = all["indicators"]["narkoba"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(sum, 8, "{all}");

    // the breakdown: provinces for a national analyst…
    let (status, table) = call(&node, "GET", "/api/v1/stats/breakdown", Some(&national), None).await;
    assert_eq!(status, 200, "{table}");
    assert_eq!(table["level"], "province");
    let rows = table["rows"].as_array().unwrap();
    assert!(rows.len() >= 34, "every province is a row: {}", rows.len());
    let row = |t: &Value, code: &str| t["rows"].as_array().unwrap().iter().find(|r| r["region"] == code).cloned();
    assert_eq!(row(&table, "72").unwrap()["counts"]["narkoba"], 8);
    assert_eq!(row(&table, "72").unwrap()["name"], "Sulawesi Tengah");
    assert_eq!(row(&table, "73").unwrap()["counts"]["narkoba"], 2);
    assert_eq!(row(&table, "11").unwrap()["counts"]["narkoba"], 0);
    // …regencies for a province's…
    let (_, table) = call(&node, "GET", "/api/v1/stats/breakdown", Some(&sulteng), None).await;
    assert_eq!(table["level"], "regency");
    assert!(table["rows"].as_array().unwrap().iter().all(|r| r["region"].as_str().unwrap().starts_with("72.")));
    assert_eq!(row(&table, "72.71").unwrap()["counts"]["narkoba"], 3);
    assert_eq!(row(&table, "72.03").unwrap()["counts"]["narkoba"], 5);
    assert_eq!(table["totals"]["narkoba"], 8, "{table}");
    // …districts for a city's: the report in Palu Barat has its district, the others are unplaced
    let (_, table) = call(&node, "GET", "/api/v1/stats/breakdown", Some(&palu), None).await;
    assert_eq!(table["level"], "district");
    assert_eq!(row(&table, "72.71.02").unwrap()["counts"]["narkoba"], 1, "{table}");
    assert_eq!(table["unplaced"]["narkoba"], 2, "{table}");
    // and below a region asked for
    let (_, table) = call(&node, "GET", "/api/v1/stats/breakdown?region=72.71", Some(&national), None).await;
    assert_eq!(table["level"], "district");

    // rising: Palu (3 against none) first; Donggala's one is what its baseline expects
    let (status, rising) = call(&node, "GET", "/api/v1/stats/rising", Some(&sulteng), None).await;
    assert_eq!(status, 200, "{rising}");
    let top = &rising["rows"][0];
    assert_eq!((top["region"].as_str(), top["indicator"].as_str()), (Some("72.71"), Some("narkoba")), "{rising}");
    assert_eq!((top["recent"].as_u64(), top["baseline"].as_u64()), (Some(3), Some(0)));
    assert!(!rising["rows"].as_array().unwrap().iter().any(|r| r["region"] == "72.03"), "{rising}");
    // over three weeks against the three before, Donggala rose too (4 against 1)
    let (_, rising) = call(&node, "GET", "/api/v1/stats/rising?days=21&baseline_days=21", Some(&sulteng), None).await;
    let donggala = rising["rows"].as_array().unwrap().iter().find(|r| r["region"] == "72.03").cloned();
    let donggala = donggala.unwrap_or_else(|| panic!("{rising}"));
    assert_eq!((donggala["recent"].as_u64(), donggala["baseline"].as_u64()), (Some(4), Some(1)), "{rising}");
    assert_eq!(donggala["expected"].as_f64(), Some(1.0));
    let (_, rising) = call(&node, "GET", "/api/v1/stats/rising", Some(&national), None).await;
    let regions: Vec<&str> = rising["rows"].as_array().unwrap().iter().map(|r| r["region"].as_str().unwrap()).collect();
    // Makassar: 2 against none ((2+1)/(0+1) = 3); Sulawesi Tengah: 4 against 4 over four weeks ((4+1)/(1+1))
    assert_eq!(regions, ["73", "72"], "{rising}");

    // outside the caller's regions, or above them: refused, saying why
    for path in [
        "/api/v1/stats/series?region=73.71",
        "/api/v1/stats/breakdown?region=73",
        "/api/v1/stats/rising?region=72",
        "/api/v1/stats/series?region=72",
    ] {
        let (status, body) = call(&node, "GET", path, Some(&palu), None).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("outside your regions"), "{body}");
    }
    for (path, field) in [
        ("/api/v1/stats/series?from=2026-11-10T00:00:00Z&to=2026-11-01T00:00:00Z", "from"),
        ("/api/v1/stats/series?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("/api/v1/stats/breakdown?from=1900-01-01T00:00:00Z&to=1900-02-01T00:00:00Z", "from"),
        ("/api/v1/stats/breakdown?region=72.71.02.1002", "region"),
        ("/api/v1/stats/series?region=99", "region"),
        ("/api/v1/stats/rising?days=0", "days"),
        ("/api/v1/stats/rising?days=7&baseline_days=3", "baseline_days"),
        ("/api/v1/stats/rising?limit=1000", "limit"),
    ] {
        let (status, body) = call(&node, "GET", path, Some(TOKEN), None).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{path}: {body}");
    }
    let (status, _) = call(&node, "GET", "/api/v1/stats/series?from=kemarin", Some(TOKEN), None).await;
    assert_eq!(status, 400);
    let reporter = create_user(&node, "pelapor", "reporter", &["72.71"]).await;
    let (status, _) = call(&node, "GET", "/api/v1/stats/breakdown", Some(&reporter), None).await;
    assert_eq!(status, 403);
}

const LOCAL: &str = "regions = [\"72\"]\n\n[[rule]]\nid = \"sulteng.miras\"\nindicator = \"miras\"\nany = [\"miras oplosan\"]\n\n[threshold.miras]\nwindow = \"24h\"\nwaspada = 3\n";
const LOCAL_2: &str = "regions = [\"72\"]\n\n[[rule]]\nid = \"sulteng.miras\"\nindicator = \"miras\"\nany = [\"miras oplosan\", \"cap tikus\"]\n\n[threshold.miras]\nwindow = \"24h\"\nwaspada = 3\n";

/// Every version of a rule file, with who, when, the note and the content,
/// read from the log; a rollback puts an old version back through the same
/// checks as a new version; regional admins reach only their local files.
#[tokio::test]
async fn rule_files_have_a_history_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin72 = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let admin73 = create_user(&node, "admin-sulsel", "admin", &["73"]).await;
    let put = |token: String, content: &'static str, note: &'static str| {
        let node = &node;
        async move {
            call(node, "PUT", "/api/v1/rules/sulteng", Some(&token), Some(json!({"content": content, "note": note})))
                .await
        }
    };
    for (token, content, note) in
        [(admin72.clone(), LOCAL, "miras oplosan di Palu"), (TOKEN.into(), LOCAL_2, "cap tikus juga")]
    {
        let (status, body) = put(token, content, note).await;
        assert_eq!(status, 200, "{body}");
    }
    // today's body without a note still works
    let (status, _) =
        call(&node, "PUT", "/api/v1/rules/sulteng", Some(&admin72), Some(json!({"content": LOCAL_2}))).await;
    assert_eq!(status, 200);
    assert_eq!(call(&node, "DELETE", "/api/v1/rules/sulteng", Some(&admin72), None).await.0, 204);

    let (status, history) = call(&node, "GET", "/api/v1/rules/sulteng/history", Some(&admin72), None).await;
    assert_eq!(status, 200, "{history}");
    let versions = history["versions"].as_array().unwrap();
    let summary: Vec<(u64, &str, &str, bool)> = versions
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["author"].as_str().unwrap(),
                v["note"].as_str().unwrap(),
                v["removed"] == true,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "admin-sulteng", "miras oplosan di Palu", false),
            (2, "admin", "cap tikus juga", false),
            (3, "admin-sulteng", "", false),
            (4, "admin-sulteng", "", true),
        ]
    );
    assert_eq!(versions[0]["content"], LOCAL);
    assert_eq!(versions[0]["regions"], json!(["72"]));
    assert!(versions.iter().all(|v| v["at"].is_string()), "{history}");
    assert!(history["current"].is_null(), "removed: {history}");

    let (status, body) = call(
        &node,
        "POST",
        "/api/v1/rules/sulteng/rollback",
        Some(&admin72),
        Some(json!({"version": 1, "note": "cap tikus terlalu luas"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, listing) = call(&node, "GET", "/api/v1/rules", Some(&admin72), None).await;
    let file = listing["files"].as_array().unwrap().iter().find(|f| f["name"] == "api/sulteng.toml").unwrap().clone();
    assert_eq!(file["content"], LOCAL);
    assert_eq!(file["note"], "rollback to v1: cap tikus terlalu luas");
    let (_, history) = call(&node, "GET", "/api/v1/rules/sulteng/history", Some(TOKEN), None).await;
    assert_eq!(history["current"], 5);
    assert_eq!(history["versions"][4]["content"], LOCAL);
    assert_eq!(history["versions"][4]["author"], "admin-sulteng");
    // the change note is in the audit log too
    let (_, log) = call(&node, "GET", "/api/v1/audit?action=rule.update&limit=1", Some(TOKEN), None).await;
    assert_eq!(log["events"][0]["after"]["note"], "rollback to v1: cap tikus terlalu luas");

    // another region's admin: neither sees nor rolls back
    let (status, _) = call(&node, "GET", "/api/v1/rules/sulteng/history", Some(&admin73), None).await;
    assert_eq!(status, 404);
    let (status, _) =
        call(&node, "POST", "/api/v1/rules/sulteng/rollback", Some(&admin73), Some(json!({"version": 2}))).await;
    assert_eq!(status, 404);
    // a national file: a regional admin reads its history but cannot roll it back
    let national = "[[rule]]\nid = \"nasional.miras\"\nindicator = \"miras\"\nany = [\"miras oplosan\"]\n\n[threshold.miras]\nwindow = \"24h\"\nwaspada = 3\n";
    for _ in 0..2 {
        let (status, body) =
            call(&node, "PUT", "/api/v1/rules/nasional", Some(TOKEN), Some(json!({"content": national}))).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(call(&node, "GET", "/api/v1/rules/nasional/history", Some(&admin72), None).await.0, 200);
    let (status, body) =
        call(&node, "POST", "/api/v1/rules/nasional/rollback", Some(&admin72), Some(json!({"version": 1}))).await;
    assert_eq!(status, 403, "{body}");

    // bad versions, ids and notes change nothing
    for (body, field) in [
        (json!({"version": 4}), "version"),
        (json!({"version": 99}), "version"),
        (json!({"version": 1, "extra": true}), ""),
    ] {
        let (status, answer) =
            call(&node, "POST", "/api/v1/rules/sulteng/rollback", Some(TOKEN), Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().starts_with(field), "{answer}");
    }
    let long = json!({"content": LOCAL, "note": "x".repeat(1001)});
    let (status, body) = call(&node, "PUT", "/api/v1/rules/sulteng", Some(TOKEN), Some(long)).await;
    assert_eq!(status, 422, "{body}");
    let (_, history) = call(&node, "GET", "/api/v1/rules/sulteng/history", Some(TOKEN), None).await;
    assert_eq!(history["versions"].as_array().unwrap().len(), 5);
    assert_eq!(call(&node, "GET", "/api/v1/rules/tidak-ada/history", Some(TOKEN), None).await.0, 404);
    assert_eq!(call(&node, "GET", "/api/v1/rules/Bad%20Id/history", Some(TOKEN), None).await.0, 422);
}

/// A web sign-in: the session cookie and the CSRF token, or the status.
async fn sign_in(node: &Node, name: &str, password: &str) -> Result<(String, String, Value), u16> {
    let r = client()
        .post(node.url("/api/v1/session"))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return Err(r.status().as_u16());
    }
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    Ok((cookie, body["csrf_token"].as_str().unwrap().to_owned(), body))
}

/// `GET /api/v1/me` with a session cookie: the status.
async fn me_with(node: &Node, cookie: &str) -> u16 {
    client().get(node.url("/api/v1/me")).header("cookie", cookie).send().await.unwrap().status().as_u16()
}

/// On a fresh install the bootstrap admin has no password: it signs in to
/// the web app with the bootstrap token, sets a password, and from then on
/// signs in with that. `kentongan user password` sets one from stdin.
#[tokio::test]
async fn the_bootstrap_admin_signs_in_with_its_token_and_sets_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let operator = create_user(&node, "operator", "operator", &["72"]).await;
    // another account's token, or a wrong one, is not the admin's
    assert_eq!(sign_in(&node, "admin", &operator).await.err(), Some(401));
    assert_eq!(sign_in(&node, "admin", "uji-token-salah-1234567890").await.err(), Some(401));
    let (cookie, csrf, body) = sign_in(&node, "admin", TOKEN).await.expect("the bootstrap token signs in");
    assert_eq!((body["name"].as_str(), body["has_password"].as_bool()), (Some("admin"), Some(false)));
    let set = client()
        .put(node.url("/api/v1/me/password"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"password": "sandi-admin-yang-panjang"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let (_, _, body) = sign_in(&node, "admin", "sandi-admin-yang-panjang").await.expect("the new password");
    assert_eq!(body["has_password"], true);
    // with a password, a token no longer opens a web session
    assert_eq!(sign_in(&node, "admin", TOKEN).await.err(), Some(401));
    drop(node);

    // the command line, with the node stopped (it holds the embedded log)
    let password = |name: &str, input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kentongan"))
            .args(["user", "password", name])
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let short = password("admin", "pendek\n");
    assert_eq!(short.status.code(), Some(2), "{}", String::from_utf8_lossy(&short.stderr));
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"));
    let unknown = password("tidak-ada", "sandi-yang-cukup-panjang\n");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("account not found"));
    let out = password("operator", "sandi-operator-panjang\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let node = Node::start(dir.path(), "", &[]).await;
    assert!(sign_in(&node, "operator", "sandi-operator-panjang").await.is_ok());
    assert!(sign_in(&node, "admin", "sandi-admin-yang-panjang").await.is_ok(), "the admin's is unchanged");
}

/// An admin deactivates an account in their regions: its token and session
/// stop working at once; reactivated, its token works again and the old
/// session stays ended. A password reset ends the account's sessions. Never
/// one's own deactivation, never an account reaching outside the admin's regions.
#[tokio::test]
async fn admins_deactivate_and_reset_accounts_in_their_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin72 = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let body = json!({"name": "dewi", "role": "operator", "regions": ["72.71"], "password": "sandi-dewi-panjang"});
    let dewi = create_user_as(&node, &admin72, body).await;
    let (session, _, _) = sign_in(&node, "dewi", "sandi-dewi-panjang").await.unwrap();
    assert_eq!(
        (me_with(&node, &session).await, call(&node, "GET", "/api/v1/me", Some(&dewi), None).await.0),
        (200, 200)
    );

    let patch = |token: &str, name: &str, change: Value| {
        let (token, path) = (token.to_owned(), format!("/api/v1/users/{name}"));
        let node = &node;
        async move { call(node, "PATCH", &path, Some(&token), Some(change)).await }
    };
    let (status, view) = patch(&admin72, "dewi", json!({"active": false})).await;
    assert_eq!((status, view["active"].as_bool()), (200, Some(false)), "{view}");
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&dewi), None).await.0, 401);
    assert_eq!(me_with(&node, &session).await, 401);
    assert_eq!(sign_in(&node, "dewi", "sandi-dewi-panjang").await.err(), Some(401));
    let (status, _) = patch(&admin72, "dewi", json!({"active": true})).await;
    assert_eq!(status, 200);
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&dewi), None).await.0, 200, "the token works again");
    assert_eq!(me_with(&node, &session).await, 401, "the session stays ended");

    // a reset: the old password and the sessions end, the new one signs in
    let (session, _, _) = sign_in(&node, "dewi", "sandi-dewi-panjang").await.unwrap();
    let (status, body) = patch(&admin72, "dewi", json!({"password": "sandi-baru-dari-admin"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(me_with(&node, &session).await, 401);
    assert_eq!(sign_in(&node, "dewi", "sandi-dewi-panjang").await.err(), Some(401));
    assert!(sign_in(&node, "dewi", "sandi-baru-dari-admin").await.is_ok());
    let (status, body) = patch(&admin72, "dewi", json!({"password": "pendek"})).await;
    assert_eq!(status, 422, "{body}");

    // never oneself; never an account reaching beyond the admin's regions
    let (status, body) = patch(&admin72, "admin-sulteng", json!({"active": false})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().starts_with("active"), "{body}");
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&admin72), None).await.0, 200);
    let wide = create_user(&node, "analis-sulawesi", "analyst", &["72", "73"]).await;
    for change in [json!({"active": false}), json!({"password": "sandi-dari-luar-wilayah"})] {
        assert_eq!(patch(&admin72, "analis-sulawesi", change).await.0, 404);
    }
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&wide), None).await.0, 200);
    // a national admin may
    assert_eq!(patch(TOKEN, "analis-sulawesi", json!({"active": false})).await.0, 200);
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&wide), None).await.0, 401);
}
