//! Kubernetes Events (`events.k8s.io/v1`) for state transitions, with a repeat of the same event within six minutes recorded as a series on the first one; the series cache is compact and bounded.
//!
//! kube's `Recorder` keeps a full copy of every Event it published for six minutes and scans all
//! of them on each publish: with 10,000 custom resources reaching `Synced` at once that is tens of
//! MiB and a quadratic amount of work under one lock. This recorder keeps, per distinct event, a
//! 64-bit key, the Event's name and namespace, the series count and the last time it was seen;
//! at most [`MAX_SERIES`] of them, the oldest evicted first. An evicted or expired series simply
//! starts a new Event, which is what the API server would show after its own Event TTL anyway.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType};

/// How long a published event can be continued as a series (kube and client-go use six minutes).
pub const SERIES_TTL: Duration = Duration::from_secs(6 * 60);

/// Most distinct events remembered for series at once; beyond it the oldest is forgotten.
pub const MAX_SERIES: usize = 4096;

/// Events waiting for the background publisher at most; more are dropped (with a warning), as
/// client-go's broadcaster does: Events are diagnostics and must not slow reconciles down.
pub const QUEUE_CAPACITY: usize = 1024;

/// Publishes Events about objects, as reporting controller `reporter`: directly
/// ([`Recorder::new`]) or through a bounded queue drained by a background task
/// ([`Recorder::in_background`]), so that a reconcile does not wait for its Event.
pub struct Recorder {
    inner: std::sync::Arc<Inner>,
    queue: Option<tokio::sync::mpsc::Sender<(Event, ObjectReference)>>,
}

struct Inner {
    client: kube::Client,
    reporter: String,
    instance: String,
    series: Mutex<SeriesCache>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("reporter", &self.inner.reporter)
            .field("instance", &self.inner.instance)
            .field("background", &self.queue.is_some())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder for `reporter` (the operator's name); the reporting instance is the pod name
    /// (`POD_NAME`) when set, else the reporter.
    pub fn new(client: kube::Client, reporter: &str) -> Self {
        let instance = std::env::var("POD_NAME")
            .ok()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| reporter.to_owned());
        Self {
            inner: std::sync::Arc::new(Inner {
                client,
                reporter: reporter.to_owned(),
                instance,
                series: Mutex::new(SeriesCache::default()),
            }),
            queue: None,
        }
    }

    /// This recorder, publishing from a background task fed by a queue of [`QUEUE_CAPACITY`]
    /// (call inside a Tokio runtime). The task ends when the recorder is dropped.
    pub fn in_background(self) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(Event, ObjectReference)>(QUEUE_CAPACITY);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            while let Some((event, regarding)) = rx.recv().await {
                if let Err(error) = inner.publish(&event, &regarding).await {
                    tracing::warn!(%error, reason = %event.reason, "could not publish event");
                }
            }
        });
        Self {
            inner: self.inner,
            queue: Some(tx),
        }
    }

    /// Records `event` about `regarding`: queued when running in the background (dropped with a
    /// warning when the queue is full), else published at once. Failures are logged, never
    /// returned: Events are diagnostics.
    pub async fn record(&self, event: Event, regarding: ObjectReference) {
        let (event, regarding) = match &self.queue {
            None => (event, regarding),
            Some(queue) => match queue.try_send((event, regarding)) {
                Ok(()) => return,
                Err(tokio::sync::mpsc::error::TrySendError::Full((event, _))) => {
                    tracing::warn!(reason = %event.reason, "event queue full; event dropped");
                    return;
                }
                Err(tokio::sync::mpsc::error::TrySendError::Closed(pair)) => pair,
            },
        };
        if let Err(error) = self.inner.publish(&event, &regarding).await {
            tracing::warn!(%error, reason = %event.reason, "could not publish event");
        }
    }

    /// Publishes `event` about `regarding`: a new Event, or, when the same event (type, reason,
    /// action, note, object) was published less than [`SERIES_TTL`] ago, a patch of that Event's
    /// `series` (count and last observed time).
    ///
    /// # Errors
    ///
    /// The API server's error when it rejects both the series patch and the create.
    pub async fn publish(&self, event: &Event, regarding: &ObjectReference) -> Result<(), kube::Error> {
        self.inner.publish(event, regarding).await
    }

    /// How many distinct events are remembered for series (for tests and diagnostics).
    pub fn remembered(&self) -> usize {
        self.inner
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }
}

