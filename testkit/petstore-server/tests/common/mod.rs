//! Shared helpers for the petstore-server integration tests: server + client setup, JSON calls.

#![allow(dead_code)]

use petstore_server::PetstoreServer;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

/// A started server plus a client.
pub struct Harness {
    pub server: PetstoreServer,
    pub client: Client,
}

pub fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}

pub async fn harness() -> Harness {
    Harness {
        server: PetstoreServer::start().await.expect("start server"),
        client: client(),
    }
}

impl Harness {
    /// URL of an API path (relative to `/api/v3`).
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// URL of a root path (admin, images).
    pub fn root(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    /// Sends a JSON body (if any) to an API path; returns status and parsed JSON (Null if empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.api(path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, parse(&text))
    }

    /// Sends raw bytes with a content type to an API path.
    pub async fn raw(&self, method: Method, path: &str, ctype: &str, body: &[u8]) -> (StatusCode, Value) {
        let resp = self
            .client
            .request(method, self.api(path))
            .header("content-type", ctype)
            .body(body.to_vec())
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, parse(&text))
    }
}

pub fn parse(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).expect("JSON response body")
    }
}

/// Asserts the standard error body shape `{"code":status,"message":...}`.
pub fn assert_error(status: StatusCode, body: &Value, expected: u16) {
    assert_eq!(status.as_u16(), expected, "body: {body}");
    assert_eq!(body["code"], expected, "body: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "body: {body}"
    );
}

pub fn keys(value: &Value) -> Vec<String> {
    value.as_object().expect("object").keys().cloned().collect()
}
