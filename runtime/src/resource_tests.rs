//! Reconciler tests without a cluster: a recording Kubernetes API (tower-test mock) and a loopback Petstore-like backend (axum).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method as HttpMethod, StatusCode, Uri};
use kube::CustomResource;
use kube::runtime::controller::Action;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::context::{Readiness, RetryBackoff};
use crate::controls::ResourceControls;
use crate::endpoint::EndpointResolver;
use crate::http::BackendClient;
use crate::operator::AppInfo;
use crate::traits::{OperationDescriptor, UpdateDescriptor};

// ---------------------------------------------------------------- test kind

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "TestPet",
    namespaced,
    status = "ResourceStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct TestPetSpec {
    #[serde(flatten)]
    pub controls: ResourceControls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

static DESCRIPTOR: ResourceDescriptor = ResourceDescriptor {
    kind: "TestPet",
    id_param: "petId",
    id_field: Some("id"),
    path_params: &[],
    create: Some(OperationDescriptor {
        path: "/pet",
        query: &[],
    }),
    read: OperationDescriptor {
        path: "/pet/{petId}",
        query: &[],
    },
    update: Some(UpdateDescriptor {
        method: UpdateMethod::Put,
        operation: OperationDescriptor {
            path: "/pet",
            query: &[],
        },
    }),
    delete: Some(OperationDescriptor {
        path: "/pet/{petId}",
        query: &[],
    }),
    body_fields: &["id", "name", "available", "tags"],
    read_only_fields: &[],
    ignore_fields: &[],
};

impl RestResource for TestPet {
    const DESCRIPTOR: &'static ResourceDescriptor = &DESCRIPTOR;
    fn controls(&self) -> &ResourceControls {
        &self.spec.controls
    }
}

const APP: AppInfo = AppInfo {
    name: "test-operator",
    group: "test.example.com",
    version: "v1alpha1",
    generator_version: "0.0.0",
};
const FINALIZER: &str = "test.example.com/finalizer";

fn pet(spec: Value) -> TestPet {
    let mut obj: TestPet = serde_json::from_value(json!({
        "apiVersion": "test.example.com/v1alpha1",
        "kind": "TestPet",
        "metadata": {"name": "rex", "namespace": "default", "uid": "uid-rex", "generation": 1,
                     "resourceVersion": "1"},
        "spec": spec,
    }))
    .unwrap();
    obj.status = None;
    obj
}

// ---------------------------------------------------------------- fake Kubernetes API

#[derive(Debug, Clone)]
struct KubeCall {
    method: String,
    path: String,
    content_type: String,
    body: Value,
}

/// Records every Kubernetes API call and answers 200 with the object (or a scripted status).
struct FakeKube {
    calls: Arc<Mutex<Vec<KubeCall>>>,
    /// `events.k8s.io` Event creates, kept apart from `calls`: (reason, type).
    events: Arc<Mutex<Vec<(String, String)>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl FakeKube {
    fn start(obj: &TestPet) -> (kube::Client, Self) {
        let (svc, mut handle) =
            tower_test::mock::pair::<http::Request<kube::client::Body>, http::Response<kube::client::Body>>();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let events = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let answer = serde_json::to_vec(obj).unwrap();
        let (rec, st, ev) = (calls.clone(), statuses.clone(), events.clone());
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                let bytes = body.collect_bytes().await.unwrap();
                if parts.uri.path().starts_with("/apis/events.k8s.io/") {
                    let event: Value = serde_json::from_slice(&bytes).unwrap();
                    ev.lock().unwrap().push((
                        event["reason"].as_str().unwrap_or_default().to_owned(),
                        event["type"].as_str().unwrap_or_default().to_owned(),
                    ));
                    let response = http::Response::builder()
                        .status(201)
                        .body(kube::client::Body::from(bytes.to_vec()))
                        .unwrap();
                    send.send_response(response);
                    continue;
                }
                rec.lock().unwrap().push(KubeCall {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    content_type: parts
                        .headers
                        .get("content-type")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default(),
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                });
                let code = st.lock().unwrap().pop_front().unwrap_or(200);
                let body = if code == 200 {
                    answer.clone()
                } else {
                    serde_json::to_vec(&json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                              "message": "conflict", "reason": "Conflict", "code": code}))
                    .unwrap()
                };
                let response = http::Response::builder()
                    .status(code)
                    .body(kube::client::Body::from(body))
                    .unwrap();
                send.send_response(response);
            }
        });
        (
            kube::Client::new(svc, "default"),
            Self {
                calls,
                events,
                statuses,
            },
        )
    }

    fn events(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.events.lock().unwrap())
    }

    fn take(&self) -> Vec<KubeCall> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

