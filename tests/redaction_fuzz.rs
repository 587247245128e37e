//! Property tests of redaction: generated JSON values, with sensitive keys in any case, with `-`/`_`
//! variants, prefixes and suffixes, at any depth, go through every way a value reaches the output
//! (`#[observe(fields(..))]`, `#[business_span(attrs(..))]`, `sightline::record`, the application's own
//! `tracing` events inside and outside an observed call) and come out of both the JSON log lines and the
//! exported spans. The value's JSON text is also cut short or given a member serde_json refuses, as bodies
//! capped by a middleware or sent by a hostile client are.
//!
//! Every value under a sensitive key carries a secret marker and no harmless value does, so the checks
//! are: the marker appears nowhere in the output; every line is one JSON object; and an oracle written from
//! the README's rules (not from the runtime's code) redacts the generated value, which must equal what was
//! written, so a sensitive key's value is exactly `"[REDACTED]"` and every harmless value survives as it
//! was. Text that does not parse must be written as it is when it holds no secret, and as `"[REDACTED]"`
//! when it does.

mod common;

use common::pipeline::{config, Pipeline};

use opentelemetry::trace::Status;
use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::SpanData;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{Map, Value};
use sightline::{business_span, observe};

// ---------------------------------------------------------------------------------------------------------
// The oracle: the README's redaction rules, written out independently of the runtime.

#[path = "common/oracle.rs"]
mod oracle;
use oracle::{is_sensitive, EXTRA_PATHS, REDACTED, SENSITIVE_WORDS};

/// What the layer must write for `value`, the value of a harmless field.
fn oracle_redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, child)| {
                    let child = if is_sensitive(key) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        oracle_redact(child)
                    };
                    (key.clone(), child)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(oracle_redact).collect()),
        other => other.clone(),
    }
}

/// Every sensitive key anywhere in `value` holds exactly `"[REDACTED]"`.
fn assert_sensitive_keys_redacted(value: &Value, path: &str) -> Result<(), TestCaseError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{path}/{key}");
                if is_sensitive(key) {
                    prop_assert_eq!(child, &Value::from(REDACTED), "at {}", here);
                } else {
                    assert_sensitive_keys_redacted(child, &here)?;
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                assert_sensitive_keys_redacted(child, &format!("{path}/{index}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Generated payloads.

/// Prefix of every secret: the output is searched for it.
const MARKER: &str = "S3CR3T";

const SENSITIVE_NAMES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "x-api-key",
    "credit_card",
    "card_number",
    "cvv",
    "ssn",
    "private_key",
    "cookie",
    "set-cookie",
    "pin",
    "otp",
    "iban",
    "cvc",
    "passphrase",
    "client_secret",
    "session_id",
    "sessionid",
    "csrf",
    "xsrf",
];

const PREFIXES: &[&str] = &[
    "", "", "", "user", "User", "db_", "DB_", "x-", "X-", "old", "new_", "client-", "Primary", "_",
    "auth.",
];

const SUFFIXES: &[&str] = &[
    "",
    "",
    "",
    "_hash",
    "_HASH",
    "Hash",
    "-value",
    "s",
    "2",
    "_old",
    "Id",
    ".raw",
    "_confirmation",
];

/// What stands before and after a sensitive word in a generated key.
const WORD_PREFIXES: &[&str] = &["", "", "user_", "x-", "db.", "New-", "user", "client"];
const WORD_SUFFIXES: &[&str] = &["", "", "_code", "-value", "Hash", ".raw", "_old", "Id"];

/// Harmless names, many of them near misses of a sensitive one.
const HARMLESS_NAMES: &[&str] = &[
    "id",
    "name",
    "sku",
    "quantity",
    "items",
    "user",
    "email",
    "note",
    "description",
    "status",
    "address",
    "amount_cents",
    "created-at",
    "meta",
    "tags",
    "last4",
    "brand",
    "pass",
    "pass_word",
    "word",
    "tok",
    "toke",
    "key",
    "api",
    "api-ke",
    "card",
    "credit",
    "cv",
    "ss_n",
    "private",
    "session",
    "session_count",
    "key_session",
    "secre",
    "autho",
    "cook",
    "pinned",
    "spin",
    "pins",
    "shipping",
    "footprint",
    "author",
    "sidebar",
    "data",
    "payload",
    "body",
    "headers",
    "value",
    "a.b",
    "",
];

/// Upper-cases the characters whose bit is set in `bits` (cycling), or applies a whole-word style.
fn recase(text: &str, style: u8, bits: u64) -> String {
    match style % 4 {
        0 => text.to_ascii_lowercase(),
        1 => text.to_ascii_uppercase(),
        2 => {
            let mut chars = text.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        }
        _ => text
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if bits >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
    }
}

/// Each `-` or `_` of `text` becomes `-` or `_` by the bits of `bits`.
fn reseparate(text: &str, bits: u64) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| match c {
            '-' | '_' if bits >> (i % 64) & 1 == 1 => '-',
            '-' | '_' => '_',
            c => c,
        })
        .collect()
}

