//! Backend authentication: the security schemes an API declares, credentials read from watched Kubernetes Secrets, and how they are put on backend requests (never into logs, Events or status).
//!
//! # Where credentials come from
//!
//! - **Operator-wide**: `--auth-secret NAME` (`AUTH_SECRET`) in `--auth-secret-namespace`
//!   (`AUTH_SECRET_NAMESPACE`, default `POD_NAMESPACE`, else the namespace of the kubeconfig
//!   context or of the in-cluster service account).
//! - **Per CR**: `spec.target.authSecretRef.name`, a Secret in the CR's namespace. It replaces the
//!   operator-wide Secret for that CR (the two are never merged). Such a Secret must opt in with
//!   the label [`OPT_IN_LABEL`]` = "true"` and must not be a service-account token: otherwise
//!   whoever may create a CR could make the operator send any Secret of the namespace (say, a
//!   `token`) to a `spec.target.baseURL` of their choosing.
//!
//! Neither set: requests carry no credentials.
//!
//! # Secret keys
//!
//! | scheme (`components.securitySchemes`) | keys | sent as |
//! |---|---|---|
//! | `http` `bearer`, `oauth2`, `openIdConnect` | `token` | `Authorization: Bearer <token>` |
//! | `http` `basic` | `username`, `password` | `Authorization: Basic …` |
//! | `apiKey` | `<scheme name>` or `apiKey` | the header, query parameter or cookie the scheme names |
//! | `mutualTLS`, or any scheme | `tls.crt` + `tls.key` | client certificate (PEM) |
//! | any | `ca.crt` | the only CA(s) trusted for the backend's certificate (PEM) |
//!
//! One trailing newline (`\n` or `\r\n`) of a value is ignored, so `kubectl create secret
//! --from-file` works as expected. OAuth2 and OpenID Connect flows are not run: the Secret holds a
//! token obtained elsewhere (and is rotated by whoever obtains it).
//!
//! # Which scheme
//!
//! The first scheme, in the order of the API's `components.securitySchemes`, whose keys the Secret
//! has; when none matches (specs often declare no or too few schemes), bearer (`token`), then basic
//! ([`IMPLICIT_SCHEMES`]). The TLS keys are used whenever present, together with that scheme. The
//! choice is API-wide, not per operation.
//!
//! # Rotation
//!
//! Each Secret in use is watched (a `list` + `watch` on `secrets` with the field selector
//! `metadata.name=<name>`, started on first use and kept for the life of the process). A change
//! applies to the next request; there is no `GET` per request. A request made before the watch has
//! listed once waits for it up to [`INITIAL_SYNC_WAIT`].
//!
//! # Guarantees
//!
//! - Credential values never reach a log line, an Event or a status: header values are marked
//!   sensitive (printed `Sensitive` by `Debug`, `<redacted>` by [`crate::redact::headers`]),
//!   query-string keys are added only to the URL actually sent (the URL in logs, errors and status
//!   is the caller's), and errors from the HTTP stack have that parameter redacted. `Debug` of
//!   every type here prints names, never values.
//! - Redirects: reqwest drops `Authorization` and `Cookie` on a hop to another origin; a request
//!   carrying an API key in any other header or in the query string refuses cross-origin redirects
//!   ([`crate::error::Error::RedirectRefused`]).
//! - A missing, unreadable or unusable Secret is logged (without values) when that state begins,
//!   and requests are sent without credentials: the backend's `401`/`403` is recorded in the
//!   status and retried with backoff, so creating or fixing the Secret heals the CR.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::{WatchStreamExt, watcher};
use reqwest::header::{self, HeaderName, HeaderValue};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::controls::TargetSpec;

/// How long a request waits for the first list of a Secret it needs before going without it.
pub const INITIAL_SYNC_WAIT: Duration = Duration::from_secs(10);

/// Label a Secret named by `spec.target.authSecretRef` must carry with the value `"true"`.
pub const OPT_IN_LABEL: &str = "openapi-operator-gen/backend-credentials";

