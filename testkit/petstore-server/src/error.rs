//! Typed HTTP errors of the petstore API and their JSON (`{"code":N,"message":"..."}`) rendering.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an HTTP client, rendered as `{"code": <status>, "message": <text>}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed JSON, wrong JSON types, invalid path/query parameter, missing file.
    #[error("{0}")]
    BadRequest(String),
    /// 404: the addressed pet/order/user (or route) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 413: the request body exceeds the server's limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: a body with a content type this server does not speak (e.g. XML).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed JSON that violates the schema (missing required field, enum value).
    #[error("{0}")]
    Validation(String),
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({ "code": status.as_u16(), "message": self.to_string() });
        (status, Json(body)).into_response()
    }
}
