//! Backend endpoint resolution: which base URL(s) a CR's requests go to, from `spec.target`, the operator-wide flags, and the Pods and workloads of the cluster.
//!
//! # Expected flow
//!
//! 1. [`EndpointResolver::endpoints`] merges the CR's `spec.target` with the operator-wide
//!    [`TargetDefaults`] into a plan (pure, [`plan`]): the source (`baseURL`/`baseURLs`, `pod`,
//!    `statefulSet`, `deployment`, `helmRelease`; the spec's wins over the flags'), the namespace
//!    (default: the CR's), extra pod labels, the ordinal and the strategy. Invalid combinations
//!    are terminal [`Error::BadSpec`]s naming the field
//!    (`spec.target.podOrdinal: requires spec.target.statefulSet …`).
//! 2. Workload sources are looked up in watch-backed caches ([`watch`]), started on first use per
//!    namespace (workloads) or per namespace and selector (pods): no LIST per reconcile. A Helm
//!    release resolves to its StatefulSet, else its Deployment, else its labelled pods.
//! 3. Ready pods with an IP become endpoints ([`select`]): StatefulSet pods by ordinal, as
//!    `<pod>.<spec.serviceName>.<ns>.svc` (`--discovery dns`) or by pod IP (`pod-ip`); Deployment
//!    and Helm pods oldest first by pod IP; then `--backend-scheme`, `--backend-port` (default:
//!    the pod's first container port) and `--backend-base-path` (default: the generated
//!    operator's, the path of the spec's `servers[0].url`).
//! 4. With `--health-path`, each endpoint is probed ([`health`], cached per `--health-interval`);
//!    without it every endpoint is healthy.
//! 5. The strategy picks: one endpoint (`RoundRobin`, `LeaderOnly`, `AnyHealthy`, `ByOrdinal`) or
//!    all healthy ones (`AllHealthy`, the fan-out; [`EndpointSet::fan_out`]).
//!
//! # Guarantees
//!
//! - `LeaderOnly` and `ByOrdinal` never fall back to another pod: while the chosen pod is not
//!   Ready or fails its probe, resolution fails with a retryable [`Error::NoEndpoint`].
//! - Endpoints follow the cluster: a pod that stops being Ready drops out at the next resolution
//!   after the watch event, a new Ready pod joins.
//! - Static base URLs are used verbatim (their path is the API's base path).
//!
//! # Caveats
//!
//! Fan-out assumes the endpoints are replicas of one logical API that agree on object ids; see
//! [`crate::resource`] for how writes are spread.

pub mod args;
pub mod fan_out;
pub mod health;
pub mod plan;
pub mod select;
pub mod watch;

use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::debug;

pub use self::args::TargetingArgs;
pub use self::health::HealthChecker;
pub use self::plan::TargetDefaults;
use self::plan::{Plan, Source};
pub use self::select::{AddressConfig, Discovery, Endpoint};
use self::select::{HELM_INSTANCE_LABEL, HelmWorkload};
use self::watch::Watches;
use crate::controls::{FanOutSuccess, TargetSpec, TargetStrategy};
use crate::error::{Error, Result};

/// The endpoints one request (or one reconcile) goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSet {
    /// Chosen endpoints: exactly one unless [`EndpointSet::fan_out`].
    pub endpoints: Vec<Endpoint>,
    /// Whether the request goes to every endpoint (strategy `AllHealthy`), with one
    /// `status.responses` entry each.
    pub fan_out: bool,
    /// `spec.target.fanOutSuccess` as configured; see [`EndpointSet::rule`].
    pub fan_out_success: Option<FanOutSuccess>,
    /// What was targeted, for messages (`StatefulSet ns/petstore`).
    pub target: String,
}

impl EndpointSet {
    /// The fan-out success rule: the configured one, else `All` for writes and `Any` for reads.
    pub fn rule(&self, write: bool) -> FanOutSuccess {
        FanOutSuccess::effective(self.fan_out_success, write)
    }

