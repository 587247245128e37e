//! `#[autometrics]` on its default backend, on the same trivial fn, group and settings as the main bench
//! package, whose binary runs this one and reports it with the rest.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

#[derive(Debug)]
struct BenchError;

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bench error")
    }
}

impl std::error::Error for BenchError {}

#[autometrics::autometrics]
#[inline(never)]
fn autometrics_default(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

fn per_call(c: &mut Criterion) {
    autometrics::prometheus_exporter::init();
    let mut g = c.benchmark_group("per_call");
    g.bench_function("autometrics_default", |b| {
        b.iter(|| {
            let _ = autometrics_default(black_box(1));
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(40);
    targets = per_call
}
criterion_main!(benches);
