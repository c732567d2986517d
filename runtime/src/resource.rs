//! The generic Resource reconciler: keeps one backend object per CR in sync (create, read, drift correction, delete).
//!
//! # Expected flow
//!
//! 1. A user creates a CR. The reconciler resolves the object id (`spec.<id_field>`, else
//!    `status.externalID`), `GET`s the item path and, on `404` or when no id is known, `POST`s the
//!    desired body (the spec restricted to [`ResourceDescriptor::body_fields`], without read-only
//!    fields) to the create path. The id in the response (`<id_field>`, else `id`/`ID`/`Id`) is recorded
//!    as `status.externalID` with `createdByController: true`.
//! 2. Only **after** that first successful create (or an adoption whose `onDelete` needs cleanup),
//!    and only when the delete policy has work to do, the finalizer `<group>/finalizer` is added (JSON
//!    patch guarded by a `test` op).
//! 3. Later reconciles (spec change, or every `spec.executionInterval`, default 30s) `GET` the object
//!    and compare it with the desired body ([`crate::drift`]). Drift is corrected with `PATCH`
//!    (desired body, merge patch), `PUT` or `POST` ([`drift::merge_for_update`] of observed and desired)
//!    as the descriptor says; `driftDetectedCount` counts drift episodes.
//! 4. The user deletes the CR. If our finalizer is present, `spec.onDelete` is applied (`DELETE`,
//!    where `2xx` and `404` count as done, or `Restore`, or nothing); then the finalizer is removed
//!    with a JSON patch whose `test` op makes it race-safe.
//!
//! # Lifecycle controls (`spec.readOnly`, `spec.paused`, `spec.onDelete`)
//!
//! - **readOnly**: only `GET`. State `Observed` (the object in `status.response`, drift reported in
//!   `driftDetected` but never corrected; `Ready=True`) or `NotFound` (`404`; all conditions `False`).
//!   Never `POST`/`PUT`/`PATCH`/`DELETE`, never adds a finalizer, never records adoption; if our
//!   finalizer is already present, deleting the CR only removes it (the backend is never touched).
//!   Without a known id it is a terminal spec error.
//! - **paused**: `GET` and drift bookkeeping (`driftDetected`, `driftDetectedCount`) only; nothing is
//!   created or corrected. State `Paused`, `Ready`/`Reconciling`/`Stalled` all `False` with reason
//!   `Paused`. Deleting a paused CR still applies `onDelete` (pausing stops sync, not cleanup: a user
//!   who wants to keep the object sets `onDelete: Orphan`).
//! - **Adoption**: when the spec names the id and the object exists but the operator did not create
//!   it, the object as first seen is stored in `status.originalState` (as-is, so that it can be
//!   restored; it is never logged) with `status.adoptedAt`, once. Not while paused or read-only.
//! - **onDelete** ([`OnDeletePolicy`]; default `Delete` for objects the operator created, `Orphan`
//!   otherwise): `Delete` → `DELETE`; `Orphan` → nothing; `Restore` → `originalState` (minus
//!   read-only fields) sent with the kind's update method, `Orphan` when there is none. The finalizer
//!   is added whenever the policy needs backend work on delete, including after adoption.
//! - **Force a reconcile**: changing the annotation `<group>/reconcile-requested-at` (any value)
//!   triggers one at once ([`trigger_hash`]).
//! - **Events**: an `events.k8s.io/v1` Event (reporter: the app name) on every state transition
//!   (`Warning` for `Failed`) and on delete cleanup (`Deleted`, `Restored`, `Orphaned`); never for a
//!   reconcile that leaves the state unchanged. Publishing failures are only logged.
//!
//! # Endpoints (`spec.target`)
//!
//! Each reconcile resolves the CR's endpoints ([`crate::endpoint`]). With one endpoint the flow
//! above runs against it. With a fan-out (`strategy: AllHealthy`) it runs against each endpoint in
//! turn: drift is compared per endpoint, writes and deletes go to every endpoint, the id learnt on
//! the first is sent in the body of creates on the others (an endpoint that assigns another id
//! fails), `status.responses` holds one entry per endpoint and `status.response` the first
//! success. The reconcile succeeds per `spec.target.fanOutSuccess` (default `All`; `Any` for
//! `readOnly`), otherwise it fails with the first endpoint failure (retryable if any is).
//! Endpoints that are not Ready or fail their health probe at that moment are skipped, including
//! at delete time: fan-out assumes replicas of one API that agree on ids.
//!
//! # Guarantees
//!
//! - **A backend object the operator did not create is never deleted** unless the CR says
//!   `onDelete: Delete` explicitly; a `readOnly` CR never deletes anything.
//! - **No status write when nothing changed**: the new status is computed from the stored one and
//!   written (JSON merge patch of the changed keys on the status subresource) only when it differs.
//!   Condition `lastTransitionTime`s and `status.lastGetTime` move only with other changes, so a
//!   steady state causes zero API-server writes.
//! - Status writes do not trigger reconciles: the watch is filtered on `metadata.generation`,
//!   `metadata.deletionTimestamp`, `metadata.finalizers` and the reconcile-request annotation
//!   ([`trigger_hash`]). Deletion still gets
//!   through (the deletion timestamp is part of the hash, whether or not the server bumps the
//!   generation), and so do finalizer edits (our own finalizer add causes exactly one extra
//!   reconcile, a `GET` that finds nothing to write).
//! - A failed backend delete never drops the finalizer: the CR stays until the delete succeeds or a
//!   human removes the finalizer.
//!
//! # Errors and requeueing
//!
//! Backend errors are recorded in the status (state `Failed`, `status.response` with the status code
//! and the backend's message) rather than returned:
//! - retryable ([`Error::is_retryable`]: network, timeout, 5xx, 408, 429, malformed JSON) →
//!   `Reconciling=True`, `Stalled=False`, requeue after a jittered exponential backoff per object
//!   (1s·2^n, capped at `min(interval, 5m)`), reset on success. A backend `Retry-After` is a floor:
//!   the delay is `max(backoff, min(Retry-After, 10m))` ([`crate::context::retry_delay`]) and the
//!   status message then ends with `; retrying in <N>s`;
//! - terminal (other 4xx, invalid spec, unusable response) → `Stalled=True`, no requeue until the CR
//!   changes ([`Action::await_change`]).
//!
//! Kubernetes API errors (status or finalizer patch) are returned and handled by [`error_policy`]:
//! `409 Conflict` is retried after 1s, anything else with the per-object backoff.
//!
//! # Caveats
//!
//! If the CR is deleted between a create and the finalizer being added, the backend object is left
//! behind (it cannot be attributed to a CR any more). Deletes are only attempted while the operator
//! runs.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::Value;
use tracing::{debug, info, instrument, warn};

