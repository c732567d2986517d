//! Resolution of an Action's binary payload (`spec.data`, `spec.dataFrom`, `spec.dataURL`) to bytes, before anything is sent to the backend.
//!
//! - Exactly one source must be set; none or several is a terminal [`Error::BadSpec`] naming the
//!   fields.
//! - `data`: standard base64 (whitespace ignored); invalid base64 is a terminal error naming
//!   `spec.data`.
//! - `dataFrom`: a key of a ConfigMap (`binaryData` first, then `data`) or of a Secret (`data`), in
//!   the CR's namespace. A missing object or key is a retryable [`Error::MissingReference`] such as
//!   `secret "x" not found in namespace "ns"`: it may be created later, and nothing reached the
//!   backend.
//! - `dataURL`: an HTTP(S) `GET` through the backend client's limits, timeouts and response size
//!   limit, without its default (credential) headers ([`crate::http::BackendClient::fetch`]).

use base64::Engine as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;

use crate::context::Context;
use crate::controls::{BinaryPayload, KeyRef};
use crate::error::{Error, Result};

/// Default media type of a payload.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Resolved payload bytes plus how to label them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `spec.contentType`, else [`DEFAULT_CONTENT_TYPE`].
    pub content_type: String,
    /// `spec.filename`, else the `dataFrom` key, else `data`.
    pub filename: String,
}

/// Which source a payload names (checked before any I/O).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// `spec.data`.
    Inline(&'a str),
    /// `spec.dataFrom.configMapKeyRef`.
    ConfigMap(&'a KeyRef),
    /// `spec.dataFrom.secretKeyRef`.
    Secret(&'a KeyRef),
    /// `spec.dataURL`.
    Url(&'a str),
}

/// The one source `payload` names.
///
/// # Errors
///
/// [`Error::BadSpec`] (terminal) when no source or more than one is set, or `dataFrom` does not
/// name exactly one reference.
pub fn source(payload: Option<&BinaryPayload>) -> Result<Source<'_>> {
    let all = "spec.data, spec.dataFrom, spec.dataURL";
    let Some(payload) = payload else {
        return Err(Error::bad_spec(
            all,
            "this action sends a binary payload: set exactly one",
        ));
    };
    let mut set = Vec::new();
    if payload.data.is_some() {
        set.push("spec.data");
    }
    if payload.data_from.is_some() {
        set.push("spec.dataFrom");
    }
    if payload.data_url.is_some() {
        set.push("spec.dataURL");
    }
    match set.len() {
        0 => return Err(Error::bad_spec(all, "exactly one must be set; none is")),
        1 => {}
        _ => {
            return Err(Error::bad_spec(
                all,
                format!("exactly one must be set; {} are all set", set.join(" and ")),
            ));
        }
    }
    if let Some(data) = &payload.data {
        return Ok(Source::Inline(data));
    }
    if let Some(url) = &payload.data_url {
        return Ok(Source::Url(url));
    }
    let from = payload.data_from.as_ref();
    match from.map(|f| (&f.config_map_key_ref, &f.secret_key_ref)) {
        Some((Some(r), None)) => Ok(Source::ConfigMap(r)),
        Some((None, Some(r))) => Ok(Source::Secret(r)),
        _ => Err(Error::bad_spec(
            "spec.dataFrom",
            "set exactly one of configMapKeyRef and secretKeyRef",
        )),
    }
}

/// Decodes `spec.data`.
///
/// # Errors
///
/// [`Error::BadSpec`] naming `spec.data` when it is not valid base64.
pub fn decode_inline(data: &str) -> Result<Vec<u8>> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| Error::bad_spec("spec.data", format!("not valid base64: {e}")))
}

/// Reads the payload's bytes for a CR in `namespace`.
///
/// # Errors
///
/// See the module documentation; Kubernetes API failures are [`Error::Kube`], `dataURL` failures
/// the client's errors (a non-2xx answer as [`Error::from_status`]).
pub async fn resolve(payload: Option<&BinaryPayload>, namespace: &str, ctx: &Context) -> Result<Payload> {
    let source = source(payload)?;
    let (bytes, key) = match source {
        Source::Inline(data) => (decode_inline(data)?, None),
        Source::ConfigMap(r) => (config_map_bytes(ctx, namespace, r).await?, Some(r.key.as_str())),
        Source::Secret(r) => (secret_bytes(ctx, namespace, r).await?, Some(r.key.as_str())),
        Source::Url(url) => (fetch(ctx, url).await?, None),
    };
    let payload = payload.cloned().unwrap_or_default();
    Ok(Payload {
        bytes,
        content_type: payload
            .content_type
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned()),
        filename: payload
            .filename
            .filter(|f| !f.is_empty())
            .or_else(|| key.map(str::to_owned))
            .unwrap_or_else(|| "data".to_owned()),
    })
}