const STATUS_PATH: &str = "/apis/test.example.com/v1alpha1/namespaces/default/testpets/rex/status";
const OBJECT_PATH: &str = "/apis/test.example.com/v1alpha1/namespaces/default/testpets/rex";

// ---------------------------------------------------------------- fake backend

#[derive(Default)]
struct BackendState {
    pets: BTreeMap<String, Value>,
    next_id: i64,
    log: Vec<(String, String, Option<Value>)>,
    /// (method, status, remaining times)
    faults: Vec<(String, u16, u32)>,
}

#[derive(Clone, Default)]
struct FakeBackend(Arc<Mutex<BackendState>>);

impl FakeBackend {
    async fn start() -> (String, Self) {
        let backend = FakeBackend::default();
        backend.0.lock().unwrap().next_id = 1;
        let state = backend.clone();
        let app = axum::Router::new().fallback(move |method: HttpMethod, uri: Uri, body: Bytes| {
            let state = state.clone();
            async move { state.handle(method, uri, body) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/api/v3/"), backend)
    }

    fn handle(&self, method: HttpMethod, uri: Uri, body: Bytes) -> (StatusCode, String) {
        let mut s = self.0.lock().unwrap();
        let body: Option<Value> = serde_json::from_slice(&body).ok();
        s.log.push((method.to_string(), uri.to_string(), body.clone()));
        if let Some(fault) = s.faults.iter_mut().find(|f| f.0 == method.as_str() && f.2 > 0) {
            fault.2 -= 1;
            let code = StatusCode::from_u16(fault.1).unwrap();
            return (
                code,
                json!({"message": format!("injected {}", fault.1)}).to_string(),
            );
        }
        let path = uri.path().strip_prefix("/api/v3").unwrap_or_default();
        let id = path.strip_prefix("/pet/").map(str::to_owned);
        match (method.as_str(), id) {
            ("POST", None) => {
                let mut pet = body.unwrap_or_default();
                let id = match pet.get("id").and_then(Value::as_i64) {
                    Some(id) => id,
                    None => {
                        s.next_id += 1;
                        s.next_id - 1
                    }
                };
                pet["id"] = json!(id);
                pet["createdAt"] = json!("2024-01-01T00:00:00Z");
                s.pets.insert(id.to_string(), pet.clone());
                (StatusCode::OK, pet.to_string())
            }
            ("PUT", None) => {
                let pet = body.unwrap_or_default();
                let id = pet["id"].to_string();
                s.pets.insert(id, pet.clone());
                (StatusCode::OK, pet.to_string())
            }
            ("GET", Some(id)) => match s.pets.get(&id) {
                Some(p) => (StatusCode::OK, p.to_string()),
                None => (
                    StatusCode::NOT_FOUND,
                    json!({"message": "Pet not found"}).to_string(),
                ),
            },
            ("DELETE", Some(id)) => match s.pets.remove(&id) {
                Some(_) => (StatusCode::OK, String::new()),
                None => (StatusCode::NOT_FOUND, String::new()),
            },
            _ => (StatusCode::METHOD_NOT_ALLOWED, "no route".to_owned()),
        }
    }

    fn fault(&self, method: &str, status: u16, times: u32) {
        self.0
            .lock()
            .unwrap()
            .faults
            .push((method.to_owned(), status, times));
    }

    fn log(&self) -> Vec<(String, String, Option<Value>)> {
        std::mem::take(&mut self.0.lock().unwrap().log)
    }

    fn pet(&self, id: &str) -> Option<Value> {
        self.0.lock().unwrap().pets.get(id).cloned()
    }

    fn put_pet(&self, pet: Value) {
        self.0.lock().unwrap().pets.insert(pet["id"].to_string(), pet);
    }
}

// ---------------------------------------------------------------- harness

fn context(client: kube::Client, base_url: &str) -> Arc<Context> {
    Arc::new(Context {
        client: client.clone(),
        app: APP,
        backend: BackendClient::new(Duration::from_secs(5)).unwrap(),
        endpoints: EndpointResolver::new(Some(base_url.to_owned())),
        watch_namespace: None,
        backoff: RetryBackoff::default(),
        readiness: Readiness::default(),
        shutdown: tokio::sync::watch::channel(false).1,
        recorder: crate::events::Recorder::new(client.clone(), APP.name),
        caches: crate::cache::SharedCaches::default(),
        own_writes: crate::reconciler::OwnWrites::default(),
        kinds: Vec::new(),
    })
}

/// Runs one reconcile of `obj` against a fresh fake Kubernetes API and a fresh context.
async fn reconcile_once(obj: &TestPet, base: &str) -> (Action, Vec<KubeCall>) {
    let (client, kube) = FakeKube::start(obj);
    let action = reconcile(Arc::new(obj.clone()), context(client, base))
        .await
        .unwrap();
    (action, kube.take())
}

/// Applies the status merge patches and finalizer JSON patches the reconciler sent, like the API server.
fn apply_calls(obj: &mut TestPet, calls: &[KubeCall]) {
    let mut doc = serde_json::to_value(&*obj).unwrap();
    for call in calls {
        assert_eq!(call.method, "PATCH");
        if call.content_type == "application/json-patch+json" {
            let patch: json_patch::Patch = serde_json::from_value(call.body.clone()).unwrap();
            json_patch::patch(&mut doc, &patch).unwrap();
        } else {
            json_patch::merge(&mut doc, &call.body);
        }
    }
    *obj = serde_json::from_value(doc).unwrap();
}

fn requeue_after(action: &Action) -> Option<Duration> {
    let text = format!("{action:?}");
    let inner = text.split("Some(").nth(1)?.split(')').next()?;
    crate::controls::parse_duration(inner).ok()
}

fn condition<'a>(obj: &'a TestPet, type_: &str) -> &'a str {
    let status = obj.status.as_ref().unwrap();
    &status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap()
        .status
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn create_records_external_id_and_adds_finalizer_after_create() {
    let (base, backend) = FakeBackend::start().await;
    let mut obj = pet(json!({"name": "rex", "available": false, "tags": []}));
    let (action, calls) = reconcile_once(&obj, &base).await;

    let log = backend.log();
    assert_eq!(log.len(), 1, "no id known: straight to create, no GET: {log:?}");
    assert_eq!((log[0].0.as_str(), log[0].1.as_str()), ("POST", "/api/v3/pet"));
    assert_eq!(
        log[0].2,
        Some(json!({"name": "rex", "available": false, "tags": []}))
    );

    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].path, STATUS_PATH);
    assert_eq!(calls[0].content_type, "application/merge-patch+json");
    let status = &calls[0].body["status"];
    assert_eq!(status["externalID"], "1");
    assert_eq!(status["createdByController"], true);
    assert_eq!(status["state"], "Synced");
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["response"]["statusCode"], 200);
    assert!(status["lastSyncTime"].is_string());
    assert_eq!(calls[1].path, OBJECT_PATH);
    assert_eq!(calls[1].content_type, "application/json-patch+json");
    assert_eq!(
        calls[1].body,
        json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
               {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}])
    );
    assert_eq!(action, Action::requeue(Duration::from_secs(30)));

    apply_calls(&mut obj, &calls);
    assert_eq!(
        obj.metadata.finalizers.as_deref(),
        Some(&[FINALIZER.to_owned()][..])
    );
    assert_eq!(condition(&obj, "Ready"), "True");
}

