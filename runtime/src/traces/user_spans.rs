//! The application's own `tracing` spans, in the same traces as sightline's: each gets ids (its parent is
//! whatever span the code is in, sightline's or its own), and when spans are exported, its fields become
//! attributes, the events inside it span events, and at close it goes to the same rings as sightline's
//! spans.
//!
//! A layer of sightline's own rather than `tracing-opentelemetry`: that layer builds an SDK span on the
//! calling thread for every span (attributes, a builder, the SDK's context) and knows nothing of
//! sightline's spans, which are not `tracing` spans; this one records what a span is and leaves the rest
//! to the export thread, and parents both kinds from one stack ([`crate::context`]).

use super::record::{Parent, SpanOutcome, SpanRecord, TracingSpan, What};
use super::rings::Rings;
use super::sampler::SamplerChoice;
use crate::context::layer::TracingIds;
use crate::context::values::SpanEvent;
use crate::context::{self, Owner, SpanIds, Values};
use crate::logs::fields::{debug_string, display_string};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Key, KeyValue, StringValue, Value};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// See the module docs.
pub(crate) struct SpanLayer {
    /// Where exported spans go; `None` when nothing is exported (spans then only get ids).
    pub(crate) rings: Option<Arc<Rings>>,
    pub(crate) sampler: SamplerChoice,
}

/// An exported `tracing` span while it is open, in its extensions.
struct OpenSpan {
    start: u64,
    span: TracingSpan,
    events: Vec<SpanEvent>,
    /// `otel.status_code` and the description, as last recorded (in either order).
    code: Option<&'static str>,
    description: Option<String>,
}

impl<S> Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = if attrs.is_root() {
            None
        } else if let Some(parent) = attrs.parent() {
            ctx.span(parent)
                .and_then(|span| span.extensions().get::<TracingIds>().map(|t| t.ids))
        } else {
            context::parent()
        };
        let ids = SpanIds::child_of(parent, |trace, parent| self.sampler.samples(trace, parent));
        let Some(span) = ctx.span(id) else {
            return;
        };
        let open = self.rings.as_ref().filter(|_| ids.sampled).map(|_| {
            let metadata = attrs.metadata();
            let mut open = OpenSpan {
                start: crate::clock::now(),
                span: TracingSpan {
                    name: Cow::Borrowed(metadata.name()),
                    kind: SpanKind::Internal,
                    status: Status::Unset,
                    attributes: Vec::new(),
                    trace_state: None,
                },
                events: Vec::new(),
                code: None,
                description: None,
            };
            if let Some(module) = metadata.module_path() {
                open.span
                    .attributes
                    .push(KeyValue::new("code.module.name", module));
            }
            let mut fields = SpanFields::default();
            attrs.record(&mut fields);
            fields.apply(&mut open);
            open
        });
        let mut extensions = span.extensions_mut();
        extensions.replace(TracingIds {
            ids,
            parent: parent.map(|p| p.span_id),
        });
        if let Some(open) = open {
            extensions.replace(open);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if span.extensions().get::<OpenSpan>().is_none() {
            return;
        }
        // Visited outside the extensions' lock: a `Debug` impl may log.
        let mut fields = SpanFields::default();
        values.record(&mut fields);
        let mut extensions = span.extensions_mut();
        if let Some(open) = extensions.get_mut::<OpenSpan>() {
            fields.apply(open);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if self.rings.is_none() {
            return;
        }
        let mut attributes = EventFields::default();
        event.record(&mut attributes);
        let metadata = event.metadata();
        let span_event = SpanEvent {
            name: attributes
                .message
                .map_or(Cow::Borrowed(metadata.name()), Cow::Owned),
            tick: crate::clock::now(),
            attributes: {
                let mut list = attributes.attributes;
                list.push(KeyValue::new(
                    "level",
                    crate::logs::line::level_name(metadata.level()),
                ));
                list.push(KeyValue::new("target", metadata.target()));
                list
            },
        };
        // The span the event happened in: its explicit parent, or the innermost span with ids.
        let tracing_parent = if let Some(parent) = event.parent() {
            Some(parent.clone())
        } else if event.is_contextual() {
            let mut span_event = Some(span_event);
            let into = context::with_frames_mut(|frames| {
                let frame = frames.iter_mut().rev().find(|f| f.ids.is_some())?;
                if !frame.ids.is_some_and(|ids| ids.sampled) {
                    return None;
                }
                match &frame.owner {
                    Owner::Tracing(id) => Some(id.clone()),
                    Owner::Sightline => {
                        if let Some(e) = span_event.take() {
                            frame
                                .values
                                .get_or_insert_with(|| Box::new(Values::default()))
                                .events
                                .push(e);
                        }
                        None
                    }
                }
            })
            .flatten();
            match (into, span_event) {
                (Some(id), Some(e)) => return add_event(&ctx, &id, e),
                _ => return,
            }
        } else {
            None
        };
        if let Some(id) = tracing_parent {
            add_event(&ctx, &id, span_event);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(rings) = &self.rings else {
            return;
        };
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        let (Some(open), Some(ids)) = (
            extensions.remove::<OpenSpan>(),
            extensions.get_mut::<TracingIds>().map(|ids| *ids),
        ) else {
            return;
        };
        drop(extensions);
        let values = (!open.events.is_empty()).then(|| {
            let mut values = Box::<Values>::default();
            values.events = open.events;
            values
        });
        rings.push(SpanRecord {
            ids: ids.ids,
            parent: ids.parent.map(|span_id| Parent {
                span_id,
                remote: false,
            }),
            start: open.start,
            end: crate::clock::now(),
            what: What::Tracing(Box::new(open.span)),
            outcome: SpanOutcome::default(),
            values,
        });
    }
}

fn add_event<S>(ctx: &Context<'_, S>, id: &Id, event: SpanEvent)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Some(span) = ctx.span(id) {
        if let Some(open) = span.extensions_mut().get_mut::<OpenSpan>() {
            open.events.push(event);
        }
    }
}

