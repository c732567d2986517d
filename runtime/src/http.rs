//! Backend HTTP vocabulary: URL building from descriptors and spec values, methods, responses and their classification. No kube types.
//!
//! The client that sends requests (timeouts, limits, redirects, size limit) is [`crate::client`],
//! re-exported here as [`BackendClient`].
//!
//! URL rules (fixes of the Go original's URLBuilder, upstream §5.2):
//!
//! - The base URL's trailing slashes are trimmed and the path template is joined with exactly one `/`.
//! - `{param}` placeholders are filled with percent-encoded values (RFC 3986 unreserved characters
//!   are kept). The id placeholder takes the id the reconciler resolved; other placeholders take the
//!   spec field named by their [`ParamBinding`](crate::traits::ParamBinding). `0` is a valid id;
//!   an empty string is not.
//! - Query parameters come from [`OperationDescriptor::query`]: arrays become repeated keys,
//!   booleans `true`/`false`, numbers as written. `false`, `0` and `""` are sent when the field is set;
//!   unset or `null` fields are omitted.

use std::time::Duration;

use serde_json::Value;

pub use crate::client::{BackendClient, HttpConfig, RawResponse, RequestBody};
use crate::error::{Error, Result};
use crate::traits::{OperationDescriptor, ParamBinding, ResourceDescriptor};

/// Longest backend error message kept (bytes), so a huge HTML error page cannot bloat the CR status.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// Installs rustls' `ring` crypto provider as the process default. Idempotent: an already installed
/// provider is kept.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// HTTP method of a backend request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH` (sent as JSON merge patch)
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

impl From<crate::traits::ActionMethod> for Method {
    fn from(m: crate::traits::ActionMethod) -> Self {
        match m {
            crate::traits::ActionMethod::Post => Method::Post,
            crate::traits::ActionMethod::Put => Method::Put,
        }
    }
}

impl From<crate::traits::UpdateMethod> for Method {
    fn from(m: crate::traits::UpdateMethod) -> Self {
        match m {
            crate::traits::UpdateMethod::Patch => Method::Patch,
            crate::traits::UpdateMethod::Put => Method::Put,
            crate::traits::UpdateMethod::Post => Method::Post,
        }
    }
}

/// A backend answer: status code plus body (JSON, or a JSON string holding the text when the body
/// is not JSON; `null` when empty).
#[derive(Debug, Clone, PartialEq)]
pub struct BackendResponse {
    /// HTTP status code.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// `Retry-After` of a retryable answer (5xx, 408, 429), if the backend sent a valid one.
    pub retry_after: Option<Duration>,
}

impl BackendResponse {
    /// 2xx?
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error this answer represents (call only for non-2xx answers).
    pub fn to_error(&self, method: Method, url: &str) -> Error {
        Error::from_status_retry_after(
            method.as_str(),
            url,
            self.status,
            error_message(self.status, &self.body),
            self.retry_after,
        )
    }
}

/// Human-readable message of a backend error answer: JSON `message`, `error` (string or object with
/// `message`) or `detail`, else the body text, else the status reason phrase; at most
/// [`MAX_MESSAGE_LEN`] bytes.
pub fn error_message(status: u16, body: &Value) -> String {
    let from_json = |v: &Value| -> Option<String> {
        for key in ["message", "error", "detail"] {
            match v.get(key) {
                Some(Value::String(s)) if !s.is_empty() => return Some(s.clone()),
                Some(inner @ Value::Object(_)) => {
                    if let Some(Value::String(s)) = inner.get("message") {
                        return Some(s.clone());
                    }
                }
                _ => {}
            }
        }
        None
    };
    let text = match body {
        Value::Null => reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no response body")
            .to_owned(),
        Value::String(s) => s.clone(),
        other => from_json(other).unwrap_or_else(|| other.to_string()),
    };
    truncate(&text, MAX_MESSAGE_LEN)
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Percent-encodes everything except RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Text of a scalar parameter value; `None` for `null`. Objects and arrays are rendered as JSON.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Joins `base` and a path template, filling placeholders from `path_values` and appending `query`.
///
/// # Errors
///
/// [`Error::BadSpec`] when a placeholder has no value.
pub fn build_url(
    base: &str,
    template: &str,
    path_values: &[(&str, String)],
    query: &[(&str, String)],
) -> Result<String> {
    let mut url = base.trim_end_matches('/').to_owned();
    if !template.is_empty() && !template.starts_with('/') {
        url.push('/');
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        url.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            url.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &rest[open + 1..open + close];
        let value = path_values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                Error::bad_spec(
                    format!("path parameter {name}"),
                    format!("no value for {{{name}}} in {template}"),
                )
            })?;
        url.push_str(&percent_encode(value));
        rest = &rest[open + close + 1..];
    }
    url.push_str(rest);
    for (i, (key, value)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&percent_encode(key));
        url.push('=');
        url.push_str(&percent_encode(value));
    }
    Ok(url)
}

