//! The guard that records one call. It is created when the body starts and records exactly once: when
//! the expanded code hands it the return value, or, when it is dropped without one, as a panic (the
//! thread is unwinding) or a cancellation (an async body's future was dropped mid-flight).

use super::completion::{write_completion_line, CompletionResult, LineFacts};
use super::meta::SiteKind;
use super::resolved::{CallMetrics, ResolvedSite};
use crate::call::probes::{ErrorMessage, Outcome};
use crate::installation::{Decisions, Installation};
use crate::labels::ErrorLabels;
use crate::logs::fields::FieldPlan;
use crate::logs::{write_span_summary, Own, SpanSummary};
use crate::metrics::series::ErrorKind;
use crate::span::OwnSpan;
use crate::traces::record::{OutcomeStatus, SpanOutcome, What};
use std::cell::Cell;
use tracing::level_filters::LevelFilter;

/// Records one call; see the module docs.
pub struct CallGuard {
    site: &'static ResolvedSite,
    metrics: CallMetrics,
    /// A [`crate::clock::now`] reading.
    start: u64,
    /// [`DONE`], [`ENTERED`], [`QUIET`].
    state: Cell<u8>,
    /// The call's span, when it has one.
    traced: Option<Traced>,
}

/// The call was recorded.
const DONE: u8 = 1;
/// A sync body's span is entered from its start to its completion.
const ENTERED: u8 = 1 << 1;
/// Writes no completion line: a handler-mode site under the HTTP layer, whose access line is the call's
/// line (the guard tells the layer why the call failed).
const QUIET: u8 = 1 << 2;

/// A call with a span: the installation it records for, what its site does there, and the span.
struct Traced {
    installation: &'static Installation,
    decisions: Decisions,
    span: OwnSpan,
}

impl CallGuard {
    #[inline(always)]
    pub(crate) fn start(site: &'static ResolvedSite, metrics: CallMetrics, quiet: bool) -> Self {
        match metrics {
            CallMetrics::Red(red) => red.start(),
            CallMetrics::Http(h) => h.start(),
            CallMetrics::None => {}
        }
        let start = crate::clock::now();
        // A span is `info`: when no subscriber wants `info` from anywhere, the call has none, and the
        // installation is looked up only if a line of its outcome's level could be wanted.
        let traced = if LevelFilter::current() >= LevelFilter::INFO {
            traced(site)
        } else {
            None
        };
        CallGuard {
            site,
            metrics,
            start,
            state: Cell::new(if quiet { QUIET } else { 0 }),
            traced,
        }
    }

    #[inline]
    fn span(&self) -> Option<&OwnSpan> {
        self.traced.as_ref().map(|t| &t.span)
    }

    #[inline]
    fn is(&self, flag: u8) -> bool {
        self.state.get() & flag != 0
    }

    /// Sets `flag`; says whether it was set already.
    #[inline]
    fn set(&self, flag: u8) -> bool {
        let state = self.state.get();
        self.state.set(state | flag);
        state & flag != 0
    }

    /// Whether the call has a span, so `fields(..)` are worth evaluating.
    #[inline]
    pub fn has_span(&self) -> bool {
        self.traced.is_some()
    }

    /// Sets field `index` of the site's `fields(..)` to `value`, redacted as it is written.
    #[inline]
    pub fn field<V: tracing::Value>(&self, index: usize, value: V) {
        let Some(Traced {
            installation, span, ..
        }) = &self.traced
        else {
            return;
        };
        let Some(name) = self.site.meta.fields.get(index).copied() else {
            return;
        };
        let redactor = &installation.lines.redactor;
        let plan = if self.site.field_redacted(installation, index) {
            FieldPlan::REDACTED
        } else {
            FieldPlan::FIELD
        };
        span.set(name, true, |out| {
            crate::logs::fields::render_value(out, redactor, name, plan, &value)
        });
    }

    /// Makes the call's span the one its body runs in (sync bodies: until completion).
    #[inline]
    pub fn enter(&self) {
        if let Some(span) = self.span() {
            span.enter();
            self.set(ENTERED);
        }
    }

    /// Enters the span for one poll of an async body.
    #[inline]
    pub(crate) fn enter_poll(&self) {
        if let Some(span) = self.span() {
            span.enter();
        }
    }

    /// Leaves the span after one poll of an async body.
    #[inline]
    pub(crate) fn exit_poll(&self) {
        if let Some(span) = self.span() {
            span.exit();
        }
    }

    /// Leaves a sync body's span (completion, or a future handed to [`super::ObservedFuture`]).
    #[inline]
    pub(crate) fn exit(&self) {
        if self.is(ENTERED) {
            self.state.set(self.state.get() & !ENTERED);
            if let Some(span) = self.span() {
                span.exit();
            }
        }
    }

