//! The config file `openapi-operator-gen.yaml`: discovery, parsing (unknown keys rejected) and value
//! validation, every error naming the file, line:column and key path. Merging with the CLI is in
//! [`crate::cli`].

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::config::{Filters, KindOverride, RuntimeDep, WorkspaceMode};
use crate::error::{Error, Result};
use crate::model::naming;

/// Names looked for, in this order, next to a file spec and then in the current directory.
pub const FILE_NAMES: [&str; 4] = [
    "openapi-operator-gen.yaml",
    "openapi-operator-gen.yml",
    ".openapi-operator-gen.yaml",
    ".openapi-operator-gen.yml",
];

/// One string value with its location.
pub type Value = Spanned<String>;

/// The file's top level.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileConfig {
    /// Spec path (relative to the config file) or URL.
    pub spec: Option<Value>,
    /// Output directory (relative to the config file).
    pub output: Option<Value>,
    /// API group.
    pub group: Option<Value>,
    /// CRD API version.
    pub api_version: Option<Value>,
    /// Kind for the root path.
    pub root_kind: Option<Value>,
    /// Runtime dependency.
    pub runtime: Option<RuntimeFile>,
    /// `auto`, `standalone` or `member`.
    pub workspace: Option<Value>,
    /// Operation filters.
    pub filters: Option<FiltersFile>,
    /// Path parameter → body id field.
    pub id_field_map: Option<BTreeMap<String, Value>>,
    /// Renames per derived kind.
    pub kinds: Option<BTreeMap<String, KindFile>>,
}

/// `runtime:` (one of the two keys).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuntimeFile {
    /// Path to the runtime crate (relative to the config file).
    pub path: Option<Value>,
    /// crates.io version requirement.
    pub version: Option<Value>,
}

/// `filters:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FiltersFile {
    /// See [`Filters::include_paths`].
    pub include_paths: Option<Vec<Value>>,
    /// See [`Filters::exclude_paths`].
    pub exclude_paths: Option<Vec<Value>>,
    /// See [`Filters::include_tags`].
    pub include_tags: Option<Vec<Value>>,
    /// See [`Filters::exclude_tags`].
    pub exclude_tags: Option<Vec<Value>>,
    /// See [`Filters::include_operations`].
    pub include_operations: Option<Vec<Value>>,
    /// See [`Filters::exclude_operations`].
    pub exclude_operations: Option<Vec<Value>>,
}

/// `kinds.<Kind>:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KindFile {
    /// New kind name.
    pub kind: Option<Value>,
    /// New plural.
    pub plural: Option<Value>,
    /// Short names.
    pub short_names: Option<Vec<Value>>,
    /// JSON field name → Rust identifier.
    pub fields: Option<BTreeMap<String, Value>>,
    /// Fields never reported as drift (JSON pointers or dotted paths).
    pub ignore_fields: Option<Vec<Value>>,
}

/// A parsed and validated config file.
#[derive(Debug)]
pub struct Loaded {
    /// The file as found or given (used in messages).
    pub path: PathBuf,
    /// The settings.
    pub file: FileConfig,
}

/// Finds the config file: `explicit` if given (it must exist), else the first of [`FILE_NAMES`]
/// next to a file spec, else in the current directory. Two candidates in one directory are an error.
pub fn discover(explicit: Option<&Path>, spec: Option<&str>) -> Result<Option<PathBuf>> {
    if let Some(path) = explicit {
        return Ok(Some(path.to_path_buf()));
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(spec) = spec.filter(|s| !s.starts_with("http://") && !s.starts_with("https://")) {
        let parent = Path::new(spec)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        dirs.push(parent);
    }
    dirs.push(PathBuf::new());
    for dir in dirs {
        let found: Vec<PathBuf> = FILE_NAMES
            .iter()
            .map(|name| dir.join(name))
            .filter(|p| p.is_file())
            .collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(Some(one.clone())),
            [first, second, ..] => {
                return Err(Error::Config {
                    file: first.display().to_string(),
                    line: 0,
                    column: 0,
                    key: String::new(),
                    reason: format!(
                        "{} also exists; keep one config file or pass --config",
                        second.display()
                    ),
                });
            }
        }
    }
    Ok(None)
}

/// Reads, parses and validates a config file.
pub fn load(path: &Path) -> Result<Loaded> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        file: path.display().to_string(),
        line: 0,
        column: 0,
        key: String::new(),
        reason: format!("cannot read the config file: {e}"),
    })?;
    let file = parse(&path.display().to_string(), &text)?;
    Ok(Loaded {
        path: path.to_path_buf(),
        file,
    })
}

/// Parses and validates config text (`name` is used in messages).
pub fn parse(name: &str, text: &str) -> Result<FileConfig> {
    let mut key = None;
    let options = serde_saphyr::options! { with_snippet: false };
    let parsed = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize::<_, Option<FileConfig>>(de).map_err(|e| {
            key = Some(e.path().to_string());
            e.into_inner()
        })
    });
    let file = match parsed {
        Ok(file) => file.unwrap_or_default(),
        Err(e) => {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let message = e.to_string();
            let reason = strip_location(&message).trim().to_owned();
            let key = key.filter(|k| k != ".").unwrap_or_default();
            return Err(Error::Config {
                file: name.to_owned(),
                line,
                column,
                key,
                reason,
            });
        }
    };
    validate(name, &file)?;
    Ok(file)
}

