//! Action reconciler tests: pure decisions, plus reconciles against the in-process Kubernetes API server and the Petstore backend (uploads, createWithList, at-most-once across restarts, payload sources).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{CustomResource, CustomResourceExt};
use petstore_server::Fault;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::*;
use crate::controls::{BinaryPayload, RunControls};
use crate::test_support::{Env, at, condition_status as cond, conditions as super_conditions, eventually};
use crate::traits::{ActionDescriptor, ActionMethod, OperationDescriptor, ParamBinding};

// ---------------------------------------------------------------- test kinds

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "UploadOctet",
    namespaced,
    status = "ActionStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct UploadOctetSpec {
    #[serde(flatten)]
    pub controls: RunControls,
    pub pet_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_metadata: Option<String>,
    #[serde(flatten)]
    pub payload: BinaryPayload,
}

static UPLOAD_OCTET: ActionDescriptor = ActionDescriptor {
    kind: "UploadOctet",
    method: ActionMethod::Post,
    operation: OperationDescriptor {
        path: "/pet/{petId}/uploadImage",
        query: &[ParamBinding {
            name: "additionalMetadata",
            field: "additionalMetadata",
        }],
    },
    path_params: &[ParamBinding {
        name: "petId",
        field: "petId",
    }],
    body: ActionBody::OctetStream,
};

impl ActionResource for UploadOctet {
    const DESCRIPTOR: &'static ActionDescriptor = &UPLOAD_OCTET;
    fn controls(&self) -> &RunControls {
        &self.spec.controls
    }
    fn payload(&self) -> Option<&BinaryPayload> {
        Some(&self.spec.payload)
    }
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "UploadForm",
    namespaced,
    status = "ActionStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct UploadFormSpec {
    #[serde(flatten)]
    pub controls: RunControls,
    pub pet_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_metadata: Option<String>,
    #[serde(flatten)]
    pub payload: BinaryPayload,
}

static UPLOAD_FORM: ActionDescriptor = ActionDescriptor {
    kind: "UploadForm",
    method: ActionMethod::Post,
    operation: OperationDescriptor {
        path: "/pet/{petId}/uploadImage",
        query: &[],
    },
    path_params: &[ParamBinding {
        name: "petId",
        field: "petId",
    }],
    body: ActionBody::Multipart {
        file_part: "file",
        fields: &["additionalMetadata"],
    },
};

impl ActionResource for UploadForm {
    const DESCRIPTOR: &'static ActionDescriptor = &UPLOAD_FORM;
    fn controls(&self) -> &RunControls {
        &self.spec.controls
    }
    fn payload(&self) -> Option<&BinaryPayload> {
        Some(&self.spec.payload)
    }
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.example.com",
    version = "v1alpha1",
    kind = "CreateUsers",
    namespaced,
    status = "ActionStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct CreateUsersSpec {
    #[serde(flatten)]
    pub controls: RunControls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub users: Option<Vec<Value>>,
}

static CREATE_USERS: ActionDescriptor = ActionDescriptor {
    kind: "CreateUsers",
    method: ActionMethod::Post,
    operation: OperationDescriptor {
        path: "/user/createWithList",
        query: &[],
    },
    path_params: &[],
    body: ActionBody::JsonField { field: "users" },
};

impl ActionResource for CreateUsers {
    const DESCRIPTOR: &'static ActionDescriptor = &CREATE_USERS;
    fn controls(&self) -> &RunControls {
        &self.spec.controls
    }
}

// ---------------------------------------------------------------- helpers

async fn env() -> Env {
    Env::start(
        vec![UploadOctet::crd(), UploadForm::crd(), CreateUsers::crd()],
        Vec::new(),
        &[],
    )
    .await
}

fn object<K: serde::de::DeserializeOwned>(kind: &str, name: &str, spec: Value) -> K {
    serde_json::from_value(json!({
        "apiVersion": "test.example.com/v1alpha1", "kind": kind,
        "metadata": {"name": name, "namespace": "default"}, "spec": spec,
    }))
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Bytes that are not UTF-8 and contain CRLF and dashes.
fn image_bytes() -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00];
    bytes.extend_from_slice(b"\r\n--not-a-boundary\r\n");
    bytes.extend((0..=255u8).rev());
    bytes
}

