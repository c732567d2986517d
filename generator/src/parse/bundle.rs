//! External `$ref` bundling: referenced parts of sibling files (or URLs) are copied into the root document's components under unique names and the refs rewritten; cycles terminate.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::walk::for_each_ref;
use super::{escape_pointer_token, load};
use crate::config::SpecSource;
use crate::error::{Error, Result};

/// Most external targets imported from one spec (a guard against runaway inputs).
const MAX_IMPORTS: usize = 10_000;
/// Longest chain of files referencing files (bounds the recursion).
const MAX_NESTING: usize = 64;

/// Where a document lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Location {
    Path(PathBuf),
    Url(String),
}

impl Location {
    fn display(&self) -> String {
        match self {
            Self::Path(p) => p.display().to_string(),
            Self::Url(u) => u.clone(),
        }
    }

    /// `relative` (the file part of a `$ref`) resolved against this document.
    fn join(&self, relative: &str) -> std::result::Result<Self, String> {
        if relative.starts_with("http://") || relative.starts_with("https://") {
            return Ok(Self::Url(relative.to_owned()));
        }
        match self {
            Self::Path(p) => {
                let dir = p.parent().unwrap_or(Path::new(""));
                Ok(Self::Path(normalize(&dir.join(relative))))
            }
            Self::Url(u) => reqwest::Url::parse(u)
                .and_then(|base| base.join(relative))
                .map(|url| Self::Url(url.to_string()))
                .map_err(|e| format!("cannot resolve {relative:?} against {u}: {e}")),
        }
    }
}

/// Drops `.` and folds `..` lexically (the file may not exist; no canonicalization).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Rewrites every external `$ref` of `root` (loaded from `source`) into an internal one.
pub(super) fn bundle(source: &SpecSource, root: &mut Value) -> Result<()> {
    if !has_external_refs(root) {
        return Ok(());
    }
    let location = match source {
        SpecSource::Path(p) => Location::Path(normalize(p)),
        SpecSource::Url(u) => Location::Url(u.clone()),
    };
    let swagger = root.get("swagger").is_some();
    let mut bundler = Bundler {
        root: location.clone(),
        swagger,
        docs: HashMap::new(),
        names: HashMap::new(),
        taken: HashSet::new(),
        added: Vec::new(),
        depth: 0,
    };
    for (section, _) in SECTIONS {
        let path = bundler.target(section);
        if let Some(Value::Object(existing)) = lookup_path(root, &path) {
            for name in existing.keys() {
                bundler.taken.insert((path.join("/"), name.clone()));
            }
        }
    }
    bundler.rewrite(root, &location)?;
    for (path, name, value) in std::mem::take(&mut bundler.added) {
        insert_at(root, &path, name, value);
    }
    Ok(())
}

fn has_external_refs(root: &Value) -> bool {
    match root {
        Value::Object(map) => {
            matches!(map.get("$ref"), Some(Value::String(r)) if !r.starts_with('#'))
                || map.values().any(has_external_refs)
        }
        Value::Array(items) => items.iter().any(has_external_refs),
        _ => false,
    }
}

/// Component section by the parent token of the fragment, with the 3.0 name.
const SECTIONS: &[(&str, &[&str])] = &[
    ("schemas", &["schemas", "definitions", "$defs"]),
    ("parameters", &["parameters"]),
    ("responses", &["responses"]),
    ("requestBodies", &["requestBodies"]),
    ("headers", &["headers"]),
];

struct Bundler {
    root: Location,
    swagger: bool,
    docs: HashMap<Location, Value>,
    names: HashMap<(Location, String), String>,
    taken: HashSet<(String, String)>,
    added: Vec<(Vec<String>, String, Value)>,
    depth: usize,
}

impl Bundler {
    /// Where a section lives in the root document (`definitions` etc. for Swagger 2.0).
    fn target(&self, section: &str) -> Vec<String> {
        match (self.swagger, section) {
            (true, "schemas" | "requestBodies" | "headers") => vec!["definitions".to_owned()],
            (true, other) => vec![other.to_owned()],
            (false, other) => vec!["components".to_owned(), other.to_owned()],
        }
    }

