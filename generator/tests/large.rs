//! The large real specs (GitHub's OAS 3.0 REST spec, Kubernetes' Swagger 2.0 spec): a snapshot of what the generator makes of them (kinds per family, fields, types, unclassified endpoints, files, warnings by finding). `make test-large` compiles their crates.

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use openapi_operator_gen::{Config, RuntimeDep, SpecSource, WorkspaceMode};

const LARGE: &[&str] = &["github-3.0.json", "kubernetes-swagger-2.0.json"];

/// A warning without its location and with its particulars elided, so that findings of one kind
/// group together: quoted and backticked text, API paths, comma-separated lists in parentheses and
/// a leading kind name become `…`.
fn finding(warning: &str) -> String {
    // `<spec>#<pointer>: message`; the pointer's last segment is the keyword the finding is about.
    let (at, message) = warning.split_once(": ").unwrap_or(("", warning));
    let keyword = at
        .rsplit('/')
        .next()
        .filter(|k| k.chars().all(|c| c.is_ascii_alphabetic()));
    let words: Vec<String> = message
        .split(' ')
        .enumerate()
        .map(|(i, word)| {
            let kind_name = i == 0 && word.ends_with(':') && word.len() > 1;
            if kind_name && word[..word.len() - 1].chars().all(|c| c.is_ascii_alphanumeric()) {
                "…:".to_owned()
            } else if word.starts_with('/') {
                if word.ends_with(':') { "/…:" } else { "/…" }.to_owned()
            } else {
                word.to_owned()
            }
        })
        .collect();
    let mut out = String::new();
    let mut inside: Option<char> = None;
    let text = words.join(" ");
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, inside) {
            ('"' | '`', None) => {
                out.push(c);
                out.push('…');
                inside = Some(c);
            }
            (c, Some(open)) if c == open => {
                out.push(c);
                inside = None;
            }
            (_, Some(_)) => {}
            ('(', None) => {
                let rest: String = chars.clone().take_while(|&c| c != ')').collect();
                if rest.contains(", ") {
                    out.push_str("(…");
                    for _ in 0..rest.chars().count() {
                        chars.next();
                    }
                } else {
                    out.push('(');
                }
            }
            (c, None) => out.push(c),
        }
    }
    match keyword {
        Some(keyword) if !keyword.is_empty() => format!("{keyword}: {out}"),
        _ => out,
    }
}

fn summary(spec: &str) -> String {
    std::env::set_current_dir(common::repo_root()).unwrap();
    let mut config = Config::new(SpecSource::Path(format!("specs/{spec}").into()), "out");
    config.runtime = Some(RuntimeDep::Path("runtime".into()));
    config.workspace = WorkspaceMode::Standalone;
    let generated = openapi_operator_gen::generate(&config).unwrap();
    let model = &generated.model;

    let mut families: BTreeMap<&str, usize> = BTreeMap::new();
    for crd in &model.crds {
        *families.entry(crd.kind.family()).or_default() += 1;
    }
    let fields: usize = model.crds.iter().map(|c| c.fields.len()).sum();
    let mut findings: BTreeMap<String, usize> = BTreeMap::new();
    for warning in &model.warnings {
        *findings.entry(finding(warning)).or_default() += 1;
    }

    let mut out = String::new();
    writeln!(out, "kinds: {}", model.crds.len()).unwrap();
    for (family, n) in &families {
        writeln!(out, "  {family}: {n}").unwrap();
    }
    writeln!(out, "spec fields: {fields}").unwrap();
    writeln!(out, "named types: {}", model.types.len()).unwrap();
    writeln!(out, "unclassified endpoints: {}", model.unclassified.len()).unwrap();
    writeln!(out, "files: {}", generated.files.len()).unwrap();
    writeln!(out, "warnings: {}", model.warnings.len()).unwrap();
    for (finding, n) in &findings {
        writeln!(out, "  {n:5} × {finding}").unwrap();
    }
    out
}

#[test]
fn large_specs_counts() {
    for spec in LARGE {
        let summary = summary(spec);
        common::settings("large").bind(|| {
            insta::assert_snapshot!(spec.trim_end_matches(".json").to_owned(), summary);
        });
    }
}

#[test]
fn findings_group_warnings_by_kind() {
    assert_eq!(
        finding(r#"specs/a.json#/components/schemas/X/pattern: pattern "^(?!a)$" uses lookaround"#),
        r#"pattern: pattern "…" uses lookaround"#
    );
    assert_eq!(
        finding(r#"specs/a.json#/components/schemas/Node: schema "Node" is recursive"#),
        r#"Node: schema "…" is recursive"#
    );
    assert_eq!(
        finding(
            "specs/a.json#/paths/~1a~1{id}/get: GET /a/{id}: kind \"A\" is already taken; named \"A2\" \
             (rename it with `kinds.A2.kind` in the config file)"
        ),
        "get: GET /…: kind \"…\" is already taken; named \"…\" (rename it with `…` in the config file)"
    );
    assert_eq!(
        finding("specs/a.json#/x/oneOf: the variants (B, C) are not distinguishable"),
        "oneOf: the variants (…) are not distinguishable"
    );
    assert_eq!(
        finding("specs/a.json#/paths/~1b/post: Build: POST /b has no body"),
        "post: …: POST /… has no body"
    );
}
