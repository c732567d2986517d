//! Aggregate benchmark: 1,000 resources of 3 kinds in mixed states, 3 derived values, programs
//! cached (warm), 100 iterations of the whole pure computation. Prints min/median/p95 in ms.
//!
//! Run with `cargo bench -p openapi-operator-runtime --bench aggregate`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use openapi_operator_runtime::aggregate::{AggregateInput, AggregateSpec, DerivedValue, Selector, aggregate};
use openapi_operator_runtime::cel::CelEngine;
use serde_json::{Value, json};

const RESOURCES: usize = 1_000;
const ITERATIONS: usize = 100;
const BUDGET_MS: f64 = 50.0;

fn resources() -> Vec<Value> {
    let kinds = ["Pet", "Order", "User"];
    let states = [
        "Synced", "Synced", "Synced", "Failed", "Pending", "Observed", "NotFound",
    ];
    (0..RESOURCES)
        .map(|i| {
            json!({
                "apiVersion": "petstore.example.com/v1alpha1",
                "kind": kinds[i % kinds.len()],
                "metadata": {
                    "name": format!("item-{i:04}"),
                    "namespace": "default",
                    "labels": {"app": "shop", "shard": format!("{}", i % 4)},
                    "annotations": {"example.com/owner": "team-a"},
                    "generation": 3,
                    "uid": format!("00000000-0000-0000-0000-{i:012}"),
                },
                "spec": {"name": format!("item {i}"), "tags": ["a", "b"], "price": i as f64 * 1.25},
                "status": {
                    "state": states[i % states.len()],
                    "externalID": format!("{i}"),
                    "message": "ok",
                    "score": (i % 97) as i64,
                    "lastSyncTime": "2026-11-23T11:00:00Z",
                },
            })
        })
        .collect()
}

fn derived(name: &str, expression: &str) -> DerivedValue {
    DerivedValue {
        name: name.to_owned(),
        expression: expression.to_owned(),
    }
}

fn main() {
    let observed = resources();
    let spec = AggregateSpec {
        selectors: vec![Selector {
            match_labels: Some([("app".to_owned(), "shop".to_owned())].into()),
            ..Selector::default()
        }],
        derived_values: vec![
            derived("healthPercent", "summary.synced * 100 / summary.total"),
            derived(
                "failedNames",
                "resources.filter(r, r.status.state == 'Failed').map(r, r.metadata.name)",
            ),
            derived(
                "avgScore",
                "avg(pets.map(p, p.status.score)) + double(sum(orders.map(o, o.status.score)))",
            ),
        ],
        ..AggregateSpec::default()
    };
    let plurals: BTreeMap<String, String> = [("Pet", "pets"), ("Order", "orders"), ("User", "users")]
        .into_iter()
        .map(|(k, p)| (k.to_owned(), p.to_owned()))
        .collect();
    let engine = CelEngine::new().expect("CEL engine");
    let input = AggregateInput {
        namespace: "default",
        spec: &spec,
        observed: &observed,
        plurals: &plurals,
        now: jiff::Timestamp::now(),
    };

    // Warm-up: compiles and caches the programs; check the result once.
    let warm = aggregate(&engine, &input);
    assert_eq!(warm.summary.total as usize, RESOURCES);
    for value in &warm.computed_values {
        assert!(value.error.is_none(), "{}: {:?}", value.name, value.error);
    }
    let compilations = engine.compilations();

    let mut samples: Vec<f64> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            black_box(aggregate(&engine, black_box(&input)));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    assert_eq!(
        engine.compilations(),
        compilations,
        "programs must come from the cache"
    );
    samples.sort_by(f64::total_cmp);
    let min = samples[0];
    let median = samples[ITERATIONS / 2];
    let p95 = samples[(ITERATIONS * 95).div_ceil(100) - 1];
    println!(
        "aggregate: {RESOURCES} resources, {} derived values, {ITERATIONS} iterations (warm cache, {compilations} compilations)",
        spec.derived_values.len()
    );
    println!("  min    {min:8.2} ms");
    println!("  median {median:8.2} ms");
    println!("  p95    {p95:8.2} ms");
    println!(
        "  median <= {BUDGET_MS} ms: {}",
        if median <= BUDGET_MS { "yes" } else { "NO" }
    );
    breakdown(&engine, &input);
    for value in &warm.computed_values {
        let shown = value.value.as_ref().map(|v| {
            let text = v.to_string();
            if text.len() > 60 {
                format!("{}…", &text[..60])
            } else {
                text
            }
        });
        println!("  {} = {}", value.name, shown.unwrap_or_default());
    }
}

/// Median milliseconds of `f` over 20 runs.
fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..20)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Where the time goes: selection alone, binding the variables, each program alone.
fn breakdown(engine: &CelEngine, input: &AggregateInput<'_>) {
    let bare = AggregateSpec {
        derived_values: Vec::new(),
        ..input.spec.clone()
    };
    let bare_input = AggregateInput {
        spec: &bare,
        ..*input
    };
    println!("  breakdown (medians):");
    println!(
        "    selection + summary   {:8.2} ms",
        median_ms(|| {
            black_box(aggregate(engine, &bare_input));
        })
    );
    println!(
        "    bind 1,000 objects    {:8.2} ms",
        median_ms(|| {
            let mut evaluation = engine.evaluation(input.now).expect("evaluation");
            evaluation
                .bind_objects("resources", input.observed)
                .expect("bind");
            black_box(evaluation);
        })
    );
    let summary = json!({"synced": 1, "total": 2});
    let mut evaluation = engine.evaluation(input.now).expect("evaluation");
    evaluation
        .bind_objects("resources", input.observed)
        .expect("bind");
    evaluation.bind_objects("pets", input.observed).expect("bind");
    evaluation.bind_objects("orders", input.observed).expect("bind");
    evaluation.bind_json("summary", &summary).expect("bind");
    for derived in &input.spec.derived_values {
        let program = engine.compile(&derived.expression).expect("compile");
        println!(
            "    {:<21} {:8.2} ms",
            derived.name,
            median_ms(|| {
                black_box(evaluation.evaluate(&program).expect("evaluate"));
            })
        );
    }
}
