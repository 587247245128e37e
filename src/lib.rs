//! # sightline
//!
//! Observability by annotation. `#[observe]` on a function or an HTTP handler gives it what a seasoned SRE
//! would wire by hand: Prometheus RED metrics (rate, errors, duration, in-flight), an error counter with a
//! bounded `error_kind`, a `tracing` span, and one structured JSON log line per call whose secrets are
//! redacted before they reach any writer.
//!
//! ```no_run
//! use sightline::{observe, ErrorLabel};
//!
//! #[derive(Debug, ErrorLabel)]
//! enum PaymentError {
//!     Declined,
//!     ProviderDown,
//! }
//!
//! impl std::fmt::Display for PaymentError {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         write!(f, "{self:?}")
//!     }
//! }
//!
//! #[observe(fields(amount_cents = amount_cents))]
//! fn charge_payment(amount_cents: u64) -> Result<String, PaymentError> {
//!     if amount_cents == 0 {
//!         return Err(PaymentError::Declined);
//!     }
//!     Ok("ch_1".to_string())
//! }
//!
//! fn main() -> Result<(), sightline::Error> {
//!     let _telemetry = sightline::init("order-service")?;
//!     let _ = charge_payment(1999);
//!     print!("{}", sightline::metrics::render());
//!     Ok(())
//! }
//! ```
//!
//! ## What `#[observe]` records
//!
//! Per call, through a guard that also runs on panic and when a future is dropped before completion:
//!
//! | family | labels |
//! |---|---|
//! | `function_calls_total` | `function`, `module`, `result` (`ok`, `error`, `cancelled`) |
//! | `function_errors_total` | `function`, `module`, `error_kind` |
//! | `function_call_duration_seconds` | `function`, `module`, `result` |
//! | `function_calls_in_flight` | `function`, `module` |
//!
//! A call is an error when it returns `Err(_)`, decided on the type (aliases such as `io::Result` count),
//! or panics (`error_kind="panic"`; the panic continues unchanged). `None` is not an error. A dropped
//! future counts as `cancelled`; one dropped before its first poll never started and is not counted.
//! `error_kind` comes from [`ErrorLabel`] (derive it on the error enum), else `"error"`.
//!
//! `function` is the function's name, or `Type::method` for methods with a `self` receiver, read from
//! `type_name::<Self>()` on the first call. A call site keeps the first name it resolves: where one site
//! serves several `Self` types (a trait's default method, a blanket impl), write `name = "..."`.
//!
//! Handler mode, `#[observe(route = "/api/v1/orders", method = "POST")]`, records instead
//! `http_requests_total{method, route, status_code}`, `http_request_duration_seconds{..}` and
//! `http_requests_in_flight{method, route}`, with the status from [`HttpStatus`]. A return type without
//! an implementation (including `impl IntoResponse`) counts `Ok` as 200 and `Err` as 500.
//!
//! ## Options
//!
//! | option | effect |
//! |---|---|
//! | `name = "charge"` | the `function` label and span name |
//! | `route = "/x", method = "GET"` | handler mode (both string literals) |
//! | `fields(a = expr, b.c = expr)` | values recorded on the span and the completion line |
//! | `redact(password = expr)` | a field recorded as `"[REDACTED]"` (the expression is not evaluated) |
//! | `log = "all" \| "errors" \| "off"` | which completion lines are written (default `all`) |
//! | `level = "debug"` | the success line's level (default `info`) |
//! | `buckets = [0.001, 0.01]` | this site's histogram buckets, in seconds |
//! | `skip_metrics` | span and log line only |
//! | `crate = path` | where sightline is, for crates that re-export it; `#[sightline(crate = path)]` on a derived type, `objective!(crate = path, ..)` |
//! | `metric = "charges", labels(provider = expr)` | own families with typed labels ([`LabelValue`]) |
//! | `max_series = 5000` | the series budget of `labels(...)` (default 1000) |
//!
//! ## Labels
//!
//! A label value is a string literal, a `bool`, or a [`LabelValue`] (derive it on a fieldless enum), or an
//! `Option` of one (its values and `none`); `String`, numbers and ids do not compile. Names such as
//! `user_id`, `path` or `email` are refused whatever their type. The product of the labels'
//! cardinalities times the four outcomes must
//! not exceed `max_series`: that check is a constant evaluated when the function is compiled to code, so
//! `cargo build` reports it and `cargo check` / rust-analyzer do not; a generic function is checked when
//! it is instantiated. Sites sharing a `metric` must declare the same label names: `install()` returns
//! [`Error::LabelConflict`] naming both. [`catalog()`] lists every instrumented site.
//!
//! A field whose name looks like a secret (`password`, `token`, `api_key`, ...) does not compile: use
//! `redact(...)`.
//!
//! ## Where errors are reported
//!
//! Every mistake in an attribute is reported by `cargo check` beside the untouched function. MSRV: Rust
//! 1.78 (for `#[diagnostic::on_unimplemented]`).
//!
//! ## Turning it off
//!
//! `RUSTFLAGS="--cfg sightline_disable" cargo build` compiles every `#[observe]` and `#[business_span]` to
//! the bare function: no metrics, span, log line or catalogue entry. The attributes are still checked, and
//! the expressions of `fields(..)`, `attrs(..)`, `redact(..)` and `labels(..)` are type-checked but never
//! evaluated, so code that builds with the switch builds without it. The derives and `objective!` are
//! unchanged; [`init()`], `install()` and the builders still work and simply see no calls. It is a cfg
//! rather than a cargo feature because features are additive (one dependency could switch sightline off
//! for every crate in the build); it is read inside `sightline-runtime`, so your crate never names it and
//! `unexpected_cfgs` stays quiet.

#![forbid(unsafe_code)]

pub use sightline_macros::{business_span, objective, observe, ErrorLabel, LabelValue};
pub use sightline_runtime::{
    catalog, catalog_json, extract_map, http, init, inject_map, logs, metrics, record, Carrier,
    Continued, Error, ErrorLabel, HttpStatus, LabelConflict, LabelInfo, LabelValue, ObjectiveDef,
    RecordValue, RemoteContext, SiteInfo, StatusClass, Telemetry, TelemetryBuilder, TelemetryGuard,
    Undelivered,
};

/// Alert rules with their promtool tests, an Alertmanager route, a Prometheus scrape config and Grafana
/// dashboards, generated from this binary's catalogue ([`alerts::catalog`]); the `sightline-alerts`
/// binary generates the same files from the catalogue file a service writes.
///
/// ```no_run
/// let catalog = sightline::alerts::catalog()?;
/// let config = catalog.alert_config("order-service", "127.0.0.1:3000");
/// sightline::alerts::export(std::path::Path::new("observability"), &config, &catalog.objectives)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "alerts")]
pub mod alerts {
    pub use sightline_alerts::*;

    /// This binary's catalogue, as the generators read it: its sites' objectives, the service name
    /// (after `install()`), and the names the installed registry gives the families. Read through the
    /// same JSON [`catalog_json`](crate::catalog_json) writes, so a catalogue file gives the same files.
    pub fn catalog() -> Result<Catalog, CatalogError> {
        Catalog::from_json(&crate::catalog_json())
    }
}

/// Spans, metrics and access lines for tonic servers and clients (feature `grpc`).
#[cfg(feature = "grpc")]
pub use sightline_runtime::grpc;

#[doc(hidden)]
pub use sightline_runtime::__private;
