//! A telemetry layer of a test's own, with log lines and exported spans kept in memory, and proptest runs
//! on it; for property tests that push many cases through the whole pipeline.
#![allow(dead_code)]

use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestCaseError, TestRunner};

/// An in-memory span exporter: keeps what it is given, redacted by the export stage, and wakes whoever
/// waits for it.
#[derive(Debug, Clone, Default)]
pub struct Exported(Arc<(Mutex<Vec<SpanData>>, Condvar)>);

impl SpanExporter for Exported {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let (spans, arrived) = &*self.0;
        spans.lock().unwrap().extend(batch);
        arrived.notify_all();
        Ok(())
    }
}

impl Exported {
    /// Waits until `count` spans were exported and takes them.
    pub fn take(&self, count: usize) -> Result<Vec<SpanData>, TestCaseError> {
        let (spans, arrived) = &*self.0;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut spans = spans.lock().unwrap();
        while spans.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            prop_assert!(
                !left.is_zero(),
                "{} of {} spans exported after 10 s",
                spans.len(),
                count
            );
            spans = arrived.wait_timeout(spans, left).unwrap().0;
        }
        prop_assert_eq!(spans.len(), count, "more spans than calls");
        Ok(std::mem::take(&mut *spans))
    }
}

/// `cases` cases, nothing persisted; XorShift rather than ChaCha, whose rounds dominate case generation in
/// a debug build.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

pub struct Pipeline {
    pub dispatch: tracing::Dispatch,
    pub logs: super::Captured,
    pub spans: Exported,
    _guard: sightline::TelemetryGuard,
}

impl Pipeline {
    /// A pipeline at level `info` with `configure`'s settings on top, spans exported one by one.
    pub fn new(
        configure: impl FnOnce(sightline::TelemetryBuilder) -> sightline::TelemetryBuilder,
    ) -> Pipeline {
        static EXPORT_EACH_SPAN: Once = Once::new();
        // A batch of one: the export thread exports each span as soon as it ends, so a case waits for its
        // own spans instead of the 5 s schedule delay. Set once, before any pipeline of this binary reads it.
        EXPORT_EACH_SPAN.call_once(|| std::env::set_var("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1"));
        let logs = super::Captured::default();
        let spans = Exported::default();
        let builder = sightline::Telemetry::builder("redaction-fuzz")
            .log_writer(logs.clone())
            .log_level("info")
            .registry(prometheus::Registry::new())
            .process_metrics(false)
            .span_exporter(spans.clone());
        let (layer, guard) = configure(builder).into_layer().expect("the layer builds");
        use tracing_subscriber::layer::SubscriberExt as _;
        Pipeline {
            dispatch: tracing::Dispatch::new(tracing_subscriber::registry().with(layer)),
            logs,
            spans,
            _guard: guard,
        }
    }

    /// Runs `test` on `cases` cases of `strategy` with this pipeline as the default subscriber.
    pub fn run<S: Strategy>(
        &self,
        cases: u32,
        strategy: S,
        test: impl Fn(&Pipeline, S::Value) -> Result<(), TestCaseError>,
    ) {
        let mut runner = TestRunner::new(config(cases));
        let result = tracing::dispatcher::with_default(&self.dispatch, || {
            runner
                .run(&strategy, |case| {
                    // A failed case leaves lines behind: each case starts from none. (Each case takes its
                    // spans before checking anything, so none are left behind.)
                    self.logs.take();
                    test(self, case)
                })
                .map_err(|error| error.to_string())
        });
        if let Err(error) = result {
            panic!("{error}");
        }
    }
}