#[tokio::test]
async fn steady_state_causes_no_status_write() {
    let (base, backend) = FakeBackend::start().await;
    let mut obj = pet(json!({"name": "rex", "executionInterval": "1m"}));
    for _ in 0..2 {
        let (_, calls) = reconcile_once(&obj, &base).await;
        apply_calls(&mut obj, &calls);
    }
    backend.log();
    for _ in 0..3 {
        let (action, calls) = reconcile_once(&obj, &base).await;
        assert!(calls.is_empty(), "steady state must not write: {calls:?}");
        assert_eq!(action, Action::requeue(Duration::from_secs(60)));
    }
    let log = backend.log();
    assert_eq!(
        log.iter()
            .map(|l| (l.0.as_str(), l.1.as_str()))
            .collect::<Vec<_>>(),
        [
            ("GET", "/api/v3/pet/1"),
            ("GET", "/api/v3/pet/1"),
            ("GET", "/api/v3/pet/1")
        ]
    );
}

#[tokio::test]
async fn drift_is_corrected_with_put_of_the_merged_body() {
    let (base, backend) = FakeBackend::start().await;
    let mut obj = pet(json!({"name": "rex", "available": false}));
    for _ in 0..2 {
        let (_, calls) = reconcile_once(&obj, &base).await;
        apply_calls(&mut obj, &calls);
    }
    // someone edits the backend object: renames it, flips the flag, the server adds a field
    backend.put_pet(
        json!({"id": 1, "name": "max", "available": true, "createdAt": "2024-01-01T00:00:00Z",
                           "owner": {"id": 9}}),
    );
    backend.log();
    let (_, calls) = reconcile_once(&obj, &base).await;
    let log = backend.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[1].0.as_str(), log[1].1.as_str()), ("PUT", "/api/v3/pet"));
    assert_eq!(
        log[1].2,
        Some(
            json!({"id": 1, "name": "rex", "available": false, "createdAt": "2024-01-01T00:00:00Z",
                    "owner": {"id": 9}})
        )
    );
    assert_eq!(backend.pet("1").unwrap()["available"], false);

    assert_eq!(calls.len(), 1);
    let status = &calls[0].body["status"];
    assert_eq!(status["driftDetectedCount"], 1);
    assert!(status.get("driftDetected").is_none(), "stays false: {status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.contains("/name") && message.contains("/available"),
        "{message}"
    );
    apply_calls(&mut obj, &calls);
    assert_eq!(obj.status.as_ref().unwrap().drift_detected, Some(false));
}

