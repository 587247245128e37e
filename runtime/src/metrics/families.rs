//! The metric families, with the exact names and labels the classic alert rules use.

use super::histogram_family::HistogramFamily;
use once_cell::sync::Lazy;
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

pub use sightline_names::DEFAULT_BUCKETS;

/// `function_*`: what `#[observe]` records on ordinary functions.
pub(crate) struct FunctionFamilies {
    pub calls: IntCounterVec,
    pub errors: IntCounterVec,
    pub duration: HistogramFamily,
    pub in_flight: IntGaugeVec,
}

/// `http_*`: what handler-mode `#[observe(route = .., method = ..)]` records.
pub(crate) struct HttpFamilies {
    pub requests: IntCounterVec,
    pub duration: HistogramFamily,
    pub in_flight: IntGaugeVec,
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("static family definition is valid")
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("static family definition is valid")
}

pub(crate) static FUNCTION: Lazy<FunctionFamilies> = Lazy::new(|| FunctionFamilies {
    calls: counter(
        "function_calls_total",
        "Calls of observed functions, by outcome.",
        &["function", "module", "result"],
    ),
    errors: counter(
        "function_errors_total",
        "Failed calls of observed functions, by error kind.",
        &["function", "module", "error_kind"],
    ),
    duration: HistogramFamily::new(
        "function_call_duration_seconds",
        "Duration of observed function calls in seconds.",
        &["function", "module", "result"],
    ),
    in_flight: gauge(
        "function_calls_in_flight",
        "Observed function calls currently running.",
        &["function", "module"],
    ),
});

/// `business_operation*`: what `#[business_span]` records.
pub(crate) struct BusinessFamilies {
    pub operations: IntCounterVec,
    pub errors: IntCounterVec,
    pub duration: HistogramFamily,
    pub in_flight: IntGaugeVec,
}

pub(crate) static BUSINESS: Lazy<BusinessFamilies> = Lazy::new(|| BusinessFamilies {
    operations: counter(
        "business_operations_total",
        "Business operations, by outcome.",
        &["operation", "outcome"],
    ),
    errors: counter(
        "business_operation_errors_total",
        "Failed business operations, by error kind.",
        &["operation", "error_kind"],
    ),
    duration: HistogramFamily::new(
        "business_operation_duration_seconds",
        "Duration of business operations in seconds.",
        &["operation", "outcome"],
    ),
    in_flight: gauge(
        "business_operations_in_flight",
        "Business operations currently running.",
        &["operation"],
    ),
});

pub(crate) static HTTP: Lazy<HttpFamilies> = Lazy::new(|| HttpFamilies {
    requests: counter(
        "http_requests_total",
        "Total number of HTTP requests.",
        &["method", "route", "status_code"],
    ),
    duration: HistogramFamily::new(
        "http_request_duration_seconds",
        "Duration of HTTP requests in seconds.",
        &["method", "route", "status_code"],
    ),
    in_flight: gauge(
        "http_requests_in_flight",
        "HTTP requests currently being served.",
        &["method", "route"],
    ),
});

/// Registers a family; a family this registry already holds (a second `into_layer`, a test harness)
/// is not an error.
pub(crate) fn register(
    registry: &Registry,
    c: Box<dyn prometheus::core::Collector>,
) -> prometheus::Result<()> {
    match registry.register(c) {
        Ok(()) | Err(prometheus::Error::AlreadyReg) => Ok(()),
        Err(e) => Err(e),
    }
}

impl FunctionFamilies {
    pub(crate) fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        register(registry, Box::new(self.calls.clone()))?;
        register(registry, Box::new(self.errors.clone()))?;
        register(registry, Box::new(self.duration.clone()))?;
        register(registry, Box::new(self.in_flight.clone()))
    }
}

impl BusinessFamilies {
    pub(crate) fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        register(registry, Box::new(self.operations.clone()))?;
        register(registry, Box::new(self.errors.clone()))?;
        register(registry, Box::new(self.duration.clone()))?;
        register(registry, Box::new(self.in_flight.clone()))
    }
}

impl HttpFamilies {
    pub(crate) fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        register(registry, Box::new(self.requests.clone()))?;
        register(registry, Box::new(self.duration.clone()))?;
        register(registry, Box::new(self.in_flight.clone()))
    }
}
