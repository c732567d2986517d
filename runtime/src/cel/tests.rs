//! Tests for the CEL engine: custom functions, macros, cache, limits, time handling.

use super::*;
use serde_json::{Value as Json, json};

fn now() -> jiff::Timestamp {
    "2026-11-23T12:00:00Z".parse().expect("timestamp")
}

fn eval(expr: &str) -> Result<Json, CelError> {
    CelEngine::new().expect("engine").evaluate(expr, &[], now())
}

fn eval_with(expr: &str, name: &str, value: &Json) -> Result<Json, CelError> {
    CelEngine::new()
        .expect("engine")
        .evaluate(expr, &[(name, value)], now())
}

fn eval_err(expr: &str) -> String {
    match eval(expr) {
        Err(CelError::Eval { message, .. }) => message,
        other => panic!("{expr}: expected an evaluation error, got {other:?}"),
    }
}

#[test]
fn engine_and_programs_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CelEngine>();
    assert_send_sync::<Arc<CompiledExpression>>();
}

#[test]
fn sum_of_ints_stays_int_and_mixed_becomes_double() {
    assert_eq!(eval("sum([1, 2, 3])").unwrap(), json!(6));
    assert_eq!(eval("sum([1, 2.5])").unwrap(), json!(3.5));
    assert_eq!(eval("sum([])").unwrap(), json!(0));
    assert_eq!(eval("sum([1u, 2])").unwrap(), json!(3));
    assert_eq!(eval("sum(1, 2, 3)").unwrap(), json!(6));
    assert!(eval_err("sum([9223372036854775807, 1])").contains("overflow"));
    assert!(eval_err("sum([1, 'a'])").contains("element 1 is a string"));
}

#[test]
fn avg_is_double_and_rejects_empty_lists() {
    assert_eq!(eval("avg([1, 2])").unwrap(), json!(1.5));
    assert_eq!(eval("avg([2, 4.0])").unwrap(), json!(3.0));
    assert!(eval_err("avg([])").contains("empty"));
}

#[test]
fn min_and_max_keep_the_element_type_and_compare_mixed_numbers() {
    assert_eq!(eval("min([3, 1, 2])").unwrap(), json!(1));
    assert_eq!(eval("max([3, 1, 2])").unwrap(), json!(3));
    assert_eq!(eval("max([1, 2.5, 2])").unwrap(), json!(2.5));
    assert_eq!(eval("min([1.5, 1, 2])").unwrap(), json!(1));
    assert_eq!(eval("max(4, 7)").unwrap(), json!(7));
    assert_eq!(eval("min([-1])").unwrap(), json!(-1));
    assert!(eval_err("min([])").contains("empty"));
    assert!(eval_err("max([])").contains("empty"));
    assert!(eval_err("max(['a'])").contains("not a number"));
}

#[test]
fn standard_macros_and_size() {
    let items = json!([{"n": 1, "tag": "a"}, {"n": 2}, {"n": 3, "tag": "b"}]);
    let cases = [
        ("items.all(i, i.n > 0)", json!(true)),
        ("items.exists(i, i.n == 2)", json!(true)),
        ("items.exists_one(i, i.n > 1)", json!(false)),
        ("items.map(i, i.n * 10)", json!([10, 20, 30])),
        ("items.filter(i, has(i.tag)).map(i, i.tag)", json!(["a", "b"])),
        ("size(items)", json!(3)),
        ("items.size()", json!(3)),
        ("has(items[0].tag) && !has(items[1].tag)", json!(true)),
    ];
    for (expr, expected) in cases {
        assert_eq!(eval_with(expr, "items", &items).unwrap(), expected, "{expr}");
    }
}

#[test]
fn strings_and_math_extensions() {
    assert_eq!(eval("'a-b-c'.split('-')").unwrap(), json!(["a", "b", "c"]));
    assert_eq!(eval("['x', 'y'].join(',')").unwrap(), json!("x,y"));
    assert_eq!(eval("'Pet'.upperAscii()").unwrap(), json!("PET"));
    assert_eq!(
        eval("'fluffy'.startsWith('fl') && 'abc'.matches('^a.c$')").unwrap(),
        json!(true)
    );
    assert_eq!(eval("math.greatest(1, 5, 3)").unwrap(), json!(5));
}

