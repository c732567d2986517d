//! Plumbing shared by the reconciler families (Resource, Query, Action, Aggregate): object keys, Events, status patches, the watch-and-controller loop, run scheduling and response data for the status.
//!
//! Everything here is either I/O glue with one obvious behaviour (publish an Event, patch a
//! status) or a pure function with unit tests (scheduling, body interpretation).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryFuture, TryStreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::context::Context;
use crate::error::{Error, Result};

/// Most reconciles of one kind running at once. Backend requests are capped per backend anyway
/// (`--max-concurrent-requests-per-backend`); this bounds the memory of a burst (10,000 CRs applied
/// at once queue instead of each holding a pending reconcile) without slowing it down.
pub const MAX_CONCURRENT_RECONCILES: u16 = 32;

/// Key of an object for per-object state such as the retry backoff: its UID, else
/// `namespace/name`.
pub fn object_key<K: Resource>(obj: &K) -> String {
    object_key_of(obj.meta())
}

/// Publishes a Kubernetes Event about `obj` (callers publish on state transitions only). Failures
/// are logged, never returned: events are diagnostics.
pub async fn publish_event<K: Resource<DynamicType = ()>>(
    obj: &K,
    ctx: &Context,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        // The API server caps an Event note at 1 KiB.
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    ctx.recorder.record(event, obj.object_ref(&())).await;
}

/// Sends a JSON merge patch (`{"status": …}`) to the status subresource of `name`. With
/// `precondition`, the patch also carries `metadata.resourceVersion`, so the API server rejects it
/// with `409 Conflict` when the object changed since that version (optimistic concurrency).
///
/// # Errors
///
/// [`Error::Kube`] when the API server rejects the patch (a `409` when the precondition failed).
pub async fn patch_status<K>(
    api: &Api<K>,
    ctx: &Context,
    name: &str,
    mut patch: Value,
    precondition: Option<&str>,
) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    if let (Some(version), Value::Object(map)) = (precondition, &mut patch) {
        map.insert(
            "metadata".to_owned(),
            serde_json::json!({ "resourceVersion": version }),
        );
    }
    debug!(patch = %crate::redact::value(&patch), "patching status");
    let params = PatchParams {
        field_manager: Some(ctx.app.name.to_owned()),
        ..PatchParams::default()
    };
    api.patch_status(name, &params, &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::Kube {
            action: "patch status",
            source,
        })
}

/// The base URL a Query or Action request goes to: the first endpoint [`crate::endpoint`] resolves
/// for `target` (static URLs and discovered workloads alike). Queries and Actions go to one
/// endpoint; a fan-out strategy still picks only its first endpoint for them.
///
/// # Errors
///
/// [`Error::BadSpec`] for an invalid or missing target; a retryable error when a discovered
/// workload has no usable endpoint yet.
pub async fn base_url(
    ctx: &Context,
    target: Option<&crate::controls::TargetSpec>,
    namespace: &str,
) -> Result<String> {
    let set = ctx.endpoints.endpoints(target, namespace).await?;
    Ok(set.first().to_owned())
}

/// Requeue after a Kubernetes API error returned by a reconcile: `409 Conflict` after 1 s, anything
/// else after the object's backoff.
pub fn requeue_after_error(key: &str, kind: &str, name: &str, error: &Error, ctx: &Context) -> Action {
    warn!(kind, name, %error, label = error.metric_label(), "reconcile error");
    if error.is_conflict() {
        return Action::requeue(Duration::from_secs(1));
    }
    Action::requeue(ctx.backoff.next_delay(key, None))
}

