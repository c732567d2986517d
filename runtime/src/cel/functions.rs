//! The custom CEL functions: numeric aggregates over lists and date-time helpers.
//!
//! | Function | Returns | Notes |
//! |---|---|---|
//! | `sum(list)` | int, or double if any element is a double | `sum([])` is `0`; int overflow is an error |
//! | `avg(list)` | double | empty list is an error |
//! | `min(list)`, `max(list)` | the element (int or double) | empty list is an error |
//! | `now()` | timestamp | the evaluation's `now`, injected by the caller |
//! | `timeSince(ts)`, `timeUntil(ts)` | duration | `ts` is a timestamp or an RFC 3339 string |
//! | `addDuration(ts, dur)` | timestamp | `dur` is a duration or a string (`"1h30m"`, `"-90s"`) |
//! | `parseTimestamp(s)`, `parseTimestamp(s, layout)` | timestamp | RFC 3339, or a strftime layout |
//! | `formatTimestamp(ts)`, `formatTimestamp(ts, layout)` | string | RFC 3339 UTC, or a strftime layout |
//! | `durationSeconds(dur)` | int | whole seconds, truncated toward zero |
//!
//! The aggregates also accept their numbers as separate arguments (`max(a, b)`). A non-numeric
//! element is an error, never silently skipped. `uint` elements count as numbers.

use std::sync::Arc;

use cel::extractors::Arguments;
use cel::{Context, ExecutionError, FunctionContext, Value};

use super::convert::{duration_from_chrono, duration_to_chrono, timestamp_from_chrono, timestamp_to_chrono};

type Result<T> = std::result::Result<T, ExecutionError>;

/// The names of the functions whose value depends on the current time.
pub const TIME_FUNCTIONS: [&str; 3] = ["now", "timeSince", "timeUntil"];

/// Registers every custom function on `context`, with `now` as the current time.
pub(crate) fn register(
    context: &mut Context<'_, '_>,
    now: jiff::Timestamp,
) -> std::result::Result<(), String> {
    let now_value = timestamp_to_chrono(now).map_err(|e| e.to_string())?;
    context.add_function("sum", sum).map_err(declaration)?;
    context.add_function("avg", avg).map_err(declaration)?;
    context.add_function("min", min).map_err(declaration)?;
    context.add_function("max", max).map_err(declaration)?;
    context
        .add_function("now", move || Value::Timestamp(now_value))
        .map_err(declaration)?;
    context
        .add_function("timeSince", move |ftx: &FunctionContext<'_, '_>, ts: Value| {
            let ts = timestamp_arg(ftx, &ts)?;
            duration_value(ftx, now.duration_since(ts))
        })
        .map_err(declaration)?;
    context
        .add_function("timeUntil", move |ftx: &FunctionContext<'_, '_>, ts: Value| {
            let ts = timestamp_arg(ftx, &ts)?;
            duration_value(ftx, ts.duration_since(now))
        })
        .map_err(declaration)?;
    context
        .add_function("addDuration", add_duration)
        .map_err(declaration)?;
    context
        .add_function("parseTimestamp", parse_timestamp)
        .map_err(declaration)?;
    context
        .add_function("formatTimestamp", format_timestamp)
        .map_err(declaration)?;
    context
        .add_function("durationSeconds", duration_seconds)
        .map_err(declaration)?;
    Ok(())
}

fn declaration(e: cel::DeclarationError) -> String {
    e.to_string()
}

/// A number taken from a list element, kept exact while it is an integer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Number {
    Int(i64),
    Double(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Double(d) => d,
        }
    }

    fn into_value(self) -> Value {
        match self {
            Number::Int(i) => Value::Int(i),
            Number::Double(d) => Value::Float(d),
        }
    }
}

/// The numbers `sum(list)` or `sum(a, b, …)` was called with.
fn numbers(ftx: &FunctionContext<'_, '_>, args: &Arc<Vec<Value>>) -> Result<Vec<Number>> {
    let items: &[Value] = match args.as_slice() {
        [Value::List(list)] => list.as_slice(),
        [] => return Err(ftx.error("expects a list of numbers")),
        all => all,
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Int(i) => Ok(Number::Int(*i)),
            Value::UInt(u) => Ok(i64::try_from(*u).map_or(Number::Double(*u as f64), Number::Int)),
            Value::Float(d) => Ok(Number::Double(*d)),
            other => Err(ftx.error(format!("element {index} is a {}, not a number", other.type_of()))),
        })
        .collect()
}

fn sum(ftx: &FunctionContext<'_, '_>, Arguments(args): Arguments) -> Result<Value> {
    let mut total = Number::Int(0);
    for n in numbers(ftx, &args)? {
        total = match (total, n) {
            (Number::Int(a), Number::Int(b)) => {
                Number::Int(a.checked_add(b).ok_or_else(|| ftx.error("integer overflow"))?)
            }
            (a, b) => Number::Double(a.as_f64() + b.as_f64()),
        };
    }
    Ok(total.into_value())
}

fn avg(ftx: &FunctionContext<'_, '_>, Arguments(args): Arguments) -> Result<Value> {
    let numbers = numbers(ftx, &args)?;
    if numbers.is_empty() {
        return Err(ftx.error("average of an empty list"));
    }
    let total: f64 = numbers.iter().map(|n| n.as_f64()).sum();
    Ok(Value::Float(total / numbers.len() as f64))
}

