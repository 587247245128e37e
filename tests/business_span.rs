//! `#[business_span]`: business RED families, the completion line, and the span it runs in.

mod common;

use common::{scrape, telemetry, value};
use sightline::{business_span, observe, ErrorLabel};

#[derive(Debug, ErrorLabel)]
enum OrderError {
    OutOfStock,
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sku out of stock")
    }
}

struct Order {
    id: u64,
    total: f64,
    card_number: String,
}

#[business_span("process-order", attrs(order.id = order.id, order.total = order.total), redact(card_number = order.card_number))]
async fn process_order(order: &Order, fail: bool) -> Result<u64, OrderError> {
    tracing::info!("inside the operation");
    reserve_stock(order.id)?;
    if fail {
        return Err(OrderError::OutOfStock);
    }
    Ok(order.id)
}

#[business_span]
fn reserve_stock(id: u64) -> Result<(), OrderError> {
    let _ = id;
    Ok(())
}

#[business_span("explode")]
fn explode() {
    panic!("kaboom");
}

#[observe]
async fn handler(fail: bool) -> Result<u64, OrderError> {
    let order = Order {
        id: 42,
        total: 99.5,
        card_number: "4111111111111111".into(),
    };
    process_order(&order, fail).await
}

fn ops(operation: &str, outcome: &str) -> Option<f64> {
    value(
        "business_operations_total",
        &[("operation", operation), ("outcome", outcome)],
    )
}

#[tokio::test]
async fn business_families_count_ok_error_and_panic() {
    let out = telemetry();
    handler(false).await.unwrap();
    handler(true).await.unwrap_err();
    handler(false).await.unwrap();
    assert!(std::panic::catch_unwind(explode).is_err());

    assert_eq!(ops("process-order", "ok"), Some(2.0));
    assert_eq!(ops("process-order", "error"), Some(1.0));
    assert_eq!(ops("process-order", "cancelled"), Some(0.0));
    assert_eq!(
        ops("reserve-stock", "ok"),
        Some(3.0),
        "default name: the function in kebab case"
    );
    assert_eq!(ops("explode", "error"), Some(1.0));
    assert_eq!(
        value(
            "business_operation_errors_total",
            &[
                ("operation", "process-order"),
                ("error_kind", "out_of_stock")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "business_operation_errors_total",
            &[("operation", "explode"), ("error_kind", "panic")]
        ),
        Some(1.0)
    );
    let b = common::buckets(
        "business_operation_duration_seconds",
        &[("operation", "process-order"), ("outcome", "ok")],
    )
    .unwrap();
    assert_eq!(b.last().unwrap().1, 2.0);
    assert_eq!(
        value(
            "business_operations_in_flight",
            &[("operation", "process-order")]
        ),
        Some(0.0)
    );
    assert_eq!(scrape().types["business_operations_total"], "counter");

    let lines: Vec<_> = out
        .lines()
        .into_iter()
        .filter(|l| l["operation"] == "process-order" && l.get("outcome").is_some())
        .collect();
    assert_eq!(lines.len(), 3);
    let failed = lines.iter().find(|l| l["outcome"] == "error").unwrap();
    assert_eq!(failed["level"], "error");
    assert_eq!(failed["error_kind"], "out_of_stock");
    assert_eq!(failed["error"], "sku out of stock");
    assert_eq!(failed["order.id"], 42);
    assert_eq!(failed["order.total"], 99.5);
    assert_eq!(failed["card_number"], "[REDACTED]");
    assert!(failed["duration_ms"].is_f64());
    assert!(
        failed.get("function").is_none(),
        "a business line names its operation"
    );
    let inner = out
        .lines()
        .into_iter()
        .find(|l| l["message"] == "inside the operation")
        .unwrap();
    assert_eq!(
        inner["operation"], "process-order",
        "events inside carry the operation"
    );
    assert!(!out.raw().contains("4111111111111111"));
}
