//! Status types shared by every generated Resource kind (`status` subresource), plus the pure helpers that compute conditions and decide whether a status write is needed.
//!
//! Conditions follow kstatus: `Ready` (True when synced), `Reconciling` (True while work is pending or
//! being retried) and `Stalled` (True when only a spec change can help). Each carries
//! `observedGeneration`; `lastTransitionTime` only moves when the condition's `status` flips, so a
//! steady state computes a status equal to the stored one and [`status_patch`] writes nothing.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Lifecycle state of a Resource CR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ResourceState {
    /// Accepted, not yet synced.
    Pending,
    /// A write to the backend is in progress or being retried.
    Syncing,
    /// The backend object matches the spec.
    Synced,
    /// The last sync failed; see `message` and the `Stalled`/`Ready` conditions.
    Failed,
    /// Read-only mode: the backend object was read.
    Observed,
    /// Read-only mode: the backend object does not exist.
    NotFound,
    /// Sync is paused (`spec.paused`): drift is observed, nothing is written.
    Paused,
}

/// The backend's answer to the last request the operator made for this object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointResponse {
    /// Whether the request succeeded (2xx).
    pub success: bool,
    /// HTTP status code; absent when no response arrived (network error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i32>,
    /// Response body: JSON as returned by the backend, or a string when it was not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub data: Option<serde_json::Value>,
    /// Error text when the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Observed state of a Resource CR.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// Lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ResourceState>,
    /// Identifier of the backend object (the value of its id path parameter).
    #[serde(rename = "externalID", default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Whether the operator created the backend object (only then is it deleted with the CR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_controller: Option<bool>,
    /// Last time the operator wrote the backend object (create or update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// Last time the backend object was read and the result recorded here. Periodic reads that
    /// find nothing changed are not recorded, so that a steady state causes no API-server writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_get_time: Option<Time>,
    /// Whether the last read found the backend object different from the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detected: Option<bool>,
    /// How many times drift has been detected (and corrected) since the CR was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_detected_count: Option<i64>,
    /// The backend's answer to the last request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<EndpointResponse>,
    /// With fan-out (`spec.target.strategy: AllHealthy`): the answer of each endpoint to the last
    /// reconcile, in endpoint order (`response` then holds the first successful one). Empty
    /// otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<crate::run_status::TargetResponse>,
    /// The backend object exactly as first seen when the operator adopted it (the CR named the id
    /// of an object that already existed). Recorded once and never overwritten; `onDelete: Restore`
    /// writes it back. Stored as-is so that it can be restored (secret-looking fields are redacted
    /// only in the operator's logs): do not adopt objects that carry secrets in CRs whose status is
    /// readable by people who must not see them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub original_state: Option<serde_json::Value>,
    /// When the operator adopted the backend object (recorded once, with `originalState`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_at: Option<Time>,
    /// Human-readable summary of the last reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// kstatus conditions: `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// What a reconcile concluded, the input to [`conditions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Resulting lifecycle state.
    pub state: ResourceState,
    /// CamelCase reason shared by the conditions (`Synced`, `BackendUnavailable`, …).
    pub reason: &'static str,
    /// Human-readable message (also `status.message`).
    pub message: String,
    /// Whether only a spec (or backend) change can help: `Stalled=True`, `Reconciling=False`.
    pub stalled: bool,
}

impl Phase {
    /// The backend object matches the spec.
    pub fn synced(message: impl Into<String>) -> Self {
        Self {
            state: ResourceState::Synced,
            reason: "Synced",
            message: message.into(),
            stalled: false,
        }
    }

    /// Read-only mode: the backend object exists and was read.
    pub fn observed(message: impl Into<String>) -> Self {
        Self {
            state: ResourceState::Observed,
            reason: "Observed",
            message: message.into(),
            stalled: false,
        }
    }

    /// Read-only mode: the backend object does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            state: ResourceState::NotFound,
            reason: "NotFound",
            message: message.into(),
            stalled: false,
        }
    }

    /// Sync is paused: nothing is written to the backend.
    pub fn paused(message: impl Into<String>) -> Self {
        Self {
            state: ResourceState::Paused,
            reason: "Paused",
            message: message.into(),
            stalled: false,
        }
    }

    /// The reconcile failed with `error`: retryable errors keep the CR `Reconciling`, terminal
    /// ones make it `Stalled`.
    pub fn failed(error: &crate::error::Error) -> Self {
        Self {
            state: ResourceState::Failed,
            reason: error.reason(),
            message: error.to_string(),
            stalled: !error.is_retryable(),
        }
    }
}