/// `card_number` -> `cardNumber`: separators dropped, the next letter upper-cased.
fn camel_case(text: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in text.chars() {
        if c == '-' || c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn sensitive_key() -> impl Strategy<Value = String> {
    (
        0..SENSITIVE_NAMES.len(),
        0..PREFIXES.len(),
        0..SUFFIXES.len(),
        any::<u8>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(name, prefix, suffix, style, case_bits, sep_bits)| {
            let base = SENSITIVE_NAMES[name];
            if SENSITIVE_WORDS.contains(&base) {
                // A word stays a word: cased as a whole, beside a separator or a camelCase hump.
                let prefix = WORD_PREFIXES[prefix % WORD_PREFIXES.len()];
                let suffix = WORD_SUFFIXES[suffix % WORD_SUFFIXES.len()];
                let after_letter = prefix.ends_with(|c: char| c.is_ascii_alphabetic());
                let style = if after_letter {
                    1 + style % 2
                } else {
                    style % 3
                };
                return format!("{prefix}{}{suffix}", recase(base, style, 0));
            }
            let name = recase(base, style, case_bits);
            // One name in four in camelCase, as JSON from other languages spells it (`cardNumber`).
            let name = if sep_bits >> 63 == 1 && style & 0b1000 == 0 {
                camel_case(&name)
            } else {
                reseparate(&name, sep_bits)
            };
            format!("{}{name}{}", PREFIXES[prefix], SUFFIXES[suffix])
        })
}

/// The builder's paths match the whole key (in any case, `-` or `_`), so no prefix or suffix.
fn extra_path_key() -> impl Strategy<Value = String> {
    (
        0..EXTRA_PATHS.len(),
        any::<u8>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(path, style, case_bits, sep_bits)| {
            reseparate(&recase(EXTRA_PATHS[path], style, case_bits), sep_bits)
        })
}

const KEY_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

/// Up to `max` characters drawn from `chars`.
fn text(chars: &'static str, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = chars.chars().collect();
    prop::collection::vec(prop::sample::select(chars), 0..=max).prop_map(String::from_iter)
}

/// Up to `max` characters of any kind: control characters, quotes, backslashes, non-ASCII, astral.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

fn harmless_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0..HARMLESS_NAMES.len(), any::<u8>(), any::<u64>())
            .prop_map(|(name, style, bits)| recase(HARMLESS_NAMES[name], style, bits)),
        2 => text(KEY_CHARS, 10),
        1 => any_text(6),
    ]
}

fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => sensitive_key(),
        1 => extra_path_key(),
        5 => harmless_key(),
    ]
}

/// A value's shape: where secrets go is decided by the keys above a leaf, once the tree is built.
#[derive(Debug, Clone)]
enum Shape {
    /// The leaf as written under harmless keys, and the text a secret leaf puts around the marker.
    Leaf(Value, String),
    Array(Vec<Shape>),
    Object(Vec<(String, Shape)>),
}

fn harmless_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Quarters print and parse back exactly.
        (-4000i32..4000).prop_map(|n| Value::from(f64::from(n) / 4.0)),
        text(KEY_CHARS, 12).prop_map(Value::String),
        any_text(8).prop_map(Value::String),
        // Strings that look like JSON or like a redacted value stay strings: only fields are parsed.
        prop::sample::select(vec![
            r#"{"note":"not-parsed"}"#,
            "[1, 2]",
            REDACTED,
            "password",
            "{",
            "\"quoted\"",
            "line\nbreak\t\u{1b}[31m\u{0}",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ]
    .prop_filter("harmless leaves never hold the marker", |v| {
        !v.as_str().is_some_and(|s| s.contains(MARKER))
    })
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = (harmless_leaf(), any_text(4)).prop_map(|(v, deco)| Shape::Leaf(v, deco));
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Shape::Array),
            prop::collection::vec((any_key(), inner), 0..6).prop_map(Shape::Object),
        ]
    })
}

