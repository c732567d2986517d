//! Pure drift detection: the desired body from a spec, its comparison with the backend object, and the merged body for full updates.
//!
//! No I/O. The rules, and where they differ from the Go original (upstream §5.3):
//!
//! - Only keys present in the **desired** body are compared, at every depth: extra keys the server
//!   adds to nested objects are not drift (Go required nested maps to have the same length).
//! - Arrays are compared element-wise and must have the same length; objects inside arrays are again
//!   compared over desired keys only.
//! - Numbers compare numerically (`1 == 1.0`); strings that both parse as RFC 3339 timestamps compare
//!   as instants.
//! - `false`, `0` and `""` are real values: a desired `false` against an observed `true` is drift, and
//!   [`merge_for_update`] can set them (Go skipped "zero" values when merging, so it could never).
//! - A desired `null` means "no opinion": never drift, never overlaid.

use serde_json::{Map, Value};

use crate::traits::ResourceDescriptor;

/// Fields of the desired body that differ from the backend object, as JSON pointers (`/tags/0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// JSON pointers (RFC 6901) into the desired body, in desired-key order.
    pub fields: Vec<String>,
}

impl Drift {
    /// Whether the backend object matches the desired body.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Comma-separated field list for status messages and logs.
    pub fn summary(&self) -> String {
        self.fields.join(", ")
    }
}

/// The request body the spec asks for: the serialized spec restricted to
/// [`ResourceDescriptor::body_fields`], without read-only fields and without `null` values.
///
/// Operator controls (`target`, `executionInterval`) are never body fields, so they are never sent.
pub fn desired_body(spec: &Value, descriptor: &ResourceDescriptor) -> Value {
    let mut body = Map::new();
    if let Value::Object(spec) = spec {
        for field in descriptor.body_fields {
            if descriptor.read_only_fields.contains(field) {
                continue;
            }
            match spec.get(*field) {
                None | Some(Value::Null) => {}
                Some(value) => {
                    body.insert((*field).to_owned(), value.clone());
                }
            }
        }
    }
    Value::Object(body)
}

/// Compares `desired` with `observed` under the rules of this module.
pub fn compare(desired: &Value, observed: &Value) -> Drift {
    let mut drift = Drift::default();
    diff(&mut String::new(), desired, observed, &mut drift.fields);
    drift
}

