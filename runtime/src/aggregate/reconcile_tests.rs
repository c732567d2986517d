//! Aggregate reconciler tests: event mapping and status bookkeeping (pure), reconciles over hand-fed reflector stores, and a running controller that follows Pet status flips through watches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;
use crate::aggregate::{DerivedValue, ResourceRef, Selector};
use crate::status::ResourceStatus;
use crate::test_support::{Env, eventually};

// ---------------------------------------------------------------- test kinds

/// A watched kind: only its status matters to aggregates.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "AggPet",
    namespaced,
    status = "ResourceStatus"
)]
pub struct AggPetSpec {
    pub name: String,
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "Health",
    namespaced,
    status = "AggregateStatus"
)]
pub struct HealthSpec {
    #[serde(flatten)]
    pub inner: AggregateSpec,
}

impl AggregateResource for Health {
    fn aggregate_spec(&self) -> &AggregateSpec {
        &self.spec.inner
    }
}

// ---------------------------------------------------------------- helpers

fn pet_resource() -> ApiResource {
    ApiResource::erase::<AggPet>(&())
}

async fn env(namespaces: &[&str]) -> Env {
    Env::start(
        vec![AggPet::crd(), Health::crd()],
        vec![pet_resource()],
        namespaces,
    )
    .await
}

fn selector(kind: Option<&str>) -> Selector {
    Selector {
        kind: kind.map(str::to_owned),
        ..Selector::default()
    }
}

fn derived(name: &str, expression: &str) -> DerivedValue {
    DerivedValue {
        name: name.into(),
        expression: expression.into(),
    }
}

fn health(name: &str, spec: &AggregateSpec) -> Health {
    Health::new(name, HealthSpec { inner: spec.clone() })
}

async fn create_pet(env: &Env, namespace: &str, name: &str, labels: serde_json::Value, state: &str) {
    let api: Api<AggPet> = Api::namespaced(env.client.clone(), namespace);
    let mut pet = AggPet::new(name, AggPetSpec { name: name.into() });
    pet.metadata.labels = serde_json::from_value(labels).unwrap();
    api.create(&PostParams::default(), &pet).await.unwrap();
    set_state(env, namespace, name, state).await;
}

async fn set_state(env: &Env, namespace: &str, name: &str, state: &str) {
    let api: Api<AggPet> = Api::namespaced(env.client.clone(), namespace);
    let status = json!({"status": {"state": state, "message": format!("{name} is {state}")}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

/// An aggregate context whose pet store is listed from the API server once (no watch): the
/// reconcile reads exactly what the test put there.
async fn listed_context(env: &Env) -> Arc<AggregateContext> {
    let mut writer = kube::runtime::reflector::store::Writer::<DynamicObject>::new(pet_resource());
    let store = writer.as_reader();
    let api: Api<DynamicObject> = Api::all_with(env.client.clone(), &pet_resource());
    writer.apply_watcher_event(&watcher::Event::Init);
    for obj in api.list(&Default::default()).await.unwrap() {
        writer.apply_watcher_event(&watcher::Event::InitApply(obj));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    env.ctx.caches.register_source(
        "AggPet",
        Arc::new(crate::cache::StoreSource::dynamic(pet_resource(), store)),
    );
    Arc::new(AggregateContext::new(env.ctx.clone()).unwrap())
}

async fn reconcile_stored(actx: &Arc<AggregateContext>, api: &Api<Health>, name: &str) -> Action {
    let obj = api.get(name).await.unwrap();
    reconcile(Arc::new(obj), actx.clone()).await.unwrap()
}

fn value<'a>(status: &'a AggregateStatus, name: &str) -> &'a crate::aggregate::ComputedValue {
    status.computed_values.iter().find(|v| v.name == name).unwrap()
}

fn cond<'a>(status: &'a AggregateStatus, t: &str) -> Option<&'a Condition> {
    status.conditions.iter().find(|c| c.type_ == t)
}

// ---------------------------------------------------------------- pure parts

#[test]
fn events_map_to_the_aggregates_that_may_select_the_object() {
    let by_ref = AggregateSpec {
        resources: vec![ResourceRef {
            kind: "Pet".into(),
            name: "rex".into(),
            namespace: None,
        }],
        ..AggregateSpec::default()
    };
    assert!(could_select(&by_ref, "default", "Pet", "default", "rex"));
    assert!(!could_select(&by_ref, "default", "Pet", "default", "tom"));
    assert!(!could_select(&by_ref, "default", "Pet", "other", "rex"));
    assert!(!could_select(&by_ref, "default", "Order", "default", "rex"));
    let by_selector = AggregateSpec {
        selectors: vec![Selector {
            kind: Some("Pet".into()),
            namespace: Some("other".into()),
            name_pattern: Some("r*".into()),
            match_labels: Some(BTreeMap::from([("team".to_owned(), "a".to_owned())])),
        }],
        ..AggregateSpec::default()
    };
    // Labels are not compared: an object that loses its label must still reach the aggregate.
    assert!(could_select(&by_selector, "default", "Pet", "other", "rex"));
    assert!(!could_select(&by_selector, "default", "Pet", "default", "rex"));
    assert!(!could_select(&by_selector, "default", "Pet", "other", "tom"));
    let any_kind = AggregateSpec {
        selectors: vec![selector(None)],
        ..AggregateSpec::default()
    };
    assert!(could_select(&any_kind, "ns", "Order", "ns", "o"));
    let paused = AggregateSpec {
        paused: Some(true),
        ..any_kind
    };
    assert!(!could_select(&paused, "ns", "Order", "ns", "o"));
}