#[tokio::test]
async fn ignored_fields_are_not_drift_and_merge_on_update_false_sends_only_the_spec() {
    let (base, backend) = FakeBackend::start().await;
    let mut obj = pet(json!({"name": "rex", "available": false, "ignoreFields": ["available"]}));
    for _ in 0..2 {
        let (_, calls) = reconcile_once(&obj, &base).await;
        apply_calls(&mut obj, &calls);
    }
    // Only the ignored field changes behind the operator's back: no update.
    backend.put_pet(json!({"id": 1, "name": "rex", "available": true, "owner": {"id": 9}}));
    backend.log();
    let (_, calls) = reconcile_once(&obj, &base).await;
    let log = backend.log();
    assert_eq!(log.len(), 1, "a read only: {log:?}");
    // The new backend data is recorded, but no drift.
    assert!(
        calls
            .iter()
            .all(|c| c.body["status"].get("driftDetectedCount").is_none()
                && c.body["status"].get("driftDetected").is_none()),
        "{calls:?}"
    );
    apply_calls(&mut obj, &calls);

    // A real drift with mergeOnUpdate: false → PUT of the spec's fields only (the server's
    // `owner` is not sent back; the ignored field is still sent as the spec says).
    obj.spec.controls.merge_on_update = Some(false);
    backend.put_pet(json!({"id": 1, "name": "max", "available": true, "owner": {"id": 9}}));
    backend.log();
    reconcile_once(&obj, &base).await;
    let log = backend.log();
    assert_eq!((log[1].0.as_str(), log[1].1.as_str()), ("PUT", "/api/v3/pet"));
    assert_eq!(
        log[1].2,
        Some(json!({"id": 1, "name": "rex", "available": false}))
    );
}

#[tokio::test]
async fn server_error_marks_failed_and_retries_with_growing_backoff() {
    let (base, backend) = FakeBackend::start().await;
    backend.fault("POST", 500, 2);
    let mut obj = pet(json!({"name": "rex"}));
    let (client, kube) = FakeKube::start(&obj);
    let ctx = context(client, &base);

    let action = reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    let first = requeue_after(&action).unwrap();
    assert!(
        first >= Duration::from_millis(800) && first <= Duration::from_millis(1200),
        "{first:?}"
    );
    let calls = kube.take();
    assert_eq!(calls.len(), 1, "status only, no finalizer: {calls:?}");
    apply_calls(&mut obj, &calls);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.state, Some(ResourceState::Failed));
    assert_eq!(status.response.as_ref().unwrap().status_code, Some(500));
    assert_eq!(
        status.response.as_ref().unwrap().error.as_deref(),
        Some("injected 500")
    );
    assert_eq!(condition(&obj, "Reconciling"), "True");
    assert_eq!(condition(&obj, "Stalled"), "False");
    assert_eq!(status.conditions[0].reason, "BackendUnavailable");

    // the same failure again: same status, so no write, and a longer delay
    let action = reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    let second = requeue_after(&action).unwrap();
    assert!(
        second >= Duration::from_millis(1600) && second <= Duration::from_millis(2400),
        "{second:?}"
    );
    assert!(kube.take().is_empty());

    // recovery resets the backoff
    let action = reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(30)));
    assert_eq!(ctx.backoff.attempts("uid-rex"), 0);
    let calls = kube.take();
    assert_eq!(calls.len(), 2, "status + finalizer: {calls:?}");
}

