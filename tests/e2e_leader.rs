//! End-to-end leader election: two generated Petstore operator processes with `--leader-elect`, exactly one reconciling; SIGTERM hands over at once (the Lease is released), SIGKILL after the lease expires.
//!
//! Runs against the in-repo test API server, or a real cluster when `E2E_KUBECONFIG` is set.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use integration_tests::petstore::*;
use integration_tests::{Env, OperatorProcess, repo_root, wait_until, workspace_binary};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

const LEASE: &str = "petstore-operator-leader";
/// Short timings so that the test runs in seconds; the ratios are the defaults' (15s/10s/2s).
const LEASE_DURATION: Duration = Duration::from_secs(5);
const RENEW_DEADLINE: &str = "3s";
const RETRY_PERIOD: &str = "500ms";

fn pets(env: &Env) -> Api<DynamicObject> {
    Api::namespaced_with(env.client.clone(), &env.namespace, &resource("Pet", "pets"))
}

fn spawn(env: &Env) -> Result<OperatorProcess> {
    env.spawn_operator(
        &workspace_binary("petstore-operator")?,
        &[
            "--leader-elect",
            "--leader-election-namespace",
            &env.namespace,
            "--leader-election-lease-duration",
            "5s",
            "--leader-election-renew-deadline",
            RENEW_DEADLINE,
            "--leader-election-retry-period",
            RETRY_PERIOD,
        ],
    )
}

/// The process's election identity, from its `waiting for leadership` log line.
async fn identity(p: &OperatorProcess) -> Result<String> {
    wait_until(Duration::from_secs(10), || async {
        let log = p.log();
        let line = log.lines().find(|l| l.contains("waiting for leadership"))?;
        let start = line.find("\"identity\":\"")? + "\"identity\":\"".len();
        let end = start + line[start..].find('"')?;
        Some(line[start..end].to_owned())
    })
    .await
    .with_context(|| format!("no identity in the operator log:\n{}", tail(&p.log(), 20)))
}

/// `/readyz` status and body.
async fn readyz(p: &OperatorProcess) -> Result<(u16, String)> {
    let addr = p.health_addr().await?;
    let r = reqwest::get(format!("http://{addr}/readyz")).await?;
    Ok((r.status().as_u16(), r.text().await?))
}

async fn wait_ready(p: &OperatorProcess, body_prefix: &str) -> Result<()> {
    let waited = wait_until(WAIT, || async {
        let (status, body) = readyz(p).await.ok()?;
        (status == 200 && body.starts_with(body_prefix)).then_some(())
    })
    .await;
    if waited.is_err() {
        let last = readyz(p).await.ok();
        // The operator logs at debug level; the election's own lines are info and above.
        let log = p.log();
        let important: Vec<&str> = log
            .lines()
            .filter(|l| !l.contains("\"level\":\"DEBUG\""))
            .collect();
        bail!(
            "/readyz never 200 {body_prefix:?}: last {last:?}\n{}",
            tail(&important.join("\n"), 30)
        );
    }
    Ok(())
}

async fn holder(env: &Env) -> Option<String> {
    let lease = Api::<Lease>::namespaced(env.client.clone(), &env.namespace)
        .get_opt(LEASE)
        .await
        .ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

async fn wait_holder(env: &Env, candidates: &[&str], timeout: Duration) -> Result<String> {
    wait_until(timeout, || async {
        holder(env).await.filter(|h| candidates.contains(&h.as_str()))
    })
    .await
    .with_context(|| format!("no lease holder among {candidates:?}"))
}

async fn create_pet(env: &Env, name: &str) -> Result<()> {
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": "Pet",
        "metadata": {"name": name, "namespace": env.namespace},
        "spec": {"name": name, "photoUrls": [], "status": "available"},
    }))?;
    pets(env).create(&PostParams::default(), &obj).await?;
    Ok(())
}

async fn wait_synced(env: &Env, name: &str, logs: &[&OperatorProcess]) -> Result<()> {
    let api = pets(env);
    wait_until(WAIT, || async {
        let obj = api.get(name).await.ok()?;
        let status = obj.data.get("status").cloned().unwrap_or(Value::Null);
        (state(&status) == "Synced" && external_id(&status).is_some()).then_some(())
    })
    .await
    .with_context(|| {
        let logs: Vec<String> = logs.iter().map(|p| tail(&p.log(), 30)).collect();
        format!("Pet {name} never Synced\n{}", logs.join("\n---\n"))
    })
}

