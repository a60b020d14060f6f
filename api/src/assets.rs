//! The web app, built by `npm run build` in web/ and embedded by build.rs.
//!
//! Files under `assets/` carry a content hash in their names and are cached
//! for a year; everything else (the page, the service worker, the manifest,
//! the map data) is revalidated. Each file is served precompressed (brotli
//! or gzip, made by the web build) when the browser accepts it.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

mod built {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

fn file(path: &str) -> Option<&'static [u8]> {
    built::FILES.iter().find(|(name, _)| *name == path).map(|(_, bytes)| *bytes)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "wav" => "audio/wav",
        _ => "application/octet-stream",
    }
}

/// The embedded file at `path` (below web/dist), in the best encoding the
/// request accepts; `None` when there is no such file.
pub fn serve(path: &str, headers: &HeaderMap) -> Option<Response> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let plain = file(path)?;
    let accepts = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("");
    let accepted = |coding: &str| accepts.split(',').any(|c| c.split(';').next().unwrap_or("").trim() == coding);
    let (body, encoding) = [("br", ".br"), ("gzip", ".gz")]
        .into_iter()
        .filter(|(coding, _)| accepted(coding))
        .find_map(|(coding, ext)| file(&format!("{path}{ext}")).map(|b| (b, Some(coding))))
        .unwrap_or((plain, None));
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(coding) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    if path == "sw.js" {
        h.insert("service-worker-allowed", HeaderValue::from_static("/"));
    }
    Some(response)
}

/// The router's fallback: a file of the web app for a GET or HEAD outside
/// the API, else the API's JSON 404.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if (method == Method::GET || method == Method::HEAD)
        && !path.starts_with("/api/")
        && let Some(response) = serve(path, &headers)
    {
        return response;
    }
    crate::error::ApiError::not_found("no such endpoint; see /api/v1/openapi.json;").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_hashed_assets_are_embedded() {
        let page = std::str::from_utf8(file("index.html").expect("web/dist/index.html is embedded")).unwrap();
        let scripts: Vec<&str> =
            built::FILES.iter().map(|(n, _)| *n).filter(|n| n.starts_with("assets/") && n.ends_with(".js")).collect();
        assert!(
            scripts.iter().any(|name| page.contains(name)),
            "index.html names none of the embedded scripts {scripts:?}"
        );
    }

    #[test]
    fn a_file_comes_compressed_when_the_browser_accepts_it() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br;q=1"));
        let r = serve("/", &headers).unwrap();
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(serve("/index.html", &headers).unwrap().headers()[header::CONTENT_ENCODING], "gzip");
        assert!(serve("/index.html", &HeaderMap::new()).unwrap().headers().get(header::CONTENT_ENCODING).is_none());
        assert!(serve("/no/such/file.js", &headers).is_none());
    }
}