#[test]
fn time_functions_use_the_injected_now() {
    assert_eq!(eval("now()").unwrap(), json!("2026-11-23T12:00:00Z"));
    assert_eq!(eval("timeSince('2026-11-23T11:00:00Z')").unwrap(), json!("3600s"));
    assert_eq!(
        eval("durationSeconds(timeSince('2026-11-23T11:58:30Z'))").unwrap(),
        json!(90)
    );
    assert_eq!(
        eval("durationSeconds(timeUntil(timestamp('2026-11-23T12:00:10Z')))").unwrap(),
        json!(10)
    );
    assert_eq!(eval("timeSince(now()) == duration('0s')").unwrap(), json!(true));
    assert_eq!(
        eval("now() - timestamp('2026-11-22T12:00:00Z') > duration('23h')").unwrap(),
        json!(true)
    );
    // The same expression at another instant gives another value: nothing is cached but the
    // program.
    let engine = CelEngine::new().unwrap();
    let later: jiff::Timestamp = "2026-11-23T13:00:00Z".parse().unwrap();
    let expr = "durationSeconds(timeSince('2026-11-23T11:00:00Z'))";
    assert_eq!(engine.evaluate(expr, &[], now()).unwrap(), json!(3600));
    assert_eq!(engine.evaluate(expr, &[], later).unwrap(), json!(7200));
    assert_eq!(engine.compilations(), 1);
}

#[test]
fn add_parse_and_format_timestamps() {
    assert_eq!(
        eval("addDuration(now(), '1h30m')").unwrap(),
        json!("2026-11-23T13:30:00Z")
    );
    assert_eq!(
        eval("addDuration('2026-11-23T12:00:00Z', '-90s')").unwrap(),
        json!("2026-11-23T11:58:30Z")
    );
    assert_eq!(
        eval("addDuration(now(), duration('10m'))").unwrap(),
        json!("2026-11-23T12:10:00Z")
    );
    assert_eq!(
        eval("parseTimestamp('2026-01-02T03:04:05+01:00')").unwrap(),
        json!("2026-01-02T02:04:05Z")
    );
    assert_eq!(
        eval("parseTimestamp('2026-01-02 03:04', '%Y-%m-%d %H:%M')").unwrap(),
        json!("2026-01-02T03:04:00Z")
    );
    assert_eq!(
        eval("formatTimestamp(now())").unwrap(),
        json!("2026-11-23T12:00:00Z")
    );
    assert_eq!(
        eval("formatTimestamp(now(), '%Y/%m/%d %H')").unwrap(),
        json!("2026/11/23 12")
    );
    assert_eq!(eval("durationSeconds('2m')").unwrap(), json!(120));
    assert_eq!(eval("durationSeconds(duration('-1.5s'))").unwrap(), json!(-1));
    assert!(eval_err("parseTimestamp('yesterday')").contains("invalid RFC 3339"));
    assert!(eval_err("addDuration(now(), 'soon')").contains("invalid duration"));
    assert!(eval_err("timeSince(42)").contains("expects a timestamp"));
    assert!(eval_err("formatTimestamp(now(), '%Y %')").contains("invalid layout"));
}

#[test]
fn json_results_cover_every_shape() {
    assert_eq!(
        eval("{'b': 1, 'a': [true, null, 'x', 1.5]}").unwrap(),
        json!({"a": [true, null, "x", 1.5], "b": 1})
    );
    assert_eq!(eval("duration('1.5s')").unwrap(), json!("1.5s"));
    assert_eq!(eval("duration('-2s')").unwrap(), json!("-2s"));
    assert_eq!(eval("{1: 'one'}").unwrap(), json!({"1": "one"}));
    assert!(matches!(eval("0.0 / 0.0"), Err(CelError::Conversion { .. })));
}

#[test]
fn json_integers_are_cel_ints() {
    let summary = json!({"total": 8, "synced": 6});
    assert_eq!(
        eval_with("summary.synced * 100 / summary.total", "summary", &summary).unwrap(),
        json!(75)
    );
}

#[test]
fn deep_json_input_is_a_conversion_error() {
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    assert!(matches!(
        eval_with("x", "x", &deep),
        Err(CelError::Conversion { .. })
    ));
}

