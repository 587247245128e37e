//! The `tracing` layer that writes the application's events as JSON lines, with the fields of every
//! span around them: the application's `tracing` spans (kept in their extensions) and sightline's own
//! (kept on the thread's span stack, [`crate::context`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

use smallvec::SmallVec;
use tracing_core::callsite::Identifier;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, LookupSpan};

use super::fields::{logged_in_span, plan_fields, FieldKind, FieldPlan, JsonVisitor, Out};
use super::line::{push_f64, push_json, with_buffers, LineSink};
use crate::context::{self, layer::TracingIds, Frame, Owner, SpanIds, Values};

/// Writes every event as one JSON object per line, with the fields of the event and of its enclosing
/// spans, redacted. A writer error never reaches the application: the sink counts and reports it.
pub(crate) struct LogLayer {
    sink: Arc<LineSink>,
    plans: RwLock<HashMap<Identifier, Arc<[FieldPlan]>, BuildHasherDefault<CallsiteHasher>>>,
    span_summaries: bool,
}

/// The fields a `tracing` span contributes to log lines, kept in the span's extensions.
pub(crate) struct SpanFields(pub(crate) Values);

impl LogLayer {
    pub(crate) fn new(sink: Arc<LineSink>) -> Self {
        LogLayer {
            sink,
            plans: RwLock::new(HashMap::default()),
            span_summaries: false,
        }
    }

    /// With no collector to send spans to, a `debug` line (target `sightline::spans`) summarises each
    /// completed span: name, ids, parent, duration and status, so traces are visible in the log alone.
    pub(crate) fn with_span_summaries(mut self, on: bool) -> Self {
        self.span_summaries = on;
        self
    }

    fn plan(&self, metadata: &'static Metadata<'static>) -> Arc<[FieldPlan]> {
        let callsite = metadata.callsite();
        if let Some(plan) = self
            .plans
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&callsite)
        {
            return Arc::clone(plan);
        }
        let plan = plan_fields(&self.sink.redactor, metadata);
        Arc::clone(
            self.plans
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(callsite)
                .or_insert(plan),
        )
    }

    /// Records span fields into fresh values, then merges them under the extensions lock: visiting runs
    /// the application's `Debug` impls, which may log themselves, and must not do so with the lock held.
    fn record_span_fields<S>(
        &self,
        id: &Id,
        ctx: &Context<'_, S>,
        metadata: &'static Metadata<'static>,
        record: impl FnOnce(&mut JsonVisitor<'_>),
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let plan = self.plan(metadata);
        let mut fresh = Values::default();
        record(&mut JsonVisitor::new(
            &self.sink.redactor,
            metadata.callsite(),
            &plan,
            FieldKind::Span,
            Out::Values(&mut fresh),
        ));
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(existing) => existing.0.merge(fresh),
            None => extensions.insert(SpanFields(fresh)),
        }
    }
}

