use sightline::observe;

#[observe(metric = "jobs", labels(queue = "a", queue = "b", result = "ok", __reserved = "x"))]
fn run() {}

fn main() {
    run();
}
