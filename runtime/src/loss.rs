//! What sightline itself lost, counted: spans that did not reach the collector and log lines that did not
//! reach the writer, each by a bounded reason, and the spans that did reach it, so the loss ratio can be
//! graphed. `install()` registers the three families; every series exists from the start, at 0, so an
//! alert on them sees a rate of 0 rather than nothing.

use once_cell::sync::Lazy;
use prometheus::{IntCounter, IntCounterVec, Opts};

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

    /// The `reason` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            SpanLoss::QueueFull => "queue_full",
            SpanLoss::Unreachable => "unreachable",
            SpanLoss::Timeout => "timeout",
            SpanLoss::Rejected => "rejected",
            SpanLoss::Shutdown => "shutdown",
            SpanLoss::Failed => "failed",
        }
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

    /// The `reason` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            LineLoss::BufferFull => "buffer_full",
            LineLoss::WriteFailed => "write_failed",
            LineLoss::Shutdown => "shutdown",
        }
    }
}

pub(crate) static SPANS_DROPPED: Lazy<IntCounterVec> = Lazy::new(|| {
    let family = IntCounterVec::new(
        Opts::new(
            "sightline_spans_dropped_total",
            "Finished spans that did not reach the collector, by reason: queue_full, unreachable, \
             timeout, rejected, shutdown, failed.",
        ),
        &["reason"],
    )
    .expect("static metric definition is valid");
    for reason in SpanLoss::ALL {
        family.with_label_values(&[reason.label()]);
    }
    family
});

pub(crate) static SPANS_EXPORTED: Lazy<IntCounter> = Lazy::new(|| {
    IntCounter::new(
        "sightline_spans_exported_total",
        "Finished spans the collector accepted.",
    )
    .expect("static metric definition is valid")
});

pub(crate) static LINES_DROPPED: Lazy<IntCounterVec> = Lazy::new(|| {
    let family = IntCounterVec::new(
        Opts::new(
            "sightline_log_lines_dropped_total",
            "Log lines that did not reach the log writer, by reason: buffer_full, write_failed, shutdown.",
        ),
        &["reason"],
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
