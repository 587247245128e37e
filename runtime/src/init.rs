//! One line to set up: the JSON log layer with redaction, the log level, and the metrics registry.

use crate::context::layer::ContextLayer;
use crate::installation::{own_filter, Installation};
use crate::logs::{Handoff, LineSink, LogLayer, MakeLines, Redactor, Writer};
use crate::loss;
use crate::traces::{TraceConfig, Traces};
use crate::Error;
use prometheus::Registry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Sets up telemetry for `service` with every default: JSON logs to stdout at `LOG_LEVEL` (default
/// `info`; `RUST_LOG` wins when set), metrics in `prometheus::default_registry()`.
///
/// ```no_run
/// # use sightline_runtime as sightline;
/// let _telemetry = sightline::init("order-service")?;
/// # Ok::<(), sightline::Error>(())
/// ```
pub fn init(service: impl Into<String>) -> Result<TelemetryGuard, Error> {
    Telemetry::builder(service).install()
}

/// Entry point of the builder: `Telemetry::builder("order-service")`.
pub struct Telemetry;

impl Telemetry {
    /// A builder for `service` (the `service` field of every log line).
    pub fn builder(service: impl Into<String>) -> TelemetryBuilder {
        TelemetryBuilder {
            service: service.into(),
            writer: None,
            level: None,
            redact: Vec::new(),
            redact_pii: false,
            scan_values: true,
            registry: None,
            process_metrics: true,
            service_version: None,
            otlp_endpoint: None,
            span_exporter: None,
            log_buffer_lines: crate::logs::DEFAULT_BUFFER_LINES,
        }
    }
}

/// Configures telemetry; finish with [`install`](Self::install) or [`into_layer`](Self::into_layer).
#[must_use = "call .install() to set telemetry up"]
pub struct TelemetryBuilder {
    service: String,
    writer: Option<MakeLines>,
    level: Option<String>,
    redact: Vec<String>,
    redact_pii: bool,
    scan_values: bool,
    registry: Option<Registry>,
    process_metrics: bool,
    service_version: Option<String>,
    otlp_endpoint: Option<String>,
    span_exporter: Option<crate::traces::CustomExporter>,
    log_buffer_lines: usize,
}

impl TelemetryBuilder {
    /// Where log lines go: any `tracing_subscriber::fmt::MakeWriter`, called on the logging thread.
    /// Default: stdout through a writer thread (see [`log_buffer_lines`](Self::log_buffer_lines)).
    pub fn log_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        self.writer = Some(MakeLines::new(writer));
        self
    }

    /// How many lines the default stdout writer holds for its writer thread (default 8192). The logging
    /// thread never waits on stdout: when the writer thread is this far behind (stdout is a full pipe, a
    /// slow terminal), further lines are dropped and counted in `sightline_log_lines_dropped_total`.
    pub fn log_buffer_lines(mut self, lines: usize) -> Self {
        self.log_buffer_lines = lines.max(1);
        self
    }

    /// The log level or `RUST_LOG`-style directives (`"debug"`, `"info,my_crate=debug"`). The
    /// environment overrides it, so operators can change a running deployment's level without a rebuild:
    /// `RUST_LOG` first, then `LOG_LEVEL`, then this, then `info`.
    pub fn log_level(mut self, level: impl Into<String>) -> Self {
        self.level = Some(level.into());
        self
    }

    /// Extra keys or paths to redact, on top of the built-in sensitive names: `"session_key"` (a key at
    /// any depth), `"body.credit_card"` (a path from the top of the line), `"*.token"` (`*` is one
    /// segment).
    pub fn redact<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.redact.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Also redacts personal data, in log lines and exported spans: values under names such as `email`,
    /// `phone`, `mobile`, `client_ip`, and e-mail addresses and phone numbers wherever they appear in
    /// text (messages, string fields, `Debug` output, JSON). Default: off, since many services must log
    /// who a request was for.
    pub fn redact_pii(mut self, on: bool) -> Self {
        self.redact_pii = on;
        self
    }

    /// Whether text is scanned for secrets beyond their key: card numbers, tokens and private keys by
    /// their shape in every message and string value, and sensitive `key: value` pairs inside `Debug`
    /// output, JSON-like text and prose. Default: on. Off, only values under sensitive keys (and inside
    /// JSON text) are redacted; `BENCHMARKS.md` gives what scanning costs.
    pub fn scan_values(mut self, on: bool) -> Self {
        self.scan_values = on;
        self
    }

    /// The registry the metric families are registered into. Default: `prometheus::default_registry()`.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Whether to register the process collector (`process_resident_memory_bytes`, CPU, file
    /// descriptors; Linux only). Default: on.
    pub fn process_metrics(mut self, on: bool) -> Self {
        self.process_metrics = on;
        self
    }

    /// The `service.version` resource attribute of exported spans (e.g. `env!("CARGO_PKG_VERSION")`).
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Exports spans over OTLP/HTTP (protobuf) to the collector at `base_url` (`http://localhost:4318`;
    /// `/v1/traces` is appended). Without it, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (plus `/v1/traces`) are used; with none, spans are not exported but
    /// log lines still carry `trace_id` and `span_id`. `OTEL_SERVICE_NAME` overrides the service name of
    /// exported spans; `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` choose the sampler.
    pub fn otlp_endpoint(mut self, base_url: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(base_url.into());
        self
    }

    /// Exports spans with `exporter` (any `opentelemetry_sdk` 0.33 `SpanExporter`: another protocol, a
    /// test double, a no-op one) instead of OTLP/HTTP; spans go through the same redaction and bounded
    /// batching. Wins over `otlp_endpoint` and the environment, except `OTEL_SDK_DISABLED=true`.
    pub fn span_exporter<E>(mut self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::trace::SpanExporter + 'static,
    {
        self.span_exporter = Some(crate::traces::CustomExporter::new(exporter));
        self
    }

    /// Registers the metrics and installs the global `tracing` subscriber. A refused installation (a bad
    /// setting, a registry conflict, another subscriber already set) changes nothing: no family stays
    /// registered, no thread keeps running, and a corrected second call succeeds.
    pub fn install(self) -> Result<TelemetryGuard, Error> {
        if INSTALLED.swap(true, Ordering::SeqCst) {
            return Err(Error::AlreadyInstalled);
        }
        let installed = self
            .build::<tracing_subscriber::Registry>()
            .and_then(|parts| {
                let subscriber = tracing_subscriber::registry().with(parts.layer);
                match tracing::subscriber::set_global_default(subscriber) {
                    Ok(()) => {
                        crate::panics::install_hook();
                        Ok(parts.guard)
                    }
                    Err(_) => {
                        parts.registration.roll_back();
                        Err(Error::AlreadyInstalled)
                    }
                }
            });
        if installed.is_err() {
            INSTALLED.store(false, Ordering::SeqCst);
        }
        installed
    }

    /// Registers the metrics and hands back the log layer (with its level filter) instead of installing
    /// it, for applications that compose their own subscriber.
    #[allow(clippy::type_complexity)]
    pub fn into_layer<S>(self) -> Result<(Box<dyn Layer<S> + Send + Sync>, TelemetryGuard), Error>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        self.build().map(|parts| {
            crate::panics::install_hook();
            (parts.layer, parts.guard)
        })
    }

    /// Every setting is checked before anything starts or is registered, so that an error leaves the
    /// process as it was.
    fn build<S>(self) -> Result<Parts<S>, Error>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let (filter, summaries, directives) = level_filter(self.level.as_deref())?;
        let traces_filter = level_filter(self.level.as_deref())?.0;
        let redactor = Redactor::new(self.redact)
            .pii(self.redact_pii)
            .scan_values(self.scan_values);
        let traces = Traces::build(TraceConfig {
            service_version: self.service_version,
            endpoint: self.otlp_endpoint,
            redactor: redactor.clone(),
            exporter: self.span_exporter,
            ..TraceConfig::new(self.service.clone())
        })?;
        let registry = self
            .registry
            .unwrap_or_else(|| prometheus::default_registry().clone());
        let registration = crate::catalog::prepare()
            .map_err(Error::LabelConflict)
            .and_then(|()| crate::metrics::install_into(&registry, self.process_metrics));
        let registration = match registration {
            Ok(registration) => registration,
            Err(error) => {
                traces.shutdown(TRACES_SHUTDOWN_TIMEOUT);
                return Err(error);
            }
        };
        crate::clock::calibrate();
        let (writer, handoff) = match self.writer {
            Some(writer) => (Writer::Make(writer), None),
            None => match Handoff::stdout(self.log_buffer_lines) {
                Some(handoff) => (Writer::Handoff(handoff.clone()), Some(handoff)),
                None => (Writer::Make(MakeLines::new(std::io::stdout)), None),
            },
        };
        let lines = Arc::new(LineSink::new(&self.service, Arc::new(redactor), writer));
        let sink = warning_sink(&lines);
        let service = self.service.clone();
        let installation = Installation::leak(crate::installation::Parts {
            lines: Arc::clone(&lines),
            filter: own_filter(&directives),
            rings: traces.rings(),
            sampler: traces.sampler().clone(),
            max_level: traces.max_level(),
        });
        let log = LogLayer::new(lines).with_span_summaries(!traces.exporting() && summaries);
        // A second filter from the same directives: in local mode the trace layer follows the log level.
        let traces_layer = traces.layer(traces_filter);
        let layer = ContextLayer { installation }
            .and_then(log.with_filter(filter))
            .and_then(traces_layer)
            .boxed();
        crate::warn::set_sink(Some(Arc::clone(&sink)));
        crate::catalog::installed(&service);
        let pipelines = Arc::new(Pipelines {
            traces,
            logs: handoff,
            sink,
            done: AtomicBool::new(false),
        });
        exit::watch(&pipelines);
        Ok(Parts {
            layer,
            guard: TelemetryGuard {
                pipelines: Some(pipelines),
            },
            registration,
        })
    }
}