fn extreme(ftx: &FunctionContext<'_, '_>, args: &Arc<Vec<Value>>, want_greater: bool) -> Result<Value> {
    let numbers = numbers(ftx, args)?;
    let mut best = *numbers
        .first()
        .ok_or_else(|| ftx.error("empty list has no minimum or maximum"))?;
    for n in numbers.into_iter().skip(1) {
        let greater = match (n, best) {
            (Number::Int(a), Number::Int(b)) => a > b,
            (a, b) => a.as_f64() > b.as_f64(),
        };
        let less = match (n, best) {
            (Number::Int(a), Number::Int(b)) => a < b,
            (a, b) => a.as_f64() < b.as_f64(),
        };
        if (want_greater && greater) || (!want_greater && less) {
            best = n;
        }
    }
    Ok(best.into_value())
}

fn min(ftx: &FunctionContext<'_, '_>, Arguments(args): Arguments) -> Result<Value> {
    extreme(ftx, &args, false)
}

fn max(ftx: &FunctionContext<'_, '_>, Arguments(args): Arguments) -> Result<Value> {
    extreme(ftx, &args, true)
}

/// A timestamp argument: a CEL timestamp or an RFC 3339 string.
fn timestamp_arg(ftx: &FunctionContext<'_, '_>, value: &Value) -> Result<jiff::Timestamp> {
    match value {
        Value::Timestamp(ts) => timestamp_from_chrono(ts).map_err(|e| ftx.error(e)),
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .map_err(|e| ftx.error(format!("invalid RFC 3339 timestamp {s:?}: {e}"))),
        other => Err(ftx.error(format!(
            "expects a timestamp or a string, got {}",
            other.type_of()
        ))),
    }
}

/// A duration argument: a CEL duration or a string such as `"1h30m"`, `"-90s"` or `"PT1H"`.
fn duration_arg(ftx: &FunctionContext<'_, '_>, value: &Value) -> Result<jiff::SignedDuration> {
    match value {
        Value::Duration(d) => Ok(duration_from_chrono(d)),
        Value::String(s) => s
            .parse::<jiff::SignedDuration>()
            .map_err(|e| ftx.error(format!("invalid duration {s:?}: {e}"))),
        other => Err(ftx.error(format!("expects a duration or a string, got {}", other.type_of()))),
    }
}

fn duration_value(ftx: &FunctionContext<'_, '_>, d: jiff::SignedDuration) -> Result<Value> {
    duration_to_chrono(d)
        .map(Value::Duration)
        .map_err(|e| ftx.error(e))
}

fn timestamp_value(ftx: &FunctionContext<'_, '_>, ts: jiff::Timestamp) -> Result<Value> {
    timestamp_to_chrono(ts)
        .map(Value::Timestamp)
        .map_err(|e| ftx.error(e))
}

fn add_duration(ftx: &FunctionContext<'_, '_>, ts: Value, dur: Value) -> Result<Value> {
    let ts = timestamp_arg(ftx, &ts)?;
    let dur = duration_arg(ftx, &dur)?;
    let sum = ts.checked_add(dur).map_err(|e| ftx.error(e))?;
    timestamp_value(ftx, sum)
}

fn string_arg<'a>(ftx: &FunctionContext<'_, '_>, value: &'a Value, what: &str) -> Result<&'a str> {
    match value {
        Value::String(s) => Ok(s.as_str()),
        other => Err(ftx.error(format!("{what} must be a string, got {}", other.type_of()))),
    }
}

fn parse_timestamp(ftx: &FunctionContext<'_, '_>, Arguments(args): Arguments) -> Result<Value> {
    let ts = match args.as_slice() {
        [input] => timestamp_arg(
            ftx,
            &Value::String(Arc::new(string_arg(ftx, input, "input")?.into())),
        )?,
        [input, layout] => {
            let input = string_arg(ftx, input, "input")?;
            let layout = string_arg(ftx, layout, "layout")?;
            let parsed = jiff::fmt::strtime::parse(layout, input)
                .map_err(|e| ftx.error(format!("{input:?} does not match {layout:?}: {e}")))?;
            // A layout without an offset is read as UTC.
            match parsed.to_timestamp() {
                Ok(ts) => ts,
                Err(_) => parsed
                    .to_datetime()
                    .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC))
                    .map(|zoned| zoned.timestamp())
                    .map_err(|e| ftx.error(format!("{input:?} is not a full date-time: {e}")))?,
            }
        }
        _ => return Err(ftx.error("expects (string) or (string, layout)")),
    };
    timestamp_value(ftx, ts)
}

fn format_timestamp(ftx: &FunctionContext<'_, '_>, Arguments(args): Arguments) -> Result<Value> {
    let formatted = match args.as_slice() {
        [ts] => timestamp_arg(ftx, ts)?.to_string(),
        [ts, layout] => {
            let ts = timestamp_arg(ftx, ts)?;
            let layout = string_arg(ftx, layout, "layout")?;
            jiff::fmt::strtime::format(layout, &ts.to_zoned(jiff::tz::TimeZone::UTC))
                .map_err(|e| ftx.error(format!("invalid layout {layout:?}: {e}")))?
        }
        _ => return Err(ftx.error("expects (timestamp) or (timestamp, layout)")),
    };
    Ok(Value::String(Arc::new(formatted)))
}

fn duration_seconds(ftx: &FunctionContext<'_, '_>, dur: Value) -> Result<Value> {
    Ok(Value::Int(duration_arg(ftx, &dur)?.as_secs()))
}
