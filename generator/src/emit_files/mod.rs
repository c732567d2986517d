//! Model → non-Rust files: tera templates (Cargo.toml, README, Dockerfile, deploy/, samples/) and the predicted CRD YAML.

mod context;
pub mod crd;
mod options;
mod registry;
mod samples;

use tera::{Context, Tera};

pub use options::Options;
use registry::{Scope, TEMPLATES};

use crate::error::{Error, Result};
use crate::model::Model;

/// One emitted text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFile {
    /// Path relative to the crate root, with `/`.
    pub path: String,
    /// Contents.
    pub contents: String,
}

/// Renders every non-Rust file.
pub fn render(model: &Model, options: &Options) -> Result<Vec<TextFile>> {
    let mut tera = Tera::default();
    for t in TEMPLATES {
        tera.add_raw_template(t.name, t.source)
            .map_err(|source| Error::Template {
                name: t.name.to_owned(),
                source: Box::new(source),
            })?;
    }
    let mut sample_specs = Vec::new();
    for crd in &model.crds {
        let spec = samples::sample_spec_of(model, crd);
        let yaml = if spec.is_empty() {
            String::new()
        } else {
            serde_saphyr::to_string(&serde_json::Value::Object(spec)).map_err(|e| Error::Emit {
                file: format!("samples/{}.yaml", crd.names.singular),
                reason: e.to_string(),
            })?
        };
        sample_specs.push(yaml.lines().map(|l| format!("  {l}\n")).collect::<String>());
    }
    let view = context::CrateContext::new(model, options, sample_specs);
    let base = Context::from_serialize(&view).map_err(|source| Error::Template {
        name: "context".to_owned(),
        source: Box::new(source),
    })?;

    let mut files = Vec::new();
    for t in TEMPLATES {
        let render = |ctx: &Context| {
            tera.render(t.name, ctx).map_err(|source| Error::Template {
                name: t.name.to_owned(),
                source: Box::new(source),
            })
        };
        match t.scope {
            Scope::Crate => files.push(TextFile {
                path: t.output.to_owned(),
                contents: render(&base)?,
            }),
            Scope::Kind => {
                for kind in &view.kinds {
                    let mut ctx = base.clone();
                    ctx.insert("kind", kind);
                    let path = t.output.replace("{singular}", &kind.singular);
                    files.push(TextFile {
                        path,
                        contents: render(&ctx)?,
                    });
                }
            }
        }
    }
    for c in &model.crds {
        files.push(TextFile {
            path: crd::file_name(model, c),
            contents: crd::crd_yaml(model, c)?,
        });
    }
    Ok(files)
}

impl Options {
    /// Shorthand used by [`crate::generate`].
    pub fn for_config(config: &crate::Config) -> Self {
        Self::from_config(config)
    }
}
