//! Field values written as JSON, redacted as they are written: once per value, straight into the line or
//! into the [`Values`] of the span that carries them, with no intermediate `serde_json::Value` except for
//! text that holds JSON (a request body), which is parsed so it can be redacted inside.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde_json::{Number, Value};
use smallvec::SmallVec;
use tracing_core::callsite::Identifier;
use tracing_core::field::{Field, Visit};
use tracing_core::Metadata;

use super::line::{push_f64, push_json, push_key, push_u64};
use super::{LINE_HEADER_KEYS, SPAN_FIELDS_NOT_LOGGED, SPAN_ID_KEYS};
use crate::context::Values;
use crate::redact::{Redactor, TextKind, REDACTED};

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
    /// The value is text to read for secrets (not one of sightline's own labels).
    scan: bool,
    in_event: bool,
    in_span: bool,
}

impl FieldPlan {
    /// The plan of the field `name`.
    pub(crate) fn new(redactor: &Redactor, name: &str) -> Self {
        FieldPlan {
            redact: redactor.is_redacted_key(name),
            scan: true,
            // An event's `message` goes into the line's header; the other header keys are the layer's own.
            in_event: name == "message" || !LINE_HEADER_KEYS.contains(&name),
            in_span: kept_in_span(name),
        }
    }

    /// A field of `fields(..)`: written, scanned.
    pub(crate) const FIELD: FieldPlan = FieldPlan {
        redact: false,
        scan: true,
        in_event: true,
        in_span: true,
    };

    /// A field whose value is replaced whole.
    pub(crate) const REDACTED: FieldPlan = FieldPlan {
        redact: true,
        scan: true,
        in_event: true,
        in_span: true,
    };

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
        .map(|field| FieldPlan::new(redactor, field.name()))
        .collect()
}

/// A value to write.
pub(crate) enum FieldValue<'a> {
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Bool(bool),
    Str(&'a str),
    /// What a `Display` or `Debug` impl wrote.
    Text(String),
}

/// Appends the JSON of `value`, the value of the field `key` planned as `plan`, redacted: replaced whole
/// when the key is secret, else with what is secret inside it replaced.
pub(crate) fn write_value(
    out: &mut Vec<u8>,
    redactor: &Redactor,
    key: &str,
    plan: FieldPlan,
    value: FieldValue<'_>,
) {
    if plan.redact {
        push_json(out, REDACTED);
        return;
    }
    match value {
        FieldValue::I64(v) => {
            let _ = std::io::Write::write_fmt(out, format_args!("{v}"));
        }
        FieldValue::U64(v) => push_u64(out, v),
        FieldValue::I128(v) => match Number::from_i128(v) {
            Some(n) => {
                let _ = std::io::Write::write_fmt(out, format_args!("{n}"));
            }
            None => push_json(out, &v.to_string()),
        },
        FieldValue::U128(v) => match Number::from_u128(v) {
            Some(n) => {
                let _ = std::io::Write::write_fmt(out, format_args!("{n}"));
            }
            None => push_json(out, &v.to_string()),
        },
        FieldValue::F64(v) => push_f64(out, v),
        FieldValue::Bool(v) => out.extend_from_slice(if v { b"true" } else { b"false" }),
        FieldValue::Str(text) => write_text(out, redactor, key, plan, text),
        FieldValue::Text(text) => write_text(out, redactor, key, plan, &text),
    }
}

/// Text: nested JSON when it holds a JSON object or array (a request body, a serialized struct), so it
/// can be queried and redacted inside; otherwise a string, scanned for secrets. An event's `message` is
/// free text, never parsed.
fn write_text(out: &mut Vec<u8>, redactor: &Redactor, key: &str, plan: FieldPlan, text: &str) {
    let message = key == "message";
    if !message {
        if let Some(mut json) = json_text(text) {
            // Inside JSON, secret keys are replaced whatever the scan setting.
            redactor.redact_inside(key, &mut json);
            let _ = serde_json::to_writer(&mut *out, &json);
            return;
        }
    }
    if !plan.scan {
        push_json(out, text);
        return;
    }
    // A line's message, and a call's error (prose: `declined: ..`, as the span's status has it), are
    // free text, never read as JSON: what cannot be read is cut from where it starts.
    let redacted = if message || key == "error" {
        redactor.redact_text(text, TextKind::Message)
    } else {
        redactor.redact_string(key, text)
    };
    push_json(out, redacted.as_deref().unwrap_or(text));
}

