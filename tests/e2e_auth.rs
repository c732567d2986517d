//! End-to-end backend authentication with the generated Petstore operator binary run as a process against a petstore-server that requires credentials: the operator-wide Secret (`--auth-secret`) with the spec's `api_key` header scheme, a missing Secret, a rotated key, per-CR Secrets (`spec.target.authSecretRef`) with bearer and basic credentials, and mutual TLS (`ca.crt`, `tls.crt`, `tls.key`) against an HTTPS backend that requires a client certificate; no credential ever shows in the operator log, in Events or in a CR's status.
//!
//! Runs against the in-repo test API server, or a real cluster when `E2E_KUBECONFIG` is set.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use integration_tests::petstore::*;
use integration_tests::{Env, install_crypto, repo_root, wait_until, workspace_binary};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use petstore_server::{AuthRequirement, PetstoreServer};
use serde_json::{Value, json};

/// Starts the environment with `configure` applied to the backend before the operator runs with
/// `args`, waiting until it is ready.
async fn start(
    name: &str,
    configure: impl FnOnce(&petstore_server::Store),
    args: &[&str],
) -> Result<Scenario> {
    start_with_backend(name, None, configure, args).await
}

/// Like [`start`], with `backend` (when given) replacing the environment's plain-HTTP backend
/// before the operator starts (so `REST_API_BASE_URL` is its URL).
async fn start_with_backend(
    name: &str,
    backend: Option<PetstoreServer>,
    configure: impl FnOnce(&petstore_server::Store),
    args: &[&str],
) -> Result<Scenario> {
    let mut env = Env::start(name).await?;
    if let Some(backend) = backend {
        std::mem::replace(&mut env.backend, backend).shutdown().await;
    }
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

// ---------------------------------------------------------------- mutual TLS

/// A test CA, a client certificate and key it signed (PEM, what goes into the auth Secret) and an
/// HTTPS server configuration for `127.0.0.1` that requires a client certificate from that CA.
struct Pki {
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Result<Pki> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    install_crypto();
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
    let server_key = KeyPair::generate()?;
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&server_key, &ca)?;
    let client_key = KeyPair::generate()?;
    let client_cert =
        CertificateParams::new(vec!["petstore-operator".to_owned()])?.signed_by(&client_key, &ca)?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone())?;
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build()?;
    let server = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )?;
    Ok(Pki {
        ca_pem: ca.pem(),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
        server: Arc::new(server),
    })
}

/// A reqwest client trusting only the test CA, with the client certificate when `with_cert`.
fn https_client(pki: &Pki, with_cert: bool) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes())?])
        .timeout(Duration::from_secs(10));
    if with_cert {
        let pem = format!("{}{}", pki.client_key_pem, pki.client_cert_pem);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes())?);
    }
    Ok(builder.build()?)
}

/// The base64 lines between the `-----BEGIN`/`-----END` markers of `pem`.
fn pem_body(pem: &str) -> Vec<&str> {
    pem.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect()
}

/// What petstore-server records (rustls' message) when a client sends no certificate.
const NO_CLIENT_CERT: &str = "peer sent no certificates";
/// What it records when the client aborts because it does not trust the server's certificate.
const UNTRUSTED_SERVER: &str = "received fatal alert: UnknownCA";

