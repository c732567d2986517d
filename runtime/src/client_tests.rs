//! Tests of the backend HTTP client against real axum servers on loopback: Retry-After, status classes, timeouts, limits, size limit, redirects (log redaction: tests/log_redaction.rs).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Redirect, Response};
use axum::routing::get;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::json;

use super::*;

async fn serve_on(ip: &str, router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn serve(router: Router) -> SocketAddr {
    serve_on("127.0.0.1", router).await
}

fn client(config: HttpConfig) -> BackendClient {
    BackendClient::with_config(config).unwrap()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn retry_after_parses_seconds_and_http_dates() {
    let now = at(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
    assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("99999999999999999999999", now),
        Some(Duration::from_secs(u64::MAX))
    );
    for date in [
        "Sun, 06 Nov 1994 08:49:47 GMT",  // IMF-fixdate
        "Sunday, 06-Nov-94 08:49:47 GMT", // RFC 850
        "Sun Nov  6 08:49:47 1994",       // asctime
    ] {
        assert_eq!(
            parse_retry_after(date, now),
            Some(Duration::from_secs(10)),
            "{date}"
        );
    }
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
        Some(Duration::ZERO),
        "a past date means retry now"
    );
    for bad in ["", "-1", "1.5", "soon", "Sun, 06 Nov 1994"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
}

fn status_router() -> Router {
    Router::new()
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move {
                let status = StatusCode::from_u16(code).unwrap();
                (
                    status,
                    [("retry-after", "3")],
                    axum::Json(json!({"message": format!("answer {code}")})),
                )
            }),
        )
        .route(
            "/date",
            get(|| async {
                let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", when)],
                    "maintenance",
                )
            }),
        )
}

#[tokio::test]
async fn retryable_statuses_carry_retry_after_and_others_are_terminal() {
    let addr = serve(status_router()).await;
    let c = client(HttpConfig::default());
    for code in [408u16, 429, 503] {
        let url = format!("http://{addr}/status/{code}");
        let resp = c.send(Method::Get, &url, None).await.unwrap();
        assert_eq!(resp.status, code);
        assert_eq!(resp.retry_after, Some(Duration::from_secs(3)), "{code}");
        let err = resp.to_error(Method::Get, &url);
        assert!(err.is_retryable(), "{code}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert!(
            err.to_string()
                .contains(&format!("answer {code} (Retry-After 3s)")),
            "{err}"
        );
    }
    for code in [400u16, 404, 422] {
        let url = format!("http://{addr}/status/{code}");
        let resp = c.send(Method::Get, &url, None).await.unwrap();
        assert_eq!(
            resp.retry_after, None,
            "Retry-After is ignored on terminal statuses"
        );
        let err = resp.to_error(Method::Get, &url);
        assert!(!err.is_retryable(), "{code}");
        assert_eq!(err.reason(), "BackendRejected");
        assert!(err.to_string().contains(&format!("answer {code}")), "{err}");
    }
    let resp = c
        .send(Method::Get, &format!("http://{addr}/date"), None)
        .await
        .unwrap();
    let wait = resp.retry_after.unwrap();
    assert!(
        wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
    let delay = crate::context::retry_delay(Duration::from_secs(1), resp.retry_after);
    assert_eq!(delay, wait, "Retry-After beats a shorter backoff");
}

#[tokio::test]
async fn slow_backend_times_out_with_url_and_duration() {
    let router = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "late"
        }),
    );
    let addr = serve(router).await;
    let c = client(HttpConfig {
        request_timeout: Duration::from_millis(300),
        ..HttpConfig::default()
    });
    let url = format!("http://{addr}/slow");
    let started = Instant::now();
    let err = c.send(Method::Get, &url, None).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, Error::BackendTimeout { connect: false, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(err.metric_label(), "backend_timeout");
    assert_eq!(
        err.to_string(),
        format!("GET {url}: backend did not answer within 300ms")
    );
}

/// A backend that counts requests in flight and remembers the peak and start times.
#[derive(Clone, Default)]
struct Meter {
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    starts: Arc<Mutex<Vec<Instant>>>,
}

impl Meter {
    fn router(&self) -> Router {
        let meter = self.clone();
        Router::new().route(
            "/work",
            get(move || {
                let m = meter.clone();
                async move {
                    m.starts.lock().unwrap().push(Instant::now());
                    let now = m.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    m.peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    m.in_flight.fetch_sub(1, Ordering::SeqCst);
                    axum::Json(json!({"ok": true}))
                }
            }),
        )
    }
}

