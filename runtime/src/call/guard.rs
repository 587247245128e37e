//! The guard that records one call. It is created when the body starts and records exactly once: when
//! the expanded code hands it the return value, or, when it is dropped without one, as a panic (the
//! thread is unwinding) or a cancellation (an async body's future was dropped mid-flight).

use super::completion::{Completion, CompletionResult};
use super::meta::SiteKind;
use super::resolved::{CallMetrics, ResolvedSite};
use crate::call::probes::{ErrorMessage, Outcome};
use crate::labels::ErrorLabels;
use crate::metrics::series::ErrorKind;
use std::cell::Cell;
use tracing::Span;

/// The span a guard records its status on: entered for the duration of a sync call, or held by an async
/// call whose future enters it on every poll.
pub trait SpanHandle {
    /// The span.
    fn span(&self) -> &Span;
}

impl SpanHandle for Span {
    fn span(&self) -> &Span {
        self
    }
}

impl SpanHandle for tracing::span::EnteredSpan {
    fn span(&self) -> &Span {
        self
    }
}

/// Records one call; see the module docs.
pub struct CallGuard<S: SpanHandle> {
    site: &'static ResolvedSite,
    metrics: CallMetrics,
    /// A [`crate::clock::now`] reading.
    start: u64,
    span: S,
    done: Cell<bool>,
    /// Writes no completion line: a handler-mode site under the HTTP layer, whose access line is the
    /// call's line (the guard tells the layer why the call failed).
    quiet: bool,
}

impl<S: SpanHandle> CallGuard<S> {
    #[inline(always)]
    pub(crate) fn start(site: &'static ResolvedSite, metrics: CallMetrics, span: S) -> Self {
        match metrics {
            CallMetrics::Red(red) => red.start(),
            CallMetrics::Http(h) => h.start(),
            CallMetrics::None => {}
        }
        CallGuard {
            site,
            metrics,
            start: crate::clock::now(),
            span,
            done: Cell::new(false),
            quiet: false,
        }
    }

    pub(crate) fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// Records a completed call from what the expanded code learnt of its return value.
    #[inline]
    pub fn complete(&self, outcome: Outcome<'_>) {
        if self.done.replace(true) {
            return;
        }
        let expected = outcome
            .error
            .as_ref()
            .is_some_and(|e| outcome.labels.is_expected(e.index));
        let (status, failed) = match self.site.meta.kind {
            SiteKind::Function { .. } | SiteKind::Business { .. } => {
                (None, outcome.error.is_some() && !expected)
            }
            SiteKind::Handler { .. } => {
                let status =
                    outcome
                        .status
                        .unwrap_or(if outcome.error.is_some() { 500 } else { 200 });
                // A 4xx is the client's mistake, not a failure of the service: it keeps its error kind
                // and message on the log line (at `warn`), but only a 5xx counts as an error.
                (Some(status), status >= 500)
            }
        };
        let (kind, message) = match &outcome.error {
            Some(e) => (Some(ErrorKind::Index(e.index)), Some(e.message)),
            None if failed => (Some(ErrorKind::Index(0)), None),
            None => (None, None),
        };
        // Only failed calls count in the error counter; a handler's 4xx keeps its kind for the log line.
        let counted = if failed { kind } else { None };
        let result = if failed {
            CompletionResult::Error
        } else if expected && status.is_none() {
            CompletionResult::ExpectedError
        } else {
            CompletionResult::Ok
        };
        self.record(result, status, Some(outcome.labels), counted, kind, message);
    }

    fn record(
        &self,
        result: CompletionResult,
        status: Option<u16>,
        labels: Option<ErrorLabels>,
        counted: Option<ErrorKind>,
        kind: Option<ErrorKind>,
        message: Option<ErrorMessage<'_>>,
    ) {
        let nanos = crate::clock::nanos_since(self.start);
        match self.metrics {
            CallMetrics::Red(red) => red.finish(result as usize, nanos, labels, counted, kind),
            // A cancelled request never produced a status: 499, as nginx logs a client that left.
            CallMetrics::Http(h) => h.finish(status.unwrap_or(499), nanos),
            CallMetrics::None => {}
        }
        if self.quiet && kind.is_some() {
            crate::http::record_failure(
                kind_label(kind, labels).unwrap_or("error"),
                message.as_ref().map(ToString::to_string),
            );
        }
        // The metrics path ends here: no span to record on, no line any subscriber could want.
        let line = !self.quiet
            && matches!(
                self.site.meta.line_level,
                Some(level) if level <= tracing::level_filters::LevelFilter::current()
            );
        if line || !self.span.span().is_disabled() {
            self.report(result, status, labels, kind, message, nanos, line);
        }
    }

