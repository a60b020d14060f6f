//! Accounts, roles and region scopes, over HTTP against the running binary
//! (embedded default).

mod common;

use std::time::Duration;

use common::{Node, TOKEN, call, client, create_user, create_user_as, eventually, post_report};
use serde_json::{Value, json};

const ROLES: [&str; 4] = ["admin", "analyst", "operator", "reporter"];

/// Every endpoint in the OpenAPI document, for every role: without a token
/// 401, with a role it does not list 403, with a role it lists neither.
#[tokio::test]
async fn every_role_against_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let mut tokens = Vec::new();
    for role in ROLES {
        // the admin is national: some endpoints (rules) take a national admin
        let regions: &[&str] = if role == "admin" { &[] } else { &["72"] };
        tokens.push((role, create_user(&node, &format!("uji-{role}"), role, regions).await));
    }
    let (status, doc) = call(&node, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let roles: Vec<&str> = op["x-roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
            if roles.is_empty() {
                assert_eq!(op["security"], json!([]), "{method} {path}");
                continue;
            }
            assert!(op["description"].as_str().unwrap().starts_with("Requires role:"), "{method} {path}");
            assert_eq!(op["security"], json!([{"bearer": []}, {"session": []}]), "{method} {path}");
            let concrete = path.replace("{id}", "01939b6e-0000-7000-8000-000000000000").replace("{name}", "tidak-ada");
            let body = (method != "get").then(|| json!({}));
            let method = method.to_uppercase();
            let (status, _) = call(&node, &method, &concrete, None, body.clone()).await;
            assert_eq!(status, 401, "{method} {path} without a token");
            let (status, _) = call(&node, &method, &concrete, Some("ktn_000000000000_salah"), body.clone()).await;
            // after a few failures of the same token, the refusal is 429 for a while
            assert!(status == 401 || status == 429, "{method} {path} with a wrong token: {status}");
            for (role, token) in &tokens {
                let (status, answer) = call(&node, &method, &concrete, Some(token), body.clone()).await;
                if roles.contains(role) {
                    assert!(status != 401 && status != 403, "{method} {path} as {role}: {status} {answer}");
                } else {
                    assert_eq!(status, 403, "{method} {path} as {role}: {answer}");
                    assert_eq!(answer["error"]["code"], "forbidden");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} endpoints checked");
}

/// An analyst of 73 never sees a report, count or facet from 72; ids from
/// outside the scope are 404, not 403.
#[tokio::test]
async fn an_analyst_of_73_never_sees_72() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let analyst = create_user(&node, "analis-sulsel", "analyst", &["73"]).await;
    let mut palu = String::new();
    for (text, region) in [
        ("Pesta sabu di Palu Barat", "72.71.02"),
        ("Bentrokan warga di Donggala", "72.03"),
        ("Kurir sabu ditangkap di Makassar", "73.71"),
    ] {
        let (status, body) = post_report(&node, json!({"text": text, "region": region})).await;
        assert_eq!(status, 202);
        if region == "72.71.02" {
            palu = body["id"].as_str().unwrap().to_owned();
        }
    }
    // everything is indexed (the national admin sees all three)
    eventually(Duration::from_secs(10), || async {
        let (_, r) = call(&node, "GET", "/api/v1/search", Some(TOKEN), None).await;
        (r["total"] == 3).then_some(())
    })
    .await
    .expect("not indexed");

    let (status, r) = call(&node, "GET", "/api/v1/search", Some(&analyst), None).await;
    assert_eq!(status, 200);
    assert_eq!(r["total"], 1, "{r}");
    assert_eq!(r["facets"]["indicator"], json!({"narkoba": 1}));
    let (_, r) = call(&node, "GET", "/api/v1/search?q=sabu", Some(&analyst), None).await;
    assert_eq!(r["total"], 1);
    assert_eq!(r["hits"][0]["regions"], json!(["73.71"]));
    // asking for 72 explicitly still gives nothing
    let (_, r) = call(&node, "GET", "/api/v1/search?region=72", Some(&analyst), None).await;
    assert_eq!((r["total"].clone(), r["facets"]["indicator"].clone()), (json!(0), json!({})));
    let (status, r) = call(&node, "GET", &format!("/api/v1/reports/{palu}"), Some(&analyst), None).await;
    assert_eq!(status, 404, "{r}");
    let (status, _) = call(&node, "GET", &format!("/api/v1/reports/{palu}"), Some(TOKEN), None).await;
    assert_eq!(status, 200);
}

/// A reporter sees only their own reports; who reported is shown to admins
/// and operators in scope, never to analysts.
#[tokio::test]
async fn reporters_see_their_own_and_identities_stay_protected() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let budi = create_user(&node, "budi", "reporter", &["72.71"]).await;
    let siti = create_user(&node, "siti", "reporter", &["72.71"]).await;
    let analyst = create_user(&node, "analis", "analyst", &["72"]).await;
    let operator = create_user(&node, "piket", "operator", &["72"]).await;
    let r = client()
        .post(node.url("/api/v1/reports"))
        .bearer_auth(&budi)
        .json(&json!({"text": "Ada pesta sabu di gang sebelah", "region": "72.71.02"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/reports/{id}");
    let own = eventually(Duration::from_secs(10), || async {
        let (status, body) = call(&node, "GET", &path, Some(&budi), None).await;
        (status == 200).then_some(body)
    })
    .await
    .expect("reporter cannot read own report");
    assert_eq!(own["report"]["text"], "Ada pesta sabu di gang sebelah");
    assert_eq!(call(&node, "GET", &path, Some(&siti), None).await.0, 404);
    let (_, seen_by_analyst) = call(&node, "GET", &path, Some(&analyst), None).await;
    assert!(seen_by_analyst["report"].get("reporter").is_none(), "{seen_by_analyst}");
    let (_, seen_by_operator) = call(&node, "GET", &path, Some(&operator), None).await;
    assert_eq!(seen_by_operator["report"]["reporter"]["account"], "budi");
    let (_, hits) = call(&node, "GET", "/api/v1/search?q=sabu", Some(&analyst), None).await;
    assert!(!hits.to_string().contains("budi"), "{hits}");
}

#[tokio::test]
async fn tokens_can_be_revoked_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let token = create_user(&node, "petugas", "operator", &["72"]).await;
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&token), None).await.0, 200);

    // a second token that expires in two seconds
    let expires = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let expires = expires.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, short) =
        call(&node, "POST", "/api/v1/me/tokens", Some(&token), Some(json!({"label": "hp", "expires_at": expires})))
            .await;
    assert_eq!(status, 201, "{short}");
    let short = short["token"].as_str().unwrap().to_owned();
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&short), None).await.0, 200);
    eventually(Duration::from_secs(10), || async {
        (call(&node, "GET", "/api/v1/me", Some(&short), None).await.0 == 401).then_some(())
    })
    .await
    .expect("expired token still works");

    // revocation by the owner
    let (_, me) = call(&node, "GET", "/api/v1/me", Some(&token), None).await;
    let first = me["tokens"][0]["id"].as_str().unwrap().to_owned();
    let (_, other) = call(&node, "POST", "/api/v1/me/tokens", Some(&token), None).await;
    let other = other["token"].as_str().unwrap().to_owned();
    assert_eq!(call(&node, "DELETE", &format!("/api/v1/tokens/{first}"), Some(&token), None).await.0, 204);
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&token), None).await.0, 401);
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&other), None).await.0, 200);

    // tokens are stored hashed: the secret appears nowhere on disk
    let mut found = false;
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            found |= bytes.windows(other.len()).any(|w| w == other.as_bytes());
        }
    }
    assert!(!found, "a token was stored in the clear");
}

