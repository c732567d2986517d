//! Pure target planning: merges a CR's `spec.target` with the operator-wide defaults into a plan, validating field combinations.
//!
//! Nothing here performs I/O; [`super::EndpointResolver`] turns a plan into endpoints.

use std::collections::BTreeMap;

use crate::controls::{FanOutSuccess, TargetSpec, TargetStrategy};
use crate::error::{Error, Result};

/// Field name used in errors about the operator-wide base URL.
pub(crate) const BASE_URL_FLAG: &str = "--base-url/REST_API_BASE_URL";

/// Operator-wide targeting, from the `run` flags. Used for CRs whose `spec.target` names no source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetDefaults {
    /// Static base URLs (`--base-url`, comma-separated).
    pub base_urls: Vec<String>,
    /// `--target-statefulset`.
    pub stateful_set: Option<String>,
    /// `--target-deployment`.
    pub deployment: Option<String>,
    /// `--target-helm-release`.
    pub helm_release: Option<String>,
    /// `--target-pod`.
    pub pod: Option<String>,
    /// `--target-namespace`: namespace of the operator-wide workload (default: the CR's).
    pub namespace: Option<String>,
    /// `--target-strategy`: default strategy for every CR.
    pub strategy: Option<TargetStrategy>,
}

impl TargetDefaults {
    /// Defaults with only static base URLs, split from a comma-separated list (blank entries dropped).
    pub fn from_base_urls(list: Option<&str>) -> Self {
        Self {
            base_urls: split_list(list),
            ..Self::default()
        }
    }

    /// Checks that the flags name at most one source (a Helm release may be narrowed by a
    /// StatefulSet or Deployment name) and that names are not blank.
    ///
    /// # Errors
    ///
    /// A message naming the conflicting flags.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (flag, value) in [
            ("--target-statefulset", &self.stateful_set),
            ("--target-deployment", &self.deployment),
            ("--target-helm-release", &self.helm_release),
            ("--target-pod", &self.pod),
            ("--target-namespace", &self.namespace),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(format!("{flag} must not be blank"));
            }
        }
        let mut sources = Vec::new();
        if !self.base_urls.is_empty() {
            sources.push(BASE_URL_FLAG);
        }
        if self.pod.is_some() {
            sources.push("--target-pod");
        }
        if self.helm_release.is_some() {
            sources.push("--target-helm-release");
        } else {
            if self.stateful_set.is_some() {
                sources.push("--target-statefulset");
            }
            if self.deployment.is_some() {
                sources.push("--target-deployment");
            }
        }
        if sources.len() > 1 {
            return Err(format!(
                "{} are mutually exclusive operator-wide targets; set one",
                sources.join(" and ")
            ));
        }
        if self.stateful_set.is_some() && self.deployment.is_some() {
            return Err("--target-statefulset and --target-deployment are mutually exclusive".to_owned());
        }
        if self.strategy == Some(TargetStrategy::ByOrdinal) {
            return Err(
                "--target-strategy ByOrdinal needs a pod ordinal, which only spec.target.podOrdinal gives"
                    .to_owned(),
            );
        }
        for (i, url) in self.base_urls.iter().enumerate() {
            check_url(url, &format!("{BASE_URL_FLAG}[{i}]")).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Whether any workload or pod is targeted operator-wide (discovery needed).
    pub fn uses_discovery(&self) -> bool {
        self.pod.is_some()
            || self.stateful_set.is_some()
            || self.deployment.is_some()
            || self.helm_release.is_some()
    }

    fn source(&self) -> Option<Source> {
        if !self.base_urls.is_empty() {
            return Some(Source::Static {
                urls: self.base_urls.clone(),
                field: BASE_URL_FLAG.to_owned(),
            });
        }
        if let Some(pod) = &self.pod {
            return Some(Source::Pod(pod.clone()));
        }
        if let Some(release) = &self.helm_release {
            return Some(Source::Helm {
                release: release.clone(),
                stateful_set: self.stateful_set.clone(),
                deployment: self.deployment.clone(),
            });
        }
        if let Some(name) = &self.stateful_set {
            return Some(Source::StatefulSet(name.clone()));
        }
        self.deployment.clone().map(Source::Deployment)
    }
}

/// Splits a comma-separated list, trimming entries and dropping blank ones.
pub(crate) fn split_list(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Where a CR's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Fixed base URLs; `field` names their origin for errors.
    Static { urls: Vec<String>, field: String },
    /// One pod, by pod IP.
    Pod(String),
    /// A StatefulSet's Ready pods.
    StatefulSet(String),
    /// A Deployment's Ready pods.
    Deployment(String),
    /// A Helm release's workload (optionally named) or labelled pods.
    Helm {
        release: String,
        stateful_set: Option<String>,
        deployment: Option<String>,
    },
}