/// What [`TelemetryBuilder::build`] makes.
struct Parts<S> {
    layer: Box<dyn Layer<S> + Send + Sync>,
    guard: TelemetryGuard,
    registration: crate::metrics::Registration,
}

/// sightline's own warnings as JSON lines on the log writer; see [`crate::warn`].
fn warning_sink(lines: &Arc<LineSink>) -> Arc<crate::warn::Sink> {
    let lines = Arc::clone(lines);
    Arc::new(move |message: &str, suppressed: u64| {
        lines.try_write(&crate::logs::warning_line(&lines, message, suppressed))
    })
}

/// `RUST_LOG`, then `LOG_LEVEL`, then the builder's level, then `info`. Every directive is checked: a
/// level must be one of `trace`, `debug`, `info`, `warn`, `error`, `off`, and a bare word that is not one
/// (`LOG_LEVEL=verbose`) is refused rather than read as a target, which would turn every other log off.
///
/// Directives that name only targets and levels (`info,sqlx=warn`, the common case) become a `Targets`
/// filter, decided once per callsite; an `EnvFilter` also tracks every span for its span and field
/// directives (`[request{user=..}]=debug`), a lock on each enter and exit of every span, so it is used
/// only when such directives are given.
///
/// Also says whether span summaries (`sightline::spans` at `debug`) can ever be enabled, so a layer whose
/// level rules them out does no per-span work for them.
#[allow(clippy::type_complexity)]
fn level_filter<S>(
    builder: Option<&str>,
) -> Result<(Box<dyn Filter<S> + Send + Sync>, bool, String), Error>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (variable, directives) = from_env("RUST_LOG")
        .map(|v| ("RUST_LOG", v))
        .or_else(|| from_env("LOG_LEVEL").map(|v| ("LOG_LEVEL", v)))
        .or_else(|| builder.map(|v| ("log_level", v.to_owned())))
        .unwrap_or_else(|| ("log_level", "info".to_owned()));
    let invalid = |reason: String| Error::InvalidLogLevel {
        variable,
        value: directives.clone(),
        reason,
    };
    check_levels(&directives).map_err(invalid)?;
    let env_filter = EnvFilter::builder()
        .parse(&directives)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(match directives.parse::<Targets>() {
        Ok(targets) => {
            let summaries = targets.would_enable("sightline::spans", &tracing::Level::DEBUG);
            (Box::new(targets), summaries, directives)
        }
        Err(_) => (Box::new(env_filter), true, directives),
    })
}