/// Values of the path parameters `bindings` that `op.path` uses, read from the serialized spec.
///
/// # Errors
///
/// [`Error::BadSpec`] naming the spec field when a bound field is unset or empty.
fn bound_path_values(
    op: &OperationDescriptor,
    bindings: &[ParamBinding],
    spec: &Value,
) -> Result<Vec<(&'static str, String)>> {
    let mut path_values = Vec::new();
    for binding in bindings {
        if !op.path.contains(&format!("{{{}}}", binding.name)) {
            continue;
        }
        match spec
            .get(binding.field)
            .and_then(scalar_text)
            .filter(|v| !v.is_empty())
        {
            Some(v) => path_values.push((binding.name, v)),
            None => {
                return Err(Error::bad_spec(
                    format!("spec.{}", binding.field),
                    format!("required for path parameter {{{}}} of {}", binding.name, op.path),
                ));
            }
        }
    }
    Ok(path_values)
}

/// Query pairs of `op` from the serialized spec: arrays as repeated keys, unset/`null` omitted.
fn query_pairs(op: &OperationDescriptor, spec: &Value) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    for binding in op.query {
        match spec.get(binding.field) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                query.extend(items.iter().filter_map(scalar_text).map(|v| (binding.name, v)));
            }
            Some(v) => query.extend(scalar_text(v).map(|v| (binding.name, v))),
        }
    }
    query
}

/// URL of `op` for a Query or Action whose serialized spec is `spec`: every `{param}` filled from
/// `path_params`, query parameters from [`OperationDescriptor::query`] (same rules as
/// [`operation_url`]).
///
/// # Errors
///
/// [`Error::BadSpec`] naming the spec field when a path parameter's field is unset or empty.
pub fn bound_url(
    base: &str,
    op: &OperationDescriptor,
    path_params: &[ParamBinding],
    spec: &Value,
) -> Result<String> {
    let path_values = bound_path_values(op, path_params, spec)?;
    build_url(base, op.path, &path_values, &query_pairs(op, spec))
}

