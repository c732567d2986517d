//! `petstore-server`: a stateful in-memory backend for the stock Swagger Petstore OAS 3.0 spec
//! (`specs/petstore-3.0.yaml`, swagger-petstore v1.0.27) served under `/api/v3`, with fault
//! injection and request inspection for end-to-end tests. It serves plain HTTP
//! ([`PetstoreServer::start`]) or HTTPS with the caller's rustls configuration, e.g. one that
//! requires client certificates ([`PetstoreServer::start_tls`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use petstore_server::{Fault, PetstoreServer};
//! let server = PetstoreServer::start().await?;
//! server.store().inject_fault(Fault::status("/api/v3/pet", 503).times(2).header("Retry-After", "1"));
//! println!("{}", server.base_url()); // http://127.0.0.1:PORT/api/v3
//! server.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod admin;
mod auth;
mod error;
mod faults;
mod model;
mod routes;
mod store;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::AuthRequirement;
pub use error::ApiError;
pub use faults::{Fault, RecordedRequest};
pub use store::{Store, StoredImage};
pub use tls::TlsFailure;

/// Path prefix of every petstore API route (`servers[0].url` of the spec).
pub const BASE_PATH: &str = "/api/v3";

/// How long [`PetstoreServer::shutdown`] waits for in-flight requests before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The full application (API under [`BASE_PATH`], images, admin endpoints) over `store`.
pub fn router(store: Store) -> Router {
    Router::new()
        .nest(BASE_PATH, routes::api_router())
        .route("/images/{petId}/{n}", get(routes::image))
        .merge(admin::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            store.clone(),
            auth::middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(
            store.clone(),
            faults::middleware,
        ))
        .layer(DefaultBodyLimit::max(faults::MAX_BODY_BYTES))
        .with_state(store)
}

async fn not_found() -> Response {
    ApiError::NotFound("not found".into()).into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

/// A running petstore server; dropping it stops serving (use [`PetstoreServer::shutdown`] to wait).
#[derive(Debug)]
pub struct PetstoreServer {
    addr: SocketAddr,
    /// Served over TLS ([`PetstoreServer::start_tls`]).
    tls: bool,
    /// Failed handshakes (always empty for plain HTTP).
    tls_failures: tls::FailureLog,
    store: Store,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl PetstoreServer {
    /// Starts a server on `127.0.0.1` with an ephemeral port.
    pub async fn start() -> std::io::Result<PetstoreServer> {
        PetstoreServer::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts a server on `addr` (port 0 = ephemeral), e.g. `127.0.0.2:0` for multi-backend tests.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<PetstoreServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let store = Store::new();
        let app = router(store.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
            if let Err(err) = served {
                tracing::error!(%err, "petstore server failed");
            }
        });
        tracing::info!(%addr, "petstore server started");
        Ok(PetstoreServer {
            addr,
            tls: false,
            tls_failures: tls::FailureLog::default(),
            store,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Starts a server on `addr` (port 0 = ephemeral) that speaks HTTPS only, with the server
    /// certificate, client-certificate policy and protocol versions of `config` (whatever its
    /// ALPN list, HTTP/1.1 is the protocol negotiated). With a client verifier such as
    /// `rustls::server::WebPkiClientVerifier`, a client without an accepted certificate fails the
    /// handshake and never reaches the routes: nothing is recorded in [`Store::requests`], and the
    /// failure is listed by [`PetstoreServer::tls_failures`].
    ///
    /// Serves the same [`router`] as [`PetstoreServer::start_on`]; [`PetstoreServer::base_url`]
    /// is `https://…`, and [`PetstoreServer::shutdown`] and drop behave as for the plain server.
    /// A client that does not finish its handshake within 10 s is disconnected.
    ///
    /// # Errors
    ///
    /// The error of binding `addr` or of reading the bound address.
    pub async fn start_tls(
        addr: SocketAddr,
        config: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<PetstoreServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let store = Store::new();
        let app = router(store.clone());
        let acceptor = tokio_rustls::TlsAcceptor::from(tls::http1_only(&config));
        let tls_failures = tls::FailureLog::default();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(tls::serve(listener, acceptor, app, tls_failures.clone(), rx));
        tracing::info!(%addr, "petstore TLS server started");
        Ok(PetstoreServer {
            addr,
            tls: true,
            tls_failures,
            store,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, e.g. `http://127.0.0.1:PORT/api/v3` (`https://` when started with
    /// [`PetstoreServer::start_tls`]).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{BASE_PATH}", self.addr)
    }

    /// The TLS handshakes that failed (the last 1,000), oldest first: how a test tells a client
    /// refused for lack of a certificate from one that did not trust the server. Always empty
    /// for a plain HTTP server.
    pub fn tls_failures(&self) -> Vec<TlsFailure> {
        self.tls_failures.snapshot()
    }

    /// A handle to the server's shared state.
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// Stops accepting connections and waits (up to 5 s) for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for PetstoreServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
