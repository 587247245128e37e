//! Distributed traces: every span, sightline's own and the application's `tracing` spans, exported over
//! OTLP/HTTP (protobuf) to a collector, Jaeger or Tempo, with its ids on every JSON log line inside it.
//!
//! ```text
//! observed call, business span, HTTP request ──┐   (ids, clock readings, a pointer to the site,
//! tracing span ── SpanLayer ───────────────────┴─> status, JSON fields: no SDK object)
//!                                                  └─> this thread's ring (full: dropped and counted)
//!                                                      └─> export thread: convert to SDK span data,
//!                                                          redact (secrets out), batch, Reporting
//!                                                          exporter ─> OTLP/HTTP, blocking reqwest
//! ```
//!
//! The export thread is a plain OS thread with no Tokio runtime, so the exporter uses the *blocking*
//! reqwest client: an async client there would panic ("no reactor running") and every span would be
//! lost. The blocking client runs its own runtime on its own thread, which is why the pipeline works the
//! same whether it is built inside `#[tokio::main]` or outside any runtime.
//!
//! With no endpoint configured ("local mode"), spans still get ids, so log lines can be correlated and
//! traces continue across services, and nothing leaves the process.

mod convert;
mod endpoint;
mod export;
mod filter;
#[cfg(feature = "otlp")]
mod otlp;
mod queue;
pub(crate) mod record;
mod redact;
mod rings;
mod sampler;
mod settings;
mod user_spans;

pub(crate) use filter::is_exporter_stack;
pub(crate) use rings::Rings;
pub(crate) use sampler::SamplerChoice;

use crate::redact::Redactor;
use crate::warn::{warn_rate_limited, EXPORT};
use export::{ExportStats, Reporting};
use filter::TraceFilter;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use queue::{ExportQueue, QueueConfig, Stage};
use sampler::{parse_sampler, SAMPLER_ARG_VAR, SAMPLER_VAR};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tracing_core::LevelFilter;
use tracing_subscriber::filter::FilterExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use user_spans::SpanLayer;