/// A validated target: source, namespace, pod filter and strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Where endpoints come from.
    pub source: Source,
    /// Namespace of the workload or pod.
    pub namespace: String,
    /// Extra labels endpoint pods must carry.
    pub labels: BTreeMap<String, String>,
    /// StatefulSet ordinal (`ByOrdinal`).
    pub ordinal: Option<u32>,
    /// How to pick endpoints.
    pub strategy: TargetStrategy,
    /// Fan-out success rule as configured (only with `AllHealthy`).
    pub fan_out_success: Option<FanOutSuccess>,
}

impl Plan {
    /// Human-readable description of the target for errors and logs (`StatefulSet ns/petstore`).
    pub fn describe(&self) -> String {
        let ns = &self.namespace;
        match &self.source {
            Source::Static { field, .. } => field.clone(),
            Source::Pod(name) => format!("Pod {ns}/{name}"),
            Source::StatefulSet(name) => format!("StatefulSet {ns}/{name}"),
            Source::Deployment(name) => format!("Deployment {ns}/{name}"),
            Source::Helm { release, .. } => format!("Helm release {ns}/{release}"),
        }
    }
}

/// A spec field together with whether it is set.
type FieldCheck<'a> = (&'a str, bool);

/// Merges `target` with `defaults` for a CR in `cr_namespace`.
///
/// # Errors
///
/// [`Error::BadSpec`] naming the field when the combination is invalid or no endpoint is
/// configured at all.
pub(crate) fn plan(
    target: Option<&TargetSpec>,
    defaults: &TargetDefaults,
    cr_namespace: &str,
) -> Result<Plan> {
    let empty = TargetSpec::default();
    let t = target.unwrap_or(&empty);
    for (field, value) in [
        ("spec.target.statefulSet", &t.stateful_set),
        ("spec.target.deployment", &t.deployment),
        ("spec.target.helmRelease", &t.helm_release),
        ("spec.target.pod", &t.pod),
        ("spec.target.namespace", &t.namespace),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(Error::bad_spec(field, "must not be empty"));
        }
    }
    let (source, from_spec) = match spec_source(t)? {
        Some(source) => (source, true),
        None => match defaults.source() {
            Some(source) => (source, false),
            None => {
                return Err(Error::bad_spec(
                    "spec.target.baseURL",
                    format!(
                        "no backend endpoint configured: set spec.target (baseURL, baseURLs, statefulSet, \
                         deployment, helmRelease or pod) or the operator's {BASE_URL_FLAG} / --target-*"
                    ),
                ));
            }
        },
    };
    let origin = if from_spec {
        String::new()
    } else {
        " (the target comes from the operator's flags)".to_owned()
    };
    let modifiers: [FieldCheck<'_>; 3] = [
        ("spec.target.namespace", t.namespace.is_some()),
        ("spec.target.labels", !t.labels.is_empty()),
        ("spec.target.podOrdinal", t.pod_ordinal.is_some()),
    ];
    match &source {
        Source::Static { field, .. } => {
            if let Some((name, _)) = modifiers.iter().find(|(_, set)| *set) {
                return Err(Error::bad_spec(
                    *name,
                    format!("does not apply to a static base URL ({field}){origin}"),
                ));
            }
        }
        Source::Pod(_) => {
            if let Some((name, _)) = modifiers[1..].iter().find(|(_, set)| *set) {
                return Err(Error::bad_spec(
                    *name,
                    format!("does not apply to a single pod target (spec.target.pod){origin}"),
                ));
            }
        }
        Source::StatefulSet(_) | Source::Helm { .. } | Source::Deployment(_) => {}
    }
    let ordinal = match t.pod_ordinal {
        None => None,
        Some(n) => {
            let n = u32::try_from(n)
                .map_err(|_| Error::bad_spec("spec.target.podOrdinal", format!("{n} is negative")))?;
            match &source {
                Source::StatefulSet(_) | Source::Helm { deployment: None, .. } => Some(n),
                _ => {
                    return Err(Error::bad_spec(
                        "spec.target.podOrdinal",
                        format!(
                            "requires spec.target.statefulSet (or a helmRelease or --target-statefulset \
                             resolving to a StatefulSet); the target is {}",
                            source_kind(&source)
                        ),
                    ));
                }
            }
        }
    };
    let strategy = match (ordinal, t.strategy) {
        (Some(_), None | Some(TargetStrategy::ByOrdinal)) => TargetStrategy::ByOrdinal,
        (Some(_), Some(other)) => {
            return Err(Error::bad_spec(
                "spec.target.strategy",
                format!("{other:?} conflicts with spec.target.podOrdinal, which selects one pod (ByOrdinal)"),
            ));
        }
        (None, Some(TargetStrategy::ByOrdinal)) => {
            return Err(Error::bad_spec(
                "spec.target.strategy",
                "ByOrdinal requires spec.target.podOrdinal",
            ));
        }
        (None, explicit) => explicit
            .or(defaults.strategy)
            .unwrap_or_else(|| default_strategy(&source)),
    };
    if t.fan_out_success.is_some() && strategy != TargetStrategy::AllHealthy {
        return Err(Error::bad_spec(
            "spec.target.fanOutSuccess",
            format!("only applies to strategy AllHealthy (the strategy is {strategy:?})"),
        ));
    }
    let namespace = t
        .namespace
        .clone()
        .or_else(|| {
            if from_spec {
                None
            } else {
                defaults.namespace.clone()
            }
        })
        .unwrap_or_else(|| cr_namespace.to_owned());
    Ok(Plan {
        source,
        namespace,
        labels: t.labels.clone(),
        ordinal,
        strategy,
        fan_out_success: t.fan_out_success,
    })
}

