//! Template view models: flat, serializable, built from the Model (never the reverse). All text escaping happens here.

use serde::Serialize;

use super::options::Options;
use crate::model::{Crd, CrdKind, Model};

/// Context shared by every template.
#[derive(Debug, Clone, Serialize)]
pub struct CrateContext {
    pub generator_version: &'static str,
    pub crate_name: String,
    pub operator_name: String,
    pub app_name: String,
    pub group: String,
    pub api_version: String,
    pub namespace: String,
    pub title_md: String,
    /// `" API"` after the title in prose, or empty when the title ends with "API".
    pub api_suffix: &'static str,
    pub title_toml: String,
    pub title_yaml: String,
    pub api_info_version: String,
    pub description_md: Option<String>,
    pub spec_source: String,
    pub base_url_placeholder: String,
    pub runtime_dependency: String,
    pub runtime_path: Option<String>,
    pub docker_crate_dir: Option<String>,
    pub docker_manifest: String,
    pub docker_build_command: String,
    pub standalone: bool,
    pub regenerate_command: String,
    pub kinds: Vec<KindContext>,
    /// Whether any Action reads its payload with `dataFrom` (RBAC: get ConfigMaps and Secrets).
    pub reads_data_from: bool,
    pub unclassified: Vec<UnclassifiedContext>,
    /// Version of the emitted crate (`version` in Cargo.toml.tera), also the Helm chart's version,
    /// appVersion and the production overlay's image tag.
    pub crate_version: &'static str,
    /// The Helm chart's `description`, a double-quoted YAML scalar.
    pub chart_description_yaml: String,
    /// `base_url_placeholder` as a double-quoted YAML scalar.
    pub base_url_yaml: String,
    /// The dev overlay's placeholder backend URL (a Service named after the app in `default`), quoted.
    pub dev_base_url_yaml: String,
    /// Docker build context relative to the crate directory (`.`, or `../..` next to the runtime).
    pub docker_context: String,
}

/// One kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindContext {
    pub kind: String,
    /// `Resource`, `Query`, `Action` or `Aggregate`.
    pub family: &'static str,
    pub plural: String,
    pub singular: String,
    pub crd_file: String,
    pub short_names_md: String,
    pub paths_md: String,
    pub update_md: String,
    pub sample_name: String,
    /// The sample's spec as YAML, indented by two spaces, ending with a newline (or empty).
    pub sample_spec: String,
    /// Resource kinds: JSON name of the spec field holding the backend id.
    pub id_field: Option<String>,
    /// Resource kinds: the spec of the adopt/observe samples (the id and the required fields), as
    /// YAML indented by two spaces, ending with a newline (or empty).
    pub id_sample_spec: String,
    /// Name of the adopt sample CR.
    pub adopt_name: String,
    /// Name of the observe (read-only) sample CR.
    pub observe_name: String,
}

/// One endpoint that is not a kind.
#[derive(Debug, Clone, Serialize)]
pub struct UnclassifiedContext {
    pub method: &'static str,
    pub path: String,
    pub operation_id_md: String,
    pub reason_md: String,
}

/// Version of every emitted crate (must equal `version` in templates/Cargo.toml.tera).
pub const CRATE_VERSION: &str = "0.1.0";

