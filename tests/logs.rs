//! The completion line and the JSON log layer, read back line by line as JSON.

mod common;

use common::telemetry;
use serde_json::Value;
use sightline::{observe, ErrorLabel};

#[derive(Debug, ErrorLabel)]
enum LoginError {
    WrongPassword,
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wrong password for user")
    }
}

struct Request {
    user: String,
    password: String,
    attempt: u32,
    api_key: String,
}

#[observe(fields(user = req.user, attempt = req.attempt), redact(password = req.password, api_key = req.api_key))]
fn login(req: &Request, body_json: &str) -> Result<u64, LoginError> {
    // A user's own event with a nested JSON body: the layer redacts inside it.
    tracing::info!(body = %body_json, "login attempt");
    if req.attempt > 2 {
        return Err(LoginError::WrongPassword);
    }
    sightline::record("user_id", 4242u64);
    Ok(4242)
}

#[observe(log = "errors")]
fn quiet(fail: bool) -> Result<(), LoginError> {
    if fail {
        Err(LoginError::WrongPassword)
    } else {
        Ok(())
    }
}

#[observe(log = "off")]
fn silent() -> Result<(), LoginError> {
    Err(LoginError::WrongPassword)
}

#[observe(level = "debug")]
fn chatty() {}

#[observe]
fn outer_with_record() {
    sightline::record("tenant", "acme");
    inner_plain();
}

#[observe]
fn inner_plain() {
    tracing::warn!(detail = "inside", "nested event");
    Ledger.post();
}

struct Ledger;

impl Ledger {
    #[observe]
    fn post(&self) {}
}

const SECRETS: &[&str] = &[
    "hunter2-field-secret",
    "sk_live_field_key",
    "nested-json-password",
    "4111111111111111",
    "pin-in-array-0000",
    "cookie-secret-value",
    "bearer-secret-token",
    "otp-secret-123456",
    "session-key-secret",
];

fn request(attempt: u32) -> Request {
    Request {
        user: "ada".into(),
        password: "hunter2-field-secret".into(),
        attempt,
        api_key: "sk_live_field_key".into(),
    }
}

const BODY: &str = r#"{"user":{"name":"ada","Password":"nested-json-password"},
 "body":{"credit_card":"4111111111111111"},
 "cards":[{"pin":"pin-in-array-0000","last4":"1111"}],
 "otp":"otp-secret-123456",
 "headers":{"Set-Cookie":"cookie-secret-value","Authorization":"bearer-secret-token"}}"#;

fn top_level_keys(line: &str) -> Vec<String> {
    // serde_json's Map is sorted; read the raw order with a streaming pass over the object.
    let mut keys = Vec::new();
    let mut de = serde_json::Deserializer::from_str(line);
    struct Keys<'a>(&'a mut Vec<String>);
    impl<'de> serde::de::Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                self.0.push(k);
            }
            Ok(())
        }
    }
    serde::Deserializer::deserialize_map(&mut de, Keys(&mut keys)).unwrap();
    keys
}