#[test]
fn aggregation_time_moves_only_with_the_outcome() {
    let t = |s: i64| Time(jiff::Timestamp::from_second(s).unwrap());
    let status = AggregateStatus {
        state: Some(AggregateState::Healthy),
        message: Some("1/1 synced".into()),
        ..AggregateStatus::default()
    };
    let first = with_aggregation_time(status.clone(), None, &t(10));
    assert_eq!(first.last_aggregation_time, Some(t(10)));
    let same = with_aggregation_time(status.clone(), Some(&first), &t(20));
    assert_eq!(same, first, "steady state: nothing changes");
    let changed = AggregateStatus {
        state: Some(AggregateState::Degraded),
        ..status
    };
    let moved = with_aggregation_time(changed, Some(&first), &t(30));
    assert_eq!(moved.last_aggregation_time, Some(t(30)));
}

// ---------------------------------------------------------------- against the API server

#[tokio::test]
async fn derived_values_and_invalid_expressions() {
    let env = env(&[]).await;
    create_pet(&env, "default", "a", json!({}), "Synced").await;
    create_pet(&env, "default", "b", json!({}), "Failed").await;
    create_pet(&env, "default", "c", json!({}), "Synced").await;
    let spec = AggregateSpec {
        selectors: vec![selector(Some("AggPet"))],
        derived_values: vec![
            derived("pct", "summary.synced * 100 / summary.total"),
            derived(
                "failedNames",
                "resources.filter(r, r.status.state == 'Failed').map(r, r.metadata.name)",
            ),
            derived("broken", "summary.synced +"),
            derived("perKind", "size(aggpets)"),
        ],
        ..AggregateSpec::default()
    };
    let api: Api<Health> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &health("shop", &spec))
        .await
        .unwrap();
    let actx = listed_context(&env).await;
    assert_eq!(
        reconcile_stored(&actx, &api, "shop").await,
        Action::await_change()
    );
    let status = api.get("shop").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(AggregateState::Degraded));
    assert_eq!(status.summary.unwrap().total, 3);
    assert_eq!(value(&status, "pct").value, Some(json!(66)));
    assert_eq!(value(&status, "failedNames").value, Some(json!(["b"])));
    assert_eq!(
        value(&status, "perKind").value,
        Some(json!(3)),
        "plural from the ApiResource"
    );
    let broken = value(&status, "broken");
    assert!(broken.value.is_none() && broken.error.as_deref().unwrap().contains("invalid CEL"));
    let valid = cond(&status, DERIVED_VALUES_VALID).unwrap();
    assert_eq!(valid.status, "False");
    assert!(
        valid.message.contains("broken") && !valid.message.contains("pct"),
        "{}",
        valid.message
    );
    assert_eq!(cond(&status, "Ready").unwrap().status, "False");
    assert!(status.last_aggregation_time.is_some());

    // Steady state: the same inputs write nothing, and the valid programs come from the cache
    // (the engine does not cache compile failures, so only `broken` is compiled again).
    let writes = env.api.stats().writes("healths", Some("status"));
    let compilations = actx.engine().compilations();
    reconcile_stored(&actx, &api, "shop").await;
    assert_eq!(env.api.stats().writes("healths", Some("status")), writes);
    assert_eq!(actx.engine().compilations(), compilations + 1);
}

#[tokio::test]
async fn selectors_with_a_namespace_look_across_namespaces() {
    let env = env(&["other"]).await;
    create_pet(&env, "other", "rex", json!({"team": "a"}), "Synced").await;
    create_pet(&env, "other", "tom", json!({"team": "b"}), "Failed").await;
    create_pet(&env, "default", "kit", json!({"team": "a"}), "Failed").await;
    let spec = AggregateSpec {
        selectors: vec![Selector {
            kind: Some("AggPet".into()),
            namespace: Some("other".into()),
            match_labels: Some(BTreeMap::from([("team".to_owned(), "a".to_owned())])),
            name_pattern: None,
        }],
        resources: vec![ResourceRef {
            kind: "AggPet".into(),
            name: "ghost".into(),
            namespace: None,
        }],
        ..AggregateSpec::default()
    };
    let api: Api<Health> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &health("cross", &spec))
        .await
        .unwrap();
    let actx = listed_context(&env).await;
    reconcile_stored(&actx, &api, "cross").await;
    let status = api.get("cross").await.unwrap().status.unwrap();
    let selected: Vec<String> = status
        .resources
        .iter()
        .map(|r| format!("{}/{}:{}", r.namespace, r.name, r.state))
        .collect();
    assert_eq!(selected, ["default/ghost:Missing", "other/rex:Synced"]);
    assert_eq!(status.state, Some(AggregateState::Pending));
    assert_eq!(cond(&status, "Reconciling").unwrap().status, "True");
}

