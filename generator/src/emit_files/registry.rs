//! The table of built-in templates (embedded with `include_str!`) and where each one's output goes.

/// How often a template is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Once per crate.
    Crate,
    /// Once per kind (`{singular}` in the output path).
    Kind,
}

/// One registered template.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// File name under `templates/`.
    pub name: &'static str,
    /// Template text.
    pub source: &'static str,
    /// Output path; `{singular}` is replaced for per-kind templates.
    pub output: &'static str,
    /// Rendering scope.
    pub scope: Scope,
}

macro_rules! template {
    ($name:literal, $output:literal, $scope:expr) => {
        Template {
            name: $name,
            source: include_str!(concat!("../../../templates/", $name)),
            output: $output,
            scope: $scope,
        }
    };
}

/// Every template, in rendering order.
pub const TEMPLATES: &[Template] = &[
    template!("Cargo.toml.tera", "Cargo.toml", Scope::Crate),
    template!("README.md.tera", "README.md", Scope::Crate),
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
    template!("sample.yaml.tera", "samples/{singular}.yaml", Scope::Kind),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_templates_is_registered_and_vice_versa() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut registered: Vec<String> = TEMPLATES.iter().map(|t| t.name.to_owned()).collect();
        registered.sort();
        assert_eq!(on_disk, registered);
    }
}
