//! What the macro knows about a call site at compile time, as the `static` it expands to holds it.

use crate::metrics::custom::CustomLabels;

/// What the macro knew about a call site.
pub struct SiteMeta {
    /// The `function` label when the macro knows it (`name = ".."`, or a function without `self`);
    /// `None` for methods, whose type is read from `type_name::<Self>()` on the first call.
    pub function: Option<&'static str>,
    /// The function's own name, for `Type::method`.
    pub fn_name: &'static str,
    /// `module_path!()`.
    pub module: &'static str,
    /// Which families the site records.
    pub kind: SiteKind,
    /// `metric = "..", labels(..)`: the site records its own families instead.
    pub custom: Option<&'static CustomLabels>,
    /// `objective(..)`: what generated alert rules hold this site to.
    pub objective: Option<crate::objective::ObjectiveDef>,
    /// `false` under `skip_metrics`.
    pub metrics: bool,
    /// The body is synchronous: it cannot be cancelled.
    pub sync_body: bool,
    /// `kind = ".."`: what the site's span is to OpenTelemetry (a handler's is always `server`).
    pub span_kind: SpanRole,
    /// Which completion lines the site writes.
    pub lines: Lines,
    /// The names of `fields(..)` (`attrs(..)`), in order: the values the expanded code gives
    /// [`crate::call::guard::CallGuard::field`] by index.
    pub fields: &'static [&'static str],
    /// The names of `redact(..)`: written as `"[REDACTED]"`, never evaluated.
    pub redacted: &'static [&'static str],
}

/// Which completion lines a site writes (`log = ..`, `level = ..`).
#[derive(Clone, Copy)]
pub struct Lines {
    /// The level of a success's line (and a cancellation's, at `info` at the most), or `None` when
    /// successes write none.
    pub success: Option<tracing::Level>,
    /// Failures write a line: `error` for a fault, `warn` for an expected outcome or an HTTP 4xx.
    pub failures: bool,
}

/// `kind = ".."`: the OpenTelemetry kind of a site's span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanRole {
    /// Work inside the service (the default).
    Internal,
    /// A call to something the service depends on: a database, a cache, another service.
    Client,
    /// Sending a message to a queue.
    Producer,
    /// Handling a message from a queue.
    Consumer,
}

/// Which families a site records.
pub enum SiteKind {
    /// `function_*`.
    Function {
        /// Histogram buckets in seconds.
        buckets: &'static [f64],
    },
    /// `business_operation*`, `#[business_span]`.
    Business {
        /// The operation's name, e.g. `process-order`.
        operation: &'static str,
        /// Histogram buckets in seconds.
        buckets: &'static [f64],
    },
    /// `http_*`, handler mode.
    Handler {
        /// The HTTP method, upper case.
        method: &'static str,
        /// The route template.
        route: &'static str,
        /// Histogram buckets in seconds.
        buckets: &'static [f64],
    },
}
