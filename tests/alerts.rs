//! The lifecycle of an alert over HTTP on the embedded default: acknowledged,
//! followed up with notes (tindak lanjut), resolved; who and when recorded;
//! scope and roles enforced; the same state after a restart, because the
//! steps live on the `alerts` topic.

mod common;

use std::time::Duration;

use common::gateway::Gateway;
use common::{Node, TOKEN, alert_for, call, create_user, eventually, post_report};
use serde_json::{Value, json};

// a province is held to two reports, so that two regencies with one each
// make a province alert (neither reaches it alone)
const RULES: &str = "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\nprovince = { waspada = 2 }\n";

#[tokio::test]
async fn an_alert_is_acknowledged_followed_up_and_resolved_by_people_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.path().join("rules.toml").display());
    let node = Node::start(dir.path(), &config, &[]).await;
    let piket = create_user(&node, "piket-palu", "operator", &["72.71"]).await;
    let elsewhere = create_user(&node, "piket-makassar", "operator", &["73"]).await;
    let analyst = create_user(&node, "analis-palu", "analyst", &["72.71"]).await;
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    let alert = alert_for(&node, "72.71").await;
    assert_eq!(alert["state"], "open");
    let id = alert["id"].as_str().unwrap().to_owned();
    let path = |step: &str| format!("/api/v1/alerts/{id}/{step}");

    // out of scope: as if it did not exist; wrong role: refused
    let (status, _) = call(&node, "POST", &path("ack"), Some(&elsewhere), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(&elsewhere), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&node, "POST", &path("ack"), Some(&analyst), None).await;
    assert_eq!(status, 403);
    // an analyst reads alerts (the trends map colours regions by them) but does not act on them
    let (status, seen) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(&analyst), None).await;
    assert_eq!((status, &seen["id"]), (200, &alert["id"]));
    let (status, _) = call(&node, "POST", "/api/v1/alerts/bukan-id/ack", Some(&piket), None).await;
    assert_eq!(status, 404);
    // a note needs someone on it first
    let (status, err) = call(&node, "POST", &path("progress"), Some(&piket), Some(json!({"catatan": "x"}))).await;
    assert_eq!(status, 422, "{err}");

    // JSON `null` is a step without a note, as the document's optional body says
    let (status, acked) = call(&node, "POST", &path("ack"), Some(&piket), Some(serde_json::Value::Null)).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    assert_eq!(acked["history"][0]["by"], "piket-palu");
    assert!(acked["history"][0]["at"].as_str().is_some());
    let (status, err) = call(&node, "POST", &path("ack"), Some(&piket), None).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("already acknowledged"), "{err}");

    let note = |text: &str| Some(json!({ "note": text }));
    let (status, r) = call(
        &node,
        "POST",
        &path("progress"),
        Some(&piket),
        note("Tim gabungan Babinsa dan Bhabinkamtibmas ke lokasi"),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "in_progress");
    let (status, _) = call(&node, "POST", &path("progress"), Some(TOKEN), note("Dua orang diamankan")).await;
    assert_eq!(status, 200);
    let (status, err) = call(&node, "POST", &path("progress"), Some(&piket), None).await;
    assert_eq!(status, 409, "{err}");
    let (status, r) = call(&node, "POST", &path("resolve"), Some(&piket), note("Selesai, situasi kondusif")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "resolved");
    let (status, _) = call(&node, "POST", &path("progress"), Some(&piket), note("terlambat")).await;
    assert_eq!(status, 409);

    let steps = |a: &Value| -> Vec<(String, String, Option<String>)> {
        a["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["state"].as_str().unwrap().into(),
                    c["by"].as_str().unwrap().into(),
                    c["note"].as_str().map(Into::into),
                )
            })
            .collect()
    };
    let (_, before) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(&piket), None).await;
    assert_eq!(
        steps(&before),
        [
            ("acknowledged".into(), "piket-palu".into(), None),
            (
                "in_progress".into(),
                "piket-palu".into(),
                Some("Tim gabungan Babinsa dan Bhabinkamtibmas ke lokasi".into())
            ),
            ("in_progress".into(), "admin".into(), Some("Dua orang diamankan".into())),
            ("resolved".into(), "piket-palu".into(), Some("Selesai, situasi kondusif".into())),
        ]
    );
    let (_, list) = call(&node, "GET", "/api/v1/alerts?state=resolved", Some(&piket), None).await;
    assert_eq!(list["alerts"].as_array().unwrap().len(), 1);
    let (_, log) = call(&node, "GET", "/api/v1/audit?action=alert.ack", Some(TOKEN), None).await;
    assert_eq!(log["events"][0]["target"], id.as_str());

    // the steps are on the alerts topic: a restarted node shows the same
    drop(node);
    let node = Node::start(dir.path(), &config, &[]).await;
    let after = eventually(Duration::from_secs(10), || async {
        let (status, a) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(TOKEN), None).await;
        (status == 200).then_some(a)
    })
    .await
    .expect("alert gone after a restart");
    assert_eq!(steps(&after), steps(&before));
    assert_eq!(after["state"], "resolved");
}