/// URL of `op` for an object whose serialized spec is `spec` and whose id (if known) is `id`.
///
/// # Errors
///
/// [`Error::BadSpec`] naming the spec field when a path parameter's field is unset, or the id when
/// the path needs one and none is known.
pub fn operation_url(
    base: &str,
    op: &OperationDescriptor,
    descriptor: &ResourceDescriptor,
    spec: &Value,
    id: Option<&str>,
) -> Result<String> {
    let mut path_values = bound_path_values(op, descriptor.path_params, spec)?;
    if op.path.contains(&format!("{{{}}}", descriptor.id_param)) {
        match id.filter(|v| !v.is_empty()) {
            Some(id) => path_values.push((descriptor.id_param, id.to_owned())),
            None => {
                let field = descriptor
                    .id_field
                    .map_or_else(|| "status.externalID".to_owned(), |f| format!("spec.{f}"));
                return Err(Error::bad_spec(
                    field,
                    format!("no id value for {{{}}}", descriptor.id_param),
                ));
            }
        }
    }
    build_url(base, op.path, &path_values, &query_pairs(op, spec))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn base_url_slashes_are_normalised() {
        for base in ["http://h/api/v3", "http://h/api/v3/", "http://h/api/v3//"] {
            assert_eq!(build_url(base, "/pet", &[], &[]).unwrap(), "http://h/api/v3/pet");
            assert_eq!(build_url(base, "pet", &[], &[]).unwrap(), "http://h/api/v3/pet");
        }
    }

    #[test]
    fn path_values_are_percent_encoded() {
        let url = build_url(
            "http://h",
            "/users/{name}/x",
            &[("name", "a b/c?d%é".into())],
            &[],
        )
        .unwrap();
        assert_eq!(url, "http://h/users/a%20b%2Fc%3Fd%25%C3%A9/x");
        let err = build_url("http://h", "/users/{name}", &[], &[]).unwrap_err();
        assert!(!err.is_retryable());
    }

    static DESC: ResourceDescriptor = ResourceDescriptor {
        kind: "Post",
        id_param: "postId",
        id_field: None,
        path_params: &[ParamBinding {
            name: "userId",
            field: "userId",
        }],
        create: None,
        read: OperationDescriptor {
            path: "/users/{userId}/posts/{postId}",
            query: &[
                ParamBinding {
                    name: "tag",
                    field: "tags",
                },
                ParamBinding {
                    name: "draft",
                    field: "draft",
                },
                ParamBinding {
                    name: "limit",
                    field: "limit",
                },
                ParamBinding {
                    name: "q",
                    field: "q",
                },
                ParamBinding {
                    name: "ratio",
                    field: "ratio",
                },
                ParamBinding {
                    name: "unset",
                    field: "unset",
                },
            ],
        },
        update: None,
        delete: None,
        body_fields: &[],
        read_only_fields: &[],
        ignore_fields: &[],
    };

    #[test]
    fn query_sends_false_zero_empty_and_repeats_arrays() {
        let spec = json!({"userId": 0, "tags": ["a b", "c"], "draft": false, "limit": 0, "q": "",
                          "ratio": 1.5, "unset": null});
        let url = operation_url("http://h/", &DESC.read, &DESC, &spec, Some("42")).unwrap();
        assert_eq!(
            url,
            "http://h/users/0/posts/42?tag=a%20b&tag=c&draft=false&limit=0&q=&ratio=1.5"
        );
    }

    #[test]
    fn bound_urls_fill_path_params_and_query_without_an_id() {
        static OP: OperationDescriptor = OperationDescriptor {
            path: "/pet/{petId}/uploadImage",
            query: &[
                ParamBinding {
                    name: "additionalMetadata",
                    field: "additionalMetadata",
                },
                ParamBinding {
                    name: "status",
                    field: "status",
                },
                ParamBinding {
                    name: "limit",
                    field: "limit",
                },
                ParamBinding {
                    name: "flag",
                    field: "flag",
                },
            ],
        };
        let params = [ParamBinding {
            name: "petId",
            field: "petId",
        }];
        let spec = json!({"petId": 0, "additionalMetadata": "a&b=c d", "status": ["available", "sold"],
                          "limit": 0, "flag": false});
        assert_eq!(
            bound_url("http://h/api/", &OP, &params, &spec).unwrap(),
            "http://h/api/pet/0/uploadImage?additionalMetadata=a%26b%3Dc%20d&status=available&status=sold&limit=0&flag=false"
        );
        let spec = json!({"petId": "a/b", "additionalMetadata": ""});
        assert_eq!(
            bound_url("http://h", &OP, &params, &spec).unwrap(),
            "http://h/pet/a%2Fb/uploadImage?additionalMetadata="
        );
        let err = bound_url("http://h", &OP, &params, &json!({"petId": ""})).unwrap_err();
        assert!(err.to_string().contains("spec.petId"), "{err}");
    }

    #[test]
    fn missing_path_values_name_the_field() {
        let err = operation_url("http://h", &DESC.read, &DESC, &json!({}), Some("1")).unwrap_err();
        assert!(err.to_string().contains("spec.userId"), "{err}");
        let err = operation_url("http://h", &DESC.read, &DESC, &json!({"userId": 1}), None).unwrap_err();
        assert!(err.to_string().contains("status.externalID"), "{err}");
        let err = operation_url("http://h", &DESC.read, &DESC, &json!({"userId": 1}), Some("")).unwrap_err();
        assert!(matches!(err, Error::BadSpec { .. }));
    }

    #[test]
    fn bodies_parse_as_json_or_text() {
        use crate::client::decode_body;
        assert_eq!(decode_body(b"{\"a\":1}").unwrap(), json!({"a": 1}));
        assert_eq!(decode_body(b"  ").unwrap(), Value::Null);
        assert_eq!(decode_body(b"oops <b>").unwrap(), json!("oops <b>"));
        assert_eq!(decode_body(b"42").unwrap(), json!(42));
        assert!(decode_body(b" {\"a\":").is_err());
        assert!(decode_body(b"[1,").is_err());
        let long = "é".repeat(2000);
        let Value::String(s) = decode_body(long.as_bytes()).unwrap() else {
            panic!("not a string")
        };
        assert!(s.len() <= MAX_MESSAGE_LEN + '…'.len_utf8());
    }

    #[test]
    fn error_messages_are_extracted() {
        assert_eq!(
            error_message(400, &json!({"message": "bad name", "code": 1})),
            "bad name"
        );
        assert_eq!(
            error_message(400, &json!({"error": {"message": "nested"}})),
            "nested"
        );
        assert_eq!(error_message(400, &json!({"detail": "d"})), "d");
        assert_eq!(error_message(400, &json!({"x": 1})), "{\"x\":1}");
        assert_eq!(error_message(500, &json!("plain text")), "plain text");
        assert_eq!(error_message(404, &Value::Null), "Not Found");
    }

    #[test]
    fn responses_map_to_errors_by_status() {
        let r = BackendResponse {
            status: 503,
            body: json!({"message": "maintenance"}),
            retry_after: Some(Duration::from_secs(7)),
        };
        let e = r.to_error(Method::Get, "http://h/pet/1");
        assert!(e.is_retryable());
        assert!(e.to_string().contains("maintenance"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let r = BackendResponse {
            status: 422,
            body: json!({"message": "invalid"}),
            retry_after: None,
        };
        assert!(!r.to_error(Method::Post, "u").is_retryable());
    }
}
