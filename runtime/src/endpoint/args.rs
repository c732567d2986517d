//! The `run` flags (and environment variables) of operator-wide endpoint targeting, discovery and health probing.

use std::time::Duration;

use clap::Args;

use super::EndpointResolver;
#[cfg(test)]
use super::health::DEFAULT_HEALTH_INTERVAL;
use super::health::HealthChecker;
use super::plan::TargetDefaults;
use super::select::{AddressConfig, Discovery, normalize_base_path};
use crate::client::{BackendClient, HttpConfig};
use crate::controls::TargetStrategy;
use crate::error::{Error, Result};

/// Endpoint targeting flags of `run`. A CR's `spec.target` overrides the source (`--base-url`,
/// `--target-*`); the address flags apply to every discovered pod.
#[derive(Debug, Clone, Args)]
pub struct TargetingArgs {
    /// Operator-wide target: StatefulSet whose Ready pods serve the API (for CRs whose
    /// spec.target names no source). With --target-helm-release: that StatefulSet of the release.
    #[arg(long, env = "TARGET_STATEFULSET", value_name = "NAME")]
    pub target_statefulset: Option<String>,
    /// Operator-wide target: Deployment whose Ready pods serve the API. With
    /// --target-helm-release: that Deployment of the release.
    #[arg(long, env = "TARGET_DEPLOYMENT", value_name = "NAME")]
    pub target_deployment: Option<String>,
    /// Operator-wide target: Helm release whose StatefulSet or Deployment (label
    /// `app.kubernetes.io/instance=RELEASE`) serves the API.
    #[arg(long, env = "TARGET_HELM_RELEASE", value_name = "RELEASE")]
    pub target_helm_release: Option<String>,
    /// Operator-wide target: one pod, by pod IP.
    #[arg(long, env = "TARGET_POD", value_name = "NAME")]
    pub target_pod: Option<String>,
    /// Namespace of the operator-wide workload or pod (default: each CR's namespace).
    #[arg(long, env = "TARGET_NAMESPACE", value_name = "NS")]
    pub target_namespace: Option<String>,
    /// Default strategy for CRs that set none: round-robin, leader-only, any-healthy, all-healthy
    /// (default: all-healthy for a list of base URLs, round-robin otherwise).
    #[arg(long, env = "TARGET_STRATEGY", value_name = "STRATEGY", value_parser = parse_strategy)]
    pub target_strategy: Option<TargetStrategy>,
    /// How StatefulSet pods are addressed: `dns` (`POD.SERVICE.NAMESPACE.svc`, the StatefulSet's
    /// spec.serviceName) or `pod-ip` (status.podIP). Deployments and single pods always use the
    /// pod IP.
    #[arg(long, env = "TARGET_DISCOVERY", default_value = "dns", value_parser = parse_discovery)]
    pub discovery: Discovery,
    /// Scheme of discovered endpoints.
    #[arg(long, env = "BACKEND_SCHEME", default_value = "http", value_parser = ["http", "https"])]
    pub backend_scheme: String,
    /// Port of discovered endpoints (default: the pod's first declared container port).
    #[arg(long, env = "BACKEND_PORT")]
    pub backend_port: Option<u16>,
    /// Path prefix of the API on discovered endpoints (default: the path of the OpenAPI spec's
    /// `servers[0].url`, as generated into the operator). `/` for none.
    #[arg(long, env = "BACKEND_BASE_PATH", value_name = "PATH")]
    pub backend_base_path: Option<String>,
    /// Health probe path on every endpoint (`GET SCHEME://HOST:PORT/PATH`, 2xx = healthy).
    /// Default: none, every Ready pod (and every base URL) is healthy.
    #[arg(long, env = "BACKEND_HEALTH_PATH", value_name = "PATH")]
    pub health_path: Option<String>,
    /// How long a health probe result is reused (also the probe timeout, at most --request-timeout).
    #[arg(long, env = "BACKEND_HEALTH_INTERVAL", default_value = "10s", value_parser = crate::controls::parse_positive_duration)]
    pub health_interval: Duration,
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Parses a strategy as written in a CR (`AllHealthy`) or kebab-case (`all-healthy`).
///
/// # Errors
///
/// A message listing the accepted values.
pub fn parse_strategy(text: &str) -> std::result::Result<TargetStrategy, String> {
    Ok(match squash(text).as_str() {
        "roundrobin" => TargetStrategy::RoundRobin,
        "leaderonly" => TargetStrategy::LeaderOnly,
        "anyhealthy" => TargetStrategy::AnyHealthy,
        "allhealthy" => TargetStrategy::AllHealthy,
        "byordinal" => TargetStrategy::ByOrdinal,
        _ => {
            return Err(format!(
                "unknown strategy {text:?}: use round-robin, leader-only, any-healthy or all-healthy"
            ));
        }
    })
}

fn parse_discovery(text: &str) -> std::result::Result<Discovery, String> {
    match squash(text).as_str() {
        "dns" => Ok(Discovery::Dns),
        "podip" => Ok(Discovery::PodIp),
        _ => Err(format!("unknown discovery mode {text:?}: use dns or pod-ip")),
    }
}

impl TargetingArgs {
    /// The operator-wide defaults these flags (plus `--base-url`) describe.
    pub fn defaults(&self, base_url: Option<&str>) -> TargetDefaults {
        let name = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_owned);
        TargetDefaults {
            stateful_set: name(&self.target_statefulset),
            deployment: name(&self.target_deployment),
            helm_release: name(&self.target_helm_release),
            pod: name(&self.target_pod),
            namespace: name(&self.target_namespace),
            strategy: self.target_strategy,
            ..TargetDefaults::from_base_urls(base_url)
        }
    }