    /// Base URL of the first endpoint (the only one when not fanning out).
    pub fn first(&self) -> &str {
        self.endpoints.first().map_or("", |e| e.base_url.as_str())
    }
}

/// Resolves the backend endpoints of CRs. One per operator process.
#[derive(Default)]
pub struct EndpointResolver {
    defaults: TargetDefaults,
    address: AddressConfig,
    health: HealthChecker,
    watches: Option<Watches>,
    turn: AtomicUsize,
}

impl std::fmt::Debug for EndpointResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointResolver")
            .field("defaults", &self.defaults)
            .field("address", &self.address)
            .field("health", &self.health)
            .field("watches", &self.watches)
            .finish_non_exhaustive()
    }
}

impl EndpointResolver {
    /// A resolver of static base URLs only, falling back to `default_base_url` (the operator's
    /// `--base-url`, comma-separated for several; blank means none). Workload and pod targets
    /// fail with [`Error::BadSpec`]; see [`EndpointResolver::with_discovery`].
    pub fn new(default_base_url: Option<String>) -> Self {
        Self {
            defaults: TargetDefaults::from_base_urls(default_base_url.as_deref()),
            ..Self::default()
        }
    }

    /// A resolver with operator-wide `defaults` (validate them first with
    /// [`TargetDefaults::validate`]), pod addressing, health probing and cluster discovery.
    pub fn with_discovery(
        defaults: TargetDefaults,
        address: AddressConfig,
        health: HealthChecker,
        watches: Watches,
    ) -> Self {
        Self {
            defaults,
            address,
            health,
            watches: Some(watches),
            turn: AtomicUsize::new(0),
        }
    }

    /// The endpoints for a CR in `namespace` whose spec has this `target`.
    ///
    /// # Errors
    ///
    /// [`Error::BadSpec`] (terminal) for an invalid target or none configured;
    /// [`Error::NoEndpoint`] (retryable) when the workload or pod does not exist, has no Ready and
    /// healthy pod, or its watch has not synced.
    pub async fn endpoints(&self, target: Option<&TargetSpec>, namespace: &str) -> Result<EndpointSet> {
        let plan = plan::plan(target, &self.defaults, namespace)?;
        let what = plan.describe();
        let (candidates, wanted) = match &plan.source {
            Source::Static { urls, .. } => (select::static_candidates(urls), None),
            _ => self.discover(&plan, &what).await?,
        };
        let healthy = self
            .health
            .check(candidates.iter().map(|c| c.base_url.as_str()))
            .await;
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        let endpoints = select::select(
            plan.strategy,
            wanted.as_deref(),
            candidates,
            &healthy,
            turn,
            &what,
        )?;
        debug!(target = %what, strategy = ?plan.strategy, endpoints = ?endpoints.iter().map(|e| &e.base_url).collect::<Vec<_>>(), "resolved endpoints");
        Ok(EndpointSet {
            endpoints,
            fan_out: plan.strategy == TargetStrategy::AllHealthy,
            fan_out_success: plan.fan_out_success,
            target: what,
        })
    }

    /// One base URL for a CR whose spec has this `target`, for static targets only (`baseURL`,
    /// `baseURLs`, `--base-url`): the strategy's pick without health probing, the first URL for
    /// `AllHealthy`. Prefer [`EndpointResolver::endpoints`], which also discovers workloads.
    ///
    /// # Errors
    ///
    /// [`Error::BadSpec`] (terminal) for an invalid target, none configured, or a workload or pod
    /// target.
    pub fn resolve(&self, target: Option<&TargetSpec>) -> Result<String> {
        let plan = plan::plan(target, &self.defaults, "")?;
        let Source::Static { urls, .. } = &plan.source else {
            return Err(Error::bad_spec(
                "spec.target",
                format!(
                    "{} needs endpoint discovery; resolve it with EndpointResolver::endpoints",
                    plan.describe()
                ),
            ));
        };
        let all = vec![true; urls.len()];
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        let chosen = select::select(
            plan.strategy,
            None,
            select::static_candidates(urls),
            &all,
            turn,
            "",
        )?;
        Ok(chosen.into_iter().next().map(|e| e.base_url).unwrap_or_default())
    }

