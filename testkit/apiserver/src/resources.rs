//! The table of served resource types: built-in kinds (one line each) and types derived from CRDs.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::errors::{ApiError, Cause, Target};

/// Group and plural of the CustomResourceDefinition resource itself.
pub const CRD_GROUP: &str = "apiextensions.k8s.io";
/// Plural of the CustomResourceDefinition resource.
pub const CRD_PLURAL: &str = "customresourcedefinitions";

/// A column of a `kubectl get` table, from a CRD's `additionalPrinterColumns`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type: string, integer, number, boolean, date.
    pub type_: String,
    /// Simple JSONPath such as `.status.state`.
    pub json_path: String,
    /// Description shown by `kubectl explain`-like tools.
    pub description: String,
    /// 0 = shown by default; >0 only with `-o wide`.
    pub priority: i64,
}

/// One served resource type (all its served versions share one storage).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// Served versions, highest priority first.
    pub versions: Vec<String>,
    /// Plural resource name (URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// List kind (`PetList`).
    pub list_kind: String,
    /// Namespaced (true) or cluster-scoped.
    pub namespaced: bool,
    /// Whether a `/status` subresource exists.
    pub status_subresource: bool,
    /// Short names (`kubectl get pt`).
    pub short_names: Vec<String>,
    /// Categories (`kubectl get all`).
    pub categories: Vec<String>,
    /// Printer columns for tables.
    pub printer_columns: Vec<PrinterColumn>,
    /// Name of the CRD that defines this type; `None` for built-ins.
    pub crd: Option<String>,
}

impl ResourceType {
    /// Target for error messages.
    pub fn target(&self, name: &str) -> Target {
        Target {
            group: self.group.clone(),
            resource: self.plural.clone(),
            kind: self.kind.clone(),
            name: name.into(),
        }
    }

    /// `group/version` or `version` for core.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_owned()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// Whether this is a custom resource (defined by a CRD).
    pub fn is_custom(&self) -> bool {
        self.crd.is_some()
    }
}

/// Scope flag values for [`BUILTINS`].
const NAMESPACED: bool = true;
const CLUSTER: bool = false;
/// Status-subresource flag values for [`BUILTINS`].
const STATUS: bool = true;
const NO_STATUS: bool = false;

/// One built-in line: group, version, plural, singular, kind, scope, status subresource, short names, categories.
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    &'static [&'static str],
    &'static [&'static str],
);

/// Built-in kinds. Adding a kind is one line.
#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    ("", "v1", "namespaces", "namespace", "Namespace", CLUSTER, STATUS, &["ns"], &[]),
    ("", "v1", "configmaps", "configmap", "ConfigMap", NAMESPACED, NO_STATUS, &["cm"], &[]),
    ("", "v1", "secrets", "secret", "Secret", NAMESPACED, NO_STATUS, &[], &[]),
    ("", "v1", "pods", "pod", "Pod", NAMESPACED, STATUS, &["po"], &["all"]),
    ("", "v1", "services", "service", "Service", NAMESPACED, STATUS, &["svc"], &["all"]),
    ("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", NAMESPACED, NO_STATUS, &["sa"], &[]),
    ("", "v1", "events", "event", "Event", NAMESPACED, NO_STATUS, &["ev"], &[]),
    ("events.k8s.io", "v1", "events", "event", "Event", NAMESPACED, NO_STATUS, &["ev"], &[]),
    ("apps", "v1", "deployments", "deployment", "Deployment", NAMESPACED, STATUS, &["deploy"], &["all"]),
    ("apps", "v1", "statefulsets", "statefulset", "StatefulSet", NAMESPACED, STATUS, &["sts"], &["all"]),
    ("coordination.k8s.io", "v1", "leases", "lease", "Lease", NAMESPACED, NO_STATUS, &[], &[]),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", CLUSTER, NO_STATUS, &[], &[]),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", CLUSTER, NO_STATUS, &[], &[]),
    ("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", NAMESPACED, NO_STATUS, &[], &[]),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", NAMESPACED, NO_STATUS, &[], &[]),
    (CRD_GROUP, "v1", CRD_PLURAL, "customresourcedefinition", "CustomResourceDefinition", CLUSTER, STATUS, &["crd", "crds"], &["api-extensions"]),
];

