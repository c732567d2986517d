//! Operator controls every generated Resource spec carries next to the API's own fields (flattened).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Fields that steer the operator rather than describe the backend object. Flattened into every
/// Resource spec with `#[serde(flatten)]`; never sent to the backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceControls {
    /// Which backend instance this object lives in. Unset fields fall back to the operator's
    /// `--base-url` / `REST_API_BASE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Box<TargetSpec>>,
    /// How often the backend object is re-read and drift corrected, as a duration such as `30s`,
    /// `5m` or `1h30m`. Default `30s`; `0` disables periodic re-sync (changes to the CR still sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_interval: Option<String>,
    /// Observe-only mode. When `true` the operator only reads the backend object (`GET`): state
    /// `Observed` when it exists (its data in `status.response`, differences from the spec reported
    /// in `status.driftDetected` but never corrected) or `NotFound`. It never creates, updates or
    /// deletes the backend object, never adds a finalizer, and deleting the CR never touches the
    /// backend, whatever `onDelete` says. Requires the id (`spec.<id field>` or `status.externalID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Suspends writes to the backend. When `true` the operator still reads the backend object and
    /// reports drift (`status.driftDetected`, `status.driftDetectedCount`) but corrects nothing and
    /// creates nothing; state `Paused`, conditions `Ready`, `Reconciling` and `Stalled` all `False`
    /// with reason `Paused`. Deleting a paused CR still applies `onDelete`: pausing stops sync, not
    /// cleanup. Set to `false` or remove it to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// What happens to the backend object when this CR is deleted. `Delete` deletes it, `Orphan`
    /// leaves it as it is, `Restore` writes back `status.originalState` (the object as first seen
    /// when it was adopted) with the API's update method, or leaves it alone when there is no
    /// original state. Default: `Delete` when the operator created the object, `Orphan` otherwise;
    /// an adopted object (one that existed before the CR) is deleted only with an explicit `Delete`.
    /// Ignored in `readOnly` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDeletePolicy>,
    /// Fields never reported as drift, in addition to the kind's own list: JSON pointers into the
    /// backend object (`/tags`, `/category/name`) or dotted paths (`category.name`). A field and
    /// everything below it is ignored. Ignored fields are still sent when the object is created or
    /// updated for another reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_fields: Vec<String>,
    /// How drift is corrected with a full update (`PUT`, or `POST` as update): `true` (default)
    /// sends the backend object as read with the spec's fields overlaid, so fields the spec does not
    /// set survive; `false` sends only the spec's fields. Ignored when the API updates with `PATCH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_on_update: Option<bool>,
}

/// What happens to the backend object when this CR is deleted. `Delete` deletes it, `Orphan`
/// leaves it as it is, `Restore` writes back `status.originalState` (the object as first seen
/// when it was adopted) with the API's update method, or leaves it alone when there is no
/// original state. Default: `Delete` when the operator created the object, `Orphan` otherwise;
/// an adopted object (one that existed before the CR) is deleted only with an explicit `Delete`.
/// Ignored in `readOnly` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OnDeletePolicy {
    /// Delete the backend object.
    Delete,
    /// Leave the backend object as it is.
    Orphan,
    /// Write back `status.originalState`, the object as it was before it was adopted.
    Restore,
}

