//! Integration tests of test control: fault injection, request log, in-process store API, admin
//! HTTP endpoints, multiple servers, shutdown, and the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_error, client, harness, parse};
use petstore_server::{Fault, PetstoreServer, RecordedRequest};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn pet(name: &str) -> serde_json::Value {
    json!({"name": name, "photoUrls": [], "status": "available"})
}

#[tokio::test]
async fn fault_applies_n_times_then_recovers_and_is_recorded() {
    let h = harness().await;
    h.call(Method::POST, "/pet", Some(pet("rex"))).await;
    h.server
        .store()
        .inject_fault(Fault::status("/api/v3/pet/1", 500).times(3));
    for _ in 0..3 {
        let (s, b) = h.call(Method::GET, "/pet/1", None).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(b, json!({"code": 500, "message": "injected fault"}));
    }
    let (s, b) = h.call(Method::GET, "/pet/1", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["name"], "rex");
    let store = h.server.store();
    assert!(store.faults().is_empty());
    assert_eq!(store.request_count("GET", "/api/v3/pet/1"), 4);
    assert_eq!(store.request_count("get", "/pet/1"), 4);
    let statuses: Vec<u16> = store.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 500, 500, 500, 200]);
    assert_eq!(
        store.requests()[0],
        RecordedRequest {
            method: "POST".into(),
            path: "/api/v3/pet".into(),
            query: None,
            content_type: Some("application/json".into()),
            body_len: serde_json::to_vec(&pet("rex")).expect("json").len(),
            status: 200,
        }
    );
}

