//! Raw HTTP checks of wire details: Status bodies, media types, discovery documents, Table output.

mod common;

use common::*;
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    install_crypto();
    reqwest::Client::new()
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request sent");
    let code = resp.status().as_u16();
    let body = resp.json().await.expect("JSON body");
    (code, body)
}

#[tokio::test]
async fn status_bodies_and_media_types() {
    let (server, _client, _pets) = with_pets().await;
    let base = format!("{}/apis/{GROUP}/v1/namespaces/default/pets", server.url());
    let http = http();

    let (code, body) = send(http.get(format!("{base}/x"))).await;
    assert_eq!(code, 404);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"pets.petstore.example.com \"x\" not found","reason":"NotFound",
            "details":{"name":"x","group":"petstore.example.com","kind":"pets"},"code":404})
    );

    let pet =
        json!({"apiVersion": format!("{GROUP}/v1"), "kind": "Pet", "metadata": {"name": "x"}, "spec": {}});
    let (code, _) = send(http.post(&base).json(&pet)).await;
    assert_eq!(code, 201);

    let wrong_kind = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "Dog", "metadata": {"name": "y"}});
    assert_eq!(send(http.post(&base).json(&wrong_kind)).await.0, 400);

    let smp = http
        .patch(format!("{base}/x"))
        .header("content-type", "application/strategic-merge-patch+json")
        .body(r#"{"spec":{"a":1}}"#);
    let (code, body) = send(smp).await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );

    let apply = http
        .patch(format!("{base}/x"))
        .header("content-type", "application/apply-patch+yaml")
        .body("apiVersion: petstore.example.com/v1\nkind: Pet\nmetadata:\n  name: x\nspec:\n  a: 1\n");
    let (code, body) = send(apply).await;
    assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(
        body["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );

    let yaml_apply = http
        .patch(format!("{base}/x?fieldManager=me"))
        .header("content-type", "application/apply-patch+yaml")
        .body("apiVersion: petstore.example.com/v1\nkind: Pet\nmetadata:\n  name: x\nspec:\n  a: 1\n");
    let (code, body) = send(yaml_apply).await;
    assert_eq!((code, &body["spec"]), (200, &json!({"a": 1})));

    let (code, body) = send(http.put(format!("{base}/x/scale")).json(&pet)).await;
    assert_eq!((code, body["reason"].as_str()), (404, Some("NotFound")));
    assert_eq!(send(http.post(format!("{base}/x")).json(&pet)).await.0, 405);

    // DELETE of a custom resource returns the object.
    let (code, body) = send(http.delete(format!("{base}/x"))).await;
    assert_eq!((code, body["kind"].as_str()), (200, Some("Pet")));
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_documents() {
    let (server, _client, _pets) = with_pets().await;
    let http = http();
    let url = server.url();
    let (_, version) = send(http.get(format!("{url}/version"))).await;
    assert_eq!(version["gitVersion"], "v1.33.0");
    let (_, api) = send(http.get(format!("{url}/api"))).await;
    assert_eq!(api["versions"], json!(["v1"]));

    let aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let resp = http
        .get(format!("{url}/apis"))
        .header("accept", aggregated)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "application/json",
        "legacy discovery for kubectl to fall back to"
    );
    let groups: Value = resp.json().await.unwrap();
    assert_eq!(groups["kind"], "APIGroupList");
    let pets_group = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == GROUP)
        .cloned()
        .unwrap();
    assert_eq!(
        pets_group["preferredVersion"]["groupVersion"],
        format!("{GROUP}/v1")
    );

    let (_, list) = send(http.get(format!("{url}/apis/{GROUP}/v1"))).await;
    let resources = list["resources"].as_array().unwrap();
    let pets = resources.iter().find(|r| r["name"] == "pets").unwrap();
    assert_eq!(pets["singularName"], "pet");
    assert_eq!(pets["namespaced"], true);
    assert_eq!(pets["shortNames"], json!(["pt"]));
    assert_eq!(pets["categories"], json!(["all"]));
    assert!(resources.iter().any(|r| r["name"] == "pets/status"));

    let (_, core) = send(http.get(format!("{url}/api/v1"))).await;
    let names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    for expected in [
        "namespaces",
        "configmaps",
        "secrets",
        "pods",
        "pods/status",
        "services",
        "serviceaccounts",
        "events",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    assert_eq!(
        send(http.get(format!("{url}/apis/nope.example.com/v1"))).await.0,
        404
    );
    server.shutdown().await;
}

#[tokio::test]
async fn table_output_uses_printer_columns() {
    let (server, _client, pets) = with_pets().await;
    pets.create(&kube::api::PostParams::default(), &pet("a", json!({}), json!({})))
        .await
        .unwrap();
    pets.patch_status(
        "a",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"status": {"state": "Ready"}})),
    )
    .await
    .unwrap();
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let resp = http()
        .get(format!(
            "{}/apis/{GROUP}/v1/namespaces/default/pets",
            server.url()
        ))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let table: Value = resp.json().await.unwrap();
    assert_eq!(table["kind"], "Table");
    let headers: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(headers, ["Name", "State"]);
    assert_eq!(table["rows"][0]["cells"], json!(["a", "Ready"]));
    assert_eq!(table["rows"][0]["object"]["metadata"]["name"], "a");
    server.shutdown().await;
}

#[tokio::test]
async fn reads_do_not_count_as_writes() {
    let (server, _client, pets) = with_pets().await;
    server.reset_stats();
    pets.list(&Default::default()).await.unwrap();
    let _ = pets.get("missing").await;
    let stats = server.stats();
    assert_eq!(stats.total_writes(), 0);
    assert_eq!(stats.total_reads(), 2);
    server.shutdown().await;
}
