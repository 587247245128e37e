//! What one call of a trivial `fn(u64) -> Result<u64, E>` costs under sightline's attributes and under
//! each peer, in one run, so that the targets can be stated as ratios of medians from the same process.
//!
//! `cargo bench` at the workspace root runs this, then the default-backend autometrics package (its
//! backend excludes the tikv one used here), then prints the ratio report; with
//! `SIGHTLINE_WRITE_BENCHMARKS=1` the report also goes into `BENCHMARKS.md`.
//!
//! Set-ups, pinned so that ratios compare like with like:
//! - metrics path: level `error`, no OTLP endpoint (span and success line are off at their call sites),
//!   measured with its two references in five interleaved rounds;
//! - JSON path: level `info`, no OTLP endpoint, lines to `io::sink()`;
//! - exported: spans handed to an exporter that drops every batch, in chunks of calls with the export
//!   thread drained between them off the clock (as the `tracing-opentelemetry` and fastrace peers are),
//!   so every measured span is handed over, none dropped;
//! - exporter stuck: the same, but the exporter's first export never returns (a collector that accepts
//!   the connection and never answers), so the queue stays full and every span is dropped.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use fastrace::collector::{SpanContext, SpanRecord};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter};
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};
use std::hint::black_box;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug)]
struct BenchError;

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bench error")
    }
}

impl std::error::Error for BenchError {}

