//! The aggregate reconciler: watches every other registered kind through reflector stores and writes the result of the pure [`aggregate`](super::aggregate) core into each Aggregate's status.
//!
//! # Watching, with bounded work per event
//!
//! The aggregate reads the caches the other kinds' controllers keep anyway ([`Context::caches`]:
//! one copy of each object in the process) and is woken by their watch events: a changed or
//! deleted object is mapped by [`could_select`] to the aggregates whose refs (kind, name,
//! namespace) or selectors (kind, namespace, name pattern; labels deliberately ignored so that an
//! object whose labels stop matching still triggers) may cover it. Nothing is relisted: a
//! reconcile looks refs up by key, filters only the kinds a selector names, and converts only the
//! candidates to JSON. Aggregates themselves are triggered by spec changes (not by their own status
//! writes), by the objects they watch, and every [`TIME_REQUEUE`] when a derived value calls
//! `now()`, `timeSince()` or `timeUntil()`.
//!
//! # Status
//!
//! - `spec.paused: true` → state `Paused`, nothing recomputed.
//! - A spec [`validate`](super::validate) rejects → state `Degraded`, `Stalled=True` with reason
//!   `InvalidSpec` and the message; no crash, no retry until the spec changes.
//! - Otherwise the core's state, message, summary, resources and computed values. Conditions:
//!   `Ready` (Healthy), `Reconciling` (Pending), `Stalled` (False), and `DerivedValuesValid` when
//!   derived values are defined: `False` naming the values that failed (the others are still
//!   computed), else `True`.
//! - `lastAggregationTime` moves only when the outcome changed; the status is written only when it
//!   differs from the stored one, so a steady state causes no writes. Compiled CEL programs are
//!   cached by the controller's one [`CelEngine`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, ApiResource};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde_json::Value;
use tracing::debug;

use super::{
    AggregateInput, AggregateResult, AggregateSpec, AggregateState, AggregateStatus, aggregate, glob_match,
};
use crate::cache::Change;
use crate::cel::CelEngine;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::reconciler::{object_key, patch_status, publish_event, requeue_after_error};
use crate::resource::ControllerFn;
use crate::status::{self, Kstatus, condition, kstatus_conditions, merge_patch_of};
use crate::traits::AggregateResource;

/// How often an aggregate whose derived values depend on the time is re-evaluated.
pub const TIME_REQUEUE: Duration = Duration::from_secs(30);

/// Name of the condition that reports derived-value errors.
pub const DERIVED_VALUES_VALID: &str = "DerivedValuesValid";

/// The controller entry point for kind `K`.
pub fn controller_fn<K: AggregateResource>() -> ControllerFn {
    |ctx| Box::pin(run::<K>(ctx))
}

/// State of one aggregate controller.
#[derive(Debug)]
pub struct AggregateContext {
    /// The operator's shared context.
    pub ctx: Arc<Context>,
    engine: CelEngine,
    kinds: Vec<ApiResource>,
    plurals: BTreeMap<String, String>,
}

impl AggregateContext {
    /// A context over `ctx` reading the objects of every kind in [`Context::kinds`] from
    /// [`Context::caches`], with one CEL engine.
    ///
    /// # Errors
    ///
    /// [`Error::Startup`] when the CEL environment cannot be built.
    pub fn new(ctx: Arc<Context>) -> Result<Self> {
        let kinds = ctx.kinds.clone();
        let engine = CelEngine::new().map_err(|e| Error::Startup {
            what: "CEL engine",
            reason: e.to_string(),
        })?;
        let plurals = kinds.iter().map(|k| (k.kind.clone(), k.plural.clone())).collect();
        Ok(Self {
            ctx,
            engine,
            kinds,
            plurals,
        })
    }

    /// The CEL engine (one per controller, so compiled programs are cached across reconciles).
    pub fn engine(&self) -> &CelEngine {
        &self.engine
    }

    /// Whether every watched kind's controller registered its cache and listed once.
    fn stores_ready(&self) -> bool {
        self.kinds
            .iter()
            .all(|k| self.ctx.caches.source(&k.kind).is_some_and(|s| s.is_ready()))
    }

    /// The stored objects some ref or selector of `spec` may select, as JSON (a superset: the
    /// core decides). Refs are looked up by key; selectors scan only the kinds they name.
    pub fn candidates(&self, spec: &AggregateSpec, namespace: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for r in &spec.resources {
            let ns = r.namespace.as_deref().unwrap_or(namespace);
            if !self.kinds.iter().any(|k| k.kind == r.kind) {
                continue;
            }
            if let Some(obj) = self.ctx.caches.source(&r.kind).and_then(|s| s.get(ns, &r.name)) {
                out.push(obj);
            }
        }
        for s in &spec.selectors {
            let ns = s.namespace.as_deref().unwrap_or(namespace);
            let kinds = self
                .kinds
                .iter()
                .filter(|k| s.kind.as_deref().is_none_or(|kind| kind == k.kind));
            for k in kinds {
                let Some(source) = self.ctx.caches.source(&k.kind) else {
                    continue;
                };
                out.extend(source.select(&|meta| {
                    meta.namespace.as_deref() == Some(ns)
                        && s.name_pattern
                            .as_deref()
                            .is_none_or(|p| glob_match(p, meta.name.as_deref().unwrap_or_default()))
                        && s.match_labels.as_ref().is_none_or(|wanted| {
                            let labels = meta.labels.as_ref();
                            wanted
                                .iter()
                                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                        })
                }));
            }
        }
        out
    }
}

