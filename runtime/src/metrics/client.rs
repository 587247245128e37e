//! `http_client_request_duration_seconds{method, server_address, status_code}`: the requests this
//! service makes to others, the Prometheus form of OpenTelemetry's `http.client.request.duration`.
//!
//! A `prometheus::HistogramVec` rather than the per-thread counters of the server families: a client call
//! waits on the network for far longer than a label lookup takes, and its label set is bounded by the
//! caller ([`crate::http`] keeps `server_address` to the first hosts it sees).

use once_cell::sync::Lazy;
use prometheus::{HistogramOpts, HistogramVec};

static DURATION: Lazy<Option<HistogramVec>> = Lazy::new(|| {
    let family = sightline_conventions::HTTP_CLIENT_DURATION;
    let opts = HistogramOpts::new(family.name, family.help)
        .buckets(sightline_conventions::DEFAULT_BUCKETS.to_vec());
    let histogram = HistogramVec::new(opts, family.labels).ok()?;
    let registered = histogram.clone();
    super::registry::add(Box::new(move || Box::new(registered.clone())), family.name);
    Some(histogram)
});

/// Counts one request made: its method and server labels, its status code (`0` without a response) and
/// how long it took.
pub(crate) fn observe(method: &str, server: &str, status_code: &str, seconds: f64) {
    if let Some(duration) = &*DURATION {
        duration
            .with_label_values(&[method, server, status_code])
            .observe(seconds);
    }
}
