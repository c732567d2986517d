//! The generic Action reconciler: one `POST`/`PUT` per spec generation (or every `spec.executionInterval`), sent at most once.
//!
//! # At most once per generation
//!
//! 1. [`decide`] (pure) reads the stored status: a new generation (or no state) runs; `Executing`
//!    for the current generation means a run was interrupted (below); `Completed` and `Failed`
//!    wait for a spec change or, with `spec.executionInterval`, for the interval to pass since
//!    `lastExecutionTime`.
//! 2. Everything that can fail without touching the backend is done first: the URL, the body, the
//!    payload bytes (`spec.data`, a ConfigMap or Secret key, `spec.dataURL`). A failure here is
//!    recorded as `Failed`; nothing was sent, so a retryable one (missing ConfigMap/Secret, Kubernetes
//!    or `dataURL` errors) is retried with backoff (`Reconciling=True`), a terminal one (bad base64,
//!    no payload source) waits for a spec change (`Stalled=True`).
//! 3. **Claim**: the status is patched to `Executing` with `executedAt` and `observedGeneration`.
//!    This patch (and every status write that follows from a decision) carries the
//!    `resourceVersion` of the object the decision was made on, so the API server rejects it with
//!    `409` if the object changed since (a stale cache, another writer); the reconcile is then
//!    retried on fresh data. Only after the claim is stored is the request sent.
//! 4. The outcome is written: `Completed` (2xx) or `Failed`, with `result`, `responses`,
//!    `lastExecutionTime`, `executionCount`, `completedAt`. This write has no precondition (the run
//!    is ours). If it fails, the outcome is kept in memory (one entry per object, dropped once
//!    written or when the object is deleted) and written by the next reconcile.
//!
//! On (re)start, a CR whose status says `Executing` for its current generation and whose outcome
//! this process does not know was interrupted mid-request: it is **not** sent again but marked
//! `Failed` with a message saying the outcome is unknown because the operator stopped during the
//! request.
//!
//! **Retry rule.** A failed run is retried for the same generation only if nothing reached the
//! backend: the failures of step 2, and connection failures (refused, DNS, TLS, connect timeout)
//! when sending. Any answer (including 5xx and 429), a timeout after connecting, or a broken
//! connection counts as sent: `Failed`, not retried until the spec changes (or the interval
//! passes). To run an Action again, change its spec.
//!
//! # Request
//!
//! Method from the descriptor; path parameters and query parameters from the spec (query
//! parameters always in the query string); body per [`ActionBody`]: `Json` (object of the set
//! fields), `JsonField` (one field's value; no body when unset), `Form` (urlencoded), `OctetStream`
//! (the payload bytes, `Content-Type` = `spec.contentType` or `application/octet-stream`) and
//! `Multipart` (a `multipart/form-data` body, [`crate::body::multipart`]: the payload as the file
//! part plus a text part per set field).
//!
//! `spec.paused: true` → state `Paused`, nothing sent. Conditions follow kstatus like Resources;
//! Events on state changes; no status write when nothing changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::Value;
use tracing::{info, warn};

use crate::body::{self as encode, Part};
use crate::context::{Context, retry_note};
use crate::error::{Error, Result};
use crate::http::{Method, RequestBody, bound_url, error_message};
use crate::reconciler::{
    Due, after_run, base_url, interpret_body, next_time, object_key, patch_status, periodic_due,
    publish_event, requeue_after_error, run_interval, status_data,
};
use crate::resource::ControllerFn;
use crate::run_status::{ActionResult, ActionState, ActionStatus, TargetResponse};
use crate::status::{self, Kstatus, is_true, kstatus_conditions, merge_patch_of};
use crate::traits::{ActionBody, ActionResource};

/// The controller entry point for kind `K`.
pub fn controller_fn<K: ActionResource>() -> ControllerFn {
    |ctx| Box::pin(run::<K>(ctx))
}

