//! Structure-aware fuzzing of the front end and the whole in-memory pipeline: real specs with JSON subtrees replaced by wrong-typed, cyclic or extreme values, and random OpenAPI-shaped documents, must each give output or a typed error, never a panic.
//!
//! Byte-level mutation (`errors.rs`) mostly exercises the YAML parser; these documents are valid
//! JSON, so they reach `parse::from_value`, the model, classification and both emitters. The
//! generator is seeded (xorshift, no extra dependency) so a failure names a reproducible case:
//! rerun with `FUZZ_SEED=<seed> FUZZ_CASES=<n>` to explore further.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use openapi_operator_gen::{Config, RuntimeDep, SpecSource, WorkspaceMode};
use serde_json::{Map, Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const KEYWORDS: &[&str] = &[
    "type",
    "format",
    "properties",
    "items",
    "required",
    "enum",
    "const",
    "nullable",
    "default",
    "additionalProperties",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "$ref",
    "readOnly",
    "writeOnly",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "description",
    "title",
    "discriminator",
    "x-nullable",
    "$defs",
    "examples",
];

const NAMES: &[&str] = &[
    "id",
    "type",
    "self",
    "Self",
    "crate",
    "r#type",
    "0day",
    "a-b",
    "ü",
    "",
    " ",
    "$",
    "__",
    "ID",
    "Id",
    "spec",
    "status",
    "metadata",
    "kind",
    "apiVersion",
    "paused",
    "target",
    "Pet",
    "pet",
    "PET",
];

const STRINGS: &[&str] = &[
    "",
    "string",
    "integer",
    "number",
    "boolean",
    "array",
    "object",
    "null",
    "file",
    "int64",
    "date-time",
    "binary",
    "#/components/schemas/Pet",
    "#/components/schemas/Nope",
    "#/definitions/Pet",
    "#/paths/~1pet/post",
    "#",
    "#/",
    "other.yaml#/x",
    "http://127.0.0.1:1/x.yaml",
    "[unclosed",
    "(?<bad",
    "/pet/{petId}",
    "/{a}/{a}",
    "{}",
    "application/json",
    "multipart/form-data",
    "\u{0}",
];

/// A random scalar or small container, deliberately often of the wrong type.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(*rng.pick(&[0i64, -1, 1, i64::MAX, i64::MIN, 3])),
        3 => json!(*rng.pick(&[0.5f64, -1e308, 1e308, 1e-300])),
        4 | 5 => Value::String((*rng.pick(STRINGS)).to_owned()),
        6 => Value::Array((0..rng.below(3)).map(|_| random_value(rng, depth + 1)).collect()),
        7 => random_schema(rng, depth + 1),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(3) {
                map.insert((*rng.pick(NAMES)).to_owned(), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// A random schema object made of real keywords with plausible or wrong values.
fn random_schema(rng: &mut Rng, depth: usize) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(5) {
        let keyword = *rng.pick(KEYWORDS);
        let value = match keyword {
            "properties" | "$defs" if depth < 4 => {
                let mut props = Map::new();
                for _ in 0..rng.below(4) {
                    props.insert((*rng.pick(NAMES)).to_owned(), random_schema(rng, depth + 1));
                }
                Value::Object(props)
            }
            "items" | "not" | "additionalProperties" if depth < 4 && rng.chance(70) => {
                random_schema(rng, depth + 1)
            }
            "allOf" | "oneOf" | "anyOf" if depth < 4 && rng.chance(70) => {
                Value::Array((0..rng.below(3)).map(|_| random_schema(rng, depth + 1)).collect())
            }
            "required" if rng.chance(70) => {
                Value::Array((0..rng.below(3)).map(|_| json!(*rng.pick(NAMES))).collect())
            }
            "type" if rng.chance(70) => {
                if rng.chance(30) {
                    json!([*rng.pick(STRINGS), "null"])
                } else {
                    json!(*rng.pick(&["string", "integer", "number", "boolean", "array", "object"]))
                }
            }
            "$ref" if rng.chance(90) => json!(*rng.pick(&[
                "#/components/schemas/Pet",
                "#/components/schemas/Category",
                "#/components/schemas/Loop",
                "#/components/schemas/Pet",
                "#/components/schemas/Category",
                "#/components/schemas/Loop",
                "#/components/schemas/Nope",
            ])),
            // Mostly well-typed values, so that documents get past the front end.
            _ if rng.chance(10) => random_value(rng, depth + 1),
            "minimum" | "maximum" | "multipleOf" => json!(*rng.pick(&[0.0f64, -1.5, 2.0, 1e300, 0.1])),
            "exclusiveMinimum" | "exclusiveMaximum" => {
                if rng.chance(50) {
                    json!(rng.chance(50))
                } else {
                    json!(*rng.pick(&[0i64, 10, -3]))
                }
            }
            "minLength" | "maxLength" | "minItems" | "maxItems" => json!(*rng.pick(&[0u64, 1, 5, u64::MAX])),
            "nullable" | "readOnly" | "writeOnly" | "uniqueItems" | "x-nullable" => json!(rng.chance(50)),
            "format" => json!(*rng.pick(&[
                "int32",
                "int64",
                "float",
                "double",
                "date",
                "date-time",
                "byte",
                "binary",
                "uuid",
                "email",
                "weird"
            ])),
            "pattern" => json!(*rng.pick(&["^[a-z]+$", "(", "\\d{2,", ""])),
            "enum" | "examples" => Value::Array((0..rng.below(4)).map(|_| random_value(rng, 4)).collect()),
            "discriminator" => json!({"propertyName": *rng.pick(NAMES)}),
            "description" | "title" => {
                json!(*rng.pick(&["*/ end comment", "line\nbreak", "`code`", "[link](x)", "</b>"]))
            }
            _ => random_value(rng, depth + 1),
        };
        map.insert(keyword.to_owned(), value);
    }
    Value::Object(map)
}

/// A random document shaped like OpenAPI 3.x or Swagger 2.0.
fn random_document(rng: &mut Rng) -> Value {
    let swagger = rng.chance(30);
    let version_ok = rng.chance(92);
    let mut paths = Map::new();
    for _ in 0..rng.below(5) {
        let path = (*rng.pick(&[
            "/pet",
            "/pet/{petId}",
            "/pets/{id}/toys",
            "/store/{a}/{a}",
            "/x",
            "/{id}",
            "pet",
            "/",
            "/pet/{petId}/uploadImage",
        ]))
        .to_owned();
        let mut item = Map::new();
        for _ in 0..rng.below(4) {
            let method = *rng.pick(&["get", "post", "put", "patch", "delete", "x-y"]);
            let mut op = Map::new();
            if rng.chance(60) {
                op.insert("operationId".into(), json!(*rng.pick(NAMES)));
            }
            if rng.chance(60) {
                op.insert(
                    "parameters".into(),
                    Value::Array(
                        (0..rng.below(3))
                            .map(|_| {
                                json!({
                                    "name": *rng.pick(NAMES),
                                    "in": *rng.pick(&["path", "query", "header", "cookie", "body", "formData", "nowhere"]),
                                    "required": rng.chance(50),
                                    "schema": random_schema(rng, 1),
                                    "type": *rng.pick(STRINGS),
                                })
                            })
                            .collect(),
                    ),
                );
            }
            if rng.chance(60) {
                let content_type = *rng.pick(&[
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "application/octet-stream",
                    "text/plain",
                ]);
                op.insert(
                    "requestBody".into(),
                    json!({"content": {content_type: {"schema": random_schema(rng, 1)}}}),
                );
            }
            if rng.chance(80) {
                let code = *rng.pick(&["200", "201", "default", "2XX", "404", "abc"]);
                op.insert(
                    "responses".into(),
                    json!({code: {"description": "x", "content": {"application/json": {"schema": random_schema(rng, 1)}}, "schema": random_schema(rng, 1)}}),
                );
            }
            if rng.chance(10) {
                item.insert(method.into(), random_value(rng, 1));
            } else {
                item.insert(method.into(), Value::Object(op));
            }
        }
        paths.insert(path, Value::Object(item));
    }
    if rng.chance(60) {
        // A well-formed REST resource for the random parts to interfere with.
        paths.insert(
            "/pet".into(),
            json!({"post": {"operationId": "addPet",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}}}),
        );
        paths.insert(
            "/pet/{petId}".into(),
            json!({"get": {"operationId": "getPet",
                "parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}}},
                "delete": {"parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": {"204": {"description": "gone"}}}}),
        );
    }
    let mut schemas = Map::new();
    for name in ["Pet", "Category", "Loop"] {
        if rng.chance(80) {
            schemas.insert(name.into(), random_schema(rng, 0));
        }
    }
    if rng.chance(50) {
        schemas.insert("Loop".into(), json!({"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Loop"}, "also": {"$ref": "#/components/schemas/Loop"}}}));
    }
    let doc = if swagger {
        json!({"swagger": if version_ok { "2.0" } else { *rng.pick(&["2", "3.0.0"]) }, "info": {"title": *rng.pick(NAMES), "version": "1"},
               "host": *rng.pick(&["api.example.com", "", ":::", "h:99999"]), "basePath": *rng.pick(&["/v1", "", "v1"]),
               "paths": paths, "definitions": schemas})
    } else {
        let version = if version_ok {
            *rng.pick(&["3.0.3", "3.1.0", "3.0.0"])
        } else {
            *rng.pick(&["3.2.0", "2.0"])
        };
        json!({"openapi": version, "info": {"title": *rng.pick(NAMES), "version": "1"},
               "servers": [{"url": *rng.pick(&["https://api.example.com/v3", "/api", "", "{scheme}://x"])}],
               "paths": paths, "components": {"schemas": schemas}})
    };
    if swagger {
        // Swagger 2.0 keeps its schemas under `definitions`.
        let text = doc.to_string().replace("#/components/schemas/", "#/definitions/");
        serde_json::from_str(&text).unwrap_or(doc)
    } else {
        doc
    }
}

