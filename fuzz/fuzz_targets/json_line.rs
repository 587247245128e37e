//! Arbitrary text through the JSON log layer: as field values written through `tracing`'s three ways
//! (`Value`, `Display`, `Debug`), as an observed call's field, as the message, inside JSON payloads and
//! `Debug` output built around it, and around card numbers and tokens. Every event must come out as
//! exactly one line, each line one JSON object, every sensitive key at any depth holding exactly
//! `"[REDACTED]"`, every other value as the README says it is written (changed, if at all, only where a
//! marker now stands), and neither the secret marker placed under sensitive keys nor any card number or
//! token placed in the text anywhere in the output.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use sightline::observe;
use tracing_subscriber::layer::SubscriberExt as _;

const REDACTED: &str = "[REDACTED]";
/// Put under sensitive keys only; the output is searched for it.
const MARKER: &str = "S3CR3T";
/// The builder's extra paths: one segment each, matching that key (or a segment of a dotted key) anywhere.
const EXTRA_PATHS: &[&str] = &["session_key", "pin"];

/// The in-memory writer the integration tests capture lines with.
#[path = "../../tests/common/captured.rs"]
#[allow(dead_code)]
mod captured;

use captured::Captured as Logs;

/// The layer, built through the public API and installed once for the process. The guard is kept, not
/// forgotten, so the leak checker sees it reachable.
fn logs() -> &'static Logs {
    static INSTALLED: OnceLock<(Logs, sightline::TelemetryGuard)> = OnceLock::new();
    let (logs, _guard) = INSTALLED.get_or_init(|| {
        let logs = Logs::default();
        let (layer, guard) = sightline::Telemetry::builder("fuzz")
            .log_writer(logs.clone())
            .log_level("info")
            .redact(EXTRA_PATHS.iter().copied())
            .process_metrics(false)
            .into_layer()
            .expect("the layer builds");
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("one subscriber");
        (logs, guard)
    });
    logs
}

fn is_sensitive(key: &str) -> bool {
    sightline_conventions::is_sensitive_key(key)
        || key
            .split('.')
            .any(|segment| EXTRA_PATHS.contains(&sightline_conventions::normalize(segment).as_str()))
}

/// The oracle's redaction of `value` as it reads back from a line: serde_json's float parsing is not
/// exact, so a number out of `u64`/`i64` range parsed from the input can differ in its last digit from the
/// same number parsed from the line, and both sides are compared after one write and read.
fn expected(value: &Value) -> Value {
    serde_json::from_str(&oracle_redact(value).to_string()).expect("written JSON reads back")
}

fn oracle_redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, child)| {
                    let child = if is_sensitive(key) {
                        Value::from(REDACTED)
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

fn assert_sensitive_keys_redacted(value: &Value, line: &str) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if is_sensitive(key) {
                    assert_eq!(child, REDACTED, "{key} in {line}");
                } else {
                    assert_sensitive_keys_redacted(child, line);
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                assert_sensitive_keys_redacted(child, line);
            }
        }
        _ => {}
    }
}

/// Whether `text` is JSON object or array text (README: such a field is written as nested JSON).
fn parsed_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<Value>(trimmed)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

/// What a field holding `text` may be written as: the oracle's redaction of the JSON it holds (its
/// strings scanned for secrets: where they changed, a marker stands); else the text itself, or the text
/// with secrets found in it replaced (so the marker is in it).
fn check_text_field(actual: &Value, text: &str, line: &str) {
    match parsed_json(text) {
        Some(json) => same_but_for_markers(actual, &expected(&json), line),
        None => {
            let actual = actual.as_str().unwrap_or_else(|| panic!("a string: {line}"));
            assert!(
                actual == text || actual.contains(REDACTED),
                "{text:?} changed without a marker in {line}"
            );
        }
    }
}

/// A message is free text, never read as JSON: as it was, or with the secrets found in it replaced.
fn check_message(actual: &Value, text: &str, line: &str) {
    let actual = actual.as_str().unwrap_or_else(|| panic!("a string: {line}"));
    assert!(
        actual == text || actual.contains(REDACTED),
        "{text:?} changed without a marker in {line}"
    );
}

/// `actual` is `expected`, but for strings in which the scan replaced something with the marker.
fn same_but_for_markers(actual: &Value, expected: &Value, line: &str) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            assert_eq!(a.len(), e.len(), "{line}");
            for (key, value) in e {
                same_but_for_markers(&a[key], value, line);
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{line}");
            for (a, e) in a.iter().zip(e) {
                same_but_for_markers(a, e, line);
            }
        }
        (Value::String(a), Value::String(e)) if a != e => {
            assert!(a.contains(REDACTED), "{e:?} changed without a marker in {line}");
        }
        (a, e) => assert_eq!(a, e, "{line}"),
    }
}

/// A Luhn-valid 16-digit card number made from `seed`.
fn card(seed: &[u8]) -> String {
    let mut digits: Vec<u32> = std::iter::once(4)
        .chain(seed.iter().cycle().take(14).map(|b| u32::from(b % 10)))
        .collect();
    if seed.is_empty() {
        digits.truncate(1);
        digits.extend([1; 14]);
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 0 { (d * 2) % 9 + u32::from(d == 9) * 9 } else { d })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect()
}

