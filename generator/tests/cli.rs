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
    assert!(stderr.contains("1 endpoints did not become kinds"), "{stderr}");
    assert!(stderr.contains("POST    /pet/{petId}"), "{stderr}");
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

fn run_in(dir: &Path, args: &[&str]) -> Output {
    bin().current_dir(dir).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn plan_prints_the_classification_table_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_in(
        tmp.path(),
        &[
            "plan",
            "--spec",
            &petstore(),
            "--exclude-operations",
            "updatePetWithForm",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "plan writes nothing"
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Filtered(op)"), "{stdout}");
    let plain = run(&["plan", "--spec", &petstore(), "-q"]);
    assert!(plain.status.success());
    assert!(plain.stderr.is_empty(), "{}", text(&plain.stderr));
    common::settings("cli").bind(|| insta::assert_snapshot!("plan-petstore", text(&plain.stdout)));
}

#[test]
fn check_reports_differences_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("op");
    let dir = out_dir.to_str().unwrap();
    let fresh = run(&["--spec", &petstore(), "--output", dir, "--check", "-q"]);
    assert_eq!(fresh.status.code(), Some(1));
    assert!(text(&fresh.stdout).contains("create src/resources/pet.rs"));
    assert!(text(&fresh.stdout).contains("create .openapi-operator-gen/manifest"));
    assert!(!out_dir.exists(), "--check writes nothing");
    assert!(
        run(&["--spec", &petstore(), "--output", dir, "-q"])
            .status
            .success()
    );
    let clean = run(&["--spec", &petstore(), "--output", dir, "--check"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    assert!(clean.stdout.is_empty(), "{}", text(&clean.stdout));
    assert!(text(&clean.stderr).contains("up to date"));
    let readme = out_dir.join("README.md");
    let mut edited = std::fs::read_to_string(&readme).unwrap();
    edited.push_str("\nlocal note\n");
    std::fs::write(&readme, &edited).unwrap();
    std::fs::remove_file(out_dir.join("samples/order.yaml")).unwrap();
    let changed = run(&["--spec", &petstore(), "--output", dir, "--check", "-q"]);
    assert_eq!(changed.status.code(), Some(1));
    assert_eq!(
        text(&changed.stdout),
        "create samples/order.yaml\nchange README.md\n"
    );
    assert_eq!(
        std::fs::read_to_string(&readme).unwrap(),
        edited,
        "--check writes nothing"
    );
    // Dropping a kind: its files would be removed.
    let dropped = run(&[
        "--spec",
        &petstore(),
        "--output",
        dir,
        "--check",
        "-q",
        "--exclude-paths",
        "/user/*",
    ]);
    assert_eq!(dropped.status.code(), Some(1));
    assert!(
        text(&dropped.stdout).contains("remove src/resources/user.rs"),
        "{}",
        text(&dropped.stdout)
    );
}

#[test]
fn stale_files_are_removed_and_user_files_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("op");
    let dir = out_dir.to_str().unwrap();
    assert!(
        run(&["--spec", &petstore(), "--output", dir, "-q"])
            .status
            .success()
    );
    let manifest = std::fs::read_to_string(out_dir.join(".openapi-operator-gen/manifest")).unwrap();
    assert!(manifest.starts_with("# @generated by openapi-operator-gen "));
    assert!(manifest.contains("\nsrc/resources/user.rs\n"));
    std::fs::write(out_dir.join("src/custom.rs"), "// mine\n").unwrap();
    std::fs::write(out_dir.join("notes.txt"), "mine").unwrap();
    let out = run(&[
        "--spec",
        &petstore(),
        "--output",
        dir,
        "--exclude-paths",
        "/user/*",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("removed"), "{stderr}");
    assert!(stderr.contains("7 kinds"), "{stderr}");
    for gone in [
        "src/resources/user.rs",
        "samples/user.yaml",
        "deploy/crds/users.petstore.example.com.yaml",
    ] {
        assert!(!out_dir.join(gone).exists(), "{gone} is stale");
    }
    assert!(
        !text(&std::fs::read(out_dir.join(".openapi-operator-gen/manifest")).unwrap()).contains("user.rs")
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("src/custom.rs")).unwrap(),
        "// mine\n"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn files_without_the_header_are_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("op");
    let dir = out_dir.to_str().unwrap();
    assert!(
        run(&["--spec", &petstore(), "--output", dir, "-q"])
            .status
            .success()
    );
    // The user takes over samples/pet.yaml (header removed) and a file of a kind about to disappear.
    std::fs::write(out_dir.join("samples/pet.yaml"), "kind: Pet # mine\n").unwrap();
    std::fs::write(out_dir.join("samples/user.yaml"), "kind: User # mine\n").unwrap();
    let before = read_tree(&out_dir);
    let refused = run(&[
        "--spec",
        &petstore(),
        "--output",
        dir,
        "--exclude-paths",
        "/user/*",
        "--group",
        "pets.example.org",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("samples/pet.yaml, samples/user.yaml"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        before,
        read_tree(&out_dir),
        "nothing is written when a file is refused"
    );
    let forced = run(&[
        "--spec",
        &petstore(),
        "--output",
        dir,
        "-q",
        "--force",
        "--exclude-paths",
        "/user/*",
    ]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(
        std::fs::read_to_string(out_dir.join("samples/pet.yaml"))
            .unwrap()
            .starts_with("# @generated")
    );
    assert!(!out_dir.join("samples/user.yaml").exists());
}

#[test]
fn progress_and_summary_lines_go_to_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("op");
    let out = run(&[
        "--spec",
        &petstore(),
        "--output",
        out_dir.to_str().unwrap(),
        "--quiet=false",
    ]);
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(": 13 paths\n"), "{stderr}");
    assert!(
        stderr.contains("classified: 11 kinds, 1 unclassified, 0 filtered"),
        "{stderr}"
    );
    assert!(stderr.contains("rendered "), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.contains(": 11 kinds, ") && last.contains(" written, 0 unchanged)"),
        "{last}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn warnings_are_printed_and_counted_in_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("ks");
    let spec = common::repo_root().join("specs/kitchen-sink.yaml");
    let out = run(&[
        "--spec",
        spec.to_str().unwrap(),
        "--output",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let warnings = stderr.lines().filter(|l| l.starts_with("warning: ")).count();
    assert!(warnings >= 1, "{stderr}");
    assert!(stderr.contains("recursive"), "{stderr}");
    let last = stderr.lines().last().unwrap();
    let count = if warnings == 1 {
        "1 warning".to_owned()
    } else {
        format!("{warnings} warnings")
    };
    assert!(last.ends_with(&count), "{last}");
}