/// All served resource types, keyed by (group, plural).
#[derive(Debug, Clone)]
pub struct Registry {
    types: BTreeMap<(String, String), ResourceType>,
}

impl Registry {
    /// A registry with every built-in kind.
    pub fn with_builtins() -> Self {
        let mut types = BTreeMap::new();
        for &(group, version, plural, singular, kind, namespaced, status, short, cats) in BUILTINS {
            let rt = ResourceType {
                group: group.into(),
                versions: vec![version.into()],
                plural: plural.into(),
                singular: singular.into(),
                kind: kind.into(),
                list_kind: format!("{kind}List"),
                namespaced,
                status_subresource: status,
                short_names: short.iter().map(|s| (*s).to_owned()).collect(),
                categories: cats.iter().map(|s| (*s).to_owned()).collect(),
                printer_columns: Vec::new(),
                crd: None,
            };
            types.insert((group.to_owned(), plural.to_owned()), rt);
        }
        Registry { types }
    }

    /// The type served at `group/version/plural`, if any.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_owned(), plural.to_owned()))
            .filter(|rt| rt.versions.iter().any(|v| v == version))
    }

    /// The type stored under (group, plural), regardless of version.
    pub fn get(&self, group: &str, plural: &str) -> Option<&ResourceType> {
        self.types.get(&(group.to_owned(), plural.to_owned()))
    }

    /// Every type, in (group, plural) order.
    pub fn all(&self) -> impl Iterator<Item = &ResourceType> {
        self.types.values()
    }

    /// Groups with their served versions (preferred first), core group excluded.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for rt in self.types.values().filter(|rt| !rt.group.is_empty()) {
            let versions = groups.entry(rt.group.clone()).or_default();
            for v in &rt.versions {
                if !versions.contains(v) {
                    versions.push(v.clone());
                }
            }
        }
        groups
            .into_iter()
            .map(|(g, mut vs)| {
                vs.sort_by(|a, b| compare_versions(a, b));
                (g, vs)
            })
            .collect()
    }

    /// Registers (or re-registers) the type a CRD defines.
    pub fn install_crd(&mut self, rt: ResourceType) {
        self.types.insert((rt.group.clone(), rt.plural.clone()), rt);
    }

    /// Removes the type defined by the CRD named `crd_name`; returns its (group, plural).
    pub fn remove_crd(&mut self, crd_name: &str) -> Option<(String, String)> {
        let key = self
            .types
            .iter()
            .find(|(_, rt)| rt.crd.as_deref() == Some(crd_name))
            .map(|(k, _)| k.clone())?;
        self.types.remove(&key);
        Some(key)
    }
}