const TRUE: &str = "True";
const FALSE: &str = "False";

/// The `Ready`, `Reconciling` and `Stalled` conditions for `phase`, preserving each condition's
/// `lastTransitionTime` from `previous` when its status did not change.
pub fn conditions(
    phase: &Phase,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Vec<Condition> {
    let flags = Kstatus {
        ready: matches!(phase.state, ResourceState::Synced | ResourceState::Observed),
        reconciling: matches!(phase.state, ResourceState::Pending | ResourceState::Syncing)
            || (phase.state == ResourceState::Failed && !phase.stalled),
        stalled: phase.state == ResourceState::Failed && phase.stalled,
        reason: phase.reason,
        message: &phase.message,
    };
    kstatus_conditions(&flags, generation, previous, now)
}

/// The three kstatus flags plus the reason and message all three conditions share; the input of
/// [`kstatus_conditions`] for every reconciler family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kstatus<'a> {
    /// `Ready=True`.
    pub ready: bool,
    /// `Reconciling=True`: work is pending or being retried without a spec change.
    pub reconciling: bool,
    /// `Stalled=True`: only a spec (or backend) change can help.
    pub stalled: bool,
    /// CamelCase reason.
    pub reason: &'a str,
    /// Human-readable message.
    pub message: &'a str,
}

/// `Ready`, `Reconciling` and `Stalled` from `flags`, each via [`condition`].
pub fn kstatus_conditions(
    flags: &Kstatus<'_>,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Vec<Condition> {
    [
        ("Ready", flags.ready),
        ("Reconciling", flags.reconciling),
        ("Stalled", flags.stalled),
    ]
    .into_iter()
    .map(|(type_, on)| condition(type_, on, flags.reason, flags.message, generation, previous, now))
    .collect()
}

/// One condition, keeping its `lastTransitionTime` from `previous` when its status is unchanged.
pub fn condition(
    type_: &str,
    on: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    previous: &[Condition],
    now: &Time,
) -> Condition {
    let status = if on { TRUE } else { FALSE };
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: generation,
        last_transition_time,
    }
}

/// Whether `conditions` holds `type_` with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions.iter().any(|c| c.type_ == type_ && c.status == TRUE)
}

/// [`status_patch`] for any status type: the JSON merge patch `{"status": …}` turning `current`
/// into `next`, or `None` when they serialize equally (no write at all).
///
/// # Errors
///
/// [`crate::error::Error::Serialization`] if a status cannot be serialized (not expected).
pub fn merge_patch_of<S: Serialize>(
    current: Option<&S>,
    next: &S,
) -> crate::error::Result<Option<serde_json::Value>> {
    let to_json = |s: &S| {
        serde_json::to_value(s).map_err(|source| crate::error::Error::Serialization {
            what: "status",
            source,
        })
    };
    let old = current
        .map(to_json)
        .transpose()?
        .unwrap_or_else(|| serde_json::json!({}));
    Ok(merge_diff(&old, &to_json(next)?).map(|d| serde_json::json!({ "status": d })))
}