async fn reconcile_with(
    actx: &Arc<ActionContext>,
    api: &Api<impl ActionResource>,
    name: &str,
) -> Result<Action> {
    let obj = api.get(name).await.unwrap();
    reconcile(Arc::new(obj), actx.clone()).await
}

fn upload_requests(env: &Env) -> usize {
    env.petstore
        .store()
        .request_count("POST", "/api/v3/pet/1/uploadImage")
}

// ---------------------------------------------------------------- pure parts

fn status_with(state: ActionState, conditions: &[(&str, &str)], last: Option<i64>) -> ActionStatus {
    ActionStatus {
        state: Some(state),
        observed_generation: Some(1),
        last_execution_time: last.map(|s| Time(at(s))),
        conditions: super_conditions(conditions),
        ..ActionStatus::default()
    }
}

#[test]
fn decide_runs_at_most_once_per_generation() {
    let s = Duration::from_secs;
    assert_eq!(decide(None, Some(1), None, at(0)), Decision::Run);
    let done = status_with(ActionState::Completed, &[("Ready", "True")], Some(100));
    assert_eq!(decide(Some(&done), Some(1), None, at(10_000)), Decision::Idle);
    assert_eq!(
        decide(Some(&done), Some(2), None, at(101)),
        Decision::Run,
        "new generation"
    );
    assert_eq!(
        decide(Some(&done), Some(1), Some(s(60)), at(130)),
        Decision::Wait(s(30))
    );
    assert_eq!(decide(Some(&done), Some(1), Some(s(60)), at(160)), Decision::Run);
    let executing = status_with(ActionState::Executing, &[("Reconciling", "True")], None);
    assert_eq!(
        decide(Some(&executing), Some(1), None, at(0)),
        Decision::Interrupted
    );
    assert_eq!(
        decide(Some(&executing), Some(1), Some(s(1)), at(0)),
        Decision::Interrupted
    );
    assert_eq!(
        decide(Some(&executing), Some(2), None, at(0)),
        Decision::Run,
        "spec changed meanwhile"
    );
    let sent_and_failed = status_with(ActionState::Failed, &[("Stalled", "True")], Some(100));
    assert_eq!(
        decide(Some(&sent_and_failed), Some(1), None, at(10_000)),
        Decision::Idle
    );
    let periodic_failed = status_with(ActionState::Failed, &[("Ready", "False")], Some(100));
    assert_eq!(
        decide(Some(&periodic_failed), Some(1), Some(s(60)), at(200)),
        Decision::Run
    );
    assert_eq!(
        decide(Some(&periodic_failed), Some(1), None, at(200)),
        Decision::Idle
    );
    let not_sent = status_with(ActionState::Failed, &[("Reconciling", "True")], None);
    assert_eq!(
        decide(Some(&not_sent), Some(1), None, at(0)),
        Decision::Run,
        "nothing was sent"
    );
}

#[tokio::test]
async fn connection_failures_count_as_not_sent_other_errors_as_sent() {
    crate::http::install_crypto_provider();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = crate::http::BackendClient::new(Duration::from_secs(2)).unwrap();
    let err = client
        .send_raw(Method::Post, &format!("http://127.0.0.1:{port}/x"), None)
        .await
        .unwrap_err();
    assert!(nothing_sent(&err), "{err:?}");
    // A server that reads the request and hangs up without answering: it may have acted on it.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut socket, _) = server.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await;
    });
    let err = client
        .send_raw(Method::Post, &format!("http://{addr}/x"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BackendUnreachable { .. }), "{err:?}");
    assert!(!nothing_sent(&err), "{err:?}");
    let rejected = Error::from_status("POST", "u", 503, "down".into());
    assert!(!nothing_sent(&rejected));
    assert!(!nothing_sent(&Error::bad_spec("spec.data", "x")));
}

// ---------------------------------------------------------------- against real servers

