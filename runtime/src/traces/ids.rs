//! The OpenTelemetry ids of each span, kept in the span's extensions for the JSON log layer.
//!
//! tracing-opentelemetry 0.34 keeps its per-span data in a private type and builds the OpenTelemetry span
//! lazily (when the span is first entered), so the ids cannot be read from the extensions directly. This
//! layer runs right after the OpenTelemetry layer: on a span's first enter, the OpenTelemetry layer has just
//! started the span and made its context current, and this layer copies the ids into [`OtelIds`].

use super::sampler::SamplerChoice;
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

impl OtelIds {
    pub(crate) fn trace_id_bytes(&self) -> [u8; 16] {
        self.trace_id.to_bytes()
    }

    pub(crate) fn span_id_bytes(&self) -> [u8; 8] {
        self.span_id.to_bytes()
    }
}

/// The ids kept in these extensions, unformatted: for writing straight into a log line.
pub(crate) fn raw_ids(extensions: &Extensions<'_>) -> Option<OtelIds> {
    extensions.get::<OtelIds>().copied()
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
        // Only span summaries name the parent, and they are written in local mode only, where this layer
        // does not run: the exported span carries its parent itself.
        let parent_span_id = None;
        // `replace`, not `insert`: two threads entering one span at once must not panic.
        span.extensions_mut().replace(OtelIds {
            trace_id,
            span_id,
            parent_span_id,
            sampled,
        });
    }
}

/// Gives every span ids of its own when nothing is exported ("local mode"): a child takes its parent's
/// trace id, a root span starts a trace. Spans then exist only to correlate log lines, and an
/// OpenTelemetry span per call (an SDK span, its attributes and an end-of-span hand-off) would cost far
/// more than the log line it serves.
pub(crate) struct LocalIds {
    pub(crate) sampler: SamplerChoice,
}

impl<S> Layer<S> for LocalIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _: &tracing_core::span::Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        // The nearest ancestor this layer saw (its filter may have hidden the direct parent).
        let parent = span
            .scope()
            .skip(1)
            .find_map(|ancestor| ancestor.extensions().get::<OtelIds>().copied());
        let trace_id = parent.map_or_else(random_trace_id, |p| p.trace_id);
        let sampled = self.sampler.samples(
            u128::from_be_bytes(trace_id.to_bytes()),
            parent.map(|p| p.sampled),
        );
        span.extensions_mut().replace(OtelIds {
            trace_id,
            span_id: SpanId::from(fastrand::u64(1..)),
            parent_span_id: parent.map(|p| p.span_id),
            sampled,
        });
    }
}

fn random_trace_id() -> TraceId {
    TraceId::from(fastrand::u128(1..))
}

/// Makes a span continue the caller's trace (`parent`, extracted from `traceparent`): through the
/// OpenTelemetry layer when spans are exported, and by taking over the caller's trace id in the span's own
/// ids in local mode. Call it before the span is entered.
pub(crate) fn continue_trace(span: &tracing::Span, parent: opentelemetry::Context) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let remote = parent.span().span_context().clone();
    let _ = span.set_parent(parent);
    if !remote.is_valid() {
        return;
    }
    let Some(id) = span.id() else {
        return;
    };
    tracing::dispatcher::get_default(|dispatch| {
        let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>() else {
            return;
        };
        let Some(span) = registry.span(&id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(ids) = extensions.get_mut::<OtelIds>() {
            ids.trace_id = remote.trace_id();
            ids.sampled = remote.is_sampled();
        }
    });
}

/// The span context of the innermost span with ids around the current code, as a remote parent for an
/// outgoing request.
pub(crate) fn current_span_context() -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::{SpanContext, TraceFlags, TraceState};
    let current = tracing::Span::current();
    let id = current.id()?;
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(&id)?;
        let ids = span
            .scope()
            .find_map(|s| s.extensions().get::<OtelIds>().copied())?;
        let flags = if ids.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        Some(SpanContext::new(
            ids.trace_id,
            ids.span_id,
            flags,
            true,
            TraceState::default(),
        ))
    })
}
