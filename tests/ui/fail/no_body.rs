use sightline::observe;

trait Store {
    #[observe]
    fn get(&self) -> u32;
}

struct S;

impl Store for S {
    fn get(&self) -> u32 {
        1
    }
}

fn main() {
    let _ = S.get();
}
