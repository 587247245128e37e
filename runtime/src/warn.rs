//! Rate-limited warnings to standard error for faults inside sightline itself (a failing log writer, a
//! metrics encoding error). They must reach a human without flooding: at most one line per interval per
//! kind of fault, with the number suppressed since the last one.

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One kind of fault's limiter.
pub(crate) struct RateLimited {
    interval_ms: u64,
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimited {
    pub(crate) const fn new(interval_ms: u64) -> Self {
        RateLimited {
            interval_ms,
            last_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether a warning may be printed now; if so, how many were suppressed before it.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.allow_at(now)
    }

    fn allow_at(&self, now: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= self.interval_ms)
            && self
                .last_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Metrics could not be encoded.
pub(crate) static RENDER: RateLimited = RateLimited::new(10_000);
/// A call site met a value it cannot label (e.g. a status code outside 100..=599).
pub(crate) static LABEL: RateLimited = RateLimited::new(10_000);
/// Spans could not be exported (collector down or failing) or flushed at shutdown.
pub(crate) static EXPORT: RateLimited = RateLimited::new(10_000);
/// Buffered log lines could not be written at shutdown.
pub(crate) static SHUTDOWN: RateLimited = RateLimited::new(10_000);

/// Prints `message` to standard error unless `limiter` printed one within its interval.
pub(crate) fn warn_rate_limited(limiter: &RateLimited, message: fmt::Arguments<'_>) {
    if let Some(suppressed) = limiter.allow() {
        // Not `eprintln!`: it panics when standard error is a closed pipe, and a warning about a fault
        // must not become a crash of its own.
        let mut stderr = std::io::stderr().lock();
        let _ = if suppressed > 0 {
            writeln!(
                stderr,
                "{message} ({suppressed} similar warnings suppressed)"
            )
        } else {
            writeln!(stderr, "{message}")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_interval_then_the_suppressed_count() {
        let limiter = RateLimited::new(10_000);
        assert_eq!(limiter.allow_at(1_000_000), Some(0));
        assert_eq!(limiter.allow_at(1_000_001), None);
        assert_eq!(limiter.allow_at(1_009_999), None);
        assert_eq!(limiter.allow_at(1_010_000), Some(2));
        assert_eq!(limiter.allow_at(1_010_001), None);
        assert_eq!(limiter.allow_at(1_020_000), Some(1));
    }

    #[test]
    fn a_clock_before_1970_still_allows_the_first_warning() {
        let limiter = RateLimited::new(10_000);
        assert_eq!(limiter.allow_at(0), Some(0));
        assert_eq!(limiter.allow_at(0), None);
    }
}
