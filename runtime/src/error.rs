//! The runtime's error type: every failure a reconcile can meet, classified as retryable or terminal.
//!
//! The classification drives requeueing (see [`crate::resource`]): retryable errors are retried with
//! per-object exponential backoff and leave the CR `Reconciling`; terminal errors mark it `Stalled` and
//! wait for the spec to change. This module depends on no other runtime module.

use std::time::Duration;

/// Result alias used throughout the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reconciling a CR or starting the operator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backend could not be reached (connection refused, DNS, TLS, broken body). Retryable.
    ///
    /// The message names the underlying cause (`invalid peer certificate: UnknownIssuer`,
    /// `Connection refused`), not just reqwest's "error sending request", so that a status tells
    /// an untrusted server certificate from a refused client certificate or a closed port.
    #[error("{method} {url}: backend unreachable: {}", transport_cause(source))]
    BackendUnreachable {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },

    /// The backend did not answer within the request timeout (or, with `connect` set, no
    /// connection could be opened within the connect timeout). Retryable.
    #[error("{method} {url}: backend {} within {}", if *connect { "did not accept a connection" } else { "did not answer" }, human_duration(*after))]
    BackendTimeout {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// The timeout that expired.
        after: Duration,
        /// Whether the connect timeout (rather than the request timeout) expired.
        connect: bool,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },

    /// The backend answered with a 5xx status, `408 Request Timeout` or `429 Too Many Requests`.
    /// Retryable; `retry_after` (from the `Retry-After` header) is a lower bound for the next
    /// attempt.
    #[error("{method} {url}: backend error {status}: {message}{}", retry_after.map(|d| format!(" (Retry-After {})", human_duration(d))).unwrap_or_default())]
    BackendUnavailable {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Message extracted from the response body.
        message: String,
        /// How long the backend asked us to wait (`Retry-After`), if it said.
        retry_after: Option<Duration>,
    },

    /// The backend answered 2xx with a body that claims to be JSON (by `Content-Type`, or by
    /// starting with `{` or `[`) but does not parse. Retryable: usually a proxy or backend glitch,
    /// and acting on a garbled read (e.g. "correcting drift" against it) would be wrong.
    #[error("{method} {url}: backend answered {status} with malformed JSON: {source}")]
    MalformedResponse {
        /// HTTP method of the request.
        method: String,
        /// URL of the request.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Parse error.
        #[source]
        source: serde_json::Error,
    },

    /// A redirect was refused: too many hops, a non-HTTP target, or a cross-origin hop while the
    /// request carries credential headers that cannot be stripped safely. Terminal.
    #[error("{method} {url}: redirect refused: {}", error_chain(source))]
    RedirectRefused {
        /// HTTP method of the request.
        method: String,
        /// URL of the request.
        url: String,
        /// Cause (its source chain says why).
        #[source]
        source: reqwest::Error,
    },

    /// The backend denied access: `401 Unauthorized` or `403 Forbidden`. Retryable with backoff:
    /// credentials live in a Secret outside the spec and are re-read when it changes, so creating,
    /// fixing or rotating the Secret must heal the CR without a spec change.
    #[error("{method} {url}: backend denied access with {status} (check the auth Secret): {message}")]
    BackendDenied {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// HTTP status code (401 or 403).
        status: u16,
        /// Message extracted from the response body.
        message: String,
    },

    /// The backend rejected the request with a 4xx status (other than 401/403/408/429). Terminal: the same
    /// request would be rejected again until the spec changes.
    #[error("{method} {url}: backend rejected the request with {status}: {message}")]
    BackendRejected {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Message extracted from the response body.
        message: String,
    },

    /// The backend answered 2xx but the answer is unusable (e.g. a create response without an id).
    /// Terminal.
    #[error("unusable backend response: {reason}")]
    BadBackendResponse {
        /// What is wrong with the response.
        reason: String,
    },

    /// The CR's spec cannot be turned into a request (missing id value, invalid interval, no
    /// endpoint, …). Terminal.
    #[error("invalid spec: {field}: {reason}")]
    BadSpec {
        /// JSON path of the offending field (`spec.executionInterval`), or a short description.
        field: String,
        /// What is wrong.
        reason: String,
    },

    /// A Kubernetes object the spec refers to (the ConfigMap or Secret of an Action's
    /// `spec.dataFrom`), or a key in it, does not exist. Retryable: it may be created later, and
    /// nothing was sent to the backend.
    #[error("{what}")]
    MissingReference {
        /// What is missing, e.g. `secret "x" not found in namespace "ns"`.
        what: String,
    },

    /// The backend object is gone and the API offers no way to recreate it. Terminal.
    #[error("backend object {id} not found and the API has no create operation")]
    NotRecreatable {
        /// Id of the missing object.
        id: String,
    },

    /// A Kubernetes API call failed (status patch, finalizer patch, watch). Retryable.
    #[error("kubernetes API: {action}: {source}")]
    Kube {
        /// What the operator was doing (`patch status`, `add finalizer`).
        action: &'static str,
        /// Cause.
        #[source]
        source: kube::Error,
    },

    /// A value could not be (de)serialized as JSON. Terminal (it will not fix itself).
    #[error("serialization: {what}: {source}")]
    Serialization {
        /// What was being (de)serialized.
        what: &'static str,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },

    /// No usable backend endpoint right now: the targeted workload or pod does not exist, none of
    /// its pods is Ready with an IP or passes the health probe, or the watch that tracks them has
    /// not synced yet. Retryable: endpoints follow the cluster.
    #[error("no backend endpoint for {target}: {reason}")]
    NoEndpoint {
        /// What was targeted (`StatefulSet ns/petstore`).
        target: String,
        /// Why no endpoint is usable.
        reason: String,
    },

    /// A fan-out (`spec.target.strategy: AllHealthy`) did not meet its success rule. Retryability,
    /// reason and `Retry-After` are those of `first`, the first endpoint failure.
    #[error("{succeeded}/{total} endpoints succeeded, {rule} required: {first}")]
    FanOut {
        /// Endpoints that succeeded.
        succeeded: usize,
        /// Endpoints the request went to.
        total: usize,
        /// The success rule (`All`, `Any`, `Quorum`).
        rule: &'static str,
        /// The first endpoint failure.
        #[source]
        first: Box<Error>,
    },

    /// This process was the leader (`--leader-elect`) and lost the Lease: it could not renew it
    /// within the renew deadline, or another replica now holds it. Terminal: the operator stops
    /// reconciling at once and exits non-zero (Kubernetes restarts it as a standby).
    #[error("leadership of lease {lease} lost: {reason}")]
    LeadershipLost {
        /// `namespace/name` of the Lease.
        lease: String,
        /// Why.
        reason: String,
    },

    /// The operator could not start (bad flag, kubeconfig, bind address, client construction).
    #[error("startup: {what}: {reason}")]
    Startup {
        /// What failed.
        what: &'static str,
        /// Why, as text.
        reason: String,
    },
}

