//! Log hygiene for backend traffic: which headers and JSON keys are secrets, and the redacted, truncated forms that debug logs print.
//!
//! # Guarantees
//!
//! - [`headers`] never returns the value of `Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, or of any header whose name looks like a credential (contains `api-key`,
//!   `apikey`, `token`, `secret`, `password`, `session`, `auth`, `credential`, `signature`).
//! - [`body`] replaces the values of JSON object keys that look like credentials (same words) with
//!   `"<redacted>"` at any depth, then truncates to [`MAX_LOGGED_BODY`] bytes. Non-JSON bodies are
//!   only truncated. [`redact_value`] does the same to backend data copied into a CR's status.
//! - [`url`] and [`url_query`] replace the values of secret-looking query parameters (same words),
//!   and of the parameters an API key scheme names, with [`REDACTED`].
//! - Header values marked sensitive (every credential [`crate::auth`] injects) are redacted
//!   whatever their name.
//! - Names are compared word by word (`authToken` → `auth`, `token`), so ordinary fields such as
//!   `author` or `passport` are kept.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// Longest body (bytes) written to a debug log line.
pub const MAX_LOGGED_BODY: usize = 1024;

/// Replacement text for secrets.
pub const REDACTED: &str = "<redacted>";

/// Words that make a header name or JSON key a secret (compared per word, so `author` or
/// `passport` are not secrets but `authToken`, `x-auth-token` and `client_secret` are).
const SECRET_WORDS: &[&str] = &[
    "authorization",
    "auth",
    "cookie",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "pass",
    "pwd",
    "session",
    "credential",
    "credentials",
    "signature",
    "privatekey",
];

/// Two-word secrets (`api-key`, `private_key`, `accessKey`).
const SECRET_PAIRS: &[(&str, &str)] = &[("api", "key"), ("private", "key"), ("access", "key")];

/// Lowercase words of an identifier: split on `-`, `_`, `.`, spaces and lower→upper case changes.
fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.' | ' ') {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn is_secret_name(name: &str) -> bool {
    let words = words(name);
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || words
            .windows(2)
            .any(|pair| SECRET_PAIRS.contains(&(pair[0].as_str(), pair[1].as_str())))
}

/// Whether a header carrying this name must never be logged (case-insensitive).
pub fn is_secret_header(name: &str) -> bool {
    is_secret_name(name)
}

/// Whether a JSON key's value must never be logged or copied into a status.
pub fn is_secret_key(key: &str) -> bool {
    is_secret_name(key)
}

/// `name: value` pairs of `headers`, secrets replaced by [`REDACTED`], for debug logs.
pub fn headers(headers: &HeaderMap) -> String {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if value.is_sensitive() || is_secret_header(name.as_str()) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            format!("{name}: {shown}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replaces, in `url`, the values of query parameters that look like secrets or are named in
/// `names` with [`REDACTED`]. Leaves the URL untouched when there is nothing to redact.
pub fn url_query(url: &mut reqwest::Url, names: &[&str]) {
    let secret = |key: &str| names.contains(&key) || is_secret_name(key);
    if !url.query_pairs().any(|(key, _)| secret(&key)) {
        return;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let shown = if secret(&key) {
                REDACTED.into()
            } else {
                value.into_owned()
            };
            (key.into_owned(), shown)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
}

/// `url` for logs, secret-looking query parameter values replaced by [`REDACTED`] (see
/// [`url_query`]); returned as it is when it does not parse.
pub fn url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.query().is_some() => {
            url_query(&mut parsed, &[]);
            parsed.into()
        }
        _ => url.to_owned(),
    }
}

/// A body for debug logs: secret JSON values redacted, at most [`MAX_LOGGED_BODY`] bytes.
pub fn body(bytes: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    };
    truncate(&text, MAX_LOGGED_BODY)
}

/// [`body`] for an already parsed value.
pub fn value(value: &Value) -> String {
    let mut value = value.clone();
    redact_value(&mut value);
    truncate(&value.to_string(), MAX_LOGGED_BODY)
}

/// Replaces the values of secret-looking keys (see [`is_secret_key`]) with [`REDACTED`], at any
/// depth. Used for backend data the runtime copies into a CR's status.
pub fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) && !v.is_null() {
                    *v = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// `text` cut at a char boundary to at most `max` bytes, with `…(N bytes)` appended when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderName, HeaderValue};
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_headers_are_redacted() {
        let mut h = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer s3cr3t-a"),
            ("proxy-authorization", "Basic s3cr3t-b"),
            ("cookie", "sid=s3cr3t-c"),
            ("set-cookie", "sid=s3cr3t-d; HttpOnly"),
            ("x-api-key", "s3cr3t-e"),
            ("x-auth-token", "s3cr3t-f"),
            ("accept", "application/json"),
        ] {
            h.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let shown = headers(&h);
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("accept: application/json"), "{shown}");
        assert_eq!(shown.matches(REDACTED).count(), 6, "{shown}");
    }

    #[test]
    fn sensitive_header_values_and_secret_query_parameters_are_redacted() {
        let mut h = HeaderMap::new();
        let mut value = HeaderValue::from_static("s3cr3t");
        value.set_sensitive(true);
        h.insert(HeaderName::from_static("x-custom"), value);
        assert_eq!(headers(&h), "x-custom: <redacted>");

        assert_eq!(
            url("http://h/pet?status=sold&api_key=s3cr3t&access_token=s3cr3t"),
            "http://h/pet?status=sold&api_key=%3Credacted%3E&access_token=%3Credacted%3E"
        );
        assert_eq!(url("http://h/pet?status=a%20b"), "http://h/pet?status=a%20b");
        assert_eq!(url("not a url ?token=x"), "not a url ?token=x");
        let mut u = reqwest::Url::parse("http://h/p?k=s3cr3t&x=1").unwrap();
        url_query(&mut u, &["k"]);
        assert_eq!(u.as_str(), "http://h/p?k=%3Credacted%3E&x=1");
    }

    #[test]
    fn secret_json_keys_are_redacted_at_any_depth_and_bodies_truncated() {
        let b = json!({"username": "alice", "password": "s3cr3t", "nested": [{"apiKey": "s3cr3t", "api_token": "s3cr3t"}],
                       "clientSecret": "s3cr3t", "pwd": "s3cr3t", "passport": null, "status": "ok"});
        let shown = body(b.to_string().as_bytes());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(
            shown.contains("alice") && shown.contains("\"status\":\"ok\""),
            "{shown}"
        );
        assert_eq!(value(&b), shown);
        for (key, secret) in [
            ("author", false),
            ("passport", false),
            ("authority", false),
            ("tokenizer", false),
            ("keyName", false),
            ("authToken", true),
            ("x-auth-token", true),
            ("X-API-Key", true),
            ("apiKey", true),
            ("api_key", true),
            ("privateKey", true),
            ("client_secret", true),
            ("userPassword", true),
            ("sessionId", true),
        ] {
            assert_eq!(is_secret_key(key), secret, "{key}");
        }

        let long = "x".repeat(5000);
        let shown = body(long.as_bytes());
        assert!(shown.len() <= MAX_LOGGED_BODY + 20, "{}", shown.len());
        assert!(shown.ends_with("…(5000 bytes)"), "{shown}");
        assert_eq!(truncate("éé", 3), "é…(4 bytes)");
    }
}
