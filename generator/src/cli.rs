//! Command-line arguments (clap derive) and their conversion into a [`Config`].

use std::path::PathBuf;

use clap::Parser;

use crate::config::{Config, RuntimeDep, SpecSource, WorkspaceMode};

/// Generate a Kubernetes operator crate (Rust, kube-rs) from an OpenAPI 3.0 spec.
///
/// Every path with POST on a collection and GET on `<collection>/{id}` becomes a Resource kind
/// whose CRs are kept in sync with the REST API. Other endpoints are reported and listed in the
/// generated README.
#[derive(Debug, Parser)]
#[command(name = "openapi-operator-gen", version, about, long_about = None)]
pub struct Args {
    /// OpenAPI 3.0 spec: a file path (YAML or JSON) or an http(s) URL.
    #[arg(long, value_name = "PATH|URL")]
    pub spec: String,
    /// Directory to write the operator crate into (created; generated files are replaced).
    #[arg(long, value_name = "DIR")]
    pub output: PathBuf,
    /// API group of the CRDs [default: derived from info.title, e.g. petstore.example.com].
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// API version of the CRDs.
    #[arg(long, value_name = "VERSION", default_value = "v1alpha1")]
    pub api_version: String,
    /// Kind name for endpoints on the root path `/`.
    #[arg(long, value_name = "KIND")]
    pub root_kind: Option<String>,
    /// Depend on openapi-operator-runtime by path (relative to the current directory).
    #[arg(long, value_name = "DIR", conflicts_with = "runtime_version")]
    pub runtime_path: Option<PathBuf>,
    /// Depend on openapi-operator-runtime from crates.io at this version.
    #[arg(long, value_name = "SEMVER")]
    pub runtime_version: Option<String>,
    /// Always add an empty `[workspace]` table to the generated Cargo.toml.
    #[arg(long, conflicts_with = "workspace_member")]
    pub standalone: bool,
    /// Never add `[workspace]` (the output is a member of an enclosing workspace).
    #[arg(long)]
    pub workspace_member: bool,
    /// Do not print the report of endpoints that did not become kinds.
    #[arg(long, short)]
    pub quiet: bool,
}

impl Args {
    /// Converts parsed arguments into a generation config.
    pub fn into_config(self) -> Config {
        let runtime = match (self.runtime_path, self.runtime_version) {
            (Some(p), _) => Some(RuntimeDep::Path(p)),
            (None, Some(v)) => Some(RuntimeDep::Version(v)),
            (None, None) => None,
        };
        let workspace = if self.standalone {
            WorkspaceMode::Standalone
        } else if self.workspace_member {
            WorkspaceMode::Member
        } else {
            WorkspaceMode::Auto
        };
        Config {
            spec: SpecSource::from_arg(&self.spec),
            output: self.output,
            group: self.group,
            api_version: self.api_version,
            root_kind: self.root_kind,
            runtime,
            workspace,
            quiet: self.quiet,
        }
    }
}
