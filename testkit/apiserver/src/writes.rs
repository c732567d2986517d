//! Write semantics: create, update (main and status), delete with finalizers, generation, GC and CRD hooks.

use serde_json::{Map, Value, json};

use crate::deletion::after_remove;
use crate::errors::{ApiError, Target};
use crate::resources::{CRD_GROUP, CRD_PLURAL, ResourceType, crd_resource_type, crd_status};
use crate::store::{ObjKey, State, now_rfc3339};

/// Server-managed metadata fields that clients cannot change on update.
const PRESERVED_META: &[&str] = &[
    "uid",
    "creationTimestamp",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "namespace",
    "name",
];

/// Where a write lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteTarget {
    /// The main resource.
    Main,
    /// The `/status` subresource.
    Status,
}

/// The storage key for an object of `rt`.
pub fn key(rt: &ResourceType, namespace: &str, name: &str) -> ObjKey {
    ObjKey {
        group: rt.group.clone(),
        plural: rt.plural.clone(),
        namespace: if rt.namespaced {
            namespace.to_owned()
        } else {
            String::new()
        },
        name: name.to_owned(),
    }
}

pub(crate) fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

pub(crate) fn meta_mut(obj: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    let map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("the request body must be a JSON object".into()))?;
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if meta.is_null() {
        *meta = json!({});
    }
    meta.as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("metadata must be an object".into()))
}

pub(crate) fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).and_then(|m| m.get(field)).and_then(Value::as_str)
}

pub(crate) fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Validates `name` as a DNS-1123 subdomain (or label for namespaces).
pub fn validate_name(target: &Target, name: &str, label: bool) -> Result<(), ApiError> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok_part = |p: &str| {
        !p.is_empty() && p.starts_with(alnum) && p.ends_with(alnum) && p.chars().all(|c| alnum(c) || c == '-')
    };
    let (valid, msg) = if label {
        (
            name.len() <= 63 && ok_part(name),
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must \
             start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for \
             validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        )
    } else {
        (
            name.len() <= 253 && name.split('.').all(ok_part),
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and \
             must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation \
             is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        )
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(
            target,
            "metadata.name",
            "FieldValueInvalid",
            format!("Invalid value: \"{name}\": {msg}"),
        ))
    }
}

/// Checks apiVersion/kind of a body against the URL; fills them in for built-ins when absent.
pub fn check_type(rt: &ResourceType, version: &str, obj: &mut Value) -> Result<(), ApiError> {
    let expected_av = rt.api_version(version);
    let map = obj
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("the request body must be a JSON object".into()))?;
    for (field, expected) in [("apiVersion", expected_av.as_str()), ("kind", rt.kind.as_str())] {
        match map.get(field).and_then(Value::as_str) {
            Some(v) if v == expected => {}
            Some(v) if field == "apiVersion" => {
                return Err(ApiError::BadRequest(format!(
                    "the API version in the data ({v}) does not match the expected API version ({expected})"
                )));
            }
            Some(v) => {
                return Err(ApiError::BadRequest(format!(
                    "the kind in the data ({v}) does not match the expected kind ({expected})"
                )));
            }
            None if rt.is_custom() => {
                let name = if field == "kind" { "Kind" } else { field };
                return Err(ApiError::BadRequest(format!(
                    "Object '{name}' is missing in '{}'",
                    Value::Object(map.clone())
                )));
            }
            None => {
                map.insert(field.into(), Value::String(expected.into()));
            }
        }
    }
    Ok(())
}

/// Everything except metadata (and status, for kinds with a status subresource): what `generation` tracks.
fn generation_relevant(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("apiVersion");
        if rt.status_subresource {
            m.remove("status");
        }
    }
    v
}

/// Server-side defaults on create for kinds whose status is owned by the server.
fn initial_status(rt: &ResourceType) -> Option<Value> {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => Some(json!({"phase": "Active"})),
        ("", "pods") => Some(json!({"phase": "Pending"})),
        _ => None,
    }
}