    /// The span's status and the completion line.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        result: CompletionResult,
        status: Option<u16>,
        labels: Option<ErrorLabels>,
        kind: Option<ErrorKind>,
        message: Option<ErrorMessage<'_>>,
        nanos: u64,
        line: bool,
    ) {
        let site = self.site;
        let error_kind = kind_label(kind, labels);
        let span = self.span.span();
        if !span.is_disabled() {
            match result {
                CompletionResult::Error => {
                    span.record("otel.status_code", "ERROR");
                    span.record("error.type", error_kind.unwrap_or("error"));
                    if let Some(m) = &message {
                        let text = m.to_string();
                        span.record("otel.status_description", text.as_str());
                        crate::traces::record_exception(span, error_kind.unwrap_or("error"), &text);
                    }
                }
                CompletionResult::Ok => {
                    span.record("otel.status_code", "OK");
                }
                // A business outcome: its kind on the span, its status left unset (not an error).
                CompletionResult::ExpectedError => {
                    span.record("error.type", error_kind.unwrap_or("error"));
                }
                CompletionResult::Cancelled => {}
            }
            if let Some(code) = status {
                span.record("http.response.status_code", code);
            }
        }
        let http = match site.meta.kind {
            SiteKind::Handler { method, route, .. } => Some((method, route, status.unwrap_or(499))),
            SiteKind::Function { .. } | SiteKind::Business { .. } => None,
        };
        let operation = match site.meta.kind {
            SiteKind::Business { operation, .. } => operation,
            _ => "",
        };
        if !line {
            return;
        }
        (site.meta.emit)(&Completion {
            operation,
            function: site.function,
            module: site.meta.module,
            result,
            // Whole microseconds: `0.021451` ms prints as written, without float noise in the line.
            duration_ms: (nanos / 1000) as f64 / 1000.0,
            error_kind,
            error: message,
            http,
        });
    }
}

/// The `error_kind` value of a failed call.
fn kind_label(kind: Option<ErrorKind>, labels: Option<ErrorLabels>) -> Option<&'static str> {
    kind.map(|k| match k {
        ErrorKind::Panic => "panic",
        ErrorKind::Index(i) => labels
            .and_then(|l| l.labels.get(i).copied())
            .unwrap_or("error"),
    })
}

impl<S: SpanHandle> Drop for CallGuard<S> {
    fn drop(&mut self) {
        if self.done.replace(true) {
            return;
        }
        if std::thread::panicking() {
            let said = crate::panics::current();
            let panicked = match &said {
                Some(message) => ErrorMessage::Display(message),
                None => ErrorMessage::Opaque("panicked"),
            };
            let status = matches!(self.site.meta.kind, SiteKind::Handler { .. }).then_some(500);
            self.record(
                CompletionResult::Error,
                status,
                None,
                Some(ErrorKind::Panic),
                Some(ErrorKind::Panic),
                Some(panicked),
            );
        } else {
            // Async bodies: the future was dropped mid-flight. Sync bodies reach here only through an
            // exit the macro could not see (a `?` inside a macro call it could not parse), which is
            // almost always an error propagated by `?`.
            let result = if self.site.meta.sync_body {
                CompletionResult::Error
            } else {
                CompletionResult::Cancelled
            };
            let kind = (result == CompletionResult::Error).then_some(ErrorKind::Index(0));
            self.record(result, None, None, kind, kind, None);
        }
    }
}

/// Hands a call's return value to its guard and gives it back unchanged. The expanded code calls this at
/// every exit of the body, with a closure that probes the value's type at the call site.
#[inline]
pub fn finish<R, S, F>(guard: &CallGuard<S>, value: R, outcome: F) -> R
where
    S: SpanHandle,
    F: for<'a> FnOnce(&'a R) -> Outcome<'a>,
{
    guard.complete(outcome(&value));
    value
}
