//! `make bench` scale figures for Resource kinds: 1,000 Pet CRs against a lower bound, steady-state writes and backend calls, and peak RSS with 10,000 CRs.
//!
//! Runs the generated `petstore-operator` binary (build it first: `cargo build --workspace --bins`)
//! against the in-repo test API server and a loopback petstore-server, like the e2e tests.
//!
//! 1. **Throughput.** `SCALE_CRS` (default 1,000) Pet CRs are created at once and the operator
//!    syncs them; the wall time from the first create to the last `Synced` is compared with a lower
//!    bound measured in the same run on a fresh server pair: a plain loop that creates the same
//!    CRs and makes, per CR, the calls the operator made in the measured run (`POST /pet`, as
//!    many `GET /pet/{id}`, status patches and Event creates as it averaged, a finalizer patch when
//!    it adds one), with the operator's per-backend concurrency (8). Target: ≤ 2× the lower bound.
//!    "Synced" is observed in the test API server's store in process every 5 ms, not by LISTing
//!    through the server (1,000 objects serialized every poll loaded the server being measured and
//!    quantized the wall time to the 100 ms poll interval).
//! 2. **Steady state.** With nothing changing, API-server writes and backend calls are counted
//!    over three `executionInterval`s. Targets: 0 writes, 1 backend call per CR per interval.
//! 3. **Memory.** `RSS_CRS` (default 10,000) CRs synced; the operator's peak RSS (`VmHWM`) is
//!    read from `/proc`. Target: ≤ 64 MiB.
//!
//! The machine load (`/proc/loadavg`) is printed with the figures. `SCALE_PHASES` (default
//! `throughput,memory`) selects phases; steady state runs with throughput.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use integration_tests::petstore::{GROUP, VERSION, resource};
use integration_tests::{Cluster, Env, repo_root, workspace_binary};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// Backend concurrency of the operator (`--max-concurrent-requests-per-backend` default).
const CONCURRENCY: usize = 8;
/// Re-sync interval of the CRs in the steady-state phase.
const INTERVAL_SECS: u64 = 5;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pet_cr(env: &Env, i: usize, interval: &str) -> Result<DynamicObject> {
    Ok(serde_json::from_value(json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": "Pet",
        "metadata": {"name": format!("pet-{i:05}"), "namespace": env.namespace},
        "spec": {"name": format!("pet {i}"), "photoUrls": [], "status": "available", "executionInterval": interval},
    }))?)
}

async fn create_all(env: &Env, n: usize, interval: &str) -> Result<()> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.client.clone(), &env.namespace, &resource("Pet", "pets"));
    futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let obj = pet_cr(env, i, interval)?;
                api.create(&PostParams::default(), &obj).await?;
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// How many Pets are `Synced`, read from the test API server's store in process: no LIST request,
/// no serialization, so polling it does not load the server whose throughput is measured.
fn synced(env: &Env) -> usize {
    match &env.cluster {
        Cluster::Fake(server) => server.count(GROUP, "pets", Some(&env.namespace), |obj| {
            obj["status"]["state"] == "Synced"
        }),
        Cluster::Real => 0,
    }
}