/// Secret key of a bearer token (`http` `bearer`, `oauth2`, `openIdConnect`).
pub const TOKEN_KEY: &str = "token";
/// Secret key of the basic-auth user name.
pub const USERNAME_KEY: &str = "username";
/// Secret key of the basic-auth password.
pub const PASSWORD_KEY: &str = "password";
/// Secret key of an API key (the scheme's own name is looked up first).
pub const API_KEY_KEY: &str = "apiKey";
/// Secret key of the client certificate chain (PEM).
pub const TLS_CRT_KEY: &str = "tls.crt";
/// Secret key of the client private key (PEM).
pub const TLS_KEY_KEY: &str = "tls.key";
/// Secret key of the CA bundle trusted for the backend (PEM).
pub const CA_CRT_KEY: &str = "ca.crt";

/// One entry of the API's `components.securitySchemes`, emitted by the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityScheme {
    /// The scheme's name in the spec (`api_key`, `petstore_auth`).
    pub name: &'static str,
    /// What it is.
    pub kind: SecurityKind,
}

/// The kind of a security scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityKind {
    /// `http` with scheme `bearer`: `Authorization: Bearer <token>`.
    Bearer,
    /// `http` with scheme `basic`: `Authorization: Basic base64(username:password)`.
    Basic,
    /// `apiKey`: a key in a header, query parameter or cookie.
    ApiKey {
        /// Where the key goes.
        location: ApiKeyLocation,
        /// Name of the header, query parameter or cookie.
        name: &'static str,
    },
    /// `oauth2`: a token from the Secret, sent as a bearer token (no flow is run).
    OAuth2,
    /// `openIdConnect`: a token from the Secret, sent as a bearer token (no discovery is done).
    OpenIdConnect,
    /// `mutualTLS` (OpenAPI 3.1): the client certificate of the Secret (`tls.crt`, `tls.key`).
    MutualTls,
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyLocation {
    /// A request header.
    Header,
    /// A query-string parameter.
    Query,
    /// A cookie.
    Cookie,
}

/// The schemes tried after the API's own: bearer (`token`), then basic.
pub const IMPLICIT_SCHEMES: &[SecurityScheme] = &[
    SecurityScheme {
        name: "bearer",
        kind: SecurityKind::Bearer,
    },
    SecurityScheme {
        name: "basic",
        kind: SecurityKind::Basic,
    },
];

/// A Secret by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl SecretRef {
    /// `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why a Secret's content cannot be used. Names keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// A value is not UTF-8 text, or cannot be sent in an HTTP header.
    #[error("key {key:?}: {reason}")]
    InvalidValue {
        /// The Secret key.
        key: String,
        /// What is wrong (never the value).
        reason: &'static str,
    },
    /// Only one of `tls.crt` and `tls.key` is set.
    #[error("a client certificate needs both {TLS_CRT_KEY:?} and {TLS_KEY_KEY:?}")]
    IncompleteTls,
    /// A Secret named by a CR lacks the opt-in label, or is a service-account token.
    #[error(
        "a Secret named by spec.target.authSecretRef needs the label {OPT_IN_LABEL}=\"true\" and must not be a service-account token"
    )]
    NotOptedIn,
    /// The PEM of `tls.crt`/`tls.key` or `ca.crt` does not parse.
    #[error("key {key:?}: not usable PEM: {reason}")]
    BadPem {
        /// The Secret key.
        key: &'static str,
        /// The TLS library's message.
        reason: String,
    },
}

/// How the chosen credential is put on a request.
#[derive(Clone)]
pub enum Injection {
    /// A header (`Authorization` for bearer and basic; the scheme's header for API keys). The
    /// value is marked sensitive.
    Header {
        /// Header name.
        name: HeaderName,
        /// Header value.
        value: HeaderValue,
    },
    /// A query parameter appended to the URL sent (not to the URL logged or recorded).
    Query {
        /// Parameter name.
        name: &'static str,
        /// Parameter value.
        value: String,
    },
    /// A `Cookie: name=value` header (sensitive).
    Cookie {
        /// Cookie name.
        name: &'static str,
        /// The whole header value.
        value: HeaderValue,
    },
}

impl fmt::Debug for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Injection::Header { name, .. } => write!(f, "Header({name}: <redacted>)"),
            Injection::Query { name, .. } => write!(f, "Query({name}=<redacted>)"),
            Injection::Cookie { name, .. } => write!(f, "Cookie({name}=<redacted>)"),
        }
    }
}

