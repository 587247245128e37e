use sightline::observe;

#[observe(buckets = [0.1, 0.05, 0.0, 1])]
fn unordered() {}

#[observe(buckets = [])]
fn empty() {}

#[observe(buckets = [fast()])]
fn not_literal() {}

fn fast() -> f64 {
    0.1
}

fn main() {
    unordered();
    empty();
    not_literal();
}
