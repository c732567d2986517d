//! Configured overrides of classification results: `kinds` (kind and field renames) checks,
//! and the location prefixes (JSON pointer, config file) of resource warnings.

use crate::config::Config;
use crate::error::Result;
use crate::model::{Crd, naming};

/// Checks `kinds` keys against the derived kinds (`(derived, final)` pairs in path order) and
/// that no two kinds end up with the same name or the same Rust type name.
pub(super) fn check_kinds(kinds: &[(&str, &str)], config: &Config) -> Result<()> {
    let derived: Vec<&str> = kinds.iter().map(|(d, _)| *d).collect();
    for name in config.kinds.keys() {
        if !derived.contains(&name.as_str()) {
            return Err(config.config_error(
                format!("kinds.{name}"),
                format!(
                    "the spec has no kind {name:?} (kinds derived from the spec: {})",
                    derived.join(", ")
                ),
            ));
        }
    }
    for (i, (derived, kind)) in kinds.iter().enumerate() {
        if let Some((other, _)) = kinds.iter().skip(i + 1).find(|(_, k)| k == kind) {
            let renamed = if config.kinds.contains_key(*other) {
                other
            } else {
                derived
            };
            return Err(config.config_error(
                format!("kinds.{renamed}.kind"),
                format!("{kind:?} is already the name of another kind"),
            ));
        }
    }
    // Distinct kinds can still claim one Rust type: `Pet` and `PetSpec` both want `PetSpec`, and
    // `Option` (emitted as `OptionKind`) and `OptionKind` both want `OptionKind`.
    for (i, (derived, kind)) in kinds.iter().enumerate() {
        let mine = naming::kind_type_names(kind);
        for (other_derived, other) in kinds.iter().skip(i + 1) {
            if let Some(clash) = naming::kind_type_names(other).iter().find(|n| mine.contains(n)) {
                // Blame a configured rename if there is one, else the later kind.
                let renamed =
                    if !config.kinds.contains_key(*other_derived) && config.kinds.contains_key(*derived) {
                        derived
                    } else {
                        other_derived
                    };
                return Err(config.config_error(
                    format!("kinds.{renamed}.kind"),
                    format!(
                        "kinds {kind:?} and {other:?} would both define the Rust type {clash:?}; \
                         rename one of them"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Applies `kinds.<Kind>.fields` (JSON name → Rust identifier); the JSON/wire name never changes.
pub(super) fn rename_fields(
    crd: &mut Crd,
    derived: &str,
    renames: &std::collections::BTreeMap<String, String>,
    config: &Config,
) -> Result<()> {
    for (json, ident) in renames {
        let key = format!("kinds.{derived}.fields.{json}");
        let Some(index) = crd.fields.iter().position(|f| &f.json_name == json) else {
            let names: Vec<&str> = crd.fields.iter().map(|f| f.json_name.as_str()).collect();
            return Err(config.config_error(
                key,
                format!(
                    "{} has no spec field {json:?} (fields: {})",
                    crd.names.kind,
                    names.join(", ")
                ),
            ));
        };
        let clash = crd.fields.iter().enumerate().any(|(i, f)| {
            i != index
                && f.rust_name.trim_start_matches("r#") == ident.trim_start_matches("r#")
                && renames.get(&f.json_name).is_none_or(|other| other == ident)
        });
        if clash {
            return Err(config.config_error(
                key,
                format!(
                    "{ident:?} is already the Rust name of another {} field",
                    crd.names.kind
                ),
            ));
        }
        if let Some(field) = crd.fields.get_mut(index) {
            field.rust_name = ident.clone();
        }
    }
    Ok(())
}

/// JSON pointer of an operation (`#/paths/~1pets/post`); the classifier prefixes the spec file.
pub(super) fn pointer(path: &str, method: &str) -> String {
    format!("#/paths/{}/{method}", path.replace('~', "~0").replace('/', "~1"))
}

/// `<config file>: ` for warnings about config keys (empty when set through the library).
pub(super) fn origin(config: &Config) -> String {
    config
        .origin
        .as_ref()
        .map(|o| format!("{o}: "))
        .unwrap_or_default()
}
