//! Validated generation settings (`Config`), independent of how they were given (CLI or library).

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Where the spec comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSource {
    /// A local file.
    Path(PathBuf),
    /// An `http://` or `https://` URL.
    Url(String),
}

impl SpecSource {
    /// Classifies a command-line value: URLs start with `http://` or `https://`.
    pub fn from_arg(arg: &str) -> Self {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            Self::Url(arg.to_owned())
        } else {
            Self::Path(PathBuf::from(arg))
        }
    }

    /// The name used in messages, README and the regenerate command line.
    pub fn display(&self) -> String {
        match self {
            Self::Path(p) => p.display().to_string(),
            Self::Url(u) => u.clone(),
        }
    }
}

/// How the generated crate depends on `openapi-operator-runtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeDep {
    /// `path = ...`: a runtime directory (made relative to the output directory when written).
    Path(PathBuf),
    /// `version = ...` from crates.io.
    Version(String),
}

/// Whether the generated `Cargo.toml` gets an empty `[workspace]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkspaceMode {
    /// Detect: standalone unless an enclosing workspace lists the output as a member.
    #[default]
    Auto,
    /// Always add `[workspace]`.
    Standalone,
    /// Never add `[workspace]`.
    Member,
}

/// Everything one generation run needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The OpenAPI document.
    pub spec: SpecSource,
    /// Output directory of the generated crate.
    pub output: PathBuf,
    /// API group; derived from `info.title` when `None`.
    pub group: Option<String>,
    /// API version of every CRD.
    pub api_version: String,
    /// Kind used for the root path `/` (used by Query/Action kinds in later releases).
    pub root_kind: Option<String>,
    /// Runtime dependency; `None` = the generator's own source tree if present, else this version.
    pub runtime: Option<RuntimeDep>,
    /// Workspace detection.
    pub workspace: WorkspaceMode,
    /// Suppress the unclassified-endpoints report.
    pub quiet: bool,
}

impl Config {
    /// A config with defaults for everything but the spec and output.
    pub fn new(spec: SpecSource, output: impl Into<PathBuf>) -> Self {
        Self {
            spec,
            output: output.into(),
            group: None,
            api_version: "v1alpha1".to_owned(),
            root_kind: None,
            runtime: None,
            workspace: WorkspaceMode::Auto,
            quiet: true,
        }
    }

    /// Checks option values that do not need the spec.
    pub fn validate(&self) -> Result<()> {
        if let Some(group) = &self.group {
            crate::model::naming::validate_group(group).map_err(|reason| Error::InvalidOption {
                option: "--group",
                reason,
            })?;
        }
        crate::model::naming::validate_api_version(&self.api_version).map_err(|reason| {
            Error::InvalidOption {
                option: "--api-version",
                reason,
            }
        })?;
        if let Some(kind) = &self.root_kind {
            crate::model::naming::validate_kind(kind).map_err(|reason| Error::InvalidOption {
                option: "--root-kind",
                reason,
            })?;
        }
        Ok(())
    }
}