    /// Rewrites the refs of `node`, which lives in the document at `at`.
    fn rewrite(&mut self, node: &mut Value, at: &Location) -> Result<()> {
        let mut refs: Vec<(String, String)> = Vec::new();
        for_each_ref(node, "", &mut |reference, pointer| {
            refs.push((pointer.to_owned(), reference.clone()));
        });
        let mut rewritten: HashMap<String, String> = HashMap::new();
        let mut inlined: Vec<(String, Value)> = Vec::new();
        for (pointer, reference) in refs {
            let (file_part, fragment) = reference.split_once('#').unwrap_or((reference.as_str(), ""));
            if file_part.is_empty() && at == &self.root {
                continue;
            }
            let fail = |reason: String| Error::ExternalRef {
                file: at.display(),
                pointer: format!("{pointer}/$ref"),
                reference: reference.clone(),
                reason,
            };
            let target = if file_part.is_empty() {
                at.clone()
            } else {
                at.join(file_part).map_err(fail)?
            };
            if target == self.root {
                rewritten.insert(pointer, format!("#{fragment}"));
            } else if at == &self.root && is_path_item(&pointer) {
                // Path items have no components section in 3.0: the referenced one is inlined.
                let item = self.inline(&target, fragment).map_err(fail)?;
                inlined.push((pointer, item));
            } else {
                let internal = self
                    .import(&target, fragment, section_at(&pointer))
                    .map_err(fail)?;
                rewritten.insert(pointer, internal);
            }
        }
        for_each_ref(node, "", &mut |reference, pointer| {
            if let Some(new) = rewritten.get(pointer) {
                *reference = new.clone();
            }
        });
        for (pointer, item) in inlined {
            if let Some(slot) = node.pointer_mut(&pointer) {
                *slot = item;
            }
        }
        Ok(())
    }

    /// The (bundled) value at `fragment` of `target`, for inlining.
    fn inline(&mut self, target: &Location, fragment: &str) -> std::result::Result<Value, String> {
        let doc = self.document(target)?;
        let Some(found) = super::resolve::lookup(doc, &format!("#{fragment}")) else {
            return Err(format!("{} has no #{fragment}", target.display()));
        };
        let mut value = found.clone();
        self.nested(&mut value, target)?;
        Ok(value)
    }

    /// [`Self::rewrite`] one file deeper (bounded).
    fn nested(&mut self, value: &mut Value, at: &Location) -> std::result::Result<(), String> {
        if self.depth >= MAX_NESTING {
            return Err(format!("external $refs nest more than {MAX_NESTING} files deep"));
        }
        self.depth += 1;
        let rewritten = self.rewrite(value, at);
        self.depth -= 1;
        rewritten.map_err(|e| e.to_string())
    }

    /// Copies `fragment` of `target` into the root (once) and returns the internal ref to the copy.
    fn import(
        &mut self,
        target: &Location,
        fragment: &str,
        position: Option<&'static str>,
    ) -> std::result::Result<String, String> {
        let key = (target.clone(), fragment.to_owned());
        let tokens: Vec<String> = fragment
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        let parent = tokens.len().checked_sub(2).and_then(|i| tokens.get(i));
        let section = SECTIONS
            .iter()
            .find(|(_, parents)| parent.is_some_and(|p| parents.contains(&p.as_str())))
            .map(|(s, _)| *s)
            .or(position)
            .unwrap_or("schemas");
        let path = self.target(section);
        let reference = |name: &str| {
            let mut r = String::from("#");
            for token in path.iter().map(String::as_str).chain([name]) {
                r.push('/');
                r.push_str(&escape_pointer_token(token));
            }
            r
        };
        if let Some(name) = self.names.get(&key) {
            return Ok(reference(name));
        }
        if self.names.len() >= MAX_IMPORTS {
            return Err(format!("more than {MAX_IMPORTS} external targets"));
        }
        let doc = self.document(target)?;
        let Some(found) = super::resolve::lookup(doc, &format!("#{fragment}")) else {
            return Err(format!("{} has no #{fragment}", target.display()));
        };
        let mut value = found.clone();
        let base = match tokens.last() {
            Some(last) => last.clone(),
            None => file_stem(target),
        };
        let section_key = path.join("/");
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&(section_key.clone(), name.clone())) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.taken.insert((section_key, name.clone()));
        self.names.insert(key, name.clone());
        // Reserve the slot first so that components appear in the order they are first referenced.
        let slot = self.added.len();
        self.added.push((path.clone(), name.clone(), Value::Null));
        self.nested(&mut value, target)?;
        if let Some(entry) = self.added.get_mut(slot) {
            entry.2 = value;
        }
        Ok(reference(&name))
    }

    fn document(&mut self, target: &Location) -> std::result::Result<&Value, String> {
        if !self.docs.contains_key(target) {
            let source = match target {
                Location::Path(p) => SpecSource::Path(p.clone()),
                Location::Url(u) => SpecSource::Url(u.clone()),
            };
            let (file, text, format) = load::read(&source).map_err(|e| e.to_string())?;
            let doc = load::parse_text(&file, &text, format).map_err(|e| e.to_string())?;
            self.docs.insert(target.clone(), doc);
        }
        self.docs
            .get(target)
            .ok_or_else(|| format!("{} could not be loaded", target.display()))
    }
}

