//! End-to-end backend authentication with the generated Petstore operator binary run as a process against a petstore-server that requires credentials: the operator-wide Secret (`--auth-secret`) with the spec's `api_key` header scheme, a missing Secret, a rotated key, and per-CR Secrets (`spec.target.authSecretRef`) with bearer and basic credentials; no credential ever shows in the operator log, in Events or in a CR's status.
//!
//! Runs against the in-repo test API server, or a real cluster when `E2E_KUBECONFIG` is set.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use integration_tests::petstore::*;
use integration_tests::{Env, repo_root, wait_until, workspace_binary};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use petstore_server::AuthRequirement;
use serde_json::{Value, json};

/// Starts the environment with `configure` applied to the backend before the operator runs with
/// `args`, waiting until it is ready.
async fn start(
    name: &str,
    configure: impl FnOnce(&petstore_server::Store),
    args: &[&str],
) -> Result<Scenario> {
    let env = Env::start(name).await?;
    configure(&env.backend.store());
    env.apply_crds(&repo_root().join("generated-examples/petstore/deploy/crds"))
        .await?;
    let args: Vec<String> = args.iter().map(|a| a.replace("{ns}", &env.namespace)).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let operator = env.spawn_operator(&workspace_binary("petstore-operator")?, &args)?;
    let health = operator.health_addr().await?;
    let http = reqwest::Client::new();
    wait_until(WAIT, || async {
        let r = http.get(format!("http://{health}/readyz")).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await
    .with_context(|| format!("/readyz never became 200\n{}", tail(&operator.log(), 40)))?;
    Ok(Scenario {
        env,
        operator,
        group: GROUP,
    })
}

/// Label a Secret named by `spec.target.authSecretRef` must carry.
const OPT_IN: &str = "openapi-operator-gen/backend-credentials";

/// Creates Secret `name` with string data `pairs` (labelled for use by CRs when `opt_in`), or
/// replaces the data of an existing one.
async fn put_secret(env: &Env, name: &str, pairs: &[(&str, &str)], opt_in: bool) -> Result<()> {
    let data: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    let labels = if opt_in {
        json!({OPT_IN: "true"})
    } else {
        json!({})
    };
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": env.namespace, "labels": labels},
        "stringData": data,
    }))?;
    let api: Api<Secret> = env.api();
    if api.get_opt(name).await?.is_some() {
        // stringData is write-only: send the new content as data.
        let encoded: BTreeMap<&str, String> = pairs
            .iter()
            .map(|(k, v)| (*k, base64_encode(v.as_bytes())))
            .collect();
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": encoded})),
        )
        .await?;
    } else {
        api.create(&PostParams::default(), &secret).await?;
    }
    Ok(())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pet(name: &str, extra: Value) -> Value {
    let mut spec = json!({"name": name, "photoUrls": [], "status": "available", "executionInterval": "1s"});
    if let (Value::Object(spec), Value::Object(extra)) = (&mut spec, extra) {
        spec.extend(extra);
    }
    spec
}

fn message(status: &Value) -> &str {
    status.get("message").and_then(Value::as_str).unwrap_or("")
}

/// Fails if any of `secrets` appears in the operator log, in an Event of the namespace, or in the
/// status of any Pet.
async fn assert_never_shown(s: &Scenario, secrets: &[&str]) -> Result<()> {
    let log = s.operator.log();
    assert!(!log.is_empty(), "the operator logged nothing");
    let events: Api<Event> = s.env.api();
    let events = serde_json::to_string(&events.list(&ListParams::default()).await?.items)?;
    let pets = serde_json::to_string(
        &s.api("Pet", "pets")
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .map(|p| p.data.get("status").cloned().unwrap_or(Value::Null))
            .collect::<Vec<_>>(),
    )?;
    for secret in secrets {
        assert!(!log.contains(secret), "credential {secret:?} in the operator log");
        assert!(
            !events.contains(secret),
            "credential {secret:?} in an Event: {events}"
        );
        assert!(
            !pets.contains(secret),
            "credential {secret:?} in a status: {pets}"
        );
    }
    Ok(())
}

