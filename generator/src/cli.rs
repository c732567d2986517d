//! Command-line arguments (clap derive), subcommands, and the merge of CLI flags over the config
//! file into a [`Config`]. A flag given on the command line always wins, even when its value equals
//! the default (presence is tracked with clap's `ValueSource`, never by comparing values).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand};

use crate::config::{Config, Filters, RuntimeDep, SpecSource, WorkspaceMode};
use crate::config_file::{self, Loaded};
use crate::error::{Error, Result};

const LONG_ABOUT: &str = "\
Generate a Kubernetes operator crate (Rust, kube-rs) from an OpenAPI spec.

Every path with POST on a collection and GET on `<collection>/{id}` becomes a Resource kind
whose CRs are kept in sync with the REST API. Other endpoints are reported and listed in the
generated README. Without a subcommand, `generate` runs.

CONFIG FILE
  Settings can live in `openapi-operator-gen.yaml` (or `.yml`, or a dot-file of either name),
  found next to a file spec, else in the current directory, or given with --config. Command-line
  flags win over the file. Relative paths in the file are relative to the file. Keys (camelCase;
  unknown keys are errors):

    spec: petstore.yaml            # path or http(s) URL
    output: petstore-operator
    group: petstore.example.com
    apiVersion: v1alpha1
    rootKind: Store
    runtime: {path: ../runtime}    # or {version: \"0.1\"}
    workspace: auto                # auto | standalone | member
    filters:                       # excludes beat includes
      includePaths: [\"/pet/*\"]     # /x exact, /x/* x and below, /x/? one more segment,
      excludePaths: [\"/user/?\"]    # * one segment, {param} any segment
      includeTags: [pet]           # case-insensitive
      excludeTags: [internal]
      includeOperations: [\"*Pet*\"] # case-sensitive operationId globs
      excludeOperations: [updatePetWithForm]
    idFieldMap: {petId: id}        # path parameter -> body field carrying the id
    kinds:
      Pet:                         # the kind derived from the spec
        kind: Animal               # renames the Kubernetes kind (and plural)
        plural: animals
        shortNames: [ani]
        fields: {photoUrls: photos}  # Rust field name only; the JSON name is unchanged

  See docs/config.md for the full reference.

OWNERSHIP
  The output gets `.openapi-operator-gen/manifest` listing the generated files. Files listed
  there and no longer generated are removed. A file without an `@generated` header in its first
  lines belongs to you: it is never overwritten or deleted unless --force.";

/// Generate a Kubernetes operator crate (Rust, kube-rs) from an OpenAPI spec.
#[derive(Debug, Parser)]
#[command(
    name = "openapi-operator-gen",
    version,
    about,
    long_about = LONG_ABOUT,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: generate).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `generate` options, accepted without the subcommand name.
    #[command(flatten)]
    pub generate: GenerateArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate (or check) the operator crate (the default).
    Generate(GenerateArgs),
    /// Print how every operation is classified (Resource kind, unclassified, filtered); writes nothing.
    Plan(PlanArgs),
}

/// Options shared by `generate` and `plan`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// OpenAPI spec: a file path (YAML or JSON) or an http(s) URL [or `spec` in the config file].
    #[arg(long, value_name = "PATH|URL")]
    pub spec: Option<String>,
    /// Config file [default: openapi-operator-gen.yaml next to the spec, else in the current directory].
    #[arg(long, short = 'c', value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Do not look for a config file.
    #[arg(long)]
    pub no_config: bool,
    /// API group of the CRDs [default: derived from info.title, e.g. petstore.example.com].
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// API version of the CRDs.
    #[arg(long, value_name = "VERSION", default_value = "v1alpha1")]
    pub api_version: String,
    /// Kind name for endpoints on the root path `/`.
    #[arg(long, value_name = "KIND")]
    pub root_kind: Option<String>,
    /// Only operations whose path matches one of these globs (comma-separated).
    #[arg(long, value_name = "GLOB,...", value_delimiter = ',')]
    pub include_paths: Vec<String>,
    /// Drop operations whose path matches one of these globs.
    #[arg(long, value_name = "GLOB,...", value_delimiter = ',')]
    pub exclude_paths: Vec<String>,
    /// Only operations with one of these tags (case-insensitive).
    #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
    pub include_tags: Vec<String>,
    /// Drop operations with one of these tags.
    #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
    pub exclude_tags: Vec<String>,
    /// Only operations whose operationId matches one of these globs (case-sensitive).
    #[arg(long, value_name = "GLOB,...", value_delimiter = ',')]
    pub include_operations: Vec<String>,
    /// Drop operations whose operationId matches one of these globs.
    #[arg(long, value_name = "GLOB,...", value_delimiter = ',')]
    pub exclude_operations: Vec<String>,
    /// Body field carrying a kind's id, per path parameter (overrides the file's entry).
    #[arg(long, value_name = "PARAM=FIELD,...", value_delimiter = ',')]
    pub id_field_map: Vec<String>,
    /// Print only errors (`--quiet=false` turns it off again).
    #[arg(
        long,
        short,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub quiet: Option<bool>,
}

