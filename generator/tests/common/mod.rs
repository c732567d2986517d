//! Helpers shared by the generator's integration tests (repo paths, version redaction).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root (parent of `generator/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("generator has a parent")
        .to_path_buf()
}

/// insta settings writing into `snapshots/<suite>/` with the generator version redacted.
pub fn settings(suite: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root().join("snapshots").join(suite));
    settings.set_prepend_module_to_snapshot(false);
    let version = openapi_operator_gen::VERSION.replace('.', r"\.");
    settings.add_filter(
        &format!(r"openapi-operator-gen {version}"),
        "openapi-operator-gen [VERSION]",
    );
    settings.add_filter(
        &format!(r#"generator_version: "{version}""#),
        r#"generator_version: "[VERSION]""#,
    );
    settings
}
