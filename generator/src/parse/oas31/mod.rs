//! OpenAPI 3.1 → 3.0.3 down-level on `serde_json::Value`: type arrays, `const`, `examples`, exclusive bounds, `$ref` siblings, `$defs` hoisting; unsupported keywords dropped with a warning.

use serde_json::{Map, Value, json};

use super::walk::{document_schemas, for_each_ref};
use super::{Warning, escape_pointer_token};

/// Keywords with no 3.0 equivalent: dropped, with a warning naming the pointer.
const DROPPED: &[&str] = &[
    "prefixItems",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "dependentSchemas",
    "dependentRequired",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "patternProperties",
    "$dynamicRef",
    "$dynamicAnchor",
];
/// JSON Schema bookkeeping without meaning for code generation: dropped silently.
const SILENT: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "$vocabulary",
    "contentSchema",
];
/// Passes of `$defs` hoisting (nested `$defs` surface one level per pass).
const MAX_HOIST_PASSES: usize = 16;

/// Converts an OpenAPI 3.1 document (its root must be a mapping) to 3.0.3.
pub(super) fn convert(doc: &Map<String, Value>, warnings: &mut Vec<Warning>) -> Value {
    let mut out = Map::new();
    for (key, value) in doc {
        match key.as_str() {
            "openapi" => {
                out.insert(key.clone(), json!("3.0.3"));
            }
            "webhooks" | "jsonSchemaDialect" => {}
            "info" => {
                let mut info = value.clone();
                if let Some(map) = info.as_object_mut() {
                    map.shift_remove("summary");
                    if let Some(Value::Object(license)) = map.get_mut("license") {
                        license.shift_remove("identifier");
                    }
                }
                out.insert(key.clone(), info);
            }
            "components" => {
                let mut components = value.clone();
                if let Some(map) = components.as_object_mut() {
                    map.shift_remove("pathItems");
                    mutual_tls_schemes(map);
                }
                out.insert(key.clone(), components);
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if !out.contains_key("paths") {
        out.insert("paths".into(), json!({}));
    }
    inline_path_items(&mut out, doc.get("components").and_then(|c| c.get("pathItems")));
    let mut out = Value::Object(out);
    hoist_defs(&mut out);
    document_schemas(&mut out, &mut |schema, pointer| {
        down_level(schema, pointer, warnings)
    });
    out
}

/// `mutualTLS` security schemes (3.1 only) become `http` schemes named `mutualTLS`, which 3.0
/// tooling accepts and the classifier maps back (`classify::security`).
fn mutual_tls_schemes(components: &mut Map<String, Value>) {
    let Some(Value::Object(schemes)) = components.get_mut("securitySchemes") else {
        return;
    };
    for scheme in schemes.values_mut() {
        if let Value::Object(map) = scheme
            && map.get("type").and_then(Value::as_str) == Some("mutualTLS")
        {
            map.insert("type".into(), json!("http"));
            map.insert("scheme".into(), json!("mutualTLS"));
        }
    }
}

/// `paths` entries that are `$ref`s to `#/components/pathItems/<name>` (3.1 only) are replaced by the item.
fn inline_path_items(doc: &mut Map<String, Value>, items: Option<&Value>) {
    let (Some(Value::Object(items)), Some(Value::Object(paths))) = (items, doc.get_mut("paths")) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(name) = item
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/pathItems/"))
        else {
            continue;
        };
        let name = name.replace("~1", "/").replace("~0", "~");
        // Only one level: a path item that is itself a `$ref` is left for the ref check to report.
        if let Some(target) = items.get(&name) {
            *item = target.clone();
        }
    }
}

/// Moves every `$defs` entry into `components.schemas` under a unique name and rewrites the refs to it.
fn hoist_defs(doc: &mut Value) {
    for _ in 0..MAX_HOIST_PASSES {
        let mut found: Vec<(String, String, Value)> = Vec::new();
        document_schemas(doc, &mut |schema, pointer| {
            if let Value::Object(map) = schema
                && let Some(Value::Object(defs)) = map.shift_remove("$defs")
            {
                for (name, def) in defs {
                    let at = format!("{pointer}/$defs/{}", escape_pointer_token(&name));
                    found.push((at, name, def));
                }
            }
        });
        if found.is_empty() {
            return;
        }
        let Some(root) = doc.as_object_mut() else { return };
        let components = root.entry("components").or_insert_with(|| json!({}));
        let Some(components) = components.as_object_mut() else {
            return;
        };
        let schemas = components.entry("schemas").or_insert_with(|| json!({}));
        let Some(schemas) = schemas.as_object_mut() else {
            return;
        };
        let mut renames = Vec::new();
        for (at, name, def) in found {
            let mut unique = name.clone();
            let mut n = 2;
            while schemas.contains_key(&unique) {
                unique = format!("{name}{n}");
                n += 1;
            }
            renames.push((
                format!("#{at}"),
                format!("#/components/schemas/{}", escape_pointer_token(&unique)),
            ));
            schemas.insert(unique, def);
        }
        for_each_ref(doc, "", &mut |reference, _| {
            for (from, to) in &renames {
                if let Some(rest) = reference.strip_prefix(from.as_str())
                    && (rest.is_empty() || rest.starts_with('/'))
                {
                    *reference = format!("{to}{rest}");
                    return;
                }
            }
        });
    }
}

fn is_null_schema(v: &Value) -> bool {
    let Value::Object(map) = v else { return false };
    let null_type = match map.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => !ts.is_empty() && ts.iter().all(|t| t == "null"),
        _ => false,
    };
    null_type
        && map
            .keys()
            .all(|k| matches!(k.as_str(), "type" | "title" | "description"))
}

/// The rules for one schema node (children are visited afterwards by the walker).
fn down_level(schema: &mut Value, pointer: &str, warnings: &mut Vec<Warning>) {
    let Value::Object(map) = schema else { return };
    // anyOf/oneOf with a `{type: null}` branch → nullable; a single remaining branch is merged in place.
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = map.get(key) else {
            continue;
        };
        if !branches.iter().any(is_null_schema) {
            continue;
        }
        let rest: Vec<Value> = branches.iter().filter(|b| !is_null_schema(b)).cloned().collect();
        match rest.as_slice() {
            [] => {
                map.shift_remove(key);
            }
            [Value::Object(only)] if only.contains_key("$ref") => {
                splice(
                    map,
                    key,
                    [("allOf".to_owned(), json!([only]))].into_iter().collect(),
                );
            }
            [Value::Object(only)] if only.keys().all(|k| !map.contains_key(k)) => {
                splice(map, key, only.clone());
            }
            _ => {
                map.insert(key.into(), Value::Array(rest));
            }
        }
        map.insert("nullable".into(), Value::Bool(true));
    }
    for key in DROPPED {
        if map.shift_remove(*key).is_some() {
            warnings.push(Warning {
                pointer: format!("{pointer}/{}", escape_pointer_token(key)),
                message: format!("`{key}` has no OpenAPI 3.0 equivalent and was dropped"),
            });
        }
    }
    for key in SILENT {
        map.shift_remove(*key);
    }
    // `$ref` with siblings → allOf + siblings.
    if map.len() > 1
        && let Some(reference) = map.shift_remove("$ref")
    {
        let mut all_of = vec![json!({ "$ref": reference })];
        if let Some(Value::Array(existing)) = map.shift_remove("allOf") {
            all_of.extend(existing);
        }
        map.insert("allOf".into(), Value::Array(all_of));
    }
    type_rules(map);
    if !map.contains_key("enum")
        && let Some(value) = map.get("const").cloned()
    {
        splice(
            map,
            "const",
            [("enum".to_owned(), json!([value]))].into_iter().collect(),
        );
    }
    if !map.contains_key("example")
        && let Some(Value::Array(examples)) = map.get("examples")
    {
        let first = examples.first().cloned();
        match first {
            Some(first) => splice(
                map,
                "examples",
                [("example".to_owned(), first)].into_iter().collect(),
            ),
            None => {
                map.shift_remove("examples");
            }
        }
    }
    map.shift_remove("const");
    map.shift_remove("examples");
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(Value::Number(limit)) = map.get(exclusive).cloned() {
            map.insert(bound.into(), Value::Number(limit));
            map.insert(exclusive.into(), Value::Bool(true));
        }
    }
    let encoding = map.shift_remove("contentEncoding");
    let media = map.shift_remove("contentMediaType");
    if !map.contains_key("format") {
        if encoding.as_ref().and_then(Value::as_str) == Some("base64") {
            map.insert("format".into(), json!("byte"));
        } else if let Some(media) = media.as_ref().and_then(Value::as_str)
            && !media.starts_with("text/")
            && !media.contains("json")
        {
            map.insert("format".into(), json!("binary"));
        }
    }
}