use crate::context::{Context, MAX_RETRY_AFTER_DELAY, retry_note};
use crate::controls::{OnDeletePolicy, ResourceControls};
use crate::drift;
use crate::endpoint::{EndpointSet, fan_out};
use crate::error::{Error, Result};
use crate::finalizer;
use crate::http::{BackendResponse, Method, operation_url};
use crate::reconciler::{object_key as uid, publish_event};
use crate::status::{self, EndpointResponse, Phase, ResourceState, ResourceStatus};
use crate::traits::{ResourceDescriptor, RestResource, UpdateMethod};

/// Entry point of one kind's controller, monomorphised by [`controller_fn`]. Runs until shutdown.
pub type ControllerFn = fn(Arc<Context>) -> BoxFuture<'static, Result<(), Error>>;

/// The controller entry point for kind `K`.
pub fn controller_fn<K: RestResource>() -> ControllerFn {
    |ctx| Box::pin(run::<K>(ctx))
}

/// Hash of the metadata that should trigger a reconcile: generation (spec changes), deletion
/// timestamp, finalizers and the annotation `<group>/reconcile-requested-at` (any change of its value
/// forces an immediate reconcile). Status-only updates leave it unchanged.
pub fn trigger_hash<K: Resource<DynamicType = ()>>(obj: &K) -> Option<u64> {
    let meta = obj.meta();
    let mut h = DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    meta.finalizers.hash(&mut h);
    let key = reconcile_request_annotation(&K::group(&()));
    meta.annotations.as_ref().and_then(|a| a.get(&key)).hash(&mut h);
    Some(h.finish())
}

/// The annotation whose value change forces a reconcile: `<group>/reconcile-requested-at`.
pub fn reconcile_request_annotation(group: &str) -> String {
    format!("{group}/reconcile-requested-at")
}

