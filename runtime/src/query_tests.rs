//! Query reconciler tests: pure decisions, plus reconciles and a running controller against the in-process Kubernetes API server and the Petstore backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{CustomResource, CustomResourceExt};
use petstore_server::Fault;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::controls::RunControls;
use crate::test_support::{
    Env, at, condition_status as condition, conditions as super_conditions, eventually,
};
use crate::traits::{OperationDescriptor, ParamBinding, QueryDescriptor};

// ---------------------------------------------------------------- test kinds

/// A pet as `findByStatus` returns it (unknown fields ignored).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PetModel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

type PetsStatus = QueryStatus<Vec<PetModel>>;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "PetsByStatus",
    namespaced,
    status = "PetsStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct PetsByStatusSpec {
    #[serde(flatten)]
    pub controls: RunControls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<String>>,
}

static PETS_BY_STATUS: QueryDescriptor = QueryDescriptor {
    kind: "PetsByStatus",
    operation: OperationDescriptor {
        path: "/pet/findByStatus",
        query: &[ParamBinding {
            name: "status",
            field: "status",
        }],
    },
    path_params: &[],
};

impl QueryResource for PetsByStatus {
    type Results = Vec<PetModel>;
    const DESCRIPTOR: &'static QueryDescriptor = &PETS_BY_STATUS;
    fn controls(&self) -> &RunControls {
        &self.spec.controls
    }
    fn query_status(&self) -> Option<&PetsStatus> {
        self.status.as_ref()
    }
}

type AnyStatus = QueryStatus<Value>;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "PetById",
    namespaced,
    status = "AnyStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct PetByIdSpec {
    #[serde(flatten)]
    pub controls: RunControls,
    pub pet_id: i64,
}

static PET_BY_ID: QueryDescriptor = QueryDescriptor {
    kind: "PetById",
    operation: OperationDescriptor {
        path: "/pet/{petId}",
        query: &[],
    },
    path_params: &[ParamBinding {
        name: "petId",
        field: "petId",
    }],
};

impl QueryResource for PetById {
    type Results = Value;
    const DESCRIPTOR: &'static QueryDescriptor = &PET_BY_ID;
    fn controls(&self) -> &RunControls {
        &self.spec.controls
    }
    fn query_status(&self) -> Option<&AnyStatus> {
        self.status.as_ref()
    }
}

// ---------------------------------------------------------------- helpers

async fn env() -> Env {
    Env::start(vec![PetsByStatus::crd(), PetById::crd()], Vec::new(), &[]).await
}

fn pets_query(name: &str, spec: Value) -> PetsByStatus {
    serde_json::from_value(json!({
        "apiVersion": "test.example.com/v1alpha1", "kind": "PetsByStatus",
        "metadata": {"name": name, "namespace": "default"}, "spec": spec,
    }))
    .unwrap()
}

fn pet_query(name: &str, spec: Value) -> PetById {
    serde_json::from_value(json!({
        "apiVersion": "test.example.com/v1alpha1", "kind": "PetById",
        "metadata": {"name": name, "namespace": "default"}, "spec": spec,
    }))
    .unwrap()
}

fn seed_pets(env: &Env) {
    let store = env.petstore.store();
    store.put_pet(json!({"id": 1, "name": "rex", "status": "available", "photoUrls": []}));
    store.put_pet(json!({"id": 2, "name": "tom", "status": "sold", "photoUrls": []}));
    store.put_pet(json!({"id": 3, "name": "kit", "status": "available", "photoUrls": []}));
}

/// Reconciles the stored version of `name` once.
async fn reconcile_stored<K: QueryResource>(env: &Env, api: &Api<K>, name: &str) -> Action {
    let obj = api.get(name).await.unwrap();
    reconcile(Arc::new(obj), env.ctx.clone()).await.unwrap()
}

// ---------------------------------------------------------------- pure parts

fn status_with(state: QueryState, conditions: &[(&str, &str)], last: Option<i64>) -> QueryStatus<Value> {
    QueryStatus {
        state: Some(state),
        observed_generation: Some(1),
        last_execution_time: last.map(|s| Time(at(s))),
        conditions: super_conditions(conditions),
        ..QueryStatus::default()
    }
}

