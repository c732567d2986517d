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
    pub target: Option<TargetSpec>,
    /// How often the backend object is re-read and drift corrected, as a duration such as `30s`,
    /// `5m` or `1h30m`. Default `30s`; `0` disables periodic re-sync (changes to the CR still sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_interval: Option<String>,
}

/// Selects the backend instance a CR is synced with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetSpec {
    /// Base URL of the backend API for this object, e.g. `http://petstore.default.svc:8080/api/v3`.
    /// Overrides the operator-wide base URL.
    #[serde(rename = "baseURL", default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}
