//! Test double of kube-apiserver: the [`TestApiServer`] handle (start, kubeconfig, stats, shutdown).
//!
//! An in-memory, watchable Kubernetes API server over plain HTTP that kube-rs clients and
//! `kubectl` can use through a kubeconfig. It serves a table of built-in kinds plus whatever
//! CustomResourceDefinitions are installed, with real semantics for resourceVersion conflicts,
//! `generation`, the status subresource, finalizers, watches with resourceVersion replay, merge /
//! JSON / apply patches, and `Status` error bodies. Where it disagrees with a real apiserver,
//! the test double is wrong.
//!
//! Known simplifications (see the module docs): server-side apply merges without field
//! ownership; strategic merge patch on built-ins is applied as a JSON merge patch; no OpenAPI
//! schema validation, defaulting or pruning; no version conversion (all versions of a CRD share
//! one storage and only `apiVersion` is rewritten); no admission, RBAC or authentication.

#![deny(missing_docs)]

mod deletion;
mod discovery;
mod errors;
mod handlers;
mod openapi;
mod patch;
mod resources;
mod selector;
mod stats;
mod store;
mod table;
mod watch;
mod writes;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

pub use errors::{ApiError, Cause, Target};
pub use selector::{FieldSelector, LabelSelector, Requirement};
pub use stats::{Stats, WriteKey};

use handlers::App;
use store::Store;

/// How long [`TestApiServer::shutdown`] waits for connections to drain before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Startup options for [`TestApiServer::start_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// Address to bind (default `127.0.0.1:0`).
    pub addr: SocketAddr,
    /// Events kept for watch replay; a watch from an older resourceVersion gets 410 Expired
    /// (default 10,000).
    pub event_log_capacity: usize,
    /// Interval between BOOKMARK events on watches with `allowWatchBookmarks=true` (default 1 s).
    pub bookmark_interval: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            event_log_capacity: store::EVENT_LOG_CAPACITY,
            bookmark_interval: Duration::from_secs(1),
        }
    }
}

/// A running test API server. Dropping it stops the server (best effort).
#[derive(Debug)]
pub struct TestApiServer {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl TestApiServer {
    /// Binds 127.0.0.1 on an ephemeral port and serves in a background tokio task.
    pub async fn start() -> std::io::Result<TestApiServer> {
        Self::start_with(ServerOptions::default()).await
    }

    /// Binds `addr` and serves in a background tokio task.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<TestApiServer> {
        Self::start_with(ServerOptions {
            addr,
            ..ServerOptions::default()
        })
        .await
    }

    /// Starts with explicit [`ServerOptions`].
    pub async fn start_with(options: ServerOptions) -> std::io::Result<TestApiServer> {
        let listener = tokio::net::TcpListener::bind(options.addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let app = Arc::new(App {
            store: Store::new(options.event_log_capacity),
            shutdown: shutdown_rx.clone(),
            addr,
            bookmark_interval: options.bookmark_interval,
        });
        let router = axum::Router::new()
            .fallback(handlers::dispatch)
            .with_state(app.clone());
        let mut stop = shutdown_rx;
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        });
        let task = tokio::spawn(async move {
            if let Err(err) = serve.await {
                tracing::warn!(%err, "test-apiserver stopped with an error");
            }
        });
        tracing::info!(%addr, "test-apiserver listening");
        Ok(TestApiServer {
            addr,
            app,
            shutdown_tx,
            task: Some(task),
        })
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig whose cluster, user and context are all named `test-apiserver`, namespace `default`.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: test-apiserver
  cluster:
    server: {url}
users:
- name: test-apiserver
  user: {{}}
contexts:
- name: test-apiserver
  context:
    cluster: test-apiserver
    user: test-apiserver
    namespace: default
current-context: test-apiserver
preferences: {{}}
",
            url = self.url()
        )
    }

    /// Writes [`Self::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// A snapshot of the request counters.
    pub fn stats(&self) -> Stats {
        self.app.store.lock().stats.clone()
    }

    /// Resets the request counters to zero.
    pub fn reset_stats(&self) {
        self.app.store.lock().stats = Stats::default();
    }

    /// How many stored objects of `group`/`plural` (in `namespace`, or in all namespaces) satisfy
    /// `predicate`. Reads the store in process, with no request and no serialization, so that a
    /// benchmark can poll it often without adding load to the server it measures.
    pub fn count(
        &self,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
        predicate: impl Fn(&serde_json::Value) -> bool,
    ) -> usize {
        let state = self.app.store.lock();
        state
            .list(group, plural, namespace)
            .into_iter()
            .filter(|obj| predicate(obj))
            .count()
    }

    /// The latest committed resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.app.store.lock().current_rv()
    }

    /// Stops accepting connections, ends watch streams and waits (bounded) for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
