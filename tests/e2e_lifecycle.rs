//! End-to-end lifecycle semantics: `readOnly`, `paused`, adoption (`status.originalState`), `onDelete`, the
//! force-reconcile annotation and Kubernetes Events, with the generated Petstore operator binary run as a
//! process against petstore-server.
//!
//! Runs against the in-repo test API server, or a real cluster when `E2E_KUBECONFIG` is set.

use std::time::Duration;

use anyhow::{Context as _, Result};
use integration_tests::petstore::*;
use integration_tests::{Env, wait_until};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

/// Backend requests other than `GET`, as `METHOD path`.
fn writes(store: &petstore_server::Store) -> Vec<String> {
    store
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn has_finalizer(obj: &DynamicObject) -> bool {
    obj.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == &format!("{GROUP}/finalizer"))
}

async fn wait_gone(s: &Scenario, plural_kind: (&str, &str), name: &str) -> Result<()> {
    let api = s.api(plural_kind.0, plural_kind.1);
    wait_until(WAIT, || async {
        api.get_opt(name).await.ok()?.is_none().then_some(())
    })
    .await
    .with_context(|| format!("{name} not gone\n{}", tail(&s.operator.log(), 40)))
}

/// `(reason, regarding name)` of every events.k8s.io/v1 Event in the scenario's namespace.
async fn events(env: &Env) -> Result<Vec<(String, String)>> {
    let api: Api<Event> = env.api();
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|e| {
            (
                e.reason.unwrap_or_default(),
                e.regarding.and_then(|r| r.name).unwrap_or_default(),
            )
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_observes_and_never_writes() -> Result<()> {
    let s = Scenario::start("read-only").await?;
    let store = s.env.backend.store();
    store.put_pet(json!({"id": 500, "name": "real", "photoUrls": [], "status": "available"}));

    s.create(
        "Pet",
        "pets",
        "watched",
        json!({"id": 500, "name": "wanted", "photoUrls": [], "readOnly": true, "onDelete": "Delete",
               "executionInterval": "500ms"}),
    )
    .await?;
    s.create(
        "Pet",
        "pets",
        "absent",
        json!({"id": 501, "name": "ghost", "photoUrls": [], "readOnly": true}),
    )
    .await?;
    let obj = s
        .wait_status("Pet", "pets", "watched", "Observed with drift", |_, st| {
            state(st) == "Observed" && st["driftDetected"] == true
        })
        .await?;
    let st = &obj.data["status"];
    assert_eq!(st["response"]["data"]["name"], "real", "{st}");
    assert_eq!(condition(st, "Ready").context("Ready")?["status"], "True");
    assert!(
        st.get("originalState").is_none(),
        "observing is not adopting: {st}"
    );
    let absent = s
        .wait_status("Pet", "pets", "absent", "NotFound", |_, st| {
            state(st) == "NotFound"
        })
        .await?;
    assert_eq!(
        condition(&absent.data["status"], "Ready").context("Ready")?["status"],
        "False"
    );
    // Several periodic reads later: still no writes, no finalizer.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(store.request_count("GET", "/api/v3/pet/500") >= 2);
    assert!(!has_finalizer(&s.api("Pet", "pets").get("watched").await?));
    assert_eq!(store.pet(500).context("pet 500")?["name"], "real");
    assert!(store.pet(501).is_none());

    // Deleting a read-only CR never touches the backend, even with onDelete: Delete.
    let pets = s.api("Pet", "pets");
    pets.delete("watched", &DeleteParams::default()).await?;
    pets.delete("absent", &DeleteParams::default()).await?;
    wait_gone(&s, ("Pet", "pets"), "watched").await?;
    wait_gone(&s, ("Pet", "pets"), "absent").await?;
    assert!(store.pet(500).is_some());
    assert_eq!(writes(&store), Vec::<String>::new(), "read-only must never write");
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_observes_drift_but_corrects_nothing() -> Result<()> {
    let s = Scenario::start("paused").await?;
    let store = s.env.backend.store();
    let pets = s.api("Pet", "pets");
    s.create(
        "Pet",
        "pets",
        "nap",
        json!({"name": "nap", "photoUrls": [], "status": "available", "executionInterval": "500ms"}),
    )
    .await?;
    let obj = s
        .wait_status("Pet", "pets", "nap", "Synced", |_, st| state(st) == "Synced")
        .await?;
    let id = external_id(&obj.data["status"]).context("externalID")?;

    merge_spec(&pets, "nap", json!({"paused": true})).await?;
    s.wait_status("Pet", "pets", "nap", "Paused", |o, st| {
        state(st) == "Paused" && generation_observed(o, st)
    })
    .await?;
    let writes_when_paused = writes(&store).len();
    let mut tampered = store.pet(id).context("pet")?;
    tampered["status"] = json!("sold");
    store.put_pet(tampered);
    let obj = s
        .wait_status("Pet", "pets", "nap", "drift observed while paused", |_, st| {
            state(st) == "Paused" && st["driftDetected"] == true
        })
        .await?;
    let st = &obj.data["status"];
    assert!(st["driftDetectedCount"].as_i64().unwrap_or(0) >= 1, "{st}");
    for type_ in ["Ready", "Reconciling", "Stalled"] {
        let c = condition(st, type_).context("condition")?;
        assert_eq!(
            (&c["status"], &c["reason"]),
            (&json!("False"), &json!("Paused")),
            "{type_}: {st}"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        store.pet(id).context("pet")?["status"],
        "sold",
        "paused must not correct"
    );
    assert_eq!(
        writes(&store).len(),
        writes_when_paused,
        "paused must not write: {:?}",
        writes(&store)
    );

    // Resume → drift corrected.
    merge_spec(&pets, "nap", json!({"paused": false})).await?;
    s.wait_status("Pet", "pets", "nap", "Synced after resume", |o, st| {
        state(st) == "Synced" && generation_observed(o, st)
    })
    .await?;
    wait_until(WAIT, || async {
        (store.pet(id)?["status"] == "available").then_some(())
    })
    .await
    .context("drift never corrected after resume")?;

    // Events: one per transition (Synced, Paused, Synced), none for the many no-op reconciles.
    let reasons: Vec<String> = events(&s.env)
        .await?
        .into_iter()
        .filter(|(_, name)| name == "nap")
        .map(|(reason, _)| reason)
        .collect();
    assert!(reasons.iter().any(|r| r == "Synced"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r == "Paused"), "{reasons:?}");
    assert!(reasons.len() <= 4, "events only on transitions: {reasons:?}");
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adoption_records_original_state_and_on_delete_applies() -> Result<()> {
    let s = Scenario::start("adopt-on-delete").await?;
    let store = s.env.backend.store();
    let pets = s.api("Pet", "pets");
    for (id, policy) in [(600, Some("Restore")), (601, None), (602, Some("Delete"))] {
        store.put_pet(json!({"id": id, "name": format!("orig-{id}"), "photoUrls": [], "status": "pending"}));
        let mut spec =
            json!({"id": id, "name": format!("managed-{id}"), "photoUrls": [], "status": "available"});
        if let Some(policy) = policy {
            spec["onDelete"] = json!(policy);
        }
        s.create("Pet", "pets", &format!("adopt-{id}"), spec).await?;
    }
    let mut adopted_at = Vec::new();
    for id in [600, 601, 602] {
        let obj = s
            .wait_status(
                "Pet",
                "pets",
                &format!("adopt-{id}"),
                "Synced and adopted",
                |_, st| state(st) == "Synced" && st.get("adoptedAt").is_some(),
            )
            .await?;
        let st = &obj.data["status"];
        assert_eq!(st["originalState"]["name"], format!("orig-{id}"), "{st}");
        assert_eq!(st["originalState"]["status"], "pending", "{st}");
        assert_eq!(st["createdByController"], false);
        assert_eq!(store.pet(id).context("pet")?["name"], format!("managed-{id}"));
        // Restore and an explicit Delete need the finalizer; the default Orphan does not.
        let obj = wait_until(WAIT, || async {
            let o = pets.get(&format!("adopt-{id}")).await.ok()?;
            (has_finalizer(&o) == (id != 601)).then_some(o)
        })
        .await
        .with_context(|| format!("finalizer on adopt-{id}"))?;
        adopted_at.push(obj.data["status"]["adoptedAt"].clone());
    }

    // originalState/adoptedAt are recorded once: a later spec change does not overwrite them.
    merge_spec(&pets, "adopt-600", json!({"name": "managed-again"})).await?;
    let obj = s
        .wait_status("Pet", "pets", "adopt-600", "Synced again", |o, st| {
            state(st) == "Synced" && generation_observed(o, st)
        })
        .await?;
    assert_eq!(obj.data["status"]["originalState"]["name"], "orig-600");
    assert_eq!(obj.data["status"]["adoptedAt"], adopted_at[0]);

    for id in [600, 601, 602] {
        pets.delete(&format!("adopt-{id}"), &DeleteParams::default())
            .await?;
    }
    for id in [600, 601, 602] {
        wait_gone(&s, ("Pet", "pets"), &format!("adopt-{id}")).await?;
    }
    let restored = store.pet(600).context("pet 600 restored, not deleted")?;
    assert_eq!(restored["name"], "orig-600", "{restored}");
    assert_eq!(restored["status"], "pending", "{restored}");
    assert_eq!(store.pet(601).context("pet 601 orphaned")?["name"], "managed-601");
    assert!(
        store.pet(602).is_none(),
        "explicit onDelete: Delete deletes an adopted pet"
    );
    assert_eq!(store.request_count("DELETE", "/api/v3/pet/600"), 0);
    assert_eq!(store.request_count("DELETE", "/api/v3/pet/601"), 0);

    let evs = events(&s.env).await?;
    for (reason, name) in [("Restored", "adopt-600"), ("Deleted", "adopt-602")] {
        assert!(
            evs.iter().any(|(r, n)| r == reason && n == name),
            "no {reason} event for {name}: {evs:?}"
        );
    }
    // adopt-601 never had a finalizer (default Orphan): its deletion involved no cleanup at all.
    assert!(
        !evs.iter().any(|(r, n)| n == "adopt-601" && r != "Synced"),
        "{evs:?}"
    );
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_requested_at_annotation_forces_a_reconcile() -> Result<()> {
    let s = Scenario::start("force").await?;
    let store = s.env.backend.store();
    let pets = s.api("Pet", "pets");
    // executionInterval 0: no periodic re-sync at all.
    s.create(
        "Pet",
        "pets",
        "poke",
        json!({"name": "poke", "photoUrls": [], "executionInterval": "0"}),
    )
    .await?;
    let obj = s
        .wait_status("Pet", "pets", "poke", "Synced", |_, st| state(st) == "Synced")
        .await?;
    let id = external_id(&obj.data["status"]).context("externalID")?;
    let path = format!("/api/v3/pet/{id}");
    // Let the finalizer's reconcile settle, then check nothing is polling.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let before = store.request_count("GET", &path);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        store.request_count("GET", &path),
        before,
        "no periodic reads with interval 0"
    );

    let annotate = |value: &'static str| {
        let pets = pets.clone();
        async move {
            pets.patch(
                "poke",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {
                    format!("{GROUP}/reconcile-requested-at"): value}}})),
            )
            .await
        }
    };
    annotate("2030-01-01T00:00:00Z").await?;
    wait_until(Duration::from_secs(5), || async {
        (store.request_count("GET", &path) > before).then_some(())
    })
    .await
    .context("the annotation did not trigger a reconcile")?;
    let after_first = store.request_count("GET", &path);
    annotate("2030-01-01T00:00:01Z").await?;
    wait_until(Duration::from_secs(5), || async {
        (store.request_count("GET", &path) > after_first).then_some(())
    })
    .await
    .context("a changed annotation value did not trigger a reconcile")?;
    s.finish().await
}
