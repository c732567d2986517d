//! The runtime's error type: every failure a reconcile can meet, classified as retryable or terminal.
//!
//! The classification drives requeueing (see [`crate::resource`]): retryable errors are retried with
//! per-object exponential backoff and leave the CR `Reconciling`; terminal errors mark it `Stalled` and
//! wait for the spec to change. This module depends on no other runtime module.

/// Result alias used throughout the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reconciling a CR or starting the operator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backend could not be reached (connection refused, DNS, TLS, broken body). Retryable.
    #[error("{method} {url}: backend unreachable: {source}")]
    BackendUnreachable {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },

    /// The backend did not answer within the request timeout. Retryable.
    #[error("{method} {url}: backend timed out: {source}")]
    BackendTimeout {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },

    /// The backend answered with a 5xx status, `408 Request Timeout` or `429 Too Many Requests`.
    /// Retryable.
    #[error("{method} {url}: backend error {status}: {message}")]
    BackendUnavailable {
        /// HTTP method of the failed request.
        method: String,
        /// URL of the failed request.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Message extracted from the response body.
        message: String,
    },

    /// The backend rejected the request with a 4xx status (other than 408/429). Terminal: the same
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
            | Error::Kube { .. } => true,
            Error::BackendRejected { .. }
            | Error::BadBackendResponse { .. }
            | Error::BadSpec { .. }
            | Error::NotRecreatable { .. }
            | Error::Serialization { .. }
            | Error::Startup { .. } => false,
        }
    }

    /// Fixed-cardinality label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::BackendUnreachable { .. } => "backend_unreachable",
            Error::BackendTimeout { .. } => "backend_timeout",
            Error::BackendUnavailable { .. } => "backend_unavailable",
            Error::BackendRejected { .. } => "backend_rejected",
            Error::BadBackendResponse { .. } => "bad_backend_response",
            Error::BadSpec { .. } => "bad_spec",
            Error::NotRecreatable { .. } => "not_recreatable",
            Error::Kube { .. } => "kube",
            Error::Serialization { .. } => "serialization",
            Error::Startup { .. } => "startup",
        }
    }

    /// CamelCase condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::BackendUnreachable { .. }
            | Error::BackendTimeout { .. }
            | Error::BackendUnavailable { .. } => "BackendUnavailable",
            Error::BackendRejected { .. } => "BackendRejected",
            Error::BadBackendResponse { .. } => "BadBackendResponse",
            Error::BadSpec { .. } => "InvalidSpec",
            Error::NotRecreatable { .. } => "NotFound",
            Error::Kube { .. } => "KubernetesError",
            Error::Serialization { .. } => "SerializationError",
            Error::Startup { .. } => "StartupError",
        }
    }

    /// HTTP status code of the backend's answer, when the error is one.
    pub fn backend_status(&self) -> Option<u16> {
        match self {
            Error::BackendUnavailable { status, .. } | Error::BackendRejected { status, .. } => Some(*status),
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

    /// Error for a non-success HTTP status: 5xx, 408 and 429 are retryable, other 4xx terminal.
    pub fn from_status(method: &str, url: &str, status: u16, message: String) -> Self {
        let (method, url) = (method.to_owned(), url.to_owned());
        if status >= 500 || status == 408 || status == 429 {
            Error::BackendUnavailable {
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

        for status in [408, 429] {
            assert!(
                Error::from_status("GET", "u", status, String::new()).is_retryable(),
                "{status}"
            );
        }
    }

    #[test]
    fn spec_errors_are_terminal() {
        let e = Error::bad_spec("spec.executionInterval", "invalid duration \"abc\"");
        assert!(!e.is_retryable());
        assert_eq!(e.reason(), "InvalidSpec");
        assert!(e.to_string().contains("spec.executionInterval"));
        assert!(!Error::NotRecreatable { id: "1".into() }.is_retryable());
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