/// State of one Action controller: the shared context plus outcomes not yet recorded.
#[derive(Debug)]
pub struct ActionContext {
    /// The operator's shared context.
    pub ctx: Arc<Context>,
    /// Outcomes of finished runs whose status write failed, by object key (at most one per object).
    unrecorded: Mutex<HashMap<String, ActionStatus>>,
}

impl ActionContext {
    /// A controller state over `ctx` that knows no outcomes yet (as after a restart).
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            unrecorded: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ActionStatus>> {
        self.unrecorded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, key: String, status: ActionStatus) {
        self.lock().insert(key, status);
    }

    fn take(&self, key: &str) -> Option<ActionStatus> {
        self.lock().remove(key)
    }

    /// How many outcomes wait to be recorded (for tests and metrics).
    pub fn unrecorded(&self) -> usize {
        self.lock().len()
    }
}

/// Runs the controller of Action kind `K` until `ctx.shutdown` flips.
///
/// # Errors
///
/// None today; the signature leaves room for startup checks.
pub async fn run<K: ActionResource>(ctx: Arc<Context>) -> Result<()> {
    let kind = K::DESCRIPTOR.kind;
    let controller = crate::reconciler::controller::<K>(kind, &ctx);
    let state = Arc::new(ActionContext::new(ctx.clone()));
    crate::reconciler::drive(controller, kind, &ctx, reconcile::<K>, error_policy::<K>, state).await;
    Ok(())
}

/// Requeue policy for errors [`reconcile`] returns (Kubernetes API failures).
pub fn error_policy<K: ActionResource>(obj: Arc<K>, error: &Error, actx: Arc<ActionContext>) -> Action {
    requeue_after_error(
        &object_key(&*obj),
        K::DESCRIPTOR.kind,
        &obj.name_any(),
        error,
        &actx.ctx,
    )
}

/// What to do with an Action, from its stored status alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the request (after the claim).
    Run,
    /// The status says a request was in flight for this generation: mark it failed, never resend.
    Interrupted,
    /// Periodic and not yet due: look again after this long.
    Wait(Duration),
    /// Nothing to do until the spec changes.
    Idle,
}

/// Whether an action with this stored status must run now; see the module documentation.
pub fn decide(
    status: Option<&ActionStatus>,
    generation: Option<i64>,
    interval: Option<Duration>,
    now: jiff::Timestamp,
) -> Decision {
    let Some(s) = status else {
        return Decision::Run;
    };
    if s.observed_generation != generation {
        return Decision::Run;
    }
    let periodic = || match periodic_due(interval, s.last_execution_time.as_ref(), now) {
        Due::Run => Decision::Run,
        Due::Wait(delay) => Decision::Wait(delay),
        Due::Idle => Decision::Idle,
    };
    match s.state {
        // Pending and Paused for this generation: nothing was sent for it.
        None | Some(ActionState::Pending | ActionState::Paused) => Decision::Run,
        Some(ActionState::Executing) => Decision::Interrupted,
        Some(ActionState::Failed) if is_true(&s.conditions, "Stalled") => Decision::Idle,
        // Failed before anything reached the backend: a retry was scheduled.
        Some(ActionState::Failed) if is_true(&s.conditions, "Reconciling") => Decision::Run,
        Some(ActionState::Completed | ActionState::Failed) => periodic(),
    }
}

/// Whether a send error guarantees that the backend never saw the request: the connection could
/// not be opened (refused, DNS, TLS, connect timeout).
pub fn nothing_sent(error: &Error) -> bool {
    match error {
        Error::BackendUnreachable { source, .. } => source.is_connect(),
        Error::BackendTimeout { connect, .. } => *connect,
        _ => false,
    }
}

/// How a failed run continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Not a failure.
    Fine,
    /// Retried with backoff: nothing reached the backend (`Reconciling=True`).
    Retrying,
    /// Runs again after the interval.
    Scheduled,
    /// Waits for a spec change (`Stalled=True`).
    Stalled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    state: ActionState,
    reason: &'static str,
    message: String,
    mode: Mode,
}