impl<S> Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.record_span_fields(id, &ctx, attrs.metadata(), |visitor| attrs.record(visitor));
        if self.span_summaries {
            if let Some(span) = ctx.span(id) {
                let mut timing = SpanTiming::new();
                attrs.record(&mut timing);
                span.extensions_mut().replace(timing);
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let metadata = span.metadata();
        // A status recorded at the end of every call is for OpenTelemetry only: with nothing the lines
        // carry and no summary to write, the span's fields are not touched.
        let plan = self.plan(metadata);
        let logged = metadata
            .fields()
            .iter()
            .any(|f| values.contains(&f) && logged_in_span(&plan, f.index()));
        if self.span_summaries {
            if let Some(timing) = span.extensions_mut().get_mut::<SpanTiming>() {
                values.record(timing);
            }
        }
        drop(span);
        if logged {
            self.record_span_fields(id, &ctx, metadata, |visitor| values.record(visitor));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if !self.span_summaries {
            return;
        }
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let (timing, ids) = {
            let extensions = span.extensions();
            (
                extensions.get::<SpanTiming>().cloned(),
                extensions.get::<TracingIds>().copied(),
            )
        };
        let (Some(timing), Some(ids)) = (timing, ids) else {
            return;
        };
        write_span_summary(
            &self.sink,
            &SpanSummary {
                name: timing.name.as_deref().unwrap_or(span.name()),
                ids: ids.ids,
                parent: ids.parent,
                duration_ms: timing.start.elapsed().as_micros() as f64 / 1000.0,
                status: timing.status.as_deref().unwrap_or("UNSET"),
                description: timing.description.as_deref(),
            },
        );
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let plan = self.plan(metadata);
        with_buffers(|line, entries| {
            self.sink.begin(line, metadata.level(), metadata.target());
            let mut keys: SmallVec<[&'static str; 8]> = SmallVec::new();
            event.record(&mut JsonVisitor::new(
                &self.sink.redactor,
                metadata.callsite(),
                &plan,
                FieldKind::Event,
                Out::Line {
                    header: line,
                    entries,
                    keys: &mut keys,
                },
            ));
            let own_ids = keys.contains(&"trace_id");
            if event.is_contextual() {
                // Outermost first, as the thread entered them. No application code runs here.
                context::with_frames(|frames| {
                    let spans: SmallVec<[_; 8]> = frames
                        .iter()
                        .map(|frame| match &frame.owner {
                            Owner::Tracing(id) => ctx.span(id),
                            Owner::Sightline => None,
                        })
                        .collect();
                    let extensions: SmallVec<[Option<Extensions<'_>>; 8]> = spans
                        .iter()
                        .map(|span| span.as_ref().map(|s| s.extensions()))
                        .collect();
                    let values = span_values(frames, &extensions);
                    let ids = frames.iter().rev().find_map(|f| f.ids);
                    finish_line(line, entries, &keys, own_ids, ids, &values);
                });
            } else {
                // An explicit parent (`parent: &span`), or none: that span's scope, not the thread's.
                let spans: SmallVec<[_; 8]> = ctx
                    .event_scope(event)
                    .map(|scope| scope.from_root().collect())
                    .unwrap_or_default();
                let extensions: SmallVec<[Extensions<'_>; 8]> =
                    spans.iter().map(|span| span.extensions()).collect();
                let values: SmallVec<[&Values; 8]> = extensions
                    .iter()
                    .filter_map(|e| e.get::<SpanFields>().map(|f| &f.0))
                    .collect();
                let ids = extensions
                    .iter()
                    .rev()
                    .find_map(|e| e.get::<TracingIds>().map(|t| t.ids));
                finish_line(line, entries, &keys, own_ids, ids, &values);
            }
            self.sink.finish(line);
        });
    }
}

/// Adds the ids, the event's own entries and the fields of the spans around it (outermost first) to
/// `line`; a field the event or an inner span also has is written once, with the innermost value.
fn finish_line(
    line: &mut Vec<u8>,
    entries: &[u8],
    keys: &[&'static str],
    own_ids: bool,
    ids: Option<SpanIds>,
    spans: &[&Values],
) {
    if let Some(ids) = ids.filter(|_| !own_ids) {
        push_ids(line, ids);
    }
    line.extend_from_slice(entries);
    push_span_fields(line, keys, spans);
}

/// `,"trace_id":"..","span_id":".."`.
#[inline]
pub(crate) fn push_ids(line: &mut Vec<u8>, ids: SpanIds) {
    line.extend_from_slice(b",\"trace_id\":\"");
    crate::context::ids::push_hex(line, ids.trace_id, 16);
    line.extend_from_slice(b"\",\"span_id\":\"");
    crate::context::ids::push_hex(line, u128::from(ids.span_id), 8);
    line.push(b'"');
}

/// The logged fields of `spans` (outermost first) not shadowed by `keys` or by an inner span.
pub(crate) fn push_span_fields(line: &mut Vec<u8>, keys: &[&str], spans: &[&Values]) {
    for (depth, values) in spans.iter().enumerate() {
        for (key, entry) in values.logged() {
            let shadowed =
                keys.contains(&key) || spans[depth + 1..].iter().any(|inner| inner.logs_key(key));
            if !shadowed {
                line.extend_from_slice(entry);
            }
        }
    }
}

/// A line of sightline's own (a call's completion line, a request's access line), at `level` with
/// `target`: its `message` if any, the ids (of `own`, the span it completes, else of the innermost span
/// around it), the entries `entries` writes (listing their keys), then the fields of `own` and of every
/// span around it. `entries` must only copy what is ready: the thread's span stack is borrowed while it
/// runs, so no application code may run inside it.
pub(crate) fn write_own_line(
    sink: &LineSink,
    level: &Level,
    target_entry: &[u8],
    message: Option<&str>,
    own: Option<Own<'_>>,
    entries: impl FnOnce(&mut Vec<u8>, &mut SmallVec<[&'static str; 8]>),
) {
    with_buffers(|line, _| {
        sink.begin_with(line, level, target_entry);
        if let Some(message) = message {
            line.extend_from_slice(b",\"message\":");
            push_json(line, message);
        }
        let mut entries = Some(entries);
        let written = context::with_frames(|frames| {
            let ids = own
                .as_ref()
                .map(|own| own.ids)
                .or_else(|| frames.iter().rev().find_map(|f| f.ids));
            if let Some(ids) = ids {
                push_ids(line, ids);
            }
            let mut keys = SmallVec::new();
            if let Some(entries) = entries.take() {
                entries(line, &mut keys);
            }
            if frames.iter().any(|f| matches!(f.owner, Owner::Tracing(_))) {
                with_registry(|registry| {
                    let spans: SmallVec<[_; 8]> = frames
                        .iter()
                        .map(|frame| match (&frame.owner, registry) {
                            (Owner::Tracing(id), Some(registry)) => registry.span(id),
                            _ => None,
                        })
                        .collect();
                    let extensions: SmallVec<[_; 8]> = spans
                        .iter()
                        .map(|span| span.as_ref().map(|s| s.extensions()))
                        .collect();
                    let mut values = span_values(frames, &extensions);
                    values.extend(own.iter().flat_map(Own::values));
                    push_span_fields(line, &keys, &values);
                });
            } else {
                let mut values: SmallVec<[&Values; 8]> = SmallVec::new();
                for frame in frames {
                    if let Some(site) = frame.site {
                        values.push(site);
                    }
                    if let Some(own) = frame.values.as_deref() {
                        values.push(own);
                    }
                }
                if let Some(own) = &own {
                    values.extend(own.site);
                    values.extend(own.values);
                }
                push_span_fields(line, &keys, &values);
            }
        });
        if written.is_none() {
            // The thread's stack is gone (thread exit) or busy: the line still goes out, with what the
            // call itself knows.
            if let Some(own) = &own {
                push_ids(line, own.ids);
            }
            let mut keys = SmallVec::new();
            if let Some(entries) = entries.take() {
                entries(line, &mut keys);
            }
            let values: SmallVec<[&Values; 2]> = own.iter().flat_map(Own::values).collect();
            push_span_fields(line, &keys, &values);
        }
        sink.finish(line);
    });
}

/// The span a line of sightline's own completes: its ids and fields.
#[derive(Clone, Copy)]
pub(crate) struct Own<'a> {
    pub(crate) ids: SpanIds,
    /// The fields its site gives every call.
    pub(crate) site: Option<&'a Values>,
    pub(crate) values: Option<&'a Values>,
}

impl<'a> Own<'a> {
    fn values(&self) -> impl Iterator<Item = &'a Values> {
        self.site.into_iter().chain(self.values)
    }
}

/// The fields of every span on the stack, outermost first: a sightline span's own, or a `tracing`
/// span's from its extensions (`None` for one this layer does not see).
fn span_values<'a>(
    frames: &'a [Frame],
    extensions: &'a [Option<Extensions<'a>>],
) -> SmallVec<[&'a Values; 8]> {
    let mut values = SmallVec::new();
    for (frame, extensions) in frames.iter().zip(extensions) {
        match (&frame.owner, extensions) {
            (Owner::Sightline, _) => values.extend(frame.own_values()),
            (Owner::Tracing(_), Some(e)) => values.extend(e.get::<SpanFields>().map(|f| &f.0)),
            (Owner::Tracing(_), None) => {}
        }
    }
    values
}

/// Runs `f` with the current subscriber's registry, if it is built on one.
fn with_registry<R>(f: impl FnOnce(Option<&tracing_subscriber::Registry>) -> R) -> R {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>();
        (f.take().expect("get_default calls once"))(registry)
    })
}

/// The target of span summaries, for filters: `LOG_LEVEL=info,sightline::spans=debug`.
pub(crate) const SUMMARY_TARGET: &str = "sightline::spans";

/// What the summary line of a completed span says.
pub(crate) struct SpanSummary<'a> {
    pub(crate) name: &'a str,
    pub(crate) ids: SpanIds,
    pub(crate) parent: Option<u64>,
    pub(crate) duration_ms: f64,
    pub(crate) status: &'a str,
    pub(crate) description: Option<&'a str>,
}