fn strip_location(message: &str) -> &str {
    let rest = message.strip_prefix("error: ").unwrap_or(message);
    let rest = rest
        .strip_prefix("line ")
        .and_then(|r| r.split_once(": ").map(|(_, reason)| reason))
        .unwrap_or(rest);
    let first = rest.lines().next().unwrap_or(rest);
    match first.rfind(" at line ") {
        Some(at) if first[at..].contains(", column ") => &first[..at],
        _ => first,
    }
}

fn located(name: &str, at: &Location, key: impl Into<String>, reason: String) -> Error {
    Error::Config {
        file: name.to_owned(),
        line: at.line(),
        column: at.column(),
        key: key.into(),
        reason,
    }
}

fn check(
    name: &str,
    value: Option<&Value>,
    key: &str,
    rule: fn(&str) -> std::result::Result<(), String>,
) -> Result<()> {
    match value {
        Some(v) => rule(&v.value).map_err(|reason| located(name, &v.referenced, key, reason)),
        None => Ok(()),
    }
}

fn validate(name: &str, file: &FileConfig) -> Result<()> {
    check(name, file.group.as_ref(), "group", naming::validate_group)?;
    check(
        name,
        file.api_version.as_ref(),
        "apiVersion",
        naming::validate_api_version,
    )?;
    check(name, file.root_kind.as_ref(), "rootKind", naming::validate_kind)?;
    check(name, file.workspace.as_ref(), "workspace", |w| {
        workspace_mode(w).map(|_| ())
    })?;
    for (key, value) in [("spec", &file.spec), ("output", &file.output)] {
        check(name, value.as_ref(), key, non_empty)?;
    }
    if let Some(rt) = &file.runtime {
        match (&rt.path, &rt.version) {
            (Some(_), Some(v)) => {
                return Err(located(
                    name,
                    &v.referenced,
                    "runtime.version",
                    "set either runtime.path or runtime.version, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err(located(
                    name,
                    &Location::UNKNOWN,
                    "runtime",
                    "needs `path` or `version`".to_owned(),
                ));
            }
            _ => {}
        }
        check(name, rt.path.as_ref(), "runtime.path", non_empty)?;
        check(name, rt.version.as_ref(), "runtime.version", non_empty)?;
    }
    if let Some(f) = &file.filters
        && let Err((list, index, reason)) = filters(f).validate()
    {
        let at = filter_list(f, list)
            .and_then(|l| l.get(index))
            .map_or(Location::UNKNOWN, |v| v.referenced);
        return Err(located(name, &at, format!("filters.{list}[{index}]"), reason));
    }
    for (param, field) in file.id_field_map.iter().flatten() {
        check(name, Some(field), &format!("idFieldMap.{param}"), non_empty)?;
    }
    for (kind, k) in file.kinds.iter().flatten() {
        let key = |rest: &str| format!("kinds.{kind}.{rest}");
        check(name, k.kind.as_ref(), &key("kind"), naming::validate_kind)?;
        check(name, k.plural.as_ref(), &key("plural"), naming::validate_plural)?;
        for (i, short) in k.short_names.iter().flatten().enumerate() {
            check(
                name,
                Some(short),
                &key(&format!("shortNames[{i}]")),
                naming::validate_plural,
            )?;
        }
        for (i, field) in k.ignore_fields.iter().flatten().enumerate() {
            check(name, Some(field), &key(&format!("ignoreFields[{i}]")), non_empty)?;
        }
        for (json, ident) in k.fields.iter().flatten() {
            check(
                name,
                Some(ident),
                &key(&format!("fields.{json}")),
                naming::validate_field_ident,
            )?;
        }
    }
    Ok(())
}

fn non_empty(value: &str) -> std::result::Result<(), String> {
    if value.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(())
    }
}

/// Parses a `workspace` value.
pub fn workspace_mode(value: &str) -> std::result::Result<WorkspaceMode, String> {
    match value {
        "auto" => Ok(WorkspaceMode::Auto),
        "standalone" => Ok(WorkspaceMode::Standalone),
        "member" => Ok(WorkspaceMode::Member),
        other => Err(format!("{other:?} is not one of auto, standalone, member")),
    }
}

fn filter_list<'a>(f: &'a FiltersFile, list: &str) -> Option<&'a Vec<Value>> {
    match list {
        "includePaths" => f.include_paths.as_ref(),
        "excludePaths" => f.exclude_paths.as_ref(),
        "includeTags" => f.include_tags.as_ref(),
        "excludeTags" => f.exclude_tags.as_ref(),
        "includeOperations" => f.include_operations.as_ref(),
        "excludeOperations" => f.exclude_operations.as_ref(),
        _ => None,
    }
}

/// Lexically drops `.` and `dir/..` pairs (`conf/../spec.yaml` → `spec.yaml`), so messages and
/// the generated README show the short path. Leading `..` components are kept.
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