/// Runs the controller of kind `K` until `ctx.shutdown` flips; in-flight reconciles finish first.
///
/// # Errors
///
/// None today; the signature leaves room for startup checks.
pub async fn run<K: RestResource>(ctx: Arc<Context>) -> Result<()> {
    let kind = K::DESCRIPTOR.kind;
    let controller = crate::reconciler::controller::<K>(kind, &ctx);
    let state = ctx.clone();
    crate::reconciler::drive(controller, kind, &ctx, reconcile::<K>, error_policy::<K>, state).await;
    Ok(())
}

/// Requeue policy for errors [`reconcile`] returns (Kubernetes API failures).
pub fn error_policy<K: RestResource>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    crate::reconciler::requeue_after_error(&uid(&*obj), K::DESCRIPTOR.kind, &obj.name_any(), error, &ctx)
}

/// Where our finalizer stands on an object, matched exhaustively by [`reconcile`].
struct FinalizerState {
    index: Option<usize>,
    deleting: bool,
}

/// Reconciles one CR of kind `K`; see the module documentation for the protocol. Backend
/// requests use the CR's `spec.target.authSecretRef` credentials ([`crate::auth::with_target`]).
///
/// # Errors
///
/// Only Kubernetes API failures (status or finalizer patches); backend failures are recorded in
/// the status and turned into an [`Action`].
pub async fn reconcile<K: RestResource>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action> {
    let namespace = obj.namespace().unwrap_or_default();
    let target = obj.controls().target.clone();
    crate::auth::with_target(target.as_deref(), &namespace, reconcile_scoped(obj, ctx)).await
}

#[instrument(skip_all, fields(
    kind = K::DESCRIPTOR.kind,
    namespace = obj.namespace().unwrap_or_default(),
    object = obj.name_any(),
    generation = obj.meta().generation.unwrap_or_default(),
))]
async fn reconcile_scoped<K: RestResource>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action> {
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let finalizer = ctx.app.finalizer();
    let state = FinalizerState {
        index: obj.finalizers().iter().position(|f| *f == finalizer),
        deleting: obj.meta().deletion_timestamp.is_some(),
    };
    match state {
        FinalizerState {
            index: Some(index),
            deleting: true,
        } => cleanup(&api, &obj, &ctx, index).await,
        FinalizerState {
            index: None,
            deleting: true,
        } => {
            ctx.backoff.reset(&uid(&*obj));
            Ok(Action::await_change())
        }
        FinalizerState {
            index,
            deleting: false,
        } => apply(&api, &obj, &ctx, index.is_some()).await,
    }
}

/// Create-or-update of one CR, then status, then (after the first create) the finalizer.
async fn apply<K: RestResource>(api: &Api<K>, obj: &K, ctx: &Context, has_finalizer: bool) -> Result<Action> {
    let current = obj.resource_status();
    let mut next = current.cloned().unwrap_or_default();
    let mut read = false;
    let key = uid(obj);
    let (phase, action) = match obj.controls().interval() {
        Err(e) => (Phase::failed(&e), Action::await_change()),
        Ok(interval) => match sync_object(obj, ctx, &mut next, &mut read).await {
            Ok(phase) => {
                ctx.backoff.reset(&key);
                (phase, interval.map_or_else(Action::await_change, Action::requeue))
            }
            Err(e) if e.is_retryable() => {
                let delay = ctx.backoff.next_delay_after(&key, interval, e.retry_after());
                warn!(error = %e, label = e.metric_label(), retry_in = ?delay, "sync failed; will retry");
                (retrying(&e, delay), Action::requeue(delay))
            }
            Err(e) => {
                warn!(error = %e, label = e.metric_label(), "sync failed; waiting for a spec change");
                (Phase::failed(&e), Action::await_change())
            }
        },
    };
    let written = write_status(api, obj, ctx, current, next.clone(), &phase, read).await?;
    if current.and_then(|s| s.state) != Some(phase.state) {
        let type_ = match phase.state {
            ResourceState::Failed => EventType::Warning,
            _ => EventType::Normal,
        };
        publish_event(obj, ctx, type_, phase.reason, &phase.message).await;
    }
    if needs_finalizer(obj.controls(), &next, K::DESCRIPTOR) && !has_finalizer {
        let version = written.or_else(|| obj.resource_version());
        // The watch event of this patch must not reconcile the object again (nothing the sync
        // depends on changes). It can arrive before the patch's response, so the expected
        // result is recorded first.
        let mut expected = obj.clone();
        expected
            .meta_mut()
            .finalizers
            .get_or_insert_with(Vec::new)
            .push(ctx.app.finalizer());
        ctx.own_writes.expect_echo(obj, &expected);
        if let Err(error) = finalizer::add(api, obj, &ctx.app.finalizer(), version.as_deref()).await {
            ctx.own_writes.forget(obj);
            return Err(error);
        }
    }
    Ok(action)
}

