//! Config-file tests: discovery (next to the spec, current directory, `--config`), CLI-over-file
//! precedence, filters, `idFieldMap`, kind and field renames, and located errors.

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use openapi_operator_gen::config::{Filters, KindOverride};
use openapi_operator_gen::model::FilteredBy;
use openapi_operator_gen::{Config, RuntimeDep, SpecSource, WorkspaceMode};

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openapi-operator-gen"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary directory holding `petstore.yaml` (a copy of the Petstore spec).
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("petstore.yaml");
    std::fs::copy(common::repo_root().join("specs/petstore-3.0.yaml"), &spec).unwrap();
    (tmp, spec)
}

fn crd(out: &Path, plural: &str, group: &str) -> String {
    std::fs::read_to_string(out.join(format!("deploy/crds/{plural}.{group}.yaml"))).unwrap()
}

#[test]
fn discovered_next_to_the_spec() {
    let (tmp, spec) = workspace();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("openapi-operator-gen.yaml"),
        "group: pets.example.org\n",
    )
    .unwrap();
    let out_dir = other.path().join("op");
    let out = run_in(
        other.path(),
        &[
            "--spec",
            spec.to_str().unwrap(),
            "--output",
            out_dir.to_str().unwrap(),
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(crd(&out_dir, "pets", "pets.example.org").contains("group: pets.example.org"));
    // --no-config ignores it.
    let out = run_in(
        other.path(),
        &[
            "--spec",
            spec.to_str().unwrap(),
            "--output",
            "plain",
            "-q",
            "--no-config",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        other
            .path()
            .join("plain/deploy/crds/pets.petstore.example.com.yaml")
            .is_file()
    );
}

#[test]
fn discovered_in_the_current_directory_with_spec_and_output_from_the_file() {
    let (tmp, _) = workspace();
    std::fs::write(
        tmp.path().join(".openapi-operator-gen.yaml"),
        "spec: petstore.yaml\noutput: out\napiVersion: v2\nworkspace: member\nruntime: {version: '7.0.0'}\n",
    )
    .unwrap();
    let out = run_in(tmp.path(), &["-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out_dir = tmp.path().join("out");
    assert!(crd(&out_dir, "pets", "petstore.example.com").contains("name: v2"));
    let cargo = std::fs::read_to_string(out_dir.join("Cargo.toml")).unwrap();
    assert!(cargo.contains("openapi-operator-runtime = \"7.0.0\""), "{cargo}");
    assert!(!cargo.contains("[workspace]"), "workspace: member");
    // Two config files in one directory are ambiguous.
    std::fs::write(tmp.path().join("openapi-operator-gen.yml"), "group: a.b\n").unwrap();
    let out = run_in(tmp.path(), &["-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("also exists"), "{}", text(&out.stderr));
}

#[test]
fn explicit_config_paths_are_relative_to_the_file() {
    let (tmp, _) = workspace();
    std::fs::create_dir(tmp.path().join("conf")).unwrap();
    std::fs::write(
        tmp.path().join("conf/gen.yaml"),
        "spec: ../petstore.yaml\noutput: ../generated\ngroup: conf.example.org\n",
    )
    .unwrap();
    let out = run_in(tmp.path(), &["generate", "--config", "conf/gen.yaml", "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(crd(&tmp.path().join("generated"), "pets", "conf.example.org").contains("kind: Pet"));
    let missing = run_in(tmp.path(), &["--config", "nope.yaml", "-q"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).starts_with("error: nope.yaml: cannot read the config file"));
}

#[test]
fn cli_values_win_even_when_equal_to_the_default() {
    let (tmp, _) = workspace();
    std::fs::write(
        tmp.path().join("openapi-operator-gen.yaml"),
        "spec: petstore.yaml\noutput: out\napiVersion: v2\ngroup: file.example.org\nworkspace: member\n",
    )
    .unwrap();
    let out = run_in(
        tmp.path(),
        &[
            "--api-version",
            "v1alpha1",
            "--group",
            "cli.example.org",
            "--workspace",
            "standalone",
            "-q",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let crd = crd(&tmp.path().join("out"), "pets", "cli.example.org");
    assert!(
        crd.contains("name: v1alpha1") && !crd.contains("name: v2"),
        "{crd}"
    );
    let cargo = std::fs::read_to_string(tmp.path().join("out/Cargo.toml")).unwrap();
    assert!(
        cargo.contains("\n[workspace]\n"),
        "--workspace standalone beats the file"
    );
    // Booleans can be switched off from the CLI.
    let loud = run_in(tmp.path(), &["--quiet=false", "--output", "out2"]);
    assert!(loud.status.success());
    assert!(
        text(&loud.stderr).contains("classified: 11 kinds"),
        "{}",
        text(&loud.stderr)
    );
    // Missing settings are usage errors (exit 2).
    let empty = tempfile::tempdir().unwrap();
    let usage = run_in(empty.path(), &["--output", "x"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(text(&usage.stderr).contains("--spec (or `spec` in the config file)"));
}

fn petstore_with(
    configure: impl FnOnce(&mut Config),
) -> openapi_operator_gen::Result<openapi_operator_gen::Generated> {
    let spec = openapi_operator_gen::parse::load(&SpecSource::Path(
        common::repo_root().join("specs/petstore-3.0.yaml"),
    ))?;
    let mut config = Config::new(SpecSource::Path("petstore.yaml".into()), "out");
    config.runtime = Some(RuntimeDep::Version("0.1.0".into()));
    config.workspace = WorkspaceMode::Standalone;
    config.origin = Some("openapi-operator-gen.yaml".into());
    configure(&mut config);
    openapi_operator_gen::generate_from_spec(&spec, &config)
}

/// The Resource kinds (Query and Action kinds follow the same filters; see `every_filter_kind`).
fn kinds(g: &openapi_operator_gen::Generated) -> Vec<&str> {
    g.model
        .crds
        .iter()
        .filter(|c| c.kind.family() == "Resource")
        .map(|c| c.names.kind.as_str())
        .collect()
}

fn all_kinds(g: &openapi_operator_gen::Generated) -> Vec<&str> {
    g.model.crds.iter().map(|c| c.names.kind.as_str()).collect()
}

#[test]
fn every_filter_kind() {
    let with = |filters: Filters| petstore_with(|c| c.filters = filters).unwrap();
    let g = with(Filters {
        include_paths: vec!["/pet/*".into()],
        ..Filters::default()
    });
    assert_eq!(kinds(&g), ["Pet"]);
    assert_eq!(
        all_kinds(&g),
        [
            "Pet",
            "PetFindbystatusQuery",
            "PetFindbytagsQuery",
            "PetUploadimageAction",
            "PetstoreAggregate"
        ]
    );
    assert!(g.model.filtered.iter().all(|f| f.by == FilteredBy::Path));
    assert!(g.model.filtered.iter().any(|f| f.path == "/store/order"));
    let g = with(Filters {
        exclude_paths: vec!["/user/*".into(), "/store/?".into()],
        ..Filters::default()
    });
    assert_eq!(kinds(&g), ["Pet"], "/store/? drops the /store/order collection");
    assert!(
        !g.model
            .filtered
            .iter()
            .any(|f| f.path == "/store/order/{orderId}")
    );
    let g = with(Filters {
        exclude_paths: vec!["/*/order".into()],
        ..Filters::default()
    });
    assert_eq!(
        kinds(&g),
        ["Pet", "User"],
        "`*` in the middle is one segment; the item path survives"
    );
    let g = with(Filters {
        include_tags: vec!["PET".into(), "store".into()],
        ..Filters::default()
    });
    assert_eq!(kinds(&g), ["Pet", "Order"]);
    let g = with(Filters {
        exclude_tags: vec!["User".into()],
        ..Filters::default()
    });
    assert_eq!(kinds(&g), ["Pet", "Order"]);
    assert!(g.model.filtered.iter().all(|f| f.by == FilteredBy::Tag));
    let g = with(Filters {
        include_operations: vec!["*Pet*".into(), "*Order*".into()],
        ..Filters::default()
    });
    assert_eq!(kinds(&g), ["Pet", "Order"]);
    let g = with(Filters {
        exclude_operations: vec!["updatePetWithForm".into()],
        ..Filters::default()
    });
    assert_eq!(kinds(&g), ["Pet", "Order", "User"]);
    let f = &g.model.filtered;
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].path.as_str(), f[0].by),
        ("/pet/{petId}", FilteredBy::Operation)
    );
    assert!(!g.model.unclassified.iter().any(|u| u.path == "/pet/{petId}"));
    // Exclude beats include.
    let g = with(Filters {
        include_paths: vec!["/pet/*".into(), "/user/*".into()],
        exclude_paths: vec!["/user/*".into()],
        ..Filters::default()
    });
    assert_eq!(kinds(&g), ["Pet"]);
    // Filtering everything away is the usual "no kind" error.
    let err = petstore_with(|c| c.filters.include_tags = vec!["nothing".into()]).unwrap_err();
    assert!(err.to_string().contains("no kind found"), "{err}");
}

#[test]
fn id_field_map_picks_the_id_field() {
    let yaml = "openapi: 3.0.3
info: {title: Shop, version: '1'}
paths:
  /widgets:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties: {name: {type: string}, size: {type: integer}}
      responses: {'200': {description: ok}}
  /widgets/{widgetKey}:
    get:
      parameters: [{name: widgetKey, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: ok}}
";
    let spec = openapi_operator_gen::parse::from_str("shop.yaml", yaml).unwrap();
    let mut config = Config::new(SpecSource::Path("shop.yaml".into()), "out");
    let id = |config: &Config| {
        let g = openapi_operator_gen::generate_from_spec(&spec, config).unwrap();
        let openapi_operator_gen::model::CrdKind::Resource(ops) = &g.model.crds[0].kind else {
            panic!("not a Resource")
        };
        (ops.id_field.clone(), g.model.warnings.clone())
    };
    assert_eq!(id(&config).0.as_deref(), Some("widgetKey"));
    config.id_field_map.insert("widgetKey".into(), "name".into());
    assert_eq!(id(&config).0.as_deref(), Some("name"));
    config.id_field_map.insert("widgetKey".into(), "nope".into());
    let (field, warnings) = id(&config);
    assert_eq!(field.as_deref(), Some("widgetKey"));
    assert!(
        warnings.iter().any(|w| w.contains("idFieldMap.widgetKey")),
        "{warnings:?}"
    );
}

const RENAME: &str = "spec: petstore.yaml
output: out
kinds:
  Pet:
    kind: Animal
    plural: animals
    shortNames: [ani, an]
    fields:
      photoUrls: photos
      name: title
";

#[test]
fn kind_and_field_renames() {
    let (tmp, _) = workspace();
    std::fs::write(tmp.path().join("openapi-operator-gen.yaml"), RENAME).unwrap();
    let out = run_in(tmp.path(), &["-q", "--runtime-version", "0.1.0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out_dir = tmp.path().join("out");
    assert!(
        !out_dir
            .join("deploy/crds/pets.petstore.example.com.yaml")
            .exists()
    );
    let crd = crd(&out_dir, "animals", "petstore.example.com");
    for want in [
        "kind: Animal",
        "plural: animals",
        "singular: animal",
        "- ani",
        "photoUrls:",
        "name:",
    ] {
        assert!(crd.contains(want), "{want}: {crd}");
    }
    assert!(!crd.contains("photos"), "JSON names are unchanged");
    let rust = std::fs::read_to_string(out_dir.join("src/resources/animal.rs")).unwrap();
    assert!(rust.contains("pub photos: Vec<String>"), "{rust}");
    assert!(rust.contains("#[serde(rename = \"photoUrls\")]"), "{rust}");
    assert!(rust.contains("pub title: String"), "{rust}");
    assert!(rust.contains("#[serde(rename = \"name\")]"), "{rust}");
    assert!(rust.contains("pub struct AnimalSpec"), "{rust}");
    let plan = run_in(tmp.path(), &["plan", "-q"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    common::settings("config").bind(|| {
        insta::assert_snapshot!("renamed-crd", crd);
        insta::assert_snapshot!("renamed-plan", text(&plan.stdout));
    });
}

#[test]
fn rename_errors_name_the_key() {
    let err = |o: KindOverride, kind: &str| {
        petstore_with(|c| {
            c.kinds.insert(kind.to_owned(), o);
        })
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        err(KindOverride::default(), "Pett"),
        "openapi-operator-gen.yaml: kinds.Pett: the spec has no kind \"Pett\" (kinds derived from the spec: Pet, Order, User, PetFindbystatusQuery, PetFindbytagsQuery, PetUploadimageAction, StoreInventoryQuery, UserCreatewithlistAction, UserLoginQuery, UserLogoutQuery, PetstoreAggregate)"
    );
    let clash = KindOverride {
        kind: Some("Order".into()),
        ..KindOverride::default()
    };
    assert!(err(clash, "Pet").starts_with("openapi-operator-gen.yaml: kinds.Pet.kind: \"Order\" is already"));
    // Distinct kinds that would define one Rust type: `OrderSpec` is the spec struct of `Order`.
    let spec_clash = KindOverride {
        kind: Some("OrderSpec".into()),
        ..KindOverride::default()
    };
    assert_eq!(
        err(spec_clash, "Pet"),
        "openapi-operator-gen.yaml: kinds.Pet.kind: kinds \"OrderSpec\" and \"Order\" would both define the Rust type \"OrderSpec\"; rename one of them"
    );
    // A prelude-named kind is emitted as `<Kind>Kind`, which another kind may already be named.
    let prelude = petstore_with(|c| {
        for (derived, kind) in [("Order", "Option"), ("User", "OptionKind")] {
            c.kinds.insert(
                derived.to_owned(),
                KindOverride {
                    kind: Some(kind.into()),
                    ..KindOverride::default()
                },
            );
        }
    })
    .unwrap_err()
    .to_string();
    assert_eq!(
        prelude,
        "openapi-operator-gen.yaml: kinds.User.kind: kinds \"Option\" and \"OptionKind\" would both define the Rust type \"OptionKind\"; rename one of them"
    );
    // `Option` alone is fine: its struct is `OptionKind`.
    let alone = petstore_with(|c| {
        c.kinds.insert(
            "Order".to_owned(),
            KindOverride {
                kind: Some("Option".into()),
                ..KindOverride::default()
            },
        );
    })
    .unwrap();
    assert!(all_kinds(&alone).contains(&"Option"));
    let mut field = KindOverride::default();
    field.fields.insert("nope".into(), "x".into());
    assert!(
        err(field, "Pet")
            .starts_with("openapi-operator-gen.yaml: kinds.Pet.fields.nope: Pet has no spec field")
    );
    let mut dup = KindOverride::default();
    dup.fields.insert("photoUrls".into(), "name".into());
    assert!(err(dup, "Pet").contains("already the Rust name"));
}

#[test]
fn unknown_keys_and_invalid_globs_are_located_errors() {
    let (tmp, _) = workspace();
    let cases = [
        (
            "unknown-key",
            "spec: petstore.yaml\nkinds:\n  Pet:\n    plurals: animals\n",
        ),
        ("unknown-top-level-key", "spec: petstore.yaml\nouput: out\n"),
        (
            "invalid-glob",
            "spec: petstore.yaml\nfilters:\n  excludePaths:\n    - /user/*\n    - user/?\n",
        ),
        (
            "invalid-kind",
            "spec: petstore.yaml\nkinds: {Pet: {kind: animal}}\n",
        ),
        ("wrong-type", "spec: petstore.yaml\nfilters: {includeTags: pet}\n"),
    ];
    for (name, yaml) in cases {
        std::fs::write(tmp.path().join("openapi-operator-gen.yaml"), yaml).unwrap();
        let out = run_in(tmp.path(), &["plan"]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.starts_with("error: openapi-operator-gen.yaml:"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        common::settings("config").bind(|| insta::assert_snapshot!(name, stderr));
    }
    let cli = run_in(
        tmp.path(),
        &[
            "plan",
            "--no-config",
            "--spec",
            "petstore.yaml",
            "--include-paths",
            "pet",
        ],
    );
    assert_eq!(cli.status.code(), Some(1));
    assert!(
        text(&cli.stderr)
            .starts_with("error: invalid --include-paths: pattern 1: \"pet\" must start with `/`")
    );
}
