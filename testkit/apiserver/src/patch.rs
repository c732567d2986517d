//! Patch decoding and application: JSON merge patch, JSON patch, strategic merge (approximated) and apply.

use serde_json::Value;

use crate::errors::ApiError;

/// Media types accepted for PATCH on custom resources (order as the real server lists them).
const CR_PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
/// Media types accepted for PATCH on built-in resources.
const BUILTIN_PATCH_TYPES: &str = "application/json-patch+json, application/merge-patch+json, \
     application/strategic-merge-patch+json, application/apply-patch+yaml";

/// The kind of a PATCH request, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 7386 `application/merge-patch+json`.
    Merge,
    /// RFC 6902 `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json` — built-ins only; applied as a merge patch.
    Strategic,
    /// `application/apply-patch+yaml` — server-side apply, simplified (see [`apply`]).
    Apply,
}

impl PatchKind {
    /// Parses the Content-Type; `custom` rejects strategic merge patch as the real server does for CRs.
    pub fn from_content_type(content_type: &str, custom: bool) -> Result<Self, ApiError> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let accepted = if custom {
            CR_PATCH_TYPES
        } else {
            BUILTIN_PATCH_TYPES
        };
        let unsupported = || {
            ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: {accepted}"
            ))
        };
        match media.as_str() {
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchKind::Apply),
            "application/strategic-merge-patch+json" if !custom => Ok(PatchKind::Strategic),
            _ => Err(unsupported()),
        }
    }
}

/// Parses a JSON body, mapping failures to 400 BadRequest.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))
}

/// Parses an apply body, which may be YAML or JSON.
pub fn parse_yaml_or_json(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text =
        std::str::from_utf8(body).map_err(|e| ApiError::BadRequest(format!("invalid UTF-8 body: {e}")))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))
}

/// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, everything else (lists too) replaces.
pub fn merge(doc: &mut Value, patch: &Value) {
    json_patch::merge(doc, patch);
}

/// Removes strategic-merge directives (`$patch`, `$retainKeys`, `$setElementOrder/...`, `$deleteFromPrimitiveList/...`).
pub fn strip_directives(patch: &mut Value) {
    match patch {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with('$'));
            map.values_mut().for_each(strip_directives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

/// Applies an RFC 6902 JSON patch; a failed operation (including `test`) is 422 as in the real server.
///
/// Like evanphx/json-patch (which kube-apiserver uses), a `test` op whose `value` is `null` passes
/// when the path does not exist: kube-runtime's `finalizer()` helper relies on this
/// (`test /metadata/finalizers null` on an object without finalizers). Operations apply in order
/// and atomically: on any failure the document is left unchanged.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?;
    let mut work = doc.clone();
    for op in ops.0 {
        if let json_patch::PatchOperation::Test(test) = &op
            && test.value.is_null()
            && work.pointer(test.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(&mut work, &[op]).map_err(|e| match e.kind {
            // evanphx/json-patch's wording, which the real server passes through.
            json_patch::PatchErrorKind::TestFailed => {
                ApiError::PatchRejected(format!("testing value {} failed: test failed", e.path))
            }
            _ => ApiError::PatchRejected(e.to_string()),
        })?;
    }
    *doc = work;
    Ok(())
}

/// Simplified server-side apply: the applied configuration is merged into the live object
/// recursively (maps merge, lists and scalars replace, `null` removes).
///
/// Deliberate simplifications versus real server-side apply: no `managedFields` are tracked, so
/// there are no field-ownership conflicts (`force` is irrelevant) and fields that a manager stops
/// applying are **not** removed; list-map merge keys (`x-kubernetes-list-type: map`) are ignored —
/// applied lists replace live lists wholesale.
pub fn apply(live: &mut Value, applied: &Value) {
    merge(live, applied);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7386() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]});
        merge(&mut doc, &json!({"a": "z", "c": {"f": null, "h": 1}, "l": [3]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e", "h": 1}, "l": [3]}));
        // A non-object patch replaces the whole document.
        let mut doc = json!({"a": 1});
        merge(&mut doc, &json!([1]));
        assert_eq!(doc, json!([1]));
        // Nulls inside new objects are not stored.
        let mut doc = json!({});
        merge(&mut doc, &json!({"x": {"y": null, "z": 1}}));
        assert_eq!(doc, json!({"x": {"z": 1}}));
    }

    #[test]
    fn json_patch_test_failure_is_422() {
        let mut doc = json!({"spec": {"x": 1}});
        let err = json_patch(&mut doc, &json!([{"op": "test", "path": "/spec/x", "value": 2}])).err();
        assert_eq!(err.map(|e| e.code()), Some(422));
        json_patch(
            &mut doc,
            &json!([{"op": "test", "path": "/spec/x", "value": 1},
            {"op": "replace", "path": "/spec/x", "value": 5}]),
        )
        .unwrap();
        assert_eq!(doc, json!({"spec": {"x": 5}}));
        // `test` with null on a missing path passes (evanphx/json-patch semantics)…
        json_patch(
            &mut doc,
            &json!([{"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata", "value": {"finalizers": ["f"]}}]),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["f"]));
        // …but not on a present one, and a failure leaves the document untouched.
        let before = doc.clone();
        let err = json_patch(
            &mut doc,
            &json!([{"op": "remove", "path": "/spec/x"},
            {"op": "test", "path": "/metadata/finalizers", "value": null}]),
        )
        .err();
        assert_eq!(err.map(|e| e.code()), Some(422));
        assert_eq!(doc, before);
        let bad = json_patch(&mut doc, &json!({"op": "nope"})).err();
        assert_eq!(bad.map(|e| e.code()), Some(400));
    }

    #[test]
    fn strategic_directives_are_stripped() {
        let mut p =
            json!({"$setElementOrder/containers": [{"name": "a"}], "spec": {"$retainKeys": ["x"], "x": 1}});
        strip_directives(&mut p);
        assert_eq!(p, json!({"spec": {"x": 1}}));
    }

    #[test]
    fn content_types() {
        assert_eq!(
            PatchKind::from_content_type("application/merge-patch+json", true).unwrap(),
            PatchKind::Merge
        );
        let smp = PatchKind::from_content_type("application/strategic-merge-patch+json", true).err();
        assert_eq!(smp.map(|e| e.code()), Some(415));
        assert_eq!(
            PatchKind::from_content_type("application/strategic-merge-patch+json", false).unwrap(),
            PatchKind::Strategic
        );
    }

    #[test]
    fn apply_accepts_yaml() {
        let v = parse_yaml_or_json(b"apiVersion: v1\nkind: ConfigMap\ndata:\n  a: '1'\n").unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}})
        );
    }
}