impl Outcome {
    fn new(state: ActionState, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            state,
            reason,
            message: message.into(),
            mode: Mode::Fine,
        }
    }

    fn failed(reason: &'static str, message: impl Into<String>, mode: Mode) -> Self {
        Self {
            state: ActionState::Failed,
            reason,
            message: message.into(),
            mode,
        }
    }

    fn flags(&self) -> Kstatus<'_> {
        Kstatus {
            ready: self.state == ActionState::Completed,
            reconciling: matches!(self.state, ActionState::Pending | ActionState::Executing)
                || (self.state == ActionState::Failed && self.mode == Mode::Retrying),
            stalled: self.state == ActionState::Failed && self.mode == Mode::Stalled,
            reason: self.reason,
            message: &self.message,
        }
    }
}

/// After a sent failure: the next periodic run, or a spec change.
fn sent_failure_mode(interval: Option<Duration>) -> Mode {
    if interval.is_some() {
        Mode::Scheduled
    } else {
        Mode::Stalled
    }
}

/// Reconciles one Action CR; see the module documentation.
///
/// # Errors
///
/// Kubernetes API failures (status patches, including `409` when a precondition failed); backend
/// failures are recorded in the status.
pub async fn reconcile<K: ActionResource>(obj: Arc<K>, actx: Arc<ActionContext>) -> Result<Action> {
    let namespace = obj.namespace().unwrap_or_default();
    let target = obj.controls().target.clone();
    crate::auth::with_target(target.as_deref(), &namespace, reconcile_scoped(obj, actx)).await
}

#[tracing::instrument(skip_all, fields(
    kind = K::DESCRIPTOR.kind,
    namespace = obj.namespace().unwrap_or_default(),
    object = obj.name_any(),
    generation = obj.meta().generation.unwrap_or_default(),
))]
async fn reconcile_scoped<K: ActionResource>(obj: Arc<K>, actx: Arc<ActionContext>) -> Result<Action> {
    let ctx = &actx.ctx;
    let key = object_key(&*obj);
    if obj.meta().deletion_timestamp.is_some() {
        ctx.backoff.reset(&key);
        actx.take(&key);
        return Ok(Action::await_change());
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let current = obj.status();
    let version = obj.resource_version();
    let version = version.as_deref();

    if let Some(known) = actx.take(&key) {
        let same_run = current.is_some_and(|s| {
            s.state == Some(ActionState::Executing)
                && s.executed_at == known.executed_at
                && s.observed_generation == known.observed_generation
        });
        if same_run {
            info!("recording the outcome of a run whose status write failed");
            if let Err(e) = commit(&api, &obj, ctx, current, &known, version).await {
                actx.remember(key, known);
                return Err(e);
            }
            let retrying = is_true(&known.conditions, "Reconciling");
            let interval = run_interval(obj.controls().interval().ok().flatten());
            return Ok(if retrying {
                Action::requeue(ctx.backoff.next_delay(&key, interval))
            } else {
                after_run(interval)
            });
        }
    }

    let controls = obj.controls();
    let interval = match controls.interval() {
        Ok(interval) => run_interval(interval),
        Err(e) => {
            let outcome = Outcome::failed(e.reason(), e.to_string(), Mode::Stalled);
            let next = stamp(&*obj, current.cloned().unwrap_or_default(), &outcome);
            commit(&api, &obj, ctx, current, &next, version).await?;
            return Ok(Action::await_change());
        }
    };
    let decision = decide(current, obj.meta().generation, interval, jiff::Timestamp::now());
    if decision == Decision::Interrupted {
        return interrupted(&api, &obj, ctx, interval, version).await;
    }
    if controls.is_paused() {
        let mut next = current.cloned().unwrap_or_default();
        next.next_execution_time = None;
        let outcome = Outcome::new(ActionState::Paused, "Paused", "paused; nothing is sent");
        let next = stamp(&*obj, next, &outcome);
        commit(&api, &obj, ctx, current, &next, version).await?;
        return Ok(Action::await_change());
    }
    match decision {
        Decision::Idle | Decision::Interrupted => Ok(Action::await_change()),
        Decision::Wait(delay) => Ok(Action::requeue(delay)),
        Decision::Run => execute(&api, &obj, &actx, interval, version).await,
    }
}

/// Marks a run that was in flight when the operator stopped as failed, without resending it.
async fn interrupted<K: ActionResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    interval: Option<Duration>,
    version: Option<&str>,
) -> Result<Action> {
    let current = obj.status();
    let mut next = current.cloned().unwrap_or_default();
    let started = next.executed_at.clone().unwrap_or_else(status::now);
    let error = "outcome unknown: the operator stopped while the request was in flight";
    warn!(started = %started.0, "run interrupted by an operator stop; not resending");
    next.result = Some(ActionResult {
        success: false,
        status_code: None,
        data: None,
        error: Some(error.to_owned()),
    });
    next.responses = vec![TargetResponse {
        endpoint: ctx
            .endpoints
            .resolve(obj.controls().target.as_deref())
            .unwrap_or_default(),
        success: false,
        status_code: None,
        data: None,
        error: Some(error.to_owned()),
    }];
    next.success_count = Some(0);
    next.total_endpoints = Some(1);
    next.last_execution_time = Some(started.clone());
    next.execution_count = Some(next.execution_count.unwrap_or(0).saturating_add(1));
    next.next_execution_time = interval.map(|i| next_time(&started, i));
    let message = format!(
        "the request started at {} has an unknown outcome because the operator stopped during the request; \
         it is not sent again (at most once per generation){}",
        started.0,
        if interval.is_some() {
            "; the next run follows the interval"
        } else {
            "; change the spec to run it again"
        }
    );
    let outcome = Outcome::failed("OutcomeUnknown", message, sent_failure_mode(interval));
    let next = stamp(obj, next, &outcome);
    commit(api, obj, ctx, current, &next, version).await?;
    Ok(after_run(interval))
}