/// The sum of every series of the metric `name` (with its labels, if
/// given) on the node's /metrics; 0 when it has none yet.
async fn metric(node: &Node, name: &str) -> f64 {
    let text =
        common::client().get(node.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with([' ', '{'])))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A node with the one-report threshold, the SMS gateway section `sms`, and
/// a unit for Kota Palu reachable by phone; posts a report there.
async fn node_with_sms_unit(dir: &std::path::Path, sms: &str) -> Node {
    std::fs::write(dir.join("rules.toml"), RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n{sms}",
        dir.join("rules.toml").display()
    );
    let node = Node::start(dir, &config, &[]).await;
    let unit = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "phones": ["+6281234567890"]});
    let (status, body) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(unit)).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    node
}

/// POSTs a gateway's status report to `callback`.
async fn callback(url: &str, content_type: &str, body: &str) -> u16 {
    common::client()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn sms_goes_through_a_json_gateway_is_retried_and_its_status_recorded() {
    let (gateway, url) = Gateway::start(1).await;
    let dir = tempfile::tempdir().unwrap();
    let sms =
        format!("[sms_gateway]\npreset = \"json\"\nurl = \"{url}\"\ntoken = \"gw-token\"\nfrom = \"KENTONGAN\"\n");
    let node = node_with_sms_unit(dir.path(), &sms).await;
    // the gateway refuses the first try; the outbox tries again (after about 5 s)
    let requests = eventually(Duration::from_secs(20), || async {
        let r = gateway.requests();
        (r.len() >= 2).then_some(r)
    })
    .await
    .unwrap_or_else(|| panic!("the gateway was not tried twice; log:\n{}", node.log()));
    let (headers, body) = &requests[1];
    assert_eq!(headers["authorization"], "Bearer gw-token");
    assert_eq!(headers["content-type"], "application/json");
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["to"], "+6281234567890");
    assert_eq!(sent["from"], "KENTONGAN");
    let text = sent["text"].as_str().unwrap();
    assert!(text.starts_with("[WASPADA] Narkoba - Kota Palu: 1 laporan."), "{text}");
    assert!(text.chars().count() <= 160, "{text}");
    let first: Value = serde_json::from_str(&requests[0].1).unwrap();
    assert_eq!(
        (&first["to"], &first["text"], &first["ref"]),
        (&sent["to"], &sent["text"], &sent["ref"]),
        "the retry sends the same message"
    );

    let alert = alert_for(&node, "72.71").await;
    let status_url = sent["callback_url"].as_str().unwrap();
    assert!(status_url.contains(&format!("/api/v1/alerts/{}/sms-status?token=", alert["id"].as_str().unwrap())));
    let tampered =
        format!("{}{}", &status_url[..status_url.len() - 1], if status_url.ends_with('0') { '1' } else { '0' });
    assert_eq!(callback(&tampered, "application/json", "{\"status\":\"delivered\"}").await, 403);
    assert_eq!(callback(status_url, "application/json", "{\"kabar\":\"baik\"}").await, 422);
    assert_eq!(callback(status_url, "application/json", "{\"status\":\"delivered\"}").await, 204);

    let deliveries = eventually(Duration::from_secs(10), || async {
        let a = alert_for(&node, "72.71").await;
        let d = a["deliveries"].as_array()?.clone();
        d.iter().any(|d| d["status"] == "delivered").then_some(d)
    })
    .await
    .expect("the gateway's status was not recorded");
    let summary: Vec<(String, u64, bool, String)> = deliveries
        .iter()
        .map(|d| {
            (
                d["channel"].as_str().unwrap().into(),
                d["attempt"].as_u64().unwrap(),
                d["error"].is_null(),
                d["status"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("sms".into(), 1, false, "".into()),
            ("sms".into(), 2, true, "".into()),
            ("sms".into(), 0, true, "delivered".into())
        ]
    );
    assert!(deliveries[0]["error"].as_str().unwrap().contains("503"), "{deliveries:?}");
}

/// A gateway that refuses a message for good (a 4xx): the delivery is
/// recorded as failed, with the gateway's answer, and not tried again.
#[tokio::test]
async fn a_message_the_gateway_refuses_for_good_is_recorded_as_failed_and_not_retried() {
    let (gateway, url) = Gateway::start_failing(usize::MAX, axum::http::StatusCode::BAD_REQUEST).await;
    let dir = tempfile::tempdir().unwrap();
    let node = node_with_sms_unit(dir.path(), &format!("[sms_gateway]\nurl = \"{url}\"\ntoken = \"t\"\n")).await;
    let failed = eventually(Duration::from_secs(15), || async {
        let a = alert_for(&node, "72.71").await;
        a["deliveries"].as_array()?.iter().find(|d| d["status"] == "failed").cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no delivery recorded as failed; log:\n{}", node.log()));
    assert_eq!(failed["attempt"], 1, "{failed}");
    assert_eq!(failed["recipient"], "+6281234567890");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("400") && error.contains("sibuk"), "{error}");
    // recorded as failed for good: the outbox holds nothing more to send
    assert_eq!(metric(&node, "kentongan_alerter_deliveries_total{outcome=\"failed\"}").await, 1.0);
    assert_eq!(metric(&node, "kentongan_alerter_deliveries_total").await, 1.0);
    assert_eq!(gateway.requests().len(), 1);
}

#[tokio::test]
async fn sms_goes_through_a_twilio_style_gateway_with_a_form_and_basic_auth() {
    let (gateway, url) = Gateway::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let sms = format!(
        "[sms_gateway]\npreset = \"twilio\"\nurl = \"{url}\"\nusername = \"AC123\"\npassword = \"rahasia\"\nfrom = \"+15005550006\"\n"
    );
    let node = node_with_sms_unit(dir.path(), &sms).await;
    let requests = eventually(Duration::from_secs(15), || async {
        let r = gateway.requests();
        (!r.is_empty()).then_some(r)
    })
    .await
    .unwrap_or_else(|| panic!("no SMS reached the gateway; log:\n{}", node.log()));
    let (headers, body) = &requests[0];
    // AC123:rahasia
    assert_eq!(headers["authorization"], "Basic QUMxMjM6cmFoYXNpYQ==");
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    assert_eq!(form["To"], "+6281234567890");
    assert_eq!(form["From"], "+15005550006");
    assert!(form["Body"].starts_with("[WASPADA] Narkoba - Kota Palu"), "{body}");
    let status_url = &form["StatusCallback"];
    let form_type = "application/x-www-form-urlencoded";
    assert_eq!(callback(status_url, form_type, "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003").await, 204);
    let failed = eventually(Duration::from_secs(10), || async {
        let a = alert_for(&node, "72.71").await;
        a["deliveries"].as_array()?.iter().find(|d| d["status"] == "undelivered").cloned()
    })
    .await
    .expect("the gateway's status was not recorded");
    assert_eq!(failed["error"], "30003");
    assert_eq!(failed["recipient"], "+6281234567890");
}

#[tokio::test]
async fn an_alert_nobody_acknowledges_escalates_to_the_parent_unit() {
    let (gateway, url) = Gateway::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n[escalation]\nwaspada = \"2s\"\n\n[sms_gateway]\nurl = \"{url}\"\ntoken = \"t\"\n",
        dir.path().join("rules.toml").display()
    );
    let node = Node::start(dir.path(), &config, &[]).await;
    // the province hears only of awas directly, and of the city's alerts when the city is silent
    let province = json!({"name": "Kesbangpol Sulawesi Tengah", "regions": ["72"], "min_level": "awas", "phones": ["+6281100000072"]});
    let (status, province) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(province)).await;
    assert_eq!(status, 201, "{province}");
    let city = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "phones": ["+6281100007271"], "parent": province["id"]});
    let (status, _) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(city)).await;
    assert_eq!(status, 201);
    // and one in Donggala, which no unit covers: a gap
    for region in ["72.71", "72.03"] {
        let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": region})).await;
        assert_eq!(status, 202);
    }

    let texts = eventually(Duration::from_secs(20), || async {
        let mut sent: Vec<(String, String)> = gateway
            .requests()
            .iter()
            .map(|(_, body)| {
                let v: Value = serde_json::from_str(body).unwrap();
                let text = v["text"].as_str().unwrap();
                (v["to"].as_str().unwrap().to_owned(), text[..text.find(':').unwrap()].to_owned())
            })
            .collect();
        sent.sort();
        (sent.len() >= 4).then_some(sent)
    })
    .await
    .unwrap_or_else(|| panic!("no escalation reached the gateway; log:\n{}", node.log()));
    let sms = |to: &str, text: &str| (to.to_owned(), text.to_owned());
    assert_eq!(
        texts,
        [
            // Donggala's waspada alert, and the province's (reports from two
            // regencies): no unit takes them, so the nearest unit above does (a gap)
            sms("+6281100000072", "ESKALASI [WASPADA] Narkoba - Kota Palu"),
            sms("+6281100000072", "[WASPADA] Narkoba - Kabupaten Donggala"),
            sms("+6281100000072", "[WASPADA] Narkoba - Sulawesi Tengah"),
            sms("+6281100007271", "[WASPADA] Narkoba - Kota Palu"),
        ]
    );
    let metrics =
        common::client().get(node.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("kentongan_alerter_routing_gaps_total{")
            && l.contains("indicator=\"narkoba\"")
            && l.contains("province=\"72\"")),
        "{metrics}"
    );
    let alert = alert_for(&node, "72.71").await;
    let escalated = eventually(Duration::from_secs(10), || async {
        let a = alert_for(&node, "72.71").await;
        (!a["escalations"].as_array()?.is_empty()).then_some(a)
    })
    .await
    .expect("the escalation is not on the alert");
    assert_eq!(escalated["id"], alert["id"]);
    assert_eq!(escalated["escalations"][0]["names"], json!(["Kesbangpol Sulawesi Tengah"]));
    // and it goes no further: once the three timers have stopped at the
    // province, which has no parent, nothing more was sent
    let ended = eventually(Duration::from_secs(20), || async {
        (metric(&node, "kentongan_alerter_escalations_ended_total").await >= 3.0).then_some(())
    })
    .await;
    assert!(ended.is_some(), "the escalation did not stop at the top; log:\n{}", node.log());
    assert_eq!(metric(&node, "kentongan_alerter_deliveries_total").await, 4.0);
    assert_eq!(gateway.requests().len(), 4);
}

