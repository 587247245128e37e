#![deny(warnings, unused, rust_2018_idioms)]
//! `#[business_span]` on the same shapes as `#[observe]`, with attrs, redact, labels and defaults.

use sightline::{business_span, observe, LabelValue};

#[derive(Debug)]
pub struct E;

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("e")
    }
}

pub struct Order {
    pub id: u64,
    pub total: f64,
    pub note: String,
    pub card_number: String,
    pub express: bool,
}

#[derive(Clone, Copy, LabelValue)]
pub enum Channel {
    Web,
    App,
}

#[business_span(
    "process-order",
    attrs(order.id = order.id, order.total = order.total, order.note = order.note),
    redact(card_number = order.card_number)
)]
pub async fn process_order(order: &Order) -> Result<u64, E> {
    charge(order.total)?;
    Ok(order.id)
}

#[business_span]
pub fn charge(total: f64) -> Result<(), E> {
    if total < 0.0 {
        return Err(E);
    }
    Ok(())
}

#[business_span("ship", metric = "shipments", labels(express = order.express, channel = channel))]
pub fn ship(order: &Order, channel: Channel) {
    let _ = order.id;
}

pub struct Svc;

impl Svc {
    #[business_span("svc-call", log = "errors", buckets = [0.001, 0.01])]
    pub async fn call(&self) -> Option<u8> {
        Some(1)
    }
}

#[observe(route = "/orders", method = "POST")]
async fn handler() -> Result<String, E> {
    let order = Order {
        id: 1,
        total: 2.0,
        note: "n".into(),
        card_number: "c".into(),
        express: true,
    };
    ship(&order, Channel::App);
    process_order(&order).await.map(|id| id.to_string())
}

#[tokio::main]
async fn main() {
    assert_eq!(handler().await.unwrap(), "1");
    assert_eq!(Svc.call().await, Some(1));
    let _ = Channel::Web;
}