    /// Records a completed call from what the expanded code learnt of its return value.
    #[inline]
    pub fn complete(&self, outcome: Outcome<'_>) {
        if self.set(DONE) {
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
        self.record(Ended {
            result,
            status,
            labels: Some(outcome.labels),
            counted,
            kind,
            message,
        });
    }

    fn record(&self, ended: Ended<'_>) {
        let end = crate::clock::now();
        let nanos = crate::clock::between(self.start, end);
        self.exit();
        match self.metrics {
            CallMetrics::Red(red) => red.finish(
                ended.result as usize,
                nanos,
                ended.labels,
                ended.counted,
                ended.kind,
            ),
            // A cancelled request never produced a status: 499, as nginx logs a client that left.
            CallMetrics::Http(h) => h.finish(ended.status.unwrap_or(499), nanos),
            CallMetrics::None => {}
        }
        let quiet = self.is(QUIET);
        if quiet && ended.kind.is_some() {
            crate::http::record_failure(
                kind_label(ended.kind, ended.labels).unwrap_or("error"),
                ended.message.as_ref().map(ToString::to_string),
            );
        }
        // The metrics path ends here: no span to record, no line any filter lets through.
        let line = super::completion::line_level(self.site.meta, ended.result, ended.status)
            .filter(|(level, _)| !quiet && *level <= LevelFilter::current());
        if self.traced.is_some() || line.is_some() {
            self.report(&ended, line, end, nanos);
        }
    }

    /// The completion line (`line`: its level, and whether it carries the error), the exported span
    /// and its summary.
    #[inline(never)]
    fn report(
        &self,
        ended: &Ended<'_>,
        line: Option<(tracing::Level, bool)>,
        end: u64,
        nanos: u64,
    ) {
        let site = self.site;
        let (installation, decisions) = match &self.traced {
            Some(traced) => (traced.installation, traced.decisions),
            // No span was possible; a line of this level may still be wanted.
            None => match crate::context::layer::current() {
                Some(installation) => (installation, site.decisions(installation)),
                None => return,
            },
        };
        let error_kind = kind_label(ended.kind, ended.labels);
        let line = line.filter(|(level, _)| decisions.line(*level));
        // The error's text, written once (the application's `Display` runs here, before any lock), for
        // the line, the span's status and its `exception` event.
        let exported = decisions.exported() && self.span().is_some_and(|s| s.ids().sampled);
        let message = ended
            .message
            .as_ref()
            .filter(|_| line.is_some() || exported || decisions.summary())
            .map(ToString::to_string);
        let values = self.span().and_then(OwnSpan::take_values);
        if let Some((level, error_fields)) = line {
            write_completion_line(
                installation,
                level,
                &LineFacts {
                    site,
                    result: ended.result,
                    duration_micros: nanos / 1000,
                    error_kind,
                    error: message.as_deref(),
                    http_status: ended.status,
                    error_fields,
                },
                self.span().map(|s| Own {
                    ids: s.ids(),
                    site: s.site_values(),
                    values: values.as_deref(),
                }),
            );
        }
        let Some(span) = self.span() else {
            return;
        };
        let status = match ended.result {
            CompletionResult::Error => OutcomeStatus::Error,
            CompletionResult::Ok => OutcomeStatus::Ok,
            // A business outcome: its kind on the span, its status left unset (not an error).
            CompletionResult::ExpectedError | CompletionResult::Cancelled => OutcomeStatus::Unset,
        };
        if decisions.summary() {
            write_span_summary(
                &installation.lines,
                &SpanSummary {
                    name: site.span_site().name,
                    ids: span.ids(),
                    parent: span.parent_span_id(),
                    duration_ms: nanos as f64 / 1e6,
                    status: match status {
                        OutcomeStatus::Error => "ERROR",
                        OutcomeStatus::Ok => "OK",
                        OutcomeStatus::Unset => "UNSET",
                    },
                    description: message
                        .as_deref()
                        .filter(|_| status == OutcomeStatus::Error),
                },
            );
        }
        if exported {
            let error_kind = match ended.result {
                CompletionResult::Error | CompletionResult::ExpectedError => {
                    Some(error_kind.unwrap_or("error"))
                }
                _ => None,
            };
            span.export(
                installation,
                self.start,
                end,
                What::Site(site.span_site()),
                SpanOutcome {
                    status,
                    error_kind,
                    message: message
                        .filter(|_| status == OutcomeStatus::Error)
                        .map(String::into_boxed_str),
                    status_code: ended.status,
                    trace_state: None,
                },
                values,
            );
        }
    }
}

/// The call's span, with `redact(..)`'s fields set, when its site has one under the current installation.
#[inline]
fn traced(site: &'static ResolvedSite) -> Option<Traced> {
    let installation = crate::context::layer::current()?;
    let decisions = site.decisions(installation);
    if !decisions.span() {
        return None;
    }
    let span = OwnSpan::start(installation, site.site_values.as_ref());
    for name in site.meta.redacted {
        span.set(*name, true, |out| {
            crate::logs::line::push_json(out, crate::redact::REDACTED);
            true
        });
    }
    Some(Traced {
        installation,
        decisions,
        span,
    })
}

/// How a call ended, as the guard learnt it.
struct Ended<'a> {
    result: CompletionResult,
    status: Option<u16>,
    labels: Option<ErrorLabels>,
    /// The fault to count.
    counted: Option<ErrorKind>,
    /// The error's kind, counted or not (a handler's 4xx).
    kind: Option<ErrorKind>,
    message: Option<ErrorMessage<'a>>,
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

impl Drop for CallGuard {
    fn drop(&mut self) {
        if self.set(DONE) {
            self.exit();
            return;
        }
        if std::thread::panicking() {
            let said = crate::panics::current();
            let panicked = match &said {
                Some(message) => ErrorMessage::Display(message),
                None => ErrorMessage::Opaque("panicked"),
            };
            let status = matches!(self.site.meta.kind, SiteKind::Handler { .. }).then_some(500);
            self.record(Ended {
                result: CompletionResult::Error,
                status,
                labels: None,
                counted: Some(ErrorKind::Panic),
                kind: Some(ErrorKind::Panic),
                message: Some(panicked),
            });
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
            self.record(Ended {
                result,
                status: None,
                labels: None,
                counted: kind,
                kind,
                message: None,
            });
        }
    }
}

/// Hands a call's return value to its guard and gives it back unchanged.
#[inline]
pub fn finish<R>(
    guard: &CallGuard,
    value: R,
    outcome: impl for<'a> FnOnce(&'a R) -> Outcome<'a>,
) -> R {
    guard.complete(outcome(&value));
    value
}