#[tokio::test]
async fn a_silence_holds_back_notifications_within_its_scope() {
    let (gateway, url) = Gateway::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n[sms_gateway]\nurl = \"{url}\"\ntoken = \"t\"\n",
        dir.path().join("rules.toml").display()
    );
    let node = Node::start(dir.path(), &config, &[]).await;
    let piket = create_user(&node, "piket-palu", "operator", &["72.71"]).await;
    let unit = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "phones": ["+6281100007271"]});
    assert_eq!(call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(unit)).await.0, 201);
    let until = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let silence =
        |region: &str| json!({"indicator": "narkoba", "region": region, "until": until, "reason": "operasi gabungan"});
    let (status, err) = call(&node, "POST", "/api/v1/silences", Some(&piket), Some(silence("73"))).await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = call(
        &node,
        "POST",
        "/api/v1/silences",
        Some(&piket),
        Some(json!({"region": "72.71", "until": "2020-01-01T00:00:00Z", "reason": "x"})),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    let (status, made) = call(&node, "POST", "/api/v1/silences", Some(&piket), Some(silence("72.71"))).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["by"], "piket-palu");
    let (_, list) = call(&node, "GET", "/api/v1/silences", Some(&piket), None).await;
    assert_eq!(list["silences"].as_array().unwrap().len(), 1);

    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    // raised and shown, but nobody's phone rings: once the alerter has held
    // it back, nothing was queued or sent
    alert_for(&node, "72.71").await;
    let held = eventually(Duration::from_secs(10), || async {
        (metric(&node, "kentongan_alerter_held_back_total{why=\"silenced\"}").await >= 1.0).then_some(())
    })
    .await;
    assert!(held.is_some(), "the alerter did not hold the alert back; log:\n{}", node.log());
    assert_eq!(metric(&node, "kentongan_alerter_queued_total").await, 0.0);
    assert!(gateway.requests().is_empty(), "a silenced alert was sent: {:?}", gateway.requests());

    let id = made["id"].as_str().unwrap();
    assert_eq!(call(&node, "DELETE", &format!("/api/v1/silences/{id}"), Some(&piket), None).await.0, 204);
    let (_, list) = call(&node, "GET", "/api/v1/silences", Some(&piket), None).await;
    assert_eq!(list["silences"], json!([]));
    let (_, log) = call(&node, "GET", "/api/v1/audit?action=silence.create", Some(TOKEN), None).await;
    assert_eq!(log["events"][0]["target"], id);
}