#[cfg(test)]
mod tests;

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
type StartQueue = dyn FnOnce(Stage) -> ExportQueue + Send;

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
            move |stage: Stage| {
                let stats = Arc::clone(&stage.stats);
                ExportQueue::start(
                    Reporting::new(exporter, CUSTOM_EXPORTER.to_owned(), stats),
                    stage,
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
    /// No exporter for the endpoint: a build without the `otlp` feature.
    #[cfg_attr(feature = "otlp", allow(dead_code))]
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

/// The trace pipeline: the export stage, when spans are exported; see the module docs.
#[derive(Debug)]
pub(crate) struct Traces {
    endpoint: Option<String>,
    #[allow(dead_code)] // read by `export_counts`
    stats: Arc<ExportStats>,
    max_level: LevelFilter,
    sampler: SamplerChoice,
    queue: Option<ExportQueue>,
}

impl Traces {
    /// Builds the pipeline; see [`endpoint::resolve_endpoint`] for where spans go. Reads the environment
    /// (`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SDK_DISABLED`, the
    /// endpoint variables, `OTEL_BSP_*`; the OTLP exporter itself reads
    /// `OTEL_EXPORTER_OTLP_{TRACES_,}{HEADERS,TIMEOUT}`). Works inside and outside a Tokio runtime.
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
        // The OpenTelemetry default, which follows an incoming trace's decision, in both modes: with no
        // collector nothing is exported whatever the decision (every span still gets ids for the logs),
        // but the decision goes on in `traceparent`, and the next service must see the caller's.
        let default_sampler = SamplerChoice::parent_based_always_on();
        // Every setting is checked before the export thread starts.
        let sampler = parse_sampler(
            env(SAMPLER_VAR).as_deref(),
            env(SAMPLER_ARG_VAR).as_deref(),
            default_sampler,
        )?;
        let config_queue = QueueConfig::from_env(env)?;
        if otlp {
            settings::check_otlp(env)?;
        }
        let stats = Arc::new(ExportStats::default());
        let stage = || Stage {
            redactor: config.redactor.clone(),
            config: config_queue,
            stats: Arc::clone(&stats),
            resource: resource(&config, env),
            scope: InstrumentationScope::builder("sightline")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        };
        let queue = match (custom, &endpoint) {
            (Some(start), Some(_)) => Some(start(stage())),
            (_, Some(url)) => Some(otlp_queue(url, stage(), env)?),
            (_, None) => None,
        };
        Ok(Traces {
            endpoint,
            stats,
            max_level: config.max_level,
            sampler,
            queue,
        })
    }

    /// The layer that gives the application's `tracing` spans ids and, when exporting, exports them; put
    /// it on a `Registry`-based subscriber next to the log layer.
    ///
    /// Which spans it sees:
    /// - exporting: everything up to [`TraceConfig::max_level`] (default `INFO`), whatever the log level:
    ///   traces are wanted even when logs are turned down to `warn`;
    /// - local mode: spans exist only to put ids on log lines, so exactly what `log_filter` enables (give
    ///   it a second filter built from the same directives as the log layer's). Calls whose spans the log
    ///   level disables then cost nothing.
    ///
    /// The exporter's own stack is never traced: each export would produce spans to export.
    pub fn layer<S, F>(&self, log_filter: F) -> Box<dyn Layer<S> + Send + Sync>
    where
        S: tracing_core::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
        F: tracing_subscriber::layer::Filter<S> + Send + Sync + 'static,
    {
        let layer = SpanLayer {
            rings: self.rings(),
            sampler: self.sampler.clone(),
        };
        if !self.exporting() {
            let not_exporter_stack = TraceFilter {
                max_level: LevelFilter::TRACE,
            };
            return Box::new(layer.with_filter(not_exporter_stack.and(log_filter)));
        }
        Box::new(layer.with_filter(TraceFilter {
            max_level: self.max_level,
        }))
    }

    /// Whether spans are exported (an endpoint is configured).
    pub fn exporting(&self) -> bool {
        self.queue.is_some()
    }

    /// Where exported spans are handed over; `None` in local mode.
    pub(crate) fn rings(&self) -> Option<Arc<Rings>> {
        self.queue.as_ref().map(|q| Arc::clone(q.rings()))
    }

    /// How spans are sampled.
    pub(crate) fn sampler(&self) -> &SamplerChoice {
        &self.sampler
    }

    /// The most verbose level that is traced when exporting.
    pub(crate) fn max_level(&self) -> LevelFilter {
        self.max_level
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

    /// Exports what is buffered and stops the export thread, waiting at most `timeout`; spans that end
    /// later are dropped and counted. A second call does nothing.
    pub fn shutdown(&self, timeout: Duration) {
        let Some(queue) = &self.queue else {
            return;
        };
        match queue.shutdown_with_timeout(timeout) {
            Ok(()) | Err(opentelemetry_sdk::error::OTelSdkError::AlreadyShutdown) => {}
            Err(error) => self.warn("shut down the trace exporter", &error),
        }
    }

    /// Exports what is buffered, waiting at most `timeout`; returns how many spans still wait.
    pub fn force_flush(&self, timeout: Duration) -> u64 {
        let Some(queue) = &self.queue else {
            return 0;
        };
        if let Err(error) = queue.force_flush_within(timeout) {
            self.warn("flush spans", &error);
        }
        queue.waiting()
    }

    fn warn(&self, what: &str, error: &opentelemetry_sdk::error::OTelSdkError) {
        warn_rate_limited(
            &EXPORT,
            format_args!(
                "could not {what} ({}): {error}",
                self.endpoint.as_deref().unwrap_or("no endpoint")
            ),
        );
    }
}

/// The export stage around the OTLP/HTTP exporter for `url`.
#[cfg(feature = "otlp")]
fn otlp_queue(
    url: &str,
    stage: Stage,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ExportQueue, TraceError> {
    let exporter = otlp::OtlpHttp::new(url, env)?;
    let stats = Arc::clone(&stage.stats);
    Ok(ExportQueue::start(
        Reporting::new(exporter, url.to_owned(), stats),
        stage,
    ))
}

/// Without the `otlp` feature there is no exporter for an endpoint: a configuration naming one is an
/// error at start-up rather than spans silently going nowhere.
#[cfg(not(feature = "otlp"))]
fn otlp_queue(
    url: &str,
    _: Stage,
    _: &dyn Fn(&str) -> Option<String>,
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
