//! Unit tests of the Swagger 2.0 → OpenAPI 3.0 converter, one per conversion rule.

use serde_json::{Value, json};

use super::*;

fn run(doc: Value) -> (Value, Vec<Warning>) {
    let mut warnings = Vec::new();
    let out = convert("s.yaml", doc.as_object().unwrap(), &mut warnings).unwrap();
    (out, warnings)
}

fn with_op(op: Value) -> Value {
    json!({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"post": op}}})
}

#[test]
fn version_and_servers() {
    let (out, _) = run(
        json!({"swagger": "2.0", "info": {}, "host": "h.io", "basePath": "/v2",
        "schemes": ["https", "http"], "paths": {}}),
    );
    assert_eq!(out["openapi"], "3.0.3");
    assert!(out.get("swagger").is_none());
    assert_eq!(
        out["servers"],
        json!([{"url": "https://h.io/v2"}, {"url": "http://h.io/v2"}])
    );
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["openapi", "info", "servers", "paths"]);
}

#[test]
fn servers_default_to_http_and_are_relative_without_host() {
    let (out, _) = run(json!({"swagger": "2.0", "info": {}, "host": "h.io", "paths": {}}));
    assert_eq!(out["servers"], json!([{"url": "http://h.io"}]));
    let (out, _) = run(json!({"swagger": "2.0", "info": {}, "basePath": "/api", "paths": {}}));
    assert_eq!(out["servers"], json!([{"url": "/api"}]));
    let (out, _) = run(json!({"swagger": "2.0", "info": {}, "paths": {}}));
    assert!(out.get("servers").is_none());
}

#[test]
fn definitions_parameters_responses_move_to_components_and_refs_follow() {
    let (out, _) = run(json!({"swagger": "2.0", "info": {}, "paths": {"/a": {"get": {
            "parameters": [{"$ref": "#/parameters/Limit"}],
            "responses": {"200": {"$ref": "#/responses/Ok"}}}}},
        "definitions": {"A": {"type": "object", "properties": {"b": {"$ref": "#/definitions/B"}}}, "B": {}},
        "parameters": {"Limit": {"name": "limit", "in": "query", "type": "integer"}},
        "responses": {"Ok": {"description": "ok", "schema": {"$ref": "#/definitions/A"}}}}));
    let c = &out["components"];
    assert_eq!(
        c["schemas"]["A"]["properties"]["b"]["$ref"],
        "#/components/schemas/B"
    );
    assert_eq!(c["parameters"]["Limit"]["schema"], json!({"type": "integer"}));
    assert_eq!(
        c["responses"]["Ok"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/A"
    );
    let op = &out["paths"]["/a"]["get"];
    assert_eq!(op["parameters"][0]["$ref"], "#/components/parameters/Limit");
    assert_eq!(op["responses"]["200"]["$ref"], "#/components/responses/Ok");
}

#[test]
fn body_param_becomes_request_body_per_consumes_unwrapped() {
    let (out, _) = run(with_op(
        json!({"consumes": ["application/json", "application/xml"],
        "parameters": [{"in": "body", "name": "body", "description": "d", "required": true,
            "schema": {"$ref": "#/definitions/Pet"}}],
        "responses": {"200": {"description": "ok"}}}),
    ));
    let op = &out["paths"]["/a"]["post"];
    assert!(op.get("parameters").is_none());
    assert!(op.get("consumes").is_none());
    assert_eq!(
        op["requestBody"],
        json!({"description": "d", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}},
            "application/xml": {"schema": {"$ref": "#/components/schemas/Pet"}}}, "required": true})
    );
}

#[test]
fn global_consumes_apply_and_operation_overrides() {
    let mut doc =
        with_op(json!({"parameters": [{"in": "body", "name": "b", "schema": {}}], "responses": {}}));
    doc["consumes"] = json!(["text/plain"]);
    let (out, _) = run(doc.clone());
    assert!(out["paths"]["/a"]["post"]["requestBody"]["content"]["text/plain"].is_object());
    doc["paths"]["/a"]["post"]["consumes"] = json!(["application/yaml"]);
    let (out, _) = run(doc);
    let content = out["paths"]["/a"]["post"]["requestBody"]["content"]
        .as_object()
        .unwrap();
    assert_eq!(content.keys().collect::<Vec<_>>(), ["application/yaml"]);
}

