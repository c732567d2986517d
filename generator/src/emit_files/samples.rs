//! Sample CR spec values from the IR: spec `example`s, defaults, the first enum value, else type-based placeholders.

use serde_json::{Map, Value, json};

use crate::model::{Crd, CrdKind, Field, Model, TypeDefKind, TypeRef, TypeSpace};

/// Nesting depth after which optional content is left out.
const MAX_DEPTH: usize = 6;

/// The `spec` of the sample CR of a kind: [`sample_spec`] of its fields, plus a payload for binary
/// Actions; for the Aggregate, a selector over the first other kind and two derived values.
pub fn sample_spec_of(model: &Model, crd: &Crd) -> Map<String, Value> {
    match &crd.kind {
        CrdKind::Aggregate => {
            let mut out = Map::new();
            let first = model
                .crds
                .iter()
                .find(|c| matches!(c.kind, CrdKind::Resource(_)))
                .or_else(|| model.crds.iter().find(|c| !matches!(c.kind, CrdKind::Aggregate)));
            let selector = match first {
                Some(c) => json!({ "kind": c.names.kind }),
                None => json!({}),
            };
            out.insert("selectors".to_owned(), json!([selector]));
            out.insert("strategy".to_owned(), json!("AllHealthy"));
            out.insert(
                "derivedValues".to_owned(),
                json!([
                    {
                        "name": "syncedPercent",
                        "expression": "summary.total == 0 ? 100 : summary.synced * 100 / summary.total",
                    },
                    {
                        "name": "failedNames",
                        "expression": "resources.filter(r, r.status.state == 'Failed').map(r, r.metadata.name)",
                    },
                ]),
            );
            out
        }
        CrdKind::Action(a) if a.body.is_binary() => {
            let mut out = sample_spec(&crd.fields, &model.types);
            // "hello, world\n", base64-encoded.
            out.insert("data".to_owned(), json!("aGVsbG8sIHdvcmxkCg=="));
            out.insert("contentType".to_owned(), json!("text/plain"));
            out
        }
        _ => sample_spec(&crd.fields, &model.types),
    }
}

/// The `spec` of a sample CR: required fields and every field the spec gives an example or default for.
pub fn sample_spec(fields: &[Field], types: &TypeSpace) -> Map<String, Value> {
    object(fields, types, 0)
}

fn object(fields: &[Field], types: &TypeSpace, depth: usize) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        let given = f
            .example
            .as_ref()
            .or(f.default.as_ref())
            .filter(|v| fits(v, &f.ty, types));
        let value = match given {
            Some(v) => Some(v.clone()),
            None if f.required || (depth == 0 && is_named_enum(&f.ty, types)) => {
                Some(placeholder(&f.ty, f.format.as_deref(), types, depth))
            }
            None => None,
        };
        if let Some(v) = value {
            out.insert(f.json_name.clone(), v);
        }
    }
    out
}

fn is_named_enum(ty: &TypeRef, types: &TypeSpace) -> bool {
    matches!(ty, TypeRef::Named(n) if matches!(types.get(n).map(|t| &t.kind), Some(TypeDefKind::Enum { .. })))
}

fn placeholder(ty: &TypeRef, format: Option<&str>, types: &TypeSpace, depth: usize) -> Value {
    match ty {
        TypeRef::String => json!(match format {
            Some("date-time") => "2024-01-01T00:00:00Z",
            Some("date") => "2024-01-01",
            Some("uuid") => "00000000-0000-0000-0000-000000000001",
            Some("email") => "user@example.com",
            Some("uri") => "https://example.com",
            Some("hostname") => "example.com",
            Some("ipv4") => "192.0.2.1",
            Some("ipv6") => "2001:db8::1",
            Some("byte") => "ZXhhbXBsZQ==",
            _ => "example",
        }),
        TypeRef::I32 | TypeRef::I64 => json!(1),
        TypeRef::F32 | TypeRef::F64 => json!(1.5),
        TypeRef::Bool => json!(true),
        TypeRef::Json => json!({}),
        TypeRef::Array(inner) if depth < MAX_DEPTH => json!([placeholder(inner, None, types, depth + 1)]),
        TypeRef::Array(_) => json!([]),
        TypeRef::Map(inner) if depth < MAX_DEPTH => {
            json!({ "key": placeholder(inner, None, types, depth + 1) })
        }
        TypeRef::Map(_) => json!({}),
        TypeRef::Named(name) => match types.get(name).map(|t| &t.kind) {
            Some(TypeDefKind::Enum { variants }) => variants.first().map_or(Value::Null, |v| json!(v.value)),
            Some(TypeDefKind::Struct { fields }) if depth < MAX_DEPTH => {
                Value::Object(object(fields, types, depth + 1))
            }
            _ => json!({}),
        },
    }
}

/// Whether a spec example can be deserialized into the field's type.
fn fits(value: &Value, ty: &TypeRef, types: &TypeSpace) -> bool {
    match (ty, value) {
        (TypeRef::String, Value::String(_)) | (TypeRef::Bool, Value::Bool(_)) | (TypeRef::Json, _) => true,
        (TypeRef::I64, Value::Number(n)) => n.is_i64(),
        (TypeRef::I32, Value::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        (TypeRef::F32 | TypeRef::F64, Value::Number(_)) => true,
        (TypeRef::Array(inner), Value::Array(items)) => items.iter().all(|i| fits(i, inner, types)),
        (TypeRef::Map(inner), Value::Object(map)) => map.values().all(|v| fits(v, inner, types)),
        (TypeRef::Named(name), _) => match (types.get(name).map(|t| &t.kind), value) {
            (Some(TypeDefKind::Enum { variants }), Value::String(s)) => {
                variants.iter().any(|v| &v.value == s)
            }
            (Some(TypeDefKind::Struct { fields }), Value::Object(map)) => {
                map.iter().all(|(k, v)| {
                    fields
                        .iter()
                        .find(|f| &f.json_name == k)
                        .is_some_and(|f| fits(v, &f.ty, types))
                }) && fields
                    .iter()
                    .filter(|f| f.required)
                    .all(|f| map.contains_key(&f.json_name))
            }
            _ => false,
        },
        _ => false,
    }
}