/// The current time, truncated to whole seconds (the precision `Time` is stored with, so a value
/// read back compares equal to the one written).
pub fn now() -> Time {
    Time(
        jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

/// The JSON merge patch (RFC 7386) for the status subresource turning `current` into `next`, or
/// `None` when they are equal: **no write at all** in that case.
///
/// Only changed keys are sent; keys that disappeared are sent as `null`.
///
/// # Errors
///
/// [`crate::error::Error::Serialization`] if a status cannot be serialized (not expected).
pub fn status_patch(
    current: Option<&ResourceStatus>,
    next: &ResourceStatus,
) -> crate::error::Result<Option<serde_json::Value>> {
    if current == Some(next) || (current.is_none() && *next == ResourceStatus::default()) {
        return Ok(None);
    }
    let to_json = |s: &ResourceStatus| {
        serde_json::to_value(s).map_err(|source| crate::error::Error::Serialization {
            what: "status",
            source,
        })
    };
    let old = current
        .map(to_json)
        .transpose()?
        .unwrap_or_else(|| serde_json::json!({}));
    let diff = merge_diff(&old, &to_json(next)?);
    Ok(diff.map(|d| serde_json::json!({ "status": d })))
}

/// Minimal merge patch from `old` to `new`; `None` when equal.
pub fn merge_diff(old: &serde_json::Value, new: &serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = serde_json::Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_diff(ov, nv) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        (o, n) if o == n => None,
        (_, n) => Some(n.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(second: i64) -> Time {
        Time(jiff::Timestamp::from_second(second).unwrap())
    }

    fn get<'a>(conds: &'a [Condition], t: &str) -> &'a Condition {
        conds.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn synced_is_ready_only() {
        let c = conditions(&Phase::synced("ok"), Some(3), &[], &at(100));
        assert_eq!(
            c.iter()
                .map(|c| (c.type_.as_str(), c.status.as_str()))
                .collect::<Vec<_>>(),
            [("Ready", "True"), ("Reconciling", "False"), ("Stalled", "False")]
        );
        assert!(
            c.iter()
                .all(|c| c.observed_generation == Some(3) && c.reason == "Synced")
        );
    }

    #[test]
    fn paused_and_not_found_are_neither_ready_reconciling_nor_stalled() {
        for phase in [Phase::paused("p"), Phase::not_found("n")] {
            let c = conditions(&phase, Some(1), &[], &at(1));
            assert!(c.iter().all(|c| c.status == "False"), "{c:?}");
            assert!(c.iter().all(|c| c.reason == phase.reason));
        }
        assert_eq!(
            get(&conditions(&Phase::paused("p"), None, &[], &at(1)), "Ready").reason,
            "Paused"
        );
        let c = conditions(&Phase::observed("o"), Some(1), &[], &at(1));
        assert_eq!(get(&c, "Ready").status, "True");
    }

    #[test]
    fn retryable_failure_is_reconciling_terminal_is_stalled() {
        let e = crate::error::Error::from_status("GET", "u", 503, "down".into());
        let c = conditions(&Phase::failed(&e), Some(1), &[], &at(1));
        assert_eq!(get(&c, "Ready").status, "False");
        assert_eq!(get(&c, "Reconciling").status, "True");
        assert_eq!(get(&c, "Reconciling").reason, "BackendUnavailable");
        assert_eq!(get(&c, "Stalled").status, "False");

        let e = crate::error::Error::from_status("POST", "u", 400, "bad".into());
        let c = conditions(&Phase::failed(&e), Some(1), &[], &at(1));
        assert_eq!(get(&c, "Reconciling").status, "False");
        assert_eq!(get(&c, "Stalled").status, "True");
        assert_eq!(get(&c, "Stalled").reason, "BackendRejected");
    }

    #[test]
    fn last_transition_time_is_kept_until_status_flips() {
        let first = conditions(&Phase::synced("a"), Some(1), &[], &at(100));
        let again = conditions(&Phase::synced("b"), Some(2), &first, &at(200));
        assert!(again.iter().all(|c| c.last_transition_time == at(100)));
        let e = crate::error::Error::from_status("GET", "u", 500, "x".into());
        let failed = conditions(&Phase::failed(&e), Some(2), &again, &at(300));
        assert_eq!(get(&failed, "Ready").last_transition_time, at(300));
        assert_eq!(get(&failed, "Reconciling").last_transition_time, at(300));
        assert_eq!(get(&failed, "Stalled").last_transition_time, at(100));
    }

    #[test]
    fn equal_status_needs_no_write() {
        let s = ResourceStatus {
            state: Some(ResourceState::Synced),
            external_id: Some("1".into()),
            conditions: conditions(&Phase::synced("ok"), Some(1), &[], &at(5)),
            ..Default::default()
        };
        assert_eq!(status_patch(Some(&s), &s.clone()).unwrap(), None);
        assert_eq!(status_patch(None, &ResourceStatus::default()).unwrap(), None);
    }

    #[test]
    fn changed_status_patches_only_changes_and_nulls_removed_keys() {
        let old = ResourceStatus {
            state: Some(ResourceState::Failed),
            message: Some("boom".into()),
            response: Some(EndpointResponse {
                success: false,
                status_code: Some(500),
                data: None,
                error: Some("x".into()),
            }),
            external_id: Some("1".into()),
            ..Default::default()
        };
        let new = ResourceStatus {
            state: Some(ResourceState::Synced),
            message: None,
            response: Some(EndpointResponse {
                success: true,
                status_code: Some(200),
                data: Some(json!({"id": 1})),
                error: None,
            }),
            external_id: Some("1".into()),
            ..Default::default()
        };
        let patch = status_patch(Some(&old), &new).unwrap().unwrap();
        assert_eq!(
            patch,
            json!({"status": {"state": "Synced", "message": null,
                              "response": {"success": true, "statusCode": 200, "data": {"id": 1}, "error": null}}})
        );
    }
}