/// `type` arrays: `"null"` → `nullable`; one type left → plain; several → `anyOf` of single-type schemas.
fn type_rules(map: &mut Map<String, Value>) {
    let types: Vec<String> = match map.get("type") {
        Some(Value::String(t)) if t == "null" => Vec::new(),
        Some(Value::String(_)) | None => return,
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .filter(|t| t != "null")
            .collect(),
        Some(_) => return,
    };
    let had_null = match map.get("type") {
        Some(Value::String(_)) => true,
        Some(Value::Array(list)) => list.iter().any(|t| t == "null"),
        _ => false,
    };
    match types.as_slice() {
        [] => {
            map.shift_remove("type");
        }
        [only] => {
            map.insert("type".into(), json!(only));
        }
        several => {
            let branches: Vec<Value> = several.iter().map(|t| json!({ "type": t })).collect();
            splice(
                map,
                "type",
                [("anyOf".to_owned(), Value::Array(branches))]
                    .into_iter()
                    .collect(),
            );
        }
    }
    if had_null {
        map.insert("nullable".into(), Value::Bool(true));
    }
}

/// Replaces `key` by `entries` at the same position (entries whose key already exists are skipped).
fn splice(map: &mut Map<String, Value>, key: &str, entries: Map<String, Value>) {
    let taken = std::mem::take(map);
    let mut entries = Some(entries);
    for (k, v) in taken {
        if k == key {
            for (nk, nv) in entries.take().into_iter().flatten() {
                map.entry(nk).or_insert(nv);
            }
        } else {
            map.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests;