/// A controller for kind `K` in `ctx.watch_namespace` (or all namespaces): readiness registered
/// under `kind` and set after the initial list, its store shared through [`Context::caches`] with
/// every watch event announced there, backoff forgotten on delete, and reconciles
/// triggered only by [`crate::resource::trigger_hash`] changes (generation, deletion, finalizers,
/// the reconcile-request annotation), never by status writes.
pub fn controller<K>(kind: &'static str, ctx: &Arc<Context>) -> Controller<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + Debug
        + Send
        + Sync
        + 'static,
{
    ctx.readiness.register(kind);
    let api: Api<K> = match &ctx.watch_namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let (reader, writer) = reflector::store();
    // The one cache of this kind; aggregates read it instead of watching the kind again.
    ctx.caches.register(reader.clone());
    let events_ctx = ctx.clone();
    let filter_ctx = ctx.clone();
    let triggers = Arc::new(TriggerFilter::default());
    let events_triggers = triggers.clone();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        // The cache needs neither managed fields nor the last-applied annotation: dropping them
        // keeps memory proportional to the objects' content.
        .modify(|obj| {
            obj.meta_mut().managed_fields = None;
            if let Some(annotations) = obj.meta_mut().annotations.as_mut() {
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
            }
        })
        .reflect(writer)
        .inspect(move |event| match event {
            Ok(watcher::Event::Init) => events_triggers.relist_started(),
            Ok(watcher::Event::InitDone) => {
                events_triggers.relist_done();
                events_ctx.readiness.set_ready(kind);
            }
            Ok(watcher::Event::Delete(obj)) => {
                events_ctx.backoff.reset(&object_key(obj));
                events_triggers.forget(obj);
                events_ctx.own_writes.forget(obj);
                announce(&events_ctx, kind, obj);
            }
            Ok(watcher::Event::Apply(obj) | watcher::Event::InitApply(obj)) => {
                announce(&events_ctx, kind, obj);
            }
            Err(error) => warn!(kind, %error, "watch failed; retrying"),
        })
        .applied_objects()
        .try_filter(move |obj| futures::future::ready(triggers.admit(obj, &filter_ctx.own_writes)));
    Controller::for_stream(stream, reader).with_config(
        kube::runtime::controller::Config::default()
            .concurrency(crate::reconciler::MAX_CONCURRENT_RECONCILES),
    )
}

/// Which watch events of one controller trigger a reconcile: a change of
/// [`crate::resource::trigger_hash`] (generation, deletion, finalizers, the reconcile-request
/// annotation), never a status write, and never the echo of the operator's own finalizer patch
/// (see [`OwnWrites`]). Keeps one hash per object; entries of objects that vanished while the watch
/// was down are dropped when the next relist completes.
#[derive(Debug, Default)]
pub struct TriggerFilter {
    seen: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
    epoch: std::sync::atomic::AtomicU64,
}

impl TriggerFilter {
    fn seen(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (u64, u64)>> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `obj` (from a watch event) should be reconciled.
    pub fn admit<K: Resource<DynamicType = ()>>(&self, obj: &K, own: &OwnWrites) -> bool {
        let Some(hash) = crate::resource::trigger_hash(obj) else {
            return true;
        };
        let key = object_key_of(obj.meta());
        let epoch = self.epoch.load(std::sync::atomic::Ordering::Relaxed);
        let previous = {
            let mut seen = self.seen();
            match seen.get_mut(&key) {
                Some(entry) => Some(std::mem::replace(entry, (hash, epoch)).0),
                None => {
                    seen.insert(key.clone(), (hash, epoch));
                    None
                }
            }
        };
        match previous {
            // First sight (start, relist, new object): reconcile.
            None => {
                own.forget_key(&key);
                true
            }
            Some(previous) if previous == hash => false,
            Some(previous) => !own.is_echo(&key, previous, hash),
        }
    }

    /// A relist began (`Init`): objects it does not return are forgotten at [`Self::relist_done`].
    pub fn relist_started(&self) {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A relist completed (`InitDone`): drops objects it did not return.
    pub fn relist_done(&self) {
        let epoch = self.epoch.load(std::sync::atomic::Ordering::Relaxed);
        self.seen().retain(|_, (_, seen_in)| *seen_in == epoch);
    }

    /// Forgets a deleted object.
    pub fn forget<K: Resource>(&self, obj: &K) {
        self.seen().remove(&object_key_of(obj.meta()));
    }

    /// Objects tracked (tests).
    pub fn tracked(&self) -> usize {
        self.seen().len()
    }
}

/// Metadata writes of the operator itself whose watch events must not trigger a reconcile.
///
/// The finalizer the operator adds after creating a backend object changes the trigger hash, so
/// its watch event would reconcile every new object a second time (a backend `GET` and a status
/// write each). [`OwnWrites::expect_echo`] records the hash change before the patch is sent (its
/// event can arrive before its response); [`TriggerFilter::admit`] then lets exactly that change
/// pass silently, once. Any other change, a finalizer someone else removes included, triggers.
#[derive(Debug, Default)]
pub struct OwnWrites {
    echoes: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

impl OwnWrites {
    fn echoes(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (u64, u64)>> {
        self.echoes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that the operator is about to change `old` into `new` (call it before the write).
    pub fn expect_echo<K: Resource<DynamicType = ()>>(&self, old: &K, new: &K) {
        if let (Some(before), Some(after)) = (
            crate::resource::trigger_hash(old),
            crate::resource::trigger_hash(new),
        ) && before != after
        {
            self.echoes().insert(object_key_of(new.meta()), (before, after));
        }
    }

    /// Whether the change `before` → `after` of object `key` is the expected echo; the
    /// expectation is consumed either way.
    fn is_echo(&self, key: &str, before: u64, after: u64) -> bool {
        let mut echoes = self.echoes();
        if echoes.is_empty() {
            return false;
        }
        echoes.remove(key) == Some((before, after))
    }

    /// Drops the expectation for a deleted object or a failed write.
    pub fn forget<K: Resource>(&self, obj: &K) {
        self.forget_key(&object_key_of(obj.meta()));
    }

    fn forget_key(&self, key: &str) {
        let mut echoes = self.echoes();
        if !echoes.is_empty() {
            echoes.remove(key);
        }
    }

    /// How many echoes are expected (tests).
    pub fn pending(&self) -> usize {
        self.echoes().len()
    }
}

/// [`object_key`] from metadata alone: the UID, else `namespace/name`.
fn object_key_of(meta: &kube::core::ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_else(|| {
        format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name
                .as_deref()
                .or(meta.generate_name.as_deref())
                .unwrap_or_default()
        )
    })
}

/// Tells the subscribers of [`Context::caches`] (aggregates) that `obj` of `kind` changed.
fn announce<K: Resource>(ctx: &Context, kind: &str, obj: &K) {
    ctx.caches.notify(
        kind,
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default(),
    );
}

/// Runs `controller` until `ctx.shutdown` flips; in-flight reconciles finish first.
pub async fn drive<K, C, F, Fut>(
    controller: Controller<K>,
    kind: &'static str,
    ctx: &Context,
    reconcile: F,
    error_policy: fn(Arc<K>, &Error, Arc<C>) -> Action,
    state: Arc<C>,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    C: Send + Sync + 'static,
    F: FnMut(Arc<K>, Arc<C>) -> Fut,
    Fut: TryFuture<Ok = Action, Error = Error> + Send + 'static,
{
    let mut shutdown = ctx.shutdown.clone();
    info!(
        kind,
        namespace = ctx.watch_namespace.as_deref().unwrap_or("*"),
        "starting controller"
    );
    controller
        .graceful_shutdown_on(async move {
            let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
        })
        .run(reconcile, error_policy, state)
        .for_each(|result| async move {
            match result {
                Ok((obj, action)) => debug!(kind, name = %obj.name, ?action, "reconciled"),
                Err(error) => warn!(kind, %error, "reconcile failed"),
            }
        })
        .await;
    info!(kind, "controller stopped");
}

// ---------------------------------------------------------------- scheduling (pure)

/// Shortest repeat interval: `spec.executionInterval` below it runs once a second (statuses record
/// times in whole seconds).
pub const MIN_RUN_INTERVAL: Duration = Duration::from_secs(1);

/// The effective repeat interval for `spec.executionInterval` (at least [`MIN_RUN_INTERVAL`]).
pub fn run_interval(interval: Option<Duration>) -> Option<Duration> {
    interval.map(|d| d.max(MIN_RUN_INTERVAL))
}

/// Whether a run is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Run now.
    Run,
    /// Periodic and not yet due: look again after this long.
    Wait(Duration),
    /// Nothing to do until the spec changes.
    Idle,
}

/// The periodic part of the decision: with an `interval`, due when `interval` has passed since
/// `last` (the end of the latest run) or there was no run; without one, [`Due::Idle`].
pub fn periodic_due(interval: Option<Duration>, last: Option<&Time>, now: jiff::Timestamp) -> Due {
    let Some(interval) = interval else {
        return Due::Idle;
    };
    let Some(last) = last else { return Due::Run };
    let Ok(step) = jiff::SignedDuration::try_from(interval) else {
        return Due::Idle;
    };
    let Ok(due_at) = last.0.checked_add(step) else {
        return Due::Idle;
    };
    if now >= due_at {
        return Due::Run;
    }
    Due::Wait(
        Duration::try_from(due_at.duration_since(now))
            .unwrap_or(interval)
            .min(interval),
    )
}

/// `last + interval`, rounded up to whole seconds (the precision statuses store).
pub fn next_time(last: &Time, interval: Duration) -> Time {
    let secs =
        i64::try_from(interval.as_secs()).unwrap_or(i64::MAX / 2) + i64::from(interval.subsec_nanos() > 0);
    Time(
        jiff::Timestamp::from_second(last.0.as_second().saturating_add(secs)).unwrap_or(jiff::Timestamp::MAX),
    )
}

/// The action after a finished run: the next periodic run, or nothing until the spec changes.
pub fn after_run(interval: Option<Duration>) -> Action {
    interval.map_or_else(Action::await_change, Action::requeue)
}

// ---------------------------------------------------------------- response data (pure)

/// Longest non-JSON response text kept in a status (bytes).
pub const MAX_TEXT_DATA: usize = 64 * 1024;

/// Largest JSON response kept in a status (serialized bytes); larger data is replaced by a note, so
/// that a big answer cannot push the CR past the API server's object size limit.
pub const MAX_STATUS_DATA: usize = 256 * 1024;

/// A response body, interpreted.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No body (or only whitespace).
    Empty,
    /// A JSON document.
    Json(Value),
    /// Anything else, as (lossy UTF-8) text, at most [`MAX_TEXT_DATA`] bytes.
    Text(String),
}

/// Interprets response bytes: JSON when they parse as JSON, else text.
pub fn interpret_body(bytes: &[u8]) -> Body {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Body::Empty;
    }
    match serde_json::from_slice(bytes) {
        Ok(value) => Body::Json(value),
        Err(_) => Body::Text(crate::http::truncate(
            String::from_utf8_lossy(bytes).trim(),
            MAX_TEXT_DATA,
        )),
    }
}

/// A body as status data: JSON with secret-looking keys redacted (see [`crate::redact`]), text as a
/// string; JSON larger than [`MAX_STATUS_DATA`] becomes a note saying so.
pub fn status_data(body: &Body) -> Option<Value> {
    match body {
        Body::Empty => None,
        Body::Text(text) => Some(Value::String(text.clone())),
        Body::Json(value) => {
            let mut value = value.clone();
            crate::redact::redact_value(&mut value);
            Some(bounded(value))
        }
    }
}

/// `value`, or a note when it serializes to more than [`MAX_STATUS_DATA`] bytes.
pub fn bounded(value: Value) -> Value {
    let size = serialized_len(&value);
    if size <= MAX_STATUS_DATA {
        return value;
    }
    Value::String(format!(
        "<{size} bytes of JSON not kept: larger than {MAX_STATUS_DATA} bytes>"
    ))
}

/// Length of `value` serialized as JSON.
pub fn serialized_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(second).unwrap()
    }

    fn config_map(generation: i64, finalizers: &[&str]) -> k8s_openapi::api::core::v1::ConfigMap {
        let mut cm = k8s_openapi::api::core::v1::ConfigMap::default();
        cm.metadata.resource_version = Some(format!("{generation}.{}", finalizers.len()));
        cm.metadata.name = Some("a".into());
        cm.metadata.namespace = Some("ns".into());
        cm.metadata.uid = Some("uid-a".into());
        cm.metadata.generation = Some(generation);
        cm.metadata.finalizers = Some(finalizers.iter().map(|f| (*f).to_owned()).collect());
        cm
    }

    #[test]
    fn the_echo_of_an_own_finalizer_write_does_not_trigger_but_later_changes_do() {
        let (filter, writes) = (TriggerFilter::default(), OwnWrites::default());
        let created = config_map(1, &[]);
        let with_finalizer = config_map(1, &["petstore.example.com/finalizer"]);
        assert!(filter.admit(&created, &writes), "first sight triggers");
        assert!(!filter.admit(&created, &writes), "a status write does not");
        writes.expect_echo(&created, &with_finalizer);
        // The event of the status write the patch started from arrives late: not news.
        assert!(!filter.admit(&created, &writes));
        assert!(
            !filter.admit(&with_finalizer, &writes),
            "the echo does not trigger"
        );
        assert_eq!(writes.pending(), 0, "the expectation is consumed");
        assert!(
            !filter.admit(&with_finalizer, &writes),
            "nor does a status write after it"
        );
        assert!(
            filter.admit(&config_map(2, &["petstore.example.com/finalizer"]), &writes),
            "a spec change triggers"
        );
    }

    #[test]
    fn someone_else_removing_the_finalizer_after_the_echo_triggers() {
        let (filter, writes) = (TriggerFilter::default(), OwnWrites::default());
        let created = config_map(1, &[]);
        let with_finalizer = config_map(1, &["petstore.example.com/finalizer"]);
        filter.admit(&created, &writes);
        writes.expect_echo(&created, &with_finalizer);
        assert!(!filter.admit(&with_finalizer, &writes));
        assert!(
            filter.admit(&created, &writes),
            "removing the finalizer must trigger"
        );
        assert!(
            filter.admit(&with_finalizer, &writes),
            "adding it again (not expected) triggers too"
        );
    }

    #[test]
    fn deletes_failed_writes_and_relists_leave_nothing_behind() {
        let (filter, writes) = (TriggerFilter::default(), OwnWrites::default());
        let same = config_map(1, &["f"]);
        writes.expect_echo(&same, &same);
        assert_eq!(writes.pending(), 0, "a no-op write expects nothing");
        writes.expect_echo(&config_map(1, &[]), &same);
        writes.forget(&same);
        assert_eq!(writes.pending(), 0);
        // Relist: objects not returned are forgotten when it completes.
        let mut gone = config_map(1, &[]);
        gone.metadata.uid = Some("uid-gone".into());
        filter.admit(&gone, &writes);
        filter.admit(&same, &writes);
        filter.relist_started();
        filter.admit(&same, &writes);
        filter.relist_done();
        assert_eq!(filter.tracked(), 1);
        filter.forget(&same);
        assert_eq!(filter.tracked(), 0);
    }

    #[test]
    fn periodic_runs_are_due_after_the_interval() {
        let s = Duration::from_secs;
        assert_eq!(periodic_due(None, Some(&Time(at(0))), at(100)), Due::Idle);
        assert_eq!(periodic_due(Some(s(10)), None, at(100)), Due::Run);
        assert_eq!(
            periodic_due(Some(s(10)), Some(&Time(at(95))), at(100)),
            Due::Wait(s(5))
        );
        assert_eq!(periodic_due(Some(s(10)), Some(&Time(at(90))), at(100)), Due::Run);
        assert_eq!(periodic_due(Some(s(10)), Some(&Time(at(10))), at(100)), Due::Run);
        // A clock that went backwards waits at most one interval.
        assert_eq!(
            periodic_due(Some(s(10)), Some(&Time(at(500))), at(100)),
            Due::Wait(s(10))
        );
    }

    #[test]
    fn intervals_have_a_floor_and_next_times_round_up() {
        assert_eq!(
            run_interval(Some(Duration::from_millis(10))),
            Some(MIN_RUN_INTERVAL)
        );
        assert_eq!(
            run_interval(Some(Duration::from_secs(5))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(run_interval(None), None);
        assert_eq!(next_time(&Time(at(100)), Duration::from_secs(30)), Time(at(130)));
        assert_eq!(
            next_time(&Time(at(100)), Duration::from_millis(1500)),
            Time(at(102))
        );
    }

    #[test]
    fn bodies_are_json_text_or_empty() {
        assert_eq!(interpret_body(b" \n"), Body::Empty);
        assert_eq!(interpret_body(b"[1,2]"), Body::Json(json!([1, 2])));
        assert_eq!(interpret_body(b"\"s\""), Body::Json(json!("s")));
        assert_eq!(
            interpret_body(b"hello, world\n"),
            Body::Text("hello, world".into())
        );
        assert_eq!(interpret_body(b"{broken"), Body::Text("{broken".into()));
        let Body::Text(long) = interpret_body("x".repeat(MAX_TEXT_DATA * 2).as_bytes()) else {
            panic!("not text")
        };
        assert!(long.len() <= MAX_TEXT_DATA + 4, "{}", long.len());
    }

    #[test]
    fn status_data_is_redacted_and_bounded() {
        let data = status_data(&Body::Json(json!({"username": "ann", "password": "hunter2"}))).unwrap();
        assert_eq!(
            data,
            json!({"username": "ann", "password": crate::redact::REDACTED})
        );
        assert_eq!(status_data(&Body::Empty), None);
        assert_eq!(status_data(&Body::Text("t".into())), Some(json!("t")));
        let huge = json!(vec!["x".repeat(1024); 300]);
        let Some(Value::String(note)) = status_data(&Body::Json(huge)) else {
            panic!("not bounded")
        };
        assert!(note.contains("not kept"), "{note}");
    }
}