#[tokio::test]
async fn units_come_from_a_file_and_are_managed_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("units.toml"),
        "[[unit]]\nid = \"sulteng\"\nname = \"Kesbangpol Sulawesi Tengah\"\nregions = [\"72\"]\n\n\
         [[unit]]\nid = \"palu\"\nname = \"Kesbangpol Kota Palu\"\nregions = [\"72.71\"]\nparent = \"sulteng\"\n",
    )
    .unwrap();
    let config = "units_file = \"units.toml\"\n";
    let node = Node::start(dir.path(), config, &[]).await;
    let names = |r: &Value| -> Vec<String> {
        let mut n: Vec<String> =
            r["units"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
        n.sort();
        n
    };
    let (_, r) = call(&node, "GET", "/api/v1/units", Some(TOKEN), None).await;
    assert_eq!(names(&r), ["palu", "sulteng"]);

    let changed = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "parent": "sulteng", "phones": ["+6281100007271"]});
    let (status, r) = call(&node, "PUT", "/api/v1/units/palu", Some(TOKEN), Some(changed)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["phones"], json!(["+6281100007271"]));
    let hours = |zone: &str| {
        json!({"name": "Kesbangpol Sulawesi Tengah", "regions": ["72"], "time_zone": zone,
               "working_hours": {"days": [1, 2, 3, 4, 5], "from": "07:30", "to": "16:00"}})
    };
    let (status, err) = call(&node, "PUT", "/api/v1/units/sulteng", Some(TOKEN), Some(hours("GMT"))).await;
    assert_eq!(status, 422, "{err}");
    let (status, r) = call(&node, "PUT", "/api/v1/units/sulteng", Some(TOKEN), Some(hours("WITA"))).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["working_hours"]["from"], "07:30");
    let looped = json!({"name": "Kesbangpol Sulawesi Tengah", "regions": ["72"], "parent": "palu"});
    let (status, err) = call(&node, "PUT", "/api/v1/units/sulteng", Some(TOKEN), Some(looped)).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("loop"), "{err}");
    let regional = create_user(&node, "admin-sulsel", "admin", &["73"]).await;
    assert_eq!(call(&node, "DELETE", "/api/v1/units/palu", Some(&regional), None).await.0, 404);
    let (status, err) = call(&node, "DELETE", "/api/v1/units/sulteng", Some(TOKEN), None).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(call(&node, "DELETE", "/api/v1/units/palu", Some(TOKEN), None).await.0, 204);

    // a restart reads the file again, but what was removed stays removed and changes stay
    drop(node);
    let node = Node::start(dir.path(), config, &[]).await;
    let (_, r) = call(&node, "GET", "/api/v1/units", Some(TOKEN), None).await;
    assert_eq!(names(&r), ["sulteng"]);
}

