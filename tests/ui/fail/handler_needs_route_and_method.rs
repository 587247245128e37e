use sightline::observe;

#[observe(route = "/orders")]
fn list() {}

#[observe(route = "orders", method = "get")]
fn create() {}

#[observe(route = "/orders", method = "FETCH")]
fn fetch() {}

fn main() {
    list();
    create();
    fetch();
}
