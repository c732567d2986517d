//! CLI tests: `--help`/`--version`, generating into a temporary directory, exit codes, determinism and atomic writes.

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openapi-operator-gen"));
    cmd.current_dir(common::repo_root());
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn petstore() -> String {
    common::repo_root()
        .join("specs/petstore-3.0.yaml")
        .display()
        .to_string()
}

fn read_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn help_text() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    common::settings("cli").bind(|| insta::assert_snapshot!("help", String::from_utf8_lossy(&out.stdout)));
}

#[test]
fn version() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("openapi-operator-gen {}\n", openapi_operator_gen::VERSION)
    );
}

#[test]
fn generates_a_standalone_crate_into_a_new_directory_and_reports_unclassified_endpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("petstore");
    let out = run(&["--spec", &petstore(), "--output", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("8 endpoints did not become kinds"), "{stderr}");
    assert!(stderr.contains("GET     /pet/findByStatus"), "{stderr}");
    let cargo = std::fs::read_to_string(out_dir.join("Cargo.toml")).unwrap();
    assert!(
        cargo.contains("\n[workspace]\n"),
        "outside a workspace the crate is standalone"
    );
    assert!(
        cargo.contains("openapi-operator-runtime = { path = \""),
        "{cargo}"
    );
    for file in [
        "src/resources/pet.rs",
        "deploy/crds/orders.petstore.example.com.yaml",
        "samples/user.yaml",
    ] {
        assert!(out_dir.join(file).is_file(), "{file}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no staging directory is left behind");
}

#[test]
fn quiet_prints_nothing_and_runtime_version_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("op");
    let out = run(&[
        "--spec",
        &petstore(),
        "--output",
        out_dir.to_str().unwrap(),
        "--quiet",
        "--runtime-version",
        "9.9.9",
    ]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let cargo = std::fs::read_to_string(out_dir.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("openapi-operator-runtime = \"9.9.9\""), "{cargo}");
}

#[test]
fn regenerating_gives_identical_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("op");
    let args = [
        "--spec",
        &petstore(),
        "--output",
        out_dir.to_str().unwrap(),
        "-q",
        "--group",
        "pets.example.org",
    ];
    assert!(run(&args).status.success());
    let first = read_tree(&out_dir);
    assert!(run(&args).status.success());
    assert_eq!(first, read_tree(&out_dir));
    let crd = std::fs::read_to_string(out_dir.join("deploy/crds/pets.pets.example.org.yaml")).unwrap();
    assert!(crd.contains("group: pets.example.org"));
}

#[test]
fn bad_input_exits_non_zero_with_one_line_and_leaves_the_output_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("op");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("mine.txt"), "keep").unwrap();
    let out = run(&[
        "--spec",
        "specs/invalid/unresolvable-ref.yaml",
        "--output",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: specs/invalid/unresolvable-ref.yaml#/paths/~1things/post/"),
        "{stderr}"
    );
    assert_eq!(
        read_tree(&out_dir),
        vec![(PathBuf::from("mine.txt"), b"keep".to_vec())]
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn a_failing_write_leaves_no_partial_tree() {
    let tmp = tempfile::tempdir().unwrap();
    // The output path is a file: the write fails after staging, and nothing is left behind.
    let out_file = tmp.path().join("taken");
    std::fs::write(&out_file, "x").unwrap();
    let out = run(&[
        "--spec",
        &petstore(),
        "--output",
        out_file.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), "x");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn missing_arguments_and_unknown_urls_fail() {
    assert_eq!(run(&["--output", "x"]).status.code(), Some(2));
    let out = run(&[
        "--spec",
        "http://127.0.0.1:1/spec.yaml",
        "--output",
        "/nonexistent/never",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot fetch the spec"));
}
