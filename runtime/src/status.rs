//! Status types shared by every generated Resource kind (`status` subresource).

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
    /// Sync is paused.
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