/// Whether deleting the CR will require backend work (and so our finalizer): never in read-only
/// mode; a `DELETE` of an object the operator created (unless `onDelete` says otherwise) or of an
/// adopted one with an explicit `onDelete: Delete`; a `Restore` of a recorded original state.
fn needs_finalizer(controls: &ResourceControls, status: &ResourceStatus, desc: &ResourceDescriptor) -> bool {
    if controls.is_read_only() || status.external_id.is_none() {
        return false;
    }
    let created = status.created_by_controller == Some(true);
    match controls.on_delete_policy(created) {
        OnDeletePolicy::Delete => desc.delete.is_some(),
        OnDeletePolicy::Orphan => false,
        OnDeletePolicy::Restore => desc.update.is_some() && status.original_state.is_some(),
    }
}

/// The phase of a retryable failure: [`Phase::failed`] plus [`retry_note`].
fn retrying(error: &Error, delay: Duration) -> Phase {
    let mut phase = Phase::failed(error);
    phase.message.push_str(&retry_note(error, delay));
    phase
}

/// Resolves the CR's endpoints ([`crate::endpoint`]) and syncs the backend object with the one
/// endpoint, or with each of them in turn when fanning out (`spec.target.strategy: AllHealthy`):
/// reads compare every endpoint (drift per endpoint), writes go to every endpoint,
/// `status.responses` gets one entry per endpoint and `status.response` the first successful one.
/// The fan-out succeeds per `spec.target.fanOutSuccess` (default `All`; `Any` for readOnly CRs).
/// Once an id is known it is written into the body of creates on every endpoint so that all
/// endpoints hold the object under one id; an endpoint that assigns another id fails.
async fn sync_object<K: RestResource>(
    obj: &K,
    ctx: &Context,
    next: &mut ResourceStatus,
    read: &mut bool,
) -> Result<Phase> {
    let spec = spec_json(obj)?;
    let set = endpoints_of(obj, ctx).await?;
    if !set.fan_out {
        next.responses.clear();
        return sync_at(obj, ctx, next, read, set.first(), &spec).await;
    }
    let controls = obj.controls();
    let rule = set.rule(!controls.is_read_only() && !controls.is_paused());
    let prior_drift = next.drift_detected;
    let mut drift_left = false;
    let (mut results, mut responses) = (Vec::new(), Vec::new());
    for endpoint in &set.endpoints {
        let known = next.external_id.clone().filter(|id| !id.is_empty());
        let sample = next.response.as_ref().and_then(|r| r.data.clone());
        let spec = fan_out::spec_with_id(&spec, K::DESCRIPTOR.id_field, known.as_deref(), sample.as_ref());
        next.drift_detected = prior_drift;
        next.response = None;
        let mut result = sync_at(obj, ctx, next, read, &endpoint.base_url, &spec).await;
        if let (Some(known), Some(assigned)) = (&known, &next.external_id)
            && known != assigned
        {
            let reason = format!(
                "{} holds the object as id {assigned} but the other endpoints use {known}; fan-out needs endpoints that agree on ids",
                endpoint.base_url
            );
            next.external_id = Some(known.clone());
            result = Err(Error::BadBackendResponse { reason });
        }
        drift_left |= next.drift_detected == Some(true);
        responses.push(fan_out::target_response(
            endpoint,
            next.response.take(),
            result.as_ref().err(),
        ));
        results.push(result);
    }
    next.drift_detected = Some(drift_left).filter(|d| *d || prior_drift.is_some() || *read);
    next.response = responses
        .iter()
        .find(|r| r.success)
        .or(responses.first())
        .map(fan_out::endpoint_response);
    let successes = fan_out::settle(results, rule);
    let phase = successes.map(|ok| fan_out::merge_phases(&set.endpoints, ok, &responses));
    next.responses = responses;
    phase
}

