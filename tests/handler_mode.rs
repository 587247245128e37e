//! Handler mode against a real axum server on 127.0.0.1: `http_*` families with exact status codes.

mod common;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{telemetry, value};
use serde::{Deserialize, Serialize};
use sightline::{observe, ErrorLabel, HttpStatus};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Serialize, Deserialize)]
struct Item {
    name: String,
}

#[derive(Debug, ErrorLabel)]
enum ApiError {
    Invalid,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid item")
    }
}

impl HttpStatus for ApiError {
    fn status_code(&self) -> u16 {
        422
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (StatusCode::UNPROCESSABLE_ENTITY, self.to_string()).into_response()
    }
}

/// An error type without `HttpStatus`: `Err` counts as 500.
#[derive(Debug)]
struct Opaque;

impl IntoResponse for Opaque {
    fn into_response(self) -> Response {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

#[observe(route = "/items", method = "POST", fields(name_len = body.name.len()))]
async fn create(Json(body): Json<Item>) -> Result<(StatusCode, Json<Item>), ApiError> {
    if body.name.is_empty() {
        return Err(ApiError::Invalid);
    }
    Ok((StatusCode::CREATED, Json(body)))
}

#[observe(route = "/items/{id}", method = "GET")]
async fn fetch(Path(id): Path<u32>) -> Result<Json<Item>, StatusCode> {
    match id {
        1 => Ok(Json(Item { name: "one".into() })),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

#[observe(route = "/plain", method = "GET")]
async fn plain() -> impl IntoResponse {
    "hello"
}

#[derive(Deserialize)]
struct FailQuery {
    fail: bool,
}

#[observe(route = "/fallible", method = "GET")]
async fn fallible(Query(q): Query<FailQuery>) -> Result<String, Opaque> {
    if q.fail {
        Err(Opaque)
    } else {
        Ok("fine".into())
    }
}

/// One HTTP/1.1 request over a fresh connection; returns the status code.
async fn request(addr: std::net::SocketAddr, method: &str, path: &str, body: Option<&str>) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("response within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"))
}

fn requests(method: &str, route: &str, status: &str) -> Option<f64> {
    value(
        "http_requests_total",
        &[
            ("method", method),
            ("route", route),
            ("status_code", status),
        ],
    )
}

#[tokio::test]
async fn handler_mode_counts_requests_with_exact_status_codes() {
    let out = telemetry();
    let app = Router::new()
        .route("/items", post(create))
        .route("/items/{id}", get(fetch))
        .route("/plain", get(plain))
        .route("/fallible", get(fallible));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    assert_eq!(
        request(addr, "POST", "/items", Some(r#"{"name":"a"}"#)).await,
        201
    );
    assert_eq!(
        request(addr, "POST", "/items", Some(r#"{"name":"b"}"#)).await,
        201
    );
    assert_eq!(
        request(addr, "POST", "/items", Some(r#"{"name":""}"#)).await,
        422
    );
    assert_eq!(request(addr, "GET", "/items/1", None).await, 200);
    assert_eq!(request(addr, "GET", "/items/2", None).await, 404);
    assert_eq!(request(addr, "GET", "/plain", None).await, 200);
    assert_eq!(
        request(addr, "GET", "/fallible?fail=false", None).await,
        200
    );
    assert_eq!(request(addr, "GET", "/fallible?fail=true", None).await, 503);
    server.abort();

    assert_eq!(requests("POST", "/items", "201"), Some(2.0));
    assert_eq!(requests("POST", "/items", "422"), Some(1.0));
    assert_eq!(requests("GET", "/items/{id}", "200"), Some(1.0));
    assert_eq!(requests("GET", "/items/{id}", "404"), Some(1.0));
    assert_eq!(
        requests("GET", "/plain", "200"),
        Some(1.0),
        "impl IntoResponse: Ok is 200"
    );
    assert_eq!(requests("GET", "/fallible", "200"), Some(1.0));
    assert_eq!(
        requests("GET", "/fallible", "500"),
        Some(1.0),
        "an Err without HttpStatus counts as 500 (the layer sees the real 503)"
    );
    let b = common::buckets(
        "http_request_duration_seconds",
        &[
            ("method", "POST"),
            ("route", "/items"),
            ("status_code", "201"),
        ],
    )
    .expect("histogram exists");
    assert_eq!(b.last().unwrap().1, 2.0);
    assert_eq!(
        value(
            "http_requests_in_flight",
            &[("method", "POST"), ("route", "/items")]
        ),
        Some(0.0)
    );
    assert!(
        value("function_calls_total", &[("function", "create")]).is_none(),
        "handler mode records the http families instead"
    );

    let lines = out.for_function("create");
    assert_eq!(lines.len(), 3);
    let created = lines.iter().find(|l| l["status_code"] == 201).unwrap();
    assert_eq!(created["method"], "POST");
    assert_eq!(created["route"], "/items");
    assert_eq!(created["level"], "info");
    assert_eq!(created["name_len"], 1);
    assert!(
        created.get("http.route").is_none(),
        "span-only fields stay off the line"
    );
    let invalid = lines.iter().find(|l| l["status_code"] == 422).unwrap();
    assert_eq!(invalid["level"], "warn", "a 4xx is the client's mistake");
    assert_eq!(invalid["result"], "ok");
    assert_eq!(invalid["error_kind"], "invalid");
    assert_eq!(invalid["error"], "invalid item");
    let failed = out
        .for_function("fallible")
        .into_iter()
        .find(|l| l["status_code"] == 500)
        .unwrap();
    assert_eq!(failed["level"], "error");
    assert_eq!(failed["result"], "error");
}