#[inline(never)]
fn bare(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

#[sightline::observe]
#[inline(never)]
fn observed(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

/// A call with the string fields a handler's step typically records: what value scanning reads.
#[sightline::observe(fields(customer = customer, note = note, sku = "beans-1kg"))]
#[inline(never)]
fn observed_fields(customer: &str, note: &str) -> Result<u64, BenchError> {
    Ok(black_box(customer.len() + note.len()) as u64)
}

#[sightline::observe(route = "/bench", method = "GET")]
#[inline(never)]
fn handler(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

#[sightline::business_span("process-order")]
#[inline(never)]
fn business(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

#[autometrics::autometrics]
#[inline(never)]
fn autometrics_tikv(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

#[tracing::instrument]
#[inline(never)]
fn instrumented(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

/// The peer of the JSON path writes a line per call, as sightline does.
#[tracing::instrument]
#[inline(never)]
fn instrumented_logged(x: u64) -> Result<u64, BenchError> {
    tracing::info!(result = "ok", "done");
    Ok(black_box(x) + 1)
}

#[fastrace::trace]
#[inline(never)]
fn fastraced(x: u64) -> Result<u64, BenchError> {
    Ok(black_box(x) + 1)
}

struct HandWritten {
    calls: IntCounter,
    duration: Histogram,
    in_flight: IntGauge,
}

impl HandWritten {
    fn new() -> Self {
        HandWritten {
            calls: IntCounter::new("hand_calls_total", "h").unwrap(),
            duration: Histogram::with_opts(
                HistogramOpts::new("hand_duration_seconds", "h")
                    .buckets(sightline::metrics::DEFAULT_BUCKETS.to_vec()),
            )
            .unwrap(),
            in_flight: IntGauge::new("hand_in_flight", "h").unwrap(),
        }
    }
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

/// Drops every batch: what is measured is the pipeline up to the exporter, not a network.
#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// Blocks in `export` until the sender is dropped: a collector that never answers. Dropping the sender
/// before the guard lets the export thread finish, so shutting down does not wait out its bound.
#[derive(Debug)]
struct StuckExporter(Mutex<Receiver<()>>);

impl StuckExporter {
    fn new() -> (Self, Sender<()>) {
        let (release, stuck) = mpsc::channel();
        (StuckExporter(Mutex::new(stuck)), release)
    }
}

impl SpanExporter for StuckExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let _ = self.0.lock().unwrap_or_else(|e| e.into_inner()).recv();
        drop(batch);
        Ok(())
    }
}

/// Calls per chunk of the fastrace benchmark: a few commands per trace stay well inside the 10,240
/// slots of fastrace's per-thread ring.
const FASTRACE_CHUNK: u64 = 1024;

/// Drops every span fastrace reports.
struct NoopReporter;

impl fastrace::collector::Reporter for NoopReporter {
    fn report(&mut self, spans: Vec<SpanRecord>) {
        drop(spans);
    }
}

fn sightline_dispatch<E: SpanExporter + 'static>(
    level: &str,
    exporter: Option<E>,
) -> (Dispatch, sightline::TelemetryGuard) {
    sightline_dispatch_with(level, exporter, true)
}

/// [`sightline_dispatch`], with value scanning (card numbers, tokens, keys inside text) on or off.
fn sightline_dispatch_with<E: SpanExporter + 'static>(
    level: &str,
    exporter: Option<E>,
    scan_values: bool,
) -> (Dispatch, sightline::TelemetryGuard) {
    let mut builder = sightline::Telemetry::builder("bench")
        .log_writer(std::io::sink)
        .log_level(level)
        .scan_values(scan_values)
        .registry(prometheus::Registry::new())
        .process_metrics(false);
    if let Some(exporter) = exporter {
        builder = builder.span_exporter(exporter);
    }
    let (layer, guard) = builder.into_layer().expect("layer");
    (
        Dispatch::new(tracing_subscriber::registry().with(layer)),
        guard,
    )
}

/// Runs `f` with `dispatch` as the default and then drops it. Callsite interest and the global max level
/// are computed over the dispatchers alive at the time, so a set-up left alive would turn the next one's
/// disabled call sites into per-call `enabled` checks.
fn with_dispatch(dispatch: Dispatch, f: impl FnOnce(&Dispatch)) {
    tracing::dispatcher::with_default(&dispatch, || f(&dispatch));
    drop(dispatch);
    tracing::callsite::rebuild_interest_cache();
}

/// Per-call wall time on each of two threads calling `f` at once: both start after a barrier and make
/// `iters` calls; the slower thread's time is reported, so contention is not averaged away.
fn two_threads(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    dispatch: &Dispatch,
    f: impl Fn() + Sync,
) {
    two_threads_chunked(g, id, dispatch, u64::MAX, f, || {});
}

/// [`two_threads`] in chunks of `chunk` calls per thread, with `drain` run between chunks, off the clock,
/// once both threads finished theirs.
fn two_threads_chunked(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    dispatch: &Dispatch,
    chunk: u64,
    f: impl Fn() + Sync,
    drain: impl Fn() + Sync,
) {
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let barrier = Barrier::new(2);
            std::thread::scope(|s| {
                let workers: Vec<_> = (0..2)
                    .map(|thread| {
                        let (barrier, f, drain) = (&barrier, &f, &drain);
                        s.spawn(move || {
                            tracing::dispatcher::with_default(dispatch, || {
                                f();
                                let mut elapsed = Duration::ZERO;
                                let mut left = iters;
                                while left > 0 {
                                    let n = left.min(chunk);
                                    barrier.wait();
                                    let start = Instant::now();
                                    for _ in 0..n {
                                        f();
                                    }
                                    elapsed += start.elapsed();
                                    barrier.wait();
                                    if thread == 0 && left > n {
                                        drain();
                                    }
                                    left -= n;
                                }
                                elapsed
                            })
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("bench thread"))
                    .max()
                    .unwrap_or_default()
            })
        })
    });
}

/// Per-call time of `call` on this thread, in chunks of `chunk` calls with `drain` run between them off
/// the clock: what a caller pays when its spans are handed over, not dropped because the export thread
/// shares the machine with the benchmark.
fn chunked(iters: u64, chunk: u64, call: impl Fn(), drain: impl Fn()) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(chunk);
        let start = Instant::now();
        for _ in 0..n {
            call();
        }
        elapsed += start.elapsed();
        drain();
        left -= n;
    }
    elapsed
}

/// Spans a chunk of the exported benchmarks makes per thread: well inside the queue both pipelines get
/// (`OTEL_BSP_MAX_QUEUE_SIZE`, below), so none is dropped.
const EXPORT_CHUNK: u64 = 16_384;
const EXPORT_QUEUE: &str = "65536";

