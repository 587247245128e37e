//! Request correlation for HTTP services: a tower layer that gives every request an ID, continues the
//! caller's W3C trace, counts it in the `http_*` families under its route template, and writes one access
//! line; plus [`inject`] to carry both to the next service.
//!
//! ```no_run
//! # #[cfg(feature = "axum")] {
//! use axum::{routing::get, Router};
//! let app: Router = Router::new()
//!     .route("/api/v1/orders/{id}", get(|| async { "order" }))
//!     .layer(sightline_runtime::http::layer());
//! # }
//! ```
//!
//! `tower-http` has pieces of this (request IDs, panic catching, trace spans), but each keeps its own view
//! of the request; the access line, the metrics and the span need one shared state (route, status, the
//! moment the client left), so the layer is written as one service.

#[cfg(feature = "reqwest")]
mod client;
mod layer;
mod propagation;
mod rejection;
mod request_id;
mod routes;
mod scope;
mod skip;

#[cfg(feature = "reqwest")]
pub use client::{ClientTelemetry, UrlTemplate, DEFAULT_MAX_HOSTS};
pub use layer::{layer, HttpLayer, HttpLayerBuilder, HttpService, ResponseFuture};
pub use propagation::inject;
#[cfg(feature = "reqwest")]
pub use propagation::RequestBuilderExt;
pub use request_id::RequestId;
pub use scope::current_request_id;

// What the gRPC layer shares with this one.
#[cfg(feature = "grpc")]
pub(crate) use propagation::extract;
#[cfg(feature = "grpc")]
pub(crate) use request_id::{generate as generate_request_id, inbound as inbound_request_id};
pub(crate) use scope::{record_failure, under_layer};
#[cfg(feature = "grpc")]
pub(crate) use scope::{Request as RequestScope, Scope};
