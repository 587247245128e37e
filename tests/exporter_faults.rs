//! Span export against a collector that fails in each of the ways a network can: connections refused,
//! connections accepted and never answered, every request answered 500, every request answered late.
//!
//! Each test runs in a child process of its own (a fresh telemetry install pointed, through
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, at that fault) with a small queue and short batches, so that exports fail
//! many times within a few seconds. The child makes 20,000 `#[business_span]` calls, then 200,000 more,
//! and reports on stdout, as one JSON line: what the calls returned, the live heap after each phase, the
//! loss counter by reason and the export counter, sightline's warnings (lines of its log writer), and how
//! long shutting down took. The parent checks that the caller never waited on the exporter (the child
//! finishes, and spans were dropped rather than waited for), that memory stayed bounded, that every span
//! was either exported or counted lost under the fault's reason, and that the log writer, not standard
//! error, got one warning for many failed batches.

#[path = "common/child.rs"]
mod child;
mod common;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::TcpListener;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Live heap bytes of the whole process, every thread included (the export thread, the HTTP client's).
struct LiveBytes;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        new
    }
}

#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

/// Calls before the first heap reading: by then every cache, pool and the queue itself are at their
/// steady size.
const WARM_UP_CALLS: u64 = 20_000;
/// Calls between the two heap readings.
const MEASURED_CALLS: u64 = 200_000;
const CALLS: u64 = WARM_UP_CALLS + MEASURED_CALLS;

/// `OTEL_BSP_MAX_QUEUE_SIZE` of every child, and `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` of the failing ones.
const QUEUE: u64 = 256;
const BATCH: u64 = 64;

/// Live heap growth allowed between the two readings. 200,000 spans kept anywhere (an unbounded queue,
/// a retry buffer) would need far more: even at 21 bytes a span they pass 4 MiB, while a finished span is
/// a `SpanData` (352 bytes in opentelemetry_sdk 0.33, 70 MB for 200,000) plus its attribute vector. What
/// may legitimately differ between the readings is what is in flight on the export thread (a batch, one
/// encoded request body, a connection's buffers): tens of kilobytes.
const HEAP_GROWTH_BOUND: i64 = 4 << 20;

/// How long the parent lets a child run before calling it hung: a liveness bound, not a speed target
/// (the four children share the machine with the rest of the suite).
const LIVENESS: Duration = Duration::from_secs(300);

/// The interval of sightline's warnings about export.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

const EXPORT_WARNING: &str = "could not export";
const DROP_WARNING: &str = "the span export queue is full";

#[sightline::business_span("record-order", attrs(order.id = order))]
#[inline(never)]
fn record_order(order: u64) -> u64 {
    std::hint::black_box(order) * 2 + 1
}

/// Every `reason` of `sightline_spans_dropped_total` (`tests/conventions.rs` holds the runtime to it).
const REASONS: [&str; 6] = sightline_conventions::SPAN_LOSS_REASONS;