fn per_call(c: &mut Criterion) {
    let mut g = c.benchmark_group(sightline_benches::GROUP);
    // Room for a chunk of spans in both exported pipelines (sightline's per-thread ring and the
    // batch processor's queue read it alike), set before either is built.
    std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", EXPORT_QUEUE);

    // First, before any dispatcher has existed: no callsite has cached an interest yet.
    g.bench_function("tracing_instrument_no_subscriber", |b| {
        b.iter(|| {
            let _ = instrumented(black_box(1));
        })
    });

    g.bench_function("bare", |b| {
        b.iter(|| {
            let _ = bare(black_box(1));
        })
    });
    g.bench_function("clock_instant_pair", |b| {
        b.iter(|| {
            let start = Instant::now();
            black_box(start.elapsed());
        })
    });
    g.bench_function("clock_quanta_pair", |b| {
        b.iter(|| {
            let start = quanta::Instant::now();
            black_box(start.elapsed());
        })
    });

    // The metrics path and its two references, in interleaved rounds: their ratios are the ones that
    // move most from run to run on a shared machine.
    autometrics::settings::AutometricsSettings::builder()
        .prometheus_registry(prometheus::Registry::new())
        .init();
    let hand = HandWritten::new();
    for round in 1..=sightline_benches::ROUNDS {
        let id = |id: &str| sightline_benches::round_id(id, round);
        g.bench_function(id("hand_written"), |b| {
            b.iter(|| {
                let _ = hand_written(&hand, black_box(1));
            })
        });
        let (metrics_path, guard) = sightline_dispatch("error", None::<NoopExporter>);
        with_dispatch(metrics_path, |dispatch| {
            g.bench_function(id("observe_metrics_path"), |b| {
                b.iter(|| {
                    let _ = observed(black_box(1));
                })
            });
            if round == 1 {
                g.bench_function("observe_handler_metrics_path", |b| {
                    b.iter(|| {
                        let _ = handler(black_box(1));
                    })
                });
                two_threads(&mut g, "observe_two_threads", dispatch, || {
                    let _ = observed(black_box(1));
                });
            }
        });
        drop(guard);
        g.bench_function(id("autometrics_prometheus"), |b| {
            b.iter(|| {
                let _ = autometrics_tikv(black_box(1));
            })
        });
    }
    two_threads(
        &mut g,
        "hand_written_two_threads",
        &Dispatch::none(),
        || {
            let _ = hand_written(&hand, black_box(1));
        },
    );

    // The same call with value scanning off: the ratio is what scanning every string costs.
    for scan in [true, false] {
        let suffix = if scan { "" } else { "_no_scan" };
        let (json_path, guard) = sightline_dispatch_with("info", None::<NoopExporter>, scan);
        with_dispatch(json_path, |dispatch| {
            g.bench_function(format!("observe_json_path{suffix}"), |b| {
                b.iter(|| {
                    let _ = observed(black_box(1));
                })
            });
            if scan {
                two_threads(&mut g, "observe_json_two_threads", dispatch, || {
                    let _ = observed(black_box(1));
                });
            }
            g.bench_function(format!("observe_json_fields{suffix}"), |b| {
                b.iter(|| {
                    let _ = observed_fields(
                        black_box("cus_1001"),
                        black_box("leave the parcel at the back door, ring twice"),
                    );
                })
            });
        });
        drop(guard);
    }

    let (exported, guard) = sightline_dispatch("error", Some(NoopExporter));
    let drain = || {
        let _ = guard.flush(Duration::from_secs(60));
    };
    with_dispatch(exported, |dispatch| {
        g.bench_function("business_span_exported", |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    EXPORT_CHUNK,
                    || {
                        let _ = business(black_box(1));
                    },
                    drain,
                )
            })
        });
        two_threads_chunked(
            &mut g,
            "business_span_exported_two_threads",
            dispatch,
            EXPORT_CHUNK,
            || {
                let _ = business(black_box(1));
            },
            drain,
        );
    });
    drop(guard);

    // The first batch blocks the export thread for good; the queue fills within the warm-up, so every
    // measured call ends with its span dropped and counted.
    let (stuck, release) = StuckExporter::new();
    let (exporter_stuck, guard) = sightline_dispatch("error", Some(stuck));
    with_dispatch(exporter_stuck, |_| {
        g.bench_function("business_span_exporter_stuck", |b| {
            b.iter(|| {
                let _ = business(black_box(1));
            })
        });
    });
    drop(release);
    drop(guard);

    let fmt_json = Dispatch::new(
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .finish(),
    );
    with_dispatch(fmt_json, |_| {
        g.bench_function("tracing_instrument_fmt_json", |b| {
            b.iter(|| {
                let _ = instrumented_logged(black_box(1));
            })
        });
    });

    // A batch processor, as in sightline's exported pipeline: the call pays for building and enqueuing
    // the span, the processor's thread for exporting it.
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(NoopExporter).build())
        .build();
    let otel = Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    );
    with_dispatch(otel, |_| {
        g.bench_function("tracing_instrument_otel", |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    EXPORT_CHUNK,
                    || {
                        let _ = instrumented(black_box(1));
                    },
                    || {
                        let _ = provider.force_flush();
                    },
                )
            })
        });
    });
    let _ = provider.shutdown();

    // `#[fastrace::trace]` records a span only under a local parent, so each call gets a root span of
    // its own (`Span::root` + `set_local_parent`) and the traced fn records its child: two spans per
    // call where the other peers record one, but a trace per call as they start. A root held across
    // iterations instead would keep every child in memory until it ends.
    //
    // Memory: finished traces reach fastrace's collector thread through a per-thread ring whose overflow
    // queue is unbounded, and on two busy cores the collector falls behind a calling thread (over 1 GB
    // in 5 s here). So the calls run in chunks, and between chunks, off the clock, `flush` drains what
    // the chunk queued: the backlog never exceeds one chunk, as with a collector that keeps up, and the
    // time is still that of the calling thread alone.
    fastrace::set_reporter(NoopReporter, fastrace::collector::Config::default());
    g.bench_function("fastrace_trace", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let chunk = left.min(FASTRACE_CHUNK);
                let start = Instant::now();
                for _ in 0..chunk {
                    let root = fastrace::Span::root("bench", SpanContext::random());
                    let _parent = root.set_local_parent();
                    let _ = fastraced(black_box(1));
                }
                elapsed += start.elapsed();
                fastrace::flush();
                left -= chunk;
            }
            elapsed
        })
    });

    g.finish();
}

fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(40)
        .configure_from_args()
}

/// Runs the default-backend autometrics package: a nested cargo with its own target directory (this
/// run holds the lock of ours), writing its estimates next to ours.
fn autometrics_default(args: &[String], criterion_home: &Path) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("autometrics-default/Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .arg("bench")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--")
        .args(args)
        .env(
            "CARGO_TARGET_DIR",
            sightline_benches::target_dir().join("autometrics-default"),
        )
        .env("CRITERION_HOME", criterion_home)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("autometrics-default: cargo bench failed ({s})"),
        Err(e) => eprintln!("autometrics-default: cannot run cargo: {e}"),
    }
}

fn main() {
    // Cargo passes `--bench`; the nested cargo passes its own.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let listing = args.iter().any(|a| a == "--list");

    let mut c = criterion();
    per_call(&mut c);
    c.final_summary();

    let home = sightline_benches::criterion_home();
    autometrics_default(&args, &home);
    if listing {
        return;
    }

    let report = sightline_benches::report(&home);
    println!("\n{report}");
    if std::env::var_os("SIGHTLINE_WRITE_BENCHMARKS").is_some_and(|v| v == "1") {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
        match sightline_benches::write_between_markers(&path, &report) {
            Ok(()) => println!("written to {}", path.display()),
            Err(e) => eprintln!("BENCHMARKS.md not written: {e}"),
        }
    }
}
