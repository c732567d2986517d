//! Deletion semantics: finalizers and deletionTimestamp, namespace termination, garbage collection, CRD removal.

use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::resources::{CRD_GROUP, CRD_PLURAL, ResourceType};
use crate::store::{ObjKey, State, now_rfc3339};
use crate::writes::{finalizers, key, meta, meta_mut, meta_str};

/// Result of a DELETE.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// The object as last seen (with deletionTimestamp when finalizers hold it).
    pub object: Value,
    /// Whether it was removed from storage.
    pub removed: bool,
}

/// DELETE: removes the object, or marks it for deletion while finalizers remain.
pub fn delete(
    st: &mut State,
    rt: &ResourceType,
    namespace: &str,
    name: &str,
    preconditions: Option<&Value>,
    orphan: bool,
) -> Result<Deleted, ApiError> {
    let k = key(rt, namespace, name);
    let obj = st
        .get(&k)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&rt.target(name)))?;
    if let Some(pre) = preconditions {
        for (field, label) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
            if let Some(want) = pre.get(field).and_then(Value::as_str) {
                let have = meta_str(&obj, field).unwrap_or("");
                if want != have {
                    return Err(ApiError::Conflict {
                        target: rt.target(name),
                        detail: format!(
                            "the {label} in the precondition ({want}) does not match the {label} in record ({have}). The object might have been modified"
                        ),
                    });
                }
            }
        }
    }
    let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
    if !finalizers(&obj).is_empty() || is_namespace {
        if meta_str(&obj, "deletionTimestamp").is_some() {
            return Ok(Deleted {
                object: obj,
                removed: false,
            });
        }
        let mut marked = obj.clone();
        let generation = meta(&obj)
            .and_then(|m| m.get("generation"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let m = meta_mut(&mut marked)?;
        m.insert("deletionTimestamp".into(), json!(now_rfc3339()));
        m.insert("deletionGracePeriodSeconds".into(), json!(0));
        m.insert("generation".into(), json!(generation + 1));
        if is_namespace {
            marked["status"] = json!({"phase": "Terminating"});
        }
        let stored = st.replace(k.clone(), marked);
        if is_namespace {
            return Ok(terminate_namespace(st, name, stored));
        }
        return Ok(Deleted {
            object: stored,
            removed: false,
        });
    }
    let removed = st
        .remove(&k, None)
        .ok_or_else(|| ApiError::not_found(&rt.target(name)))?;
    after_remove(st, rt, &k, &removed, !orphan);
    Ok(Deleted {
        object: removed,
        removed: true,
    })
}

/// Deletes a namespace's contents; removes the namespace once nothing is left in it.
fn terminate_namespace(st: &mut State, name: &str, marked: Value) -> Deleted {
    for k in st.keys_in_namespace(name) {
        if let Some(rt) = st.registry.get(&k.group, &k.plural).cloned() {
            let _ = delete(st, &rt, &k.namespace, &k.name, None, false);
        }
    }
    if st.keys_in_namespace(name).is_empty() {
        let ns_key = ObjKey {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: name.into(),
        };
        if let Some(removed) = st.remove(&ns_key, None) {
            return Deleted {
                object: removed,
                removed: true,
            };
        }
    }
    Deleted {
        object: marked,
        removed: false,
    }
}

/// Cleanup after an object left storage: garbage-collect dependents (background propagation),
/// drop a CRD's type and objects, and finish a terminating namespace.
pub(crate) fn after_remove(
    st: &mut State,
    rt: &ResourceType,
    k: &ObjKey,
    removed: &Value,
    collect_garbage: bool,
) {
    if collect_garbage && let Some(uid) = meta_str(removed, "uid").map(str::to_owned) {
        for dep in st.dependents_of(&uid) {
            if let Some(dep_rt) = st.registry.get(&dep.group, &dep.plural).cloned() {
                let _ = delete(st, &dep_rt, &dep.namespace, &dep.name, None, false);
            }
        }
    }
    if rt.group == CRD_GROUP
        && rt.plural == CRD_PLURAL
        && let Some((group, plural)) = st.registry.remove_crd(&k.name)
    {
        for obj_key in st.keys_of(&group, &plural) {
            st.remove(&obj_key, None);
        }
    }
    if !k.namespace.is_empty() {
        let ns_key = ObjKey {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: k.namespace.clone(),
        };
        let terminating = st
            .get(&ns_key)
            .is_some_and(|ns| meta_str(ns, "deletionTimestamp").is_some());
        if terminating && st.keys_in_namespace(&k.namespace).is_empty() {
            st.remove(&ns_key, None);
        }
    }
}
