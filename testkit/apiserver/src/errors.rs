//! Typed API errors and their rendering as Kubernetes `meta/v1 Status` responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Identifies the resource an error is about, as the real apiserver reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// API group ("" for core).
    pub group: String,
    /// Resource plural, e.g. `pets`.
    pub resource: String,
    /// Kind, e.g. `Pet` (used by `Invalid` errors, which name the kind).
    pub kind: String,
    /// Object name ("" when not known).
    pub name: String,
}

impl Target {
    /// `pets.petstore.example.com` or `configmaps` — the qualified resource used in messages.
    pub fn qualified_resource(&self) -> String {
        qualify(&self.resource, &self.group)
    }

    /// `Pet.petstore.example.com` or `ConfigMap` — the qualified kind used in `Invalid` messages.
    pub fn qualified_kind(&self) -> String {
        qualify(&self.kind, &self.group)
    }
}

fn qualify(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_owned()
    } else {
        format!("{name}.{group}")
    }
}

/// One `details.causes[]` entry of a `Status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Machine-readable reason, e.g. `FieldValueInvalid`.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// Field path, e.g. `metadata.name` ("" when none).
    pub field: String,
}

/// Every error the server returns, each rendered as the real apiserver renders it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 404 NotFound for a named object.
    #[error("{} \"{}\" not found", .0.qualified_resource(), .0.name)]
    NotFound(Target),
    /// 404 NotFound for a path that names no resource.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 409 AlreadyExists.
    #[error("{} \"{}\" already exists", .0.qualified_resource(), .0.name)]
    AlreadyExists(Target),
    /// 409 Conflict on a stale resourceVersion or failed precondition.
    #[error(
        "Operation cannot be fulfilled on {} \"{}\": {}",
        .target.qualified_resource(), .target.name, .detail
    )]
    Conflict {
        /// The object.
        target: Target,
        /// Why, e.g. "the object has been modified; please apply your changes to the latest version and try again".
        detail: String,
    },
    /// 422 Invalid with field causes.
    #[error("{} \"{}\" is invalid: {}", .target.qualified_kind(), .target.name, join_causes(.causes))]
    Invalid {
        /// The object.
        target: Target,
        /// Field errors.
        causes: Vec<Cause>,
    },
    /// 422 Invalid produced by a failed JSON patch (`NewGenericServerResponse` in the real server).
    #[error("the server rejected our request due to an error in our request")]
    PatchRejected(String),
    /// 400 BadRequest.
    #[error("{0}")]
    BadRequest(String),
    /// 403 Forbidden.
    #[error("{0}")]
    Forbidden(String),
    /// 405 MethodNotAllowed.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 415 UnsupportedMediaType.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 410 Expired: a watch or list asked for a resourceVersion that is no longer retained.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The requested version.
        requested: u64,
        /// The oldest version still replayable.
        oldest: u64,
    },
    /// 500 InternalError.
    #[error("Internal error occurred: {0}")]
    Internal(String),
}

fn join_causes(causes: &[Cause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.field.is_empty() {
                c.message.clone()
            } else {
                format!("{}: {}", c.field, c.message)
            }
        })
        .collect();
    if parts.len() == 1 {
        parts.concat()
    } else {
        format!("[{}]", parts.join(", "))
    }
}

impl ApiError {
    /// `404 NotFound` shorthand.
    pub fn not_found(target: &Target) -> Self {
        ApiError::NotFound(target.clone())
    }

    /// The standard optimistic-concurrency conflict.
    pub fn stale(target: &Target) -> Self {
        ApiError::Conflict {
            target: target.clone(),
            detail:
                "the object has been modified; please apply your changes to the latest version and try again"
                    .into(),
        }
    }

    /// A single-cause `Invalid` error.
    pub fn invalid(target: &Target, field: &str, reason: &str, message: String) -> Self {
        ApiError::Invalid {
            target: target.clone(),
            causes: vec![Cause {
                reason: reason.into(),
                message,
                field: field.into(),
            }],
        }
    }

    /// HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound(_) | ApiError::NoRoute => 404,
            ApiError::AlreadyExists(_) | ApiError::Conflict { .. } => 409,
            ApiError::Invalid { .. } | ApiError::PatchRejected(_) => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::Forbidden(_) => 403,
            ApiError::MethodNotAllowed => 405,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Expired { .. } => 410,
            ApiError::Internal(_) => 500,
        }
    }

    /// `Status.reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) | ApiError::NoRoute => "NotFound",
            ApiError::AlreadyExists(_) => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Invalid { .. } | ApiError::PatchRejected(_) => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Expired { .. } => "Expired",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The full `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
        });
        if let Some(details) = self.details() {
            status["details"] = Value::Object(details);
        }
        status["code"] = json!(self.code());
        status
    }

    fn details(&self) -> Option<Map<String, Value>> {
        let mut d = Map::new();
        match self {
            ApiError::NotFound(t) | ApiError::AlreadyExists(t) | ApiError::Conflict { target: t, .. } => {
                put_target(&mut d, t, &t.resource);
            }
            ApiError::Invalid { target, causes } => {
                put_target(&mut d, target, &target.kind);
                let causes: Vec<Value> = causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
                d.insert("causes".into(), Value::Array(causes));
            }
            ApiError::PatchRejected(msg) => {
                d.insert(
                    "causes".into(),
                    json!([{"reason": "UnexpectedServerResponse", "message": msg}]),
                );
            }
            _ => return None,
        }
        Some(d)
    }
}

fn put_target(d: &mut Map<String, Value>, t: &Target, kind: &str) {
    if !t.name.is_empty() {
        d.insert("name".into(), json!(t.name));
    }
    if !t.group.is_empty() {
        d.insert("group".into(), json!(t.group));
    }
    d.insert("kind".into(), json!(kind));
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        crate::handlers::json_response(code, &self.to_status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pet(name: &str) -> Target {
        Target {
            group: "petstore.example.com".into(),
            resource: "pets".into(),
            kind: "Pet".into(),
            name: name.into(),
        }
    }

    #[test]
    fn not_found_matches_real_status() {
        let s = ApiError::not_found(&pet("x")).to_status();
        assert_eq!(
            s,
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                "message":"pets.petstore.example.com \"x\" not found","reason":"NotFound",
                "details":{"name":"x","group":"petstore.example.com","kind":"pets"},"code":404})
        );
    }

    #[test]
    fn conflict_message_is_verbatim() {
        let s = ApiError::stale(&pet("x")).to_status();
        assert_eq!(
            s["message"],
            "Operation cannot be fulfilled on pets.petstore.example.com \"x\": the object has been modified; \
             please apply your changes to the latest version and try again"
        );
        assert_eq!(s["code"], 409);
    }

    #[test]
    fn invalid_names_the_kind() {
        let e = ApiError::invalid(
            &pet("X"),
            "metadata.name",
            "FieldValueInvalid",
            "Invalid value: \"X\"".into(),
        );
        let s = e.to_status();
        assert_eq!(
            s["message"],
            "Pet.petstore.example.com \"X\" is invalid: metadata.name: Invalid value: \"X\""
        );
        assert_eq!(s["details"]["kind"], "Pet");
        assert_eq!(s["details"]["causes"][0]["field"], "metadata.name");
    }
}