fn diff(path: &mut String, desired: &Value, observed: &Value, out: &mut Vec<String>) {
    match (desired, observed) {
        (Value::Null, _) => {}
        (Value::Object(d), Value::Object(o)) => {
            for (key, dv) in d {
                let len = path.len();
                path.push('/');
                path.push_str(&escape_pointer_token(key));
                match o.get(key) {
                    Some(ov) => diff(path, dv, ov, out),
                    None if dv.is_null() => {}
                    None => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(d), Value::Array(o)) => {
            if d.len() != o.len() {
                out.push(path.clone());
                return;
            }
            for (i, (dv, ov)) in d.iter().zip(o).enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                diff(path, dv, ov, out);
                path.truncate(len);
            }
        }
        (Value::Number(d), Value::Number(o)) => {
            if !numbers_equal(d, o) {
                out.push(path.clone());
            }
        }
        (Value::String(d), Value::String(o)) => {
            if d != o && !same_instant(d, o) {
                out.push(path.clone());
            }
        }
        (d, o) => {
            if d != o {
                out.push(path.clone());
            }
        }
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a == b;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn same_instant(a: &str, b: &str) -> bool {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer for an ignore-list entry: `/a/b` as is, `a.b` → `/a/b`, `a` → `/a`.
pub fn ignore_pointer(entry: &str) -> String {
    let entry = entry.trim();
    if entry.starts_with('/') {
        entry.to_owned()
    } else {
        entry
            .split('.')
            .map(escape_pointer_token)
            .fold(String::new(), |acc, t| format!("{acc}/{t}"))
    }
}

/// `drift` without the fields under any entry of `ignore` ([`ignore_pointer`] syntax): a field is
/// ignored when its pointer equals an entry or lies below it.
pub fn without_ignored<'a>(drift: Drift, ignore: impl IntoIterator<Item = &'a str>) -> Drift {
    let pointers: Vec<String> = ignore.into_iter().map(ignore_pointer).collect();
    if pointers.is_empty() {
        return drift;
    }
    Drift {
        fields: drift
            .fields
            .into_iter()
            .filter(|f| {
                !pointers.iter().any(|p| {
                    f == p
                        || f.strip_prefix(p.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                })
            })
            .collect(),
    }
}

/// Body for a full update (`PUT`, or `POST` used as update): the observed object with the desired
/// body overlaid recursively. Objects are merged key by key; arrays and scalars are replaced;
/// desired `null`s are skipped. `false`, `0` and `""` are overlaid like any other value.
pub fn merge_for_update(observed: &Value, desired: &Value) -> Value {
    match (observed, desired) {
        (Value::Object(o), Value::Object(d)) => {
            let mut merged = o.clone();
            for (key, dv) in d {
                if dv.is_null() {
                    continue;
                }
                let value = match merged.get(key) {
                    Some(ov) => merge_for_update(ov, dv),
                    None => dv.clone(),
                };
                merged.insert(key.clone(), value);
            }
            Value::Object(merged)
        }
        (_, d) => d.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::traits::{OperationDescriptor, ResourceDescriptor};

    fn fields(d: &Drift) -> Vec<&str> {
        d.fields.iter().map(String::as_str).collect()
    }

    #[test]
    fn equal_objects_have_no_drift() {
        let d = json!({"name": "rex", "tags": ["a", "b"], "category": {"id": 1}});
        assert!(compare(&d, &d.clone()).is_empty());
    }

    #[test]
    fn false_zero_and_empty_string_are_real_values() {
        let observed = json!({"active": true, "count": 3, "nick": "x"});
        let drift = compare(&json!({"active": false, "count": 0, "nick": ""}), &observed);
        assert_eq!(fields(&drift), ["/active", "/count", "/nick"]);
        // and they match themselves
        let same = json!({"active": false, "count": 0, "nick": ""});
        assert!(compare(&same, &same.clone()).is_empty());
    }

    #[test]
    fn missing_observed_key_is_drift_unless_desired_null() {
        let drift = compare(&json!({"a": false, "b": null}), &json!({}));
        assert_eq!(fields(&drift), ["/a"]);
        // desired null against a value: no opinion
        assert!(compare(&json!({"b": null}), &json!({"b": 5})).is_empty());
    }

    #[test]
    fn extra_server_keys_are_not_drift_at_any_depth() {
        let desired = json!({"category": {"name": "dogs"}, "tags": [{"name": "a"}]});
        let observed = json!({
            "id": 10, "createdAt": "2024-01-01T00:00:00Z",
            "category": {"id": 7, "name": "dogs"},
            "tags": [{"id": 1, "name": "a"}]
        });
        assert!(compare(&desired, &observed).is_empty());
    }

    #[test]
    fn nested_differences_are_reported_as_pointers() {
        let desired = json!({"category": {"name": "cats"}, "a/b": {"c~d": 1}});
        let observed = json!({"category": {"id": 7, "name": "dogs"}, "a/b": {"c~d": 2}});
        assert_eq!(
            fields(&compare(&desired, &observed)),
            ["/category/name", "/a~1b/c~0d"]
        );
    }

    #[test]
    fn arrays_compare_element_wise_and_by_length() {
        assert_eq!(
            fields(&compare(&json!({"t": ["a", "b"]}), &json!({"t": ["a"]}))),
            ["/t"]
        );
        assert_eq!(
            fields(&compare(&json!({"t": ["a", "b"]}), &json!({"t": ["b", "a"]}))),
            ["/t/0", "/t/1"]
        );
        assert!(compare(&json!({"t": []}), &json!({"t": []})).is_empty());
        assert_eq!(fields(&compare(&json!({"t": []}), &json!({"t": ["x"]}))), ["/t"]);
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(compare(&json!({"n": 1}), &json!({"n": 1.0})).is_empty());
        assert!(compare(&json!({"n": 2.5}), &json!({"n": 2.5})).is_empty());
        assert_eq!(fields(&compare(&json!({"n": 1}), &json!({"n": 1.5}))), ["/n"]);
        assert_eq!(fields(&compare(&json!({"n": 1}), &json!({"n": "1"}))), ["/n"]);
        assert!(compare(&json!({"n": u64::MAX}), &json!({"n": u64::MAX})).is_empty());
    }

    #[test]
    fn timestamps_compare_as_instants() {
        let d = json!({"at": "2024-05-01T12:00:00Z"});
        assert!(compare(&d, &json!({"at": "2024-05-01T14:00:00+02:00"})).is_empty());
        assert!(compare(&d, &json!({"at": "2024-05-01T12:00:00.000Z"})).is_empty());
        assert_eq!(
            fields(&compare(&d, &json!({"at": "2024-05-01T12:00:01Z"}))),
            ["/at"]
        );
        // non-timestamps are compared as text
        assert_eq!(
            fields(&compare(&json!({"s": "2024-05-01"}), &json!({"s": "2024-5-1"}))),
            ["/s"]
        );
    }

    #[test]
    fn type_mismatch_is_drift() {
        assert_eq!(
            fields(&compare(&json!({"a": {"b": 1}}), &json!({"a": [1]}))),
            ["/a"]
        );
        assert_eq!(
            fields(&compare(&json!({"a": false}), &json!({"a": null}))),
            ["/a"]
        );
    }

    static DESC: ResourceDescriptor = ResourceDescriptor {
        kind: "Pet",
        id_param: "petId",
        id_field: Some("id"),
        path_params: &[],
        create: None,
        read: OperationDescriptor {
            path: "/pet/{petId}",
            query: &[],
        },
        update: None,
        delete: None,
        body_fields: &["id", "name", "status", "photoUrls", "createdAt"],
        read_only_fields: &["createdAt"],
        ignore_fields: &[],
    };

    #[test]
    fn desired_body_keeps_body_fields_minus_read_only_and_nulls() {
        let spec = json!({
            "target": {"baseURL": "http://x"}, "executionInterval": "5s",
            "id": 0, "name": "", "status": null, "photoUrls": [], "createdAt": "2024-01-01T00:00:00Z"
        });
        assert_eq!(
            desired_body(&spec, &DESC),
            json!({"id": 0, "name": "", "photoUrls": []})
        );
    }

    #[test]
    fn read_only_fields_never_drift() {
        let spec = json!({"name": "rex", "createdAt": "2020-01-01T00:00:00Z"});
        let observed = json!({"name": "rex", "createdAt": "2024-01-01T00:00:00Z"});
        assert!(compare(&desired_body(&spec, &DESC), &observed).is_empty());
    }

    #[test]
    fn merge_overlays_desired_onto_observed() {
        let observed = json!({"id": 1, "name": "rex", "active": true, "category": {"id": 2, "name": "dogs"},
                              "tags": ["a", "b"]});
        let desired = json!({"active": false, "name": "", "category": {"name": "cats"}, "tags": ["c"],
                             "status": null, "count": 0});
        assert_eq!(
            merge_for_update(&observed, &desired),
            json!({"id": 1, "name": "", "active": false, "category": {"id": 2, "name": "cats"},
                   "tags": ["c"], "count": 0})
        );
    }

    #[test]
    fn merge_replaces_non_objects() {
        assert_eq!(merge_for_update(&json!([1]), &json!({"a": 1})), json!({"a": 1}));
        assert_eq!(
            merge_for_update(&json!({"a": {"b": 1}}), &json!({"a": 3})),
            json!({"a": 3})
        );
        assert_eq!(
            merge_for_update(&json!({"a": 3}), &json!({"a": {"b": 1}})),
            json!({"a": {"b": 1}})
        );
    }

    #[test]
    fn ignored_fields_and_everything_below_them_are_not_drift() {
        let drift = compare(
            &json!({"name": "a", "category": {"id": 1, "name": "x"}, "tags": ["t"], "tagsExtra": 1}),
            &json!({"name": "b", "category": {"id": 2, "name": "y"}, "tags": ["u"], "tagsExtra": 2}),
        );
        assert_eq!(
            fields(&without_ignored(drift.clone(), ["category.name", "/tags"])),
            ["/name", "/category/id", "/tagsExtra"]
        );
        assert!(without_ignored(drift.clone(), ["name", "category", "tags", "tagsExtra"]).is_empty());
        assert_eq!(without_ignored(drift.clone(), []), drift);
        assert_eq!(ignore_pointer("a~b.c/d"), "/a~0b/c~1d");
    }
}
