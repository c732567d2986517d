//! Schema helpers generated types and runtime types use for CRD-specific shapes.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Schema for a free-form JSON value: `x-kubernetes-preserve-unknown-fields: true`, nullable.
///
/// Use with `#[schemars(schema_with = "...")]` on `serde_json::Value` fields; the API server then
/// keeps whatever JSON the field holds.
pub fn preserve_unknown_fields(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Schema for a free-form JSON object (`type: object` + preserve-unknown-fields).
pub fn preserve_unknown_object(_generator: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Free-form JSON as a type of its own, for generic positions where a field attribute cannot set
/// the schema (`QueryStatus<AnyJson>` when the API documents no response schema). Serializes
/// exactly like the inner value; its schema is [`preserve_unknown_fields`] without `nullable`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AnyJson(pub serde_json::Value);

impl schemars::JsonSchema for AnyJson {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyJson".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "x-kubernetes-preserve-unknown-fields": true,
        })
    }
}
