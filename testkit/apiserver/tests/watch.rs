//! Watches against the test API server: resourceVersion replay, 410 Expired, kube-runtime watcher/reflector.

mod common;

use std::time::Duration;

use common::*;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;
use test_apiserver::{ServerOptions, TestApiServer};

fn rv(o: &DynamicObject) -> u64 {
    o.metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .expect("numeric resourceVersion")
}

#[tokio::test]
async fn watch_replays_from_resource_version_in_order() {
    let (server, _client, pets) = with_pets().await;
    let created = pets
        .create(&PostParams::default(), &pet("a", json!({}), json!({"n": 0})))
        .await
        .unwrap();
    for n in 1..=3 {
        pets.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"n": n}})),
        )
        .await
        .unwrap();
    }
    pets.create(&PostParams::default(), &pet("b", json!({}), json!({})))
        .await
        .unwrap();

    let since = created.metadata.resource_version.clone().unwrap();
    let events: Vec<WatchEvent<DynamicObject>> = pets
        .watch(&WatchParams::default().timeout(1), &since)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let seen: Vec<(String, i64, u64)> = events
        .iter()
        .filter(|e| !matches!(e, WatchEvent::Bookmark(_)))
        .map(|e| match e {
            WatchEvent::Modified(o) => (
                "MODIFIED".into(),
                o.data["spec"]["n"].as_i64().unwrap_or(-1),
                rv(o),
            ),
            WatchEvent::Added(o) => (format!("ADDED {}", o.metadata.name.clone().unwrap()), -1, rv(o)),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let kinds: Vec<(&str, i64)> = seen.iter().map(|(k, n, _)| (k.as_str(), *n)).collect();
    assert_eq!(
        kinds,
        [("MODIFIED", 1), ("MODIFIED", 2), ("MODIFIED", 3), ("ADDED b", -1)]
    );
    assert!(
        seen.windows(2).all(|w| w[0].2 < w[1].2),
        "resourceVersions increase"
    );

    // resourceVersion "0": synthetic ADDED for the current state, then live events.
    let mut stream = pets
        .watch(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    let mut added = Vec::new();
    for _ in 0..2 {
        match stream.try_next().await.unwrap() {
            Some(WatchEvent::Added(o)) => added.push(o.metadata.name.unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    added.sort();
    assert_eq!(added, ["a", "b"]);
    pets.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"k": 1}})),
    )
    .await
    .unwrap();
    let next = loop {
        match stream.try_next().await.unwrap() {
            Some(WatchEvent::Bookmark(_)) => continue,
            other => break other,
        }
    };
    match next {
        Some(WatchEvent::Modified(o)) => assert_eq!(o.metadata.name.as_deref(), Some("b")),
        other => panic!("unexpected {other:?}"),
    }
    drop(stream);
    assert!(server.stats().total_watches() >= 2);
    server.shutdown().await;
}

#[tokio::test]
async fn label_selector_transitions_are_added_and_deleted() {
    let (server, _client, pets) = with_pets().await;
    let created = pets
        .create(&PostParams::default(), &pet("a", json!({"app": "x"}), json!({})))
        .await
        .unwrap();
    pets.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "y"}}})),
    )
    .await
    .unwrap();
    pets.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "x"}}})),
    )
    .await
    .unwrap();
    let since = created.metadata.resource_version.unwrap();
    let events: Vec<_> = pets
        .watch(&WatchParams::default().labels("app=x").timeout(1), &since)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| !matches!(e, WatchEvent::Bookmark(_)))
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Deleted(_) => "DELETED",
            _ => "OTHER",
        })
        .collect();
    assert_eq!(kinds, ["DELETED", "ADDED"]);
    server.shutdown().await;
}