#[tokio::test]
async fn rejected_create_is_terminal() {
    let (base, backend) = FakeBackend::start().await;
    backend.fault("POST", 404, 1);
    let mut obj = pet(json!({"name": "rex"}));
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(action, Action::await_change());
    assert_eq!(calls.len(), 1);
    apply_calls(&mut obj, &calls);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.state, Some(ResourceState::Failed));
    assert_eq!(status.response.as_ref().unwrap().status_code, Some(404));
    assert!(status.message.as_deref().unwrap().contains("injected 404"));
    assert_eq!(status.external_id, None);
    assert_eq!(condition(&obj, "Stalled"), "True");
    assert_eq!(condition(&obj, "Reconciling"), "False");
}

#[tokio::test]
async fn existing_object_is_adopted_without_finalizer() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 0, "name": "zero", "tags": ["a"]}));
    let mut obj = pet(json!({"id": 0, "name": "zero"}));
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(
        backend.log().iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        ["GET"]
    );
    assert_eq!(
        calls.len(),
        1,
        "status only; the operator did not create the object: {calls:?}"
    );
    apply_calls(&mut obj, &calls);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.external_id.as_deref(), Some("0"));
    assert_eq!(status.created_by_controller, Some(false));
    assert_eq!(action, Action::requeue(Duration::from_secs(30)));
}

#[tokio::test]
async fn invalid_interval_is_terminal_without_backend_calls() {
    let (base, backend) = FakeBackend::start().await;
    let mut obj = pet(json!({"name": "rex", "executionInterval": "soon"}));
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert!(backend.log().is_empty());
    assert_eq!(action, Action::await_change());
    apply_calls(&mut obj, &calls);
    assert!(
        obj.status
            .as_ref()
            .unwrap()
            .message
            .as_deref()
            .unwrap()
            .contains("spec.executionInterval")
    );
    assert_eq!(condition(&obj, "Stalled"), "True");
}

fn deleting(mut obj: TestPet, created: bool) -> TestPet {
    obj.metadata.finalizers = Some(vec!["other/keep".to_owned(), FINALIZER.to_owned()]);
    obj.metadata.deletion_timestamp = Some(status::now());
    obj.status = Some(ResourceStatus {
        external_id: Some("7".to_owned()),
        created_by_controller: Some(created),
        ..ResourceStatus::default()
    });
    obj
}

#[tokio::test]
async fn deleting_a_created_object_deletes_it_then_removes_the_finalizer() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 7, "name": "rex"}));
    let obj = deleting(pet(json!({"name": "rex"})), true);
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(
        backend
            .log()
            .iter()
            .map(|l| (l.0.clone(), l.1.clone()))
            .collect::<Vec<_>>(),
        [("DELETE".to_owned(), "/api/v3/pet/7".to_owned())]
    );
    assert_eq!(backend.pet("7"), None);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, OBJECT_PATH);
    assert_eq!(
        calls[0].body,
        json!([{"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
               {"op": "remove", "path": "/metadata/finalizers/1"}])
    );
    assert_eq!(action, Action::await_change());
}

#[tokio::test]
async fn deleting_an_adopted_object_never_deletes_it() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 7, "name": "rex"}));
    let obj = deleting(pet(json!({"id": 7, "name": "rex"})), false);
    let (_, calls) = reconcile_once(&obj, &base).await;
    assert!(backend.log().is_empty());
    assert!(backend.pet("7").is_some());
    assert_eq!(calls.len(), 1, "finalizer removed: {calls:?}");
    assert_eq!(calls[0].body[1]["op"], "remove");
}

#[tokio::test]
async fn failed_backend_delete_keeps_the_finalizer() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 7, "name": "rex"}));
    backend.fault("DELETE", 403, 1);
    let mut obj = deleting(pet(json!({"name": "rex"})), true);
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert!(
        requeue_after(&action).is_some(),
        "retried even for a 4xx: {action:?}"
    );
    assert_eq!(calls.len(), 1, "status only, finalizer kept: {calls:?}");
    assert_eq!(calls[0].path, STATUS_PATH);
    apply_calls(&mut obj, &calls);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.state, Some(ResourceState::Failed));
    assert_eq!(status.response.as_ref().unwrap().status_code, Some(403));
    assert!(backend.pet("7").is_some());
}

