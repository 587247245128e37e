//! What a finished call hands to its site's completion line.

use super::probes::ErrorMessage;
use std::fmt;

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

/// What the completion log line says; handed to the site's generated `emit` function.
pub struct Completion<'a> {
    /// The `function` label.
    pub function: &'static str,
    /// `module_path!()` of the site.
    pub module: &'static str,
    /// How the call ended.
    pub result: CompletionResult,
    /// Wall time of the call in milliseconds.
    pub duration_ms: f64,
    /// `error_kind` on error.
    pub error_kind: Option<&'static str>,
    /// The error's text on error.
    pub error: Option<ErrorMessage<'a>>,
    /// Handler mode: method, route, status.
    pub http: Option<(&'static str, &'static str, u16)>,
    /// `#[business_span]`: the operation.
    pub operation: &'static str,
}

impl Completion<'_> {
    /// The `result` field.
    pub fn result_str(&self) -> &'static str {
        self.result.as_str()
    }

    /// The `error_kind` field (empty when the call did not fail).
    pub fn error_kind_str(&self) -> &'static str {
        self.error_kind.unwrap_or("")
    }

    /// The `error` field, for `%` formatting.
    pub fn error_display(&self) -> &dyn fmt::Display {
        match &self.error {
            Some(message) => message,
            None => &"",
        }
    }

    /// Handler mode's `method`.
    pub fn method(&self) -> &'static str {
        self.http.map_or("", |h| h.0)
    }

    /// Handler mode's `route`.
    pub fn route(&self) -> &'static str {
        self.http.map_or("", |h| h.1)
    }

    /// Handler mode's `status_code`.
    pub fn status_code(&self) -> u16 {
        self.http.map_or(0, |h| h.2)
    }
}
