//! Handlers of the `store` tag: inventory, place/get/delete orders.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value};

use super::{ok_json, parse_id, parse_json};
use crate::error::ApiError;
use crate::model::{Order, to_value};
use crate::store::Store;

fn order_not_found() -> ApiError {
    ApiError::NotFound("Order not found".into())
}

/// `GET /store/inventory`: pet counts per status (statuses with no pets are absent), sorted by key.
pub(super) async fn inventory(State(store): State<Store>) -> Response {
    let counts = store.with(|state| {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for status in state
            .pets
            .values()
            .filter_map(|p| p.get("status").and_then(Value::as_str))
        {
            *counts.entry(status.to_owned()).or_default() += 1;
        }
        counts
    });
    let map: Map<String, Value> = counts.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
    ok_json(Value::Object(map))
}

/// `POST /store/order` (placeOrder): upsert; the id is assigned when absent or `null`.
pub(super) async fn place(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut order: Order = parse_json(&headers, &body, "Order")?;
    order.validate()?;
    let value = store.with(|state| {
        let id = match order.id {
            Some(id) => id,
            None => state.assign_order_id(),
        };
        order.id = Some(id);
        let value = to_value(&order);
        state.orders.insert(id, value.clone());
        value
    });
    Ok(ok_json(value))
}

/// `GET /store/order/{orderId}`.
pub(super) async fn get(State(store): State<Store>, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    store.order(id).map(ok_json).ok_or_else(order_not_found)
}

/// `DELETE /store/order/{orderId}`: 200 `"Order deleted"`, 404 if unknown.
pub(super) async fn delete(
    State(store): State<Store>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    if store.remove_order(id) {
        Ok(ok_json(Value::String("Order deleted".into())))
    } else {
        Err(order_not_found())
    }
}