#[test]
fn body_param_without_schema_is_an_error() {
    let doc = with_op(json!({"parameters": [{"in": "body", "name": "b"}], "responses": {}}));
    let err = convert("s.yaml", doc.as_object().unwrap(), &mut Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "s.yaml#/paths/~1a/post/parameters/0: invalid spec: body parameter has no `schema`"
    );
}

#[test]
fn form_data_becomes_urlencoded_or_multipart_object() {
    let params = json!([
        {"name": "name", "in": "formData", "type": "string", "required": true, "description": "n"},
        {"name": "age", "in": "formData", "type": "integer", "format": "int32"}]);
    let (out, _) = run(with_op(json!({"parameters": params, "responses": {}})));
    assert_eq!(
        out["paths"]["/a"]["post"]["requestBody"],
        json!({"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object",
            "properties": {"name": {"type": "string", "description": "n"},
                           "age": {"type": "integer", "format": "int32"}},
            "required": ["name"]}}}})
    );
    let params = json!([{"name": "file", "in": "formData", "type": "file"}]);
    let (out, _) = run(with_op(json!({"parameters": params, "responses": {}})));
    assert_eq!(
        out["paths"]["/a"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["file"],
        json!({"type": "string", "format": "binary"})
    );
    let params = json!([{"name": "x", "in": "formData", "type": "string"}]);
    let (out, _) = run(with_op(
        json!({"consumes": ["multipart/form-data"], "parameters": params, "responses": {}}),
    ));
    assert!(out["paths"]["/a"]["post"]["requestBody"]["content"]["multipart/form-data"].is_object());
}

#[test]
fn non_body_params_get_a_schema() {
    let (out, _) = run(with_op(
        json!({"parameters": [{"name": "id", "in": "path", "required": true,
        "description": "d", "type": "integer", "format": "int64", "minimum": 1, "maximum": 10,
        "x-nullable": true}], "responses": {}}),
    ));
    assert_eq!(
        out["paths"]["/a"]["post"]["parameters"][0],
        json!({"name": "id", "in": "path", "required": true, "description": "d",
            "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 10, "nullable": true}})
    );
}

#[test]
fn collection_formats_map_to_style_and_explode() {
    let cases = [
        (Some("csv"), json!("form"), json!(false)),
        (None, json!("form"), json!(false)),
        (Some("multi"), json!("form"), json!(true)),
        (Some("pipes"), json!("pipeDelimited"), json!(false)),
        (Some("ssv"), json!("spaceDelimited"), json!(false)),
    ];
    for (format, style, explode) in cases {
        let mut p = json!({"name": "s", "in": "query", "type": "array", "items": {"type": "string",
            "collectionFormat": "csv"}});
        if let Some(f) = format {
            p["collectionFormat"] = json!(f);
        }
        let (out, _) = run(with_op(json!({"parameters": [p], "responses": {}})));
        let param = &out["paths"]["/a"]["post"]["parameters"][0];
        assert_eq!(
            (&param["style"], &param["explode"]),
            (&style, &explode),
            "{format:?}"
        );
        assert_eq!(param["schema"]["items"], json!({"type": "string"}));
    }
    let (out, warnings) = run(with_op(json!({"parameters": [
        {"name": "h", "in": "header", "type": "array", "items": {"type": "string"}},
        {"name": "t", "in": "query", "type": "array", "collectionFormat": "tsv", "items": {}}],
        "responses": {}})));
    assert!(out["paths"]["/a"]["post"]["parameters"][0].get("style").is_none());
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].pointer,
        "/paths/~1a/post/parameters/1/collectionFormat"
    );
}

#[test]
fn responses_get_content_per_produces_and_headers_get_schemas() {
    let mut doc = with_op(json!({"responses": {"200": {"description": "ok",
        "schema": {"type": "string"}, "examples": {"application/json": "x"},
        "headers": {"X-Rate": {"type": "integer", "description": "r"}}}, "404": {}}}));
    doc["produces"] = json!(["application/json", "application/xml"]);
    let (out, _) = run(doc);
    let r = &out["paths"]["/a"]["post"]["responses"];
    assert_eq!(
        r["200"],
        json!({"description": "ok", "content": {
            "application/json": {"schema": {"type": "string"}, "example": "x"},
            "application/xml": {"schema": {"type": "string"}}},
            "headers": {"X-Rate": {"description": "r", "schema": {"type": "integer"}}}})
    );
    assert_eq!(r["404"], json!({"description": ""}));
}