/// The fields of a span as recorded: `otel.*` set its name, kind and status, the rest are attributes.
#[derive(Default)]
struct SpanFields {
    name: Option<String>,
    kind: Option<SpanKind>,
    status: Option<&'static str>,
    description: Option<String>,
    attributes: Vec<KeyValue>,
}

impl SpanFields {
    /// Sets what was recorded on `open`; a key recorded again keeps its place.
    fn apply(self, open: &mut OpenSpan) {
        let span = &mut open.span;
        if let Some(name) = self.name {
            span.name = Cow::Owned(name);
        }
        if let Some(kind) = self.kind {
            span.kind = kind;
        }
        if self.status.is_some() {
            open.code = self.status;
        }
        if self.description.is_some() {
            open.description = self.description;
        }
        // As OpenTelemetry's status: a description only with an error.
        span.status = match open.code {
            Some("OK") => Status::Ok,
            Some("ERROR") => Status::error(open.description.clone().unwrap_or_default()),
            _ => Status::Unset,
        };
        for attribute in self.attributes {
            match span
                .attributes
                .iter_mut()
                .find(|kv| kv.key == attribute.key)
            {
                Some(existing) => existing.value = attribute.value,
                None => span.attributes.push(attribute),
            }
        }
    }

    fn special(&mut self, name: &str, text: &str) -> bool {
        match name {
            "otel.name" => self.name = Some(text.to_owned()),
            "otel.kind" => {
                self.kind = Some(match text.to_ascii_lowercase().as_str() {
                    "server" => SpanKind::Server,
                    "client" => SpanKind::Client,
                    "producer" => SpanKind::Producer,
                    "consumer" => SpanKind::Consumer,
                    _ => SpanKind::Internal,
                })
            }
            "otel.status_code" => {
                self.status = Some(match text.to_ascii_uppercase().as_str() {
                    "OK" => "OK",
                    "ERROR" => "ERROR",
                    _ => "UNSET",
                })
            }
            "otel.status_description" | "otel.status_message" => {
                self.description = Some(text.to_owned())
            }
            _ => return false,
        }
        true
    }

    fn attribute(&mut self, field: &Field, value: Value) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

impl Visit for SpanFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attribute(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attribute(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attribute(field, u64_value(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attribute(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.special(field.name(), value) {
            self.attribute(field, Value::String(StringValue::from(value.to_owned())));
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let text = display_string(value);
        if !self.special(field.name(), &text) {
            self.attribute(field, Value::String(StringValue::from(text)));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = debug_string(value);
        if !self.special(field.name(), &text) {
            self.attribute(field, Value::String(StringValue::from(text)));
        }
    }
}

/// A u64 above i64::MAX as text, so no digit is lost.
fn u64_value(value: u64) -> Value {
    i64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::I64)
}

/// An event's fields: its message (the span event's name) and the rest as attributes.
#[derive(Default)]
struct EventFields {
    message: Option<String>,
    attributes: Vec<KeyValue>,
}

impl EventFields {
    fn attribute(&mut self, field: &Field, value: Value) {
        self.attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.attribute(field, Value::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.attribute(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.attribute(field, u64_value(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.attribute(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.attribute(field, Value::String(StringValue::from(value.to_owned())));
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_str(field, &display_string(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &debug_string(value));
    }
}