fn check_namespace(st: &State, rt: &ResourceType, namespace: &str, name: &str) -> Result<(), ApiError> {
    if !rt.namespaced {
        return Ok(());
    }
    let ns_key = ObjKey {
        group: String::new(),
        plural: "namespaces".into(),
        namespace: String::new(),
        name: namespace.into(),
    };
    let ns_target = Target {
        group: String::new(),
        resource: "namespaces".into(),
        kind: "Namespace".into(),
        name: namespace.into(),
    };
    match st.get(&ns_key) {
        None => Err(ApiError::not_found(&ns_target)),
        Some(ns) if meta_str(ns, "deletionTimestamp").is_some() => Err(ApiError::Forbidden(format!(
            "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
            rt.target(name).qualified_resource()
        ))),
        Some(_) => Ok(()),
    }
}

/// Standard base64 with padding (Secret `data` encoding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Runs type-specific hooks on an object about to be stored (CRD: validate and compute status;
/// Secret: fold `stringData` into base64 `data`, as the real server does).
fn prepare(rt: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
    if rt.group.is_empty()
        && rt.plural == "secrets"
        && let Some(map) = obj.as_object_mut()
        && let Some(Value::Object(string_data)) = map.remove("stringData")
    {
        let data = map.entry("data").or_insert_with(|| json!({}));
        if data.is_null() {
            *data = json!({});
        }
        if let Some(data) = data.as_object_mut() {
            for (k, v) in string_data {
                data.insert(
                    k,
                    Value::String(base64(v.as_str().unwrap_or_default().as_bytes())),
                );
            }
        }
    }
    if rt.group == CRD_GROUP && rt.plural == CRD_PLURAL {
        let defined = crd_resource_type(obj)?;
        let now = now_rfc3339();
        let status = crd_status(obj, &defined, &now);
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), status);
        }
    }
    Ok(())
}

/// Runs type-specific hooks after an object was stored.
fn after_store(st: &mut State, rt: &ResourceType, obj: &Value) {
    if rt.group == CRD_GROUP
        && rt.plural == CRD_PLURAL
        && let Ok(defined) = crd_resource_type(obj)
    {
        st.registry.install_crd(defined);
    }
}

/// POST: creates an object in `namespace` (ignored for cluster-scoped types).
pub fn create(
    st: &mut State,
    rt: &ResourceType,
    version: &str,
    namespace: &str,
    mut obj: Value,
) -> Result<Value, ApiError> {
    check_type(rt, version, &mut obj)?;
    let meta = meta_mut(&mut obj)?;
    if rt.namespaced {
        match meta.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != namespace => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                        .into(),
                ));
            }
            _ => {
                meta.insert("namespace".into(), json!(namespace));
            }
        }
    } else {
        meta.remove("namespace");
    }
    let mut name = meta.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
    let generate = meta
        .get("generateName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if name.is_empty() && generate.is_empty() {
        return Err(ApiError::invalid(
            &rt.target(""),
            "metadata.name",
            "FieldValueRequired",
            "Required value: name or generateName is required".into(),
        ));
    }
    for field in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    ] {
        meta.remove(field);
    }
    if name.is_empty() {
        loop {
            name = format!("{generate}{}", st.name_suffix());
            if st.get(&key(rt, namespace, &name)).is_none() {
                break;
            }
        }
    }
    validate_name(
        &rt.target(&name),
        &name,
        rt.group.is_empty() && rt.plural == "namespaces",
    )?;
    check_namespace(st, rt, namespace, &name)?;
    let k = key(rt, namespace, &name);
    if st.get(&k).is_some() {
        return Err(ApiError::AlreadyExists(rt.target(&name)));
    }
    let uid = st.new_uid();
    let meta = meta_mut(&mut obj)?;
    meta.insert("name".into(), json!(name));
    meta.insert("uid".into(), json!(uid));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    meta.insert("generation".into(), json!(1));
    if let Some(m) = obj.as_object_mut() {
        if rt.status_subresource {
            m.remove("status");
        }
        if let Some(status) = initial_status(rt) {
            m.insert("status".into(), status);
        }
    }
    prepare(rt, &mut obj)?;
    let stored = st.insert_new(k, obj);
    after_store(st, rt, &stored);
    Ok(stored)
}

