//! Tests for aggregate selection, classification, strategies and derived values.

use super::*;
use serde_json::json;

const NS: &str = "default";

fn now() -> jiff::Timestamp {
    "2026-11-23T12:00:00Z".parse().expect("timestamp")
}

fn object(kind: &str, namespace: &str, name: &str, state: Option<&str>) -> Value {
    let mut o = json!({
        "apiVersion": "petstore.example.com/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": "shop"}},
        "spec": {},
    });
    if let Some(state) = state {
        o["status"] = json!({"state": state, "message": format!("{name} is {state}")});
    }
    o
}

fn plurals() -> BTreeMap<String, String> {
    [("Pet", "pets"), ("Order", "orders"), ("User", "users")]
        .into_iter()
        .map(|(k, p)| (k.to_owned(), p.to_owned()))
        .collect()
}

fn run(spec: &AggregateSpec, observed: &[Value]) -> AggregateResult {
    let engine = CelEngine::new().expect("engine");
    let plurals = plurals();
    aggregate(
        &engine,
        &AggregateInput {
            namespace: NS,
            spec,
            observed,
            plurals: &plurals,
            now: now(),
        },
    )
}

fn selector(kind: Option<&str>) -> Selector {
    Selector {
        kind: kind.map(str::to_owned),
        ..Selector::default()
    }
}

fn reference(kind: &str, name: &str) -> ResourceRef {
    ResourceRef {
        kind: kind.to_owned(),
        name: name.to_owned(),
        namespace: None,
    }
}

fn names(result: &AggregateResult) -> Vec<String> {
    result
        .resources
        .iter()
        .map(|e| format!("{}/{}/{}", e.kind, e.namespace, e.name))
        .collect()
}

fn derived(name: &str, expression: &str) -> DerivedValue {
    DerivedValue {
        name: name.to_owned(),
        expression: expression.to_owned(),
    }
}

fn summary(total: u32, synced: u32, failed: u32) -> Summary {
    Summary {
        total,
        synced,
        failed,
        pending: total - synced - failed,
    }
}

#[test]
fn classification_of_states() {
    for s in ["Synced", "Observed", "Queried", "Completed"] {
        assert_eq!(classify(s), Health::Synced, "{s}");
    }
    for s in ["Failed", "NotFound"] {
        assert_eq!(classify(s), Health::Failed, "{s}");
    }
    for s in ["Pending", "Syncing", "Executing", "Paused", MISSING_STATE, ""] {
        assert_eq!(classify(s), Health::Pending, "{s}");
    }
}

#[test]
fn refs_and_selectors_are_merged_deduplicated_and_sorted() {
    let observed = vec![
        object("Pet", NS, "rex", Some("Synced")),
        object("Order", NS, "o-1", Some("Synced")),
        object("Pet", NS, "fluffy", Some("Failed")),
        object("Pet", NS, "fluffy", Some("Synced")), // a duplicate in the input: first wins
        object("User", NS, "ann", None),
    ];
    let spec = AggregateSpec {
        resources: vec![reference("Pet", "fluffy"), reference("Order", "o-1")],
        selectors: vec![selector(Some("Pet")), selector(Some("Order"))],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &observed);
    assert_eq!(
        names(&result),
        ["Order/default/o-1", "Pet/default/fluffy", "Pet/default/rex"]
    );
    assert_eq!(result.summary, summary(3, 2, 1));
    assert_eq!(result.resources[1].state, "Failed");
    assert_eq!(result.resources[1].message.as_deref(), Some("fluffy is Failed"));
    // The same input in another order gives the same result.
    let mut reversed = observed.clone();
    reversed.reverse();
    reversed.retain(|o| o["status"]["state"] != "Synced" || o["metadata"]["name"] != "fluffy");
    assert_eq!(run(&spec, &reversed), result);
}

