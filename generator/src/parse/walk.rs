//! Tree walks shared by the input converters: every schema of an OpenAPI 3.x-shaped document (with nested sub-schemas) and every `$ref` string.

use serde_json::{Map, Value};

use super::escape_pointer_token;

/// Deepest nesting walked (deeper input is left as is; parsers bound depth too).
const MAX_DEPTH: usize = 200;

/// Keywords whose value is one sub-schema (or, for `items`, possibly a list of them).
const SINGLE: &[&str] = &[
    "items",
    "additionalProperties",
    "additionalItems",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
];
/// Keywords whose value is a list of sub-schemas.
const LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to sub-schemas.
const MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Objects whose keys are names chosen by the spec author (any key may appear in them).
const NAMED_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "responses",
    "schemas",
    "definitions",
    "$defs",
    "parameters",
    "requestBodies",
    "headers",
    "examples",
    "securitySchemes",
    "securityDefinitions",
    "links",
    "callbacks",
    "content",
    "encoding",
    "variables",
    "mapping",
    "dependentSchemas",
];

/// A callback applied to one schema node with its JSON pointer.
pub(super) type Visit<'f> = dyn FnMut(&mut Value, &str) + 'f;

/// Appends `/token` (escaped as a JSON-pointer token) to `pointer`.
pub(super) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    if token.contains(['~', '/']) {
        pointer.push_str(&escape_pointer_token(token));
    } else {
        pointer.push_str(token);
    }
}

/// Appends `/index` to `pointer`.
pub(super) fn push_index(pointer: &mut String, index: usize) {
    use std::fmt::Write as _;
    // Writing into a String cannot fail.
    let _ = write!(pointer, "/{index}");
}

/// Applies `f` to `schema` (pre-order: `f` may rewrite the node) and then to every nested sub-schema.
/// `pointer` is the node's JSON pointer; it is extended for the children and restored on return.
fn visit_at(schema: &mut Value, pointer: &mut String, depth: usize, f: &mut Visit<'_>) {
    if depth > MAX_DEPTH {
        return;
    }
    f(schema, pointer);
    let Value::Object(map) = schema else { return };
    let len = pointer.len();
    for (key, child) in map.iter_mut() {
        let key = key.as_str();
        if SINGLE.contains(&key) {
            push_token(pointer, key);
            match child {
                Value::Object(_) => visit_at(child, pointer, depth + 1, f),
                Value::Array(items) => {
                    let here = pointer.len();
                    for (i, item) in items.iter_mut().enumerate() {
                        push_index(pointer, i);
                        visit_at(item, pointer, depth + 1, f);
                        pointer.truncate(here);
                    }
                }
                _ => {}
            }
        } else if LISTS.contains(&key) {
            push_token(pointer, key);
            if let Value::Array(items) = child {
                let here = pointer.len();
                for (i, item) in items.iter_mut().enumerate() {
                    push_index(pointer, i);
                    visit_at(item, pointer, depth + 1, f);
                    pointer.truncate(here);
                }
            }
        } else if MAPS.contains(&key)
            && let Value::Object(entries) = child
        {
            push_token(pointer, key);
            let here = pointer.len();
            for (name, item) in entries.iter_mut() {
                push_token(pointer, name);
                visit_at(item, pointer, depth + 1, f);
                pointer.truncate(here);
            }
        }
        pointer.truncate(len);
    }
}

/// Applies [`visit_schema`] to every schema of an OpenAPI 3.x document: `components.schemas` entries
/// and every `schema` of parameters, headers and media types (examples and extensions are skipped).
pub(super) fn document_schemas(doc: &mut Value, f: &mut Visit<'_>) {
    walk_document(doc, &mut String::new(), 0, f);
}