impl Inner {
    async fn publish(&self, event: &Event, regarding: &ObjectReference) -> Result<(), kube::Error> {
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
        let key = series_key(event, regarding);
        let now = jiff::Timestamp::now();
        let continued = self
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .continue_series(key, Instant::now());
        if let Some((name, count)) = continued {
            let patch = serde_json::json!({
                "series": {"count": count, "lastObservedTime": MicroTime(now)},
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // The Event expired on the server (or was deleted): start a new one.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        let name = format!(
            "{}.{:x}",
            regarding.name.as_deref().unwrap_or(&self.reporter),
            now.as_nanosecond()
        );
        let body = K8sEvent {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: event.secondary.clone(),
            note: event.note.clone(),
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.reporter.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(
                match event.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            ..K8sEvent::default()
        };
        api.create(&PostParams::default(), &body).await?;
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .start_series(key, name, Instant::now());
        Ok(())
    }
}

/// Identity of an event for series: everything but the time.
fn series_key(event: &Event, regarding: &ObjectReference) -> u64 {
    let mut hasher = DefaultHasher::new();
    matches!(event.type_, EventType::Warning).hash(&mut hasher);
    event.reason.hash(&mut hasher);
    event.action.hash(&mut hasher);
    event.note.hash(&mut hasher);
    regarding.uid.hash(&mut hasher);
    regarding.api_version.hash(&mut hasher);
    regarding.kind.hash(&mut hasher);
    regarding.namespace.hash(&mut hasher);
    regarding.name.hash(&mut hasher);
    event
        .secondary
        .as_ref()
        .map(|r| (&r.uid, &r.name, &r.kind))
        .hash(&mut hasher);
    hasher.finish()
}

#[derive(Debug)]
struct SeriesEntry {
    name: String,
    count: i32,
    last: Instant,
    /// Sequence number of this entry's newest record in [`SeriesCache::order`].
    seq: u64,
}

/// The remembered series: at most [`MAX_SERIES`] entries; `order` lists (key, seq) oldest first,
/// with stale records (superseded seq) skipped lazily, so publishing is amortised O(1).
#[derive(Debug, Default)]
struct SeriesCache {
    entries: HashMap<u64, SeriesEntry>,
    order: VecDeque<(u64, u64)>,
    next_seq: u64,
}

impl SeriesCache {
    /// The Event name and the new series count when `key` was seen within [`SERIES_TTL`]; the
    /// series is then counted as continued at `now`.
    fn continue_series(&mut self, key: u64, now: Instant) -> Option<(String, i32)> {
        self.expire(now);
        let seq = self.next_seq;
        let entry = self.entries.get_mut(&key)?;
        // A first occurrence has no series yet; its first repeat makes count 2.
        entry.count = entry.count.saturating_add(1).max(2);
        entry.last = now;
        entry.seq = seq;
        let out = (entry.name.clone(), entry.count);
        self.next_seq += 1;
        self.order.push_back((key, seq));
        self.compact();
        Some(out)
    }

    /// Remembers a newly created Event `name` for `key`.
    fn start_series(&mut self, key: u64, name: String, now: Instant) {
        self.expire(now);
        while self.entries.len() >= MAX_SERIES {
            if !self.evict_oldest() {
                break;
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            key,
            SeriesEntry {
                name,
                count: 1,
                last: now,
                seq,
            },
        );
        self.order.push_back((key, seq));
        self.compact();
    }

    /// Drops entries last seen more than [`SERIES_TTL`] before `now` (they are at the front).
    fn expire(&mut self, now: Instant) {
        while let Some(&(key, seq)) = self.order.front() {
            match self.entries.get(&key) {
                Some(entry) if entry.seq == seq => {
                    if now.saturating_duration_since(entry.last) < SERIES_TTL {
                        return;
                    }
                    self.entries.remove(&key);
                }
                // A superseded record: the entry moved to the back or is gone.
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// Removes the least recently seen entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, seq)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&key);
                return true;
            }
        }
        false
    }

    /// Drops superseded records once they outnumber the live ones, keeping `order` O(entries).
    fn compact(&mut self) {
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(key, seq)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_repeat_continues_the_series_with_increasing_counts() {
        let mut cache = SeriesCache::default();
        let t0 = Instant::now();
        assert_eq!(cache.continue_series(7, t0), None);
        cache.start_series(7, "pet-a.1".into(), t0);
        assert_eq!(cache.continue_series(7, t0), Some(("pet-a.1".into(), 2)));
        assert_eq!(cache.continue_series(7, t0), Some(("pet-a.1".into(), 3)));
        assert_eq!(cache.continue_series(8, t0), None);
    }

    #[test]
    fn a_series_expires_after_the_ttl_measured_from_the_last_repeat() {
        let mut cache = SeriesCache::default();
        let t0 = Instant::now();
        cache.start_series(1, "a".into(), t0);
        cache.start_series(2, "b".into(), t0);
        let t1 = t0 + SERIES_TTL - Duration::from_secs(1);
        // Key 1 repeats just before expiry: it lives on from t1; key 2 does not.
        assert_eq!(cache.continue_series(1, t1), Some(("a".into(), 2)));
        let t2 = t0 + SERIES_TTL + Duration::from_secs(1);
        assert_eq!(cache.continue_series(2, t2), None);
        assert_eq!(cache.continue_series(1, t2), Some(("a".into(), 3)));
        assert_eq!(cache.entries.len(), 1);
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_least_recently_seen() {
        let mut cache = SeriesCache::default();
        let t0 = Instant::now();
        for key in 0..MAX_SERIES as u64 {
            cache.start_series(key, format!("e{key}"), t0);
        }
        // Key 0 is refreshed, so key 1 is now the least recently seen.
        assert!(cache.continue_series(0, t0).is_some());
        cache.start_series(u64::MAX, "new".into(), t0);
        assert_eq!(cache.entries.len(), MAX_SERIES);
        assert!(cache.entries.contains_key(&0));
        assert!(!cache.entries.contains_key(&1));
        assert!(cache.order.len() <= 2 * MAX_SERIES + 64);
    }

    #[test]
    fn repeated_continuations_keep_the_order_queue_compact() {
        let mut cache = SeriesCache::default();
        let t0 = Instant::now();
        cache.start_series(1, "a".into(), t0);
        for _ in 0..10_000 {
            cache.continue_series(1, t0);
        }
        assert!(cache.order.len() <= 2 + 64, "order grew to {}", cache.order.len());
        assert_eq!(cache.continue_series(1, t0).unwrap().1, 10_002);
    }

    #[test]
    fn the_key_separates_notes_reasons_and_objects() {
        let event = |reason: &str, note: &str| Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: Some(note.into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        let object = |name: &str| ObjectReference {
            name: Some(name.into()),
            namespace: Some("ns".into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        };
        let base = series_key(&event("Synced", "ok"), &object("a"));
        assert_eq!(base, series_key(&event("Synced", "ok"), &object("a")));
        assert_ne!(base, series_key(&event("Synced", "other"), &object("a")));
        assert_ne!(base, series_key(&event("Created", "ok"), &object("a")));
        assert_ne!(base, series_key(&event("Synced", "ok"), &object("b")));
    }

    #[tokio::test]
    async fn publishing_twice_creates_one_event_with_a_series() {
        use k8s_openapi::api::core::v1::ConfigMap;
        use kube::Resource as _;

        let env = crate::test_support::Env::start(vec![], vec![], &["default"]).await;
        let recorder = Recorder::new(env.client.clone(), "petstore-operator");
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("subject".into());
        cm.metadata.namespace = Some("default".into());
        cm.metadata.uid = Some("uid-1".into());
        let regarding = cm.object_ref(&());
        let synced = Event {
            type_: EventType::Normal,
            reason: "Synced".into(),
            note: Some("in sync".into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        recorder.publish(&synced, &regarding).await.unwrap();
        recorder.publish(&synced, &regarding).await.unwrap();
        recorder.publish(&synced, &regarding).await.unwrap();
        let failed = Event {
            type_: EventType::Warning,
            reason: "Failed".into(),
            note: Some("boom".into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        recorder.publish(&failed, &regarding).await.unwrap();

        let api: Api<K8sEvent> = Api::namespaced(env.client.clone(), "default");
        let mut events = api.list(&Default::default()).await.unwrap().items;
        events.sort_by_key(|e| e.reason.clone());
        assert_eq!(events.len(), 2, "{events:#?}");
        let (failed_ev, synced_ev) = (&events[0], &events[1]);
        assert_eq!(synced_ev.series.as_ref().map(|s| s.count), Some(3));
        assert_eq!(
            synced_ev.reporting_controller.as_deref(),
            Some("petstore-operator")
        );
        assert_eq!(
            synced_ev.regarding.as_ref().and_then(|r| r.name.as_deref()),
            Some("subject")
        );
        assert_eq!(synced_ev.note.as_deref(), Some("in sync"));
        assert_eq!(failed_ev.type_.as_deref(), Some("Warning"));
        assert!(failed_ev.series.is_none());
        assert_eq!(recorder.remembered(), 2);

        // The server dropped the Event (TTL): the next repeat starts a new one.
        api.delete(synced_ev.metadata.name.as_deref().unwrap(), &Default::default())
            .await
            .unwrap();
        recorder.publish(&synced, &regarding).await.unwrap();
        let events = api.list(&Default::default()).await.unwrap().items;
        assert_eq!(events.len(), 2);
        let fresh = events
            .iter()
            .find(|e| e.reason.as_deref() == Some("Synced"))
            .unwrap();
        assert!(fresh.series.is_none());
    }

    #[tokio::test]
    async fn a_background_recorder_publishes_in_order_without_blocking() {
        use k8s_openapi::api::core::v1::ConfigMap;
        use kube::Resource as _;

        let env = crate::test_support::Env::start(vec![], vec![], &["default"]).await;
        let recorder = Recorder::new(env.client.clone(), "petstore-operator").in_background();
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("subject".into());
        cm.metadata.namespace = Some("default".into());
        let event = |reason: &str| Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: Some(reason.into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        for reason in ["Created", "Synced", "Synced"] {
            recorder.record(event(reason), cm.object_ref(&())).await;
        }
        let api: Api<K8sEvent> = Api::namespaced(env.client.clone(), "default");
        let events = crate::test_support::eventually("two events", Duration::from_secs(10), || {
            let api = api.clone();
            async move {
                let items = api.list(&Default::default()).await.ok()?.items;
                let synced = items.iter().find(|e| e.reason.as_deref() == Some("Synced"))?;
                (items.len() == 2 && synced.series.as_ref().map(|s| s.count) == Some(2)).then_some(items)
            }
        })
        .await;
        assert!(events.iter().any(|e| e.reason.as_deref() == Some("Created")));
    }
}
