//! Optional credential enforcement on the API routes: a required API key (header, query or cookie), bearer token or basic login; `401` without naming what was expected or received.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::BASE_PATH;
use crate::store::Store;

/// One accepted credential. With several configured, any one of them is enough.
///
/// JSON form (for `PUT /__admin/auth`, an array of these):
/// `{"type":"apiKeyHeader","name":"api_key","value":"k"}`, `{"type":"bearer","token":"t"}`,
/// `{"type":"basic","username":"u","password":"p"}`, `apiKeyQuery` and `apiKeyCookie` like
/// `apiKeyHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AuthRequirement {
    /// Header `name` with exactly `value`.
    ApiKeyHeader {
        /// Header name (case-insensitive).
        name: String,
        /// Required value.
        value: String,
    },
    /// Query parameter `name` with exactly `value`.
    ApiKeyQuery {
        /// Parameter name.
        name: String,
        /// Required value.
        value: String,
    },
    /// Cookie `name` with exactly `value`.
    ApiKeyCookie {
        /// Cookie name.
        name: String,
        /// Required value.
        value: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// Required token.
        token: String,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// Required user name.
        username: String,
        /// Required password.
        password: String,
    },
}

impl AuthRequirement {
    /// An API key required in header `name`.
    pub fn api_key_header(name: impl Into<String>, value: impl Into<String>) -> Self {
        AuthRequirement::ApiKeyHeader {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Whether a request with these headers and query string satisfies this requirement.
    pub fn is_met(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match self {
            AuthRequirement::ApiKeyHeader { name, value } => header(name) == Some(value.as_str()),
            AuthRequirement::ApiKeyQuery { name, value } => query
                .into_iter()
                .flat_map(|q| q.split('&'))
                .filter_map(|pair| pair.split_once('='))
                .any(|(k, v)| decode(k) == *name && decode(v) == *value),
            AuthRequirement::ApiKeyCookie { name, value } => headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|c| c.trim().split_once('='))
                .any(|(k, v)| k == name && v == value),
            AuthRequirement::Bearer { token } => {
                header(header::AUTHORIZATION.as_str()) == Some(format!("Bearer {token}").as_str())
            }
            AuthRequirement::Basic { username, password } => {
                let expected = format!("Basic {}", base64(format!("{username}:{password}").as_bytes()));
                header(header::AUTHORIZATION.as_str()) == Some(expected.as_str())
            }
        }
    }
}

/// Form-urlencoded decoding of one query component (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 with padding.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Middleware: API requests (under [`BASE_PATH`]) must meet one configured requirement, else
/// `401` with a `WWW-Authenticate` header and a message that names neither the expected nor the
/// received credential.
pub(crate) async fn middleware(State(store): State<Store>, req: Request, next: Next) -> Response {
    let required = store.auth();
    let path = req.uri().path();
    let guarded = path == BASE_PATH || path.starts_with(&format!("{BASE_PATH}/"));
    if !guarded
        || required.is_empty()
        || required
            .iter()
            .any(|r| r.is_met(req.headers(), req.uri().query()))
    {
        return next.run(req).await;
    }
    let body = json!({ "code": 401, "message": "missing or invalid credentials" });
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer, Basic, ApiKey")],
        axum::Json(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn requirements_match_exact_credentials_only() {
        let mut h = HeaderMap::new();
        h.insert("api_key", HeaderValue::from_static("k1"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YWxpY2U6cHc="),
        );
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; sid=c00kie"));
        assert!(AuthRequirement::api_key_header("api_key", "k1").is_met(&h, None));
        assert!(!AuthRequirement::api_key_header("api_key", "k2").is_met(&h, None));
        let basic = AuthRequirement::Basic {
            username: "alice".into(),
            password: "pw".into(),
        };
        assert!(basic.is_met(&h, None));
        let cookie = AuthRequirement::ApiKeyCookie {
            name: "sid".into(),
            value: "c00kie".into(),
        };
        assert!(cookie.is_met(&h, None));
        let query = AuthRequirement::ApiKeyQuery {
            name: "key".into(),
            value: "a b&c".into(),
        };
        assert!(query.is_met(&h, Some("x=1&key=a+b%26c")));
        assert!(!query.is_met(&h, Some("key=a")));
        assert!(!AuthRequirement::Bearer { token: "t".into() }.is_met(&h, None));
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
