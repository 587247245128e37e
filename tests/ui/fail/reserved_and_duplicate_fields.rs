use sightline::observe;

#[observe(fields(result = 1, order.id = 2, order.id = 3), redact(error = 4))]
fn place() {}

fn main() {
    place();
}
