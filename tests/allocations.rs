//! What a call allocates on the calling thread: nothing on the metrics path (completion lines filtered
//! out by the level: an observed call only increments pre-resolved children), nothing for a span handed
//! to the exporter (its record goes into the thread's ring; conversion happens on the export thread), and
//! at most one allocation per JSON line.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use sightline::{business_span, observe, ErrorLabel};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;

/// The tests take turns: one installs the global subscriber, the other scopes its own, and the level each
/// sets is process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(Debug, ErrorLabel)]
enum E {
    Declined,
}

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

/// `x` when even, else declined: half the calls of a loop fail.
fn even(x: u64) -> Result<u64, E> {
    if x % 2 == 0 {
        Ok(x)
    } else {
        Err(E::Declined)
    }
}

#[observe]
fn hot(x: u64) -> Result<u64, E> {
    even(x)
}

#[observe(log = "off")]
fn hot_silent(x: u64) -> Result<u64, E> {
    even(x)
}

#[observe]
async fn hot_async(x: u64) -> Result<u64, E> {
    hot(x)
}

#[test]
fn observed_calls_allocate_nothing_on_the_metrics_path() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _guard = sightline::Telemetry::builder("alloc")
        .log_writer(std::io::sink)
        .log_level("error")
        .registry(prometheus::Registry::new())
        .install()
        .unwrap();
    // The first calls resolve the call sites' children.
    for x in 0..4 {
        let _ = hot(x);
        let _ = hot_silent(x);
    }
    assert_eq!(
        allocations_during(|| {
            for x in (0..10_000).step_by(2) {
                let _ = std::hint::black_box(hot(x));
            }
        }),
        0,
        "successful calls"
    );
    assert_eq!(
        allocations_during(|| {
            for x in 0..10_000 {
                let _ = std::hint::black_box(hot_silent(x));
            }
        }),
        0,
        "failed calls whose lines are off"
    );

    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut poll_once = |x| {
        let mut fut = std::pin::pin!(hot_async(x));
        assert!(fut.as_mut().poll(&mut cx).is_ready());
    };
    use std::future::Future;
    poll_once(0);
    assert_eq!(
        allocations_during(|| {
            for x in (0..10_000).step_by(2) {
                poll_once(x);
            }
        }),
        0,
        "async calls"
    );
    let text = sightline::metrics::render();
    assert!(
        text.contains(
            r#"function_calls_total{function="hot",module="allocations",result="ok"} 10003"#
        ),
        "{text}"
    );
}

#[business_span("settle-payment")]
fn settle(x: u64) -> Result<u64, E> {
    even(x)
}

#[observe]
fn logged(x: u64) -> Result<u64, E> {
    even(x)
}

/// Counts the spans it is given and drops them.
#[derive(Debug)]
struct CountingExporter(Arc<AtomicUsize>);

impl SpanExporter for CountingExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

/// Counts the lines written through it.
#[derive(Clone)]
struct CountingWriter(Arc<AtomicUsize>);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let lines = buf.iter().filter(|&&b| b == b'\n').count();
        self.0.fetch_add(lines, Ordering::SeqCst);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a subscriber of its own: `level` for lines, spans to `exporter` when given.
fn scoped(
    level: &str,
    exporter: Option<CountingExporter>,
    lines: &Arc<AtomicUsize>,
    f: impl FnOnce(&sightline::TelemetryGuard),
) {
    let writer = CountingWriter(lines.clone());
    let mut builder = sightline::Telemetry::builder("alloc-scoped")
        .log_writer(move || writer.clone())
        .log_level(level)
        .registry(prometheus::Registry::new())
        .process_metrics(false);
    if let Some(exporter) = exporter {
        builder = builder.span_exporter(exporter);
    }
    let (layer, guard) = builder.into_layer().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&dispatch, || f(&guard));
    drop(dispatch);
    tracing::callsite::rebuild_interest_cache();
}

#[test]
fn exported_spans_allocate_nothing_and_lines_at_most_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());

    // Spans exported, lines off by the level: 5 rounds of 1,000 calls, the export thread emptying the
    // ring between rounds (outside the count), so no span is dropped for want of room.
    let exported = Arc::new(AtomicUsize::new(0));
    let lines = Arc::new(AtomicUsize::new(0));
    scoped(
        "error",
        Some(CountingExporter(exported.clone())),
        &lines,
        |guard| {
            for x in 0..4 {
                let _ = settle(x);
            }
            let _ = guard.flush(Duration::from_secs(30));
            let before = exported.load(Ordering::SeqCst);
            let mut allocations = 0;
            for _ in 0..5 {
                allocations += allocations_during(|| {
                    for x in (0..2_000).step_by(2) {
                        let _ = std::hint::black_box(settle(x));
                    }
                });
                let _ = guard.flush(Duration::from_secs(30));
            }
            assert_eq!(allocations, 0, "exported spans");
            assert_eq!(
                exported.load(Ordering::SeqCst) - before,
                5_000,
                "every span exported"
            );
        },
    );

    // Lines at `info`: a success's line allocates nothing; a failure's line allocates once, for the
    // error's text (written once for the line, the span and its event).
    let lines = Arc::new(AtomicUsize::new(0));
    scoped("info", None, &lines, |guard| {
        for x in 0..4 {
            let _ = logged(x);
        }
        let _ = guard.flush(Duration::from_secs(30));
        let before = lines.load(Ordering::SeqCst);
        let successes = allocations_during(|| {
            for x in (0..10_000).step_by(2) {
                let _ = std::hint::black_box(logged(x));
            }
        });
        let failures = allocations_during(|| {
            for x in (1..10_000).step_by(2) {
                let _ = std::hint::black_box(logged(x));
            }
        });
        let _ = guard.flush(Duration::from_secs(30));
        let written = lines.load(Ordering::SeqCst) - before;
        assert_eq!(written, 10_000, "one line per call");
        // A success line allocates nothing; the hand-off buffer doubles (amortised) only when the
        // writer thread falls more than a full batch behind, which a loaded machine can make happen a
        // few times over 1.5 MB of lines.
        assert!(
            successes <= 4,
            "{successes} allocations for 5000 lines of successful calls"
        );
        assert!(
            failures <= 5_000,
            "{failures} allocations for 5000 lines of failed calls"
        );
    });
}
