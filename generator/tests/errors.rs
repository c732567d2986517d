//! Bad input: every spec under `specs/invalid/` (plus a missing file) fails with one located message
//! (snapshotted), and no truncated or mutated spec makes the generator panic.

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod common;

use openapi_operator_gen::{Config, RuntimeDep, SpecSource, WorkspaceMode};

fn config(spec: SpecSource) -> Config {
    let mut config = Config::new(spec, "out");
    config.runtime = Some(RuntimeDep::Version("0.1.0".into()));
    config.workspace = WorkspaceMode::Standalone;
    config
}

fn error_for(relative: &str) -> String {
    std::env::set_current_dir(common::repo_root()).unwrap();
    match openapi_operator_gen::generate(&config(SpecSource::Path(relative.into()))) {
        Ok(_) => panic!("{relative} generated without error"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn invalid_specs_fail_with_located_messages() {
    let mut names: Vec<String> = std::fs::read_dir(common::repo_root().join("specs/invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{names:?}");
    common::settings("errors").bind(|| {
        for name in &names {
            let message = error_for(&format!("specs/invalid/{name}"));
            assert!(message.starts_with(&format!("specs/invalid/{name}")), "{message}");
            insta::assert_snapshot!(name.clone(), message);
        }
        insta::assert_snapshot!("missing-file", error_for("specs/invalid/does-not-exist.yaml"));
    });
}

#[test]
fn an_unreachable_url_is_a_fetch_error() {
    let err = openapi_operator_gen::generate(&config(SpecSource::Url("http://127.0.0.1:1/spec.yaml".into())))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("http://127.0.0.1:1/spec.yaml: cannot fetch the spec: "),
        "{err}"
    );
}

#[test]
fn invalid_options_are_rejected() {
    let mut c = config(SpecSource::Path("specs/petstore-3.0.yaml".into()));
    c.group = Some("petstore".into());
    let err = openapi_operator_gen::generate(&c).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid --group: \"petstore\" must contain a dot, e.g. petstore.example.com"
    );
}

/// Runs the whole in-memory pipeline on `text`; returns whether it panicked.
fn panics(text: &str) -> bool {
    std::panic::catch_unwind(|| {
        if let Ok(spec) = openapi_operator_gen::parse::from_str("mutant.yaml", text) {
            let _ = openapi_operator_gen::generate_from_spec(
                &spec,
                &config(SpecSource::Path("mutant.yaml".into())),
            );
        }
    })
    .is_err()
}

#[test]
fn truncated_and_mutated_specs_never_panic() {
    let text = std::fs::read_to_string(common::repo_root().join("specs/petstore-3.0.yaml")).unwrap();
    let mut failures = Vec::new();
    // Every prefix in steps of 61 bytes (on char boundaries).
    for end in (0..text.len()).step_by(61) {
        if text.is_char_boundary(end) && panics(&text[..end]) {
            failures.push(format!("prefix {end}"));
        }
    }
    // Random byte flips with a fixed seed (xorshift; no extra dependency).
    let mut state: u64 = 0x5eed_1234_abcd_ef01;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b" :-{}[]'\"#\n\t$/~*&!|>0aZ";
    for _ in 0..300 {
        let mut bytes = text.clone().into_bytes();
        for _ in 0..3 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        if panics(&mutated) {
            failures.push(format!("mutation {:?}", &mutated[..mutated.len().min(40)]));
        }
    }
    assert!(failures.is_empty(), "panicked on: {failures:?}");
}

/// Prefixes and byte flips of `text` (same scheme as above) that make the pipeline panic.
fn panicking_mutants(text: &str, seed: u64) -> Vec<String> {
    let mut failures = Vec::new();
    for end in (0..text.len()).step_by(97) {
        if text.is_char_boundary(end) && panics(&text[..end]) {
            failures.push(format!("prefix {end}"));
        }
    }
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b" :-{}[]'\"#\n\t$/~*&!|>0aZ";
    for _ in 0..120 {
        let mut bytes = text.to_owned().into_bytes();
        for _ in 0..3 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        if panics(&mutated) {
            failures.push(format!("mutation {:?}", &mutated[..mutated.len().min(40)]));
        }
    }
    failures
}

#[test]
fn truncated_and_mutated_swagger_2_and_openapi_3_1_specs_never_panic() {
    let mut failures = Vec::new();
    for (i, name) in [
        "petstore-swagger-2.0.yaml",
        "fastapi-3.1.json",
        "oas31-types.yaml",
    ]
    .iter()
    .enumerate()
    {
        let text = std::fs::read_to_string(common::repo_root().join("specs").join(name)).unwrap();
        for failure in panicking_mutants(&text, 0x0bad_cafe_f00d_0001 + i as u64) {
            failures.push(format!("{name}: {failure}"));
        }
    }
    assert!(failures.is_empty(), "panicked on: {failures:?}");
}

#[test]
fn frontend_errors_name_file_and_pointer() {
    assert_eq!(
        error_for("specs/invalid/unknown-version.yaml"),
        "specs/invalid/unknown-version.yaml#/openapi: OpenAPI 4.0.0 is not supported \
         (this release reads Swagger 2.0 and OpenAPI 3.0.x/3.1.x)"
    );
    assert_eq!(
        error_for("specs/invalid/swagger-2.0-body-without-schema.yaml"),
        "specs/invalid/swagger-2.0-body-without-schema.yaml#/paths/~1pets/post/parameters/0: \
         invalid spec: body parameter has no `schema`"
    );
    let missing = error_for("specs/invalid/external-ref-missing-file.yaml");
    assert!(
        missing.starts_with(
            "specs/invalid/external-ref-missing-file.yaml#/paths/~1pets/post/requestBody/content/\
             application~1json/schema/$ref: cannot resolve external $ref \
             \"./defs/missing.yaml#/components/schemas/Pet\": specs/invalid/defs/missing.yaml: cannot read the spec"
        ),
        "{missing}"
    );
}