impl Injection {
    /// Whether reqwest would carry this credential along a cross-origin redirect (it strips only
    /// `Authorization` and `Cookie`), so that such redirects must be refused.
    pub fn needs_same_origin(&self) -> bool {
        match self {
            Injection::Header { name, .. } => *name != header::AUTHORIZATION,
            Injection::Query { .. } => true,
            Injection::Cookie { .. } => false,
        }
    }

    /// The query parameter this credential adds, if any (for redaction).
    pub fn query_name(&self) -> Option<&'static str> {
        match self {
            Injection::Query { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Client-certificate and CA material of a Secret, parsed.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The client identity (`tls.key` + `tls.crt`).
    pub identity: Option<reqwest::Identity>,
    /// The CAs trusted instead of the system roots (`ca.crt`).
    pub roots: Vec<reqwest::Certificate>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("identity", &self.identity.is_some())
            .field("roots", &self.roots.len())
            .finish()
    }
}

/// The credentials one Secret yields for an API.
pub struct Credentials {
    /// The Secret they come from.
    pub secret: SecretRef,
    /// `metadata.resourceVersion` of the Secret read.
    pub version: Option<String>,
    /// Name of the scheme used for the request credential, if the Secret has keys for one.
    pub scheme: Option<&'static str>,
    /// The request credential.
    pub injection: Option<Injection>,
    /// Client certificate and/or CA, if the Secret has them.
    pub tls: Option<TlsMaterial>,
    /// HTTP clients built for `tls` (one per Secret version), built on first use.
    pub(crate) clients: OnceLock<std::result::Result<crate::client::ClientPair, String>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("secret", &self.secret)
            .field("version", &self.version)
            .field("scheme", &self.scheme)
            .field("injection", &self.injection)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// UTF-8 text of a Secret key, one trailing newline removed; `None` when absent or empty.
fn text(data: &BTreeMap<String, ByteString>, key: &str) -> Result<Option<String>, CredentialError> {
    let Some(bytes) = data.get(key) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes.0).map_err(|_| CredentialError::InvalidValue {
        key: key.to_owned(),
        reason: "not UTF-8 text",
    })?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

fn sensitive(key: &str, value: &str) -> Result<HeaderValue, CredentialError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| CredentialError::InvalidValue {
        key: key.to_owned(),
        reason: "contains characters an HTTP header cannot carry",
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn bearer(key: &str, token: &str) -> Result<Injection, CredentialError> {
    Ok(Injection::Header {
        name: header::AUTHORIZATION,
        value: sensitive(key, &format!("Bearer {token}"))?,
    })
}

/// The request credential for `schemes` (the first whose keys `data` has, then
/// [`IMPLICIT_SCHEMES`]; see the module documentation) and the name of that scheme.
///
/// # Errors
///
/// [`CredentialError::InvalidValue`] when the chosen value is not UTF-8 or not sendable.
pub fn select(
    schemes: &'static [SecurityScheme],
    data: &BTreeMap<String, ByteString>,
) -> Result<Option<(&'static str, Injection)>, CredentialError> {
    for scheme in schemes.iter().chain(IMPLICIT_SCHEMES) {
        let injection = match scheme.kind {
            SecurityKind::Bearer | SecurityKind::OAuth2 | SecurityKind::OpenIdConnect => {
                match text(data, TOKEN_KEY)? {
                    Some(token) => bearer(TOKEN_KEY, &token)?,
                    None => continue,
                }
            }
            SecurityKind::Basic => match (text(data, USERNAME_KEY)?, text(data, PASSWORD_KEY)?) {
                (Some(user), Some(password)) => {
                    let encoded =
                        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                    Injection::Header {
                        name: header::AUTHORIZATION,
                        value: sensitive(PASSWORD_KEY, &format!("Basic {encoded}"))?,
                    }
                }
                _ => continue,
            },
            SecurityKind::ApiKey { location, name } => {
                let (key, value) = match text(data, scheme.name)? {
                    Some(value) => (scheme.name, value),
                    None => match text(data, API_KEY_KEY)? {
                        Some(value) => (API_KEY_KEY, value),
                        None => continue,
                    },
                };
                match location {
                    ApiKeyLocation::Header => Injection::Header {
                        name: HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                            CredentialError::InvalidValue {
                                key: key.to_owned(),
                                reason: "the scheme's header name is not a valid HTTP header name",
                            }
                        })?,
                        value: sensitive(key, &value)?,
                    },
                    ApiKeyLocation::Query => Injection::Query { name, value },
                    ApiKeyLocation::Cookie => Injection::Cookie {
                        name,
                        value: sensitive(key, &format!("{name}={value}"))?,
                    },
                }
            }
            SecurityKind::MutualTls => continue,
        };
        return Ok(Some((scheme.name, injection)));
    }
    Ok(None)
}

/// The client certificate and CA of `data`, if it has them.
///
/// # Errors
///
/// [`CredentialError::IncompleteTls`] for only one of `tls.crt`/`tls.key`;
/// [`CredentialError::BadPem`] when the PEM does not parse.
pub fn tls_material(data: &BTreeMap<String, ByteString>) -> Result<Option<TlsMaterial>, CredentialError> {
    let pem = |key: &str| data.get(key).map(|b| b.0.as_slice()).filter(|b| !b.is_empty());
    let identity = match (pem(TLS_CRT_KEY), pem(TLS_KEY_KEY)) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            let mut both = key.to_vec();
            both.push(b'\n');
            both.extend_from_slice(cert);
            Some(
                reqwest::Identity::from_pem(&both).map_err(|e| CredentialError::BadPem {
                    key: TLS_CRT_KEY,
                    reason: crate::error::error_chain(&e),
                })?,
            )
        }
        _ => return Err(CredentialError::IncompleteTls),
    };
    let roots = match pem(CA_CRT_KEY) {
        None => Vec::new(),
        Some(ca) => {
            let roots = reqwest::Certificate::from_pem_bundle(ca).map_err(|e| CredentialError::BadPem {
                key: CA_CRT_KEY,
                reason: crate::error::error_chain(&e),
            })?;
            if roots.is_empty() {
                return Err(CredentialError::BadPem {
                    key: CA_CRT_KEY,
                    reason: "no certificate found".to_owned(),
                });
            }
            roots
        }
    };
    Ok((identity.is_some() || !roots.is_empty()).then_some(TlsMaterial { identity, roots }))
}

