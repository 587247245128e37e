//! Prometheus metrics: the families sightline records, and the exposition of the registry they live in.
//!
//! Every family is created once per process, independent of any registry, so calls made before
//! `install()` are counted too; `install()` registers the families into the chosen registry (the default
//! one unless the builder was given another).

#[cfg(feature = "reqwest")]
pub(crate) mod client;
pub(crate) mod custom;
mod families;
mod family;
#[cfg(feature = "grpc")]
pub(crate) mod grpc;
mod per_thread;
mod registry;
pub(crate) mod series;
mod stripes;

use prometheus::{Encoder, Registry, TextEncoder};

pub use custom::SiteName;
pub use families::DEFAULT_BUCKETS;
pub(crate) use families::{BUSINESS, FUNCTION};
pub(crate) use family::HTTP;
pub(crate) use registry::naming;
pub use registry::registry;
pub(crate) use registry::{install_into, Registration};

/// The `Content-Type` of [`render`]'s output, for a `/metrics` handler.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// The Prometheus text exposition of [`registry`], as a `/metrics` handler serves it.
pub fn render() -> String {
    render_registry(&registry())
}

/// The Prometheus text exposition of any registry.
pub fn render_registry(registry: &Registry) -> String {
    let mut buf = Vec::with_capacity(16 * 1024);
    // Encoding into a Vec fails only on a malformed family, which the registry refuses at registration.
    if let Err(e) = TextEncoder::new().encode(&registry.gather(), &mut buf) {
        crate::warn::warn_rate_limited(
            &crate::warn::RENDER,
            format_args!("cannot encode metrics: {e}"),
        );
    }
    String::from_utf8(buf).unwrap_or_default()
}
