//! Model → Rust source files (tokens via `quote!`, text via [`format::format_file`]).

mod crate_files;
pub mod docs;
pub mod format;
mod resource;
mod runs;
mod types;

use crate::error::Result;
use crate::model::Model;

/// One emitted Rust file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RustFile {
    /// Path relative to the crate root, with `/`.
    pub path: String,
    /// Formatted contents including the header.
    pub contents: String,
}

/// Emits every Rust file of the generated crate.
pub fn emit(model: &Model) -> Result<Vec<RustFile>> {
    let mut files = Vec::new();
    let mut push = |path: String, tokens: proc_macro2::TokenStream| -> Result<()> {
        let contents = format::format_file(&path, tokens)?;
        files.push(RustFile { path, contents });
        Ok(())
    };
    push("src/lib.rs".to_owned(), crate_files::lib_rs(model)?)?;
    push("src/main.rs".to_owned(), crate_files::main_rs(model)?)?;
    push("src/models.rs".to_owned(), crate_files::models_rs(model)?)?;
    push(
        "src/resources/mod.rs".to_owned(),
        crate_files::resources_mod(model)?,
    )?;
    for crd in &model.crds {
        let module = crd.module.trim_start_matches("r#");
        let tokens = match crd.kind {
            crate::model::CrdKind::Resource(_) => resource::kind_file(model, crd)?,
            _ => runs::kind_file(model, crd)?,
        };
        push(format!("src/resources/{module}.rs"), tokens)?;
    }
    push("src/bin/crdgen.rs".to_owned(), crate_files::crdgen_rs(model)?)?;
    push("tests/crds.rs".to_owned(), crate_files::crds_test(model)?)?;
    Ok(files)
}

/// Rust crate identifier of the generated package (`petstore_operator`).
pub fn crate_ident(model: &Model) -> String {
    model.api.crate_name.replace('-', "_")
}
