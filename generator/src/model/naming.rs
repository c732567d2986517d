//! Naming rules: Rust identifiers (validated by `syn`), case conversion, English plurals, Kubernetes name checks, defaults from `info.title`.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Short names of built-in Kubernetes resources (kubectl would shadow ours or confuse users).
pub const BUILTIN_SHORT_NAMES: &[&str] = &[
    "cm", "crd", "crds", "cs", "csr", "ds", "deploy", "ep", "eps", "ev", "hpa", "ing", "limits", "netpol",
    "no", "ns", "pc", "pdb", "po", "psp", "pv", "pvc", "quota", "rc", "rs", "sa", "sc", "sts", "svc", "pod",
    "pods", "node", "nodes", "job", "jobs", "cj", "secret", "event", "events", "role", "lease",
];

/// Words dropped from `info.title` when deriving the group.
const NOISE_WORDS: &[&str] = &[
    "swagger",
    "openapi",
    "api",
    "apis",
    "rest",
    "restful",
    "service",
    "services",
    "server",
    "specification",
    "spec",
    "the",
    "a",
    "an",
    "for",
    "of",
    "and",
    "http",
    "json",
    "yaml",
    "version",
];

/// Whether `name` parses as a plain Rust identifier (not a keyword).
pub fn is_plain_ident(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with("r#")
        && !EDITION_2024_KEYWORDS.contains(&name)
        && syn::parse_str::<syn::Ident>(name).is_ok()
}

/// Keywords reserved by the 2024 edition (generated crates use it) that `syn` still parses as identifiers.
const EDITION_2024_KEYWORDS: &[&str] = &["gen"];

/// A Rust field/module identifier in snake_case for a wire name; keywords become raw (`r#type`) or
/// get a `_` suffix when they cannot be raw (`self_`).
pub fn field_ident(wire: &str) -> String {
    escape(sanitize(&wire.to_snake_case(), '_'), "field")
}

/// A Rust type/variant identifier in PascalCase.
pub fn type_ident(wire: &str) -> String {
    let pascal = wire.to_upper_camel_case();
    let cleaned: String = pascal
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let cleaned = match cleaned.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("V{cleaned}"),
        Some(_) => cleaned,
        None => String::new(),
    };
    // `Self` cannot be raw; `Self_` would not be UpperCamelCase once deduplicated (`Self_2`).
    if cleaned == "Self" {
        return "SelfValue".to_owned();
    }
    escape(cleaned, "Value")
}

fn sanitize(name: &str, replacement: char) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                replacement
            }
        })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    let trimmed = out.trim_matches('_');
    let out = if trimmed.is_empty() {
        String::new()
    } else {
        trimmed.to_owned()
    };
    match out.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("_{out}"),
        _ => out,
    }
}

fn escape(name: String, fallback: &str) -> String {
    if name.is_empty() {
        return fallback.to_owned();
    }
    if is_plain_ident(&name) {
        return name;
    }
    let raw = format!("r#{name}");
    if syn::parse_str::<syn::Ident>(&raw).is_ok() {
        return raw;
    }
    let suffixed = format!("{name}_");
    if is_plain_ident(&suffixed) {
        suffixed
    } else {
        fallback.to_owned()
    }
}

/// Makes `candidate` unique against `taken` by appending `2`, `3`, … (documented suffix rule).
pub fn dedupe(candidate: &str, taken: &dyn Fn(&str) -> bool) -> String {
    if !taken(candidate) {
        return candidate.to_owned();
    }
    let (base, raw) = match candidate.strip_prefix("r#") {
        Some(rest) => (rest, true),
        None => (candidate, false),
    };
    for n in 2.. {
        let next = format!("{base}{n}");
        let next = if raw && !is_plain_ident(&next) {
            format!("r#{next}")
        } else {
            next
        };
        if !taken(&next) {
            return next;
        }
    }
    candidate.to_owned()
}

