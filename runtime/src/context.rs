//! Shared controller context: clients, configuration, per-object retry backoff and readiness. No reconcile behaviour.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::endpoint::EndpointResolver;
use crate::http::BackendClient;
use crate::operator::AppInfo;

/// Everything a reconciler needs, shared by all controllers of one operator process.
pub struct Context {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Identity of the operator (finalizer name, field manager).
    pub app: AppInfo,
    /// Backend HTTP client.
    pub backend: BackendClient,
    /// Base URL resolution.
    pub endpoints: EndpointResolver,
    /// Namespace to watch; `None` watches all namespaces.
    pub watch_namespace: Option<String>,
    /// Per-object retry backoff.
    pub backoff: RetryBackoff,
    /// Which controllers have completed their initial list.
    pub readiness: Readiness,
    /// Flips to `true` when the operator should shut down gracefully.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Publishes `events.k8s.io/v1` Events (reporter: the app name) on state transitions.
    pub recorder: crate::events::Recorder,
    /// The cache of every kind, shared by its controller and the aggregates.
    pub caches: crate::cache::SharedCaches,
    /// Metadata writes of the operator itself whose watch events must not trigger a reconcile.
    pub own_writes: crate::reconciler::OwnWrites,
    /// Every registered kind except Aggregate kinds (group, version, kind, plural): what the
    /// aggregate reconciler watches and selects from.
    pub kinds: Vec<kube::core::ApiResource>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("app", &self.app)
            .field("endpoints", &self.endpoints)
            .field("watch_namespace", &self.watch_namespace)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the maps inconsistent; keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Longest retry delay, whatever the interval.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(300);
/// First retry delay.
pub const BASE_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Longest wait a backend's `Retry-After` can impose (longer values are capped).
pub const MAX_RETRY_AFTER_DELAY: Duration = Duration::from_secs(600);

/// Jittered exponential backoff per object (keyed by UID): `1s·2^n`, capped, ±20 % jitter.
/// Reset on success and forgotten when the object is deleted.
#[derive(Debug, Default)]
pub struct RetryBackoff {
    attempts: Mutex<HashMap<String, u32>>,
}

impl RetryBackoff {
    /// Delay before the next retry of object `key`; counts the attempt. `cap` bounds the delay
    /// (together with [`MAX_RETRY_DELAY`]).
    pub fn next_delay(&self, key: &str, cap: Option<Duration>) -> Duration {
        let attempt = {
            let mut attempts = lock(&self.attempts);
            let n = attempts.entry(key.to_owned()).or_insert(0);
            let current = *n;
            *n = n.saturating_add(1);
            current
        };
        let jitter = rand::random_range(-0.2..=0.2);
        backoff_delay(attempt, cap, jitter)
    }

    /// Delay before the next retry of object `key` after a failure that carried `retry_after`
    /// (the backend's `Retry-After`); counts the attempt. See [`retry_delay`].
    pub fn next_delay_after(
        &self,
        key: &str,
        cap: Option<Duration>,
        retry_after: Option<Duration>,
    ) -> Duration {
        retry_delay(self.next_delay(key, cap), retry_after)
    }

    /// Forgets the attempts of `key` (after a success or deletion).
    pub fn reset(&self, key: &str) {
        lock(&self.attempts).remove(key);
    }

    /// Number of failed attempts recorded for `key`.
    pub fn attempts(&self, key: &str) -> u32 {
        lock(&self.attempts).get(key).copied().unwrap_or(0)
    }
}

/// Pure backoff formula: `min(BASE·2^attempt · (1 + jitter), cap, MAX_RETRY_DELAY)`, never below 100 ms.
pub fn backoff_delay(attempt: u32, cap: Option<Duration>, jitter: f64) -> Duration {
    let cap = cap
        .map_or(MAX_RETRY_DELAY, |c| c.min(MAX_RETRY_DELAY))
        .max(Duration::from_millis(100));
    let nominal = BASE_RETRY_DELAY.as_secs_f64() * 2f64.powi(attempt.min(30) as i32);
    let jittered = nominal * (1.0 + jitter.clamp(-0.2, 0.2));
    Duration::from_secs_f64(jittered).clamp(Duration::from_millis(100), cap)
}

/// The retry delay honouring a backend's `Retry-After`: `max(backoff, min(retry_after,
/// MAX_RETRY_AFTER_DELAY))`.
///
/// # Guarantees
///
/// Never earlier than the backend asked (up to [`MAX_RETRY_AFTER_DELAY`]), never earlier than the
/// backoff, never later than `max(backoff, MAX_RETRY_AFTER_DELAY)`; the interval cap of the backoff
/// does not shorten a `Retry-After`.
pub fn retry_delay(backoff: Duration, retry_after: Option<Duration>) -> Duration {
    retry_after.map_or(backoff, |wait| backoff.max(wait.min(MAX_RETRY_AFTER_DELAY)))
}

/// `"; retrying in 2s"` when `error` carried a `Retry-After` (the delay rounded to whole seconds),
/// else `""`. Plain backoff retries add nothing, so that the same failure again computes the same
/// status message and causes no status write.
pub fn retry_note(error: &crate::error::Error, delay: Duration) -> String {
    if error.retry_after().is_none() {
        return String::new();
    }
    let shown = if delay < Duration::from_secs(1) {
        delay
    } else {
        Duration::from_secs(delay.as_secs_f64().round() as u64)
    };
    format!("; retrying in {}", crate::error::human_duration(shown))
}

/// Tracks which controllers finished their initial list (for `/readyz`).
#[derive(Debug, Default)]
pub struct Readiness {
    kinds: Mutex<BTreeMap<&'static str, bool>>,
}

impl Readiness {
    /// Registers a controller as not ready yet.
    pub fn register(&self, kind: &'static str) {
        lock(&self.kinds).entry(kind).or_insert(false);
    }

