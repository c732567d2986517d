//! HTTP entry point: path routing, query parsing and the resource verbs (get, list, create, update, patch, delete).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::errors::{ApiError, Target};
use crate::patch::{self, PatchKind};
use crate::resources::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{State, Store};
use crate::writes::{self, WriteTarget};
use crate::{deletion, discovery, table, watch};

/// Shared application state.
#[derive(Debug)]
pub struct App {
    /// Object storage.
    pub store: Store,
    /// Flips to `true` on shutdown; watch streams end when it does.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Address the server listens on.
    pub addr: SocketAddr,
    /// Interval between BOOKMARK events on watches that allow them.
    pub bookmark_interval: std::time::Duration,
}

/// A request addressed to a resource collection or object.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    /// The type.
    pub rt: ResourceType,
    /// The URL version.
    pub version: String,
    /// Namespace from the URL (`None` = all namespaces / cluster-scoped).
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`status`).
    pub sub: Option<String>,
}

/// Query parameters (last value wins).
pub type Query = HashMap<String, String>;

/// Serialises `value` as a JSON response.
pub fn json_response(code: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn ok(value: &Value) -> Response {
    json_response(StatusCode::OK, value)
}

/// The axum fallback handler: every request comes through here.
pub async fn dispatch(
    AxState(app): AxState<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: Query = uri
        .query()
        .map(|q| {
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
                .map(|axum::extract::Query(pairs)| pairs.into_iter().collect())
                .unwrap_or_else(|_| {
                    tracing::debug!(query = q, "unparseable query");
                    HashMap::new()
                })
        })
        .unwrap_or_default();
    tracing::debug!(%method, %uri, "request");
    match route(&app, &method, uri.path(), &query, &headers, &body) {
        Ok(resp) => resp,
        Err(err) => {
            tracing::debug!(%method, %uri, code = err.code(), error = %err, "request failed");
            err.into_response()
        }
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn route(
    app: &Arc<App>,
    method: &Method,
    path: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let segs = segments(path);
    let (group, version, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return discovery::serve(app, method, &segs, headers),
    };
    if rest.is_empty() {
        return discovery::serve(app, method, &segs, headers);
    }
    let rp = {
        let st = app.store.lock();
        resolve(&st.registry, group, version, rest)?
    };
    match (method.clone(), rp.name.is_some()) {
        (Method::GET, _) if rp.name.is_none() && is_true(query, "watch") => {
            watch::serve(app.clone(), rp, query)
        }
        (Method::GET, false) => list(app, &rp, query, headers),
        (Method::GET, true) => get(app, &rp, headers),
        (Method::POST, false) => create(app, &rp, query, headers, body),
        (Method::PUT, true) => replace(app, &rp, query, headers, body),
        (Method::PATCH, true) => patch_object(app, &rp, query, headers, body),
        (Method::DELETE, true) => delete(app, &rp, query, body),
        (Method::DELETE, false) => delete_collection(app, &rp, query, body),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Resolves `[namespaces/{ns}/]{plural}[/{name}[/{sub}]]` against the registry.
fn resolve(
    registry: &crate::resources::Registry,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<ResourcePath, ApiError> {
    let namespaced = match rest {
        ["namespaces", ns, plural, tail @ ..] if tail.len() <= 2 => registry
            .lookup(group, version, plural)
            .filter(|rt| rt.namespaced)
            .map(|rt| (rt.clone(), Some((*ns).to_owned()), tail)),
        _ => None,
    };
    let (rt, namespace, tail) = match namespaced {
        Some(found) => found,
        None => {
            let (plural, tail) = rest.split_first().ok_or(ApiError::NoRoute)?;
            let rt = registry.lookup(group, version, plural).ok_or(ApiError::NoRoute)?;
            (rt.clone(), None, tail)
        }
    };
    if tail.len() > 2 {
        return Err(ApiError::NoRoute);
    }
    let name = tail.first().map(|s| (*s).to_owned());
    let sub = tail.get(1).map(|s| (*s).to_owned());
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::NoRoute);
    }
    match sub.as_deref() {
        None => {}
        Some("status") if rt.status_subresource => {}
        Some(_) => return Err(ApiError::NoRoute),
    }
    Ok(ResourcePath {
        rt,
        version: version.to_owned(),
        namespace,
        name,
        sub,
    })
}

/// Whether a boolean query parameter is set (`true` or `1`).
pub fn is_true(query: &Query, key: &str) -> bool {
    matches!(query.get(key).map(String::as_str), Some("true" | "1"))
}

/// Rewrites apiVersion to the requested version (all versions share storage; no conversion).
pub fn present(rt: &ResourceType, version: &str, mut obj: Value) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(rt.api_version(version)));
        m.insert("kind".into(), Value::String(rt.kind.clone()));
    }
    obj
}

/// Parsed `labelSelector` and `fieldSelector`.
pub fn selectors(query: &Query) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or(""))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or(""))?;
    Ok((labels, fields))
}

fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .next()
                .is_some_and(|first| first.contains("as=Table"))
        })
}

fn ns_or_empty(rp: &ResourcePath) -> &str {
    rp.namespace.as_deref().unwrap_or("")
}