/// Selects the backend instance(s) a CR is synced with. Every field is optional; unset, the
/// operator-wide flags (`--base-url`, `--target-statefulset`, `--target-deployment`,
/// `--target-helm-release`, `--target-pod`) decide. Set one *source* (`baseURL`, `baseURLs`, `pod`,
/// `statefulSet`, `deployment` or `helmRelease`, where `helmRelease` may be narrowed by
/// `statefulSet` or `deployment`) to override them; `namespace`, `labels`, `podOrdinal`, `strategy`
/// and `fanOutSuccess` refine whichever source applies. Only Ready pods with an IP are endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetSpec {
    /// Base URL of the backend API for this object, e.g. `http://petstore.default.svc:8080/api/v3`.
    /// Overrides the operator-wide target. Cannot be combined with any other source, `namespace`,
    /// `labels` or `podOrdinal`.
    #[serde(rename = "baseURL", default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Several base URLs of replicas of one backend API. Default strategy `AllHealthy`: every
    /// request goes to each URL and `status.responses` gets one entry per URL. Mutually exclusive
    /// with `baseURL`.
    #[serde(rename = "baseURLs", default, skip_serializing_if = "Vec::is_empty")]
    pub base_urls: Vec<String>,
    /// Name of a StatefulSet whose Ready pods serve the API (in `namespace`). Endpoints are
    /// `<pod>.<spec.serviceName>.<namespace>.svc` with `--discovery dns` (the default) or the pod IPs
    /// with `--discovery pod-ip`, plus `--backend-port` and `--backend-base-path`. With
    /// `helmRelease`, picks that StatefulSet of the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stateful_set: Option<String>,
    /// Name of a Deployment whose Ready pods (by pod IP) serve the API (in `namespace`). With
    /// `helmRelease`, picks that Deployment of the release. Mutually exclusive with `statefulSet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Helm release serving the API: its StatefulSet, else its Deployment (the one labelled
    /// `app.kubernetes.io/instance=<release>` with the most replicas), else the pods labelled so.
    /// Only that workload's pods carrying the instance label are endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_release: Option<String>,
    /// Name of one pod serving the API, reached by its pod IP. Cannot be combined with another
    /// source, `labels` or `podOrdinal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// Ordinal of the StatefulSet pod to use (`<statefulSet>-<podOrdinal>`), whatever the
    /// replica count; implies strategy `ByOrdinal`. Requires a StatefulSet: `statefulSet`, a
    /// `helmRelease` that resolves to one, or the operator's `--target-statefulset` /
    /// `--target-helm-release`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub pod_ordinal: Option<i32>,
    /// Namespace of the workload or pod. Default: this CR's namespace (or the operator's
    /// `--target-namespace` when the target comes from the operator's flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Extra pod labels an endpoint must carry (ANDed with the workload's selector).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// How to pick among the endpoints: `RoundRobin` (default for workloads: rotate over the
    /// healthy ones), `LeaderOnly` (StatefulSet pod 0, else the oldest Ready pod, else the first
    /// URL; fails rather than switching), `AnyHealthy` (the first healthy endpoint in ordinal,
    /// age or list order), `AllHealthy` (fan-out to every healthy endpoint; default for
    /// `baseURLs`) or `ByOrdinal` (pod `podOrdinal` of a StatefulSet). Default: the operator's
    /// `--target-strategy`, else as stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<TargetStrategy>,
    /// With strategy `AllHealthy`: when a fan-out counts as a success. `All` endpoints (default for
    /// writes: creates, updates, deletes and the reconcile that does them), `Any` one endpoint
    /// (default for read-only observation), or a `Quorum` (more than half). Failed endpoints
    /// are still reported in `status.responses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_out_success: Option<FanOutSuccess>,
    /// Secret in this CR's namespace holding the credentials for the backend API; replaces the
    /// operator's `--auth-secret` for this CR. Keys: `token` (bearer, OAuth2, OpenID Connect),
    /// `username` + `password` (basic), `apiKey` or the scheme's name (API key), `tls.crt` +
    /// `tls.key` (client certificate), `ca.crt` (CA of the backend). The first of the API's security
    /// schemes whose keys are present is used. Changes to the Secret apply without a restart. The
    /// Secret must carry the label `openapi-operator-gen/backend-credentials: "true"` and must not
    /// be a service-account token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<AuthSecretRef>,
}

/// A Secret in the CR's namespace (`spec.target.authSecretRef`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuthSecretRef {
    /// Name of the Secret.
    pub name: String,
}

/// How a CR's requests are spread over the endpoints of its target (`spec.target.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TargetStrategy {
    /// One endpoint per reconcile, rotating over the healthy ones.
    RoundRobin,
    /// Only the leader: StatefulSet pod 0, else the oldest Ready pod, else the first URL. Fails
    /// (and retries) while the leader is not healthy.
    LeaderOnly,
    /// The first healthy endpoint (ordinal, age or list order).
    AnyHealthy,
    /// Every healthy endpoint (fan-out), one `status.responses` entry each.
    AllHealthy,
    /// StatefulSet pod `spec.target.podOrdinal`.
    ByOrdinal,
}

