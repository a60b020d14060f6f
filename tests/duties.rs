//! Periodic reports on a running node: a province defines a daily template,
//! two of its three regencies file it (one late), and compliance, the
//! filings list, the province's draft, search and scope all agree; bad
//! templates and filings are refused with the field named.

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, client, create_user, eventually};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The template: Kota Palu (72.71), Banggai (72.02) and Banggai Kepulauan
/// (72.03), and the province above them, file daily by 24:00 WITA.
fn template() -> Value {
    json!({
        "name": "Laporan situasi uji",
        "fields": [
            {"id": "situasi_konflik", "label": "Situasi konflik sosial", "kind": "situation",
             "indicator": "konflik_sosial", "required": true},
            {"id": "upaya", "label": "Upaya", "kind": "text"},
            {"id": "personel", "label": "Personel siaga", "kind": "number", "min": 0}
        ],
        "schedule": {"every": "daily", "at": "24:00"},
        "filers": {"regions": ["72", "72.71", "72.02", "72.03"]},
        "note": "uji"
    })
}

async fn file(node: &Node, token: &str, template: &str, body: Value, key: Option<&str>) -> (u16, Value) {
    let mut r =
        client().post(node.url(&format!("/api/v1/templates/{template}/filings"))).bearer_auth(token).json(&body);
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    let response = r.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_filings_compliance_and_roll_up() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let palu = create_user(&node, "kesbang-palu", "operator", &["72.71"]).await;
    let sulteng = create_user(&node, "kesbang-sulteng", "admin", &["72"]).await;
    let palu_admin = create_user(&node, "admin-palu", "admin", &["72.71"]).await;

    // the built-in templates are there for everyone
    let (status, list) = call(&node, "GET", "/api/v1/templates", Some(&palu), None).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["templates"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"lapsitda-harian") && ids.contains(&"tahapan-pemilu"), "{ids:?}");

    // bad templates: 422 naming the field; a regency admin cannot define the province's
    let mut bad = template();
    bad["fields"][2]["kind"] = json!("angka");
    let (status, body) = call(&node, "PUT", "/api/v1/templates/uji-harian", Some(&sulteng), Some(bad)).await;
    assert_eq!(status, 422, "{body}");
    assert!(message(&body).starts_with("fields[2].kind:"), "{body}");
    let mut bad = template();
    bad["schedule"]["at"] = json!("25:00");
    let (status, body) = call(&node, "PUT", "/api/v1/templates/uji-harian", Some(&sulteng), Some(bad)).await;
    assert_eq!((status, message(&body).starts_with("schedule.at:")), (422, true), "{body}");
    let (status, body) = call(&node, "PUT", "/api/v1/templates/Uji%20Harian", Some(&sulteng), Some(template())).await;
    assert_eq!((status, message(&body).starts_with("id:")), (422, true), "{body}");
    let (status, body) = call(&node, "PUT", "/api/v1/templates/uji-harian", Some(&palu_admin), Some(template())).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(call(&node, "GET", "/api/v1/templates/uji-harian", Some(&palu), None).await.0, 404);

    // the province defines it
    let (status, defined) = call(&node, "PUT", "/api/v1/templates/uji-harian", Some(&sulteng), Some(template())).await;
    assert_eq!(status, 200, "{defined}");
    assert_eq!((defined["version"].as_u64(), defined["author"].as_str()), (Some(1), Some("kesbang-sulteng")));
    // the same again changes nothing; a change is version 2, and version 1 stays readable
    let (_, same) = call(&node, "PUT", "/api/v1/templates/uji-harian", Some(&sulteng), Some(template())).await;
    assert_eq!(same["version"], 1);
    let mut changed = template();
    changed["fields"][1]["label"] = json!("Upaya yang dilakukan");
    let (status, v2) = call(&node, "PUT", "/api/v1/templates/uji-harian", Some(&sulteng), Some(changed)).await;
    assert_eq!((status, v2["version"].as_u64()), (200, Some(2)), "{v2}");
    let (status, v1) = call(&node, "GET", "/api/v1/templates/uji-harian?version=1", Some(&palu), None).await;
    assert_eq!((status, v1["fields"][1]["label"].as_str()), (200, Some("Upaya")), "{v1}");
    // another province's regency does not see it
    let makassar = create_user(&node, "kesbang-makassar", "operator", &["73.71"]).await;
    assert_eq!(call(&node, "GET", "/api/v1/templates/uji-harian", Some(&makassar), None).await.0, 404);

    // yesterday in WITA: its deadline (24:00 WITA) has passed
    let now = OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap());
    let yesterday = now.date().previous_day().unwrap();
    let period = format!("{yesterday}");
    let evening = format!("{period}T20:00:00+08:00");

    // Palu files on time (made yesterday evening, sent now), naming version 1
    let palu_filing = json!({
        "period": period, "version": 1, "reported_at": evening,
        "values": {
            "situasi_konflik": {"status": "athg", "incidents": [
                {"category": "gangguan", "text": "Terjadi bentrok antarwarga di Kelurahan Tatanga, dua rumah rusak"}]},
            "upaya": "Mediasi oleh camat dan Polsek",
            "personel": 12
        }
    });
    let (status, filed) = file(&node, &palu, "uji-harian", palu_filing.clone(), Some("lapsit-1")).await;
    assert_eq!(status, 202, "{filed}");
    assert_eq!((filed["on_time"].as_bool(), filed["version"].as_u64()), (Some(true), Some(1)), "{filed}");
    assert_eq!(filed["region"], "72.71", "the account's only region");
    let palu_id = filed["id"].as_str().unwrap().to_owned();
    // a retry is the same filing; the key with another body is refused
    let (status, again) = file(&node, &palu, "uji-harian", palu_filing.clone(), Some("lapsit-1")).await;
    assert_eq!((status, again["id"].as_str(), again["duplicate"].as_bool()), (202, Some(palu_id.as_str()), Some(true)));
    let mut other = palu_filing.clone();
    other["values"]["personel"] = json!(13);
    let (status, body) = file(&node, &palu, "uji-harian", other, Some("lapsit-1")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("idempotency_key_reused")), "{body}");

    // scope and bad filings: refused with the field, nothing filed
    let mut elsewhere = palu_filing.clone();
    elsewhere["region"] = json!("72.02");
    let (status, body) = file(&node, &palu, "uji-harian", elsewhere, None).await;
    assert_eq!((status, message(&body).starts_with("region:")), (422, true), "{body}");
    let cases = [
        (
            json!({"period": period, "values": {"situasi_konflik": {"status": "aman"}, "cuaca": "cerah"}}),
            "values.cuaca:",
        ),
        (json!({"period": period, "values": {}}), "values.situasi_konflik:"),
        (
            json!({"period": period, "values": {"situasi_konflik": {"status": "athg", "incidents": [{"category": "banjir", "text": "x"}]}}}),
            "values.situasi_konflik.incidents[0].category:",
        ),
        (
            json!({"period": period, "values": {"situasi_konflik": {"status": "aman"}, "personel": -1}}),
            "values.personel:",
        ),
        (json!({"period": "2026-W48", "values": {"situasi_konflik": {"status": "aman"}}}), "period:"),
        (json!({"period": "2999-01-01", "values": {"situasi_konflik": {"status": "aman"}}}), "period:"),
        (json!({"period": period, "version": 9, "values": {"situasi_konflik": {"status": "aman"}}}), ""),
    ];
    for (body, field) in cases {
        let (status, answer) = file(&node, &palu, "uji-harian", body.clone(), None).await;
        if field.is_empty() {
            assert_eq!(status, 404, "{body}: {answer}");
        } else {
            assert_eq!(status, 422, "{body}: {answer}");
            assert!(message(&answer).starts_with(field), "{body}: {answer}");
        }
    }
    let lapsitda = json!({"period": period, "region": "73.71", "values": {}});
    let (status, body) = file(&node, TOKEN, "lapsitda-harian", lapsitda, None).await;
    assert_eq!((status, message(&body).starts_with("values.situasi_narkoba:")), (422, true), "{body}");

    // Banggai files late: sent now, for yesterday (the national admin files for it)
    let late = json!({"period": period, "region": "72.02", "values": {"situasi_konflik": {"status": "aman"}}});
    let (status, filed_late) = file(&node, TOKEN, "uji-harian", late, None).await;
    assert_eq!((status, filed_late["on_time"].as_bool()), (202, Some(false)), "{filed_late}");

    // compliance: Palu filed, Banggai late, Banggai Kepulauan not at all
    let path = format!("/api/v1/compliance?template=uji-harian&period={period}&region=72");
    let (status, c) = call(&node, "GET", &path, Some(&sulteng), None).await;
    assert_eq!(status, 200, "{c}");
    let rows: Vec<(&str, &str)> = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["region"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [("72", "not_filed"), ("72.02", "late"), ("72.03", "not_filed"), ("72.71", "filed")], "{c}");
    assert_eq!(c["rows"][3]["report"], palu_id.as_str());
    assert_eq!(c["rows"][3]["version"], 1);
    assert_eq!(c["rows"][3]["zone"], "WITA");
    assert_eq!(c["rows"][2]["overdue"], true);
    let regencies = c["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["region"] == "72" && t["filers"] == "regency")
        .unwrap_or_else(|| panic!("{c}"));
    assert_eq!(
        (&regencies["expected"], &regencies["filed"], &regencies["on_time"], &regencies["late"]),
        (&json!(3), &json!(2), &json!(1), &json!(1)),
        "{c}"
    );
    assert_eq!((regencies["filed_rate"].as_f64(), regencies["on_time_rate"].as_f64()), (Some(0.6667), Some(0.3333)));
    let national =
        c["totals"].as_array().unwrap().iter().find(|t| t["region"].is_null() && t["filers"] == "regency").unwrap();
    assert_eq!((&national["expected"], &national["filed"]), (&json!(3), &json!(2)));
    // Palu sees only itself
    let (_, own) =
        call(&node, "GET", &format!("/api/v1/compliance?template=uji-harian&period={period}"), Some(&palu), None).await;
    assert_eq!(own["rows"].as_array().map(Vec::len), Some(1), "{own}");
    let (status, _) = call(
        &node,
        "GET",
        &format!("/api/v1/compliance?template=uji-harian&period={period}&region=72.02"),
        Some(&palu),
        None,
    )
    .await;
    assert_eq!(status, 404, "another regency is outside Palu's regions");
    let (status, body) =
        call(&node, "GET", "/api/v1/compliance?template=uji-harian&period=kemarin", Some(&sulteng), None).await;
    assert_eq!((status, message(&body).starts_with("period:")), (400, true), "{body}");
    // the calendar's last day has no deadline to pass (it once overflowed)
    let (status, body) =
        call(&node, "GET", "/api/v1/compliance?template=uji-harian&period=9999-12-31", Some(&sulteng), None).await;
    assert_eq!(
        (status, &body["rows"][0]["status"], &body["rows"][0]["deadline"]),
        (200, &json!("not_filed"), &Value::Null),
        "{body}"
    );
    // a stage has no start, but a time before 2000 is still refused
    let ancient = json!({"period": "nphd", "reported_at": "1999-12-31T23:00:00+08:00",
                         "values": {"status_logistik": "belum diterima", "status_nphd": "belum dibahas"}});
    let (status, body) = file(&node, &palu, "tahapan-pemilu", ancient, None).await;
    assert_eq!((status, message(&body).starts_with("reported_at:")), (422, true), "{body}");

    // the filing is a report: classified by its words, searchable, linked to its template
    let report = eventually(Duration::from_secs(20), || async {
        let (status, r) = call(&node, "GET", &format!("/api/v1/reports/{palu_id}"), Some(&sulteng), None).await;
        (status == 200).then_some(r)
    })
    .await
    .expect("the filing is archived");
    let indicators: Vec<&str> =
        report["classification"]["indicators"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert!(indicators.contains(&"konflik_sosial"), "{report}");
    let filing = &report["report"]["filing"];
    assert_eq!(
        (&filing["template"], &filing["version"], &filing["period"]),
        (&json!("uji-harian"), &json!(1), &json!(period))
    );
    assert_eq!(filing["values"]["personel"], 12);
    let (_, hits) = call(&node, "GET", "/api/v1/search?q=bentrok%20Tatanga", Some(&sulteng), None).await;
    let found: Vec<&str> = hits["hits"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert!(found.contains(&palu_id.as_str()), "{hits}");

    // the province sees its regencies' filings and drafts its own from them
    // (the indicators come with the classified record, which the view follows)
    let listed = eventually(Duration::from_secs(20), || async {
        let path = format!("/api/v1/templates/uji-harian/filings?period={period}&region=72");
        let (status, listed) = call(&node, "GET", &path, Some(&sulteng), None).await;
        assert_eq!(status, 200, "{listed}");
        let tagged = listed["regions"][1]["filings"][0]["indicators"].as_array()?.contains(&json!("konflik_sosial"));
        tagged.then_some(listed)
    })
    .await
    .expect("Palu's filing listed with its indicators");
    let regions: Vec<&str> =
        listed["regions"].as_array().unwrap().iter().map(|r| r["region"].as_str().unwrap()).collect();
    assert_eq!(regions, ["72.02", "72.71"], "{listed}");
    assert_eq!(listed["regions"][1]["filings"].as_array().map(Vec::len), Some(1), "the retry made no second filing");
    let (status, draft) = call(
        &node,
        "GET",
        &format!("/api/v1/templates/uji-harian/draft?period={period}&region=72"),
        Some(&sulteng),
        None,
    )
    .await;
    assert_eq!(status, 200, "{draft}");
    assert_eq!(draft["missing"], json!(["72.03"]), "{draft}");
    assert_eq!(draft["values"]["personel"], 12.0, "{draft}");
    let incident = &draft["values"]["situasi_konflik"]["incidents"][0];
    assert_eq!(incident["category"], "gangguan");
    assert!(incident["text"].as_str().unwrap().starts_with("Kota Palu: Terjadi bentrok"), "{draft}");
    let (status, body) =
        call(&node, "GET", &format!("/api/v1/templates/uji-harian/draft?period={period}&region=72"), Some(&palu), None)
            .await;
    assert_eq!(
        (status, message(&body).starts_with("region:")),
        (422, true),
        "Palu cannot draft for the province: {body}"
    );
    let own = json!({"period": period, "region": "72", "values": draft["values"]});
    let (status, body) = file(&node, &sulteng, "uji-harian", own, None).await;
    assert_eq!((status, body["version"].as_u64()), (202, Some(2)), "{body}");
    let (_, c) = call(&node, "GET", &path, Some(&sulteng), None).await;
    assert_eq!(c["rows"][0]["status"], "late", "{c}");

    // election-stage monitoring, with its supporting document as a file part
    let values =
        json!({"status_logistik": "sebagian diterima", "status_nphd": "ditandatangani", "nilai_hibah": 25000000000u64});
    let form = |file_part: &str| {
        reqwest::multipart::Form::new().text("filing", json!({"period": "nphd", "values": values}).to_string()).part(
            file_part.to_owned(),
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec())
                .file_name("nphd-palu.pdf"),
        )
    };
    let post = |form: reqwest::multipart::Form| {
        client().post(node.url("/api/v1/templates/tahapan-pemilu/filings")).bearer_auth(&palu).multipart(form).send()
    };
    let refused = post(form("status_nphd")).await.unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert!(message(&body).starts_with("files.status_nphd:"), "{body}");
    let taken = post(form("dokumen")).await.unwrap();
    assert_eq!(taken.status(), 202);
    let taken: Value = taken.json().await.unwrap();
    let id = taken["id"].as_str().unwrap().to_owned();
    let report = eventually(Duration::from_secs(20), || async {
        let (status, r) = call(&node, "GET", &format!("/api/v1/reports/{id}"), Some(&sulteng), None).await;
        (status == 200).then_some(r)
    })
    .await
    .expect("the stage filing is archived");
    let document = &report["report"]["filing"]["values"]["dokumen"];
    assert_eq!(
        (&document["name"], &document["content_type"]),
        (&json!("nphd-palu.pdf"), &json!("application/pdf")),
        "{report}"
    );
    assert_eq!(report["report"]["attachments"][0]["sha256"], document["sha256"], "{report}");
    let (_, c) =
        call(&node, "GET", "/api/v1/compliance?template=tahapan-pemilu&period=nphd&region=72", Some(&sulteng), None)
            .await;
    let filed: Vec<&str> = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "filed")
        .map(|r| r["region"].as_str().unwrap())
        .collect();
    assert_eq!(filed, ["72.71"], "{c}");

    // after a restart, templates and filings are rebuilt from the log
    let before = call(&node, "GET", &path, Some(&sulteng), None).await.1;
    let mut node = node;
    node.kill9();
    drop(node);
    let node = Node::start(dir.path(), "", &[]).await;
    let (_, template) = call(&node, "GET", "/api/v1/templates/uji-harian", Some(&palu), None).await;
    assert_eq!(template["version"], 2, "{template}");
    let after = eventually(Duration::from_secs(20), || async {
        let (status, c) = call(&node, "GET", &path, Some(&sulteng), None).await;
        (status == 200).then_some(c)
    })
    .await
    .expect("compliance after the restart");
    assert_eq!(after["rows"], before["rows"]);
    assert_eq!(after["totals"], before["totals"]);
}