fn missing(what: String) -> Error {
    Error::MissingReference { what }
}

async fn config_map_bytes(ctx: &Context, namespace: &str, r: &KeyRef) -> Result<Vec<u8>> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    let cm = api.get_opt(&r.name).await.map_err(|source| Error::Kube {
        action: "read configmap",
        source,
    })?;
    let cm = cm.ok_or_else(|| {
        missing(format!(
            "configmap {:?} not found in namespace {namespace:?}",
            r.name
        ))
    })?;
    if let Some(bytes) = cm.binary_data.as_ref().and_then(|d| d.get(&r.key)) {
        return Ok(bytes.0.clone());
    }
    cm.data
        .as_ref()
        .and_then(|d| d.get(&r.key))
        .map(|s| s.clone().into_bytes())
        .ok_or_else(|| {
            missing(format!(
                "key {:?} not found in configmap {:?} in namespace {namespace:?}",
                r.key, r.name
            ))
        })
}

async fn secret_bytes(ctx: &Context, namespace: &str, r: &KeyRef) -> Result<Vec<u8>> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api.get_opt(&r.name).await.map_err(|source| Error::Kube {
        action: "read secret",
        source,
    })?;
    let secret = secret.ok_or_else(|| {
        missing(format!(
            "secret {:?} not found in namespace {namespace:?}",
            r.name
        ))
    })?;
    if let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(&r.key)) {
        return Ok(bytes.0.clone());
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(&r.key))
        .map(|s| s.clone().into_bytes())
        .ok_or_else(|| {
            missing(format!(
                "key {:?} not found in secret {:?} in namespace {namespace:?}",
                r.key, r.name
            ))
        })
}

async fn fetch(ctx: &Context, url: &str) -> Result<Vec<u8>> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {}
        _ => {
            return Err(Error::bad_spec(
                "spec.dataURL",
                format!("{url:?} is not an absolute http(s) URL"),
            ));
        }
    }
    let resp = ctx.backend.fetch(url).await?;
    if !resp.is_success() {
        let body = crate::client::decode_body(&resp.bytes).unwrap_or(serde_json::Value::Null);
        return Err(Error::from_status_retry_after(
            "GET",
            url,
            resp.status,
            crate::http::error_message(resp.status, &body),
            resp.retry_after,
        ));
    }
    Ok(resp.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controls::DataSource;

    fn key_ref(name: &str, key: &str) -> KeyRef {
        KeyRef {
            name: name.into(),
            key: key.into(),
        }
    }

    #[test]
    fn exactly_one_source_is_required() {
        let err = source(None).unwrap_err();
        assert!(
            err.to_string().contains("spec.data, spec.dataFrom, spec.dataURL"),
            "{err}"
        );
        let err = source(Some(&BinaryPayload::default())).unwrap_err();
        assert!(err.to_string().contains("none is"), "{err}");
        let both = BinaryPayload {
            data: Some("aGk=".into()),
            data_url: Some("http://x".into()),
            ..BinaryPayload::default()
        };
        let err = source(Some(&both)).unwrap_err();
        assert!(err.to_string().contains("spec.data and spec.dataURL"), "{err}");
        assert!(!err.is_retryable());
        let neither_ref = BinaryPayload {
            data_from: Some(DataSource::default()),
            ..BinaryPayload::default()
        };
        assert!(
            source(Some(&neither_ref))
                .unwrap_err()
                .to_string()
                .contains("spec.dataFrom")
        );
        let secret = BinaryPayload {
            data_from: Some(DataSource {
                secret_key_ref: Some(key_ref("s", "k")),
                config_map_key_ref: None,
            }),
            ..BinaryPayload::default()
        };
        assert_eq!(source(Some(&secret)).unwrap(), Source::Secret(&key_ref("s", "k")));
    }

    #[test]
    fn inline_data_is_base64() {
        assert_eq!(decode_inline("aGVs\nbG8=").unwrap(), b"hello");
        let err = decode_inline("not base64!").unwrap_err();
        assert!(err.to_string().contains("spec.data"), "{err}");
        assert!(!err.is_retryable());
    }
}
