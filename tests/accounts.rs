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
            assert_eq!(status, 401, "{method} {path} with a wrong token");
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

    let me = client().get(node.url("/api/v1/me")).header("cookie", &session).send().await.unwrap();
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
    // the national admin sees the alerts of both provinces
    eventually(Duration::from_secs(10), || async {
        let (_, r) = call(&node, "GET", "/api/v1/alerts", Some(TOKEN), None).await;
        (r["alerts"].as_array()?.len() == 4).then_some(())
    })
    .await
    .expect("alerts not raised");
    let (status, r) = call(&node, "GET", "/api/v1/alerts", Some(&operator), None).await;
    assert_eq!(status, 200);
    let mut regions: Vec<&str> =
        r["alerts"].as_array().unwrap().iter().map(|a| a["region"].as_str().unwrap()).collect();
    regions.sort_unstable();
    assert_eq!(regions, ["73", "73.71"]);
    let (_, r) = call(&node, "GET", "/api/v1/alerts?region=72", Some(&operator), None).await;
    assert_eq!(r["alerts"], json!([]));
}
