#![deny(warnings)]
//! Objectives inline and shared through a `const`, on functions, handlers and business spans.

use sightline::{business_span, objective, observe, ObjectiveDef};

const CHECKOUT: ObjectiveDef = objective!(latency = "2s", percentile = 99.9, error_rate = "0.1%");
const FAST: ObjectiveDef = objective!(latency = "5ms");

#[observe(objective(latency = "200ms", percentile = 95, error_rate = "1%"))]
fn search() {}

#[observe(route = "/checkout", method = "POST", objective = CHECKOUT)]
async fn checkout() -> &'static str {
    "ok"
}

#[business_span("charge", objective = CHECKOUT)]
fn charge() {}

#[observe(buckets = [0.001, 0.005, 0.01], objective = FAST)]
fn lookup() {}

#[observe(objective(error_rate = "5%"))]
fn best_effort() {}

fn main() {
    search();
    let _ = checkout();
    charge();
    lookup();
    best_effort();
    assert_eq!(CHECKOUT.latency_micros(), Some(2_000_000));
    assert_eq!(CHECKOUT.percentile_ppm(), 999_000);
    assert_eq!(CHECKOUT.error_rate_ppm(), Some(1_000));
}
