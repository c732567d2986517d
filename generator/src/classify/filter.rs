//! Path, tag and operationId filters (`filters` in the config file): glob matching, validation, and
//! removal of filtered operations before classification.
//!
//! Path patterns (a trailing `/` is ignored on both sides):
//!
//! | Pattern       | Matches                                       |
//! |---------------|-----------------------------------------------|
//! | `/pet`        | exactly `/pet`                                |
//! | `/pet/*`      | `/pet` and everything below it                |
//! | `/pet/?`      | `/pet/<one segment>`                          |
//! | `/a/*/b`      | `*` in the middle: exactly one segment        |
//! | `/pet/{x}`    | `{param}`: any one segment                    |
//! | `/pet*`       | `*` inside a segment: any characters in it    |
//! | `*`           | every path                                    |
//!
//! Excludes beat includes. Tags compare case-insensitively; operationIds are case-sensitive globs
//! (`*` = any characters). An operation without an operationId never matches an operationId
//! pattern (so a non-empty `includeOperations` filters it out).

use std::borrow::Cow;

use openapiv3::{OpenAPI, Operation, PathItem, ReferenceOr};

use crate::model::{Filtered, FilteredBy, HttpMethod};

/// The six filter lists, as given (validated by [`Filters::validate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Path patterns an operation's path must match (any); empty = all paths.
    pub include_paths: Vec<String>,
    /// Path patterns that remove an operation.
    pub exclude_paths: Vec<String>,
    /// Tags (case-insensitive) of which an operation must carry one; empty = all.
    pub include_tags: Vec<String>,
    /// Tags (case-insensitive) that remove an operation.
    pub exclude_tags: Vec<String>,
    /// operationId globs an operation must match (any); empty = all.
    pub include_operations: Vec<String>,
    /// operationId globs that remove an operation.
    pub exclude_operations: Vec<String>,
}

/// Which filter list an invalid pattern is in (for messages: the config key name).
pub type ListName = &'static str;

impl Filters {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.lists().iter().all(|(_, l)| l.is_empty())
    }

    fn lists(&self) -> [(ListName, &Vec<String>); 6] {
        [
            ("includePaths", &self.include_paths),
            ("excludePaths", &self.exclude_paths),
            ("includeTags", &self.include_tags),
            ("excludeTags", &self.exclude_tags),
            ("includeOperations", &self.include_operations),
            ("excludeOperations", &self.exclude_operations),
        ]
    }

    /// Checks every pattern; on failure returns (list key, index in the list, reason).
    pub fn validate(&self) -> Result<(), (ListName, usize, String)> {
        for (name, list) in self.lists() {
            for (i, pattern) in list.iter().enumerate() {
                check(name, pattern).map_err(|reason| (name, i, reason))?;
            }
        }
        Ok(())
    }

    /// Why an operation is filtered out, or `None` if it passes.
    pub fn verdict(&self, path: &str, op: &Operation) -> Option<FilteredBy> {
        let any_path = |list: &[String]| list.iter().any(|p| path_matches(p, path));
        if (!self.include_paths.is_empty() && !any_path(&self.include_paths)) || any_path(&self.exclude_paths)
        {
            return Some(FilteredBy::Path);
        }
        let has_tag = |list: &[String]| {
            op.tags
                .iter()
                .any(|t| list.iter().any(|want| want.eq_ignore_ascii_case(t)))
        };
        if (!self.include_tags.is_empty() && !has_tag(&self.include_tags)) || has_tag(&self.exclude_tags) {
            return Some(FilteredBy::Tag);
        }
        let id_matches = |list: &[String]| {
            op.operation_id
                .as_deref()
                .is_some_and(|id| list.iter().any(|p| glob_matches(p, id)))
        };
        if (!self.include_operations.is_empty() && !id_matches(&self.include_operations))
            || id_matches(&self.exclude_operations)
        {
            return Some(FilteredBy::Operation);
        }
        None
    }
}

fn check(list: ListName, pattern: &str) -> Result<(), String> {
    if pattern.trim().is_empty() {
        return Err("empty pattern".to_owned());
    }
    if pattern.chars().any(char::is_whitespace) {
        return Err(format!("{pattern:?} contains whitespace"));
    }
    if list.ends_with("Paths") {
        check_path_pattern(pattern)
    } else if list.ends_with("Operations") && pattern.contains(['?', '[', ']', '{', '}']) {
        Err(format!(
            "{pattern:?}: operationId patterns support only `*` (any characters)"
        ))
    } else {
        Ok(())
    }
}