/// English singular of a lower/camel-case word (last word only).
pub fn singular(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    let cut = |n: usize| {
        word.get(..word.len().saturating_sub(n))
            .unwrap_or(word)
            .to_owned()
    };
    if lower.ends_with("ies") && word.len() > 3 {
        format!("{}y", cut(3))
    } else if ["sses", "shes", "ches", "xes", "zes"]
        .iter()
        .any(|s| lower.ends_with(s))
    {
        cut(2)
    } else if lower.ends_with('s') && !["ss", "us", "is"].iter().any(|s| lower.ends_with(s)) && word.len() > 1
    {
        cut(1)
    } else {
        word.to_owned()
    }
}

/// Lower-case English plural of a kind (`Policy` → `policies`, `Box` → `boxes`).
pub fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let consonant_y = lower.ends_with('y')
        && bytes.len() >= 2
        && bytes.get(bytes.len() - 2).is_some_and(|c| !b"aeiou".contains(c));
    if consonant_y {
        format!("{}ies", &lower[..lower.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|s| lower.ends_with(s)) {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// Kind for a collection segment: singular PascalCase (`user-profiles` → `UserProfile`).
pub fn kind_for_segment(segment: &str) -> String {
    type_ident(&singular(segment))
}

/// One short name for a kind, avoiding built-ins and every name in `taken`; `None` if all collide.
pub fn short_name(kind: &str, taken: &dyn Fn(&str) -> bool) -> Option<String> {
    let lower = kind.to_ascii_lowercase();
    let words: Vec<String> = kind.to_snake_case().split('_').map(str::to_owned).collect();
    let mut candidates = Vec::new();
    if words.len() >= 2 {
        candidates.push(words.iter().filter_map(|w| w.chars().next()).collect::<String>());
    }
    for n in [3, 2, 4, 5] {
        if lower.len() >= n {
            candidates.push(lower.chars().take(n).collect());
        }
    }
    candidates
        .into_iter()
        .find(|c| c.len() >= 2 && !BUILTIN_SHORT_NAMES.contains(&c.as_str()) && !taken(c))
}

/// Default group from `info.title`: meaningful words joined with `-`, plus `.example.com`.
pub fn default_group(title: &str) -> String {
    let lower = title.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter(|w| !NOISE_WORDS.contains(w))
        .filter(|w| !is_version_token(w))
        .collect();
    let mut name = words.join("-");
    if name.len() > 40 {
        name = name
            .chars()
            .take(40)
            .collect::<String>()
            .trim_end_matches('-')
            .to_owned();
    }
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!(
            "app{}",
            if name.is_empty() {
                String::new()
            } else {
                format!("-{name}")
            }
        );
    }
    format!("{name}.example.com")
}

fn is_version_token(word: &str) -> bool {
    let digits = word.strip_prefix('v').unwrap_or(word);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Whether `s` is a DNS-1123 label.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A user-given group must be a DNS-1123 subdomain with at least one dot.
pub fn validate_group(group: &str) -> Result<(), String> {
    if group.len() > 253 {
        return Err(format!("{group:?} is longer than 253 characters"));
    }
    if !group.contains('.') {
        return Err(format!("{group:?} must contain a dot, e.g. {group}.example.com"));
    }
    if !group.split('.').all(is_dns_label) {
        return Err(format!(
            "{group:?} is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.')"
        ));
    }
    Ok(())
}

/// `v1`, `v1alpha1`, `v2beta3`.
pub fn validate_api_version(version: &str) -> Result<(), String> {
    let rest = version.strip_prefix('v').unwrap_or("");
    let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (major, tail) = rest.split_at(digits_end);
    let tail_ok = tail.is_empty()
        || ["alpha", "beta"].iter().any(|p| {
            tail.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
    if !major.is_empty() && !major.starts_with('0') && tail_ok {
        Ok(())
    } else {
        Err(format!(
            "{version:?} is not a Kubernetes API version (v1, v1alpha1, v2beta1, …)"
        ))
    }
}

/// A kind is PascalCase ASCII starting with a letter.
pub fn validate_kind(kind: &str) -> Result<(), String> {
    let ok =
        kind.starts_with(|c: char| c.is_ascii_uppercase()) && kind.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("{kind:?} is not a PascalCase kind name"))
    }
}

/// A plural or short name is a lower-case DNS-1123 label starting with a letter.
pub fn validate_plural(name: &str) -> Result<(), String> {
    if is_dns_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a lower-case DNS-1123 label (letters, digits, '-'; starts with a letter)"
        ))
    }
}

