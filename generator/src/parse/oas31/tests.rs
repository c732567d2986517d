//! Unit tests of the OpenAPI 3.1 → 3.0 down-level pass, one per rule.

use serde_json::{Value, json};

use super::*;

fn run(doc: Value) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let out = convert(doc.as_object().unwrap(), &mut warnings);
    (out, warnings)
}

/// Down-levels one component schema `S`.
fn schema(s: Value) -> Value {
    let (out, _) = run(json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {"S": s}}}));
    out["components"]["schemas"]["S"].clone()
}

#[test]
fn document_level_rules() {
    let (out, _) = run(json!({"openapi": "3.1.0", "jsonSchemaDialect": "x",
        "info": {"title": "t", "summary": "s", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}},
        "webhooks": {"w": {}}, "components": {"pathItems": {}}}));
    assert_eq!(
        out,
        json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1", "license": {"name": "MIT"}},
            "components": {}, "paths": {}})
    );
}

#[test]
fn type_array_with_null_becomes_nullable() {
    assert_eq!(
        schema(json!({"type": ["string", "null"]})),
        json!({"nullable": true, "type": "string"})
    );
    assert_eq!(schema(json!({"type": ["integer"]})), json!({"type": "integer"}));
}

#[test]
fn several_types_become_any_of() {
    assert_eq!(
        schema(json!({"type": ["integer", "string", "null"]})),
        json!({"nullable": true, "anyOf": [{"type": "integer"}, {"type": "string"}]})
    );
}

#[test]
fn null_type_alone_is_free_form_nullable() {
    assert_eq!(schema(json!({"type": "null"})), json!({"nullable": true}));
}