/// A `debug` line `span completed` with the span's name, ids, parent, duration and status.
pub(crate) fn write_span_summary(sink: &LineSink, summary: &SpanSummary<'_>) {
    with_buffers(|line, _| {
        sink.begin_with(line, &Level::DEBUG, b",\"target\":\"sightline::spans\"");
        line.extend_from_slice(b",\"message\":\"span completed\",\"span.name\":");
        let name = sink
            .redactor
            .redact_text(summary.name, crate::redact::TextKind::Message);
        push_json(line, name.as_deref().unwrap_or(summary.name));
        push_ids(line, summary.ids);
        if let Some(parent) = summary.parent {
            line.extend_from_slice(b",\"parent_span_id\":\"");
            crate::context::ids::push_hex(line, u128::from(parent), 8);
            line.push(b'"');
        }
        line.extend_from_slice(b",\"duration_ms\":");
        push_f64(line, summary.duration_ms);
        line.extend_from_slice(b",\"status\":");
        push_json(line, summary.status);
        if let Some(description) = summary.description {
            line.extend_from_slice(b",\"status_description\":");
            let redacted = sink
                .redactor
                .redact_text(description, crate::redact::TextKind::Message);
            push_json(line, redacted.as_deref().unwrap_or(description));
        }
        sink.finish(line);
    });
}