/// The JSON object or array `text` holds, if it holds one.
fn json_text(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    match serde_json::from_str(trimmed) {
        Ok(value @ (Value::Object(_) | Value::Array(_))) => Some(value),
        _ => None,
    }
}

/// Appends the JSON of a `tracing` value (a field of `fields(..)`, a value given to `record`) as the
/// value of `key`, redacted as [`write_value`] does; false when the value records nothing (`None`).
pub(crate) fn render_value(
    out: &mut Vec<u8>,
    redactor: &Redactor,
    key: &str,
    plan: FieldPlan,
    value: &dyn tracing_core::field::Value,
) -> bool {
    if plan.redact {
        push_json(out, REDACTED);
        return true;
    }
    let Some(field) = VALUE_META.fields().field("value") else {
        return false;
    };
    let mut one = OneValue {
        out,
        redactor,
        key,
        plan,
        written: false,
    };
    value.record(&field, &mut one);
    one.written
}

/// A callsite of one field, `value`: what a lone `tracing` value is visited through.
struct ValueCallsite;

impl tracing_core::Callsite for ValueCallsite {
    fn set_interest(&self, _: tracing_core::Interest) {}
    fn metadata(&self) -> &Metadata<'_> {
        &VALUE_META
    }
}

static VALUE_CALLSITE: ValueCallsite = ValueCallsite;
static VALUE_META: Metadata<'static> = tracing_core::metadata! {
    name: "sightline value",
    target: "sightline",
    level: tracing_core::Level::TRACE,
    fields: &["value"],
    callsite: &VALUE_CALLSITE,
    kind: tracing_core::metadata::Kind::EVENT,
};

/// Writes the one value it is shown.
struct OneValue<'a> {
    out: &'a mut Vec<u8>,
    redactor: &'a Redactor,
    key: &'a str,
    plan: FieldPlan,
    written: bool,
}

impl OneValue<'_> {
    fn write(&mut self, value: FieldValue<'_>) {
        if !self.written {
            self.written = true;
            write_value(self.out, self.redactor, self.key, self.plan, value);
        }
    }
}

impl Visit for OneValue<'_> {
    fn record_f64(&mut self, _: &Field, value: f64) {
        self.write(FieldValue::F64(value));
    }
    fn record_i64(&mut self, _: &Field, value: i64) {
        self.write(FieldValue::I64(value));
    }
    fn record_u64(&mut self, _: &Field, value: u64) {
        self.write(FieldValue::U64(value));
    }
    fn record_i128(&mut self, _: &Field, value: i128) {
        self.write(FieldValue::I128(value));
    }
    fn record_u128(&mut self, _: &Field, value: u128) {
        self.write(FieldValue::U128(value));
    }
    fn record_bool(&mut self, _: &Field, value: bool) {
        self.write(FieldValue::Bool(value));
    }
    fn record_str(&mut self, _: &Field, value: &str) {
        self.write(FieldValue::Str(value));
    }
    fn record_error(&mut self, _: &Field, value: &(dyn std::error::Error + 'static)) {
        self.write(FieldValue::Text(display_string(value)));
    }
    fn record_debug(&mut self, _: &Field, value: &dyn fmt::Debug) {
        self.write(FieldValue::Text(debug_string(value)));
    }
}

/// Where a [`JsonVisitor`] writes.
pub(crate) enum Out<'a> {
    /// `,"key":value` entries of an event's line; `message` goes to `header` (it is the line's header's
    /// last entry) and every key written is listed in `keys`.
    Line {
        header: &'a mut Vec<u8>,
        entries: &'a mut Vec<u8>,
        keys: &'a mut SmallVec<[&'static str; 8]>,
    },
    /// A span's values.
    Values(&'a mut Values),
}

/// Writes the fields of one event or span, redacted.
pub(crate) struct JsonVisitor<'a> {
    redactor: &'a Redactor,
    callsite: Identifier,
    plan: &'a [FieldPlan],
    kind: FieldKind,
    out: Out<'a>,
}