/// A user-chosen Rust field name: a snake_case identifier (`r#type` style raw identifiers allowed).
pub fn validate_field_ident(name: &str) -> Result<(), String> {
    let bare = name.strip_prefix("r#").unwrap_or(name);
    let snake = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !bare.starts_with(|c: char| c.is_ascii_digit());
    if !snake || syn::parse_str::<syn::Ident>(name).is_err() || name == "controls" {
        return Err(format!(
            "{name:?} is not a usable snake_case Rust field name (keywords need r#, `controls` is reserved)"
        ));
    }
    Ok(())
}

/// `" API"` to follow an API's title in prose ("the Swagger Petstore API"), or nothing when the
/// title already ends with the word ("the GitHub v3 REST API", not "… REST API API").
pub fn api_suffix(title: &str) -> &'static str {
    let last = title.split_whitespace().last().unwrap_or("");
    if last.eq_ignore_ascii_case("api") {
        ""
    } else {
        " API"
    }
}

/// Prelude types the generated code names unqualified (`Option<…>`, `Vec<…>`, `String`, and the
/// `Option`/`Result` inside kube's derive). A kind or spec type with one of these names would
/// shadow it.
pub const PRELUDE_TYPES: &[&str] = &["String", "Vec", "Option", "Result", "Box"];

/// Rust name of a kind's root struct: the kind itself, or `<Kind>Kind` when the kind is named like
/// a prelude type (the Kubernetes kind stays as it is).
pub fn kind_struct_name(kind: &str) -> String {
    if PRELUDE_TYPES.contains(&kind) {
        format!("{kind}Kind")
    } else {
        kind.to_owned()
    }
}