    /// Ready pods of the plan's workload as candidates, plus the pod `LeaderOnly`/`ByOrdinal` need.
    async fn discover(&self, plan: &Plan, what: &str) -> Result<(Vec<Endpoint>, Option<String>)> {
        let Some(watches) = &self.watches else {
            return Err(Error::bad_spec(
                "spec.target",
                format!("{what} needs endpoint discovery, which this resolver does not have"),
            ));
        };
        let ns = plan.namespace.as_str();
        let missing = |reason: String| Error::NoEndpoint {
            target: what.to_owned(),
            reason,
        };
        match &plan.source {
            Source::Static { urls, .. } => Ok((select::static_candidates(urls), None)),
            Source::Pod(name) => {
                let pod = watches
                    .pod(ns, name)
                    .await?
                    .ok_or_else(|| missing("the pod does not exist".to_owned()))?;
                Ok((select::pod_ip_candidates(&[pod], &self.address)?, None))
            }
            Source::StatefulSet(name) => {
                let sts = watches
                    .stateful_set(ns, name)
                    .await?
                    .ok_or_else(|| missing("the StatefulSet does not exist".to_owned()))?;
                self.stateful_set_endpoints(watches, plan, &sts, &plan.labels, what)
                    .await
            }
            Source::Deployment(name) => {
                let deploy = watches
                    .deployment(ns, name)
                    .await?
                    .ok_or_else(|| missing("the Deployment does not exist".to_owned()))?;
                self.deployment_endpoints(watches, ns, &deploy, &plan.labels, what)
                    .await
            }
            Source::Helm {
                release,
                stateful_set,
                deployment,
            } => {
                let mut labels = plan.labels.clone();
                labels.insert(HELM_INSTANCE_LABEL.to_owned(), release.clone());
                let stateful_sets = match deployment {
                    None => watches.stateful_sets(ns).await?,
                    Some(_) => Vec::new(),
                };
                let deployments = match stateful_set {
                    None => watches.deployments(ns).await?,
                    Some(_) => Vec::new(),
                };
                let workload = select::choose_helm_workload(
                    release,
                    stateful_set.as_deref(),
                    deployment.as_deref(),
                    &stateful_sets,
                    &deployments,
                    what,
                )?;
                let no_ordinal = |found: String| {
                    missing(format!(
                        "spec.target.podOrdinal needs a StatefulSet but the release resolves to {found}"
                    ))
                };
                match workload {
                    HelmWorkload::StatefulSet(sts) => {
                        self.stateful_set_endpoints(watches, plan, &sts, &labels, what)
                            .await
                    }
                    HelmWorkload::Deployment(deploy) => {
                        if plan.ordinal.is_some() {
                            return Err(no_ordinal(format!(
                                "Deployment {}",
                                kube::ResourceExt::name_any(&*deploy)
                            )));
                        }
                        self.deployment_endpoints(watches, ns, &deploy, &labels, what)
                            .await
                    }
                    HelmWorkload::Pods => {
                        if plan.ordinal.is_some() {
                            return Err(no_ordinal("pods without a StatefulSet".to_owned()));
                        }
                        let pods = watches.pods(ns, &select::labels_selector(&labels)).await?;
                        Ok((select::pod_ip_candidates(&pods, &self.address)?, None))
                    }
                }
            }
        }
    }