#[tokio::test]
async fn fault_method_filter_and_first_match_wins() {
    let h = harness().await;
    let store = h.server.store();
    store.inject_fault(Fault::status("/api/v3/pet", 409).method("post"));
    store.inject_fault(Fault::status("/api/v3/pet", 502));
    let (s, b) = h.call(Method::POST, "/pet", Some(pet("a"))).await;
    assert_error(s, &b, 409);
    let (s, b) = h.call(Method::GET, "/pet/findByStatus", None).await;
    assert_error(s, &b, 502);
    // Other prefixes are untouched.
    let (s, _) = h.call(Method::GET, "/store/inventory", None).await;
    assert_eq!(s, StatusCode::OK);
    store.clear_faults();
    let (s, _) = h.call(Method::POST, "/pet", Some(pet("a"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(store.pets().len(), 1);
}

#[tokio::test]
async fn delay_only_fault_delays_the_real_response() {
    let h = harness().await;
    h.call(Method::POST, "/pet", Some(pet("rex"))).await;
    h.server
        .store()
        .inject_fault(Fault::delay_only("/api/v3/pet", Duration::from_millis(300)).times(1));
    let started = Instant::now();
    let (s, b) = h.call(Method::GET, "/pet/1", None).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!((s, b["name"].as_str()), (StatusCode::OK, Some("rex")));
    let started = Instant::now();
    h.call(Method::GET, "/pet/1", None).await;
    assert!(started.elapsed() < Duration::from_millis(300), "delay used up");
    // A delayed status fault: a short client timeout fires before the answer.
    h.server
        .store()
        .inject_fault(Fault::status("/api/v3/pet", 500).delay(Duration::from_millis(800)));
    let timed_out = h
        .client
        .get(h.api("/pet/1"))
        .timeout(Duration::from_millis(150))
        .send()
        .await;
    assert!(timed_out.expect_err("should time out").is_timeout());
    let started = Instant::now();
    let (s, _) = h.call(Method::GET, "/pet/1", None).await;
    assert!(started.elapsed() >= Duration::from_millis(800));
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn fault_headers_and_non_json_body() {
    let h = harness().await;
    let fault = Fault::status("/api/v3/", 503)
        .header("Retry-After", "2")
        .body("not json")
        .times(1);
    h.server.store().inject_fault(fault);
    let resp = h
        .client
        .get(h.api("/store/inventory"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    assert_eq!(resp.text().await.expect("text"), "not json");
    // A JSON-looking body is labelled JSON; a content-type header overrides.
    let store = h.server.store();
    store.inject_fault(Fault::status("/api/v3/", 429).body(r#"{"slow":"down"}"#).times(1));
    store.inject_fault(
        Fault::status("/api/v3/", 500)
            .body("{\"a\":1}")
            .header("Content-Type", "application/problem+json")
            .times(1),
    );
    let resp = h
        .client
        .get(h.api("/store/inventory"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.json::<serde_json::Value>().await.expect("json"),
        json!({"slow": "down"})
    );
    let resp = h
        .client
        .get(h.api("/store/inventory"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn in_process_store_api() {
    let h = harness().await;
    let store = h.server.store();
    store.put_pet(json!({"id": 5, "name": "raw", "weird": [1]}));
    let (s, b) = h.call(Method::GET, "/pet/5", None).await;
    assert_eq!(
        (s, b),
        (StatusCode::OK, json!({"id": 5, "name": "raw", "weird": [1]}))
    );
    store.put_pet(json!({"name": "no id"}));
    assert_eq!(store.pet(1), Some(json!({"name": "no id", "id": 1})));
    assert!(store.remove_pet(5));
    assert!(!store.remove_pet(5));
    store.put_order(json!({"id": 3, "status": "placed"}));
    assert_eq!(
        h.call(Method::GET, "/store/order/3", None).await.1,
        json!({"id": 3, "status": "placed"})
    );
    assert!(store.remove_order(3) && store.order(3).is_none());
    store.put_user(json!({"username": "bob"}));
    assert_eq!(
        h.call(Method::GET, "/user/bob", None).await.1,
        json!({"username": "bob"})
    );
    assert!(store.remove_user("bob") && store.user("bob").is_none());
    h.raw(
        Method::POST,
        "/pet/1/uploadImage",
        "application/octet-stream",
        b"img",
    )
    .await;
    assert_eq!(store.pet_images(1), vec![(None, b"img".to_vec())]);
    store.inject_fault(Fault::status("/", 500));
    store.reset();
    assert!(store.pets().is_empty() && store.pet_images(1).is_empty() && store.faults().is_empty());
    assert!(store.requests().is_empty());
    let (_, b) = h.call(Method::POST, "/pet", Some(pet("fresh"))).await;
    assert_eq!(b["id"], 1, "ids restart after reset");
}

#[tokio::test]
async fn admin_http_endpoints() {
    let h = harness().await;
    let c = &h.client;
    let health = c.get(h.root("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<serde_json::Value>().await.expect("json"),
        json!({"status": "ok"})
    );

    let fault = json!({"method": "GET", "path_prefix": "/api/v3/pet", "status": 503, "remaining": 1,
                       "headers": [["Retry-After", "7"]]});
    let resp = c
        .post(h.root("/__admin/faults"))
        .json(&fault)
        .send()
        .await
        .expect("add fault");
    assert_eq!(resp.status(), StatusCode::OK);
    let listed = resp.json::<serde_json::Value>().await.expect("json");
    assert_eq!(listed[0]["status"], 503);
    assert_eq!(listed[0]["delay_ms"], serde_json::Value::Null);
    let resp = c.get(h.api("/pet/1")).send().await.expect("faulted");
    assert_eq!(
        (resp.status(), resp.headers()["retry-after"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, "7".parse().expect("hv"))
    );
    let (s, b) = h.call(Method::GET, "/pet/1", None).await;
    assert_error(s, &b, 404);

    // A catch-all fault never blocks the admin endpoints, and can be cleared over HTTP.
    let all = json!({"path_prefix": "/", "status": 500, "delay_ms": 10});
    assert_eq!(
        c.post(h.root("/__admin/faults"))
            .json(&all)
            .send()
            .await
            .expect("add")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        h.call(Method::GET, "/store/inventory", None).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        h.server.store().faults()[0].delay,
        Some(Duration::from_millis(10))
    );
    assert_eq!(
        c.delete(h.root("/__admin/faults"))
            .send()
            .await
            .expect("clear")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        h.call(Method::GET, "/store/inventory", None).await.0,
        StatusCode::OK
    );
    let bad = c
        .post(h.root("/__admin/faults"))
        .json(&json!({"path_prefix": "/", "status": 1000}))
        .send()
        .await;
    assert_eq!(bad.expect("bad fault").status(), StatusCode::BAD_REQUEST);
    let bad = c
        .post(h.root("/__admin/faults"))
        .json(&json!({"status": 500}))
        .send()
        .await;
    assert_eq!(bad.expect("bad fault").status(), StatusCode::BAD_REQUEST);

    let raw = json!({"name": "raw", "photoUrls": [], "extra": {"kept": true}});
    let resp = c
        .put(h.root("/__admin/pets/7"))
        .json(&raw)
        .send()
        .await
        .expect("put pet");
    assert_eq!(resp.status(), StatusCode::OK);
    let expected = json!({"name": "raw", "photoUrls": [], "extra": {"kept": true}, "id": 7});
    assert_eq!(h.call(Method::GET, "/pet/7", None).await.1, expected);
    h.call(Method::POST, "/store/order", Some(json!({"petId": 7})))
        .await;
    h.call(Method::POST, "/user", Some(json!({"username": "u"})))
        .await;
    let state: serde_json::Value = c
        .get(h.root("/__admin/state"))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(
        state,
        json!({"pets": [expected], "orders": [{"id": 1, "petId": 7}], "users": [{"username": "u"}]})
    );

    let log: Vec<RecordedRequest> = c
        .get(h.root("/__admin/requests"))
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let summary: Vec<(String, String, u16)> = log
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    let expect = |m: &str, p: &str, s: u16| (m.to_owned(), p.to_owned(), s);
    assert_eq!(
        summary,
        [
            expect("GET", "/api/v3/pet/1", 503),
            expect("GET", "/api/v3/pet/1", 404),
            expect("GET", "/api/v3/store/inventory", 500),
            expect("GET", "/api/v3/store/inventory", 200),
            expect("GET", "/api/v3/pet/7", 200),
            expect("POST", "/api/v3/store/order", 200),
            expect("POST", "/api/v3/user", 200),
        ],
        "admin and healthz requests are not recorded"
    );

    assert_eq!(
        c.post(h.root("/__admin/reset"))
            .send()
            .await
            .expect("reset")
            .status(),
        StatusCode::OK
    );
    let state: serde_json::Value = c
        .get(h.root("/__admin/state"))
        .send()
        .await
        .expect("state")
        .json()
        .await
        .expect("json");
    assert_eq!(state, json!({"pets": [], "orders": [], "users": []}));
    let log = c
        .get(h.root("/__admin/requests"))
        .send()
        .await
        .expect("log")
        .text()
        .await
        .expect("text");
    assert_eq!(parse(&log), json!([]));
}

#[tokio::test]
async fn two_servers_on_different_loopback_addresses_are_independent() {
    let c = client();
    let a = PetstoreServer::start().await.expect("a");
    let b = PetstoreServer::start_on("127.0.0.2:0".parse().expect("addr"))
        .await
        .expect("b");
    assert_eq!(a.addr().ip().to_string(), "127.0.0.1");
    assert_eq!(b.addr().ip().to_string(), "127.0.0.2");
    assert_eq!(
        b.base_url(),
        format!("http://127.0.0.2:{}/api/v3", b.addr().port())
    );
    let resp = c
        .post(format!("{}/pet", a.base_url()))
        .json(&pet("only-a"))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::OK);
    b.store().inject_fault(Fault::status("/", 500));
    assert_eq!(
        c.get(format!("{}/pet/1", a.base_url()))
            .send()
            .await
            .expect("a")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        c.get(format!("{}/pet/1", b.base_url()))
            .send()
            .await
            .expect("b")
            .status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    b.store().clear_faults();
    assert_eq!(
        c.get(format!("{}/pet/1", b.base_url()))
            .send()
            .await
            .expect("b")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(a.store().pets().len(), 1);
    assert!(b.store().pets().is_empty());
    assert_eq!(a.store().request_count("GET", "/pet/1"), 1);
    assert_eq!(b.store().request_count("GET", "/pet/1"), 2);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let server = PetstoreServer::start().await.expect("start");
    let url = format!("http://{}/healthz", server.addr());
    let c = client();
    assert_eq!(c.get(&url).send().await.expect("up").status(), StatusCode::OK);
    server.shutdown().await;
    let fresh = client();
    assert!(
        fresh.get(&url).send().await.is_err(),
        "connection refused after shutdown"
    );
}

#[tokio::test]
async fn binary_prints_address_serves_and_exits_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_petstore-server"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn binary");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read line");
        line
    })
    .await
    .expect("join");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("banner")
        .to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/api/v3"),
        "{base}"
    );
    let c = client();
    let (s, b) = {
        let resp = c
            .post(format!("{base}/pet"))
            .json(&pet("bin"))
            .send()
            .await
            .expect("post");
        (
            resp.status(),
            resp.json::<serde_json::Value>().await.expect("json"),
        )
    };
    assert_eq!((s, b["id"].as_i64()), (StatusCode::OK, Some(1)));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "clean exit on SIGTERM: {status}");
}
