//! Sample CR spec values from the IR: spec `example`s and defaults that pass the field's validation, the first enum
//! value, else type-based placeholders within the validation bounds.

use serde_json::{Map, Value, json};

use crate::model::types::Validation;
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
            .filter(|v| fits(v, &f.ty, &f.validation, types));
        let value = match given {
            Some(v) => Some(v.clone()),
            None if f.required || (depth == 0 && is_named_enum(&f.ty, types)) => Some(placeholder(
                &f.ty,
                f.format.as_deref(),
                &f.validation,
                types,
                depth,
            )),
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

/// A value of `ty` that satisfies the validation (except `pattern`, which is not evaluated).
fn placeholder(
    ty: &TypeRef,
    format: Option<&str>,
    validation: &Validation,
    types: &TypeSpace,
    depth: usize,
) -> Value {
    if let Some(first) = validation.enum_values.first() {
        return first.clone();
    }
    let none = Validation::default();
    match ty {
        TypeRef::String => json!(sized(
            match format {
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
            },
            validation
        )),
        TypeRef::I32 | TypeRef::I64 => json!(integer(validation)),
        TypeRef::F32 | TypeRef::F64 => json!(number(validation)),
        TypeRef::Bool => json!(true),
        TypeRef::Json => json!({}),
        TypeRef::Array(inner) if depth < MAX_DEPTH => {
            let items = validation.items.as_deref().unwrap_or(&none);
            let count = count(validation.min_items, validation.max_items);
            let values: Vec<Value> = (0..count)
                .map(|i| distinct(placeholder(inner, None, items, types, depth + 1), i))
                .collect();
            Value::Array(values)
        }
        TypeRef::Array(_) => json!([]),
        TypeRef::Map(inner) if depth < MAX_DEPTH => {
            let values = validation.values.as_deref().unwrap_or(&none);
            let count = count(validation.min_properties, validation.max_properties);
            let value = placeholder(inner, None, values, types, depth + 1);
            Value::Object(
                (0..count)
                    .map(|i| {
                        (
                            distinct(json!("key"), i).as_str().unwrap_or("key").to_owned(),
                            value.clone(),
                        )
                    })
                    .collect(),
            )
        }
        TypeRef::Map(_) => json!({}),
        TypeRef::Named(name) => match types.get(name).map(|t| &t.kind) {
            Some(TypeDefKind::Enum { variants }) => variants.first().map_or(Value::Null, |v| json!(v.value)),
            Some(TypeDefKind::Struct { fields }) if depth < MAX_DEPTH => {
                Value::Object(object(fields, types, depth + 1))
            }
            Some(TypeDefKind::Union {
                variants,
                discriminator,
                ..
            }) if depth < MAX_DEPTH => {
                let Some(first) = variants.first() else {
                    return json!({});
                };
                let mut value = placeholder(&first.ty, None, &none, types, depth + 1);
                if let (Some(property), Some(tag), Value::Object(map)) =
                    (discriminator, first.tags.first(), &mut value)
                {
                    map.insert(property.clone(), json!(tag));
                }
                value
            }
            _ => json!({}),
        },
    }
}

/// The number of items of a sample array or map: one, or the bounds' nearest value.
fn count(min: Option<u64>, max: Option<u64>) -> u64 {
    min.unwrap_or(1).max(1).min(max.unwrap_or(u64::MAX)).min(64)
}

/// The `index`-th of several sample items: strings and integers are made distinct (sets).
fn distinct(value: Value, index: u64) -> Value {
    match value {
        Value::String(s) if index > 0 => json!(format!("{s}{}", index + 1)),
        Value::Number(n) if index > 0 && n.is_i64() => {
            json!(n.as_i64().unwrap_or_default() + index.cast_signed())
        }
        other => other,
    }
}

/// A placeholder string cut or padded to the length bounds.
fn sized(text: &str, v: &Validation) -> String {
    let mut out: String = match v.max_length.and_then(|m| usize::try_from(m).ok()) {
        Some(max) => text.chars().take(max).collect(),
        None => text.to_owned(),
    };
    let min = v
        .min_length
        .and_then(|m| usize::try_from(m).ok())
        .unwrap_or(0)
        .min(4096);
    while out.chars().count() < min {
        out.push('x');
    }
    out
}

/// An integer within the bounds and a multiple of `multipleOf`, near 1.
#[allow(clippy::cast_possible_truncation, reason = "placeholder values are small")]
fn integer(v: &Validation) -> i64 {
    let low = v.minimum.map(|m| {
        if v.exclusive_minimum {
            m.floor() + 1.0
        } else {
            m.ceil()
        }
    });
    let high = v.maximum.map(|m| {
        if v.exclusive_maximum {
            m.ceil() - 1.0
        } else {
            m.floor()
        }
    });
    let mut x: f64 = 1.0;
    if let Some(l) = low.filter(|l| x < *l) {
        x = l;
    }
    if let Some(h) = high.filter(|h| x > *h) {
        x = h;
    }
    if let Some(step) = v.multiple_of.filter(|m| *m >= 1.0 && m.fract() == 0.0) {
        x = (x / step).ceil() * step;
        if let Some(h) = high.filter(|h| x > *h) {
            x = (h / step).floor() * step;
        }
    }
    x as i64
}

/// A number within the bounds (strictly inside exclusive ones) and a multiple of `multipleOf`, near 1.5.
fn number(v: &Validation) -> f64 {
    let mut x: f64 = 1.5;
    if let Some(l) = v.minimum
        && (x < l || (v.exclusive_minimum && x <= l))
    {
        x = match v.maximum {
            Some(h) if h > l => l + (h - l) / 2.0,
            _ => l + 1.0,
        };
    }
    if let Some(h) = v.maximum
        && (x > h || (v.exclusive_maximum && x >= h))
    {
        x = match v.minimum {
            Some(l) if h > l => l + (h - l) / 2.0,
            _ => h - 1.0,
        };
    }
    if let Some(step) = v.multiple_of {
        x = (x / step).ceil() * step;
        if v.maximum
            .is_some_and(|h| x > h || (v.exclusive_maximum && x >= h))
        {
            x -= step;
        }
    }
    x
}

/// Whether a spec example can be deserialized into the field's type and passes its validation.
fn fits(value: &Value, ty: &TypeRef, validation: &Validation, types: &TypeSpace) -> bool {
    let none = Validation::default();
    let typed = match (ty, value) {
        (TypeRef::String, Value::String(_)) | (TypeRef::Bool, Value::Bool(_)) | (TypeRef::Json, _) => true,
        (TypeRef::I64, Value::Number(n)) => n.is_i64(),
        (TypeRef::I32, Value::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        (TypeRef::F32 | TypeRef::F64, Value::Number(_)) => true,
        (TypeRef::Array(inner), Value::Array(items)) => {
            let v = validation.items.as_deref().unwrap_or(&none);
            items.iter().all(|i| fits(i, inner, v, types))
        }
        (TypeRef::Map(inner), Value::Object(map)) => {
            let v = validation.values.as_deref().unwrap_or(&none);
            map.values().all(|i| fits(i, inner, v, types))
        }
        (TypeRef::Named(name), _) => match (types.get(name).map(|t| &t.kind), value) {
            (Some(TypeDefKind::Enum { variants }), Value::String(s)) => {
                variants.iter().any(|v| &v.value == s)
            }
            (Some(TypeDefKind::Struct { fields }), Value::Object(map)) => {
                map.iter().all(|(k, v)| {
                    fields
                        .iter()
                        .find(|f| &f.json_name == k)
                        .is_some_and(|f| fits(v, &f.ty, &f.validation, types))
                }) && fields
                    .iter()
                    .filter(|f| f.required)
                    .all(|f| map.contains_key(&f.json_name))
            }
            (
                Some(TypeDefKind::Union {
                    variants,
                    discriminator,
                    ..
                }),
                _,
            ) => variants.iter().any(|v| {
                let tagged = match discriminator {
                    Some(p) => value
                        .get(p)
                        .and_then(Value::as_str)
                        .is_some_and(|t| v.tags.iter().any(|tag| tag == t)),
                    None => true,
                };
                tagged && fits(value, &v.ty, &none, types)
            }),
            _ => false,
        },
        _ => false,
    };
    typed && satisfies(value, validation)
}

/// Whether a value passes the validation keywords (`pattern` is not evaluated).
fn satisfies(value: &Value, v: &Validation) -> bool {
    if !v.enum_values.is_empty() && !v.enum_values.contains(value) {
        return false;
    }
    let within =
        |n: u64, min: Option<u64>, max: Option<u64>| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m);
    match value {
        Value::String(s) => within(s.chars().count() as u64, v.min_length, v.max_length),
        Value::Number(n) => {
            let Some(x) = n.as_f64() else { return false };
            let low = v
                .minimum
                .is_none_or(|m| if v.exclusive_minimum { x > m } else { x >= m });
            let high = v
                .maximum
                .is_none_or(|m| if v.exclusive_maximum { x < m } else { x <= m });
            let multiple = v
                .multiple_of
                .is_none_or(|m| ((x / m) - (x / m).round()).abs() < 1e-9);
            low && high && multiple
        }
        Value::Array(items) => {
            let unique = !v.list_set || items.iter().enumerate().all(|(i, a)| !items[..i].contains(a));
            within(items.len() as u64, v.min_items, v.max_items) && unique
        }
        Value::Object(map) => within(map.len() as u64, v.min_properties, v.max_properties),
        _ => true,
    }
}

/// The `spec` of the adopt and observe samples of a Resource kind: the id field (its example, else a
/// placeholder) and the required fields, nothing else, so that only those are compared with the
/// adopted object. `None` for other families.
pub fn id_sample_spec_of(model: &Model, crd: &Crd) -> Option<Map<String, Value>> {
    let CrdKind::Resource(ops) = &crd.kind else {
        return None;
    };
    let id_field = ops.id_field.as_deref()?;
    let full = sample_spec(&crd.fields, &model.types);
    let mut out = Map::new();
    for f in &crd.fields {
        let is_id = f.json_name == id_field;
        if !(is_id || f.required) {
            continue;
        }
        let value = full
            .get(&f.json_name)
            .cloned()
            .unwrap_or_else(|| placeholder(&f.ty, f.format.as_deref(), &f.validation, &model.types, 0));
        out.insert(f.json_name.clone(), value);
    }
    Some(out)
}
