//! The generic Query reconciler: one `GET` per spec generation (or every `spec.executionInterval`), its typed results recorded in the status.
//!
//! # When a query runs
//!
//! [`decide`] (pure) looks only at the stored status, the generation, the interval and the clock:
//!
//! - a new generation (`status.observedGeneration != metadata.generation`), no state yet, or a run
//!   that was `Pending`/`Querying` when the operator stopped → run now;
//! - `Queried`, or `Failed` after a backend answer → with `spec.executionInterval`, run again once
//!   the interval has passed since `lastExecutionTime` (requeue for the remainder), otherwise wait
//!   for a spec change;
//! - `Failed` with `Reconciling=True` (network error, timeout, 5xx, 408, 429, or a discovered
//!   workload without a usable endpoint yet) → retry now; the retry was scheduled with the
//!   per-object backoff (capped by the interval; a `Retry-After` is a floor);
//! - `Failed` with `Stalled=True` (the spec cannot become a request: bad interval, no endpoint
//!   configured, missing path parameter) → nothing until the spec changes, periodic or not.
//!
//! `spec.paused: true` → state `Paused`, nothing sent. The first run of a generation is announced
//! with state `Querying` (one extra status write per spec change); periodic re-runs keep the last
//! state and results visible until they finish.
//!
//! # Results
//!
//! The JSON body is deserialized into [`QueryResource::Results`] after secret-looking keys are
//! redacted (string values become `<redacted>`, other values `null`; see [`crate::redact`]), so
//! `status.results` never holds a password the API returned. `resultCount` is the array length, 1
//! for an object (0 for `null`), and for untyped results (`serde_json::Value`) the length of an
//! array under `items`, `data`, `results` or `content`. A body that does not fit the type → `Failed`
//! naming the kind and the serde error, the body in `responses[0].data`. A non-JSON 2xx body →
//! `Queried` with the text in `responses[0].data` and no results, unless the results type accepts a
//! string (`serde_json::Value`, `String`), then the text is the result. Results larger than
//! [`MAX_RESULTS_BYTES`] are not stored (`Failed`, message says so). Non-2xx → `Failed` with the
//! status code in the message and in `responses[0]`. On failure the previous results stay: they are
//! the last successful run's.
//!
//! # Status writes
//!
//! The new status is computed from the stored one and written (merge patch of the changed keys)
//! only when it differs. Every finished run changes `lastExecutionTime` and `executionCount`, so a
//! periodic query writes once per run; an idle one-shot query writes nothing. Conditions follow
//! kstatus like Resources; an Event is published on every state change.

use std::any::TypeId;
use std::sync::Arc;
use std::time::Duration;

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use serde_json::Value;
use tracing::{info, warn};

use crate::context::{Context, retry_note};
use crate::error::{Error, Result};
use crate::http::{Method, bound_url, error_message};
use crate::reconciler::{
    Body, Due, after_run, base_url, interpret_body, next_time, object_key, patch_status, periodic_due,
    publish_event, requeue_after_error, run_interval, serialized_len, status_data,
};
use crate::resource::ControllerFn;
use crate::run_status::{QueryState, QueryStatus, TargetResponse};
use crate::status::{self, Kstatus, is_true, kstatus_conditions, merge_patch_of};
use crate::traits::QueryResource;

/// Largest results (serialized JSON bytes) stored in `status.results`.
pub const MAX_RESULTS_BYTES: usize = 1024 * 1024;

/// The controller entry point for kind `K`.
pub fn controller_fn<K: QueryResource>() -> ControllerFn {
    |ctx| Box::pin(run::<K>(ctx))
}

/// Runs the controller of Query kind `K` until `ctx.shutdown` flips.
///
/// # Errors
///
/// None today; the signature leaves room for startup checks.
pub async fn run<K: QueryResource>(ctx: Arc<Context>) -> Result<()> {
    let kind = K::DESCRIPTOR.kind;
    let controller = crate::reconciler::controller::<K>(kind, &ctx);
    crate::reconciler::drive(
        controller,
        kind,
        &ctx,
        reconcile::<K>,
        error_policy::<K>,
        ctx.clone(),
    )
    .await;
    Ok(())
}