/// A GitHub token made from `seed`.
fn token(seed: &[u8]) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let body: String = (0..36)
        .map(|i| char::from(ALNUM[usize::from(seed.get(i).copied().unwrap_or(7)) % ALNUM.len()]))
        .collect();
    format!("ghp_{body}")
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct Payment<'a> {
    customer: &'a str,
    card_number: String,
    note: &'a str,
    api_key: ApiKey,
}

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct ApiKey(String);

#[observe(fields(payload = payload, note = note))]
fn observed(payload: &str, note: &str, message: &str) {
    tracing::info!(inner = %note, "{}", message);
}

fuzz_target!(|data: &[u8]| {
    let logs = logs();
    let parts: Vec<String> = data
        .splitn(4, |&b| b == 0xff)
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    let part = |i: usize| parts.get(i).map(String::as_str).unwrap_or("");
    let (a, b, c, d) = (part(0), part(1), part(2), part(3));
    // A marker in the input would be logged legitimately wherever the input is.
    let marked = !data.windows(MARKER.len()).any(|w| w == MARKER.as_bytes());
    let secret = |s: &str| Value::from(format!("{MARKER}{s}"));

    // A payload built around the input: input keys at several depths, secrets under sensitive keys.
    let mut inner = Map::new();
    inner.insert(c.to_owned(), Value::from(a));
    inner.insert("Session-Key".to_owned(), Value::Array(vec![secret(a)]));
    let mut item = Map::new();
    item.insert(b.to_owned(), Value::from(d));
    item.insert(
        "X-Api-Key".to_owned(),
        Value::Object(Map::from_iter([(a.to_owned(), secret(d))])),
    );
    let mut payload = Map::new();
    payload.insert(a.to_owned(), Value::from(b));
    payload.insert("userPassword".to_owned(), secret(c));
    payload.insert(
        "items".to_owned(),
        Value::Array(vec![Value::Object(item), Value::from(c)]),
    );
    payload.insert(d.to_owned(), Value::Object(inner));
    let payload = Value::Object(payload);
    let payload_text = payload.to_string();
    // The input spliced in raw: valid JSON or not, the secret beside it must not come out.
    let spliced = format!(r#"{{"password":"{MARKER}1","data":{c},"token":["{MARKER}2"]}}"#);

    // Secrets of a known shape in the input's text, each standing apart from it.
    let card = card(a.as_bytes());
    let token = token(b.as_bytes());
    let around = format!("{a} {card} {b} {token}\n{c}");
    let payment = Payment {
        customer: a,
        card_number: format!("{MARKER}3"),
        note: d,
        api_key: ApiKey(format!("{MARKER}4")),
    };

    logs.take();
    tracing::info!(a = a, b = %b, c = ?c, "{}", d);
    tracing::info!(body = %payload_text, spliced = %spliced, "payload");
    observed(a, b, c);
    observed(&payload_text, &spliced, d);
    tracing::info!(request = ?payment, around = %around, "{around} {payment:?}");
    tracing::info!(pretty = %format!("{payment:#?}"), "{payment:#?}");

    let raw = logs.take();
    let text = String::from_utf8(raw).expect("lines are UTF-8");
    if marked {
        assert!(!text.contains(MARKER), "a secret reached the log:\n{text}");
    }
    // Unless the input holds them itself, where they need not stand apart.
    let input = String::from_utf8_lossy(data);
    if !input.contains(&card) {
        assert!(!text.contains(&card), "the card {card} reached the log:\n{text}");
    }
    if !input.contains(&token) {
        assert!(!text.contains(&token), "the token {token} reached the log:\n{text}");
    }
    assert!(text.ends_with('\n'), "{text}");
    let lines: Vec<(&str, Value)> = text
        .lines()
        .map(|line| {
            let value: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(value.is_object(), "not an object: {line}");
            assert_sensitive_keys_redacted(&value, line);
            (line, value)
        })
        .collect();
    // One line per event: four events, and per call an event inside and the completion line.
    assert_eq!(lines.len(), 8, "{text}");

    let (line, first) = &lines[0];
    check_text_field(&first["a"], a, line);
    check_text_field(&first["b"], b, line);
    check_text_field(&first["c"], &format!("{c:?}"), line);
    check_message(&first["message"], d, line);

    let (line, second) = &lines[1];
    same_but_for_markers(&second["body"], &expected(&payload), line);
    check_text_field(&second["spliced"], &spliced, line);

    let calls = [(a, b, c), (payload_text.as_str(), spliced.as_str(), d)];
    for (index, (payload, note, message)) in calls.into_iter().enumerate() {
        let (line, event) = &lines[2 + 2 * index];
        check_message(&event["message"], message, line);
        check_text_field(&event["inner"], note, line);
        check_text_field(&event["payload"], payload, line);
        let (line, completion) = &lines[3 + 2 * index];
        assert_eq!(completion["function"], "observed", "{line}");
        check_text_field(&completion["payload"], payload, line);
        check_text_field(&completion["note"], note, line);
    }
});
