//! The future a non-`async` function returns (`-> impl Future<Output = T>`, `-> Pin<Box<dyn Future ..>>`),
//! instrumented: the call is timed from the function's call to the future's completion, its span is
//! entered on every poll, and its outcome is the future's output. Dropped before completion it records a
//! cancellation; dropped by a panic inside a poll, the panic.

use crate::call::guard::CallGuard;
use crate::call::probes::Outcome;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tracing::Span;

pin_project! {
    /// See the module docs.
    pub struct ObservedFuture<F: Future> {
        #[pin]
        inner: F,
        // `None` once the output is recorded; dropped with the future otherwise, which records a panic
        // or a cancellation.
        guard: Option<CallGuard<Span>>,
        span: Span,
        // A function pointer rather than a closure type: every exit of the body builds this future with
        // its own closure, and an `impl Future` return needs them all to be one type.
        outcome: for<'a> fn(&'a F::Output) -> Outcome<'a>,
    }

    impl<F: Future> PinnedDrop for ObservedFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(guard) = this.guard.take() {
                // Inside the span, as the completion line of a finished call is.
                let _entered = this.span.enter();
                drop(guard);
            }
        }
    }
}

impl<F: Future> ObservedFuture<F> {
    /// `guard` started when the function was called; `span` is the call's span. `O`, the output, is
    /// named by the expanded code where the signature writes it, so that it is known before `inner`'s
    /// body is type-checked (a diverging `async` block's output is otherwise inferred from `outcome`).
    #[inline]
    pub fn new_with<O>(
        inner: F,
        guard: CallGuard<Span>,
        span: Span,
        outcome: for<'a> fn(&'a O) -> Outcome<'a>,
    ) -> Self
    where
        F: Future<Output = O>,
    {
        ObservedFuture {
            inner,
            guard: Some(guard),
            span,
            outcome,
        }
    }
}

impl<F: Future> Future for ObservedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let polled = this.inner.poll(cx);
        if let Poll::Ready(output) = &polled {
            if let Some(guard) = this.guard.take() {
                guard.complete((this.outcome)(output));
            }
        }
        polled
    }
}
