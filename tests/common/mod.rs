//! Shared by the integration tests: one telemetry install per test binary with log lines captured in
//! memory, and the Prometheus exposition parsed into samples.
#![allow(dead_code)]

use prometheus_parse::{Scrape, Value};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Log lines written by the JSON layer, kept in memory.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Every line so far, each parsed as one JSON object (a line that is not one fails the test).
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let raw = self.raw();
        raw.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
                assert!(v.is_object(), "log line is not an object: {line}");
                v
            })
            .collect()
    }

    /// The completion lines of one function.
    pub fn for_function(&self, function: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["function"] == function)
            .collect()
    }

    pub fn raw(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("log output is UTF-8")
    }
}

pub struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = CapturedWriter;
    fn make_writer(&'a self) -> Self::Writer {
        CapturedWriter(self.0.clone())
    }
}

/// Installs telemetry once for this test binary (level `debug`, extra redaction paths) and returns the
/// captured log output.
pub fn telemetry() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let guard = sightline::Telemetry::builder("test-service")
            .log_writer(captured.clone())
            .log_level("debug")
            .redact(["body.credit_card", "*.pin", "session_key"])
            .install()
            .expect("telemetry installs once");
        std::mem::forget(guard);
        captured
    })
}

/// The parsed exposition of the installed registry.
pub fn scrape() -> Scrape {
    let text = sightline::metrics::render();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("exposition parses")
}

fn matches(sample: &prometheus_parse::Sample, metric: &str, labels: &[(&str, &str)]) -> bool {
    sample.metric == metric
        && labels
            .iter()
            .all(|(k, v)| sample.labels.get(k) == Some(*v))
}

/// A counter or gauge sample's value; `None` when the series is absent.
pub fn value(metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape()
        .samples
        .iter()
        .find(|s| matches(s, metric, labels))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            other => panic!("{metric} is not a scalar: {other:?}"),
        })
}

/// A histogram's cumulative bucket counts as (upper bound, count), `+Inf` included.
pub fn buckets(metric: &str, labels: &[(&str, &str)]) -> Option<Vec<(f64, f64)>> {
    scrape()
        .samples
        .iter()
        .find(|s| matches(s, metric, labels))
        .map(|s| match &s.value {
            Value::Histogram(h) => h.iter().map(|b| (b.less_than, b.count)).collect(),
            other => panic!("{metric} is not a histogram: {other:?}"),
        })
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
