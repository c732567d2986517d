//! The table of built-in templates (embedded with `include_str!`) and where each one's output goes.

/// How often a template is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Once per crate.
    Crate,
    /// Once per kind (`{singular}` in the output path).
    Kind,
    /// Once per Resource kind (`{singular}` in the output path).
    ResourceKind,
    /// Never written: rendered once, before every other template, into the context variable named
    /// by the output (e.g. `rbac_rules`), so that several files share its text.
    Partial,
}

/// Which tera delimiters a template uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `{{ }}`, `{% %}`, `{# #}`.
    Tera,
    /// `[[ ]]`, `[% %]`, `[# #]`: for Helm templates, whose own `{{ }}` pass through untouched.
    Helm,
}

/// One registered template.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// File name under `templates/` (with `/` for subdirectories).
    pub name: &'static str,
    /// Template text.
    pub source: &'static str,
    /// Output path; `{singular}` is replaced for per-kind templates and `{operator_name}` everywhere.
    /// For a [`Scope::Partial`], the context variable it is rendered into.
    pub output: &'static str,
    /// Rendering scope.
    pub scope: Scope,
    /// Delimiters.
    pub syntax: Syntax,
}

macro_rules! template {
    ($name:literal, $output:literal, $scope:expr) => {
        template!($name, $output, $scope, Syntax::Tera)
    };
    ($name:literal, $output:literal, $scope:expr, $syntax:expr) => {
        Template {
            name: $name,
            source: include_str!(concat!("../../../templates/", $name)),
            output: $output,
            scope: $scope,
            syntax: $syntax,
        }
    };
}

/// Directory of the Helm chart in the emitted crate.
const CHART: &str = "chart/{operator_name}";

/// Every template, in rendering order (partials are rendered first whatever their position).
pub const TEMPLATES: &[Template] = &[
    template!("rbac_rules.yaml.tera", "rbac_rules", Scope::Partial),
    template!(
        "leader_election_rules.yaml.tera",
        "leader_election_rules",
        Scope::Partial
    ),
    template!("Cargo.toml.tera", "Cargo.toml", Scope::Crate),
    template!("README.md.tera", "README.md", Scope::Crate),
    template!("Makefile.tera", "Makefile", Scope::Crate),
    template!("Dockerfile.tera", "Dockerfile", Scope::Crate),
    template!("rustfmt.toml.tera", "rustfmt.toml", Scope::Crate),
    template!(
        "kustomization.yaml.tera",
        "deploy/kustomization.yaml",
        Scope::Crate
    ),
    template!("manager.yaml.tera", "deploy/manager.yaml", Scope::Crate),
    template!(
        "service_account.yaml.tera",
        "deploy/rbac/service_account.yaml",
        Scope::Crate
    ),
    template!(
        "cluster_role.yaml.tera",
        "deploy/rbac/cluster_role.yaml",
        Scope::Crate
    ),
    template!(
        "cluster_role_binding.yaml.tera",
        "deploy/rbac/cluster_role_binding.yaml",
        Scope::Crate
    ),
    template!(
        "leader_election_role.yaml.tera",
        "deploy/rbac/leader_election_role.yaml",
        Scope::Crate
    ),
    template!(
        "leader_election_role_binding.yaml.tera",
        "deploy/rbac/leader_election_role_binding.yaml",
        Scope::Crate
    ),
    template!(
        "overlays/dev/kustomization.yaml.tera",
        "overlays/dev/kustomization.yaml",
        Scope::Crate
    ),
    template!(
        "overlays/dev/manager_patch.yaml.tera",
        "overlays/dev/manager_patch.yaml",
        Scope::Crate
    ),
    template!(
        "overlays/production/kustomization.yaml.tera",
        "overlays/production/kustomization.yaml",
        Scope::Crate
    ),
    template!(
        "overlays/production/manager_patch.yaml.tera",
        "overlays/production/manager_patch.yaml",
        Scope::Crate
    ),
    template!(
        "helm/Chart.yaml.tera",
        "chart/{operator_name}/Chart.yaml",
        Scope::Crate
    ),
    template!(
        "helm/values.yaml.tera",
        "chart/{operator_name}/values.yaml",
        Scope::Crate
    ),
    template!(
        "helm/templates/_helpers.tpl.tera",
        "chart/{operator_name}/templates/_helpers.tpl",
        Scope::Crate,
        Syntax::Helm
    ),
    template!(
        "helm/templates/deployment.yaml.tera",
        "chart/{operator_name}/templates/deployment.yaml",
        Scope::Crate,
        Syntax::Helm
    ),
    template!(
        "helm/templates/serviceaccount.yaml.tera",
        "chart/{operator_name}/templates/serviceaccount.yaml",
        Scope::Crate,
        Syntax::Helm
    ),
    template!(
        "helm/templates/clusterrole.yaml.tera",
        "chart/{operator_name}/templates/clusterrole.yaml",
        Scope::Crate,
        Syntax::Helm
    ),
    template!(
        "helm/templates/clusterrolebinding.yaml.tera",
        "chart/{operator_name}/templates/clusterrolebinding.yaml",
        Scope::Crate,
        Syntax::Helm
    ),
    template!(
        "helm/templates/leader-election-role.yaml.tera",
        "chart/{operator_name}/templates/leader-election-role.yaml",
        Scope::Crate,
        Syntax::Helm
    ),
    template!(
        "helm/templates/leader-election-rolebinding.yaml.tera",
        "chart/{operator_name}/templates/leader-election-rolebinding.yaml",
        Scope::Crate,
        Syntax::Helm
    ),
    template!(
        "helm/templates/NOTES.txt.tera",
        "chart/{operator_name}/templates/NOTES.txt",
        Scope::Crate,
        Syntax::Helm
    ),
    template!("sample.yaml.tera", "samples/{singular}.yaml", Scope::Kind),
    template!(
        "sample_adopt.yaml.tera",
        "samples/{singular}-adopt.yaml",
        Scope::ResourceKind
    ),
    template!(
        "sample_observe.yaml.tera",
        "samples/{singular}-observe.yaml",
        Scope::ResourceKind
    ),
];

/// Directory, under the crate, of the CRD copies the Helm chart installs.
pub fn chart_crd_dir(operator_name: &str) -> String {
    format!("{}/crds", CHART.replace("{operator_name}", operator_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                files_under(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    #[test]
    fn every_file_in_templates_is_registered_and_vice_versa() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");
        let mut on_disk = Vec::new();
        files_under(std::path::Path::new(dir), "", &mut on_disk);
        on_disk.sort();
        let mut registered: Vec<String> = TEMPLATES.iter().map(|t| t.name.to_owned()).collect();
        registered.sort();
        assert_eq!(on_disk, registered);
    }

    #[test]
    fn chart_outputs_live_in_the_chart_directory() {
        for t in TEMPLATES.iter().filter(|t| t.name.starts_with("helm/")) {
            assert!(t.output.starts_with(CHART), "{}", t.name);
        }
        assert_eq!(chart_crd_dir("x-operator"), "chart/x-operator/crds");
    }
}
