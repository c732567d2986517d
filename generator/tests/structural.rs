//! Every CRD the generator predicts for every spec under `specs/` (not `specs/invalid/`) follows the
//! Kubernetes rules checked by `structural_violations`, and unknown fields are preserved exactly
//! where the IR declares free-form JSON (a `serde_json::Value` field or a union's structural schema).

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod common;

use std::collections::BTreeSet;

use openapi_operator_gen::emit_files::crd::{crd_value, structural_violations};
use openapi_operator_gen::model::types::UnionSchema;
use openapi_operator_gen::model::{CrdKind, Field, Model, TypeDefKind, TypeRef, TypeSpace};
use openapi_operator_gen::{Config, SpecSource};
use serde_json::Value;

/// Every input spec: the top level of `specs/` plus the roots of the multi-file layouts.
fn specs() -> Vec<String> {
    let root = common::repo_root().join("specs");
    let mut out: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let ext = path.extension()?.to_str()?;
            matches!(ext, "yaml" | "yml" | "json").then(|| path.file_name()?.to_str().map(str::to_owned))?
        })
        .collect();
    out.sort();
    out.extend(
        ["openapi.yaml", "swagger.yaml", "split.yaml"]
            .iter()
            .map(|f| format!("external-refs/{f}")),
    );
    out
}

fn generate(spec: &str) -> openapi_operator_gen::Generated {
    std::env::set_current_dir(common::repo_root()).unwrap();
    let config = Config::new(SpecSource::Path(format!("specs/{spec}").into()), "out");
    openapi_operator_gen::generate(&config).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

/// JSON pointers (under a schema node) where the IR declares free-form content.
fn declared(fields: &[Field], types: &TypeSpace, at: &str, out: &mut BTreeSet<String>) {
    for f in fields {
        declared_type(&f.ty, types, &format!("{at}/properties/{}", f.json_name), out, 0);
    }
}

fn declared_type(ty: &TypeRef, types: &TypeSpace, at: &str, out: &mut BTreeSet<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match ty {
        TypeRef::Json => {
            out.insert(at.to_owned());
        }
        TypeRef::Array(inner) => declared_type(inner, types, &format!("{at}/items"), out, depth + 1),
        TypeRef::Map(inner) => {
            declared_type(
                inner,
                types,
                &format!("{at}/additionalProperties"),
                out,
                depth + 1,
            );
        }
        TypeRef::Named(name) => match types.get(name).map(|t| &t.kind) {
            Some(TypeDefKind::Struct { fields }) => {
                for f in fields {
                    let p = format!("{at}/properties/{}", f.json_name);
                    declared_type(&f.ty, types, &p, out, depth + 1);
                }
            }
            Some(TypeDefKind::Union {
                schema: UnionSchema::Object | UnionSchema::Any,
                ..
            }) => {
                out.insert(at.to_owned());
            }
            _ => {}
        },
        _ => {}
    }
}

/// JSON pointers of the nodes preserving unknown fields.
fn preserving(node: &Value, at: &str, out: &mut BTreeSet<String>) {
    let Value::Object(map) = node else { return };
    if map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        out.insert(at.to_owned());
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        for (k, v) in props {
            preserving(v, &format!("{at}/properties/{k}"), out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(v) = map.get(key) {
            preserving(v, &format!("{at}/{key}"), out);
        }
    }
}

fn check(model: &Model) -> Vec<String> {
    let mut problems = Vec::new();
    for crd in &model.crds {
        let value = crd_value(model, crd).unwrap();
        let kind = &crd.names.kind;
        problems.extend(
            structural_violations(&value)
                .into_iter()
                .map(|v| format!("{kind}: {v}")),
        );
        let schema = &value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
        let mut expected = BTreeSet::new();
        let mut actual = BTreeSet::new();
        if !matches!(crd.kind, CrdKind::Aggregate) {
            declared(&crd.fields, &model.types, "spec", &mut expected);
            preserving(&schema["spec"], "spec", &mut actual);
        }
        if let CrdKind::Query(q) = &crd.kind {
            match &q.results {
                Some(ty) => declared_type(ty, &model.types, "status/properties/results", &mut expected, 0),
                None => {
                    expected.insert("status/properties/results".to_owned());
                }
            }
            preserving(
                &schema["status"]["properties"]["results"],
                "status/properties/results",
                &mut actual,
            );
        }
        for p in actual.difference(&expected) {
            problems.push(format!(
                "{kind}: {p} preserves unknown fields the IR does not declare free-form"
            ));
        }
        for p in expected.difference(&actual) {
            problems.push(format!(
                "{kind}: {p} is free-form in the IR but does not preserve unknown fields"
            ));
        }
    }
    problems
}

#[test]
fn every_predicted_crd_of_every_spec_is_valid() {
    let specs = specs();
    assert!(specs.len() >= 10, "{specs:?}");
    let mut problems = Vec::new();
    for spec in &specs {
        let generated = generate(spec);
        problems.extend(
            check(&generated.model)
                .into_iter()
                .map(|p| format!("{spec}: {p}")),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checks_catch_violations() {
    let generated = generate("schema-features.yaml");
    let crd = &generated.model.crds[0];
    let good = crd_value(&generated.model, crd).unwrap();
    assert!(structural_violations(&good).is_empty());
    let spec = "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties";
    let cases: &[(&str, Value, &str)] = &[
        (
            "/name",
            serde_json::json!({"type": "string", "uniqueItems": true}),
            "uniqueItems",
        ),
        (
            "/name",
            serde_json::json!({"anyOf": [{"type": "string"}]}),
            "anyOf",
        ),
        ("/name", serde_json::json!({"description": "untyped"}), "no type"),
        (
            "/name",
            serde_json::json!({"type": "string", "x-kubernetes-int-or-string": true}),
            "int-or-string",
        ),
        (
            "/name",
            serde_json::json!({"type": "string", "x-kubernetes-preserve-unknown-fields": true}),
            "preserve-unknown-fields",
        ),
        (
            "/name",
            serde_json::json!({"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "set"}),
            "list-type",
        ),
        (
            "/name",
            serde_json::json!({"type": "string", "x-kubernetes-list-type": "set"}),
            "list-type",
        ),
        (
            "/priority",
            serde_json::json!({"type": "integer", "enum": ["1"]}),
            "enum value",
        ),
    ];
    for (field, schema, expected) in cases {
        let mut bad = good.clone();
        *bad.pointer_mut(&format!("{spec}{field}")).unwrap() = schema.clone();
        let found = structural_violations(&bad);
        assert!(
            found.iter().any(|v| v.contains(expected)),
            "{schema} should report {expected:?}: {found:?}"
        );
    }
    let mut bad = good.clone();
    bad["spec"]["names"]["plural"] = Value::from("Gadgets_");
    let found = structural_violations(&bad);
    assert!(found.iter().any(|v| v.contains("metadata.name")), "{found:?}");
    assert!(found.iter().any(|v| v.contains("names.plural")), "{found:?}");
}
