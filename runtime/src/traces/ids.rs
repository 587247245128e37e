//! The OpenTelemetry ids of each span, kept in the span's extensions for the JSON log layer.
//!
//! tracing-opentelemetry 0.34 keeps its per-span data in a private type and builds the OpenTelemetry span
//! lazily (when the span is first entered), so the ids cannot be read from the extensions directly. This
//! layer runs right after the OpenTelemetry layer: on a span's first enter, the OpenTelemetry layer has just
//! started the span and made its context current, and this layer copies the ids into [`OtelIds`].

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use tracing_core::span::Id;
use tracing_core::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, LookupSpan};

/// The ids as stored: 32 bytes, formatted only when a log line needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OtelIds {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    sampled: bool,
}

/// The OpenTelemetry ids of a span, in the lower-case hex Jaeger and the W3C `traceparent` header use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpanIds {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// The span's parent in the same trace, when that parent is a span of this process.
    pub parent_span_id: Option<String>,
    /// Whether the trace was sampled, i.e. whether the span is exported (always false in local mode
    /// under `OTEL_TRACES_SAMPLER=always_off`).
    pub sampled: bool,
}

/// The ids of the span whose extensions these are, once it has been entered; `None` before, for spans the
/// OpenTelemetry layer does not see (the exporter's own stack, levels it filters out), and when no pipeline
/// is installed.
pub(crate) fn span_ids(extensions: &Extensions<'_>) -> Option<SpanIds> {
    extensions.get::<OtelIds>().map(|ids| SpanIds {
        trace_id: format!("{:032x}", ids.trace_id),
        span_id: format!("{:016x}", ids.span_id),
        parent_span_id: ids.parent_span_id.map(|p| format!("{p:016x}")),
        sampled: ids.sampled,
    })
}

/// Copies the ids of each span's OpenTelemetry context into its extensions; see the module docs.
pub(crate) struct IdsLayer;

impl<S> Layer<S> for IdsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if span.extensions().get::<OtelIds>().is_some() {
            return;
        }
        // The OpenTelemetry layer (run just before this one) attached this span's context on enter.
        let cx = opentelemetry::Context::current();
        let otel_span = cx.span();
        let sc = otel_span.span_context();
        if !sc.is_valid() {
            // No span was started: the provider is shut down. Nothing to record.
            return;
        }
        let (trace_id, span_id, sampled) = (sc.trace_id(), sc.span_id(), sc.is_sampled());
        // The nearest ancestor this layer saw: the OpenTelemetry parent when it is in the same trace (a
        // remote parent from propagation is not a span of this process, so it is not known here).
        let parent_span_id = span
            .scope()
            .skip(1)
            .find_map(|ancestor| ancestor.extensions().get::<OtelIds>().copied())
            .filter(|parent| parent.trace_id == trace_id)
            .map(|parent| parent.span_id);
        // `replace`, not `insert`: two threads entering one span at once must not panic.
        span.extensions_mut().replace(OtelIds {
            trace_id,
            span_id,
            parent_span_id,
            sampled,
        });
    }
}