/// The endpoints of `obj`'s backend.
async fn endpoints_of<K: RestResource>(obj: &K, ctx: &Context) -> Result<EndpointSet> {
    let namespace = obj.namespace().unwrap_or_default();
    ctx.endpoints
        .endpoints(obj.controls().target.as_deref(), &namespace)
        .await
}

/// Syncs the backend object at `base` (one endpoint) and records what it learnt in `next`. Sets
/// `read` when a GET answered.
async fn sync_at<K: RestResource>(
    obj: &K,
    ctx: &Context,
    next: &mut ResourceStatus,
    read: &mut bool,
    base: &str,
    spec: &Value,
) -> Result<Phase> {
    let desc = K::DESCRIPTOR;
    let desired = drift::desired_body(spec, desc);
    let named_id = spec_id(spec, desc);
    let id = named_id
        .clone()
        .or_else(|| next.external_id.clone().filter(|id| !id.is_empty()));
    let controls = obj.controls();
    if controls.is_read_only() && id.is_none() {
        return Err(Error::bad_spec(
            desc.id_field
                .map_or_else(|| "status.externalID".to_owned(), |f| format!("spec.{f}")),
            "readOnly needs the id of the backend object to observe",
        ));
    }

    let observed = match &id {
        None => None,
        Some(id) => {
            let url = operation_url(base, &desc.read, desc, spec, Some(id))?;
            let resp = send(ctx, next, Method::Get, &url, None).await?;
            *read = true;
            match resp.status {
                404 => None,
                _ if resp.is_success() => Some(resp),
                _ => return Err(record_failure(next, &resp, Method::Get, &url)),
            }
        }
    };

    let Some(observed) = observed else {
        if controls.is_read_only() {
            return Ok(Phase::not_found(format!(
                "backend object {} does not exist",
                id.unwrap_or_default()
            )));
        }
        if controls.is_paused() {
            return Ok(Phase::paused(match id {
                Some(id) => format!("paused; backend object {id} does not exist, not creating it"),
                None => "paused; no backend object yet, not creating it".to_owned(),
            }));
        }
        return create(ctx, desc, base, spec, &desired, id, next).await;
    };
    let id = id.unwrap_or_default();
    record_success(next, &observed);
    let found = drift::without_ignored(
        drift::compare(&desired, &observed.body),
        desc.ignore_fields
            .iter()
            .copied()
            .chain(controls.ignore_fields.iter().map(String::as_str)),
    );
    if controls.is_read_only() {
        // Observation only: no adoption, no claim on the object.
        next.external_id = Some(id.clone());
        next.drift_detected = Some(!found.is_empty());
        return Ok(Phase::observed(if found.is_empty() {
            format!("backend object {id} matches the spec")
        } else {
            format!(
                "backend object {id} differs from the spec in {} (read-only: not corrected)",
                found.summary()
            )
        }));
    }
    next.external_id = Some(id.clone());
    next.created_by_controller.get_or_insert(false);
    if next.created_by_controller == Some(false)
        && named_id.is_some()
        && next.original_state.is_none()
        && !controls.is_paused()
    {
        info!(%id, "adopted existing backend object; original state recorded");
        next.original_state = Some(observed.body.clone());
        next.adopted_at = Some(status::now());
    }
    if found.is_empty() {
        next.drift_detected = Some(false);
        if controls.is_paused() {
            return Ok(Phase::paused(format!("paused; backend object {id} is in sync")));
        }
        return Ok(Phase::synced(format!("backend object {id} is in sync")));
    }

    info!(fields = %found.summary(), "drift detected");
    if next.drift_detected != Some(true) {
        next.drift_detected_count = Some(next.drift_detected_count.unwrap_or(0) + 1);
    }
    next.drift_detected = Some(true);
    if controls.is_paused() {
        return Ok(Phase::paused(format!(
            "paused; drift in {} not corrected",
            found.summary()
        )));
    }
    let Some(update) = desc.update else {
        return Ok(Phase {
            state: ResourceState::Failed,
            reason: "DriftNotCorrectable",
            message: format!(
                "drift detected but the API has no update operation (fields: {})",
                found.summary()
            ),
            stalled: true,
        });
    };
    let body = match update.method {
        UpdateMethod::Patch => desired,
        UpdateMethod::Put | UpdateMethod::Post if controls.merges_on_update() => {
            drift::merge_for_update(&observed.body, &desired)
        }
        UpdateMethod::Put | UpdateMethod::Post => {
            // Only the spec's fields, plus the object's id as the backend reports it (an update on
            // a collection path such as `PUT /pet` names the object by the id in the body).
            let mut body = desired;
            if let (Some(field), Value::Object(map)) = (desc.id_field, &mut body)
                && !map.contains_key(field)
                && let Some(observed_id) = observed.body.get(field)
            {
                map.insert(field.to_owned(), observed_id.clone());
            }
            body
        }
    };
    let method = Method::from(update.method);
    let url = operation_url(base, &update.operation, desc, spec, Some(&id))?;
    let resp = send(ctx, next, method, &url, Some(&body)).await?;
    if !resp.is_success() {
        return Err(record_failure(next, &resp, method, &url));
    }
    record_success(next, &resp);
    next.last_sync_time = Some(status::now());
    next.drift_detected = Some(false);
    Ok(Phase::synced(format!("corrected drift in {}", found.summary())))
}

