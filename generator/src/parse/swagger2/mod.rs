//! Swagger 2.0 → OpenAPI 3.0.3 on `serde_json::Value`: servers, components, request bodies, parameter schemas, response content, security schemes.

use serde_json::{Map, Value, json};

mod objects;

use objects::{form_body, param_schema, response, security};

use super::walk::{document_schemas, for_each_ref, rename_key};
use super::{Warning, escape_pointer_token, invalid};
use crate::error::Result;

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];
/// Non-body parameter keywords that move into the 3.0 `schema`.
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
    "x-nullable",
];
const JSON: &str = "application/json";

/// Converts a Swagger 2.0 document (its root must be a mapping) to OpenAPI 3.0.3.
pub(super) fn convert(file: &str, doc: &Map<String, Value>, warnings: &mut Vec<Warning>) -> Result<Value> {
    let cx = Cx {
        file,
        doc,
        consumes: media_types(doc.get("consumes")).unwrap_or_else(|| vec![JSON.to_owned()]),
        produces: media_types(doc.get("produces")).unwrap_or_else(|| vec![JSON.to_owned()]),
    };
    let mut out = Map::new();
    out.insert("openapi".into(), json!("3.0.3"));
    let mut components_at = false;
    for (key, value) in doc {
        match key.as_str() {
            "swagger" | "host" | "basePath" | "schemes" | "consumes" | "produces" => {}
            "info" => {
                out.insert(key.clone(), value.clone());
                if let Some(servers) = servers(doc) {
                    out.insert("servers".into(), servers);
                }
            }
            "paths" => {
                out.insert(key.clone(), cx.paths(value, warnings)?);
            }
            "definitions" | "parameters" | "responses" | "securityDefinitions" => {
                if !components_at {
                    components_at = true;
                    out.insert("components".into(), Value::Null);
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if !out.contains_key("servers")
        && let Some(servers) = servers(doc)
    {
        out.insert("servers".into(), servers);
    }
    if components_at {
        out.insert("components".into(), cx.components(warnings));
    }
    let mut out = Value::Object(out);
    for_each_ref(&mut out, "", &mut |reference, _| {
        for (from, to) in [
            ("#/definitions/", "#/components/schemas/"),
            ("#/parameters/", "#/components/parameters/"),
            ("#/responses/", "#/components/responses/"),
        ] {
            if let Some(rest) = reference.strip_prefix(from) {
                *reference = format!("{to}{rest}");
            }
        }
    });
    document_schemas(&mut out, &mut |schema, _| schema_rules(schema));
    Ok(out)
}

/// Per-schema rules: `x-nullable` → `nullable`, `type: file` → binary string, string `discriminator` → object.
fn schema_rules(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    rename_key(map, "x-nullable", "nullable");
    map.shift_remove("x-nullable");
    if map.get("type").and_then(Value::as_str) == Some("file") {
        map.insert("type".into(), json!("string"));
        map.insert("format".into(), json!("binary"));
    }
    if let Some(Value::String(property)) = map.get("discriminator") {
        let property = property.clone();
        map.insert("discriminator".into(), json!({ "propertyName": property }));
    }
}

fn media_types(value: Option<&Value>) -> Option<Vec<String>> {
    let list: Vec<String> = value?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    (!list.is_empty()).then_some(list)
}

/// `host` + `basePath` + `schemes` → `servers` (http when no scheme; a relative server without a host).
fn servers(doc: &Map<String, Value>) -> Option<Value> {
    let base = doc.get("basePath").and_then(Value::as_str).unwrap_or("");
    let base = if base == "/" { "" } else { base };
    match doc.get("host").and_then(Value::as_str) {
        Some(host) => {
            let schemes = media_types(doc.get("schemes")).unwrap_or_else(|| vec!["http".to_owned()]);
            let urls: Vec<Value> = schemes
                .iter()
                .map(|scheme| json!({ "url": format!("{scheme}://{host}{base}") }))
                .collect();
            Some(Value::Array(urls))
        }
        None if !base.is_empty() => Some(json!([{ "url": base }])),
        None => None,
    }
}

struct Cx<'a> {
    file: &'a str,
    doc: &'a Map<String, Value>,
    consumes: Vec<String>,
    produces: Vec<String>,
}

/// A parameter after following `#/parameters/...` refs, with the pointer it was found at.
struct Resolved {
    value: Value,
    pointer: String,
    reference: Option<String>,
}

impl Cx<'_> {
    fn paths(&self, paths: &Value, warnings: &mut Vec<Warning>) -> Result<Value> {
        let Value::Object(paths) = paths else {
            return Err(invalid(self.file, "/paths", "expected a mapping of paths"));
        };
        let mut out = Map::new();
        for (path, item) in paths {
            let pointer = format!("/paths/{}", escape_pointer_token(path));
            let Value::Object(item) = item else {
                out.insert(path.clone(), item.clone());
                continue;
            };
            let shared = self.parameters(item.get("parameters"), &format!("{pointer}/parameters"))?;
            let mut converted = Map::new();
            for (key, value) in item {
                if METHODS.contains(&key.as_str()) && value.is_object() {
                    let op_pointer = format!("{pointer}/{key}");
                    converted.insert(
                        key.clone(),
                        self.operation(value, &shared, &op_pointer, warnings)?,
                    );
                } else if key == "parameters" {
                    let kept: Vec<Value> = shared
                        .iter()
                        .filter(|p| !is_body_like(&p.value))
                        .map(|p| self.parameter(p, warnings))
                        .collect();
                    if !kept.is_empty() {
                        converted.insert(key.clone(), Value::Array(kept));
                    }
                } else {
                    converted.insert(key.clone(), value.clone());
                }
            }
            out.insert(path.clone(), Value::Object(converted));
        }
        Ok(Value::Object(out))
    }

    fn parameters(&self, list: Option<&Value>, pointer: &str) -> Result<Vec<Resolved>> {
        let Some(list) = list else { return Ok(Vec::new()) };
        let Value::Array(list) = list else {
            return Err(invalid(self.file, pointer, "expected a list of parameters"));
        };
        Ok(list
            .iter()
            .enumerate()
            .map(|(i, p)| self.resolve(p, format!("{pointer}/{i}")))
            .collect())
    }

    /// Follows `#/parameters/<name>` (bounded); an unresolvable ref is kept for the later ref check.
    fn resolve(&self, param: &Value, pointer: String) -> Resolved {
        let mut current = param;
        let mut at = pointer;
        let mut reference = None;
        for _ in 0..16 {
            let Some(target) = current.get("$ref").and_then(Value::as_str) else {
                break;
            };
            reference.get_or_insert_with(|| target.to_owned());
            let Some(name) = target.strip_prefix("#/parameters/") else {
                break;
            };
            let key = name.replace("~1", "/").replace("~0", "~");
            let Some(next) = self.doc.get("parameters").and_then(|p| p.get(&key)) else {
                break;
            };
            at = format!("/parameters/{name}");
            current = next;
        }
        Resolved {
            value: current.clone(),
            pointer: at,
            reference,
        }
    }

    fn operation(
        &self,
        op: &Value,
        shared: &[Resolved],
        pointer: &str,
        warnings: &mut Vec<Warning>,
    ) -> Result<Value> {
        let Value::Object(op) = op else {
            return Ok(op.clone());
        };
        let consumes = media_types(op.get("consumes")).unwrap_or_else(|| self.consumes.clone());
        let produces = media_types(op.get("produces")).unwrap_or_else(|| self.produces.clone());
        let own = self.parameters(op.get("parameters"), &format!("{pointer}/parameters"))?;
        // Path-level parameters not overridden (same name and location) by the operation.
        let inherited = shared.iter().filter(|s| {
            !own.iter()
                .any(|o| o.value.get("name") == s.value.get("name") && o.value.get("in") == s.value.get("in"))
        });
        let mut body = None;
        let mut form = Vec::new();
        let mut params = Vec::new();
        for p in inherited.chain(own.iter()) {
            match p.value.get("in").and_then(Value::as_str) {
                Some("body") => body = Some(p),
                Some("formData") => form.push(p),
                _ => {
                    // Path-level ones stay on the path item.
                    if own.iter().any(|o| std::ptr::eq(o, p)) {
                        params.push(self.parameter(p, warnings));
                    }
                }
            }
        }
        let request_body = match body {
            Some(p) => Some(self.body(p, &consumes)?),
            None if !form.is_empty() => Some(form_body(&form, &consumes)),
            None => None,
        };
        let mut request_body = request_body;
        let mut out = Map::new();
        for (key, value) in op {
            match key.as_str() {
                "consumes" | "produces" | "schemes" => {}
                "parameters" => {
                    if !params.is_empty() {
                        out.insert(key.clone(), Value::Array(std::mem::take(&mut params)));
                    }
                    if let Some(b) = request_body.take() {
                        out.insert("requestBody".into(), b);
                    }
                }
                "responses" => {
                    if let Some(b) = request_body.take() {
                        out.insert("requestBody".into(), b);
                    }
                    out.insert(key.clone(), self.responses(value, &produces));
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        if let Some(b) = request_body {
            out.insert("requestBody".into(), b);
        }
        Ok(Value::Object(out))
    }

    fn body(&self, p: &Resolved, consumes: &[String]) -> Result<Value> {
        let Some(schema) = p.value.get("schema") else {
            return Err(invalid(self.file, &p.pointer, "body parameter has no `schema`"));
        };
        let mut out = Map::new();
        if let Some(d) = p.value.get("description") {
            out.insert("description".into(), d.clone());
        }
        let content: Map<String, Value> = consumes
            .iter()
            .map(|mt| (mt.clone(), json!({ "schema": schema })))
            .collect();
        out.insert("content".into(), Value::Object(content));
        if p.value.get("required") == Some(&Value::Bool(true)) {
            out.insert("required".into(), Value::Bool(true));
        }
        Ok(Value::Object(out))
    }

    /// A non-body parameter: schema keywords move into `schema`, `collectionFormat` → `style`/`explode`.
    fn parameter(&self, p: &Resolved, warnings: &mut Vec<Warning>) -> Value {
        if let Some(reference) = &p.reference {
            return json!({ "$ref": reference });
        }
        let Value::Object(map) = &p.value else {
            return p.value.clone();
        };
        let mut out = Map::new();
        for (key, value) in map {
            let key_str = key.as_str();
            if !SCHEMA_KEYS.contains(&key_str) && key_str != "collectionFormat" {
                out.insert(key.clone(), value.clone());
            }
        }
        out.insert("schema".into(), param_schema(map));
        let location = map.get("in").and_then(Value::as_str).unwrap_or("");
        if map.get("type").and_then(Value::as_str) == Some("array") {
            let format = map
                .get("collectionFormat")
                .and_then(Value::as_str)
                .unwrap_or("csv");
            let query = matches!(location, "query" | "cookie");
            let style = match (format, query) {
                ("csv", true) => Some(("form", false)),
                ("multi", true) => Some(("form", true)),
                ("ssv", true) => Some(("spaceDelimited", false)),
                ("pipes", true) => Some(("pipeDelimited", false)),
                ("csv", false) => None,
                _ => {
                    warnings.push(Warning {
                        pointer: format!("{}/collectionFormat", p.pointer),
                        message: format!(
                            "collectionFormat {format:?} has no OpenAPI 3.0 equivalent for a {location} \
                             parameter; the 3.0 default style is used"
                        ),
                    });
                    None
                }
            };
            if let Some((style, explode)) = style {
                out.insert("style".into(), json!(style));
                out.insert("explode".into(), json!(explode));
            }
        }
        Value::Object(out)
    }

    fn responses(&self, responses: &Value, produces: &[String]) -> Value {
        let Value::Object(map) = responses else {
            return responses.clone();
        };
        let converted = map
            .iter()
            .map(|(code, r)| (code.clone(), response(r, produces)))
            .collect();
        Value::Object(converted)
    }

    fn components(&self, warnings: &mut Vec<Warning>) -> Value {
        let mut out = Map::new();
        for (key, value) in self.doc {
            let Value::Object(entries) = value else { continue };
            match key.as_str() {
                "definitions" => {
                    out.insert("schemas".into(), value.clone());
                }
                "responses" => {
                    let converted = entries
                        .iter()
                        .map(|(n, r)| (n.clone(), response(r, &self.produces)))
                        .collect();
                    out.insert("responses".into(), Value::Object(converted));
                }
                "parameters" => {
                    // Body and form parameters are inlined where they are used.
                    let converted: Map<String, Value> = entries
                        .iter()
                        .filter(|(_, p)| !is_body_like(p))
                        .map(|(n, p)| {
                            let resolved = Resolved {
                                value: p.clone(),
                                pointer: format!("/parameters/{}", escape_pointer_token(n)),
                                reference: p.get("$ref").and_then(Value::as_str).map(str::to_owned),
                            };
                            (n.clone(), self.parameter(&resolved, warnings))
                        })
                        .collect();
                    if !converted.is_empty() {
                        out.insert("parameters".into(), Value::Object(converted));
                    }
                }
                "securityDefinitions" => {
                    let converted = entries.iter().map(|(n, s)| (n.clone(), security(s))).collect();
                    out.insert("securitySchemes".into(), Value::Object(converted));
                }
                _ => {}
            }
        }
        Value::Object(out)
    }
}

fn is_body_like(p: &Value) -> bool {
    matches!(p.get("in").and_then(Value::as_str), Some("body" | "formData"))
}

#[cfg(test)]
mod tests;
