//! HTTPS serving for [`crate::PetstoreServer::start_tls`]: a TLS handshake (tokio-rustls) and an HTTP/1.1 connection (hyper) per accepted socket, all stopped together on shutdown.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// How long a client may take to complete the handshake before its socket is closed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a failed `accept` (e.g. out of file descriptors) before the next one.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// How many handshake failures [`FailureLog`] keeps (the oldest are dropped).
const MAX_FAILURES: usize = 1000;

/// A TLS handshake that did not complete, as recorded by a server started with
/// [`crate::PetstoreServer::start_tls`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFailure {
    /// The client's address.
    pub peer: SocketAddr,
    /// Why: the TLS library's message (e.g. `peer sent no certificates` for a client without a
    /// certificate, `received fatal alert: UnknownCA` for one that does not trust the server), or
    /// `handshake timed out`.
    pub error: String,
}

/// The most recent handshake failures of one server, shared with its connection tasks.
#[derive(Debug, Clone, Default)]
pub(crate) struct FailureLog(Arc<Mutex<VecDeque<TlsFailure>>>);

impl FailureLog {
    fn record(&self, peer: SocketAddr, error: String) {
        tracing::debug!(%peer, %error, "petstore TLS server: handshake failed");
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() == MAX_FAILURES {
            failures.pop_front();
        }
        failures.push_back(TlsFailure { peer, error });
    }

    /// The recorded failures, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<TlsFailure> {
        let failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        failures.iter().cloned().collect()
    }
}

/// `config` with ALPN pinned to HTTP/1.1, the only protocol [`serve`] speaks.
pub(crate) fn http1_only(config: &rustls::ServerConfig) -> Arc<rustls::ServerConfig> {
    let mut config = config.clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Accepts connections on `listener` and serves `app` over TLS until `shutdown` resolves (or its
/// sender is dropped); then stops accepting, lets in-flight requests finish and returns once every
/// connection has closed. Handshakes still in progress at shutdown are dropped.
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    failures: FailureLog,
    mut shutdown: oneshot::Receiver<()>,
) {
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    connections.spawn(connection(
                        tcp,
                        peer,
                        acceptor.clone(),
                        app.clone(),
                        failures.clone(),
                        stopped.clone(),
                    ));
                }
                Err(err) => {
                    tracing::warn!(%err, "petstore TLS server: accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
            },
            // Reap finished connections so the set does not grow with every request.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    stop.send_replace(true);
    while connections.join_next().await.is_some() {}
}

/// One connection: the handshake (bounded by [`HANDSHAKE_TIMEOUT`]; a failure is recorded in
/// `failures`), then HTTP/1.1 until the peer closes or `stop` flips (the request in flight, if
/// any, is finished first).
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    app: Router,
    failures: FailureLog,
    mut stop: watch::Receiver<bool>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
    let tls = tokio::select! {
        () = stopped(&mut stop) => return,
        done = handshake => match done {
            Ok(Ok(tls)) => tls,
            Ok(Err(err)) => return failures.record(peer, err.to_string()),
            Err(_) => return failures.record(peer, "handshake timed out".to_owned()),
        },
    };
    let mut conn = pin!(
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
    );
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(err) = served {
        tracing::debug!(%peer, %err, "petstore TLS server: connection error");
    }
}

/// Resolves once `stop` is `true` (or its sender is gone). Holds no borrow of the value, so the
/// future stays `Send` across later awaits.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
