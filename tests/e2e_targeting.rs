//! End-to-end: per-instance endpoint targeting of the generated Petstore operator: static URL fan-out, StatefulSet ordinals, pod-IP discovery that follows pod readiness through watches, and single-pod targets.
//!
//! Every replica is its own `petstore-server` on its own loopback address (127.0.0.2, .3, .4) and
//! the same port, so where a write lands is observable. Against a real cluster (`E2E_KUBECONFIG`)
//! only the static-URL scenario runs: the pod scenarios fake `status.podIP` through the status
//! subresource, which a real kubelet would overwrite.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use integration_tests::petstore::{WAIT, condition, external_id, merge_spec, resource, state, tail};
use integration_tests::{Env, OperatorProcess, wait_until, workspace_binary};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use petstore_server::{Fault, PetstoreServer};
use serde_json::{Value, json};

/// Three petstore replicas on 127.0.0.2–4, one port.
struct Replicas {
    servers: Vec<PetstoreServer>,
    port: u16,
}

impl Replicas {
    async fn start() -> Result<Replicas> {
        for _ in 0..20 {
            let first = PetstoreServer::start_on(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 0))).await?;
            let port = first.addr().port();
            let mut servers = vec![first];
            for last in [3, 4] {
                match PetstoreServer::start_on(SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port))).await
                {
                    Ok(server) => servers.push(server),
                    Err(_) => break,
                }
            }
            if servers.len() == 3 {
                return Ok(Replicas { servers, port });
            }
            for server in servers {
                server.shutdown().await;
            }
        }
        bail!("could not bind petstore-server on 127.0.0.2-4 with one shared port")
    }

    fn url(&self, i: usize) -> String {
        self.servers[i].base_url()
    }

    fn pets(&self, i: usize) -> Vec<Value> {
        self.servers[i].store().pets()
    }

    fn pet_named(&self, i: usize, name: &str) -> Option<Value> {
        self.pets(i).into_iter().find(|p| p["name"] == name)
    }

    async fn shutdown(self) {
        for server in self.servers {
            server.shutdown().await;
        }
    }
}

/// An environment with the CRDs the operator binary itself prints (the runtime's current
/// `spec.target` schema) and the operator running with `args`.
struct Targeted {
    env: Env,
    operator: OperatorProcess,
}

impl Targeted {
    async fn start(name: &str, args: &[&str]) -> Result<Targeted> {
        let env = Env::start(name).await?;
        let binary = workspace_binary("petstore-operator")?;
        let crds = tempfile::tempdir()?;
        let printed = Command::new(&binary)
            .args(["crds", "--out-dir"])
            .arg(crds.path())
            .status()
            .context("running petstore-operator crds")?;
        anyhow::ensure!(printed.success(), "petstore-operator crds failed: {printed}");
        env.apply_crds(crds.path()).await?;
        let operator = env.spawn_operator(&binary, args)?;
        let health = operator.health_addr().await?;
        wait_until(WAIT, || async {
            let r = reqwest::get(format!("http://{health}/readyz")).await.ok()?;
            (r.status() == 200).then_some(())
        })
        .await
        .with_context(|| format!("/readyz never became 200\n{}", tail(&operator.log(), 40)))?;
        Ok(Targeted { env, operator })
    }