#[test]
fn decide_runs_once_per_generation_or_per_interval() {
    let s = Duration::from_secs;
    let queried = status_with(QueryState::Queried, &[("Ready", "True")], Some(100));
    assert_eq!(decide::<Value>(None, Some(1), None, at(200)), Due::Run);
    assert_eq!(decide(Some(&queried), Some(1), None, at(200)), Due::Idle);
    assert_eq!(
        decide(Some(&queried), Some(2), None, at(200)),
        Due::Run,
        "spec changed"
    );
    assert_eq!(
        decide(Some(&queried), Some(1), Some(s(30)), at(110)),
        Due::Wait(s(20))
    );
    assert_eq!(decide(Some(&queried), Some(1), Some(s(30)), at(130)), Due::Run);
    let querying = status_with(QueryState::Querying, &[], None);
    assert_eq!(
        decide(Some(&querying), Some(1), None, at(0)),
        Due::Run,
        "interrupted run"
    );
    let retrying = status_with(QueryState::Failed, &[("Reconciling", "True")], Some(100));
    assert_eq!(decide(Some(&retrying), Some(1), None, at(101)), Due::Run);
    let stalled = status_with(QueryState::Failed, &[("Stalled", "True")], Some(100));
    assert_eq!(decide(Some(&stalled), Some(1), Some(s(1)), at(500)), Due::Idle);
    let scheduled = status_with(QueryState::Failed, &[("Ready", "False")], Some(100));
    assert_eq!(
        decide(Some(&scheduled), Some(1), Some(s(30)), at(110)),
        Due::Wait(s(20))
    );
    assert_eq!(decide(Some(&scheduled), Some(1), None, at(110)), Due::Idle);
}

#[test]
fn result_counts() {
    assert_eq!(result_count(&json!([1, 2, 3]), false), 3);
    assert_eq!(result_count(&json!({"a": 1}), false), 1);
    assert_eq!(
        result_count(&json!({"items": [1, 2]}), false),
        1,
        "typed objects count as one"
    );
    assert_eq!(result_count(&json!({"items": [1, 2]}), true), 2);
    assert_eq!(result_count(&json!({"data": [1]}), true), 1);
    assert_eq!(result_count(&json!({"results": []}), true), 0);
    assert_eq!(result_count(&json!({"content": [1, 2, 3, 4]}), true), 4);
    assert_eq!(result_count(&json!({"items": "x"}), true), 1);
    assert_eq!(result_count(&Value::Null, true), 0);
    assert_eq!(result_count(&json!("s"), false), 1);
}

#[test]
fn results_redaction_keeps_types_deserializable() {
    let mut v = json!([{"username": "ann", "password": "pw", "sessionCount": 3, "token": null}]);
    redact_results(&mut v);
    assert_eq!(
        v,
        json!([{"username": "ann", "password": crate::redact::REDACTED, "sessionCount": null, "token": null}])
    );
}

// ---------------------------------------------------------------- against real servers

#[tokio::test]
async fn query_returns_the_pets_with_a_status_and_goes_quiet() {
    let env = env().await;
    seed_pets(&env);
    let api: Api<PetsByStatus> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &pets_query("avail", json!({"status": ["available"]})),
    )
    .await
    .unwrap();
    let action = reconcile_stored(&env, &api, "avail").await;
    assert_eq!(action, Action::await_change());
    let status = api.get("avail").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Queried), "{:?}", status.message);
    assert_eq!(status.result_count, Some(2));
    let names: Vec<&str> = status
        .results
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["rex", "kit"]);
    assert_eq!(status.execution_count, Some(1));
    assert_eq!(status.observed_generation, Some(1));
    assert!(status.last_query_time.is_some() && status.last_execution_time.is_some());
    assert_eq!(status.next_execution_time, None, "one-shot");
    assert_eq!(status.responses.len(), 1);
    assert_eq!(status.responses[0].endpoint, env.petstore.base_url());
    assert_eq!(status.responses[0].status_code, Some(200));
    assert!(status.responses[0].success);
    assert_eq!(condition(&status.conditions, "Ready"), "True");
    assert_eq!(condition(&status.conditions, "Stalled"), "False");
    let requests = env.petstore.store().requests();
    let find: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/findByStatus"))
        .collect();
    assert_eq!(find.len(), 1);
    assert_eq!(find[0].query.as_deref(), Some("status=available"));

    // Steady state: another reconcile neither queries nor writes.
    let writes = env.api.stats().writes("petsbystatuses", Some("status"));
    let action = reconcile_stored(&env, &api, "avail").await;
    assert_eq!(action, Action::await_change());
    assert_eq!(
        env.petstore
            .store()
            .request_count("GET", "/api/v3/pet/findByStatus"),
        1
    );
    assert_eq!(env.api.stats().writes("petsbystatuses", Some("status")), writes);

    // A spec change runs it again with the new parameters.
    let patch = json!({"spec": {"status": ["available", "sold"]}});
    api.patch("avail", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    reconcile_stored(&env, &api, "avail").await;
    let status = api.get("avail").await.unwrap().status.unwrap();
    assert_eq!(status.result_count, Some(3));
    assert_eq!(status.observed_generation, Some(2));
    assert_eq!(status.execution_count, Some(2));
    let last = env
        .petstore
        .store()
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/findByStatus"));
    assert_eq!(
        last.unwrap().query.as_deref(),
        Some("status=available&status=sold")
    );
}

