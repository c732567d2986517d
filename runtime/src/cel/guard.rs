//! Static cost analysis of a compiled expression: how deeply comprehensions nest.
//!
//! A comprehension's `loop_cond` and `loop_step` run once per element, so a comprehension inside
//! them multiplies the work; its `iter_range`, `accu_init` and `result` run once, so a
//! comprehension there (`a.filter(…).map(…)`) only adds to it.

use cel::common::ast::{EntryExpr, Expr, IdedExpr};

/// The deepest nesting of per-element comprehension bodies in `expr` (0 without comprehensions).
pub(crate) fn comprehension_depth(expr: &IdedExpr) -> usize {
    depth(expr, 0)
}

fn depth(expr: &IdedExpr, current: usize) -> usize {
    match &expr.expr {
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => current,
        Expr::Select(select) => depth(&select.operand, current),
        Expr::Call(call) => call
            .target
            .iter()
            .map(|target| depth(target, current))
            .chain(call.args.iter().map(|arg| depth(arg, current)))
            .fold(current, usize::max),
        Expr::List(list) => list
            .elements
            .iter()
            .map(|e| depth(e, current))
            .fold(current, usize::max),
        Expr::Map(map) => entries_depth(map.entries.iter().map(|e| &e.expr), current),
        Expr::Struct(s) => entries_depth(s.entries.iter().map(|e| &e.expr), current),
        Expr::Comprehension(c) => {
            let inner = current + 1;
            [
                depth(&c.iter_range, current),
                depth(&c.accu_init, current),
                depth(&c.result, current),
                depth(&c.loop_cond, inner),
                depth(&c.loop_step, inner),
                inner,
            ]
            .into_iter()
            .fold(current, usize::max)
        }
    }
}

fn entries_depth<'a>(entries: impl Iterator<Item = &'a EntryExpr>, current: usize) -> usize {
    entries
        .map(|entry| match entry {
            EntryExpr::StructField(field) => depth(&field.value, current),
            EntryExpr::MapEntry(entry) => depth(&entry.key, current).max(depth(&entry.value, current)),
        })
        .fold(current, usize::max)
}