#[tokio::test]
async fn status_conflict_is_returned_for_a_quick_requeue() {
    let (base, _backend) = FakeBackend::start().await;
    let obj = pet(json!({"name": "rex"}));
    let (client, kube) = FakeKube::start(&obj);
    kube.statuses.lock().unwrap().push_back(409);
    let ctx = context(client, &base);
    let err = reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(
        error_policy(Arc::new(obj), &err, ctx),
        Action::requeue(Duration::from_secs(1))
    );
}

#[test]
fn trigger_hash_ignores_status_but_sees_spec_deletion_and_finalizers() {
    let obj = pet(json!({"name": "rex"}));
    let base = trigger_hash(&obj);
    let mut status_only = obj.clone();
    status_only.status = Some(ResourceStatus {
        message: Some("x".into()),
        ..Default::default()
    });
    status_only.metadata.resource_version = Some("2".into());
    assert_eq!(trigger_hash(&status_only), base);

    let mut spec = obj.clone();
    spec.metadata.generation = Some(2);
    assert_ne!(trigger_hash(&spec), base);
    let mut deleted = obj.clone();
    deleted.metadata.deletion_timestamp = Some(status::now());
    assert_ne!(trigger_hash(&deleted), base);
    let mut finalized = obj;
    finalized.metadata.finalizers = Some(vec![FINALIZER.into()]);
    assert_ne!(trigger_hash(&finalized), base);
}

#[test]
fn ids_are_rendered_as_path_text() {
    assert_eq!(id_text(&json!(0)), Some("0".into()));
    assert_eq!(id_text(&json!(12.0)), Some("12".into()));
    assert_eq!(id_text(&json!("abc")), Some("abc".into()));
    assert_eq!(id_text(&json!("")), None);
    assert_eq!(response_id(&json!({"ID": 5}), None), Some("5".into()));
    assert_eq!(
        response_id(&json!({"username": "bob", "id": 1}), Some("username")),
        Some("bob".into())
    );
}

#[test]
fn operator_registers_the_kind_and_prints_its_crd() {
    let op = crate::operator::Operator::new(APP)
        .resource::<TestPet>()
        .resource::<TestPet>();
    let yaml = crate::commands::crds_yaml(&op.crds()).unwrap();
    assert_eq!(yaml.matches(crate::crd::CRD_HEADER).count(), 2);
    assert_eq!(yaml.matches("\n---\n").count(), 1, "{yaml}");
    assert!(yaml.contains("name: testpets.test.example.com"));
}

#[tokio::test]
async fn health_endpoints_report_readiness() {
    use tower::ServiceExt;
    let (base, _backend) = FakeBackend::start().await;
    let (client, _kube) = FakeKube::start(&pet(json!({"name": "rex"})));
    let ctx = context(client, &base);
    ctx.readiness.register("TestPet");
    let get = |path: &'static str| {
        let router = crate::commands::health_router(ctx.clone());
        async move {
            let req = http::Request::get(path).body(axum::body::Body::empty()).unwrap();
            router.oneshot(req).await.unwrap().status()
        }
    };
    assert_eq!(get("/healthz").await, StatusCode::OK);
    assert_eq!(get("/readyz").await, StatusCode::SERVICE_UNAVAILABLE);
    ctx.readiness.set_ready("TestPet");
    assert_eq!(get("/readyz").await, StatusCode::OK);
}

// ---------------------------------------------------------------- lifecycle: readOnly, paused, adoption, onDelete

fn methods(backend: &FakeBackend) -> Vec<String> {
    backend.log().into_iter().map(|l| l.0).collect()
}

#[tokio::test]
async fn read_only_observes_existing_object_without_writes_or_finalizer() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 3, "name": "other"}));
    let mut obj = pet(json!({"id": 3, "name": "rex", "readOnly": true}));
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(methods(&backend), ["GET"]);
    assert_eq!(calls.len(), 1, "status only, no finalizer: {calls:?}");
    apply_calls(&mut obj, &calls);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.state, Some(ResourceState::Observed));
    assert_eq!(status.drift_detected, Some(true));
    assert_eq!(status.original_state, None, "observing is not adopting");
    assert_eq!(
        status.response.as_ref().unwrap().data,
        Some(json!({"id": 3, "name": "other"}))
    );
    assert_eq!(condition(&obj, "Ready"), "True");
    assert_eq!(backend.pet("3").unwrap()["name"], "other");
    assert_eq!(action, Action::requeue(Duration::from_secs(30)));
}