/// Validates a path pattern (see the module docs).
pub fn check_path_pattern(pattern: &str) -> Result<(), String> {
    if pattern == "*" {
        return Ok(());
    }
    if !pattern.starts_with('/') {
        return Err(format!(
            "{pattern:?} must start with `/` (or be `*`), e.g. /pet/*"
        ));
    }
    let segs = segments(pattern);
    for (i, seg) in segs.iter().enumerate() {
        if *seg == "?" {
            if i + 1 != segs.len() {
                return Err(format!("{pattern:?}: `?` is only allowed as the last segment"));
            }
            continue;
        }
        if seg.contains("**") {
            return Err(format!(
                "{pattern:?}: `**` is not supported; a trailing `/*` already matches everything below"
            ));
        }
        if seg.contains('?') {
            return Err(format!("{pattern:?}: `?` must be a whole segment (`/x/?`)"));
        }
        let braces = seg.contains(['{', '}']);
        if braces {
            let ok = seg
                .strip_prefix('{')
                .and_then(|s| s.strip_suffix('}'))
                .is_some_and(|name| !name.is_empty() && !name.contains(['{', '}', '*']));
            if !ok {
                return Err(format!(
                    "{pattern:?}: `{seg}` is not a path parameter; use a whole segment like {{id}}"
                ));
            }
        }
    }
    Ok(())
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    pattern == "*"
        || pattern == "?"
        || (pattern.starts_with('{') && pattern.ends_with('}'))
        || glob_matches(pattern, segment)
}

/// Whether `path` matches a path pattern (see the module docs). Invalid patterns match nothing
/// beyond their literal reading; they are rejected earlier by [`Filters::validate`].
pub fn path_matches(pattern: &str, path: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pat = segments(pattern);
    let segs = segments(path);
    let prefix_matches = |n: usize| {
        pat.iter()
            .take(n)
            .zip(segs.iter())
            .all(|(p, s)| segment_matches(p, s))
    };
    match pat.last() {
        Some(&"*") => segs.len() + 1 >= pat.len() && prefix_matches(pat.len() - 1),
        _ => segs.len() == pat.len() && prefix_matches(pat.len()),
    }
}

/// `*` matches any run of characters (including none); everything else is literal and case-sensitive.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn slots(item: &mut PathItem) -> [(HttpMethod, &mut Option<Operation>); 8] {
    [
        (HttpMethod::Get, &mut item.get),
        (HttpMethod::Put, &mut item.put),
        (HttpMethod::Post, &mut item.post),
        (HttpMethod::Delete, &mut item.delete),
        (HttpMethod::Options, &mut item.options),
        (HttpMethod::Head, &mut item.head),
        (HttpMethod::Patch, &mut item.patch),
        (HttpMethod::Trace, &mut item.trace),
    ]
}

