//! Prometheus metrics: the families sightline records, and the exposition of the registry they live in.
//!
//! Every family is created once per process, independent of any registry, so calls made before
//! `install()` are counted too; `install()` registers the families into the chosen registry (the default
//! one unless the builder was given another).

pub(crate) mod custom;
mod families;
mod family;
mod per_thread;
pub(crate) mod series;
mod stripes;

use once_cell::sync::OnceCell;
use prometheus::{Encoder, Registry, TextEncoder};

pub use families::DEFAULT_BUCKETS;
pub(crate) use families::{BUSINESS, FUNCTION};
pub(crate) use family::HTTP;

/// The `Content-Type` of [`render`]'s output, for a `/metrics` handler.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

static INSTALLED_REGISTRY: OnceCell<Registry> = OnceCell::new();

/// The registry the families were installed into: the builder's, or `prometheus::default_registry()`
/// before and without one.
pub fn registry() -> Registry {
    INSTALLED_REGISTRY
        .get()
        .cloned()
        .unwrap_or_else(|| prometheus::default_registry().clone())
}

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
            format_args!("sightline: cannot encode metrics: {e}"),
        );
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// The registry `install()` chose, once it ran.
pub(crate) fn installed() -> Option<Registry> {
    INSTALLED_REGISTRY.get().cloned()
}

/// Registers every sightline family (and, on Linux, the process collector) into `registry`, and makes it
/// the one [`render`] reads.
pub(crate) fn install_into(registry: &Registry, process_metrics: bool) -> Result<(), crate::Error> {
    families::register(registry, &*FUNCTION)?;
    families::register(registry, &*HTTP)?;
    families::register(registry, &*BUSINESS)?;
    custom::register_all(registry)?;
    for counter in [&*crate::traces::SPANS_DROPPED, &*crate::logs::LINES_DROPPED] {
        match registry.register(Box::new(counter.clone())) {
            Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
            Err(e) => return Err(e.into()),
        }
    }
    #[cfg(target_os = "linux")]
    if process_metrics {
        let collector = prometheus::process_collector::ProcessCollector::for_self();
        match registry.register(Box::new(collector)) {
            // Applications that registered their own process collector keep it.
            Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
            Err(e) => return Err(e.into()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = process_metrics;
    let _ = INSTALLED_REGISTRY.set(registry.clone());
    Ok(())
}