impl<'a> JsonVisitor<'a> {
    /// `plan` must be the plan of `callsite`'s fields.
    pub(crate) fn new(
        redactor: &'a Redactor,
        callsite: Identifier,
        plan: &'a [FieldPlan],
        kind: FieldKind,
        out: Out<'a>,
    ) -> Self {
        JsonVisitor {
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
        FieldPlan::new(self.redactor, field.name())
    }

    /// `value` is only called for fields that are written and not redacted whole, so a secret's
    /// `Debug`/`Display` never even runs.
    fn record<'v>(&mut self, field: &Field, value: impl FnOnce() -> FieldValue<'v>) {
        let plan = self.plan_of(field);
        if !plan.kept_in(self.kind) {
            return;
        }
        let name = field.name();
        let value = if plan.redact {
            FieldValue::Str(REDACTED)
        } else {
            value()
        };
        let redactor = self.redactor;
        match &mut self.out {
            Out::Line {
                header,
                entries,
                keys,
            } => {
                let out = if name == "message" {
                    &mut **header
                } else {
                    keys.push(name);
                    &mut **entries
                };
                push_key(out, name);
                write_value(out, redactor, name, plan, value);
            }
            Out::Values(values) => {
                values.set(name.into(), true, |out| {
                    write_value(out, redactor, name, plan, value)
                });
            }
        }
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record(field, || FieldValue::F64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, || FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, || FieldValue::U64(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.record(field, || FieldValue::I128(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.record(field, || FieldValue::U128(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, || FieldValue::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, || FieldValue::Str(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record(field, || FieldValue::Text(display_string(value)));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, || FieldValue::Text(debug_string(value)));
    }
}

// `format!` panics when an impl returns `fmt::Error`; writing into a String and ignoring the error keeps
// whatever was written before it and never panics.
pub(crate) fn debug_string(value: &dyn fmt::Debug) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value:?}");
    text
}

pub(crate) fn display_string(value: &dyn fmt::Display) -> String {
    let mut text = String::new();
    let _ = write!(text, "{value}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(key: &str, value: FieldValue<'_>) -> String {
        let redactor = Redactor::default();
        let mut out = Vec::new();
        write_value(
            &mut out,
            &redactor,
            key,
            FieldPlan::new(&redactor, key),
            value,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn non_finite_floats_become_strings_and_wide_integers_text_when_they_must() {
        assert_eq!(written("x", FieldValue::F64(1.5)), "1.5");
        assert_eq!(written("x", FieldValue::F64(f64::NAN)), "\"NaN\"");
        assert_eq!(written("x", FieldValue::F64(f64::INFINITY)), "\"inf\"");
        assert_eq!(written("x", FieldValue::F64(f64::NEG_INFINITY)), "\"-inf\"");
        assert_eq!(written("x", FieldValue::I128(-3)), "-3");
        assert_eq!(
            written("x", FieldValue::U128(u128::MAX)),
            format!("\"{}\"", u128::MAX)
        );
    }

    #[test]
    fn only_objects_and_arrays_are_parsed() {
        assert_eq!(
            written("b", FieldValue::Str(" {\"a\": [1, 2]} ")),
            r#"{"a":[1,2]}"#
        );
        assert_eq!(written("b", FieldValue::Str("[1, \"x\"]")), r#"[1,"x"]"#);
        assert_eq!(written("b", FieldValue::Str("{not json")), r#""{not json""#);
        assert_eq!(written("b", FieldValue::Str("42")), r#""42""#);
        assert_eq!(
            written("b", FieldValue::Str("{} trailing")),
            r#""{} trailing""#
        );
        // Lone surrogates are invalid JSON text: the string is kept as it is.
        assert_eq!(
            written("b", FieldValue::Str(r#"["\ud800"]"#)),
            r#""[\"\\ud800\"]""#
        );
        // A message is never parsed.
        assert_eq!(written("message", FieldValue::Str("[1]")), r#""[1]""#);
    }

    #[test]
    fn secrets_are_replaced_whole_by_key_and_inside_json() {
        assert_eq!(written("password", FieldValue::U64(7)), "\"[REDACTED]\"");
        assert_eq!(
            written("body", FieldValue::Str(r#"{"user":"ada","password":"x"}"#)),
            r#"{"password":"[REDACTED]","user":"ada"}"#
        );
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
}
