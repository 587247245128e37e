//! Distributed traces: every `tracing` span becomes an OpenTelemetry span, exported over OTLP/HTTP
//! (protobuf) to a collector, Jaeger or Tempo, and its ids are written on every JSON log line inside it.
//!
//! ```text
//! tracing span ──> tracing-opentelemetry layer ──> SdkTracerProvider (sampler, resource)
//!                  (+ ids layer: trace_id/span_id      └─> ExportQueue: the caller only try_sends into a
//!                   into the span's extensions)            bounded channel (full: dropped and counted)
//!                                                          └─> export thread: batch, redact (secrets out),
//!                                                              Reporting exporter ─> OTLP/HTTP, blocking
//!                                                              reqwest client
//! ```
//!
//! The export thread is a plain OS thread with no Tokio runtime, so the exporter uses the *blocking*
//! reqwest client: an async client there would panic ("no reactor running") and every span would be
//! lost. The blocking client runs its own runtime on its own thread, which is why the pipeline works the
//! same whether it is built inside `#[tokio::main]` or outside any runtime.
//!
//! With no endpoint configured ("local mode"), sightline gives every span ids itself (no OpenTelemetry
//! span is created), so log lines can be correlated, traces continue across services, and nothing leaves
//! the process.

mod endpoint;
mod export;
mod filter;
mod ids;
mod queue;
mod redact;
mod sampler;
mod settings;

#[cfg(test)]
mod tests;

#[allow(unused_imports)] // named by the tests
pub(crate) use ids::SpanIds;
pub(crate) use ids::{continue_trace, current_span_context, raw_ids, span_ids, OtelIds};

use crate::redact::Redactor;
use crate::warn::{warn_rate_limited, EXPORT};
use export::{ExportStats, Reporting};
use filter::TraceFilter;
use ids::{IdsLayer, LocalIds};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{InstrumentationScope, KeyValue, StringValue};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use queue::{ExportQueue, QueueConfig};
use sampler::{parse_sampler, SamplerChoice, SAMPLER_ARG_VAR, SAMPLER_VAR};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use tracing_core::LevelFilter;
use tracing_subscriber::filter::FilterExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The name of completion lines (a call's and a request's): they become log lines, not span events, since
/// the span itself carries the same facts (duration, status, error).
pub const COMPLETION_EVENT: &str = "sightline.completion";

/// Overrides the service name given to the builder (OpenTelemetry specification).
const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";

/// `true` turns exporting off (OpenTelemetry specification).
const SDK_DISABLED_VAR: &str = "OTEL_SDK_DISABLED";

/// What the builder knows about traces.
#[derive(Debug, Clone)]
pub(crate) struct TraceConfig {
    /// The builder's service; `OTEL_SERVICE_NAME` overrides it.
    pub service_name: String,
    /// `.service_version(..)`: the `service.version` resource attribute.
    pub service_version: Option<String>,
    /// `.otlp_endpoint(..)`, a base URL (`http://collector:4318`); wins over the environment.
    pub endpoint: Option<String>,
    /// The log layer's redactor (built-in sensitive names plus the builder's `.redact(..)` paths), applied
    /// to span and event attributes too, so a value hidden from the logs is hidden from the traces.
    pub redactor: Redactor,
    /// When exporting, the most verbose level that becomes spans and span events. Default `INFO`:
    /// `debug!`/`trace!` events of every library would otherwise all be enabled and copied onto spans.
    /// In local mode the log filter decides instead (see [`Traces::layer`]).
    pub max_level: LevelFilter,
    /// `.span_exporter(..)`: an exporter of the application's choosing instead of OTLP/HTTP.
    pub exporter: Option<CustomExporter>,
}

/// Starts the export stage around an exporter given in code.
type StartQueue = dyn FnOnce(Arc<ExportStats>, Redactor, QueueConfig) -> ExportQueue + Send;

/// A span exporter handed to the builder, kept until the pipeline is built (the SDK's exporter trait has
/// `async fn`s, so it cannot be boxed as a trait object; the processor is built by a closure instead).
#[derive(Clone)]
pub(crate) struct CustomExporter(Arc<std::sync::Mutex<Option<Box<StartQueue>>>>);