/// POSTs the desired body and records the new object's id.
async fn create(
    ctx: &Context,
    desc: &ResourceDescriptor,
    base: &str,
    spec: &Value,
    desired: &Value,
    known_id: Option<String>,
    next: &mut ResourceStatus,
) -> Result<Phase> {
    let Some(op) = desc.create else {
        return Err(match known_id {
            Some(id) => Error::NotRecreatable { id },
            None => Error::bad_spec(
                desc.id_field
                    .map_or_else(|| "status.externalID".to_owned(), |f| format!("spec.{f}")),
                "no id to read the backend object and the API has no create operation",
            ),
        });
    };
    let url = operation_url(base, &op, desc, spec, known_id.as_deref())?;
    let resp = send(ctx, next, Method::Post, &url, Some(desired)).await?;
    if !resp.is_success() {
        return Err(record_failure(next, &resp, Method::Post, &url));
    }
    record_success(next, &resp);
    let id = response_id(&resp.body, desc.id_field)
        .or(known_id)
        .ok_or_else(|| Error::BadBackendResponse {
            reason: format!("POST {url} succeeded but the response carries no id"),
        })?;
    info!(%id, "created backend object");
    next.external_id = Some(id.clone());
    next.created_by_controller = Some(true);
    next.last_sync_time = Some(status::now());
    next.drift_detected = Some(false);
    Ok(Phase::synced(format!("created backend object {id}")))
}

/// Sends a request; records network failures in `next.response`.
async fn send(
    ctx: &Context,
    next: &mut ResourceStatus,
    method: Method,
    url: &str,
    body: Option<&Value>,
) -> Result<BackendResponse> {
    ctx.backend.send(method, url, body).await.inspect_err(|e| {
        next.response = Some(EndpointResponse {
            success: false,
            status_code: None,
            data: None,
            error: Some(e.to_string()),
        });
    })
}

fn record_success(next: &mut ResourceStatus, resp: &BackendResponse) {
    next.response = Some(EndpointResponse {
        success: true,
        status_code: Some(i32::from(resp.status)),
        // Backend data is copied into the status for diagnosis, minus secret-looking fields
        // (a User's `password`, tokens): status is readable by anyone who can read the CR.
        data: (!resp.body.is_null()).then(|| {
            let mut data = resp.body.clone();
            crate::redact::redact_value(&mut data);
            data
        }),
        error: None,
    });
}

fn record_failure(next: &mut ResourceStatus, resp: &BackendResponse, method: Method, url: &str) -> Error {
    let error = resp.to_error(method, url);
    next.response = Some(EndpointResponse {
        success: false,
        status_code: Some(i32::from(resp.status)),
        data: None,
        error: Some(crate::http::error_message(resp.status, &resp.body)),
    });
    error
}

/// The serialized spec (only the spec: the status, which can hold large backend data, is not
/// serialized on every reconcile).
fn spec_json<K: RestResource>(obj: &K) -> Result<Value> {
    serde_json::to_value(obj.spec()).map_err(|source| Error::Serialization {
        what: "custom resource spec",
        source,
    })
}

/// The id the spec names (`spec.<id_field>`), as path text; `0` is a valid id, `""` is not.
fn spec_id(spec: &Value, desc: &ResourceDescriptor) -> Option<String> {
    desc.id_field.and_then(|f| spec.get(f)).and_then(id_text)
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                format!("{f:.0}")
            }
            _ => n.to_string(),
        }),
        _ => None,
    }
}