/// The accepted levels, as an error names them.
const LEVELS: &str = "trace, debug, info, warn, error or off";

/// Checks the level of every directive: `level`, `target=level`; span directives (`[span{..}]=level`)
/// are left to `EnvFilter`'s own parser.
fn check_levels(directives: &str) -> Result<(), String> {
    let is_level = |text: &str| {
        ["trace", "debug", "info", "warn", "error", "off"]
            .iter()
            .any(|level| text.trim().eq_ignore_ascii_case(level))
    };
    for directive in directives.split(',').map(str::trim) {
        if directive.is_empty() || directive.contains('[') {
            continue;
        }
        match directive.rsplit_once('=') {
            Some((_, level)) if is_level(level) => {}
            Some((target, level)) => {
                return Err(format!(
                    "{level:?} (for {target:?}) is not a level; use {LEVELS}"
                ))
            }
            None if is_level(directive) => {}
            None => {
                return Err(format!(
                    "{directive:?} is not a level; use {LEVELS}, or {directive:?}=trace to enable everything \
                     the target {directive:?} logs"
                ))
            }
        }
    }
    Ok(())
}

/// What flushing or shutting down telemetry could not deliver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use = "what could not be delivered is worth a look: `undelivered.is_empty()`"]
pub struct Undelivered {
    /// Spans that did not reach the collector: lost while flushing (its export failed, or its deadline
    /// passed with them still waiting), or, for a flush, still waiting when it returned.
    pub spans: u64,
    /// Log lines that did not reach stdout, counted likewise.
    pub log_lines: u64,
}

