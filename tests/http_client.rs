//! `ClientTelemetry`: a request that fails is visible in its client span and in
//! `http_client_request_duration_seconds`, not only as an error line: a refused connection, a timeout and
//! a 503 each end the span in `ERROR` with a bounded `error.type`, and count under their status code (`0`
//! when no response came). Checked in the exported spans (decoded OTLP) and in the local span summaries.

mod common;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use sightline::http::{ClientTelemetry, UrlTemplate};
use std::net::SocketAddr;
use std::time::Duration;

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("server runs") });
    addr
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The three failures, each under a template of its own; returns the base URLs' ports.
async fn fail_three_ways() -> (u16, u16) {
    let server = serve(
        Router::new()
            .route(
                "/slow",
                get(|| async { tokio::time::sleep(Duration::from_secs(5)).await }),
            )
            .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE })),
    )
    .await;
    let client = reqwest_middleware::ClientBuilder::new(
        reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .with(ClientTelemetry::new())
    .build();
    let refused = closed_port();
    let error = client
        .get(format!("http://127.0.0.1:{refused}/stock"))
        .with_extension(UrlTemplate("/refused"))
        .send()
        .await
        .expect_err("nothing listens");
    assert!(error.is_connect(), "{error}");
    let error = client
        .get(format!("http://127.0.0.1:{}/slow", server.port()))
        .with_extension(UrlTemplate("/slow"))
        .send()
        .await
        .expect_err("the server is too slow");
    assert!(error.is_timeout(), "{error}");
    let response = client
        .get(format!("http://127.0.0.1:{}/down", server.port()))
        .with_extension(UrlTemplate("/down"))
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status(), 503);
    (refused, server.port())
}

/// `http_client_request_duration_seconds_count` of `GET` to 127.0.0.1 with `status_code`.
fn counted(status_code: &str) -> f64 {
    common::client_calls("127.0.0.1", status_code)
}

fn builder(logs: &common::Captured) -> sightline::TelemetryBuilder {
    sightline::Telemetry::builder("http-client")
        .log_writer(logs.clone())
        .log_level("info,sightline::spans=debug")
        .registry(prometheus::Registry::new())
        .process_metrics(false)
}

// One test: both set-ups count into the one process-wide client family, so they take turns.
#[tokio::test]
async fn failed_calls_end_their_client_spans_in_error_and_count_as_such() {
    use tracing_subscriber::layer::SubscriberExt as _;

    // No collector: the summaries.
    let logs = common::Captured::default();
    let (layer, _guard) = builder(&logs).into_layer().expect("the layer builds");
    let default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let before = (counted("0"), counted("503"));
    fail_three_ways().await;
    assert_eq!(
        counted("0") - before.0,
        2.0,
        "refused and timed out: status_code 0"
    );
    assert_eq!(counted("503") - before.1, 1.0, "the 503");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let summaries = loop {
        let summaries: Vec<Value> = logs
            .lines()
            .into_iter()
            .filter(|l| l["message"] == "span completed")
            .collect();
        if summaries.len() >= 3 || std::time::Instant::now() > deadline {
            break summaries;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for name in ["GET /refused", "GET /slow", "GET /down"] {
        let summary = summaries
            .iter()
            .find(|l| l["span.name"] == name)
            .unwrap_or_else(|| panic!("no summary of {name}: {summaries:#?}"));
        assert_eq!(summary["status"], "ERROR", "{summary}");
    }
    drop(default);

    // Spans exported: the decoded OTLP.
    let receiver = otlp_receiver::Receiver::start();
    let logs = common::Captured::default();
    let (layer, guard) = builder(&logs)
        .otlp_endpoint(receiver.base_url())
        .into_layer()
        .expect("the layer builds");
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let (refused, server) = fail_three_ways().await;
    let _ = guard.flush(Duration::from_secs(10));
    for (name, error_type, status, port) in [
        ("GET /refused", "connect", None, refused),
        ("GET /slow", "timeout", None, server),
        ("GET /down", "503", Some("503"), server),
    ] {
        let span = receiver.span(name);
        assert_eq!(span.span.kind, 3, "{name}: SPAN_KIND_CLIENT");
        assert_eq!(span.status().0, 2, "{name}: STATUS_CODE_ERROR");
        let attributes = span.attributes();
        assert_eq!(attributes["error.type"], error_type, "{name}");
        assert_eq!(
            attributes
                .get("http.response.status_code")
                .map(String::as_str),
            status,
            "{name}"
        );
        assert_eq!(attributes["server.port"], port.to_string(), "{name}");
        assert_eq!(
            attributes["url.template"],
            name.trim_start_matches("GET "),
            "{name}"
        );
    }
}
