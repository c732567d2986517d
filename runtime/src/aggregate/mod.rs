//! The pure core of the Aggregate kind: select resources, classify their states, apply the
//! strategy and evaluate the derived values. No Kubernetes I/O: the reconciler lists the CRs,
//! calls [`aggregate`] and writes the result into the status.
//!
//! Selection is the explicit [`AggregateSpec::resources`] plus every observed object matched by a
//! [`Selector`], deduplicated by `(kind, namespace, name)` and sorted by that key. A selector
//! looks in its own `namespace` when it names one, otherwise in the aggregate's namespace. An
//! explicit ref to a CR that does not exist becomes an entry in state [`MISSING_STATE`], counted
//! as pending, whose message names it.
//!
//! States `Synced`, `Observed`, `Queried` and `Completed` are synced; `Failed` and `NotFound` (the
//! backend object is gone) are failed; everything else, a missing `status.state` included, is
//! pending. The strategy decides [`AggregateState::Healthy`]; otherwise the aggregate is
//! `Degraded` when anything failed and `Pending` when not.
//!
//! Derived values see `resources` (the selected CR objects, missing refs as placeholders with
//! `status.state == "Missing"`), `summary` (`total`, `synced`, `failed`, `pending`) and one list
//! per kind under its lowercase plural (`pets`, `orders`, …), declared even when empty for every
//! kind in [`AggregateInput::plurals`]. `resources` and `summary` win over a plural of the same
//! name. Objects are bound without `metadata.managedFields`, and only the variables some
//! expression mentions are converted. Each value is evaluated on its own: an error lands in that
//! value's `error`. [`AggregateResult::requeue_for_time`] is set when an expression calls `now()`,
//! `timeSince()` or `timeUntil()`, so the reconciler can requeue instead of letting it go stale.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::cel::CelEngine;

pub mod reconcile;
mod types;

pub use types::{
    AggregateInput, AggregateResult, AggregateSpec, AggregateState, AggregateStatus, AggregationStrategy,
    ComputedValue, DerivedValue, Health, ResourceEntry, ResourceRef, Selector, Summary,
};

/// State given to an explicitly referenced resource that does not exist.
pub const MISSING_STATE: &str = "Missing";

/// States counted as synced (healthy).
pub const SYNCED_STATES: [&str; 4] = ["Synced", "Observed", "Queried", "Completed"];

/// States counted as failed.
pub const FAILED_STATES: [&str; 2] = ["Failed", "NotFound"];

/// Variable names the derived values always see; a kind plural with one of these names is not
/// bound.
pub const RESERVED_VARIABLES: [&str; 2] = ["resources", "summary"];

/// How many resource names a message lists before "and N more".
const MESSAGE_NAMES: usize = 3;

/// Classifies a `status.state` value.
pub fn classify(state: &str) -> Health {
    if SYNCED_STATES.contains(&state) {
        Health::Synced
    } else if FAILED_STATES.contains(&state) {
        Health::Failed
    } else {
        Health::Pending
    }
}

/// Checks what the schema cannot: at least one ref or selector, and unique derived-value names.
pub fn validate(spec: &AggregateSpec) -> Result<(), String> {
    if spec.resources.is_empty() && spec.selectors.is_empty() {
        return Err("spec needs at least one entry in resources or selectors".to_owned());
    }
    let mut names = BTreeSet::new();
    for value in &spec.derived_values {
        if !names.insert(value.name.as_str()) {
            return Err(format!("derived value {:?} is defined twice", value.name));
        }
    }
    Ok(())
}

/// A naive English plural of `kind`, lowercased: `Pet` → `pets`, `Policy` → `policies`,
/// `Address` → `addresses`. The generator passes exact plurals in [`AggregateInput::plurals`].
pub fn default_plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    let consonant_y = lower.ends_with('y')
        && !lower.ends_with("ay")
        && !lower.ends_with("ey")
        && !lower.ends_with("oy")
        && !lower.ends_with("uy");
    if consonant_y {
        format!("{}ies", &lower[..lower.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"].iter().any(|end| lower.ends_with(end)) {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// Whether `name` matches the glob `pattern` (`*` any run, `?` any one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, n));
                p += 1;
            }
            Some(c) if *c == '?' || *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    n = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Identity of a resource: `(kind, namespace, name)`, borrowed from the input.
type Key<'a> = (&'a str, &'a str, &'a str);

fn str_at<'v>(object: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(object, |v, field| v.get(field))?.as_str()
}