#[test]
fn any_of_with_null_branch_is_collapsed() {
    assert_eq!(
        schema(json!({"anyOf": [{"type": "string"}, {"type": "null"}], "title": "T"})),
        json!({"title": "T", "nullable": true, "type": "string"})
    );
    assert_eq!(
        schema(json!({"anyOf": [{"$ref": "#/components/schemas/S"}, {"type": "null"}]})),
        json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/S"}]})
    );
    assert_eq!(
        schema(json!({"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]})),
        json!({"oneOf": [{"type": "string"}, {"type": "integer"}], "nullable": true})
    );
}

#[test]
fn merged_branches_are_down_levelled_too() {
    assert_eq!(
        schema(
            json!({"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}], "title": "L"})
        ),
        json!({"type": "integer", "exclusiveMinimum": true, "title": "L", "nullable": true, "minimum": 0})
    );
}

#[test]
fn const_becomes_single_enum() {
    assert_eq!(schema(json!({"const": "a"})), json!({"enum": ["a"]}));
}

#[test]
fn examples_become_example() {
    assert_eq!(
        schema(json!({"type": "string", "examples": ["a", "b"]})),
        json!({"type": "string", "example": "a"})
    );
}

#[test]
fn numeric_exclusive_bounds_become_boolean_flags() {
    assert_eq!(
        schema(json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10})),
        json!({"type": "number", "exclusiveMinimum": true, "minimum": 0, "exclusiveMaximum": true, "maximum": 10})
    );
}

#[test]
fn ref_with_siblings_becomes_all_of() {
    assert_eq!(
        schema(json!({"$ref": "#/components/schemas/S", "description": "d"})),
        json!({"description": "d", "allOf": [{"$ref": "#/components/schemas/S"}]})
    );
    assert_eq!(
        schema(json!({"$ref": "#/components/schemas/S"})),
        json!({"$ref": "#/components/schemas/S"})
    );
}

#[test]
fn defs_are_hoisted_with_unique_names_and_refs_rewritten() {
    let (out, _) = run(json!({"openapi": "3.1.0", "components": {"schemas": {
        "A": {"properties": {"b": {"$ref": "#/components/schemas/A/$defs/B"}},
              "$defs": {"B": {"type": "object", "properties": {"c": {"$ref": "#/components/schemas/A/$defs/B/$defs/C"}},
                              "$defs": {"C": {"type": "string"}}}}},
        "B": {"type": "integer"}}}}));
    let schemas = &out["components"]["schemas"];
    assert_eq!(
        schemas["A"],
        json!({"properties": {"b": {"$ref": "#/components/schemas/B2"}}})
    );
    assert_eq!(schemas["B"], json!({"type": "integer"}));
    assert_eq!(schemas["B2"]["properties"]["c"]["$ref"], "#/components/schemas/C");
    assert_eq!(schemas["C"], json!({"type": "string"}));
}

#[test]
fn content_encoding_and_media_type_become_formats() {
    assert_eq!(
        schema(json!({"type": "string", "contentEncoding": "base64"})),
        json!({"type": "string", "format": "byte"})
    );
    assert_eq!(
        schema(json!({"type": "string", "contentMediaType": "image/png"})),
        json!({"type": "string", "format": "binary"})
    );
    assert_eq!(
        schema(json!({"type": "string", "contentMediaType": "text/plain"})),
        json!({"type": "string"})
    );
}

#[test]
fn unsupported_keywords_are_dropped_with_a_warning() {
    let (out, warnings) = run(json!({"openapi": "3.1.0", "components": {"schemas": {"S": {
        "type": "array", "prefixItems": [{"type": "string"}],
        "properties": {"p": {"if": {}, "then": {}, "else": {}, "unevaluatedProperties": false,
            "dependentSchemas": {}, "$schema": "x"}}}}}}));
    assert_eq!(
        out["components"]["schemas"]["S"],
        json!({"type": "array", "properties": {"p": {}}})
    );
    let pointers: Vec<&str> = warnings.iter().map(|w| w.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/components/schemas/S/prefixItems",
            "/components/schemas/S/properties/p/if",
            "/components/schemas/S/properties/p/then",
            "/components/schemas/S/properties/p/else",
            "/components/schemas/S/properties/p/unevaluatedProperties",
            "/components/schemas/S/properties/p/dependentSchemas",
        ]
    );
}

#[test]
fn rules_apply_to_parameters_bodies_and_responses() {
    let (out, _) = run(json!({"openapi": "3.1.0", "paths": {"/a": {"post": {
        "parameters": [{"name": "q", "in": "query", "schema": {"type": ["string", "null"]}}],
        "requestBody": {"content": {"application/json": {"schema": {"properties": {"x": {"const": 1}}}}}},
        "responses": {"200": {"description": "ok", "headers": {"H": {"schema": {"examples": [1]}}},
            "content": {"application/json": {"schema": {"items": {"type": ["integer", "null"]}}}}}}}}}}));
    let op = &out["paths"]["/a"]["post"];
    assert_eq!(op["parameters"][0]["schema"]["nullable"], true);
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["properties"]["x"],
        json!({"enum": [1]})
    );
    assert_eq!(
        op["responses"]["200"]["headers"]["H"]["schema"],
        json!({"example": 1})
    );
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["items"],
        json!({"nullable": true, "type": "integer"})
    );
}

#[test]
fn path_item_components_are_inlined() {
    let (out, _) = run(json!({"openapi": "3.1.0",
        "paths": {"/a": {"$ref": "#/components/pathItems/A"}},
        "components": {"pathItems": {"A": {"get": {"responses": {}}}}}}));
    assert_eq!(out["paths"]["/a"], json!({"get": {"responses": {}}}));
    assert!(out["components"].get("pathItems").is_none());
}

#[test]
fn mutual_tls_schemes_become_http_mutual_tls() {
    let (out, warnings) = run(
        json!({"openapi": "3.1.0", "paths": {}, "components": {"securitySchemes": {
        "mtls": {"type": "mutualTLS", "description": "client certificates"},
        "key": {"type": "apiKey", "in": "header", "name": "k"}}}}),
    );
    assert!(warnings.is_empty());
    assert_eq!(
        out["components"]["securitySchemes"],
        json!({"mtls": {"type": "http", "description": "client certificates", "scheme": "mutualTLS"},
               "key": {"type": "apiKey", "in": "header", "name": "k"}})
    );
}