#[tokio::test]
async fn multipart_upload_is_stored_and_never_repeated() {
    let env = env().await;
    let store = env.petstore.store();
    store.put_pet(json!({"id": 1, "name": "rex", "photoUrls": []}));
    let api: Api<UploadForm> = Api::namespaced(env.client.clone(), "default");
    let bytes = image_bytes();
    let spec = json!({"petId": 1, "additionalMetadata": "front view", "data": b64(&bytes),
                      "contentType": "image/png", "filename": "rex.png"});
    api.create(&PostParams::default(), &object("UploadForm", "photo", spec))
        .await
        .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    assert_eq!(
        reconcile_with(&actx, &api, "photo").await.unwrap(),
        Action::await_change()
    );

    assert_eq!(store.pet_images(1), vec![(Some("front view".to_owned()), bytes)]);
    let request = store
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/uploadImage"))
        .unwrap();
    assert!(
        request
            .content_type
            .as_deref()
            .unwrap()
            .starts_with("multipart/form-data; boundary="),
        "{request:?}"
    );
    assert_eq!(request.query, None, "nothing in the query string");
    let status = api.get("photo").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(ActionState::Completed), "{:?}", status.message);
    let result = status.result.unwrap();
    assert!(result.success);
    assert_eq!(result.status_code, Some(200));
    assert!(
        result.data.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("front view")
    );
    assert!(status.executed_at.is_some() && status.completed_at.is_some());
    assert_eq!(status.last_execution_time, status.completed_at);
    assert_eq!(status.execution_count, Some(1));
    assert_eq!((status.success_count, status.total_endpoints), (Some(1), Some(1)));
    assert_eq!(status.responses[0].endpoint, env.petstore.base_url());
    assert_eq!(status.next_execution_time, None);
    assert_eq!(cond(&status.conditions, "Ready"), "True");

    // A second reconcile (e.g. after a status update or an annotation change) sends nothing and
    // writes nothing.
    let writes = env.api.stats().writes("uploadforms", Some("status"));
    assert_eq!(
        reconcile_with(&actx, &api, "photo").await.unwrap(),
        Action::await_change()
    );
    // Nor does a fresh controller after an operator restart.
    let restarted = Arc::new(ActionContext::new(env.restarted_ctx()));
    assert_eq!(
        reconcile_with(&restarted, &api, "photo").await.unwrap(),
        Action::await_change()
    );
    assert_eq!(upload_requests(&env), 1);
    assert_eq!(env.api.stats().writes("uploadforms", Some("status")), writes);

    // A spec change is a new generation: it runs once more.
    let patch = json!({"spec": {"additionalMetadata": "side view"}});
    api.patch("photo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    reconcile_with(&actx, &api, "photo").await.unwrap();
    assert_eq!(upload_requests(&env), 2);
    assert_eq!(store.pet_images(1)[1].0.as_deref(), Some("side view"));
    let status = api.get("photo").await.unwrap().status.unwrap();
    assert_eq!(
        (status.observed_generation, status.execution_count),
        (Some(2), Some(2))
    );
}

#[tokio::test]
async fn octet_stream_upload_reads_config_maps() {
    let env = env().await;
    let store = env.petstore.store();
    store.put_pet(json!({"id": 1, "name": "rex", "photoUrls": []}));
    let bytes = image_bytes();
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "pics", "namespace": "default"},
        "binaryData": {"rex.png": b64(&bytes)},
        "data": {"note.txt": "plain text"},
    }))
    .unwrap();
    Api::<ConfigMap>::namespaced(env.client.clone(), "default")
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    let api: Api<UploadOctet> = Api::namespaced(env.client.clone(), "default");
    let spec = json!({"petId": 1, "additionalMetadata": "from a configmap",
                      "dataFrom": {"configMapKeyRef": {"name": "pics", "key": "rex.png"}}});
    api.create(&PostParams::default(), &object("UploadOctet", "binary", spec))
        .await
        .unwrap();
    let spec = json!({"petId": 1, "contentType": "text/plain",
                      "dataFrom": {"configMapKeyRef": {"name": "pics", "key": "note.txt"}}});
    api.create(&PostParams::default(), &object("UploadOctet", "text", spec))
        .await
        .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    reconcile_with(&actx, &api, "binary").await.unwrap();
    reconcile_with(&actx, &api, "text").await.unwrap();

    let images = store.pet_images(1);
    assert_eq!(images[0], (Some("from a configmap".to_owned()), bytes));
    assert_eq!(images[1], (None, b"plain text".to_vec()));
    let requests: Vec<_> = store
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/uploadImage"))
        .collect();
    assert_eq!(
        requests[0].query.as_deref(),
        Some("additionalMetadata=from%20a%20configmap")
    );
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(requests[1].content_type.as_deref(), Some("text/plain"));
    for name in ["binary", "text"] {
        let status = api.get(name).await.unwrap().status.unwrap();
        assert_eq!(
            status.state,
            Some(ActionState::Completed),
            "{name}: {:?}",
            status.message
        );
    }
}