/// Waits until a TLS handshake failure with `error`, after the first `seen`, is recorded by the
/// scenario's backend.
async fn tls_failure_after(s: &Scenario, seen: usize, error: &str) -> Result<()> {
    wait_until(WAIT, || async {
        let failures = s.env.backend.tls_failures();
        failures
            .get(seen..)?
            .iter()
            .any(|f| f.error == error)
            .then_some(())
    })
    .await
    .with_context(|| {
        format!(
            "no handshake failure {error:?} after the first {seen}: {:?}\n{}",
            s.env.backend.tls_failures(),
            tail(&s.operator.log(), 40)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_from_the_operator_secret_heals_without_restart() -> Result<()> {
    const SECRET: &str = "petstore-tls";
    let pki = pki()?;
    let backend = PetstoreServer::start_tls(([127, 0, 0, 1], 0).into(), Arc::clone(&pki.server))
        .await
        .context("starting the HTTPS petstore-server")?;
    let s = start_with_backend(
        "auth-mtls",
        Some(backend),
        |_| {},
        &["--auth-secret", SECRET, "--auth-secret-namespace", "{ns}"],
    )
    .await?;
    let store = s.env.backend.store();
    let base = s.env.backend.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    // The backend really requires a client certificate: a client that trusts its CA but has no
    // certificate gets no HTTP answer (the server records why), nothing reaches the routes; with
    // the certificate, the same request is served.
    let probe = format!("{base}/pet/findByStatus?status=available");
    let refused = https_client(&pki, false)?.get(&probe).send().await;
    let err = refused
        .err()
        .context("a client without a certificate was served")?;
    assert!(err.status().is_none(), "{err:?}");
    tls_failure_after(&s, 0, NO_CLIENT_CERT).await?;
    assert!(store.requests().is_empty(), "{:?}", store.requests());
    let served = https_client(&pki, true)?.get(&probe).send().await?;
    assert_eq!(served.status(), 200);
    assert_eq!(store.requests().len(), 1);

    // No Secret yet: the operator does not trust the backend's certificate (not a system root)
    // and aborts the handshake; the failure is recorded in the status (no HTTP answer, so no
    // response code) and retried.
    let seen = s.env.backend.tls_failures().len();
    s.create("Pet", "pets", "tls-rex", pet("tls-rex", json!({})))
        .await?;
    tls_failure_after(&s, seen, UNTRUSTED_SERVER).await?;
    let failed = s
        .wait_status("Pet", "pets", "tls-rex", "Failed without the Secret", |_, st| {
            state(st) == "Failed"
        })
        .await?;
    let st = &failed.data["status"];
    assert!(st["response"]["statusCode"].is_null(), "no HTTP answer: {st}");
    // The status names the cause, not just "error sending request".
    assert!(
        message(st).contains("invalid peer certificate"),
        "the status does not say the server certificate is untrusted: {st}"
    );
    assert_eq!(
        condition(st, "Ready").context("Ready")?["reason"],
        "BackendUnavailable",
        "{st}"
    );
    assert!(s.operator.log().contains("auth Secret not found"));

    // Only the CA: the operator now trusts the backend, which refuses the handshake for want of
    // a client certificate. Still Failed, and no request of the operator reached the routes.
    let seen = s.env.backend.tls_failures().len();
    put_secret(&s.env, SECRET, &[("ca.crt", &pki.ca_pem)], false).await?;
    tls_failure_after(&s, seen, NO_CLIENT_CERT).await?;
    // The status now names the other cause: the server asked for a client certificate.
    let still = s
        .wait_status(
            "Pet",
            "pets",
            "tls-rex",
            "Failed for want of a client certificate",
            |_, st| state(st) == "Failed" && message(st).contains("CertificateRequired"),
        )
        .await?;
    assert!(
        still.data["status"]["response"]["statusCode"].is_null(),
        "{}",
        still.data["status"]
    );
    assert!(
        s.operator.log().contains("\"client_certificate\":false"),
        "the CA-only Secret was loaded"
    );
    assert_eq!(
        store.requests().len(),
        1,
        "only the probe reached the routes: {:?}",
        store.requests()
    );

    // The complete Secret: the same Pet syncs, without a restart or a spec change.
    put_secret(
        &s.env,
        SECRET,
        &[
            ("ca.crt", &pki.ca_pem),
            ("tls.crt", &pki.client_cert_pem),
            ("tls.key", &pki.client_key_pem),
        ],
        false,
    )
    .await?;
    let synced = s
        .wait_status("Pet", "pets", "tls-rex", "Synced over mutual TLS", |_, st| {
            state(st) == "Synced"
        })
        .await?;
    let id = external_id(&synced.data["status"]).context("externalID")?;
    assert_eq!(store.pet(id).context("backend pet")?["name"], "tls-rex");
    assert_eq!(synced.metadata.generation, Some(1), "no spec change");
    assert!(generation_observed(&synced, &synced.data["status"]));
    let log = s.operator.log();
    assert_eq!(
        log.matches("\"health_addr\":\"").count(),
        1,
        "one operator start, no restart"
    );
    assert!(
        log.contains("\"client_certificate\":true"),
        "the client certificate was loaded"
    );
    // A spec change goes over mutual TLS too.
    merge_spec(&s.api("Pet", "pets"), "tls-rex", json!({"name": "tls-rex2"})).await?;
    wait_until(WAIT, || async {
        (store.pet(id)?.get("name")? == "tls-rex2").then_some(())
    })
    .await
    .with_context(|| tail(&s.operator.log(), 40))?;

    // No PEM material anywhere: markers, every base64 line of the key and of the certificates,
    // and the Secret's base64 encoding of the key.
    let key_b64 = base64_encode(pki.client_key_pem.as_bytes());
    let mut shown: Vec<&str> = vec!["PRIVATE KEY", "CERTIFICATE", &key_b64, &key_b64[..36]];
    shown.extend(pem_body(&pki.client_key_pem));
    shown.extend(pem_body(&pki.client_cert_pem));
    shown.extend(pem_body(&pki.ca_pem));
    assert_never_shown(&s, &shown).await?;
    s.finish().await
}
