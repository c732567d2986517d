//! Pure endpoint selection over a snapshot of Pods and workloads: which pods are endpoints, their URLs, the Helm release's workload, and the strategy's pick.
//!
//! Nothing here performs I/O, so every rule is unit-tested over hand-built objects.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::core::{Expression, Selector, SelectorExt};

use crate::controls::TargetStrategy;
use crate::error::{Error, Result};

/// Label Helm puts on every object of a release.
pub const HELM_INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// How StatefulSet pods are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Discovery {
    /// `<pod>.<spec.serviceName>.<namespace>.svc` (the StatefulSet's governing headless Service);
    /// the pod IP when the StatefulSet names no service. Deployments and single pods always use
    /// the pod IP.
    #[default]
    Dns,
    /// `status.podIP`.
    PodIp,
}

/// How discovered endpoints become base URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressConfig {
    /// Pod addressing for StatefulSets.
    pub discovery: Discovery,
    /// `http` or `https`.
    pub scheme: String,
    /// Backend port; `None` = the first container port the pod declares.
    pub port: Option<u16>,
    /// Path prefix of the API (`/api/v3`), `""` for none; no trailing slash.
    pub base_path: String,
}

impl Default for AddressConfig {
    fn default() -> Self {
        Self {
            discovery: Discovery::Dns,
            scheme: "http".to_owned(),
            port: None,
            base_path: String::new(),
        }
    }
}

/// Normalises a base path: `""`, or `/segment…` without a trailing slash.
pub fn normalize_base_path(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('/');
    match trimmed {
        "" => String::new(),
        p if p.starts_with('/') => p.to_owned(),
        p => format!("/{p}"),
    }
}

/// One possible endpoint, before health and strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL requests are built on.
    pub base_url: String,
    /// The pod behind it, if discovered.
    pub pod: Option<String>,
}

/// Whether `pod` can serve: not being deleted, `Ready=True`, and an IP. Returns the IP.
pub fn ready_ip(pod: &Pod) -> Option<&str> {
    if pod.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = pod.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let ip = status.pod_ip.as_deref().filter(|ip| !ip.is_empty())?;
    ready.then_some(ip)
}