#[tokio::test]
async fn missing_secret_fails_naming_it_and_is_retried_once_it_exists() {
    let env = env().await;
    env.petstore
        .store()
        .put_pet(json!({"id": 1, "name": "rex", "photoUrls": []}));
    let api: Api<UploadOctet> = Api::namespaced(env.client.clone(), "default");
    let spec = json!({"petId": 1, "dataFrom": {"secretKeyRef": {"name": "creds", "key": "blob"}}});
    api.create(&PostParams::default(), &object("UploadOctet", "secret", spec))
        .await
        .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    let action = reconcile_with(&actx, &api, "secret").await.unwrap();
    assert_ne!(
        action,
        Action::await_change(),
        "nothing was sent: retried with backoff"
    );
    let status = api.get("secret").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(ActionState::Failed));
    let message = status.message.clone().unwrap();
    assert!(
        message.contains(r#"secret "creds" not found in namespace "default""#),
        "{message}"
    );
    assert_eq!(cond(&status.conditions, "Reconciling"), "True");
    assert_eq!(status.execution_count, None, "no run happened");
    assert_eq!(upload_requests(&env), 0);

    // The same failure again writes nothing new.
    let writes = env.api.stats().writes("uploadoctets", Some("status"));
    reconcile_with(&actx, &api, "secret").await.unwrap();
    assert_eq!(env.api.stats().writes("uploadoctets", Some("status")), writes);

    // A missing key is named too.
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds", "namespace": "default"},
        "data": {"other": b64(b"x")},
    }))
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), "default");
    secrets.create(&PostParams::default(), &secret).await.unwrap();
    reconcile_with(&actx, &api, "secret").await.unwrap();
    let message = api.get("secret").await.unwrap().status.unwrap().message.unwrap();
    assert!(
        message.contains(r#"key "blob" not found in secret "creds""#),
        "{message}"
    );

    let patch = json!({"data": {"blob": b64(b"secret bytes")}});
    secrets
        .patch("creds", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    reconcile_with(&actx, &api, "secret").await.unwrap();
    let status = api.get("secret").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(ActionState::Completed), "{:?}", status.message);
    assert_eq!(
        env.petstore.store().pet_images(1),
        vec![(None, b"secret bytes".to_vec())]
    );
}

#[tokio::test]
async fn bad_payloads_are_terminal_and_name_the_fields() {
    let env = env().await;
    let api: Api<UploadOctet> = Api::namespaced(env.client.clone(), "default");
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    for (name, spec, expected) in [
        ("b64", json!({"petId": 1, "data": "%%%"}), "spec.data"),
        (
            "none",
            json!({"petId": 1}),
            "spec.data, spec.dataFrom, spec.dataURL",
        ),
        (
            "two",
            json!({"petId": 1, "data": "aGk=", "dataURL": "http://x"}),
            "spec.data and spec.dataURL",
        ),
    ] {
        api.create(&PostParams::default(), &object("UploadOctet", name, spec))
            .await
            .unwrap();
        let action = reconcile_with(&actx, &api, name).await.unwrap();
        assert_eq!(action, Action::await_change(), "{name}");
        let status = api.get(name).await.unwrap().status.unwrap();
        assert_eq!(status.state, Some(ActionState::Failed), "{name}");
        assert!(
            status.message.as_deref().unwrap().contains(expected),
            "{name}: {:?}",
            status.message
        );
        assert_eq!(cond(&status.conditions, "Stalled"), "True", "{name}");
    }
    assert!(env.petstore.store().requests().is_empty());
}