/// A stand-in mail server on a free port that keeps every message it is
/// given (SMTP without TLS or login, as lettre speaks it).
async fn mail_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    mail_server("250 baik").await
}

/// The same, answering `rcpt` to each recipient.
async fn mail_server(rcpt: &'static str) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = kept.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 uji\r\n").await?;
                let mut line = String::new();
                while lines.read_line(&mut line).await? > 0 {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    line.clear();
                    match verb.as_str() {
                        "DATA" => {
                            write.write_all(b"354 lanjut\r\n").await?;
                            let mut message = Vec::new();
                            while lines.read_line(&mut line).await? > 0 && line != ".\r\n" {
                                message.extend_from_slice(line.as_bytes());
                                line.clear();
                            }
                            line.clear();
                            store.lock().unwrap().push(message);
                            write.write_all(b"250 diterima\r\n").await?;
                        }
                        "QUIT" => {
                            write.write_all(b"221 sampai jumpa\r\n").await?;
                            break;
                        }
                        "RCPT" => write.write_all(format!("{rcpt}\r\n").as_bytes()).await?,
                        _ => write.write_all(b"250 baik\r\n").await?,
                    }
                }
                Ok::<_, std::io::Error>(())
            });
        }
    });
    (port, kept)
}

/// A mail server that refuses the recipient for good (550): the delivery is
/// recorded as failed, with the server's answer, and not tried again.
#[tokio::test]
async fn an_address_the_mail_server_refuses_for_good_is_recorded_as_failed_and_not_retried() {
    let (smtp, mails) = mail_server("550 5.1.1 tidak ada pengguna itu").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n\
         [smtp]\nurl = \"smtp://127.0.0.1:{smtp}\"\nfrom = \"Kentongan <k@example.test>\"\n",
        dir.path().join("rules.toml").display()
    );
    let node = Node::start(dir.path(), &config, &[]).await;
    let unit = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "emails": ["pindah@palukota.go.id"]});
    assert_eq!(call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(unit)).await.0, 201);
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);
    let failed = eventually(Duration::from_secs(15), || async {
        let a = alert_for(&node, "72.71").await;
        a["deliveries"].as_array()?.iter().find(|d| d["status"] == "failed").cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no delivery recorded as failed; log:\n{}", node.log()));
    assert_eq!((&failed["attempt"], &failed["channel"]), (&json!(1), &json!("email")), "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("550") && error.contains("tidak ada pengguna"), "{error}");
    // recorded as failed for good: the outbox holds nothing more to send
    assert_eq!(metric(&node, "kentongan_alerter_deliveries_total").await, 1.0);
    assert!(mails.lock().unwrap().is_empty());
}

/// The status-callback token given to the SMS gateway and the token of the
/// acknowledgement link in email are signed with the same key, but each is
/// good only for its own purpose.
#[tokio::test]
async fn a_status_callback_token_does_not_acknowledge_and_an_ack_link_does_not_report_status() {
    let (gateway, url) = Gateway::start(0).await;
    let (smtp, mails) = mail_sink().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n[sms_gateway]\nurl = \"{url}\"\ntoken = \"t\"\n\n\
         [smtp]\nurl = \"smtp://127.0.0.1:{smtp}\"\nfrom = \"Kentongan <k@example.test>\"\n",
        dir.path().join("rules.toml").display()
    );
    let node = Node::start(dir.path(), &config, &[]).await;
    let unit = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"],
                      "phones": ["+6281234567890"], "emails": ["piket@palukota.go.id"]});
    let (status, body) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(unit)).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": "72.71"})).await;
    assert_eq!(status, 202);

    let status_url = eventually(Duration::from_secs(15), || async {
        let sent: Value = serde_json::from_str(&gateway.requests().first()?.1).unwrap();
        Some(sent["callback_url"].as_str()?.to_owned())
    })
    .await
    .unwrap_or_else(|| panic!("no SMS reached the gateway; log:\n{}", node.log()));
    let ack_url = eventually(Duration::from_secs(15), || async {
        let raw = mails.lock().unwrap().first()?.clone();
        let text = mail_parser::MessageParser::default().parse(&raw)?.body_text(0)?.into_owned();
        let at = text.find("/ack-link?token=")?;
        let start = text[..at].rfind("http")?;
        Some(text[start..].split_whitespace().next()?.trim_end_matches(['>', ')', '.']).to_owned())
    })
    .await
    .unwrap_or_else(|| panic!("no email with an ack link; log:\n{}", node.log()));
    let token_of = |u: &str| u[u.find("token=").unwrap() + 6..].to_owned();
    let alert = alert_for(&node, "72.71").await;
    let id = alert["id"].as_str().unwrap();
    let ack_path = format!("/api/v1/alerts/{id}/ack-link");

    // the gateway's token, used as an acknowledgement link: refused, and the alert stays open
    let sms_token = token_of(&status_url);
    let page = common::client().get(node.url(&format!("{ack_path}?token={sms_token}"))).send().await.unwrap();
    assert_eq!(page.status(), 403);
    let posted =
        callback(&node.url(&ack_path), "application/x-www-form-urlencoded", &format!("token={sms_token}")).await;
    assert_eq!(posted, 403);
    let (_, now) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(TOKEN), None).await;
    assert_eq!(now["state"], "open", "{now}");

    // the email's token, used as a status callback: refused
    let ack_token = token_of(&ack_url);
    let status_path = format!("/api/v1/alerts/{id}/sms-status?token={ack_token}");
    assert_eq!(callback(&node.url(&status_path), "application/json", "{\"status\":\"delivered\"}").await, 403);

    // each is good for its own purpose
    assert_eq!(callback(&status_url, "application/json", "{\"status\":\"delivered\"}").await, 204);
    let open = |token: String| {
        let url = node.url(&format!("{ack_path}?token={token}"));
        async move {
            let r = common::client().get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, page) = open(ack_token.clone()).await;
    assert_eq!(status, 200);
    assert!(page.contains("Sebagai <b>piket@palukota.go.id</b>") && page.contains("Terima peringatan ini"), "{page}");
    let posted =
        callback(&node.url(&ack_path), "application/x-www-form-urlencoded", &format!("token={ack_token}")).await;
    assert_eq!(posted, 200);
    let (status, page) = open(ack_token).await;
    assert_eq!(status, 409);
    assert!(page.contains("sudah diterima oleh <b>piket@palukota.go.id</b>"), "{page}");
    let (_, now) = call(&node, "GET", &format!("/api/v1/alerts/{id}"), Some(TOKEN), None).await;
    assert_eq!(now["state"], "acknowledged", "{now}");
}