impl Undelivered {
    /// Whether everything was delivered.
    pub fn is_empty(&self) -> bool {
        self.spans == 0 && self.log_lines == 0
    }
}

impl std::fmt::Display for Undelivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} spans and {} log lines were not delivered",
            self.spans, self.log_lines
        )
    }
}

/// The running parts of one installation, shared by its guard and the exit hook.
struct Pipelines {
    traces: Traces,
    logs: Option<Handoff>,
    sink: Arc<crate::warn::Sink>,
    done: AtomicBool,
}

impl Pipelines {
    fn flush(&self, timeout: Duration) -> Undelivered {
        let (spans_before, lines_before) = (loss::spans_lost_total(), loss::lines_lost_total());
        let spans_waiting = self.traces.force_flush(timeout);
        let lines_waiting = match &self.logs {
            Some(logs) if !logs.flush(timeout) => logs.pending(),
            _ => 0,
        };
        Undelivered {
            spans: loss::spans_lost_total() - spans_before + spans_waiting,
            log_lines: loss::lines_lost_total() - lines_before + lines_waiting,
        }
    }

    /// Exports and writes what is buffered, each within its bound, and stops; a second call does
    /// nothing. What was lost meanwhile is counted (`reason="shutdown"` for what the bounds cut off).
    fn shutdown(&self, timeout: Duration) -> Undelivered {
        if self.done.swap(true, Ordering::SeqCst) {
            return Undelivered::default();
        }
        let (spans_before, lines_before) = (loss::spans_lost_total(), loss::lines_lost_total());
        self.traces.shutdown(timeout);
        // After the spans: shutting the exporter down can still log.
        if let Some(logs) = &self.logs {
            if !logs.flush(timeout) {
                logs.abandon();
            }
        }
        crate::warn::clear_sink(&self.sink);
        let _ = std::io::Write::flush(&mut std::io::stdout());
        Undelivered {
            spans: loss::spans_lost_total() - spans_before,
            log_lines: loss::lines_lost_total() - lines_before,
        }
    }
}

