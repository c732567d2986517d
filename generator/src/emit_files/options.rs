//! Output-location facts the non-Rust files need: the runtime dependency line, workspace membership, the regenerate command.

use std::path::{Component, Path, PathBuf};

use crate::config::{Config, RuntimeDep, SpecSource, WorkspaceMode};

/// Facts about where and how the crate is generated (not part of the IR: they depend on paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `openapi-operator-runtime = { ... }` line.
    pub runtime_dependency: String,
    /// Runtime path relative to the crate (`../../runtime`), when by path.
    pub runtime_path: Option<String>,
    /// Crate directory relative to the Docker build context (when the runtime is a path dependency).
    pub docker_crate_dir: Option<String>,
    /// Add an empty `[workspace]` table.
    pub standalone: bool,
    /// Command line that regenerates the crate.
    pub regenerate_command: String,
}

impl Options {
    /// Computes the options from a config (reads the file system only to detect an enclosing workspace).
    pub fn from_config(config: &Config) -> Self {
        let output_abs = absolute(&config.output);
        let (runtime_dependency, runtime_path) = match &config.runtime {
            Some(RuntimeDep::Version(v)) => (format!("openapi-operator-runtime = \"{v}\""), None),
            Some(RuntimeDep::Path(p)) => path_dep(&output_abs, &absolute(p)),
            None => {
                let own = normalize(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime"));
                if own.join("Cargo.toml").is_file() {
                    path_dep(&output_abs, &own)
                } else {
                    (format!("openapi-operator-runtime = \"{}\"", crate::VERSION), None)
                }
            }
        };
        let docker_crate_dir = runtime_path.as_deref().map(|rel| {
            let ups = Path::new(rel)
                .components()
                .take_while(|c| matches!(c, Component::ParentDir))
                .count()
                .max(1);
            let parts: Vec<String> = output_abs
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            parts
                .get(parts.len().saturating_sub(ups)..)
                .unwrap_or_default()
                .join("/")
        });
        let standalone = match config.workspace {
            WorkspaceMode::Standalone => true,
            WorkspaceMode::Member => false,
            WorkspaceMode::Auto => !is_workspace_member(&output_abs),
        };
        Self {
            runtime_dependency,
            runtime_path,
            docker_crate_dir,
            standalone,
            regenerate_command: regenerate(config),
        }
    }
}

fn path_dep(output: &Path, runtime: &Path) -> (String, Option<String>) {
    let rel = relative(output, runtime);
    (
        format!("openapi-operator-runtime = {{ path = \"{rel}\" }}"),
        Some(rel),
    )
}

fn regenerate(config: &Config) -> String {
    let quote = |s: &str| {
        if s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c))
        {
            s.to_owned()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let spec = match &config.spec {
        SpecSource::Path(p) => p.display().to_string(),
        SpecSource::Url(u) => u.clone(),
    };
    let mut args = vec![
        "openapi-operator-gen".to_owned(),
        "--spec".to_owned(),
        quote(&spec),
        "--output".to_owned(),
        quote(&config.output.display().to_string()),
    ];
    if let Some(g) = &config.group {
        args.extend(["--group".to_owned(), quote(g)]);
    }
    if config.api_version != "v1alpha1" {
        args.extend(["--api-version".to_owned(), quote(&config.api_version)]);
    }
    if let Some(k) = &config.root_kind {
        args.extend(["--root-kind".to_owned(), quote(k)]);
    }
    match &config.runtime {
        Some(RuntimeDep::Path(p)) => {
            args.extend(["--runtime-path".to_owned(), quote(&p.display().to_string())])
        }
        Some(RuntimeDep::Version(v)) => args.extend(["--runtime-version".to_owned(), quote(v)]),
        None => {}
    }
    match config.workspace {
        WorkspaceMode::Standalone => args.push("--standalone".to_owned()),
        WorkspaceMode::Member => args.push("--workspace-member".to_owned()),
        WorkspaceMode::Auto => {}
    }
    args.join(" ")
}

/// Absolute, lexically normalized path (no file-system access besides the current directory).
fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    normalize(&joined)
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `to` relative to `from` (both absolute and normalized), with `/` separators.
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len().saturating_sub(common)];
    parts.extend(
        to.iter()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// Whether a `Cargo.toml` with `[workspace]` above `output` lists it in `members` (globs with `*`).
fn is_workspace_member(output: &Path) -> bool {
    let mut dir = output.parent();
    while let Some(d) = dir {
        if let Some(members) = std::fs::read_to_string(d.join("Cargo.toml"))
            .ok()
            .as_deref()
            .and_then(workspace_members)
        {
            let rel = relative(d, output);
            return members.iter().any(|m| glob_match(m.trim_end_matches('/'), &rel));
        }
        dir = d.parent();
    }
    false
}

/// The `members` strings of a `[workspace]` table, or `None` when there is no workspace table.
fn workspace_members(toml: &str) -> Option<Vec<String>> {
    let start = toml.lines().position(|l| l.trim() == "[workspace]")?;
    let mut members = Vec::new();
    let mut in_members = false;
    for line in toml.lines().skip(start + 1) {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') && !in_members {
            break;
        }
        let rest = if in_members {
            line
        } else if let Some(rest) = line.strip_prefix("members") {
            in_members = true;
            rest.trim_start().trim_start_matches('=').trim()
        } else {
            continue;
        };
        for piece in rest.split('"').skip(1).step_by(2) {
            members.push(piece.to_owned());
        }
        if rest.contains(']') {
            in_members = false;
        }
    }
    Some(members)
}

fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| segment_match(p, s))
}

fn segment_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            text.starts_with(prefix)
                && (0..=text.len().saturating_sub(prefix.len())).any(|i| {
                    text.get(prefix.len() + i..)
                        .is_some_and(|tail| segment_match(rest, tail))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(
                Path::new("/r/generated-examples/petstore"),
                Path::new("/r/runtime")
            ),
            "../../runtime"
        );
        assert_eq!(relative(Path::new("/a"), Path::new("/a")), ".");
    }

    #[test]
    fn workspace_members_are_parsed_and_globbed() {
        let toml = "[workspace]\nresolver = \"3\"\nmembers = [\n    \"generator\", # gen\n    \"generated-examples/*\",\n]\n\n[workspace.package]\n";
        let members = workspace_members(toml).unwrap();
        assert_eq!(members, vec!["generator", "generated-examples/*"]);
        assert!(glob_match("generated-examples/*", "generated-examples/petstore"));
        assert!(!glob_match("generated-examples/*", "generated-examples/a/b"));
        assert!(glob_match("ex-*-op", "ex-pet-op"));
        assert_eq!(workspace_members("[package]\nname = \"x\"\n"), None);
    }
}