/// `text` as a double-quoted YAML scalar (JSON string syntax is valid YAML).
fn yaml_quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl CrateContext {
    /// Builds the context; `sample_specs` are the rendered sample spec blocks, one per kind.
    pub fn new(model: &Model, options: &Options, sample_specs: Vec<String>) -> Self {
        let a = &model.api;
        let kinds = model
            .crds
            .iter()
            .zip(sample_specs)
            .map(|(crd, spec)| kind(model, crd, spec))
            .collect();
        let unclassified = model
            .unclassified
            .iter()
            .map(|u| UnclassifiedContext {
                method: u.method.as_str(),
                path: u.path.clone(),
                operation_id_md: u
                    .operation_id
                    .as_deref()
                    .map(|o| format!("`{}`", md_cell(o)))
                    .unwrap_or_default(),
                reason_md: md_cell(&u.reason),
            })
            .collect();
        let docker_manifest = match &options.docker_crate_dir {
            Some(dir) => format!("{dir}/Cargo.toml"),
            None => "Cargo.toml".to_owned(),
        };
        let docker_build_command = match &options.docker_crate_dir {
            Some(dir) => format!(
                "# from the directory that contains {dir} and the runtime\ndocker build -f {dir}/Dockerfile -t {}:latest .",
                a.operator_name
            ),
            None => format!("docker build -t {}:latest .", a.operator_name),
        };
        let docker_context = match &options.docker_crate_dir {
            Some(dir) => vec![".."; dir.split('/').filter(|p| !p.is_empty()).count().max(1)].join("/"),
            None => ".".to_owned(),
        };
        let base_url_placeholder = a
            .server_url
            .clone()
            .unwrap_or_else(|| "http://backend.example.com".to_owned());
        let api_suffix = crate::model::naming::api_suffix(&a.title);
        Self {
            generator_version: crate::VERSION,
            crate_name: a.crate_name.clone(),
            operator_name: a.operator_name.clone(),
            app_name: a.app_name.clone(),
            group: a.group.clone(),
            api_version: a.api_version.clone(),
            namespace: format!("{}-system", a.app_name),
            title_md: md_cell(&a.title).replace('*', "\\*"),
            title_toml: a.title.replace('\\', "\\\\").replace('"', "\\\""),
            title_yaml: a.title.replace('\n', " "),
            api_suffix,
            api_info_version: a.version.clone(),
            description_md: a.description.as_deref().map(|d| d.replace('\n', " ")),
            spec_source: a.spec_source.clone(),
            base_url_yaml: yaml_quoted(&base_url_placeholder),
            base_url_placeholder,
            runtime_dependency: options.runtime_dependency.clone(),
            runtime_path: options.runtime_path.clone(),
            docker_crate_dir: options.docker_crate_dir.clone(),
            docker_manifest,
            docker_build_command,
            standalone: options.standalone,
            regenerate_command: options.regenerate_command.clone(),
            kinds,
            reads_data_from: model
                .crds
                .iter()
                .any(|c| matches!(&c.kind, CrdKind::Action(a) if a.body.is_binary())),
            unclassified,
            crate_version: CRATE_VERSION,
            chart_description_yaml: yaml_quoted(&format!(
                "Kubernetes operator for the {}{api_suffix} (generated by openapi-operator-gen)",
                a.title.replace('\n', " ")
            )),
            dev_base_url_yaml: yaml_quoted(&format!(
                "http://{}.default.svc.cluster.local:8080{}",
                a.app_name,
                a.base_path.as_deref().unwrap_or("")
            )),
            docker_context,
        }
    }

    /// Sets each kind's [`KindContext::id_sample_spec`] (one entry per kind, in order).
    pub fn set_id_sample_specs(&mut self, specs: Vec<String>) {
        for (kind, spec) in self.kinds.iter_mut().zip(specs) {
            kind.id_sample_spec = spec;
        }
    }
}

fn kind(model: &Model, crd: &Crd, sample_spec: String) -> KindContext {
    let ops: Vec<&crate::model::Operation> = match &crd.kind {
        CrdKind::Resource(ops) => [
            ops.create.as_ref(),
            Some(&ops.read),
            ops.update.as_ref().map(|u| &u.operation),
            ops.delete.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect(),
        CrdKind::Query(q) => vec![&q.operation],
        CrdKind::Action(a) => vec![&a.operation],
        CrdKind::Aggregate => Vec::new(),
    };
    let mut paths: Vec<String> = Vec::new();
    for op in ops {
        let text = format!("{} `{}`", op.method.as_str(), op.path);
        if !paths.contains(&text) {
            paths.push(text);
        }
    }
    if matches!(crd.kind, CrdKind::Aggregate) {
        paths.push("none (reads the other kinds' CRs)".to_owned());
    }
    let update_md = match &crd.kind {
        CrdKind::Resource(ops) => ops
            .update
            .as_ref()
            .map(|u| format!("{} `{}`", u.operation.method.as_str(), u.operation.path))
            .unwrap_or_else(|| "none (read/delete only)".to_owned()),
        CrdKind::Query(_) => "results in `status.results`".to_owned(),
        CrdKind::Action(_) => "runs once per spec change".to_owned(),
        CrdKind::Aggregate => "CEL values in `status.computedValues`".to_owned(),
    };
    KindContext {
        kind: crd.names.kind.clone(),
        family: crd.kind.family(),
        plural: crd.names.plural.clone(),
        singular: crd.names.singular.clone(),
        crd_file: format!("{}.{}.yaml", crd.names.plural, model.api.group),
        short_names_md: crd
            .names
            .short_names
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", "),
        paths_md: paths.join("<br>"),
        update_md,
        sample_name: format!("sample-{}", crd.names.singular),
        sample_spec,
        id_field: match &crd.kind {
            CrdKind::Resource(ops) => ops.id_field.clone(),
            _ => None,
        },
        id_sample_spec: String::new(),
        adopt_name: format!("adopt-{}", crd.names.singular),
        observe_name: format!("observe-{}", crd.names.singular),
    }
}