/// `generate` options.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Directory to write the operator crate into [or `output` in the config file].
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Depend on openapi-operator-runtime by path (relative to the current directory).
    #[arg(long, value_name = "DIR", conflicts_with = "runtime_version")]
    pub runtime_path: Option<PathBuf>,
    /// Depend on openapi-operator-runtime from crates.io at this version.
    #[arg(long, value_name = "SEMVER")]
    pub runtime_version: Option<String>,
    /// Always add an empty `[workspace]` table to the generated Cargo.toml.
    #[arg(long, conflicts_with_all = ["workspace_member", "workspace"])]
    pub standalone: bool,
    /// Never add `[workspace]` (the output is a member of an enclosing workspace).
    #[arg(long, conflicts_with = "workspace")]
    pub workspace_member: bool,
    /// Workspace mode: auto, standalone or member (overrides `workspace` in the config file).
    #[arg(long, value_name = "MODE", value_parser = ["auto", "standalone", "member"])]
    pub workspace: Option<String>,
    /// Write nothing; list files that would be created, changed or removed and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// Overwrite or delete files that lack the @generated header (files you took over).
    #[arg(long)]
    pub force: bool,
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What the binary should do, with everything merged.
#[derive(Debug)]
pub enum Action {
    /// Generate into `config.output`.
    Generate {
        /// Merged settings.
        config: Box<Config>,
        /// `--check`.
        check: bool,
        /// `--force`.
        force: bool,
    },
    /// Print the classification table.
    Plan {
        /// Merged settings (output unused).
        config: Box<Config>,
    },
}