/// Whether an aggregate (spec `spec`, in `namespace`) may select the object `kind`
/// `object_namespace/name`: used to map watch events to aggregates. Labels are not compared (a
/// label change must reach the aggregates the object leaves); paused aggregates select nothing.
pub fn could_select(
    spec: &AggregateSpec,
    namespace: &str,
    kind: &str,
    object_namespace: &str,
    name: &str,
) -> bool {
    if spec.paused == Some(true) {
        return false;
    }
    spec.resources.iter().any(|r| {
        r.kind == kind && r.name == name && r.namespace.as_deref().unwrap_or(namespace) == object_namespace
    }) || spec.selectors.iter().any(|s| {
        s.kind.as_deref().is_none_or(|k| k == kind)
            && s.namespace.as_deref().unwrap_or(namespace) == object_namespace
            && s.name_pattern.as_deref().is_none_or(|p| glob_match(p, name))
    })
}

fn kind_name<K: Resource<DynamicType = ()>>() -> &'static str {
    match K::kind(&()) {
        Cow::Borrowed(kind) => kind,
        Cow::Owned(kind) => kind.leak(),
    }
}

/// Runs the controller of Aggregate kind `K` until `ctx.shutdown` flips.
///
/// # Errors
///
/// [`Error::Startup`] when the CEL environment cannot be built.
pub async fn run<K: AggregateResource>(ctx: Arc<Context>) -> Result<()> {
    let kind = kind_name::<K>();
    // Subscribe before anything is listed, so no change after the first reconcile is missed.
    let changes = ctx.caches.subscribe();
    let controller = crate::reconciler::controller::<K>(kind, &ctx);
    let aggregates = controller.store();
    let triggers = futures::stream::unfold(changes, |mut rx| async move {
        rx.recv().await.map(|change| (change, rx))
    })
    .flat_map(move |change| futures::stream::iter(affected(&aggregates, &change)));
    let controller = controller.reconcile_on(triggers);
    let state = Arc::new(AggregateContext::new(ctx.clone())?);
    crate::reconciler::drive(controller, kind, &ctx, reconcile::<K>, error_policy::<K>, state).await;
    Ok(())
}

/// The aggregates in `aggregates` that may select the object `change` names.
fn affected<K: AggregateResource>(aggregates: &Store<K>, change: &Change) -> Vec<ObjectRef<K>> {
    aggregates
        .state_filter(|agg| {
            could_select(
                agg.aggregate_spec(),
                agg.meta().namespace.as_deref().unwrap_or_default(),
                &change.kind,
                &change.namespace,
                &change.name,
            )
        })
        .iter()
        .map(|agg| ObjectRef::from_obj(&**agg))
        .collect()
}

/// Requeue policy for errors [`reconcile`] returns (Kubernetes API failures).
pub fn error_policy<K: AggregateResource>(obj: Arc<K>, error: &Error, actx: Arc<AggregateContext>) -> Action {
    requeue_after_error(
        &object_key(&*obj),
        kind_name::<K>(),
        &obj.name_any(),
        error,
        &actx.ctx,
    )
}

