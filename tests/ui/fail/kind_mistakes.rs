use sightline::{business_span, observe};

#[observe(kind = "server")]
fn a() {}

#[observe(kind = "clinet")]
fn b() {}

#[observe(route = "/api/v1/orders", method = "POST", kind = "client")]
async fn c() {}

#[business_span("charge", kind = "outbound")]
fn d() {}

fn main() {
    a();
    b();
    let _ = c();
    d();
}
