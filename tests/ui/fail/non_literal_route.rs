use sightline::observe;

const ROUTE: &str = "/orders";

#[observe(route = ROUTE, method = "GET")]
fn list() {}

fn main() {
    list();
}
