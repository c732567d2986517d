//! Model → non-Rust files: tera templates (Cargo.toml, README, Makefile, Dockerfile, deploy/ with its kustomize
//! overlays, the Helm chart in chart/, samples/) and the predicted CRD YAML (in deploy/crds/ and the chart's crds/).

mod context;
pub mod crd;
mod options;
mod registry;
mod samples;

use tera::{Context, Delimiters, Tera};

pub use options::Options;
use registry::{Scope, Syntax, TEMPLATES};

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
    let template_error = |name: &str, source: tera::Error| Error::Template {
        name: name.to_owned(),
        source: Box::new(source),
    };
    let mut tera = Tera::default();
    // Helm templates are full of `{{ }}`: tera uses other delimiters there.
    let mut helm = Tera::default();
    helm.set_delimiters(Delimiters {
        block_start: "[%".into(),
        block_end: "%]".into(),
        variable_start: "[[".into(),
        variable_end: "]]".into(),
        comment_start: "[#".into(),
        comment_end: "#]".into(),
    })
    .map_err(|e| template_error("helm delimiters", e))?;
    for t in TEMPLATES {
        let engine = match t.syntax {
            Syntax::Tera => &mut tera,
            Syntax::Helm => &mut helm,
        };
        engine
            .add_raw_template(t.name, t.source)
            .map_err(|e| template_error(t.name, e))?;
    }
    let mut sample_specs = Vec::new();
    let mut id_sample_specs = Vec::new();
    for crd in &model.crds {
        let file = format!("samples/{}.yaml", crd.names.singular);
        sample_specs.push(spec_block(samples::sample_spec_of(model, crd), &file)?);
        id_sample_specs.push(match samples::id_sample_spec_of(model, crd) {
            Some(spec) => spec_block(spec, &file)?,
            None => String::new(),
        });
    }
    let mut view = context::CrateContext::new(model, options, sample_specs);
    view.set_id_sample_specs(id_sample_specs);
    let mut base = Context::from_serialize(&view).map_err(|e| template_error("context", e))?;

    let render = |t: &registry::Template, ctx: &Context| {
        match t.syntax {
            Syntax::Tera => tera.render(t.name, ctx),
            Syntax::Helm => helm.render(t.name, ctx),
        }
        .map_err(|e| template_error(t.name, e))
    };
    for t in TEMPLATES.iter().filter(|t| t.scope == Scope::Partial) {
        let text = render(t, &base)?;
        base.insert(t.output, &text);
    }
    let mut files = Vec::new();
    for t in TEMPLATES {
        let output = t.output.replace("{operator_name}", &view.operator_name);
        let kinds = match t.scope {
            Scope::Partial => continue,
            Scope::Crate => {
                files.push(TextFile {
                    path: output,
                    contents: render(t, &base)?,
                });
                continue;
            }
            Scope::Kind => view.kinds.iter().collect::<Vec<_>>(),
            Scope::ResourceKind => view.kinds.iter().filter(|k| k.family == "Resource").collect(),
        };
        for kind in kinds {
            let mut ctx = base.clone();
            ctx.insert("kind", kind);
            files.push(TextFile {
                path: output.replace("{singular}", &kind.singular),
                contents: render(t, &ctx)?,
            });
        }
    }
    let chart_crds = registry::chart_crd_dir(&view.operator_name);
    // The CRD files are most of the output's bytes on large specs: built in parallel.
    let crds: Vec<&crate::model::Crd> = model.crds.iter().collect();
    let yamls = crate::par::try_map(&crds, |c| crd::crd_yaml(model, c))?;
    for (c, contents) in model.crds.iter().zip(yamls) {
        let path = crd::file_name(model, c);
        // The Helm chart installs the same CRD files from its `crds/` directory.
        let name = path.rsplit('/').next().unwrap_or(&path);
        files.push(TextFile {
            path: format!("{chart_crds}/{name}"),
            contents: contents.clone(),
        });
        files.push(TextFile { path, contents });
    }
    Ok(files)
}

/// A sample spec as a YAML block indented by two spaces, each line ending with a newline (empty for `{}`).
fn spec_block(spec: serde_json::Map<String, serde_json::Value>, file: &str) -> Result<String> {
    if spec.is_empty() {
        return Ok(String::new());
    }
    let yaml = serde_saphyr::to_string(&serde_json::Value::Object(spec)).map_err(|e| Error::Emit {
        file: file.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(yaml.lines().map(|l| format!("  {l}\n")).collect())
}

impl Options {
    /// Shorthand used by [`crate::generate`].
    pub fn for_config(config: &crate::Config) -> Self {
        Self::from_config(config)
    }
}
