//! The layer end to end: events in, JSON lines out, each line parsed back with serde_json.

use std::io;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use tracing::field::Empty;
use tracing::{debug, error, info, info_span, trace, warn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer as _;

use super::{LineSink, LogLayer, MakeLines, Redactor, Writer, REDACTED};
use crate::context::layer::ContextLayer;
use crate::installation::{own_filter, Installation, Parts};
use crate::span::OwnSpan;
use crate::traces::SamplerChoice;

/// Keeps every `write` call separately, to check that each one is exactly one whole line.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Vec<u8>>>>);

struct CaptureWriter(Arc<Mutex<Vec<Vec<u8>>>>);

impl io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().push(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(Arc::clone(&self.0))
    }
}

struct Output {
    raw: String,
    lines: Vec<Map<String, Value>>,
    /// The top-level keys of each line in written order (serde_json's `Map` sorts them).
    keys: Vec<Vec<String>>,
}

/// sightline's layer as `into_layer` composes it, without traces: the span stack, then the log layer.
fn installation(redactor: Redactor, capture: &Capture) -> &'static Installation {
    let sink = Arc::new(LineSink::new(
        "shop",
        Arc::new(redactor),
        Writer::Make(MakeLines::new(capture.clone())),
    ));
    Installation::leak(Parts {
        lines: sink,
        filter: own_filter("trace"),
        rings: None,
        sampler: SamplerChoice::AlwaysOn,
        max_level: tracing_core::LevelFilter::INFO,
    })
}

fn subscriber(installation: &'static Installation) -> impl tracing::Subscriber {
    // With its level filter, as `into_layer` gives it.
    let log = LogLayer::new(Arc::clone(&installation.lines))
        .with_filter(tracing_subscriber::filter::LevelFilter::TRACE);
    tracing_subscriber::registry()
        .with(ContextLayer { installation })
        .with(log)
}

/// Runs `body` inside one of sightline's own spans (as an observed call's), with `installation`.
fn in_sightline_span<R>(installation: &'static Installation, body: impl FnOnce() -> R) -> R {
    let span = OwnSpan::start(installation, None);
    span.enter();
    let result = body();
    span.exit();
    result
}

fn capture_with(redactor: Redactor, body: impl FnOnce(&'static Installation)) -> Output {
    let capture = Capture::default();
    let installation = installation(redactor, &capture);
    tracing::subscriber::with_default(subscriber(installation), || body(installation));
    let chunks = capture.0.lock().unwrap().clone();
    let mut output = Output {
        raw: String::new(),
        lines: Vec::new(),
        keys: Vec::new(),
    };
    for chunk in chunks {
        let text = String::from_utf8(chunk).expect("lines are UTF-8");
        assert!(text.ends_with('\n'), "a write is one whole line: {text:?}");
        assert_eq!(
            text.matches('\n').count(),
            1,
            "one line per write: {text:?}"
        );
        let value: Value = serde_json::from_str(&text).expect("each line is valid JSON");
        let Value::Object(line) = value else {
            panic!("each line is a JSON object: {text}");
        };
        let keys = top_level_keys(&text);
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "keys appear once: {text}");
        output.keys.push(keys);
        output.lines.push(line);
        output.raw.push_str(&text);
    }
    output
}

fn capture(body: impl FnOnce()) -> Output {
    capture_with(Redactor::default(), |_| body())
}

