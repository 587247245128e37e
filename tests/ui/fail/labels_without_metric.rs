use sightline::observe;

#[observe(labels(region = "eu"))]
fn ship() {}

#[observe(route = "/ship", method = "POST", metric = "ships", labels(region = "eu"))]
fn ship_handler() {}

fn main() {
    ship();
    ship_handler();
}
