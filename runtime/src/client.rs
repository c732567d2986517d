//! The backend HTTP client: timeouts, per-backend limits, bounded response reading, safe redirects and redacted debug logging. Knows nothing about CRs.
//!
//! # Guarantees
//!
//! - **Timeouts**: every request has a total deadline (`request_timeout`, connect + send + reading
//!   the whole body) and a connect deadline (`min(connect_timeout, request_timeout)`); expiry is a
//!   retryable [`Error::BackendTimeout`] naming the URL and the timeout.
//! - **Limits**: requests to one origin respect [`BackendLimits`] (see [`crate::limits`]); they
//!   wait for a slot, they never fail for lack of one, and waiting does not count against the
//!   timeout.
//! - **Bounded bodies**: a response body larger than `max_response_bytes` is never buffered: a
//!   declared `Content-Length` over the limit fails at once, otherwise reading stops at the first
//!   chunk crossing it. Either way the result is a terminal [`Error::BadBackendResponse`] naming
//!   the limit.
//! - **Retry-After**: a retryable status (5xx, 408, 429) carrying `Retry-After` (delta-seconds or
//!   HTTP-date) reports it in [`BackendResponse::retry_after`].
//! - **Malformed JSON**: a 2xx body starting with `{` or `[` that does not parse is a retryable
//!   [`Error::MalformedResponse`]; other non-JSON bodies are kept as text.
//! - **Redirects**: at most `max_redirects` hops. reqwest (0.13, `redirect::remove_sensitive_headers`)
//!   drops `Authorization`, `Cookie`, `Proxy-Authorization` and `WWW-Authenticate` whenever scheme,
//!   host or port change; a cross-origin hop while other credential-looking default headers are set
//!   (e.g. `X-API-Key`, which reqwest would forward) is refused ([`Error::RedirectRefused`]).
//! - **Logs**: credential-looking default headers are marked sensitive (their `Debug` form is
//!   `Sensitive`); request and response lines at `debug` show headers through
//!   [`crate::redact::headers`] and bodies through [`crate::redact::body`] (secrets redacted,
//!   1 KiB max).
//! - **Authentication** ([`crate::auth`], with [`BackendClient::with_auth`]): every request to the
//!   backend carries the credentials of the Secret in scope: a sensitive header, a cookie, or a
//!   query parameter added to the URL sent only (logged and recorded URLs are the caller's; errors
//!   from the HTTP stack have it redacted). A credential reqwest would carry across origins (an API
//!   key in a custom header or the query) makes cross-origin redirects refused. A client
//!   certificate or custom CA gets its own connection pool, built once per Secret version.
//!   [`BackendClient::fetch`] (third-party URLs) never carries credentials.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap, HeaderName};
use serde_json::Value;
use tracing::{Level, debug, enabled};

use crate::auth::{Authenticator, Credentials, Injection, TlsMaterial};
use crate::error::{Error, Result, is_retryable_status};
use crate::http::{BackendResponse, MAX_MESSAGE_LEN, Method, install_crypto_provider, truncate};
use crate::limits::{BackendLimits, LimiterRegistry};
use crate::redact;

/// Default of `--max-response-bytes`: 10 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;
/// Default connect timeout (capped by the request timeout).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most redirect hops followed per request.
pub const DEFAULT_MAX_REDIRECTS: usize = 5;

/// Headers reqwest itself removes on a cross-origin redirect.
const STRIPPED_ON_CROSS_ORIGIN: &[HeaderName] = &[
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
    header::WWW_AUTHENTICATE,
];

/// Configuration of a [`BackendClient`].
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Total deadline of one request, body included.
    pub request_timeout: Duration,
    /// Deadline for opening a connection (capped by `request_timeout`).
    pub connect_timeout: Duration,
    /// Per-origin concurrency and rate limits.
    pub limits: BackendLimits,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
    /// Most redirect hops followed.
    pub max_redirects: usize,
    /// Headers sent with every request (the hook authentication will use).
    pub default_headers: HeaderMap,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            limits: BackendLimits::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            default_headers: HeaderMap::new(),
        }
    }
}

