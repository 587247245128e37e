//! The future of an observed call: an `async fn`'s body, or the future a non-`async` function returns
//! (`-> impl Future<Output = T>`, `-> Pin<Box<dyn Future ..>>`), instrumented: the call is timed from its
//! start (an `async fn`'s first poll, the other's call) to the future's completion, its span is entered on
//! every poll and while the future is dropped, and its outcome is the future's output. Dropped before
//! completion it records a cancellation; dropped by a panic inside a poll, the panic.

use crate::call::guard::CallGuard;
use crate::call::probes::Outcome;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Leaves a poll's span however the poll ends, a panic included.
struct Exit<'a>(&'a CallGuard);

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        self.0.exit_poll();
    }
}

pin_project! {
    /// See the module docs.
    pub struct ObservedFuture<F: Future> {
        // `None` once dropped in the span.
        #[pin]
        inner: Option<F>,
        // `None` once the output is recorded; dropped with the future otherwise, which records a panic
        // or a cancellation.
        guard: Option<CallGuard>,
        // A function pointer rather than a closure type: every exit of the body builds this future with
        // its own closure, and an `impl Future` return needs them all to be one type.
        outcome: for<'a> fn(&'a F::Output) -> Outcome<'a>,
    }

    impl<F: Future> PinnedDrop for ObservedFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if let Some(guard) = this.guard.as_ref() {
                // The body's locals are dropped inside the span (their lines carry its fields), and so
                // are the calls it was awaiting, whose cancelled lines then carry them too.
                guard.enter_poll();
                let _exit = Exit(guard);
                this.inner.set(None);
            }
        }
    }
}

impl<F: Future> ObservedFuture<F> {
    /// `guard` started when the function was called (its span entered while the future was made).
    /// `O`, the output, is named by the expanded code where the signature writes it, so that it is known
    /// before `inner`'s body is type-checked (a diverging `async` block's output is otherwise inferred
    /// from `outcome`).
    #[inline]
    pub fn new_with<O>(
        inner: F,
        guard: CallGuard,
        outcome: for<'a> fn(&'a O) -> Outcome<'a>,
    ) -> Self
    where
        F: Future<Output = O>,
    {
        guard.exit();
        ObservedFuture {
            inner: Some(inner),
            guard: Some(guard),
            outcome,
        }
    }
}

impl<F: Future> Future for ObservedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Pending;
        };
        let polled = match this.guard.as_ref() {
            Some(guard) => {
                guard.enter_poll();
                let _exit = Exit(guard);
                inner.poll(cx)
            }
            None => inner.poll(cx),
        };
        if let Poll::Ready(output) = &polled {
            if let Some(guard) = this.guard.take() {
                guard.complete((this.outcome)(output));
            }
        }
        polled
    }
}
