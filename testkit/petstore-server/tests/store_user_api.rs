//! Integration tests of the `store` and `user` endpoints over real HTTP.

mod common;

use common::{assert_error, harness, keys};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn inventory_counts_pets_by_status() {
    let h = harness().await;
    let (s, b) = h.call(Method::GET, "/store/inventory", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!({}));
    for status in ["sold", "available", "sold", "pending", "sold"] {
        h.call(
            Method::POST,
            "/pet",
            Some(json!({"name": "p", "photoUrls": [], "status": status})),
        )
        .await;
    }
    h.call(
        Method::POST,
        "/pet",
        Some(json!({"name": "no-status", "photoUrls": []})),
    )
    .await;
    let (_, b) = h.call(Method::GET, "/store/inventory", None).await;
    assert_eq!(b, json!({"available": 1, "pending": 1, "sold": 3}));
}

#[tokio::test]
async fn place_order_assigns_ids_upserts_and_round_trips_falsy_values() {
    let h = harness().await;
    let body = json!({"petId": 0, "quantity": 0, "shipDate": "", "status": "placed", "complete": false});
    let (s, created) = h.call(Method::POST, "/store/order", Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    let expected =
        json!({"id": 1, "petId": 0, "quantity": 0, "shipDate": "", "status": "placed", "complete": false});
    assert_eq!(created, expected);
    assert_eq!(
        keys(&created),
        ["id", "petId", "quantity", "shipDate", "status", "complete"]
    );
    let (s, got) = h.call(Method::GET, "/store/order/1", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, expected);
    let (_, second) = h
        .call(Method::POST, "/store/order", Some(json!({"petId": 3})))
        .await;
    assert_eq!(second, json!({"id": 2, "petId": 3}));
    let (_, upserted) = h
        .call(
            Method::POST,
            "/store/order",
            Some(json!({"id": 1, "status": "delivered", "x": 1})),
        )
        .await;
    assert_eq!(upserted, json!({"id": 1, "status": "delivered"}));
    assert_eq!(h.server.store().order(1), Some(upserted));
}

#[tokio::test]
async fn order_errors() {
    let h = harness().await;
    let (s, b) = h
        .call(Method::POST, "/store/order", Some(json!({"status": "lost"})))
        .await;
    assert_error(s, &b, 422);
    let (s, b) = h
        .raw(Method::POST, "/store/order", "application/json", b"{oops")
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h
        .call(Method::POST, "/store/order", Some(json!({"quantity": "many"})))
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h.call(Method::GET, "/store/order/5", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b, json!({"code": 404, "message": "Order not found"}));
    let (s, b) = h.call(Method::GET, "/store/order/x", None).await;
    assert_error(s, &b, 400);
    assert!(h.server.store().orders().is_empty());
}

#[tokio::test]
async fn delete_order_then_not_found() {
    let h = harness().await;
    h.call(Method::POST, "/store/order", Some(json!({"id": 10, "petId": 1})))
        .await;
    let (s, b) = h.call(Method::DELETE, "/store/order/10", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!("Order deleted"));
    let (s, b) = h.call(Method::DELETE, "/store/order/10", None).await;
    assert_error(s, &b, 404);
    let (s, b) = h.call(Method::DELETE, "/store/order/ten", None).await;
    assert_error(s, &b, 400);
}

fn user(name: &str) -> serde_json::Value {
    json!({"id": 0, "username": name, "firstName": "", "lastName": "L", "email": "e@x", "password": "pw",
           "phone": "", "userStatus": 0})
}

#[tokio::test]
async fn user_create_get_update_delete() {
    let h = harness().await;
    let (s, created) = h.call(Method::POST, "/user", Some(user("alice"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(created, user("alice"));
    let (s, got) = h.call(Method::GET, "/user/alice", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, user("alice"));
    assert_eq!(keys(&got), keys(&user("alice")));
    // Update keeps the path username when the body has none.
    let (s, updated) = h
        .call(Method::PUT, "/user/alice", Some(json!({"email": "new@x"})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(updated, json!({"username": "alice", "email": "new@x"}));
    assert_eq!(h.server.store().user("alice"), Some(updated));
    // A different body username renames.
    let (s, _) = h
        .call(Method::PUT, "/user/alice", Some(json!({"username": "alicia"})))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.server.store().user("alice").is_none());
    assert!(h.server.store().user("alicia").is_some());
    let (s, b) = h
        .call(Method::PUT, "/user/nobody", Some(json!({"email": "x"})))
        .await;
    assert_error(s, &b, 404);
    let (s, b) = h.call(Method::DELETE, "/user/alicia", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!("User deleted"));
    let (s, b) = h.call(Method::GET, "/user/alicia", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b, json!({"code": 404, "message": "User not found"}));
    let (s, b) = h.call(Method::DELETE, "/user/alicia", None).await;
    assert_error(s, &b, 404);
}

#[tokio::test]
async fn user_errors() {
    let h = harness().await;
    let (s, b) = h.call(Method::POST, "/user", Some(json!({"email": "x"}))).await;
    assert_error(s, &b, 422);
    let (s, b) = h.raw(Method::POST, "/user", "application/json", b"[").await;
    assert_error(s, &b, 400);
    let (s, b) = h
        .call(
            Method::POST,
            "/user",
            Some(json!({"username": "u", "userStatus": "x"})),
        )
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h
        .raw(
            Method::POST,
            "/user",
            "application/x-www-form-urlencoded",
            b"username=u",
        )
        .await;
    assert_error(s, &b, 415);
    assert!(h.server.store().users().is_empty());
}

#[tokio::test]
async fn create_with_list_stores_all_and_returns_last() {
    let h = harness().await;
    let (s, b) = h
        .call(
            Method::POST,
            "/user/createWithList",
            Some(json!([user("a"), user("b")])),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, user("b"));
    assert_eq!(h.server.store().users(), vec![user("a"), user("b")]);
    let (s, b) = h
        .call(Method::POST, "/user/createWithList", Some(json!([])))
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h
        .call(
            Method::POST,
            "/user/createWithList",
            Some(json!([user("c"), {"email": "x"}])),
        )
        .await;
    assert_error(s, &b, 422);
    assert!(h.server.store().user("c").is_none(), "all-or-nothing");
    let (s, b) = h
        .call(Method::POST, "/user/createWithList", Some(user("d")))
        .await;
    assert_error(s, &b, 400);
}

#[tokio::test]
async fn login_returns_session_and_headers_and_logout() {
    let h = harness().await;
    h.call(Method::POST, "/user", Some(user("alice"))).await;
    let resp = h
        .client
        .get(h.api("/user/login?username=alice&password=pw"))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-rate-limit"], "5000");
    let expires = resp.headers()["x-expires-after"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        expires.len() == 20 && expires.ends_with('Z') && expires.as_bytes()[10] == b'T',
        "{expires}"
    );
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/json")
    );
    assert_eq!(
        resp.json::<serde_json::Value>().await.expect("json"),
        json!("logged in user session:1")
    );
    // Unknown users may log in (like the real petstore); sessions count up.
    let (s, b) = h
        .call(Method::GET, "/user/login?username=ghost&password=x", None)
        .await;
    assert_eq!((s, b), (StatusCode::OK, json!("logged in user session:2")));
    let (s, b) = h
        .call(Method::GET, "/user/login?username=alice&password=wrong", None)
        .await;
    assert_error(s, &b, 400);
    let (s, b) = h.call(Method::GET, "/user/login?username=alice", None).await;
    assert_error(s, &b, 400);
    let (s, b) = h.call(Method::GET, "/user/login", None).await;
    assert_error(s, &b, 400);
    let (s, b) = h.call(Method::GET, "/user/logout", None).await;
    assert_eq!((s, b), (StatusCode::OK, json!("User logged out")));
}