/// The Rust type names a kind claims in the generated crate: its root struct, `<Kind>Spec` and
/// `<Kind>Status`.
pub fn kind_type_names(kind: &str) -> [String; 3] {
    [
        kind_struct_name(kind),
        format!("{kind}Spec"),
        format!("{kind}Status"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_suffix_only_when_the_title_lacks_the_word() {
        assert_eq!(api_suffix("Swagger Petstore"), " API");
        assert_eq!(api_suffix("GitHub v3 REST API"), "");
        assert_eq!(api_suffix("Podinfo api"), "");
        assert_eq!(api_suffix("Rapid"), " API");
        assert_eq!(api_suffix("OpenAPI"), " API");
        assert_eq!(api_suffix(""), " API");
    }

    #[test]
    fn prelude_kinds_get_a_kind_suffixed_struct() {
        assert_eq!(
            kind_type_names("Option"),
            ["OptionKind", "OptionSpec", "OptionStatus"].map(String::from)
        );
        assert_eq!(
            kind_type_names("Pet"),
            ["Pet", "PetSpec", "PetStatus"].map(String::from)
        );
    }

    #[test]
    fn keywords_become_raw_or_suffixed_identifiers() {
        assert_eq!(field_ident("type"), "r#type");
        assert_eq!(field_ident("match"), "r#match");
        assert_eq!(field_ident("self"), "self_");
        assert_eq!(field_ident("Self"), "self_");
        assert_eq!(field_ident("crate"), "crate_");
        assert_eq!(field_ident("photoUrls"), "photo_urls");
        assert_eq!(field_ident("2fa-code"), "_2fa_code");
        assert_eq!(field_ident("$$"), "field");
        assert_eq!(field_ident("x-rate.limit"), "x_rate_limit");
        assert_eq!(type_ident("self"), "SelfValue");
        assert_eq!(field_ident("gen"), "r#gen");
        assert_eq!(type_ident("3d"), "V3d");
        assert_eq!(type_ident("placed"), "Placed");
        assert_eq!(type_ident("in-progress"), "InProgress");
        assert_eq!(type_ident("!!"), "Value");
    }

    #[test]
    fn every_produced_identifier_parses() {
        for raw in [
            "type", "ref", "async", "await", "dyn", "try", "gen", "union", "_", "a b", "ü", "1", "super",
        ] {
            let f = field_ident(raw);
            assert!(syn::parse_str::<syn::Ident>(&f).is_ok(), "{raw} -> {f}");
            let t = type_ident(raw);
            assert!(syn::parse_str::<syn::Ident>(&t).is_ok(), "{raw} -> {t}");
        }
    }

    #[test]
    fn duplicates_get_numeric_suffixes() {
        let taken = ["name", "name2"];
        assert_eq!(dedupe("name", &|n| taken.contains(&n)), "name3");
        assert_eq!(dedupe("other", &|n| taken.contains(&n)), "other");
        assert_eq!(dedupe("r#type", &|n| n == "r#type"), "type2");
    }

    #[test]
    fn plurals_and_singulars() {
        assert_eq!(plural("Pet"), "pets");
        assert_eq!(plural("Order"), "orders");
        assert_eq!(plural("Policy"), "policies");
        assert_eq!(plural("Box"), "boxes");
        assert_eq!(plural("Key"), "keys");
        assert_eq!(plural("Match"), "matches");
        assert_eq!(plural("UserProfile"), "userprofiles");
        assert_eq!(kind_for_segment("user-profiles"), "UserProfile");
        assert_eq!(kind_for_segment("policies"), "Policy");
        assert_eq!(kind_for_segment("boxes"), "Box");
        assert_eq!(kind_for_segment("pet"), "Pet");
        assert_eq!(kind_for_segment("status"), "Status");
        assert_eq!(kind_for_segment("addresses"), "Address");
    }

    #[test]
    fn short_names_avoid_builtins_and_each_other() {
        assert_eq!(short_name("Pet", &|_| false).as_deref(), Some("pet"));
        assert_eq!(short_name("Order", &|_| false).as_deref(), Some("ord"));
        assert_eq!(short_name("UserProfile", &|_| false).as_deref(), Some("up"));
        // "pod" and "po" are built-in; falls through to 4 letters.
        assert_eq!(short_name("Podcast", &|_| false).as_deref(), Some("podc"));
        assert_eq!(short_name("Pet", &|n| n == "pet").as_deref(), Some("pe"));
        assert_eq!(short_name("Ns", &|_| false), None);
    }

    #[test]
    fn default_group_drops_noise_words() {
        assert_eq!(
            default_group("Swagger Petstore - OpenAPI 3.0"),
            "petstore.example.com"
        );
        assert_eq!(default_group("Pet Shop API v2"), "pet-shop.example.com");
        assert_eq!(default_group("OpenAPI"), "app.example.com");
        assert_eq!(
            default_group("3D Printing Service"),
            "app-3d-printing.example.com"
        );
    }

    #[test]
    fn groups_and_versions_are_validated() {
        assert!(validate_group("petstore.example.com").is_ok());
        assert!(validate_group("petstore").is_err());
        assert!(validate_group("Pet.example.com").is_err());
        assert!(validate_group("-a.b").is_err());
        assert!(validate_api_version("v1alpha1").is_ok());
        assert!(validate_api_version("v2").is_ok());
        assert!(validate_api_version("1").is_err());
        assert!(validate_api_version("v1gamma1").is_err());
        assert!(validate_kind("Pet").is_ok());
        assert!(validate_kind("pet").is_err());
        assert!(validate_plural("animals").is_ok());
        assert!(validate_plural("Animals").is_err());
        assert!(validate_plural("1x").is_err());
        assert!(validate_field_ident("photos").is_ok());
        assert!(validate_field_ident("r#type").is_ok());
        assert!(validate_field_ident("type").is_err());
        assert!(validate_field_ident("Photos").is_err());
        assert!(validate_field_ident("controls").is_err());
    }
}