/// Admins act only inside their regions; other regions' accounts and tokens
/// are 404, and national accounts need a national admin.
#[tokio::test]
async fn regional_admins_stay_in_their_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin72 = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    create_user(&node, "analis-sulsel", "analyst", &["73"]).await;
    // inside: fine
    create_user_as(&node, &admin72, json!({"name": "op-palu", "role": "operator", "regions": ["72.71"]})).await;
    // outside or national: refused
    for regions in [json!(["73"]), json!([]), json!(["72", "73.71"])] {
        let (status, body) = call(
            &node,
            "POST",
            "/api/v1/users",
            Some(&admin72),
            Some(json!({"name": "x-luar", "role": "analyst", "regions": regions})),
        )
        .await;
        assert_eq!(status, 403, "{regions}: {body}");
    }
    let (status, _) =
        call(&node, "PATCH", "/api/v1/users/analis-sulsel", Some(&admin72), Some(json!({"active": false}))).await;
    assert_eq!(status, 404);
    let (status, _) = call(&node, "POST", "/api/v1/users/analis-sulsel/tokens", Some(&admin72), None).await;
    assert_eq!(status, 404);
    let (_, users) = call(&node, "GET", "/api/v1/users", Some(&admin72), None).await;
    let names: Vec<&str> = users["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin-sulteng", "op-palu"]);
    // a deactivated account cannot sign in
    let (status, _) =
        call(&node, "PATCH", "/api/v1/users/op-palu", Some(&admin72), Some(json!({"active": false}))).await;
    assert_eq!(status, 200);
    let (status, body) = call(&node, "GET", "/api/v1/users", Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let op = body["users"].as_array().unwrap().iter().find(|u| u["name"] == "op-palu").unwrap().clone();
    assert_eq!(op["active"], false);
    assert!(op.get("password_hash").is_none() && !body.to_string().contains("argon2"));
    let (status, body) =
        call(&node, "POST", "/api/v1/users", Some(TOKEN), Some(json!({"name": "op-palu", "role": "operator"}))).await;
    assert_eq!(status, 409, "{body}");

    // an account that also covers 73 is beyond an admin of 72: it cannot be
    // changed, deactivated, given a token, or have its token revoked
    let both = create_user(&node, "analis-sulawesi", "analyst", &["72", "73"]).await;
    for change in [json!({"active": false}), json!({"regions": ["72"]}), json!({"email": "x@contoh.id"})] {
        let (status, _) = call(&node, "PATCH", "/api/v1/users/analis-sulawesi", Some(&admin72), Some(change)).await;
        assert_eq!(status, 404);
    }
    let (status, _) = call(&node, "POST", "/api/v1/users/analis-sulawesi/tokens", Some(&admin72), None).await;
    assert_eq!(status, 404);
    let (_, me) = call(&node, "GET", "/api/v1/me", Some(&both), None).await;
    let token_id = me["tokens"][0]["id"].as_str().unwrap();
    let (status, _) = call(&node, "DELETE", &format!("/api/v1/tokens/{token_id}"), Some(&admin72), None).await;
    assert_eq!(status, 404);
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&both), None).await.0, 200);
}

