//! `meta.k8s.io/v1 Table` rendering for `kubectl get`: Name, CRD printer columns (or Age).

use serde_json::{Value, json};

use crate::resources::{PrinterColumn, ResourceType};

/// Evaluates a simple JSONPath (`.status.state`, `.spec.items[0].name`, `.metadata.labels.app`).
pub fn eval_path(obj: &Value, path: &str) -> Option<Value> {
    let path = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut cur = obj;
    for part in path.trim_start_matches('.').split('.').filter(|p| !p.is_empty()) {
        let (field, index) = match part.split_once('[') {
            Some((f, rest)) => (f, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !field.is_empty() {
            cur = cur.get(field)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur.clone())
}

/// Humanises the time since an RFC 3339 timestamp the way kubectl does (`5s`, `3m`, `2d`).
pub fn age(timestamp: &str) -> String {
    let Ok(then) = timestamp.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = (jiff::Timestamp::now().as_second() - then.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn cell(col: &PrinterColumn, obj: &Value) -> Value {
    match eval_path(obj, &col.json_path) {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) if col.type_ == "date" => Value::String(age(&s)),
        Some(v @ (Value::Number(_) | Value::Bool(_))) if col.type_ != "string" => v,
        Some(Value::String(s)) => Value::String(s),
        Some(v) => Value::String(v.to_string()),
    }
}

/// A Table listing `items` of type `rt`.
pub fn table(rt: &ResourceType, items: &[Value], resource_version: &str) -> Value {
    let age_column = PrinterColumn {
        name: "Age".into(),
        type_: "date".into(),
        json_path: ".metadata.creationTimestamp".into(),
        description:
            "CreationTimestamp is a timestamp representing the server time when this object was created."
                .into(),
        priority: 0,
    };
    let columns: Vec<PrinterColumn> = if rt.printer_columns.is_empty() {
        vec![age_column]
    } else {
        rt.printer_columns.clone()
    };
    let mut defs = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace.",
    })];
    defs.extend(columns.iter().map(|c| {
        json!({"name": c.name, "type": c.type_, "format": "", "description": c.description, "priority": c.priority})
    }));
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let mut cells = vec![obj.pointer("/metadata/name").cloned().unwrap_or(Value::Null)];
            cells.extend(columns.iter().map(|c| cell(c, obj)));
            json!({
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
                },
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": defs,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_subset() {
        let o = json!({"status": {"state": "ok", "list": [{"n": 1}]}});
        assert_eq!(eval_path(&o, ".status.state"), Some(json!("ok")));
        assert_eq!(eval_path(&o, ".status.list[0].n"), Some(json!(1)));
        assert_eq!(eval_path(&o, ".status.missing"), None);
    }
}