impl CustomExporter {
    pub(crate) fn new<E>(exporter: E) -> Self
    where
        E: opentelemetry_sdk::trace::SpanExporter + 'static,
    {
        CustomExporter(Arc::new(std::sync::Mutex::new(Some(Box::new(
            move |stats, redactor, config| {
                ExportQueue::start(
                    Reporting::new(exporter, CUSTOM_EXPORTER.to_owned(), Arc::clone(&stats)),
                    redactor,
                    config,
                    stats,
                )
            },
        )))))
    }

    fn take(&self) -> Option<Box<StartQueue>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl fmt::Debug for CustomExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomExporter")
    }
}

/// How warnings name an exporter given to the builder.
const CUSTOM_EXPORTER: &str = "the application's span exporter";

impl TraceConfig {
    /// Defaults for `service_name`: no version, endpoint from the environment, built-in redaction, `INFO`.
    pub fn new(service_name: impl Into<String>) -> Self {
        TraceConfig {
            service_name: service_name.into(),
            service_version: None,
            endpoint: None,
            redactor: Redactor::default(),
            max_level: LevelFilter::INFO,
            exporter: None,
        }
    }
}

/// Why the trace pipeline could not be built.
#[derive(Debug)]
pub(crate) enum TraceError {
    /// The endpoint is not an `http://` URL.
    InvalidEndpoint {
        /// Where the value came from: `otlp_endpoint` (the builder) or the environment variable's name.
        source: &'static str,
        /// The URL as resolved.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The OTLP exporter refused its configuration (e.g. `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip`,
    /// which this build does not support).
    Exporter(String),
    /// An environment variable's value cannot be used.
    Setting(settings::InvalidSetting),
}

impl From<settings::InvalidSetting> for TraceError {
    fn from(e: settings::InvalidSetting) -> Self {
        TraceError::Setting(e)
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::InvalidEndpoint {
                source,
                value,
                reason,
            } => write!(
                f,
                "invalid OTLP endpoint {value:?} (from {source}): {reason}"
            ),
            TraceError::Exporter(message) => {
                write!(f, "cannot create the OTLP trace exporter: {message}")
            }
            TraceError::Setting(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TraceError {}

/// The trace pipeline: owns the tracer provider; see the module docs.
#[derive(Debug)]
pub(crate) struct Traces {
    provider: SdkTracerProvider,
    endpoint: Option<String>,
    #[allow(dead_code)] // read by `export_counts`
    stats: Arc<ExportStats>,
    max_level: LevelFilter,
    /// Applied by the SDK when exporting, and by the local ids otherwise.
    sampler: SamplerChoice,
}

impl Traces {
    /// Builds the pipeline; see [`endpoint::resolve_endpoint`] for where spans go. Reads the environment
    /// (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SDK_DISABLED`, the
    /// endpoint variables; the OTLP exporter itself reads `OTEL_EXPORTER_OTLP_{TRACES_,}{HEADERS,TIMEOUT}`
    /// and the batch processor `OTEL_BSP_*`). Works inside and outside a Tokio runtime.
    pub fn build(config: TraceConfig) -> Result<Traces, TraceError> {
        Self::build_with_env(config, &|name| std::env::var(name).ok())
    }

    pub(crate) fn build_with_env(
        config: TraceConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Traces, TraceError> {
        let endpoint = endpoint::resolve_endpoint(config.endpoint.as_deref(), env)?;
        // `OTEL_SDK_DISABLED=true` (specification): nothing is exported; log lines keep their ids.
        let disabled = settings::boolean(env, SDK_DISABLED_VAR)?;
        let endpoint = endpoint.filter(|_| !disabled);
        let custom = config.exporter.as_ref().and_then(CustomExporter::take);
        let otlp = custom.is_none() && endpoint.is_some();
        // An exporter given in code wins over the environment's endpoint.
        let endpoint = match custom {
            Some(_) if !disabled => Some(CUSTOM_EXPORTER.to_owned()),
            _ => endpoint,
        };
        // Exporting: the OpenTelemetry default, which follows an incoming trace's decision. Local mode:
        // every span gets ids for the logs.
        let default_sampler = if endpoint.is_some() {
            SamplerChoice::parent_based_always_on()
        } else {
            SamplerChoice::AlwaysOn
        };
        // Every setting is checked before the export thread starts.
        let sampler = parse_sampler(
            env(SAMPLER_VAR).as_deref(),
            env(SAMPLER_ARG_VAR).as_deref(),
            default_sampler,
        )?;
        let queue = QueueConfig::from_env(env)?;
        if otlp {
            settings::check_otlp(env)?;
        }
        let mut builder = SdkTracerProvider::builder()
            .with_sampler(sampler.to_sdk())
            .with_resource(resource(&config, env));
        let stats = Arc::new(ExportStats::default());
        if let (Some(start), Some(_)) = (custom, &endpoint) {
            builder =
                builder.with_span_processor(start(stats.clone(), config.redactor.clone(), queue));
        } else if let Some(url) = &endpoint {
            builder = builder.with_span_processor(otlp_queue(
                url,
                stats.clone(),
                config.redactor.clone(),
                queue,
            )?);
        }
        Ok(Traces {
            provider: builder.build(),
            endpoint,
            stats,
            max_level: config.max_level,
            sampler,
        })
    }

    /// The tracing-opentelemetry layer, with the ids layer and a filter that keeps the exporter's own
    /// stack out. Put it on a `Registry`-based subscriber next to the log layer; it needs no other filter.
    ///
    /// Which spans and events it sees:
    /// - exporting: everything up to [`TraceConfig::max_level`] (default `INFO`), whatever the log level:
    ///   traces are wanted even when logs are turned down to `warn`;
    /// - local mode: spans exist only to put ids on log lines, so exactly what `log_filter` enables (give
    ///   it a second `EnvFilter` built from the same directives as the log layer's), and they get ids of
    ///   sightline's own rather than OpenTelemetry spans. Calls whose spans the log level disables then cost
    ///   nothing, as before traces existed.
    ///
    /// `S: Send + Sync` because tracing-opentelemetry's layer holds a `PhantomData<S>`.
    pub fn layer<S, F>(&self, log_filter: F) -> Box<dyn Layer<S> + Send + Sync>
    where
        S: tracing_core::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
        F: tracing_subscriber::layer::Filter<S> + Send + Sync + 'static,
    {
        if !self.exporting() {
            let not_exporter_stack = TraceFilter {
                max_level: LevelFilter::TRACE,
            };
            let ids = LocalIds {
                sampler: self.sampler.clone(),
            };
            return Box::new(ids.with_filter(not_exporter_stack.and(log_filter)));
        }
        let scope = InstrumentationScope::builder("sightline")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = self.provider.tracer_with_scope(scope);
        let otel = tracing_opentelemetry::OpenTelemetryLayer::new(tracer)
            // sightline measures a call's duration itself; busy/idle time would cost two clock reads on
            // every enter and exit of every span.
            .with_tracked_inactivity(false)
            // `thread.id`/`thread.name` on every span: an allocation per span for a detail the JSON
            // lines do not carry either.
            .with_threads(false)
            // sightline decides a call's status and records its `exception` event itself
            // (`record_exception`). Left on, these would turn the completion log line, which carries an
            // `error` field, into a second `exception` event and overwrite the status description with it.
            .with_error_events_to_exceptions(false)
            .with_error_events_to_status(false);
        Box::new(otel.and_then(IdsLayer).with_filter(TraceFilter {
            max_level: self.max_level,
        }))
    }

    /// Whether spans are exported (an endpoint is configured).
    pub fn exporting(&self) -> bool {
        self.endpoint.is_some()
    }

    /// The traces URL spans are sent to.
    #[allow(dead_code)] // API for the builder and the guard; used by the tests
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// Spans the collector accepted, and spans lost to failed exports, so far.
    #[allow(dead_code)] // API for the builder and the guard; used by the tests
    pub fn export_counts(&self) -> (u64, u64) {
        (
            self.stats.exported.load(Ordering::Relaxed),
            self.stats.failed.load(Ordering::Relaxed),
        )
    }

    /// Exports what is buffered and shuts the provider down, waiting at most `timeout`; spans that end
    /// later are dropped. Runs on a separate thread, so it neither blocks forever nor cares whether the
    /// caller is inside a Tokio runtime. A second call does nothing.
    pub fn shutdown(&self, timeout: Duration) {
        if !self.exporting() {
            // Nothing to flush; the provider only hands out ids. Still shut it down so that later spans
            // are not recorded for nothing.
            let _ = self.provider.shutdown_with_timeout(timeout);
            return;
        }
        self.bounded(
            "shut down the trace exporter",
            timeout,
            move |provider| match provider.shutdown_with_timeout(timeout) {
                Err(opentelemetry_sdk::error::OTelSdkError::AlreadyShutdown) => Ok(()),
                other => other,
            },
        );
    }

    /// Exports what is buffered, waiting at most `timeout`; returns how many spans still wait.
    pub fn force_flush(&self, timeout: Duration) -> u64 {
        if !self.exporting() {
            return 0;
        }
        self.bounded("flush spans", timeout, |provider| provider.force_flush());
        self.stats.pending.load(Ordering::Relaxed)
    }

    fn bounded(
        &self,
        what: &str,
        timeout: Duration,
        run: impl FnOnce(&SdkTracerProvider) -> opentelemetry_sdk::error::OTelSdkResult + Send + 'static,
    ) {
        let provider = self.provider.clone();
        let (done, wait) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("sightline-traces-shutdown".to_owned())
            .spawn(move || {
                let _ = done.send(run(&provider));
            });
        let outcome = match spawned {
            Err(error) => Err(format!("cannot start a thread: {error}")),
            // A little longer than the pipeline's own bound, so that what it gave up on is counted
            // before this returns.
            Ok(_) => match wait.recv_timeout(timeout + Duration::from_millis(200)) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(error.to_string()),
                Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                    "gave up after {timeout:?}; spans not sent by then are lost"
                )),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    Err("the exporter panicked".to_owned())
                }
            },
        };
        if let Err(reason) = outcome {
            warn_rate_limited(
                &EXPORT,
                format_args!(
                    "could not {what} ({}): {reason}",
                    self.endpoint.as_deref().unwrap_or("no endpoint")
                ),
            );
        }
    }
}

/// The export stage around the OTLP/HTTP exporter for `url`.
#[cfg(feature = "otlp")]
fn otlp_queue(
    url: &str,
    stats: Arc<ExportStats>,
    redactor: Redactor,
    queue: QueueConfig,
) -> Result<ExportQueue, TraceError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    // The exporter creates its blocking client on a thread of its own, so this is safe inside a Tokio
    // runtime; the client is dropped on the export thread when the provider shuts down.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.to_owned())
        .build()
        .map_err(|e| TraceError::Exporter(e.to_string()))?;
    Ok(ExportQueue::start(
        Reporting::new(exporter, url.to_owned(), Arc::clone(&stats)),
        redactor,
        queue,
        stats,
    ))
}