#[tokio::test]
async fn data_url_payloads_are_fetched() {
    let env = env().await;
    let store = env.petstore.store();
    store.put_pet(json!({"id": 1, "name": "rex", "photoUrls": []}));
    store.put_pet(json!({"id": 2, "name": "tom", "photoUrls": []}));
    // Seed pet 2 with an image, then upload it to pet 1 through its URL.
    let seed = Api::<UploadOctet>::namespaced(env.client.clone(), "default");
    let bytes = image_bytes();
    let spec = json!({"petId": 2, "data": b64(&bytes)});
    seed.create(&PostParams::default(), &object("UploadOctet", "seed", spec))
        .await
        .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    reconcile_with(&actx, &seed, "seed").await.unwrap();
    let url = format!("http://{}/images/2/1", env.petstore.addr());
    let spec = json!({"petId": 1, "dataURL": url});
    seed.create(&PostParams::default(), &object("UploadOctet", "by-url", spec))
        .await
        .unwrap();
    reconcile_with(&actx, &seed, "by-url").await.unwrap();
    assert_eq!(store.pet_images(1), vec![(None, bytes)]);
}

#[tokio::test]
async fn create_with_list_creates_every_user() {
    let env = env().await;
    let api: Api<CreateUsers> = Api::namespaced(env.client.clone(), "default");
    let users = json!([
        {"id": 1, "username": "ann", "password": "pw-a", "userStatus": 0},
        {"id": 2, "username": "bob", "password": "pw-b", "userStatus": 1},
        {"id": 3, "username": "cid", "password": "pw-c"},
    ]);
    api.create(
        &PostParams::default(),
        &object("CreateUsers", "team", json!({"users": users})),
    )
    .await
    .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    reconcile_with(&actx, &api, "team").await.unwrap();
    let store = env.petstore.store();
    for (name, password) in [("ann", "pw-a"), ("bob", "pw-b"), ("cid", "pw-c")] {
        let user = store.user(name).unwrap_or_else(|| panic!("{name} not created"));
        assert_eq!(user["password"], password);
    }
    let request = store
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/createWithList"))
        .unwrap();
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let status = api.get("team").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(ActionState::Completed));
    let data = status.result.unwrap().data.unwrap();
    assert_eq!(
        data["password"],
        crate::redact::REDACTED,
        "backend data is redacted: {data}"
    );
}

#[tokio::test]
async fn an_action_executing_at_restart_is_marked_failed_not_resent() {
    let env = env().await;
    let api: Api<CreateUsers> = Api::namespaced(env.client.clone(), "default");
    let users = json!([{"username": "ann"}]);
    api.create(
        &PostParams::default(),
        &object("CreateUsers", "crashed", json!({"users": users})),
    )
    .await
    .unwrap();
    // The previous operator process claimed the run and died before recording its outcome.
    let status = json!({"status": {"state": "Executing", "observedGeneration": 1,
                                   "executedAt": "2026-01-02T03:04:05Z", "executionCount": 4}});
    api.patch_status("crashed", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    let actx = Arc::new(ActionContext::new(env.restarted_ctx()));
    assert_eq!(
        reconcile_with(&actx, &api, "crashed").await.unwrap(),
        Action::await_change()
    );
    assert!(env.petstore.store().requests().is_empty(), "not resent");
    let status = api.get("crashed").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(ActionState::Failed));
    let message = status.message.unwrap();
    assert!(
        message.contains("unknown") && message.contains("operator stopped"),
        "{message}"
    );
    assert!(status.result.unwrap().error.unwrap().contains("outcome unknown"));
    assert_eq!(status.execution_count, Some(5));
    assert_eq!(
        status.last_execution_time.unwrap().0.to_string(),
        "2026-01-02T03:04:05Z"
    );
    assert_eq!(cond(&status.conditions, "Stalled"), "True");
    // And it stays that way.
    reconcile_with(&actx, &api, "crashed").await.unwrap();
    assert!(env.petstore.store().requests().is_empty());
}

#[tokio::test]
async fn failures_after_sending_are_not_retried() {
    let env = env().await;
    env.petstore
        .store()
        .inject_fault(Fault::status("/api/v3/user/createWithList", 503).times(1));
    let api: Api<CreateUsers> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &object("CreateUsers", "once", json!({"users": [{"username": "x"}]})),
    )
    .await
    .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    assert_eq!(
        reconcile_with(&actx, &api, "once").await.unwrap(),
        Action::await_change()
    );
    reconcile_with(&actx, &api, "once").await.unwrap();
    let store = env.petstore.store();
    assert_eq!(store.request_count("POST", "/api/v3/user/createWithList"), 1);
    assert!(store.user("x").is_none());
    let status = api.get("once").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(ActionState::Failed));
    assert!(status.message.as_deref().unwrap().contains("503"));
    assert!(status.message.as_deref().unwrap().contains("not sent again"));
    let result = status.result.unwrap();
    assert_eq!((result.success, result.status_code), (false, Some(503)));
    assert_eq!(status.execution_count, Some(1));
    assert_eq!(cond(&status.conditions, "Stalled"), "True");
}

