//! A finished call's completion line: at its site's target and at the level its outcome and the site's
//! `log`/`level` settings give, with its name, outcome and duration, and the fields of its span and of
//! every span around it.

use super::meta::{SiteKind, SiteMeta};
use super::resolved::ResolvedSite;
use crate::installation::Installation;
use crate::logs::line::{push_json, push_millis, push_own_key, push_u64};
use crate::logs::{write_own_line, Own};
use crate::redact::TextKind;
use tracing::Level;

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionResult {
    /// Returned a value that is not an error.
    Ok = 0,
    /// Returned `Err(_)` (handler mode: a 5xx status) or panicked.
    Error = 1,
    /// An async call whose future was dropped before it completed.
    Cancelled = 2,
    /// Returned an error its type marks as an expected outcome (`#[error_label(expected)]`): a business
    /// outcome such as a declined card, not a fault.
    ExpectedError = 3,
}

impl CompletionResult {
    /// The `result` label value.
    pub fn as_str(self) -> &'static str {
        crate::metrics::series::OUTCOMES[self as usize]
    }
}

/// The level of a call's line, and whether it carries `error_kind` and `error`; `None` when the site
/// writes no line for this outcome.
pub(crate) fn line_level(
    meta: &SiteMeta,
    result: CompletionResult,
    status: Option<u16>,
) -> Option<(Level, bool)> {
    let lines = meta.lines;
    let handler = matches!(meta.kind, SiteKind::Handler { .. });
    match result {
        // Handler mode: a 4xx is not a failure of the service, but it is worth a `warn` with its kind.
        CompletionResult::Ok if handler && lines.failures && status.is_some_and(|s| s >= 400) => {
            Some((Level::WARN, true))
        }
        CompletionResult::Ok => lines.success.map(|level| (level, false)),
        CompletionResult::Error => lines.failures.then_some((Level::ERROR, true)),
        // An expected outcome (a declined card): worth a `warn` with its kind, not an error.
        CompletionResult::ExpectedError => lines.failures.then_some((Level::WARN, true)),
        CompletionResult::Cancelled => lines.success.map(|_| (Level::INFO, false)),
    }
}

/// What a call's line says of the call.
pub(crate) struct LineFacts<'a> {
    pub(crate) site: &'static ResolvedSite,
    pub(crate) result: CompletionResult,
    /// Wall time, in whole microseconds (written in milliseconds).
    pub(crate) duration_micros: u64,
    pub(crate) error_kind: Option<&'static str>,
    /// The error's text, as its `Display` wrote it (redacted here).
    pub(crate) error: Option<&'a str>,
    /// Handler mode's status code.
    pub(crate) http_status: Option<u16>,
    /// The line carries `error_kind` and `error`.
    pub(crate) error_fields: bool,
}

/// Writes the completion line of a call; `own` is the call's span (its ids and values), if it has one.
pub(crate) fn write_completion_line(
    installation: &Installation,
    level: Level,
    facts: &LineFacts<'_>,
    own: Option<Own<'_>>,
) {
    let meta = facts.site.meta;
    let parts = &facts.site.line_parts;
    let sink = &installation.lines;
    write_own_line(sink, &level, &parts.target, None, own, |line, keys| {
        line.extend_from_slice(&parts.identity);
        match meta.kind {
            SiteKind::Business { .. } => {
                keys.push("operation");
                own_label(line, keys, "outcome", facts.result.as_str());
            }
            SiteKind::Function { .. } | SiteKind::Handler { .. } => {
                keys.extend(["function", "module"]);
                own_label(line, keys, "result", facts.result.as_str());
            }
        }
        push_own_key(line, "duration_ms");
        keys.push("duration_ms");
        push_millis(line, facts.duration_micros);
        if let SiteKind::Handler { .. } = meta.kind {
            line.extend_from_slice(&parts.http);
            keys.extend(["method", "route"]);
            push_own_key(line, "status_code");
            keys.push("status_code");
            push_u64(line, u64::from(facts.http_status.unwrap_or(499)));
        }
        if facts.error_fields {
            own_label(line, keys, "error_kind", facts.error_kind.unwrap_or(""));
            push_own_key(line, "error");
            keys.push("error");
            let text = facts.error.unwrap_or("");
            // An error's text is prose that can quote a request: scanned like a message.
            let redacted = sink.redactor.redact_text(text, TextKind::Message);
            push_json(line, redacted.as_deref().unwrap_or(text));
        }
    });
}

/// One of sightline's own bounded labels (a function's name, `ok`, a route template): never text from a
/// request, so never scanned.
#[inline]
fn own_label(
    line: &mut Vec<u8>,
    keys: &mut smallvec::SmallVec<[&'static str; 8]>,
    key: &'static str,
    value: &str,
) {
    push_own_key(line, key);
    keys.push(key);
    push_json(line, value);
}
