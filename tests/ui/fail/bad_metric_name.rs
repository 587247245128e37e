use sightline::observe;

#[observe(metric = "payment-charges", labels(region = "eu"))]
fn a() {}

#[observe(metric = "http_requests", labels(region = "eu"))]
fn b() {}

#[observe(metric = "charges_total", labels(region = "eu"))]
fn c() {}

fn main() {
    a();
    b();
    c();
}