/// Requeue policy for errors [`reconcile`] returns (Kubernetes API failures).
pub fn error_policy<K: QueryResource>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    requeue_after_error(
        &object_key(&*obj),
        K::DESCRIPTOR.kind,
        &obj.name_any(),
        error,
        &ctx,
    )
}

/// Whether a query with this stored status must run now; see the module documentation.
pub fn decide<R>(
    status: Option<&QueryStatus<R>>,
    generation: Option<i64>,
    interval: Option<Duration>,
    now: jiff::Timestamp,
) -> Due {
    let Some(s) = status else { return Due::Run };
    if s.observed_generation != generation {
        return Due::Run;
    }
    match s.state {
        None | Some(QueryState::Pending | QueryState::Querying | QueryState::Paused) => Due::Run,
        Some(QueryState::Failed) if is_true(&s.conditions, "Stalled") => Due::Idle,
        Some(QueryState::Failed) if is_true(&s.conditions, "Reconciling") => Due::Run,
        Some(QueryState::Queried | QueryState::Failed) => {
            periodic_due(interval, s.last_execution_time.as_ref(), now)
        }
    }
}

/// `resultCount` of a result: array length, 0 for `null`, 1 otherwise; for `untyped` results an
/// object's array under `items`, `data`, `results` or `content` is counted instead.
pub fn result_count(value: &Value, untyped: bool) -> i64 {
    let len = |items: &Vec<Value>| i64::try_from(items.len()).unwrap_or(i64::MAX);
    match value {
        Value::Null => 0,
        Value::Array(items) => len(items),
        Value::Object(map) if untyped => ["items", "data", "results", "content"]
            .iter()
            .find_map(|k| match map.get(*k) {
                Some(Value::Array(items)) => Some(len(items)),
                _ => None,
            })
            .unwrap_or(1),
        _ => 1,
    }
}

/// Redaction for typed results: secret-looking string values become `<redacted>`, other secret
/// values `null` (so that typed numeric or object fields still deserialize).
pub fn redact_results(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if crate::redact::is_secret_key(key) {
                    *v = match v {
                        Value::Null => Value::Null,
                        Value::String(_) => Value::String(crate::redact::REDACTED.to_owned()),
                        _ => Value::Null,
                    };
                } else {
                    redact_results(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_results),
        _ => {}
    }
}

/// How a failed run continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not a failure.
    Fine,
    /// Retried with backoff (`Reconciling=True`).
    Retrying,
    /// Runs again after the interval (`Ready=False` only).
    Scheduled,
    /// Waits for a spec change (`Stalled=True`).
    Stalled,
}

/// What a reconcile concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    state: QueryState,
    reason: &'static str,
    message: String,
    mode: Mode,
}

impl Outcome {
    fn new(state: QueryState, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            state,
            reason,
            message: message.into(),
            mode: Mode::Fine,
        }
    }

    fn failed(error: &Error, mode: Mode) -> Self {
        Self {
            state: QueryState::Failed,
            reason: error.reason(),
            message: error.to_string(),
            mode,
        }
    }

    fn flags(&self) -> Kstatus<'_> {
        Kstatus {
            ready: self.state == QueryState::Queried,
            reconciling: matches!(self.state, QueryState::Pending | QueryState::Querying)
                || (self.state == QueryState::Failed && self.mode == Mode::Retrying),
            stalled: self.state == QueryState::Failed && self.mode == Mode::Stalled,
            reason: self.reason,
            message: &self.message,
        }
    }
}

/// Reconciles one Query CR; see the module documentation.
///
/// # Errors
///
/// Only Kubernetes API failures (status patches); backend failures are recorded in the status.
pub async fn reconcile<K: QueryResource>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = obj.namespace().unwrap_or_default();
    let target = obj.controls().target.clone();
    crate::auth::with_target(target.as_deref(), &namespace, reconcile_scoped(obj, ctx)).await
}