/// Names are one namespace for the country, so a taken name is refused
/// whoever holds it, but the answer says nothing of that account: it is the
/// same for an account in the caller's regions and one outside them, and the
/// attempt is audited. A phone number or Telegram id can sign in one account
/// only, so nobody can have another region's messages filed as their own.
#[tokio::test]
async fn taken_names_and_numbers_are_refused_without_describing_their_account() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin72 = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let sulsel = json!({"name": "pelapor-makassar", "role": "reporter", "regions": ["73.71"],
                        "phone": "+6281299990073", "telegram": "7300001"});
    create_user_as(&node, TOKEN, sulsel).await;
    create_user_as(&node, &admin72, json!({"name": "pelapor-palu", "role": "reporter", "regions": ["72.71"]})).await;

    let mut answers = Vec::new();
    for taken in ["pelapor-makassar", "pelapor-palu"] {
        let new = json!({"name": taken, "role": "reporter", "regions": ["72.71"]});
        let (status, body) = call(&node, "POST", "/api/v1/users", Some(&admin72), Some(new)).await;
        assert_eq!(status, 409, "{body}");
        answers.push(body.to_string().replace(taken, "NAME"));
    }
    assert_eq!(answers[0], answers[1], "the answer differs for an account outside the caller's regions");
    assert!(!answers[0].contains("exist") && !answers[0].contains("73"), "{}", answers[0]);
    let (_, log) = call(&node, "GET", "/api/v1/audit?action=account.create_refused", Some(TOKEN), None).await;
    assert_eq!(log["events"].as_array().unwrap().len(), 2, "{log}");

    // another region's phone number or Telegram id: refused, on creation and on change
    for (field, value) in [("phone", "0812-9999-0073"), ("telegram", "7300001")] {
        let mut new = json!({"name": "pelapor-donggala", "role": "reporter", "regions": ["72.03"]});
        new[field] = json!(value);
        let (status, body) = call(&node, "POST", "/api/v1/users", Some(&admin72), Some(new)).await;
        assert_eq!(status, 409, "{field}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{body}");
        let change = json!({ field: value });
        let (status, body) = call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(change)).await;
        assert_eq!(status, 409, "{field}: {body}");
    }
    let (_, users) = call(&node, "GET", "/api/v1/users", Some(&admin72), None).await;
    let palu = users["users"].as_array().unwrap().iter().find(|u| u["name"] == "pelapor-palu").unwrap().clone();
    assert!(palu["phone"].is_null() && palu["telegram"].is_null(), "{palu}");
    // its own number again is no conflict
    let (status, body) =
        call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(json!({"phone": "+6281200007271"})))
            .await;
    assert_eq!(status, 200, "{body}");
    let again = json!({"phone": "+6281200007271", "display_name": "Pelapor Palu"});
    let (status, body) = call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(again)).await;
    assert_eq!(status, 200, "{body}");
}

