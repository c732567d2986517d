//! Per-backend request limits: a concurrency cap (semaphore) and a request-rate pacer, keyed by the backend's origin (scheme, host, port).
//!
//! # Guarantees
//!
//! - At most `max_concurrent` requests to one origin are in flight at any time (0 = unlimited);
//!   the permit is held until the response body has been read completely or the request failed.
//! - With `max_per_second = R > 0`, consecutive request starts to one origin are spaced at least
//!   `1/R` apart (no burst): the `n`-th request of a backlog starts no earlier than `(n-1)/R`
//!   after the first.
//! - Requests **wait** for a slot; limits never fail a request. Waiting happens before the request
//!   timeout starts, so a long queue does not turn into timeouts.
//! - Different origins never share a limiter.
//!
//! # Caveats
//!
//! One limiter is kept per origin ever contacted; the set is bounded by the base URLs the CRs name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Limits applied to every backend origin separately.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackendLimits {
    /// Most requests in flight per origin; `0` = unlimited.
    pub max_concurrent: usize,
    /// Most request starts per second per origin; `0` (or not finite/positive) = unlimited.
    pub max_per_second: f64,
}

/// Default of `--max-concurrent-requests-per-backend`.
pub const DEFAULT_MAX_CONCURRENT: usize = 8;

impl Default for BackendLimits {
    fn default() -> Self {
        Self {
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_per_second: 0.0,
        }
    }
}

/// The limiter of one origin.
#[derive(Debug)]
struct OriginLimiter {
    semaphore: Option<Arc<Semaphore>>,
    pacer: Option<Pacer>,
}

/// Spaces request starts at least `interval` apart.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer allowing `per_second` starts per second; `None` when unlimited.
    pub fn new(per_second: f64) -> Option<Self> {
        (per_second.is_finite() && per_second > 0.0).then(|| Self {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(None),
        })
    }

    /// Waits for this caller's start slot. Slots are handed out in call order; a caller that is
    /// dropped while waiting forfeits its slot (the rate stays a bound, never exceeded).
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// What a request holds while it runs; dropping it frees the concurrency slot.
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
}

/// All origins' limiters; cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct LimiterRegistry {
    limits: BackendLimits,
    origins: Mutex<HashMap<String, Arc<OriginLimiter>>>,
}

impl LimiterRegistry {
    /// A registry applying `limits` to each origin.
    pub fn new(limits: BackendLimits) -> Self {
        Self {
            limits,
            origins: Mutex::default(),
        }
    }

    /// The limits applied per origin.
    pub fn limits(&self) -> BackendLimits {
        self.limits
    }

    /// Waits until a request to `url` may start (concurrency slot first, then the rate slot) and
    /// returns the permit to hold until the response is fully read.
    pub async fn acquire(&self, url: &str) -> Permit {
        let limiter = self.limiter(&origin_key(url));
        let permit = match &limiter.semaphore {
            // The semaphore is never closed, so acquiring only fails in theory; run unlimited then.
            Some(s) => s.clone().acquire_owned().await.ok(),
            None => None,
        };
        if let Some(pacer) = &limiter.pacer {
            pacer.wait().await;
        }
        Permit { _permit: permit }
    }

    fn limiter(&self, key: &str) -> Arc<OriginLimiter> {
        let mut origins = self.origins.lock().unwrap_or_else(PoisonError::into_inner);
        origins
            .entry(key.to_owned())
            .or_insert_with(|| {
                Arc::new(OriginLimiter {
                    semaphore: (self.limits.max_concurrent > 0)
                        .then(|| Arc::new(Semaphore::new(self.limits.max_concurrent))),
                    pacer: Pacer::new(self.limits.max_per_second),
                })
            })
            .clone()
    }
}

/// `scheme://host:port` of `url` (default ports made explicit, host lower-cased); the URL itself
/// when it does not parse (such a request fails anyway).
pub fn origin_key(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default().to_ascii_lowercase(),
            u.port_or_known_default().unwrap_or_default()
        ),
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(origin_key("http://H:80/api/v3/pet?x=1"), "http://h:80");
        assert_eq!(origin_key("http://h/other"), "http://h:80");
        assert_eq!(origin_key("https://h/"), "https://h:443");
        assert_ne!(origin_key("http://h:8080/"), origin_key("http://h:8081/"));
        assert_eq!(origin_key("not a url"), "not a url");
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_spaces_starts_evenly() {
        let registry = Arc::new(LimiterRegistry::new(BackendLimits {
            max_concurrent: 0,
            max_per_second: 5.0,
        }));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let r = registry.clone();
                tokio::spawn(async move {
                    let _p = r.acquire("http://a/x").await;
                    Instant::now() - t0
                })
            })
            .collect();
        let mut starts = Vec::new();
        for t in tasks {
            starts.push(t.await.unwrap());
        }
        starts.sort();
        assert_eq!(starts[0], Duration::ZERO);
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(200), "{starts:?}");
        }
        assert_eq!(starts[9], Duration::from_millis(1800));
        // Another origin has its own pacer: it starts at once.
        let before = Instant::now();
        let _p = registry.acquire("http://b/x").await;
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn semaphore_caps_in_flight_per_origin() {
        let registry = Arc::new(LimiterRegistry::new(BackendLimits {
            max_concurrent: 3,
            max_per_second: 0.0,
        }));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let (r, in_flight, peak) = (registry.clone(), in_flight.clone(), peak.clone());
                tokio::spawn(async move {
                    let _p = r.acquire("http://a/x").await;
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10 + i)).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_unlimited() {
        let registry = LimiterRegistry::new(BackendLimits {
            max_concurrent: 0,
            max_per_second: 0.0,
        });
        let before = Instant::now();
        let permits: Vec<_> =
            futures::future::join_all((0..100).map(|_| registry.acquire("http://a/"))).await;
        assert_eq!(permits.len(), 100);
        assert_eq!(Instant::now(), before);
        assert!(Pacer::new(f64::NAN).is_none());
        assert!(Pacer::new(-1.0).is_none());
    }
}
