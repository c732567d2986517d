//! End-to-end backend resilience: the generated Petstore operator (a process) against a misbehaving petstore-server — Retry-After, timeouts, malformed JSON, outages.
//!
//! Runs against the in-repo test API server, or a real cluster when `E2E_KUBECONFIG` is set.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use integration_tests::petstore::{GROUP, VERSION, WAIT, generation_observed, state, tail};
use integration_tests::{Env, OperatorProcess, repo_root, wait_until, workspace_binary};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use petstore_server::Fault;
use serde_json::{Value, json};

struct Scenario {
    env: Env,
    operator: OperatorProcess,
    pets: Api<DynamicObject>,
}

impl Scenario {
    async fn start(name: &str, operator_args: &[&str]) -> Result<Scenario> {
        let env = Env::start(name).await?;
        env.apply_crds(&repo_root().join("generated-examples/petstore/deploy/crds"))
            .await?;
        let operator = env.spawn_operator(&workspace_binary("petstore-operator")?, operator_args)?;
        let resource = ApiResource {
            group: GROUP.into(),
            version: VERSION.into(),
            api_version: format!("{GROUP}/{VERSION}"),
            kind: "Pet".into(),
            plural: "pets".into(),
        };
        let pets = Api::namespaced_with(env.client.clone(), &env.namespace, &resource);
        Ok(Scenario { env, operator, pets })
    }

    async fn create_pet(&self, name: &str, spec: Value) -> Result<()> {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("{GROUP}/{VERSION}"),
            "kind": "Pet",
            "metadata": {"name": name, "namespace": self.env.namespace},
            "spec": spec,
        }))?;
        self.pets.create(&PostParams::default(), &obj).await?;
        Ok(())
    }

    async fn edit_pet(&self, name: &str, spec: Value) -> Result<i64> {
        let obj = self
            .pets
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": spec})),
            )
            .await?;
        obj.metadata.generation.context("no generation")
    }

    /// Waits until `pred(object, status)` holds for Pet `name`; the error carries the last status
    /// and the operator log tail.
    async fn wait_pet(
        &self,
        name: &str,
        what: &str,
        pred: impl Fn(&DynamicObject, &Value) -> bool,
    ) -> Result<(DynamicObject, Value)> {
        let last = std::sync::Mutex::new(Value::Null);
        let found = wait_until(WAIT, || {
            let (last, pred) = (&last, &pred);
            async move {
                let obj = self.pets.get(name).await.ok()?;
                let status = obj.data.get("status").cloned().unwrap_or(Value::Null);
                let matched = pred(&obj, &status);
                *last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = status.clone();
                matched.then_some((obj, status))
            }
        })
        .await;
        let last = last
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        found.with_context(|| {
            format!(
                "Pet/{name}: waiting for {what}; last status: {last}\n--- operator log (tail) ---\n{}",
                tail(&self.operator.log(), 60)
            )
        })
    }

    /// Creates Pet `name` (re-read every `interval`) and waits for it to be Synced; returns its id.
    async fn synced_pet(&self, name: &str, interval: &str) -> Result<i64> {
        self.create_pet(
            name,
            json!({"name": name, "photoUrls": [], "status": "available", "executionInterval": interval}),
        )
        .await?;
        let (_, status) = self
            .wait_pet(name, "Synced", |_, st| state(st) == "Synced")
            .await?;
        status["externalID"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .context("externalID")
    }

    async fn finish(mut self) -> Result<()> {
        let status = self.operator.terminate(Duration::from_secs(15))?;
        assert!(
            status.success(),
            "operator exited with {status} on SIGTERM\n{}",
            tail(&self.operator.log(), 40)
        );
        self.env.cleanup().await
    }
}

