//! Endpoint health: an HTTP `GET` on a configurable path of each endpoint, cached for the probe interval and shared by every CR.
//!
//! Without a health path every endpoint that discovery returns (a Ready pod, a static URL) counts
//! as healthy. With one, an endpoint is healthy when `GET <scheme>://<host>:<port><path>` answers
//! 2xx within the probe timeout. One probe per endpoint per interval, whatever the number of CRs:
//! concurrent resolutions of the same endpoint wait for the probe in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use crate::client::BackendClient;
use crate::http::Method;

/// Default of `--health-interval`.
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(10);

/// Cached probe result: when, and whether healthy.
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, bool)>>>;

/// Probes endpoints (or, without a health path, trusts them).
#[derive(Debug, Default)]
pub struct HealthChecker {
    probe: Option<Probe>,
}

#[derive(Debug)]
struct Probe {
    client: BackendClient,
    path: String,
    interval: Duration,
    cache: Mutex<HashMap<String, Slot>>,
}

/// The probe URL for `base_url`: its origin plus `path` (`http://10.0.0.1:8080/api/v3` +
/// `/healthz` → `http://10.0.0.1:8080/healthz`). `None` when `base_url` does not parse.
pub fn probe_url(base_url: &str, path: &str) -> Option<String> {
    let mut url = reqwest::Url::parse(base_url).ok()?;
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    url.set_path(path);
    url.set_query((!query.is_empty()).then_some(query));
    url.set_fragment(None);
    Some(url.to_string())
}

impl HealthChecker {
    /// Every endpoint is healthy.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Probes `GET <origin><path>` with `client`, caching each result for `interval`.
    pub fn probing(client: BackendClient, path: &str, interval: Duration) -> Self {
        let path = path.trim();
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Self {
            probe: Some(Probe {
                client,
                path,
                interval,
                cache: Mutex::default(),
            }),
        }
    }

    /// Whether each of `base_urls` is healthy (probed concurrently).
    pub async fn check<'a>(&self, base_urls: impl IntoIterator<Item = &'a str>) -> Vec<bool> {
        match &self.probe {
            None => base_urls.into_iter().map(|_| true).collect(),
            Some(probe) => futures::future::join_all(base_urls.into_iter().map(|u| probe.healthy(u))).await,
        }
    }
}

impl Probe {
    async fn healthy(&self, base_url: &str) -> bool {
        let Some(url) = probe_url(base_url, &self.path) else {
            return false;
        };
        let slot = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if !cache.contains_key(&url) && cache.len() >= 1024 {
                // Forget endpoints not probed for a while (pods come and go).
                let horizon = self.interval * 10;
                cache.retain(|_, slot| {
                    slot.try_lock()
                        .map(|s| s.is_some_and(|(at, _)| at.elapsed() < horizon))
                        .unwrap_or(true)
                });
            }
            cache.entry(url.clone()).or_default().clone()
        };
        let mut cached = slot.lock().await;
        if let Some((at, healthy)) = *cached
            && at.elapsed() < self.interval
        {
            return healthy;
        }
        let healthy = match self.client.send(Method::Get, &url, None).await {
            Ok(resp) if resp.is_success() => true,
            Ok(resp) => {
                warn!(%url, status = resp.status, "endpoint health probe failed");
                false
            }
            Err(error) => {
                warn!(%url, %error, "endpoint health probe failed");
                false
            }
        };
        if let Some((_, before)) = *cached
            && before != healthy
        {
            info!(%url, healthy, "endpoint health changed");
        }
        *cached = Some((Instant::now(), healthy));
        healthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_urls_replace_the_base_path() {
        assert_eq!(
            probe_url("http://10.0.0.1:8080/api/v3", "/healthz").as_deref(),
            Some("http://10.0.0.1:8080/healthz")
        );
        assert_eq!(
            probe_url("https://h/x/", "/ready?full=1").as_deref(),
            Some("https://h/ready?full=1")
        );
        assert_eq!(probe_url("not a url", "/h"), None);
    }

    #[tokio::test]
    async fn without_a_path_everything_is_healthy() {
        let h = HealthChecker::disabled();
        assert_eq!(h.check(["http://a", "http://b"]).await, [true, true]);
    }

    #[tokio::test]
    async fn probes_are_cached_for_the_interval() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new()
            .route(
                "/healthz",
                axum::routing::get(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async { "ok" }
                }),
            )
            .route(
                "/down",
                axum::routing::get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "no") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = BackendClient::new(Duration::from_secs(2)).unwrap();
        let base = format!("http://{addr}/api/v3");
        let h = HealthChecker::probing(client.clone(), "healthz", Duration::from_secs(60));
        let refused = "http://127.0.0.1:1/api";
        assert_eq!(
            h.check([base.as_str(), base.as_str(), refused]).await,
            [true, true, false]
        );
        assert_eq!(h.check([base.as_str()]).await, [true]);
        assert_eq!(hits.load(Ordering::SeqCst), 1, "one probe per interval");
        let down = HealthChecker::probing(client, "/down", Duration::ZERO);
        assert_eq!(down.check([base.as_str()]).await, [false]);
    }
}