/// The child's part: install, call, measure, report, shut down.
fn child_part() {
    let registry = prometheus::Registry::new();
    let logs = common::Captured::default();
    let started = Instant::now();
    let guard = sightline::Telemetry::builder("exporter-faults")
        .log_writer(logs.clone())
        .log_level("error")
        .registry(registry.clone())
        .process_metrics(false)
        .install()
        .expect("telemetry installs");
    let scrape = || common::exposition::parse(&sightline::metrics::render_registry(&registry));
    let dropped = || {
        let scrape = scrape();
        let by_reason: serde_json::Map<String, serde_json::Value> = REASONS
            .iter()
            .map(|reason| {
                let value = scrape
                    .find("sightline_spans_dropped_total", &[("reason", reason)])
                    .next()
                    .map(|s| s.value as u64)
                    .expect("every reason is exposed");
                (reason.to_string(), value.into())
            })
            .collect();
        serde_json::Value::Object(by_reason)
    };
    let exported = || {
        scrape()
            .find("sightline_spans_exported_total", &[])
            .next()
            .map(|s| s.value as u64)
            .expect("the export counter is exposed")
    };

    let mut returned = 0u64;
    let mut calls = |range: std::ops::Range<u64>| {
        for order in range {
            if record_order(order) == order * 2 + 1 {
                returned += 1;
            }
        }
    };
    calls(0..WARM_UP_CALLS);
    let heap_after_warm_up = LIVE.load(Ordering::Relaxed);
    let dropped_after_warm_up = dropped();
    let measured = Instant::now();
    calls(WARM_UP_CALLS..CALLS);
    let measured = measured.elapsed();
    let heap_after_all = LIVE.load(Ordering::Relaxed);
    let dropped_after_all = dropped();
    let calls_done = SystemTime::now();

    let shutting_down = Instant::now();
    let undelivered = guard.shutdown();
    let shutdown = shutting_down.elapsed();
    // Spans that end after shutdown are counted too (`shutdown`): the counters are final.
    let warnings: Vec<String> = logs
        .lines()
        .into_iter()
        .filter(|l| l["target"] == "sightline" && l["level"] == "warn")
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect();

    let report = serde_json::json!({
        "returned": returned,
        "heap_after_warm_up": heap_after_warm_up,
        "heap_after_all": heap_after_all,
        "dropped_after_warm_up": dropped_after_warm_up,
        "dropped_after_all": dropped_after_all,
        "dropped": dropped(),
        "exported": exported(),
        "undelivered_at_shutdown": undelivered.spans,
        "warnings": warnings,
        "measured_ns_per_call": measured.as_nanos() as u64 / MEASURED_CALLS,
        "calls_done_unix_ms": calls_done.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64,
        "shutdown_ms": shutdown.as_millis() as u64,
        "elapsed_ms": started.elapsed().as_millis() as u64,
    });
    println!("{report}");
    child::exit_child();
}

/// What a child reported, and what it wrote on standard error.
struct Run {
    report: serde_json::Value,
    stderr: String,
}

impl Run {
    fn u64(&self, field: &str) -> u64 {
        self.report[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} in {}", self.report))
    }

    fn i64(&self, field: &str) -> i64 {
        self.report[field]
            .as_i64()
            .unwrap_or_else(|| panic!("{field} in {}", self.report))
    }

    /// Spans dropped for `reason` (`None`: every reason) by the end, or at `when` (`dropped_after_all`).
    fn dropped_at(&self, when: &str, reason: Option<&str>) -> u64 {
        let by_reason = &self.report[when];
        REASONS
            .iter()
            .filter(|r| reason.map_or(true, |wanted| wanted == **r))
            .map(|r| {
                by_reason[*r]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{when}.{r}"))
            })
            .sum()
    }

    fn dropped(&self) -> u64 {
        self.dropped_at("dropped", None)
    }

