//! Election stages on a running node: in Sulawesi Tengah, Kota Palu signs
//! its NPHD with the signed document (after a first "in discussion"),
//! Banggai is still discussing it, and the rest have not filed; the board,
//! "who has not yet", the history with who changed it, the attachment list
//! and download all agree, within each caller's regions. Files outside a
//! field's policy are refused; a template filed by units lists them by name.

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, client, create_user, eventually};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// Files `filing` for `template` as `token`, with `file` as the part `part`.
async fn file(
    node: &Node,
    token: &str,
    template: &str,
    filing: Value,
    file: Option<(&str, &str, &[u8])>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new().text("filing", filing.to_string());
    if let Some((part, name, bytes)) = file {
        form = form.part(part.to_owned(), reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()));
    }
    let r = client()
        .post(node.url(&format!("/api/v1/templates/{template}/filings")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|v| v[key] == value).unwrap_or_else(|| panic!("no {key}={value} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn election_stages_documents_and_unit_filers() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let sulteng = create_user(&node, "kesbang-sulteng", "admin", &["72"]).await;
    let palu = create_user(&node, "kesbang-palu", "operator", &["72.71"]).await;
    let palu_admin = create_user(&node, "admin-palu", "admin", &["72.71"]).await;
    let banggai = create_user(&node, "kesbang-banggai", "operator", &["72.02"]).await;
    let makassar = create_user(&node, "kesbang-makassar", "operator", &["73.71"]).await;

    // a stage filing must give the stage's status
    let (status, body) = file(
        &node,
        &palu,
        "tahapan-pemilu",
        json!({"period": "nphd", "values": {"status_logistik": "belum diterima"}}),
        None,
    )
    .await;
    assert_eq!((status, message(&body).starts_with("values.status_nphd:")), (422, true), "{body}");

    // Palu: in discussion, then signed with the document (by its admin)
    let (status, first) = file(
        &node,
        &palu,
        "tahapan-pemilu",
        json!({"period": "nphd", "values": {"status_nphd": "dalam pembahasan"}}),
        None,
    )
    .await;
    assert_eq!(status, 202, "{first}");
    let signed = json!({"period": "nphd", "values": {"status_nphd": "ditandatangani", "tanggal_nphd": "2026-11-20"}});
    let (status, taken) =
        file(&node, &palu_admin, "tahapan-pemilu", signed, Some(("dokumen", "nphd-palu.pdf", PDF))).await;
    assert_eq!(status, 202, "{taken}");
    let signed_id = taken["id"].as_str().unwrap().to_owned();
    let (status, _) = file(
        &node,
        &banggai,
        "tahapan-pemilu",
        json!({"period": "nphd", "values": {"status_nphd": "dalam pembahasan"}}),
        None,
    )
    .await;
    assert_eq!(status, 202);
    let (status, _) = file(
        &node,
        &makassar,
        "tahapan-pemilu",
        json!({"period": "nphd", "values": {"status_nphd": "ditandatangani"}}),
        Some(("dokumen", "nphd-makassar.pdf", b"%PDF-1.4\n% makassar\n%%EOF\n")),
    )
    .await;
    assert_eq!(status, 202);

    // files outside the field's policy: the built-in takes PDF and photos only
    let (status, body) = file(
        &node,
        &banggai,
        "tahapan-pemilu",
        json!({"period": "nphd", "values": {"status_nphd": "ditandatangani"}}),
        Some(("dokumen", "nphd.mp3", b"ID3\x03\0\0\0\0\0\x0fTIT2\0\0\0\x05\0\0\0lagu")),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(message(&body).starts_with("files.dokumen:") && message(&body).contains("application/pdf"), "{body}");
    // a template of its own: PDF of at most 100 bytes
    let small = json!({
        "name": "Tahapan uji",
        "fields": [
            {"id": "status", "label": "Status", "kind": "choice", "options": ["belum", "selesai"]},
            {"id": "berkas", "label": "Berkas", "kind": "attachment", "accept": ["application/pdf"], "max_bytes": 100}
        ],
        "schedule": {"every": "stage", "stages": [{"id": "nphd", "name": "NPHD", "due": "2027-01-15", "status": "status"}]},
        "filers": {"levels": ["regency"], "within": ["72"]}
    });
    let (status, body) = call(&node, "PUT", "/api/v1/templates/tahapan-uji", Some(&sulteng), Some(small)).await;
    assert_eq!(status, 200, "{body}");
    let values = json!({"period": "nphd", "values": {"status": "selesai"}});
    let mut big = PDF.to_vec();
    big.extend(std::iter::repeat_n(b'%', 200));
    let (status, body) =
        file(&node, &banggai, "tahapan-uji", values.clone(), Some(("berkas", "besar.pdf", &big))).await;
    assert_eq!(status, 413, "{body}");
    assert!(message(&body).starts_with("files.berkas:") && message(&body).contains("100 bytes"), "{body}");
    let (status, body) = file(&node, &banggai, "tahapan-uji", values.clone(), Some(("berkas", "foto.png", PNG))).await;
    assert_eq!(status, 422, "{body}");
    assert!(message(&body).contains("image/png") && message(&body).contains("application/pdf"), "{body}");
    let (status, body) = file(&node, &banggai, "tahapan-uji", values, Some(("berkas", "kecil.pdf", PDF))).await;
    assert_eq!(status, 202, "{body}");

    // the province's board: Palu done, Banggai in progress, the rest not filed
    let (status, board) = call(&node, "GET", "/api/v1/stages?region=72", Some(&sulteng), None).await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(board["template"], "tahapan-pemilu");
    let items: Vec<&str> = board["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(items, ["hibah", "nphd", "logistik"]);
    let nphd = &board["items"][1];
    assert_eq!(nphd["options"].as_array().unwrap().last().unwrap(), "ditandatangani");
    let rows = board["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 14, "Sulawesi Tengah and its 13 regencies and cities");
    assert!(rows.iter().all(|r| r["region"].as_str().unwrap().starts_with("72")), "{board}");
    let not_yet: Vec<&str> = nphd["not_done"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(not_yet.len(), 13);
    assert!(!not_yet.contains(&"72.71") && not_yet.contains(&"72.02") && not_yet.contains(&"72"), "{not_yet:?}");
    let palu_row = find(&board["rows"], "region", "72.71");
    let cell = &palu_row["cells"][1];
    assert_eq!((&cell["status"], &cell["done"], &cell["filings"]), (&json!("ditandatangani"), &json!(true), &json!(2)));
    assert_eq!((&cell["account"], &cell["report"]), (&json!("admin-palu"), &json!(signed_id)), "{cell}");
    let document = &cell["documents"][0];
    let sha = hex::encode(Sha256::digest(PDF));
    assert_eq!(
        (&document["name"], &document["content_type"], &document["size"], &document["sha256"], &document["field"]),
        (&json!("nphd-palu.pdf"), &json!("application/pdf"), &json!(PDF.len()), &json!(sha), &json!("dokumen")),
        "{cell}"
    );
    let banggai_cell = &find(&board["rows"], "region", "72.02")["cells"][1];
    assert_eq!((&banggai_cell["status"], &banggai_cell["done"]), (&json!("dalam pembahasan"), &json!(false)));
    let totals = board["totals"].as_array().unwrap();
    let regencies = totals
        .iter()
        .find(|t| t["stage"] == "nphd" && t["region"] == "72" && t["filers"] == "regency")
        .unwrap_or_else(|| panic!("{board}"));
    assert_eq!(
        (&regencies["expected"], &regencies["done"], &regencies["in_progress"], &regencies["not_filed"]),
        (&json!(13), &json!(1), &json!(1), &json!(11)),
        "{regencies}"
    );
    assert_eq!(regencies["done_rate"].as_f64(), Some(0.0769));
    // nationally: Palu and Makassar signed
    let (_, national) = call(&node, "GET", "/api/v1/stages", Some(TOKEN), None).await;
    let all = national["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["stage"] == "nphd" && t["region"].is_null() && t["filers"] == "regency")
        .unwrap_or_else(|| panic!("{national}"));
    assert_eq!((&all["done"], &all["in_progress"]), (&json!(2), &json!(1)), "{all}");
    assert!(all["expected"].as_u64().unwrap() > 500);
    // the document downloads, byte for byte, once its report is archived
    let n = document["n"].as_u64().unwrap();
    let url = node.url(&format!("/api/v1/reports/{signed_id}/attachments/{n}"));
    let downloaded = eventually(Duration::from_secs(20), || async {
        let r = client().get(&url).bearer_auth(&sulteng).send().await.ok()?;
        if r.status() == 200 { r.bytes().await.ok() } else { None }
    })
    .await
    .expect("the document downloads");
    assert_eq!(downloaded.as_ref(), PDF);

    // the history: each change with the status before it, who and when
    let (status, history) = call(&node, "GET", "/api/v1/stages/72.71/history", Some(&sulteng), None).await;
    assert_eq!(status, 200, "{history}");
    let changes: Vec<(&Value, &Value, &Value, &Value)> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (&c["stage"], &c["previous"], &c["status"], &c["account"]))
        .collect();
    assert_eq!(
        changes,
        [
            (&json!("nphd"), &Value::Null, &json!("dalam pembahasan"), &json!("kesbang-palu")),
            (&json!("nphd"), &json!("dalam pembahasan"), &json!("ditandatangani"), &json!("admin-palu")),
        ],
        "{history}"
    );
    assert_eq!(history["changes"][1]["documents"][0]["sha256"], sha.as_str());
    assert!(history["changes"][0]["received_at"].is_string());

    // the attachment list, by region and stage
    let (status, listed) =
        call(&node, "GET", "/api/v1/attachments?template=tahapan-pemilu&period=nphd", Some(&sulteng), None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total"], 1, "Makassar's document is outside Sulawesi Tengah: {listed}");
    let listed_one = &listed["attachments"][0];
    assert_eq!(
        (&listed_one["region"], &listed_one["report"], &listed_one["sha256"], &listed_one["account"]),
        (&json!("72.71"), &json!(signed_id), &json!(sha), &json!("admin-palu"))
    );
    let (_, everywhere) = call(&node, "GET", "/api/v1/attachments?template=tahapan-pemilu", Some(TOKEN), None).await;
    assert_eq!(everywhere["total"], 2, "{everywhere}");
    let (_, none) =
        call(&node, "GET", "/api/v1/attachments?template=tahapan-pemilu&period=hibah", Some(TOKEN), None).await;
    assert_eq!(none["total"], 0, "{none}");

    // scope: Palu's admin and operator never see Sulawesi Selatan
    for token in [&palu_admin, &palu] {
        let (_, own) = call(&node, "GET", "/api/v1/stages", Some(token), None).await;
        let regions: Vec<&str> =
            own["rows"].as_array().unwrap().iter().map(|r| r["region"].as_str().unwrap()).collect();
        assert_eq!(regions, ["72.71"], "{own}");
        assert_eq!(own["items"][1]["not_done"], json!([]), "{own}");
        assert_eq!(call(&node, "GET", "/api/v1/stages?region=73", Some(token), None).await.0, 404);
        assert_eq!(call(&node, "GET", "/api/v1/stages/73.71/history", Some(token), None).await.0, 404);
        assert_eq!(call(&node, "GET", "/api/v1/stages/72.02/history", Some(token), None).await.0, 404);
        let (status, _) =
            call(&node, "GET", "/api/v1/attachments?template=tahapan-pemilu&region=73", Some(token), None).await;
        assert_eq!(status, 404);
        let (_, files) = call(&node, "GET", "/api/v1/attachments?template=tahapan-pemilu", Some(token), None).await;
        assert_eq!(files["total"], 1, "{files}");
    }
    let (_, elsewhere) = call(&node, "GET", "/api/v1/attachments?template=tahapan-pemilu", Some(&makassar), None).await;
    assert_eq!((elsewhere["total"].as_u64(), &elsewhere["attachments"][0]["region"]), (Some(1), &json!("73.71")));
    // a template not by stage has no board
    let (status, body) = call(&node, "GET", "/api/v1/stages?template=lapsitda-harian", Some(&sulteng), None).await;
    assert_eq!((status, message(&body).starts_with("template:")), (400, true), "{body}");

    // units as filers: compliance lists them by name
    let mut unit_ids = Vec::new();
    for (name, region) in [("Kesbangpol Kota Palu", "72.71"), ("Kesbangpol Kabupaten Banggai", "72.02")] {
        let (status, unit) =
            call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(json!({"name": name, "regions": [region]}))).await;
        assert_eq!(status, 201, "{unit}");
        unit_ids.push(unit["id"].as_str().unwrap().to_owned());
    }
    let by_units = |units: Value| {
        json!({
            "name": "Laporan unit",
            "fields": [{"id": "catatan", "label": "Catatan", "kind": "text", "required": true},
                       {"id": "berkas", "label": "Berkas", "kind": "attachment"}],
            "schedule": {"every": "stage", "stages": [{"id": "siaga", "name": "Siaga", "due": "2027-01-15"}]},
            "filers": {"units": units, "within": ["72"]}
        })
    };
    let (status, body) =
        call(&node, "PUT", "/api/v1/templates/laporan-unit", Some(&sulteng), Some(by_units(json!(["tidak-ada"]))))
            .await;
    assert_eq!((status, message(&body).starts_with("filers.units[0]:")), (422, true), "{body}");
    let (status, body) =
        call(&node, "PUT", "/api/v1/templates/laporan-unit", Some(&sulteng), Some(by_units(json!(unit_ids)))).await;
    assert_eq!(status, 200, "{body}");
    let report = json!({"period": "siaga", "values": {"catatan": "Personel siaga"}});
    let (status, body) = file(&node, &palu, "laporan-unit", report.clone(), None).await;
    assert_eq!((status, message(&body).contains("`unit`")), (422, true), "{body}");
    let mut for_banggai = report.clone();
    for_banggai["unit"] = json!(unit_ids[1]);
    let (status, body) = file(&node, &palu, "laporan-unit", for_banggai, None).await;
    assert_eq!((status, message(&body).starts_with("region:")), (422, true), "{body}");
    let mut for_palu = report;
    for_palu["unit"] = json!(unit_ids[0]);
    let (status, body) = file(&node, &palu, "laporan-unit", for_palu, Some(("berkas", "apel.pdf", PDF))).await;
    assert_eq!(status, 202, "{body}");
    let (_, files) = call(&node, "GET", "/api/v1/attachments?template=laporan-unit", Some(&palu), None).await;
    assert_eq!(
        (&files["total"], &files["attachments"][0]["unit"], &files["attachments"][0]["region"]),
        (&json!(1), &json!(unit_ids[0]), &json!("72.71")),
        "{files}"
    );
    let (status, c) =
        call(&node, "GET", "/api/v1/compliance?template=laporan-unit&period=siaga", Some(&sulteng), None).await;
    assert_eq!(status, 200, "{c}");
    let units: Vec<(&str, &str)> = c["units"]
        .as_array()
        .unwrap_or_else(|| panic!("{c}"))
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u["status"].as_str().unwrap()))
        .collect();
    assert_eq!(units, [("Kesbangpol Kabupaten Banggai", "not_filed"), ("Kesbangpol Kota Palu", "filed")], "{c}");
    assert_eq!(c["rows"], json!([]), "no region files it");
    let (_, own) = call(&node, "GET", "/api/v1/compliance?template=laporan-unit&period=siaga", Some(&palu), None).await;
    assert_eq!(own["units"].as_array().map(Vec::len), Some(1), "{own}");

    // after a restart, the board is rebuilt from the log
    let before = call(&node, "GET", "/api/v1/stages?region=72", Some(&sulteng), None).await.1;
    let mut node = node;
    node.kill9();
    drop(node);
    let node = Node::start(dir.path(), "", &[]).await;
    let after = eventually(Duration::from_secs(20), || async {
        let (status, b) = call(&node, "GET", "/api/v1/stages?region=72", Some(&sulteng), None).await;
        (status == 200).then_some(b)
    })
    .await
    .expect("the board after a restart");
    assert_eq!(after["rows"], before["rows"]);
    assert_eq!(after["totals"], before["totals"]);
}
