//! The Aggregate's spec and status types (serde + schemars), which the generator embeds in the
//! `<App>Aggregate` CRD, and the input and result of [`aggregate`](super::aggregate).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Desired state of an Aggregate: what to watch and what to compute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AggregateSpec {
    /// Resources referenced by kind and name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceRef>,
    /// Resources matched by kind, labels, name pattern and namespace.
    #[serde(default, alias = "resourceSelectors", skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<Selector>,
    /// When the aggregate is healthy.
    #[serde(default, alias = "aggregationStrategy")]
    pub strategy: AggregationStrategy,
    /// For `Quorum`: how many resources must be synced. Defaults to a majority (total / 2 + 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub quorum: Option<u32>,
    /// Values computed from the selected resources with CEL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived_values: Vec<DerivedValue>,
    /// When `true` the status is not recomputed; state `Paused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

/// A resource referenced by kind and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    /// Kind of the CR (`Pet`).
    pub kind: String,
    /// Name of the CR.
    pub name: String,
    /// Namespace of the CR; defaults to the aggregate's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Matches resources; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    /// Kind to match; any kind when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Labels the resource must carry, with these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Glob on the name: `*` matches any run of characters, `?` any one character.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_pattern: Option<String>,
    /// Namespace to look in; defaults to the aggregate's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// When an aggregate is healthy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AggregationStrategy {
    /// At least one resource, and every resource synced.
    #[default]
    AllHealthy,
    /// At least one resource synced.
    AnyHealthy,
    /// At least `quorum` resources synced (default: a majority).
    Quorum,
}

/// A value computed with CEL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DerivedValue {
    /// Name of the value in `status.computedValues`.
    #[schemars(regex(pattern = r"^[a-zA-Z][a-zA-Z0-9_]*$"))]
    pub name: String,
    /// CEL expression.
    #[schemars(length(min = 1, max = 4096))]
    pub expression: String,
}

/// Overall state of an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AggregateState {
    /// The strategy is satisfied.
    Healthy,
    /// Not healthy, and at least one resource failed.
    Degraded,
    /// Not healthy, and nothing failed (yet).
    Pending,
    /// `spec.paused` is `true`: the status is not recomputed (set by the reconciler, never by
    /// [`aggregate`](super::aggregate)).
    Paused,
}

/// How one resource counts in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// In one of [`SYNCED_STATES`](super::SYNCED_STATES).
    Synced,
    /// In one of [`FAILED_STATES`](super::FAILED_STATES).
    Failed,
    /// Anything else.
    Pending,
}

/// Counts of the selected resources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Selected resources, missing refs included.
    pub total: u32,
    /// Synced resources.
    pub synced: u32,
    /// Failed resources.
    pub failed: u32,
    /// Pending resources (missing refs included).
    pub pending: u32,
}

/// One selected resource, as reported in the status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceEntry {
    /// Kind of the CR.
    pub kind: String,
    /// Name of the CR.
    pub name: String,
    /// Namespace of the CR.
    pub namespace: String,
    /// The CR's `status.state` (`Pending` when it has none, `Missing` when the CR does not exist).
    pub state: String,
    /// Whether the resource counts as synced.
    pub ready: bool,
    /// The CR's `status.externalID`, if any.
    #[serde(rename = "externalID", default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The CR's `status.message`, or why the entry is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The outcome of one derived value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComputedValue {
    /// Name of the derived value.
    pub name: String,
    /// The result, as JSON; absent on error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub value: Option<Value>,
    /// Why the value could not be computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What [`aggregate`](super::aggregate) works from.
#[derive(Debug, Clone, Copy)]
pub struct AggregateInput<'a> {
    /// The aggregate's namespace (default for refs and selectors).
    pub namespace: &'a str,
    /// The aggregate's spec.
    pub spec: &'a AggregateSpec,
    /// Every CR the reconciler observed, as full objects (`kind`, `metadata`, `status`, …), in
    /// any order; objects no ref or selector matches are ignored.
    pub observed: &'a [Value],
    /// Kind → lowercase plural (`Pet` → `pets`) for every kind the operator serves; kinds not
    /// listed fall back to [`default_plural`](super::default_plural).
    pub plurals: &'a BTreeMap<String, String>,
    /// The instant `now()` returns.
    pub now: jiff::Timestamp,
}

/// The computed status of an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateResult {
    /// Counts.
    pub summary: Summary,
    /// Selected resources, sorted by kind, namespace, name.
    pub resources: Vec<ResourceEntry>,
    /// Overall state.
    pub state: AggregateState,
    /// Human-readable explanation of `state`.
    pub message: String,
    /// Derived values, in spec order.
    pub computed_values: Vec<ComputedValue>,
    /// Whether a derived value depends on the current time, so the reconciler should requeue
    /// periodically even when nothing changes.
    pub requeue_for_time: bool,
}

/// Observed state of an Aggregate CR (written by the aggregate reconciler from an
/// [`AggregateResult`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AggregateStatus {
    /// Overall state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<AggregateState>,
    /// Human-readable explanation of `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Counts of the selected resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Selected resources, sorted by kind, namespace, name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceEntry>,
    /// Derived values, in spec order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computed_values: Vec<ComputedValue>,
    /// When the status was last computed with a different outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_aggregation_time: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// kstatus conditions: `Ready`, `Reconciling`, `Stalled`, and `DerivedValuesValid` (False when a
    /// derived value failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
}