    /// sightline's own warnings on the log writer that contain `text`.
    fn warnings_with(&self, text: &str) -> usize {
        self.report["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .filter(|w| w.as_str().is_some_and(|w| w.contains(text)))
            .count()
    }

    /// How many of a rate-limited warning the child's lifetime allows: the first, then one per interval.
    fn warnings_allowed(&self) -> usize {
        1 + (self.u64("elapsed_ms") / WARNING_INTERVAL.as_millis() as u64) as usize
    }

    /// The checks every fault shares: the child finished (the caller never waited on the exporter for
    /// good), every call returned its value, the heap did not grow with the spans, and warnings about
    /// dropped spans did not flood.
    fn check_caller_and_memory(&self, fault: &str) {
        assert_eq!(self.u64("returned"), CALLS, "{fault}: every call returned");
        let growth = self.i64("heap_after_all") - self.i64("heap_after_warm_up");
        assert!(
            growth < HEAP_GROWTH_BOUND,
            "{fault}: the live heap grew by {growth} bytes over {MEASURED_CALLS} calls"
        );
        assert!(
            self.warnings_with(DROP_WARNING) <= self.warnings_allowed(),
            "{fault}: drop warnings flood:\n{}",
            self.report["warnings"]
        );
        // Warnings are lines of the log writer: none goes to standard error.
        assert!(
            !self.stderr.contains(EXPORT_WARNING) && !self.stderr.contains(DROP_WARNING),
            "{fault}: a warning on standard error:\n{}",
            self.stderr
        );
        for warning in self.report["warnings"].as_array().into_iter().flatten() {
            eprintln!("{fault}: warning: {warning}");
        }
        eprintln!(
            "{fault}: {} ns per call, heap growth {growth} bytes, dropped {} (after warm-up {}), shutdown {} \
             ms, child ran {} ms",
            self.u64("measured_ns_per_call"),
            self.dropped(),
            self.dropped_at("dropped_after_warm_up", None),
            self.u64("shutdown_ms"),
            self.u64("elapsed_ms"),
        );
    }

    /// For a collector that never takes a span (connections refused or never answered): the queue stays
    /// full, so spans were dropped, and still are after the warm-up.
    fn check_dropping(&self, fault: &str) {
        let queue_full = |when| self.dropped_at(when, Some("queue_full"));
        assert!(queue_full("dropped") > 0, "{fault}: no span was dropped");
        assert!(
            queue_full("dropped_after_all") > queue_full("dropped_after_warm_up"),
            "{fault}: spans stopped being dropped"
        );
    }

    /// For a collector that accepts nothing: every span is counted lost, by the reason of the fault; many
    /// failed batches, one warning per interval.
    fn check_failing(&self, fault: &str, reason: &str, server_side_batches: Option<usize>) {
        self.check_caller_and_memory(fault);
        assert_eq!(self.u64("exported"), 0, "{fault}: nothing was accepted");
        assert_eq!(
            self.dropped(),
            CALLS,
            "{fault}: every span is counted as lost: {}",
            self.report["dropped"]
        );
        // What the queue accepted failed to export, but for what shutdown gave up on.
        let failed = self.dropped_at("dropped", Some(reason));
        let failed_batches = failed / BATCH;
        let warnings = self.warnings_with(EXPORT_WARNING);
        eprintln!(
            "{fault}: {} spans lost by reason ({}), at least {failed_batches} failed batches \
             ({server_side_batches:?} seen by the server), {warnings} export warnings",
            self.dropped(),
            self.report["dropped"]
        );
        assert!(
            failed > 0,
            "{fault}: no span counted as {reason}: {}",
            self.report["dropped"]
        );
        assert!(
            (1..=self.warnings_allowed()).contains(&warnings),
            "{fault}: {warnings} export warnings in {} ms:\n{}",
            self.u64("elapsed_ms"),
            self.report["warnings"]
        );
        assert!(
            failed_batches >= 10 * warnings as u64,
            "{fault}: only {failed_batches} failed batches for {warnings} warnings"
        );
        if let Some(seen) = server_side_batches {
            assert!(
                seen as u64 >= failed_batches,
                "{fault}: {seen} requests seen"
            );
        }
    }
}

/// Runs `test` as a child exporting to `endpoint` with `env`, and collects what it reports.
fn run_child(test: &str, endpoint: &str, env: &[(&str, String)]) -> Run {
    // One child at a time: four debug-built children on two cores would each run several times longer,
    // past the warnings' 10 s interval.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut command = child::command(test, &[]);
    command
        .envs(env.iter().map(|(name, value)| (name, value)))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_SAMPLER");
    let mut child = command.spawn().expect("the child starts");
    // Both pipes are drained while the child runs, so a full pipe can never be what stops it.
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let status = child::wait_for(
        &mut child,
        LIVENESS,
        &format!("{test}: the calls or the bounded shutdown hung"),
    );
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    assert!(
        status.success(),
        "{test}: the child failed ({status}):\n{stdout}\n{stderr}"
    );
    let report = child::after_start(&stdout)
        .lines()
        .find_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .unwrap_or_else(|| panic!("{test}: no report in\n{stdout}\nstderr:\n{stderr}"));
    Run { report, stderr }
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// A child's queue settings and request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`), with a short schedule
/// delay.
fn queue_env(batch: u64, timeout: Duration) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_BSP_MAX_QUEUE_SIZE", QUEUE.to_string()),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", batch.to_string()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            timeout.as_millis().to_string(),
        ),
    ]
}

/// The environment of a child whose exports fail: a small queue and batches, and a short request
/// timeout so that a silent collector fails a batch many times a second.
fn failing_env(timeout: Duration) -> Vec<(&'static str, String)> {
    queue_env(BATCH, timeout)
}