/// Id of a created object: `<id_field>`, else `id`, `ID` or `Id`.
fn response_id(body: &Value, id_field: Option<&str>) -> Option<String> {
    id_field
        .into_iter()
        .chain(["id", "ID", "Id"])
        .find_map(|k| body.get(k).and_then(id_text))
}

/// Stamps phase, conditions and generation on `next` and writes it if it differs from `current`.
/// Returns the object's new `resourceVersion` when a write happened.
async fn write_status<K: RestResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    current: Option<&ResourceStatus>,
    mut next: ResourceStatus,
    phase: &Phase,
    read: bool,
) -> Result<Option<String>> {
    let generation = obj.meta().generation;
    let now = status::now();
    next.state = Some(phase.state);
    next.message = Some(phase.message.clone());
    next.observed_generation = generation;
    next.conditions = status::conditions(phase, generation, &next.conditions, &now);
    if current == Some(&next) {
        debug!("status unchanged; no write");
        return Ok(None);
    }
    if read {
        next.last_get_time = Some(now);
    }
    let Some(patch) = status::status_patch(current, &next)? else {
        return Ok(None);
    };
    debug!(patch = %crate::redact::value(&patch), "patching status");
    let params = PatchParams {
        field_manager: Some(ctx.app.name.to_owned()),
        ..PatchParams::default()
    };
    let written = api
        .patch_status(&obj.name_any(), &params, &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::Kube {
            action: "patch status",
            source,
        })?;
    Ok(written.resource_version())
}

/// Applies the delete policy (`spec.onDelete`, see [`ResourceControls::on_delete_policy`]) to the
/// backend object, then removes our finalizer at `index`. Read-only CRs never touch the backend.
async fn cleanup<K: RestResource>(api: &Api<K>, obj: &K, ctx: &Context, index: usize) -> Result<Action> {
    let current = obj.resource_status();
    let created = current.and_then(|s| s.created_by_controller) == Some(true);
    let controls = obj.controls();
    let policy = controls.on_delete_policy(created);
    let original = current.and_then(|s| s.original_state.clone());
    let work = match policy {
        _ if controls.is_read_only() => None,
        OnDeletePolicy::Delete if K::DESCRIPTOR.delete.is_some() => Some(("deleting", None)),
        OnDeletePolicy::Restore => original.map(|o| ("restoring", Some(o))),
        OnDeletePolicy::Delete | OnDeletePolicy::Orphan => None,
    };
    if let Some((what, original)) = work {
        let mut next = current.cloned().unwrap_or_default();
        let result = match &original {
            None => delete_backend(obj, ctx, &mut next).await,
            Some(original) => restore_backend(obj, ctx, &mut next, original).await,
        };
        if let Err(e) = result {
            // Never drop the finalizer on failure, whatever the error: retry with backoff.
            let delay = ctx.backoff.next_delay_after(&uid(obj), None, e.retry_after());
            warn!(error = %e, label = e.metric_label(), retry_in = ?delay, "backend cleanup failed; keeping finalizer");
            let phase = Phase {
                state: ResourceState::Failed,
                reason: e.reason(),
                message: format!("{what} the backend object failed: {e}{}", retry_note(&e, delay)),
                stalled: false,
            };
            write_status(api, obj, ctx, current, next, &phase, false).await?;
            if current.and_then(|s| s.state) != Some(ResourceState::Failed) {
                publish_event(obj, ctx, EventType::Warning, phase.reason, &phase.message).await;
            }
            return Ok(Action::requeue(delay.min(MAX_RETRY_AFTER_DELAY)));
        }
        let (reason, note) = match original {
            None => ("Deleted", "deleted the backend object"),
            Some(_) => ("Restored", "restored the backend object's original state"),
        };
        publish_event(obj, ctx, EventType::Normal, reason, note).await;
    } else {
        info!(
            created,
            read_only = controls.is_read_only(),
            ?policy,
            "leaving the backend object as it is"
        );
        let note = "CR deleted; the backend object was left as it is";
        publish_event(obj, ctx, EventType::Normal, "Orphaned", note).await;
    }
    finalizer::remove(api, obj, &ctx.app.finalizer(), index).await?;
    info!("finalizer removed");
    ctx.backoff.reset(&uid(obj));
    Ok(Action::await_change())
}

