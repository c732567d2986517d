//! Fan-out bookkeeping: one `status.responses` entry per endpoint, the success rule, and one phase summarising every endpoint.
//!
//! Pure helpers shared by the reconcilers that send a request to every endpoint of an
//! [`super::EndpointSet`] (strategy `AllHealthy`).

use serde_json::Value;

use super::Endpoint;
use crate::controls::FanOutSuccess;
use crate::error::{Error, Result};
use crate::run_status::TargetResponse;
use crate::status::{EndpointResponse, Phase};

/// The `status.responses` entry of `endpoint`: its last answer (`response`), marked failed with
/// `error` when the endpoint's work failed after that answer (or before any).
pub fn target_response(
    endpoint: &Endpoint,
    response: Option<EndpointResponse>,
    error: Option<&Error>,
) -> TargetResponse {
    let response = response.unwrap_or_default();
    TargetResponse {
        endpoint: endpoint.base_url.clone(),
        success: error.is_none(),
        status_code: response.status_code,
        data: response.data,
        error: response.error.or_else(|| error.map(ToString::to_string)),
    }
}

/// The single-endpoint form of a `status.responses` entry (for `status.response`).
pub fn endpoint_response(response: &TargetResponse) -> EndpointResponse {
    EndpointResponse {
        success: response.success,
        status_code: response.status_code,
        data: response.data.clone(),
        error: response.error.clone(),
    }
}

/// Applies `rule` to per-endpoint `results` (in endpoint order): the successes with their index,
/// or [`Error::FanOut`] carrying the first failure (a retryable one when there is one, so that the
/// reconcile is retried).
///
/// # Errors
///
/// [`Error::FanOut`] when the rule is not met.
pub fn settle<T>(results: Vec<Result<T>>, rule: FanOutSuccess) -> Result<Vec<(usize, T)>> {
    let total = results.len();
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(value) => successes.push((i, value)),
            Err(e) => failures.push(e),
        }
    }
    if rule.is_met(successes.len(), total) {
        return Ok(successes);
    }
    let first = match failures.iter().position(Error::is_retryable) {
        Some(i) => failures.swap_remove(i),
        None if failures.is_empty() => Error::NoEndpoint {
            target: "fan-out".to_owned(),
            reason: "no endpoint to send the request to".to_owned(),
        },
        None => failures.swap_remove(0),
    };
    Err(Error::FanOut {
        succeeded: successes.len(),
        total,
        rule: rule_name(rule),
        first: Box::new(first),
    })
}

/// `All`, `Any` or `Quorum`.
pub fn rule_name(rule: FanOutSuccess) -> &'static str {
    match rule {
        FanOutSuccess::All => "All",
        FanOutSuccess::Any => "Any",
        FanOutSuccess::Quorum => "Quorum",
    }
}

