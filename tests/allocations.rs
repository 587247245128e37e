//! The metrics path allocates nothing per call: with completion lines filtered out by the level, an
//! observed call only increments pre-resolved children.

use sightline::{observe, ErrorLabel};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

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

#[observe]
fn hot(x: u64) -> Result<u64, E> {
    if x % 2 == 0 {
        Ok(x)
    } else {
        Err(E::Declined)
    }
}

#[observe(log = "off")]
fn hot_silent(x: u64) -> Result<u64, E> {
    if x % 2 == 0 {
        Ok(x)
    } else {
        Err(E::Declined)
    }
}

#[observe]
async fn hot_async(x: u64) -> Result<u64, E> {
    hot(x)
}

#[test]
fn observed_calls_allocate_nothing_on_the_metrics_path() {
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
