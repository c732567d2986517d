//! The `/api/v3` router and the request helpers shared by the pet/store/user handlers
//! (JSON body parsing, id parsing, query-list parsing, JSON responses).

mod pet;
mod store;
mod user;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::error::Category;

use crate::error::ApiError;
use crate::store::Store;

pub(crate) use pet::image;

/// Routes of the stock petstore spec, relative to `/api/v3`.
pub(crate) fn api_router() -> Router<Store> {
    Router::new()
        .route("/pet", post(pet::add).put(pet::update))
        .route("/pet/findByStatus", get(pet::find_by_status))
        .route("/pet/findByTags", get(pet::find_by_tags))
        .route(
            "/pet/{petId}",
            get(pet::get).post(pet::update_with_form).delete(pet::delete),
        )
        .route("/pet/{petId}/uploadImage", post(pet::upload_image))
        .route("/store/inventory", get(store::inventory))
        .route("/store/order", post(store::place))
        .route("/store/order/{orderId}", get(store::get).delete(store::delete))
        .route("/user", post(user::create))
        .route("/user/createWithList", post(user::create_with_list))
        .route("/user/login", get(user::login))
        .route("/user/logout", get(user::logout))
        .route(
            "/user/{username}",
            get(user::get).put(user::update).delete(user::delete),
        )
}

/// Rejects bodies whose content type is set and is not JSON (415). A missing content type is
/// accepted as JSON.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => Ok(()),
        Some(ctype) if is_json_media_type(ctype) => Ok(()),
        Some(ctype) => Err(ApiError::UnsupportedMediaType(format!(
            "unsupported content type `{ctype}`; this server only speaks application/json"
        ))),
    }
}

fn is_json_media_type(ctype: &str) -> bool {
    let essence = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// Parses a JSON request body into `T`: 415 for non-JSON content types, 400 for an empty body,
/// malformed JSON, or JSON whose shape/types do not fit the schema.
pub(crate) fn parse_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    what: &str,
) -> Result<T, ApiError> {
    require_json(headers)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(format!(
            "Invalid input: a {what} body is required"
        )));
    }
    serde_json::from_slice(body).map_err(|err| match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::BadRequest(format!("Invalid input: malformed JSON: {err}"))
        }
        Category::Data => ApiError::BadRequest(format!("Invalid input: not a valid {what}: {err}")),
    })
}

/// Parses an int64 path id (400 `Invalid ID supplied`).
pub(crate) fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("Invalid ID supplied: `{raw}` is not an int64")))
}

/// All values of query key `key`, accepting both repeated keys and comma-separated values;
/// empty items are dropped.
pub(crate) fn query_list(query: &[(String, String)], key: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The last value of query key `key`.
pub(crate) fn query_value<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A 200 `application/json` response.
pub(crate) fn ok_json(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}