#[test]
fn compile_errors_are_typed() {
    let engine = CelEngine::new().unwrap();
    match engine.compile("1 +") {
        Err(CelError::Compile { expr, message }) => {
            assert_eq!(expr, "1 +");
            assert!(!message.is_empty());
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
    assert!(matches!(eval("nope.field"), Err(CelError::Eval { .. })));
    assert!(matches!(eval("1 + 'a'"), Err(CelError::Eval { .. })));
}

#[test]
fn cache_returns_the_same_program_and_compiles_once() {
    let engine = CelEngine::new().unwrap();
    let a = engine.compile("1 + 1").unwrap();
    let b = engine.compile("1 + 1").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(engine.compilations(), 1);
    engine.compile("2 + 2").unwrap();
    assert_eq!(engine.compilations(), 2);
    assert_eq!(engine.cached_programs(), 2);
    // Failures are not cached.
    assert!(engine.compile("(").is_err());
    assert!(engine.compile("(").is_err());
    assert_eq!(engine.compilations(), 4);
    assert_eq!(engine.cached_programs(), 2);
}

#[test]
fn cache_is_bounded_and_evicts_the_least_recently_used() {
    let engine = CelEngine::with_limits(CelLimits {
        max_cached_programs: 2,
        ..CelLimits::default()
    })
    .unwrap();
    let one = engine.compile("1").unwrap();
    engine.compile("2").unwrap();
    engine.compile("1").unwrap(); // "2" is now the least recently used
    engine.compile("3").unwrap();
    assert_eq!(engine.cached_programs(), 2);
    assert!(Arc::ptr_eq(&one, &engine.compile("1").unwrap()));
    assert_eq!(engine.compilations(), 3);
    engine.compile("2").unwrap();
    assert_eq!(engine.compilations(), 4);
}

#[test]
fn limits_reject_long_and_deeply_nested_expressions() {
    let engine = CelEngine::with_limits(CelLimits {
        max_expression_len: 20,
        ..CelLimits::default()
    })
    .unwrap();
    assert!(matches!(
        engine.compile("1 + 1 + 1 + 1 + 1 + 1 + 1"),
        Err(CelError::Compile { .. })
    ));
    let engine = CelEngine::new().unwrap();
    engine.compile("a.all(x, x.b.exists(y, y > 0))").unwrap();
    engine
        .compile("a.filter(x, x > 0).map(x, x * 2).exists(x, x > 3)")
        .unwrap();
    let err = engine
        .compile("a.all(x, a.all(y, a.all(z, x + y + z > 0)))")
        .unwrap_err();
    assert!(err.to_string().contains("nested 3 deep"), "{err}");
    assert_eq!(
        guard::comprehension_depth(engine.compile("1 + 2").unwrap().program.expression()),
        0
    );
}

#[test]
fn uses_time_detects_now_and_time_since() {
    assert!(uses_time("now()"));
    assert!(uses_time(
        "timeSince(resources[0].status.lastSyncTime) > duration('1h')"
    ));
    assert!(uses_time(
        "resources.exists(r, timeUntil(r.expires) < duration('1m'))"
    ));
    assert!(!uses_time("summary.synced * 100 / summary.total"));
    assert!(!uses_time("'now()'"));
    assert!(!uses_time("addDuration(x, '1h')"));
    assert!(!uses_time("now("));
    let engine = CelEngine::new().unwrap();
    assert!(engine.compile("formatTimestamp(now())").unwrap().uses_time());
    assert!(!engine.compile("size(resources)").unwrap().uses_time());
}

#[test]
fn one_evaluation_serves_several_programs() {
    let engine = CelEngine::new().unwrap();
    let (xs, name) = (json!([1, 2, 3]), json!("pets"));
    let mut evaluation = engine.evaluation(now()).unwrap();
    evaluation.bind_json("xs", &xs).unwrap();
    evaluation.bind_json("name", &name).unwrap();
    let total = engine.compile("sum(xs)").unwrap();
    let label = engine.compile("name + ':' + string(size(xs))").unwrap();
    assert_eq!(evaluation.evaluate(&total).unwrap(), json!(6));
    assert_eq!(evaluation.evaluate(&label).unwrap(), json!("pets:3"));
}

#[test]
fn panics_become_errors() {
    let caught = guarded(|| -> u8 { panic!("boom") });
    assert_eq!(caught, Err("the CEL interpreter panicked: boom".to_owned()));
    assert_eq!(guarded(|| 7), Ok(7));
}

#[test]
fn bind_objects_drops_managed_fields_only_under_metadata() {
    let engine = CelEngine::new().unwrap();
    let objects = [json!({
        "metadata": {"name": "a", "managedFields": [{"manager": "x"}]},
        "spec": {"managedFields": 1},
    })];
    let mut evaluation = engine.evaluation(now()).unwrap();
    evaluation.bind_objects("items", &objects).unwrap();
    let program = engine
        .compile("[has(items[0].metadata.managedFields), has(items[0].spec.managedFields), items[0].metadata.name]")
        .unwrap();
    assert_eq!(evaluation.evaluate(&program).unwrap(), json!([false, true, "a"]));
    assert!(program.references_variable("items"));
    assert!(!program.references_variable("other"));
}
