//! Up-front checks on the raw document: OpenAPI version, internal `$ref` targets, typed deserialization with a located error.

use serde::Deserialize as _;
use serde_json::Value;

use super::walk::{push_index, push_token};
use super::{escape_pointer_token, invalid};
use crate::error::{Error, Result};

/// The dialect of an input document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

pub(super) fn check_version(file: &str, raw: &Value) -> Result<Version> {
    let Value::Object(root) = raw else {
        return Err(invalid(
            file,
            "",
            "the document is not a mapping (expected an OpenAPI or Swagger object)",
        ));
    };
    if let Some(swagger) = root.get("swagger") {
        return match swagger {
            Value::String(v) if v == "2.0" => Ok(Version::Swagger2),
            other => Err(Error::UnsupportedVersion {
                file: file.to_owned(),
                pointer: "/swagger".to_owned(),
                found: format!("Swagger {}", scalar_text(other)),
            }),
        };
    }
    let Some(version) = root.get("openapi") else {
        return Err(invalid(
            file,
            "/openapi",
            "missing: the document is not an OpenAPI description",
        ));
    };
    let Value::String(version) = version else {
        return Err(invalid(
            file,
            "/openapi",
            format!("expected a version string, found {}", scalar_text(version)),
        ));
    };
    if version.starts_with("3.0.") || version == "3.0" {
        Ok(Version::OpenApi30)
    } else if version.starts_with("3.1.") || version == "3.1" {
        Ok(Version::OpenApi31)
    } else {
        Err(Error::UnsupportedVersion {
            file: file.to_owned(),
            pointer: "/openapi".to_owned(),
            found: format!("OpenAPI {version}"),
        })
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every `$ref` must be internal (`#/...`) and point at an existing node (checked in document order).
pub(super) fn check_refs(file: &str, raw: &Value) -> Result<()> {
    // One pointer buffer, extended and truncated on the way (no string per node). The recursion is
    // as deep as the document, which the parsers bound (and dropping a `Value` recurses too).
    fn walk(file: &str, raw: &Value, node: &Value, pointer: &mut String) -> Result<()> {
        let len = pointer.len();
        match node {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref")
                    && !(reference.is_object() && pointer.ends_with("/properties"))
                {
                    let unresolved = |reference: String| Error::UnresolvedRef {
                        file: file.to_owned(),
                        pointer: format!("{pointer}/$ref"),
                        reference,
                    };
                    let Value::String(reference) = reference else {
                        return Err(unresolved(reference.to_string()));
                    };
                    if super::resolve::lookup(raw, reference).is_none() {
                        return Err(unresolved(reference.clone()));
                    }
                }
                for (key, child) in map {
                    if !super::walk::is_literal(pointer, key, child) {
                        push_token(pointer, key);
                        walk(file, raw, child, pointer)?;
                        pointer.truncate(len);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    push_index(pointer, i);
                    walk(file, raw, child, pointer)?;
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(file, raw, raw, &mut String::new())
}

/// Deserializes into `openapiv3::OpenAPI`; on failure narrows the JSON pointer down to the smallest
/// section (path item, operation, component) that fails on its own.
pub(super) fn typed(file: &str, raw: &Value) -> Result<openapiv3::OpenAPI> {
    // Deserialized from the borrowed document (no copy of the whole tree).
    match openapiv3::OpenAPI::deserialize(raw) {
        Ok(api) => Ok(api),
        Err(err) => {
            let (pointer, reason) = locate(raw).unwrap_or_else(|| (String::new(), err.to_string()));
            Err(invalid(file, pointer, reason))
        }
    }
}

fn locate(raw: &Value) -> Option<(String, String)> {
    fn check<T: serde::de::DeserializeOwned>(value: &Value) -> Option<String> {
        serde_json::from_value::<T>(value.clone())
            .err()
            .map(|e| e.to_string())
    }
    let root = raw.as_object()?;
    if let Some(info) = root.get("info") {
        if let Some(reason) = check::<openapiv3::Info>(info) {
            return Some(("/info".to_owned(), reason));
        }
    } else {
        return Some(("/info".to_owned(), "missing field `info`".to_owned()));
    }
    if let Some(paths) = root.get("paths") {
        let Some(paths_map) = paths.as_object() else {
            return Some(("/paths".to_owned(), "expected a mapping of paths".to_owned()));
        };
        for (path, item) in paths_map {
            let base = format!("/paths/{}", escape_pointer_token(path));
            if check::<openapiv3::ReferenceOr<openapiv3::PathItem>>(item).is_none() {
                continue;
            }
            if let Some(ops) = item.as_object() {
                for (method, op) in ops {
                    let reason = match method.as_str() {
                        "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace" => {
                            check::<openapiv3::Operation>(op)
                        }
                        "parameters" => check::<Vec<openapiv3::ReferenceOr<openapiv3::Parameter>>>(op),
                        _ => None,
                    };
                    if let Some(reason) = reason {
                        return Some((format!("{base}/{}", escape_pointer_token(method)), reason));
                    }
                }
            }
            return check::<openapiv3::ReferenceOr<openapiv3::PathItem>>(item).map(|r| (base, r));
        }
    }
    if let Some(components) = root.get("components").and_then(Value::as_object) {
        if let Some(schemas) = components.get("schemas").and_then(Value::as_object) {
            for (name, schema) in schemas {
                if let Some(reason) = check::<openapiv3::ReferenceOr<openapiv3::Schema>>(schema) {
                    return Some((
                        format!("/components/schemas/{}", escape_pointer_token(name)),
                        reason,
                    ));
                }
            }
        }
        if let Some(reason) = check::<openapiv3::Components>(&Value::Object(components.clone())) {
            return Some(("/components".to_owned(), reason));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn versions_are_detected() {
        assert_eq!(
            check_version("s", &json!({"swagger": "2.0"})).unwrap(),
            Version::Swagger2
        );
        assert_eq!(
            check_version("s", &json!({"openapi": "3.0.3"})).unwrap(),
            Version::OpenApi30
        );
        assert_eq!(
            check_version("s", &json!({"openapi": "3.1.0"})).unwrap(),
            Version::OpenApi31
        );
    }

    #[test]
    fn unknown_versions_are_rejected_naming_the_field() {
        let err = check_version("s.yaml", &json!({"swagger": "1.2"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.yaml#/swagger: Swagger 1.2 is not supported (this release reads Swagger 2.0 and OpenAPI 3.0.x/3.1.x)"
        );
        let err = check_version("s.yaml", &json!({"openapi": "4.0.0"})).unwrap_err();
        assert!(
            err.to_string()
                .contains("#/openapi: OpenAPI 4.0.0 is not supported")
        );
    }

    #[test]
    fn refs_are_checked_with_pointer_unescaping() {
        let doc = json!({"a/b": {"c~d": 1}, "x": {"$ref": "#/a~1b/c~0d"}, "y": [{"$ref": "#/nope"}]});
        let err = check_refs("f", &doc).unwrap_err();
        assert_eq!(err.to_string(), "f#/y/0/$ref: unresolved $ref \"#/nope\"");
    }

    #[test]
    fn refs_in_examples_and_properties_named_ref_are_not_checked() {
        let doc = json!({"components": {"examples": {"E": {"value": {"$ref": "https://x/y"}}},
            "schemas": {"S": {"properties": {"$ref": {"type": "string"}}, "example": {"$ref": "z"}}}}});
        check_refs("f", &doc).unwrap();
    }

    #[test]
    fn external_refs_are_unresolved() {
        let err = check_refs("f", &json!({"x": {"$ref": "other.yaml#/a"}})).unwrap_err();
        assert!(matches!(err, Error::UnresolvedRef { .. }));
    }
}