fn name_of(rp: &ResourcePath) -> &str {
    rp.name.as_deref().unwrap_or("")
}

fn list(app: &Arc<App>, rp: &ResourcePath, query: &Query, headers: &HeaderMap) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(query)?;
    let mut st = app.store.lock();
    st.stats.reads += 1;
    let items: Vec<Value> = st
        .list(&rp.rt.group, &rp.rt.plural, rp.namespace.as_deref())
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .map(|o| present(&rp.rt, &rp.version, o.clone()))
        .collect();
    let rv = st.current_rv().to_string();
    drop(st);
    if wants_table(headers) {
        return Ok(ok(&table::table(&rp.rt, &items, &rv)));
    }
    Ok(ok(&json!({
        "kind": rp.rt.list_kind,
        "apiVersion": rp.rt.api_version(&rp.version),
        "metadata": {"resourceVersion": rv},
        "items": items,
    })))
}

fn get(app: &Arc<App>, rp: &ResourcePath, headers: &HeaderMap) -> Result<Response, ApiError> {
    let mut st = app.store.lock();
    st.stats.reads += 1;
    let key = writes::key(&rp.rt, ns_or_empty(rp), name_of(rp));
    let obj = st
        .get(&key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&rp.rt.target(name_of(rp))))?;
    let rv = st.current_rv().to_string();
    drop(st);
    let obj = present(&rp.rt, &rp.version, obj);
    if wants_table(headers) {
        return Ok(ok(&table::table(&rp.rt, std::slice::from_ref(&obj), &rv)));
    }
    Ok(ok(&obj))
}

/// Decodes a create/update body (JSON or YAML); protobuf and CBOR are not supported.
fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("protobuf") || content_type.contains("cbor") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json, application/yaml (this test server does not decode {content_type})"
        )));
    }
    patch::parse_yaml_or_json(body)
}

fn create(
    app: &Arc<App>,
    rp: &ResourcePath,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    if rp.rt.namespaced && rp.namespace.is_none() {
        return Err(ApiError::NoRoute);
    }
    let obj = parse_body(headers, body)?;
    let mut guard = app.store.lock();
    guard.stats.record_write("create", &rp.rt.plural, None);
    let mut copy = dry_run_copy(query, &guard);
    let st = copy.as_mut().unwrap_or(&mut *guard);
    let created = writes::create(st, &rp.rt, &rp.version, ns_or_empty(rp), obj)?;
    Ok(json_response(
        StatusCode::CREATED,
        &present(&rp.rt, &rp.version, created),
    ))
}

fn write_target(rp: &ResourcePath) -> WriteTarget {
    if rp.sub.as_deref() == Some("status") {
        WriteTarget::Status
    } else {
        WriteTarget::Main
    }
}

fn replace(
    app: &Arc<App>,
    rp: &ResourcePath,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let obj = parse_body(headers, body)?;
    let mut guard = app.store.lock();
    guard
        .stats
        .record_write("update", &rp.rt.plural, rp.sub.as_deref());
    let mut copy = dry_run_copy(query, &guard);
    let st = copy.as_mut().unwrap_or(&mut *guard);
    let stored = writes::update(
        st,
        &rp.rt,
        &rp.version,
        ns_or_empty(rp),
        name_of(rp),
        obj,
        write_target(rp),
    )?;
    Ok(ok(&present(&rp.rt, &rp.version, stored)))
}

