//! kube-runtime `Controller` against the test API server: reconcile, status writes, quiescence.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

struct Ctx {
    api: Api<DynamicObject>,
    reconciles: AtomicUsize,
}

async fn reconcile(obj: Arc<DynamicObject>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    ctx.reconciles.fetch_add(1, Ordering::SeqCst);
    let name = obj.metadata.name.clone().unwrap_or_default();
    let status = json!({"status": {"state": "Ready", "observedGeneration": obj.metadata.generation}});
    ctx.api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    Ok(Action::await_change())
}

fn error_policy(_obj: Arc<DynamicObject>, _err: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

#[tokio::test]
async fn controller_converges_and_goes_quiet() {
    let (server, _client, pets) = with_pets().await;
    pets.create(&PostParams::default(), &pet("a", json!({}), json!({"n": 1})))
        .await
        .unwrap();
    let ctx = Arc::new(Ctx {
        api: pets.clone(),
        reconciles: AtomicUsize::new(0),
    });
    let controller = Controller::new_with(pets.clone(), watcher::Config::default(), pet_resource())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let task = tokio::spawn(controller);

    let ready = eventually(Duration::from_secs(10), || async {
        let p = pets.get("a").await.ok()?;
        (p.data["status"]["state"] == "Ready").then_some(p)
    })
    .await;
    assert_eq!(ready.data["status"]["observedGeneration"], 1);

    // The status write triggers one more reconcile whose identical patch commits nothing, so the
    // resourceVersion settles and no further events (or reconciles) follow.
    eventually(Duration::from_secs(10), || async {
        (ctx.reconciles.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    let settled_rv = server.resource_version();
    let writes = server.stats().writes("pets", Some("status"));
    tokio::time::sleep(Duration::from_millis(500)).await; // bounded quiescence window
    assert_eq!(
        server.resource_version(),
        settled_rv,
        "no-op status patches must not commit"
    );
    assert_eq!(
        server.stats().writes("pets", Some("status")),
        writes,
        "controller went quiet"
    );
    assert_eq!(
        server.stats().writes("pets", None),
        1,
        "only the test's create touched the main resource"
    );

    // A spec change is reconciled again.
    pets.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"n": 2}})),
    )
    .await
    .unwrap();
    eventually(Duration::from_secs(10), || async {
        let p = pets.get("a").await.ok()?;
        (p.data["status"]["observedGeneration"] == 2).then_some(())
    })
    .await;
    task.abort();
    server.shutdown().await;
}