/// A wrong token costs the server an Argon2 check, so failures are counted
/// per token id and per client address: past the limit the answer is 429
/// with Retry-After, the same for an id that exists and one that does not.
/// A token that signed in before keeps working.
#[tokio::test]
async fn wrong_tokens_are_throttled_per_token_id_and_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let token = create_user(&node, "petugas", "operator", &["72"]).await;
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&token), None).await.0, 200);
    let id = &token[4..16];
    // FAILURES_PER_ID in accounts::directory
    const PER_ID: usize = 10;
    for wrong in [format!("ktn_{id}_salah"), "ktn_0123456789ab_salah".to_owned()] {
        for n in 0..PER_ID {
            assert_eq!(call(&node, "GET", "/api/v1/me", Some(&wrong), None).await.0, 401, "{wrong} try {n}");
        }
        let refused = client().get(node.url("/api/v1/me")).bearer_auth(&wrong).send().await.unwrap();
        assert_eq!(refused.status(), 429, "{wrong}");
        let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
    }
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&token), None).await.0, 200);
    // FAILURES_PER_ADDRESS: 30, of which 20 are spent above; fresh ids from
    // this address fail ten more times, then are refused before any check
    for n in 0..10 {
        let fresh = format!("ktn_c{n:011}_salah");
        assert_eq!(call(&node, "GET", "/api/v1/me", Some(&fresh), None).await.0, 401, "{fresh}");
    }
    assert_eq!(call(&node, "GET", "/api/v1/me", Some("ktn_dddddddddddd_salah"), None).await.0, 429);
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&token), None).await.0, 200);
}

/// A unit is changed (replaced, deleted) only by an admin whose regions
/// cover all of its regions, before and after; its parent must be a unit of
/// the admin's regions or one that encloses the unit's regions (the
/// province unit above a city's), never a unit of another province.
#[tokio::test]
async fn units_are_changed_only_by_admins_of_all_their_regions() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let unit = |name: &str, regions: Value, parent: Option<&str>| {
        json!({"name": name, "regions": regions, "emails": [format!("{}@contoh.go.id", name.replace(' ', "."))],
               "parent": parent})
    };
    let create = |token: String, body: Value| {
        let node = &node;
        async move { call(node, "POST", "/api/v1/units", Some(&token), Some(body)).await }
    };
    let (_, sulteng) = create(TOKEN.into(), unit("Kesbangpol Sulteng", json!(["72"]), None)).await;
    let (_, sulsel) = create(TOKEN.into(), unit("Kesbangpol Sulsel", json!(["73"]), None)).await;
    let (status, joint) = create(TOKEN.into(), unit("Satgas Sulawesi", json!(["72", "73"]), None)).await;
    assert_eq!(status, 201, "{joint}");
    let id = |u: &Value| u["id"].as_str().unwrap().to_owned();
    let (sulteng, sulsel, joint) = (id(&sulteng), id(&sulsel), id(&joint));
    let admin72 = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let admin7271 = create_user(&node, "admin-palu", "admin", &["72.71"]).await;
    let admin73 = create_user(&node, "admin-sulsel", "admin", &["73"]).await;

    // a unit that also covers 73: neither province alone may replace or delete it
    for token in [&admin72, &admin73] {
        let stripped = unit("Satgas Sulawesi", json!(["72"]), None);
        let (status, body) = call(&node, "PUT", &format!("/api/v1/units/{joint}"), Some(token), Some(stripped)).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(call(&node, "DELETE", &format!("/api/v1/units/{joint}"), Some(token), None).await.0, 403);
    }
    let (_, all) = call(&node, "GET", "/api/v1/units", Some(TOKEN), None).await;
    let kept = all["units"].as_array().unwrap().iter().find(|u| u["id"] == joint.as_str()).unwrap().clone();
    assert_eq!(
        (kept["regions"].clone(), kept["emails"][0].clone()),
        (json!(["72", "73"]), json!("Satgas.Sulawesi@contoh.go.id"))
    );
    // another province's unit is not even there
    let (status, _) =
        call(&node, "PUT", &format!("/api/v1/units/{sulsel}"), Some(&admin72), Some(unit("x", json!(["72"]), None)))
            .await;
    assert_eq!(status, 404);

    // a parent in another province: refused, on creation and on change; one
    // the admin does not see is answered like one that does not exist (422),
    // one the admin sees but that does not enclose the unit is 403
    let (_, shared) = create(TOKEN.into(), unit("BNN Palu Makassar", json!(["72.71", "73.71"]), None)).await;
    let shared = id(&shared);
    for (parent, expected) in [(&sulsel, 422), (&shared, 403)] {
        let (status, body) = create(admin72.clone(), unit("Kesbangpol Donggala", json!(["72.03"]), Some(parent))).await;
        assert_eq!(status, expected, "{body}");
    }
    let (status, donggala) =
        create(admin72.clone(), unit("Kesbangpol Donggala", json!(["72.03"]), Some(&sulteng))).await;
    assert_eq!(status, 201, "{donggala}");
    let donggala = id(&donggala);
    for parent in [&sulsel, &shared] {
        let moved = unit("Kesbangpol Donggala", json!(["72.03"]), Some(parent));
        let (status, _) = call(&node, "PUT", &format!("/api/v1/units/{donggala}"), Some(&admin72), Some(moved)).await;
        assert!(status == 403 || status == 422, "{status}");
        let moved = unit("Kesbangpol Sulteng", json!(["72"]), Some(parent));
        let (status, _) = call(&node, "PUT", &format!("/api/v1/units/{sulteng}"), Some(&admin72), Some(moved)).await;
        assert!(status == 403 || status == 422, "{status}");
    }
    let (_, all) = call(&node, "GET", "/api/v1/units", Some(TOKEN), None).await;
    let parents: Vec<&Value> = all["units"].as_array().unwrap().iter().map(|u| &u["parent"]).collect();
    assert!(!parents.contains(&&json!(sulsel)) && !parents.contains(&&json!(shared)), "{all}");

    // a city admin names the province unit as parent, and sees it; but may not change it
    let (_, listed) = call(&node, "GET", "/api/v1/units", Some(&admin7271), None).await;
    let ids: Vec<&str> = listed["units"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&sulteng.as_str()) && !ids.contains(&sulsel.as_str()), "{ids:?}");
    assert!(!ids.contains(&donggala.as_str()), "a neighbouring regency's unit: {ids:?}");
    let (status, palu) = create(admin7271.clone(), unit("Kesbangpol Palu", json!(["72.71"]), Some(&sulteng))).await;
    assert_eq!(status, 201, "{palu}");
    let (status, _) = create(admin7271.clone(), unit("BNN Palu", json!(["72.71"]), Some(&donggala))).await;
    assert_eq!(status, 422, "a unit the city admin does not see is like one that does not exist");
    let renamed = unit("Kesbangpol Sulawesi Tengah", json!(["72"]), None);
    let (status, _) = call(&node, "PUT", &format!("/api/v1/units/{sulteng}"), Some(&admin7271), Some(renamed)).await;
    assert_eq!(status, 403);
    assert_eq!(call(&node, "DELETE", &format!("/api/v1/units/{sulteng}"), Some(&admin7271), None).await.0, 403);

    // the province admin manages the city's unit, and a national admin the joint one
    let palu = id(&palu);
    let changed = unit("Kesbangpol Kota Palu", json!(["72.71"]), Some(&sulteng));
    let (status, _) = call(&node, "PUT", &format!("/api/v1/units/{palu}"), Some(&admin72), Some(changed)).await;
    assert_eq!(status, 200);
    assert_eq!(call(&node, "DELETE", &format!("/api/v1/units/{joint}"), Some(TOKEN), None).await.0, 204);
}

