//! What a finished span is, as the calling thread hands it over: ids, clock readings, a pointer to what
//! its site knows statically, and only then what the call learnt (status, fields). Everything an exporter
//! wants beyond that (OpenTelemetry types, times of day, attribute values, redaction) is made from it on
//! the export thread.

use crate::context::{SpanIds, Values};
use opentelemetry::trace::{SpanKind, Status, TraceState};
use opentelemetry::KeyValue;
use std::borrow::Cow;

/// A finished span.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) ids: SpanIds,
    pub(crate) parent: Option<Parent>,
    /// [`crate::clock::now`] readings.
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) what: What,
    pub(crate) outcome: SpanOutcome,
    /// Fields and events.
    pub(crate) values: Option<Box<Values>>,
}

/// A span's parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parent {
    pub(crate) span_id: u64,
    /// In another process (continued from `traceparent`).
    pub(crate) remote: bool,
}

/// Whose span it is.
#[derive(Debug)]
pub(crate) enum What {
    /// An observed call, a business span or an HTTP request: all it says of itself is its site's.
    Site(&'static SpanSite),
    /// An application's `tracing` span.
    Tracing(Box<TracingSpan>),
}

/// What a sightline span's site knows before any call: name, kind and the attributes every call of it
/// has. One per call site (per method and route for requests), made once and never freed.
#[derive(Debug)]
pub(crate) struct SpanSite {
    pub(crate) name: &'static str,
    /// `server` for a request served (an HTTP handler or the HTTP layer's request), `client` for one
    /// made, else `internal`.
    pub(crate) kind: SpanKind,
    /// `code.function` and `code.module.name`.
    pub(crate) function: Option<&'static str>,
    pub(crate) module: Option<&'static str>,
    /// A business span's `operation`.
    pub(crate) operation: Option<&'static str>,
    /// `http.request.method` and `http.route`.
    pub(crate) http: Option<(&'static str, &'static str)>,
}

/// How a sightline span ended.
#[derive(Debug, Default)]
pub(crate) struct SpanOutcome {
    pub(crate) status: OutcomeStatus,
    /// `error.type`.
    pub(crate) error_kind: Option<&'static str>,
    /// The error's text: the status description, and an `exception` event with the kind.
    pub(crate) message: Option<Box<str>>,
    /// `http.response.status_code`.
    pub(crate) status_code: Option<u16>,
    /// The remote parent's `tracestate`, carried on.
    pub(crate) trace_state: Option<Box<TraceState>>,
}

/// The span status of a sightline span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum OutcomeStatus {
    #[default]
    Unset,
    Ok,
    Error,
}

/// An application's `tracing` span, as its fields set it.
#[derive(Debug)]
pub(crate) struct TracingSpan {
    /// The span's name, or its `otel.name`.
    pub(crate) name: Cow<'static, str>,
    /// `otel.kind`, as declared at creation.
    pub(crate) kind: SpanKind,
    /// `otel.status_code` with `otel.status_description` (or `otel.status_message`).
    pub(crate) status: Status,
    pub(crate) attributes: Vec<KeyValue>,
    /// The span's `tracestate`, when it continues a remote trace.
    pub(crate) trace_state: Option<TraceState>,
}