/// The StatefulSet ordinal of `pod` when it is named `<sts>-<n>` (and, if it has a controller,
/// that controller is the StatefulSet).
pub fn ordinal_of(pod: &Pod, sts: &str) -> Option<u32> {
    let n = pod
        .name_any()
        .strip_prefix(sts)?
        .strip_prefix('-')?
        .parse()
        .ok()?;
    let controller = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    match controller {
        Some(owner) if owner.kind != "StatefulSet" || owner.name != sts => None,
        _ => Some(n),
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The backend port for `pod`: `--backend-port`, else its first declared container port.
fn port_of(pod: &Pod, addr: &AddressConfig) -> Result<u16> {
    if let Some(port) = addr.port {
        return Ok(port);
    }
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .flat_map(|c| c.ports.iter().flatten())
        .find_map(|p| u16::try_from(p.container_port).ok())
        .ok_or_else(|| {
            Error::bad_spec(
                "--backend-port",
                format!(
                    "pod {} declares no container port; set --backend-port",
                    pod.name_any()
                ),
            )
        })
}

fn url(addr: &AddressConfig, host: &str, port: u16) -> String {
    format!("{}://{}{}", addr.scheme, host_port(host, port), addr.base_path)
}

/// Ready pods of StatefulSet `sts` among `pods` (already filtered by its selector), ordered by
/// ordinal. With [`Discovery::Dns`] and a governing service the host is
/// `<pod>.<service>.<namespace>.svc`, else the pod IP.
///
/// # Errors
///
/// [`Error::BadSpec`] when no backend port is known.
pub fn stateful_set_candidates(
    sts: &StatefulSet,
    pods: &[Arc<Pod>],
    addr: &AddressConfig,
) -> Result<Vec<Endpoint>> {
    let name = sts.name_any();
    let namespace = sts.namespace().unwrap_or_default();
    let service = sts
        .spec
        .as_ref()
        .map(|s| s.service_name.as_deref().unwrap_or_default())
        .filter(|s| !s.is_empty());
    let mut found: Vec<(u32, Endpoint)> = Vec::new();
    for pod in pods {
        let (Some(ordinal), Some(ip)) = (ordinal_of(pod, &name), ready_ip(pod)) else {
            continue;
        };
        let pod_name = pod.name_any();
        let host = match (addr.discovery, service) {
            (Discovery::Dns, Some(service)) => format!("{pod_name}.{service}.{namespace}.svc"),
            _ => ip.to_owned(),
        };
        let port = port_of(pod, addr)?;
        found.push((
            ordinal,
            Endpoint {
                base_url: url(addr, &host, port),
                pod: Some(pod_name),
            },
        ));
    }
    found.sort_by_key(|(ordinal, _)| *ordinal);
    Ok(found.into_iter().map(|(_, c)| c).collect())
}

/// Ready pods among `pods` addressed by pod IP, oldest first (then by name).
///
/// # Errors
///
/// [`Error::BadSpec`] when no backend port is known.
pub fn pod_ip_candidates(pods: &[Arc<Pod>], addr: &AddressConfig) -> Result<Vec<Endpoint>> {
    let mut ready: Vec<&Arc<Pod>> = pods.iter().filter(|p| ready_ip(p).is_some()).collect();
    ready.sort_by(|a, b| {
        let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        created(a)
            .cmp(&created(b))
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    ready
        .into_iter()
        .map(|pod| {
            let ip = ready_ip(pod).unwrap_or_default();
            Ok(Endpoint {
                base_url: url(addr, ip, port_of(pod, addr)?),
                pod: Some(pod.name_any()),
            })
        })
        .collect()
}

/// Static base URLs as candidates.
pub fn static_candidates(urls: &[String]) -> Vec<Endpoint> {
    urls.iter()
        .map(|u| Endpoint {
            base_url: u.clone(),
            pod: None,
        })
        .collect()
}

/// The pod selector of a workload (`spec.selector`) ANDed with `extra` labels.
///
/// # Errors
///
/// [`Error::NoEndpoint`] when the selector is missing, invalid or selects everything.
pub fn workload_selector(
    selector: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    extra: &BTreeMap<String, String>,
    what: &str,
) -> Result<Selector> {
    let no = |reason: String| Error::NoEndpoint {
        target: what.to_owned(),
        reason,
    };
    let mut selector = match selector {
        Some(s) => Selector::try_from(s.clone()).map_err(|e| no(format!("invalid spec.selector: {e}")))?,
        None => return Err(no("it has no spec.selector".to_owned())),
    };
    if selector.selects_all() {
        return Err(no("its spec.selector is empty".to_owned()));
    }
    selector.extend(extra.iter().map(|(k, v)| Expression::Equal(k.clone(), v.clone())));
    Ok(selector)
}

/// A selector of exactly `labels` (Helm fallback: pods labelled with the release).
pub fn labels_selector(labels: &BTreeMap<String, String>) -> Selector {
    labels
        .iter()
        .map(|(k, v)| Expression::Equal(k.clone(), v.clone()))
        .collect()
}

/// The workload a Helm release resolves to.
#[derive(Debug, Clone)]
pub enum HelmWorkload {
    /// A StatefulSet of the release.
    StatefulSet(Arc<StatefulSet>),
    /// A Deployment of the release.
    Deployment(Arc<Deployment>),
    /// No workload carries the release label: use the pods that do.
    Pods,
}

fn has_instance(labels: &BTreeMap<String, String>, release: &str) -> bool {
    labels.get(HELM_INSTANCE_LABEL).map(String::as_str) == Some(release)
}

/// Picks the workload of Helm release `release`: the named StatefulSet or Deployment when one is
/// given (it must carry the release label), else the release's StatefulSet with the most
/// replicas, else its Deployment with the most replicas (ties: by name), else its pods.
///
/// # Errors
///
/// [`Error::NoEndpoint`] when a named workload does not exist or is not part of the release.
pub fn choose_helm_workload(
    release: &str,
    stateful_set: Option<&str>,
    deployment: Option<&str>,
    stateful_sets: &[Arc<StatefulSet>],
    deployments: &[Arc<Deployment>],
    what: &str,
) -> Result<HelmWorkload> {
    let missing = |kind: &str, name: &str| Error::NoEndpoint {
        target: what.to_owned(),
        reason: format!("no {kind} {name} labelled {HELM_INSTANCE_LABEL}={release}"),
    };
    if let Some(name) = stateful_set {
        return stateful_sets
            .iter()
            .find(|s| s.name_any() == name && has_instance(s.labels(), release))
            .cloned()
            .map(HelmWorkload::StatefulSet)
            .ok_or_else(|| missing("StatefulSet", name));
    }
    if let Some(name) = deployment {
        return deployments
            .iter()
            .find(|d| d.name_any() == name && has_instance(d.labels(), release))
            .cloned()
            .map(HelmWorkload::Deployment)
            .ok_or_else(|| missing("Deployment", name));
    }
    fn best<K: kube::Resource>(items: &[Arc<K>], release: &str, replicas: fn(&K) -> i32) -> Option<Arc<K>> {
        items
            .iter()
            .filter(|k| has_instance(k.labels(), release))
            .min_by(|a, b| {
                replicas(b)
                    .cmp(&replicas(a))
                    .then_with(|| a.name_any().cmp(&b.name_any()))
            })
            .cloned()
    }
    let sts_replicas = |s: &StatefulSet| s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let deploy_replicas = |d: &Deployment| d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if let Some(sts) = best(stateful_sets, release, sts_replicas) {
        return Ok(HelmWorkload::StatefulSet(sts));
    }
    if let Some(deploy) = best(deployments, release, deploy_replicas) {
        return Ok(HelmWorkload::Deployment(deploy));
    }
    Ok(HelmWorkload::Pods)
}

/// Whether `selector` matches `pod`'s labels.
pub fn selects(selector: &Selector, pod: &Pod) -> bool {
    selector.matches(pod.labels())
}

/// Applies `strategy` to `candidates` (in their order: ordinal, age or list), given which are
/// `healthy`. `wanted` names the pod `LeaderOnly`/`ByOrdinal` must use (StatefulSet pod `0` or
/// `podOrdinal`); without it `LeaderOnly` uses the first candidate. `turn` drives `RoundRobin`.
///
/// # Errors
///
/// [`Error::NoEndpoint`] when nothing usable remains (naming `what`).
pub fn select(
    strategy: TargetStrategy,
    wanted: Option<&str>,
    candidates: Vec<Endpoint>,
    healthy: &[bool],
    turn: usize,
    what: &str,
) -> Result<Vec<Endpoint>> {
    let no = |reason: String| Error::NoEndpoint {
        target: what.to_owned(),
        reason,
    };
    let is_healthy = |i: usize| healthy.get(i).copied().unwrap_or(false);
    if candidates.is_empty() {
        return Err(no(match wanted {
            Some(pod) => format!("pod {pod} is not Ready with an IP (no Ready pod at all)"),
            None => "no Ready pod with an IP".to_owned(),
        }));
    }
    let needs_one = matches!(strategy, TargetStrategy::LeaderOnly | TargetStrategy::ByOrdinal);
    if needs_one {
        let index = match wanted {
            Some(pod) => candidates
                .iter()
                .position(|c| c.pod.as_deref() == Some(pod))
                .ok_or_else(|| no(format!("pod {pod} is not Ready with an IP")))?,
            None => 0,
        };
        if !is_healthy(index) {
            return Err(no(format!(
                "{} failed its health probe",
                candidates[index]
                    .pod
                    .as_deref()
                    .unwrap_or(&candidates[index].base_url)
            )));
        }
        return Ok(vec![candidates[index].clone()]);
    }
    let total = candidates.len();
    let usable: Vec<Endpoint> = candidates
        .into_iter()
        .enumerate()
        .filter(|(i, _)| is_healthy(*i))
        .map(|(_, c)| c)
        .collect();
    if usable.is_empty() {
        return Err(no(format!(
            "none of the {total} endpoints passed its health probe"
        )));
    }
    Ok(match strategy {
        TargetStrategy::AllHealthy => usable,
        TargetStrategy::RoundRobin => vec![usable[turn % usable.len()].clone()],
        _ => vec![usable[0].clone()],
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(name: &str, ip: Option<&str>, ready: bool, extra: serde_json::Value) -> Arc<Pod> {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "ns", "labels": {"app": "petstore"}},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]},
            "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        });
        if let Some(ip) = ip {
            v["status"]["podIP"] = json!(ip);
        }
        merge(&mut v, extra);
        Arc::new(serde_json::from_value(v).unwrap())
    }

    fn merge(into: &mut serde_json::Value, extra: serde_json::Value) {
        if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), extra) {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
    }

    fn sts(name: &str, service: &str, labels: serde_json::Value, replicas: i32) -> Arc<StatefulSet> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ns", "labels": labels},
                "spec": {"serviceName": service, "replicas": replicas,
                         "selector": {"matchLabels": {"app": name}}, "template": {}},
            }))
            .unwrap(),
        )
    }

    fn deploy(name: &str, labels: serde_json::Value, replicas: i32) -> Arc<Deployment> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ns", "labels": labels},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {}},
            }))
            .unwrap(),
        )
    }

    fn addr(discovery: Discovery, port: Option<u16>) -> AddressConfig {
        AddressConfig {
            discovery,
            scheme: "http".into(),
            port,
            base_path: normalize_base_path("api/v3/"),
        }
    }

    fn urls(c: &[Endpoint]) -> Vec<&str> {
        c.iter().map(|c| c.base_url.as_str()).collect()
    }

    #[test]
    fn only_ready_pods_with_an_ip_that_are_not_terminating_serve() {
        assert_eq!(
            ready_ip(&pod("a", Some("10.0.0.1"), true, json!({}))),
            Some("10.0.0.1")
        );
        assert_eq!(ready_ip(&pod("a", Some("10.0.0.1"), false, json!({}))), None);
        assert_eq!(ready_ip(&pod("a", None, true, json!({}))), None);
        assert_eq!(ready_ip(&pod("a", Some(""), true, json!({}))), None);
        let terminating = pod(
            "a",
            Some("10.0.0.1"),
            true,
            json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
        );
        assert_eq!(ready_ip(&terminating), None);
    }

    #[test]
    fn stateful_set_pods_are_ordered_by_ordinal_and_addressed_by_dns_or_ip() {
        let set = sts("petstore", "petstore-hl", json!({}), 3);
        let pods = vec![
            pod("petstore-10", Some("10.0.0.10"), true, json!({})),
            pod("petstore-2", Some("10.0.0.2"), true, json!({})),
            pod("petstore-1", Some("10.0.0.1"), false, json!({})),
            pod("petstore-0", Some("10.0.0.0"), true, json!({})),
            pod("petstore-x", Some("10.0.0.9"), true, json!({})),
            pod(
                "petstore-3",
                Some("10.0.0.3"),
                true,
                json!({"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "name": "other", "uid": "u", "controller": true}]}}),
            ),
        ];
        let by_ip = stateful_set_candidates(&set, &pods, &addr(Discovery::PodIp, Some(9000))).unwrap();
        assert_eq!(
            urls(&by_ip),
            [
                "http://10.0.0.0:9000/api/v3",
                "http://10.0.0.2:9000/api/v3",
                "http://10.0.0.10:9000/api/v3"
            ]
        );
        let by_dns = stateful_set_candidates(&set, &pods, &addr(Discovery::Dns, None)).unwrap();
        assert_eq!(
            by_dns[0].base_url,
            "http://petstore-0.petstore-hl.ns.svc:8080/api/v3"
        );
        assert_eq!(by_dns[0].pod.as_deref(), Some("petstore-0"));
        // No governing service: DNS discovery falls back to the pod IP.
        let headless_less = sts("petstore", "", json!({}), 3);
        let c = stateful_set_candidates(&headless_less, &pods, &addr(Discovery::Dns, Some(1))).unwrap();
        assert_eq!(c[0].base_url, "http://10.0.0.0:1/api/v3");
    }

    #[test]
    fn port_comes_from_the_flag_or_the_pod_and_ipv6_is_bracketed() {
        let portless = pod(
            "p",
            Some("fd00::1"),
            true,
            json!({"spec": {"containers": [{"name": "c"}]}}),
        );
        let err =
            pod_ip_candidates(std::slice::from_ref(&portless), &addr(Discovery::PodIp, None)).unwrap_err();
        assert!(err.to_string().contains("--backend-port"), "{err}");
        let c = pod_ip_candidates(&[portless], &addr(Discovery::PodIp, Some(80))).unwrap();
        assert_eq!(c[0].base_url, "http://[fd00::1]:80/api/v3");
        assert_eq!(normalize_base_path(" / "), "");
        assert_eq!(normalize_base_path("/a/"), "/a");
    }

    #[test]
    fn deployment_pods_are_ordered_oldest_first() {
        let pods = vec![
            pod(
                "b",
                Some("10.0.0.2"),
                true,
                json!({"metadata": {"creationTimestamp": "2024-01-02T00:00:00Z"}}),
            ),
            pod(
                "a",
                Some("10.0.0.1"),
                true,
                json!({"metadata": {"creationTimestamp": "2024-01-03T00:00:00Z"}}),
            ),
            pod(
                "c",
                Some("10.0.0.3"),
                true,
                json!({"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z"}}),
            ),
        ];
        let c = pod_ip_candidates(&pods, &addr(Discovery::Dns, Some(80))).unwrap();
        let names: Vec<_> = c.iter().map(|c| c.pod.clone().unwrap()).collect();
        assert_eq!(names, ["c", "b", "a"]);
    }

    #[test]
    fn workload_selectors_and_extra_labels() {
        let set = sts("petstore", "", json!({}), 1);
        let extra = BTreeMap::from([("tier".to_owned(), "db".to_owned())]);
        let sel = workload_selector(set.spec.as_ref().map(|s| &s.selector), &extra, "x").unwrap();
        let labelled =
            |labels: serde_json::Value| pod("p", None, true, json!({"metadata": {"labels": labels}}));
        assert!(selects(&sel, &labelled(json!({"app": "petstore", "tier": "db"}))));
        assert!(!selects(&sel, &labelled(json!({"app": "petstore"}))));
        let err =
            workload_selector(Some(&Default::default()), &BTreeMap::new(), "StatefulSet ns/x").unwrap_err();
        assert!(err.is_retryable() && err.to_string().contains("empty"), "{err}");
        let sel = labels_selector(&BTreeMap::from([(
            HELM_INSTANCE_LABEL.to_owned(),
            "r".to_owned(),
        )]));
        assert!(selects(&sel, &labelled(json!({HELM_INSTANCE_LABEL: "r"}))));
    }

    #[test]
    fn helm_release_prefers_named_then_stateful_sets_then_most_replicas() {
        let rel = json!({HELM_INSTANCE_LABEL: "rel"});
        let stss = vec![
            sts("small", "", rel.clone(), 1),
            sts("big", "", rel.clone(), 3),
            sts("foreign", "", json!({HELM_INSTANCE_LABEL: "other"}), 9),
        ];
        let deps = vec![deploy("web", rel.clone(), 5)];
        let pick = |s: Option<&str>, d: Option<&str>, stss: &[Arc<StatefulSet>]| {
            choose_helm_workload("rel", s, d, stss, &deps, "Helm release ns/rel")
        };
        assert!(
            matches!(pick(None, None, &stss).unwrap(), HelmWorkload::StatefulSet(s) if s.name_any() == "big")
        );
        assert!(
            matches!(pick(Some("small"), None, &stss).unwrap(), HelmWorkload::StatefulSet(s) if s.name_any() == "small")
        );
        assert!(matches!(
            pick(None, Some("web"), &stss).unwrap(),
            HelmWorkload::Deployment(_)
        ));
        assert!(
            matches!(pick(None, None, &[]).unwrap(), HelmWorkload::Deployment(d) if d.name_any() == "web")
        );
        let err = pick(Some("foreign"), None, &stss).unwrap_err();
        assert!(
            err.to_string().contains("no StatefulSet foreign labelled"),
            "{err}"
        );
        assert!(matches!(
            choose_helm_workload("none", None, None, &stss, &deps, "x").unwrap(),
            HelmWorkload::Pods
        ));
    }

    fn cands(n: usize) -> Vec<Endpoint> {
        (0..n)
            .map(|i| Endpoint {
                base_url: format!("http://10.0.0.{i}"),
                pod: Some(format!("s-{i}")),
            })
            .collect()
    }

    #[test]
    fn strategies_pick_from_healthy_endpoints() {
        use TargetStrategy::*;
        let healthy = [true, false, true];
        let pick = |s, wanted, turn| {
            select(s, wanted, cands(3), &healthy, turn, "x")
                .map(|c| urls(&c).iter().map(|u| u.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            pick(AllHealthy, None, 0).unwrap(),
            ["http://10.0.0.0", "http://10.0.0.2"]
        );
        assert_eq!(pick(AnyHealthy, None, 7).unwrap(), ["http://10.0.0.0"]);
        assert_eq!(pick(RoundRobin, None, 0).unwrap(), ["http://10.0.0.0"]);
        assert_eq!(pick(RoundRobin, None, 1).unwrap(), ["http://10.0.0.2"]);
        assert_eq!(pick(RoundRobin, None, 2).unwrap(), ["http://10.0.0.0"]);
        assert_eq!(pick(ByOrdinal, Some("s-2"), 0).unwrap(), ["http://10.0.0.2"]);
        assert_eq!(pick(LeaderOnly, Some("s-0"), 0).unwrap(), ["http://10.0.0.0"]);
        assert_eq!(pick(LeaderOnly, None, 0).unwrap(), ["http://10.0.0.0"]);
        // The wanted pod is unhealthy or not Ready: an error, never another pod.
        let err = pick(ByOrdinal, Some("s-1"), 0).unwrap_err();
        assert!(
            err.is_retryable() && err.to_string().contains("s-1 failed its health probe"),
            "{err}"
        );
        let err = pick(ByOrdinal, Some("s-7"), 0).unwrap_err();
        assert!(err.to_string().contains("pod s-7 is not Ready"), "{err}");
        let err = select(AllHealthy, None, cands(2), &[false, false], 0, "StatefulSet ns/s").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no backend endpoint for StatefulSet ns/s: none of the 2 endpoints passed its health probe"
        );
        let err = select(RoundRobin, None, Vec::new(), &[], 0, "x").unwrap_err();
        assert!(err.to_string().contains("no Ready pod"), "{err}");
    }
}