/// A request ready to send.
struct Prepared {
    base: String,
    url: String,
    method: Method,
    body: Option<PreparedBody>,
}

enum PreparedBody {
    Json(Value),
    Bytes { content_type: String, bytes: Vec<u8> },
}

/// Builds the request from the spec (and the payload): no backend request is made here.
async fn prepare<K: ActionResource>(obj: &K, ctx: &Context) -> Result<Prepared> {
    let desc = K::DESCRIPTOR;
    let spec = serde_json::to_value(obj.spec()).map_err(|source| Error::Serialization {
        what: "custom resource spec",
        source,
    })?;
    let namespace = obj.namespace().unwrap_or_default();
    let base = base_url(ctx, obj.controls().target.as_deref(), &namespace).await?;
    let url = bound_url(&base, &desc.operation, desc.path_params, &spec)?;
    let body = match desc.body {
        ActionBody::None => None,
        ActionBody::Json { fields } => Some(PreparedBody::Json(encode::json_object(&spec, fields))),
        ActionBody::JsonField { field } => spec
            .get(field)
            .filter(|v| !v.is_null())
            .map(|v| PreparedBody::Json(v.clone())),
        ActionBody::Form { fields } => Some(PreparedBody::Bytes {
            content_type: "application/x-www-form-urlencoded".to_owned(),
            bytes: encode::form(&spec, fields).into_bytes(),
        }),
        ActionBody::OctetStream => {
            let payload = crate::payload::resolve(obj.payload(), &namespace, ctx).await?;
            Some(PreparedBody::Bytes {
                content_type: payload.content_type,
                bytes: payload.bytes,
            })
        }
        ActionBody::Multipart { file_part, fields } => {
            let payload = crate::payload::resolve(obj.payload(), &namespace, ctx).await?;
            let texts: Vec<(&str, String)> = fields
                .iter()
                .filter_map(|f| {
                    spec.get(*f)
                        .filter(|v| !v.is_null())
                        .and_then(encode::field_text)
                        .map(|t| (*f, t))
                })
                .collect();
            let mut parts = vec![Part {
                name: file_part,
                filename: Some(&payload.filename),
                content_type: Some(&payload.content_type),
                data: &payload.bytes,
            }];
            parts.extend(texts.iter().map(|(name, text)| Part {
                name,
                filename: None,
                content_type: None,
                data: text.as_bytes(),
            }));
            let encoded = encode::multipart(&parts);
            Some(PreparedBody::Bytes {
                content_type: encoded.content_type,
                bytes: encoded.body,
            })
        }
    };
    Ok(Prepared {
        base,
        url,
        method: Method::from(desc.method),
        body,
    })
}

