//! What must hold when calls go wrong or pile up: a panic propagates unchanged and is counted once with
//! its span ended `ERROR` (also through a nested business span); 10,000 futures dropped mid-flight leave
//! in-flight at 0 and are counted `cancelled`; 4 threads making 50,000 calls each while 20 clients scrape
//! `/metrics` over HTTP end with counters equal to the calls made, exactly, and no deadlock.
//!
//! One telemetry install for the binary: spans exported over OTLP/HTTP to a receiver that decodes the
//! real protobuf, log lines captured in memory.

mod common;
#[path = "common/http_client.rs"]
mod http_client;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use common::{buckets, calls, errors, exposition, in_flight, value, Captured};
use sightline::{business_span, observe, ErrorLabel};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// OTLP status codes.
const STATUS_ERROR: i32 = 2;

struct Installed {
    logs: Captured,
    receiver: otlp_receiver::Receiver,
}

fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let receiver = otlp_receiver::Receiver::start();
        let logs = Captured::default();
        let guard = sightline::Telemetry::builder("reliability")
            .otlp_endpoint(receiver.base_url())
            .log_writer(logs.clone())
            .process_metrics(false)
            .install()
            .expect("telemetry installs once");
        std::mem::forget(guard);
        Installed { logs, receiver }
    })
}

/// The one exported span named `name`, waiting for the export batch (up to 30 s).
fn exported(name: &str) -> otlp_receiver::ReceivedSpan {
    let receiver = &installed().receiver;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        let found: Vec<_> = spans.iter().filter(|s| s.name() == name).collect();
        assert!(found.len() <= 1, "one span named {name}");
        if let Some(span) = found.first() {
            return (*span).clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "span {name} never exported"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A panic payload no formatting could produce: it must reach the catcher as this exact value.
#[derive(Debug, PartialEq)]
struct Payload(u64);

#[derive(Debug, ErrorLabel)]
enum LoadError {
    Declined,
    Timeout,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoadError::Declined => "declined",
            LoadError::Timeout => "timeout",
        })
    }
}

#[observe]
fn charge_panics(amount: u64) -> Result<u64, LoadError> {
    if amount > 0 {
        std::panic::panic_any(Payload(amount));
    }
    Ok(amount)
}

#[observe]
fn checkout_nested(amount: u64) -> Result<u64, LoadError> {
    reserve_panics(amount)
}

#[business_span("reserve-panics")]
fn reserve_panics(amount: u64) -> Result<u64, LoadError> {
    if amount > 0 {
        std::panic::panic_any(Payload(amount));
    }
    Ok(amount)
}

#[observe]
async fn async_charge_panics(amount: u64) -> Result<u64, LoadError> {
    tokio::task::yield_now().await;
    if amount > 0 {
        std::panic::panic_any(Payload(amount));
    }
    Ok(amount)
}

/// Sum of a family's samples for one function, over every other label.
fn total(metric: &str, label: &str, function: &str) -> f64 {
    common::scrape()
        .find(metric, &[(label, function)])
        .map(|s| s.value)
        .sum()
}

/// The panic, its counts, its in-flight gauge, its completion line and its exported span.
fn check_panicked_call(function: &str, span_name: &str, line_key: &str) {
    assert_eq!(calls(function, "error"), 1.0, "{function}");
    assert_eq!(
        total("function_calls_total", "function", function),
        1.0,
        "{function} counted once"
    );
    assert_eq!(errors(function, "panic"), 1.0, "{function}");
    assert_eq!(
        total("function_errors_total", "function", function),
        1.0,
        "{function}: one error, of kind panic"
    );
    assert_eq!(in_flight(function), Some(0.0), "{function}");
    let b = buckets(
        "function_call_duration_seconds",
        &[("function", function), ("result", "error")],
    )
    .expect("the panicked call is timed");
    assert_eq!(b.last().unwrap().1, 1.0);

    let lines: Vec<_> = installed()
        .logs
        .lines()
        .into_iter()
        .filter(|l| l[line_key] == function)
        .collect();
    assert_eq!(lines.len(), 1, "one completion line: {lines:?}");
    assert_eq!(lines[0]["level"], "error");
    assert_eq!(lines[0]["error_kind"], "panic");
    // As the default hook prints it: where, and what (a payload that is not text is `Box<dyn Any>`).
    let error = lines[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("panicked at tests/reliability.rs:") && error.ends_with(": Box<dyn Any>"),
        "{function}: {error:?}"
    );

    let span = exported(span_name);
    assert_eq!(span.status().0, STATUS_ERROR, "{span_name} ends with ERROR");
    assert_eq!(span.status().1, error, "the span's status says the same");
}

