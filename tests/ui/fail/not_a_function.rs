use sightline::observe;

#[observe]
struct Order {
    id: u32,
}

fn main() {
    // The struct is still emitted: using it compiles.
    let o = Order { id: 1 };
    let _ = o.id;
}