/// Kubernetes version priority: GA > beta > alpha > other; higher numbers first. `Less` = higher priority.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn parse(v: &str) -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((0, major, 0));
        }
        for (stage, prefix) in [(1u8, "beta"), (2u8, "alpha")] {
            if let Some(n) = tail.strip_prefix(prefix) {
                return n.parse().ok().map(|minor| (stage, major, minor));
            }
        }
        None
    }
    match (parse(a), parse(b)) {
        (Some((sa, ma, na)), Some((sb, mb, nb))) => sa.cmp(&sb).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str)
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Validates a CRD object and derives the resource type it defines.
pub fn crd_resource_type(crd: &Value) -> Result<ResourceType, ApiError> {
    let name = str_at(crd, &["metadata", "name"]).unwrap_or_default().to_owned();
    let target = Target {
        group: CRD_GROUP.into(),
        resource: CRD_PLURAL.into(),
        kind: "CustomResourceDefinition".into(),
        name: name.clone(),
    };
    let mut causes = Vec::new();
    let mut require = |field: &str, value: Option<&str>| -> String {
        match value.filter(|s| !s.is_empty()) {
            Some(s) => s.to_owned(),
            None => {
                causes.push(Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: field.into(),
                });
                String::new()
            }
        }
    };
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let group = require("spec.group", str_at(&spec, &["group"]));
    let plural = require("spec.names.plural", str_at(&spec, &["names", "plural"]));
    let kind = require("spec.names.kind", str_at(&spec, &["names", "kind"]));
    let scope = require("spec.scope", str_at(&spec, &["scope"]));
    if !scope.is_empty() && scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause {
            reason: "FieldValueNotSupported".into(),
            message: format!("Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""),
            field: "spec.scope".into(),
        });
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
            field: "metadata.name".into(),
        });
    }
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value".into(),
            field: "spec.versions".into(),
        });
    }
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage != 1 {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: format!(
                "Invalid value: {storage}: must have exactly one version marked as storage version"
            ),
            field: "spec.versions".into(),
        });
    }
    if !causes.is_empty() {
        return Err(ApiError::Invalid { target, causes });
    }
    let mut served: Vec<String> = versions
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(false))
        .filter_map(|v| str_at(v, &["name"]).map(str::to_owned))
        .collect();
    served.sort_by(|a, b| compare_versions(a, b));
    // Status subresource and printer columns: taken from the storage version (the common single-version case).
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .cloned()
        .unwrap_or(Value::Null);
    let status_subresource = storage_version.pointer("/subresources/status").is_some()
        || spec.pointer("/subresources/status").is_some();
    let printer_columns = storage_version
        .get("additionalPrinterColumns")
        .or_else(|| spec.get("additionalPrinterColumns"))
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| PrinterColumn {
                    name: str_at(c, &["name"]).unwrap_or_default().into(),
                    type_: str_at(c, &["type"]).unwrap_or("string").into(),
                    json_path: str_at(c, &["jsonPath"]).unwrap_or_default().into(),
                    description: str_at(c, &["description"]).unwrap_or_default().into(),
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default();
    let names = spec.get("names").cloned().unwrap_or(Value::Null);
    let singular = str_at(&names, &["singular"])
        .map(str::to_owned)
        .unwrap_or_else(|| kind.to_lowercase());
    let list_kind = str_at(&names, &["listKind"])
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{kind}List"));
    Ok(ResourceType {
        group,
        versions: served,
        plural,
        singular,
        kind,
        list_kind,
        namespaced: scope == "Namespaced",
        status_subresource,
        short_names: str_list(names.get("shortNames")),
        categories: str_list(names.get("categories")),
        printer_columns,
        crd: Some(name),
    })
}

/// The `status` the apiextensions controllers would converge a valid CRD to.
pub fn crd_status(crd: &Value, rt: &ResourceType, now: &str) -> Value {
    let mut accepted = json!({
        "plural": rt.plural, "singular": rt.singular, "kind": rt.kind, "listKind": rt.list_kind,
    });
    if !rt.short_names.is_empty() {
        accepted["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        accepted["categories"] = json!(rt.categories);
    }
    let storage: Vec<&str> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| str_at(v, &["name"]))
                .collect()
        })
        .unwrap_or_default();
    let mut stored = str_list(crd.pointer("/status/storedVersions"));
    for v in storage {
        if !stored.iter().any(|s| s == v) {
            stored.push(v.to_owned());
        }
    }
    json!({
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ],
        "acceptedNames": accepted,
        "storedVersions": stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_priority() {
        let mut v = vec!["v1alpha1", "v2beta1", "v1", "foo", "v1beta2", "v2", "v1beta1"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            ["v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]
        );
    }

    #[test]
    fn crd_name_must_match() {
        let crd = json!({"metadata":{"name":"wrong"},"spec":{"group":"g.io","scope":"Namespaced",
            "names":{"plural":"ps","kind":"P"},"versions":[{"name":"v1","served":true,"storage":true}]}});
        let err = crd_resource_type(&crd).err().map(|e| e.code());
        assert_eq!(err, Some(422));
    }
}