/// Web sign-in: an HttpOnly, SameSite cookie; CSRF on changing requests;
/// lockout after repeated failures; every attempt in the audit log.
#[tokio::test]
async fn web_sign_in_with_csrf_lockout_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let body = json!({"name": "dewi", "role": "operator", "regions": ["72"], "password": "kata-sandi-panjang-sekali"});
    create_user_as(&node, TOKEN, body).await;
    let sign_in = |password: &'static str| {
        client().post(node.url("/api/v1/session")).json(&json!({"name": "dewi", "password": password})).send()
    };
    let r = sign_in("kata-sandi-panjang-sekali").await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http must not set Secure: {cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();

    // as a browser sends it: among other cookies, in two headers
    let me = client()
        .get(node.url("/api/v1/me"))
        .header("cookie", "theme=\"gelap\"; lang=id")
        .header("cookie", format!("other=1; {session}; last=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let no_csrf = client().post(node.url("/api/v1/me/tokens")).header("cookie", &session).send().await.unwrap();
    assert_eq!(no_csrf.status(), 403);
    let with_csrf = client()
        .post(node.url("/api/v1/me/tokens"))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(with_csrf.status(), 201);
    let out = client()
        .delete(node.url("/api/v1/session"))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("kentongan_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let after = client().get(node.url("/api/v1/me")).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status(), 401);

    for _ in 0..5 {
        assert_eq!(sign_in("salah").await.unwrap().status(), 401);
    }
    let locked = sign_in("kata-sandi-panjang-sekali").await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key("retry-after"));

    let (status, log) = call(&node, "GET", "/api/v1/audit?actor=dewi", Some(TOKEN), None).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = log["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "sign_in_failed").count(), 5, "{actions:?}");
    assert!(actions.contains(&"sign_in") && actions.contains(&"token.create") && actions.contains(&"sign_out"));
    let first = log["events"].as_array().unwrap().last().unwrap();
    assert_eq!(first["source"], "127.0.0.1");
    let (_, created) = call(&node, "GET", "/api/v1/audit?action=account.create", Some(TOKEN), None).await;
    let created = &created["events"][0];
    assert_eq!((created["actor"].as_str(), created["target"].as_str()), (Some("admin"), Some("dewi")));
    assert_eq!(created["after"]["role"], "operator");
    assert!(!created.to_string().contains("argon2"));
}

/// `kentongan user add` writes the account where the server will find it.
#[tokio::test]
async fn user_add_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kentongan"))
        .args(["user", "add", "rudi", "--role", "analyst", "--region", "72.71", "--email", "rudi@example.go.id"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("ktn_"), "{token}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_kentongan"))
        .args(["user", "add", "rudi2", "--role", "analyst", "--region", "99"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("99"));

    let node = Node::start(dir.path(), "", &[]).await;
    let (status, me) = call(&node, "GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["role"].as_str(), me["regions"].clone()), (Some("analyst"), json!(["72.71"])));
    // while the server holds the embedded log, the command says what to do
    let busy = std::process::Command::new(env!("CARGO_BIN_EXE_kentongan"))
        .args(["user", "add", "rina", "--role", "reporter"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("another kentongan process"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
}

/// Alerts, like reports, are filtered inside the query by the caller's regions.
#[tokio::test]
async fn operators_see_only_alerts_of_their_regions() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(
        dir.path().join("rules.toml"),
        "[[rule]]\nid = \"n\"\nindicator = \"narkoba\"\nany = [\"sabu\"]\n[threshold.narkoba]\nwindow = \"1h\"\nwaspada = 1\n",
    )
    .unwrap();
    let config = format!("[rules]\npath = \"{}\"\n", dir.path().join("rules.toml").display());
    let node = Node::start(dir.path(), &config, &[]).await;
    let operator = create_user(&node, "piket-sulsel", "operator", &["73"]).await;
    for region in ["72.71", "73.71"] {
        let (status, _) = post_report(&node, json!({"text": "pesta sabu", "region": region})).await;
        assert_eq!(status, 202);
    }
    // the national admin sees the alerts of both provinces (one per report: a
    // province raises none for reports from one regency alone)
    eventually(Duration::from_secs(10), || async {
        let (_, r) = call(&node, "GET", "/api/v1/alerts", Some(TOKEN), None).await;
        (r["alerts"].as_array()?.len() == 2).then_some(())
    })
    .await
    .expect("alerts not raised");
    let (status, r) = call(&node, "GET", "/api/v1/alerts", Some(&operator), None).await;
    assert_eq!(status, 200);
    let mut regions: Vec<&str> =
        r["alerts"].as_array().unwrap().iter().map(|a| a["region"].as_str().unwrap()).collect();
    regions.sort_unstable();
    assert_eq!(regions, ["73.71"]);
    let (_, r) = call(&node, "GET", "/api/v1/alerts?region=72", Some(&operator), None).await;
    assert_eq!(r["alerts"], json!([]));
}

/// Sign-in refuses, before it counts or records anything, a name no account
/// can have and an overlong password; what the audit log keeps of a request
/// (the name, the forwarded-for header) stays small. One address may fail
/// only so often (30 a minute, shared with token checks), so it cannot lock
/// out every account name in turn; another address still signs in.
#[tokio::test]
async fn sign_in_stores_nothing_large_and_is_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let body = json!({"name": "dewi", "role": "operator", "regions": ["72"], "password": "kata-sandi-panjang-sekali"});
    create_user_as(&node, TOKEN, body).await;
    let huge = "a".repeat(200_000);
    for (name, password, field) in
        [(huge.as_str(), "salah", "name"), ("Dewi\u{0}", "salah", "name"), ("dewi", &*"x".repeat(2_000), "password")]
    {
        let (status, body) =
            call(&node, "POST", "/api/v1/session", None, Some(json!({"name": name, "password": password}))).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{body}");
    }
    let forwarded = vec!["203.0.113.9"; 5_000].join(", ") + &"x".repeat(10_000);
    let r = client()
        .post(node.url("/api/v1/session"))
        .header("x-forwarded-for", &forwarded)
        .json(&json!({"name": "dewi", "password": "salah"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client().get(node.url("/api/v1/audit?action=sign_in_failed")).bearer_auth(TOKEN).send().await.unwrap();
    let text = r.text().await.unwrap();
    assert!(text.len() < 2_000, "{} bytes", text.len());
    let log: Value = serde_json::from_str(&text).unwrap();
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{log}");
    let source = events[0]["source"].as_str().unwrap();
    assert!(source.starts_with("127.0.0.1 (for 203.0.113.9") && source.len() <= 100, "{source}");

    // 29 more failures from this address, over six names: then this address
    // is refused for any name, `admin` included, before a lockout counts it
    for n in 0..29 {
        let name = if n < 4 { "dewi".to_owned() } else { format!("nama-{}", n / 5) };
        let (status, body) =
            call(&node, "POST", "/api/v1/session", None, Some(json!({"name": name, "password": "salah"}))).await;
        assert_eq!(status, 401, "try {n}: {body}");
    }
    let (status, body) =
        call(&node, "POST", "/api/v1/session", None, Some(json!({"name": "admin", "password": "salah"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    // from another address: a name tried here less than five times is still
    // checked, one that failed five times stays locked (per name, wherever from)
    let other =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    for (name, expected) in [("nama-0", 401), ("admin", 401), ("dewi", 429)] {
        let body = json!({"name": name, "password": "salah"});
        let r = other.post(node.url("/api/v1/session")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), expected, "{name}");
    }
}

/// Tokens made through the API: a short printable label, an expiry within
/// a year, and at most 20 live ones per account.
#[tokio::test]
async fn tokens_have_sane_labels_expiries_and_a_cap() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let token = create_user(&node, "pelapor", "reporter", &["72"]).await;
    let in_a_day = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for (body, field) in [
        (json!({"label": "a\u{0}b"}), "label"),
        (json!({"label": "x".repeat(101)}), "label"),
        (json!({"label": "ponsel", "expires_at": "9999-12-31T23:59:59Z"}), "expires_at"),
        (json!({"expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
    ] {
        let (status, answer) = call(&node, "POST", "/api/v1/me/tokens", Some(&token), Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().starts_with(field), "{answer}");
    }
    // the account's first token is live: 19 more, then no more
    let mut ids = Vec::new();
    for n in 0..19 {
        let body = json!({"label": format!("perangkat {n}"), "expires_at": in_a_day});
        let (status, answer) = call(&node, "POST", "/api/v1/me/tokens", Some(&token), Some(body)).await;
        assert_eq!(status, 201, "{answer}");
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    let (status, answer) = call(&node, "POST", "/api/v1/me/tokens", Some(&token), Some(json!({}))).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("revoke"), "{answer}");
    let (status, _) = call(&node, "POST", "/api/v1/users/pelapor/tokens", Some(TOKEN), Some(json!({}))).await;
    assert_eq!(status, 409, "an admin is held to the same cap");
    assert_eq!(call(&node, "DELETE", &format!("/api/v1/tokens/{}", ids[0]), Some(&token), None).await.0, 204);
    assert_eq!(call(&node, "POST", "/api/v1/me/tokens", Some(&token), Some(json!({}))).await.0, 201);
}

/// Every field of an account, a unit and a silence is checked by its kind,
/// on creation and on change, and a refusal names the field.
#[tokio::test]
async fn account_unit_and_silence_fields_are_checked_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin72 = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    create_user_as(&node, &admin72, json!({"name": "pelapor-palu", "role": "reporter", "regions": ["72.71"]})).await;
    let bad_account_fields = [
        ("display_name", json!("Dewi\u{0}\u{202E}\u{1b}[31m")),
        ("display_name", json!("x".repeat(101))),
        ("email", json!("not an email \r\nBcc: x@evil")),
        ("email", json!("dewi@localhost")),
        ("phone", json!("abc\u{0}")),
        ("phone", json!("00000000")),
        ("telegram", json!("@dewi")),
        (
            "regions",
            json!(
                model::regions()
                    .iter()
                    .map(|r| r.code.as_str())
                    .filter(|c| c.starts_with("72."))
                    .take(101)
                    .collect::<Vec<_>>()
            ),
        ),
    ];
    for (field, value) in bad_account_fields.iter().cloned().chain([("display_name", json!(""))]) {
        let mut new = json!({"name": "pelapor-donggala", "role": "reporter", "regions": ["72.03"]});
        new[field] = value.clone();
        let (status, body) = call(&node, "POST", "/api/v1/users", Some(&admin72), Some(new)).await;
        let blank_is_the_name = field == "display_name" && value == "";
        assert_eq!(status, if blank_is_the_name { 201 } else { 422 }, "{field}: {body}");
        if !blank_is_the_name {
            assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{field}: {body}");
        }
        let (status, body) =
            call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(json!({ field: value }))).await;
        assert_eq!(status, 422, "PATCH {field}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(field), "{field}: {body}");
    }
    let (_, users) = call(&node, "GET", "/api/v1/users", Some(&admin72), None).await;
    let palu = users["users"].as_array().unwrap().iter().find(|u| u["name"] == "pelapor-palu").unwrap().clone();
    assert_eq!(palu["display_name"], "pelapor-palu", "{palu}");
    assert!(palu["email"].is_null() && palu["phone"].is_null(), "{palu}");
    let good = json!({"display_name": "Pelapor Palu", "email": "pelapor@palu.go.id", "phone": "0812-3456-7890"});
    let (status, body) = call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(good)).await;
    assert_eq!((status, body["phone"].as_str()), (200, Some("+6281234567890")), "{body}");

    // units
    let unit = json!({"name": "Kesbangpol Palu", "regions": ["72.71"], "indicators": ["narkoba"],
                      "emails": ["piket@palu.go.id"], "phones": ["+6281234567890"],
                      "working_hours": {"from": "08:00", "to": "16:00"}});
    let (status, made) = call(&node, "POST", "/api/v1/units", Some(&admin72), Some(unit.clone())).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    for (field, value) in [
        ("name", json!("Kesbangpol\u{1b}[2J")),
        ("name", json!("x".repeat(101))),
        ("indicators", json!(["tidak_ada"])),
        ("emails", json!(["piket@palu.go.id\r\nBcc: x@evil.id"])),
        ("emails", json!((0..21).map(|n| format!("piket{n}@palu.go.id")).collect::<Vec<_>>())),
        ("phones", json!(["00000000"])),
        ("working_hours", json!({"from": "08:00", "to": "08:00"})),
    ] {
        let mut body = unit.clone();
        body[field] = value;
        let (status, answer) = call(&node, "POST", "/api/v1/units", Some(&admin72), Some(body.clone())).await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().starts_with(field), "{field}: {answer}");
        let (status, _) = call(&node, "PUT", &format!("/api/v1/units/{id}"), Some(&admin72), Some(body)).await;
        assert_eq!(status, 422, "PUT {field}");
    }
    let mut repeated = unit.clone();
    repeated["regions"] = json!(vec!["72.71"; 1_000]);
    repeated["phones"] = json!(["0812-3456-7890", "+6281234567890"]);
    let (status, answer) = call(&node, "POST", "/api/v1/units", Some(&admin72), Some(repeated)).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!((answer["regions"].clone(), answer["phones"].clone()), (json!(["72.71"]), json!(["+6281234567890"])));

    // silences
    let until = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for (field, indicator, reason) in [("indicator", "tidak_ada", "latihan"), ("reason", "narkoba", "latihan\u{1b}[2J")]
    {
        let body = json!({"indicator": indicator, "region": "72.71", "until": until, "reason": reason});
        let (status, answer) = call(&node, "POST", "/api/v1/silences", Some(&admin72), Some(body)).await;
        assert_eq!(status, 422, "{answer}");
        assert!(answer["error"]["message"].as_str().unwrap().starts_with(field), "{answer}");
    }
    let body = json!({"indicator": "narkoba", "region": "72.71", "until": until, "reason": "latihan"});
    assert_eq!(call(&node, "POST", "/api/v1/silences", Some(&admin72), Some(body)).await.0, 201);
}

/// Asking whether a phone number or Telegram id is taken, by changing an
/// account, is audited like a refused creation and throttled like wrong tokens.
#[tokio::test]
async fn taken_numbers_on_change_are_audited_and_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let admin72 = create_user(&node, "admin-sulteng", "admin", &["72"]).await;
    let sulsel =
        json!({"name": "pelapor-makassar", "role": "reporter", "regions": ["73.71"], "phone": "+6281299990073"});
    create_user_as(&node, TOKEN, sulsel).await;
    create_user_as(&node, &admin72, json!({"name": "pelapor-palu", "role": "reporter", "regions": ["72.71"]})).await;
    let probe = json!({"phone": "+6281299990073"});
    // FAILURES_PER_ID in accounts::directory
    for n in 0..10 {
        let (status, body) =
            call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(probe.clone())).await;
        assert_eq!(status, 409, "try {n}: {body}");
    }
    let (status, body) = call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(probe)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    let (_, log) = call(&node, "GET", "/api/v1/audit?action=account.update_refused", Some(TOKEN), None).await;
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 10, "{log}");
    assert_eq!(
        (events[0]["actor"].as_str(), events[0]["target"].as_str()),
        (Some("admin-sulteng"), Some("pelapor-palu"))
    );
    // other changes still go through
    let (status, _) =
        call(&node, "PATCH", "/api/v1/users/pelapor-palu", Some(&admin72), Some(json!({"display_name": "Palu"}))).await;
    assert_eq!(status, 200);
}