#[tokio::test]
async fn invalid_and_paused_specs() {
    let env = env(&[]).await;
    let api: Api<Health> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &health("empty", &AggregateSpec::default()),
    )
    .await
    .unwrap();
    let actx = listed_context(&env).await;
    assert_eq!(
        reconcile_stored(&actx, &api, "empty").await,
        Action::await_change()
    );
    let status = api.get("empty").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(AggregateState::Degraded));
    assert!(status.message.as_deref().unwrap().starts_with("invalid spec: "));
    assert_eq!(cond(&status, "Stalled").unwrap().status, "True");
    assert_eq!(cond(&status, "Stalled").unwrap().reason, "InvalidSpec");

    let paused = AggregateSpec {
        selectors: vec![selector(None)],
        paused: Some(true),
        ..AggregateSpec::default()
    };
    api.create(&PostParams::default(), &health("held", &paused))
        .await
        .unwrap();
    reconcile_stored(&actx, &api, "held").await;
    let status = api.get("held").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(AggregateState::Paused));
    assert_eq!(status.summary, None, "nothing computed");
}

#[tokio::test]
async fn controller_follows_pet_status_flips() {
    let env = env(&[]).await;
    create_pet(&env, "default", "a", json!({"app": "shop"}), "Synced").await;
    create_pet(&env, "default", "b", json!({"app": "shop"}), "Synced").await;
    let spec = AggregateSpec {
        selectors: vec![Selector {
            kind: Some("AggPet".into()),
            match_labels: Some(BTreeMap::from([("app".to_owned(), "shop".to_owned())])),
            ..Selector::default()
        }],
        derived_values: vec![
            derived("pct", "summary.synced * 100 / summary.total"),
            derived(
                "failedNames",
                "resources.filter(r, r.status.state == 'Failed').map(r, r.metadata.name)",
            ),
        ],
        ..AggregateSpec::default()
    };
    let api: Api<Health> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &health("shop", &spec))
        .await
        .unwrap();
    let controller = tokio::spawn(run::<Health>(env.ctx.clone()));
    // The pets' own controller (here one that reconciles nothing) keeps the cache the aggregate reads.
    let pets = tokio::spawn({
        let ctx = env.ctx.clone();
        async move {
            let controller = crate::reconciler::controller::<AggPet>("AggPet", &ctx);
            crate::reconciler::drive(
                controller,
                "AggPet",
                &ctx,
                |_, _| async { Ok(Action::await_change()) },
                |_, _, _| Action::await_change(),
                Arc::new(()),
            )
            .await;
        }
    });

    let wait_for = |state: AggregateState, pct: i64| {
        let api = api.clone();
        async move {
            eventually(
                &format!("{state:?} at {pct}%"),
                Duration::from_secs(15),
                || async {
                    let status = api.get("shop").await.ok()?.status?;
                    (status.state == Some(state) && value(&status, "pct").value == Some(json!(pct)))
                        .then_some(status)
                },
            )
            .await
        }
    };
    let status = wait_for(AggregateState::Healthy, 100).await;
    assert_eq!(value(&status, "failedNames").value, Some(json!([])));
    assert_eq!(cond(&status, DERIVED_VALUES_VALID).unwrap().status, "True");
    set_state(&env, "default", "b", "Failed").await;
    let status = wait_for(AggregateState::Degraded, 50).await;
    assert_eq!(value(&status, "failedNames").value, Some(json!(["b"])));
    set_state(&env, "default", "b", "Synced").await;
    wait_for(AggregateState::Healthy, 100).await;
    // A new matching pet is picked up from its watch event, without relisting.
    create_pet(&env, "default", "c", json!({"app": "shop"}), "Failed").await;
    let status = wait_for(AggregateState::Degraded, 66).await;
    assert_eq!(status.summary.unwrap().total, 3);
    // Losing the label drops it again.
    let patch = json!({"metadata": {"labels": {"app": "other"}}});
    Api::<AggPet>::namespaced(env.client.clone(), "default")
        .patch("c", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    wait_for(AggregateState::Healthy, 100).await;
    env.stop_controllers();
    tokio::time::timeout(Duration::from_secs(10), controller)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), pets)
        .await
        .unwrap()
        .unwrap();
}