/// Prepares, claims, sends and records one run.
async fn execute<K: ActionResource>(
    api: &Api<K>,
    obj: &K,
    actx: &ActionContext,
    interval: Option<Duration>,
    version: Option<&str>,
) -> Result<Action> {
    let ctx = &actx.ctx;
    let key = object_key(obj);
    let current = obj.status();
    let prepared = match prepare(obj, ctx).await {
        Ok(prepared) => prepared,
        Err(e) => {
            // Nothing reached the backend: retryable failures are retried.
            let (mode, action, note) = if e.is_retryable() {
                let delay = ctx.backoff.next_delay_after(&key, interval, e.retry_after());
                warn!(error = %e, retry_in = ?delay, "action cannot be prepared; nothing sent; will retry");
                let note = format!("; nothing was sent, will retry{}", retry_note(&e, delay));
                (Mode::Retrying, Action::requeue(delay), note)
            } else {
                warn!(error = %e, "action cannot be prepared; nothing sent; waiting for a spec change");
                (Mode::Stalled, Action::await_change(), String::new())
            };
            let outcome = Outcome::failed(e.reason(), format!("{e}{note}"), mode);
            let next = stamp(obj, current.cloned().unwrap_or_default(), &outcome);
            commit(api, obj, ctx, current, &next, version).await?;
            return Ok(action);
        }
    };
    let Prepared {
        base,
        url,
        method,
        body,
    } = prepared;
    let what = format!("{} {url}", method.as_str());

    // Claim the run (conditional on the version the decision saw), then send.
    let mut claim = current.cloned().unwrap_or_default();
    claim.executed_at = Some(status::now());
    claim.next_execution_time = None;
    let claim = stamp(
        obj,
        claim,
        &Outcome::new(ActionState::Executing, "Executing", format!("sending {what}")),
    );
    commit(api, obj, ctx, current, &claim, version).await?;
    info!(%what, "sending action request");
    let sent = match body {
        None => ctx.backend.send_raw(method, &url, None).await,
        Some(PreparedBody::Json(value)) => {
            ctx.backend
                .send_raw(method, &url, Some(RequestBody::Json(&value)))
                .await
        }
        Some(PreparedBody::Bytes { content_type, bytes }) => {
            ctx.backend
                .send_raw(method, &url, Some(RequestBody::Bytes { content_type, bytes }))
                .await
        }
    };

    let mut next = claim.clone();
    let finished = status::now();
    let mut response = TargetResponse {
        endpoint: base,
        ..TargetResponse::default()
    };
    next.total_endpoints = Some(1);
    next.success_count = Some(0);
    let finish = |next: &mut ActionStatus| {
        next.last_execution_time = Some(finished.clone());
        next.execution_count = Some(next.execution_count.unwrap_or(0).saturating_add(1));
        next.next_execution_time = interval.map(|i| next_time(&finished, i));
    };
    let (outcome, action) = match sent {
        Err(e) if nothing_sent(&e) => {
            let delay = ctx.backoff.next_delay_after(&key, interval, e.retry_after());
            warn!(error = %e, retry_in = ?delay, "action request not sent; will retry");
            response.error = Some(e.to_string());
            let message = format!("{e}; nothing was sent, will retry{}", retry_note(&e, delay));
            (
                Outcome::failed(e.reason(), message, Mode::Retrying),
                Action::requeue(delay),
            )
        }
        Err(e) => {
            warn!(error = %e, "action request failed after it may have reached the backend; not resending");
            ctx.backoff.reset(&key);
            finish(&mut next);
            response.error = Some(e.to_string());
            next.result = Some(ActionResult {
                success: false,
                status_code: None,
                data: None,
                error: Some(e.to_string()),
            });
            let message = format!(
                "{e}; the request may have reached the backend, so it is not sent again (at most once per generation)"
            );
            (
                Outcome::failed(e.reason(), message, sent_failure_mode(interval)),
                after_run(interval),
            )
        }
        Ok(resp) => {
            ctx.backoff.reset(&key);
            finish(&mut next);
            let body = interpret_body(&resp.bytes);
            let data = status_data(&body);
            let success = resp.is_success();
            let code = Some(i32::from(resp.status));
            let error = (!success).then(|| {
                let json = crate::client::decode_body(&resp.bytes).unwrap_or(Value::Null);
                error_message(resp.status, &json)
            });
            response.success = success;
            response.status_code = code;
            response.data.clone_from(&data);
            response.error.clone_from(&error);
            next.result = Some(ActionResult {
                success,
                status_code: code,
                data,
                error: error.clone(),
            });
            if success {
                next.success_count = Some(1);
                next.completed_at = Some(finished.clone());
                info!(status = resp.status, "action completed");
                (
                    Outcome::new(
                        ActionState::Completed,
                        "Completed",
                        format!("{what} answered {}", resp.status),
                    ),
                    after_run(interval),
                )
            } else {
                let e = Error::from_status_retry_after(
                    method.as_str(),
                    &url,
                    resp.status,
                    error.unwrap_or_default(),
                    resp.retry_after,
                );
                warn!(error = %e, "action rejected");
                let message = if e.is_retryable() {
                    format!(
                        "{e}; the request reached the backend, so it is not sent again (at most once per generation)"
                    )
                } else {
                    e.to_string()
                };
                (
                    Outcome::failed(e.reason(), message, sent_failure_mode(interval)),
                    after_run(interval),
                )
            }
        }
    };
    next.responses = vec![response];
    let next = stamp(obj, next, &outcome);
    if let Err(e) = commit(api, obj, ctx, Some(&claim), &next, None).await {
        warn!(error = %e, "could not record the action's outcome; keeping it to record later");
        actx.remember(key, next);
        return Err(e);
    }
    Ok(action)
}