#[tokio::test]
async fn unreachable_backends_are_retried_because_nothing_was_sent() {
    let env = env().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let api: Api<CreateUsers> = Api::namespaced(env.client.clone(), "default");
    let spec = json!({"users": [{"username": "y"}], "target": {"baseURL": closed}});
    api.create(&PostParams::default(), &object("CreateUsers", "offline", spec))
        .await
        .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    let action = reconcile_with(&actx, &api, "offline").await.unwrap();
    assert_ne!(action, Action::await_change());
    let status = api.get("offline").await.unwrap().status.unwrap();
    assert_eq!(status.state, Some(ActionState::Failed));
    assert!(
        status.message.as_deref().unwrap().contains("nothing was sent"),
        "{:?}",
        status.message
    );
    assert_eq!(cond(&status.conditions, "Reconciling"), "True");
    assert_eq!(status.execution_count, None);
    assert_eq!(
        decide(Some(&status), Some(1), None, jiff::Timestamp::now()),
        Decision::Run,
        "the next reconcile retries"
    );
}

#[tokio::test]
async fn a_stale_object_cannot_claim_a_run() {
    let env = env().await;
    let api: Api<CreateUsers> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &object("CreateUsers", "stale", json!({"users": [{"username": "z"}]})),
    )
    .await
    .unwrap();
    let stale = api.get("stale").await.unwrap();
    let labels = json!({"metadata": {"labels": {"touched": "yes"}}});
    api.patch("stale", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .unwrap();
    let actx = Arc::new(ActionContext::new(env.ctx.clone()));
    let err = reconcile(Arc::new(stale), actx.clone()).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(
        env.petstore.store().requests().is_empty(),
        "nothing sent on a failed claim"
    );
    reconcile_with(&actx, &api, "stale").await.unwrap();
    assert!(env.petstore.store().user("z").is_some());
}

#[tokio::test]
async fn periodic_action_runs_every_interval_under_a_controller() {
    let env = env().await;
    let api: Api<CreateUsers> = Api::namespaced(env.client.clone(), "default");
    let spec = json!({"users": [{"username": "tick"}], "executionInterval": "1s"});
    api.create(&PostParams::default(), &object("CreateUsers", "cron", spec))
        .await
        .unwrap();
    let controller = tokio::spawn(run::<CreateUsers>(env.ctx.clone()));
    let status = eventually("three periodic runs", Duration::from_secs(15), || async {
        let status = api.get("cron").await.ok()?.status?;
        (status.execution_count? >= 3).then_some(status)
    })
    .await;
    assert!(status.next_execution_time.is_some());
    let sent = env
        .petstore
        .store()
        .request_count("POST", "/api/v3/user/createWithList");
    let count = usize::try_from(status.execution_count.unwrap()).unwrap();
    assert!(sent >= count, "{sent} requests for {count} runs");
    env.stop_controllers();
    tokio::time::timeout(Duration::from_secs(10), controller)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn one_shot_action_runs_once_under_a_controller() {
    let env = env().await;
    let api: Api<CreateUsers> = Api::namespaced(env.client.clone(), "default");
    api.create(
        &PostParams::default(),
        &object("CreateUsers", "single", json!({"users": [{"username": "s"}]})),
    )
    .await
    .unwrap();
    let controller = tokio::spawn(run::<CreateUsers>(env.ctx.clone()));
    eventually("completed", Duration::from_secs(10), || async {
        let status = api.get("single").await.ok()?.status?;
        (status.state == Some(ActionState::Completed)).then_some(())
    })
    .await;
    env.stop_controllers();
    tokio::time::timeout(Duration::from_secs(10), controller)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // A second controller (an operator restart) on the completed object sends nothing either.
    let restarted = env.restarted_ctx();
    let actx = Arc::new(ActionContext::new(restarted));
    reconcile_with(&actx, &api, "single").await.unwrap();
    assert_eq!(
        env.petstore
            .store()
            .request_count("POST", "/api/v3/user/createWithList"),
        1
    );
}
