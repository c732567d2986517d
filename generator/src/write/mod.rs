//! The only module that touches the output directory: atomic, deterministic writes of an in-memory
//! file set, the ownership manifest, and removal of stale generated files.

mod manifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use manifest::{Changes, MANIFEST, changes, is_generated, read_manifest, with_manifest};

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
    /// Stale generated files removed (listed in the old manifest, no longer generated).
    pub removed: Vec<String>,
}

/// Options of [`write_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Overwrite or delete files without an `@generated` header.
    pub force: bool,
}

/// [`write_with`] with default options (files the user owns are never touched).
pub fn write(files: &Files, output: &Path) -> Result<WriteSummary> {
    write_with(files, output, WriteOptions::default())
}

/// Writes `files` plus the manifest into `output` (see [`write_files`]), then removes generated
/// files of the previous run that are no longer produced and prunes emptied directories.
///
/// Before anything is written, fails with [`Error::NotOwned`] if a file to be replaced or removed
/// lacks the `@generated` header, unless `options.force`.
pub fn write_with(files: &Files, output: &Path, options: WriteOptions) -> Result<WriteSummary> {
    // Borrowed contents: the file set of a large spec is tens of megabytes, never copied.
    let manifest = manifest::manifest_text(files);
    let mut all = view(files);
    all.insert(MANIFEST, manifest.as_str());
    let plan = manifest::changes_in(&all, output)?;
    if !plan.not_owned.is_empty() && !options.force {
        return Err(Error::NotOwned {
            output: output.to_path_buf(),
            paths: plan.not_owned,
        });
    }
    let mut summary = write_changed(&to_write(&plan, &all), all.len(), output)?;
    for rel in &plan.remove {
        let path = output.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => summary.removed.push(rel.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path, source }),
        }
        prune_empty_dirs(output, Path::new(rel));
    }
    Ok(summary)
}

/// Relative path → contents, borrowed from a [`Files`].
type View<'a> = BTreeMap<&'a str, &'a str>;

fn view(files: &Files) -> View<'_> {
    files
        .iter()
        .map(|(rel, contents)| (rel.as_str(), contents.as_str()))
        .collect()
}

/// Removes the now-empty parent directories of `rel` below `output` (never `output` itself).
fn prune_empty_dirs(output: &Path, rel: &Path) {
    let mut dir = rel.parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        // `remove_dir` fails on a non-empty directory, which ends the walk.
        if std::fs::remove_dir(output.join(d)).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Writes `files` into `output` atomically, touching only files whose contents changed.
///
/// Changed files are first written into a fresh temporary directory next to `output`. If `output`
/// does not exist, the temporary directory is renamed into place. If it exists, each changed file
/// is renamed over its old version (other files in `output` are left alone). On any failure the
/// temporary directory is removed and `output` is untouched.
pub fn write_files(files: &Files, output: &Path) -> Result<WriteSummary> {
    let all = view(files);
    let plan = manifest::changes_in(&all, output)?;
    write_changed(&to_write(&plan, &all), all.len(), output)
}

/// The files of `all` that `plan` (which already compared every file with the disk) found new or
/// changed.
fn to_write<'a>(plan: &manifest::Changes, all: &View<'a>) -> View<'a> {
    plan.create
        .iter()
        .chain(&plan.change)
        .filter_map(|rel| all.get_key_value(rel.as_str()))
        .map(|(rel, contents)| (*rel, *contents))
        .collect()
}

/// Writes `changed` (out of `total` files) as described in [`write_files`].
fn write_changed(changed: &View<'_>, total: usize, output: &Path) -> Result<WriteSummary> {
    let summary = WriteSummary {
        written: changed.keys().map(|rel| (*rel).to_owned()).collect(),
        unchanged: total - changed.len(),
        removed: Vec::new(),
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
    let result = stage(changed, &staging).and_then(|()| commit(changed, &staging, output));
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

/// Writes every file into `staging`: directories first, then the files in parallel, taken
/// alternately from different directories (file creation within one directory is serialized by
/// the file system).
fn stage(files: &View<'_>, staging: &Path) -> Result<()> {
    let mut by_dir: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (rel, contents) in files {
        let dir = rel.rsplit_once('/').map_or("", |(dir, _)| dir);
        by_dir.entry(dir).or_default().push((*rel, *contents));
    }
    for dir in by_dir.keys().filter(|d| !d.is_empty()) {
        let path = staging.join(dir);
        std::fs::create_dir_all(&path).map_err(|source| Error::Io { path, source })?;
    }
    let mut queues: Vec<std::vec::IntoIter<(&str, &str)>> =
        by_dir.into_values().map(Vec::into_iter).collect();
    let mut jobs = Vec::with_capacity(files.len());
    while !queues.is_empty() {
        queues.retain_mut(|queue| match queue.next() {
            Some(job) => {
                jobs.push(job);
                true
            }
            None => false,
        });
    }
    crate::par::try_map(&jobs, |(rel, contents)| {
        let path = staging.join(rel);
        std::fs::write(&path, contents).map_err(|source| Error::Io { path, source })
    })?;
    Ok(())
}

fn commit(files: &View<'_>, staging: &Path, output: &Path) -> Result<()> {
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
        write_files(&files, &out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("src/b.rs")).unwrap(), "2");
        std::fs::write(out.join("keep.txt"), "mine").unwrap();
        let b_modified = std::fs::metadata(out.join("src/b.rs"))
            .unwrap()
            .modified()
            .unwrap();
        files.insert("a.txt".into(), "3".into());
        let summary = write_files(&files, &out).unwrap();
        assert_eq!(
            summary,
            WriteSummary {
                written: vec!["a.txt".into()],
                unchanged: 1,
                removed: Vec::new(),
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
        assert_eq!(write_files(&files, &out).unwrap().written, Vec::<String>::new());
        assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no staging directory is left behind");
    }

    #[test]
    fn stale_files_are_removed_and_user_files_are_protected() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("crate");
        let header = "# @generated by openapi-operator-gen\n";
        let mut files = Files::new();
        files.insert("a.yaml".into(), format!("{header}a"));
        files.insert("deep/dir/b.yaml".into(), format!("{header}b"));
        write(&files, &out).unwrap();
        assert!(out.join(MANIFEST).is_file());
        std::fs::write(out.join("mine.txt"), "mine").unwrap();
        files.remove("deep/dir/b.yaml");
        let summary = write(&files, &out).unwrap();
        assert_eq!(summary.removed, vec!["deep/dir/b.yaml"]);
        assert!(!out.join("deep").exists(), "emptied directories are pruned");
        assert!(out.join("mine.txt").is_file());
        // The user takes over a.yaml by removing the header: never overwritten without force.
        std::fs::write(out.join("a.yaml"), "mine now").unwrap();
        files.insert("a.yaml".into(), format!("{header}a2"));
        files.insert("c.yaml".into(), format!("{header}c"));
        let err = write(&files, &out).unwrap_err().to_string();
        assert!(err.contains("a.yaml") && err.contains("--force"), "{err}");
        assert!(
            !out.join("c.yaml").exists(),
            "nothing is written when a file is refused"
        );
        write_with(&files, &out, WriteOptions { force: true }).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("a.yaml")).unwrap(),
            format!("{header}a2")
        );
    }
}