/// Stamps outcome, generation and conditions on `next`.
fn stamp<K: Resource>(obj: &K, mut next: ActionStatus, outcome: &Outcome) -> ActionStatus {
    let generation = obj.meta().generation;
    next.state = Some(outcome.state);
    next.message = Some(outcome.message.clone());
    next.observed_generation = generation;
    next.conditions = kstatus_conditions(&outcome.flags(), generation, &next.conditions, &status::now());
    next
}

/// Writes `next` when it differs from `current` (with `precondition` as the required
/// `resourceVersion`), and publishes an Event when the state changed.
async fn commit<K: ActionResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    current: Option<&ActionStatus>,
    next: &ActionStatus,
    precondition: Option<&str>,
) -> Result<()> {
    if let Some(patch) = merge_patch_of(current, next)? {
        patch_status(api, ctx, &obj.name_any(), patch, precondition).await?;
    }
    if current.and_then(|s| s.state) != next.state {
        let type_ = match next.state {
            Some(ActionState::Failed) => EventType::Warning,
            _ => EventType::Normal,
        };
        let reason = next
            .conditions
            .first()
            .map_or("Reconciled", |c| c.reason.as_str());
        publish_event(
            obj,
            ctx,
            type_,
            reason,
            next.message.as_deref().unwrap_or_default(),
        )
        .await;
    }
    Ok(())
}

#[cfg(test)]
#[path = "action_tests.rs"]
mod tests;