#[test]
fn name_pattern_glob_and_labels() {
    let mut tagged = object("Pet", NS, "dog-1", Some("Synced"));
    tagged["metadata"]["labels"]["tier"] = json!("gold");
    let observed = vec![
        tagged,
        object("Pet", NS, "dog-2", Some("Synced")),
        object("Pet", NS, "cat-1", Some("Synced")),
        object("Order", NS, "dog-order", Some("Synced")),
    ];
    let by_pattern = |pattern: &str| {
        let spec = AggregateSpec {
            selectors: vec![Selector {
                name_pattern: Some(pattern.to_owned()),
                ..selector(Some("Pet"))
            }],
            ..AggregateSpec::default()
        };
        names(&run(&spec, &observed))
    };
    assert_eq!(by_pattern("dog-*"), ["Pet/default/dog-1", "Pet/default/dog-2"]);
    assert_eq!(by_pattern("???-1"), ["Pet/default/cat-1", "Pet/default/dog-1"]);
    assert_eq!(
        by_pattern("*"),
        ["Pet/default/cat-1", "Pet/default/dog-1", "Pet/default/dog-2"]
    );
    assert!(by_pattern("dog").is_empty());

    let spec = AggregateSpec {
        selectors: vec![Selector {
            match_labels: Some(
                [
                    ("app".to_owned(), "shop".to_owned()),
                    ("tier".to_owned(), "gold".to_owned()),
                ]
                .into(),
            ),
            ..selector(None)
        }],
        ..AggregateSpec::default()
    };
    assert_eq!(names(&run(&spec, &observed)), ["Pet/default/dog-1"]);
    // A kind-less selector spans kinds.
    let spec = AggregateSpec {
        selectors: vec![Selector {
            name_pattern: Some("dog*".to_owned()),
            ..selector(None)
        }],
        ..AggregateSpec::default()
    };
    assert_eq!(
        names(&run(&spec, &observed)),
        [
            "Order/default/dog-order",
            "Pet/default/dog-1",
            "Pet/default/dog-2"
        ]
    );
}

#[test]
fn glob_edge_cases() {
    assert!(glob_match("", ""));
    assert!(!glob_match("", "a"));
    assert!(glob_match("**", ""));
    assert!(glob_match("a*b*c", "aXXbYYc"));
    assert!(!glob_match("a*b*c", "aXXbYY"));
    assert!(glob_match("*-prod", "api-prod"));
    assert!(glob_match("ü?", "üx"));
    assert!(!glob_match("a.c", "abc"));
}

#[test]
fn namespace_scoping() {
    let observed = vec![
        object("Pet", NS, "here", Some("Synced")),
        object("Pet", "other", "there", Some("Synced")),
    ];
    let spec = AggregateSpec {
        selectors: vec![selector(Some("Pet"))],
        ..AggregateSpec::default()
    };
    assert_eq!(names(&run(&spec, &observed)), ["Pet/default/here"]);
    let spec = AggregateSpec {
        selectors: vec![Selector {
            namespace: Some("other".to_owned()),
            ..selector(Some("Pet"))
        }],
        ..AggregateSpec::default()
    };
    assert_eq!(names(&run(&spec, &observed)), ["Pet/other/there"]);
    let spec = AggregateSpec {
        resources: vec![ResourceRef {
            namespace: Some("other".to_owned()),
            ..reference("Pet", "there")
        }],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &observed);
    assert_eq!(names(&result), ["Pet/other/there"]);
    assert_eq!(result.state, AggregateState::Healthy);
}

#[test]
fn missing_explicit_ref_is_pending_with_a_message() {
    let observed = vec![object("Pet", NS, "rex", Some("Synced"))];
    let spec = AggregateSpec {
        resources: vec![reference("Pet", "rex"), reference("Pet", "ghost")],
        derived_values: vec![derived("states", "resources.map(r, r.status.state)")],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &observed);
    assert_eq!(result.summary, summary(2, 1, 0));
    let ghost = &result.resources[0];
    assert_eq!(ghost.name, "ghost");
    assert_eq!(ghost.state, MISSING_STATE);
    assert!(!ghost.ready);
    assert_eq!(ghost.message.as_deref(), Some("Pet default/ghost not found"));
    assert_eq!(result.state, AggregateState::Pending);
    assert!(
        result.message.contains("Pet default/ghost (not found)"),
        "{}",
        result.message
    );
    assert_eq!(
        result.computed_values[0].value,
        Some(json!(["Missing", "Synced"]))
    );
}

