//! Shared fixtures for the test-apiserver integration tests: a server, a kube client, the Pet CRD.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::{Client, Config};
use serde_json::{Value, json};
use test_apiserver::TestApiServer;

/// Group of the test CRD.
pub const GROUP: &str = "petstore.example.com";

/// Installs the process-wide rustls provider (idempotent).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A kube client talking to `server`.
pub fn client(server: &TestApiServer) -> Client {
    install_crypto();
    let config = Config::new(server.url().parse().expect("server url is a valid URI"));
    Client::try_from(config).expect("building kube client")
}

/// The Pet CRD (namespaced, status subresource, short name `pt`, printer column).
pub fn pet_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "pets.petstore.example.com"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": "pets", "singular": "pet", "kind": "Pet", "shortNames": ["pt"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "State", "type": "string", "jsonPath": ".status.state"}],
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    })
}

/// ApiResource for pets.
pub fn pet_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1", "Pet"), "pets")
}

/// Starts a server with the Pet CRD installed; returns the server, a client and the pets API in `default`.
pub async fn with_pets() -> (TestApiServer, Client, Api<DynamicObject>) {
    let server = TestApiServer::start().await.expect("starting server");
    let client = client(&server);
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(pet_crd()).expect("valid CRD");
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("creating CRD");
    let pets = Api::namespaced_with(client.clone(), "default", &pet_resource());
    (server, client, pets)
}

/// A Pet object.
pub fn pet(name: &str, labels: Value, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": format!("{GROUP}/v1"),
        "kind": "Pet",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }))
    .expect("valid pet")
}

/// The `Status` of a kube API error.
pub fn api_error(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Polls `probe` every 20 ms until it yields `Some`, panicking after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not met within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