#[test]
fn path_level_parameters_are_merged() {
    let (out, _) = run(json!({"swagger": "2.0", "info": {}, "paths": {"/a/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": true, "type": "string"},
                       {"name": "b", "in": "body", "schema": {"type": "object"}}],
        "put": {"responses": {}},
        "post": {"parameters": [{"name": "b", "in": "body", "schema": {"type": "string"}}], "responses": {}}}}}));
    let item = &out["paths"]["/a/{id}"];
    assert_eq!(
        item["parameters"],
        json!([{"name": "id", "in": "path", "required": true,
        "schema": {"type": "string"}}])
    );
    assert_eq!(
        item["put"]["requestBody"]["content"]["application/json"]["schema"]["type"],
        "object"
    );
    assert_eq!(
        item["post"]["requestBody"]["content"]["application/json"]["schema"]["type"],
        "string"
    );
}

#[test]
fn body_params_referenced_from_global_parameters_are_inlined() {
    let (out, _) = run(json!({"swagger": "2.0", "info": {}, "paths": {"/a": {"post": {
        "parameters": [{"$ref": "#/parameters/Body"}], "responses": {}}}},
        "parameters": {"Body": {"name": "b", "in": "body", "schema": {"$ref": "#/definitions/X"}}},
        "definitions": {"X": {}}}));
    assert_eq!(
        out["paths"]["/a"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/X"
    );
    assert!(out["components"].get("parameters").is_none());
}

#[test]
fn security_definitions_become_schemes() {
    let (out, _) = run(
        json!({"swagger": "2.0", "info": {}, "paths": {}, "securityDefinitions": {
        "basic": {"type": "basic"},
        "key": {"type": "apiKey", "name": "k", "in": "header"},
        "imp": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "https://a", "scopes": {"r": "read"}},
        "pw": {"type": "oauth2", "flow": "password", "tokenUrl": "https://t", "scopes": {}},
        "app": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t", "scopes": {}},
        "code": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a",
                 "tokenUrl": "https://t", "scopes": {}}}}),
    );
    let s = &out["components"]["securitySchemes"];
    assert_eq!(s["basic"], json!({"type": "http", "scheme": "basic"}));
    assert_eq!(s["key"], json!({"type": "apiKey", "name": "k", "in": "header"}));
    assert_eq!(
        s["imp"]["flows"]["implicit"],
        json!({"authorizationUrl": "https://a", "scopes": {"r": "read"}})
    );
    assert_eq!(s["pw"]["flows"]["password"]["tokenUrl"], "https://t");
    assert_eq!(s["app"]["flows"]["clientCredentials"]["tokenUrl"], "https://t");
    assert_eq!(
        s["code"]["flows"]["authorizationCode"]["authorizationUrl"],
        "https://a"
    );
}

#[test]
fn schema_rules_nullable_read_only_file_discriminator() {
    let (out, _) = run(json!({"swagger": "2.0", "info": {}, "paths": {}, "definitions": {
        "A": {"type": "object", "discriminator": "kind", "properties": {
            "n": {"type": "string", "x-nullable": true, "readOnly": true},
            "f": {"type": "file"},
            "l": {"type": "array", "items": {"type": "integer", "x-nullable": true}}}}}}));
    let a = &out["components"]["schemas"]["A"];
    assert_eq!(a["discriminator"], json!({"propertyName": "kind"}));
    assert_eq!(
        a["properties"]["n"],
        json!({"type": "string", "nullable": true, "readOnly": true})
    );
    assert_eq!(
        a["properties"]["f"],
        json!({"type": "string", "format": "binary"})
    );
    assert_eq!(a["properties"]["l"]["items"]["nullable"], true);
}

#[test]
fn paths_must_be_a_mapping() {
    let doc = json!({"swagger": "2.0", "info": {}, "paths": []});
    let err = convert("s.yaml", doc.as_object().unwrap(), &mut Vec::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "s.yaml#/paths: invalid spec: expected a mapping of paths"
    );
}