    fn pets(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.env.client.clone(),
            &self.env.namespace,
            &resource("Pet", "pets"),
        )
    }

    async fn create_pet(&self, name: &str, spec: Value) -> Result<()> {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "petstore.example.com/v1alpha1", "kind": "Pet",
            "metadata": {"name": name, "namespace": self.env.namespace}, "spec": spec,
        }))?;
        self.pets().create(&PostParams::default(), &obj).await?;
        Ok(())
    }

    /// Waits until `pred(status)` holds for Pet `name`; returns its status.
    async fn wait_pet(&self, name: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Result<Value> {
        let api = self.pets();
        let last = std::sync::Mutex::new(Value::Null);
        let found = wait_until(WAIT, || {
            let (api, last, pred) = (api.clone(), &last, &pred);
            async move {
                let status = api
                    .get(name)
                    .await
                    .ok()?
                    .data
                    .get("status")
                    .cloned()
                    .unwrap_or_default();
                let ok = pred(&status);
                *last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = status.clone();
                ok.then_some(status)
            }
        })
        .await;
        found.with_context(|| {
            format!(
                "Pet/{name}: waiting for {what}; last status: {}\n--- operator log (tail) ---\n{}",
                last.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
                tail(&self.operator.log(), 60)
            )
        })
    }

    async fn delete_pet(&self, name: &str) -> Result<()> {
        let pets = self.pets();
        pets.delete(name, &DeleteParams::default()).await?;
        wait_until(WAIT, || async {
            pets.get_opt(name).await.ok()?.is_none().then_some(())
        })
        .await
        .with_context(|| format!("Pet/{name} not gone\n{}", tail(&self.operator.log(), 40)))
    }

    async fn finish(mut self) -> Result<()> {
        let status = self.operator.terminate(Duration::from_secs(15))?;
        anyhow::ensure!(
            status.success(),
            "operator exited with {status}\n{}",
            tail(&self.operator.log(), 40)
        );
        self.env.cleanup().await
    }
}

fn responses(status: &Value) -> Vec<Value> {
    status["responses"].as_array().cloned().unwrap_or_default()
}

