use sightline::observe;

/// An identifier: every value is distinct.
pub struct Uuid([u8; 16]);

pub struct Order {
    pub customer: String,
    pub shard: u32,
    pub trace: Uuid,
    pub note: Option<String>,
}

#[observe(metric = "orders", labels(customer = order.customer))]
fn by_customer(order: &Order) {}

#[observe(metric = "orders_by_shard", labels(shard = order.shard))]
fn by_shard(order: &Order) {}

#[observe(metric = "orders_by_trace", labels(trace = order.trace))]
fn by_trace(order: &Order) {}

#[observe(metric = "orders_by_note", labels(note = order.note))]
fn by_note(order: &Order) {}

fn main() {
    let order = Order { customer: "c".into(), shard: 1, trace: Uuid([0; 16]), note: None };
    by_customer(&order);
    by_shard(&order);
    by_trace(&order);
    by_note(&order);
}