/// Why merged settings are unusable.
#[derive(Debug)]
pub enum ResolveError {
    /// A required setting is missing from both the CLI and the config file (a usage error).
    Missing(&'static str),
    /// The config file or a value is invalid.
    Invalid(Error),
}

impl From<Error> for ResolveError {
    fn from(e: Error) -> Self {
        Self::Invalid(e)
    }
}

fn explicit(m: &ArgMatches, id: &str) -> bool {
    matches!(m.value_source(id), Some(ValueSource::CommandLine))
}

/// Turns parsed arguments (and their matches, for value sources) into an [`Action`].
pub fn resolve(cli: Cli, matches: &ArgMatches) -> Result<Action, ResolveError> {
    match (cli.command, matches.subcommand()) {
        (Some(Command::Plan(args)), Some((_, m))) => {
            let (config, _) = merge(args.common, m)?;
            Ok(Action::Plan {
                config: Box::new(config),
            })
        }
        (Some(Command::Generate(args)), Some((_, m))) => generate(args, m),
        _ => generate(cli.generate, matches),
    }
}

fn generate(g: GenerateArgs, m: &ArgMatches) -> Result<Action, ResolveError> {
    let (mut config, file) = merge(g.common, m)?;
    let f = file.as_ref();
    config.output = match g
        .output
        .or_else(|| f.and_then(|l| l.file.output.as_ref().map(|o| l.resolve(&o.value))))
    {
        Some(o) => o,
        None => return Err(ResolveError::Missing("--output (or `output` in the config file)")),
    };
    let cli_runtime = match (g.runtime_path, g.runtime_version) {
        (Some(p), _) => Some(RuntimeDep::Path(p)),
        (None, Some(v)) => Some(RuntimeDep::Version(v)),
        (None, None) => None,
    };
    config.runtime = cli_runtime.or_else(|| f.and_then(Loaded::runtime));
    let cli_workspace = if g.standalone {
        Some(WorkspaceMode::Standalone)
    } else if g.workspace_member {
        Some(WorkspaceMode::Member)
    } else {
        g.workspace
            .as_deref()
            .and_then(|w| config_file::workspace_mode(w).ok())
    };
    let file_workspace = f
        .and_then(|l| l.file.workspace.as_ref())
        .and_then(|w| config_file::workspace_mode(&w.value).ok());
    config.workspace = cli_workspace.or(file_workspace).unwrap_or_default();
    Ok(Action::Generate {
        config: Box::new(config),
        check: g.check,
        force: g.force,
    })
}

fn merge(a: CommonArgs, m: &ArgMatches) -> Result<(Config, Option<Loaded>), ResolveError> {
    let path = if a.no_config {
        None
    } else {
        config_file::discover(a.config.as_deref(), a.spec.as_deref())?
    };
    let file = path.as_deref().map(config_file::load).transpose()?;
    let f = file.as_ref();
    let value = |get: fn(&config_file::FileConfig) -> &Option<config_file::Value>| {
        f.and_then(|l| get(&l.file).as_ref().map(|v| v.value.clone()))
    };
    let spec = match a.spec.clone().or_else(|| f.and_then(Loaded::spec)) {
        Some(s) => s,
        None => return Err(ResolveError::Missing("--spec (or `spec` in the config file)")),
    };
    let mut config = Config::new(SpecSource::from_arg(&spec), ".");
    config.group = a.group.clone().or_else(|| value(|c| &c.group));
    config.api_version = if explicit(m, "api_version") {
        a.api_version.clone()
    } else {
        value(|c| &c.api_version).unwrap_or(a.api_version.clone())
    };
    config.root_kind = a.root_kind.clone().or_else(|| value(|c| &c.root_kind));
    config.quiet = a.quiet.unwrap_or(false);
    let file_filters = f
        .and_then(|l| l.file.filters.as_ref())
        .map(config_file::filters)
        .unwrap_or_default();
    let pick = |id: &str, cli: &[String], file: Vec<String>| {
        if explicit(m, id) {
            cli.iter().filter(|s| !s.is_empty()).cloned().collect()
        } else {
            file
        }
    };
    config.filters = Filters {
        include_paths: pick("include_paths", &a.include_paths, file_filters.include_paths),
        exclude_paths: pick("exclude_paths", &a.exclude_paths, file_filters.exclude_paths),
        include_tags: pick("include_tags", &a.include_tags, file_filters.include_tags),
        exclude_tags: pick("exclude_tags", &a.exclude_tags, file_filters.exclude_tags),
        include_operations: pick(
            "include_operations",
            &a.include_operations,
            file_filters.include_operations,
        ),
        exclude_operations: pick(
            "exclude_operations",
            &a.exclude_operations,
            file_filters.exclude_operations,
        ),
    };
    let mut id_map: BTreeMap<String, String> = f
        .and_then(|l| l.file.id_field_map.as_ref())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect())
        .unwrap_or_default();
    for entry in a.id_field_map.iter().filter(|e| !e.is_empty()) {
        let Some((param, field)) = entry
            .split_once('=')
            .filter(|(p, f)| !p.is_empty() && !f.is_empty())
        else {
            return Err(Error::InvalidOption {
                option: "--id-field-map",
                reason: format!("{entry:?} is not PARAM=FIELD"),
            }
            .into());
        };
        id_map.insert(param.to_owned(), field.to_owned());
    }
    config.id_field_map = id_map;
    if let Some(l) = f {
        config.kinds = l.kinds();
        config.origin = Some(l.path.display().to_string());
    }
    validate_cli(&config)?;
    Ok((config, file))
}

fn validate_cli(config: &Config) -> Result<()> {
    if let Err((list, index, reason)) = config.filters.validate() {
        let option = match list {
            "includePaths" => "--include-paths",
            "excludePaths" => "--exclude-paths",
            "includeTags" => "--include-tags",
            "excludeTags" => "--exclude-tags",
            "includeOperations" => "--include-operations",
            _ => "--exclude-operations",
        };
        return Err(Error::InvalidOption {
            option,
            reason: format!("pattern {}: {reason}", index + 1),
        });
    }
    Ok(())
}