#[tokio::test]
async fn periodic_query_runs_again_under_a_controller() {
    let env = env().await;
    seed_pets(&env);
    let api: Api<PetsByStatus> = Api::namespaced(env.client.clone(), "default");
    let spec = json!({"status": ["sold"], "executionInterval": "1s"});
    api.create(&PostParams::default(), &pets_query("tick", spec))
        .await
        .unwrap();
    let controller = tokio::spawn(run::<PetsByStatus>(env.ctx.clone()));
    let status = eventually("three periodic runs", Duration::from_secs(15), || async {
        let status = api.get("tick").await.ok()?.status?;
        (status.execution_count? >= 3).then_some(status)
    })
    .await;
    assert_eq!(status.state, Some(QueryState::Queried));
    assert_eq!(status.result_count, Some(1));
    let next = status
        .next_execution_time
        .expect("periodic queries say when they run next");
    let last = status.last_execution_time.expect("last run");
    assert_eq!(next.0.as_second() - last.0.as_second(), 1);
    assert!(
        env.petstore
            .store()
            .request_count("GET", "/api/v3/pet/findByStatus")
            >= 3
    );
    env.stop_controllers();
    tokio::time::timeout(Duration::from_secs(10), controller)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn missing_pet_fails_with_the_status_code() {
    let env = env().await;
    let api: Api<PetById> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &pet_query("ghost", json!({"petId": 999})))
        .await
        .unwrap();
    let action = reconcile_stored(&env, &api, "ghost").await;
    assert_eq!(action, Action::await_change(), "a 404 is not retried");
    let status = api.get("ghost").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Failed));
    assert!(
        status.message.as_deref().unwrap().contains("404"),
        "{:?}",
        status.message
    );
    assert_eq!(status.responses[0].status_code, Some(404));
    assert!(!status.responses[0].success);
    assert!(status.responses[0].error.is_some());
    assert_eq!(status.results, None);
    assert_eq!(status.execution_count, Some(1));
    assert_eq!(condition(&status.conditions, "Stalled"), "True");
    assert_eq!(env.petstore.store().requests()[0].path, "/api/v3/pet/999");
}

#[tokio::test]
async fn non_json_bodies_are_kept_as_text() {
    let env = env().await;
    let store = env.petstore.store();
    store.inject_fault(Fault::status("/api/v3/pet/findByStatus", 200).body("all pets are asleep"));
    let typed: Api<PetsByStatus> = Api::namespaced(env.client.clone(), "default");
    typed
        .create(&PostParams::default(), &pets_query("text", json!({})))
        .await
        .unwrap();
    reconcile_stored(&env, &typed, "text").await;
    let status = typed.get("text").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Queried));
    assert_eq!(status.results, None);
    assert_eq!(status.responses[0].data, Some(json!("all pets are asleep")));
    assert!(
        status.message.as_deref().unwrap().contains("non-JSON"),
        "{:?}",
        status.message
    );

    // Untyped results take the text itself.
    store.put_pet(json!({"id": 5, "name": "rex", "photoUrls": []}));
    store.inject_fault(Fault::status("/api/v3/pet/5", 200).body("rex, a dog"));
    let untyped: Api<PetById> = Api::namespaced(env.client.clone(), "default");
    untyped
        .create(&PostParams::default(), &pet_query("five", json!({"petId": 5})))
        .await
        .unwrap();
    reconcile_stored(&env, &untyped, "five").await;
    let status = untyped.get("five").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Queried));
    assert_eq!(status.results, Some(json!("rex, a dog")));
    assert_eq!(status.result_count, Some(1));
}

