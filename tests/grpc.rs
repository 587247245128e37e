//! gRPC through `sightline::grpc`: a real tonic server (the `grpc.health.v1.Health` service of
//! `tonic-health`) behind `grpc::layer()`, called by a tonic client through `grpc::client_layer()`, on
//! 127.0.0.1, from inside an HTTP request served by `sightline::http::layer()`: one trace across the HTTP
//! server span, the gRPC client span and the gRPC server span (decoded OTLP); `grpc_*` metrics under
//! their status code names; one access line per call; `NotFound` an answer, not a failure.

mod common;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

type Client = HealthClient<sightline::grpc::GrpcClientService<tonic::transport::Channel>>;

async fn client(addr: SocketAddr) -> Client {
    HealthClient::new(common::grpc_calls::traced_channel(addr).await)
}

/// The HTTP handler that asks the gRPC service whether `orders` is serving.
async fn status(State(addr): State<SocketAddr>) -> String {
    let mut client = client(addr).await;
    let response = client
        .check(HealthCheckRequest {
            service: "orders".into(),
        })
        .await
        .unwrap();
    format!("{:?}", response.into_inner().status)
}

#[tokio::test]
async fn one_trace_from_an_http_request_through_a_grpc_call() {
    let receiver = otlp_receiver::Receiver::start();
    let logs = common::Captured::default();
    let (guard, _default) =
        common::scoped_telemetry("grpc-test", &logs, "info", Some(receiver.base_url()));

    let grpc = common::grpc_calls::serve_health(&["orders"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/status", get(status))
        .with_state(grpc)
        .layer(sightline::http::layer());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let before = handled("grpc_server_handled_total", "OK");
    let before_client = handled("grpc_client_handled_total", "OK");
    let body = reqwest::get(format!("http://{http}/status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "1", "SERVING");

    // NotFound: an answer (the caller asked for a service that is not there), not the server's fault.
    let mut direct = client(grpc).await;
    let status = direct
        .check(HealthCheckRequest {
            service: "nothing-here".into(),
        })
        .await
        .expect_err("an unknown service");
    assert_eq!(status.code(), tonic::Code::NotFound);

    // Unimplemented (a method the server does not have): the server's fault.
    common::grpc_calls::call_unimplemented(grpc).await;

    let _ = guard.flush(Duration::from_secs(10));
    let spans = receiver.spans();
    let request = receiver.span("GET /status");
    let named: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "grpc.health.v1.Health/Check")
        .collect();
    let server = named
        .iter()
        .find(|s| s.span.kind == 2 && s.trace_id() == request.trace_id())
        .expect("the gRPC server span, in the HTTP request's trace");
    let client = named
        .iter()
        .find(|s| s.span.kind == 3 && s.trace_id() == request.trace_id())
        .expect("the gRPC client span, in the same trace");
    assert_eq!(
        client.parent_span_id(),
        request.span_id(),
        "the call is the handler's"
    );
    assert_eq!(
        server.parent_span_id(),
        client.span_id(),
        "the server continues the client"
    );
    let attributes = server.attributes();
    assert_eq!(attributes["rpc.system"], "grpc");
    assert_eq!(attributes["rpc.service"], "grpc.health.v1.Health");
    assert_eq!(attributes["rpc.method"], "Check");
    assert_eq!(attributes["rpc.grpc.status_code"], "0");
    assert_eq!(server.status().0, 0, "OK leaves the status unset");

    let not_found = named
        .iter()
        .find(|s| {
            s.span.kind == 2
                && s.attributes()
                    .get("rpc.grpc.status_code")
                    .map(String::as_str)
                    == Some("5")
        })
        .expect("the NotFound call's server span");
    assert_eq!(
        not_found.status().0,
        0,
        "NotFound is an answer: status unset"
    );
    assert_eq!(not_found.attributes()["error.type"], "NotFound");

    let unimplemented = spans
        .iter()
        .find(|s| s.name() == "orders.v1.Orders/Place" && s.span.kind == 2)
        .expect("the Unimplemented call's server span");
    assert_eq!(
        unimplemented.status().0,
        2,
        "Unimplemented is the server's fault: ERROR"
    );
    assert_eq!(unimplemented.attributes()["error.type"], "Unimplemented");
    assert_eq!(
        common::value(
            "grpc_server_handled_total",
            &[
                ("grpc_service", "orders.v1.Orders"),
                ("grpc_method", "Place"),
                ("grpc_code", "Unimplemented")
            ],
        ),
        Some(1.0)
    );

    assert_eq!(handled("grpc_server_handled_total", "OK") - before, 1.0);
    assert_eq!(
        handled("grpc_client_handled_total", "OK") - before_client,
        1.0
    );
    assert_eq!(handled("grpc_server_handled_total", "NotFound"), 1.0);
    assert_eq!(handled("grpc_client_handled_total", "NotFound"), 1.0);

    // One access line per call, with the status name, the request ID the client sent and the trace.
    let access: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|l| l["message"] == "rpc completed")
        .collect();
    assert_eq!(access.len(), 3, "{access:#?}");
    let fault = access
        .iter()
        .find(|l| l["grpc_code"] == "Unimplemented")
        .unwrap();
    assert_eq!(fault["level"], "error", "{fault}");
    let ok = access.iter().find(|l| l["grpc_code"] == "OK").unwrap();
    assert_eq!(ok["level"], "info", "{ok}");
    assert_eq!(ok["grpc_service"], "grpc.health.v1.Health");
    assert_eq!(ok["grpc_method"], "Check");
    assert_eq!(ok["trace_id"], request.trace_id(), "{ok}");
    let http_line = logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "request completed")
        .unwrap();
    assert_eq!(
        ok["request_id"], http_line["request_id"],
        "the request ID crossed the call"
    );
    let not_found_line = access
        .iter()
        .find(|l| l["grpc_code"] == "NotFound")
        .unwrap();
    assert_eq!(not_found_line["level"], "warn", "{not_found_line}");
    assert_eq!(
        not_found_line["error"], "service not registered",
        "grpc-message, decoded"
    );
}

/// `name{grpc_service="grpc.health.v1.Health", grpc_method="Check", grpc_code=code}`, 0 when absent.
fn handled(name: &str, code: &str) -> f64 {
    common::value(
        name,
        &[
            ("grpc_type", "unary"),
            ("grpc_service", "grpc.health.v1.Health"),
            ("grpc_method", "Check"),
            ("grpc_code", code),
        ],
    )
    .unwrap_or(0.0)
}
