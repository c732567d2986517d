//! Integration tests of HTTPS serving (`PetstoreServer::start_tls`): a client certificate from the
//! configured CA is required, failed handshakes are recorded, the API is the same, and shutdown
//! works with idle connections open.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petstore_server::PetstoreServer;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

/// A CA's PEM, a client certificate and key from it (PEM), and a server config for `127.0.0.1`
/// that requires a client certificate from that CA.
struct Pki {
    ca_pem: String,
    client_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("test PKI");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("test PKI")).expect("test PKI");
    let server_key = KeyPair::generate().expect("test PKI");
    let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("test PKI")
        .signed_by(&server_key, &ca)
        .expect("test PKI");
    let client_key = KeyPair::generate().expect("test PKI");
    let client_cert = CertificateParams::new(vec!["client".to_owned()])
        .expect("test PKI")
        .signed_by(&client_key, &ca)
        .expect("test PKI");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).expect("test PKI");
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .expect("test PKI");
    let mut server = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .expect("test PKI");
    // Offered h2 must not matter: the server pins HTTP/1.1.
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Pki {
        ca_pem: ca.pem(),
        client_pem: format!("{}{}", client_key.serialize_pem(), client_cert.pem()),
        server: Arc::new(server),
    }
}

fn client(pki: &Pki, with_identity: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).expect("test PKI");
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(10));
    if with_identity {
        builder = builder.identity(reqwest::Identity::from_pem(pki.client_pem.as_bytes()).expect("test PKI"));
    }
    builder.build().expect("test PKI")
}

/// The error of failure number `n` (0-based) of `server`, waiting up to 5 s for it.
async fn next_failure(server: &PetstoreServer, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(failure) = server.tls_failures().get(n) {
            return failure.error.clone();
        }
        assert!(Instant::now() < deadline, "{:?}", server.tls_failures());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn https_requires_a_client_certificate_from_the_ca() {
    let pki = pki();
    let plain = PetstoreServer::start().await.unwrap();
    assert!(plain.base_url().starts_with("http://"));
    assert!(plain.tls_failures().is_empty());
    plain.shutdown().await;
    let server = PetstoreServer::start_tls(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), pki.server.clone())
        .await
        .unwrap();
    let base = server.base_url();
    assert_eq!(base, format!("https://{}/api/v3", server.addr()));
    let store = server.store();

    let trusted = client(&pki, true);
    let created: Value = trusted
        .post(format!("{base}/pet"))
        .json(&json!({"name": "tls-rex", "photoUrls": [], "status": "available"}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let fetched = trusted.get(format!("{base}/pet/{id}")).send().await.unwrap();
    assert_eq!(fetched.version(), reqwest::Version::HTTP_11);
    assert_eq!(fetched.json::<Value>().await.unwrap()["name"], "tls-rex");
    assert_eq!(store.requests().len(), 2);

    // Trusts the server, has no certificate: refused during the handshake.
    let err = client(&pki, false)
        .get(format!("{base}/pet/{id}"))
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "no HTTP answer: {err:?}");
    assert_eq!(next_failure(&server, 0).await, "peer sent no certificates");
    // Does not trust the server: the client aborts the handshake.
    let untrusting = reqwest::Client::builder().tls_certs_only([]).build().unwrap();
    assert!(untrusting.get(format!("{base}/pet/{id}")).send().await.is_err());
    assert_eq!(next_failure(&server, 1).await, "received fatal alert: UnknownCA");
    // Plain HTTP to the TLS port gets no HTTP answer either.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/api/v3/pet/{id}", server.addr()))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    next_failure(&server, 2).await;
    assert!(
        server
            .tls_failures()
            .iter()
            .all(|f| f.peer.ip() == Ipv4Addr::LOCALHOST)
    );
    assert_eq!(store.requests().len(), 2, "nothing reached the routes");

    // The trusted client keeps an idle keep-alive connection: shutdown must not wait for it.
    let started = Instant::now();
    let addr = server.addr();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
    assert!(trusted.get(format!("{base}/pet/{id}")).send().await.is_err());
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let pki = pki();
    let server = PetstoreServer::start_tls(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), pki.server.clone())
        .await
        .unwrap();
    server.store().inject_fault(petstore_server::Fault::delay_only(
        "/api/v3/pet",
        Duration::from_millis(800),
    ));
    let url = format!("{}/pet/findByStatus?status=available", server.base_url());
    let in_flight = tokio::spawn(async move { client(&pki, true).get(url).send().await });
    // Handshake done and the request held by the delay.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!in_flight.is_finished());
    server.shutdown().await;
    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200);
}