#[test]
fn a_panic_propagates_unchanged_counted_once_with_its_span_ended_error() {
    installed();
    let caught = std::panic::catch_unwind(|| charge_panics(7)).expect_err("the panic propagates");
    assert_eq!(
        caught.downcast_ref::<Payload>(),
        Some(&Payload(7)),
        "the payload arrives unchanged"
    );
    check_panicked_call("charge_panics", "charge_panics", "function");
}

#[test]
fn a_panic_inside_a_nested_business_span_ends_both_spans_error() {
    installed();
    let caught = std::panic::catch_unwind(|| checkout_nested(9)).expect_err("the panic propagates");
    assert_eq!(caught.downcast_ref::<Payload>(), Some(&Payload(9)));
    check_panicked_call("checkout_nested", "checkout_nested", "function");

    let operation = [("operation", "reserve-panics")];
    assert_eq!(
        value(
            "business_operations_total",
            &[("operation", "reserve-panics"), ("outcome", "error")]
        ),
        Some(1.0)
    );
    assert_eq!(
        total("business_operations_total", "operation", "reserve-panics"),
        1.0
    );
    assert_eq!(
        value(
            "business_operation_errors_total",
            &[("operation", "reserve-panics"), ("error_kind", "panic")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value("business_operations_in_flight", &operation),
        Some(0.0)
    );
    let inner = exported("reserve-panics");
    let outer = exported("checkout_nested");
    assert_eq!(inner.status().0, STATUS_ERROR);
    assert_eq!(
        inner.parent_span_id(),
        outer.span_id(),
        "nested in the call"
    );
    assert_eq!(inner.trace_id(), outer.trace_id());
}

#[tokio::test]
async fn an_async_panic_is_counted_once_and_its_task_sees_the_payload() {
    installed();
    let error = tokio::spawn(async_charge_panics(11))
        .await
        .expect_err("the task panicked");
    let payload = error.into_panic();
    assert_eq!(payload.downcast_ref::<Payload>(), Some(&Payload(11)));
    assert_eq!(calls("async_charge_panics", "cancelled"), 0.0);
    check_panicked_call("async_charge_panics", "async_charge_panics", "function");
}

/// Never completes: every call to it ends by being dropped.
#[observe]
async fn waits_forever(i: u64) -> Result<u64, LoadError> {
    std::future::pending::<()>().await;
    Ok(i)
}

#[business_span("waits-forever-op")]
async fn waits_forever_op(i: u64) -> Result<u64, LoadError> {
    std::future::pending::<()>().await;
    Ok(i)
}

const DROPPED_FUTURES: u64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_futures_dropped_mid_flight_leave_in_flight_at_zero() {
    installed();
    // Every future is polled (it is in flight, the gauge shows all of them at once) and then dropped by
    // its timeout.
    let release = Arc::new(tokio::sync::Notify::new());
    let mut tasks = Vec::new();
    for i in 0..DROPPED_FUTURES {
        let release = Arc::clone(&release);
        tasks.push(tokio::spawn(async move {
            let calls = async {
                let _ = tokio::join!(waits_forever(i), waits_forever_op(i));
            };
            tokio::select! {
                _ = calls => unreachable!("the calls never complete"),
                _ = release.notified() => {}
            }
        }));
    }
    // Both gauges are awaited: a worker thread may be between a task's two first polls when the other
    // is read.
    let gauges = || {
        let op = value(
            "business_operations_in_flight",
            &[("operation", "waits-forever-op")],
        );
        (in_flight("waits_forever"), op)
    };
    let all = Some(DROPPED_FUTURES as f64);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while gauges() != (all, all) {
        assert!(
            std::time::Instant::now() < deadline,
            "all {DROPPED_FUTURES} calls in flight; gauges (function, operation) at {:?}",
            gauges()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    release.notify_waiters();
    for task in tasks {
        task.await.expect("the task ends by dropping its calls");
    }

    // A second wave through `tokio::time::timeout`, the common way a caller gives up.
    let timeouts: Vec<_> = (0..DROPPED_FUTURES)
        .map(|i| tokio::time::timeout(Duration::from_millis(20), waits_forever(i)))
        .collect();
    for result in futures::future::join_all(timeouts).await {
        assert!(result.is_err(), "timed out");
    }

    assert_eq!(in_flight("waits_forever"), Some(0.0));
    assert_eq!(
        calls("waits_forever", "cancelled"),
        2.0 * DROPPED_FUTURES as f64
    );
    assert_eq!(
        total("function_calls_total", "function", "waits_forever"),
        2.0 * DROPPED_FUTURES as f64,
        "only cancellations"
    );
    assert_eq!(
        total("function_errors_total", "function", "waits_forever"),
        0.0,
        "a cancellation is not an error"
    );
    assert_eq!(
        value(
            "business_operations_in_flight",
            &[("operation", "waits-forever-op")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            "business_operations_total",
            &[("operation", "waits-forever-op"), ("outcome", "cancelled")]
        ),
        Some(DROPPED_FUTURES as f64)
    );
}

/// The unit of load: ok, or one of two errors, decided by `i`.
#[observe]
fn load_call(i: u64) -> Result<u64, LoadError> {
    match i % 10 {
        0..=2 => Err(LoadError::Declined),
        3 => Err(LoadError::Timeout),
        _ => Ok(i),
    }
}

const THREADS: u64 = 4;
const CALLS_PER_THREAD: u64 = 50_000;
const SCRAPERS: usize = 20;

/// `(result, error_kind)` counts of the load function in one scrape, with the invariants every scrape
/// must show: the histogram's `_count` equals the counter, per result.
fn load_counts(text: &str) -> BTreeMap<String, f64> {
    let scrape = exposition::parse(text);
    let mut counts = BTreeMap::new();
    for result in ["ok", "error"] {
        let labels = [("function", "load_call"), ("result", result)];
        let counter: f64 = scrape
            .find("function_calls_total", &labels)
            .map(|s| s.value)
            .sum();
        let count: f64 = scrape
            .find("function_call_duration_seconds_count", &labels)
            .map(|s| s.value)
            .sum();
        assert_eq!(count, counter, "histogram _count = counter for {result}");
        counts.insert(result.to_owned(), counter);
    }
    for kind in ["declined", "timeout"] {
        let errors: f64 = scrape
            .find(
                "function_errors_total",
                &[("function", "load_call"), ("error_kind", kind)],
            )
            .map(|s| s.value)
            .sum();
        counts.insert(kind.to_owned(), errors);
    }
    counts
}

/// Serves `/metrics` on 127.0.0.1 from a runtime of its own.
fn serve_metrics() -> std::net::SocketAddr {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            send.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(|| async { sightline::metrics::render() }),
            );
            axum::serve(listener, app).await.expect("metrics server");
        });
    });
    receive.recv().expect("metrics server started")
}