/// The document without filtered operations (borrowed unchanged when nothing is filtered), and
/// the filtered operations in path order.
pub(super) fn apply<'a>(api: &'a OpenAPI, filters: &Filters) -> (Cow<'a, OpenAPI>, Vec<Filtered>) {
    if filters.is_empty() {
        return (Cow::Borrowed(api), Vec::new());
    }
    let mut out = api.clone();
    let mut filtered = Vec::new();
    for (path, item) in out.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        for (method, slot) in slots(item) {
            let Some(op) = slot.as_ref() else { continue };
            if let Some(by) = filters.verdict(path, op) {
                filtered.push(Filtered {
                    method,
                    path: path.clone(),
                    operation_id: op.operation_id.clone(),
                    by,
                });
                *slot = None;
            }
        }
    }
    (Cow::Owned(out), filtered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_glob_semantics_table() {
        let table: &[(&str, &str, bool)] = &[
            ("/pet", "/pet", true),
            ("/pet", "/pet/", true),
            ("/pet/", "/pet", true),
            ("/pet", "/pets", false),
            ("/pet", "/pet/{petId}", false),
            ("/pet/*", "/pet", true),
            ("/pet/*", "/pet/{petId}", true),
            ("/pet/*", "/pet/{petId}/uploadImage", true),
            ("/pet/*", "/petx", false),
            ("/pet/*", "/store/order", false),
            ("/pet/?", "/pet", false),
            ("/pet/?", "/pet/findByTags", true),
            ("/pet/?", "/pet/{petId}/uploadImage", false),
            ("/*/order", "/store/order", true),
            ("/*/order", "/order", false),
            ("/*/order", "/a/b/order", false),
            ("/pet/{id}", "/pet/{petId}", true),
            ("/pet/{id}", "/pet/findByStatus", true),
            ("/pet/{id}/uploadImage", "/pet/{petId}/uploadImage", true),
            ("/pet/find*", "/pet/findByStatus", true),
            ("/pet/find*", "/pet/{petId}", false),
            ("/*", "/", true),
            ("/*", "/anything/at/all", true),
            ("*", "/x/y", true),
            ("/", "/", true),
            ("/", "/pet", false),
            ("/Pet", "/pet", false),
        ];
        for (pattern, path, want) in table {
            assert!(check_path_pattern(pattern).is_ok(), "{pattern}");
            assert_eq!(path_matches(pattern, path), *want, "{pattern} vs {path}");
        }
    }

    #[test]
    fn invalid_path_patterns_are_rejected() {
        for bad in [
            "pet/*",
            "/pet/?/x",
            "/a/**",
            "/pet/{id",
            "/pet/x{id}",
            "/pet/{}",
            "/p?t",
            "",
        ] {
            let err = Filters {
                include_paths: vec![bad.to_owned()],
                ..Filters::default()
            }
            .validate();
            assert!(err.is_err(), "{bad:?} accepted");
        }
        let err = Filters {
            exclude_operations: vec!["get?".into()],
            ..Filters::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!((err.0, err.1), ("excludeOperations", 0));
    }

    #[test]
    fn operation_globs_are_case_sensitive() {
        let table: &[(&str, &str, bool)] = &[
            ("getPet", "getPet", true),
            ("getPet", "getpet", false),
            ("get*", "getPetById", true),
            ("*ById", "getPetById", true),
            ("*Pet*", "updatePetWithForm", true),
            ("get*Id", "getPetById", true),
            ("get*Id", "getPetByIdx", false),
            ("a*a", "a", false),
            ("*", "", true),
        ];
        for (pattern, text, want) in table {
            assert_eq!(glob_matches(pattern, text), *want, "{pattern} vs {text}");
        }
    }

    fn op(id: Option<&str>, tags: &[&str]) -> Operation {
        Operation {
            operation_id: id.map(str::to_owned),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..Operation::default()
        }
    }

    #[test]
    fn excludes_beat_includes_and_tags_ignore_case() {
        let f = Filters {
            include_paths: vec!["/pet/*".into()],
            exclude_paths: vec!["/pet/{id}/uploadImage".into()],
            include_tags: vec!["PET".into()],
            exclude_tags: vec!["internal".into()],
            include_operations: vec!["*Pet*".into()],
            exclude_operations: vec!["updatePetWithForm".into()],
        };
        let pet = op(Some("addPet"), &["pet"]);
        assert_eq!(f.verdict("/pet", &pet), None);
        assert_eq!(f.verdict("/store", &pet), Some(FilteredBy::Path));
        assert_eq!(
            f.verdict("/pet/{petId}/uploadImage", &pet),
            Some(FilteredBy::Path)
        );
        assert_eq!(
            f.verdict("/pet", &op(Some("addPet"), &["store"])),
            Some(FilteredBy::Tag)
        );
        assert_eq!(
            f.verdict("/pet", &op(Some("addPet"), &["pet", "Internal"])),
            Some(FilteredBy::Tag)
        );
        assert_eq!(
            f.verdict("/pet/{petId}", &op(Some("updatePetWithForm"), &["pet"])),
            Some(FilteredBy::Operation)
        );
        assert_eq!(
            f.verdict("/pet", &op(None, &["pet"])),
            Some(FilteredBy::Operation)
        );
        assert_eq!(
            f.verdict("/pet", &op(Some("findStore"), &["pet"])),
            Some(FilteredBy::Operation)
        );
        let only_exclude = Filters {
            exclude_operations: vec!["x".into()],
            ..Filters::default()
        };
        assert_eq!(only_exclude.verdict("/pet", &op(None, &[])), None);
        assert!(Filters::default().is_empty() && !only_exclude.is_empty());
    }
}