/// Waits until all `n` Pets are `Synced`, polling [`synced`] every 5 ms; the wall time ends at
/// most 5 ms after the last status write.
async fn wait_all_synced(env: &Env, n: usize, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while synced(env) < n {
        if Instant::now() > deadline {
            bail!(
                "only {} of {n} Pets reached Synced within {timeout:?}",
                synced(env)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

async fn env_with_crds(name: &str) -> Result<Env> {
    let env = Env::start(name).await?;
    if !env.is_fake() {
        bail!("the scale bench runs against the in-repo test API server only (unset E2E_KUBECONFIG)");
    }
    env.apply_crds(&repo_root().join("generated-examples/petstore/deploy/crds"))
        .await?;
    Ok(env)
}

fn spawn_operator(env: &Env) -> Result<Child> {
    Command::new(workspace_binary("petstore-operator")?)
        .args(["run", "--health-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", &env.kubeconfig)
        .env("REST_API_BASE_URL", env.backend.base_url())
        .env("LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("spawning petstore-operator")
}

fn stats(env: &Env) -> test_apiserver::Stats {
    match &env.cluster {
        Cluster::Fake(server) => server.stats(),
        Cluster::Real => test_apiserver::Stats::default(),
    }
}

fn writes(s: &test_apiserver::Stats) -> u64 {
    s.mutations.values().sum()
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

struct OperatorRun {
    wall: Duration,
    status_patches_per_cr: f64,
    main_writes_per_cr: f64,
    backend_posts_per_cr: f64,
    backend_gets_per_cr: f64,
    /// Events the operator created per CR (counted after the steady-state phase: Events are
    /// published in the background and may trail the last `Synced`).
    events_per_cr: f64,
    events_before: u64,
}

/// Phase 1a: the operator syncs `n` CRs; returns the figures and leaves the environment running
/// for the steady-state phase.
async fn operator_run(n: usize) -> Result<(Env, Child, OperatorRun)> {
    let env = env_with_crds("scale").await?;
    let child = spawn_operator(&env)?;
    // Let the operator list and watch before the burst, like a running operator would.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = stats(&env);
    let events_before = before.writes("events", None);
    let start = Instant::now();
    create_all(&env, n, &format!("{INTERVAL_SECS}s")).await?;
    wait_all_synced(&env, n, Duration::from_secs(600)).await?;
    let wall = start.elapsed();
    let after = stats(&env);
    let per_cr = |x: u64| x as f64 / n as f64;
    let status = after.writes("pets", Some("status")) - before.writes("pets", Some("status"));
    let main = after.writes("pets", None) - before.writes("pets", None) - n as u64;
    let posts = env.backend.store().request_count("POST", "/api/v3/pet");
    let gets = env
        .backend
        .store()
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/api/v3/pet/"))
        .count();
    Ok((
        env,
        child,
        OperatorRun {
            wall,
            status_patches_per_cr: per_cr(status),
            main_writes_per_cr: per_cr(main),
            backend_posts_per_cr: per_cr(posts as u64),
            backend_gets_per_cr: per_cr(gets as u64),
            events_per_cr: 0.0,
            events_before,
        },
    ))
}

/// Phase 1b: the lower bound, on a fresh server pair.
async fn lower_bound(n: usize, run: &OperatorRun) -> Result<Duration> {
    let env = env_with_crds("scale-lower-bound").await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.client.clone(), &env.namespace, &resource("Pet", "pets"));
    let http = reqwest::Client::new();
    let base = env.backend.base_url();
    let finalizer = run.main_writes_per_cr >= 0.5;
    let status_patches = run.status_patches_per_cr.round().max(1.0) as usize;
    let reads = run.backend_gets_per_cr.round() as usize;
    let events = run.events_per_cr.round() as usize;
    let event_api: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(env.client.clone(), &env.namespace);
    let start = Instant::now();
    create_all(&env, n, &format!("{INTERVAL_SECS}s")).await?;
    futures::stream::iter(0..n)
        .map(|i| {
            let (api, http, base, event_api) = (api.clone(), http.clone(), base.clone(), event_api.clone());
            async move {
                let name = format!("pet-{i:05}");
                let created: Value = http
                    .post(format!("{base}/pet"))
                    .json(&json!({"name": format!("pet {i}"), "photoUrls": [], "status": "available"}))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                for _ in 0..reads {
                    http.get(format!("{base}/pet/{}", created["id"]))
                        .send()
                        .await?
                        .error_for_status()?;
                }
                if finalizer {
                    api.patch(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"finalizers": [format!("{GROUP}/finalizer")]}})),
                    )
                    .await?;
                }
                for e in 0..events {
                    let event: k8s_openapi::api::events::v1::Event = serde_json::from_value(json!({
                        "metadata": {"name": format!("{name}.{e}")},
                        "eventTime": "2026-01-01T00:00:00.000000Z",
                        "reason": "Synced", "action": "Reconcile", "type": "Normal",
                        "note": format!("backend object {} is in sync", created["id"]),
                        "reportingController": "lower-bound", "reportingInstance": "lower-bound",
                        "regarding": {"apiVersion": format!("{GROUP}/{VERSION}"), "kind": "Pet", "name": name},
                    }))?;
                    event_api.create(&PostParams::default(), &event).await?;
                }
                for _ in 0..status_patches {
                    api.patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(
                            json!({"status": {"state": "Synced", "externalID": created["id"].to_string()}}),
                        ),
                    )
                    .await?;
                }
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let wall = start.elapsed();
    env.cleanup().await?;
    Ok(wall)
}

async fn steady_state(env: &Env, n: usize) -> Result<(u64, f64)> {
    // Let the first periodic reads after the burst settle.
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECS + 1)).await;
    let store = env.backend.store();
    let gets = || {
        store
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/api/v3/pet/"))
            .count()
    };
    let (w0, g0) = (writes(&stats(env)), gets());
    let window = Duration::from_secs(INTERVAL_SECS * 3);
    tokio::time::sleep(window).await;
    let (w1, g1) = (writes(&stats(env)), gets());
    let per_cr_per_interval = (g1 - g0) as f64 / n as f64 / 3.0;
    Ok((w1 - w0, per_cr_per_interval))
}

async fn memory(n: usize) -> Result<(u64, Duration)> {
    let env = env_with_crds("scale-memory").await?;
    let mut child = spawn_operator(&env)?;
    let start = Instant::now();
    create_all(&env, n, "10m").await?;
    wait_all_synced(&env, n, Duration::from_secs(1800)).await?;
    let wall = start.elapsed();
    let rss = peak_rss_kib(child.id()).context("reading VmHWM")?;
    let _ = child.kill();
    let _ = child.wait();
    env.cleanup().await?;
    Ok((rss, wall))
}

fn main() -> Result<()> {
    integration_tests::install_crypto();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let n = env_usize("SCALE_CRS", 1_000);
        let rss_n = env_usize("RSS_CRS", 10_000);
        let phases = std::env::var("SCALE_PHASES").unwrap_or_else(|_| "throughput,memory".to_owned());
        println!("scale bench (load before: {})", load());
        let mut failed = Vec::new();
        if phases.contains("throughput") {
            throughput(n, &mut failed).await?;
        }
        if phases.contains("memory") {
            let (rss, wall) = memory(rss_n).await?;
            println!(
                "{rss_n} Pet CRs: operator peak RSS {:.1} MiB (target ≤ 64 MiB), synced in {:.1} s",
                rss as f64 / 1024.0,
                wall.as_secs_f64()
            );
            if rss > 64 * 1024 {
                failed.push(format!("peak RSS {} KiB > 64 MiB", rss));
            }
        }
        println!("load after: {}", load());
        if failed.is_empty() {
            Ok(())
        } else {
            bail!("targets missed: {}", failed.join("; "))
        }
    })
}

