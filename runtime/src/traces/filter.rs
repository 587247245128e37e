//! What the trace layer sees of the application's `tracing` spans and events: nothing from the exporter's
//! own stack, and nothing more verbose than its level.
//!
//! The exporter sends spans with reqwest over hyper. Were their spans and events turned into OpenTelemetry
//! spans, every export would produce spans to export: a feedback loop. The SDK's batch thread suppresses
//! telemetry for itself, but the blocking reqwest client does its I/O on a thread of its own, so the
//! crates of that stack are excluded by target. `tower_http` and other application-level crates stay
//! visible: a `tower_http::trace` span of the application's server is wanted.
//!
//! Both conditions depend on the callsite alone, so they are decided once per callsite (`Interest::never`)
//! and cost nothing per span.

use tracing_core::{Interest, LevelFilter, Metadata};
use tracing_subscriber::layer::{Context, Filter};

/// Targets of the exporter's stack (each with its submodules: `hyper` covers `hyper::proto::h1`, not
/// `hyper_util`, which is listed on its own).
const EXPORTER_STACK: &[&str] = &[
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
    "opentelemetry_proto",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "want",
    "tower",
    "rustls",
];

/// Whether `target` belongs to a crate of the exporter's stack.
pub(crate) fn is_exporter_stack(target: &str) -> bool {
    EXPORTER_STACK.iter().any(|krate| {
        target
            .strip_prefix(krate)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// See the module docs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TraceFilter {
    pub(crate) max_level: LevelFilter,
}

impl TraceFilter {
    fn allows(&self, metadata: &Metadata<'_>) -> bool {
        self.max_level >= *metadata.level() && !is_exporter_stack(metadata.target())
    }
}

impl<S> Filter<S> for TraceFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.allows(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.allows(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max_level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exporter_stack_is_excluded_and_the_application_is_not() {
        for target in [
            "opentelemetry",
            "opentelemetry_sdk::trace",
            "opentelemetry_otlp::exporter::http",
            "reqwest::blocking::client",
            "hyper",
            "hyper::proto::h1::conn",
            "hyper_util::client::legacy::pool",
            "h2::codec",
            "want",
            "tower::buffer",
        ] {
            assert!(is_exporter_stack(target), "{target}");
        }
        for target in [
            "tower_http::trace::on_response",
            "hyperloop",
            "my_app::reqwest_wrapper",
            "opentelemetry_like_app",
            "sightline",
            "order_service::handlers",
        ] {
            assert!(!is_exporter_stack(target), "{target}");
        }
    }
}