    async fn stateful_set_endpoints(
        &self,
        watches: &Watches,
        plan: &Plan,
        sts: &k8s_openapi::api::apps::v1::StatefulSet,
        labels: &std::collections::BTreeMap<String, String>,
        what: &str,
    ) -> Result<(Vec<Endpoint>, Option<String>)> {
        let name = kube::ResourceExt::name_any(sts);
        let selector = select::workload_selector(sts.spec.as_ref().map(|s| &s.selector), labels, what)?;
        let pods = watches.pods(&plan.namespace, &selector).await?;
        let candidates = select::stateful_set_candidates(sts, &pods, &self.address)?;
        let wanted = match (plan.strategy, plan.ordinal) {
            (TargetStrategy::ByOrdinal, Some(n)) => Some(format!("{name}-{n}")),
            (TargetStrategy::LeaderOnly, _) => Some(format!("{name}-0")),
            _ => None,
        };
        Ok((candidates, wanted))
    }

    async fn deployment_endpoints(
        &self,
        watches: &Watches,
        namespace: &str,
        deploy: &k8s_openapi::api::apps::v1::Deployment,
        labels: &std::collections::BTreeMap<String, String>,
        what: &str,
    ) -> Result<(Vec<Endpoint>, Option<String>)> {
        let selector = select::workload_selector(deploy.spec.as_ref().map(|s| &s.selector), labels, what)?;
        let pods = watches.pods(namespace, &selector).await?;
        Ok((select::pod_ip_candidates(&pods, &self.address)?, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: Option<&str>) -> TargetSpec {
        TargetSpec {
            base_url: url.map(str::to_owned),
            ..TargetSpec::default()
        }
    }

    #[test]
    fn spec_url_wins_over_operator_default() {
        let r = EndpointResolver::new(Some("http://default".into()));
        assert_eq!(
            r.resolve(Some(&target(Some("http://cr/api")))).unwrap(),
            "http://cr/api"
        );
        assert_eq!(r.resolve(Some(&target(None))).unwrap(), "http://default");
        assert_eq!(r.resolve(None).unwrap(), "http://default");
    }

    #[test]
    fn missing_or_invalid_url_is_a_terminal_spec_error() {
        let err = EndpointResolver::new(Some("  ".into()))
            .resolve(Some(&target(None)))
            .unwrap_err();
        assert!(!err.is_retryable());
        assert!(
            err.to_string().contains("no backend endpoint configured"),
            "{err}"
        );
        let err = EndpointResolver::new(None)
            .resolve(Some(&target(Some("ftp://x"))))
            .unwrap_err();
        assert!(err.to_string().contains("spec.target.baseURL"), "{err}");
    }

    #[tokio::test]
    async fn static_lists_fan_out_and_single_urls_do_not() {
        let r = EndpointResolver::new(Some("http://a,http://b".into()));
        let set = r.endpoints(None, "ns").await.unwrap();
        assert!(set.fan_out);
        assert_eq!(set.endpoints.len(), 2);
        assert_eq!(set.rule(true), FanOutSuccess::All);
        assert_eq!(set.rule(false), FanOutSuccess::Any);
        let one = r
            .endpoints(Some(&TargetSpec::from_base_url("http://c")), "ns")
            .await
            .unwrap();
        assert!(!one.fan_out);
        assert_eq!(one.first(), "http://c");
        let rr: TargetSpec = serde_json::from_value(serde_json::json!({
            "baseURLs": ["http://x", "http://y"], "strategy": "RoundRobin"
        }))
        .unwrap();
        let picks: Vec<String> = [r.resolve(Some(&rr)).unwrap(), r.resolve(Some(&rr)).unwrap()].into();
        assert_ne!(picks[0], picks[1], "round-robin rotates");
    }

    #[tokio::test]
    async fn workload_targets_need_discovery() {
        let r = EndpointResolver::new(None);
        let t: TargetSpec = serde_json::from_value(serde_json::json!({"statefulSet": "s"})).unwrap();
        let err = r.endpoints(Some(&t), "ns").await.unwrap_err();
        assert!(
            !err.is_retryable() && err.to_string().contains("StatefulSet ns/s"),
            "{err}"
        );
        assert!(r.resolve(Some(&t)).is_err());
    }
}