    /// Marks a controller ready (its watch has listed all objects).
    pub fn set_ready(&self, kind: &'static str) {
        lock(&self.kinds).insert(kind, true);
    }

    /// Whether every registered controller is ready (and at least one is registered).
    pub fn is_ready(&self) -> bool {
        let kinds = lock(&self.kinds);
        !kinds.is_empty() && kinds.values().all(|r| *r)
    }

    /// Kinds that are not ready yet.
    pub fn pending(&self) -> Vec<&'static str> {
        lock(&self.kinds)
            .iter()
            .filter(|(_, r)| !**r)
            .map(|(k, _)| *k)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_jitter_bounds() {
        for attempt in 0..6u32 {
            let nominal = f64::from(1u32 << attempt);
            let lo = backoff_delay(attempt, None, -0.2).as_secs_f64();
            let hi = backoff_delay(attempt, None, 0.2).as_secs_f64();
            assert!((lo - nominal * 0.8).abs() < 1e-9, "{attempt}: {lo}");
            assert!((hi - nominal * 1.2).abs() < 1e-9, "{attempt}: {hi}");
        }
    }

    #[test]
    fn backoff_is_capped_by_interval_and_maximum() {
        assert_eq!(
            backoff_delay(10, Some(Duration::from_secs(30)), 0.2),
            Duration::from_secs(30)
        );
        assert_eq!(backoff_delay(30, None, 0.2), MAX_RETRY_DELAY);
        assert_eq!(
            backoff_delay(30, Some(Duration::from_secs(3600)), 0.0),
            MAX_RETRY_DELAY
        );
        assert_eq!(backoff_delay(u32::MAX, None, 0.0), MAX_RETRY_DELAY);
    }

    #[test]
    fn per_object_attempts_count_and_reset() {
        let b = RetryBackoff::default();
        for expected_max in [1.2, 2.4, 4.8] {
            let d = b.next_delay("uid-a", None).as_secs_f64();
            assert!(
                d <= expected_max + 1e-9 && d >= expected_max / 1.2 * 0.8 - 1e-9,
                "{d}"
            );
        }
        assert_eq!(b.attempts("uid-a"), 3);
        assert_eq!(b.attempts("uid-b"), 0);
        b.reset("uid-a");
        assert_eq!(b.attempts("uid-a"), 0);
        assert!(b.next_delay("uid-a", None) <= Duration::from_millis(1200));
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_ten_minutes() {
        let s = Duration::from_secs;
        assert_eq!(retry_delay(s(1), None), s(1));
        assert_eq!(retry_delay(s(1), Some(s(2))), s(2));
        assert_eq!(retry_delay(s(8), Some(s(2))), s(8));
        assert_eq!(retry_delay(s(1), Some(s(86_400))), MAX_RETRY_AFTER_DELAY);
        assert_eq!(retry_delay(s(1), Some(Duration::ZERO)), s(1));
        let b = RetryBackoff::default();
        // The interval cap (1s) bounds the backoff but not the backend's Retry-After.
        assert_eq!(b.next_delay_after("k", Some(s(1)), Some(s(5))), s(5));
        assert_eq!(b.attempts("k"), 1);
    }

    #[test]
    fn retry_notes_only_for_retry_after() {
        use crate::error::Error;
        let e = Error::from_status_retry_after("GET", "u", 503, "m".into(), Some(Duration::from_secs(2)));
        assert_eq!(retry_note(&e, Duration::from_millis(2300)), "; retrying in 2s");
        assert_eq!(retry_note(&e, Duration::from_secs(90)), "; retrying in 1m30s");
        let e = Error::from_status("GET", "u", 503, "m".into());
        assert_eq!(retry_note(&e, Duration::from_secs(2)), "");
    }

    #[test]
    fn readiness_requires_every_kind() {
        let r = Readiness::default();
        assert!(!r.is_ready());
        r.register("Pet");
        r.register("User");
        r.set_ready("Pet");
        assert!(!r.is_ready());
        assert_eq!(r.pending(), ["User"]);
        r.set_ready("User");
        assert!(r.is_ready());
    }
}
