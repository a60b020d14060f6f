//! A multipart body of `POST /api/v1/reports` (boundary `XyZ`), parsed by
//! axum's multipart reader and taken apart as `api::reports::read_multipart`
//! does (a `report` part holding JSON, or plain fields; files are the parts
//! with a file name), then taken as `POST /api/v1/reports` takes a
//! submission (`kentongan_fuzz::submitted`).
//!
//! The API crate itself is not built here: it would pull in the whole node
//! (search index, ClickHouse, mail) and double the fuzz build.

#![no_main]

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use ingest::{IngestConfig, Submission};
use kentongan_fuzz::submitted;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().build().expect("a runtime"));

fuzz_target!(|data: &[u8]| {
    let config = IngestConfig::default();
    if let Some((submission, files)) = RUNTIME.block_on(read(data, &config)) {
        submitted(submission, files);
    }
});

/// The submission and files of a multipart body, or `None` where the API
/// answers 400, 413 or 422.
async fn read(data: &[u8], limits: &IngestConfig) -> Option<(Submission, Vec<(String, Vec<u8>)>)> {
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/reports")
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(Body::from(data.to_vec()))
        .expect("a request");
    let mut form = Multipart::from_request(request, &()).await.ok()?;
    let mut fields = serde_json::Map::new();
    let mut report_json = None;
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            if files.len() >= limits.max_files {
                return None;
            }
            let bytes = field.bytes().await.ok()?;
            if bytes.len() as u64 > limits.max_file_size.as_u64() {
                return None;
            }
            files.push((file_name, bytes.to_vec()));
        } else {
            let text = field.text().await.ok()?;
            if name == "report" {
                report_json = Some(text);
            } else {
                fields.insert(name, Value::String(text));
            }
        }
    }
    let submission = match report_json {
        Some(j) => serde_json::from_str(&j).ok()?,
        None => serde_json::from_value(Value::Object(fields)).ok()?,
    };
    Some((submission, files))
}