/// One alert chain: a report in Kota Palu and one in Kabupaten Donggala
/// raise an alert for each regency and, as the province as a whole crosses
/// its own threshold with reports from two regencies, one for Sulawesi
/// Tengah that names both as its children. The API links them both ways
/// within the caller's regions. Acknowledging or resolving a child leaves
/// the province open; resolving the province resolves the open child by the
/// same person, as a step of its own on the `alerts` topic.
#[tokio::test]
async fn resolving_a_parent_alert_resolves_its_open_children() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.path().join("rules.toml").display());
    let node = Node::start(dir.path(), &config, &[]).await;
    let palu = create_user(&node, "piket-palu", "operator", &["72.71"]).await;
    let sulteng = create_user(&node, "piket-sulteng", "operator", &["72"]).await;
    for region in ["72.71", "72.03"] {
        let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": region})).await;
        assert_eq!(status, 202);
    }
    let id_of = |a: &Value| a["id"].as_str().unwrap().to_owned();
    let city = id_of(&alert_for(&node, "72.71").await);
    let donggala = id_of(&alert_for(&node, "72.03").await);
    let province = alert_for(&node, "72").await;
    let province_id = id_of(&province);
    let link = |id: &str, region: &str, name: &str, state: &str| json!({"id": id, "region": region, "name": name, "level": "waspada", "state": state});
    assert_eq!(province["children"], json!([donggala, city]));
    assert_eq!(
        province["chain"]["children"],
        json!([link(&donggala, "72.03", "Kabupaten Donggala", "open"), link(&city, "72.71", "Kota Palu", "open")])
    );
    let get = |token: &str, id: &str| {
        let (token, path) = (token.to_owned(), format!("/api/v1/alerts/{id}"));
        let node = &node;
        async move { call(node, "GET", &path, Some(&token), None).await.1 }
    };
    assert_eq!(get(&sulteng, &city).await["chain"]["parent"], link(&province_id, "72", "Sulawesi Tengah", "open"));
    // the city's operator does not see the province's alert, nor a link to it
    assert_eq!(get(&palu, &city).await["chain"]["parent"], Value::Null);

    // acknowledging and resolving a child is for the child alone
    let step = |token: &str, id: &str, step: &str| {
        let (token, path) = (token.to_owned(), format!("/api/v1/alerts/{id}/{step}"));
        let node = &node;
        async move { call(node, "POST", &path, Some(&token), Some(json!({"note": "Situasi kondusif"}))).await }
    };
    assert_eq!(step(&palu, &city, "ack").await.0, 200);
    assert_eq!(step(&sulteng, &donggala, "resolve").await.0, 200);
    assert_eq!(get(&sulteng, &province_id).await["state"], "open");
    // resolving the province resolves the city, by the same person
    let (status, r) = step(&sulteng, &province_id, "resolve").await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "resolved");
    assert_eq!(r["chain"]["children"][1]["state"], "resolved");
    let with = format!("diselesaikan bersama alert induk {province_id}");
    let steps = |a: &Value| -> Vec<(Value, Value, Value)> {
        let history = a["history"].as_array().unwrap();
        history.iter().map(|c| (c["state"].clone(), c["by"].clone(), c["note"].clone())).collect()
    };
    let resolved_with = (json!("resolved"), json!("piket-sulteng"), json!(with));
    assert_eq!(&steps(&get(&palu, &city).await)[1..], std::slice::from_ref(&resolved_with));
    assert_eq!(steps(&get(&sulteng, &donggala).await).len(), 1, "resolved already: left alone");
    assert_eq!(step(&sulteng, &province_id, "resolve").await.0, 409);

    // the city's step is on the alerts topic: a restarted node shows it
    drop(node);
    let node = Node::start(dir.path(), &config, &[]).await;
    let after = eventually(Duration::from_secs(10), || async {
        let (status, a) = call(&node, "GET", &format!("/api/v1/alerts/{city}"), Some(TOKEN), None).await;
        (status == 200 && a["state"] == "resolved").then_some(a)
    })
    .await
    .unwrap_or_else(|| panic!("the city's alert is not resolved after a restart; log:\n{}", node.log()));
    assert_eq!(steps(&after)[1..], [resolved_with]);
}