/// Keeps telemetry running: dropping it exports the spans and writes the log lines still buffered, each
/// within 5 seconds, and warns on standard error about what could not be delivered. Hold it for the life
/// of `main`.
///
/// A batch job that ends with `std::process::exit` (which runs no destructor) loses nothing either: on
/// Unix an exit hook does the same flush, within the same bounds. Call [`shutdown`](Self::shutdown)
/// before exiting to learn what was not delivered, or [`flush`](Self::flush) at a checkpoint.
#[must_use = "dropping the guard at once flushes and ends telemetry early; bind it: `let _telemetry = ...`"]
pub struct TelemetryGuard {
    pipelines: Option<Arc<Pipelines>>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard").finish_non_exhaustive()
    }
}

/// How long dropping the guard waits for buffered spans to reach the collector, and then for buffered
/// log lines to reach stdout.
const TRACES_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
const LOGS_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

impl TelemetryGuard {
    /// Exports the spans and writes the log lines buffered so far, waiting at most `timeout` for each, and
    /// says what was not delivered: lost meanwhile, or still waiting when `timeout` passed. Telemetry
    /// keeps running.
    pub fn flush(&self, timeout: Duration) -> Undelivered {
        match &self.pipelines {
            Some(pipelines) => pipelines.flush(timeout),
            None => Undelivered::default(),
        }
    }

    /// Ends telemetry: exports the buffered spans and writes the buffered lines, 5 seconds at most for
    /// each, and says what was not delivered. Dropping the guard does the same and prints a warning when
    /// something was not.
    pub fn shutdown(mut self) -> Undelivered {
        match self.pipelines.take() {
            Some(pipelines) => shutdown(&pipelines),
            None => Undelivered::default(),
        }
    }
}

fn shutdown(pipelines: &Pipelines) -> Undelivered {
    pipelines.shutdown(TRACES_SHUTDOWN_TIMEOUT.max(LOGS_FLUSH_TIMEOUT))
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(pipelines) = self.pipelines.take() {
            let undelivered = shutdown(&pipelines);
            if !undelivered.is_empty() {
                crate::warn::warn_on_stderr(
                    &crate::warn::SHUTDOWN,
                    format_args!("at shutdown {undelivered} (sightline_spans_dropped_total and sightline_log_lines_dropped_total say why)"),
                );
            }
        }
    }
}

/// `std::process::exit` runs no destructor, so it would skip the guard's flush: an `atexit` hook runs it
/// instead, for every installation still running.
mod exit {
    use super::Pipelines;
    use std::sync::{Arc, Mutex, Once, PoisonError, Weak};

    static RUNNING: Mutex<Vec<Weak<Pipelines>>> = Mutex::new(Vec::new());

    /// Flushes `pipelines` at exit unless its guard did first.
    pub(super) fn watch(pipelines: &Arc<Pipelines>) {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|p| p.strong_count() > 0);
        running.push(Arc::downgrade(pipelines));
        drop(running);
        hook();
    }

    #[cfg(unix)]
    fn hook() {
        static REGISTER: Once = Once::new();
        REGISTER.call_once(|| {
            extern "C" fn at_exit() {
                // A panic must not unwind into libc.
                let _ = std::panic::catch_unwind(flush_all);
            }
            // SAFETY: `atexit` stores the function pointer and calls it once while the process exits;
            // `at_exit` is a plain `extern "C" fn` that catches every panic, as a function called from C
            // must.
            #[allow(unsafe_code)]
            unsafe {
                atexit(at_exit);
            }
        });
    }

    #[cfg(unix)]
    extern "C" {
        fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
    }

    /// Elsewhere `std::process::exit` skips the flush: call `TelemetryGuard::shutdown` first.
    #[cfg(not(unix))]
    fn hook() {}

    #[cfg_attr(not(unix), allow(dead_code))]
    fn flush_all() {
        let running: Vec<Arc<Pipelines>> = RUNNING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .filter_map(|p| p.upgrade())
            .collect();
        for pipelines in running {
            let undelivered = super::shutdown(&pipelines);
            if !undelivered.is_empty() {
                crate::warn::warn_on_stderr(
                    &crate::warn::SHUTDOWN,
                    format_args!("at exit {undelivered} (sightline_spans_dropped_total and sightline_log_lines_dropped_total say why)"),
                );
            }
        }
    }
}
