//! Handlers of the `user` tag: create (single and list), login/logout, get/update/delete by username.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::Value;

use super::{ok_json, parse_json, query_value};
use crate::error::ApiError;
use crate::model::{User, to_value};
use crate::store::Store;

/// Calls per hour advertised in `X-Rate-Limit` on login.
const RATE_LIMIT: u32 = 5000;
/// Session lifetime advertised in `X-Expires-After` on login.
const SESSION_TTL: Duration = Duration::from_secs(3600);

fn user_not_found() -> ApiError {
    ApiError::NotFound("User not found".into())
}

/// `POST /user` (createUser): upsert by username; returns the stored user.
pub(super) async fn create(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user: User = parse_json(&headers, &body, "User")?;
    let key = user.key()?;
    let value = to_value(&user);
    store.with(|state| state.users.insert(key, value.clone()));
    Ok(ok_json(value))
}

/// `POST /user/createWithList`: upserts every user (all-or-nothing); returns the last one.
pub(super) async fn create_with_list(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let users: Vec<User> = parse_json(&headers, &body, "User array")?;
    let entries = users
        .iter()
        .map(|user| Ok((user.key()?, to_value(user))))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let last = entries
        .last()
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ApiError::BadRequest("Invalid input: the user list is empty".into()))?;
    store.with(|state| state.users.extend(entries));
    Ok(ok_json(last))
}

/// `GET /user/login?username=&password=`: a session string plus `X-Rate-Limit`/`X-Expires-After`.
/// 400 without username/password, or when the user exists with a different password.
pub(super) async fn login(
    State(store): State<Store>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let invalid = || ApiError::BadRequest("Invalid username/password supplied".into());
    let username = query_value(&query, "username")
        .filter(|u| !u.is_empty())
        .ok_or_else(invalid)?;
    let password = query_value(&query, "password").ok_or_else(invalid)?;
    let session = store.with(|state| {
        let stored = state
            .users
            .get(username)
            .and_then(|u| u.get("password"))
            .and_then(Value::as_str);
        if stored.is_some_and(|p| p != password) {
            return Err(invalid());
        }
        let session = state.next_session;
        state.next_session += 1;
        Ok(session)
    })?;
    let mut response = ok_json(Value::String(format!("logged in user session:{session}")));
    let expires = rfc3339_utc(SystemTime::now() + SESSION_TTL);
    let headers = response.headers_mut();
    headers.insert("X-Rate-Limit", HeaderValue::from(RATE_LIMIT));
    if let Ok(value) = HeaderValue::try_from(expires) {
        headers.insert("X-Expires-After", value);
    }
    Ok(response)
}

/// `GET /user/logout`.
pub(super) async fn logout() -> Response {
    ok_json(Value::String("User logged out".into()))
}

/// `GET /user/{username}`.
pub(super) async fn get(
    State(store): State<Store>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    store.user(&username).map(ok_json).ok_or_else(user_not_found)
}

/// `PUT /user/{username}`: replaces an existing user (404 if unknown). A body without `username`
/// keeps the path's; a different body `username` renames the user. Returns the stored user.
pub(super) async fn update(
    State(store): State<Store>,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut user: User = parse_json(&headers, &body, "User")?;
    if user.username.is_none() {
        user.username = Some(username.clone());
    }
    let key = user.key()?;
    let value = to_value(&user);
    store.with(|state| {
        state.users.remove(&username).ok_or_else(user_not_found)?;
        state.users.insert(key, value.clone());
        Ok(ok_json(value))
    })
}

/// `DELETE /user/{username}`: 200 `"User deleted"`, 404 if unknown.
pub(super) async fn delete(
    State(store): State<Store>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    if store.remove_user(&username) {
        Ok(ok_json(Value::String("User deleted".into())))
    } else {
        Err(user_not_found())
    }
}

/// Formats `time` as RFC 3339 UTC with second precision (`2024-01-31T12:00:00Z`).
fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723);
        assert_eq!(rfc3339_utc(leap_day), "2000-02-29T01:02:03Z");
        let new_year = UNIX_EPOCH + Duration::from_secs(1_704_067_199);
        assert_eq!(rfc3339_utc(new_year), "2023-12-31T23:59:59Z");
    }
}
