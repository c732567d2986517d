//! Fault injection and request recording: the [`Fault`] rule type, [`RecordedRequest`], and the
//! middleware that applies faults and records every API request.

use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;
use crate::store::Store;

/// Largest request body the server buffers (uploads included).
pub(crate) const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// A fault rule: requests whose method matches (if set) and whose full path (including `/api/v3`)
/// starts with `path_prefix` are answered with `status` (after `delay`, if set) instead of reaching
/// the real handler. The first matching rule wins; `remaining` is decremented per hit and the rule
/// is dropped at zero (`None` = until cleared).
///
/// `status == 0` makes a *delay-only* fault: the request waits `delay` and then gets its real response.
///
/// JSON form (for `POST /__admin/faults`): `{"method":"GET","path_prefix":"/api/v3/pet","status":500,
/// "body":"oops","remaining":3,"delay_ms":250,"headers":[["Retry-After","2"]]}`; every field except
/// `path_prefix` is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// HTTP method to match (case-insensitive); `None` matches every method.
    #[serde(default)]
    pub method: Option<String>,
    /// Prefix of the full request path (e.g. `/api/v3/pet`); `""` or `/` matches every API request.
    pub path_prefix: String,
    /// Status to answer with; `0` means delay-only (the real handler answers).
    #[serde(default)]
    pub status: u16,
    /// Raw response body; `None` answers `{"code":status,"message":"injected fault"}`.
    /// A body that is not valid JSON is sent as `text/plain` unless `headers` sets a content type.
    #[serde(default)]
    pub body: Option<String>,
    /// How many more requests this rule applies to; `None` = until cleared.
    #[serde(default)]
    pub remaining: Option<u32>,
    /// Delay before answering (serialized as `delay_ms`).
    #[serde(default, rename = "delay_ms", with = "delay_ms")]
    pub delay: Option<Duration>,
    /// Extra response headers, e.g. `("Retry-After", "2")`.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

impl Fault {
    /// A fault answering `status` to every request under `path_prefix`, until cleared.
    pub fn status(path_prefix: impl Into<String>, status: u16) -> Fault {
        Fault {
            method: None,
            path_prefix: path_prefix.into(),
            status,
            body: None,
            remaining: None,
            delay: None,
            headers: Vec::new(),
        }
    }

    /// A delay-only fault: matching requests wait `delay`, then get their real response.
    pub fn delay_only(path_prefix: impl Into<String>, delay: Duration) -> Fault {
        Fault::status(path_prefix, 0).delay(delay)
    }

    /// Restricts the fault to one HTTP method.
    pub fn method(mut self, method: impl Into<String>) -> Fault {
        self.method = Some(method.into());
        self
    }

    /// Applies the fault to the next `n` matching requests only.
    pub fn times(mut self, n: u32) -> Fault {
        self.remaining = Some(n);
        self
    }

    /// Waits `delay` before answering.
    pub fn delay(mut self, delay: Duration) -> Fault {
        self.delay = Some(delay);
        self
    }

    /// Adds a response header (e.g. `Retry-After`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Fault {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the raw response body.
    pub fn body(mut self, body: impl Into<String>) -> Fault {
        self.body = Some(body.into());
        self
    }

    /// Whether this is a delay-only rule (`status == 0`).
    pub fn is_delay_only(&self) -> bool {
        self.status == 0
    }

    /// Checks that the status and headers can be sent over HTTP.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.status != 0 && StatusCode::from_u16(self.status).is_err() {
            return Err(ApiError::BadRequest(format!(
                "invalid fault status {}",
                self.status
            )));
        }
        for (name, value) in &self.headers {
            if HeaderName::try_from(name.as_str()).is_err() || HeaderValue::try_from(value.as_str()).is_err()
            {
                return Err(ApiError::BadRequest(format!(
                    "invalid fault header {name}: {value}"
                )));
            }
        }
        Ok(())
    }

    /// Whether this rule applies to `method` + `path` (ignores `remaining`).
    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
            && self.remaining != Some(0)
    }

    /// The injected response (for a non-delay-only fault).
    fn response(&self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match &self.body {
            None => {
                let body = json!({ "code": status.as_u16(), "message": "injected fault" });
                (status, axum::Json(body)).into_response()
            }
            Some(text) => {
                let ctype = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
                    "application/json"
                } else {
                    "text/plain; charset=utf-8"
                };
                (status, [(header::CONTENT_TYPE, ctype)], text.clone()).into_response()
            }
        };
        for (name, value) in &self.headers {
            match (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(name), Ok(value)) => {
                    response.headers_mut().insert(name, value);
                }
                _ => tracing::warn!(%name, %value, "skipping invalid fault header"),
            }
        }
        response
    }
}

/// One API request as seen by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Full path, including `/api/v3`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// `Content-Type` request header, if any.
    pub content_type: Option<String>,
    /// Request body length in bytes.
    pub body_len: usize,
    /// Status answered; `0` while the response is still pending (or was never completed).
    pub status: u16,
}

/// Whether `path` is a test-control endpoint (never faulted nor recorded).
fn is_control_path(path: &str) -> bool {
    path == "/healthz" || path == "/__admin" || path.starts_with("/__admin/")
}

/// Middleware: records the request, applies the first matching fault, logs at debug.
pub(crate) async fn middleware(State(store): State<Store>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    if is_control_path(&path) {
        let response = next.run(req).await;
        tracing::debug!(%method, %path, status = response.status().as_u16(), "control request");
        return response;
    }
    let query = req.uri().query().map(str::to_owned);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return ApiError::PayloadTooLarge(format!("request body rejected: {err}")).into_response();
        }
    };
    let seq = store.record_start(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query,
        content_type,
        body_len: bytes.len(),
        status: 0,
    });
    let req = Request::from_parts(parts, Body::from(bytes));
    let response = match store.take_fault(&method, &path) {
        Some(fault) => {
            if let Some(delay) = fault.delay {
                tokio::time::sleep(delay).await;
            }
            if fault.is_delay_only() {
                next.run(req).await
            } else {
                fault.response()
            }
        }
        None => next.run(req).await,
    };
    let status = response.status().as_u16();
    store.record_finish(seq, status);
    tracing::debug!(%method, %path, status, "request");
    response
}

/// Serde adapter: `Option<Duration>` as integer milliseconds.
mod delay_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(delay: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match delay {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
