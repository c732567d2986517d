//! End-to-end: the generated Petstore operator binary, run as a process, keeps a real petstore-server in sync with Pet/Order/User CRs.
//!
//! Runs against the in-repo test API server, or a real cluster when `E2E_KUBECONFIG` is set.

use std::time::Duration;

use anyhow::{Context as _, Result};
use integration_tests::petstore::*;
use integration_tests::{Env, repo_root, wait_until};
use kube::api::DeleteParams;
use petstore_server::Fault;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pet_create_update_drift_outage_delete() -> Result<()> {
    let s = Scenario::start("pet-lifecycle").await?;
    let pets = s.api("Pet", "pets");
    let store = s.env.backend.store();

    // Create → Synced, externalID captured, pet in the backend, finalizer after create.
    s.create(
        "Pet",
        "pets",
        "fido",
        json!({"name": "fido", "photoUrls": ["https://img/fido.png"], "status": "available",
               "category": {"id": 0, "name": "zero-id"}, "executionInterval": "1s"}),
    )
    .await?;
    let obj = s
        .wait_status("Pet", "pets", "fido", "Synced with externalID", |o, st| {
            state(st) == "Synced" && external_id(st).is_some() && generation_observed(o, st)
        })
        .await?;
    let status = obj.data["status"].clone();
    let id = external_id(&status).context("externalID")?;
    let pet = store.pet(id).context("pet missing from backend")?;
    assert_eq!(pet["name"], "fido");
    assert_eq!(pet["category"]["id"], 0, "a set 0 must reach the backend: {pet}");
    assert_eq!(status["createdByController"], true);
    assert!(
        obj.metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == &format!("{GROUP}/finalizer"))
    );
    let ready = condition(&status, "Ready").context("Ready condition")?;
    assert_eq!(ready["status"], "True");
    assert_eq!(ready["observedGeneration"].as_i64(), obj.metadata.generation);

    // Edit the spec → backend updated.
    merge_spec(&pets, "fido", json!({"name": "fido-renamed", "status": "sold"})).await?;
    s.wait_status("Pet", "pets", "fido", "Synced at new generation", |o, st| {
        state(st) == "Synced" && generation_observed(o, st)
    })
    .await?;
    wait_until(WAIT, || async {
        (store.pet(id)?["name"] == "fido-renamed").then_some(())
    })
    .await?;
    assert_eq!(store.pet(id).context("pet")?["status"], "sold");

    // Edit the backend behind the operator's back → drift detected, counted, corrected.
    let mut tampered = store.pet(id).context("pet")?;
    tampered["status"] = json!("pending");
    store.put_pet(tampered);
    s.wait_status("Pet", "pets", "fido", "drift counted", |_, st| {
        st.get("driftDetectedCount").and_then(Value::as_i64).unwrap_or(0) >= 1 && state(st) == "Synced"
    })
    .await?;
    wait_until(WAIT, || async {
        (store.pet(id)?["status"] == "sold").then_some(())
    })
    .await?;

    // Backend outage (500 on reads) → Failed, then recovers to Synced.
    store.inject_fault(Fault::status(format!("/api/v3/pet/{id}"), 500).method("GET"));
    let failed = s
        .wait_status("Pet", "pets", "fido", "Failed during outage", |_, st| {
            state(st) == "Failed"
        })
        .await?;
    let failed_status = &failed.data["status"];
    assert_eq!(failed_status["response"]["statusCode"], 500, "{failed_status}");
    assert_eq!(
        condition(failed_status, "Stalled").context("Stalled")?["status"],
        "False"
    );
    store.clear_faults();
    s.wait_status("Pet", "pets", "fido", "Synced after outage", |_, st| {
        state(st) == "Synced"
    })
    .await?;

    // Delete the CR → backend pet deleted, finalizer released, CR gone.
    pets.delete("fido", &DeleteParams::default()).await?;
    wait_until(WAIT, || async {
        pets.get_opt("fido").await.ok()?.is_none().then_some(())
    })
    .await
    .with_context(|| format!("CR not gone\n{}", tail(&s.operator.log(), 40)))?;
    assert!(
        store.pet(id).is_none(),
        "backend pet {id} should be deleted with the CR it was created for"
    );
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_deletes_a_backend_object_it_did_not_create() -> Result<()> {
    let s = Scenario::start("adopt").await?;
    let store = s.env.backend.store();
    store.put_pet(json!({"id": 4242, "name": "rex", "photoUrls": [], "status": "available"}));

    s.create(
        "Pet",
        "pets",
        "rex",
        json!({"id": 4242, "name": "rex", "photoUrls": [], "status": "available"}),
    )
    .await?;
    let obj = s
        .wait_status("Pet", "pets", "rex", "Synced", |_, st| state(st) == "Synced")
        .await?;
    assert_ne!(obj.data["status"]["createdByController"], true);
    assert_eq!(external_id(&obj.data["status"]), Some(4242));

    let pets = s.api("Pet", "pets");
    pets.delete("rex", &DeleteParams::default()).await?;
    wait_until(WAIT, || async {
        pets.get_opt("rex").await.ok()?.is_none().then_some(())
    })
    .await?;
    assert!(
        store.pet(4242).is_some(),
        "a pet the operator did not create must survive deleting its CR"
    );
    assert_eq!(store.request_count("DELETE", "/api/v3/pet/4242"), 0);
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_reads_the_backend_but_writes_nothing() -> Result<()> {
    let s = Scenario::start("steady").await?;
    let store = s.env.backend.store();
    s.create(
        "Pet",
        "pets",
        "calm",
        json!({"name": "calm", "photoUrls": [], "executionInterval": "500ms"}),
    )
    .await?;
    let obj = s
        .wait_status("Pet", "pets", "calm", "Synced", |_, st| state(st) == "Synced")
        .await?;
    let id = external_id(&obj.data["status"]).context("externalID")?;
    // Let the finalizer patch and the first status write settle, then observe quietly.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = s.api("Pet", "pets").get("calm").await?;
    let reads_before = store.request_count("GET", &format!("/api/v3/pet/{id}"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = s.api("Pet", "pets").get("calm").await?;
    let reads_after = store.request_count("GET", &format!("/api/v3/pet/{id}"));
    assert_eq!(
        before.metadata.resource_version, after.metadata.resource_version,
        "nothing changed, so the operator must not write the CR or its status"
    );
    assert!(
        reads_after >= reads_before + 3,
        "expected periodic reads: {reads_before} → {reads_after}"
    );
    assert!(
        reads_after <= reads_before + 9,
        "one read per interval, not a storm: {reads_before} → {reads_after}"
    );
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_pet_costs_one_create_and_a_removed_finalizer_is_put_back() -> Result<()> {
    let s = Scenario::start("lean").await?;
    let store = s.env.backend.store();
    let pets = s.api("Pet", "pets");
    s.create("Pet", "pets", "lean", json!({"name": "lean", "photoUrls": []}))
        .await?;
    let finalizer = format!("{GROUP}/finalizer");
    let has_finalizer =
        |o: &kube::api::DynamicObject| o.metadata.finalizers.iter().flatten().any(|f| *f == finalizer);
    let obj = s
        .wait_status("Pet", "pets", "lean", "Synced with finalizer", |o, st| {
            state(st) == "Synced" && has_finalizer(o)
        })
        .await?;
    let id = external_id(&obj.data["status"]).context("externalID")?;
    // The finalizer patch must not cause a second reconcile (a read of the new pet and another
    // status write): creating a pet is one POST and nothing else.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(store.request_count("POST", "/api/v3/pet"), 1);
    assert_eq!(
        store.request_count("GET", &format!("/api/v3/pet/{id}")),
        0,
        "the watch event of the operator's own finalizer patch triggered a reconcile\n{}",
        tail(&s.operator.log(), 40)
    );
    let settled = pets.get("lean").await?;
    assert_eq!(settled.metadata.resource_version, obj.metadata.resource_version);

    // Someone removes the finalizer: the operator puts it back (a deleted CR must still delete
    // the pet it created).
    pets.patch(
        "lean",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    s.wait_status("Pet", "pets", "lean", "finalizer restored", |o, _| {
        has_finalizer(o)
    })
    .await?;
    pets.delete("lean", &DeleteParams::default()).await?;
    wait_until(WAIT, || async {
        pets.get_opt("lean").await.ok()?.is_none().then_some(())
    })
    .await?;
    assert!(
        store.pet(id).is_none(),
        "the pet the operator created is deleted with its CR"
    );
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_4xx_is_terminal_with_its_message_until_the_spec_changes() -> Result<()> {
    let s = Scenario::start("reject").await?;
    let store = s.env.backend.store();
    store.inject_fault(
        Fault::status("/api/v3/pet", 400)
            .method("POST")
            .body(r#"{"code":400,"message":"name is on the deny list"}"#),
    );
    s.create("Pet", "pets", "bad", json!({"name": "bad", "photoUrls": []}))
        .await?;
    let obj = s
        .wait_status("Pet", "pets", "bad", "Failed", |_, st| state(st) == "Failed")
        .await?;
    let st = &obj.data["status"];
    assert!(
        st["message"]
            .as_str()
            .unwrap_or("")
            .contains("name is on the deny list"),
        "{st}"
    );
    assert_eq!(st["response"]["statusCode"], 400);
    assert_eq!(condition(st, "Stalled").context("Stalled")?["status"], "True");
    // Terminal: no retry storm while the spec is unchanged.
    let posts = store.request_count("POST", "/api/v3/pet");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        store.request_count("POST", "/api/v3/pet"),
        posts,
        "4xx must not be retried"
    );

    store.clear_faults();
    merge_spec(&s.api("Pet", "pets"), "bad", json!({"name": "good"})).await?;
    let obj = s
        .wait_status("Pet", "pets", "bad", "Synced after fix", |_, st| {
            state(st) == "Synced"
        })
        .await?;
    let id = external_id(&obj.data["status"]).context("externalID")?;
    assert_eq!(store.pet(id).context("pet")?["name"], "good");
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_updates_with_put_and_order_with_post() -> Result<()> {
    let s = Scenario::start("user-order").await?;
    let store = s.env.backend.store();

    // User: id is the username path parameter; updates are PUT /user/{username}.
    s.create(
        "User",
        "users",
        "alice",
        json!({"username": "alice", "firstName": "Alice", "userStatus": 1, "password": "hunter2",
               "executionInterval": "1s"}),
    )
    .await?;
    let alice = s
        .wait_status("User", "users", "alice", "Synced", |_, st| {
            state(st) == "Synced" && st["externalID"] == "alice"
        })
        .await?;
    assert_eq!(store.user("alice").context("user")?["firstName"], "Alice");
    assert_eq!(store.user("alice").context("user")?["password"], "hunter2");
    let status_text = alice.data["status"].to_string();
    assert!(
        !status_text.contains("hunter2"),
        "backend secrets must not be copied into status: {status_text}"
    );
    merge_spec(&s.api("User", "users"), "alice", json!({"userStatus": 0})).await?;
    wait_until(WAIT, || async {
        (store.user("alice")?["userStatus"] == 0).then_some(())
    })
    .await
    .context("userStatus 0 never reached the backend")?;
    assert!(store.request_count("PUT", "/api/v3/user/alice") >= 1);

    // Order: no PUT/PATCH in the API, so drift is corrected by POSTing to the collection.
    s.create(
        "Order",
        "orders",
        "o1",
        json!({"id": 7, "petId": 1, "quantity": 2, "status": "placed", "complete": false, "executionInterval": "1s"}),
    )
    .await?;
    s.wait_status("Order", "orders", "o1", "Synced", |_, st| state(st) == "Synced")
        .await?;
    let mut order = store.order(7).context("order")?;
    order["complete"] = json!(true);
    store.put_order(order);
    s.wait_status("Order", "orders", "o1", "drift corrected", |_, st| {
        st.get("driftDetectedCount").and_then(Value::as_i64).unwrap_or(0) >= 1 && state(st) == "Synced"
    })
    .await?;
    wait_until(WAIT, || async {
        (store.order(7)?["complete"] == false).then_some(())
    })
    .await
    .context("complete=false never restored")?;
    s.finish().await
}

/// `kubectl` from PATH; `None` (skip) only outside CI.
fn kubectl() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("kubectl"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "kubectl is required in CI");
        eprintln!("skipping: kubectl not on PATH");
    }
    found
}

fn run_kubectl(kubectl: &std::path::Path, env: &Env, args: &[&str]) -> Result<String> {
    let out = std::process::Command::new(kubectl)
        .args(args)
        .env("KUBECONFIG", &env.kubeconfig)
        .output()
        .context("running kubectl")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(
        out.status.success(),
        "kubectl {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(stdout)
}

/// The generated `deploy/` installs with `kubectl apply -k` (server-side dry run on a real cluster),
/// and the samples apply and are listed by the API's category.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_manifests_install_with_kubectl() -> Result<()> {
    let Some(kubectl) = kubectl() else { return Ok(()) };
    let env = Env::start("install").await?;
    let example = repo_root().join("generated-examples/petstore");
    let deploy = example.join("deploy");
    let deploy = deploy.to_string_lossy();
    let mut apply = vec!["apply", "-k", deploy.as_ref()];
    if !env.is_fake() {
        apply.push("--dry-run=server");
    }
    let out = run_kubectl(&kubectl, &env, &apply)?;
    for object in [
        "namespace/petstore-system",
        "customresourcedefinition.apiextensions.k8s.io/pets.petstore.example.com",
        "serviceaccount/petstore-operator",
        "clusterrole.rbac.authorization.k8s.io/petstore-operator",
        "clusterrolebinding.rbac.authorization.k8s.io/petstore-operator",
        "deployment.apps/petstore-operator",
    ] {
        assert!(
            out.contains(object),
            "{object} missing from kubectl output:\n{out}"
        );
    }
    if env.is_fake() {
        let deployment = run_kubectl(
            &kubectl,
            &env,
            &[
                "get",
                "deployment",
                "petstore-operator",
                "-n",
                "petstore-system",
                "-o",
                "json",
            ],
        )?;
        let deployment: Value = serde_json::from_str(&deployment)?;
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "petstore-operator");
        assert_eq!(pod["containers"][0]["args"], json!(["run", "--leader-elect"]));

        let samples = example.join("samples");
        let samples = samples.to_string_lossy();
        run_kubectl(
            &kubectl,
            &env,
            &["apply", "-n", &env.namespace, "-f", samples.as_ref()],
        )?;
        let listed = run_kubectl(
            &kubectl,
            &env,
            &["get", "petstore", "-n", &env.namespace, "-o", "name"],
        )?;
        let mut names: Vec<&str> = listed.lines().collect();
        names.sort_unstable();
        // Every sample applies (one per kind, plus an adopt and an observe sample per Resource kind)
        // and the `petstore` category lists every kind.
        let mut expected = Vec::new();
        for entry in std::fs::read_dir(example.join("samples"))? {
            let sample: Value = serde_saphyr::from_str(&std::fs::read_to_string(entry?.path())?)?;
            let kind = sample["kind"].as_str().unwrap_or_default().to_ascii_lowercase();
            let name = sample["metadata"]["name"].as_str().unwrap_or_default();
            expected.push(format!("{kind}.petstore.example.com/{name}"));
        }
        expected.sort_unstable();
        assert_eq!(expected.len(), 11 + 2 * 3, "{expected:?}");
        for resource in ["pet", "order", "user"] {
            for prefix in ["sample", "adopt", "observe"] {
                let name = format!("{resource}.petstore.example.com/{prefix}-{resource}");
                assert!(expected.contains(&name), "{name} missing from {expected:?}");
            }
        }
        assert_eq!(names, expected);
    }
    env.cleanup().await
}

/// The `crdgen` binary (which links the kinds' types only) prints exactly what `<app>-operator crds`
/// prints, one document per registered kind, and `--out-dir` writes the files in `deploy/crds`.
#[test]
fn crdgen_prints_what_the_operator_prints() -> Result<()> {
    let run = |binary: &str, args: &[&str]| -> Result<String> {
        let out = std::process::Command::new(integration_tests::workspace_binary(binary)?)
            .args(args)
            .output()
            .with_context(|| format!("running {binary}"))?;
        anyhow::ensure!(
            out.status.success(),
            "{binary} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    };
    let crdgen = run("petstore-crdgen", &[])?;
    assert_eq!(crdgen, run("petstore-operator", &["crds"])?);
    assert_eq!(crdgen.matches("kind: CustomResourceDefinition").count(), 11);

    let dir = tempfile::tempdir()?;
    run("petstore-crdgen", &["--out-dir", &dir.path().to_string_lossy()])?;
    let deploy = repo_root().join("generated-examples/petstore/deploy/crds");
    let mut written = 0;
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        let name = path.file_name().context("file name")?;
        assert_eq!(
            std::fs::read_to_string(&path)?,
            std::fs::read_to_string(deploy.join(name))?,
            "{name:?} differs from deploy/crds"
        );
        written += 1;
    }
    assert_eq!(written, 11);
    Ok(())
}
