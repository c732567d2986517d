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
