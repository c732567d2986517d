//! Handlers of the `pet` tag: add/update/find/get/update-with-form/delete pets, image upload, and
//! serving uploaded images back under `/images/{petId}/{n}`.

use axum::body::{Bytes, to_bytes};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{ok_json, parse_id, parse_json, query_list, query_value};
use crate::error::ApiError;
use crate::faults::MAX_BODY_BYTES;
use crate::model::{ApiResponse, PET_STATUSES, Pet, to_value};
use crate::store::Store;

type QueryPairs = Query<Vec<(String, String)>>;

fn pet_not_found() -> ApiError {
    ApiError::NotFound("Pet not found".into())
}

/// `POST /pet` (addPet): upsert; the id is assigned when absent or `null`.
pub(super) async fn add(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut pet: Pet = parse_json(&headers, &body, "Pet")?;
    pet.validate()?;
    let value = store.with(|state| {
        let id = match pet.id {
            Some(id) => id,
            None => state.assign_pet_id(),
        };
        pet.id = Some(id);
        let value = to_value(&pet);
        state.pets.insert(id, value.clone());
        value
    });
    Ok(ok_json(value))
}

/// `PUT /pet` (updatePet): replace an existing pet by body id (400 without id, 404 if unknown).
pub(super) async fn update(
    State(store): State<Store>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let pet: Pet = parse_json(&headers, &body, "Pet")?;
    let id = pet
        .id
        .ok_or_else(|| ApiError::BadRequest("Invalid ID supplied: the pet has no id".into()))?;
    pet.validate()?;
    let value = to_value(&pet);
    store.with(|state| match state.pets.get_mut(&id) {
        Some(slot) => {
            *slot = value.clone();
            Ok(ok_json(value))
        }
        None => Err(pet_not_found()),
    })
}

/// `GET /pet/findByStatus?status=...` (repeated keys and comma lists; default `available`).
pub(super) async fn find_by_status(
    State(store): State<Store>,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    let mut statuses = query_list(&query, "status");
    if statuses.is_empty() {
        statuses.push("available".into());
    }
    if let Some(bad) = statuses.iter().find(|s| !PET_STATUSES.contains(&s.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "Invalid status value `{bad}`; allowed: [{}]",
            PET_STATUSES.join(", ")
        )));
    }
    let pets = store.with(|state| {
        state
            .pets
            .values()
            .filter(|pet| {
                pet.get("status")
                    .and_then(Value::as_str)
                    .is_some_and(|s| statuses.iter().any(|x| x == s))
            })
            .cloned()
            .collect::<Vec<_>>()
    });
    Ok(ok_json(Value::Array(pets)))
}

/// `GET /pet/findByTags?tags=...`: pets having any of the tag names (400 without tags).
pub(super) async fn find_by_tags(
    State(store): State<Store>,
    Query(query): QueryPairs,
) -> Result<Response, ApiError> {
    let tags = query_list(&query, "tags");
    if tags.is_empty() {
        return Err(ApiError::BadRequest(
            "Invalid tag value: at least one tag is required".into(),
        ));
    }
    let has_tag = |pet: &Value| {
        pet.get("tags").and_then(Value::as_array).is_some_and(|list| {
            list.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .any(|name| tags.iter().any(|t| t == name))
        })
    };
    let pets = store.with(|state| {
        state
            .pets
            .values()
            .filter(|p| has_tag(p))
            .cloned()
            .collect::<Vec<_>>()
    });
    Ok(ok_json(Value::Array(pets)))
}

/// `GET /pet/{petId}`.
pub(super) async fn get(State(store): State<Store>, Path(raw): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    store.pet(id).map(ok_json).ok_or_else(pet_not_found)
}

/// `POST /pet/{petId}?name=&status=` (updatePetWithForm). Query parameters win; an
/// `application/x-www-form-urlencoded` body is accepted as a fallback. 400 on an invalid status.
pub(super) async fn update_with_form(
    State(store): State<Store>,
    Path(raw): Path<String>,
    Query(query): QueryPairs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let form = if is_form { parse_form(&body) } else { Vec::new() };
    let pick = |key: &str| {
        query_value(&query, key)
            .or_else(|| query_value(&form, key))
            .map(str::to_owned)
    };
    let (name, status) = (pick("name"), pick("status"));
    if let Some(bad) = status.as_deref().filter(|s| !PET_STATUSES.contains(s)) {
        return Err(ApiError::BadRequest(format!(
            "Invalid input: status `{bad}` is not a pet status"
        )));
    }
    store.with(|state| {
        let pet = state.pets.get_mut(&id).ok_or_else(pet_not_found)?;
        if let Value::Object(map) = pet {
            if let Some(name) = name {
                map.insert("name".into(), Value::String(name));
            }
            if let Some(status) = status {
                map.insert("status".into(), Value::String(status));
            }
        }
        Ok(ok_json(pet.clone()))
    })
}