#[test]
fn strategies_and_boundaries() {
    use AggregateState::{Degraded, Healthy, Pending};
    use AggregationStrategy::{AllHealthy, AnyHealthy, Quorum};
    let cases = [
        (AllHealthy, None, summary(0, 0, 0), Pending),
        (AllHealthy, None, summary(3, 3, 0), Healthy),
        (AllHealthy, None, summary(3, 2, 0), Pending),
        (AllHealthy, None, summary(3, 2, 1), Degraded),
        (AnyHealthy, None, summary(0, 0, 0), Pending),
        (AnyHealthy, None, summary(3, 1, 2), Healthy),
        (AnyHealthy, None, summary(3, 0, 1), Degraded),
        (AnyHealthy, None, summary(3, 0, 0), Pending),
        (Quorum, None, summary(0, 0, 0), Pending),
        (Quorum, None, summary(4, 2, 0), Pending), // majority of 4 is 3
        (Quorum, None, summary(4, 3, 1), Healthy),
        (Quorum, None, summary(4, 2, 2), Degraded),
        (Quorum, None, summary(5, 3, 2), Healthy),
        (Quorum, None, summary(1, 1, 0), Healthy),
        (Quorum, Some(2), summary(4, 2, 2), Healthy),
        (Quorum, Some(2), summary(4, 1, 0), Pending),
        (Quorum, Some(5), summary(4, 4, 0), Pending), // unreachable quorum
        (Quorum, Some(0), summary(0, 0, 0), Pending), // a quorum is at least 1
    ];
    for (strategy, quorum, s, expected) in cases {
        assert_eq!(
            decide(strategy, quorum, &s),
            expected,
            "{strategy:?} {quorum:?} {s:?}"
        );
    }
}

#[test]
fn zero_resources() {
    let spec = AggregateSpec {
        selectors: vec![selector(Some("Pet"))],
        derived_values: vec![derived("n", "size(pets) + size(orders)")],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &[]);
    assert_eq!(result.summary, Summary::default());
    assert_eq!(result.state, AggregateState::Pending);
    assert_eq!(result.message, "No resources selected");
    // Every known kind's list is declared, even when empty.
    assert_eq!(result.computed_values[0].value, Some(json!(0)));
}

#[test]
fn example_expressions_give_the_expected_values() {
    let mut observed = Vec::new();
    for (i, state) in [
        "Synced", "Failed", "Synced", "Pending", "Failed", "Synced", "Synced", "Synced",
    ]
    .iter()
    .enumerate()
    {
        let mut o = object("Pet", NS, &format!("pet-{i}"), Some(state));
        o["status"]["weight"] = if i % 2 == 0 {
            json!(i)
        } else {
            json!(i as f64 + 0.5)
        };
        observed.push(o);
    }
    let spec = AggregateSpec {
        selectors: vec![selector(Some("Pet"))],
        derived_values: vec![
            derived("healthPercent", "summary.synced * 100 / summary.total"),
            derived(
                "failedNames",
                "resources.filter(r, r.status.state == 'Failed').map(r, r.metadata.name)",
            ),
            derived("totalWeight", "sum(pets.map(p, p.status.weight))"),
            derived("avgWeight", "avg(pets.map(p, p.status.weight))"),
        ],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &observed);
    let values: BTreeMap<&str, Option<&Value>> = result
        .computed_values
        .iter()
        .map(|c| (c.name.as_str(), c.value.as_ref()))
        .collect();
    assert_eq!(values["healthPercent"], Some(&json!(62))); // 5 * 100 / 8, integer division
    assert_eq!(values["failedNames"], Some(&json!(["pet-1", "pet-4"])));
    // 0 + 1.5 + 2 + 3.5 + 4 + 5.5 + 6 + 7.5 = 30
    assert_eq!(values["totalWeight"], Some(&json!(30.0)));
    assert_eq!(values["avgWeight"], Some(&json!(3.75)));
    assert!(result.computed_values.iter().all(|c| c.error.is_none()));
    assert!(!result.requeue_for_time);
    assert_eq!(result.state, AggregateState::Degraded);
    assert_eq!(
        result.message,
        "5/8 synced, 2 failed, 1 pending; failed: Pet default/pet-1, Pet default/pet-4"
    );
}

#[test]
fn an_invalid_expression_fails_alone() {
    let observed = vec![object("Pet", NS, "rex", Some("Synced"))];
    let spec = AggregateSpec {
        resources: vec![reference("Pet", "rex")],
        derived_values: vec![
            derived("broken", "resources.filter(r,"),
            derived("unknown", "nosuchvar + 1"),
            derived("count", "size(resources)"),
            derived("emptyAvg", "avg(orders.map(o, 1))"),
        ],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &observed);
    let [broken, unknown, count, empty_avg] = result.computed_values.as_slice() else {
        panic!("four values expected: {:?}", result.computed_values);
    };
    assert!(broken.value.is_none());
    assert!(
        broken
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("invalid CEL expression")
    );
    assert!(unknown.error.as_deref().unwrap_or_default().contains("nosuchvar"));
    assert_eq!(count.value, Some(json!(1)));
    assert_eq!(count.error, None);
    assert!(empty_avg.error.as_deref().unwrap_or_default().contains("empty"));
    assert_eq!(result.state, AggregateState::Healthy);
}

