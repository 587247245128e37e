//! What `#[observe]` costs per call, side by side with the bare call and with the Prometheus calls a
//! careful engineer writes by hand, in one run. Read the results as ratios to `hand_written`.
//!
//! `cargo bench --bench overhead`

use criterion::{criterion_group, criterion_main, Criterion};
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};
use std::hint::black_box;
use std::time::Instant;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug)]
struct BenchError;

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bench error")
    }
}

#[inline(never)]
fn bare(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

#[sightline::observe]
#[inline(never)]
fn observed(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

#[tracing::instrument]
#[inline(never)]
fn instrumented(x: u64) -> Result<u64, BenchError> {
    tracing::info!(result = "ok", "done");
    Ok(black_box(x) + 1)
}

struct HandWritten {
    calls: IntCounter,
    duration: Histogram,
    in_flight: IntGauge,
}

/// The floor: cached children of the same three families, timed with `Instant`.
#[inline(never)]
fn hand_written(m: &HandWritten, x: u64) -> Result<u64, BenchError> {
    m.in_flight.inc();
    let start = Instant::now();
    let r = bare(x);
    m.duration.observe(start.elapsed().as_secs_f64());
    m.calls.inc();
    m.in_flight.dec();
    r
}

fn subscriber(level: &str) -> impl tracing::Subscriber + Send + Sync {
    let (layer, guard) = sightline::Telemetry::builder("bench")
        .log_writer(std::io::sink)
        .log_level(level)
        .registry(prometheus::Registry::new())
        .into_layer()
        .expect("layer");
    std::mem::forget(guard);
    tracing_subscriber::registry().with(layer)
}

fn overhead(c: &mut Criterion) {
    let hand = HandWritten {
        calls: IntCounter::new("hand_calls_total", "h").unwrap(),
        duration: Histogram::with_opts(
            HistogramOpts::new("hand_duration_seconds", "h")
                .buckets(sightline::metrics::DEFAULT_BUCKETS.to_vec()),
        )
        .unwrap(),
        in_flight: IntGauge::new("hand_in_flight", "h").unwrap(),
    };
    let mut g = c.benchmark_group("per_call");
    g.bench_function("bare", |b| b.iter(|| bare(black_box(1))));
    g.bench_function("hand_written", |b| {
        b.iter(|| hand_written(&hand, black_box(1)))
    });

    let metrics_path = tracing::Dispatch::new(subscriber("error"));
    tracing::dispatcher::with_default(&metrics_path, || {
        g.bench_function("observe_metrics_path", |b| {
            b.iter(|| observed(black_box(1)))
        });
    });
    let json_path = tracing::Dispatch::new(subscriber("info"));
    tracing::dispatcher::with_default(&json_path, || {
        g.bench_function("observe_json_path", |b| b.iter(|| observed(black_box(1))));
    });
    let fmt_json = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .finish(),
    );
    tracing::dispatcher::with_default(&fmt_json, || {
        g.bench_function("tracing_instrument_fmt_json", |b| {
            b.iter(|| instrumented(black_box(1)))
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = overhead
}
criterion_main!(benches);
