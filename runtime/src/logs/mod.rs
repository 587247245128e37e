//! JSON log lines with redaction: a `tracing` layer that writes one JSON object per line, with the fields of
//! the event and of every enclosing span, secrets replaced by `"[REDACTED]"` at any depth.
//!
//! ```text
//! {"timestamp":"2025-01-31T12:00:00.123Z","level":"info","service":"shop","target":"shop::orders","message":"order placed","order_id":42,"request_id":"r-1"}
//! ```

pub(crate) mod fields;
mod handoff;
mod layer;
pub(crate) mod line;

pub use crate::redact::{Redactor, REDACTED};
pub(crate) use handoff::{Handoff, DEFAULT_BUFFER_LINES};
pub(crate) use layer::{
    write_own_line, write_span_summary, LogLayer, Own, SpanSummary, SUMMARY_TARGET,
};
pub(crate) use line::{warning_line, LineSink, MakeLines, Writer};

/// Span fields that never reach log lines. They exist for OpenTelemetry (span name, kind and status, code
/// location, HTTP semantic conventions), and a call's completion line carries the same facts under its own
/// keys (`function`, `module`, `error_kind`, `method`, `route`, `status_code`), so writing them as well
/// would only repeat them on every line inside the span.
const SPAN_FIELDS_NOT_LOGGED: &[&str] = &[
    "code.function",
    "code.namespace",
    "code.filepath",
    "code.lineno",
    "otel.name",
    "otel.kind",
    "otel.status_code",
    "otel.status_message",
    "otel.status_description",
    "error.type",
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "url.path",
    "user_agent.original",
];

/// Keys the layer writes itself at the start of every line. A field with one of these names is dropped
/// rather than written twice: the header is what log pipelines index on, so it must not be overridable.
/// An event's own `message` is the exception: it is the header's `message`.
use sightline_conventions::HEADER_KEYS as LINE_HEADER_KEYS;

/// Written from the OpenTelemetry ids of the innermost span: a span field of that name would contradict
/// them. An event may still carry its own (a span summary names the span it summarises).
use sightline_conventions::SPAN_ID_KEYS;

#[cfg(test)]
mod tests;
