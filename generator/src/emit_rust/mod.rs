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

/// One Rust file to emit (the files are independent, so they are emitted in parallel).
enum Job<'a> {
    Lib,
    Main,
    Models,
    ResourcesMod,
    Kind(&'a crate::model::Crd),
    Crdgen,
    CrdsTest,
}

/// Emits every Rust file of the generated crate.
pub fn emit(model: &Model) -> Result<Vec<RustFile>> {
    let mut jobs = vec![Job::Lib, Job::Main, Job::Models, Job::ResourcesMod];
    jobs.extend(model.crds.iter().map(Job::Kind));
    jobs.extend([Job::Crdgen, Job::CrdsTest]);
    let files = crate::par::try_map(&jobs, |job| {
        let (path, tokens) = match job {
            Job::Lib => ("src/lib.rs".to_owned(), crate_files::lib_rs(model)?),
            Job::Main => ("src/main.rs".to_owned(), crate_files::main_rs(model)?),
            Job::Models => ("src/models.rs".to_owned(), crate_files::models_rs(model)?),
            Job::ResourcesMod => (
                "src/resources/mod.rs".to_owned(),
                crate_files::resources_mod(model)?,
            ),
            Job::Kind(crd) => {
                let module = crd.module.trim_start_matches("r#");
                let tokens = match crd.kind {
                    crate::model::CrdKind::Resource(_) => resource::kind_file(model, crd)?,
                    _ => runs::kind_file(model, crd)?,
                };
                (format!("src/resources/{module}.rs"), tokens)
            }
            Job::Crdgen => ("src/bin/crdgen.rs".to_owned(), crate_files::crdgen_rs(model)?),
            Job::CrdsTest => ("tests/crds.rs".to_owned(), crate_files::crds_test(model)?),
        };
        let contents = format::format_file(&path, tokens)?;
        Ok(RustFile { path, contents })
    });
    // The worker threads are gone with their caches; this thread worked too.
    types::clear_doc_cache();
    files
}

/// Rust crate identifier of the generated package (`petstore_operator`).
pub fn crate_ident(model: &Model) -> String {
    model.api.crate_name.replace('-', "_")
}