/// Without the `otlp` feature there is no exporter for an endpoint: a configuration naming one is an
/// error at start-up rather than spans silently going nowhere.
#[cfg(not(feature = "otlp"))]
fn otlp_queue(
    url: &str,
    _: Arc<ExportStats>,
    _: Redactor,
    _: QueueConfig,
) -> Result<ExportQueue, TraceError> {
    Err(TraceError::Exporter(format!(
        "spans are to be sent to {url}, but this build has no OTLP exporter: enable sightline's `otlp` \
         feature (on by default), or unset the endpoint"
    )))
}

/// `service.name` (the environment's `OTEL_SERVICE_NAME`, else the builder's), `service.version`, plus what
/// the SDK detects: `telemetry.sdk.*` and `OTEL_RESOURCE_ATTRIBUTES`.
fn resource(config: &TraceConfig, env: &dyn Fn(&str) -> Option<String>) -> Resource {
    let service_name = env(SERVICE_NAME_VAR)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| config.service_name.clone());
    let mut builder = Resource::builder().with_service_name(service_name);
    if let Some(version) = &config.service_version {
        builder = builder.with_attribute(KeyValue::new("service.version", version.clone()));
    }
    builder.build()
}

/// Adds the span event `exception` (`exception.type` = `kind`, `exception.message` = `message`) to the
/// OpenTelemetry span behind `span`, as the semantic conventions describe a failed operation. It emits no
/// `tracing` event, so no log line. Does nothing when no trace pipeline sees the span.
pub(crate) fn record_exception(span: &tracing::Span, kind: &str, message: &str) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if span.is_disabled() {
        return;
    }
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", kind.to_owned()),
            KeyValue::new("exception.message", message.to_owned()),
        ],
    );
}

