use sightline::observe;

#[observe(nmae = "charge", sample_rate = 0.5)]
fn charge() {}

fn main() {
    charge();
}