#[tokio::test]
async fn read_only_reports_not_found_and_never_creates() {
    let (base, backend) = FakeBackend::start().await;
    let mut obj = pet(json!({"id": 9, "name": "rex", "readOnly": true}));
    let (_, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(methods(&backend), ["GET"]);
    apply_calls(&mut obj, &calls);
    assert_eq!(obj.status.as_ref().unwrap().state, Some(ResourceState::NotFound));
    assert_eq!(condition(&obj, "Ready"), "False");
    assert_eq!(condition(&obj, "Stalled"), "False");
    assert_eq!(backend.pet("9"), None);
}

#[tokio::test]
async fn deleting_a_read_only_cr_never_touches_the_backend() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 7, "name": "rex"}));
    let obj = deleting(
        pet(json!({"name": "rex", "readOnly": true, "onDelete": "Delete"})),
        true,
    );
    let (_, calls) = reconcile_once(&obj, &base).await;
    assert!(backend.log().is_empty());
    assert!(backend.pet("7").is_some());
    assert_eq!(calls.len(), 1, "finalizer removed: {calls:?}");
    assert_eq!(calls[0].body[1]["op"], "remove");
}

#[tokio::test]
async fn paused_observes_drift_but_writes_nothing() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 7, "name": "changed"}));
    let mut obj = pet(json!({"name": "rex", "paused": true}));
    obj.status = Some(ResourceStatus {
        external_id: Some("7".into()),
        created_by_controller: Some(true),
        drift_detected_count: Some(1),
        ..ResourceStatus::default()
    });
    obj.metadata.finalizers = Some(vec![FINALIZER.into()]);
    let (_, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(methods(&backend), ["GET"]);
    assert_eq!(calls.len(), 1, "{calls:?}");
    apply_calls(&mut obj, &calls);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.state, Some(ResourceState::Paused));
    assert_eq!(status.drift_detected, Some(true));
    assert_eq!(status.drift_detected_count, Some(2));
    for c in &status.conditions {
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "Paused"),
            "{c:?}"
        );
    }
    assert_eq!(backend.pet("7").unwrap()["name"], "changed");

    let mut fresh = pet(json!({"name": "new", "paused": true}));
    let (_, calls) = reconcile_once(&fresh, &base).await;
    assert!(backend.log().is_empty(), "paused never creates");
    apply_calls(&mut fresh, &calls);
    assert_eq!(fresh.status.as_ref().unwrap().state, Some(ResourceState::Paused));
}

#[tokio::test]
async fn adoption_records_original_state_once() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 5, "name": "before", "tags": ["x"]}));
    let mut obj = pet(json!({"id": 5, "name": "after"}));
    let (_, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(methods(&backend), ["GET", "PUT"]);
    assert_eq!(
        calls.len(),
        1,
        "status only, default Orphan needs no finalizer: {calls:?}"
    );
    apply_calls(&mut obj, &calls);
    let status = obj.status.clone().unwrap();
    assert_eq!(
        status.original_state,
        Some(json!({"id": 5, "name": "before", "tags": ["x"]}))
    );
    let adopted_at = status.adopted_at.clone().expect("adoptedAt");
    assert_eq!(status.created_by_controller, Some(false));

    backend.put_pet(json!({"id": 5, "name": "third"}));
    let (_, calls) = reconcile_once(&obj, &base).await;
    apply_calls(&mut obj, &calls);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(
        status.original_state,
        Some(json!({"id": 5, "name": "before", "tags": ["x"]}))
    );
    assert_eq!(status.adopted_at, Some(adopted_at));
}

#[tokio::test]
async fn adoption_with_restore_or_explicit_delete_adds_the_finalizer() {
    for policy in ["Restore", "Delete"] {
        let (base, backend) = FakeBackend::start().await;
        backend.put_pet(json!({"id": 5, "name": "rex"}));
        let obj = pet(json!({"id": 5, "name": "rex", "onDelete": policy}));
        let (_, calls) = reconcile_once(&obj, &base).await;
        assert_eq!(calls.len(), 2, "{policy}: status then finalizer: {calls:?}");
        assert_eq!(calls[1].path, OBJECT_PATH);
        assert_eq!(calls[1].body[1]["value"], json!([FINALIZER]));
    }
}