/// When a fan-out (strategy `AllHealthy`) counts as a success (`spec.target.fanOutSuccess`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum FanOutSuccess {
    /// Every endpoint succeeded.
    All,
    /// At least one endpoint succeeded.
    Any,
    /// More than half of the endpoints succeeded.
    Quorum,
}

impl FanOutSuccess {
    /// The rule for a fan-out: `configured`, else `All` for writes and `Any` for reads.
    pub fn effective(configured: Option<FanOutSuccess>, write: bool) -> FanOutSuccess {
        configured.unwrap_or(if write {
            FanOutSuccess::All
        } else {
            FanOutSuccess::Any
        })
    }

    /// Whether `succeeded` successes out of `total` endpoints satisfy the rule (never with
    /// `total == 0`).
    pub fn is_met(self, succeeded: usize, total: usize) -> bool {
        total > 0
            && match self {
                FanOutSuccess::All => succeeded == total,
                FanOutSuccess::Any => succeeded >= 1,
                FanOutSuccess::Quorum => succeeded * 2 > total,
            }
    }
}

impl TargetSpec {
    /// A target naming only a static base URL.
    pub fn from_base_url(url: impl Into<String>) -> Self {
        Self {
            base_url: Some(url.into()),
            ..Self::default()
        }
    }
}

/// Periodic re-sync interval when `spec.executionInterval` is unset.
pub const DEFAULT_EXECUTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

impl ResourceControls {
    /// Whether `spec.readOnly` is `true`.
    pub fn is_read_only(&self) -> bool {
        self.read_only == Some(true)
    }

    /// Whether `spec.paused` is `true`.
    pub fn is_paused(&self) -> bool {
        self.paused == Some(true)
    }

    /// Whether full updates merge the spec into the observed object (`spec.mergeOnUpdate`, default
    /// `true`).
    pub fn merges_on_update(&self) -> bool {
        self.merge_on_update != Some(false)
    }

    /// The effective delete policy: `spec.onDelete`, else `Delete` for an object the operator
    /// created and `Orphan` for any other.
    pub fn on_delete_policy(&self, created_by_controller: bool) -> OnDeletePolicy {
        self.on_delete.unwrap_or(if created_by_controller {
            OnDeletePolicy::Delete
        } else {
            OnDeletePolicy::Orphan
        })
    }

    /// The periodic re-sync interval: `None` for `0` (no periodic re-sync), the default when unset.
    ///
    /// # Errors
    ///
    /// [`crate::error::Error::BadSpec`] naming `spec.executionInterval` when the value does not parse.
    pub fn interval(&self) -> crate::error::Result<Option<std::time::Duration>> {
        match self.execution_interval.as_deref().map(str::trim) {
            None | Some("") => Ok(Some(DEFAULT_EXECUTION_INTERVAL)),
            Some(text) => match parse_duration(text) {
                Ok(d) if d.is_zero() => Ok(None),
                Ok(d) => Ok(Some(d)),
                Err(reason) => Err(crate::error::Error::bad_spec("spec.executionInterval", reason)),
            },
        }
    }
}

/// [`parse_duration`] for flags that must be positive (`0` is refused).
///
/// # Errors
///
/// The message of [`parse_duration`], or that the duration must be positive.
pub fn parse_positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("{text:?}: the duration must be positive")),
        d => Ok(d),
    }
}