/// `DELETE /pet/{petId}`: 200 `"Pet deleted"`, 404 if unknown (the spec lists only 200/400).
pub(super) async fn delete(
    State(store): State<Store>,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    if store.remove_pet(id) {
        Ok(ok_json(Value::String("Pet deleted".into())))
    } else {
        Err(pet_not_found())
    }
}

/// `POST /pet/{petId}/uploadImage?additionalMetadata=`: raw body (any non-multipart type, normally
/// `application/octet-stream`) or `multipart/form-data` (field `file`, else the first file field).
/// Stores the bytes and appends `/images/{petId}/{n}` to the pet's `photoUrls`.
pub(super) async fn upload_image(
    State(store): State<Store>,
    Path(raw): Path<String>,
    Query(query): QueryPairs,
    req: Request,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    if store.pet(id).is_none() {
        return Err(pet_not_found());
    }
    let mut metadata = query_value(&query, "additionalMetadata").map(str::to_owned);
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let bytes = if is_multipart {
        let (file, form_metadata) = read_multipart(req).await?;
        metadata = metadata.or(form_metadata);
        file
    } else {
        let raw = to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|err| ApiError::PayloadTooLarge(format!("upload rejected: {err}")))?;
        Some(raw.to_vec())
    };
    let bytes = bytes
        .filter(|b| !b.is_empty())
        .ok_or_else(|| ApiError::BadRequest("No file uploaded".into()))?;
    let len = bytes.len();
    store.with(|state| {
        let pet = state.pets.get_mut(&id).ok_or_else(pet_not_found)?;
        let images = state.images.entry(id).or_default();
        images.push((metadata.clone(), bytes));
        let url = Value::String(format!("/images/{id}/{}", images.len()));
        if let Value::Object(map) = pet {
            match map.get_mut("photoUrls") {
                Some(Value::Array(urls)) => urls.push(url),
                _ => {
                    map.insert("photoUrls".into(), Value::Array(vec![url]));
                }
            }
        }
        Ok::<_, ApiError>(())
    })?;
    let message = match &metadata {
        Some(meta) => format!("additionalMetadata: {meta}\nFile uploaded to ./upload, {len} bytes"),
        None => format!("File uploaded to ./upload, {len} bytes"),
    };
    Ok(ok_json(to_value(&ApiResponse {
        code: 200,
        kind: "unknown".into(),
        message,
    })))
}

/// Reads `(file bytes, additionalMetadata)` from a multipart upload.
async fn read_multipart(req: Request) -> Result<(Option<Vec<u8>>, Option<String>), ApiError> {
    let bad = |err: axum::extract::multipart::MultipartError| {
        ApiError::BadRequest(format!("bad multipart body: {err}"))
    };
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|err| ApiError::BadRequest(format!("bad multipart body: {err}")))?;
    let (mut named_file, mut first_file, mut metadata) = (None, None, None);
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        let has_filename = field.file_name().is_some();
        if name == "additionalMetadata" {
            metadata = Some(field.text().await.map_err(bad)?);
        } else if name == "file" && named_file.is_none() {
            named_file = Some(field.bytes().await.map_err(bad)?.to_vec());
        } else if has_filename && first_file.is_none() {
            first_file = Some(field.bytes().await.map_err(bad)?.to_vec());
        }
    }
    Ok((named_file.or(first_file), metadata))
}

/// `GET /images/{petId}/{n}`: the n-th (1-based) uploaded image of a pet, as octet-stream.
pub(crate) async fn image(
    State(store): State<Store>,
    Path((raw, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw)?;
    let n: usize = n
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid image index `{n}`")))?;
    let image = n
        .checked_sub(1)
        .and_then(|i| store.pet_images(id).into_iter().nth(i));
    let (_, bytes) = image.ok_or_else(|| ApiError::NotFound("Image not found".into()))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/octet-stream")],
        bytes,
    )
        .into_response())
}

/// Decodes an `application/x-www-form-urlencoded` body into key/value pairs.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let key = percent_decode(parts.next().unwrap_or_default());
            let value = percent_decode(parts.next().unwrap_or_default());
            (key, value)
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> String {
    let hex = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_decoded() {
        let pairs = parse_form(b"name=Rex+the%20Dog&status=sold&empty=&bad=%zz&flag");
        let expected = [
            ("name", "Rex the Dog"),
            ("status", "sold"),
            ("empty", ""),
            ("bad", "%zz"),
            ("flag", ""),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(pairs, expected);
    }
}