fn pet_posts(env: &Env) -> usize {
    env.backend.store().request_count("POST", "/pet")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_reconciles_and_hands_over_on_sigterm_and_after_a_crash() -> Result<()> {
    let env = Env::start("leader").await?;
    env.apply_crds(&repo_root().join("generated-examples/petstore/deploy/crds"))
        .await?;
    let mut a = spawn(&env)?;
    let id_a = identity(&a).await?;
    // The first process leads before the second starts: which one leads is then known.
    wait_holder(&env, &[&id_a], WAIT).await?;
    let b = spawn(&env)?;
    let id_b = identity(&b).await?;
    assert_ne!(id_a, id_b);

    // Both are ready: the leader once its controllers listed, the standby at once.
    wait_ready(&a, "ready").await?;
    wait_ready(&b, "standby: waiting for leadership of").await?;
    let (_, body) = readyz(&b).await?;
    assert_eq!(
        body,
        format!("standby: waiting for leadership of {}/{LEASE}", env.namespace)
    );

    // Exactly one process reconciles: one POST /pet for one Pet.
    create_pet(&env, "rex").await?;
    wait_synced(&env, "rex", &[&a, &b]).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pet_posts(&env), 1, "the Pet was created once");
    assert_eq!(holder(&env).await.as_deref(), Some(id_a.as_str()));
    assert!(!b.log().contains("acquired leadership"), "{}", tail(&b.log(), 30));

    // SIGTERM the leader: it stops its controllers, releases the Lease, exits 0; the standby takes
    // over well before the lease duration.
    let status = a.terminate(Duration::from_secs(20))?;
    assert!(
        status.success(),
        "leader exited with {status}\n{}",
        tail(&a.log(), 30)
    );
    assert!(a.log().contains("released leadership"), "{}", tail(&a.log(), 30));
    let released = Instant::now();
    wait_holder(&env, &[&id_b], WAIT).await?;
    let handover = released.elapsed();
    assert!(handover < LEASE_DURATION / 2, "handover took {handover:?}");
    wait_ready(&b, "ready").await?;
    create_pet(&env, "fido").await?;
    wait_synced(&env, "fido", &[&b]).await?;
    assert_eq!(pet_posts(&env), 2);

    // A restarted replica stands by; SIGKILL the leader: no release, so the standby takes over only
    // once the lease expired on its clock.
    let c = spawn(&env)?;
    let id_c = identity(&c).await?;
    wait_ready(&c, "standby: waiting for leadership of").await?;
    let lease_before = Api::<Lease>::namespaced(env.client.clone(), &env.namespace)
        .get(LEASE)
        .await?;
    drop(b); // SIGKILL
    let killed = Instant::now();
    wait_holder(&env, &[&id_c], WAIT).await?;
    let takeover = killed.elapsed();
    // The last renewal was at most a retry period (plus a request) before the kill.
    if takeover < LEASE_DURATION - Duration::from_secs(1) {
        bail!(
            "took over after {takeover:?}, before the lease expired\n{}",
            tail(&c.log(), 30)
        );
    }
    assert!(takeover < LEASE_DURATION * 3, "took over after {takeover:?}");
    let lease = Api::<Lease>::namespaced(env.client.clone(), &env.namespace)
        .get(LEASE)
        .await?;
    let transitions = |l: &Lease| l.spec.as_ref().and_then(|s| s.lease_transitions).unwrap_or(-1);
    assert_eq!(transitions(&lease), transitions(&lease_before) + 1);
    wait_ready(&c, "ready").await?;
    create_pet(&env, "max").await?;
    wait_synced(&env, "max", &[&c]).await?;
    assert_eq!(pet_posts(&env), 3, "each Pet created exactly once");

    let mut c = c;
    let status = c.terminate(Duration::from_secs(20))?;
    assert!(status.success(), "{}", tail(&c.log(), 30));
    assert_eq!(holder(&env).await, None, "released on SIGTERM");
    env.cleanup().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inconsistent_leader_election_flags_fail_at_startup() -> Result<()> {
    let env = Env::start("leader-flags").await?;
    let mut p = env.spawn_operator(
        &workspace_binary("petstore-operator")?,
        &["--leader-elect", "--leader-election-renew-deadline", "20s"],
    )?;
    let exited = wait_until(Duration::from_secs(10), || async {
        p.log().contains("must be shorter").then_some(())
    })
    .await;
    let log = p.log();
    exited.with_context(|| log.clone())?;
    assert!(
        log.contains("--leader-election-renew-deadline (20s) must be shorter than --leader-election-lease-duration (15s)"),
        "{log}"
    );
    // The process exits non-zero (terminate finds it gone or stops it).
    let status = p.terminate(Duration::from_secs(5))?;
    assert!(!status.success(), "{log}");
    env.cleanup().await
}