/// Writes `original` back with the kind's update method (`onDelete: Restore`). Server-owned
/// (read-only) fields are left out of the body.
async fn restore_backend<K: RestResource>(
    obj: &K,
    ctx: &Context,
    next: &mut ResourceStatus,
    original: &Value,
) -> Result<()> {
    let desc = K::DESCRIPTOR;
    let Some(update) = desc.update else {
        info!("the API has no update operation; cannot restore, leaving the backend object");
        return Ok(());
    };
    let spec = spec_json(obj)?;
    let Some(id) = next
        .external_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| spec_id(&spec, desc))
    else {
        info!("no id known; nothing to restore");
        return Ok(());
    };
    let mut body = original.clone();
    if let Value::Object(map) = &mut body {
        for field in desc.read_only_fields {
            if desc.id_field != Some(*field) {
                map.remove(*field);
            }
        }
    }
    let request = CleanupRequest {
        method: Method::from(update.method),
        operation: &update.operation,
        body: Some(&body),
        spec: &spec,
        id: &id,
    };
    on_each_endpoint(obj, ctx, next, &request).await
}

async fn delete_backend<K: RestResource>(obj: &K, ctx: &Context, next: &mut ResourceStatus) -> Result<()> {
    let desc = K::DESCRIPTOR;
    let Some(op) = desc.delete else { return Ok(()) };
    let spec = spec_json(obj)?;
    let Some(id) = spec_id(&spec, desc).or_else(|| next.external_id.clone().filter(|id| !id.is_empty()))
    else {
        info!("no id known; nothing to delete");
        return Ok(());
    };
    let request = CleanupRequest {
        method: Method::Delete,
        operation: &op,
        body: None,
        spec: &spec,
        id: &id,
    };
    on_each_endpoint(obj, ctx, next, &request).await
}

/// A delete or restore request, sent to one or every endpoint by [`on_each_endpoint`].
struct CleanupRequest<'a> {
    method: Method,
    operation: &'a crate::traits::OperationDescriptor,
    body: Option<&'a Value>,
    spec: &'a Value,
    id: &'a str,
}

impl CleanupRequest<'_> {
    /// Sends the request to `base`: a `DELETE` succeeds on `2xx` and `404`, a restore on `2xx`.
    async fn send_to<K: RestResource>(
        &self,
        ctx: &Context,
        next: &mut ResourceStatus,
        base: &str,
    ) -> Result<()> {
        let (method, id) = (self.method, self.id);
        let url = operation_url(base, self.operation, K::DESCRIPTOR, self.spec, Some(id))?;
        let resp = send(ctx, next, method, &url, self.body).await?;
        match method {
            Method::Delete if resp.is_success() || resp.status == 404 => {
                info!(%id, base, status = resp.status, "deleted backend object");
                Ok(())
            }
            _ if method != Method::Delete && resp.is_success() => {
                info!(%id, base, status = resp.status, "restored the backend object's original state");
                Ok(())
            }
            _ => Err(record_failure(next, &resp, method, &url)),
        }
    }
}

/// Sends a cleanup request to the endpoint of `obj`, or to each endpoint when fanning out; a
/// fan-out succeeds per the write rule of `spec.target.fanOutSuccess` (default `All`: a failure
/// on any endpoint keeps the finalizer) and records `status.responses`, with `status.response`
/// the first failure.
async fn on_each_endpoint<K: RestResource>(
    obj: &K,
    ctx: &Context,
    next: &mut ResourceStatus,
    request: &CleanupRequest<'_>,
) -> Result<()> {
    let set = endpoints_of(obj, ctx).await?;
    if !set.fan_out {
        return request.send_to::<K>(ctx, next, set.first()).await;
    }
    let (mut results, mut responses) = (Vec::new(), Vec::new());
    for endpoint in &set.endpoints {
        next.response = None;
        let result = request.send_to::<K>(ctx, next, &endpoint.base_url).await;
        responses.push(fan_out::target_response(
            endpoint,
            next.response.take(),
            result.as_ref().err(),
        ));
        results.push(result);
    }
    next.response = responses
        .iter()
        .find(|r| !r.success)
        .or(responses.first())
        .map(fan_out::endpoint_response);
    next.responses = responses;
    fan_out::settle(results, set.rule(true)).map(|_| ())
}

#[cfg(test)]
#[path = "resource_tests.rs"]
mod tests;
