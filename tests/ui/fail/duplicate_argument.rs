use sightline::observe;

#[observe(name = "a", name = "b", log = "all", log = "off")]
fn charge() {}

fn main() {
    charge();
}
