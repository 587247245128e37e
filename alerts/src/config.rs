//! The thresholds and names the generated artefacts are written with.

use crate::catalog::MetricNaming;

/// Thresholds and names for the generated artefacts. Every default is the one the issue of record
/// chose, and every field is public to override.
#[derive(Clone, Debug)]
pub struct AlertConfig {
    /// The scrape job, i.e. the service: metrics carry no `service` label, `job` tells services apart.
    pub job: String,
    /// `host:port` Prometheus scrapes `/metrics` from.
    pub target: String,
    /// Error ratio above which the service alert fires (0.01 = 1 %).
    pub error_ratio: f64,
    /// p99 latency, in seconds, above which the service latency alert fires; must be a bucket bound.
    pub latency_seconds: f64,
    /// In-flight requests above which the saturation alert fires.
    pub in_flight_ceiling: f64,
    /// Resident memory, in bytes, the 24 h forecast must stay below.
    pub memory_limit_bytes: f64,
    /// p95 latency now over p95 latency a week ago above which the creep alert fires.
    pub creep_factor: f64,
    /// Prefix of every alert's `runbook_url` annotation (a placeholder to replace).
    pub runbook_base: String,
    /// Drill mode: `for` clauses, windows, scrape and evaluation intervals scaled down (seconds instead of
    /// minutes) so a live fire drill fits in a test. Never for production.
    pub drill: bool,
    /// The prefix and constant labels of the registry the families are exposed from, used in every
    /// selector: [`Catalog::alert_config`](crate::Catalog::alert_config) takes the service's, so a registry made with
    /// `Registry::new_custom(Some("payments"), ..)` gets rules for `payments_http_requests_total`.
    /// Default: plain names.
    pub naming: MetricNaming,
}

impl AlertConfig {
    /// Defaults: 1 % errors, 2 s p99, 100 in flight, 1 GiB memory, creep factor 1.5, plain names.
    pub fn new(job: impl Into<String>, target: impl Into<String>) -> Self {
        AlertConfig {
            job: job.into(),
            target: target.into(),
            error_ratio: 0.01,
            latency_seconds: 2.0,
            in_flight_ceiling: 100.0,
            memory_limit_bytes: 1024.0 * 1024.0 * 1024.0,
            creep_factor: 1.5,
            runbook_base: "https://runbooks.example.com/".to_string(),
            drill: false,
            naming: MetricNaming::default(),
        }
    }
}
