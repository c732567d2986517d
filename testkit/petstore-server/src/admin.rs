//! HTTP test-control endpoints (`/__admin/*`, `/healthz`) mirroring the in-process [`Store`] API,
//! for when the server runs as a separate process.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::auth::AuthRequirement;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::routes::{ok_json, parse_id, parse_json};
use crate::store::Store;

/// `/healthz` and `/__admin/*` routes.
pub(crate) fn router() -> Router<Store> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/__admin/requests", get(requests))
        .route(
            "/__admin/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/__admin/reset", post(reset))
        .route("/__admin/auth", get(auth).put(set_auth).delete(clear_auth))
        .route("/__admin/state", get(state))
        .route("/__admin/pets/{id}", put(put_pet))
}

/// `GET /healthz` → `{"status":"ok"}`.
async fn healthz() -> Response {
    ok_json(json!({ "status": "ok" }))
}

/// `GET /__admin/requests` → the request log (array of `RecordedRequest`).
async fn requests(State(store): State<Store>) -> Response {
    ok_json(json!(store.requests()))
}

/// `GET /__admin/faults` → the active fault rules.
async fn faults(State(store): State<Store>) -> Response {
    ok_json(json!(store.faults()))
}

/// `POST /__admin/faults` with a JSON `Fault` → the active fault rules (400 on an invalid rule).
async fn add_fault(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fault: Fault = parse_json(&headers, &body, "Fault")?;
    fault.check()?;
    store.inject_fault(fault);
    Ok(ok_json(json!(store.faults())))
}

/// `DELETE /__admin/faults`.
async fn clear_faults(State(store): State<Store>) -> Response {
    store.clear_faults();
    ok_json(json!({ "cleared": true }))
}

/// `GET /__admin/auth` → the accepted credentials.
async fn auth(State(store): State<Store>) -> Response {
    ok_json(json!(store.auth()))
}

/// `PUT /__admin/auth` with a JSON array of `AuthRequirement` (any one is enough; `[]` = none).
async fn set_auth(State(store): State<Store>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let required: Vec<AuthRequirement> = parse_json(&headers, &body, "array of AuthRequirement")?;
    store.require_auth(required);
    Ok(ok_json(json!(store.auth())))
}

/// `DELETE /__admin/auth`: no credentials required.
async fn clear_auth(State(store): State<Store>) -> Response {
    store.require_auth(Vec::new());
    ok_json(json!({ "cleared": true }))
}

/// `POST /__admin/reset`.
async fn reset(State(store): State<Store>) -> Response {
    store.reset();
    ok_json(json!({ "reset": true }))
}

/// `GET /__admin/state` → `{"pets":[...],"orders":[...],"users":[...]}`.
async fn state(State(store): State<Store>) -> Response {
    ok_json(json!({ "pets": store.pets(), "orders": store.orders(), "users": store.users() }))
}

/// `PUT /__admin/pets/{id}` with any JSON object → raw write (no validation); the path id wins.
async fn put_pet(
    State(store): State<Store>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    let mut pet: Value = parse_json(&headers, &body, "JSON object")?;
    let map = pet
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("a JSON object is required".into()))?;
    map.insert("id".into(), Value::from(id));
    store.put_pet(pet);
    store
        .pet(id)
        .map(ok_json)
        .ok_or_else(|| ApiError::NotFound("Pet not found".into()))
}
