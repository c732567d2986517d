//! Discovery endpoints: `/version`, `/api`, `/apis`, group/version resource lists, OpenAPI stubs, health.

use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::handlers::{App, json_response};
use crate::resources::{Registry, ResourceType};

/// Verbs every served resource supports.
const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Kubernetes version reported by `/version`.
pub const GIT_VERSION: &str = "v1.33.0";

/// Serves a non-resource path.
///
/// Aggregated discovery (`Accept: ...;as=APIGroupDiscoveryList`) is not implemented: `/api` and
/// `/apis` always answer with the legacy documents and `Content-Type: application/json`, which
/// client-go (kubectl) recognises and handles by falling back to per-group discovery.
pub fn serve(
    app: &Arc<App>,
    method: &Method,
    segs: &[&str],
    _headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::GET {
        return if segs.first().is_some_and(|s| *s == "api" || *s == "apis") {
            Err(ApiError::MethodNotAllowed)
        } else {
            Err(ApiError::NoRoute)
        };
    }
    let st = app.store.lock();
    let registry = &st.registry;
    let body = match segs {
        ["version"] => version(),
        ["api"] => json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": app.addr.to_string()}],
        }),
        ["api", "v1"] => resource_list(registry, "", "v1"),
        ["apis"] => json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": registry.groups().iter().map(|(g, vs)| group(g, vs)).collect::<Vec<_>>(),
        }),
        ["apis", g] => {
            let groups = registry.groups();
            let (name, versions) = groups
                .iter()
                .find(|(name, _)| name == g)
                .ok_or(ApiError::NoRoute)?;
            let mut doc = group(name, versions);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            doc
        }
        ["apis", g, v] => {
            if !registry
                .all()
                .any(|rt| rt.group == *g && rt.versions.iter().any(|x| x == v))
            {
                return Err(ApiError::NoRoute);
            }
            resource_list(registry, g, v)
        }
        ["openapi", "v3"] => crate::openapi::index(registry),
        ["openapi", "v3", "api", v] => crate::openapi::group_version_doc(registry, "", v),
        ["openapi", "v3", "apis", g, v] => crate::openapi::group_version_doc(registry, g, v),
        ["healthz" | "livez" | "readyz"] => {
            return Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "ok").into_response());
        }
        _ => return Err(ApiError::NoRoute),
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn group(name: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": format!("{name}/{v}"), "version": v});
    json!({
        "name": name,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv).unwrap_or(Value::Null),
    })
}

fn resource_entry(rt: &ResourceType) -> Value {
    let mut entry = json!({
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": VERBS,
    });
    if !rt.short_names.is_empty() {
        entry["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        entry["categories"] = json!(rt.categories);
    }
    entry
}

/// `APIResourceList` for one group/version, including `*/status` subresources.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for rt in registry
        .all()
        .filter(|rt| rt.group == group && rt.versions.iter().any(|v| v == version))
    {
        resources.push(resource_entry(rt));
        if rt.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", rt.plural),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}
