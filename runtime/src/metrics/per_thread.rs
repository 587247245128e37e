//! Counters each thread owns a copy of, summed when scraped: the per-call cost of the RED series.
//!
//! A call adds to its thread's own cells with a plain load and store, no locked instruction: only that
//! thread writes them, so no increment can be lost, and no cache line moves between cores (two threads
//! calling one function cost what one does). A scrape sums every thread's cells under a read lock. When a
//! thread exits, its counts are folded into the series' retired totals under the write lock, so counters
//! never go down and short-lived threads leave nothing behind. A call made while its thread's locals are
//! being torn down falls back to shared striped atomics.

use super::stripes::Striped;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// One thread's copy of a series' counters.
struct Cells(Box<[AtomicU64]>);

impl Cells {
    fn new(slots: usize) -> Self {
        Cells((0..slots).map(|_| AtomicU64::new(0)).collect())
    }
}

struct State {
    threads: Vec<Arc<Cells>>,
    /// Totals of the threads that exited.
    retired: Vec<u64>,
}

/// `slots` counters, one copy per thread; see the module docs.
pub(crate) struct PerThread {
    id: usize,
    slots: usize,
    state: RwLock<State>,
    fallback: Striped,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// This thread's cells, indexed by [`PerThread::id`].
struct Local(Vec<Option<(&'static PerThread, Arc<Cells>)>>);

impl Drop for Local {
    fn drop(&mut self) {
        for (owner, cells) in self.0.drain(..).flatten() {
            owner.retire(&cells);
        }
    }
}

thread_local! {
    static LOCAL: RefCell<Local> = const { RefCell::new(Local(Vec::new())) };
}

/// Adds to one of this thread's own cells: a plain load and a release store, since no other thread writes
/// it.
#[inline(always)]
fn add_own(cells: &[AtomicU64], (slot, n): (usize, u64)) {
    if let Some(cell) = cells.get(slot) {
        cell.store(
            cell.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Release,
        );
    }
}

impl PerThread {
    pub(crate) fn new(slots: usize) -> Self {
        PerThread {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            slots,
            state: RwLock::new(State {
                threads: Vec::new(),
                retired: vec![0; slots],
            }),
            fallback: Striped::new(slots),
        }
    }

    /// Adds `n` to `slot` in this thread's cells. The store is a release: a scrape that reads it (an
    /// acquire) also sees every earlier count of the same call, e.g. its start on another thread.
    #[inline(always)]
    pub(crate) fn add(&'static self, slot: usize, n: u64) {
        self.add_two((slot, n), None);
    }

    /// Adds to `first`, then to `second` (release: a scrape that sees it sees the first), with one
    /// lookup of this thread's cells.
    #[inline(always)]
    pub(crate) fn add_two(&'static self, first: (usize, u64), second: Option<(usize, u64)>) {
        let added = LOCAL.try_with(|local| {
            let Ok(mut local) = local.try_borrow_mut() else {
                return false;
            };
            let cells = match local.0.get(self.id) {
                Some(Some((_, cells))) => cells,
                _ => self.register(&mut local),
            };
            add_own(&cells.0, first);
            if let Some(second) = second {
                add_own(&cells.0, second);
            }
            true
        });
        if added != Ok(true) {
            self.fallback.add(first.0, first.1);
            if let Some((slot, n)) = second {
                self.fallback.add(slot, n);
            }
        }
    }

    #[cold]
    fn register<'l>(&'static self, local: &'l mut Local) -> &'l Arc<Cells> {
        let cells = Arc::new(Cells::new(self.slots));
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .threads
            .push(Arc::clone(&cells));
        if local.0.len() <= self.id {
            local.0.resize_with(self.id + 1, || None);
        }
        let entry = local.0[self.id].insert((self, cells));
        &entry.1
    }

    fn retire(&self, cells: &Arc<Cells>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        for (total, cell) in state.retired.iter_mut().zip(cells.0.iter()) {
            *total = total.wrapping_add(cell.load(Ordering::Acquire));
        }
        state.threads.retain(|c| !Arc::ptr_eq(c, cells));
    }

    /// The totals of `slots`, read in the order given (under one lock, so a thread exiting meanwhile is
    /// counted exactly once).
    pub(crate) fn read(&self, slots: impl IntoIterator<Item = usize>) -> Vec<u64> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        slots
            .into_iter()
            .map(|slot| {
                state
                    .threads
                    .iter()
                    .map(|cells| cells.0[slot].load(Ordering::Acquire))
                    .fold(state.retired[slot], u64::wrapping_add)
                    .wrapping_add(self.fallback.read(slot))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(slots: usize) -> &'static PerThread {
        Box::leak(Box::new(PerThread::new(slots)))
    }

    #[test]
    fn threads_that_exit_keep_their_counts() {
        let counters = leak(3);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        counters.add(0, 1);
                        counters.add(2, i);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(
            counters.read([0, 1, 2]),
            vec![80_000, 0, 8 * (0..10_000u64).sum::<u64>()]
        );
        assert!(
            counters.state.read().unwrap().threads.is_empty(),
            "exited threads are folded"
        );
    }

    #[test]
    fn scrapes_during_writes_never_see_a_total_go_down() {
        let counters = leak(1);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    // Short-lived threads: each retires while the scraper reads.
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::spawn(move || {
                            for _ in 0..1_000 {
                                counters.add(0, 1);
                            }
                        })
                        .join()
                        .unwrap();
                    }
                })
            })
            .collect();
        let mut last = 0;
        for _ in 0..2_000 {
            let now = counters.read([0])[0];
            assert!(now >= last, "{now} < {last}");
            last = now;
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(counters.read([0])[0] % 1_000, 0);
    }
}
