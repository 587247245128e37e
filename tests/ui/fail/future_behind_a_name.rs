use sightline::observe;
use std::future::Future;
use std::pin::Pin;

/// A future the signature does not show: `#[observe]` cannot instrument it, so it is refused.
type Pending = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

#[observe]
fn behind_an_alias() -> Pending {
    Box::pin(async { Err("declined".to_owned()) })
}

#[observe]
fn generic_future<F: Future<Output = u8>>(future: F) -> F {
    future
}

fn main() {
    let _ = behind_an_alias();
    let _ = generic_future(async { 1 });
}
