//! Spans exported over OTLP/HTTP to a receiver that decodes the real protobuf: an observed handler calling
//! a business span that fails form one trace with parent/child links, names, attributes, an ERROR status with its message and an
//! `exception` event on the failing call, `service.name`/`service.version` on the resource, no secret
//! anywhere, and log lines that carry the same ids. Dropping the guard flushes the spans.

mod common;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use sightline::{business_span, observe, ErrorLabel};
use std::time::{Duration, Instant};

#[derive(Debug, ErrorLabel)]
enum PaymentError {
    Declined,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined by issuer")
    }
}

const SECRET: &str = "tok_live_otlp_secret";

#[observe(route = "/checkout", method = "POST", fields(order_id = order))]
fn checkout(order: u64) -> Result<u64, PaymentError> {
    // A user's event inside the span becomes a span event; its secret field must not leave.
    let card_token = SECRET;
    tracing::info!(card_token, "charging card");
    PaymentRepo.save(order);
    match charge_card(order) {
        Ok(()) => Ok(order),
        Err(_) => {
            // Learnt mid-call: on the span as well as on the log lines.
            sightline::record("fallback", "invoice");
            Ok(order)
        }
    }
}

#[business_span("charge-card", attrs(order.id = order, payment.provider = "stripe"))]
fn charge_card(order: u64) -> Result<(), PaymentError> {
    let _ = order;
    Err(PaymentError::Declined)
}

struct PaymentRepo;

impl PaymentRepo {
    #[observe]
    fn save(&self, order: u64) -> u64 {
        order
    }
}

/// OTLP span kinds.
const SERVER: i32 = 2;
const INTERNAL: i32 = 1;

const OK: i32 = 1;
const ERROR: i32 = 2;

#[test]
fn a_handler_calling_a_failing_business_span_is_exported_as_one_trace() {
    let receiver = otlp_receiver::Receiver::start();
    let logs = common::Captured::default();
    let guard = sightline::Telemetry::builder("otlp-test-service")
        .otlp_endpoint(receiver.base_url())
        .service_version("1.2.3")
        .log_writer(logs.clone())
        .install()
        .expect("telemetry installs");

    assert_eq!(checkout(42).unwrap(), 42);
    let started = Instant::now();
    drop(guard); // flushes the batch processor's queue
    assert!(started.elapsed() < Duration::from_secs(10));

    let spans = receiver.spans();
    let parent = receiver.span("POST /checkout");
    let child = receiver.span("charge-card");
    assert_eq!(
        parent.span.kind, SERVER,
        "a handler's span is a server span"
    );
    assert_eq!(child.span.kind, INTERNAL);

    // One trace, the child under the parent, the parent a root.
    assert_eq!(parent.trace_id().len(), 32);
    assert_ne!(parent.trace_id(), "0".repeat(32));
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_eq!(child.parent_span_id(), parent.span_id());
    assert_eq!(parent.parent_span_id(), "");
    assert_ne!(child.span_id(), parent.span_id());

    // A method's span is named as its `function` label, as its log line and metrics are.
    let save = receiver.span("PaymentRepo::save");
    assert_eq!(save.parent_span_id(), parent.span_id());
    assert_eq!(save.attributes()["code.function"], "PaymentRepo::save");
    assert_eq!(logs.for_function("PaymentRepo::save").len(), 1);
    assert!(spans.iter().all(|s| s.span.name != "save"), "{spans:?}");

    // Attributes.
    let attrs = parent.attributes();
    assert_eq!(attrs["code.function"], "checkout");
    // The module, from the OpenTelemetry layer's location attributes (current semantic conventions).
    assert_eq!(attrs["code.module.name"], "otlp_export");
    assert_eq!(attrs["order_id"], "42");
    assert_eq!(attrs["fallback"], "invoice");
    assert_eq!(attrs["http.request.method"], "POST");
    assert_eq!(attrs["http.route"], "/checkout");
    assert_eq!(attrs["http.response.status_code"], "200");
    let attrs = child.attributes();
    assert_eq!(attrs["code.function"], "charge_card");
    assert_eq!(attrs["operation"], "charge-card");
    assert_eq!(attrs["order.id"], "42");
    assert_eq!(attrs["payment.provider"], "stripe");
    assert_eq!(attrs["error.type"], "declined");

    // Status: OK on the parent; ERROR with the error's text on the child, plus an `exception` event.
    assert_eq!(parent.status().0, OK);
    assert_eq!(
        child.status(),
        (ERROR, "card declined by issuer".to_owned())
    );
    let exceptions = child.events("exception");
    assert_eq!(exceptions.len(), 1, "{:?}", child.span.events);
    let exception = otlp_receiver::attributes(&exceptions[0].attributes);
    assert_eq!(exception["exception.type"], "declined");
    assert_eq!(exception["exception.message"], "card declined by issuer");
    assert!(parent.events("exception").is_empty());

    // The user's event, redacted.
    let charging = parent.events("charging card");
    assert_eq!(charging.len(), 1, "{:?}", parent.span.events);
    let charging = otlp_receiver::attributes(&charging[0].attributes);
    assert_eq!(charging["card_token"], "[REDACTED]");
    assert!(
        !format!("{spans:?}").contains(SECRET),
        "the secret left in a span"
    );

    // Resource and scope.
    for span in [&parent, &child] {
        assert_eq!(span.resource["service.name"], "otlp-test-service");
        assert_eq!(span.resource["service.version"], "1.2.3");
        assert_eq!(span.scope, "sightline");
    }
    assert!(receiver
        .content_types()
        .iter()
        .all(|c| c == "application/x-protobuf"));

    // The log lines carry the ids of their span, as Jaeger shows them.
    let line = logs
        .lines()
        .into_iter()
        .find(|l| l["operation"] == "charge-card" && l["outcome"] == "error")
        .expect("the business span's completion line");
    assert_eq!(line["trace_id"], child.trace_id());
    assert_eq!(line["span_id"], child.span_id());
    let line = &logs.for_function("checkout")[0];
    assert_eq!(line["trace_id"], parent.trace_id());
    assert_eq!(line["span_id"], parent.span_id());
    let charging = logs
        .lines()
        .into_iter()
        .find(|l| l["message"] == "charging card")
        .expect("the user's log line");
    assert_eq!(charging["trace_id"], parent.trace_id());
    assert!(!logs.raw().contains(SECRET));
}