/// Whether a `$ref` at `pointer` (of the root document) stands for a whole path item.
fn is_path_item(pointer: &str) -> bool {
    pointer
        .strip_prefix("/paths/")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// The components section implied by where a `$ref` sits (`…/parameters/0`, `…/responses/200`, …).
fn section_at(pointer: &str) -> Option<&'static str> {
    let tokens: Vec<&str> = pointer.rsplit('/').take(3).collect();
    let (last, parent, grand) = (
        tokens.first().copied().unwrap_or(""),
        tokens.get(1).copied().unwrap_or(""),
        tokens.get(2).copied().unwrap_or(""),
    );
    if grand == "properties" || parent == "properties" {
        return None;
    }
    match (parent, last) {
        ("parameters", index) if index.parse::<usize>().is_ok() => Some("parameters"),
        ("responses", _) => Some("responses"),
        (_, "requestBody") => Some("requestBodies"),
        ("headers", _) => Some("headers"),
        _ => None,
    }
}

fn file_stem(target: &Location) -> String {
    let text = target.display();
    let last = text.rsplit(['/', '\\']).next().unwrap_or(&text);
    let stem = last.split('.').next().unwrap_or(last);
    if stem.is_empty() {
        "External".to_owned()
    } else {
        stem.to_owned()
    }
}

fn lookup_path<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(root, |node, key| node.get(key))
}

fn insert_at(root: &mut Value, path: &[String], name: String, value: Value) {
    let mut node = root;
    for key in path {
        let Value::Object(map) = node else { return };
        node = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(map) = node {
        map.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_joined_and_normalized() {
        let at = Location::Path("specs/x/root.yaml".into());
        assert_eq!(
            at.join("./defs/pet.json").unwrap(),
            Location::Path("specs/x/defs/pet.json".into())
        );
        assert_eq!(
            at.join("../common.yaml").unwrap(),
            Location::Path("specs/common.yaml".into())
        );
        let url = Location::Url("https://example.com/api/openapi.yaml".into());
        assert_eq!(
            url.join("defs/pet.yaml").unwrap(),
            Location::Url("https://example.com/api/defs/pet.yaml".into())
        );
    }

    #[test]
    fn stems_name_whole_file_imports() {
        assert_eq!(file_stem(&Location::Path("a/b/pet.json".into())), "pet");
        assert_eq!(
            file_stem(&Location::Url("https://x/y/Order.yaml".into())),
            "Order"
        );
    }

    #[test]
    fn the_section_follows_the_referencing_position() {
        assert_eq!(section_at("/paths/~1a/get/parameters/0"), Some("parameters"));
        assert_eq!(section_at("/paths/~1a/get/responses/200"), Some("responses"));
        assert_eq!(section_at("/paths/~1a/post/requestBody"), Some("requestBodies"));
        assert_eq!(
            section_at("/paths/~1a/get/responses/200/headers/X"),
            Some("headers")
        );
        assert_eq!(section_at("/components/schemas/A/properties/responses"), None);
        assert_eq!(
            section_at("/components/schemas/A/properties/parameters/items"),
            None
        );
        assert_eq!(section_at("/paths/~1a/post/requestBody/content/x/schema"), None);
        assert!(is_path_item("/paths/~1pets"));
        assert!(!is_path_item("/paths/~1pets/get"));
    }

    #[test]
    fn external_refs_are_detected() {
        assert!(has_external_refs(&serde_json::json!({"a": [{"$ref": "x.yaml"}]})));
        assert!(!has_external_refs(&serde_json::json!({"a": [{"$ref": "#/x"}]})));
    }
}
