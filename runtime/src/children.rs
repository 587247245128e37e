//! Metric children a call site resolved ahead, so that a call only indexes and increments: no label
//! hashing, no locking, no allocation.

use crate::warn::{warn_rate_limited, LABEL};
use once_cell::sync::OnceCell;
use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec};

/// How a failed call is labelled.
#[derive(Clone, Copy)]
pub(crate) enum ErrorKind {
    Index(usize),
    Panic,
}

/// The four RED children of one label combination: calls and duration by outcome (indexed by
/// [`crate::guard::CompletionResult`]), in-flight, and errors by kind.
pub(crate) struct RedChildren {
    calls: [IntCounter; 3],
    duration: [Histogram; 3],
    pub(crate) in_flight: IntGauge,
    panics: IntCounter,
    errors_vec: IntCounterVec,
    /// The label values before `error_kind` in `errors_vec`.
    base: Box<[&'static str]>,
    /// The error counter's children for the error type's labels, created on the first completion (the
    /// labels come from the return type, which the first completion reveals).
    errors: OnceCell<ErrorChildren>,
}

struct ErrorChildren {
    labels: &'static [&'static str],
    counters: Box<[IntCounter]>,
}

/// The families one set of RED children is cut from. Label order: `base` values first, then the outcome
/// (or `error_kind`) last.
pub(crate) struct RedFamilies<'a> {
    pub calls: &'a IntCounterVec,
    pub duration: &'a HistogramVec,
    pub in_flight: &'a IntGaugeVec,
    pub errors: &'a IntCounterVec,
}

pub(crate) const OUTCOMES: [&str; 3] = ["ok", "error", "cancelled"];

impl RedChildren {
    pub(crate) fn new(families: &RedFamilies<'_>, base: Vec<&'static str>) -> Self {
        let with = |last: &'static str| {
            let mut values = base.clone();
            values.push(last);
            values
        };
        let calls = OUTCOMES.map(|o| families.calls.with_label_values(&with(o)));
        let duration = OUTCOMES.map(|o| families.duration.with_label_values(&with(o)));
        RedChildren {
            calls,
            duration,
            in_flight: families.in_flight.with_label_values(&base),
            panics: families.errors.with_label_values(&with("panic")),
            errors_vec: families.errors.clone(),
            base: base.into_boxed_slice(),
            errors: OnceCell::new(),
        }
    }

    fn error_child(&self, label: &str) -> IntCounter {
        let mut values: Vec<&str> = self.base.to_vec();
        values.push(label);
        self.errors_vec.with_label_values(&values)
    }

    /// `labels` is the error type's label list when the return value revealed it (not after a panic or
    /// a cancellation).
    #[inline]
    pub(crate) fn record(
        &self,
        result: usize,
        seconds: f64,
        labels: Option<&'static [&'static str]>,
        error: Option<ErrorKind>,
    ) {
        self.calls[result].inc();
        self.duration[result].observe(seconds);
        let cached = labels.map(|labels| {
            self.errors.get_or_init(|| ErrorChildren {
                labels,
                counters: labels.iter().map(|l| self.error_child(l)).collect(),
            })
        });
        let index = match error {
            None => return,
            Some(ErrorKind::Panic) => return self.panics.inc(),
            Some(ErrorKind::Index(i)) => i,
        };
        let labels = labels.unwrap_or(crate::outcome::DEFAULT_ERROR_LABELS);
        // One site can serve several error types (a generic function): only the first type's children
        // are cached; another type's labels take the slower labelled lookup.
        if let Some(cached) = cached.filter(|c| same_labels(c.labels, labels)) {
            if let Some(counter) = cached.counters.get(index) {
                return counter.inc();
            }
        }
        let label = labels.get(index).copied().unwrap_or("error");
        self.error_child(label).inc();
    }
}

pub(crate) fn same_labels(a: &'static [&'static str], b: &'static [&'static str]) -> bool {
    // Associated consts may be duplicated per codegen unit, so equal contents count as the same list.
    std::ptr::eq(a, b) || a == b
}

/// Status codes 100..=599, each resolved on first use: pre-creating 500 series per route would flood the
/// exposition with zeros.
const STATUS_MIN: u16 = 100;
const STATUS_COUNT: usize = 500;

pub(crate) struct HandlerChildren {
    method: &'static str,
    route: &'static str,
    requests: IntCounterVec,
    duration: HistogramVec,
    pub(crate) in_flight: IntGauge,
    by_status: Box<[OnceCell<(IntCounter, Histogram)>]>,
}

impl HandlerChildren {
    pub(crate) fn new(
        method: &'static str,
        route: &'static str,
        requests: &IntCounterVec,
        duration: HistogramVec,
        in_flight: &IntGaugeVec,
    ) -> Self {
        HandlerChildren {
            method,
            route,
            requests: requests.clone(),
            duration,
            in_flight: in_flight.with_label_values(&[method, route]),
            by_status: (0..STATUS_COUNT).map(|_| OnceCell::new()).collect(),
        }
    }

    #[inline]
    pub(crate) fn record(&self, status: u16, seconds: f64) {
        let idx = status.wrapping_sub(STATUS_MIN) as usize;
        match self.by_status.get(idx) {
            Some(cell) => {
                let (count, duration) = cell.get_or_init(|| {
                    let code = status.to_string();
                    (
                        self.requests
                            .with_label_values(&[self.method, self.route, &code]),
                        self.duration
                            .with_label_values(&[self.method, self.route, &code]),
                    )
                });
                count.inc();
                duration.observe(seconds);
            }
            None => {
                warn_rate_limited(
                    &LABEL,
                    format_args!(
                        "sightline: {} {} returned status {status}, outside 100..=599; counted as 500",
                        self.method, self.route
                    ),
                );
                self.record(500, seconds);
            }
        }
    }
}
