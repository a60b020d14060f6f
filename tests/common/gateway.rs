//! A stand-in SMS gateway for tests.

/// A stand-in SMS gateway on a free port: it keeps every request, and fails
/// the first `fail_first` of them with `failure` (503 unless set).
#[derive(Clone, Default)]
pub struct Gateway {
    requests: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    fail_first: usize,
    failure: Option<axum::http::StatusCode>,
}

impl Gateway {
    pub async fn start(fail_first: usize) -> (Gateway, String) {
        Self::start_failing(fail_first, axum::http::StatusCode::SERVICE_UNAVAILABLE).await
    }

    pub async fn start_failing(fail_first: usize, failure: axum::http::StatusCode) -> (Gateway, String) {
        let gateway = Gateway { fail_first, failure: Some(failure), ..Default::default() };
        let kept = gateway.clone();
        let app = axum::Router::new().route(
            "/send",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let kept = kept.clone();
                async move {
                    let mut requests = kept.requests.lock().unwrap();
                    requests.push((headers, body));
                    if requests.len() <= kept.fail_first {
                        (kept.failure.unwrap_or(axum::http::StatusCode::SERVICE_UNAVAILABLE), "sibuk".to_owned())
                    } else {
                        (axum::http::StatusCode::OK, "{\"id\":\"m-1\"}".to_owned())
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (gateway, url)
    }

    pub fn requests(&self) -> Vec<(axum::http::HeaderMap, String)> {
        self.requests.lock().unwrap().clone()
    }
}