/// Every node's JSON pointer in `value`.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    out.push(at.to_owned());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// `base` with 1–3 random subtrees replaced by random values, deleted, or given a `$ref` cycle.
fn mutate_tree(rng: &mut Rng, base: &Value, all: &[String]) -> Value {
    let mut doc = base.clone();
    for _ in 0..1 + rng.below(3) {
        let at = rng.pick(all).clone();
        if at.is_empty() {
            continue;
        }
        let replacement = match rng.below(4) {
            0 => random_value(rng, 0),
            1 => random_schema(rng, 0),
            2 => json!({"$ref": format!("#{at}")}),
            _ => Value::Null,
        };
        if let Some(slot) = doc.pointer_mut(&at) {
            *slot = replacement;
        }
    }
    doc
}

fn config() -> Config {
    let mut config = Config::new(SpecSource::Path("fuzz.json".into()), "out");
    config.runtime = Some(RuntimeDep::Version("0.1.0".into()));
    config.workspace = WorkspaceMode::Standalone;
    config
}

/// How far a document got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Rejected by the front end with a typed error.
    ParseError,
    /// Parsed, then rejected by classification or emission with a typed error.
    GenerateError,
    /// A complete set of files.
    Generated,
}

/// Runs the pipeline on `doc`: how far it got, or the panic message.
fn run(doc: Value) -> Result<Outcome, String> {
    let outcome = std::panic::catch_unwind(|| {
        match openapi_operator_gen::parse::from_value("fuzz.json".to_owned(), doc) {
            Err(_) => Outcome::ParseError,
            Ok(spec) => match openapi_operator_gen::generate_from_spec(&spec, &config()) {
                Ok(_) => Outcome::Generated,
                Err(_) => Outcome::GenerateError,
            },
        }
    });
    outcome.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "non-string panic".to_owned())
    })
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(common::repo_root().join("specs").join(name)).unwrap();
    if name.ends_with(".json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_saphyr::from_str(&text).unwrap()
    }
}