    /// How discovered pods become base URLs; `default_base_path` is the generated operator's
    /// (the path of the spec's `servers[0].url`).
    pub fn address(&self, default_base_path: Option<&str>) -> AddressConfig {
        AddressConfig {
            discovery: self.discovery,
            scheme: self.backend_scheme.clone(),
            port: self.backend_port,
            base_path: normalize_base_path(
                self.backend_base_path
                    .as_deref()
                    .or(default_base_path)
                    .unwrap_or_default(),
            ),
        }
    }

    /// The resolver for `run`: validated defaults, lazily started watches on `client`, and health
    /// probes sharing `http` (with the probe timeout) when `--health-path` is set.
    ///
    /// # Errors
    ///
    /// [`Error::Startup`] when the flags conflict or the probe client cannot be built.
    pub fn resolver(
        &self,
        base_url: Option<&str>,
        default_base_path: Option<&str>,
        client: kube::Client,
        http: &HttpConfig,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<EndpointResolver> {
        let defaults = self.defaults(base_url);
        defaults.validate().map_err(|reason| Error::Startup {
            what: "endpoint targeting flags",
            reason,
        })?;
        let health = match self
            .health_path
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => HealthChecker::disabled(),
            Some(path) => {
                let timeout = self.health_interval.min(http.request_timeout);
                let client = BackendClient::with_config(HttpConfig {
                    request_timeout: timeout,
                    connect_timeout: http.connect_timeout.min(timeout),
                    ..http.clone()
                })?;
                HealthChecker::probing(client, path, self.health_interval)
            }
        };
        Ok(EndpointResolver::with_discovery(
            defaults,
            self.address(default_base_path),
            health,
            super::watch::Watches::new(client, shutdown),
        ))
    }
}

#[cfg(test)]
mod tests {
    use clap::{FromArgMatches, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        targeting: TargetingArgs,
    }

    fn parse(args: &[&str]) -> std::result::Result<TargetingArgs, clap::Error> {
        let m = <Cli as clap::CommandFactory>::command()
            .try_get_matches_from(std::iter::once("op").chain(args.iter().copied()))?;
        Ok(Cli::from_arg_matches(&m)?.targeting)
    }

    #[test]
    fn defaults_and_overrides() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.discovery, Discovery::Dns);
        assert_eq!(a.health_interval, DEFAULT_HEALTH_INTERVAL);
        assert_eq!(a.address(Some("/api/v3/")).base_path, "/api/v3");
        assert_eq!(a.address(None).base_path, "");
        assert_eq!(a.defaults(Some("http://a,http://b")).base_urls.len(), 2);

        let a = parse(&[
            "--target-statefulset",
            "petstore",
            "--target-namespace",
            "backend",
            "--target-strategy",
            "leader-only",
            "--discovery",
            "pod-ip",
            "--backend-scheme",
            "https",
            "--backend-port",
            "8443",
            "--backend-base-path",
            "/",
            "--health-path",
            "/healthz",
            "--health-interval",
            "2s",
        ])
        .unwrap();
        let d = a.defaults(None);
        assert_eq!(d.stateful_set.as_deref(), Some("petstore"));
        assert_eq!(d.namespace.as_deref(), Some("backend"));
        assert_eq!(d.strategy, Some(TargetStrategy::LeaderOnly));
        let addr = a.address(Some("/api/v3"));
        assert_eq!(
            addr,
            AddressConfig {
                discovery: Discovery::PodIp,
                scheme: "https".into(),
                port: Some(8443),
                base_path: String::new(),
            }
        );
        assert_eq!(a.health_interval, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(parse(&["--discovery", "mdns"]).is_err());
        assert!(parse(&["--backend-scheme", "ftp"]).is_err());
        assert!(parse(&["--target-strategy", "random"]).is_err());
        assert!(parse(&["--health-interval", "0"]).is_err());
        assert_eq!(parse_strategy("AllHealthy"), Ok(TargetStrategy::AllHealthy));
        assert_eq!(parse_strategy("any_healthy"), Ok(TargetStrategy::AnyHealthy));
    }
}
