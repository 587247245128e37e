//! An HTTP gateway in front of a gRPC service, one trace across both.
//!
//! ```text
//! cargo run --example grpc_gateway --features grpc             # serve on 127.0.0.1:$PORT (default 3001)
//! cargo run --example grpc_gateway --features grpc -- --demo   # call itself three times, then exit
//! ```
//!
//! `GET /api/v1/health/{service}` is an axum handler behind `sightline::http::layer()`; it asks the
//! `grpc.health.v1.Health` service (tonic-health, behind `sightline::grpc::layer()`, on a port of its own)
//! through a channel wrapped in `sightline::grpc::client_layer()`. Every call writes its lines: the HTTP
//! access line, the gRPC access line (`"message":"rpc completed"` with `grpc_code`), and with no collector
//! the span summaries (`"message":"span completed"`): `GET /api/v1/health/{service}`, then the
//! `grpc.health.v1.Health/Check` client span, then the server span, all with one `trace_id` and the
//! server's lines with the gateway's `request_id`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use std::error::Error;
use std::net::SocketAddr;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

type Health = HealthClient<sightline::grpc::GrpcClientService<tonic::transport::Channel>>;

/// Asks the gRPC health service about `service`.
async fn health(State(client): State<Health>, Path(service): Path<String>) -> (StatusCode, String) {
    match client.clone().check(HealthCheckRequest { service }).await {
        Ok(response) => (
            StatusCode::OK,
            format!("{:?}\n", response.into_inner().status()),
        ),
        Err(status) if status.code() == tonic::Code::NotFound => {
            (StatusCode::NOT_FOUND, "unknown service\n".into())
        }
        Err(status) => (StatusCode::BAD_GATEWAY, format!("{}\n", status.message())),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let _telemetry = sightline::Telemetry::builder("grpc-gateway")
        .log_level("info,sightline::spans=debug")
        .install()?;
    let demo = std::env::args().any(|arg| arg == "--demo");

    // The gRPC service, as a second process would run it.
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("orders", tonic_health::ServingStatus::Serving)
        .await;
    let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let grpc_addr = grpc_listener.local_addr()?;
    tokio::spawn(async move {
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .layer(sightline::grpc::layer())
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(
                grpc_listener,
            ))
            .await
    });

    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}"))?.connect_lazy();
    let client = HealthClient::new(
        tower::ServiceBuilder::new()
            .layer(sightline::grpc::client_layer())
            .service(channel),
    );
    let app = Router::new()
        .route("/api/v1/health/{service}", get(health))
        .with_state(client)
        .layer(sightline::http::layer());
    let port: u16 = if demo {
        0
    } else {
        std::env::var("PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(3001)
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, %grpc_addr, "grpc-gateway listening");
    if !demo {
        axum::serve(listener, app).await?;
        return Ok(());
    }
    tokio::spawn(async move { axum::serve(listener, app).await });
    for service in ["orders", "orders", "payments"] {
        let (status, body) = http_get(addr, &format!("/api/v1/health/{service}")).await?;
        eprintln!("GET /api/v1/health/{service} -> {status} {}", body.trim());
    }
    Ok(())
}

/// A plain HTTP/1.1 GET, for the demo.
async fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), Box<dyn Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Ok((status, body))
}