fn walk_document(node: &mut Value, pointer: &mut String, depth: usize, f: &mut Visit<'_>) {
    if depth > MAX_DEPTH {
        return;
    }
    let len = pointer.len();
    match node {
        Value::Object(map) => {
            let at_components = pointer == "/components";
            for (key, child) in map.iter_mut() {
                match key.as_str() {
                    "example" | "examples" => continue,
                    k if k.starts_with("x-") => continue,
                    _ => {}
                }
                push_token(pointer, key);
                match key.as_str() {
                    "schema" => visit_at(child, pointer, 0, f),
                    "schemas" if at_components => {
                        if let Value::Object(entries) = child {
                            let here = pointer.len();
                            for (name, schema) in entries.iter_mut() {
                                push_token(pointer, name);
                                visit_at(schema, pointer, 0, f);
                                pointer.truncate(here);
                            }
                        }
                    }
                    _ => walk_document(child, pointer, depth + 1, f),
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                push_index(pointer, i);
                walk_document(item, pointer, depth + 1, f);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// Whether `key`, a member of the object at `pointer`, holds literal data (examples, defaults, enum
/// values) rather than OpenAPI structure: a `$ref` in there is data, not a reference.
pub(super) fn is_literal(pointer: &str, key: &str, value: &Value) -> bool {
    let mut tokens = pointer.rsplit('/');
    let parent = tokens.next().unwrap_or("");
    if NAMED_MAPS.contains(&parent) {
        // An entry that happens to be named `default`, `example`, ... (a property, the default response).
        return false;
    }
    match key {
        "example" | "default" | "enum" | "const" => true,
        "examples" => value.is_array(),
        "value" => tokens.next() == Some("examples"),
        _ => false,
    }
}

/// Whether the object member `key: value` is a reference (`$ref` with a string, outside `properties`).
pub(super) fn is_reference(pointer: &str, key: &str, value: &Value) -> bool {
    key == "$ref" && value.is_string() && !pointer.ends_with("/properties")
}

/// Calls `f` with the pointer of every object holding a string `$ref` and a mutable reference to that
/// string (literal data such as examples is skipped, see [`is_literal`]), in document order.
pub(super) fn for_each_ref(node: &mut Value, pointer: &str, f: &mut dyn FnMut(&mut String, &str)) {
    // One pointer buffer, extended and truncated on the way (no string per node). The recursion
    // is as deep as the document, which the parsers bound (and dropping a `Value` recurses too).
    fn walk(node: &mut Value, here: &mut String, f: &mut dyn FnMut(&mut String, &str)) {
        let len = here.len();
        match node {
            Value::Object(map) => {
                let is_ref = map.get("$ref").is_some_and(|r| is_reference(here, "$ref", r));
                if is_ref && let Some(Value::String(reference)) = map.get_mut("$ref") {
                    f(reference, here);
                }
                for (key, child) in map.iter_mut() {
                    let skip = (is_ref && key == "$ref") || is_literal(here, key, child);
                    if !skip {
                        push_token(here, key);
                        walk(child, here, f);
                        here.truncate(len);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    push_index(here, i);
                    walk(child, here, f);
                    here.truncate(len);
                }
            }
            _ => {}
        }
    }
    walk(node, &mut pointer.to_owned(), f);
}

/// Renames `old` to `new` in place (keeping the key's position); `new` must not exist yet.
pub(super) fn rename_key(map: &mut Map<String, Value>, old: &str, new: &str) {
    if !map.contains_key(old) || map.contains_key(new) {
        return;
    }
    let taken = std::mem::take(map);
    for (key, value) in taken {
        if key == old {
            map.insert(new.to_owned(), value);
        } else {
            map.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_schema_position_is_visited() {
        let mut doc = json!({
            "paths": {"/a": {"get": {"parameters": [{"schema": {"type": "string"}}],
                "responses": {"200": {"content": {"application/json": {"schema": {
                    "type": "array", "items": {"properties": {"p": {"allOf": [{"type": "integer"}]}}}}}}}}}}},
            "components": {"schemas": {"A": {"type": "object", "additionalProperties": {"type": "boolean"}}}},
            "x-ext": {"schema": {"type": "x"}}
        });
        let mut seen = Vec::new();
        document_schemas(&mut doc, &mut |_, p| seen.push(p.to_owned()));
        assert_eq!(
            seen,
            [
                "/paths/~1a/get/parameters/0/schema",
                "/paths/~1a/get/responses/200/content/application~1json/schema",
                "/paths/~1a/get/responses/200/content/application~1json/schema/items",
                "/paths/~1a/get/responses/200/content/application~1json/schema/items/properties/p",
                "/paths/~1a/get/responses/200/content/application~1json/schema/items/properties/p/allOf/0",
                "/components/schemas/A",
                "/components/schemas/A/additionalProperties",
            ]
        );
    }

    #[test]
    fn refs_are_found_and_rewritten() {
        let mut doc = json!({"a": [{"$ref": "x"}], "b": {"$ref": "y", "c": {"$ref": "z"}}});
        let mut seen = Vec::new();
        for_each_ref(&mut doc, "", &mut |r, p| {
            seen.push(format!("{p}={r}"));
            r.push('!');
        });
        assert_eq!(seen, ["/a/0=x", "/b=y", "/b/c=z"]);
        assert_eq!(doc["b"]["c"]["$ref"], "z!");
    }

    #[test]
    fn refs_in_literal_data_and_properties_named_ref_are_not_references() {
        let mut doc = json!({
            "example": {"$ref": "a"},
            "components": {"examples": {"E": {"value": {"$ref": "b"}}}},
            "s": {"enum": [{"$ref": "c"}], "default": {"$ref": "d"}, "examples": [{"$ref": "e"}],
                  "properties": {"$ref": {"type": "string"}, "default": {"$ref": "f"}}},
            "m": {"examples": {"x": {"$ref": "g"}}},
            "responses": {"default": {"$ref": "h"}}
        });
        let mut seen = Vec::new();
        for_each_ref(&mut doc, "", &mut |r, _| seen.push(r.clone()));
        assert_eq!(seen, ["f", "g", "h"]);
    }

    #[test]
    fn rename_keeps_position() {
        let mut map = json!({"a": 1, "x-nullable": true, "c": 3});
        rename_key(map.as_object_mut().unwrap(), "x-nullable", "nullable");
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"a":1,"nullable":true,"c":3}"#
        );
    }
}
