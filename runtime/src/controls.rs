//! Operator controls every generated Resource spec carries next to the API's own fields (flattened).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Fields that steer the operator rather than describe the backend object. Flattened into every
/// Resource spec with `#[serde(flatten)]`; never sent to the backend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceControls {
    /// Which backend instance this object lives in. Unset fields fall back to the operator's
    /// `--base-url` / `REST_API_BASE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSpec>,
    /// How often the backend object is re-read and drift corrected, as a duration such as `30s`,
    /// `5m` or `1h30m`. Default `30s`; `0` disables periodic re-sync (changes to the CR still sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_interval: Option<String>,
}

/// Selects the backend instance a CR is synced with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetSpec {
    /// Base URL of the backend API for this object, e.g. `http://petstore.default.svc:8080/api/v3`.
    /// Overrides the operator-wide base URL.
    #[serde(rename = "baseURL", default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

/// Periodic re-sync interval when `spec.executionInterval` is unset.
pub const DEFAULT_EXECUTION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

impl ResourceControls {
    /// The periodic re-sync interval: `None` for `0` (no periodic re-sync), the default when unset.
    ///
    /// # Errors
    ///
    /// [`crate::error::Error::BadSpec`] naming `spec.executionInterval` when the value does not parse.
    pub fn interval(&self) -> crate::error::Result<Option<std::time::Duration>> {
        match self.execution_interval.as_deref().map(str::trim) {
            None | Some("") => Ok(Some(DEFAULT_EXECUTION_INTERVAL)),
            Some(text) => match parse_duration(text) {
                Ok(d) if d.is_zero() => Ok(None),
                Ok(d) => Ok(Some(d)),
                Err(reason) => Err(crate::error::Error::bad_spec("spec.executionInterval", reason)),
            },
        }
    }
}

/// Parses a Go-style duration: `0`, or one or more `<decimal><unit>` terms with units `ns`, `us`
/// (`µs`), `ms`, `s`, `m`, `h` (`30s`, `5m`, `1h30m`, `1.5s`). Negative durations are rejected.
///
/// # Errors
///
/// A message describing why `text` is not a duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || format!("invalid duration {text:?}: expected e.g. \"30s\", \"5m\", \"1h30m\" or \"0\"");
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total += value * seconds_per_unit;
    }
    std::time::Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn go_style_durations_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "abc", "30", "5x", "-5s", "1..5s", "s", "1h 30m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn interval_defaults_disables_and_names_the_field() {
        let with = |v: Option<&str>| ResourceControls {
            target: None,
            execution_interval: v.map(str::to_owned),
        };
        assert_eq!(with(None).interval().unwrap(), Some(DEFAULT_EXECUTION_INTERVAL));
        assert_eq!(with(Some("0")).interval().unwrap(), None);
        assert_eq!(
            with(Some("2m")).interval().unwrap(),
            Some(Duration::from_secs(120))
        );
        let err = with(Some("soon")).interval().unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("spec.executionInterval"), "{err}");
    }
}
