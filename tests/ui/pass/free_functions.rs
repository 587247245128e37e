#![deny(warnings, unused, rust_2018_idioms, nonstandard_style, unused_qualifications)]
//! Free functions: plain, `Result` (also aliased), `Option`, early `return` and `?`, generics with a
//! where-clause, `impl Trait` in argument and return position, `mut` parameters, `#[track_caller]`,
//! `unsafe` and every other attribute kept.

use sightline::{observe, ErrorLabel};

#[derive(Debug, ErrorLabel)]
pub enum AppError {
    NotFound,
    Parse,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<std::num::ParseIntError> for AppError {
    fn from(_: std::num::ParseIntError) -> Self {
        AppError::Parse
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Doc comments and `#[must_use]` survive.
#[observe]
#[must_use]
pub fn plain(x: u32) -> u32 {
    x + 1
}

#[observe]
pub fn early_return_and_question_mark(s: &str) -> AppResult<u32> {
    if s.is_empty() {
        return Err(AppError::NotFound);
    }
    let n: u32 = s.trim().parse()?;
    Ok(n)
}

#[observe]
pub fn option(x: Option<u8>) -> Option<u8> {
    Some(x? + 1)
}

#[observe]
pub fn generic<T, U>(items: &[T], extra: U) -> Vec<String>
where
    T: std::fmt::Display,
    U: Into<u64> + Copy,
{
    items.iter().map(|i| format!("{i}{}", extra.into())).collect()
}

#[observe]
pub fn impl_trait(items: impl IntoIterator<Item = u8>) -> impl Iterator<Item = u8> {
    items.into_iter().collect::<Vec<_>>().into_iter()
}

#[observe]
pub fn mutable(mut v: Vec<u8>, mut n: u8) -> usize {
    n += 1;
    v.push(n);
    v.len()
}

#[observe]
#[track_caller]
pub fn caller() -> u32 {
    std::panic::Location::caller().line()
}

/// # Safety
/// None needed: it only shows that `unsafe fn` keeps compiling.
#[observe]
pub unsafe fn unsafe_fn(p: *const u8) -> u8 {
    unsafe { *p }
}

#[observe]
#[allow(clippy::needless_return)]
pub fn unit_with_return(flag: bool) {
    if flag {
        return;
    }
}

#[observe]
pub fn inferred_tail() -> Vec<u8> {
    Default::default()
}

#[observe(
    name = "renamed",
    fields(user = user, order.total = 3u64, note = format!("n{}", 1)),
    redact(password = password),
    log = "errors",
    buckets = [0.001, 0.01, 1],
)]
pub fn with_every_option(user: &str, password: &str) -> u8 {
    user.len() as u8
}

#[observe(skip_metrics, level = "debug")]
pub fn quiet() {}

/// A body that always diverges trips no lint of the caller's.
#[observe]
pub fn always_panics() -> u32 {
    panic!("never returns")
}

fn main() {
    let _ = plain(1);
    assert_eq!(early_return_and_question_mark("7").unwrap(), 7);
    assert!(early_return_and_question_mark("").is_err());
    assert_eq!(option(Some(1)), Some(2));
    assert_eq!(generic(&[1, 2], 3u8), vec!["13", "23"]);
    assert_eq!(impl_trait([1u8]).count(), 1);
    assert_eq!(mutable(vec![], 0), 1);
    let line = line!() + 1;
    assert_eq!(caller(), line);
    assert_eq!(unsafe { unsafe_fn(&5) }, 5);
    unit_with_return(true);
    assert!(inferred_tail().is_empty());
    assert_eq!(with_every_option("ada", "pw"), 3);
    quiet();
}
