//! The `?` operator, spelt out for synchronous observed bodies.
//!
//! A sync body is not wrapped in a closure (that would break `#[track_caller]` and borrows that outlive
//! the call), so the macro must see every exit to record its outcome. It rewrites `expr?` into
//! `match Branch::__sl_branch(expr) { Continue(v) => v, Break(r) => return finish(.., FromResidual::__sl_from_residual(r), ..) }`,
//! which is what the compiler does with the unstable `Try` traits. On stable Rust only the standard
//! library's types implement `Try`, so mirroring those impls here keeps every `?` that compiled before
//! compiling the same way, error conversion through `From` included.

use std::convert::Infallible;
pub use std::ops::ControlFlow;
use std::task::Poll;

/// `Try::branch` for the standard library's `?`-able types.
#[diagnostic::on_unimplemented(
    message = "the `?` operator can only be applied to values of type `Result`, `Option`, `ControlFlow` or `Poll<Result>`",
    label = "the `?` operator cannot be applied to type `{Self}`"
)]
pub trait Branch {
    /// What `expr?` evaluates to.
    type Output;
    /// What an early return carries.
    type Residual;
    /// Continue with the value, or break with the residual.
    fn __sl_branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

/// `FromResidual` for the standard library's `?`-able types.
#[diagnostic::on_unimplemented(
    message = "`?` couldn't convert the residual to `{Self}`",
    label = "the function returns `{Self}`, which `?` on this value cannot produce",
    note = "for `Result`, the function's error type must implement `From` for the error `?` propagates"
)]
pub trait FromResidual<R> {
    /// Builds the early return value.
    fn __sl_from_residual(residual: R) -> Self;
}

impl<T, E> Branch for Result<T, E> {
    type Output = T;
    type Residual = Result<Infallible, E>;
    #[inline]
    fn __sl_branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Ok(v) => ControlFlow::Continue(v),
            Err(e) => ControlFlow::Break(Err(e)),
        }
    }
}

impl<T> Branch for Option<T> {
    type Output = T;
    type Residual = Option<Infallible>;
    #[inline]
    fn __sl_branch(self) -> ControlFlow<Self::Residual, T> {
        match self {
            Some(v) => ControlFlow::Continue(v),
            None => ControlFlow::Break(None),
        }
    }
}

impl<B, C> Branch for ControlFlow<B, C> {
    type Output = C;
    type Residual = ControlFlow<B, Infallible>;
    #[inline]
    fn __sl_branch(self) -> ControlFlow<Self::Residual, C> {
        match self {
            ControlFlow::Continue(c) => ControlFlow::Continue(c),
            ControlFlow::Break(b) => ControlFlow::Break(ControlFlow::Break(b)),
        }
    }
}

impl<T, E> Branch for Poll<Result<T, E>> {
    type Output = Poll<T>;
    type Residual = Result<Infallible, E>;
    #[inline]
    fn __sl_branch(self) -> ControlFlow<Self::Residual, Poll<T>> {
        match self {
            Poll::Ready(Ok(v)) => ControlFlow::Continue(Poll::Ready(v)),
            Poll::Ready(Err(e)) => ControlFlow::Break(Err(e)),
            Poll::Pending => ControlFlow::Continue(Poll::Pending),
        }
    }
}

impl<T, E> Branch for Poll<Option<Result<T, E>>> {
    type Output = Poll<Option<T>>;
    type Residual = Result<Infallible, E>;
    #[inline]
    fn __sl_branch(self) -> ControlFlow<Self::Residual, Poll<Option<T>>> {
        match self {
            Poll::Ready(Some(Ok(v))) => ControlFlow::Continue(Poll::Ready(Some(v))),
            Poll::Ready(Some(Err(e))) => ControlFlow::Break(Err(e)),
            Poll::Ready(None) => ControlFlow::Continue(Poll::Ready(None)),
            Poll::Pending => ControlFlow::Continue(Poll::Pending),
        }
    }
}

impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Result<T, F> {
    #[inline]
    #[track_caller]
    fn __sl_from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(e) => Err(From::from(e)),
            Ok(never) => match never {},
        }
    }
}

impl<T> FromResidual<Option<Infallible>> for Option<T> {
    #[inline]
    fn __sl_from_residual(_: Option<Infallible>) -> Self {
        None
    }
}

impl<B, C> FromResidual<ControlFlow<B, Infallible>> for ControlFlow<B, C> {
    #[inline]
    fn __sl_from_residual(residual: ControlFlow<B, Infallible>) -> Self {
        match residual {
            ControlFlow::Break(b) => ControlFlow::Break(b),
            ControlFlow::Continue(never) => match never {},
        }
    }
}

impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Poll<Result<T, F>> {
    #[inline]
    #[track_caller]
    fn __sl_from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(e) => Poll::Ready(Err(From::from(e))),
            Ok(never) => match never {},
        }
    }
}

impl<T, E, F: From<E>> FromResidual<Result<Infallible, E>> for Poll<Option<Result<T, F>>> {
    #[inline]
    #[track_caller]
    fn __sl_from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(e) => Poll::Ready(Some(Err(From::from(e)))),
            Ok(never) => match never {},
        }
    }
}