#[test]
fn completion_lines_carry_the_documented_keys() {
    let out = telemetry();
    login(&request(1), "{}").unwrap();
    assert!(login(&request(3), "{}").is_err());

    let lines = out.for_function("login");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let ok = &lines[0];
    assert_eq!(ok["level"], "info");
    assert_eq!(ok["service"], "test-service");
    assert_eq!(ok["module"], "logs");
    assert_eq!(ok["result"], "ok");
    assert!(ok["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(ok["duration_ms"].is_f64());
    assert_eq!(ok["user"], "ada");
    assert_eq!(ok["attempt"], 1, "numbers stay numbers");
    assert_eq!(ok["password"], "[REDACTED]");
    assert_eq!(ok["api_key"], "[REDACTED]");
    assert_eq!(
        ok["user_id"], 4242,
        "sightline::record reaches the completion line"
    );
    assert!(ok.get("error").is_none() && ok.get("error_kind").is_none());
    // Span fields meant for OpenTelemetry stay off the log line.
    for k in [
        "code.function",
        "code.namespace",
        "otel.status_code",
        "error.type",
    ] {
        assert!(ok.get(k).is_none(), "{k} leaked into {ok}");
    }
    let ts = ok["timestamp"].as_str().unwrap();
    assert!(
        ts.ends_with('Z') && ts.len() == "2026-11-25T00:00:00.000Z".len(),
        "{ts}"
    );
    humantime::parse_rfc3339(ts).expect("RFC 3339");

    let err = &lines[1];
    assert_eq!(err["level"], "error");
    assert_eq!(err["result"], "error");
    assert_eq!(err["error_kind"], "wrong_password");
    assert_eq!(err["error"], "wrong password for user");
    assert_eq!(err["attempt"], 3);

    // Raw order: timestamp, level, service first.
    let raw = out.raw();
    let line = raw
        .lines()
        .find(|l| l.contains("\"function\":\"login\""))
        .unwrap();
    let keys = top_level_keys(line);
    assert_eq!(&keys[..3], ["timestamp", "level", "service"], "{keys:?}");
}

#[test]
fn secrets_never_reach_the_output() {
    let out = telemetry();
    login(&request(1), BODY).unwrap();
    assert!(login(&request(5), BODY).is_err());
    tracing::info!(
        password = "hunter2-field-secret",
        authorization = "bearer-secret-token",
        "user event"
    );
    tracing::info!(body.credit_card = "4111111111111111", "dotted field");
    tracing::info!(
        session_key = "session-key-secret",
        "extra single-segment path"
    );

    let raw = out.raw();
    for secret in SECRETS {
        assert!(
            !raw.contains(secret),
            "secret {secret:?} reached the log:\n{raw}"
        );
    }
    let body_line = out
        .lines()
        .into_iter()
        .find(|l| l["message"] == "login attempt" && l["body"]["user"].is_object())
        .expect("the user's event is logged with the body as nested JSON");
    assert_eq!(body_line["body"]["user"]["name"], "ada", "non-secrets stay");
    assert_eq!(body_line["body"]["user"]["Password"], "[REDACTED]");
    assert_eq!(body_line["body"]["body"]["credit_card"], "[REDACTED]");
    assert_eq!(body_line["body"]["cards"][0]["pin"], "[REDACTED]");
    assert_eq!(body_line["body"]["cards"][0]["last4"], "1111");
    assert_eq!(body_line["body"]["headers"]["Set-Cookie"], "[REDACTED]");
    assert_eq!(body_line["body"]["otp"], "[REDACTED]", "builder path *.otp");
    // The user's event inside the call carries the call's span fields.
    assert_eq!(body_line["user"], "ada");
    assert_eq!(body_line["password"], "[REDACTED]");
}

#[test]
fn log_modes_and_levels() {
    let out = telemetry();
    quiet(false).unwrap();
    quiet(true).unwrap_err();
    silent().unwrap_err();
    chatty();
    let quiet_lines = out.for_function("quiet");
    assert_eq!(quiet_lines.len(), 1);
    assert_eq!(quiet_lines[0]["result"], "error");
    assert!(out.for_function("silent").is_empty());
    assert_eq!(
        common::calls("silent", "error"),
        1.0,
        "metrics are still recorded"
    );
    let chatty = out.for_function("chatty");
    assert_eq!(chatty.len(), 1);
    assert_eq!(chatty[0]["level"], "debug");
}

#[test]
fn recorded_values_reach_nested_lines_and_innermost_wins() {
    let out = telemetry();
    outer_with_record();
    let lines = out.lines();
    let nested = lines
        .iter()
        .find(|l| l["message"] == "nested event")
        .expect("nested event");
    assert_eq!(nested["tenant"], "acme");
    assert_eq!(nested["level"], "warn");
    assert_eq!(nested["detail"], "inside");
    let outer = lines
        .iter()
        .find(|l| l["function"] == "outer_with_record")
        .unwrap();
    assert_eq!(outer["tenant"], "acme");
    let inner = lines
        .iter()
        .find(|l| l["function"] == "inner_plain")
        .unwrap();
    assert_eq!(
        inner["tenant"], "acme",
        "the outer call's record is on its span"
    );
    assert!(!sightline::record("outside", 1), "no observed call here");
}

#[test]
fn every_line_is_one_json_object() {
    let out = telemetry();
    tracing::info!(
        weird = "line\nbreak \"quoted\" \u{1b}[31m \u{0}",
        "hostile\r\ninput"
    );
    let raw = out.raw();
    for line in raw.lines() {
        let v: Value = serde_json::from_str(line).expect("valid JSON");
        assert!(v.is_object());
    }
    let l = out
        .lines()
        .into_iter()
        .find(|l| l["message"] == "hostile\r\ninput")
        .unwrap();
    assert_eq!(l["weird"], "line\nbreak \"quoted\" \u{1b}[31m \u{0}");
}

#[test]
fn without_a_collector_completed_spans_are_summarised_with_their_ids() {
    let out = telemetry();
    outer_with_record();
    let lines = out.lines();
    let summary = |name: &str| {
        lines
            .iter()
            .find(|l| l["message"] == "span completed" && l["span.name"] == name)
            .unwrap_or_else(|| panic!("no summary of {name}"))
            .clone()
    };
    let outer = summary("outer_with_record");
    let inner = summary("inner_plain");
    let method = summary("Ledger::post");
    assert_eq!(
        method["parent_span_id"], inner["span_id"],
        "a method's span is named as its function label"
    );
    assert_eq!(outer["level"], "debug");
    assert_eq!(outer["target"], "sightline::spans");
    assert_eq!(outer["status"], "OK");
    assert!(outer["duration_ms"].as_f64().unwrap() >= inner["duration_ms"].as_f64().unwrap());
    let hex = |v: &Value, len: usize| {
        let s = v.as_str().unwrap();
        s.len() == len && s.chars().all(|c| c.is_ascii_hexdigit())
    };
    assert!(
        hex(&outer["trace_id"], 32) && hex(&outer["span_id"], 16),
        "{outer}"
    );
    assert_eq!(inner["trace_id"], outer["trace_id"], "one trace");
    assert_eq!(
        inner["parent_span_id"], outer["span_id"],
        "the inner call is the child"
    );
    assert!(outer.get("parent_span_id").is_none(), "a root span");
    assert!(
        outer.get("tenant").is_none(),
        "a summary carries no span fields"
    );

    // The completion lines carry the same ids.
    let completion = lines
        .iter()
        .find(|l| l["function"] == "inner_plain" && l["trace_id"] == inner["trace_id"])
        .expect("completion line with ids");
    assert_eq!(completion["span_id"], inner["span_id"]);
}
