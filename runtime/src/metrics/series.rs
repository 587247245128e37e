//! The series one label combination records into, and their values as a scrape reads them.
//!
//! A call adds its duration to its outcome's histogram and nothing else: the call counter of an outcome
//! *is* the count of its histogram, and the number of calls in flight is the number started minus the
//! number finished. Three adds per call (start, duration sum, bucket) keep the counter, the histogram's
//! `_count` and the sum of its buckets equal in every scrape, by construction.

use super::per_thread::PerThread;
use super::stripes::Striped;
use crate::labels::{ErrorLabels, DEFAULT_ERROR_LABELS};
use once_cell::sync::OnceCell;
use std::collections::HashMap;
use std::sync::Mutex;

/// `ok`, `error`, `cancelled`, `expected_error`: the `result` (or `outcome`) label values, in the order
/// of `CompletionResult`.
pub(crate) use sightline_conventions::OUTCOMES;

/// Histogram upper bounds, in seconds as exported and in nanoseconds as compared.
pub(crate) struct Buckets {
    pub(crate) seconds: &'static [f64],
    nanos: Box<[u64]>,
}

impl Buckets {
    pub(crate) fn new(seconds: &'static [f64]) -> Self {
        // `as` saturates: bounds are checked finite and positive by the macro.
        let nanos = seconds.iter().map(|s| (s * 1e9).round() as u64).collect();
        Buckets { seconds, nanos }
    }

    /// The bucket a duration falls in (`le` is inclusive); `len()` for `+Inf`. A scan from the smallest
    /// bound rather than a binary search: most calls land in the first buckets, where the scan stops at
    /// once and its branches are predicted, and a histogram has a dozen bounds.
    #[inline]
    fn index(&self, nanos: u64) -> usize {
        self.nanos
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(self.nanos.len())
    }

    /// Slots of one histogram: a count per bound, one for `+Inf`, one for the sum.
    fn slots(&self) -> usize {
        self.nanos.len() + 2
    }
}

/// One histogram's values in a scrape: per-bucket counts (not cumulative; the last is `+Inf`), and the
/// sum in nanoseconds.
pub(crate) struct HistogramValues {
    pub(crate) buckets: Vec<u64>,
    pub(crate) sum_nanos: u64,
}