#[tracing::instrument(skip_all, fields(
    kind = K::DESCRIPTOR.kind,
    namespace = obj.namespace().unwrap_or_default(),
    object = obj.name_any(),
    generation = obj.meta().generation.unwrap_or_default(),
))]
async fn reconcile_scoped<K: QueryResource>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action> {
    let key = object_key(&*obj);
    if obj.meta().deletion_timestamp.is_some() {
        ctx.backoff.reset(&key);
        return Ok(Action::await_change());
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let current = obj.query_status();
    let controls = obj.controls();
    let interval = match controls.interval() {
        Ok(interval) => run_interval(interval),
        Err(e) => {
            let next = current.cloned().unwrap_or_default();
            write(
                &api,
                &obj,
                &ctx,
                current,
                next,
                &Outcome::failed(&e, Mode::Stalled),
            )
            .await?;
            return Ok(Action::await_change());
        }
    };
    if controls.is_paused() {
        let mut next = current.cloned().unwrap_or_default();
        next.next_execution_time = None;
        let outcome = Outcome::new(QueryState::Paused, "Paused", "paused; nothing is sent");
        write(&api, &obj, &ctx, current, next, &outcome).await?;
        return Ok(Action::await_change());
    }
    match decide(current, obj.meta().generation, interval, jiff::Timestamp::now()) {
        Due::Idle => Ok(Action::await_change()),
        Due::Wait(delay) => Ok(Action::requeue(delay)),
        Due::Run => execute(&api, &obj, &ctx, interval).await,
    }
}

/// Sends the `GET` and records its outcome.
async fn execute<K: QueryResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    interval: Option<Duration>,
) -> Result<Action> {
    let desc = K::DESCRIPTOR;
    let key = object_key(obj);
    let generation = obj.meta().generation;
    let mut current = obj.query_status().cloned();
    let prepared = async {
        let spec = serde_json::to_value(obj.spec()).map_err(|source| Error::Serialization {
            what: "custom resource spec",
            source,
        })?;
        let namespace = obj.namespace().unwrap_or_default();
        let base = base_url(ctx, obj.controls().target.as_deref(), &namespace).await?;
        let url = bound_url(&base, &desc.operation, desc.path_params, &spec)?;
        Ok::<_, Error>((base, url))
    }
    .await;
    let (base, url) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            warn!(error = %e, "query cannot be built; waiting for a spec change");
            let next = current.clone().unwrap_or_default();
            write(
                api,
                obj,
                ctx,
                current.as_ref(),
                next,
                &Outcome::failed(&e, Mode::Stalled),
            )
            .await?;
            return Ok(Action::await_change());
        }
    };
    let first_of_generation = current
        .as_ref()
        .is_none_or(|s| s.observed_generation != generation || s.state.is_none());
    if first_of_generation {
        let querying = current.clone().unwrap_or_default();
        let outcome = Outcome::new(QueryState::Querying, "Querying", format!("GET {url}"));
        current = Some(write(api, obj, ctx, current.as_ref(), querying, &outcome).await?);
    }

    let answer = ctx.backend.send_raw(Method::Get, &url, None).await;
    let mut next = current.clone().unwrap_or_default();
    let finished = status::now();
    next.last_execution_time = Some(finished.clone());
    next.execution_count = Some(next.execution_count.unwrap_or(0).saturating_add(1));
    next.next_execution_time = interval.map(|i| next_time(&finished, i));
    let mut response = TargetResponse {
        endpoint: base,
        ..TargetResponse::default()
    };
    let e = match answer {
        Err(e) => {
            response.error = Some(e.to_string());
            e
        }
        Ok(resp) if !resp.is_success() => {
            let body = crate::client::decode_body(&resp.bytes).unwrap_or(Value::Null);
            let message = error_message(resp.status, &body);
            response.status_code = Some(i32::from(resp.status));
            response.error = Some(message.clone());
            Error::from_status_retry_after("GET", &url, resp.status, message, resp.retry_after)
        }
        Ok(resp) => {
            response.status_code = Some(i32::from(resp.status));
            response.success = true;
            let outcome = record_results::<K>(&mut next, &mut response, &interpret_body(&resp.bytes));
            next.responses = vec![response];
            if outcome.state == QueryState::Queried {
                next.last_query_time = Some(finished);
                ctx.backoff.reset(&key);
                info!(results = next.result_count, "query succeeded");
            }
            write(api, obj, ctx, current.as_ref(), next, &outcome).await?;
            return Ok(after_run(interval));
        }
    };
    next.responses = vec![response];
    if e.is_retryable() {
        let delay = ctx.backoff.next_delay_after(&key, interval, e.retry_after());
        warn!(error = %e, label = e.metric_label(), retry_in = ?delay, "query failed; will retry");
        if let Some(last) = &next.last_execution_time
            && interval.is_some()
        {
            next.next_execution_time = Some(next_time(last, delay));
        }
        let mut outcome = Outcome::failed(&e, Mode::Retrying);
        outcome.message.push_str(&retry_note(&e, delay));
        write(api, obj, ctx, current.as_ref(), next, &outcome).await?;
        return Ok(Action::requeue(delay));
    }
    warn!(error = %e, label = e.metric_label(), "query failed");
    ctx.backoff.reset(&key);
    let mode = if interval.is_some() {
        Mode::Scheduled
    } else {
        Mode::Stalled
    };
    write(api, obj, ctx, current.as_ref(), next, &Outcome::failed(&e, mode)).await?;
    Ok(after_run(interval))
}

