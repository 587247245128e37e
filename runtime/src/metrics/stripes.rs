//! Counters split into per-thread stripes, each on cache lines of its own, and summed when scraped.
//!
//! One shared atomic hit by every thread makes each increment wait for the cache line to travel between
//! cores (about three times the cost of the increment itself on two cores). Each thread instead adds into
//! one of a few stripes, chosen once per thread; a scrape sums the stripes. Increments are single
//! `fetch_add`s: no lock, no compare-and-swap loop, and integer values (durations in nanoseconds), so the
//! sum is exact.

use once_cell::sync::Lazy;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Slots per line: 128 bytes, because x86 prefetches cache lines in adjacent pairs, so stripes 64 bytes
/// apart would still share traffic.
const SLOTS_PER_LINE: usize = 16;

#[repr(align(128))]
struct Line([AtomicU64; SLOTS_PER_LINE]);

impl Line {
    fn new() -> Self {
        Line(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// A power of two: twice the cores (threads outnumber cores; a pair of busy threads rarely share a
/// stripe), at least 4, at most 32 (memory grows with it for every series).
static STRIPES: Lazy<usize> = Lazy::new(|| {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    (cores * 2).next_power_of_two().clamp(4, 32)
});

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's stripe, assigned round-robin on its first increment.
#[inline]
fn stripe() -> usize {
    STRIPE
        .try_with(|cell| match cell.get() {
            usize::MAX => assign(cell),
            stripe => stripe,
        })
        .unwrap_or(0)
}

#[cold]
fn assign(cell: &Cell<usize>) -> usize {
    let stripe = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) & (*STRIPES - 1);
    cell.set(stripe);
    stripe
}

/// `slots` counters, striped.
pub(crate) struct Striped {
    lines: Box<[Line]>,
    lines_per_stripe: usize,
}

impl Striped {
    pub(crate) fn new(slots: usize) -> Self {
        let lines_per_stripe = slots.div_ceil(SLOTS_PER_LINE).max(1);
        Striped {
            lines: (0..lines_per_stripe * *STRIPES)
                .map(|_| Line::new())
                .collect(),
            lines_per_stripe,
        }
    }

    #[inline]
    fn slot(&self, stripe: usize, slot: usize) -> &AtomicU64 {
        let line = stripe * self.lines_per_stripe + slot / SLOTS_PER_LINE;
        &self.lines[line].0[slot % SLOTS_PER_LINE]
    }

    /// Adds `n` to `slot`.
    #[inline]
    pub(crate) fn add(&self, slot: usize, n: u64) {
        self.slot(stripe(), slot).fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` to `slot`, publishing every earlier write of this thread to a scrape that reads `slot`
    /// with [`Striped::read`] (a scrape reading a completion then sees its start).
    #[inline]
    pub(crate) fn add_release(&self, slot: usize, n: u64) {
        self.slot(stripe(), slot).fetch_add(n, Ordering::Release);
    }

    /// The sum of `slot` over every stripe.
    pub(crate) fn read(&self, slot: usize) -> u64 {
        (0..self.lines.len() / self.lines_per_stripe)
            .map(|stripe| self.slot(stripe, slot).load(Ordering::Acquire))
            .fold(0u64, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn sums_are_exact_across_threads() {
        let counters = Arc::new(Striped::new(20));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let counters = Arc::clone(&counters);
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        counters.add(19, 1);
                        counters.add_release(t, i);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(counters.read(19), 80_000);
        for t in 0..8 {
            assert_eq!(counters.read(t), (0..10_000u64).sum::<u64>());
        }
        assert_eq!(counters.read(8), 0);
    }

    #[test]
    fn stripes_do_not_share_lines() {
        let counters = Striped::new(3);
        let a = counters.slot(0, 2) as *const AtomicU64 as usize;
        let b = counters.slot(1, 0) as *const AtomicU64 as usize;
        assert!(b - a >= 64, "{a:#x} {b:#x}");
        assert_eq!(a % 128 / 8, 2);
    }
}
