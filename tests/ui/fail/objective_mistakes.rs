use sightline::{objective, observe, ObjectiveDef};

const SLOW: ObjectiveDef = objective!(latency = "3s");

#[observe(objective(latency = "300ms", percentile = 99))]
fn not_a_bucket() {}

#[observe(objective(latency = "2s", percentile = 100, error_rate = "120%"))]
fn out_of_range() {}

#[observe(objective(latency = 2))]
fn no_unit() {}

#[observe(objective = SLOW)]
fn shared_not_a_bucket() {}

fn main() {
    not_a_bucket();
    out_of_range();
    no_unit();
    shared_not_a_bucket();
}
