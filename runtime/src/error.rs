use std::fmt;

/// Why setting up telemetry failed. Installation never panics: every failure comes back as one of these.
#[non_exhaustive]
pub enum Error {
    /// `install()` ran before in this process, or another global `tracing` subscriber is already set.
    AlreadyInstalled,
    /// The log level (builder, `LOG_LEVEL` or `RUST_LOG`) does not parse, or names a level that does not
    /// exist (`verbose`).
    InvalidLogLevel {
        /// Where it came from: `RUST_LOG`, `LOG_LEVEL`, or `log_level` (the builder).
        variable: &'static str,
        /// The text that was given.
        value: String,
        /// What the filter parser said.
        reason: String,
    },
    /// Two call sites declare one custom metric family with different label names.
    LabelConflict(crate::metrics::custom::LabelConflict),
    /// A metric family could not be registered, e.g. the registry already holds a family of the same name
    /// with other labels.
    Metrics(prometheus::Error),
    /// The OTLP endpoint (`otlp_endpoint(..)`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`) is not an `http://host:port` URL.
    InvalidOtlpEndpoint {
        /// Where the value came from: `otlp_endpoint` or the environment variable's name.
        source: &'static str,
        /// The URL as resolved (`/v1/traces` appended to a base URL).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The OpenTelemetry trace exporter could not be created from its configuration (e.g.
    /// `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=gzip`, which this build does not support).
    TraceExporter(String),
    /// An environment variable sightline reads has a value it cannot use: `OTEL_TRACES_SAMPLER`,
    /// `OTEL_TRACES_SAMPLER_ARG`, `OTEL_SDK_DISABLED`, `OTEL_BSP_*`, and, when spans are sent over OTLP,
    /// `OTEL_EXPORTER_OTLP_{TRACES_,}{PROTOCOL,TIMEOUT,HEADERS}` and `OTEL_RESOURCE_ATTRIBUTES`
    /// (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`: this build sends OTLP/HTTP only).
    InvalidSetting {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it, and what is expected.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::AlreadyInstalled => f.write_str(
                "telemetry is already installed: a global tracing subscriber is set \
                 (call sightline::init once, or compose your own subscriber with TelemetryBuilder::into_layer)",
            ),
            Error::InvalidLogLevel {
                variable,
                value,
                reason,
            } => {
                write!(f, "invalid log level {variable}={value:?}: {reason} (levels are trace, debug, info, warn, error, off; directives look like info,my_crate=debug)")
            }
            Error::LabelConflict(c) => c.fmt(f),
            Error::Metrics(e) => write!(f, "cannot register sightline's metric families: {e}"),
            Error::InvalidOtlpEndpoint {
                source,
                value,
                reason,
            } => write!(f, "invalid OTLP endpoint {value:?} (from {source}): {reason}"),
            Error::TraceExporter(message) => {
                write!(f, "cannot create the OTLP trace exporter: {message}")
            }
            Error::InvalidSetting {
                name,
                value,
                reason,
            } => write!(f, "invalid setting {name}={value:?}: {reason}"),
        }
    }
}

/// The explanation, as `Display` gives it: `fn main() -> Result<(), Box<dyn Error>>` prints an error it
/// returns with `Debug`, and a bare variant name (`AlreadyInstalled`) tells its reader nothing.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Metrics(e) => Some(e),
            _ => None,
        }
    }
}

impl From<prometheus::Error> for Error {
    fn from(e: prometheus::Error) -> Self {
        Error::Metrics(e)
    }
}

impl From<crate::traces::TraceError> for Error {
    fn from(e: crate::traces::TraceError) -> Self {
        match e {
            crate::traces::TraceError::InvalidEndpoint {
                source,
                value,
                reason,
            } => Error::InvalidOtlpEndpoint {
                source,
                value,
                reason,
            },
            crate::traces::TraceError::Exporter(message) => Error::TraceExporter(message),
            crate::traces::TraceError::Setting(setting) => Error::InvalidSetting {
                name: setting.name,
                value: setting.value,
                reason: setting.reason,
            },
        }
    }
}