impl Error {
    /// Whether retrying the same request later may succeed without a spec change.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::BackendUnreachable { .. }
            | Error::BackendTimeout { .. }
            | Error::BackendUnavailable { .. }
            | Error::BackendDenied { .. }
            | Error::MalformedResponse { .. }
            | Error::MissingReference { .. }
            | Error::NoEndpoint { .. }
            | Error::Kube { .. } => true,
            Error::FanOut { first, .. } => first.is_retryable(),
            Error::BackendRejected { .. }
            | Error::RedirectRefused { .. }
            | Error::BadBackendResponse { .. }
            | Error::BadSpec { .. }
            | Error::NotRecreatable { .. }
            | Error::Serialization { .. }
            | Error::Startup { .. }
            | Error::LeadershipLost { .. } => false,
        }
    }

    /// Fixed-cardinality label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::BackendUnreachable { .. } => "backend_unreachable",
            Error::BackendTimeout { .. } => "backend_timeout",
            Error::BackendUnavailable { .. } => "backend_unavailable",
            Error::MalformedResponse { .. } => "malformed_response",
            Error::RedirectRefused { .. } => "redirect_refused",
            Error::BackendRejected { .. } => "backend_rejected",
            Error::BackendDenied { .. } => "backend_denied",
            Error::BadBackendResponse { .. } => "bad_backend_response",
            Error::BadSpec { .. } => "bad_spec",
            Error::NotRecreatable { .. } => "not_recreatable",
            Error::MissingReference { .. } => "missing_reference",
            Error::Kube { .. } => "kube",
            Error::Serialization { .. } => "serialization",
            Error::Startup { .. } => "startup",
            Error::LeadershipLost { .. } => "leadership_lost",
            Error::NoEndpoint { .. } => "no_endpoint",
            Error::FanOut { .. } => "fan_out",
        }
    }

    /// CamelCase condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::BackendUnreachable { .. }
            | Error::BackendTimeout { .. }
            | Error::BackendUnavailable { .. } => "BackendUnavailable",
            Error::BackendRejected { .. } => "BackendRejected",
            Error::BackendDenied { .. } => "AccessDenied",
            Error::BadBackendResponse { .. } | Error::MalformedResponse { .. } => "BadBackendResponse",
            Error::RedirectRefused { .. } => "RedirectRefused",
            Error::BadSpec { .. } => "InvalidSpec",
            Error::NotRecreatable { .. } => "NotFound",
            Error::MissingReference { .. } => "ReferenceNotFound",
            Error::Kube { .. } => "KubernetesError",
            Error::Serialization { .. } => "SerializationError",
            Error::Startup { .. } => "StartupError",
            Error::LeadershipLost { .. } => "LeadershipLost",
            Error::NoEndpoint { .. } => "EndpointUnavailable",
            Error::FanOut { first, .. } => first.reason(),
        }
    }

    /// HTTP status code of the backend's answer, when the error is one.
    pub fn backend_status(&self) -> Option<u16> {
        match self {
            Error::BackendUnavailable { status, .. }
            | Error::BackendRejected { status, .. }
            | Error::BackendDenied { status, .. }
            | Error::MalformedResponse { status, .. } => Some(*status),
            Error::FanOut { first, .. } => first.backend_status(),
            _ => None,
        }
    }

    /// The backend's `Retry-After` for this error, when it sent one with a retryable status.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::BackendUnavailable { retry_after, .. } => *retry_after,
            Error::FanOut { first, .. } => first.retry_after(),
            _ => None,
        }
    }

    /// Whether this is a Kubernetes `409 Conflict`.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Kube { source: kube::Error::Api(status), .. } if status.code == 409)
    }

    /// Shorthand for [`Error::BadSpec`].
    pub fn bad_spec(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::BadSpec {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Error for a non-success HTTP status: 5xx, 408 and 429 are retryable, 401 and 403 are
    /// [`Error::BackendDenied`] (retryable), other statuses terminal. No `Retry-After`; see [`Error::from_status_retry_after`].
    pub fn from_status(method: &str, url: &str, status: u16, message: String) -> Self {
        Self::from_status_retry_after(method, url, status, message, None)
    }

    /// [`Error::from_status`] keeping the backend's `Retry-After` (only retryable statuses keep it).
    pub fn from_status_retry_after(
        method: &str,
        url: &str,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    ) -> Self {
        let (method, url) = (method.to_owned(), url.to_owned());
        if is_retryable_status(status) {
            Error::BackendUnavailable {
                method,
                url,
                status,
                message,
                retry_after,
            }
        } else if status == 401 || status == 403 {
            Error::BackendDenied {
                method,
                url,
                status,
                message,
            }
        } else {
            Error::BackendRejected {
                method,
                url,
                status,
                message,
            }
        }
    }
}

/// Whether an HTTP status is worth retrying unchanged: 5xx, `408 Request Timeout`, `429 Too Many
/// Requests`.
pub fn is_retryable_status(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// A short human form of a duration for messages: `500ms`, `2s`, `1.5s`, `3m20s`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs >= 60 {
        let (m, s) = (secs / 60, secs % 60);
        return if s == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{s}s")
        };
    }
    if ms.is_multiple_of(1000) {
        format!("{secs}s")
    } else {
        let text = format!("{:.1}", d.as_secs_f64());
        format!("{}s", text.trim_end_matches(".0"))
    }
}

