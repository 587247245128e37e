//! An error keeps its cause on the completion line and in the span's status (the whole `source()` chain,
//! as anyhow's `{:#}` writes it), and an expected outcome (`#[error_label(expected)]`: a declined card)
//! is not a failure: a `warn` line, no ERROR status, outside `function_errors_total` and every error
//! ratio, counted by its kind in `function_expected_errors_total`.

mod common;

use anyhow::Context as _;
use common::pipeline::Pipeline;
use opentelemetry::trace::Status;
use serde_json::Value;
use sightline::{business_span, observe, ErrorLabel};
use std::fmt;

#[observe]
fn read_config(path: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).context("reading the payment provider's config")?;
    Ok(text)
}

/// An error with a source, as thiserror writes one.
#[derive(Debug)]
struct ChargeFailed {
    source: std::io::Error,
}

impl fmt::Display for ChargeFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("charge failed")
    }
}

impl std::error::Error for ChargeFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[observe]
fn charge() -> Result<(), ChargeFailed> {
    Err(ChargeFailed {
        source: std::io::Error::new(std::io::ErrorKind::TimedOut, "provider did not answer"),
    })
}

#[observe]
fn boxed() -> Result<(), Box<dyn std::error::Error>> {
    Err(Box::new(ChargeFailed {
        source: std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"),
    }))
}

#[derive(Debug, ErrorLabel)]
enum PaymentError {
    #[error_label(expected)]
    Declined,
    #[error_label(expected, "invalid_card")]
    CardInvalid,
    ProviderDown,
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaymentError::Declined => "card declined",
            PaymentError::CardInvalid => "card number invalid",
            PaymentError::ProviderDown => "provider down",
        })
    }
}

#[observe]
fn authorize(outcome: u8) -> Result<u32, PaymentError> {
    match outcome {
        0 => Ok(1),
        1 => Err(PaymentError::Declined),
        2 => Err(PaymentError::CardInvalid),
        _ => Err(PaymentError::ProviderDown),
    }
}

#[business_span("take-payment")]
fn take_payment(outcome: u8) -> Result<u32, PaymentError> {
    authorize(outcome)
}

fn lines(pipeline: &Pipeline) -> Vec<Value> {
    let raw = String::from_utf8(pipeline.logs.take()).unwrap();
    raw.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn completion<'a>(lines: &'a [Value], key: &str, name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l[key] == name && (l.get("result").is_some() || l.get("outcome").is_some()))
        .unwrap_or_else(|| panic!("no completion line of {name} in {lines:#?}"))
}

#[test]
fn an_errors_causes_are_on_its_line_and_span() {
    let pipeline = Pipeline::new(|b| b);
    tracing::dispatcher::with_default(&pipeline.dispatch, || {
        let _ = read_config("/nonexistent/sightline/provider.toml");
        let _ = charge();
        let _ = boxed();
    });
    let spans = pipeline.spans.take(3).unwrap();
    let lines = lines(&pipeline);
    let expected = [
        (
            "read_config",
            "reading the payment provider's config: No such file or directory (os error 2)",
        ),
        ("charge", "charge failed: provider did not answer"),
        ("boxed", "charge failed: connection refused"),
    ];
    for (function, error) in expected {
        assert_eq!(completion(&lines, "function", function)["error"], error);
        let span = spans.iter().find(|s| s.name == function).unwrap();
        assert_eq!(span.status, Status::error(error.to_owned()), "{function}");
    }
}

#[test]
fn expected_outcomes_are_not_failures() {
    let pipeline = Pipeline::new(|b| b);
    let registry = sightline::metrics::registry();
    tracing::dispatcher::with_default(&pipeline.dispatch, || {
        for outcome in [0, 1, 1, 2, 3] {
            let _ = take_payment(outcome);
        }
    });
    let spans = pipeline.spans.take(10).unwrap();
    let lines = lines(&pipeline);

    // The lines: a declined card is a `warn` with its kind, a provider down an `error`.
    let by_kind = |kind: &str| {
        lines
            .iter()
            .filter(|l| l["function"] == "authorize" && l["error_kind"] == kind)
            .collect::<Vec<_>>()
    };
    for line in by_kind("declined")
        .into_iter()
        .chain(by_kind("invalid_card"))
    {
        assert_eq!(line["level"], "warn", "{line}");
        assert_eq!(line["result"], "expected_error", "{line}");
    }
    let down = by_kind("provider_down");
    assert_eq!(down.len(), 1);
    assert_eq!(down[0]["level"], "error");
    assert_eq!(down[0]["result"], "error");
    let business: Vec<&Value> = lines
        .iter()
        .filter(|l| l["operation"] == "take-payment" && l.get("outcome").is_some())
        .collect();
    assert_eq!(
        business
            .iter()
            .filter(|l| l["outcome"] == "expected_error")
            .count(),
        3
    );

    // The spans: no ERROR status for an expected outcome, its kind still on it.
    let authorize_spans: Vec<_> = spans.iter().filter(|s| s.name == "authorize").collect();
    assert_eq!(authorize_spans.len(), 5);
    let errors = authorize_spans
        .iter()
        .filter(|s| matches!(s.status, Status::Error { .. }))
        .count();
    assert_eq!(errors, 1, "only the provider being down is an error");
    assert!(authorize_spans.iter().any(|s| s
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == "error.type" && kv.value.as_str() == "declined")
        && s.status == Status::Unset));

    // The metrics: outside the errors and the error outcome, counted by kind on their own.
    let scrape = common::exposition::parse(&sightline::metrics::render_registry(&registry));
    let value = |name: &str, labels: &[(&str, &str)]| {
        scrape.find(name, labels).map(|s| s.value).sum::<f64>()
    };
    let f = ("function", "authorize");
    assert_eq!(
        value("function_calls_total", &[f, ("result", "error")]),
        1.0
    );
    assert_eq!(
        value("function_calls_total", &[f, ("result", "expected_error")]),
        3.0
    );
    assert_eq!(value("function_calls_total", &[f, ("result", "ok")]), 1.0);
    assert_eq!(
        value("function_errors_total", &[f, ("error_kind", "declined")]),
        0.0
    );
    assert_eq!(
        value(
            "function_errors_total",
            &[f, ("error_kind", "provider_down")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "function_expected_errors_total",
            &[f, ("error_kind", "declined")]
        ),
        2.0
    );
    assert_eq!(
        value(
            "function_expected_errors_total",
            &[f, ("error_kind", "invalid_card")]
        ),
        1.0
    );
    assert_eq!(
        scrape
            .find(
                "function_expected_errors_total",
                &[f, ("error_kind", "provider_down")]
            )
            .count(),
        0,
        "a fault has no expected series"
    );
    let op = ("operation", "take-payment");
    assert_eq!(
        value(
            "business_operations_total",
            &[op, ("outcome", "expected_error")]
        ),
        3.0
    );
    assert_eq!(
        value(
            "business_operation_expected_errors_total",
            &[op, ("error_kind", "declined")]
        ),
        2.0
    );
}