/// The natural setup: a Kota Palu unit, and a Sulawesi Tengah province unit
/// as its parent whose regions cover the city. Both have the city's alert
/// at once; when nobody takes it on in time, the province is told by email
/// that the city did not, and the alert records who was silent.
#[tokio::test]
async fn a_silent_city_is_escalated_to_a_province_that_had_the_alert_too() {
    let (smtp, mails) = mail_sink().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.toml"), RULES).unwrap();
    let config = format!(
        "[rules]\npath = \"{}\"\n\n[delivery]\ngroup_window = \"0s\"\n\n[escalation]\nwaspada = \"2s\"\n\n\
         [smtp]\nurl = \"smtp://127.0.0.1:{smtp}\"\nfrom = \"Kentongan <k@example.test>\"\n",
        dir.path().join("rules.toml").display()
    );
    let node = Node::start(dir.path(), &config, &[]).await;
    let province =
        json!({"name": "Kesbangpol Sulawesi Tengah", "regions": ["72"], "emails": ["piket@sultengprov.go.id"]});
    let (status, province) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(province)).await;
    assert_eq!(status, 201, "{province}");
    let city = json!({"name": "Kesbangpol Kota Palu", "regions": ["72.71"], "emails": ["piket@palukota.go.id"],
                      "parent": province["id"]});
    let (status, city) = call(&node, "POST", "/api/v1/units", Some(TOKEN), Some(city)).await;
    assert_eq!(status, 201, "{city}");
    for region in ["72.71", "72.03"] {
        let (status, _) = post_report(&node, json!({"text": "Pesta sabu di rumah kontrakan", "region": region})).await;
        assert_eq!(status, 202);
    }

    // the province's own alert (reports from two regencies) lists the alerts below it
    let (to, text) = eventually(Duration::from_secs(20), || async {
        mail_with_subject(&mails, "[WASPADA] Narkoba - Sulawesi Tengah")
    })
    .await
    .unwrap_or_else(|| panic!("no email for the province's alert; log:\n{}", node.log()));
    assert_eq!(to, "piket@sultengprov.go.id");
    assert!(
        text.contains(
            "Peringatan ini menghimpun peringatan wilayah di bawahnya:\n- Kabupaten Donggala (72.03): WASPADA\n- Kota Palu (72.71): WASPADA\n"
        ),
        "{text}"
    );
    let escalated = eventually(Duration::from_secs(20), || async {
        mail_with_subject(&mails, "[ESKALASI] [WASPADA] Narkoba - Kota Palu")
    })
    .await
    .unwrap_or_else(|| panic!("the province was not told that the city was silent; log:\n{}", node.log()));
    assert_eq!(escalated.0, "piket@sultengprov.go.id");
    assert!(
        escalated.1.starts_with(
            "ESKALASI: peringatan ini diteruskan kepada Kesbangpol Sulawesi Tengah karena belum diterima oleh Kesbangpol Kota Palu."
        ),
        "{}",
        escalated.1
    );
    assert!(escalated.1.contains("- Kesbangpol Kota Palu, email piket@palukota.go.id: "), "{}", escalated.1);
    let alert = eventually(Duration::from_secs(10), || async {
        let a = alert_for(&node, "72.71").await;
        (!a["escalations"].as_array()?.is_empty()).then_some(a)
    })
    .await
    .expect("the escalation is not on the alert");
    let escalation = &alert["escalations"][0];
    assert_eq!(escalation["units"], json!([province["id"]]));
    assert_eq!(escalation["names"], json!(["Kesbangpol Sulawesi Tengah"]));
    assert_eq!(escalation["from"], json!([city["id"]]));
    assert_eq!(escalation["from_names"], json!(["Kesbangpol Kota Palu"]));
}

/// The recipient and text (with `\n` line ends) of the first message in
/// `mails` with `subject`.
fn mail_with_subject(mails: &std::sync::Mutex<Vec<Vec<u8>>>, subject: &str) -> Option<(String, String)> {
    mails.lock().unwrap().iter().find_map(|raw| {
        let mail = mail_parser::MessageParser::default().parse(raw)?;
        let to = mail.to()?.first()?.address()?.to_owned();
        (mail.subject()? == subject).then(|| (to, mail.body_text(0).unwrap_or_default().replace("\r\n", "\n")))
    })
}