#[test]
fn random_openapi_shaped_documents_never_panic() {
    let seed = env_u64("FUZZ_SEED", 0x0ff1_ce5e_ed00_0001);
    let cases = env_u64("FUZZ_CASES", 400);
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
    for case in 0..cases {
        let doc = random_document(&mut rng);
        match run(doc.clone()) {
            Ok(outcome) => *outcomes.entry(format!("{outcome:?}")).or_default() += 1,
            Err(message) => failures.push(format!("case {case}: {message}\n{doc}")),
        }
    }
    let report = failures.join("\n\n");
    assert!(
        failures.is_empty(),
        "{} panics (seed {seed:#x}):\n{report}",
        failures.len()
    );
    eprintln!("random documents: {outcomes:?}");
    // The documents must reach the later stages, not all stop at the front end.
    for stage in ["GenerateError", "Generated"] {
        let reached = outcomes.get(stage).copied().unwrap_or(0);
        assert!(
            reached * 20 >= cases,
            "fewer than 5% reached {stage}: {outcomes:?}"
        );
    }
}

#[test]
fn real_specs_with_random_subtrees_replaced_never_panic() {
    let cases = env_u64("FUZZ_CASES", 150);
    let mut failures = Vec::new();
    for (i, name) in [
        "petstore-3.0.yaml",
        "petstore-swagger-2.0.yaml",
        "fastapi-3.1.json",
        "schema-features.yaml",
        "collisions.yaml",
    ]
    .iter()
    .enumerate()
    {
        let base = load(name);
        let mut all = Vec::new();
        pointers(&base, "", &mut all);
        let seed = env_u64("FUZZ_SEED", 0x7ee5_0000_0000_0001) + i as u64;
        let mut rng = Rng(seed);
        let mut generated = 0;
        for case in 0..cases {
            let doc = mutate_tree(&mut rng, &base, &all);
            match run(doc) {
                Ok(Outcome::Generated) => generated += 1,
                Ok(_) => {}
                Err(message) => failures.push(format!("{name} case {case} (seed {seed:#x}): {message}")),
            }
        }
        eprintln!("{name}: {generated} of {cases} mutants generated");
        // Many mutants still generate; (almost) none would mean the harness is broken.
        assert!(
            generated * 20 >= cases,
            "{name}: only {generated} of {cases} mutants generated"
        );
    }
    assert!(
        failures.is_empty(),
        "{} panics:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
