//! Validated generation settings (`Config`), independent of how they were given (CLI or library).

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use crate::classify::filter::Filters;
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
    /// Operations removed before classification.
    pub filters: Filters,
    /// Path parameter → body field carrying the id (`petId: id`), overriding the automatic merge.
    pub id_field_map: BTreeMap<String, String>,
    /// Renames per generated kind, keyed by the kind name the generator derives (`Pet`).
    pub kinds: BTreeMap<String, KindOverride>,
    /// Where `filters`, `idFieldMap` and `kinds` came from (a config file), for messages.
    pub origin: Option<String>,
}

/// Renames of one kind (`kinds.<Kind>` in the config file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindOverride {
    /// New Kubernetes kind (also renames the Rust types and module).
    pub kind: Option<String>,
    /// New plural (default: derived from the kind).
    pub plural: Option<String>,
    /// Short names replacing the derived one.
    pub short_names: Option<Vec<String>>,
    /// Spec field JSON name → Rust field identifier (the JSON/wire name never changes).
    pub fields: BTreeMap<String, String>,
    /// Fields of a Resource kind never reported as drift (JSON pointers or dotted paths).
    pub ignore_fields: Vec<String>,
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
            filters: Filters::default(),
            id_field_map: BTreeMap::new(),
            kinds: BTreeMap::new(),
            origin: None,
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
        if let Err((list, index, reason)) = self.filters.validate() {
            return Err(self.config_error(format!("filters.{list}[{index}]"), reason));
        }
        for (name, o) in &self.kinds {
            let key = |k: &str| format!("kinds.{name}{k}");
            if let Some(kind) = &o.kind {
                crate::model::naming::validate_kind(kind).map_err(|r| self.config_error(key(".kind"), r))?;
            }
            if let Some(plural) = &o.plural {
                crate::model::naming::validate_plural(plural)
                    .map_err(|r| self.config_error(key(".plural"), r))?;
            }
            for (i, short) in o.short_names.iter().flatten().enumerate() {
                crate::model::naming::validate_plural(short)
                    .map_err(|r| self.config_error(key(&format!(".shortNames[{i}]")), r))?;
            }
            for (json, ident) in &o.fields {
                crate::model::naming::validate_field_ident(ident)
                    .map_err(|r| self.config_error(key(&format!(".fields.{json}")), r))?;
            }
        }
        Ok(())
    }

    /// An error about a config-file key (no line known: used for checks against the spec).
    pub fn config_error(&self, key: String, reason: String) -> Error {
        Error::Config {
            file: self.origin.clone().unwrap_or_else(|| "config".to_owned()),
            line: 0,
            column: 0,
            key,
            reason,
        }
    }
}
