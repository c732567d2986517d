//! `petstore-server`: a stateful in-memory backend for the stock Swagger Petstore OAS 3.0 spec
//! (`specs/petstore-3.0.yaml`, swagger-petstore v1.0.27) served under `/api/v3`, with fault
//! injection and request inspection for end-to-end tests.
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

use std::net::{Ipv4Addr, SocketAddr};
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
            store,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, e.g. `http://127.0.0.1:PORT/api/v3`.
    pub fn base_url(&self) -> String {
        format!("http://{}{BASE_PATH}", self.addr)
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
