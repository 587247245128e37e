//! Rate-limited warnings about faults inside sightline itself (spans that cannot be exported, a label it
//! cannot count, a metrics encoding error). They must reach a human without flooding: at most one line
//! per interval per kind of fault, with the number suppressed since the last one.
//!
//! Once telemetry is installed a warning is a JSON line on the log writer (target `sightline`, level
//! `warn`), so it reaches Loki or ELK with every other line: a plain-text line on stdout among JSON lines
//! would break every log pipeline's parser. Standard error takes it when nothing is installed, when the
//! log writer refuses it, and always for faults of the log writer itself ([`warn_on_stderr`]).

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// One kind of fault's limiter.
pub(crate) struct RateLimited {
    interval_ms: u64,
    last_ms: AtomicU64,
    /// The [`crate::clock::now`] reading of the last warning let through, for [`RateLimited::due`].
    last_tick: AtomicU64,
    suppressed: AtomicU64,
}

impl RateLimited {
    pub(crate) const fn new(interval_ms: u64) -> Self {
        RateLimited {
            interval_ms,
            last_ms: AtomicU64::new(0),
            last_tick: AtomicU64::new(0),
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

    /// Whether [`RateLimited::allow`] may let a warning through now: one TSC read and one load, nothing
    /// written. For a fault on a caller's path that counts every occurrence elsewhere (a dropped span):
    /// the wall clock and the suppressed count would cost that caller more than the fault itself does.
    /// A warning that is not due is not counted as suppressed.
    #[inline]
    pub(crate) fn due(&self) -> bool {
        let last = self.last_tick.load(Ordering::Relaxed);
        last == 0
            || crate::clock::between(last, crate::clock::now()) >= self.interval_ms * 1_000_000
    }

    fn allow_at(&self, now: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= self.interval_ms)
            && self
                .last_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.last_tick
                .store(crate::clock::now().max(1), Ordering::Relaxed);
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
/// A setting was refused (each is said: they are few and happen at start-up).
pub(crate) static SETTING: RateLimited = RateLimited::new(0);

/// Writes one warning (its message and how many similar ones were suppressed before it) as a line of the
/// installed log writer; says whether the writer took it.
pub(crate) type Sink = dyn Fn(&str, u64) -> bool + Send + Sync;

static SINK: RwLock<Option<Arc<Sink>>> = RwLock::new(None);

/// Where warnings go from now on: the log writer of the telemetry just installed, or (`None`, when it
/// shuts down) standard error.
pub(crate) fn set_sink(sink: Option<Arc<Sink>>) {
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
}

/// Sends warnings back to standard error if `sink` is still where they go (its telemetry shut down).
pub(crate) fn clear_sink(sink: &Arc<Sink>) {
    let mut current = SINK.write().unwrap_or_else(PoisonError::into_inner);
    if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, sink)) {
        *current = None;
    }
}

/// Writes `message` unless `limiter` let one through within its interval: to the log writer, else to
/// standard error.
pub(crate) fn warn_rate_limited(limiter: &RateLimited, message: fmt::Arguments<'_>) {
    let Some(suppressed) = limiter.allow() else {
        return;
    };
    let sink = SINK.read().unwrap_or_else(PoisonError::into_inner).clone();
    let message = message.to_string();
    if !sink.is_some_and(|sink| sink(&message, suppressed)) {
        to_stderr(&message, suppressed);
    }
}

/// [`warn_rate_limited`] for faults of the log writer itself (it is behind, or refuses lines): the one
/// place such a warning cannot go is the writer.
pub(crate) fn warn_on_stderr(limiter: &RateLimited, message: fmt::Arguments<'_>) {
    if let Some(suppressed) = limiter.allow() {
        to_stderr(&message.to_string(), suppressed);
    }
}

fn to_stderr(message: &str, suppressed: u64) {
    // Not `eprintln!`: it panics when standard error is a closed pipe, and a warning about a fault must
    // not become a crash of its own.
    let mut stderr = std::io::stderr().lock();
    let _ = if suppressed > 0 {
        writeln!(
            stderr,
            "sightline: {message} ({suppressed} similar warnings suppressed)"
        )
    } else {
        writeln!(stderr, "sightline: {message}")
    };
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

    #[test]
    fn a_warning_is_due_at_first_and_again_only_after_its_interval() {
        let limiter = RateLimited::new(10_000);
        assert!(limiter.due());
        assert_eq!(limiter.allow(), Some(0));
        assert!(!limiter.due());
        let immediate = RateLimited::new(0);
        assert_eq!(immediate.allow(), Some(0));
        assert!(immediate.due());
    }
}
