//! One line to set up: the JSON log layer with redaction, the log level, and the metrics registry.

use crate::logs::{Handoff, LogLayer, Redactor};
use crate::traces::{TraceConfig, Traces};
use crate::Error;
use prometheus::Registry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
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
    writer: Option<BoxMakeWriter>,
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
        self.writer = Some(BoxMakeWriter::new(writer));
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

    /// Registers the metrics and installs the global `tracing` subscriber. Fails, without touching
    /// anything, when telemetry or another global subscriber is already installed.
    pub fn install(self) -> Result<TelemetryGuard, Error> {
        if INSTALLED.swap(true, Ordering::SeqCst) {
            return Err(Error::AlreadyInstalled);
        }
        let installed = self.into_layer().and_then(|(layer, guard)| {
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::set_global_default(subscriber)
                .map_err(|_| Error::AlreadyInstalled)?;
            Ok(guard)
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
        let (filter, summaries) = level_filter(self.level.as_deref())?;
        crate::clock::calibrate();
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
        crate::catalog::prepare().map_err(Error::LabelConflict)?;
        crate::metrics::install_into(&registry, self.process_metrics)?;
        let (writer, handoff) = match self.writer {
            Some(writer) => (writer, None),
            None => match Handoff::stdout(self.log_buffer_lines) {
                Some(handoff) => (BoxMakeWriter::new(handoff.clone()), Some(handoff)),
                None => (BoxMakeWriter::new(std::io::stdout), None),
            },
        };
        let layer = LogLayer::new(self.service, redactor, writer)
            .with_span_summaries(!traces.exporting() && summaries);
        // A second filter from the same directives: in local mode the trace layer follows the log level.
        let traces_layer = traces.layer(level_filter(self.level.as_deref())?.0);
        let layer = layer.with_filter(filter).and_then(traces_layer).boxed();
        Ok((
            layer,
            TelemetryGuard {
                traces: Some(traces),
                logs: handoff,
            },
        ))
    }
}

/// `RUST_LOG`, then `LOG_LEVEL`, then the builder's level, then `info`.
///
/// Directives that name only targets and levels (`info,sqlx=warn`, the common case) become a `Targets`
/// filter, decided once per callsite; an `EnvFilter` also tracks every span for its span and field
/// directives (`[request{user=..}]=debug`), a lock on each enter and exit of every span, so it is used
/// only when such directives are given.
///
/// Also says whether span summaries (`sightline::spans` at `debug`) can ever be enabled, so a layer whose
/// level rules them out does no per-span work for them.
#[allow(clippy::type_complexity)]
fn level_filter<S>(builder: Option<&str>) -> Result<(Box<dyn Filter<S> + Send + Sync>, bool), Error>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let directives = from_env("RUST_LOG")
        .or_else(|| from_env("LOG_LEVEL"))
        .or_else(|| builder.map(str::to_owned))
        .unwrap_or_else(|| "info".to_owned());
    let env_filter =
        EnvFilter::builder()
            .parse(&directives)
            .map_err(|e| Error::InvalidLogLevel {
                value: directives.clone(),
                reason: e.to_string(),
            })?;
    Ok(match directives.parse::<Targets>() {
        Ok(targets) => {
            let summaries = targets.would_enable("sightline::spans", &tracing::Level::DEBUG);
            (Box::new(targets), summaries)
        }
        Err(_) => (Box::new(env_filter), true),
    })
}

/// Keeps telemetry flushed: dropping it flushes buffered log lines. Hold it for the life of `main`.
#[must_use = "dropping the guard at once flushes and ends telemetry early; bind it: `let _telemetry = ...`"]
#[derive(Debug)]
pub struct TelemetryGuard {
    traces: Option<Traces>,
    logs: Option<Handoff>,
}

/// How long dropping the guard waits for buffered spans to reach the collector.
const TRACES_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long dropping the guard waits for buffered log lines to reach stdout.
const LOGS_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        use std::io::Write;
        if let Some(traces) = self.traces.take() {
            traces.shutdown(TRACES_SHUTDOWN_TIMEOUT);
        }
        // After the spans: shutting the exporter down can still log.
        if let Some(logs) = self.logs.take() {
            if !logs.flush(LOGS_FLUSH_TIMEOUT) {
                crate::warn::warn_rate_limited(
                    &crate::warn::SHUTDOWN,
                    format_args!(
                        "sightline: stdout did not take the buffered log lines within {LOGS_FLUSH_TIMEOUT:?}; they are lost"
                    ),
                );
            }
        }
        let _ = std::io::stdout().flush();
    }
}
