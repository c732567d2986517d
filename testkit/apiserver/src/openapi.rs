//! Minimal OpenAPI v3 documents: enough for kubectl to detect server-side field validation support.
//!
//! kubectl (1.27+) decides between server-side and client-side validation by looking, in
//! `/openapi/v3/<group-version>`, for a PATCH operation tagged with the object's
//! `x-kubernetes-group-version-kind` that accepts a `fieldValidation` query parameter. Publishing
//! exactly that (and no schemas) makes `kubectl apply` send `fieldValidation=Strict` instead of
//! trying client-side validation against `/openapi/v2`, which this server does not serve. The
//! `fieldValidation` parameter is accepted but not enforced (no schema validation).

use serde_json::{Map, Value, json};

use crate::resources::Registry;

/// Every served group-version as its OpenAPI v3 path key (`api/v1`, `apis/g/v`).
fn group_versions(registry: &Registry) -> Vec<(String, String, String)> {
    let mut gvs: Vec<(String, String, String)> = Vec::new();
    for rt in registry.all() {
        for v in &rt.versions {
            let key = if rt.group.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{}/{v}", rt.group)
            };
            if !gvs.iter().any(|(k, _, _)| *k == key) {
                gvs.push((key, rt.group.clone(), v.clone()));
            }
        }
    }
    gvs
}

fn fnv_hash(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016X}")
}

/// The `/openapi/v3` discovery index.
pub fn index(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (key, group, version) in group_versions(registry) {
        let hash = fnv_hash(&group_version_doc(registry, &group, &version).to_string());
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// The document for one group-version: one PATCH operation per kind, no schemas.
pub fn group_version_doc(registry: &Registry, group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    for rt in registry
        .all()
        .filter(|rt| rt.group == group && rt.versions.iter().any(|v| v == version))
    {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let path = if rt.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", rt.plural)
        } else {
            format!("{prefix}/{}/{{name}}", rt.plural)
        };
        let op = json!({
            "operationId": format!("patch{}", rt.kind),
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": rt.kind},
            "parameters": [
                {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
            ],
            "responses": {"200": {"description": "OK"}},
        });
        paths.insert(path, json!({"patch": op}));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    })
}