/// The credentials of Secret `secret` (content `data`, version `version`) for `schemes`.
///
/// # Errors
///
/// As [`select`] and [`tls_material`].
pub fn credentials(
    schemes: &'static [SecurityScheme],
    secret: SecretRef,
    version: Option<String>,
    data: &BTreeMap<String, ByteString>,
) -> Result<Credentials, CredentialError> {
    let chosen = select(schemes, data)?;
    let tls = tls_material(data)?;
    Ok(Credentials {
        secret,
        version,
        scheme: chosen.as_ref().map(|(name, _)| *name),
        injection: chosen.map(|(_, injection)| injection),
        tls,
        clients: OnceLock::new(),
    })
}

/// What is known about one Secret.
#[derive(Debug, Clone)]
enum SecretState {
    /// Not listed yet.
    Syncing,
    /// Listed, does not exist.
    Missing,
    /// The watch fails (e.g. RBAC); the message has no Secret data.
    Unreadable(String),
    /// Exists but its content cannot be used.
    Invalid(Option<String>, CredentialError),
    /// Usable.
    Ready(Arc<Credentials>),
}

impl SecretState {
    fn version(&self) -> Option<&str> {
        match self {
            SecretState::Ready(c) => c.version.as_deref(),
            SecretState::Invalid(v, _) => v.as_deref(),
            _ => None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The API's schemes plus the Secrets in use: watches each Secret on first use and hands out the
/// current [`Credentials`]. One per operator process, shared by every controller.
pub struct Authenticator {
    schemes: &'static [SecurityScheme],
    default_secret: Option<SecretRef>,
    kube: Option<(kube::Client, watch::Receiver<bool>)>,
    secrets: Mutex<HashMap<SecretRef, watch::Sender<SecretState>>>,
    initial_wait: Duration,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("schemes", &self.schemes)
            .field("default_secret", &self.default_secret)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Credentials from Secrets read through `client` (watched until `shutdown` flips):
    /// `default_secret` for CRs that name none.
    pub fn new(
        schemes: &'static [SecurityScheme],
        default_secret: Option<SecretRef>,
        client: kube::Client,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            schemes,
            default_secret,
            kube: Some((client, shutdown)),
            secrets: Mutex::new(HashMap::new()),
            initial_wait: INITIAL_SYNC_WAIT,
        }
    }

    /// Credentials only from Secrets given with [`Authenticator::set_secret`] (no cluster): for
    /// tests and embedders.
    pub fn fixed(schemes: &'static [SecurityScheme], default_secret: Option<SecretRef>) -> Self {
        Self {
            schemes,
            default_secret,
            kube: None,
            secrets: Mutex::new(HashMap::new()),
            initial_wait: Duration::ZERO,
        }
    }

    /// The API's schemes.
    pub fn schemes(&self) -> &'static [SecurityScheme] {
        self.schemes
    }

    /// The operator-wide Secret, if any.
    pub fn default_secret(&self) -> Option<&SecretRef> {
        self.default_secret.as_ref()
    }

    /// Records the content of `secret` (`None`: it does not exist), as its watch does on every
    /// change; the next request uses it.
    pub fn set_secret(
        &self,
        secret: &SecretRef,
        version: Option<String>,
        data: Option<&BTreeMap<String, ByteString>>,
    ) {
        let state = match data {
            None => SecretState::Missing,
            Some(data) => match credentials(self.schemes, secret.clone(), version.clone(), data) {
                Ok(c) => SecretState::Ready(Arc::new(c)),
                Err(e) => SecretState::Invalid(version, e),
            },
        };
        self.publish(secret, state);
    }

    fn publish(&self, secret: &SecretRef, state: SecretState) {
        let sender = self.sender(secret).0;
        let same = {
            let current = sender.borrow();
            match (&*current, &state) {
                (SecretState::Missing, SecretState::Missing)
                | (SecretState::Unreadable(_), SecretState::Unreadable(_)) => true,
                (a, b) => a.version().is_some() && a.version() == b.version(),
            }
        };
        if same {
            return;
        }
        log_state(secret, &state);
        sender.send_replace(state);
    }

    /// The sender of `secret`, created (with its watch) on first use; `true` when created now.
    fn sender(&self, secret: &SecretRef) -> (watch::Sender<SecretState>, bool) {
        let mut secrets = lock(&self.secrets);
        if let Some(sender) = secrets.get(secret) {
            return (sender.clone(), false);
        }
        let (sender, _) = watch::channel(SecretState::Syncing);
        secrets.insert(secret.clone(), sender.clone());
        (sender, true)
    }

    /// The Secret for requests of the current task: the CR's `spec.target.authSecretRef` (see
    /// [`with_target`]), else the operator-wide one.
    pub fn secret_in_scope(&self) -> Option<SecretRef> {
        CR_SECRET
            .try_with(Clone::clone)
            .ok()
            .flatten()
            .or_else(|| self.default_secret.clone())
    }

    /// The credentials for a request made by the current task (see [`Self::secret_in_scope`]):
    /// `None` when no Secret applies or it is missing, unreadable or unusable. Waits up to
    /// [`INITIAL_SYNC_WAIT`] for a Secret's first list.
    pub async fn current(self: &Arc<Self>) -> Option<Arc<Credentials>> {
        let secret = self.secret_in_scope()?;
        let (sender, created) = self.sender(&secret);
        let mut rx = sender.subscribe();
        if created && let Some((client, shutdown)) = &self.kube {
            tokio::spawn(watch_secret(
                Arc::clone(self),
                secret.clone(),
                client.clone(),
                shutdown.clone(),
            ));
        }
        if matches!(*rx.borrow(), SecretState::Syncing) {
            let _ = tokio::time::timeout(
                self.initial_wait,
                rx.wait_for(|s| !matches!(s, SecretState::Syncing)),
            )
            .await;
        }
        match &*rx.borrow() {
            SecretState::Ready(c) => Some(Arc::clone(c)),
            _ => None,
        }
    }
}

fn log_state(secret: &SecretRef, state: &SecretState) {
    match state {
        SecretState::Syncing => {}
        SecretState::Ready(c) => {
            let client_certificate = c.tls.as_ref().is_some_and(|t| t.identity.is_some());
            let custom_ca = c.tls.as_ref().is_some_and(|t| !t.roots.is_empty());
            match c.scheme {
                Some(scheme) => info!(
                    %secret, scheme, client_certificate, custom_ca,
                    "backend credentials loaded"
                ),
                // A client certificate is a credential of its own (mutual TLS): nothing to warn.
                None if client_certificate => info!(
                    %secret, client_certificate, custom_ca,
                    "backend credentials loaded (mutual TLS only; no credential header)"
                ),
                None => warn!(
                    %secret, client_certificate, custom_ca,
                    "auth Secret has no keys for any security scheme of the API (token | username+password | \
                     apiKey or the scheme's name); requests carry no credential header"
                ),
            }
        }
        SecretState::Missing => {
            warn!(%secret, "auth Secret not found; backend requests are sent without credentials");
        }
        SecretState::Unreadable(error) => {
            warn!(%secret, %error, "cannot read the auth Secret (does the operator's role allow list and watch on secrets?); backend requests are sent without credentials");
        }
        SecretState::Invalid(_, error) => {
            warn!(%secret, %error, "auth Secret unusable; backend requests are sent without credentials");
        }
    }
}

/// Keeps the state of `secret` current until shutdown.
async fn watch_secret(
    auth: Arc<Authenticator>,
    secret: SecretRef,
    client: kube::Client,
    mut shutdown: watch::Receiver<bool>,
) {
    let api: kube::Api<Secret> = kube::Api::namespaced(client, &secret.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={}", secret.name));
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut listed: Option<Secret> = None;
    loop {
        let event = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            event = stream.next() => event,
        };
        let Some(event) = event else { return };
        match event {
            Ok(watcher::Event::Init) => listed = None,
            Ok(watcher::Event::InitApply(s)) => listed = Some(s),
            Ok(watcher::Event::InitDone) => auth.apply(&secret, listed.take().as_ref()),
            Ok(watcher::Event::Apply(s)) => auth.apply(&secret, Some(&s)),
            Ok(watcher::Event::Delete(_)) => auth.apply(&secret, None),
            Err(e) => auth.watch_failed(&secret, &e),
        }
    }
}

impl Authenticator {
    /// Whether `object` may be used: the operator-wide Secret always; a Secret named by a CR only
    /// with the opt-in label and when it is not a service-account token.
    fn may_use(&self, secret: &SecretRef, object: &Secret) -> bool {
        if self.default_secret.as_ref() == Some(secret) {
            return true;
        }
        let opted_in = object
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(OPT_IN_LABEL))
            .is_some_and(|v| v == "true");
        opted_in && object.type_.as_deref() != Some("kubernetes.io/service-account-token")
    }