#[tokio::test]
async fn too_old_resource_version_is_expired() {
    let options = ServerOptions {
        event_log_capacity: 3,
        ..ServerOptions::default()
    };
    let server = TestApiServer::start_with(options).await.unwrap();
    let client = client(&server);
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(client.clone());
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(pet_crd()).unwrap(),
    )
    .await
    .unwrap();
    let pets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &pet_resource());
    let first = pets
        .create(&PostParams::default(), &pet("a", json!({}), json!({})))
        .await
        .unwrap();
    for n in 0..5 {
        pets.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"n": n}})),
        )
        .await
        .unwrap();
    }
    let since = first.metadata.resource_version.unwrap();
    let events: Vec<_> = pets
        .watch(&WatchParams::default().timeout(5), &since)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    match events.as_slice() {
        [WatchEvent::Error(status)] => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
            assert!(
                status.message.starts_with("too old resource version"),
                "{}",
                status.message
            );
        }
        other => panic!("expected one 410 ERROR event, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn kube_runtime_reflector_tracks_objects() {
    let (server, _client, pets) = with_pets().await;
    pets.create(&PostParams::default(), &pet("a", json!({}), json!({})))
        .await
        .unwrap();
    let writer = reflector::store::Writer::new(pet_resource());
    let reader = writer.as_reader();
    let stream = reflector(writer, watcher(pets.clone(), watcher::Config::default())).applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    reader.wait_until_ready().await.unwrap();
    assert_eq!(reader.state().len(), 1);
    pets.create(&PostParams::default(), &pet("b", json!({}), json!({})))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        (reader.state().len() == 2).then_some(())
    })
    .await;
    pets.delete("a", &Default::default()).await.unwrap();
    eventually(Duration::from_secs(10), || async {
        let names: Vec<_> = reader
            .state()
            .iter()
            .filter_map(|o| o.metadata.name.clone())
            .collect();
        (names == ["b"]).then_some(())
    })
    .await;
    task.abort();
    let stats = server.stats();
    assert_eq!(
        stats.writes("pets", None),
        3,
        "only the test's own writes: {stats:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn kube_runtime_streaming_list_with_bookmarks() {
    let options = ServerOptions {
        bookmark_interval: Duration::from_millis(100),
        ..ServerOptions::default()
    };
    let server = TestApiServer::start_with(options).await.unwrap();
    let client = client(&server);
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(client.clone());
    crds.create(
        &PostParams::default(),
        &serde_json::from_value(pet_crd()).unwrap(),
    )
    .await
    .unwrap();
    let pets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &pet_resource());
    pets.create(&PostParams::default(), &pet("a", json!({}), json!({})))
        .await
        .unwrap();
    let writer = reflector::store::Writer::new(pet_resource());
    let reader = writer.as_reader();
    let config = watcher::Config::default().streaming_lists();
    let stream = reflector(writer, watcher(pets.clone(), config)).applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    tokio::time::timeout(Duration::from_secs(10), reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reader.state().len(), 1);
    pets.create(&PostParams::default(), &pet("b", json!({}), json!({})))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        (reader.state().len() == 2).then_some(())
    })
    .await;
    task.abort();

    // Periodic bookmarks carry the latest resourceVersion.
    let wp = WatchParams::default().timeout(5);
    let current = server.resource_version().to_string();
    let mut stream = pets.watch(&wp, &current).await.unwrap().boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Bookmark(b)) => assert_eq!(b.metadata.resource_version, current),
        other => panic!("expected a bookmark, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn watch_ends_at_timeout_and_on_shutdown() {
    let (server, _client, pets) = with_pets().await;
    let started = std::time::Instant::now();
    let events: Vec<_> = pets
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    // Periodic bookmarks (every second) may race the 1 s timeout; nothing else may arrive.
    assert!(
        events.iter().all(|e| matches!(e, WatchEvent::Bookmark(_))),
        "{events:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let mut open = pets
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();
    let shutdown = tokio::spawn(server.shutdown());
    let end = tokio::time::timeout(Duration::from_secs(10), open.next())
        .await
        .expect("stream ended on shutdown");
    assert!(end.is_none_or(|e| e.is_err()));
    tokio::time::timeout(Duration::from_secs(10), shutdown)
        .await
        .unwrap()
        .unwrap();
}
