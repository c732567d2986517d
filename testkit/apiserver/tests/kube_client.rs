//! kube-rs client against the test API server: CRDs, CRUD, conflicts, generation, status, finalizers, patches.

mod common;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent};
use kube::discovery::Discovery;
use serde_json::json;

fn generation(o: &DynamicObject) -> i64 {
    o.metadata.generation.expect("generation set")
}

#[tokio::test]
async fn crd_is_established_and_discoverable() {
    let (server, client, _) = with_pets().await;
    let crd = Api::<CustomResourceDefinition>::all(client.clone())
        .get("pets.petstore.example.com")
        .await
        .unwrap();
    let status = crd.status.expect("status set");
    let conditions = status.conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "NamesAccepted" && c.status == "True")
    );
    assert_eq!(
        status.accepted_names.unwrap().short_names,
        Some(vec!["pt".to_owned()])
    );

    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let group = discovery.get(GROUP).expect("group discovered");
    let (ar, caps) = group.recommended_kind("Pet").expect("Pet discovered");
    assert_eq!(ar.plural, "pets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        caps.subresources
            .iter()
            .any(|(sub, _)| sub.plural == "pets/status" || sub.plural == "status")
    );
    assert!(discovery.get("apps").is_some() && discovery.get("coordination.k8s.io").is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn create_get_list_with_selectors() {
    let (server, _client, pets) = with_pets().await;
    let created = pets
        .create(
            &PostParams::default(),
            &pet("a", json!({"app": "x", "tier": "1"}), json!({"n": 1})),
        )
        .await
        .unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert_eq!(meta.generation, Some(1));
    assert!(meta.uid.is_some() && meta.resource_version.is_some() && meta.creation_timestamp.is_some());
    pets.create(&PostParams::default(), &pet("b", json!({"app": "y"}), json!({})))
        .await
        .unwrap();

    let mut generated = pet("", json!({"app": "x"}), json!({}));
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let generated = pets.create(&PostParams::default(), &generated).await.unwrap();
    assert!(
        generated
            .metadata
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with("gen-") && n.len() == 9)
    );

    let dup = pets
        .create(&PostParams::default(), &pet("a", json!({}), json!({})))
        .await
        .unwrap_err();
    let status = api_error(dup);
    assert_eq!((status.code, status.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(status.message, "pets.petstore.example.com \"a\" already exists");

    let names = |l: kube::api::ObjectList<DynamicObject>| -> Vec<String> {
        l.items.into_iter().filter_map(|o| o.metadata.name).collect()
    };
    let list = pets.list(&ListParams::default().labels("app=x")).await.unwrap();
    assert!(
        list.metadata
            .resource_version
            .as_deref()
            .is_some_and(|rv| !rv.is_empty())
    );
    assert_eq!(names(list).len(), 2);
    assert_eq!(
        names(
            pets.list(&ListParams::default().labels("app in (y),!tier"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(pets.list(&ListParams::default().labels("tier")).await.unwrap()),
        ["a"]
    );
    assert_eq!(
        names(pets.list(&ListParams::default().labels("app!=x")).await.unwrap()),
        ["b"]
    );
    assert_eq!(
        names(
            pets.list(&ListParams::default().fields("metadata.name=b"))
                .await
                .unwrap()
        ),
        ["b"]
    );

    let missing = api_error(pets.get("nope").await.unwrap_err());
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "pets.petstore.example.com \"nope\" not found");
    let bad = api_error(
        pets.create(&PostParams::default(), &pet("Bad_Name", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((bad.code, bad.reason.as_str()), (422, "Invalid"));
    server.shutdown().await;
}

#[tokio::test]
async fn replace_with_stale_resource_version_conflicts() {
    let (server, client, pets) = with_pets().await;
    let original = pets
        .create(&PostParams::default(), &pet("a", json!({}), json!({"n": 1})))
        .await
        .unwrap();
    let mut first = original.clone();
    first.data["spec"]["n"] = json!(2);
    let replaced = pets.replace("a", &PostParams::default(), &first).await.unwrap();
    assert_eq!(generation(&replaced), 2);

    let mut stale = original.clone();
    stale.data["spec"]["n"] = json!(3);
    let status = api_error(
        pets.replace("a", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        status.message,
        "Operation cannot be fulfilled on pets.petstore.example.com \"a\": the object has been modified; \
         please apply your changes to the latest version and try again"
    );

    // Custom resources refuse updates without a resourceVersion (built-ins allow them).
    stale.metadata.resource_version = None;
    let status = api_error(
        pets.replace("a", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        status.message,
        "Pet.petstore.example.com \"a\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "1"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let unconditional: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "2"}})).unwrap();
    let replaced = cms
        .replace("c", &PostParams::default(), &unconditional)
        .await
        .unwrap();
    assert_eq!(replaced.data.unwrap()["a"], "2");
    let missing = api_error(
        pets.replace("zzz", &PostParams::default(), &pet("zzz", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(missing.code, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn generation_and_status_subresource() {
    let (server, _client, pets) = with_pets().await;
    pets.create(&PostParams::default(), &pet("a", json!({}), json!({"n": 1})))
        .await
        .unwrap();

    let patched = pets
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"n": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(generation(&patched), 2);

    let with_status = pets
        .patch_status(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"state": "Ready"}, "spec": {"n": 99}})),
        )
        .await
        .unwrap();
    assert_eq!(generation(&with_status), 2, "status writes never bump generation");
    assert_eq!(
        with_status.data["spec"]["n"], 2,
        "status writes never change spec"
    );
    assert_eq!(with_status.data["status"]["state"], "Ready");

    let main = pets
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"state": "Hacked"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        main.data["status"]["state"], "Ready",
        "status via the main resource is ignored"
    );
    assert_eq!(generation(&main), 2);

    let labelled = pets
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        generation(&labelled),
        2,
        "metadata-only changes do not bump generation"
    );
    assert_ne!(labelled.metadata.resource_version, main.metadata.resource_version);

    // A no-op write commits nothing: the resourceVersion stays.
    let same = pets
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"n": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(same.metadata.resource_version, labelled.metadata.resource_version);

    let stats = server.stats();
    assert_eq!(stats.writes("pets", Some("status")), 1);
    assert_eq!(stats.writes("pets", None), 5);
    assert_eq!(stats.writes_by_verb("create", "pets", None), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (server, _client, pets) = with_pets().await;
    let mut p = pet("a", json!({}), json!({}));
    p.metadata.finalizers = Some(vec!["example.com/cleanup".into()]);
    let created = pets.create(&PostParams::default(), &p).await.unwrap();

    let deleted = pets.delete("a", &DeleteParams::background()).await.unwrap();
    let marked = deleted.left().expect("object returned while finalizers remain");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(generation(&marked), 2, "deletion bumps generation");
    let still = pets.get("a").await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());

    let add = Patch::Merge(json!({"metadata": {"finalizers": ["example.com/cleanup", "example.com/new"]}}));
    let status = api_error(pets.patch("a", &PatchParams::default(), &add).await.unwrap_err());
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(
        status
            .message
            .contains("no new finalizers can be added if the object is being deleted"),
        "{}",
        status.message
    );

    let remove = Patch::Merge(json!({"metadata": {"finalizers": null}}));
    pets.patch("a", &PatchParams::default(), &remove).await.unwrap();
    assert_eq!(api_error(pets.get("a").await.unwrap_err()).code, 404);

    // Replaying from the creation shows MODIFIED (deletionTimestamp) then DELETED.
    use futures::TryStreamExt;
    let rv = created.metadata.resource_version.unwrap();
    let events: Vec<_> = pets
        .watch(&kube::api::WatchParams::default().timeout(1), &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| !matches!(e, WatchEvent::Bookmark(_)))
        .map(|e| match e {
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Added(_) => "ADDED",
            _ => "OTHER",
        })
        .collect();
    assert_eq!(kinds, ["MODIFIED", "DELETED"]);
    server.shutdown().await;
}

#[tokio::test]
async fn json_patch_and_apply() {
    let (server, _client, pets) = with_pets().await;
    pets.create(&PostParams::default(), &pet("a", json!({}), json!({"n": 1})))
        .await
        .unwrap();

    let test_fails: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/n", "value": 5}, {"op": "replace", "path": "/spec/n", "value": 6}]))
            .unwrap();
    let status = api_error(
        pets.patch("a", &PatchParams::default(), &Patch::<()>::Json(test_fails))
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert_eq!(pets.get("a").await.unwrap().data["spec"]["n"], 1);

    let ok: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/spec/n", "value": 1}, {"op": "replace", "path": "/spec/n", "value": 6}]))
            .unwrap();
    let patched = pets
        .patch("a", &PatchParams::default(), &Patch::<()>::Json(ok))
        .await
        .unwrap();
    assert_eq!(patched.data["spec"]["n"], 6);

    // Apply creates when absent, then merges.
    let applied = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "Pet", "metadata": {"name": "b"}, "spec": {"x": 1, "y": {"z": 1}}});
    let created = pets
        .patch("b", &PatchParams::apply("test").force(), &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(generation(&created), 1);
    let again = pets
        .patch("b", &PatchParams::apply("test").force(), &Patch::Apply(&applied))
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version, created.metadata.resource_version,
        "identical apply is a no-op"
    );
    let changed = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "Pet", "metadata": {"name": "b"}, "spec": {"y": {"w": 2}}});
    let merged = pets
        .patch("b", &PatchParams::apply("test"), &Patch::Apply(&changed))
        .await
        .unwrap();
    assert_eq!(merged.data["spec"], json!({"x": 1, "y": {"z": 1, "w": 2}}));
    assert_eq!(generation(&merged), 2);

    // Stale resourceVersion in a patch body conflicts.
    let stale = Patch::Merge(
        json!({"metadata": {"resourceVersion": created.metadata.resource_version}, "spec": {"x": 2}}),
    );
    assert_eq!(
        api_error(
            pets.patch("b", &PatchParams::default(), &stale)
                .await
                .unwrap_err()
        )
        .code,
        409
    );
    server.shutdown().await;
}

#[tokio::test]
async fn builtins_namespaces_and_garbage_collection() {
    let server = test_apiserver::TestApiServer::start().await.unwrap();
    let client = client(&server);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(names.contains(&"default".to_owned()) && names.contains(&"kube-system".to_owned()));

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c"}, "data": {"a": "1"}})).unwrap();
    let status = api_error(cms.create(&PostParams::default(), &cm).await.unwrap_err());
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );

    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "work"}})).unwrap();
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "work");
    let owner = cms.create(&PostParams::default(), &cm).await.unwrap();
    let owned: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "owned", "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": owner.metadata.uid.clone().unwrap()}]}}))
    .unwrap();
    cms.create(&PostParams::default(), &owned).await.unwrap();
    cms.delete("c", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        api_error(cms.get("owned").await.unwrap_err()).code,
        404,
        "dependents are garbage-collected"
    );

    let secrets: Api<Secret> = Api::namespaced(client.clone(), "work");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "foo"}})).unwrap();
    let stored = secrets.create(&PostParams::default(), &secret).await.unwrap();
    assert_eq!(stored.data.unwrap()["k"].0, b"foo", "stringData folds into data");
    assert!(stored.string_data.is_none());

    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    cms.create(&dry, &cm).await.unwrap();
    assert_eq!(
        api_error(cms.get("c").await.unwrap_err()).code,
        404,
        "dry-run create persists nothing"
    );

    cms.create(&PostParams::default(), &cm).await.unwrap();
    namespaces.delete("work", &DeleteParams::default()).await.unwrap();
    assert_eq!(api_error(namespaces.get("work").await.unwrap_err()).code, 404);
    assert!(cms.list(&ListParams::default()).await.unwrap().items.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_the_crd_removes_the_type() {
    let (server, client, pets) = with_pets().await;
    pets.create(&PostParams::default(), &pet("a", json!({}), json!({})))
        .await
        .unwrap();
    Api::<CustomResourceDefinition>::all(client.clone())
        .delete("pets.petstore.example.com", &DeleteParams::default())
        .await
        .unwrap();
    let status = api_error(pets.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(status.code, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn kubeconfig_is_usable_by_kube() {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    install_crypto();
    let server = test_apiserver::TestApiServer::start().await.unwrap();
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig_yaml()).unwrap();
    assert_eq!(kubeconfig.current_context.as_deref(), Some("test-apiserver"));
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "default");
    let client = kube::Client::try_from(config).unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    assert!(cms.list(&ListParams::default()).await.unwrap().items.is_empty());
    server.shutdown().await;
}