/// The keys of the outer object of a valid JSON line, in order.
fn top_level_keys(line: &str) -> Vec<String> {
    let bytes = line.as_bytes();
    let (mut keys, mut depth, mut expect_key, mut i) = (Vec::new(), 0usize, false, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = bytes[i] == b'{' && depth == 1;
            }
            b'}' | b']' => depth -= 1,
            b',' => expect_key = depth == 1,
            b'"' => {
                let start = i;
                i += 1;
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if expect_key {
                    keys.push(serde_json::from_str(&line[start..=i]).unwrap());
                    expect_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    keys
}

fn strs(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| key.to_string()).collect()
}

#[test]
fn header_first_with_a_millisecond_utc_timestamp() {
    let out = capture(|| info!(order_id = 42, "order placed"));
    assert_eq!(out.lines.len(), 1);
    assert!(out.raw.starts_with("{\"timestamp\":\""));
    assert_eq!(
        out.keys[0],
        strs(&[
            "timestamp",
            "level",
            "service",
            "target",
            "message",
            "order_id"
        ])
    );
    let line = &out.lines[0];
    let timestamp = line["timestamp"].as_str().unwrap();
    let parsed = humantime::parse_rfc3339(timestamp).expect("RFC 3339");
    let age = std::time::SystemTime::now()
        .duration_since(parsed)
        .expect("not in the future");
    assert!(age.as_secs() < 60, "{timestamp} is now");
    assert!(timestamp.ends_with('Z'), "{timestamp} is UTC");
    let fraction = timestamp.rsplit('.').next().unwrap().trim_end_matches('Z');
    assert_eq!(fraction.len(), 3, "{timestamp} has milliseconds");
    assert!(fraction.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(line["level"], "info");
    assert_eq!(line["service"], "shop");
    assert_eq!(line["target"], module_path!());
    assert_eq!(line["message"], "order placed");
    assert_eq!(line["order_id"], 42);
}

#[test]
fn levels_are_lower_case_and_message_is_optional() {
    let out = capture(|| {
        trace!("t");
        debug!("d");
        info!("i");
        warn!("w");
        error!(code = 7);
    });
    let levels: Vec<&str> = out
        .lines
        .iter()
        .map(|line| line["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
    assert!(!out.lines[4].contains_key("message"));
    assert_eq!(
        out.keys[4],
        strs(&["timestamp", "level", "service", "target", "code"])
    );
}

#[test]
fn field_values_keep_their_json_types() {
    let err = io::Error::other("disk \"full\"");
    let out = capture(|| {
        info!(
            neg = -5i64,
            big = u64::MAX,
            small_wide = 7i128,
            wide = i128::MIN,
            huge = u128::MAX,
            ratio = 0.25f64,
            nan = f64::NAN,
            inf = f64::INFINITY,
            ninf = f64::NEG_INFINITY,
            ok = true,
            name = "ann",
            shown = %std::net::Ipv4Addr::LOCALHOST,
            debugged = ?Some(3),
            error = &err as &(dyn std::error::Error + 'static),
        )
    });
    let line = &out.lines[0];
    assert_eq!(line["neg"], -5);
    assert_eq!(line["big"], u64::MAX);
    assert_eq!(line["small_wide"], 7);
    // Beyond 64 bits serde_json has no number: the digits are kept, exactly, in a string.
    assert_eq!(line["wide"], i128::MIN.to_string());
    assert_eq!(line["huge"], u128::MAX.to_string());
    assert_eq!(line["ratio"], 0.25);
    assert_eq!(line["nan"], "NaN");
    assert_eq!(line["inf"], "inf");
    assert_eq!(line["ninf"], "-inf");
    assert_eq!(line["ok"], true);
    assert_eq!(line["name"], "ann");
    assert_eq!(line["shown"], "127.0.0.1");
    assert_eq!(line["debugged"], "Some(3)");
    assert_eq!(line["error"], "disk \"full\"");
}

#[test]
fn header_keys_cannot_be_overridden() {
    let out = capture(|| {
        let span = info_span!("s", service = "spoofed", message = "span message");
        span.in_scope(|| info!(level = "fatal", target = "x", timestamp = 1, service = "y"));
    });
    let line = &out.lines[0];
    assert_eq!(
        out.keys[0],
        strs(&["timestamp", "level", "service", "target"])
    );
    assert_eq!(line["level"], "info");
    assert_eq!(line["service"], "shop");
}

#[test]
fn span_fields_follow_event_fields_and_the_innermost_value_wins() {
    let out = capture(|| {
        let outer = info_span!(
            "outer",
            request_id = "r-1",
            b = "outer",
            shared = 1,
            code.function = "checkout",
            code.namespace = "shop::orders",
            code.filepath = "src/orders.rs",
            code.lineno = 12,
            otel.name = "checkout",
            otel.kind = "internal",
            otel.status_code = "ERROR",
            otel.status_message = "boom",
            "error.type" = "Timeout",
            late = Empty,
            never = Empty,
        );
        outer.in_scope(|| {
            let inner = info_span!("inner", b = "inner", c = 3);
            inner.in_scope(|| info!(c = "event", "inside"));
        });
        outer.record("late", "now");
        outer.record("shared", 2);
        outer.in_scope(|| info!("after record"));
        info!(parent: &outer, "explicit parent");
        info!("outside");
    });
    assert_eq!(
        out.keys[0],
        strs(&[
            "timestamp",
            "level",
            "service",
            "target",
            "message",
            "c",
            "request_id",
            "shared",
            "b"
        ])
    );
    let inside = &out.lines[0];
    assert_eq!(inside["c"], "event", "event fields win over span fields");
    assert_eq!(inside["b"], "inner", "the innermost span wins");
    assert_eq!(inside["request_id"], "r-1");
    assert_eq!(inside["shared"], 1);

    let after = &out.lines[1];
    assert_eq!(after["late"], "now");
    assert_eq!(after["shared"], 2);
    assert_eq!(after["b"], "outer");
    assert!(
        !after.contains_key("never"),
        "never-recorded Empty fields are omitted"
    );
    assert!(
        !after.contains_key("c"),
        "closed spans leave nothing behind"
    );
    for line in &out.lines[..2] {
        for key in super::SPAN_FIELDS_NOT_LOGGED {
            assert!(!line.contains_key(*key), "{key} is for OpenTelemetry only");
        }
    }
    assert_eq!(out.lines[2]["request_id"], "r-1");
    assert_eq!(
        out.keys[3],
        strs(&["timestamp", "level", "service", "target", "message"])
    );
}

#[test]
fn json_text_becomes_nested_json() {
    let out = capture(|| {
        info!(
            body = r#"{"a":1,"b":[true,null,{"c":"d"}]}"#,
            list = " [1, 2] ",
            shown = %"[3]",
            broken = "{nope",
            number = "42",
            "{}",
            "{\"message\":\"is never parsed\"}"
        )
    });
    let line = &out.lines[0];
    assert_eq!(line["body"], json!({"a": 1, "b": [true, null, {"c": "d"}]}));
    assert_eq!(line["list"], json!([1, 2]));
    assert_eq!(line["shown"], json!([3]));
    assert_eq!(line["broken"], "{nope");
    assert_eq!(line["number"], "42");
    assert_eq!(line["message"], "{\"message\":\"is never parsed\"}");
}

#[test]
fn secrets_never_reach_the_output() {
    let redactor = Redactor::new([
        "body.credit_card",
        "*.token",
        "body.iban",
        "*.otp",
        "session_key",
    ]);
    let out = capture_with(redactor, |installation| {
        let call = info_span!(
            "call",
            "user.api_token" = "SPAN-TOKEN-1",
            session_key = Empty,
        );
        call.record("session_key", "SPAN-SK-1");
        call.in_scope(|| in_sightline_span(installation, || {
            assert!(crate::record(
                "customer",
                r#"{"email": "a@b.c", "Password": "RECORDED-PW-1"}"#
            ));
            assert!(crate::record("device.session_key", "RECORDED-SK-1"));
            assert!(crate::record("cookie", r#"{"sid": "RECORDED-COOKIE-1"}"#));
            info!(
                password = "EVENT-PW-1",
                payload = r#"{"user":{"Password":"NESTED-PW-1","cards":[{"card_number":"4111111111111111","brand":"visa"}]}}"#,
                "x-api-key" = "APIKEY-1",
                Authorization = "Bearer AUTH-1",
                "set-cookie" = "sid=COOKIE-1",
                "body.credit_card" = "CARD-FIELD-1",
                body = r#"{"credit_card":"CARD-NESTED-1","iban":"IBAN-NESTED-1","amount":5}"#,
                "body.iban" = "IBAN-FIELD-1",
                "login.otp" = "OTP-FIELD-1",
                login = r#"{"otp":"OTP-NESTED-1","user":"ann"}"#,
                "session.token" = "TOKEN-FIELD-1",
                pin = ?Some("PIN-FIELD-1"),
                shipping = ?Some("not secret"),
                "checked out"
            );
        }));
    });
    for marker in [
        "SPAN-TOKEN-1",
        "SPAN-SK-1",
        "RECORDED-PW-1",
        "RECORDED-SK-1",
        "RECORDED-COOKIE-1",
        "EVENT-PW-1",
        "NESTED-PW-1",
        "4111111111111111",
        "APIKEY-1",
        "AUTH-1",
        "COOKIE-1",
        "CARD-FIELD-1",
        "CARD-NESTED-1",
        "IBAN-NESTED-1",
        "IBAN-FIELD-1",
        "OTP-FIELD-1",
        "OTP-NESTED-1",
        "TOKEN-FIELD-1",
        "PIN-FIELD-1",
    ] {
        assert!(!out.raw.contains(marker), "{marker} leaked: {}", out.raw);
    }
    let line = &out.lines[0];
    let redacted = json!(REDACTED);
    for key in [
        "password",
        "x-api-key",
        "Authorization",
        "set-cookie",
        "body.credit_card",
        "body.iban",
        "login.otp",
        "session.token",
        "user.api_token",
        "session_key",
        "device.session_key",
        "cookie",
    ] {
        assert_eq!(line[key], redacted, "{key} keeps its key, loses its value");
    }
    assert_eq!(line["payload"]["user"]["Password"], redacted);
    assert_eq!(line["payload"]["user"]["cards"][0]["card_number"], redacted);
    assert_eq!(line["payload"]["user"]["cards"][0]["brand"], "visa");
    assert_eq!(
        line["body"],
        json!({"credit_card": REDACTED, "iban": REDACTED, "amount": 5})
    );
    assert_eq!(line["login"], json!({"otp": REDACTED, "user": "ann"}));
    // A recorded value is text, redacted inside when it holds JSON.
    let customer: Value = serde_json::from_str(line["customer"].as_str().unwrap()).unwrap();
    assert_eq!(customer, json!({"email": "a@b.c", "Password": REDACTED}));
    assert_eq!(line["pin"], redacted, "`pin` is a sensitive word");
    assert_eq!(
        line["shipping"], "Some(\"not secret\")",
        "`pin` inside a word is not"
    );
}

#[test]
fn recorded_values_reach_later_lines_of_the_observed_call() {
    let out = capture_with(Redactor::default(), |installation| {
        assert!(!crate::record("user_id", 1), "no span");
        let plain = info_span!("plain", a = 1);
        plain.in_scope(|| assert!(!crate::record("user_id", 1), "not sightline's"));

        in_sightline_span(installation, || {
            info!("before");
            let child = info_span!("child", step = "auth");
            child.in_scope(|| {
                assert!(crate::record("user_id", 7));
                info!("in child");
            });
            in_sightline_span(installation, || {
                assert!(crate::record("tenant", "t-1"));
                info!("in nested call");
            });
            assert!(crate::record("user_id", 8), "a key can be recorded again");
            assert!(crate::record("level", "x"), "header keys are ignored");
            info!(function = "handle", "completed");
        });
    });
    let lines = &out.lines;
    assert!(!lines[0].contains_key("user_id"));
    assert_eq!(lines[1]["user_id"], 7);
    assert_eq!(lines[1]["step"], "auth");
    assert_eq!(
        lines[2]["tenant"], "t-1",
        "the innermost sightline span takes it"
    );
    assert_eq!(lines[2]["user_id"], 7);
    assert_eq!(lines[3]["user_id"], 8);
    assert_eq!(lines[3]["level"], "info");
    assert_eq!(
        lines[3]["tenant"], "t-1",
        "and every enclosing sightline span: the outer call's later lines carry it too"
    );
    // Every line inside a sightline span carries its ids.
    assert!(lines
        .iter()
        .all(|l| l["trace_id"].as_str().is_some_and(|t| t.len() == 32)));
}

#[test]
fn recording_needs_sightline_in_the_subscriber() {
    let capture = Capture::default();
    let installation = installation(Redactor::default(), &capture);
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        in_sightline_span(installation, || assert!(!crate::record("k", 1)));
    });
    tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        in_sightline_span(installation, || assert!(!crate::record("k", 1)));
    });
    tracing::subscriber::with_default(subscriber(installation), || {
        assert!(!crate::record("k", 1), "outside any span");
        in_sightline_span(installation, || assert!(crate::record("k", 1)));
    });
}

#[test]
fn hostile_strings_keep_one_json_object_per_line() {
    let hostile =
        "line\nbreak\r\n \"quoted\" nul\u{0} esc\u{1b}[31mred\u{1b}[0m \u{2028} back\\slash }{";
    let out = capture_with(Redactor::default(), |installation| {
        let span = info_span!("s", from_span = hostile);
        span.in_scope(|| {
            in_sightline_span(installation, || {
                assert!(crate::record(hostile, hostile));
                info!(field = hostile, shown = %hostile, debugged = ?hostile, "{hostile}");
                info!(
                    nested = r#"{"a":"\u0000\n\u001b","\"k\n":["\ud83d\ude00"]}"#,
                    broken = "[\"\\ud800\"]"
                );
            })
        });
    });
    assert_eq!(out.lines.len(), 2);
    assert_eq!(out.raw.matches('\n').count(), 2);
    assert!(
        !out.raw.bytes().any(|b| b < 0x20 && b != b'\n'),
        "no raw control characters"
    );
    let line = &out.lines[0];
    assert_eq!(line["message"], hostile);
    assert_eq!(line["field"], hostile);
    assert_eq!(line["shown"], hostile);
    assert_eq!(line["debugged"], format!("{hostile:?}"));
    assert_eq!(line["from_span"], hostile);
    assert_eq!(line[hostile], hostile);
    let line = &out.lines[1];
    assert_eq!(
        line["nested"],
        json!({"a": "\u{0}\n\u{1b}", "\"k\n": ["\u{1F600}"]})
    );
    assert_eq!(line["broken"], "[\"\\ud800\"]");
}

#[derive(Clone, Copy)]
struct Failing {
    /// `Ok(0)` instead of an error: `write_all` turns it into `WriteZero`.
    accepts_nothing: bool,
}

struct FailingWriter(bool);

impl io::Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        if self.0 {
            Ok(0)
        } else {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "reader went away",
            ))
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "reader went away",
        ))
    }
}

impl<'a> MakeWriter<'a> for Failing {
    type Writer = FailingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        FailingWriter(self.accepts_nothing)
    }
}

#[test]
fn a_failing_writer_is_counted_not_fatal() {
    for accepts_nothing in [false, true] {
        let sink = Arc::new(LineSink::new(
            "shop",
            Arc::default(),
            Writer::Make(MakeLines::new(Failing { accepts_nothing })),
        ));
        let layer = LogLayer::new(Arc::clone(&sink));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            for i in 0..3 {
                info!(i, "lost");
            }
        });
        assert_eq!(sink.write_errors(), 3);
    }
}