/// One phase for a fan-out whose rule was met: the state and reason of the first success, and a
/// message grouping endpoints by what happened on them (`backend object 7 is in sync on all 3
/// endpoints`, or `created backend object 7 on http://a; … is in sync on http://b`), plus the
/// failed endpoints.
pub fn merge_phases(
    endpoints: &[Endpoint],
    successes: Vec<(usize, Phase)>,
    responses: &[TargetResponse],
) -> Phase {
    let total = endpoints.len();
    let url = |i: usize| endpoints.get(i).map_or("", |e| e.base_url.as_str());
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (i, phase) in &successes {
        match groups.iter_mut().find(|(m, _)| *m == phase.message) {
            Some((_, urls)) => urls.push(url(*i)),
            None => groups.push((phase.message.clone(), vec![url(*i)])),
        }
    }
    let mut message = match groups.as_slice() {
        [(only, _)] if successes.len() == total => format!("{only} on all {total} endpoints"),
        _ => groups
            .iter()
            .map(|(m, urls)| format!("{m} on {}", urls.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    };
    let failed: Vec<String> = responses
        .iter()
        .filter(|r| !r.success)
        .map(|r| format!("{}: {}", r.endpoint, r.error.as_deref().unwrap_or("failed")))
        .collect();
    if !failed.is_empty() {
        message.push_str(&format!(
            "; {}/{total} endpoints failed: {}",
            failed.len(),
            failed.join("; ")
        ));
    }
    let mut phase = successes
        .into_iter()
        .next()
        .map_or_else(|| Phase::synced(String::new()), |(_, p)| p);
    phase.message = message;
    phase
}

/// `spec` with the object id filled in for a fan-out write, so that every endpoint stores the
/// object under the same id: unchanged when the spec names the id or no id is known; otherwise
/// `spec[id_field] = id`, typed like `sample[id_field]` (a previous answer) when that holds the
/// same id, else a number when `id` is an integer, else a string.
pub fn spec_with_id(spec: &Value, id_field: Option<&str>, id: Option<&str>, sample: Option<&Value>) -> Value {
    let (Some(field), Some(id), Value::Object(map)) = (id_field, id, spec) else {
        return spec.clone();
    };
    if map.get(field).is_some_and(|v| !v.is_null()) {
        return spec.clone();
    }
    let same = |v: &Value| match v {
        Value::String(s) => s == id,
        Value::Number(n) => n.to_string() == id,
        _ => false,
    };
    let value = match sample.and_then(|s| s.get(field)) {
        Some(v) if same(v) => v.clone(),
        _ => id
            .parse::<i64>()
            .map_or_else(|_| Value::String(id.to_owned()), Value::from),
    };
    let mut map = map.clone();
    map.insert(field.to_owned(), value);
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ep(url: &str) -> Endpoint {
        Endpoint {
            base_url: url.to_owned(),
            pod: None,
        }
    }

    fn fail(status: u16) -> Error {
        Error::from_status("GET", "http://x/pet/1", status, "boom".into())
    }

    #[test]
    fn rules_decide_success() {
        let two_of_three = || vec![Ok(1), Err(fail(400)), Ok(3)];
        assert_eq!(settle(two_of_three(), FanOutSuccess::Any).unwrap().len(), 2);
        assert_eq!(
            settle(two_of_three(), FanOutSuccess::Quorum).unwrap(),
            [(0, 1), (2, 3)]
        );
        let err = settle(two_of_three(), FanOutSuccess::All).unwrap_err();
        assert!(!err.is_retryable(), "a 400 is terminal");
        assert_eq!(
            err.to_string(),
            "2/3 endpoints succeeded, All required: GET http://x/pet/1: backend rejected the request with 400: boom"
        );
        let err = settle(vec![Ok(1), Err(fail(400)), Err(fail(503))], FanOutSuccess::Quorum).unwrap_err();
        assert!(err.is_retryable(), "a retryable failure is preferred: {err}");
        assert_eq!(err.backend_status(), Some(503));
        assert_eq!(err.reason(), "BackendUnavailable");
        assert!(settle::<()>(Vec::new(), FanOutSuccess::Any).is_err());
    }

    #[test]
    fn responses_and_phases_summarise_every_endpoint() {
        let ok = target_response(
            &ep("http://a"),
            Some(EndpointResponse {
                success: true,
                status_code: Some(200),
                data: Some(json!({"id": 7})),
                error: None,
            }),
            None,
        );
        assert!(ok.success && ok.endpoint == "http://a" && ok.status_code == Some(200));
        let failed = target_response(&ep("http://c"), None, Some(&fail(503)));
        assert!(!failed.success);
        assert!(failed.error.as_deref().unwrap_or_default().contains("503"));
        assert_eq!(endpoint_response(&ok).data, Some(json!({"id": 7})));

        let eps = [ep("http://a"), ep("http://b"), ep("http://c")];
        let all = merge_phases(
            &eps,
            (0..3)
                .map(|i| (i, Phase::synced("backend object 7 is in sync")))
                .collect(),
            &[ok.clone(), ok.clone(), ok.clone()],
        );
        assert_eq!(all.message, "backend object 7 is in sync on all 3 endpoints");
        let mixed = merge_phases(
            &eps,
            vec![
                (0, Phase::synced("created backend object 7")),
                (1, Phase::synced("backend object 7 is in sync")),
            ],
            &[ok.clone(), ok, failed],
        );
        assert_eq!(mixed.state, crate::status::ResourceState::Synced);
        assert!(
            mixed.message.starts_with(
                "created backend object 7 on http://a; backend object 7 is in sync on http://b; 1/3 endpoints failed: http://c: "
            ),
            "{}",
            mixed.message
        );
    }

    #[test]
    fn ids_are_filled_in_typed() {
        let spec = json!({"name": "rex"});
        assert_eq!(
            spec_with_id(&spec, Some("id"), Some("7"), None),
            json!({"name": "rex", "id": 7})
        );
        assert_eq!(
            spec_with_id(&spec, Some("id"), Some("7"), Some(&json!({"id": "7"}))),
            json!({"name": "rex", "id": "7"})
        );
        assert_eq!(
            spec_with_id(&spec, Some("username"), Some("bob"), None),
            json!({"name": "rex", "username": "bob"})
        );
        let named = json!({"id": 3});
        assert_eq!(spec_with_id(&named, Some("id"), Some("7"), None), named);
        assert_eq!(spec_with_id(&spec, None, Some("7"), None), spec);
        assert_eq!(spec_with_id(&spec, Some("id"), None, None), spec);
    }
}
