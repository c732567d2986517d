//! Conversions between `serde_json::Value` and CEL values, and between the `chrono` types CEL
//! stores timestamps and durations in and the `jiff` types the rest of the runtime uses.
//!
//! JSON integers become CEL `int` whenever they fit in `i64` (serde's own serializer would make
//! positive numbers `uint`, and CEL refuses `uint * int`, so `summary.synced * 100` would fail).
//! CEL results become JSON with timestamps as RFC 3339 strings and durations as CEL writes them
//! (`"90s"`, `"1.5s"`).

use std::collections::HashMap;

use cel::Value as CelValue;
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
use serde_json::Value as Json;

use super::CelError;

/// Deepest JSON nesting converted; deeper input is rejected rather than risking the stack.
pub(crate) const MAX_JSON_DEPTH: usize = 128;

/// Converts a JSON value straight into the interpreter's value tree, borrowing its strings
/// (no copies). With `drop_managed_fields`, an object's `metadata.managedFields` is left out.
pub(crate) fn json_to_val<'v>(
    value: &'v Json,
    drop_managed_fields: bool,
) -> Result<Box<dyn Val + 'v>, CelError> {
    json_to_val_at(value, 0, drop_managed_fields)
}

fn json_to_val_at<'v>(
    value: &'v Json,
    depth: usize,
    drop_managed: bool,
) -> Result<Box<dyn Val + 'v>, CelError> {
    if depth > MAX_JSON_DEPTH {
        return Err(CelError::Conversion {
            message: format!("input nested deeper than {MAX_JSON_DEPTH} levels"),
        });
    }
    Ok(match value {
        Json::Null => Box::new(CelNull),
        Json::Bool(b) => Box::new(CelBool::from(*b)),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN)))
            }
        }
        Json::String(s) => Box::new(CelString::from(s.as_str())),
        Json::Array(items) => Box::new(CelList::from(
            items
                .iter()
                .map(|item| json_to_val_at(item, depth + 1, false))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        Json::Object(fields) => {
            let mut map = HashMap::with_capacity(fields.len());
            for (key, field) in fields {
                let converted = if drop_managed && depth == 0 && key == "metadata" {
                    metadata_to_val(field, depth + 1)?
                } else {
                    json_to_val_at(field, depth + 1, false)?
                };
                map.insert(CelMapKey::from(key.as_str()), converted);
            }
            Box::new(CelMap::from(map))
        }
    })
}

/// `metadata` without `managedFields`.
fn metadata_to_val<'v>(metadata: &'v Json, depth: usize) -> Result<Box<dyn Val + 'v>, CelError> {
    let Json::Object(fields) = metadata else {
        return json_to_val_at(metadata, depth, false);
    };
    let mut map = HashMap::with_capacity(fields.len());
    for (key, field) in fields.iter().filter(|(key, _)| *key != "managedFields") {
        map.insert(
            CelMapKey::from(key.as_str()),
            json_to_val_at(field, depth + 1, false)?,
        );
    }
    Ok(Box::new(CelMap::from(map)))
}

/// Converts a CEL result into JSON. Map keys are written as strings; maps come out with sorted
/// keys so that results (and the status they land in) are stable between evaluations.
pub(crate) fn cel_to_json(value: &CelValue) -> Result<Json, CelError> {
    Ok(match value {
        CelValue::Null => Json::Null,
        CelValue::Bool(b) => Json::Bool(*b),
        CelValue::Int(i) => Json::from(*i),
        CelValue::UInt(u) => Json::from(*u),
        CelValue::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .ok_or_else(|| CelError::Conversion {
                message: format!("double {f} has no JSON representation"),
            })?,
        CelValue::String(s) => Json::String(s.to_string()),
        CelValue::List(items) => Json::Array(items.iter().map(cel_to_json).collect::<Result<_, _>>()?),
        CelValue::Map(map) => {
            let mut entries: Vec<(String, &CelValue)> =
                map.map.iter().map(|(k, v)| (k.to_string(), v)).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut object = serde_json::Map::with_capacity(entries.len());
            for (key, field) in entries {
                object.insert(key, cel_to_json(field)?);
            }
            Json::Object(object)
        }
        CelValue::Timestamp(ts) => Json::String(timestamp_from_chrono(ts)?.to_string()),
        CelValue::Duration(d) => Json::String(format_duration(&duration_from_chrono(d))),
        other => other.json().map_err(|e| CelError::Conversion {
            message: e.to_string(),
        })?,
    })
}

/// A CEL timestamp as a `jiff::Timestamp`.
pub(crate) fn timestamp_from_chrono(
    ts: &chrono::DateTime<chrono::FixedOffset>,
) -> Result<jiff::Timestamp, CelError> {
    jiff::Timestamp::new(ts.timestamp(), ts.timestamp_subsec_nanos() as i32).map_err(|e| {
        CelError::Conversion {
            message: format!("timestamp out of range: {e}"),
        }
    })
}

/// A `jiff::Timestamp` as a CEL timestamp (UTC offset).
pub(crate) fn timestamp_to_chrono(
    ts: jiff::Timestamp,
) -> Result<chrono::DateTime<chrono::FixedOffset>, CelError> {
    chrono::DateTime::from_timestamp(ts.as_second(), ts.subsec_nanosecond().unsigned_abs())
        .map(|dt| dt.fixed_offset())
        .ok_or_else(|| CelError::Conversion {
            message: format!("timestamp {ts} out of range"),
        })
}

/// A CEL duration as a `jiff::SignedDuration`.
pub(crate) fn duration_from_chrono(d: &chrono::TimeDelta) -> jiff::SignedDuration {
    // chrono keeps `subsec_nanos` with the sign of the whole duration, as jiff does.
    jiff::SignedDuration::new(d.num_seconds(), d.subsec_nanos())
}

/// A `jiff::SignedDuration` as a CEL duration.
pub(crate) fn duration_to_chrono(d: jiff::SignedDuration) -> Result<chrono::TimeDelta, CelError> {
    chrono::TimeDelta::try_seconds(d.as_secs())
        .and_then(|secs| secs.checked_add(&chrono::TimeDelta::nanoseconds(i64::from(d.subsec_nanos()))))
        .ok_or_else(|| CelError::Conversion {
            message: format!("duration {d:?} out of range"),
        })
}

/// Formats a duration as CEL's `string(duration)` does: seconds, with the fraction only when
/// there is one (`"90s"`, `"-1.5s"`).
pub(crate) fn format_duration(d: &jiff::SignedDuration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{secs}s");
    }
    let sign = if secs < 0 || nanos < 0 { "-" } else { "" };
    let frac = format!("{:09}", nanos.unsigned_abs());
    format!("{sign}{}.{}s", secs.unsigned_abs(), frac.trim_end_matches('0'))
}
