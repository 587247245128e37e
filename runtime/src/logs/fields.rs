//! Turning `tracing` field values into JSON, redacted as they are captured.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde_json::{Number, Value};
use tracing_core::callsite::Identifier;
use tracing_core::field::{Field, Visit};
use tracing_core::Metadata;

use super::{LINE_HEADER_KEYS, SPAN_FIELDS_NOT_LOGGED, SPAN_ID_KEYS};
use crate::redact::{redacted, Redactor};
use crate::traces::COMPLETION_EVENT;

/// Fields in first-recorded order; a key recorded again keeps its place and takes the new value.
/// Lines carry a handful of fields, so a linear scan beats hashing.
pub(crate) type FieldList = Vec<(Cow<'static, str>, Value)>;

pub(crate) fn upsert(list: &mut FieldList, key: Cow<'static, str>, value: Value) {
    match list.iter_mut().find(|(existing, _)| *existing == key) {
        Some(slot) => slot.1 = value,
        None => list.push((key, value)),
    }
}

/// The fields a span contributes to log lines, kept in the span's extensions.
pub(crate) struct SpanFields {
    pub(crate) fields: FieldList,
    /// The layer's redactor, kept on observed spans only: `record_on_observed_span` has no layer at hand
    /// and must redact what it adds exactly as the layer would.
    pub(crate) redactor: Option<Arc<Redactor>>,
}

/// Whether a field belongs to an event or to a span: the two drop different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Event,
    Span,
}

/// What to do with one field of a call site. Field names are `&'static str` fixed per call site, so this
/// is decided once per call site instead of normalizing every name on every line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldPlan {
    redact: bool,
    /// The value is text to read for secrets (not one of sightline's own labels on its completion lines).
    scan: bool,
    in_event: bool,
    in_span: bool,
}

/// The fields of sightline's completion and access lines that hold its own bounded labels (a function's
/// name, `ok`, a route template): never text from a request, so never scanned.
const OWN_LABELS: &[&str] = &[
    "function",
    "module",
    "result",
    "outcome",
    "operation",
    "method",
    "route",
    "error_kind",
];

impl FieldPlan {
    /// The plan of the field `name` of a call site named `callsite`.
    pub(crate) fn new(redactor: &Redactor, callsite: &str, name: &str) -> Self {
        FieldPlan {
            redact: redactor.is_redacted_key(name),
            scan: !(callsite == COMPLETION_EVENT && OWN_LABELS.contains(&name)),
            // An event's `message` goes into the line's header; the other header keys are the layer's own.
            in_event: name == "message" || !LINE_HEADER_KEYS.contains(&name),
            in_span: kept_in_span(name),
        }
    }

    fn kept_in(self, kind: FieldKind) -> bool {
        match kind {
            FieldKind::Event => self.in_event,
            FieldKind::Span => self.in_span,
        }
    }
}

/// Whether a span field named `name` is written to log lines.
pub(crate) fn kept_in_span(name: &str) -> bool {
    !LINE_HEADER_KEYS.contains(&name)
        && !SPAN_FIELDS_NOT_LOGGED.contains(&name)
        && !SPAN_ID_KEYS.contains(&name)
}

/// Whether a span field is written to log lines (per the callsite's plan).
pub(crate) fn logged_in_span(plan: &[FieldPlan], index: usize) -> bool {
    plan.get(index).is_some_and(|p| p.in_span)
}

pub(crate) fn plan_fields(redactor: &Redactor, metadata: &Metadata<'_>) -> Arc<[FieldPlan]> {
    metadata
        .fields()
        .iter()
        .map(|field| FieldPlan::new(redactor, metadata.name(), field.name()))
        .collect()
}

/// Records the fields of one event or span into a [`FieldList`], redacted.
pub(crate) struct FieldVisitor<'a> {
    redactor: &'a Redactor,
    callsite: Identifier,
    plan: &'a [FieldPlan],
    kind: FieldKind,
    out: &'a mut FieldList,
}

impl<'a> FieldVisitor<'a> {
    /// `plan` must be the plan of `callsite`'s fields.
    pub(crate) fn new(
        redactor: &'a Redactor,
        callsite: Identifier,
        plan: &'a [FieldPlan],
        kind: FieldKind,
        out: &'a mut FieldList,
    ) -> Self {
        FieldVisitor {
            redactor,
            callsite,
            plan,
            kind,
            out,
        }
    }

