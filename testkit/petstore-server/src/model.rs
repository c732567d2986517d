//! Typed Petstore schema models (Pet, Category, Tag, Order, User, ApiResponse) and their schema checks.
//!
//! Request bodies are deserialized into these structs, which drops unknown fields exactly like the
//! real petstore3 does; absent/`null` optional fields are omitted on output, while `false`, `0` and
//! `""` round-trip unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// Allowed values of `Pet.status`.
pub(crate) const PET_STATUSES: [&str; 3] = ["available", "pending", "sold"];
/// Allowed values of `Order.status`.
pub(crate) const ORDER_STATUSES: [&str; 3] = ["placed", "approved", "delivered"];

/// `#/components/schemas/Category`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Category {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `#/components/schemas/Tag`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Tag {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `#/components/schemas/Pet` (required: `name`, `photoUrls`; checked by [`Pet::validate`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Pet {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl Pet {
    /// Schema-level checks: required fields and the status enum (422 on violation).
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        if self.name.is_none() {
            return Err(ApiError::Validation(
                "Validation exception: Pet.name is required".into(),
            ));
        }
        if self.photo_urls.is_none() {
            return Err(ApiError::Validation(
                "Validation exception: Pet.photoUrls is required".into(),
            ));
        }
        check_enum("Pet.status", self.status.as_deref(), &PET_STATUSES)
    }
}

/// `#/components/schemas/Order`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Order {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pet_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
}

impl Order {
    /// Schema-level checks: the status enum (422 on violation).
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        check_enum("Order.status", self.status.as_deref(), &ORDER_STATUSES)
    }
}

/// `#/components/schemas/User` (this server keys users by `username`, so it is required here).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<i32>,
}

impl User {
    /// The storage key; a missing or empty username is a 422.
    pub(crate) fn key(&self) -> Result<String, ApiError> {
        match self.username.as_deref() {
            Some(name) if !name.is_empty() => Ok(name.to_owned()),
            _ => Err(ApiError::Validation(
                "Validation exception: User.username is required".into(),
            )),
        }
    }
}

/// `#/components/schemas/ApiResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ApiResponse {
    pub code: i32,
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

/// Rejects a present value that is not one of `allowed` (422).
fn check_enum(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(ApiError::Validation(format!(
            "Validation exception: {field} value `{v}` is not one of [{}]",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// Serializes a model into the JSON value kept in the store.
pub(crate) fn to_value<T: Serialize>(model: &T) -> Value {
    // Serializing these plain structs cannot fail (string keys, no custom impls).
    serde_json::to_value(model).unwrap_or(Value::Null)
}