/// Parses a Go-style duration: `0`, or one or more `<decimal><unit>` terms with units `ns`, `us`
/// (`µs`), `ms`, `s`, `m`, `h` (`30s`, `5m`, `1h30m`, `1.5s`). Negative durations are rejected.
///
/// # Errors
///
/// A message describing why `text` is not a duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || format!("invalid duration {text:?}: expected e.g. \"30s\", \"5m\", \"1h30m\" or \"0\"");
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total += value * seconds_per_unit;
    }
    std::time::Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn go_style_durations_parse() {
        assert_eq!(parse_positive_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(
            parse_positive_duration("0"),
            Err("\"0\": the duration must be positive".to_owned())
        );
        assert!(
            parse_positive_duration("soon")
                .unwrap_err()
                .contains("invalid duration")
        );
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "abc", "30", "5x", "-5s", "1..5s", "s", "1h 30m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn interval_defaults_disables_and_names_the_field() {
        let with = |v: Option<&str>| ResourceControls {
            execution_interval: v.map(str::to_owned),
            ..ResourceControls::default()
        };
        assert_eq!(with(None).interval().unwrap(), Some(DEFAULT_EXECUTION_INTERVAL));
        assert_eq!(with(Some("0")).interval().unwrap(), None);
        assert_eq!(
            with(Some("2m")).interval().unwrap(),
            Some(Duration::from_secs(120))
        );
        let err = with(Some("soon")).interval().unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("spec.executionInterval"), "{err}");
    }

    #[test]
    fn on_delete_defaults_to_delete_only_for_created_objects() {
        let mut c = ResourceControls::default();
        assert_eq!(c.on_delete_policy(true), OnDeletePolicy::Delete);
        assert_eq!(c.on_delete_policy(false), OnDeletePolicy::Orphan);
        c.on_delete = Some(OnDeletePolicy::Restore);
        assert_eq!(c.on_delete_policy(true), OnDeletePolicy::Restore);
        assert!(!c.is_read_only() && !c.is_paused());
        let parsed: ResourceControls = serde_json::from_value(
            serde_json::json!({"readOnly": true, "paused": true, "onDelete": "Orphan"}),
        )
        .unwrap();
        assert!(parsed.is_read_only() && parsed.is_paused());
        assert_eq!(parsed.on_delete, Some(OnDeletePolicy::Orphan));
    }
}

/// Controls every generated Query and Action spec carries (flattened): where to send the request,
/// how often to repeat it, and whether to hold off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunControls {
    /// Which backend instance to call. Unset fields fall back to the operator's `--base-url` /
    /// `REST_API_BASE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Box<TargetSpec>>,
    /// Repeat the request this often, as a duration such as `30s`, `5m` or `1h30m`. Unset or `0`:
    /// run once per spec change (`metadata.generation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_interval: Option<String>,
    /// When `true` nothing is sent; state `Paused`. Set to `false` or remove it to resume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

impl RunControls {
    /// Whether `spec.paused` is `true`.
    pub fn is_paused(&self) -> bool {
        self.paused == Some(true)
    }

    /// The repeat interval: `None` (run once per generation) when unset or `0`.
    ///
    /// # Errors
    ///
    /// [`crate::error::Error::BadSpec`] naming `spec.executionInterval` when the value does not parse.
    pub fn interval(&self) -> crate::error::Result<Option<std::time::Duration>> {
        match self.execution_interval.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => match parse_duration(text) {
                Ok(d) if d.is_zero() => Ok(None),
                Ok(d) => Ok(Some(d)),
                Err(reason) => Err(crate::error::Error::bad_spec("spec.executionInterval", reason)),
            },
        }
    }
}

/// The payload of an Action whose request body is binary (`application/octet-stream`, or the file
/// part of `multipart/form-data`). Exactly one of `data`, `dataFrom` and `dataURL` must be set.
/// Flattened into the spec of such Actions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BinaryPayload {
    /// The bytes to send, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "byte"))]
    pub data: Option<String>,
    /// Read the bytes from a key of a ConfigMap (`binaryData` first, then `data`) or a Secret in
    /// the CR's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_from: Option<DataSource>,
    /// Fetch the bytes with an HTTP GET from this URL.
    #[serde(rename = "dataURL", default, skip_serializing_if = "Option::is_none")]
    pub data_url: Option<String>,
    /// Media type of the bytes (`image/png`). Default `application/octet-stream`. For an
    /// octet-stream body it is the request's `Content-Type`; for multipart it is the file part's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// File name sent with a multipart file part. Default: the key of `dataFrom`, else `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// Where [`BinaryPayload::data_from`] reads from: exactly one of the two references.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataSource {
    /// A key of a ConfigMap in the CR's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyRef>,
    /// A key of a Secret in the CR's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeyRef>,
}

/// A key of a ConfigMap or Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyRef {
    /// Name of the object.
    pub name: String,
    /// Key within it.
    pub key: String,
}
