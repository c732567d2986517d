//! The only module that touches the output directory: atomic, deterministic writes of an in-memory file set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Relative path (with `/`) → contents. Sorted, so output order never depends on hashing.
pub type Files = BTreeMap<String, String>;

/// What [`write`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Files created or replaced (relative paths).
    pub written: Vec<String>,
    /// Files already on disk with identical contents, left untouched (mtime kept, so cargo does not
    /// rebuild the generated crate after a no-op regeneration).
    pub unchanged: usize,
}

/// Writes `files` into `output` atomically, touching only files whose contents changed.
///
/// Changed files are first written into a fresh temporary directory next to `output`. If `output`
/// does not exist, the temporary directory is renamed into place. If it exists, each changed file
/// is renamed over its old version (other files in `output` are left alone). On any failure the
/// temporary directory is removed and `output` is untouched.
pub fn write(files: &Files, output: &Path) -> Result<WriteSummary> {
    let changed: Files = files
        .iter()
        .filter(|(rel, contents)| {
            std::fs::read(output.join(rel.as_str())).map_or(true, |old| old != contents.as_bytes())
        })
        .map(|(rel, contents)| (rel.clone(), contents.clone()))
        .collect();
    let summary = WriteSummary {
        written: changed.keys().cloned().collect(),
        unchanged: files.len() - changed.len(),
    };
    if changed.is_empty() {
        return Ok(summary);
    }
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| Error::Io {
        path: parent.clone(),
        source,
    })?;
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_owned());
    let staging = unique_dir(&parent, &name)?;
    let result = stage(&changed, &staging).and_then(|()| commit(&changed, &staging, output));
    // The staging dir is empty (or was renamed) on success; remove leftovers either way.
    let _ = std::fs::remove_dir_all(&staging);
    result.map(|()| summary)
}

fn unique_dir(parent: &Path, name: &str) -> Result<PathBuf> {
    for n in 0..1000u32 {
        let candidate = parent.join(format!(".{name}.openapi-operator-gen.{}.{n}", std::process::id()));
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(Error::Io {
                    path: candidate,
                    source,
                });
            }
        }
    }
    Err(Error::Io {
        path: parent.to_path_buf(),
        source: std::io::Error::other("cannot create a temporary directory"),
    })
}

fn stage(files: &Files, staging: &Path) -> Result<()> {
    for (rel, contents) in files {
        let path = staging.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, contents).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

fn commit(files: &Files, staging: &Path, output: &Path) -> Result<()> {
    if !output.exists() {
        return std::fs::rename(staging, output).map_err(|source| Error::Io {
            path: output.to_path_buf(),
            source,
        });
    }
    if !output.is_dir() {
        return Err(Error::Io {
            path: output.to_path_buf(),
            source: std::io::Error::other("exists and is not a directory"),
        });
    }
    for rel in files.keys() {
        let target = output.join(rel);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let from = staging.join(rel);
        std::fs::rename(&from, &target).map_err(|source| Error::Io {
            path: target.clone(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_new_tree_and_replaces_only_generated_files() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("crate");
        let mut files = Files::new();
        files.insert("a.txt".into(), "1".into());
        files.insert("src/b.rs".into(), "2".into());
        write(&files, &out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("src/b.rs")).unwrap(), "2");
        std::fs::write(out.join("keep.txt"), "mine").unwrap();
        let b_modified = std::fs::metadata(out.join("src/b.rs"))
            .unwrap()
            .modified()
            .unwrap();
        files.insert("a.txt".into(), "3".into());
        let summary = write(&files, &out).unwrap();
        assert_eq!(
            summary,
            WriteSummary {
                written: vec!["a.txt".into()],
                unchanged: 1
            }
        );
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "3");
        assert_eq!(
            std::fs::metadata(out.join("src/b.rs"))
                .unwrap()
                .modified()
                .unwrap(),
            b_modified,
            "an unchanged file is not rewritten"
        );
        assert_eq!(write(&files, &out).unwrap().written, Vec::<String>::new());
        assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no staging directory is left behind");
    }
}