/// What went wrong below reqwest: the chain of its sources, without reqwest's own top-level
/// "error sending request for url (…)" (the URL is already in the message, and that copy could
/// carry a query credential). reqwest's text when it has no source.
fn transport_cause(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    match error.source() {
        Some(source) => error_chain(source),
        None => error.to_string(),
    }
}

/// `error: cause: cause…` (reqwest's own `Display` omits the sources).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_retryable_client_errors_terminal() {
        let e = Error::from_status("GET", "http://x/pet/1", 503, "down".into());
        assert!(e.is_retryable());
        assert_eq!(e.metric_label(), "backend_unavailable");
        assert_eq!(e.reason(), "BackendUnavailable");
        assert_eq!(e.backend_status(), Some(503));

        let e = Error::from_status("POST", "http://x/pet", 400, "bad name".into());
        assert!(!e.is_retryable());
        assert_eq!(e.metric_label(), "backend_rejected");
        assert_eq!(
            e.to_string(),
            "POST http://x/pet: backend rejected the request with 400: bad name"
        );

        for status in [408, 429, 500, 502, 503, 504] {
            assert!(
                Error::from_status("GET", "u", status, String::new()).is_retryable(),
                "{status}"
            );
        }
        for status in [300, 400, 404, 409, 422] {
            assert!(
                !Error::from_status("GET", "u", status, String::new()).is_retryable(),
                "{status}"
            );
        }
        for status in [401, 403] {
            let e = Error::from_status("GET", "u", status, "no".into());
            assert!(
                e.is_retryable(),
                "{status}: credentials may be fixed in the Secret"
            );
            assert_eq!((e.reason(), e.backend_status()), ("AccessDenied", Some(status)));
        }
    }

    #[test]
    fn retry_after_is_kept_and_shown_for_retryable_statuses_only() {
        let wait = Some(Duration::from_secs(2));
        let e = Error::from_status_retry_after("POST", "http://x/pet", 429, "slow down".into(), wait);
        assert_eq!(e.retry_after(), wait);
        assert_eq!(
            e.to_string(),
            "POST http://x/pet: backend error 429: slow down (Retry-After 2s)"
        );
        let e = Error::from_status_retry_after("POST", "u", 400, "bad".into(), wait);
        assert_eq!(e.retry_after(), None);
        assert!(!e.is_retryable());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(human_duration(Duration::from_secs(2)), "2s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(200)), "3m20s");
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
    }

    #[test]
    fn spec_errors_are_terminal() {
        let e = Error::bad_spec("spec.executionInterval", "invalid duration \"abc\"");
        assert!(!e.is_retryable());
        assert_eq!(e.reason(), "InvalidSpec");
        assert!(e.to_string().contains("spec.executionInterval"));
        assert!(!Error::NotRecreatable { id: "1".into() }.is_retryable());
        let e = Error::MissingReference {
            what: "secret \"x\" not found in namespace \"ns\"".into(),
        };
        assert!(e.is_retryable());
        assert_eq!(e.reason(), "ReferenceNotFound");
        assert_eq!(e.to_string(), "secret \"x\" not found in namespace \"ns\"");
    }

    #[test]
    fn kube_conflicts_are_detected() {
        let status = kube::core::Status::failure("conflict", "Conflict").with_code(409);
        let e = Error::Kube {
            action: "patch status",
            source: kube::Error::Api(Box::new(status)),
        };
        assert!(e.is_retryable());
        assert!(e.is_conflict());
    }
}
