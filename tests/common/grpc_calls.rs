//! gRPC traffic for tests that hold generated queries to what a service exposes: a tonic-health server
//! behind `sightline::grpc::layer()`, called through `sightline::grpc::client_layer()`, once answered
//! `OK` and once `Unimplemented` (a method the server does not have: a server fault), so that every
//! `grpc_*` family has series, fault codes included.

use std::net::SocketAddr;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// The `grpc.health.v1.Health` service behind `sightline::grpc::layer()` on 127.0.0.1, on the current
/// runtime, with each of `serving` reported as serving (the whole server always is); its address.
pub async fn serve_health(serving: &[&str]) -> SocketAddr {
    let (reporter, service) = tonic_health::server::health_reporter();
    for name in serving {
        reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _reporter = reporter;
        tonic::transport::Server::builder()
            .layer(sightline::grpc::layer())
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
    });
    addr
}

/// A channel to `addr` through `sightline::grpc::client_layer()`.
pub async fn traced_channel(
    addr: SocketAddr,
) -> sightline::grpc::GrpcClientService<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    tower::ServiceBuilder::new()
        .layer(sightline::grpc::client_layer())
        .service(channel)
}

/// Calls `/orders.v1.Orders/Place`, a method the health server does not have: `Unimplemented`.
pub async fn call_unimplemented(addr: SocketAddr) {
    let mut raw = tonic::client::Grpc::new(traced_channel(addr).await);
    raw.ready().await.unwrap();
    let status = raw
        .unary::<HealthCheckRequest, HealthCheckResponse, _>(
            tonic::Request::new(HealthCheckRequest::default()),
            axum::http::uri::PathAndQuery::from_static("/orders.v1.Orders/Place"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("no such method");
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}

/// Makes the two calls, on a runtime of its own, and waits for their answers.
pub fn ok_and_unimplemented() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let addr = serve_health(&[]).await;
        HealthClient::new(traced_channel(addr).await)
            .check(HealthCheckRequest::default())
            .await
            .expect("the whole server is serving");
        call_unimplemented(addr).await;
    });
}