#[tokio::test]
async fn untyped_object_results_count_their_items() {
    let env = env().await;
    env.petstore.store().inject_fault(
        Fault::status("/api/v3/pet/7", 200).body(r#"{"items": [{"a": 1}, {"a": 2}], "total": 2}"#),
    );
    let api: Api<PetById> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &pet_query("page", json!({"petId": 7})))
        .await
        .unwrap();
    reconcile_stored(&env, &api, "page").await;
    let status = api.get("page").await.unwrap().status.unwrap();
    assert_eq!(status.result_count, Some(2));
    assert_eq!(status.results.unwrap()["total"], 2);
}

#[tokio::test]
async fn results_that_do_not_fit_the_type_fail_naming_the_kind() {
    let env = env().await;
    env.petstore.store().inject_fault(
        Fault::status("/api/v3/pet/findByStatus", 200).body(r#"{"not": "a list", "password": "pw"}"#),
    );
    let api: Api<PetsByStatus> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &pets_query("odd", json!({})))
        .await
        .unwrap();
    reconcile_stored(&env, &api, "odd").await;
    let status = api.get("odd").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Failed));
    let message = status.message.unwrap();
    assert!(
        message.contains("PetsByStatus") && message.contains("invalid type"),
        "{message}"
    );
    assert_eq!(
        status.responses[0].data,
        Some(json!({"not": "a list", "password": crate::redact::REDACTED}))
    );
    assert_eq!(status.results, None);
}

#[tokio::test]
async fn server_errors_are_retried_and_then_succeed() {
    let env = env().await;
    seed_pets(&env);
    env.petstore.store().inject_fault(
        Fault::status("/api/v3/pet/findByStatus", 503)
            .times(1)
            .header("Retry-After", "2"),
    );
    let api: Api<PetsByStatus> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &pets_query("flaky", json!({"status": ["sold"]})),
    )
    .await
    .unwrap();
    let action = reconcile_stored(&env, &api, "flaky").await;
    assert_eq!(
        action,
        Action::requeue(Duration::from_secs(2)),
        "Retry-After is honoured"
    );
    let status = api.get("flaky").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Failed));
    assert!(status.message.as_deref().unwrap().contains("503"));
    assert!(status.message.as_deref().unwrap().ends_with("; retrying in 2s"));
    assert_eq!(condition(&status.conditions, "Reconciling"), "True");
    reconcile_stored(&env, &api, "flaky").await;
    let status = api.get("flaky").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Queried));
    assert_eq!(status.execution_count, Some(2));
    assert_eq!(status.result_count, Some(1));
}

#[tokio::test]
async fn paused_queries_send_nothing() {
    let env = env().await;
    let api: Api<PetsByStatus> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &pets_query("held", json!({"paused": true})),
    )
    .await
    .unwrap();
    reconcile_stored(&env, &api, "held").await;
    let status = api.get("held").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Paused));
    assert_eq!(condition(&status.conditions, "Ready"), "False");
    assert!(env.petstore.store().requests().is_empty());
    let writes = env.api.stats().writes("petsbystatuses", Some("status"));
    reconcile_stored(&env, &api, "held").await;
    assert_eq!(
        env.api.stats().writes("petsbystatuses", Some("status")),
        writes,
        "no write when paused again"
    );
}

#[tokio::test]
async fn spec_errors_stall_without_a_request() {
    let env = env().await;
    let api: Api<PetsByStatus> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &pets_query("bad", json!({"executionInterval": "soon"})),
    )
    .await
    .unwrap();
    assert_eq!(reconcile_stored(&env, &api, "bad").await, Action::await_change());
    let status = api.get("bad").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(QueryState::Failed));
    assert!(status.message.unwrap().contains("spec.executionInterval"));
    assert_eq!(condition(&status.conditions, "Stalled"), "True");
    assert!(env.petstore.store().requests().is_empty());
}