fn adopted_deleting(policy: &str, original: Option<Value>) -> TestPet {
    let mut obj = deleting(pet(json!({"id": 7, "name": "new", "onDelete": policy})), false);
    obj.status.as_mut().unwrap().original_state = original;
    obj
}

#[tokio::test]
async fn on_delete_restore_writes_back_the_original_state() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 7, "name": "new"}));
    let obj = adopted_deleting("Restore", Some(json!({"id": 7, "name": "old"})));
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert_eq!(methods(&backend), ["PUT"]);
    assert_eq!(backend.pet("7").unwrap(), json!({"id": 7, "name": "old"}));
    assert_eq!(calls.len(), 1, "finalizer removed: {calls:?}");
    assert_eq!(action, Action::await_change());

    // Without an original state, Restore orphans.
    let obj = adopted_deleting("Restore", None);
    let (_, calls) = reconcile_once(&obj, &base).await;
    assert!(backend.log().is_empty());
    assert_eq!(calls.len(), 1);
}

#[tokio::test]
async fn failed_restore_keeps_the_finalizer() {
    let (base, backend) = FakeBackend::start().await;
    backend.fault("PUT", 500, 1);
    let obj = adopted_deleting("Restore", Some(json!({"id": 7, "name": "old"})));
    let (action, calls) = reconcile_once(&obj, &base).await;
    assert!(requeue_after(&action).is_some());
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].path, STATUS_PATH);
}

#[tokio::test]
async fn on_delete_decides_the_fate_of_adopted_and_created_objects() {
    let (base, backend) = FakeBackend::start().await;
    backend.put_pet(json!({"id": 7, "name": "rex"}));
    let (_, _) = reconcile_once(&adopted_deleting("Orphan", Some(json!({"id": 7}))), &base).await;
    assert!(backend.log().is_empty());
    let (_, _) = reconcile_once(&adopted_deleting("Delete", Some(json!({"id": 7}))), &base).await;
    assert_eq!(methods(&backend), ["DELETE"]);
    assert_eq!(backend.pet("7"), None);

    backend.put_pet(json!({"id": 7, "name": "rex"}));
    let created = deleting(pet(json!({"name": "rex", "onDelete": "Orphan"})), true);
    let (_, calls) = reconcile_once(&created, &base).await;
    assert!(backend.log().is_empty());
    assert!(backend.pet("7").is_some());
    assert_eq!(calls.len(), 1);
}

#[test]
fn trigger_hash_sees_the_reconcile_request_annotation_only() {
    let obj = pet(json!({"name": "rex"}));
    let base = trigger_hash(&obj);
    let annotated = |key: &str, value: &str| {
        let mut o = obj.clone();
        o.metadata.annotations = Some([(key.to_owned(), value.to_owned())].into());
        trigger_hash(&o)
    };
    assert_eq!(annotated("other/annotation", "x"), base);
    let key = reconcile_request_annotation("test.example.com");
    assert_eq!(key, "test.example.com/reconcile-requested-at");
    let first = annotated(&key, "2024-01-01T00:00:00Z");
    assert_ne!(first, base);
    assert_ne!(annotated(&key, "2024-01-01T00:00:01Z"), first);
}

#[tokio::test]
async fn events_are_published_on_state_transitions_only() {
    let (base, backend) = FakeBackend::start().await;
    let mut obj = pet(json!({"name": "rex"}));
    let (client, kube) = FakeKube::start(&obj);
    let ctx = context(client, &base);
    reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    assert_eq!(kube.events(), [("Synced".to_owned(), "Normal".to_owned())]);
    apply_calls(&mut obj, &kube.take());
    obj.metadata.finalizers = Some(vec![FINALIZER.into()]);
    for _ in 0..3 {
        reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
        assert!(kube.events().is_empty(), "no event without a state change");
        apply_calls(&mut obj, &kube.take());
    }

    backend.fault("GET", 500, 1);
    reconcile(Arc::new(obj.clone()), ctx.clone()).await.unwrap();
    assert_eq!(
        kube.events(),
        [("BackendUnavailable".to_owned(), "Warning".to_owned())]
    );

    obj.metadata.deletion_timestamp = Some(status::now());
    reconcile(Arc::new(obj.clone()), ctx).await.unwrap();
    assert_eq!(kube.events(), [("Deleted".to_owned(), "Normal".to_owned())]);
}