/// Records a 2xx body in `next` (results, count) and `response` (data when there are no results).
fn record_results<K: QueryResource>(
    next: &mut QueryStatus<K::Results>,
    response: &mut TargetResponse,
    body: &Body,
) -> Outcome {
    let kind = K::DESCRIPTOR.kind;
    let untyped = TypeId::of::<K::Results>() == TypeId::of::<Value>();
    let queried = |message: String| Outcome::new(QueryState::Queried, "Queried", message);
    match body {
        Body::Empty => {
            next.results = None;
            next.result_count = Some(0);
            queried("the backend answered with an empty body".to_owned())
        }
        Body::Text(text) => match serde_json::from_value::<K::Results>(Value::String(text.clone())) {
            Ok(results) => {
                next.results = Some(results);
                next.result_count = Some(1);
                queried("the backend answered with text; kept as the result".to_owned())
            }
            Err(_) => {
                next.results = None;
                next.result_count = None;
                response.data = Some(Value::String(text.clone()));
                queried(format!(
                    "the backend answered with non-JSON text ({} bytes); kept in status.responses[0].data",
                    text.len()
                ))
            }
        },
        Body::Json(value) => {
            let mut redacted = value.clone();
            redact_results(&mut redacted);
            let size = serialized_len(&redacted);
            if size > MAX_RESULTS_BYTES {
                response.data = None;
                return Outcome {
                    state: QueryState::Failed,
                    reason: "ResultsTooLarge",
                    message: format!(
                        "the results are {size} bytes, more than the {MAX_RESULTS_BYTES} bytes a status can hold; narrow the query"
                    ),
                    mode: Mode::Scheduled,
                };
            }
            let count = result_count(&redacted, untyped);
            match serde_json::from_value::<K::Results>(redacted) {
                Ok(results) => {
                    next.results = Some(results);
                    next.result_count = Some(count);
                    queried(format!("{count} result(s)"))
                }
                Err(e) => {
                    response.data = status_data(body);
                    Outcome {
                        state: QueryState::Failed,
                        reason: "BadBackendResponse",
                        message: format!("the response does not match the {kind} results schema: {e}"),
                        mode: Mode::Scheduled,
                    }
                }
            }
        }
    }
}

/// Stamps outcome, generation and conditions on `next`, writes it when it differs from `current`
/// and publishes an Event when the state changed. Returns the status as written.
async fn write<K: QueryResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    current: Option<&QueryStatus<K::Results>>,
    mut next: QueryStatus<K::Results>,
    outcome: &Outcome,
) -> Result<QueryStatus<K::Results>> {
    let generation = obj.meta().generation;
    next.state = Some(outcome.state);
    next.message = Some(outcome.message.clone());
    next.observed_generation = generation;
    next.conditions = kstatus_conditions(&outcome.flags(), generation, &next.conditions, &status::now());
    if let Some(patch) = merge_patch_of(current, &next)? {
        patch_status(api, ctx, &obj.name_any(), patch, None).await?;
    }
    if current.and_then(|s| s.state) != Some(outcome.state) {
        let type_ = match outcome.state {
            QueryState::Failed => EventType::Warning,
            _ => EventType::Normal,
        };
        publish_event(obj, ctx, type_, outcome.reason, &outcome.message).await;
    }
    Ok(next)
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