fn key_of(object: &Value) -> Option<Key<'_>> {
    Some((
        str_at(object, &["kind"])?,
        str_at(object, &["metadata", "namespace"]).unwrap_or_default(),
        str_at(object, &["metadata", "name"])?,
    ))
}

fn selector_matches(selector: &Selector, default_namespace: &str, key: &Key<'_>, object: &Value) -> bool {
    let (kind, namespace, name) = *key;
    selector.kind.as_deref().is_none_or(|k| k == kind)
        && selector.namespace.as_deref().unwrap_or(default_namespace) == namespace
        && selector
            .name_pattern
            .as_deref()
            .is_none_or(|p| glob_match(p, name))
        && selector.match_labels.as_ref().is_none_or(|labels| {
            let actual = object.get("metadata").and_then(|m| m.get("labels"));
            labels
                .iter()
                .all(|(k, v)| actual.and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str()))
        })
}

/// The selected objects by key; a missing explicit ref maps to `None`.
fn select<'a>(input: &AggregateInput<'a>) -> BTreeMap<Key<'a>, Option<&'a Value>> {
    let spec: &'a AggregateSpec = input.spec;
    let namespace: &'a str = input.namespace;
    let mut by_key: BTreeMap<Key<'a>, &'a Value> = BTreeMap::new();
    for object in input.observed {
        if let Some(key) = key_of(object) {
            by_key.entry(key).or_insert(object);
        }
    }
    let mut selected = BTreeMap::new();
    for r in &spec.resources {
        let key = (
            r.kind.as_str(),
            r.namespace.as_deref().unwrap_or(namespace),
            r.name.as_str(),
        );
        selected.insert(key, by_key.get(&key).copied());
    }
    if !spec.selectors.is_empty() {
        for (key, object) in &by_key {
            if spec
                .selectors
                .iter()
                .any(|s| selector_matches(s, namespace, key, object))
            {
                selected.insert(*key, Some(*object));
            }
        }
    }
    selected
}

/// What derived values see for an explicit ref whose CR does not exist.
fn placeholder(key: &Key<'_>) -> Value {
    let (kind, namespace, name) = *key;
    json!({
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "status": {"state": MISSING_STATE, "message": missing_message(key)},
    })
}

fn missing_message(key: &Key<'_>) -> String {
    let (kind, namespace, name) = *key;
    format!("{kind} {namespace}/{name} not found")
}

fn entry(key: &Key<'_>, object: Option<&Value>) -> ResourceEntry {
    let (kind, namespace, name) = (key.0.to_owned(), key.1.to_owned(), key.2.to_owned());
    let Some(object) = object else {
        return ResourceEntry {
            kind,
            namespace,
            name,
            state: MISSING_STATE.to_owned(),
            ready: false,
            external_id: None,
            message: Some(missing_message(key)),
        };
    };
    let state = str_at(object, &["status", "state"])
        .unwrap_or("Pending")
        .to_owned();
    ResourceEntry {
        kind,
        namespace,
        name,
        ready: classify(&state) == Health::Synced,
        state,
        external_id: str_at(object, &["status", "externalID"]).map(str::to_owned),
        message: str_at(object, &["status", "message"]).map(str::to_owned),
    }
}

/// Applies the strategy to the summary.
pub fn decide(strategy: AggregationStrategy, quorum: Option<u32>, summary: &Summary) -> AggregateState {
    let healthy = match strategy {
        AggregationStrategy::AllHealthy => summary.total > 0 && summary.synced == summary.total,
        AggregationStrategy::AnyHealthy => summary.synced >= 1,
        AggregationStrategy::Quorum => summary.synced >= quorum.unwrap_or(summary.total / 2 + 1).max(1),
    };
    if healthy {
        AggregateState::Healthy
    } else if summary.failed > 0 {
        AggregateState::Degraded
    } else {
        AggregateState::Pending
    }
}