/// A request body for [`BackendClient::send_raw`].
#[derive(Debug, Clone)]
pub enum RequestBody<'a> {
    /// JSON: `Content-Type: application/json` (`application/merge-patch+json` for `PATCH`).
    Json(&'a Value),
    /// Bytes sent as they are with this `Content-Type` (forms, files, multipart bodies).
    Bytes {
        /// The `Content-Type` header value.
        content_type: String,
        /// The body.
        bytes: Vec<u8>,
    },
}

/// A complete backend answer whose body has not been interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body (at most `max_response_bytes`).
    pub bytes: Vec<u8>,
    /// `Retry-After` of a retryable answer (5xx, 408, 429), if the backend sent a valid one.
    pub retry_after: Option<Duration>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
}

impl RawResponse {
    /// 2xx?
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The reqwest clients for backend requests with one TLS configuration.
#[derive(Debug, Clone)]
pub(crate) struct ClientPair {
    /// Follows redirects across origins (reqwest strips `Authorization` and `Cookie`).
    open: reqwest::Client,
    /// Refuses cross-origin redirects: for requests carrying a credential reqwest would forward.
    guarded: reqwest::Client,
}

impl ClientPair {
    fn build(config: &HttpConfig, tls: Option<&TlsMaterial>) -> std::result::Result<Self, reqwest::Error> {
        let builder = |same_origin_only: bool| {
            let mut b = client_builder(config)
                .redirect(redirect_policy(config, same_origin_only))
                .default_headers(config.default_headers.clone());
            if let Some(tls) = tls {
                if let Some(identity) = &tls.identity {
                    b = b.identity(identity.clone());
                }
                if !tls.roots.is_empty() {
                    b = b.tls_certs_only(tls.roots.iter().cloned());
                }
            }
            b.build()
        };
        Ok(Self {
            open: builder(false)?,
            guarded: builder(true)?,
        })
    }
}

fn client_builder(config: &HttpConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout.min(config.request_timeout))
        .user_agent(concat!("openapi-operator-runtime/", env!("CARGO_PKG_VERSION")))
}

/// Which client a request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// The backend: default headers and credentials.
    Backend,
    /// A third-party URL: neither.
    Plain,
}

/// Client for one operator process; cheap to clone (clones share connections and limiters).
#[derive(Debug, Clone)]
pub struct BackendClient {
    clients: ClientPair,
    /// A client without the configured default headers, for third-party URLs.
    plain: reqwest::Client,
    config: Arc<HttpConfig>,
    limiters: Arc<LimiterRegistry>,
    auth: Option<Arc<Authenticator>>,
}

impl BackendClient {
    /// A client with default limits whose requests time out after `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Startup`] when reqwest cannot build its TLS configuration.
    pub fn new(timeout: Duration) -> Result<Self> {
        Self::with_config(HttpConfig {
            request_timeout: timeout,
            ..HttpConfig::default()
        })
    }

    /// A client for `config`. Installs the rustls provider if needed.
    ///
    /// # Errors
    ///
    /// [`Error::Startup`] when reqwest cannot build its TLS configuration.
    pub fn with_config(mut config: HttpConfig) -> Result<Self> {
        install_crypto_provider();
        // Sensitive values print as `Sensitive` in any `Debug` output (ours and reqwest's).
        for (name, value) in &mut config.default_headers {
            if redact::is_secret_header(name.as_str()) {
                value.set_sensitive(true);
            }
        }
        let startup = |e: reqwest::Error| Error::Startup {
            what: "backend HTTP client",
            reason: e.to_string(),
        };
        let clients = ClientPair::build(&config, None).map_err(startup)?;
        let plain = client_builder(&config)
            .redirect(redirect_policy(
                &HttpConfig {
                    default_headers: HeaderMap::new(),
                    ..config.clone()
                },
                false,
            ))
            .build()
            .map_err(startup)?;
        Ok(Self {
            clients,
            plain,
            limiters: Arc::new(LimiterRegistry::new(config.limits)),
            config: Arc::new(config),
            auth: None,
        })
    }

