#![deny(warnings, unused, rust_2018_idioms, nonstandard_style)]
//! Async: free functions, methods, `?` and `return` inside, inference of the tail, and `#[async_trait]`
//! both on trait impls and on default methods; non-`async` functions that return `impl Future`, a boxed
//! `dyn Future` or a `BoxFuture`, borrowing or not, generic or not. The futures stay `Send`.

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

#[observe]
pub fn later(n: u8) -> impl std::future::Future<Output = Result<u8, E>> + Send {
    async move {
        if n == 0 {
            return Err(E);
        }
        Ok(n)
    }
}

#[observe]
pub fn later_generic<T: Send + 'static>(value: T) -> impl std::future::Future<Output = T> + Send {
    async move { value }
}

#[observe]
pub fn later_borrowing<'a>(s: &'a str) -> impl std::future::Future<Output = &'a str> + 'a {
    async move { s.trim() }
}

impl Svc {
    #[observe]
    pub fn boxed(&self, n: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u32> + Send + '_>> {
        if n == 0 {
            return Box::pin(async { 0 });
        }
        Box::pin(async move { n + 1 })
    }

    #[observe]
    pub fn boxed_alias(&self) -> futures::future::BoxFuture<'static, Result<(), E>> {
        let fut = async { Ok(()) };
        Box::pin(fut)
    }

    #[observe]
    pub fn unit_future(&self) -> impl std::future::Future<Output = ()> {
        async {}
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
    assert_eq!(assert_send(later(3)).await.unwrap(), 3);
    assert!(later(0).await.is_err());
    assert_eq!(assert_send(later_generic("x")).await, "x");
    assert_eq!(later_borrowing(" b ").await, "b");
    assert_eq!(assert_send(Svc.boxed(1)).await, 2);
    assert_eq!(Svc.boxed(0).await, 0);
    assert!(Svc.boxed_alias().await.is_ok());
    Svc.unit_future().await;
}
