//! The clock calls are timed with: the CPU's time-stamp counter through `quanta`, read raw on the hot path
//! and scaled to nanoseconds only for the difference.
//!
//! Two `Instant::now()` calls (a vDSO `clock_gettime` each) cost more than everything else a metrics-only
//! call does; two raw TSC reads cost a third of that. `quanta` uses the TSC only where it is invariant
//! (constant rate across power states) and `rdtscp` exists, after calibrating it against the monotonic
//! clock once per process; elsewhere (other architectures, VMs that hide the invariant-TSC flag) it reads
//! the monotonic clock itself, so durations stay correct, only slower to take. A difference that would be
//! negative (counters of two sockets out of step) is 0, never a wrapped-around huge value.

use once_cell::sync::Lazy;

static CLOCK: Lazy<quanta::Clock> = Lazy::new(quanta::Clock::new);

/// Calibrates the clock now (up to a few milliseconds, once per process) rather than in the first
/// observed call. `install()` calls it.
pub(crate) fn calibrate() {
    Lazy::force(&CLOCK);
}

/// A reading to hand back to [`nanos_since`]; meaningless on its own.
#[inline]
pub(crate) fn now() -> u64 {
    CLOCK.raw()
}

/// Nanoseconds from the reading `start` to the reading `end`; 0 when `end` is not later.
#[inline]
pub(crate) fn between(start: u64, end: u64) -> u64 {
    CLOCK.delta_as_nanos(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn agrees_with_instant_within_one_percent_over_100_ms() {
        calibrate();
        // A loaded machine can stretch one sleep; the clocks are compared on the same interval, so any
        // one attempt within 1% shows agreement, and three attempts keep a noisy neighbour from failing it.
        let mut worst = Vec::new();
        for _ in 0..3 {
            let (tsc_start, std_start) = (now(), Instant::now());
            std::thread::sleep(Duration::from_millis(100));
            let (tsc, std) = (
                between(tsc_start, now()),
                std_start.elapsed().as_nanos() as u64,
            );
            assert!(std >= 100_000_000, "slept {std} ns");
            let error = (tsc as f64 - std as f64).abs() / std as f64;
            if error <= 0.01 {
                return;
            }
            worst.push((tsc, std, error));
        }
        panic!("TSC and Instant disagree by more than 1%: {worst:?}");
    }

    #[test]
    fn a_reading_from_the_future_is_zero_not_a_wrapped_duration() {
        let later = now().wrapping_add(1 << 40);
        assert_eq!(between(later, now()), 0);
    }

    #[test]
    fn durations_grow_monotonically() {
        let start = now();
        let mut last = 0;
        for _ in 0..10_000 {
            let d = between(start, now());
            assert!(d >= last, "{d} < {last}");
            last = d;
        }
    }
}