fn message(status: &Value) -> &str {
    status["message"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_urls_fan_out_to_every_replica() -> Result<()> {
    let replicas = Replicas::start().await?;
    // Endpoints are probed on a path that faults can reach (petstore's /healthz never faults).
    let probe = [
        "--health-path",
        "/api/v3/store/inventory",
        "--health-interval",
        "300ms",
    ];
    let t = Targeted::start("fan-urls", &probe).await?;
    let urls: Vec<String> = (0..3).map(|i| replicas.url(i)).collect();
    t.create_pet(
        "fan",
        json!({"name": "fan", "photoUrls": [], "status": "available", "executionInterval": "1s",
               "target": {"baseURLs": urls}}),
    )
    .await?;
    let st = t
        .wait_pet("fan", "Synced on 3 endpoints", |st| {
            state(st) == "Synced" && responses(st).len() == 3
        })
        .await?;
    let id = external_id(&st).context("externalID")?;
    for (i, r) in responses(&st).iter().enumerate() {
        assert_eq!(r["endpoint"], urls[i].as_str(), "{st}");
        assert_eq!(r["success"], true, "{st}");
    }
    for i in 0..3 {
        let pet = replicas.servers[i].store().pet(id);
        assert_eq!(pet.context("pet on every replica, same id")?["name"], "fan");
    }

    // Steady state: periodic reads of every replica, no writes to the CR.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = t.pets().get("fan").await?.metadata.resource_version;
    let reads = replicas.servers[2]
        .store()
        .request_count("GET", &format!("/api/v3/pet/{id}"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        t.pets().get("fan").await?.metadata.resource_version,
        before,
        "no status writes"
    );
    assert!(
        replicas.servers[2]
            .store()
            .request_count("GET", &format!("/api/v3/pet/{id}"))
            >= reads + 2
    );

    // Drift on one replica is corrected on that replica.
    let mut tampered = replicas.servers[1].store().pet(id).context("pet")?;
    tampered["status"] = json!("sold");
    replicas.servers[1].store().put_pet(tampered);
    wait_until(WAIT, || async {
        (replicas.servers[1].store().pet(id)?["status"] == "available").then_some(())
    })
    .await
    .context("drift on replica 2 never corrected")?;

    // One replica failing: All (the default for writes) fails, Any tolerates it.
    replicas.servers[2]
        .store()
        .inject_fault(Fault::status(format!("/api/v3/pet/{id}"), 500).method("GET"));
    let st = t
        .wait_pet("fan", "Failed with 2/3", |st| state(st) == "Failed")
        .await?;
    assert!(
        message(&st).contains("2/3 endpoints succeeded, All required"),
        "{st}"
    );
    assert_eq!(
        condition(&st, "Stalled").context("Stalled")?["status"],
        "False",
        "retryable"
    );
    merge_spec(&t.pets(), "fan", json!({"target": {"fanOutSuccess": "Any"}})).await?;
    let st = t
        .wait_pet("fan", "Synced with Any", |st| state(st) == "Synced")
        .await?;
    let failed: Vec<_> = responses(&st)
        .into_iter()
        .filter(|r| r["success"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{st}");
    assert_eq!(failed[0]["endpoint"], urls[2].as_str());
    assert_eq!(failed[0]["statusCode"], 500);
    assert!(message(&st).contains("1/3 endpoints failed"), "{st}");
    replicas.servers[2].store().clear_faults();
    t.wait_pet("fan", "all 3 succeed again", |st| {
        let r = responses(st);
        r.len() == 3 && r.iter().all(|r| r["success"] == true)
    })
    .await?;

    // A replica failing its health probe leaves the fan-out until it passes again.
    replicas.servers[0]
        .store()
        .inject_fault(Fault::status("/api/v3/store/inventory", 503));
    let st = t
        .wait_pet("fan", "2 healthy endpoints", |st| responses(st).len() == 2)
        .await?;
    assert!(
        responses(&st).iter().all(|r| r["endpoint"] != urls[0].as_str()),
        "{st}"
    );
    assert_eq!(state(&st), "Synced");
    replicas.servers[0].store().clear_faults();
    t.wait_pet("fan", "3 endpoints again", |st| responses(st).len() == 3)
        .await?;

    // Delete: the pet goes from every replica.
    t.delete_pet("fan").await?;
    for i in 0..3 {
        assert!(
            replicas.servers[i].store().pet(id).is_none(),
            "replica {i} still has pet {id}"
        );
    }
    t.finish().await?;
    replicas.shutdown().await;
    Ok(())
}

async fn set_ready(pods: &Api<Pod>, name: &str, ip: &str, ready: bool) -> Result<()> {
    let status = if ready { "True" } else { "False" };
    pods.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": status}]}}),
        ),
    )
    .await
    .with_context(|| format!("patching the status of pod {name}"))?;
    Ok(())
}

/// StatefulSet `petstore` (governing service `petstore`) with Ready pods `petstore-0..2` on
/// 127.0.0.2..4.
async fn stateful_set(env: &Env) -> Result<Api<Pod>> {
    let sets: Api<StatefulSet> = env.api();
    let sts: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "petstore", "labels": {"app.kubernetes.io/instance": "shop"}},
        "spec": {"serviceName": "petstore", "replicas": 3,
                 "selector": {"matchLabels": {"app": "petstore"}},
                 "template": {"metadata": {"labels": {"app": "petstore"}},
                              "spec": {"containers": [{"name": "api", "image": "petstore"}]}}},
    }))?;
    let sts = sets.create(&PostParams::default(), &sts).await?;
    let uid = sts.metadata.uid.clone().context("StatefulSet uid")?;
    let pods: Api<Pod> = env.api();
    for i in 0..3 {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("petstore-{i}"),
                         "labels": {"app": "petstore", "app.kubernetes.io/instance": "shop"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                             "name": "petstore", "uid": uid, "controller": true}]},
            "spec": {"containers": [{"name": "api", "image": "petstore",
                                     "ports": [{"containerPort": 8080}]}]},
        }))?;
        pods.create(&PostParams::default(), &pod).await?;
        set_ready(
            &pods,
            &format!("petstore-{i}"),
            &format!("127.0.0.{}", i + 2),
            true,
        )
        .await?;
    }
    Ok(pods)
}

