//! End-to-end: the generated Petstore operators' Query, Action and Aggregate kinds against a real petstore-server.
//!
//! Runs against the in-repo test API server, or a real cluster when `E2E_KUBECONFIG` is set.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use integration_tests::petstore::*;
use integration_tests::workspace_binary;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use petstore_server::Fault;
use serde_json::{Value, json};

fn pet(id: i64, name: &str, status: &str) -> Value {
    json!({"id": id, "name": name, "photoUrls": [], "status": status})
}

fn ids(results: &Value) -> BTreeSet<i64> {
    results
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("id").and_then(Value::as_i64))
        .collect()
}

fn count(status: &Value, field: &str) -> i64 {
    status.get(field).and_then(Value::as_i64).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_return_typed_results_repeat_and_fail_clearly() -> Result<()> {
    let s = Scenario::start("queries").await?;
    let store = s.env.backend.store();
    for (id, name, status) in [
        (101, "rex", "sold"),
        (102, "tom", "available"),
        (103, "kit", "sold"),
        (104, "bob", "pending"),
    ] {
        store.put_pet(pet(id, name, status));
    }

    // findByStatus returns exactly the pets with that status, typed (models::Pet) and counted.
    s.create(
        "PetFindbystatusQuery",
        "petfindbystatusqueries",
        "sold",
        json!({"status": "sold"}),
    )
    .await?;
    let obj = s
        .wait_status(
            "PetFindbystatusQuery",
            "petfindbystatusqueries",
            "sold",
            "Queried",
            |o, st| state(st) == "Queried" && generation_observed(o, st),
        )
        .await?;
    let status = &obj.data["status"];
    assert_eq!(ids(&status["results"]), BTreeSet::from([101, 103]), "{status}");
    assert_eq!(count(status, "resultCount"), 2);
    assert_eq!(count(status, "executionCount"), 1);
    assert_eq!(status["responses"][0]["statusCode"], 200);
    assert!(status.get("lastQueryTime").is_some());
    assert!(status.get("nextExecutionTime").is_none(), "one-shot: {status}");
    let req = store
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v3/pet/findByStatus")
        .context("findByStatus never called")?;
    assert_eq!(req.query.as_deref(), Some("status=sold"));

    // A spec change re-runs it.
    let queries = s.api("PetFindbystatusQuery", "petfindbystatusqueries");
    merge_spec(&queries, "sold", json!({"status": "pending"})).await?;
    let obj = s
        .wait_status(
            "PetFindbystatusQuery",
            "petfindbystatusqueries",
            "sold",
            "re-run",
            |o, st| state(st) == "Queried" && generation_observed(o, st) && count(st, "executionCount") == 2,
        )
        .await?;
    assert_eq!(ids(&obj.data["status"]["results"]), BTreeSet::from([104]));

    // A periodic query runs again and again.
    s.create(
        "StoreInventoryQuery",
        "storeinventoryqueries",
        "inventory",
        json!({"executionInterval": "1s"}),
    )
    .await?;
    let obj = s
        .wait_status(
            "StoreInventoryQuery",
            "storeinventoryqueries",
            "inventory",
            "3 runs",
            |_, st| state(st) == "Queried" && count(st, "executionCount") >= 3,
        )
        .await?;
    let status = &obj.data["status"];
    assert_eq!(status["results"]["sold"], 2, "{status}");
    assert!(status.get("nextExecutionTime").is_some(), "{status}");

    // A 404 fails with the status code.
    store.inject_fault(Fault::status("/api/v3/pet/findByTags", 404).body("{\"message\":\"no such tag\"}"));
    s.create(
        "PetFindbytagsQuery",
        "petfindbytagsqueries",
        "missing",
        json!({"tags": ["x"]}),
    )
    .await?;
    let obj = s
        .wait_status(
            "PetFindbytagsQuery",
            "petfindbytagsqueries",
            "missing",
            "Failed",
            |_, st| state(st) == "Failed",
        )
        .await?;
    let status = &obj.data["status"];
    assert_eq!(status["responses"][0]["statusCode"], 404, "{status}");
    assert!(
        status["message"].as_str().unwrap_or("").contains("404"),
        "{status}"
    );

    // A non-JSON answer is kept as text (untyped results: the text is the result).
    store.inject_fault(
        Fault::status("/api/v3/user/logout", 200)
            .header("content-type", "text/plain")
            .body("bye for now"),
    );
    s.create("UserLogoutQuery", "userlogoutqueries", "logout", json!({}))
        .await?;
    let obj = s
        .wait_status(
            "UserLogoutQuery",
            "userlogoutqueries",
            "logout",
            "Queried",
            |_, st| state(st) == "Queried",
        )
        .await?;
    let status = &obj.data["status"];
    assert_eq!(status["results"], "bye for now", "{status}");
    assert_eq!(status["responses"][0]["statusCode"], 200, "{status}");
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_run_exactly_once_per_generation_across_restarts() -> Result<()> {
    let mut s = Scenario::start("actions").await?;
    let store = s.env.backend.store();
    store.put_pet(pet(7, "seven", "available"));

    // createWithList creates every user of the list, once.
    let users = json!([
        {"username": "ann", "firstName": "Ann", "email": "ann@example.com"},
        {"username": "ben", "firstName": "Ben"},
        {"username": "cy"},
    ]);
    s.create(
        "UserCreatewithlistAction",
        "usercreatewithlistactions",
        "three-users",
        json!({"items": users}),
    )
    .await?;
    let obj = s
        .wait_status(
            "UserCreatewithlistAction",
            "usercreatewithlistactions",
            "three-users",
            "Completed",
            |o, st| state(st) == "Completed" && generation_observed(o, st),
        )
        .await?;
    let status = &obj.data["status"];
    for name in ["ann", "ben", "cy"] {
        assert!(store.user(name).is_some(), "user {name} missing");
    }
    assert_eq!(store.user("ann").context("ann")?["email"], "ann@example.com");
    assert_eq!(status["result"]["statusCode"], 200, "{status}");
    assert_eq!(count(status, "executionCount"), 1);
    assert_eq!(count(status, "successCount"), 1);
    assert_eq!(count(status, "totalEndpoints"), 1);
    assert!(status.get("executedAt").is_some() && status.get("completedAt").is_some());

    // An octet-stream upload: the bytes and the query parameter arrive as sent.
    let bytes = b"\x89PNG\r\n\x1a\n not really a png".to_vec();
    s.create(
        "PetUploadimageAction",
        "petuploadimageactions",
        "photo",
        json!({
            "petId": 7,
            "additionalMetadata": "front view",
            "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
            "contentType": "image/png",
        }),
    )
    .await?;
    s.wait_status(
        "PetUploadimageAction",
        "petuploadimageactions",
        "photo",
        "Completed",
        |_, st| state(st) == "Completed",
    )
    .await?;
    let images = store.pet_images(7);
    assert_eq!(images.len(), 1);
    assert_eq!(images[0], (Some("front view".to_owned()), bytes.clone()));
    let upload = store
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v3/pet/7/uploadImage")
        .context("upload request")?;
    assert_eq!(upload.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        upload.query.as_deref().map(|q| q.replace("%20", "+")).as_deref(),
        Some("additionalMetadata=front+view"),
        "the query parameter travels in the query string"
    );

    // dataFrom a ConfigMap works; a missing Secret fails naming it.
    let config_maps: Api<ConfigMap> = Api::namespaced(s.env.client.clone(), &s.env.namespace);
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "pet-photos"},
        "binaryData": {"side.png": base64::engine::general_purpose::STANDARD.encode(b"side-bytes")},
    }))?;
    config_maps.create(&PostParams::default(), &cm).await?;
    s.create(
        "PetUploadimageAction",
        "petuploadimageactions",
        "from-configmap",
        json!({"petId": 7, "dataFrom": {"configMapKeyRef": {"name": "pet-photos", "key": "side.png"}}}),
    )
    .await?;
    s.wait_status(
        "PetUploadimageAction",
        "petuploadimageactions",
        "from-configmap",
        "Completed",
        |_, st| state(st) == "Completed",
    )
    .await?;
    assert_eq!(store.pet_images(7).len(), 2);
    assert_eq!(store.pet_images(7)[1].1, b"side-bytes".to_vec());
    s.create(
        "PetUploadimageAction",
        "petuploadimageactions",
        "from-missing-secret",
        json!({"petId": 7, "dataFrom": {"secretKeyRef": {"name": "no-such-secret", "key": "img"}}}),
    )
    .await?;
    let obj = s
        .wait_status(
            "PetUploadimageAction",
            "petuploadimageactions",
            "from-missing-secret",
            "Failed",
            |_, st| state(st) == "Failed",
        )
        .await?;
    let message = obj.data["status"]["message"].as_str().unwrap_or("").to_owned();
    assert!(message.contains("no-such-secret"), "{message}");
    assert_eq!(store.pet_images(7).len(), 2, "nothing sent without a payload");

    // Restart the operator: nothing completed runs again.
    let calls = |path: &str| store.request_count("POST", path);
    let (list_calls, upload_calls) = (
        calls("/api/v3/user/createWithList"),
        calls("/api/v3/pet/7/uploadImage"),
    );
    assert_eq!(list_calls, 1);
    let exit = s.operator.terminate(Duration::from_secs(15))?;
    assert!(exit.success(), "operator exit {exit}");
    s.operator = s
        .env
        .spawn_operator(&workspace_binary("petstore-operator")?, &[])?;
    // A new action after the restart completes, so the restarted operator has been through its
    // initial list of every action.
    s.create(
        "UserCreatewithlistAction",
        "usercreatewithlistactions",
        "after-restart",
        json!({"items": [{"username": "dee"}]}),
    )
    .await?;
    s.wait_status(
        "UserCreatewithlistAction",
        "usercreatewithlistactions",
        "after-restart",
        "Completed",
        |_, st| state(st) == "Completed",
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        calls("/api/v3/user/createWithList"),
        list_calls + 1,
        "only the new action ran"
    );
    assert_eq!(calls("/api/v3/pet/7/uploadImage"), upload_calls);
    let first = s
        .api("UserCreatewithlistAction", "usercreatewithlistactions")
        .get("three-users")
        .await?;
    assert_eq!(count(&first.data["status"], "executionCount"), 1);
    assert_eq!(state(&first.data["status"]), "Completed");

    // Changing the spec is a new generation: it runs once more.
    merge_spec(
        &s.api("UserCreatewithlistAction", "usercreatewithlistactions"),
        "three-users",
        json!({"items": [{"username": "eve"}]}),
    )
    .await?;
    s.wait_status(
        "UserCreatewithlistAction",
        "usercreatewithlistactions",
        "three-users",
        "re-run",
        |o, st| state(st) == "Completed" && generation_observed(o, st) && count(st, "executionCount") == 2,
    )
    .await?;
    assert!(store.user("eve").is_some());
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_from_a_swagger_2_operator_is_decoded_by_the_backend() -> Result<()> {
    let s = Scenario::start_with(
        "multipart",
        "petstore-swagger2",
        "petstore-v2-operator",
        "petstore-v2.example.com",
    )
    .await?;
    let store = s.env.backend.store();
    store.put_pet(pet(9, "nine", "available"));
    let bytes: Vec<u8> = (0u8..=255).cycle().take(3000).collect();
    s.create(
        "PetUploadimageAction",
        "petuploadimageactions",
        "multipart",
        json!({
            "petId": 9,
            "additionalMetadata": "all the bytes",
            "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
            "contentType": "application/octet-stream",
            "filename": "bytes.bin",
        }),
    )
    .await?;
    let obj = s
        .wait_status(
            "PetUploadimageAction",
            "petuploadimageactions",
            "multipart",
            "Completed",
            |_, st| state(st) == "Completed",
        )
        .await?;
    assert_eq!(obj.data["status"]["result"]["statusCode"], 200);
    let upload = store
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v3/pet/9/uploadImage")
        .context("upload request")?;
    assert!(
        upload
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("multipart/form-data; boundary=")),
        "{:?}",
        upload.content_type
    );
    assert_eq!(
        store.pet_images(9),
        vec![(Some("all the bytes".to_owned()), bytes)]
    );
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_tracks_health_and_computes_cel_values() -> Result<()> {
    let s = Scenario::start("aggregate").await?;
    let store = s.env.backend.store();
    for name in ["a", "b"] {
        s.create(
            "Pet",
            "pets",
            name,
            json!({"name": name, "photoUrls": [], "executionInterval": "1s"}),
        )
        .await?;
    }
    s.create(
        "PetstoreAggregate",
        "petstoreaggregates",
        "health",
        json!({
            "selectors": [{"kind": "Pet"}],
            "strategy": "AllHealthy",
            "derivedValues": [
                {"name": "syncedPercent", "expression": "summary.synced * 100 / summary.total"},
                {"name": "failedNames", "expression": "resources.filter(r, r.status.state == 'Failed').map(r, r.metadata.name)"},
                {"name": "broken", "expression": "summary.synced +"},
            ],
        }),
    )
    .await?;
    let value = |st: &Value, name: &str| -> Value {
        st["computedValues"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let obj = s
        .wait_status(
            "PetstoreAggregate",
            "petstoreaggregates",
            "health",
            "Healthy",
            |_, st| state(st) == "Healthy" && count(&st["summary"], "synced") == 2,
        )
        .await?;
    let status = &obj.data["status"];
    assert_eq!(value(status, "syncedPercent")["value"], 100, "{status}");
    assert_eq!(value(status, "failedNames")["value"], json!([]), "{status}");
    let broken = value(status, "broken");
    assert!(
        broken.get("value").is_none() && broken["error"].is_string(),
        "{broken}"
    );
    let cond = condition(status, "DerivedValuesValid").context("DerivedValuesValid condition")?;
    assert_eq!(cond["status"], "False");
    assert!(
        cond["message"].as_str().unwrap_or("").contains("broken"),
        "{cond}"
    );

    // Pet b's backend reads fail → b Failed → aggregate Degraded, with b named.
    let b = s.api("Pet", "pets").get("b").await?;
    let b_id = external_id(&b.data["status"]).context("b externalID")?;
    store.inject_fault(Fault::status(format!("/api/v3/pet/{b_id}"), 500));
    let obj = s
        .wait_status(
            "PetstoreAggregate",
            "petstoreaggregates",
            "health",
            "Degraded",
            |_, st| state(st) == "Degraded",
        )
        .await?;
    let status = &obj.data["status"];
    assert_eq!(value(status, "failedNames")["value"], json!(["b"]), "{status}");
    assert_eq!(value(status, "syncedPercent")["value"], 50, "{status}");
    assert_eq!(count(&status["summary"], "failed"), 1);

    // The backend recovers → Healthy again.
    store.clear_faults();
    s.wait_status(
        "PetstoreAggregate",
        "petstoreaggregates",
        "health",
        "Healthy again",
        |_, st| state(st) == "Healthy" && count(&st["summary"], "synced") == 2,
    )
    .await?;
    s.finish().await
}
