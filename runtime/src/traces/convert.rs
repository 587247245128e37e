//! A finished span as the OpenTelemetry SDK's exporters take it, made on the export thread: clock readings
//! become times of day, the site's static facts and the call's JSON fields become attributes, an error
//! becomes the status and an `exception` event.

use super::record::{OutcomeStatus, SpanRecord, What};
use super::redact::{redact_attribute, redact_span_cached, KeyDecisions};
use crate::redact::{Redactor, TextKind};
use opentelemetry::trace::{Event, SpanContext, SpanId, Status, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::borrow::Cow;
use std::time::{Duration, SystemTime};

/// A clock reading and the time of day it stands for: readings near it are turned into times of day by
/// the clock's own rate, without a system call each. The export thread takes a fresh one on every round,
/// so the two clocks never drift apart for long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anchor {
    tick: u64,
    wall: SystemTime,
}

impl Anchor {
    pub(crate) fn now() -> Self {
        Anchor {
            tick: crate::clock::now(),
            wall: SystemTime::now(),
        }
    }

    /// The time of day of the reading `tick`.
    pub(crate) fn time(&self, tick: u64) -> SystemTime {
        let after = crate::clock::between(self.tick, tick);
        if after > 0 {
            return self.wall + Duration::from_nanos(after);
        }
        let before = crate::clock::between(tick, self.tick);
        self.wall
            .checked_sub(Duration::from_nanos(before))
            .unwrap_or(self.wall)
    }
}

/// What the export thread redacts with, and the decisions it took so far.
pub(crate) struct Redaction<'a> {
    pub(crate) redactor: &'a Redactor,
    pub(crate) decisions: &'a mut KeyDecisions,
}

/// `record` as the SDK's span data, redacted: an application's `tracing` span whole; a sightline span's
/// fields written on lines were redacted then, and its site's attributes are its own bounded labels, so
/// only what the lines do not carry (the error's text, span-only fields, events) is read here.
pub(crate) fn convert(
    record: SpanRecord,
    anchor: &Anchor,
    scope: &InstrumentationScope,
    redaction: &mut Redaction<'_>,
) -> SpanData {
    let SpanRecord {
        ids,
        parent,
        start,
        end,
        what,
        outcome,
        values,
    } = record;
    let end_time = anchor.time(end);
    let mut events = Vec::new();
    let what_kind = match &what {
        What::Site(_) => Kind::Site,
        What::Tracing(_) => Kind::Tracing,
    };
    let (name, kind, mut attributes, status, trace_state) = match what {
        What::Site(site) => {
            let mut attributes = Vec::with_capacity(8);
            if let Some(function) = site.function {
                attributes.push(KeyValue::new("code.function", function));
            }
            if let Some(module) = site.module {
                attributes.push(KeyValue::new("code.module.name", module));
            }
            if let Some(operation) = site.operation {
                attributes.push(KeyValue::new("operation", operation));
            }
            if let Some((method, route)) = site.http {
                attributes.push(KeyValue::new("http.request.method", method));
                attributes.push(KeyValue::new("http.route", route));
            }
            if let Some(code) = outcome.status_code {
                attributes.push(KeyValue::new("http.response.status_code", i64::from(code)));
            }
            if let Some(kind) = outcome.error_kind {
                attributes.push(KeyValue::new("error.type", kind));
            }
            let message = outcome.message.as_deref().map(|text| {
                redaction
                    .redactor
                    .redact_text(text, TextKind::Message)
                    .unwrap_or_else(|| text.to_owned())
            });
            let status = match outcome.status {
                OutcomeStatus::Unset => Status::Unset,
                OutcomeStatus::Ok => Status::Ok,
                OutcomeStatus::Error => Status::error(message.clone().unwrap_or_default()),
            };
            if let (OutcomeStatus::Error, Some(message)) = (outcome.status, message) {
                // As the semantic conventions describe a failed operation; added after the call's own
                // events, where it happened.
                events.push(Event::new(
                    "exception",
                    end_time,
                    vec![
                        KeyValue::new("exception.type", outcome.error_kind.unwrap_or("error")),
                        KeyValue::new("exception.message", message),
                    ],
                    0,
                ));
            }
            let kind = site.kind.clone();
            let trace_state = outcome.trace_state.map(|s| *s);
            (
                Cow::Borrowed(site.name),
                kind,
                attributes,
                status,
                trace_state,
            )
        }
        What::Tracing(span) => {
            let span = *span;
            (
                span.name,
                span.kind,
                span.attributes,
                span.status,
                span.trace_state,
            )
        }
    };
    let site = matches!(what_kind, Kind::Site);
    if let Some(values) = values {
        for (key, json, logged) in values.all() {
            if let Some(value) = serde_json::from_slice(json).ok().and_then(otel_value) {
                let mut attribute = KeyValue::new(key.to_owned(), value);
                if site && !logged {
                    redact_attribute(redaction.redactor, redaction.decisions, &mut attribute);
                }
                attributes.push(attribute);
            }
        }
        let mut own = values;
        let call_events = std::mem::take(&mut own.events);
        events.splice(
            0..0,
            call_events.into_iter().map(|e| {
                let mut attributes = e.attributes;
                let mut name = e.name;
                if site {
                    for attribute in &mut attributes {
                        redact_attribute(redaction.redactor, redaction.decisions, attribute);
                    }
                    if let Some(text) = redaction.redactor.redact_text(&name, TextKind::Message) {
                        name = text.into();
                    }
                }
                Event::new(name, anchor.time(e.tick), attributes, 0)
            }),
        );
    }
    let flags = TraceFlags::new(
        if ids.sampled { crate::w3c::SAMPLED } else { 0 }
            | if ids.random { crate::w3c::RANDOM } else { 0 },
    );
    let mut span_events = SpanEvents::default();
    span_events.events = events;
    let mut data = SpanData {
        span_context: SpanContext::new(
            TraceId::from(ids.trace_id),
            SpanId::from(ids.span_id),
            flags,
            false,
            trace_state.unwrap_or_default(),
        ),
        parent_span_id: parent.map_or(SpanId::INVALID, |p| SpanId::from(p.span_id)),
        parent_span_is_remote: parent.is_some_and(|p| p.remote),
        span_kind: kind,
        name,
        start_time: anchor.time(start),
        end_time,
        attributes,
        dropped_attributes_count: 0,
        events: span_events,
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    };
    if !site {
        redact_span_cached(redaction.redactor, redaction.decisions, &mut data);
    }
    data
}