/// Deployment `web` with Ready pods `web-a` (127.0.0.3, created first) and `web-b` (127.0.0.4).
async fn deployment(env: &Env, pods: &Api<Pod>) -> Result<()> {
    let deployments: Api<Deployment> = env.api();
    let web: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "api", "image": "petstore"}]}}},
    }))?;
    deployments.create(&PostParams::default(), &web).await?;
    for (name, ip) in [("web-a", "127.0.0.3"), ("web-b", "127.0.0.4")] {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "api", "image": "petstore"}]},
        }))?;
        pods.create(&PostParams::default(), &pod).await?;
        set_ready(pods, name, ip, true).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_pods_by_ordinal_fan_out_and_pod_ip() -> Result<()> {
    if std::env::var_os("E2E_KUBECONFIG").is_some() {
        eprintln!(
            "skipping stateful_set_pods_by_ordinal_fan_out_and_pod_ip on a real cluster: it fakes \
             status.podIP (127.0.0.x) through the status subresource, which a kubelet would overwrite"
        );
        return Ok(());
    }
    let replicas = Replicas::start().await?;
    let port = replicas.port.to_string();
    let t = Targeted::start(
        "fan-pods",
        &[
            "--discovery",
            "pod-ip",
            "--backend-port",
            &port,
            "--backend-base-path",
            "/api/v3",
        ],
    )
    .await?;
    let pods = stateful_set(&t.env).await?;

    // podOrdinal 1 → petstore-1 → 127.0.0.3 only.
    t.create_pet(
        "one",
        json!({"name": "one", "photoUrls": [], "target": {"statefulSet": "petstore", "podOrdinal": 1}}),
    )
    .await?;
    t.wait_pet("one", "Synced", |st| state(st) == "Synced").await?;
    assert!(replicas.pet_named(1, "one").is_some(), "pet must be on 127.0.0.3");
    assert!(replicas.pet_named(0, "one").is_none() && replicas.pet_named(2, "one").is_none());

    // AllHealthy → every pod, one status.responses entry each.
    t.create_pet(
        "all",
        json!({"name": "all", "photoUrls": [], "executionInterval": "1s",
               "target": {"statefulSet": "petstore", "strategy": "AllHealthy"}}),
    )
    .await?;
    let st = t
        .wait_pet("all", "Synced on 3 pods", |st| {
            state(st) == "Synced" && responses(st).len() == 3
        })
        .await?;
    let endpoints: Vec<String> = responses(&st)
        .iter()
        .map(|r| r["endpoint"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        endpoints,
        (2..5)
            .map(|i| format!("http://127.0.0.{i}:{port}/api/v3"))
            .collect::<Vec<_>>()
    );
    for i in 0..3 {
        assert!(replicas.pet_named(i, "all").is_some(), "replica {i}");
    }

    // petstore-2 turns NotReady → it drops out (watch-driven), and ordinal 2 is unavailable.
    set_ready(&pods, "petstore-2", "127.0.0.4", false).await?;
    let st = t
        .wait_pet("all", "2 endpoints after NotReady", |st| {
            state(st) == "Synced" && responses(st).len() == 2
        })
        .await?;
    assert!(
        responses(&st)
            .iter()
            .all(|r| r["endpoint"] != endpoints[2].as_str()),
        "{st}"
    );
    t.create_pet(
        "two",
        json!({"name": "two", "photoUrls": [], "target": {"statefulSet": "petstore", "podOrdinal": 2}}),
    )
    .await?;
    let st = t
        .wait_pet("two", "Failed: pod not Ready", |st| state(st) == "Failed")
        .await?;
    assert!(message(&st).contains("petstore-2 is not Ready"), "{st}");
    assert_eq!(
        condition(&st, "Reconciling").context("Reconciling")?["status"],
        "True",
        "retried"
    );
    set_ready(&pods, "petstore-2", "127.0.0.4", true).await?;
    t.wait_pet("two", "Synced once Ready again", |st| state(st) == "Synced")
        .await?;
    assert!(replicas.pet_named(2, "two").is_some());
    t.wait_pet("all", "3 endpoints again", |st| responses(st).len() == 3)
        .await?;

    // A single pod by name, reached by its pod IP.
    t.create_pet(
        "direct",
        json!({"name": "direct", "photoUrls": [], "target": {"pod": "petstore-0"}}),
    )
    .await?;
    t.wait_pet("direct", "Synced", |st| state(st) == "Synced").await?;
    assert!(
        replicas.pet_named(0, "direct").is_some(),
        "pet must be on 127.0.0.2"
    );
    assert!(replicas.pet_named(1, "direct").is_none() && replicas.pet_named(2, "direct").is_none());

    // A Helm release resolves to its StatefulSet; LeaderOnly there is pod 0.
    t.create_pet(
        "leader",
        json!({"name": "leader", "photoUrls": [],
               "target": {"helmRelease": "shop", "strategy": "LeaderOnly"}}),
    )
    .await?;
    t.wait_pet("leader", "Synced", |st| state(st) == "Synced").await?;
    assert!(
        replicas.pet_named(0, "leader").is_some(),
        "pet must be on petstore-0"
    );

    // A Deployment's Ready pods by pod IP; LeaderOnly there is the oldest Ready pod.
    deployment(&t.env, &pods).await?;
    t.create_pet(
        "web",
        json!({"name": "web", "photoUrls": [], "target": {"deployment": "web", "strategy": "LeaderOnly"}}),
    )
    .await?;
    t.wait_pet("web", "Synced", |st| state(st) == "Synced").await?;
    assert!(
        replicas.pet_named(1, "web").is_some(),
        "pet must be on web-a (127.0.0.3)"
    );
    assert!(replicas.pet_named(2, "web").is_none());

    // Invalid combinations are terminal spec errors naming the field.
    t.create_pet(
        "bad",
        json!({"name": "bad", "photoUrls": [], "target": {"podOrdinal": 1}}),
    )
    .await?;
    let st = t.wait_pet("bad", "Failed", |st| state(st) == "Failed").await?;
    assert!(message(&st).contains("spec.target.podOrdinal"), "{st}");
    assert_eq!(condition(&st, "Stalled").context("Stalled")?["status"], "True");

    // Deleting the ordinal-targeted CR deletes only on its pod; the fan-out one on every pod.
    t.delete_pet("one").await?;
    assert!(replicas.pet_named(1, "one").is_none());
    t.delete_pet("all").await?;
    assert!((0..3).all(|i| replicas.pet_named(i, "all").is_none()));
    t.finish().await?;
    replicas.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_wide_stateful_set_target() -> Result<()> {
    if std::env::var_os("E2E_KUBECONFIG").is_some() {
        eprintln!(
            "skipping operator_wide_stateful_set_target on a real cluster: it fakes status.podIP \
             through the status subresource, which a kubelet would overwrite"
        );
        return Ok(());
    }
    let replicas = Replicas::start().await?;
    let port = replicas.port.to_string();
    // `--base-url ""` clears the harness's REST_API_BASE_URL: the flags must name one source.
    let t = Targeted::start(
        "fan-flags",
        &[
            "--base-url",
            "",
            "--target-statefulset",
            "petstore",
            "--target-strategy",
            "all-healthy",
            "--discovery",
            "pod-ip",
            "--backend-port",
            &port,
            "--backend-base-path",
            "/api/v3",
        ],
    )
    .await?;
    stateful_set(&t.env).await?;
    t.create_pet("plain", json!({"name": "plain", "photoUrls": []}))
        .await?;
    let st = t
        .wait_pet("plain", "Synced on 3 pods", |st| {
            state(st) == "Synced" && responses(st).len() == 3
        })
        .await?;
    assert!(message(&st).contains("on all 3 endpoints"), "{st}");
    assert!((0..3).all(|i| replicas.pet_named(i, "plain").is_some()));
    // A CR's podOrdinal narrows the operator-wide StatefulSet to one pod.
    t.create_pet(
        "narrow",
        json!({"name": "narrow", "photoUrls": [], "target": {"podOrdinal": 2}}),
    )
    .await?;
    let st = t.wait_pet("narrow", "Synced", |st| state(st) == "Synced").await?;
    assert!(responses(&st).is_empty(), "one endpoint, no fan-out: {st}");
    assert!(replicas.pet_named(2, "narrow").is_some());
    assert!(replicas.pet_named(0, "narrow").is_none() && replicas.pet_named(1, "narrow").is_none());
    t.finish().await?;
    replicas.shutdown().await;
    Ok(())
}
