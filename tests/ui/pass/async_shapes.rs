#![deny(warnings, unused, rust_2018_idioms, nonstandard_style)]
//! Async: free functions, methods, `?` and `return` inside, inference of the tail, and `#[async_trait]`
//! both on trait impls and on default methods. The futures stay `Send`.

use sightline::observe;

#[derive(Debug)]
pub struct E;

impl std::fmt::Display for E {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("e")
    }
}

#[observe]
pub async fn free(n: u8) -> Result<Vec<u8>, E> {
    if n == 0 {
        return Err(E);
    }
    let parsed: Result<u8, E> = Ok(n);
    let v = parsed?;
    Ok((0..v).collect())
}

#[observe]
pub async fn borrowing(s: &str) -> &str {
    s.trim()
}

pub struct Svc;

impl Svc {
    #[observe]
    pub async fn call(&self, x: u32) -> Option<u32> {
        Some(x.checked_add(1)?)
    }
}

#[async_trait::async_trait]
pub trait Store: Sync {
    async fn load(&self, id: u32) -> Result<u32, E>;

    #[observe(name = "Store::load_twice")]
    async fn load_twice(&self, id: u32) -> Result<u32, E> {
        Ok(self.load(id).await? * 2)
    }
}

#[async_trait::async_trait]
impl Store for Svc {
    #[observe]
    async fn load(&self, id: u32) -> Result<u32, E> {
        if id == 0 {
            return Err(E);
        }
        Ok(id)
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::main]
async fn main() {
    assert_eq!(assert_send(free(2)).await.unwrap(), vec![0, 1]);
    assert_eq!(borrowing(" a ").await, "a");
    assert_eq!(assert_send(Svc.call(1)).await, Some(2));
    assert_eq!(Svc.load_twice(2).await.unwrap(), 4);
    assert!(Svc.load(0).await.is_err());
}
