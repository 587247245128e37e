//! Where finished spans wait for the export thread: a bounded ring per calling thread. A thread pushes
//! into its own ring only (no lock, no cache line another calling thread writes), the export thread
//! drains every ring on its own schedule, and a full ring drops the span and counts it: the caller never
//! waits and memory stays bounded however slow the collector is.
//!
//! `crossbeam_queue::ArrayQueue` is the ring: lock-free and bounded, and with one producer its push is
//! one uncontended compare-and-swap.

use super::record::SpanRecord;
use crate::loss::{spans_lost, SpanLoss};
use crate::warn::{warn_rate_limited, RateLimited};
use crossbeam_queue::ArrayQueue;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;

/// Dropped spans reported at most every 10 seconds.
static DROPS: RateLimited = RateLimited::new(10_000);

/// Distinguishes the rings of one installation from another's on a thread that records for both.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

type Ring = ArrayQueue<SpanRecord>;

/// The rings of one export pipeline.
pub(crate) struct Rings {
    id: u64,
    capacity: usize,
    all: Mutex<Vec<Arc<Ring>>>,
    /// Set once the pipeline shut down: later spans are counted lost at once.
    closed: AtomicBool,
    /// Woken when a ring is half full, so a burst is drained before the ring overflows.
    worker: Mutex<Option<Thread>>,
    dropped: AtomicU64,
}

thread_local! {
    /// This thread's ring, and the pipeline it belongs to.
    static LOCAL: RefCell<Option<(u64, Arc<Ring>)>> = const { RefCell::new(None) };
}

impl Rings {
    /// Rings of `max_queue` spans each (`OTEL_BSP_MAX_QUEUE_SIZE`, per recording thread: the default
    /// 2048 is about 300 KB, allocated when a thread first ends a span).
    pub(crate) fn new(max_queue: usize) -> Self {
        Rings {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            capacity: max_queue.max(1),
            all: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            worker: Mutex::new(None),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_worker(&self, worker: Thread) {
        *self.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some(worker);
    }

    /// Hands a finished span to the export thread, or drops and counts it when this thread's ring is
    /// full or the pipeline is shut down.
    #[inline]
    pub(crate) fn push(&self, record: SpanRecord) {
        if self.closed.load(Ordering::Relaxed) {
            spans_lost(SpanLoss::Shutdown, 1);
            return;
        }
        let pushed = LOCAL.try_with(|local| {
            let mut local = local.try_borrow_mut().ok()?;
            if !matches!(&*local, Some((id, _)) if *id == self.id) {
                *local = Some((self.id, self.register()));
            }
            let (_, ring) = local.as_ref()?;
            let pushed = ring.push(record).is_ok();
            if pushed && ring.len() * 2 == self.capacity {
                self.wake();
            }
            Some(pushed)
        });
        if pushed != Ok(Some(true)) {
            self.drop_one();
        }
    }

    #[cold]
    fn register(&self) -> Arc<Ring> {
        let ring = Arc::new(ArrayQueue::new(self.capacity));
        self.all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&ring));
        ring
    }

    #[cold]
    fn wake(&self) {
        if let Some(worker) = &*self.worker.lock().unwrap_or_else(PoisonError::into_inner) {
            worker.unpark();
        }
    }

    #[cold]
    fn drop_one(&self) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        spans_lost(SpanLoss::QueueFull, 1);
        if !DROPS.due() {
            return;
        }
        warn_rate_limited(
            &DROPS,
            format_args!(
                "the span export queue is full (the collector is slow or unreachable); \
                 {dropped} spans dropped so far"
            ),
        );
    }

    /// Moves what each ring holds now into `out` (what its thread pushes meanwhile waits for the next
    /// round, so a thread that never stops cannot keep this going), and forgets the rings of threads
    /// that ended.
    pub(crate) fn drain(&self, out: &mut Vec<SpanRecord>) {
        let rings: Vec<Arc<Ring>> = {
            let mut all = self.all.lock().unwrap_or_else(PoisonError::into_inner);
            // Only this list holds the ring of a thread that ended (or moved to another pipeline).
            all.retain(|ring| Arc::strong_count(ring) > 1 || !ring.is_empty());
            all.clone()
        };
        for ring in rings {
            for _ in 0..ring.len() {
                match ring.pop() {
                    Some(record) => out.push(record),
                    None => break,
                }
            }
        }
    }

    /// Spans waiting in the rings.
    pub(crate) fn waiting(&self) -> u64 {
        self.all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|ring| ring.len() as u64)
            .sum()
    }

    /// Refuses every later span (counted as lost at shutdown).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Spans dropped because a ring was full.
    #[allow(dead_code)] // read by the tests
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Rings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rings")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