/// Sets `key = value` on the OpenTelemetry span behind `span` (a value learnt mid-call:
/// `sightline::record`). Secret keys are redacted before export like every attribute. Does nothing when no
/// trace pipeline sees the span, or for `null`.
#[allow(dead_code)] // `set_attribute_by_id` serves `sightline::record`; this is for callers with a handle
pub(crate) fn set_attribute(span: &tracing::Span, key: &str, value: serde_json::Value) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if span.is_disabled() {
        return;
    }
    if let Some(value) = otel_value(value) {
        span.set_attribute(key.to_owned(), value);
    }
}

/// [`set_attribute`] for a span known by id, through `dispatch` (the log layer's `record_on_observed_span`
/// finds the observed span in the registry inside `tracing::dispatcher::get_default`, where a nested
/// `get_default` would see no dispatcher, and has no `tracing::Span` handle). Must not be called while
/// holding the span's extensions: tracing-opentelemetry locks them.
pub(crate) fn set_attribute_by_id(
    dispatch: &tracing::Dispatch,
    id: &tracing_core::span::Id,
    key: &str,
    value: serde_json::Value,
) {
    use opentelemetry::trace::TraceContextExt as _;
    let Some(value) = otel_value(value) else {
        return;
    };
    if let Some(cx) = tracing_opentelemetry::get_otel_context(id, dispatch) {
        cx.span()
            .set_attribute(KeyValue::new(key.to_owned(), value));
    }
}

