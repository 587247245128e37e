//! Shared by the integration tests: one telemetry install per test binary with log lines captured in
//! memory, and the Prometheus exposition parsed into samples.
#![allow(dead_code)]

mod captured;
pub mod exposition;
pub mod generated;
#[cfg(feature = "grpc")]
pub mod grpc_calls;
mod payment_error;
pub mod pipeline;

pub use captured::Captured;
#[allow(unused_imports)]
pub use payment_error::PaymentError;

use std::sync::OnceLock;

/// Installs telemetry once for this test binary (level `debug`, extra redaction paths) and returns the
/// captured log output.
pub fn telemetry() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let guard = sightline::Telemetry::builder("test-service")
            .log_writer(captured.clone())
            .log_level("debug")
            .redact(["pin", "*.otp", "session_key"])
            .install()
            .expect("telemetry installs once");
        std::mem::forget(guard);
        captured
    })
}

/// A telemetry installation of the calling test's own, the default subscriber of this thread until the
/// second guard drops: lines to `logs` at `level`, a registry of its own, no process metrics, spans
/// exported over OTLP to `endpoint` when one is given.
pub fn scoped_telemetry(
    name: &str,
    logs: &Captured,
    level: &str,
    endpoint: Option<&str>,
) -> (sightline::TelemetryGuard, tracing::subscriber::DefaultGuard) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let mut builder = sightline::Telemetry::builder(name)
        .log_writer(logs.clone())
        .log_level(level)
        .registry(prometheus::Registry::new())
        .process_metrics(false);
    if let Some(endpoint) = endpoint {
        builder = builder.otlp_endpoint(endpoint);
    }
    let (layer, guard) = builder.into_layer().expect("the layer builds");
    let default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    (guard, default)
}

/// The parsed exposition of the installed registry.
pub fn scrape() -> exposition::Exposition {
    exposition::parse(&sightline::metrics::render())
}

/// A counter or gauge sample's value; `None` when the series is absent. Fails when the labels match
/// more than one series.
pub fn value(metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let scrape = scrape();
    let found: Vec<_> = scrape.find(metric, labels).collect();
    assert!(
        found.len() <= 1,
        "{metric} {labels:?} matches {} series",
        found.len()
    );
    found.first().map(|s| s.value)
}

/// `http_client_request_duration_seconds_count` of `GET` requests to `server` answered with
/// `status_code` (`0`: no answer); 0 before the first.
pub fn client_calls(server: &str, status_code: &str) -> f64 {
    value(
        "http_client_request_duration_seconds_count",
        &[
            ("method", "GET"),
            ("server_address", server),
            ("status_code", status_code),
        ],
    )
    .unwrap_or(0.0)
}

/// A histogram's cumulative bucket counts as (upper bound, count), `+Inf` included, in order; `None`
/// when the series is absent. Also checks that `_count` equals the `+Inf` bucket.
pub fn buckets(metric: &str, labels: &[(&str, &str)]) -> Option<Vec<(f64, f64)>> {
    let scrape = scrape();
    let bucket_name = format!("{metric}_bucket");
    let mut found: Vec<(f64, f64)> = scrape
        .find(&bucket_name, labels)
        .map(|s| {
            let le = s.labels.get("le").expect("bucket has le");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, s.value)
        })
        .collect();
    if found.is_empty() {
        return None;
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    let count_name = format!("{metric}_count");
    let count: Vec<_> = scrape.find(&count_name, labels).collect();
    assert_eq!(count.len(), 1, "one _count for {metric} {labels:?}");
    assert_eq!(
        count[0].value,
        found.last().unwrap().1,
        "_count equals the +Inf bucket"
    );
    Some(found)
}

/// `function_calls_total` for one function and result.
pub fn calls(function: &str, result: &str) -> f64 {
    value(
        "function_calls_total",
        &[("function", function), ("result", result)],
    )
    .unwrap_or(0.0)
}

pub fn errors(function: &str, kind: &str) -> f64 {
    value(
        "function_errors_total",
        &[("function", function), ("error_kind", kind)],
    )
    .unwrap_or(0.0)
}

pub fn in_flight(function: &str) -> Option<f64> {
    value("function_calls_in_flight", &[("function", function)])
}
