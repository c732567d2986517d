//! Debug logs of backend traffic never contain credentials. Its own test binary (one process, one
//! test): tracing caches per-callsite interest process-wide, which makes capturing logs next to
//! other concurrently running tests unreliable.
#![allow(clippy::unwrap_used)] // a test binary: unwrap is the assertion

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::response::IntoResponse;
use openapi_operator_runtime::http::{BackendClient, HttpConfig, Method};
use openapi_operator_runtime::redact::REDACTED;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::json;

async fn serve(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// `io::Write` into a shared buffer, for capturing logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_never_show_credentials_and_truncate_bodies() {
    let router = Router::new().route(
        "/user",
        axum::routing::post(|| async {
            (
                [("set-cookie", "session=s3cr3t-cookie"), ("x-request-id", "r-1")],
                axum::Json(json!({"username": "alice", "token": "s3cr3t-token", "bio": "b".repeat(4000)})),
            )
                .into_response()
        }),
    );
    let addr = serve(router).await;
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut config = HttpConfig::default();
    for (name, value) in [
        (AUTHORIZATION.as_str(), "Bearer s3cr3t-bearer"),
        ("x-api-key", "s3cr3t-key"),
        ("cookie", "sid=s3cr3t-sid"),
    ] {
        config
            .default_headers
            .insert(name, HeaderValue::from_static(value));
    }
    let c = BackendClient::with_config(config).unwrap();
    let body = json!({"username": "alice", "password": "s3cr3t-password"});
    let resp = c
        .send(Method::Post, &format!("http://{addr}/user"), Some(&body))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("backend request") && text.contains("backend response"),
        "{text}"
    );
    assert!(
        text.contains("x-request-id: r-1"),
        "harmless headers are shown: {text}"
    );
    assert!(text.contains("\"username\":\"alice\""), "{text}");
    assert!(!text.contains("s3cr3t"), "a secret leaked into the logs:\n{text}");
    // authorization, x-api-key, cookie, password, set-cookie, token
    assert!(text.matches(REDACTED).count() >= 6, "{text}");
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    assert!(
        longest < 2 * 1024 + 512,
        "bodies are truncated to 1 KiB: {longest}"
    );
    assert!(
        text.contains("…(4"),
        "the long response body is marked as truncated: {text}"
    );
}
