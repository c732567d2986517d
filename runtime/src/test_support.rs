//! Test fixtures for reconcilers against real servers: the in-process Kubernetes API server (`test-apiserver`) with CRDs installed, the Petstore backend (`petstore-server`), and a [`Context`] wired to both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, PostParams};
use petstore_server::PetstoreServer;
use serde_json::json;
use test_apiserver::TestApiServer;

use crate::context::{Context, Readiness, RetryBackoff};
use crate::endpoint::EndpointResolver;
use crate::http::BackendClient;
use crate::operator::AppInfo;

/// Identity of the test operator.
pub const APP: AppInfo = AppInfo {
    name: "test-operator",
    group: "test.example.com",
    version: "v1alpha1",
    generator_version: "0.0.0",
};

/// A Kubernetes API server, a Petstore backend and a context over both.
pub struct Env {
    pub api: TestApiServer,
    pub client: kube::Client,
    pub petstore: PetstoreServer,
    pub ctx: Arc<Context>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Env {
    /// Starts both servers, installs `crds`, creates `namespaces` (besides `default`) and builds a
    /// context whose aggregate-visible kinds are `kinds`.
    pub async fn start(
        crds: Vec<CustomResourceDefinition>,
        kinds: Vec<ApiResource>,
        namespaces: &[&str],
    ) -> Env {
        crate::http::install_crypto_provider();
        let api = TestApiServer::start().await.expect("starting test-apiserver");
        let config = kube::Config::new(api.url().parse().expect("server url"));
        let client = kube::Client::try_from(config).expect("kube client");
        let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in crds {
            crd_api
                .create(&PostParams::default(), &crd)
                .await
                .expect("creating CRD");
        }
        let ns_api: Api<Namespace> = Api::all(client.clone());
        for ns in namespaces.iter().copied().filter(|ns| *ns != "default") {
            let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
            ns_api
                .create(&PostParams::default(), &namespace)
                .await
                .expect("creating namespace");
        }
        let petstore = PetstoreServer::start().await.expect("starting petstore");
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let ctx = Arc::new(Context {
            client: client.clone(),
            app: APP,
            backend: BackendClient::new(Duration::from_secs(5)).unwrap(),
            endpoints: EndpointResolver::new(Some(petstore.base_url())),
            watch_namespace: None,
            backoff: RetryBackoff::default(),
            readiness: Readiness::default(),
            shutdown: stop_rx,
            recorder: crate::events::Recorder::new(client.clone(), APP.name),
            caches: crate::cache::SharedCaches::default(),
            own_writes: crate::reconciler::OwnWrites::default(),
            kinds,
        });
        Env {
            api,
            client,
            petstore,
            ctx,
            stop,
        }
    }

    /// A fresh context over the same servers, as after an operator restart (no in-memory state).
    pub fn restarted_ctx(&self) -> Arc<Context> {
        let (_, shutdown) = tokio::sync::watch::channel(false);
        Arc::new(Context {
            client: self.client.clone(),
            app: APP,
            backend: BackendClient::new(Duration::from_secs(5)).unwrap(),
            endpoints: EndpointResolver::new(Some(self.petstore.base_url())),
            watch_namespace: None,
            backoff: RetryBackoff::default(),
            readiness: Readiness::default(),
            shutdown,
            recorder: crate::events::Recorder::new(self.client.clone(), APP.name),
            caches: crate::cache::SharedCaches::default(),
            own_writes: crate::reconciler::OwnWrites::default(),
            kinds: self.ctx.kinds.clone(),
        })
    }

    /// Asks every controller started with [`Env::ctx`] to stop.
    pub fn stop_controllers(&self) {
        let _ = self.stop.send(true);
    }
}

/// Polls `probe` every 50 ms until it yields `Some`, panicking with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not met within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The instant `second` seconds after the Unix epoch.
pub fn at(second: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(second).unwrap()
}

/// The status (`True`/`False`/…) of condition `type_`, or `missing`.
pub fn condition_status<'a>(
    conditions: &'a [k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> &'a str {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
        .unwrap_or("missing")
}

/// Conditions of generation 1 from `(type, status)` pairs.
pub fn conditions(pairs: &[(&str, &str)]) -> Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    pairs
        .iter()
        .map(
            |(t, s)| k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: (*t).into(),
                status: (*s).into(),
                reason: "R".into(),
                message: String::new(),
                observed_generation: Some(1),
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(0)),
            },
        )
        .collect()
}
