//! gRPC traffic for tests that hold generated queries to what a service exposes: a tonic-health server
//! behind `sightline::grpc::layer()`, called through `sightline::grpc::client_layer()`, once answered
//! `OK` and once `Unimplemented` (a method the server does not have: a server fault), so that every
//! `grpc_*` family has series, fault codes included.

use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// Makes the two calls, on a runtime of its own, and waits for their answers.
pub fn ok_and_unimplemented() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (_reporter, service) = tonic_health::server::health_reporter();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .layer(sightline::grpc::layer())
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let traced = tower::ServiceBuilder::new()
            .layer(sightline::grpc::client_layer())
            .service(channel);
        HealthClient::new(traced.clone())
            .check(HealthCheckRequest::default())
            .await
            .expect("the whole server is serving");
        let mut raw = tonic::client::Grpc::new(traced);
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
    });
}