/// When a span started and the status it recorded, for its summary.
#[derive(Clone)]
struct SpanTiming {
    start: std::time::Instant,
    /// `otel.name`, the span's name when it is set.
    name: Option<String>,
    status: Option<String>,
    description: Option<String>,
}

impl SpanTiming {
    fn new() -> Self {
        SpanTiming {
            start: std::time::Instant::now(),
            name: None,
            status: None,
            description: None,
        }
    }
}

impl tracing_core::field::Visit for SpanTiming {
    fn record_str(&mut self, field: &tracing_core::Field, value: &str) {
        match field.name() {
            "otel.name" => self.name = Some(value.to_owned()),
            "otel.status_code" => self.status = Some(value.to_owned()),
            "otel.status_description" | "otel.status_message" => {
                self.description = Some(value.to_owned())
            }
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing_core::Field, value: &dyn std::fmt::Debug) {
        if matches!(
            field.name(),
            "otel.name" | "otel.status_code" | "otel.status_description" | "otel.status_message"
        ) {
            self.record_str(field, &format!("{value:?}"));
        }
    }
}

/// Hashes a callsite `Identifier` (a pointer, unique per callsite) with one multiply instead of SipHash:
/// the keys are addresses fixed at compile time, not input an attacker chooses.
#[derive(Default)]
struct CallsiteHasher(u64);

impl Hasher for CallsiteHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_ne_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }
}