/// A JSON value as an attribute value: scalars as themselves, homogeneous arrays of scalars as arrays,
/// anything else as its JSON text.
fn otel_value(value: serde_json::Value) -> Option<opentelemetry::Value> {
    use opentelemetry::{Array, Value};
    use serde_json::Value as Json;
    Some(match value {
        Json::Null => return None,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::I64(i),
            // A u64 above i64::MAX: as text, so no digit is lost.
            (None, _) if n.is_u64() => Value::String(StringValue::from(n.to_string())),
            (None, Some(f)) => Value::F64(f),
            (None, None) => Value::String(StringValue::from(n.to_string())),
        },
        Json::String(s) => Value::String(StringValue::from(s)),
        Json::Array(items) => {
            let text = || Value::String(StringValue::from(Json::Array(items.clone()).to_string()));
            if items.iter().all(Json::is_string) {
                Value::Array(Array::String(
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(|s| StringValue::from(s.to_owned())))
                        .collect(),
                ))
            } else if items.iter().all(Json::is_boolean) {
                Value::Array(Array::Bool(
                    items.iter().filter_map(Json::as_bool).collect(),
                ))
            } else if items.iter().all(Json::is_i64) {
                Value::Array(Array::I64(items.iter().filter_map(Json::as_i64).collect()))
            } else if items.iter().all(Json::is_number) {
                Value::Array(Array::F64(items.iter().filter_map(Json::as_f64).collect()))
            } else {
                text()
            }
        }
        object @ Json::Object(_) => Value::String(StringValue::from(object.to_string())),
    })
}