    /// This client, with every backend request carrying the credentials `auth` hands out for the
    /// Secret in scope (see [`crate::auth`]).
    #[must_use]
    pub fn with_auth(mut self, auth: Arc<Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The authenticator set with [`Self::with_auth`].
    pub fn authenticator(&self) -> Option<&Arc<Authenticator>> {
        self.auth.as_ref()
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends one request, after waiting for the origin's limiter. Any complete HTTP answer within
    /// the limits is `Ok` (callers decide what a status means).
    ///
    /// # Errors
    ///
    /// [`Error::BackendTimeout`] or [`Error::BackendUnreachable`] when no complete answer arrived;
    /// [`Error::RedirectRefused`]; [`Error::BadBackendResponse`] for a body over the size limit;
    /// [`Error::MalformedResponse`] for a 2xx body that is broken JSON.
    pub async fn send(&self, method: Method, url: &str, body: Option<&Value>) -> Result<BackendResponse> {
        let raw = self.send_raw(method, url, body.map(RequestBody::Json)).await?;
        let body = decode_body(&raw.bytes).map_err(|source| Error::MalformedResponse {
            method: method.as_str().to_owned(),
            url: url.to_owned(),
            status: raw.status,
            source,
        });
        let body = match body {
            Ok(body) => body,
            Err(e) if raw.is_success() => return Err(e),
            Err(_) => text_body(&raw.bytes),
        };
        Ok(BackendResponse {
            status: raw.status,
            body,
            retry_after: raw.retry_after,
        })
    }

    /// Sends one request with any [`RequestBody`] and returns the answer uninterpreted (status,
    /// bytes, `Retry-After`). Same limits, timeouts, size limit and redirect rules as [`Self::send`].
    ///
    /// # Errors
    ///
    /// As [`Self::send`], except that no body is parsed (so never [`Error::MalformedResponse`]).
    pub async fn send_raw(
        &self,
        method: Method,
        url: &str,
        body: Option<RequestBody<'_>>,
    ) -> Result<RawResponse> {
        self.send_with(Route::Backend, method, url, body).await
    }

    /// `GET`s `url` without the configured default headers (so credentials meant for the backend
    /// never go to a third-party URL such as an Action's `spec.dataURL`), with the same limits,
    /// timeouts, size limit and redirect rules.
    ///
    /// # Errors
    ///
    /// As [`Self::send_raw`].
    pub async fn fetch(&self, url: &str) -> Result<RawResponse> {
        self.send_with(Route::Plain, Method::Get, url, None).await
    }

    /// The credentials for a backend request of the current task, if any.
    async fn credentials(&self, route: Route) -> Option<Arc<Credentials>> {
        match (route, &self.auth) {
            (Route::Backend, Some(auth)) => auth.current().await,
            _ => None,
        }
    }

    async fn send_with(
        &self,
        route: Route,
        method: Method,
        url: &str,
        body: Option<RequestBody<'_>>,
    ) -> Result<RawResponse> {
        let credentials = self.credentials(route).await;
        let injection = credentials.as_ref().and_then(|c| c.injection.as_ref());
        let clients = match credentials.as_deref() {
            Some(c @ Credentials { tls: Some(tls), .. }) => c
                .clients
                .get_or_init(|| ClientPair::build(&self.config, Some(tls)).map_err(|e| error_chain_of(&e)))
                .as_ref()
                .map_err(|reason| Error::MissingReference {
                    what: format!("auth Secret {}: TLS material unusable: {reason}", c.secret),
                })?,
            _ => &self.clients,
        };
        let client = match route {
            Route::Plain => &self.plain,
            Route::Backend if injection.is_some_and(Injection::needs_same_origin) => &clients.guarded,
            Route::Backend => &clients.open,
        };
        let sent_url = match injection {
            Some(Injection::Query { name, value }) => with_query(url, name, value),
            _ => std::borrow::Cow::Borrowed(url),
        };
        let redact_query = injection.and_then(Injection::query_name);
        let mut request = client
            .request(method.to_reqwest(), sent_url.as_ref())
            .header(header::ACCEPT, "application/json");
        match injection {
            Some(Injection::Header { name, value }) => request = request.header(name.clone(), value.clone()),
            Some(Injection::Cookie { value, .. }) => request = request.header(header::COOKIE, value.clone()),
            Some(Injection::Query { .. }) | None => {}
        }
        let mut logged = None;
        match body {
            None => {}
            Some(RequestBody::Json(body)) => {
                let content_type = if method == Method::Patch {
                    "application/merge-patch+json"
                } else {
                    "application/json"
                };
                let encoded = serde_json::to_vec(body).map_err(|source| Error::Serialization {
                    what: "request body",
                    source,
                })?;
                // Keep a copy only when it will be logged.
                logged = enabled!(Level::DEBUG).then(|| redact::body(&encoded));
                request = request.header(header::CONTENT_TYPE, content_type).body(encoded);
            }
            Some(RequestBody::Bytes { content_type, bytes }) => {
                // Forms and files may carry secrets that JSON redaction cannot see: log the size only.
                logged = Some(format!("<{} bytes of {content_type}>", bytes.len()));
                request = request.header(header::CONTENT_TYPE, content_type).body(bytes);
            }
        }
        let _permit = self.limiters.acquire(url).await;
        if enabled!(Level::DEBUG) {
            let mut headers = self.config.default_headers.clone();
            if let Some(built) = request.try_clone().and_then(|r| r.build().ok()) {
                headers.extend(built.headers().clone());
            }
            debug!(
                method = method.as_str(),
                url = %redact::url(url),
                headers = %redact::headers(&headers),
                body = %logged.unwrap_or_default(),
                auth = credentials.as_ref().and_then(|c| c.scheme).unwrap_or("none"),
                "backend request"
            );
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(method, url, redact_source(e, redact_query)))?;
        let status = response.status().as_u16();
        let retry_after = is_retryable_status(status)
            .then(|| response.headers().get(header::RETRY_AFTER))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let headers = enabled!(Level::DEBUG).then(|| response.headers().clone());
        let bytes = self
            .read_body(method, url, response)
            .await
            .map_err(|e| redact_error(e, redact_query))?;
        if let Some(headers) = headers {
            debug!(
                method = method.as_str(),
                url = %redact::url(url),
                status,
                headers = %redact::headers(&headers),
                body = %redact::body(&bytes),
                "backend response"
            );
        }
        Ok(RawResponse {
            status,
            bytes,
            retry_after,
            content_type,
        })
    }

    /// Reads the whole body, failing as soon as it is known to exceed the limit.
    async fn read_body(&self, method: Method, url: &str, mut response: reqwest::Response) -> Result<Vec<u8>> {
        let limit = self.config.max_response_bytes;
        let too_large = |seen: String| Error::BadBackendResponse {
            reason: format!(
                "{} {url}: response body of {seen} exceeds the limit of {limit} bytes (--max-response-bytes)",
                method.as_str()
            ),
        };
        if let Some(len) = response.content_length().filter(|len| *len > limit) {
            return Err(too_large(format!("{len} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(method, url, e))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(too_large(format!("more than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport_error(&self, method: Method, url: &str, source: reqwest::Error) -> Error {
        let (method, url) = (method.as_str().to_owned(), url.to_owned());
        if source.is_redirect() {
            Error::RedirectRefused { method, url, source }
        } else if source.is_timeout() {
            let connect = source.is_connect();
            let after = if connect {
                self.config.connect_timeout.min(self.config.request_timeout)
            } else {
                self.config.request_timeout
            };
            Error::BackendTimeout {
                method,
                url,
                after,
                connect,
                source,
            }
        } else {
            Error::BackendUnreachable { method, url, source }
        }
    }
}

/// `url` with `name=value` appended to its query (form-encoded); unchanged when it does not parse
/// (the request then fails to build, naming the caller's URL).
fn with_query<'a>(url: &'a str, name: &str, value: &str) -> std::borrow::Cow<'a, str> {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.query_pairs_mut().append_pair(name, value);
            std::borrow::Cow::Owned(parsed.into())
        }
        Err(_) => std::borrow::Cow::Borrowed(url),
    }
}

fn error_chain_of(e: &reqwest::Error) -> String {
    crate::error::error_chain(e)
}

/// `source` with the query parameter `name` (a credential) redacted from the URL it carries.
fn redact_source(mut source: reqwest::Error, name: Option<&str>) -> reqwest::Error {
    if let (Some(name), Some(url)) = (name, source.url_mut()) {
        redact::url_query(url, &[name]);
    }
    source
}

fn redact_error(error: Error, name: Option<&str>) -> Error {
    match error {
        Error::BackendUnreachable { method, url, source } => Error::BackendUnreachable {
            method,
            url,
            source: redact_source(source, name),
        },
        Error::BackendTimeout {
            method,
            url,
            after,
            connect,
            source,
        } => Error::BackendTimeout {
            method,
            url,
            after,
            connect,
            source: redact_source(source, name),
        },
        Error::RedirectRefused { method, url, source } => Error::RedirectRefused {
            method,
            url,
            source: redact_source(source, name),
        },
        other => other,
    }
}

/// Redirects: at most `max_redirects` hops; cross-origin hops refused when `same_origin_only` or
/// when a credential-looking default header reqwest does not strip is set.
fn redirect_policy(config: &HttpConfig, same_origin_only: bool) -> reqwest::redirect::Policy {
    let max = config.max_redirects;
    let unstrippable: Vec<String> = config
        .default_headers
        .keys()
        .filter(|name| redact::is_secret_header(name.as_str()) && !STRIPPED_ON_CROSS_ORIGIN.contains(name))
        .map(|name| name.as_str().to_owned())
        .collect();
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            return attempt.error(format!("more than {max} redirects"));
        }
        let cross_origin = attempt
            .previous()
            .last()
            .is_some_and(|prev| prev.origin() != attempt.url().origin());
        if cross_origin && !unstrippable.is_empty() {
            let message = format!(
                "cross-origin redirect to {} would carry the credential header(s) {}",
                attempt.url().origin().ascii_serialization(),
                unstrippable.join(", ")
            );
            return attempt.error(message);
        }
        if cross_origin && same_origin_only {
            let message = format!(
                "cross-origin redirect to {} would carry the request's API key",
                attempt.url().origin().ascii_serialization(),
            );
            return attempt.error(message);
        }
        attempt.follow()
    })
}

/// A body as JSON: `null` when blank, the parsed value when it is JSON, the (truncated) text as a
/// JSON string when it is not JSON and does not start like JSON.
///
/// # Errors
///
/// The parse error when the body starts with `{` or `[` but is not valid JSON.
pub fn decode_body(bytes: &[u8]) -> std::result::Result<Value, serde_json::Error> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => Ok(Value::Null),
        Some(b'{' | b'[') => serde_json::from_slice(bytes),
        Some(_) => Ok(serde_json::from_slice(bytes).unwrap_or_else(|_| text_body(bytes))),
    }
}

fn text_body(bytes: &[u8]) -> Value {
    Value::String(truncate(String::from_utf8_lossy(bytes).trim(), MAX_MESSAGE_LEN))
}

/// How long a `Retry-After` value asks to wait, seen at `now`: delta-seconds (`120`) or an
/// HTTP-date (IMF-fixdate, RFC 850 or asctime); a date in the past means zero. `None` when the
/// value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long digit strings saturate; callers cap the delay anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
