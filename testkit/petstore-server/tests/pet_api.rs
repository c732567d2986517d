//! Integration tests of the `pet` endpoints over real HTTP.

mod common;

use common::{assert_error, harness, keys};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn pet(name: &str, status: &str) -> Value {
    json!({ "name": name, "photoUrls": ["http://x/1.png"], "status": status })
}

#[tokio::test]
async fn add_pet_assigns_ids_from_one_and_get_returns_it() {
    let h = harness().await;
    let (status, first) = h.call(Method::POST, "/pet", Some(pet("rex", "available"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["id"], 1);
    let (_, second) = h.call(Method::POST, "/pet", Some(pet("tom", "sold"))).await;
    assert_eq!(second["id"], 2);
    let (_, third) = h
        .call(
            Method::POST,
            "/pet",
            Some(json!({"id": null, "name": "n", "photoUrls": []})),
        )
        .await;
    assert_eq!(third["id"], 3);
    let (status, got) = h.call(Method::GET, "/pet/2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        got,
        json!({"id": 2, "name": "tom", "photoUrls": ["http://x/1.png"], "status": "sold"})
    );
    assert_eq!(h.server.store().pet(1), Some(first));
    // Auto-assignment skips ids taken explicitly.
    h.call(
        Method::POST,
        "/pet",
        Some(json!({"id": 4, "name": "x", "photoUrls": []})),
    )
    .await;
    let (_, fifth) = h.call(Method::POST, "/pet", Some(pet("y", "pending"))).await;
    assert_eq!(fifth["id"], 5);
}

#[tokio::test]
async fn falsy_values_round_trip_and_unknown_fields_are_dropped() {
    let h = harness().await;
    let body = json!({
        "status": "available", "tags": [{"id": 0, "name": ""}], "photoUrls": [""],
        "category": {"id": 0, "name": ""}, "name": "", "id": 0, "extra": true
    });
    let (status, created) = h.call(Method::POST, "/pet", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    let expected = json!({
        "id": 0, "name": "", "category": {"id": 0, "name": ""}, "photoUrls": [""],
        "tags": [{"id": 0, "name": ""}], "status": "available"
    });
    assert_eq!(created, expected);
    assert_eq!(
        keys(&created),
        ["id", "name", "category", "photoUrls", "tags", "status"]
    );
    let (_, got) = h.call(Method::GET, "/pet/0", None).await;
    assert_eq!(got, expected);
    assert_eq!(keys(&got), keys(&expected));
}

#[tokio::test]
async fn add_pet_with_existing_id_upserts() {
    let h = harness().await;
    h.call(
        Method::POST,
        "/pet",
        Some(json!({"id": 7, "name": "a", "photoUrls": [], "status": "sold"})),
    )
    .await;
    let (status, body) = h
        .call(
            Method::POST,
            "/pet",
            Some(json!({"id": 7, "name": "b", "photoUrls": ["u"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"id": 7, "name": "b", "photoUrls": ["u"]}));
    assert_eq!(h.server.store().pets(), vec![body]);
}

#[tokio::test]
async fn add_pet_rejects_bad_input() {
    let h = harness().await;
    let (s, b) = h
        .raw(Method::POST, "/pet", "application/json", b"{\"name\": ")
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h.raw(Method::POST, "/pet", "application/json", b"").await;
    assert_error(s, &b, 400);
    let (s, b) = h
        .call(Method::POST, "/pet", Some(json!({"name": 5, "photoUrls": []})))
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h.call(Method::POST, "/pet", Some(json!([1, 2]))).await;
    assert_error(s, &b, 400);
    let (s, b) = h.call(Method::POST, "/pet", Some(json!({"photoUrls": []}))).await;
    assert_error(s, &b, 422);
    let (s, b) = h.call(Method::POST, "/pet", Some(json!({"name": "x"}))).await;
    assert_error(s, &b, 422);
    let (s, b) = h.call(Method::POST, "/pet", Some(pet("x", "lost"))).await;
    assert_error(s, &b, 422);
    let (s, b) = h.raw(Method::POST, "/pet", "application/xml", b"<pet/>").await;
    assert_error(s, &b, 415);
    assert!(h.server.store().pets().is_empty());
}

#[tokio::test]
async fn update_pet_replaces_and_reports_errors() {
    let h = harness().await;
    h.call(Method::POST, "/pet", Some(pet("rex", "available"))).await;
    let replacement = json!({"id": 1, "name": "rex2", "photoUrls": [], "status": "pending"});
    let (s, b) = h.call(Method::PUT, "/pet", Some(replacement.clone())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, replacement);
    assert_eq!(h.server.store().pet(1), Some(replacement));
    let (s, b) = h.call(Method::PUT, "/pet", Some(pet("noid", "sold"))).await;
    assert_error(s, &b, 400);
    let (s, b) = h
        .call(
            Method::PUT,
            "/pet",
            Some(json!({"id": 99, "name": "x", "photoUrls": []})),
        )
        .await;
    assert_error(s, &b, 404);
    assert!(h.server.store().pet(99).is_none());
    let (s, b) = h
        .call(Method::PUT, "/pet", Some(json!({"id": 1, "photoUrls": []})))
        .await;
    assert_error(s, &b, 422);
    let (s, b) = h.raw(Method::PUT, "/pet", "application/json", b"nope").await;
    assert_error(s, &b, 400);
}

async fn seed_pets(h: &common::Harness) {
    for (name, status, tags) in [
        ("a", "available", json!([{"name": "t1"}])),
        ("b", "pending", json!([{"name": "t2"}, {"name": "t3"}])),
        ("c", "sold", json!([])),
        ("d", "available", json!([{"id": 3, "name": "t3"}])),
    ] {
        let body = json!({"name": name, "photoUrls": [], "status": status, "tags": tags});
        assert_eq!(h.call(Method::POST, "/pet", Some(body)).await.0, StatusCode::OK);
    }
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect()
}

#[tokio::test]
async fn find_by_status_accepts_repeated_comma_and_default() {
    let h = harness().await;
    seed_pets(&h).await;
    let (s, b) = h
        .call(Method::GET, "/pet/findByStatus?status=available", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&b), ["a", "d"]);
    let (_, b) = h
        .call(Method::GET, "/pet/findByStatus?status=pending&status=sold", None)
        .await;
    assert_eq!(names(&b), ["b", "c"]);
    let (_, b) = h
        .call(Method::GET, "/pet/findByStatus?status=pending,sold", None)
        .await;
    assert_eq!(names(&b), ["b", "c"]);
    let (_, b) = h.call(Method::GET, "/pet/findByStatus", None).await;
    assert_eq!(names(&b), ["a", "d"]);
    let (s, b) = h
        .call(Method::GET, "/pet/findByStatus?status=available,lost", None)
        .await;
    assert_error(s, &b, 400);
}

#[tokio::test]
async fn find_by_tags_accepts_repeated_and_comma() {
    let h = harness().await;
    seed_pets(&h).await;
    let (s, b) = h.call(Method::GET, "/pet/findByTags?tags=t3", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(names(&b), ["b", "d"]);
    let (_, b) = h.call(Method::GET, "/pet/findByTags?tags=t1&tags=t2", None).await;
    assert_eq!(names(&b), ["a", "b"]);
    let (_, b) = h.call(Method::GET, "/pet/findByTags?tags=t1,t3", None).await;
    assert_eq!(names(&b), ["a", "b", "d"]);
    let (_, b) = h.call(Method::GET, "/pet/findByTags?tags=none", None).await;
    assert_eq!(b, json!([]));
    let (s, b) = h.call(Method::GET, "/pet/findByTags", None).await;
    assert_error(s, &b, 400);
}

#[tokio::test]
async fn get_pet_errors() {
    let h = harness().await;
    let (s, b) = h.call(Method::GET, "/pet/42", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b, json!({"code": 404, "message": "Pet not found"}));
    let (s, b) = h.call(Method::GET, "/pet/abc", None).await;
    assert_error(s, &b, 400);
}

#[tokio::test]
async fn update_pet_with_form_via_query_and_form_body() {
    let h = harness().await;
    h.call(Method::POST, "/pet", Some(pet("rex", "available"))).await;
    let (s, b) = h.call(Method::POST, "/pet/1?name=max&status=sold", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b,
        json!({"id": 1, "name": "max", "photoUrls": ["http://x/1.png"], "status": "sold"})
    );
    let (s, b) = h
        .raw(
            Method::POST,
            "/pet/1",
            "application/x-www-form-urlencoded",
            b"name=big+rex&status=pending",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (b["name"].as_str(), b["status"].as_str()),
        (Some("big rex"), Some("pending"))
    );
    assert_eq!(h.server.store().pet(1).expect("pet")["name"], "big rex");
    let (s, b) = h.call(Method::POST, "/pet/1?status=lost", None).await;
    assert_error(s, &b, 400);
    let (s, b) = h.call(Method::POST, "/pet/9?name=x", None).await;
    assert_error(s, &b, 404);
    let (s, b) = h.call(Method::POST, "/pet/x?name=x", None).await;
    assert_error(s, &b, 400);
}

#[tokio::test]
async fn delete_pet_then_not_found() {
    let h = harness().await;
    h.call(Method::POST, "/pet", Some(pet("rex", "available"))).await;
    let (s, b) = h.call(Method::DELETE, "/pet/1", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!("Pet deleted"));
    let (s, b) = h.call(Method::GET, "/pet/1", None).await;
    assert_error(s, &b, 404);
    let (s, b) = h.call(Method::DELETE, "/pet/1", None).await;
    assert_error(s, &b, 404);
    let (s, b) = h.call(Method::DELETE, "/pet/one", None).await;
    assert_error(s, &b, 400);
}

fn binary_payload() -> Vec<u8> {
    (0..=255u8).chain([0, 0, 255, 13, 10]).collect()
}

#[tokio::test]
async fn upload_octet_stream_is_stored_byte_exact() {
    let h = harness().await;
    h.call(Method::POST, "/pet", Some(pet("rex", "available"))).await;
    let data = binary_payload();
    let (s, b) = h
        .raw(
            Method::POST,
            "/pet/1/uploadImage?additionalMetadata=x",
            "application/octet-stream",
            &data,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let message = format!(
        "additionalMetadata: x\nFile uploaded to ./upload, {} bytes",
        data.len()
    );
    assert_eq!(b, json!({"code": 200, "type": "unknown", "message": message}));
    let (_, b) = h
        .raw(
            Method::POST,
            "/pet/1/uploadImage",
            "application/octet-stream",
            b"second",
        )
        .await;
    assert_eq!(b["message"], "File uploaded to ./upload, 6 bytes");
    let store = h.server.store();
    assert_eq!(
        store.pet_images(1),
        vec![(Some("x".to_owned()), data.clone()), (None, b"second".to_vec())]
    );
    let (_, got) = h.call(Method::GET, "/pet/1", None).await;
    assert_eq!(
        got["photoUrls"],
        json!(["http://x/1.png", "/images/1/1", "/images/1/2"])
    );
    let served = h.client.get(h.root("/images/1/1")).send().await.expect("image");
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.expect("bytes").to_vec(), data);
    let (s, b) = h
        .raw(
            Method::POST,
            "/pet/1/uploadImage",
            "application/octet-stream",
            b"",
        )
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h
        .raw(
            Method::POST,
            "/pet/2/uploadImage",
            "application/octet-stream",
            b"x",
        )
        .await;
    assert_error(s, &b, 404);
}

#[tokio::test]
async fn upload_multipart_is_stored_byte_exact() {
    let h = harness().await;
    h.call(Method::POST, "/pet", Some(pet("rex", "available"))).await;
    let data = binary_payload();
    let boundary = "XyZboundary42";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"additionalMetadata\"\r\n\r\nfrom-form\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let ctype = format!("multipart/form-data; boundary={boundary}");
    let (s, b) = h.raw(Method::POST, "/pet/1/uploadImage", &ctype, &body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        b["message"],
        format!(
            "additionalMetadata: from-form\nFile uploaded to ./upload, {} bytes",
            data.len()
        )
    );
    assert_eq!(
        h.server.store().pet_images(1),
        vec![(Some("from-form".to_owned()), data)]
    );
    // Query metadata wins over the form field.
    let (_, b) = h
        .raw(
            Method::POST,
            "/pet/1/uploadImage?additionalMetadata=q",
            &ctype,
            &body,
        )
        .await;
    assert!(
        b["message"]
            .as_str()
            .expect("message")
            .starts_with("additionalMetadata: q\n")
    );
    assert_eq!(
        h.server.store().pet(1).expect("pet")["photoUrls"][2],
        "/images/1/2"
    );
}

#[tokio::test]
async fn unknown_route_and_wrong_method() {
    let h = harness().await;
    let (s, b) = h.call(Method::GET, "/nope", None).await;
    assert_error(s, &b, 404);
    let (s, b) = h.call(Method::DELETE, "/pet", None).await;
    assert_error(s, &b, 405);
    let (s, b) = h.call(Method::PATCH, "/pet/1", None).await;
    assert_error(s, &b, 405);
    let (s, b) = h.call(Method::GET, "/user/login/extra", None).await;
    assert_error(s, &b, 404);
}
