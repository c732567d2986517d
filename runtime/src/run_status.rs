//! Status types of the generated Query and Action kinds (`status` subresource).
//!
//! Both carry kstatus conditions (`Ready`, `Reconciling`, `Stalled`) like Resources, the
//! `observedGeneration` the status describes, and one [`TargetResponse`] per backend endpoint the
//! request went to.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Lifecycle state of a Query CR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum QueryState {
    /// Accepted, not yet run.
    Pending,
    /// The request is in flight.
    Querying,
    /// The last run succeeded; results are in `status.results`.
    Queried,
    /// The last run failed; see `message` and `responses`.
    Failed,
    /// `spec.paused` is `true`.
    Paused,
}

/// Lifecycle state of an Action CR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ActionState {
    /// Accepted, not yet run.
    Pending,
    /// The request is in flight (or the operator stopped while it was).
    Executing,
    /// The last run succeeded.
    Completed,
    /// The last run failed; see `message` and `result`.
    Failed,
    /// `spec.paused` is `true`.
    Paused,
}

/// The answer of one backend endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetResponse {
    /// Base URL of the endpoint that answered.
    pub endpoint: String,
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

/// Observed state of a Query CR. `R` is the typed result (the 200/201 response schema), or
/// `serde_json::Value` when the API documents none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryStatus<R> {
    /// Lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<QueryState>,
    /// Human-readable summary of the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the last successful run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_query_time: Option<Time>,
    /// When the last run (successful or not) finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_execution_time: Option<Time>,
    /// When the next periodic run is due (`spec.executionInterval` set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_execution_time: Option<Time>,
    /// How many runs have finished since the CR was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_count: Option<i64>,
    /// Number of results: the length of an array result, `1` for an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_count: Option<i64>,
    /// The results of the last successful run, typed by the API's response schema.
    #[serde(default = "none::<R>", skip_serializing_if = "Option::is_none")]
    pub results: Option<R>,
    /// The answer of each endpoint queried in the last run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<TargetResponse>,
    /// kstatus conditions: `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

fn none<R>() -> Option<R> {
    None
}

impl<R> Default for QueryStatus<R> {
    fn default() -> Self {
        Self {
            state: None,
            message: None,
            observed_generation: None,
            last_query_time: None,
            last_execution_time: None,
            next_execution_time: None,
            execution_count: None,
            result_count: None,
            results: None,
            responses: Vec::new(),
            conditions: Vec::new(),
        }
    }
}

/// The outcome of an Action's request (the first endpoint's when it fanned out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionResult {
    /// Whether the request succeeded (2xx).
    pub success: bool,
    /// HTTP status code; absent when no response arrived.
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

/// Observed state of an Action CR.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionStatus {
    /// Lifecycle state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ActionState>,
    /// Human-readable summary of the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `metadata.generation` this status describes. An Action runs at most once per
    /// generation (plus once per interval when `spec.executionInterval` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the latest run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_at: Option<Time>,
    /// When the latest run finished successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// When the latest run finished (successful or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_execution_time: Option<Time>,
    /// When the next periodic run is due (`spec.executionInterval` set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_execution_time: Option<Time>,
    /// How many runs have finished since the CR was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_count: Option<i64>,
    /// The backend's answer to the latest run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ActionResult>,
    /// The answer of each endpoint in the latest run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<TargetResponse>,
    /// How many endpoints answered with 2xx in the latest run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_count: Option<i32>,
    /// How many endpoints the latest run went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_endpoints: Option<i32>,
    /// kstatus conditions: `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