async fn fire(c: &BackendClient, url: &str, n: usize) {
    let results = futures::future::join_all((0..n).map(|_| c.send(Method::Get, url, None))).await;
    for r in results {
        assert_eq!(r.unwrap().status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_per_backend_is_capped() {
    let meter = Meter::default();
    let addr = serve(meter.router()).await;
    let url = format!("http://{addr}/work");
    let limited = client(HttpConfig {
        limits: BackendLimits {
            max_concurrent: 4,
            max_per_second: 0.0,
        },
        ..HttpConfig::default()
    });
    fire(&limited, &url, 50).await;
    assert_eq!(
        meter.peak.load(Ordering::SeqCst),
        4,
        "the cap is reached and never exceeded"
    );
    assert_eq!(meter.starts.lock().unwrap().len(), 50);

    let meter = Meter::default();
    let addr = serve(meter.router()).await;
    let unlimited = client(HttpConfig {
        limits: BackendLimits {
            max_concurrent: 0,
            max_per_second: 0.0,
        },
        ..HttpConfig::default()
    });
    fire(&unlimited, &format!("http://{addr}/work"), 50).await;
    assert!(meter.peak.load(Ordering::SeqCst) > 8, "0 means unlimited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_per_backend_spaces_requests() {
    let meter = Meter::default();
    let addr = serve(meter.router()).await;
    let c = client(HttpConfig {
        limits: BackendLimits {
            max_concurrent: 0,
            max_per_second: 20.0,
        },
        ..HttpConfig::default()
    });
    let started = Instant::now();
    fire(&c, &format!("http://{addr}/work"), 10).await;
    let elapsed = started.elapsed();
    // 10 starts at 20/s: the last one no earlier than 9 × 50 ms after the first.
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let mut starts = meter.starts.lock().unwrap().clone();
    starts.sort();
    let span = starts[9] - starts[0];
    assert!(
        span >= Duration::from_millis(400),
        "server saw them spread out: {span:?}"
    );
}

fn big_router() -> Router {
    Router::new()
        .route(
            "/sized/{n}",
            get(|Path(n): Path<usize>| async move { "x".repeat(n) }),
        )
        .route(
            "/stream",
            get(|| async {
                // No Content-Length: 64 chunks of 64 KiB, 4 MiB in all.
                let chunks =
                    futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(bytes_chunk(64 * 1024))));
                Response::new(Body::from_stream(chunks))
            }),
        )
}

fn bytes_chunk(n: usize) -> Vec<u8> {
    vec![b'y'; n]
}

#[tokio::test]
async fn oversized_bodies_are_terminal_errors_naming_the_limit() {
    let addr = serve(big_router()).await;
    let c = client(HttpConfig {
        max_response_bytes: 1024 * 1024,
        ..HttpConfig::default()
    });
    let ok = c
        .send(Method::Get, &format!("http://{addr}/sized/{}", 1024 * 1024), None)
        .await
        .unwrap();
    assert_eq!(ok.status, 200, "a body exactly at the limit is fine");
    for path in [format!("sized/{}", 1024 * 1024 + 1), "stream".to_owned()] {
        let err = c
            .send(Method::Get, &format!("http://{addr}/{path}"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::BadBackendResponse { .. }), "{err:?}");
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(
            text.contains("exceeds the limit of 1048576 bytes (--max-response-bytes)"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn broken_json_in_a_success_is_retryable_and_text_stays_text() {
    let router = Router::new()
        .route("/broken", get(|| async { "{not json" }))
        .route("/text", get(|| async { "Pet deleted" }))
        .route(
            "/broken-error",
            get(|| async { (StatusCode::BAD_GATEWAY, "{\"message\": <html>") }),
        );
    let addr = serve(router).await;
    let c = client(HttpConfig::default());
    let err = c
        .send(Method::Get, &format!("http://{addr}/broken"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::MalformedResponse { status: 200, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(err.to_string().contains("malformed JSON"), "{err}");
    let text = c
        .send(Method::Get, &format!("http://{addr}/text"), None)
        .await
        .unwrap();
    assert_eq!(text.body, json!("Pet deleted"));
    let bad_gateway = c
        .send(Method::Get, &format!("http://{addr}/broken-error"), None)
        .await
        .unwrap();
    assert_eq!(bad_gateway.body, json!("{\"message\": <html>"));
}

/// `(Authorization, X-API-Key)` of one request.
type Credentials = (Option<String>, Option<String>);

/// Records the `Authorization` and `X-API-Key` headers each request arrived with.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Credentials>>>);

impl Seen {
    fn router(&self) -> Router {
        let seen = self.clone();
        Router::new().route(
            "/echo",
            get(move |headers: HeaderMap| {
                let seen = seen.clone();
                async move {
                    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
                    seen.0
                        .lock()
                        .unwrap()
                        .push((get("authorization"), get("x-api-key")));
                    axum::Json(json!({"ok": true}))
                }
            }),
        )
    }

    fn take(&self) -> Vec<Credentials> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Server A (`127.0.0.1`) redirects `/away` to B's `/echo` on another host, `/here` to its own
/// `/echo`, and `/loop` to itself.
async fn redirect_pair() -> (SocketAddr, Seen, Seen) {
    let seen_b = Seen::default();
    // Another loopback address is another host; fall back to another port (still cross-origin).
    let b = match tokio::net::TcpListener::bind(("127.0.0.2", 0)).await {
        Ok(_) => serve_on("127.0.0.2", seen_b.router()).await,
        Err(_) => serve(seen_b.router()).await,
    };
    let seen_a = Seen::default();
    let away = format!("http://{b}/echo");
    let router = seen_a
        .router()
        .route("/away", get(move || async move { Redirect::temporary(&away) }))
        .route("/here", get(|| async { Redirect::temporary("/echo") }))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }));
    (serve(router).await, seen_a, seen_b)
}

fn with_header(name: &'static str, value: &'static str) -> HttpConfig {
    let mut config = HttpConfig::default();
    config
        .default_headers
        .insert(name, HeaderValue::from_static(value));
    config
}

#[tokio::test]
async fn cross_host_redirects_drop_authorization_same_host_keeps_it() {
    let (a, seen_a, seen_b) = redirect_pair().await;
    let c = client(with_header(AUTHORIZATION.as_str(), "Bearer s3cr3t"));

    let resp = c
        .send(Method::Get, &format!("http://{a}/away"), None)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "the cross-host redirect is followed");
    assert_eq!(
        seen_b.take(),
        [(None, None)],
        "B must not receive A's credentials"
    );

    let resp = c
        .send(Method::Get, &format!("http://{a}/here"), None)
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(seen_a.take(), [(Some("Bearer s3cr3t".to_owned()), None)]);
}

#[tokio::test]
async fn cross_host_redirects_with_custom_credential_headers_are_refused() {
    let (a, seen_a, seen_b) = redirect_pair().await;
    let c = client(with_header("x-api-key", "s3cr3t"));
    let err = c
        .send(Method::Get, &format!("http://{a}/away"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RedirectRefused { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("x-api-key"), "{err}");
    assert!(seen_b.take().is_empty(), "B was never contacted");

    c.send(Method::Get, &format!("http://{a}/here"), None)
        .await
        .unwrap();
    assert_eq!(seen_a.take(), [(None, Some("s3cr3t".to_owned()))]);
}

#[tokio::test]
async fn redirect_loops_stop_after_the_limit() {
    let (a, _, _) = redirect_pair().await;
    let c = client(HttpConfig::default());
    let err = c
        .send(Method::Get, &format!("http://{a}/loop"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RedirectRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("more than 5 redirects"), "{err}");
}

#[test]
fn debug_output_of_the_client_hides_credential_headers() {
    let mut config = with_header(AUTHORIZATION.as_str(), "Bearer s3cr3t");
    config
        .default_headers
        .insert("x-api-key", HeaderValue::from_static("s3cr3t"));
    config
        .default_headers
        .insert("x-tenant", HeaderValue::from_static("acme"));
    let c = client(config);
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("acme"), "{shown}");
}

// ---------------------------------------------------------------- authentication

/// What one request carried: `(path and query, Authorization, api_key header, Cookie)`.
type Carried = (String, Option<String>, Option<String>, Option<String>);

/// Records every request under `/*`; `/away` redirects to `other` (another origin) when set.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Carried>>>);

impl Recorder {
    fn router(&self, other: Option<String>) -> Router {
        let seen = self.clone();
        let record = move |uri: axum::http::Uri, headers: HeaderMap| {
            let seen = seen.clone();
            let other = other.clone();
            async move {
                let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
                seen.0.lock().unwrap().push((
                    uri.to_string(),
                    get("authorization"),
                    get("api_key"),
                    get("cookie"),
                ));
                match (uri.path(), other) {
                    ("/away", Some(other)) => Redirect::temporary(&format!("{other}/landed")).into_response(),
                    _ => axum::Json(json!({"ok": true})).into_response(),
                }
            }
        };
        Router::new().fallback(get(record))
    }

    fn take(&self) -> Vec<Carried> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

use axum::response::IntoResponse;

use crate::auth::{ApiKeyLocation, Authenticator, SecretRef, SecurityKind, SecurityScheme};

static SCHEMES: &[SecurityScheme] = &[
    SecurityScheme {
        name: "bearer",
        kind: SecurityKind::Bearer,
    },
    SecurityScheme {
        name: "api_key",
        kind: SecurityKind::ApiKey {
            location: ApiKeyLocation::Header,
            name: "api_key",
        },
    },
    SecurityScheme {
        name: "query_key",
        kind: SecurityKind::ApiKey {
            location: ApiKeyLocation::Query,
            name: "key",
        },
    },
    SecurityScheme {
        name: "cookie_key",
        kind: SecurityKind::ApiKey {
            location: ApiKeyLocation::Cookie,
            name: "sid",
        },
    },
];

fn secret_data(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, k8s_openapi::ByteString> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), k8s_openapi::ByteString(v.as_bytes().to_vec())))
        .collect()
}

/// A client whose operator-wide Secret `ops/creds` holds `pairs`.
fn authed(pairs: &[(&str, &str)]) -> (BackendClient, Arc<Authenticator>, SecretRef) {
    let secret = SecretRef::new("ops", "creds");
    let auth = Arc::new(Authenticator::fixed(SCHEMES, Some(secret.clone())));
    auth.set_secret(&secret, Some("1".into()), Some(&secret_data(pairs)));
    let c = client(HttpConfig::default()).with_auth(auth.clone());
    (c, auth, secret)
}

#[tokio::test]
async fn credentials_go_in_the_header_query_or_cookie_the_scheme_names() {
    let seen = Recorder::default();
    let addr = serve(seen.router(None)).await;
    let url = format!("http://{addr}/pet/1?status=sold");
    let cases: [(&[(&str, &str)], Carried); 4] = [
        (
            &[("token", "t0k")],
            ("/pet/1?status=sold".into(), Some("Bearer t0k".into()), None, None),
        ),
        (
            &[("api_key", "k3y")],
            ("/pet/1?status=sold".into(), None, Some("k3y".into()), None),
        ),
        (
            &[("query_key", "a b&c")],
            ("/pet/1?status=sold&key=a+b%26c".into(), None, None, None),
        ),
        (
            &[("cookie_key", "c00kie")],
            ("/pet/1?status=sold".into(), None, None, Some("sid=c00kie".into())),
        ),
    ];
    for (pairs, expected) in cases {
        let (c, _, _) = authed(pairs);
        assert_eq!(c.send(Method::Get, &url, None).await.unwrap().status, 200);
        assert_eq!(seen.take(), [expected], "{pairs:?}");
        // Third-party fetches never carry credentials.
        c.fetch(&url).await.unwrap();
        assert_eq!(seen.take(), [("/pet/1?status=sold".to_owned(), None, None, None)]);
    }
    // No Secret content for any scheme: nothing is added.
    let (c, _, _) = authed(&[("unrelated", "x")]);
    c.send(Method::Get, &url, None).await.unwrap();
    assert_eq!(seen.take(), [("/pet/1?status=sold".to_owned(), None, None, None)]);
}

#[tokio::test]
async fn rotated_secrets_apply_to_the_next_request() {
    let seen = Recorder::default();
    let addr = serve(seen.router(None)).await;
    let url = format!("http://{addr}/pet/1");
    let (c, auth, secret) = authed(&[("api_key", "old")]);
    c.send(Method::Get, &url, None).await.unwrap();
    auth.set_secret(
        &secret,
        Some("2".into()),
        Some(&secret_data(&[("api_key", "new")])),
    );
    c.send(Method::Get, &url, None).await.unwrap();
    auth.set_secret(&secret, None, None);
    c.send(Method::Get, &url, None).await.unwrap();
    let keys: Vec<Option<String>> = seen.take().into_iter().map(|r| r.2).collect();
    assert_eq!(keys, [Some("old".into()), Some("new".into()), None]);
}

#[tokio::test]
async fn api_keys_never_follow_cross_origin_redirects_and_bearer_tokens_are_stripped() {
    let seen_b = Recorder::default();
    let b = match tokio::net::TcpListener::bind(("127.0.0.2", 0)).await {
        Ok(_) => serve_on("127.0.0.2", seen_b.router(None)).await,
        Err(_) => serve(seen_b.router(None)).await,
    };
    let seen_a = Recorder::default();
    let a = serve(seen_a.router(Some(format!("http://{b}")))).await;
    let away = format!("http://{a}/away");

    for pairs in [&[("api_key", "s3cr3t")][..], &[("query_key", "s3cr3t")]] {
        let (c, _, _) = authed(pairs);
        let err = c.send(Method::Get, &away, None).await.unwrap_err();
        assert!(matches!(err, Error::RedirectRefused { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(seen_b.take().is_empty(), "B was never contacted");
        assert_eq!(seen_a.take().len(), 1);
    }
    // Authorization and Cookie are dropped by the HTTP stack; the redirect is followed.
    for pairs in [&[("token", "s3cr3t")][..], &[("cookie_key", "s3cr3t")]] {
        let (c, _, _) = authed(pairs);
        assert_eq!(c.send(Method::Get, &away, None).await.unwrap().status, 200);
        assert_eq!(seen_b.take(), [("/landed".to_owned(), None, None, None)]);
        assert_eq!(seen_a.take().len(), 1);
    }
}

#[tokio::test]
async fn transport_errors_never_show_a_query_api_key() {
    // Nothing listens on this port once the listener is dropped.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (c, _, _) = authed(&[("query_key", "s3cr3t")]);
    let err = c
        .send(Method::Get, &format!("http://{addr}/pet/1"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BackendUnreachable { .. }), "{err:?}");
    // The message names the cause below reqwest, not just "error sending request".
    let text = err.to_string();
    assert!(text.contains("Connection refused"), "{text}");
    assert!(!text.contains("error sending request"), "{text}");
    let shown = format!("{err} {err:?} {}", crate::error::error_chain(&err));
    assert!(!shown.contains("s3cr3t"), "{shown}");
    let debug = format!("{c:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
}

// ---------------------------------------------------------------- mutual TLS

/// A CA, a server certificate for `127.0.0.1` and a client certificate, all PEM, plus the server's
/// rustls config that requires a client certificate from that CA.
struct Pki {
    ca_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    crate::http::install_crypto_provider();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["operator".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let server = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
        server: Arc::new(server),
    }
}

/// An HTTPS server on `127.0.0.1` that answers `{"tls":true}` to any request that completed the
/// handshake (so only clients with a certificate from the CA get an answer).
async fn serve_mtls(config: Arc<rustls::ServerConfig>) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"tls":true}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn client_certificates_and_custom_cas_come_from_the_secret() {
    let pki = pki();
    let addr = serve_mtls(pki.server.clone()).await;
    let url = format!("https://127.0.0.1:{}/pet/1", addr.port());

    // CA + client certificate: the handshake succeeds; the clients are built once per version.
    let (c, auth, secret) = authed(&[
        ("ca.crt", &pki.ca_pem),
        ("tls.crt", &pki.client_cert_pem),
        ("tls.key", &pki.client_key_pem),
    ]);
    for _ in 0..2 {
        let resp = c.send(Method::Get, &url, None).await.unwrap();
        assert_eq!((resp.status, resp.body.clone()), (200, json!({"tls": true})));
    }
    let creds = auth.current().await.unwrap();
    assert!(creds.clients.get().is_some_and(|r| r.is_ok()), "built and cached");
    assert_eq!(creds.scheme, None, "no request credential, only TLS");
    let shown = format!("{creds:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains("CERTIFICATE"),
        "{shown}"
    );

    // The CA alone: the server refuses the handshake without a client certificate.
    auth.set_secret(
        &secret,
        Some("2".into()),
        Some(&secret_data(&[("ca.crt", &pki.ca_pem)])),
    );
    let err = c.send(Method::Get, &url, None).await.unwrap_err();
    assert!(matches!(err, Error::BackendUnreachable { .. }), "{err:?}");

    // No Secret: the server's certificate is not trusted (not a system root).
    auth.set_secret(&secret, None, None);
    assert!(c.send(Method::Get, &url, None).await.is_err());

    // Broken PEM: the Secret is unusable, nothing is sent with it, and the key never shows.
    auth.set_secret(
        &secret,
        Some("3".into()),
        Some(&secret_data(&[
            ("tls.crt", "garbage"),
            ("tls.key", "s3cr3t-garbage"),
        ])),
    );
    assert!(auth.current().await.is_none());
    let err = c.send(Method::Get, &url, None).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cr3t"));

    // Rotated back to a complete Secret: works again without a new BackendClient.
    auth.set_secret(
        &secret,
        Some("4".into()),
        Some(&secret_data(&[
            ("ca.crt", &pki.ca_pem),
            ("tls.crt", &pki.client_cert_pem),
            ("tls.key", &pki.client_key_pem),
            ("token", "t0k"),
        ])),
    );
    let resp = c.send(Method::Get, &url, None).await.unwrap();
    assert_eq!(resp.status, 200);
}