impl HistogramValues {
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// Reads histogram `h` of `cells` (its slots start at `base`).
fn read_histogram(cells: &Striped, base: usize, buckets: &Buckets) -> HistogramValues {
    let n = buckets.nanos.len();
    // Buckets first (acquire), then the sum: every counted call's duration is then in the sum.
    let counts = (0..=n).map(|i| cells.read(base + i)).collect();
    HistogramValues {
        buckets: counts,
        sum_nanos: cells.read(base + n + 1),
    }
}

#[inline]
fn observe(cells: &Striped, base: usize, buckets: &Buckets, nanos: u64) {
    cells.add(base + buckets.nanos.len() + 1, nanos);
    cells.add_release(base + buckets.index(nanos), 1);
}

/// How a failed call is labelled.
#[derive(Clone, Copy)]
pub(crate) enum ErrorKind {
    /// The index of the error's label in its type's `ErrorLabel` list.
    Index(usize),
    /// The body panicked.
    Panic,
}

const STARTED: usize = 0;
const PANICS: usize = 1;
const HISTOGRAMS: usize = 2;

/// The index of `expected_error` in [`OUTCOMES`].
pub(crate) const EXPECTED_OUTCOME: usize = 3;

/// Calls of one label combination: a duration histogram per outcome, starts, and errors by kind.
pub(crate) struct RedSeries {
    /// The family's base label values (`function`, `module`; `operation`; custom labels).
    pub(crate) labels: Box<[&'static str]>,
    pub(crate) buckets: Buckets,
    cells: PerThread,
    /// Error counters for the error type's labels, created at the first completion that reveals them
    /// (the labels come from the return type).
    errors: OnceCell<ErrorCounters>,
    /// Kinds of other error types, for a generic function that fails with several (rare: a lock here):
    /// faults, then expected outcomes.
    other_errors: Mutex<HashMap<&'static str, u64>>,
    other_expected: Mutex<HashMap<&'static str, u64>>,
}

struct ErrorCounters {
    labels: ErrorLabels,
    /// Faults by label.
    cells: Striped,
    /// Expected outcomes by label (only the labels the type marks expected are ever counted).
    expected: Striped,
}

/// A scrape's view of one [`RedSeries`].
pub(crate) struct RedValues {
    pub(crate) by_outcome: [HistogramValues; 4],
    pub(crate) in_flight: u64,
    /// `(error_kind, count)`, `panic` first.
    pub(crate) errors: Vec<(&'static str, u64)>,
    /// `(error_kind, count)` of expected outcomes, every expected label of the error type included.
    pub(crate) expected_errors: Vec<(&'static str, u64)>,
    /// Whether the `expected_error` outcome is exported: once the error type is known to have expected
    /// outcomes (or one was counted). Most error types have none, and a histogram of zeros per site
    /// would only weigh on every scrape.
    pub(crate) has_expected: bool,
}

impl RedSeries {
    pub(crate) fn new(labels: Vec<&'static str>, buckets: &'static [f64]) -> Self {
        let buckets = Buckets::new(buckets);
        RedSeries {
            labels: labels.into_boxed_slice(),
            cells: PerThread::new(HISTOGRAMS + OUTCOMES.len() * buckets.slots()),
            buckets,
            errors: OnceCell::new(),
            other_errors: Mutex::new(HashMap::new()),
            other_expected: Mutex::new(HashMap::new()),
        }
    }

    #[inline]
    pub(crate) fn start(&'static self) {
        self.cells.add(STARTED, 1);
    }

    /// Records a finished call. `labels` is the error type's label list when the return value revealed
    /// it (not after a panic or a cancellation); `error` the fault to count, `kind` the error's kind
    /// (counted as an expected outcome when the call's outcome is `expected_error`).
    #[inline]
    pub(crate) fn finish(
        &'static self,
        outcome: usize,
        nanos: u64,
        labels: Option<ErrorLabels>,
        error: Option<ErrorKind>,
        kind: Option<ErrorKind>,
    ) {
        let base = HISTOGRAMS + outcome * self.buckets.slots();
        let n = self.buckets.nanos.len();
        // The sum before the bucket: a scrape that sees the call counted sees its duration.
        self.cells.add_two(
            (base + n + 1, nanos),
            Some((base + self.buckets.index(nanos), 1)),
        );
        let cached = labels.map(|labels| {
            self.errors.get_or_init(|| ErrorCounters {
                labels,
                cells: Striped::new(labels.labels.len()),
                expected: Striped::new(labels.labels.len()),
            })
        });
        let expected = outcome == EXPECTED_OUTCOME;
        let counted = if expected { kind } else { error };
        match counted {
            None => {}
            Some(ErrorKind::Panic) => self.cells.add(PANICS, 1),
            Some(ErrorKind::Index(index)) => {
                let labels = labels.map_or(DEFAULT_ERROR_LABELS, |l| l.labels);
                let counters = cached.filter(|c| same_labels(c.labels.labels, labels));
                match counters {
                    Some(c) if index < labels.len() && expected => c.expected.add(index, 1),
                    Some(c) if index < labels.len() => c.cells.add(index, 1),
                    _ => {
                        let kind = labels.get(index).copied().unwrap_or("error");
                        let others = if expected {
                            &self.other_expected
                        } else {
                            &self.other_errors
                        };
                        *others
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .entry(kind)
                            .or_default() += 1;
                    }
                }
            }
        }
    }

    pub(crate) fn read(&self) -> RedValues {
        let slots = self.buckets.slots();
        let n = self.buckets.nanos.len();
        // Buckets first, then sums, then starts and panics: every call counted as finished is counted as
        // started and has its duration in the sum.
        let order = (0..OUTCOMES.len())
            .flat_map(|o| (0..=n).map(move |i| HISTOGRAMS + o * slots + i))
            .chain((0..OUTCOMES.len()).map(|o| HISTOGRAMS + o * slots + n + 1))
            .chain([STARTED, PANICS]);
        let values = self.cells.read(order);
        let by_outcome = std::array::from_fn(|o| HistogramValues {
            buckets: values[o * (n + 1)..(o + 1) * (n + 1)].to_vec(),
            sum_nanos: values[OUTCOMES.len() * (n + 1) + o],
        });
        let finished: u64 = by_outcome.iter().map(HistogramValues::count).sum();
        let tail = OUTCOMES.len() * (n + 2);
        let in_flight = values[tail].saturating_sub(finished);
        let panics = values[tail + 1];
        let mut errors = vec![("panic", panics)];
        let mut expected_errors = Vec::new();
        if let Some(counters) = self.errors.get() {
            for (i, label) in counters.labels.labels.iter().enumerate() {
                // Every kind exists at 0 from the first call: faults all of them, expected outcomes those
                // the type marks expected.
                add_kind(&mut errors, label, counters.cells.read(i));
                if counters.labels.is_expected(i) {
                    add_kind(&mut expected_errors, label, counters.expected.read(i));
                }
            }
        }
        let lock = |m: &Mutex<HashMap<&'static str, u64>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .map(|(k, v)| (*k, *v))
                .collect::<Vec<_>>()
        };
        for (label, count) in lock(&self.other_errors) {
            add_kind(&mut errors, label, count);
        }
        for (label, count) in lock(&self.other_expected) {
            add_kind(&mut expected_errors, label, count);
        }
        let has_expected = !expected_errors.is_empty() || by_outcome[EXPECTED_OUTCOME].count() > 0;
        RedValues {
            by_outcome,
            in_flight,
            errors,
            expected_errors,
            has_expected,
        }
    }
}

fn add_kind(errors: &mut Vec<(&'static str, u64)>, kind: &'static str, count: u64) {
    match errors.iter_mut().find(|(k, _)| *k == kind) {
        Some((_, total)) => *total += count,
        None => errors.push((kind, count)),
    }
}

pub(crate) fn same_labels(a: &'static [&'static str], b: &'static [&'static str]) -> bool {
    // Associated consts may be duplicated per codegen unit, so equal contents count as the same list.
    std::ptr::eq(a, b) || a == b
}

/// Status codes 100..=599, each created on first use: pre-creating 500 series per route would flood the
/// exposition with zeros.
const STATUS_MIN: u16 = 100;
const STATUS_COUNT: usize = 500;

/// Requests of one method and route: a duration histogram per status code, and starts.
pub(crate) struct HttpSeries {
    pub(crate) method: &'static str,
    pub(crate) route: &'static str,
    pub(crate) buckets: Buckets,
    started: Striped,
    by_status: Box<[OnceCell<Striped>]>,
}

/// A scrape's view of one [`HttpSeries`].
pub(crate) struct HttpValues {
    pub(crate) by_status: Vec<(u16, HistogramValues)>,
    pub(crate) in_flight: u64,
}

impl HttpSeries {
    pub(crate) fn new(method: &'static str, route: &'static str, buckets: &'static [f64]) -> Self {
        HttpSeries {
            method,
            route,
            buckets: Buckets::new(buckets),
            started: Striped::new(1),
            by_status: (0..STATUS_COUNT).map(|_| OnceCell::new()).collect(),
        }
    }

