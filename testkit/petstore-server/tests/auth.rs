//! Integration tests of optional credential enforcement: API routes need a configured credential, control routes never do, and a rotated requirement applies to the next request.

mod common;

use common::harness;
use petstore_server::AuthRequirement;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn api_routes_need_a_configured_credential_and_401s_name_none() {
    let h = harness().await;
    let (s, _) = h.call(Method::GET, "/pet/1", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no enforcement by default");

    h.server
        .store()
        .require_auth(vec![AuthRequirement::api_key_header("api_key", "s3cr3t-1")]);
    let resp = h
        .client
        .get(h.api("/pet/1"))
        .header("api_key", "wrong-key")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
    let text = resp.text().await.unwrap();
    assert!(!text.contains("s3cr3t") && !text.contains("wrong-key"), "{text}");
    let resp = h
        .client
        .get(h.api("/pet/1"))
        .header("api_key", "s3cr3t-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = h.client.get(h.root("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "control routes are open");
    assert_eq!(h.server.store().requests().last().map(|r| r.status), Some(404));

    // Rotation over the admin API: the old key stops working at once.
    let resp = h
        .client
        .put(h.root("/__admin/auth"))
        .json(
            &json!([{"type": "bearer", "token": "t2"}, {"type": "basic", "username": "u", "password": "p"}]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = h
        .client
        .get(h.api("/pet/1"))
        .header("api_key", "s3cr3t-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = h
        .client
        .get(h.api("/pet/1"))
        .bearer_auth("t2")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = h
        .client
        .get(h.api("/pet/1"))
        .header("authorization", "Basic dTpw")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let resp = h.client.delete(h.root("/__admin/auth")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (s, _) = h.call(Method::GET, "/pet/1", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
