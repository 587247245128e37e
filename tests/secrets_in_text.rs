//! The leaks a new user met, one test each: a request body logged through `Debug`, a card number in a
//! message, a token in a plain field, personal data with `redact_pii`; and what must not be redacted.

mod common;

use common::pipeline::Pipeline;
use common::telemetry;
use serde_json::Value;
use sightline::observe;

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`
struct CreatePayment {
    customer: String,
    card_number: String,
    cvv: String,
    password: String,
}

fn body() -> CreatePayment {
    CreatePayment {
        customer: "cus_1".into(),
        card_number: "4111111111111111".into(),
        cvv: "123".into(),
        password: "hunter2".into(),
    }
}

/// The line whose message is `message`, written by `log`.
fn line(message: &str, log: impl FnOnce()) -> Value {
    let captured = telemetry();
    log();
    captured
        .lines()
        .into_iter()
        .rev()
        .find(|l| l["message"] == message)
        .unwrap_or_else(|| panic!("no line {message:?}"))
}

#[test]
fn a_body_logged_through_debug_keeps_its_shape_without_its_secrets() {
    let line = line("payment received", || {
        tracing::info!(request = ?body(), "payment received");
    });
    assert_eq!(
        line["request"],
        "CreatePayment { customer: \"cus_1\", card_number: \"[REDACTED]\", cvv: \"[REDACTED]\", \
         password: \"[REDACTED]\" }"
    );
    let pretty = self::line("pretty payment received", || {
        tracing::info!(request = %format!("{:#?}", body()), "pretty payment received");
    });
    assert_eq!(
        pretty["request"],
        "CreatePayment {\n    customer: \"cus_1\",\n    card_number: \"[REDACTED]\",\n    cvv: \
         \"[REDACTED]\",\n    password: \"[REDACTED]\",\n}"
    );
    // In the message, after a sentence, as `info!("{:?}", body)` writes it.
    let message = self::line(
        "payment received: CreatePayment { customer: \"cus_1\", card_number: \"[REDACTED]\", cvv: \
         \"[REDACTED]\", password: \"[REDACTED]\" }",
        || tracing::info!("payment received: {:?}", body()),
    );
    assert!(!message.to_string().contains("4111"));
}

#[test]
fn a_card_number_in_a_message_is_replaced() {
    let line = line("customer pasted card [REDACTED]", || {
        tracing::warn!("customer pasted card 4242 4242 4242 4242");
    });
    assert_eq!(line["level"], "warn");
}

#[test]
fn a_token_in_a_plain_field_is_replaced() {
    let line = line("upstream call", || {
        tracing::info!(
            header = "Bearer sk_live_51HabcdefGHIJKLmnop",
            url = "postgres://orders:hunter2@db.internal:5432/orders",
            github = "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "upstream call"
        );
    });
    assert_eq!(line["header"], "[REDACTED]");
    assert_eq!(
        line["url"], "postgres://orders:[REDACTED]@db.internal:5432/orders",
        "the user and the host stay"
    );
    assert_eq!(line["github"], "[REDACTED]");
}

#[test]
fn what_only_looks_like_a_secret_is_left_alone() {
    let line = line("not secrets", || {
        tracing::info!(
            reference = "4111111111111112",
            grouped_reference = "4111 1111 1111 1112",
            // Luhn-valid, but an integer: integers are never card numbers.
            ts_ns = 1_733_273_038_123_456_787u64,
            request_id = "550e8400-e29b-41d4-a716-446655440000",
            trace = "4bf92f3577b34da6a3ce929d0e0e4736",
            traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            took = "1500ms",
            duration_ms = 12.5,
            invoice = "INV4242424242424242",
            note = "the bearer of this order",
            "not secrets"
        );
    });
    assert_eq!(line["reference"], "4111111111111112");
    assert_eq!(line["grouped_reference"], "4111 1111 1111 1112");
    assert_eq!(line["ts_ns"], 1_733_273_038_123_456_787u64);
    assert_eq!(line["request_id"], "550e8400-e29b-41d4-a716-446655440000");
    assert_eq!(line["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(
        line["traceparent"],
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    );
    assert_eq!(line["took"], "1500ms");
    assert_eq!(line["duration_ms"], 12.5);
    assert_eq!(line["invoice"], "INV4242424242424242");
    assert_eq!(line["note"], "the bearer of this order");
}

#[test]
fn more_names_are_secret() {
    let line = line("names", || {
        tracing::info!(
            pin = "0000",
            iban = "DE89370400440532013000",
            cvc = "123",
            passphrase = "correct horse",
            otp = "123456",
            client_secret = "cs",
            session_id = "s1",
            sessionid = "s2",
            csrf = "c1",
            xsrf_token = "c2",
            shipping = "express",
            author = "ada",
            "names"
        );
    });
    for key in [
        "pin",
        "iban",
        "cvc",
        "passphrase",
        "otp",
        "client_secret",
        "session_id",
        "sessionid",
        "csrf",
        "xsrf_token",
    ] {
        assert_eq!(line[key], "[REDACTED]", "{key}");
    }
    assert_eq!(
        line["shipping"], "express",
        "`pin` inside a word is no `pin`"
    );
    assert_eq!(line["author"], "ada", "`auth` inside a word is no `auth`");
}

#[observe(fields(customer.email = email, customer.tier = "gold"))]
fn place_order(email: &str) {
    tracing::info!("order for {email}, call +44 20 7946 0958 if late");
}

/// `redact_pii(true)` masks e-mail addresses and phone numbers; without it they are logged, as the
/// default installation of this binary shows.
#[test]
fn personal_data_is_masked_when_asked() {
    let pipeline = Pipeline::new(|builder| builder.redact_pii(true));
    tracing::dispatcher::with_default(&pipeline.dispatch, || place_order("ada@example.com"));
    let raw = String::from_utf8(pipeline.logs.take()).unwrap();
    let lines: Vec<Value> = raw
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !raw.contains("ada@example.com") && !raw.contains("7946"),
        "{raw}"
    );
    let event = lines.iter().find(|l| l.get("message").is_some()).unwrap();
    assert_eq!(
        event["message"],
        "order for [REDACTED], call [REDACTED] if late"
    );
    let completion = lines
        .iter()
        .find(|l| l["function"] == "place_order")
        .unwrap();
    assert_eq!(completion["customer.email"], "[REDACTED]");
    assert_eq!(completion["customer.tier"], "gold");

    let captured = telemetry();
    place_order("ada@example.com");
    let completion = captured.for_function("place_order").pop().unwrap();
    assert_eq!(
        completion["customer.email"], "ada@example.com",
        "off by default"
    );
}