    #[inline]
    pub(crate) fn start(&self) {
        self.started.add(0, 1);
    }

    #[inline]
    pub(crate) fn finish(&self, status: u16, nanos: u64) {
        let status = if (STATUS_MIN..STATUS_MIN + STATUS_COUNT as u16).contains(&status) {
            status
        } else {
            crate::warn::warn_rate_limited(
                &crate::warn::LABEL,
                format_args!(
                    "{} {} returned status {status}, outside 100..=599; counted as 500",
                    self.method, self.route
                ),
            );
            500
        };
        let cells = self.by_status[(status - STATUS_MIN) as usize]
            .get_or_init(|| Striped::new(self.buckets.slots()));
        observe(cells, 0, &self.buckets, nanos);
    }

    pub(crate) fn read(&self) -> HttpValues {
        let by_status: Vec<(u16, HistogramValues)> = self
            .by_status
            .iter()
            .enumerate()
            .filter_map(|(i, cell)| {
                let cells = cell.get()?;
                Some((
                    STATUS_MIN + i as u16,
                    read_histogram(cells, 0, &self.buckets),
                ))
            })
            .collect();
        let finished: u64 = by_status.iter().map(|(_, h)| h.count()).sum();
        HttpValues {
            in_flight: self.started.read(0).saturating_sub(finished),
            by_status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_is_inclusive_and_the_last_bucket_is_inf() {
        let b = Buckets::new(&[0.01, 0.1, 1.0]);
        assert_eq!(b.index(0), 0);
        assert_eq!(b.index(10_000_000), 0);
        assert_eq!(b.index(10_000_001), 1);
        assert_eq!(b.index(1_000_000_000), 2);
        assert_eq!(b.index(1_000_000_001), 3);
    }

    #[test]
    fn counts_and_in_flight_agree() {
        let s: &'static RedSeries =
            Box::leak(Box::new(RedSeries::new(vec!["f", "m"], &[0.01, 0.1])));
        for _ in 0..3 {
            s.start();
        }
        s.finish(0, 5_000_000, None, None, None);
        s.finish(
            1,
            50_000_000,
            None,
            Some(ErrorKind::Panic),
            Some(ErrorKind::Panic),
        );
        let v = s.read();
        assert_eq!(v.by_outcome[0].buckets, vec![1, 0, 0]);
        assert_eq!(v.by_outcome[1].buckets, vec![0, 1, 0]);
        assert_eq!(v.by_outcome[1].sum_nanos, 50_000_000);
        assert_eq!(v.in_flight, 1);
        assert_eq!(v.errors, vec![("panic", 1)]);
    }

    #[test]
    fn error_kinds_of_a_second_type_are_counted_too() {
        let a = ErrorLabels::new(&["timeout", "refused", "declined"], &[false, false, true]);
        let b = ErrorLabels::new(&["invalid"], &[]);
        let s: &'static RedSeries = Box::leak(Box::new(RedSeries::new(vec!["f"], &[1.0])));
        let refused = Some(ErrorKind::Index(1));
        s.finish(1, 1, Some(a), refused, refused);
        s.finish(
            1,
            1,
            Some(b),
            Some(ErrorKind::Index(0)),
            Some(ErrorKind::Index(0)),
        );
        s.finish(1, 1, Some(a), refused, refused);
        // An expected outcome: not a fault, counted by its own kind.
        s.finish(
            EXPECTED_OUTCOME,
            1,
            Some(a),
            None,
            Some(ErrorKind::Index(2)),
        );
        let v = s.read();
        assert_eq!(
            v.errors,
            vec![
                ("panic", 0),
                ("timeout", 0),
                ("refused", 2),
                ("declined", 0),
                ("invalid", 1)
            ]
        );
        assert_eq!(v.expected_errors, vec![("declined", 1)]);
        assert_eq!(v.by_outcome[EXPECTED_OUTCOME].count(), 1);
    }
}