/// A top-level payload: an object or an array, up to five levels deep.
fn top_shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        3 => prop::collection::vec((any_key(), shape()), 0..7).prop_map(Shape::Object),
        1 => prop::collection::vec(shape(), 0..5).prop_map(Shape::Array),
    ]
}

/// Builds the value: every leaf under a sensitive key is a string holding `marker`; a container under one
/// is never empty, so it always holds the marker.
fn materialize(shape: &Shape, secret: bool, marker: &str) -> Value {
    match shape {
        Shape::Leaf(_, deco) if secret => Value::String(format!("{deco}{marker}{deco}")),
        Shape::Leaf(value, _) => value.clone(),
        Shape::Array(items) if secret && items.is_empty() => Value::Array(vec![marker.into()]),
        Shape::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| materialize(item, secret, marker))
                .collect(),
        ),
        Shape::Object(entries) if secret && entries.is_empty() => {
            Value::Object(Map::from_iter([("k".to_owned(), Value::from(marker))]))
        }
        Shape::Object(entries) => {
            let mut map = Map::new();
            for (key, child) in entries {
                let child = materialize(child, secret || is_sensitive(key), marker);
                map.insert(key.clone(), child);
            }
            Value::Object(map)
        }
    }
}

/// How the case's JSON text is laid out.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Compact,
    Pretty,
    Padded,
    /// Cut short, as a logging middleware that caps bodies does; past the first secret when there is one.
    Truncated(prop::sample::Index),
    /// With a member serde_json refuses (a number out of range, a lone surrogate escape, ...) added at the
    /// top, as a client may send.
    Invalid(&'static str),
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        2 => Just(Layout::Compact),
        2 => Just(Layout::Pretty),
        2 => Just(Layout::Padded),
        2 => any::<prop::sample::Index>().prop_map(Layout::Truncated),
        2 => prop::sample::select(vec!["1e999", r#""\ud800""#, "NaN", "-", "01", "'x'"])
            .prop_map(Layout::Invalid),
    ]
}

/// What must be written for the case's JSON text.
#[derive(Debug, Clone)]
enum Expect {
    /// The text parses: the oracle's redaction of its value.
    Json(Value),
    /// It does not: `"[REDACTED]"` when it holds a secret, else the text as it is but for numbers that
    /// have a card number's shape.
    Unparsed { secret: bool },
}

/// One generated case: the value, its JSON text as the application would log it, what the oracle says
/// must be written for each, and this case's marker.
#[derive(Debug, Clone)]
struct Case {
    text: String,
    value: Value,
    /// For the value itself (`Display` of a `serde_json::Value`).
    expected: Value,
    /// For the text.
    expect: Expect,
    marker: String,
}

fn case() -> impl Strategy<Value = Case> {
    (top_shape(), any::<u32>(), layout()).prop_map(|(shape, suffix, layout)| {
        let marker = format!("{MARKER}{suffix:08x}");
        let value = materialize(&shape, false, &marker);
        let compact = value.to_string();
        let text = match layout {
            Layout::Compact => compact,
            Layout::Pretty => serde_json::to_string_pretty(&value).unwrap(),
            Layout::Padded => format!(" \n\t{compact}\r\n"),
            Layout::Truncated(index) => {
                let from = compact.find(MARKER).map_or(0, |at| at + MARKER.len());
                let mut cut = from + index.index(compact.len() - from + 1);
                while !compact.is_char_boundary(cut) {
                    cut += 1;
                }
                compact[..cut].to_owned()
            }
            Layout::Invalid(token) => match compact.split_at(1) {
                ("{", rest) => format!(r#"{{"n":{token},{rest}"#),
                (open, rest) => format!("{open}{token},{rest}"),
            },
        };
        let expected = oracle_redact(&value);
        let expect = match serde_json::from_str::<Value>(&text) {
            Ok(parsed) => Expect::Json(oracle_redact(&parsed)),
            Err(_) => Expect::Unparsed {
                secret: text.contains(MARKER),
            },
        };
        Case {
            text,
            value,
            expected,
            expect,
            marker,
        }
    })
}

/// How a field holding the case's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// As nested JSON (a field of a call, a span or an event).
    Nested,
    /// As JSON text in a string (a recorded value, a span attribute).
    Text,
}

/// `actual`, written for the case's text, is what the oracle expects.
fn check_text(actual: &Value, case: &Case, written: Written) -> Result<(), TestCaseError> {
    match &case.expect {
        Expect::Json(expected) if written == Written::Nested => {
            prop_assert_eq!(actual, expected);
        }
        Expect::Json(expected) => {
            let text = actual.as_str();
            let parsed = text.and_then(|t| serde_json::from_str::<Value>(t).ok());
            prop_assert_eq!(parsed.as_ref(), Some(expected), "written: {}", actual);
        }
        Expect::Unparsed { secret: true } => {
            prop_assert_eq!(actual, REDACTED, "unparsed text holding a secret");
        }
        // Text, not JSON: its numbers are text too, and a card number's shape is enough.
        Expect::Unparsed { secret: false } => {
            let expected = oracle::redact_plain_card_numbers(&case.text);
            prop_assert_eq!(actual.as_str(), Some(expected.as_str()));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// The pipeline: a telemetry layer of this test's own, log lines and exported spans kept in memory.

/// The lines written since the last call: no marker anywhere in the bytes, `count` lines, each one JSON
/// object whose sensitive keys are all redacted.
fn lines(p: &Pipeline, case: &Case, count: usize) -> Result<Vec<Value>, TestCaseError> {
    let raw = p.logs.take();
    let text = String::from_utf8(raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(
        !text.contains(MARKER),
        "the secret {} reached the log:\n{}",
        case.marker,
        text
    );
    prop_assert!(text.ends_with('\n') || text.is_empty());
    let mut lines = Vec::new();
    for line in text.lines() {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {line}")))?;
        prop_assert!(value.is_object(), "not an object: {}", line);
        assert_sensitive_keys_redacted(&value, "")?;
        lines.push(value);
    }
    prop_assert_eq!(lines.len(), count, "lines:\n{}", text);
    Ok(lines)
}

fn pipeline() -> Pipeline {
    Pipeline::new(|builder| builder.redact(EXTRA_PATHS.iter().copied()))
}

/// Runs `test` on 10,000 generated cases.
fn run(test: impl Fn(&Pipeline, Case) -> Result<(), TestCaseError>) {
    pipeline().run(10_000, case(), test);
}

// ---------------------------------------------------------------------------------------------------------
// Exported spans.

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a OtelValue> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// An attribute's value as the JSON it holds, if it is a string holding an object or an array.
fn attribute_json(value: &OtelValue) -> Option<Value> {
    match value {
        OtelValue::String(text) => {
            let trimmed = text.as_str().trim();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                serde_json::from_str(trimmed).ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

fn check_attributes(attributes: &[KeyValue], span: &str) -> Result<(), TestCaseError> {
    for kv in attributes {
        let key = kv.key.as_str();
        if is_sensitive(key) {
            prop_assert_eq!(
                &kv.value,
                &OtelValue::from(REDACTED),
                "{} on span {}",
                key,
                span
            );
        } else if let Some(json) = attribute_json(&kv.value) {
            assert_sensitive_keys_redacted(&json, &format!("{span}/{key}"))?;
        }
    }
    Ok(())
}

/// Every attribute value of a span, its events and its links.
fn span_values(span: &SpanData) -> impl Iterator<Item = &OtelValue> {
    let events = span.events.events.iter().flat_map(|e| &e.attributes);
    let links = span.links.links.iter().flat_map(|l| &l.attributes);
    span.attributes
        .iter()
        .chain(events)
        .chain(links)
        .map(|kv| &kv.value)
}

/// No marker anywhere in the exported spans, every sensitive attribute (of spans and of their events)
/// redacted, and the JSON inside the others redacted.
fn check_spans(spans: &[SpanData], case: &Case) -> Result<(), TestCaseError> {
    for span in spans {
        let status = match &span.status {
            Status::Error { description } => description.to_string(),
            _ => String::new(),
        };
        let texts = [span.name.to_string(), status]
            .into_iter()
            .chain(span.events.events.iter().map(|e| e.name.to_string()))
            .chain(span_values(span).map(|v| v.as_str().into_owned()));
        for text in texts {
            prop_assert!(
                !text.contains(MARKER),
                "the secret {} reached an exported span:\n{:#?}",
                case.marker,
                span
            );
        }
        check_attributes(&span.attributes, &span.name)?;
        for event in span.events.events.iter() {
            check_attributes(&event.attributes, &format!("{}/{}", span.name, event.name))?;
        }
    }
    Ok(())
}

/// The attribute `key` of the span named `name`, as a JSON value (strings, numbers, bools).
fn span_attribute(spans: &[SpanData], name: &str, key: &str) -> Result<Value, TestCaseError> {
    let span = spans.iter().find(|s| s.name == name);
    let span = span.ok_or_else(|| TestCaseError::fail(format!("no span {name}")))?;
    let value = attribute(&span.attributes, key)
        .ok_or_else(|| TestCaseError::fail(format!("no {key} on {name}")))?;
    Ok(Value::from(value.as_str().into_owned()))
}

// ---------------------------------------------------------------------------------------------------------
// The instrumented functions.

#[observe(fields(payload = payload))]
fn observed_text(payload: &str) {}

#[observe(fields(payload = payload))]
fn observed_value(payload: &Value) {}

#[business_span("fuzz-order", attrs(order.payload = payload))]
fn business_text(payload: &str) {}

#[observe]
fn observed_record(payload: &str) {
    sightline::record("body", payload);
}

#[observe(fields(payload = payload))]
fn observed_with_events(payload: &str, marker: &str) {
    tracing::info!(
        body = %payload,
        raw = payload,
        password = marker,
        Authorization = %marker,
        "x-api-key" = ?marker,
        session_key = marker,
        "inside an observed call"
    );
}

/// Field names sensitive by themselves, each given the marker, in the cases and spellings applications
/// use.
fn user_events(payload: &str, marker: &str) {
    tracing::info!(
        password = marker,
        PASSWORD = %marker,
        Password = ?marker,
        Authorization = marker,
        authorization = %marker,
        "x-api-key" = marker,
        "X-Api-Key" = %marker,
        api_key = marker,
        apiKey = marker,
        userPassword = marker,
        DB_PASSWORD_HASH = marker,
        "Set-Cookie" = marker,
        cookie = marker,
        body = %payload,
        "user event with secrets"
    );
    tracing::info!(
        credit_card = marker,
        "card-number" = marker,
        CVV = marker,
        ssn = marker,
        private_key = marker,
        privateKey = marker,
        cardNumber = %marker,
        creditCard = ?marker,
        access_token = marker,
        client_secret = marker,
        passwd = marker,
        session_key = marker,
        "Session-Key" = marker,
        PIN = marker,
        body.password = marker,
        "auth.session_key" = marker,
        secret_body = %payload,
        raw = payload,
        "user event with dotted and extra-path names"
    );
}

const USER_EVENT_SECRETS: &[&str] = &[
    "password",
    "PASSWORD",
    "Password",
    "Authorization",
    "authorization",
    "x-api-key",
    "X-Api-Key",
    "api_key",
    "apiKey",
    "userPassword",
    "DB_PASSWORD_HASH",
    "Set-Cookie",
    "cookie",
    "credit_card",
    "card-number",
    "CVV",
    "ssn",
    "private_key",
    "privateKey",
    "cardNumber",
    "creditCard",
    "access_token",
    "client_secret",
    "passwd",
    "session_key",
    "Session-Key",
    "PIN",
    "body.password",
    "auth.session_key",
    "secret_body",
];

// ---------------------------------------------------------------------------------------------------------
// The tests, one per path.

/// `#[observe(fields(payload = payload))]` with the payload as JSON text and as a `serde_json::Value`
/// (recorded through `Display`): the completion line and the exported span.
#[test]
fn observe_fields_are_redacted_in_lines_and_spans() {
    run(|p, case| {
        observed_text(&case.text);
        observed_value(&case.value);
        let spans = p.spans.take(2)?;
        let lines = lines(p, &case, 2)?;
        check_text(&lines[0]["payload"], &case, Written::Nested)?;
        prop_assert_eq!(&lines[1]["payload"], &case.expected);
        check_spans(&spans, &case)?;
        let text = span_attribute(&spans, "observed_text", "payload")?;
        check_text(&text, &case, Written::Text)?;
        let value = span_attribute(&spans, "observed_value", "payload")?;
        let value = value
            .as_str()
            .and_then(|v| serde_json::from_str::<Value>(v).ok());
        prop_assert_eq!(value.as_ref(), Some(&case.expected));
        Ok(())
    });
}

/// `#[business_span(attrs(order.payload = payload))]`: the completion line and the exported span.
#[test]
fn business_span_attrs_are_redacted_in_lines_and_spans() {
    run(|p, case| {
        business_text(&case.text);
        let spans = p.spans.take(1)?;
        let lines = lines(p, &case, 1)?;
        prop_assert_eq!(&lines[0]["operation"], "fuzz-order");
        check_text(&lines[0]["order.payload"], &case, Written::Nested)?;
        check_spans(&spans, &case)?;
        let text = span_attribute(&spans, "fuzz-order", "order.payload")?;
        check_text(&text, &case, Written::Text)?;
        Ok(())
    });
}

/// `sightline::record("body", text)` inside an observed call: the completion line and the exported span.
#[test]
fn recorded_values_are_redacted_in_lines_and_spans() {
    run(|p, case| {
        observed_record(&case.text);
        let spans = p.spans.take(1)?;
        let lines = lines(p, &case, 1)?;
        check_text(&lines[0]["body"], &case, Written::Text)?;
        check_spans(&spans, &case)?;
        let text = span_attribute(&spans, "observed_record", "body")?;
        check_text(&text, &case, Written::Text)?;
        Ok(())
    });
}

/// The application's own events, outside any span: the payload under harmless names and under a
/// sensitive one, and a fixed set of sensitive names in several spellings.
#[test]
fn user_events_are_redacted() {
    run(|p, case| {
        user_events(&case.text, &case.marker);
        let lines = lines(p, &case, 2)?;
        for name in USER_EVENT_SECRETS {
            let line = lines.iter().find(|l| l.get(*name).is_some());
            let line = line.ok_or_else(|| TestCaseError::fail(format!("{name} is missing")))?;
            prop_assert_eq!(&line[*name], REDACTED, "{}", name);
        }
        check_text(&lines[0]["body"], &case, Written::Nested)?;
        check_text(&lines[1]["raw"], &case, Written::Nested)?;
        Ok(())
    });
}

/// The application's events inside an observed call: the event's line carries the call's fields, the
/// completion line follows, and the exported span carries the event with its attributes.
#[test]
fn user_events_inside_an_observed_call_are_redacted_in_lines_and_spans() {
    run(|p, case| {
        observed_with_events(&case.text, &case.marker);
        let spans = p.spans.take(1)?;
        let lines = lines(p, &case, 2)?;
        let event = &lines[0];
        prop_assert_eq!(&event["message"], "inside an observed call");
        for key in ["body", "raw", "payload"] {
            check_text(&event[key], &case, Written::Nested)?;
        }
        for name in ["password", "Authorization", "x-api-key", "session_key"] {
            prop_assert_eq!(&event[name], REDACTED, "{}", name);
        }
        prop_assert_eq!(&lines[1]["function"], "observed_with_events");
        check_text(&lines[1]["payload"], &case, Written::Nested)?;

        check_spans(&spans, &case)?;
        let text = span_attribute(&spans, "observed_with_events", "payload")?;
        check_text(&text, &case, Written::Text)?;
        let events = &spans[0].events.events;
        let inside = events.iter().find(|e| e.name == "inside an observed call");
        let inside = inside.ok_or_else(|| TestCaseError::fail("no span event".to_owned()))?;
        for key in ["body", "raw"] {
            let value = attribute(&inside.attributes, key)
                .ok_or_else(|| TestCaseError::fail(format!("no {key} on the span event")))?;
            check_text(
                &Value::from(value.as_str().into_owned()),
                &case,
                Written::Text,
            )?;
        }
        for key in ["password", "Authorization", "x-api-key", "session_key"] {
            prop_assert_eq!(
                attribute(&inside.attributes, key),
                Some(&OtelValue::from(REDACTED)),
                "{}",
                key
            );
        }
        Ok(())
    });
}

/// The generator produces what the properties rely on: sensitive keys the oracle calls sensitive, and
/// secrets where, and only where, it says they are.
#[test]
fn generated_keys_and_values_follow_the_oracle() {
    let mut runner = TestRunner::new(config(2_000));
    runner
        .run(&(sensitive_key(), extra_path_key(), case()), |(s, e, c)| {
            prop_assert!(is_sensitive(&s), "{}", s);
            prop_assert!(is_sensitive(&e), "{}", e);
            prop_assert!(!oracle_redact(&c.value).to_string().contains(MARKER));
            Ok(())
        })
        .unwrap();
    for name in HARMLESS_NAMES {
        assert!(!is_sensitive(name), "{name}");
    }
}