/// The status for `result`: state, message, summary, resources, values and conditions (without
/// `lastAggregationTime`, see [`with_aggregation_time`]).
pub fn status_for(
    result: AggregateResult,
    generation: Option<i64>,
    previous: &[Condition],
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> AggregateStatus {
    let reason = match result.state {
        AggregateState::Healthy => "Healthy",
        AggregateState::Degraded => "Degraded",
        AggregateState::Pending => "Pending",
        AggregateState::Paused => "Paused",
    };
    let flags = Kstatus {
        ready: result.state == AggregateState::Healthy,
        reconciling: result.state == AggregateState::Pending,
        stalled: false,
        reason,
        message: &result.message,
    };
    let mut conditions = kstatus_conditions(&flags, generation, previous, now);
    if !result.computed_values.is_empty() {
        let failed: Vec<&str> = result
            .computed_values
            .iter()
            .filter(|v| v.error.is_some())
            .map(|v| v.name.as_str())
            .collect();
        conditions.push(if failed.is_empty() {
            let message = format!("all {} derived values computed", result.computed_values.len());
            condition(
                DERIVED_VALUES_VALID,
                true,
                "Computed",
                &message,
                generation,
                previous,
                now,
            )
        } else {
            let message = format!("derived values failed: {}", failed.join(", "));
            condition(
                DERIVED_VALUES_VALID,
                false,
                "EvaluationFailed",
                &message,
                generation,
                previous,
                now,
            )
        });
    }
    AggregateStatus {
        state: Some(result.state),
        message: Some(result.message),
        summary: Some(result.summary),
        resources: result.resources,
        computed_values: result.computed_values,
        last_aggregation_time: None,
        observed_generation: generation,
        conditions,
    }
}

/// `next` with `lastAggregationTime`: the stored one when nothing else changed, else `now`.
pub fn with_aggregation_time(
    mut next: AggregateStatus,
    current: Option<&AggregateStatus>,
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> AggregateStatus {
    next.last_aggregation_time = current.and_then(|c| c.last_aggregation_time.clone());
    if current != Some(&next) {
        next.last_aggregation_time = Some(now.clone());
    }
    next
}

/// Reconciles one Aggregate CR; see the module documentation.
///
/// # Errors
///
/// Only Kubernetes API failures (status patches).
#[tracing::instrument(skip_all, fields(
    namespace = obj.namespace().unwrap_or_default(),
    object = obj.name_any(),
    generation = obj.meta().generation.unwrap_or_default(),
))]
pub async fn reconcile<K: AggregateResource>(obj: Arc<K>, actx: Arc<AggregateContext>) -> Result<Action> {
    if obj.meta().deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let ctx = &actx.ctx;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let spec = obj.aggregate_spec();
    let namespace = obj.namespace().unwrap_or_default();
    let current = obj.status();
    let generation = obj.meta().generation;
    let now = status::now();

    if spec.paused == Some(true) {
        let mut next = current.cloned().unwrap_or_default();
        let message = "paused; the status is not recomputed";
        let flags = Kstatus {
            ready: false,
            reconciling: false,
            stalled: false,
            reason: "Paused",
            message,
        };
        let mut conditions = kstatus_conditions(&flags, generation, &next.conditions, &now);
        conditions.extend(
            next.conditions
                .iter()
                .filter(|c| c.type_ == DERIVED_VALUES_VALID)
                .cloned(),
        );
        next.state = Some(AggregateState::Paused);
        next.message = Some(message.to_owned());
        next.observed_generation = generation;
        next.conditions = conditions;
        commit(&api, &obj, ctx, current, &next).await?;
        return Ok(Action::await_change());
    }
    if let Err(reason) = super::validate(spec) {
        let message = format!("invalid spec: {reason}");
        let flags = Kstatus {
            ready: false,
            reconciling: false,
            stalled: true,
            reason: "InvalidSpec",
            message: &message,
        };
        let previous = current.map(|c| c.conditions.as_slice()).unwrap_or_default();
        let next = AggregateStatus {
            state: Some(AggregateState::Degraded),
            message: Some(message.clone()),
            observed_generation: generation,
            conditions: kstatus_conditions(&flags, generation, previous, &now),
            ..AggregateStatus::default()
        };
        let next = with_aggregation_time(next, current, &now);
        commit(&api, &obj, ctx, current, &next).await?;
        return Ok(Action::await_change());
    }
    if !actx.stores_ready() {
        debug!("watched kinds not listed yet; retrying shortly");
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let observed = actx.candidates(spec, &namespace);
    let result = aggregate(
        &actx.engine,
        &AggregateInput {
            namespace: &namespace,
            spec,
            observed: &observed,
            plurals: &actx.plurals,
            now: jiff::Timestamp::now(),
        },
    );
    let requeue_for_time = result.requeue_for_time;
    let previous = current.map(|c| c.conditions.as_slice()).unwrap_or_default();
    let next = with_aggregation_time(status_for(result, generation, previous, &now), current, &now);
    commit(&api, &obj, ctx, current, &next).await?;
    Ok(if requeue_for_time {
        Action::requeue(TIME_REQUEUE)
    } else {
        Action::await_change()
    })
}

/// Writes `next` when it differs from `current`; an Event when the state changed.
async fn commit<K: AggregateResource>(
    api: &Api<K>,
    obj: &K,
    ctx: &Context,
    current: Option<&AggregateStatus>,
    next: &AggregateStatus,
) -> Result<()> {
    if let Some(patch) = merge_patch_of(current, next)? {
        patch_status(api, ctx, &obj.name_any(), patch, None).await?;
    }
    if current.and_then(|s| s.state) != next.state {
        let type_ = match next.state {
            Some(AggregateState::Degraded) => EventType::Warning,
            _ => EventType::Normal,
        };
        let reason = next
            .conditions
            .first()
            .map_or("Aggregated", |c| c.reason.as_str());
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
#[path = "reconcile_tests.rs"]
mod tests;