/// PUT (or a patch already applied to the live object): replaces the object or its status.
pub fn update(
    st: &mut State,
    rt: &ResourceType,
    version: &str,
    namespace: &str,
    name: &str,
    mut new: Value,
    target: WriteTarget,
) -> Result<Value, ApiError> {
    let k = key(rt, namespace, name);
    let old = st
        .get(&k)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&rt.target(name)))?;
    check_type(rt, version, &mut new)?;
    let body_meta = meta_mut(&mut new)?;
    match body_meta.get("name").and_then(Value::as_str) {
        Some(n) if n != name => {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => {}
    }
    if rt.namespaced
        && let Some(ns) = body_meta.get("namespace").and_then(Value::as_str)
        && !ns.is_empty()
        && ns != namespace
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request".into(),
        ));
    }
    let requested_rv = body_meta
        .get("resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    // Custom resources and CRDs disallow unconditional updates (`AllowUnconditionalUpdate() == false`).
    let is_crd = rt.group == CRD_GROUP && rt.plural == CRD_PLURAL;
    if requested_rv.is_empty() && (rt.is_custom() || is_crd) {
        return Err(ApiError::invalid(
            &rt.target(name),
            "metadata.resourceVersion",
            "FieldValueInvalid",
            "Invalid value: 0x0: must be specified for an update".into(),
        ));
    }
    if !requested_rv.is_empty() && Some(requested_rv.as_str()) != meta_str(&old, "resourceVersion") {
        return Err(ApiError::stale(&rt.target(name)));
    }
    let mut next = match target {
        WriteTarget::Status => {
            let mut next = old.clone();
            if let Some(m) = next.as_object_mut() {
                match new.get("status") {
                    Some(s) => m.insert("status".into(), s.clone()),
                    None => m.remove("status"),
                };
            }
            next
        }
        WriteTarget::Main => {
            let mut next = new;
            if let Some(m) = next.as_object_mut()
                && rt.status_subresource
            {
                match old.get("status") {
                    Some(s) => m.insert("status".into(), s.clone()),
                    None => m.remove("status"),
                };
            }
            let next_meta = meta_mut(&mut next)?;
            for field in ["selfLink", "managedFields"] {
                next_meta.remove(field);
            }
            for field in PRESERVED_META {
                match meta(&old).and_then(|m| m.get(*field)) {
                    Some(v) => next_meta.insert((*field).into(), v.clone()),
                    None => next_meta.remove(*field),
                };
            }
            next
        }
    };
    // Keep the stored resourceVersion for the no-op comparison; it is re-stamped on commit.
    let old_rv = meta(&old)
        .and_then(|m| m.get("resourceVersion"))
        .cloned()
        .unwrap_or(Value::Null);
    meta_mut(&mut next)?.insert("resourceVersion".into(), old_rv);
    if meta_str(&old, "deletionTimestamp").is_some() {
        let before = finalizers(&old);
        let added: Vec<String> = finalizers(&next)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list = added
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::invalid(
                &rt.target(name),
                "metadata.finalizers",
                "FieldValueForbidden",
                format!(
                    "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
                ),
            ));
        }
    }
    if generation_relevant(rt, &old) != generation_relevant(rt, &next) {
        let generation = meta(&old)
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        meta_mut(&mut next)?.insert("generation".into(), json!(generation + 1));
    }
    prepare(rt, &mut next)?;
    if next == old {
        return Ok(old);
    }
    if meta_str(&next, "deletionTimestamp").is_some() && finalizers(&next).is_empty() {
        let removed = st
            .remove(&k, Some(next))
            .ok_or_else(|| ApiError::not_found(&rt.target(name)))?;
        after_remove(st, rt, &k, &removed, true);
        return Ok(removed);
    }
    let stored = st.replace(k, next);
    after_store(st, rt, &stored);
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn names_are_dns_subdomains() {
        let t = Target::default();
        assert!(validate_name(&t, "a.b-c", false).is_ok());
        assert!(validate_name(&t, "A", false).is_err());
        assert!(validate_name(&t, "-a", false).is_err());
        assert!(validate_name(&t, "a.b", true).is_err(), "namespaces are labels");
    }
}
