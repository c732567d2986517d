//! Swagger 2.0 → OpenAPI 3.0 object conversions: parameter/header schemas, form bodies, responses, security schemes.

use serde_json::{Map, Value, json};

use super::{Resolved, SCHEMA_KEYS};

/// The schema of a non-body parameter or header (nested `items` lose `collectionFormat`).
pub(super) fn param_schema(map: &Map<String, Value>) -> Value {
    let mut schema = Map::new();
    for (key, value) in map {
        if SCHEMA_KEYS.contains(&key.as_str()) {
            let value = match (key.as_str(), value) {
                ("items", Value::Object(items)) => param_schema(items),
                _ => value.clone(),
            };
            schema.insert(key.clone(), value);
        }
    }
    Value::Object(schema)
}

/// `formData` parameters → one object schema; multipart when a file is uploaded or `consumes` says so.
pub(super) fn form_body(form: &[&Resolved], consumes: &[String]) -> Value {
    let has_file = form
        .iter()
        .any(|p| p.value.get("type").and_then(Value::as_str) == Some("file"));
    let media = if has_file || consumes.iter().any(|c| c.starts_with("multipart/form-data")) {
        "multipart/form-data"
    } else {
        "application/x-www-form-urlencoded"
    };
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in form {
        let Value::Object(map) = &p.value else { continue };
        let Some(name) = map.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut schema = match param_schema(map) {
            Value::Object(s) => s,
            _ => Map::new(),
        };
        if let Some(d) = map.get("description") {
            schema.insert("description".into(), d.clone());
        }
        properties.insert(name.to_owned(), Value::Object(schema));
        if map.get("required") == Some(&Value::Bool(true)) {
            required.push(json!(name));
        }
    }
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    json!({ "content": { media: { "schema": schema } } })
}

pub(super) fn response(r: &Value, produces: &[String]) -> Value {
    let Value::Object(map) = r else { return r.clone() };
    if map.contains_key("$ref") {
        return r.clone();
    }
    let mut out = Map::new();
    out.insert(
        "description".into(),
        map.get("description").cloned().unwrap_or_else(|| json!("")),
    );
    for (key, value) in map {
        match key.as_str() {
            "description" | "examples" => {}
            "schema" => {
                let examples = map.get("examples");
                let content: Map<String, Value> = produces
                    .iter()
                    .map(|mt| {
                        let mut media = Map::new();
                        media.insert("schema".into(), value.clone());
                        if let Some(example) = examples.and_then(|e| e.get(mt)) {
                            media.insert("example".into(), example.clone());
                        }
                        (mt.clone(), Value::Object(media))
                    })
                    .collect();
                out.insert("content".into(), Value::Object(content));
            }
            "headers" => {
                let Value::Object(headers) = value else { continue };
                let converted = headers.iter().map(|(n, h)| (n.clone(), header(h))).collect();
                out.insert(key.clone(), Value::Object(converted));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

fn header(h: &Value) -> Value {
    let Value::Object(map) = h else { return h.clone() };
    let mut out = Map::new();
    for (key, value) in map {
        if !SCHEMA_KEYS.contains(&key.as_str()) && key != "collectionFormat" {
            out.insert(key.clone(), value.clone());
        }
    }
    out.insert("schema".into(), param_schema(map));
    Value::Object(out)
}

/// `securityDefinitions` entry → `securitySchemes` entry (basic → http/basic, oauth2 flows mapped).
pub(super) fn security(s: &Value) -> Value {
    let Value::Object(map) = s else { return s.clone() };
    let description = map.get("description");
    let mut out = Map::new();
    match map.get("type").and_then(Value::as_str) {
        Some("basic") => {
            out.insert("type".into(), json!("http"));
            out.insert("scheme".into(), json!("basic"));
        }
        Some("oauth2") => {
            out.insert("type".into(), json!("oauth2"));
            let scopes = map.get("scopes").cloned().unwrap_or_else(|| json!({}));
            let mut flow = Map::new();
            let (name, keys): (&str, &[&str]) = match map.get("flow").and_then(Value::as_str) {
                Some("implicit") => ("implicit", &["authorizationUrl"]),
                Some("password") => ("password", &["tokenUrl"]),
                Some("application") => ("clientCredentials", &["tokenUrl"]),
                _ => ("authorizationCode", &["authorizationUrl", "tokenUrl"]),
            };
            for key in keys {
                flow.insert(
                    (*key).to_owned(),
                    map.get(*key).cloned().unwrap_or_else(|| json!("")),
                );
            }
            flow.insert("scopes".into(), scopes);
            out.insert("flows".into(), json!({ name: flow }));
        }
        _ => return s.clone(),
    }
    if let Some(d) = description {
        out.insert("description".into(), d.clone());
    }
    Value::Object(out)
}