/// Whose span a record is, once its contents moved out.
enum Kind {
    Site,
    Tracing,
}

/// A field's JSON value as an attribute value: scalars as themselves; an object or an array (a field
/// whose text held JSON, written nested on the lines) as its JSON text, as the field's text was; `None`
/// for `null`.
pub(crate) fn otel_value(value: serde_json::Value) -> Option<Value> {
    use serde_json::Value as Json;
    Some(match value {
        Json::Null => return None,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::I64(i),
            // A u64 above i64::MAX: as text, so no digit is lost.
            (None, _) if n.is_u64() => Value::String(StringValue::from(n.to_string())),
            (None, Some(f)) => Value::F64(f),
            (None, None) => Value::String(StringValue::from(n.to_string())),
        },
        Json::String(s) => Value::String(StringValue::from(s)),
        nested @ (Json::Array(_) | Json::Object(_)) => {
            Value::String(StringValue::from(nested.to_string()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_values_from_json() {
        assert_eq!(otel_value(json!(null)), None);
        assert_eq!(otel_value(json!(true)), Some(Value::Bool(true)));
        assert_eq!(otel_value(json!(-4)), Some(Value::I64(-4)));
        assert_eq!(
            otel_value(json!(u64::MAX)),
            Some(Value::from(u64::MAX.to_string()))
        );
        assert_eq!(otel_value(json!(1.5)), Some(Value::F64(1.5)));
        assert_eq!(otel_value(json!("a")), Some(Value::from("a")));
        assert_eq!(
            otel_value(json!(["a", "b"])),
            Some(Value::from(r#"["a","b"]"#))
        );
        assert_eq!(
            otel_value(json!([9223372036854775808u64])),
            Some(Value::from("[9223372036854775808]"))
        );
        assert_eq!(otel_value(json!({"a": 1})), Some(Value::from(r#"{"a":1}"#)));
    }

    #[test]
    fn an_anchor_turns_readings_before_and_after_it_into_times() {
        crate::clock::calibrate();
        let before = crate::clock::now();
        let anchor = Anchor::now();
        std::thread::sleep(Duration::from_millis(20));
        let after = crate::clock::now();
        let (t0, t1) = (anchor.time(before), anchor.time(after));
        assert!(t0 <= anchor.wall && anchor.wall < t1);
        let gap = t1.duration_since(t0).unwrap();
        assert!(gap >= Duration::from_millis(19), "{gap:?}");
    }
}