/// Nothing listens on the port: every connection is refused. The exporter retries a refused connection
/// (status 0 is retryable) within its 300 ms deadline, so each batch fails after one or two attempts.
#[test]
fn refused_connections() {
    if child::is_child("refused_connections") {
        return child_part();
    }
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.local_addr().expect("address").port()
    };
    let run = run_child(
        "refused_connections",
        &format!("http://127.0.0.1:{port}"),
        &failing_env(Duration::from_millis(300)),
    );
    run.check_dropping("refused connections");
    run.check_failing("refused connections", "unreachable", None);
}

/// A collector that accepts every connection and never reads or answers, holding the sockets open: each
/// request waits for the exporter's timeout (200 ms), the worst case for the export thread.
#[test]
fn black_holed_endpoint() {
    if child::is_child("black_holed_endpoint") {
        return child_part();
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let held = Arc::new(Mutex::new(Vec::new()));
    let holder = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            holder.lock().unwrap().push(stream);
        }
    });
    let run = run_child(
        "black_holed_endpoint",
        &endpoint,
        &failing_env(Duration::from_millis(200)),
    );
    run.check_dropping("black-holed endpoint");
    // Each attempt is a connection of its own: the one whose request timed out is not reused.
    let connections = held.lock().unwrap().len();
    run.check_failing("black-holed endpoint", "unreachable", Some(connections));
}

/// A collector answering every request with 500, which the exporter does not retry: batches fail as
/// fast as the export thread sends them, and the server counts every one. Whether spans are dropped
/// depends on whether the export thread keeps up with the caller, so it is not asserted.
#[test]
fn collector_answering_500() {
    if child::is_child("collector_answering_500") {
        return child_part();
    }
    let receiver = otlp_receiver::Receiver::start();
    receiver.respond_with(500);
    let run = run_child(
        "collector_answering_500",
        receiver.base_url(),
        &failing_env(Duration::from_secs(1)),
    );
    assert!(receiver.spans().is_empty());
    run.check_failing(
        "collector answering 500",
        "rejected",
        Some(receiver.content_types().len()),
    );
}

/// How long the slow collector takes to answer each request.
const SLOW_ANSWER: Duration = Duration::from_millis(1500);

/// A collector that accepts every request but answers 200 only after 1.5 s: the caller does not slow
/// down, spans beyond the queue are dropped, and those accepted still arrive, after the caller is done.
#[test]
fn slow_collector() {
    if child::is_child("slow_collector") {
        return child_part();
    }
    let receiver = otlp_receiver::Receiver::start();
    receiver.delay_responses(SLOW_ANSWER);
    // A batch is the whole queue, so that when the guard is dropped at most the request in flight and
    // one more stand between the queue and the collector: 2 x 1.5 s, inside the guard's 5 s bound.
    let run = run_child(
        "slow_collector",
        receiver.base_url(),
        &queue_env(QUEUE, Duration::from_secs(10)),
    );
    run.check_caller_and_memory("slow collector");

    let spans = receiver.spans();
    let calls_done = UNIX_EPOCH + Duration::from_millis(run.u64("calls_done_unix_ms"));
    let after_calls = spans.iter().filter(|s| s.received_at > calls_done).count();
    eprintln!(
        "slow collector: {} spans received in {} requests, {after_calls} of them after the calls ended",
        spans.len(),
        receiver.content_types().len()
    );
    assert!(
        spans.iter().all(|s| s.name() == "record-order"),
        "only the calls' spans are exported"
    );
    // In the 60 s the child may live the collector can take at most 40 requests of 256 spans, far fewer
    // than 220,000: the calls could only finish because spans were dropped instead of waited for.
    assert!(run.dropped() > 0, "no span was dropped");
    // Every span was either delivered or counted as dropped, and the export counter says so too.
    assert_eq!(
        spans.len() as u64 + run.dropped(),
        CALLS,
        "received {} + dropped {}",
        spans.len(),
        run.report["dropped"]
    );
    assert_eq!(run.u64("exported"), spans.len() as u64);
    assert!(
        after_calls > 0,
        "spans still arrive once the caller is done"
    );
    assert_eq!(run.warnings_with(EXPORT_WARNING), 0, "{}", run.report);
}
