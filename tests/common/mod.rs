//! Shared by the integration tests: one telemetry install per test binary with log lines captured in
//! memory, and the Prometheus exposition parsed into samples.
#![allow(dead_code)]

pub mod exposition;
pub mod pipeline;

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

    /// Everything written so far, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap())
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
            .redact(["pin", "*.otp", "session_key"])
            .install()
            .expect("telemetry installs once");
        std::mem::forget(guard);
        captured
    })
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