    fn plan_of(&self, field: &Field) -> FieldPlan {
        if field.callsite() == self.callsite {
            if let Some(plan) = self.plan.get(field.index()) {
                return *plan;
            }
        }
        FieldPlan::new(self.redactor, "", field.name())
    }

    /// `value` is only called for fields that are written and not redacted whole, so a secret's
    /// `Debug`/`Display` never even runs.
    fn record(&mut self, field: &Field, value: impl FnOnce() -> Value) {
        let plan = self.plan_of(field);
        if !plan.kept_in(self.kind) {
            return;
        }
        let value = if plan.redact {
            redacted()
        } else if !plan.scan {
            value()
        } else {
            let mut value = value();
            self.redactor.redact_inside(field.name(), &mut value);
            value
        };
        match self.kind {
            // A callsite's field names are unique: an event records each once.
            FieldKind::Event => self.out.push((Cow::Borrowed(field.name()), value)),
            FieldKind::Span => upsert(self.out, Cow::Borrowed(field.name()), value),
        }
    }

    fn record_text(&mut self, field: &Field, text: impl FnOnce() -> String) {
        let parse = field.name() != "message";
        self.record(field, || {
            let text = text();
            if parse {
                text_value(text)
            } else {
                Value::String(text)
            }
        });
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record(field, || f64_value(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, || Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, || Value::from(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.record(field, || {
            Number::from_i128(value)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(value.to_string()))
        });
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.record(field, || {
            Number::from_u128(value)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(value.to_string()))
        });
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, || Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_text(field, || value.to_owned());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_text(field, || display_string(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_text(field, || debug_string(value));
    }
}

/// JSON has no NaN or infinities; they are written as the strings Rust prints for them.
pub(crate) fn f64_value(value: f64) -> Value {
    Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(value.to_string()))
}

/// A string that holds a JSON object or array (a request body, a serialized struct) is written as nested
/// JSON, so it can be queried and redacted inside; anything else stays a string.
pub(crate) fn text_value(text: String) -> Value {
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(value @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str(trimmed) {
            return value;
        }
    }
    Value::String(text)
}

// `format!` panics when an impl returns `fmt::Error`; writing into a String and ignoring the error keeps
// whatever was written before it and never panics.
fn debug_string(value: &dyn fmt::Debug) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value:?}");
    text
}

fn display_string(value: &dyn fmt::Display) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_finite_floats_become_strings() {
        assert_eq!(f64_value(1.5), json!(1.5));
        assert_eq!(f64_value(f64::NAN), json!("NaN"));
        assert_eq!(f64_value(f64::INFINITY), json!("inf"));
        assert_eq!(f64_value(f64::NEG_INFINITY), json!("-inf"));
    }

    #[test]
    fn only_objects_and_arrays_are_parsed() {
        assert_eq!(text_value(" {\"a\": [1, 2]} ".into()), json!({"a": [1, 2]}));
        assert_eq!(text_value("[1, \"x\"]".into()), json!([1, "x"]));
        assert_eq!(text_value("{not json".into()), json!("{not json"));
        assert_eq!(text_value("42".into()), json!("42"));
        assert_eq!(text_value("\"quoted\"".into()), json!("\"quoted\""));
        assert_eq!(text_value("{} trailing".into()), json!("{} trailing"));
        // Lone surrogates are invalid JSON text: the string is kept as it is.
        assert_eq!(text_value(r#"["\ud800"]"#.into()), json!(r#"["\ud800"]"#));
    }

    #[test]
    fn failing_formatters_do_not_panic() {
        struct Broken;
        impl fmt::Debug for Broken {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("part")?;
                Err(fmt::Error)
            }
        }
        assert_eq!(debug_string(&Broken), "part");
    }

    #[test]
    fn upsert_keeps_first_position() {
        let mut list = FieldList::new();
        upsert(&mut list, "a".into(), json!(1));
        upsert(&mut list, "b".into(), json!(2));
        upsert(&mut list, "a".into(), json!(3));
        assert_eq!(list, vec![("a".into(), json!(3)), ("b".into(), json!(2))]);
    }
}
