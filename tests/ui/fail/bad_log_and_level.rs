use sightline::observe;

#[observe(log = "verbose")]
fn a() {}

#[observe(level = "notice")]
fn b() {}

#[observe(log = "errors", level = "debug")]
fn c() {}

fn main() {
    a();
    b();
    c();
}