fn patch_object(
    app: &Arc<App>,
    rp: &ResourcePath,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut guard = app.store.lock();
    guard
        .stats
        .record_write("patch", &rp.rt.plural, rp.sub.as_deref());
    let mut copy = dry_run_copy(query, &guard);
    let st = copy.as_mut().unwrap_or(&mut *guard);
    let kind = PatchKind::from_content_type(content_type, rp.rt.is_custom())?;
    validate_patch_options(kind, query)?;
    let patch_doc = match kind {
        PatchKind::Apply => patch::parse_yaml_or_json(body)?,
        _ => patch::parse_json(body)?,
    };
    let (ns, name) = (ns_or_empty(rp), name_of(rp));
    let live = st.get(&writes::key(&rp.rt, ns, name)).cloned();
    let Some(live) = live else {
        if kind == PatchKind::Apply && rp.sub.is_none() {
            let mut obj = patch_doc;
            if let Some(body_name) = obj.pointer("/metadata/name").and_then(Value::as_str)
                && body_name != name
            {
                return Err(ApiError::BadRequest(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
            if let Some(meta) = obj
                .as_object_mut()
                .map(|m| m.entry("metadata").or_insert_with(|| json!({})))
                && let Some(meta) = meta.as_object_mut()
            {
                meta.insert("name".into(), json!(name));
            }
            let created = writes::create(st, &rp.rt, &rp.version, ns, obj)?;
            return Ok(json_response(
                StatusCode::CREATED,
                &present(&rp.rt, &rp.version, created),
            ));
        }
        return Err(ApiError::not_found(&rp.rt.target(name)));
    };
    let mut doc = present(&rp.rt, &rp.version, live);
    match kind {
        PatchKind::Merge => patch::merge(&mut doc, &patch_doc),
        PatchKind::Strategic => {
            let mut p = patch_doc;
            patch::strip_directives(&mut p);
            patch::merge(&mut doc, &p);
        }
        PatchKind::Apply => patch::apply(&mut doc, &patch_doc),
        PatchKind::Json => patch::json_patch(&mut doc, &patch_doc)?,
    }
    let stored = writes::update(st, &rp.rt, &rp.version, ns, name, doc, write_target(rp))?;
    Ok(ok(&present(&rp.rt, &rp.version, stored)))
}

/// For `dryRun=All`: a throwaway copy of the state for the write to run against.
fn dry_run_copy(query: &Query, st: &State) -> Option<State> {
    (query.get("dryRun").map(String::as_str) == Some("All")).then(|| st.dry_run_copy())
}

/// `ValidatePatchOptions` of the real server: apply needs a fieldManager; `force` is apply-only.
fn validate_patch_options(kind: PatchKind, query: &Query) -> Result<(), ApiError> {
    let target = Target {
        group: "meta.k8s.io".into(),
        kind: "PatchOptions".into(),
        ..Target::default()
    };
    if kind == PatchKind::Apply && query.get("fieldManager").is_none_or(String::is_empty) {
        return Err(ApiError::invalid(
            &target,
            "fieldManager",
            "FieldValueRequired",
            "Required value: is required for apply patch".into(),
        ));
    }
    if kind != PatchKind::Apply && query.contains_key("force") {
        return Err(ApiError::invalid(
            &target,
            "force",
            "FieldValueForbidden",
            "Forbidden: may not be specified for non-apply patch".into(),
        ));
    }
    Ok(())
}

/// `DeleteOptions` from the body and query.
fn delete_options(query: &Query, body: &Bytes) -> Result<(Option<Value>, bool), ApiError> {
    // Protobuf-encoded DeleteOptions (typed client-go clients) cannot be decoded here; they are
    // treated as default options rather than failing the delete.
    let opts: Value = if body.iter().all(u8::is_ascii_whitespace) || body.starts_with(b"k8s\0") {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?
    };
    let policy = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| query.get("propagationPolicy").cloned());
    let orphan = policy.as_deref() == Some("Orphan")
        || opts.get("orphanDependents").and_then(Value::as_bool) == Some(true);
    Ok((opts.get("preconditions").cloned(), orphan))
}

/// Whether a DELETE that removed the object returns it (true for CRs and pods) or a `Status`.
fn returns_deleted_object(rt: &ResourceType) -> bool {
    rt.is_custom() || (rt.group.is_empty() && rt.plural == "pods")
}

fn delete(app: &Arc<App>, rp: &ResourcePath, query: &Query, body: &Bytes) -> Result<Response, ApiError> {
    let (preconditions, orphan) = delete_options(query, body)?;
    let mut guard = app.store.lock();
    guard
        .stats
        .record_write("delete", &rp.rt.plural, rp.sub.as_deref());
    let mut copy = dry_run_copy(query, &guard);
    let st = copy.as_mut().unwrap_or(&mut *guard);
    if rp.sub.is_some() {
        return Err(ApiError::MethodNotAllowed);
    }
    let name = name_of(rp);
    let deleted = deletion::delete(st, &rp.rt, ns_or_empty(rp), name, preconditions.as_ref(), orphan)?;
    if deleted.removed && !returns_deleted_object(&rp.rt) {
        let mut details = json!({"name": name, "kind": rp.rt.plural});
        if !rp.rt.group.is_empty() {
            details["group"] = json!(rp.rt.group);
        }
        if let Some(uid) = deleted.object.pointer("/metadata/uid") {
            details["uid"] = uid.clone();
        }
        return Ok(ok(&json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details,
        })));
    }
    Ok(ok(&present(&rp.rt, &rp.version, deleted.object)))
}

fn delete_collection(
    app: &Arc<App>,
    rp: &ResourcePath,
    query: &Query,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(query)?;
    let (_, orphan) = delete_options(query, body)?;
    let mut guard = app.store.lock();
    guard.stats.record_write("deletecollection", &rp.rt.plural, None);
    let mut copy = dry_run_copy(query, &guard);
    let st = copy.as_mut().unwrap_or(&mut *guard);
    let targets: Vec<(String, String)> = st
        .list(&rp.rt.group, &rp.rt.plural, rp.namespace.as_deref())
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .map(|o| {
            let ns = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            let name = o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            (ns, name)
        })
        .collect();
    let mut items = Vec::new();
    for (ns, name) in targets {
        if let Ok(d) = deletion::delete(st, &rp.rt, &ns, &name, None, orphan) {
            items.push(present(&rp.rt, &rp.version, d.object));
        }
    }
    let rv = st.current_rv().to_string();
    Ok(ok(&json!({
        "kind": rp.rt.list_kind,
        "apiVersion": rp.rt.api_version(&rp.version),
        "metadata": {"resourceVersion": rv},
        "items": items,
    })))
}

/// A streaming JSON response.
pub fn stream_response(body: Body) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