async fn throughput(n: usize, failed: &mut Vec<String>) -> Result<()> {
    let (env, mut child, mut run) = operator_run(n).await?;
    let (steady_writes, gets_per_cr) = steady_state(&env, n).await?;
    run.events_per_cr = (stats(&env).writes("events", None) - run.events_before) as f64 / n as f64;
    let _ = child.kill();
    let _ = child.wait();
    env.cleanup().await?;
    let bound = lower_bound(n, &run).await?;
    let ratio = run.wall.as_secs_f64() / bound.as_secs_f64();
    println!(
        "{n} Pet CRs → Synced: operator {:.2} s, lower bound {:.2} s, ratio {ratio:.2} (target ≤ 2.00) [per CR: {:.2} status patches, {:.2} other writes, {:.2} Events, {:.2} POST /pet, {:.2} GET /pet/{{id}}]",
        run.wall.as_secs_f64(),
        bound.as_secs_f64(),
        run.status_patches_per_cr,
        run.main_writes_per_cr,
        run.events_per_cr,
        run.backend_posts_per_cr,
        run.backend_gets_per_cr,
    );
    println!(
        "steady state over 3 × {INTERVAL_SECS}s: {steady_writes} API-server writes (target 0), {gets_per_cr:.2} backend GETs per CR per interval (target 1)"
    );
    if ratio > 2.0 {
        failed.push(format!("throughput ratio {ratio:.2} > 2"));
    }
    if steady_writes > 0 {
        failed.push(format!("{steady_writes} steady-state writes"));
    }
    Ok(())
}
