//! Specs fetched over HTTP: a loopback server serves the Petstore spec (and a 404), the CLI generates from the URL.

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;

/// Serves `requests` HTTP/1.1 requests on 127.0.0.1: `/petstore-3.0.yaml` → the spec, anything else → 404.
fn serve(requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let spec = std::fs::read(common::repo_root().join("specs/petstore-3.0.yaml")).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let (status, body): (&str, &[u8]) = if request_line.starts_with("GET /petstore-3.0.yaml ") {
                ("200 OK", &spec)
            } else {
                ("404 Not Found", b"no such spec")
            };
            write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/yaml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(body).unwrap();
        }
    });
    format!("http://{addr}")
}

#[test]
fn generates_from_a_url_like_from_the_file() {
    let base = serve(1);
    let tmp = tempfile::tempdir().unwrap();
    let from_url = tmp.path().join("from-url");
    let from_file = tmp.path().join("from-file");
    let bin = env!("CARGO_BIN_EXE_openapi-operator-gen");
    let run = |spec: &str, out: &std::path::Path| {
        Command::new(bin)
            .current_dir(common::repo_root())
            .args([
                "--quiet",
                "--standalone",
                "--runtime-version",
                "0.1.0",
                "--spec",
                spec,
                "--output",
            ])
            .arg(out)
            .output()
            .unwrap()
    };
    let out = run(&format!("{base}/petstore-3.0.yaml"), &from_url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("specs/petstore-3.0.yaml", &from_file);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for file in [
        "src/resources/pet.rs",
        "deploy/crds/pets.petstore.example.com.yaml",
        "Cargo.toml",
    ] {
        assert_eq!(
            std::fs::read_to_string(from_url.join(file)).unwrap(),
            std::fs::read_to_string(from_file.join(file)).unwrap(),
            "{file} differs between URL and file input"
        );
    }
}

#[test]
fn an_http_error_names_the_url_and_status_and_writes_nothing() {
    let base = serve(1);
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let url = format!("{base}/missing.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_openapi-operator-gen"))
        .args(["--quiet", "--spec", &url, "--output"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&url) && stderr.contains("404"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert!(!out_dir.exists());
}