const KEY_1: &str = "k3y-one-5ecret";
const KEY_2: &str = "k3y-two-5ecret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_from_the_operator_secret_is_sent_and_rotated_without_restart() -> Result<()> {
    let s = start(
        "auth-api-key",
        |store| store.require_auth(vec![AuthRequirement::api_key_header("api_key", KEY_1)]),
        &[
            "--auth-secret",
            "petstore-auth",
            "--auth-secret-namespace",
            "{ns}",
        ],
    )
    .await?;
    let store = s.env.backend.store();

    // No Secret yet: the backend's 401 is recorded, and retried.
    s.create("Pet", "pets", "rex", pet("rex", json!({}))).await?;
    let failed = s
        .wait_status("Pet", "pets", "rex", "Failed with 401", |_, st| {
            state(st) == "Failed" && st["response"]["statusCode"] == 401
        })
        .await?;
    let st = &failed.data["status"];
    assert!(message(st).contains("401"), "{st}");
    assert_eq!(
        condition(st, "Stalled").context("Stalled")?["status"],
        "False",
        "{st}"
    );
    assert!(s.operator.log().contains("auth Secret not found"));

    // The Secret appears: the same Pet syncs, with no spec change and no restart.
    put_secret(&s.env, "petstore-auth", &[("apiKey", KEY_1)], false).await?;
    let synced = s
        .wait_status("Pet", "pets", "rex", "Synced", |_, st| state(st) == "Synced")
        .await?;
    let id = external_id(&synced.data["status"]).context("externalID")?;
    assert_eq!(store.pet(id).context("backend pet")?["name"], "rex");

    // Rotation: the backend now wants KEY_2, then the Secret gets it.
    store.require_auth(vec![AuthRequirement::api_key_header("api_key", KEY_2)]);
    s.wait_status(
        "Pet",
        "pets",
        "rex",
        "Failed after the backend rotated",
        |_, st| state(st) == "Failed" && st["response"]["statusCode"] == 401,
    )
    .await?;
    let before = store.requests().len();
    put_secret(&s.env, "petstore-auth", &[("apiKey", KEY_2)], false).await?;
    s.wait_status("Pet", "pets", "rex", "Synced with the rotated key", |_, st| {
        state(st) == "Synced"
    })
    .await?;
    assert!(
        store.requests()[before..].iter().any(|r| r.status == 200),
        "a request after the rotation succeeded"
    );
    // A spec change still syncs (PUT with the new key).
    merge_spec(&s.api("Pet", "pets"), "rex", json!({"name": "rex2"})).await?;
    wait_until(WAIT, || async {
        (store.pet(id)?.get("name")? == "rex2").then_some(())
    })
    .await
    .with_context(|| tail(&s.operator.log(), 40))?;

    let log = s.operator.log();
    assert!(log.contains("backend credentials loaded") && log.contains("\"scheme\":\"api_key\""));
    assert!(
        log.contains("\"auth\":\"api_key\""),
        "debug request lines name the scheme"
    );
    assert!(
        log.contains("<redacted>"),
        "debug request lines show the header, redacted"
    );
    assert_never_shown(&s, &[KEY_1, KEY_2]).await?;
    s.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_cr_secrets_send_bearer_and_basic_credentials() -> Result<()> {
    const TOKEN: &str = "b3arer-t0ken-5ecret";
    const PASSWORD: &str = "pa55w0rd-5ecret";
    // base64("alice:pa55w0rd-5ecret"), what goes over the wire for basic.
    let basic = base64_encode(format!("alice:{PASSWORD}").as_bytes());
    let s = start(
        "auth-per-cr",
        |store| {
            store.require_auth(vec![
                AuthRequirement::Bearer { token: TOKEN.into() },
                AuthRequirement::Basic {
                    username: "alice".into(),
                    password: PASSWORD.into(),
                },
            ]);
        },
        &[],
    )
    .await?;
    put_secret(&s.env, "bearer-creds", &[("token", TOKEN)], true).await?;
    put_secret(
        &s.env,
        "basic-creds",
        &[("username", "alice"), ("password", PASSWORD)],
        true,
    )
    .await?;

    s.create(
        "Pet",
        "pets",
        "bear",
        pet(
            "bear",
            json!({"target": {"authSecretRef": {"name": "bearer-creds"}}}),
        ),
    )
    .await?;
    s.create(
        "Pet",
        "pets",
        "basil",
        pet(
            "basil",
            json!({"target": {"authSecretRef": {"name": "basic-creds"}}}),
        ),
    )
    .await?;
    s.create("Pet", "pets", "nobody", pet("nobody", json!({})))
        .await?;
    // A Secret without the opt-in label is never used for a CR.
    put_secret(&s.env, "unlabelled", &[("token", TOKEN)], false).await?;
    s.create(
        "Pet",
        "pets",
        "sneaky",
        pet(
            "sneaky",
            json!({"target": {"authSecretRef": {"name": "unlabelled"}}}),
        ),
    )
    .await?;
    for name in ["bear", "basil"] {
        s.wait_status("Pet", "pets", name, "Synced", |_, st| state(st) == "Synced")
            .await?;
    }
    let st = s
        .wait_status("Pet", "pets", "nobody", "Failed with 401", |_, st| {
            state(st) == "Failed" && st["response"]["statusCode"] == 401
        })
        .await?;
    assert!(message(&st.data["status"]).contains("401"));
    s.wait_status("Pet", "pets", "sneaky", "Failed with 401", |_, st| {
        state(st) == "Failed" && st["response"]["statusCode"] == 401
    })
    .await?;
    assert!(s.operator.log().contains(OPT_IN), "the refusal names the label");

    // A CR that names a Secret that does not exist goes without credentials (no fallback).
    s.create(
        "Pet",
        "pets",
        "ghost",
        pet(
            "ghost",
            json!({"target": {"authSecretRef": {"name": "no-such-secret"}}}),
        ),
    )
    .await?;
    s.wait_status("Pet", "pets", "ghost", "Failed with 401", |_, st| {
        state(st) == "Failed" && st["response"]["statusCode"] == 401
    })
    .await?;
    // ...and heals once it exists.
    put_secret(&s.env, "no-such-secret", &[("token", TOKEN)], true).await?;
    s.wait_status("Pet", "pets", "ghost", "Synced", |_, st| state(st) == "Synced")
        .await?;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = s.operator.log();
    // The oauth2 scheme (declared first) carries the token; basic is used although Petstore
    // declares no basic scheme.
    assert!(log.contains("\"auth\":\"petstore_auth\"") && log.contains("\"auth\":\"basic\""));
    assert_never_shown(&s, &[TOKEN, PASSWORD, &basic]).await?;
    s.finish().await
}
