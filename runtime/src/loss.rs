//! What sightline itself lost, counted: spans that did not reach the collector and log lines that did not
//! reach the writer, each by a bounded reason, and the spans that did reach it, so the loss ratio can be
//! graphed. `install()` registers the three families; every series exists from the start, at 0, so an
//! alert on them sees a rate of 0 rather than nothing.

use once_cell::sync::Lazy;
use prometheus::{IntCounter, IntCounterVec, Opts};
use sightline_conventions as conventions;

/// Why a finished span did not reach the collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpanLoss {
    /// The bounded export queue was full: the collector is slow or unreachable and spans pile up.
    QueueFull,
    /// The collector could not be reached or did not answer (connection refused, no route, no answer
    /// within the export timeout: the OTLP exporter reports them alike).
    Unreachable,
    /// The export took longer than its deadline.
    Timeout,
    /// The collector answered with an error status (4xx, 5xx).
    Rejected,
    /// Still waiting when telemetry shut down past its bound, or ended after it did.
    Shutdown,
    /// Any other failure of the exporter (one given with `span_exporter(..)`).
    Failed,
}

impl SpanLoss {
    pub(crate) const ALL: [SpanLoss; 6] = [
        SpanLoss::QueueFull,
        SpanLoss::Unreachable,
        SpanLoss::Timeout,
        SpanLoss::Rejected,
        SpanLoss::Shutdown,
        SpanLoss::Failed,
    ];

    /// The `reason` label: the table's, in [`SpanLoss::ALL`]'s order.
    pub(crate) fn label(self) -> &'static str {
        conventions::SPAN_LOSS_REASONS[self as usize]
    }
}

/// Why a log line did not reach the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineLoss {
    /// The default stdout writer's buffer was full (stdout blocked or slower than the service).
    BufferFull,
    /// The writer refused the line (a closed stdout, a failing writer of the application's).
    WriteFailed,
    /// Still buffered when telemetry shut down past its bound.
    Shutdown,
}

impl LineLoss {
    pub(crate) const ALL: [LineLoss; 3] = [
        LineLoss::BufferFull,
        LineLoss::WriteFailed,
        LineLoss::Shutdown,
    ];

    /// The `reason` label: the table's, in [`LineLoss::ALL`]'s order.
    pub(crate) fn label(self) -> &'static str {
        conventions::LINE_LOSS_REASONS[self as usize]
    }
}

pub(crate) static SPANS_DROPPED: Lazy<IntCounterVec> = Lazy::new(|| {
    let family = IntCounterVec::new(
        Opts::new(
            conventions::SPANS_DROPPED.name,
            conventions::SPANS_DROPPED.help,
        ),
        conventions::SPANS_DROPPED.labels,
    )
    .expect("static metric definition is valid");
    for reason in SpanLoss::ALL {
        family.with_label_values(&[reason.label()]);
    }
    family
});

pub(crate) static SPANS_EXPORTED: Lazy<IntCounter> = Lazy::new(|| {
    IntCounter::new(
        conventions::SPANS_EXPORTED.name,
        conventions::SPANS_EXPORTED.help,
    )
    .expect("static metric definition is valid")
});

pub(crate) static LINES_DROPPED: Lazy<IntCounterVec> = Lazy::new(|| {
    let family = IntCounterVec::new(
        Opts::new(
            conventions::LOG_LINES_DROPPED.name,
            conventions::LOG_LINES_DROPPED.help,
        ),
        conventions::LOG_LINES_DROPPED.labels,
    )
    .expect("static metric definition is valid");
    for reason in LineLoss::ALL {
        family.with_label_values(&[reason.label()]);
    }
    family
});

/// The families' series, looked up once: a full queue drops on every call, which must not pay for a
/// label lookup.
static SPAN_SERIES: Lazy<[IntCounter; 6]> =
    Lazy::new(|| SpanLoss::ALL.map(|r| SPANS_DROPPED.with_label_values(&[r.label()])));
static LINE_SERIES: Lazy<[IntCounter; 3]> =
    Lazy::new(|| LineLoss::ALL.map(|r| LINES_DROPPED.with_label_values(&[r.label()])));

/// Counts `n` spans lost for `reason`.
pub(crate) fn spans_lost(reason: SpanLoss, n: u64) {
    SPAN_SERIES[reason as usize].inc_by(n);
}

/// Counts `n` log lines lost for `reason`.
pub(crate) fn lines_lost(reason: LineLoss, n: u64) {
    LINE_SERIES[reason as usize].inc_by(n);
}

/// Spans lost so far, every reason together.
pub(crate) fn spans_lost_total() -> u64 {
    SPAN_SERIES.iter().map(IntCounter::get).sum()
}

/// Log lines lost so far, every reason together.
pub(crate) fn lines_lost_total() -> u64 {
    LINE_SERIES.iter().map(IntCounter::get).sum()
}