#[test]
fn time_based_values_request_a_requeue_and_use_injected_now() {
    let mut pet = object("Pet", NS, "rex", Some("Synced"));
    pet["status"]["lastSyncTime"] = json!("2026-11-23T11:00:00Z");
    let spec = AggregateSpec {
        resources: vec![reference("Pet", "rex")],
        derived_values: vec![
            derived(
                "ageSeconds",
                "durationSeconds(timeSince(pets[0].status.lastSyncTime))",
            ),
            derived("count", "size(pets)"),
        ],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &[pet]);
    assert!(result.requeue_for_time);
    assert_eq!(result.computed_values[0].value, Some(json!(3600)));
    let spec = AggregateSpec {
        derived_values: vec![derived("count", "size(pets)")],
        ..spec
    };
    assert!(!run(&spec, &[]).requeue_for_time);
}

#[test]
fn per_kind_lists_managed_fields_and_reserved_names() {
    let mut pet = object("Pet", NS, "rex", Some("Synced"));
    pet["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
    let observed = vec![
        pet,
        object("Order", NS, "o-1", Some("Synced")),
        object("Policy", NS, "p-1", Some("Synced")),
        object("Resource", NS, "r-1", Some("Synced")),
    ];
    let spec = AggregateSpec {
        selectors: vec![selector(None)],
        derived_values: vec![
            derived("kinds", "[size(pets), size(orders), size(users), size(policies)]"),
            derived("managed", "has(pets[0].metadata.managedFields)"),
            derived("all", "size(resources)"),
        ],
        ..AggregateSpec::default()
    };
    let result = run(&spec, &observed);
    let values: Vec<_> = result.computed_values.iter().map(|c| c.value.clone()).collect();
    assert_eq!(
        values,
        [Some(json!([1, 1, 0, 1])), Some(json!(false)), Some(json!(4))]
    );
}

#[test]
fn exact_plurals_from_the_generator_win() {
    let engine = CelEngine::new().unwrap();
    let observed = vec![object("Person", NS, "ann", Some("Synced"))];
    let spec = AggregateSpec {
        selectors: vec![selector(None)],
        derived_values: vec![derived("people", "people.map(p, p.metadata.name)")],
        ..AggregateSpec::default()
    };
    let plurals: BTreeMap<String, String> = [("Person".to_owned(), "people".to_owned())].into();
    let input = AggregateInput {
        namespace: NS,
        spec: &spec,
        observed: &observed,
        plurals: &plurals,
        now: now(),
    };
    let result = aggregate(&engine, &input);
    assert_eq!(result.computed_values[0].value, Some(json!(["ann"])));
}

#[test]
fn default_plurals() {
    assert_eq!(default_plural("Pet"), "pets");
    assert_eq!(default_plural("Policy"), "policies");
    assert_eq!(default_plural("Gateway"), "gateways");
    assert_eq!(default_plural("Address"), "addresses");
    assert_eq!(default_plural("Box"), "boxes");
    assert_eq!(default_plural("PetFindByStatusQuery"), "petfindbystatusqueries");
}

#[test]
fn validation() {
    assert!(validate(&AggregateSpec::default()).is_err());
    let spec = AggregateSpec {
        resources: vec![reference("Pet", "rex")],
        derived_values: vec![derived("a", "1"), derived("a", "2")],
        ..AggregateSpec::default()
    };
    assert!(validate(&spec).unwrap_err().contains("twice"));
    assert!(
        validate(&AggregateSpec {
            derived_values: vec![],
            ..spec
        })
        .is_ok()
    );
}

#[test]
fn spec_serde_accepts_upstream_names_and_round_trips() {
    let spec: AggregateSpec = serde_json::from_value(json!({
        "resources": [{"kind": "Pet", "name": "rex"}],
        "resourceSelectors": [{"kind": "Order", "matchLabels": {"app": "shop"}, "namePattern": "o-*"}],
        "aggregationStrategy": "Quorum",
        "quorum": 2,
        "derivedValues": [{"name": "n", "expression": "size(resources)"}],
    }))
    .unwrap();
    assert_eq!(spec.strategy, AggregationStrategy::Quorum);
    assert_eq!(spec.selectors[0].name_pattern.as_deref(), Some("o-*"));
    let back: AggregateSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
    let schema = serde_json::to_value(schemars::schema_for!(AggregateSpec)).unwrap();
    let text = schema.to_string();
    assert!(text.contains("^[a-zA-Z][a-zA-Z0-9_]*$"), "{text}");
}
