//! `openapi-operator-gen plan`: the classification table of every operation (Resource kind,
//! unclassified, filtered) rendered from the [`Model`]; nothing is written.

use std::collections::BTreeMap;

use crate::model::{CrdKind, HttpMethod, Model};

/// One operation of the spec and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template.
    pub path: String,
    /// `operationId` (empty when the spec has none).
    pub operation_id: String,
    /// `Resource`, `Query`, `Action`, `Unclassified` or `Filtered(path|tag|op)`.
    pub classification: String,
    /// The kind, or `-`.
    pub kind: String,
    /// Role in the kind, or why it is not used.
    pub reason: String,
}

/// Every operation, sorted by path then method.
pub fn rows(model: &Model) -> Vec<Row> {
    let mut rows: BTreeMap<(String, HttpMethod), Row> = BTreeMap::new();
    for crd in &model.crds {
        let family = crd.kind.family();
        let roles = match &crd.kind {
            CrdKind::Resource(ops) => vec![
                (ops.create.as_ref(), "create".to_owned()),
                (Some(&ops.read), "read".to_owned()),
                (
                    ops.update.as_ref().map(|u| &u.operation),
                    ops.update
                        .as_ref()
                        .map(|u| format!("update ({})", u.operation.method.as_str()))
                        .unwrap_or_default(),
                ),
                (ops.delete.as_ref(), "delete".to_owned()),
            ],
            CrdKind::Query(q) => vec![(Some(&q.operation), "query".to_owned())],
            CrdKind::Action(a) => vec![(Some(&a.operation), "action".to_owned())],
            CrdKind::Aggregate => Vec::new(),
        };
        for (op, role) in roles {
            let Some(op) = op else { continue };
            rows.entry((op.path.clone(), op.method))
                .and_modify(|r| {
                    r.reason.push_str(", ");
                    r.reason.push_str(&role);
                })
                .or_insert_with(|| Row {
                    method: op.method,
                    path: op.path.clone(),
                    operation_id: op.operation_id.clone().unwrap_or_default(),
                    classification: family.to_owned(),
                    kind: crd.names.kind.clone(),
                    reason: role,
                });
        }
    }
    for u in &model.unclassified {
        rows.entry((u.path.clone(), u.method)).or_insert_with(|| Row {
            method: u.method,
            path: u.path.clone(),
            operation_id: u.operation_id.clone().unwrap_or_default(),
            classification: "Unclassified".to_owned(),
            kind: "-".to_owned(),
            reason: u.reason.clone(),
        });
    }
    for f in &model.filtered {
        rows.entry((f.path.clone(), f.method)).or_insert_with(|| Row {
            method: f.method,
            path: f.path.clone(),
            operation_id: f.operation_id.clone().unwrap_or_default(),
            classification: format!("Filtered({})", f.by.as_str()),
            kind: "-".to_owned(),
            reason: "removed by the configured filters".to_owned(),
        });
    }
    rows.into_values().collect()
}

/// The table plus a summary line.
pub fn render(model: &Model) -> String {
    let rows = rows(model);
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.method.as_str().to_owned(),
                r.path.clone(),
                r.operation_id.clone(),
                r.classification.clone(),
                r.kind.clone(),
                r.reason.clone(),
            ]
        })
        .collect();
    let header = ["METHOD", "PATH", "OPERATION", "CLASSIFICATION", "KIND", "REASON"].map(str::to_owned);
    let mut widths = [0usize; 5];
    for row in cells.iter().chain([&header]) {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in [&header].into_iter().chain(cells.iter()) {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths.iter()) {
            line.push_str(&format!("{cell:<w$}  "));
        }
        line.push_str(&row[5]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let count = |c: &str| rows.iter().filter(|r| r.classification.starts_with(c)).count();
    let kinds: Vec<String> = model
        .crds
        .iter()
        .map(|c| format!("{} ({})", c.names.kind, c.names.plural))
        .collect();
    out.push_str(&format!(
        "\n{} kinds: {}\n{} operations: {} resource, {} query, {} action, {} unclassified, {} filtered\n",
        model.crds.len(),
        kinds.join(", "),
        rows.len(),
        count("Resource"),
        count("Query"),
        count("Action"),
        count("Unclassified"),
        count("Filtered"),
    ));
    out
}