/// The strategy when neither the spec nor `--target-strategy` sets one: fan-out over a list of
/// base URLs, round-robin over workload pods.
fn default_strategy(source: &Source) -> TargetStrategy {
    match source {
        Source::Static { urls, .. } if urls.len() > 1 => TargetStrategy::AllHealthy,
        _ => TargetStrategy::RoundRobin,
    }
}

fn source_kind(source: &Source) -> &'static str {
    match source {
        Source::Static { .. } => "a static base URL",
        Source::Pod(_) => "a single pod",
        Source::StatefulSet(_) => "a StatefulSet",
        Source::Deployment(_) => "a Deployment (its pods have no ordinal)",
        Source::Helm { .. } => "a Helm release narrowed to a Deployment",
    }
}

/// The source `spec.target` names, if any, after checking that at most one is set.
fn spec_source(t: &TargetSpec) -> Result<Option<Source>> {
    let base_url = t.base_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let set: Vec<&str> = [
        ("spec.target.baseURL", base_url.is_some()),
        ("spec.target.baseURLs", !t.base_urls.is_empty()),
        ("spec.target.pod", t.pod.is_some()),
        ("spec.target.helmRelease", t.helm_release.is_some()),
        ("spec.target.statefulSet", t.stateful_set.is_some()),
        ("spec.target.deployment", t.deployment.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let helm_narrowing =
        t.helm_release.is_some() && set.len() == 2 && (t.stateful_set.is_some() || t.deployment.is_some());
    if set.len() > 1 && !helm_narrowing {
        let reason = if t.helm_release.is_some() && t.stateful_set.is_some() && t.deployment.is_some() {
            "a Helm release can be narrowed to a StatefulSet or a Deployment, not both".to_owned()
        } else {
            format!("cannot be combined with {}", set[1..].join(", "))
        };
        return Err(Error::bad_spec(set[0], reason));
    }
    if let Some(url) = base_url {
        check_url(url, "spec.target.baseURL")?;
        return Ok(Some(Source::Static {
            urls: vec![url.to_owned()],
            field: "spec.target.baseURL".to_owned(),
        }));
    }
    if !t.base_urls.is_empty() {
        let mut urls = Vec::with_capacity(t.base_urls.len());
        for (i, url) in t.base_urls.iter().enumerate() {
            let url = url.trim();
            check_url(url, &format!("spec.target.baseURLs[{i}]"))?;
            urls.push(url.to_owned());
        }
        return Ok(Some(Source::Static {
            urls,
            field: "spec.target.baseURLs".to_owned(),
        }));
    }
    if let Some(pod) = &t.pod {
        return Ok(Some(Source::Pod(pod.clone())));
    }
    if let Some(release) = &t.helm_release {
        return Ok(Some(Source::Helm {
            release: release.clone(),
            stateful_set: t.stateful_set.clone(),
            deployment: t.deployment.clone(),
        }));
    }
    if let Some(name) = &t.stateful_set {
        return Ok(Some(Source::StatefulSet(name.clone())));
    }
    Ok(t.deployment.clone().map(Source::Deployment))
}

/// Checks that `url` is an absolute `http(s)://host…` URL.
///
/// # Errors
///
/// [`Error::BadSpec`] naming `field`.
pub(crate) fn check_url(url: &str, field: &str) -> Result<()> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        _ => Err(Error::bad_spec(
            field,
            format!("{url:?} is not an absolute http(s) URL"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> TargetSpec {
        serde_json::from_value(json).unwrap()
    }

    fn plan_of(json: serde_json::Value, defaults: &TargetDefaults) -> Result<Plan> {
        plan(Some(&spec(json)), defaults, "crns")
    }

    fn err_of(json: serde_json::Value, defaults: &TargetDefaults) -> String {
        let err = plan_of(json, defaults).unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        err.to_string()
    }

    fn none() -> TargetDefaults {
        TargetDefaults::default()
    }

    #[test]
    fn spec_source_wins_and_defaults_fill_in() {
        let defaults = TargetDefaults::from_base_urls(Some("http://a, ,http://b"));
        assert_eq!(defaults.base_urls, ["http://a", "http://b"]);
        let p = plan(None, &defaults, "crns").unwrap();
        assert_eq!(
            p.strategy,
            TargetStrategy::AllHealthy,
            "a URL list fans out by default"
        );
        assert_eq!(
            p.source,
            Source::Static {
                urls: vec!["http://a".into(), "http://b".into()],
                field: BASE_URL_FLAG.into()
            }
        );
        let p = plan_of(serde_json::json!({"statefulSet": "db"}), &defaults).unwrap();
        assert_eq!(p.source, Source::StatefulSet("db".into()));
        assert_eq!(p.namespace, "crns");
        assert_eq!(p.strategy, TargetStrategy::RoundRobin);
        assert_eq!(p.describe(), "StatefulSet crns/db");
    }

    #[test]
    fn operator_wide_workload_takes_spec_modifiers_and_target_namespace() {
        let defaults = TargetDefaults {
            stateful_set: Some("petstore".into()),
            namespace: Some("backend".into()),
            strategy: Some(TargetStrategy::AnyHealthy),
            ..none()
        };
        let p = plan(None, &defaults, "crns").unwrap();
        assert_eq!(p.namespace, "backend");
        assert_eq!(p.strategy, TargetStrategy::AnyHealthy);
        let p = plan_of(serde_json::json!({"podOrdinal": 2}), &defaults).unwrap();
        assert_eq!((p.ordinal, p.strategy), (Some(2), TargetStrategy::ByOrdinal));
        // A spec source ignores --target-namespace: its namespace defaults to the CR's.
        let p = plan_of(serde_json::json!({"deployment": "api"}), &defaults).unwrap();
        assert_eq!(p.namespace, "crns");
        let p = plan_of(
            serde_json::json!({"deployment": "api", "namespace": "x"}),
            &defaults,
        )
        .unwrap();
        assert_eq!(p.namespace, "x");
    }

    #[test]
    fn pod_ordinal_requires_a_stateful_set() {
        let e = err_of(
            serde_json::json!({"podOrdinal": 1}),
            &TargetDefaults::from_base_urls(Some("http://a")),
        );
        assert!(e.contains("spec.target.podOrdinal"), "{e}");
        let e = err_of(serde_json::json!({"podOrdinal": 1, "deployment": "api"}), &none());
        assert!(
            e.contains("spec.target.podOrdinal: requires spec.target.statefulSet"),
            "{e}"
        );
        let e = err_of(serde_json::json!({"podOrdinal": 1, "pod": "p"}), &none());
        assert!(e.contains("spec.target.podOrdinal"), "{e}");
        let e = err_of(
            serde_json::json!({"podOrdinal": 1, "helmRelease": "r", "deployment": "d"}),
            &none(),
        );
        assert!(e.contains("spec.target.podOrdinal"), "{e}");
        let e = err_of(serde_json::json!({"podOrdinal": -1, "statefulSet": "s"}), &none());
        assert!(e.contains("negative"), "{e}");
        let p = plan_of(serde_json::json!({"podOrdinal": 0, "helmRelease": "r"}), &none()).unwrap();
        assert_eq!(p.ordinal, Some(0));
    }

    #[test]
    fn strategies_are_checked_against_the_ordinal_and_fan_out() {
        let e = err_of(
            serde_json::json!({"statefulSet": "s", "podOrdinal": 1, "strategy": "AllHealthy"}),
            &none(),
        );
        assert!(e.contains("spec.target.strategy: AllHealthy conflicts"), "{e}");
        let e = err_of(
            serde_json::json!({"statefulSet": "s", "strategy": "ByOrdinal"}),
            &none(),
        );
        assert!(e.contains("ByOrdinal requires spec.target.podOrdinal"), "{e}");
        let e = err_of(
            serde_json::json!({"statefulSet": "s", "fanOutSuccess": "Any"}),
            &none(),
        );
        assert!(e.contains("spec.target.fanOutSuccess"), "{e}");
        let p = plan_of(
            serde_json::json!({"statefulSet": "s", "strategy": "AllHealthy", "fanOutSuccess": "Quorum"}),
            &none(),
        )
        .unwrap();
        assert_eq!(p.fan_out_success, Some(FanOutSuccess::Quorum));
        let p = plan_of(
            serde_json::json!({"statefulSet": "s", "podOrdinal": 1, "strategy": "ByOrdinal"}),
            &none(),
        )
        .unwrap();
        assert_eq!(p.strategy, TargetStrategy::ByOrdinal);
    }

    #[test]
    fn sources_are_mutually_exclusive_except_helm_narrowing() {
        let e = err_of(
            serde_json::json!({"baseURL": "http://a", "baseURLs": ["http://b"]}),
            &none(),
        );
        assert!(
            e.contains("spec.target.baseURL: cannot be combined with spec.target.baseURLs"),
            "{e}"
        );
        let e = err_of(
            serde_json::json!({"statefulSet": "s", "deployment": "d"}),
            &none(),
        );
        assert!(
            e.contains("spec.target.statefulSet: cannot be combined with spec.target.deployment"),
            "{e}"
        );
        let e = err_of(serde_json::json!({"pod": "p", "statefulSet": "s"}), &none());
        assert!(e.contains("spec.target.pod"), "{e}");
        let e = err_of(
            serde_json::json!({"helmRelease": "r", "statefulSet": "s", "deployment": "d"}),
            &none(),
        );
        assert!(e.contains("not both"), "{e}");
        let p = plan_of(
            serde_json::json!({"helmRelease": "r", "statefulSet": "s"}),
            &none(),
        )
        .unwrap();
        assert_eq!(
            p.source,
            Source::Helm {
                release: "r".into(),
                stateful_set: Some("s".into()),
                deployment: None
            }
        );
    }

    #[test]
    fn modifiers_do_not_apply_to_static_urls_or_single_pods() {
        let e = err_of(
            serde_json::json!({"baseURL": "http://a", "namespace": "x"}),
            &none(),
        );
        assert!(
            e.contains("spec.target.namespace: does not apply to a static base URL"),
            "{e}"
        );
        let e = err_of(
            serde_json::json!({"labels": {"a": "b"}}),
            &TargetDefaults::from_base_urls(Some("http://a")),
        );
        assert!(
            e.contains("spec.target.labels") && e.contains("operator's flags"),
            "{e}"
        );
        let e = err_of(serde_json::json!({"pod": "p", "labels": {"a": "b"}}), &none());
        assert!(
            e.contains("spec.target.labels: does not apply to a single pod"),
            "{e}"
        );
        let p = plan_of(serde_json::json!({"pod": "p", "namespace": "n"}), &none()).unwrap();
        assert_eq!((p.source, p.namespace), (Source::Pod("p".into()), "n".to_owned()));
    }

    #[test]
    fn urls_and_names_are_validated() {
        let e = err_of(serde_json::json!({"baseURLs": ["http://a", "ftp://b"]}), &none());
        assert!(e.contains("spec.target.baseURLs[1]"), "{e}");
        let e = err_of(serde_json::json!({"statefulSet": " "}), &none());
        assert!(e.contains("spec.target.statefulSet: must not be empty"), "{e}");
        let e = err_of(serde_json::json!({}), &none());
        assert!(e.contains("no backend endpoint configured"), "{e}");
    }

    #[test]
    fn operator_defaults_validate() {
        let ok = TargetDefaults {
            helm_release: Some("r".into()),
            stateful_set: Some("s".into()),
            ..none()
        };
        assert_eq!(ok.validate(), Ok(()));
        assert!(ok.uses_discovery());
        let both = TargetDefaults {
            base_urls: vec!["http://a".into()],
            stateful_set: Some("s".into()),
            ..none()
        };
        let e = both.validate().unwrap_err();
        assert!(
            e.contains("--base-url/REST_API_BASE_URL and --target-statefulset"),
            "{e}"
        );
        let e = TargetDefaults {
            stateful_set: Some("s".into()),
            deployment: Some("d".into()),
            ..none()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("mutually exclusive"), "{e}");
        let e = TargetDefaults::from_base_urls(Some("nope"))
            .validate()
            .unwrap_err();
        assert!(e.contains("[0]"), "{e}");
        assert!(!TargetDefaults::from_base_urls(Some("http://a")).uses_discovery());
    }
}
