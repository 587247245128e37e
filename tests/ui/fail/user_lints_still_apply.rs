#![deny(unreachable_code, unused_variables)]
use sightline::observe;

#[observe]
fn f(unused: u32) -> u32 {
    return 1;
    2
}

fn main() {
    let _ = f(0);
}