fn message(status: &Value) -> &str {
    status.get("message").and_then(Value::as_str).unwrap_or("")
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a str {
    status
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_throttled_with_retry_after_waits_as_asked() -> Result<()> {
    let s = Scenario::start("retry-after", &[]).await?;
    let store = s.env.backend.store();
    store.inject_fault(
        Fault::status("/api/v3/pet", 429)
            .method("POST")
            .header("Retry-After", "2")
            .times(2),
    );
    let started = Instant::now();
    s.create_pet("throttled", json!({"name": "throttled", "photoUrls": []}))
        .await?;

    let (_, failed) = s
        .wait_pet("throttled", "Failed with 429", |_, st| state(st) == "Failed")
        .await?;
    assert_eq!(failed["response"]["statusCode"], 429, "{failed}");
    let text = message(&failed);
    assert!(
        text.contains("backend error 429") && text.contains("(Retry-After 2s); retrying in 2s"),
        "the message says when it retries: {text}"
    );
    assert_eq!(condition(&failed, "Stalled"), "False", "429 is retryable");
    assert_eq!(condition(&failed, "Reconciling"), "True");

    s.wait_pet("throttled", "Synced", |_, st| state(st) == "Synced")
        .await?;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(3900),
        "two Retry-After: 2 answers must delay the create by ≥ 4s, took {elapsed:?}"
    );
    assert_eq!(
        store.request_count("POST", "/pet"),
        3,
        "exactly one POST per attempt"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(store.request_count("POST", "/pet"), 3, "no POST after success");
    assert_eq!(store.pets().len(), 1);
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_backend_times_out_then_recovers() -> Result<()> {
    let s = Scenario::start("timeout", &["--request-timeout", "500ms"]).await?;
    let store = s.env.backend.store();
    let id = s.synced_pet("sloth", "1s").await?;

    store.inject_fault(Fault::delay_only(format!("/api/v3/pet/{id}"), Duration::from_secs(2)).method("GET"));
    let (_, failed) = s
        .wait_pet("sloth", "Failed by timeout", |_, st| state(st) == "Failed")
        .await?;
    let url = format!("{}/pet/{id}", s.env.backend.base_url());
    assert_eq!(
        message(&failed),
        format!("GET {url}: backend did not answer within 500ms"),
        "{failed}"
    );
    let error = failed["response"]["error"].as_str().unwrap_or("");
    assert!(error.contains(&url) && error.contains("500ms"), "{failed}");
    assert_eq!(condition(&failed, "Stalled"), "False", "timeouts are retryable");

    store.clear_faults();
    s.wait_pet("sloth", "Synced after the backend sped up", |_, st| {
        state(st) == "Synced"
    })
    .await?;
    s.finish().await
}

/// Documented behaviour: a 2xx body that starts like JSON but does not parse is a retryable
/// `MalformedResponse` — the CR goes `Failed` (not `Stalled`), and nothing is written to the
/// backend on the strength of a garbled read (no "drift correction").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_fails_the_read_without_acting_on_it() -> Result<()> {
    let s = Scenario::start("malformed", &[]).await?;
    let store = s.env.backend.store();
    let id = s.synced_pet("garbled", "1s").await?;
    let before = store.pet(id).context("pet")?;
    let puts = store.request_count("PUT", "/pet");

    store.inject_fault(
        Fault::status(format!("/api/v3/pet/{id}"), 200)
            .method("GET")
            .body("{not json"),
    );
    let (_, failed) = s
        .wait_pet("garbled", "Failed on malformed JSON", |_, st| {
            state(st) == "Failed"
        })
        .await?;
    assert!(message(&failed).contains("malformed JSON"), "{failed}");
    assert_eq!(
        failed["conditions"][0]["reason"], "BadBackendResponse",
        "{failed}"
    );
    assert_eq!(condition(&failed, "Stalled"), "False", "a glitch is retried");
    let reads = store.request_count("GET", &format!("/pet/{id}"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        store.request_count("GET", &format!("/pet/{id}")) > reads,
        "the operator is alive and keeps retrying"
    );
    assert_eq!(
        store.request_count("PUT", "/pet"),
        puts,
        "no write based on a garbled read"
    );
    assert_eq!(store.pet(id), Some(before));

    store.clear_faults();
    s.wait_pet("garbled", "Synced after the backend recovered", |_, st| {
        state(st) == "Synced"
    })
    .await?;
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_edits_during_an_outage_are_not_lost() -> Result<()> {
    let s = Scenario::start("outage", &[]).await?;
    let store = s.env.backend.store();
    let id = s.synced_pet("patient", "1s").await?;

    store.inject_fault(Fault::status("/api/v3/pet", 503));
    s.wait_pet("patient", "Failed during the outage", |_, st| {
        state(st) == "Failed"
    })
    .await?;
    let second = s.edit_pet("patient", json!({"name": "patient-v2"})).await?;
    s.wait_pet("patient", "second generation seen", |_, st| {
        st["observedGeneration"].as_i64() >= Some(second)
    })
    .await?;
    let third = s
        .edit_pet("patient", json!({"name": "patient-v3", "status": "sold"}))
        .await?;
    let (_, failed) = s
        .wait_pet("patient", "Failed at the last generation", |o, st| {
            state(st) == "Failed" && generation_observed(o, st)
        })
        .await?;
    assert_eq!(failed["observedGeneration"].as_i64(), Some(third));
    assert_eq!(failed["response"]["statusCode"], 503, "{failed}");
    assert_eq!(
        store.pet(id).context("pet")?["name"],
        "patient",
        "nothing got through"
    );

    store.clear_faults();
    s.wait_pet("patient", "Synced at the last generation", |o, st| {
        state(st) == "Synced" && generation_observed(o, st)
    })
    .await?;
    let pet = store.pet(id).context("pet")?;
    assert_eq!(pet["name"], "patient-v3", "{pet}");
    assert_eq!(pet["status"], "sold", "{pet}");
    assert_eq!(store.pets().len(), 1, "the outage must not cause a second create");
    s.finish().await
}
