//! openapi-operator-gen: turns an OpenAPI spec (3.0, 3.1 or Swagger 2.0) into a complete Kubernetes operator crate (kube-rs).
//!
//! Pipeline: [`parse::load`] → [`classify::classify`] (builds the [`model::Model`]) →
//! [`emit_rust::emit`] + [`emit_files::render`] (all files in memory) → [`write::write`].
#![deny(missing_docs)]

pub mod classify;
pub mod cli;
pub mod config;
pub mod config_file;
pub mod emit_files;
pub mod emit_rust;
pub mod error;
pub mod model;
mod par;
pub mod parse;
pub mod plan;
pub mod write;

pub use classify::report;
pub use config::{Config, RuntimeDep, SpecSource, WorkspaceMode};
pub use error::{Error, Result};

/// Version of this generator (written into every generated file header).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A generated crate held in memory.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The IR the files were emitted from.
    pub model: model::Model,
    /// Every output file.
    pub files: write::Files,
}

/// Runs the whole pipeline except writing: load, classify, emit.
pub fn generate(config: &Config) -> Result<Generated> {
    config.validate()?;
    let spec = parse::load(&config.spec)?;
    generate_from_spec(&spec, config)
}

/// Classifies and emits an already-loaded spec.
pub fn generate_from_spec(spec: &parse::Spec, config: &Config) -> Result<Generated> {
    let model = classify::classify(spec, config)?;
    let files = emit(&model, config)?;
    Ok(Generated { model, files })
}

/// Emits every file of a classified model (in memory).
pub fn emit(model: &model::Model, config: &Config) -> Result<write::Files> {
    let options = emit_files::Options::from_config(config);
    let mut files = write::Files::new();
    for file in emit_rust::emit(model)? {
        files.insert(file.path, file.contents);
    }
    for file in emit_files::render(model, &options)? {
        files.insert(file.path, file.contents);
    }
    Ok(files)
}