fn name_list<'e>(entries: impl Iterator<Item = &'e ResourceEntry>) -> String {
    let names: Vec<String> = entries
        .map(|e| {
            let missing = if e.state == MISSING_STATE {
                " (not found)"
            } else {
                ""
            };
            format!("{} {}/{}{missing}", e.kind, e.namespace, e.name)
        })
        .collect();
    let shown = names
        .iter()
        .take(MESSAGE_NAMES)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match names.len().saturating_sub(MESSAGE_NAMES) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

fn message(state: AggregateState, summary: &Summary, entries: &[ResourceEntry]) -> String {
    let Summary {
        total,
        synced,
        failed,
        pending,
    } = *summary;
    if total == 0 {
        return "No resources selected".to_owned();
    }
    let counts = format!("{synced}/{total} synced, {failed} failed, {pending} pending");
    let of = |health: Health| entries.iter().filter(move |e| classify(&e.state) == health);
    match state {
        AggregateState::Healthy => counts,
        AggregateState::Degraded => format!("{counts}; failed: {}", name_list(of(Health::Failed))),
        AggregateState::Pending => format!("{counts}; waiting for: {}", name_list(of(Health::Pending))),
        AggregateState::Paused => format!("{counts}; paused"),
    }
}

/// Computes the status of an aggregate from the observed resources.
pub fn aggregate(engine: &CelEngine, input: &AggregateInput<'_>) -> AggregateResult {
    let selected = select(input);
    let resources: Vec<ResourceEntry> = selected.iter().map(|(key, object)| entry(key, *object)).collect();
    let mut summary = Summary::default();
    for e in &resources {
        summary.total += 1;
        match classify(&e.state) {
            Health::Synced => summary.synced += 1,
            Health::Failed => summary.failed += 1,
            Health::Pending => summary.pending += 1,
        }
    }
    let state = decide(input.spec.strategy, input.spec.quorum, &summary);
    let message = message(state, &summary, &resources);
    let (computed_values, requeue_for_time) = if input.spec.derived_values.is_empty() {
        (Vec::new(), false)
    } else {
        derive(engine, input, &selected, &summary)
    };
    AggregateResult {
        summary,
        resources,
        state,
        message,
        computed_values,
        requeue_for_time,
    }
}

/// Evaluates every derived value against the selection. Only the variables some program
/// mentions are converted.
fn derive<'a>(
    engine: &CelEngine,
    input: &AggregateInput<'a>,
    selected: &BTreeMap<Key<'a>, Option<&'a Value>>,
    summary: &Summary,
) -> (Vec<ComputedValue>, bool) {
    let programs: Vec<_> = input
        .spec
        .derived_values
        .iter()
        .map(|derived| engine.compile(&derived.expression))
        .collect();
    let requeue_for_time = programs.iter().flatten().any(|p| p.uses_time());
    let used = |name: &str| programs.iter().flatten().any(|p| p.references_variable(name));

    let placeholders: BTreeMap<Key<'a>, Value> = selected
        .iter()
        .filter(|(_, object)| object.is_none())
        .map(|(key, _)| (*key, placeholder(key)))
        .collect();
    let objects: Vec<(&str, &Value)> = selected
        .iter()
        .filter_map(|(key, object)| object.or_else(|| placeholders.get(key)).map(|o| (key.0, o)))
        .collect();
    let summary_json = json!(summary);
    let bound = engine.evaluation(input.now).and_then(|mut evaluation| {
        let mut per_kind: BTreeMap<String, Vec<&Value>> = input
            .plurals
            .values()
            .map(|plural| (plural.clone(), Vec::new()))
            .collect();
        for (kind, object) in &objects {
            let plural = input
                .plurals
                .get(*kind)
                .cloned()
                .unwrap_or_else(|| default_plural(kind));
            per_kind.entry(plural).or_default().push(object);
        }
        for (plural, items) in per_kind {
            if !RESERVED_VARIABLES.contains(&plural.as_str()) && used(&plural) {
                evaluation.bind_objects(&plural, items)?;
            }
        }
        if used("resources") {
            evaluation.bind_objects("resources", objects.iter().map(|(_, object)| *object))?;
        }
        if used("summary") {
            evaluation.bind_json("summary", &summary_json)?;
        }
        Ok(evaluation)
    });
    let values = input
        .spec
        .derived_values
        .iter()
        .zip(programs)
        .map(|(derived, program)| {
            let outcome = program.and_then(|program| match &bound {
                Ok(evaluation) => evaluation.evaluate(&program),
                Err(e) => Err(e.clone()),
            });
            match outcome {
                Ok(value) => ComputedValue {
                    name: derived.name.clone(),
                    value: Some(value),
                    error: None,
                },
                Err(e) => ComputedValue {
                    name: derived.name.clone(),
                    value: None,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect();
    (values, requeue_for_time)
}

#[cfg(test)]
mod tests;
