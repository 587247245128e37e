//! Redaction of finished spans on the export thread: no secret leaves the process in a span.
//!
//! Every attribute of a finished span and of its events (a `tracing::info!(password = ..)` inside a span
//! becomes a span event carrying `password`) goes through the same [`Redactor`] as the JSON log lines: a
//! sensitive key (`password`, `x-api-key`, `authorization`, `cookie`, the builder's extra paths) has its
//! value replaced by `"[REDACTED]"`, and a string holding a JSON object or array (a request body) has the
//! secrets inside it replaced.

use crate::redact::{Redactor, TextKind, REDACTED};
use opentelemetry::trace::Status;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// Redacts the attributes of `span` and of its events in place.
#[cfg(test)]
pub(crate) fn redact_span(redactor: &Redactor, span: &mut SpanData) {
    redact_span_cached(redactor, &mut KeyDecisions::default(), span);
}

/// Whether each attribute key seen so far is secret. Keys are field names, a set fixed by the program's
/// code, so the export thread decides each once instead of on every span; the cap only guards against
/// keys built from data.
#[derive(Default)]
pub(crate) struct KeyDecisions(std::collections::HashMap<opentelemetry::Key, bool>);

const MAX_KEY_DECISIONS: usize = 4096;

impl KeyDecisions {
    fn is_redacted(&mut self, redactor: &Redactor, key: &opentelemetry::Key) -> bool {
        if let Some(decision) = self.0.get(key) {
            return *decision;
        }
        let decision = redactor.is_redacted_key(key.as_str());
        if self.0.len() >= MAX_KEY_DECISIONS {
            self.0.clear();
        }
        self.0.insert(key.clone(), decision);
        decision
    }
}

/// [`redact_span`] with decisions remembered across spans.
pub(crate) fn redact_span_cached(
    redactor: &Redactor,
    decisions: &mut KeyDecisions,
    span: &mut SpanData,
) {
    for attribute in span.attributes.iter_mut() {
        redact_attribute(redactor, decisions, attribute);
    }
    // An error's text (the status), a span named from data (`otel.name`) and an event's name (the
    // `tracing` event's message) are free text that can carry a secret too.
    if let Status::Error { description } = &mut span.status {
        if let Some(redacted) = redactor.redact_text(description, TextKind::Message) {
            *description = redacted.into();
        }
    }
    if let Some(redacted) = redactor.redact_text(&span.name, TextKind::Message) {
        span.name = redacted.into();
    }
    for event in span.events.events.iter_mut() {
        if let Some(redacted) = redactor.redact_text(&event.name, TextKind::Message) {
            event.name = redacted.into();
        }
        for attribute in event.attributes.iter_mut() {
            redact_attribute(redactor, decisions, attribute);
        }
    }
    for link in span.links.links.iter_mut() {
        for attribute in link.attributes.iter_mut() {
            redact_attribute(redactor, decisions, attribute);
        }
    }
}

pub(crate) fn redact_attribute(
    redactor: &Redactor,
    decisions: &mut KeyDecisions,
    attribute: &mut KeyValue,
) {
    if decisions.is_redacted(redactor, &attribute.key) {
        attribute.value = Value::String(StringValue::from(REDACTED));
        return;
    }
    // A string holding JSON (a body logged with `%`): redacted inside, or whole when it does not parse
    // and names a secret key, as the log layer does; any other text scanned for secrets.
    match &mut attribute.value {
        Value::String(text) => {
            if let Some(redacted) = redactor.redact_string(attribute.key.as_str(), text.as_str()) {
                attribute.value = Value::String(StringValue::from(redacted));
            }
        }
        Value::Array(Array::String(items)) => {
            for item in items.iter_mut() {
                if let Some(redacted) =
                    redactor.redact_string(attribute.key.as_str(), item.as_str())
                {
                    *item = StringValue::from(redacted);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use opentelemetry::trace::{
        Event, SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::borrow::Cow;
    use std::time::SystemTime;

    pub(in crate::traces) fn span(
        attributes: Vec<KeyValue>,
        events: Vec<Event>,
        status: Status,
    ) -> SpanData {
        let mut span_events = SpanEvents::default();
        span_events.events = events;
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1u128),
                SpanId::from(1u64),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed("login"),
            start_time: SystemTime::now(),
            end_time: SystemTime::now(),
            attributes,
            dropped_attributes_count: 0,
            events: span_events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    pub(in crate::traces) fn value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn sensitive_keys_are_redacted_in_attributes_and_events() {
        let mut data = span(
            vec![
                KeyValue::new("user", "ada"),
                KeyValue::new("password", "hunter2"),
                KeyValue::new("X-Api-Key", "sk_live"),
                KeyValue::new("retries", 3i64),
                KeyValue::new("session_key", "extra-path-secret"),
            ],
            vec![Event::new(
                "login attempt",
                SystemTime::now(),
                vec![
                    KeyValue::new("db_password_hash", "abc"),
                    KeyValue::new("cookie", "sid=1"),
                    KeyValue::new("attempt", 2i64),
                    KeyValue::new(
                        "body",
                        r#"{"user":"ada","login":{"token":"bearer-secret"},"items":[{"pin":"0000"}]}"#,
                    ),
                ],
                0,
            )],
            Status::Unset,
        );
        redact_span(&Redactor::new(["session_key", "pin"]), &mut data);
        let redacted = Value::from(REDACTED);
        assert_eq!(value(&data.attributes, "user"), Some(&Value::from("ada")));
        assert_eq!(value(&data.attributes, "password"), Some(&redacted));
        assert_eq!(value(&data.attributes, "X-Api-Key"), Some(&redacted));
        assert_eq!(value(&data.attributes, "retries"), Some(&Value::I64(3)));
        assert_eq!(value(&data.attributes, "session_key"), Some(&redacted));
        let event = &data.events.events[0].attributes;
        assert_eq!(value(event, "db_password_hash"), Some(&redacted));
        assert_eq!(value(event, "cookie"), Some(&redacted));
        assert_eq!(value(event, "attempt"), Some(&Value::I64(2)));
        let body: serde_json::Value =
            serde_json::from_str(&value(event, "body").unwrap().as_str()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"user":"ada","login":{"token":"[REDACTED]"},"items":[{"pin":"[REDACTED]"}]})
        );
    }

    #[test]
    fn a_json_string_without_secrets_is_left_byte_for_byte() {
        let text = r#"{ "user": "ada" }"#;
        let mut data = span(vec![KeyValue::new("body", text)], vec![], Status::Unset);
        redact_span(&Redactor::default(), &mut data);
        assert_eq!(value(&data.attributes, "body"), Some(&Value::from(text)));
    }

    #[test]
    fn a_broken_json_string_naming_a_secret_is_redacted_whole() {
        let cut = r#"{"user":"ada","auth":{"token":"bearer-sec"#;
        let mut data = span(
            vec![KeyValue::new("body", cut)],
            vec![Event::new(
                "request",
                SystemTime::now(),
                vec![KeyValue::new("raw", r#"{"n":1e999,"password":"x"}"#)],
                0,
            )],
            Status::Unset,
        );
        redact_span(&Redactor::default(), &mut data);
        let redacted = Value::from(REDACTED);
        assert_eq!(value(&data.attributes, "body"), Some(&redacted));
        assert_eq!(
            value(&data.events.events[0].attributes, "raw"),
            Some(&redacted)
        );
    }
}