fn strings(list: Option<&Vec<Value>>) -> Vec<String> {
    list.map(|l| l.iter().map(|v| v.value.clone()).collect())
        .unwrap_or_default()
}

/// The file's filters as plain lists.
pub fn filters(f: &FiltersFile) -> Filters {
    Filters {
        include_paths: strings(f.include_paths.as_ref()),
        exclude_paths: strings(f.exclude_paths.as_ref()),
        include_tags: strings(f.include_tags.as_ref()),
        exclude_tags: strings(f.exclude_tags.as_ref()),
        include_operations: strings(f.include_operations.as_ref()),
        exclude_operations: strings(f.exclude_operations.as_ref()),
    }
}

impl Loaded {
    /// A path from the file, relative to the file's directory (URLs unchanged).
    pub fn resolve(&self, value: &str) -> PathBuf {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        if dir.as_os_str().is_empty() || dir == Path::new(".") || Path::new(value).is_absolute() {
            PathBuf::from(value)
        } else {
            normalize(&dir.join(value))
        }
    }

    /// The spec as a command-line-style string (URLs unchanged, paths resolved).
    pub fn spec(&self) -> Option<String> {
        let spec = &self.file.spec.as_ref()?.value;
        if spec.starts_with("http://") || spec.starts_with("https://") {
            Some(spec.clone())
        } else {
            Some(self.resolve(spec).display().to_string())
        }
    }

    /// The runtime dependency, if set.
    pub fn runtime(&self) -> Option<RuntimeDep> {
        let rt = self.file.runtime.as_ref()?;
        match (&rt.path, &rt.version) {
            (Some(p), _) => Some(RuntimeDep::Path(self.resolve(&p.value))),
            (None, Some(v)) => Some(RuntimeDep::Version(v.value.clone())),
            (None, None) => None,
        }
    }

    /// `kinds` as overrides.
    pub fn kinds(&self) -> BTreeMap<String, KindOverride> {
        self.file
            .kinds
            .iter()
            .flatten()
            .map(|(name, k)| {
                let o = KindOverride {
                    kind: k.kind.as_ref().map(|v| v.value.clone()),
                    plural: k.plural.as_ref().map(|v| v.value.clone()),
                    short_names: k
                        .short_names
                        .as_ref()
                        .map(|l| l.iter().map(|v| v.value.clone()).collect()),
                    fields: k
                        .fields
                        .iter()
                        .flatten()
                        .map(|(j, v)| (j.clone(), v.value.clone()))
                        .collect(),
                    ignore_fields: k
                        .ignore_fields
                        .iter()
                        .flatten()
                        .map(|v| v.value.clone())
                        .collect(),
                };
                (name.clone(), o)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("c.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_column_and_key_path() {
        assert_eq!(
            err("kinds:\n  Pet:\n    kindd: X\n"),
            "c.yaml:3:5: kinds.Pet.kindd: unknown field `kindd`, expected one of kind, plural, shortNames, fields, ignoreFields"
        );
        assert_eq!(
            err("filters:\n  includePaths: [pet/*]\n"),
            "c.yaml:2:18: filters.includePaths[0]: \"pet/*\" must start with `/` (or be `*`), e.g. /pet/*"
        );
        assert_eq!(
            err("apiVersion: v1gamma\n"),
            "c.yaml:1:13: apiVersion: \"v1gamma\" is not a Kubernetes API version (v1, v1alpha1, v2beta1, …)"
        );
        assert!(err("runtime: {path: a, version: '1'}\n").contains("runtime.version"));
        assert!(err("kinds: {Pet: {plural: Pets}}\n").starts_with("c.yaml:1:23: kinds.Pet.plural:"));
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let loaded = |p: &str| Loaded {
            path: PathBuf::from(p),
            file: FileConfig::default(),
        };
        assert_eq!(loaded("c.yaml").resolve("a.yaml"), PathBuf::from("a.yaml"));
        assert_eq!(loaded("./c.yaml").resolve("a.yaml"), PathBuf::from("a.yaml"));
        assert_eq!(
            loaded("conf/c.yaml").resolve("../a.yaml"),
            PathBuf::from("a.yaml")
        );
        assert_eq!(
            loaded("conf/c.yaml").resolve("./x/a.yaml"),
            PathBuf::from("conf/x/a.yaml")
        );
        assert_eq!(
            loaded("../c.yaml").resolve("../a.yaml"),
            PathBuf::from("../../a.yaml")
        );
        assert_eq!(
            loaded("conf/c.yaml").resolve("/abs/a.yaml"),
            PathBuf::from("/abs/a.yaml")
        );
        assert_eq!(loaded("conf/c.yaml").resolve(".."), PathBuf::from("."));
    }

    #[test]
    fn empty_file_is_an_empty_config() {
        let f = parse("c.yaml", "").unwrap();
        assert!(f.spec.is_none() && f.kinds.is_none());
        let f = parse("c.yaml", "# only a comment\n").unwrap();
        assert!(f.filters.is_none());
    }
}
