use std::fmt;

/// Why setting up telemetry failed. Installation never panics: every failure comes back as one of these.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `install()` ran before in this process, or another global `tracing` subscriber is already set.
    AlreadyInstalled,
    /// The log level (builder, `LOG_LEVEL` or `RUST_LOG`) does not parse.
    InvalidLogLevel {
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::AlreadyInstalled => f.write_str(
                "telemetry is already installed: a global tracing subscriber is set \
                 (call sightline::init once, or compose your own subscriber with TelemetryBuilder::into_layer)",
            ),
            Error::InvalidLogLevel { value, reason } => {
                write!(f, "invalid log level {value:?}: {reason} (use trace, debug, info, warn, error or a RUST_LOG directive)")
            }
            Error::LabelConflict(c) => c.fmt(f),
            Error::Metrics(e) => write!(f, "cannot register sightline's metric families: {e}"),
        }
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