#[test]
fn four_threads_and_twenty_scrapers_count_every_call_exactly() {
    installed();
    let addr = serve_metrics();
    let done = Arc::new(AtomicBool::new(false));
    let scrapes = Arc::new(AtomicU64::new(0));

    // Run everything under a watchdog: a deadlock fails the test instead of hanging CI.
    let (finished, wait) = std::sync::mpsc::channel();
    let worker_done = Arc::clone(&done);
    let worker_scrapes = Arc::clone(&scrapes);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let scrapers: Vec<_> = (0..SCRAPERS)
            .map(|_| {
                let done = Arc::clone(&worker_done);
                let scrapes = Arc::clone(&worker_scrapes);
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let mut last = BTreeMap::new();
                    while !done.load(Ordering::Relaxed) {
                        let response = runtime
                            .block_on(http_client::request(addr, "GET", "/metrics", &[]))
                            .expect("a scrape is answered");
                        assert_eq!(response.status, 200);
                        let counts = load_counts(&response.body_text());
                        for (key, value) in &counts {
                            let before = last.get(key).copied().unwrap_or(0.0);
                            assert!(*value >= before, "{key} went down: {before} -> {value}");
                        }
                        last = counts;
                        scrapes.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut ok = 0u64;
                    for n in 0..CALLS_PER_THREAD {
                        let i = t * CALLS_PER_THREAD + n;
                        if load_call(i).is_ok() {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        let ok: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        let scrapes_during_load = worker_scrapes.load(Ordering::Relaxed);
        worker_done.store(true, Ordering::Relaxed);
        for scraper in scrapers {
            scraper.join().expect("a scraper failed");
        }
        drop(runtime);
        let _ = finished.send((ok, scrapes_during_load));
    });
    let (ok, scrapes_during_load) = wait
        .recv_timeout(Duration::from_secs(600))
        .expect("the load finished: no deadlock, no failed scraper");

    let total_calls = THREADS * CALLS_PER_THREAD;
    assert_eq!(ok, total_calls * 6 / 10, "the calls returned their values");
    assert!(
        scrapes_during_load >= SCRAPERS as u64,
        "the scrapers ran alongside the calls ({scrapes_during_load} scrapes)"
    );
    let counts = load_counts(&sightline::metrics::render());
    assert_eq!(counts["ok"], (total_calls * 6 / 10) as f64);
    assert_eq!(counts["error"], (total_calls * 4 / 10) as f64);
    assert_eq!(counts["declined"], (total_calls * 3 / 10) as f64);
    assert_eq!(counts["timeout"], (total_calls / 10) as f64);
    assert_eq!(in_flight("load_call"), Some(0.0));

    let lines = installed().logs.for_function("load_call");
    assert_eq!(
        lines.len() as u64,
        total_calls,
        "one whole completion line per call"
    );
}
