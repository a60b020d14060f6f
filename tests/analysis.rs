//! One text analysis for rules and search, on a running embedded node: an
//! analyst's standard spelling finds a chat's (`anak-anak` finds `anak2`,
//! `yang` finds `yg`, `banget` finds `bangettt`), and a place named in a
//! report's text (a regency, a district) is a region it can be filtered by.

mod common;

use std::time::Duration;

use common::{Node, eventually, get_ok, post_report};
use serde_json::{Value, json};

fn ids(result: &Value) -> Vec<String> {
    let mut ids: Vec<String> =
        result["hits"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn search_reads_chat_spellings_as_the_rules_do_and_filters_by_regions_found_in_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), "", &[]).await;
    let mut posted = Vec::new();
    for body in [
        // no region given: the classifier finds Kota Palu in the text
        json!({"text": "Td mlm ada anak2 yg lempar batu ke rumah warga di Kota Palu, rame bangettt"}),
        json!({"text": "Seorang anak hilang di pasar", "region": "73.71"}),
        // a district named in the text: alone, and inside the report's own regency
        json!({"text": "Warga bentrok di Kecamatan Tatanga kemarin"}),
        json!({"text": "Tawuran pemuda di Kec. Tatanga", "region": "72.71"}),
    ] {
        let (status, body) = post_report(&node, body).await;
        assert_eq!(status, 202, "{body}");
        posted.push(body["id"].as_str().unwrap().to_owned());
    }
    let chat = vec![posted[0].clone()];
    eventually(Duration::from_secs(20), || async {
        let r = get_ok(&node, "/api/v1/search").await?;
        (r["total"] == 4).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("the reports were not searchable in time; log:\n{}", node.log()));

    for q in ["anak-anak", "yang", "banget", "%22lempar%20batu%22", "malam"] {
        let found = get_ok(&node, &format!("/api/v1/search?q={q}")).await.unwrap();
        assert_eq!(ids(&found), chat, "q={q}: {found}");
    }
    let found = get_ok(&node, "/api/v1/search?q=anak-anak").await.unwrap();
    let snippet = found["hits"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<b>anak2</b>"), "{snippet}");

    // the region filter finds a report by the place its text names
    for path in ["/api/v1/search?q=anak&region=72.71", "/api/v1/search?q=anak&region=72"] {
        let found = get_ok(&node, path).await.unwrap();
        assert_eq!(ids(&found), chat, "{path}: {found}");
    }
    let mut district = vec![posted[2].clone(), posted[3].clone()];
    district.sort();
    let found = get_ok(&node, "/api/v1/search?region=72.71.06").await.unwrap();
    assert_eq!(ids(&found), district, "{found}");
    let mut palu = vec![posted[0].clone(), posted[2].clone(), posted[3].clone()];
    palu.sort();
    let found = get_ok(&node, "/api/v1/search?region=72.71").await.unwrap();
    assert_eq!(ids(&found), palu, "{found}");
    let both = get_ok(&node, "/api/v1/search?q=anak").await.unwrap();
    assert_eq!(both["total"], 2, "{both}");
    // a district filter does not find a report about the regency as a whole
    let found = get_ok(&node, "/api/v1/search?region=72.71.02").await.unwrap();
    assert_eq!(found["total"], 0, "{found}");
}
