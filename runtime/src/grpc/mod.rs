//! gRPC services and clients (tonic), the way [`crate::http`] serves HTTP: tower layers for
//! `tonic::transport::Server::builder().layer(..)` and for a `tonic::transport::Channel`.
//!
//! ```no_run
//! # async fn run(health: impl Clone) {}
//! // Server: a `server` span per call (`grpc.health.v1.Health/Check`), request ID and trace context from
//! // the metadata, `grpc_server_*` metrics, one access line per call.
//! //   tonic::transport::Server::builder().layer(sightline_runtime::grpc::layer()).add_service(svc)
//! // Client: a `client` span per call, its context and request ID in the metadata, `grpc_client_*`.
//! //   let channel = tower::ServiceBuilder::new().layer(sightline_runtime::grpc::client_layer()).service(channel);
//! ```
//!
//! A call's status is the server's answer, not a transport fault: only `Unknown`, `DeadlineExceeded`,
//! `Unimplemented`, `Internal`, `Unavailable` and `DataLoss` are the server's failures (span status
//! `ERROR`, access line at `error`); `NotFound`, `InvalidArgument` and the rest are answers, like an HTTP
//! 4xx (span status unset, line at `warn`). Every code is counted under its name in `grpc_code`.

mod call;
mod client;
mod codes;
mod server;

pub use call::GrpcBody;
pub use client::{client_layer, GrpcClientLayer, GrpcClientService};
pub use server::{layer, GrpcLayer, GrpcService};