    /// A failed list or watch: unreadable if never listed; otherwise the last content stays in
    /// use (the watch retries with backoff).
    fn watch_failed(&self, secret: &SecretRef, error: &watcher::Error) {
        let (sender, _) = self.sender(secret);
        if matches!(
            *sender.borrow(),
            SecretState::Syncing | SecretState::Unreadable(_)
        ) {
            self.publish(secret, SecretState::Unreadable(error.to_string()));
        } else {
            warn!(%secret, %error, "watch of the auth Secret failed; keeping its last known content");
        }
    }

    fn apply(&self, secret: &SecretRef, object: Option<&Secret>) {
        match object {
            None => self.set_secret(secret, None, None),
            Some(s) if !self.may_use(secret, s) => self.publish(
                secret,
                SecretState::Invalid(s.metadata.resource_version.clone(), CredentialError::NotOptedIn),
            ),
            Some(s) => {
                let empty = BTreeMap::new();
                self.set_secret(
                    secret,
                    s.metadata.resource_version.clone(),
                    Some(s.data.as_ref().unwrap_or(&empty)),
                );
            }
        }
    }
}

tokio::task_local! {
    static CR_SECRET: Option<SecretRef>;
}

/// Runs `fut` (one reconcile of a CR in `namespace` whose `spec.target` is `target`) so that its
/// backend requests use the CR's `spec.target.authSecretRef` instead of the operator-wide Secret.
pub async fn with_target<F: Future>(target: Option<&TargetSpec>, namespace: &str, fut: F) -> F::Output {
    let secret = target
        .and_then(|t| t.auth_secret_ref.as_ref())
        .map(|r| r.name.trim())
        .filter(|name| !name.is_empty())
        .map(|name| SecretRef::new(namespace, name));
    CR_SECRET.scope(secret, fut).await
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
            .collect()
    }

    static PETSTORE: &[SecurityScheme] = &[
        SecurityScheme {
            name: "petstore_auth",
            kind: SecurityKind::OAuth2,
        },
        SecurityScheme {
            name: "api_key",
            kind: SecurityKind::ApiKey {
                location: ApiKeyLocation::Header,
                name: "api_key",
            },
        },
    ];

    fn header_of(injection: &Injection) -> (String, String) {
        match injection {
            Injection::Header { name, value } => {
                (name.as_str().to_owned(), value.to_str().unwrap().to_owned())
            }
            other => panic!("not a header: {other:?}"),
        }
    }

    #[test]
    fn the_first_declared_scheme_with_keys_wins() {
        let (scheme, inj) = select(PETSTORE, &data(&[("apiKey", "k1")])).unwrap().unwrap();
        assert_eq!(scheme, "api_key");
        assert_eq!(header_of(&inj), ("api_key".into(), "k1".into()));
        // The scheme's own name beats the generic key.
        let (_, inj) = select(PETSTORE, &data(&[("apiKey", "k1"), ("api_key", "k2")]))
            .unwrap()
            .unwrap();
        assert_eq!(header_of(&inj).1, "k2");
        // oauth2 is declared first: a token wins over the API key.
        let (scheme, inj) = select(PETSTORE, &data(&[("apiKey", "k1"), ("token", "t\n")]))
            .unwrap()
            .unwrap();
        assert_eq!(scheme, "petstore_auth");
        assert_eq!(header_of(&inj), ("authorization".into(), "Bearer t".into()));
        assert!(select(PETSTORE, &data(&[("username", "u")])).unwrap().is_none());
        assert!(select(PETSTORE, &data(&[])).unwrap().is_none());
        // Basic is not declared by this API, but a Secret with a login is still used.
        let (scheme, inj) = select(PETSTORE, &data(&[("username", "u"), ("password", "p")]))
            .unwrap()
            .unwrap();
        assert_eq!((scheme, header_of(&inj).1.as_str()), ("basic", "Basic dTpw"));
    }

    #[test]
    fn without_declared_schemes_bearer_then_basic_apply() {
        let (scheme, inj) = select(&[], &data(&[("username", "alice"), ("password", "pw")]))
            .unwrap()
            .unwrap();
        assert_eq!(scheme, "basic");
        assert_eq!(header_of(&inj).1, "Basic YWxpY2U6cHc=");
        let (scheme, _) = select(
            &[],
            &data(&[("username", "a"), ("password", "b"), ("token", "t")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(scheme, "bearer");
        // Basic needs both keys.
        assert!(select(&[], &data(&[("username", "a")])).unwrap().is_none());
    }

    #[test]
    fn api_keys_go_to_header_query_or_cookie_and_values_are_sensitive() {
        static SCHEMES: &[SecurityScheme] = &[
            SecurityScheme {
                name: "q",
                kind: SecurityKind::ApiKey {
                    location: ApiKeyLocation::Query,
                    name: "key",
                },
            },
            SecurityScheme {
                name: "c",
                kind: SecurityKind::ApiKey {
                    location: ApiKeyLocation::Cookie,
                    name: "sid",
                },
            },
        ];
        let (_, inj) = select(SCHEMES, &data(&[("q", "s3cr3t")])).unwrap().unwrap();
        assert!(matches!(&inj, Injection::Query { name: "key", value } if value == "s3cr3t"));
        assert!(inj.needs_same_origin());
        assert_eq!(inj.query_name(), Some("key"));
        let (_, inj) = select(SCHEMES, &data(&[("c", "s3cr3t")])).unwrap().unwrap();
        let Injection::Cookie { value, .. } = &inj else {
            panic!("{inj:?}")
        };
        assert_eq!(value.to_str().unwrap(), "sid=s3cr3t");
        assert!(value.is_sensitive());
        assert!(!inj.needs_same_origin());
        assert!(!format!("{inj:?}").contains("s3cr3t"));
        let (_, inj) = select(PETSTORE, &data(&[("apiKey", "s3cr3t")])).unwrap().unwrap();
        assert!(inj.needs_same_origin(), "a custom header survives redirects");
        let Injection::Header { value, .. } = &inj else {
            panic!("{inj:?}")
        };
        assert!(value.is_sensitive());
        assert!(!format!("{inj:?}").contains("s3cr3t"));
    }

    #[test]
    fn unusable_values_are_errors_that_name_the_key_only() {
        let err = select(PETSTORE, &data(&[("token", "a\nb")])).unwrap_err();
        assert_eq!(
            err,
            CredentialError::InvalidValue {
                key: "token".into(),
                reason: "contains characters an HTTP header cannot carry"
            }
        );
        let mut bad = BTreeMap::new();
        bad.insert("apiKey".to_owned(), ByteString(vec![0xff, 0xfe]));
        let err = select(PETSTORE, &bad).unwrap_err();
        assert!(err.to_string().contains("apiKey"), "{err}");
        assert_eq!(
            tls_material(&data(&[("tls.crt", "x")])).unwrap_err(),
            CredentialError::IncompleteTls
        );
        let err = tls_material(&data(&[("ca.crt", "not pem")])).unwrap_err();
        assert!(err.to_string().contains("ca.crt"), "{err}");
        assert!(tls_material(&data(&[("token", "t")])).unwrap().is_none());
    }

    #[tokio::test]
    async fn the_cr_secret_replaces_the_operator_secret_and_changes_apply() {
        let default = SecretRef::new("ops", "backend");
        let auth = Arc::new(Authenticator::fixed(PETSTORE, Some(default.clone())));
        assert!(auth.current().await.is_none(), "unknown Secret: no credentials");
        auth.set_secret(&default, Some("1".into()), Some(&data(&[("apiKey", "k1")])));
        let c = auth.current().await.unwrap();
        assert_eq!((c.scheme, c.secret.name.as_str()), (Some("api_key"), "backend"));
        auth.set_secret(&default, Some("2".into()), Some(&data(&[("apiKey", "k2")])));
        let c = auth.current().await.unwrap();
        assert_eq!(header_of(c.injection.as_ref().unwrap()).1, "k2");

        let target = TargetSpec {
            auth_secret_ref: Some(crate::controls::AuthSecretRef { name: "mine".into() }),
            ..TargetSpec::default()
        };
        let mine = SecretRef::new("crns", "mine");
        auth.set_secret(&mine, Some("7".into()), Some(&data(&[("token", "t")])));
        let auth2 = Arc::clone(&auth);
        let c = with_target(Some(&target), "crns", async move { auth2.current().await })
            .await
            .unwrap();
        assert_eq!(c.scheme, Some("petstore_auth"));
        assert_eq!(c.secret, mine);

        auth.set_secret(&default, None, None);
        assert!(auth.current().await.is_none(), "deleted Secret: no credentials");
        // Secrets named by CRs must opt in; the operator-wide one need not.
        let object = |version: &str, labels: Value, type_: &str| -> Secret {
            serde_json::from_value(
                json!({"metadata": {"name": "x", "resourceVersion": version, "labels": labels},
                "type": type_, "data": {"token": "dA=="}}),
            )
            .unwrap()
        };
        let label = json!({OPT_IN_LABEL: "true"});
        auth.apply(&mine, Some(&object("v1", json!({}), "Opaque")));
        let auth4 = Arc::clone(&auth);
        assert!(
            with_target(Some(&target), "crns", async move { auth4.current().await })
                .await
                .is_none()
        );
        auth.apply(
            &mine,
            Some(&object(
                "v2",
                label.clone(),
                "kubernetes.io/service-account-token",
            )),
        );
        let auth4 = Arc::clone(&auth);
        assert!(
            with_target(Some(&target), "crns", async move { auth4.current().await })
                .await
                .is_none()
        );
        auth.apply(&mine, Some(&object("v3", label, "Opaque")));
        let auth4 = Arc::clone(&auth);
        assert!(
            with_target(Some(&target), "crns", async move { auth4.current().await })
                .await
                .is_some()
        );
        auth.apply(&default, Some(&object("v4", json!({}), "Opaque")));
        assert!(
            auth.current().await.is_some(),
            "the operator's Secret needs no label"
        );

        let err_state = data(&[("token", "bad\nvalue")]);
        auth.set_secret(&mine, Some("8".into()), Some(&err_state));
        let auth3 = Arc::clone(&auth);
        let c = with_target(Some(&target), "crns", async move { auth3.current().await }).await;
        assert!(c.is_none(), "invalid Secret: no credentials");
    }
}
