//! Every metric family sightline records: name, type, labels and help, written once. The runtime
//! registers from this table, the macros refuse a custom metric that would produce one of these names,
//! and the alert and dashboard generators query them from it.

/// How a family is exposed to Prometheus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A monotonic count (`_total`).
    Counter,
    /// A duration histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
    /// A value that goes up and down (in flight).
    Gauge,
}

/// One family: what the registry shows under `# HELP` and `# TYPE`, and the labels of its series (`le`
/// of a histogram's buckets aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    /// The name without a registry's prefix.
    pub name: &'static str,
    /// Counter, histogram or gauge.
    pub kind: Kind,
    /// Label names, in the order the series carry them.
    pub labels: &'static [&'static str],
    /// The `# HELP` text.
    pub help: &'static str,
}

/// The five families of one kind of call: rate, errors, expected outcomes, duration, in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedFamilies {
    /// Calls, by outcome.
    pub calls: Family,
    /// Failed calls, by error kind.
    pub errors: Family,
    /// Calls that ended in an expected outcome (a business outcome, not a fault), by error kind.
    pub expected_errors: Family,
    /// Durations, by outcome.
    pub duration: Family,
    /// Calls running now.
    pub in_flight: Family,
    /// The label that carries how a call ended.
    pub outcome_label: &'static str,
}

impl RedFamilies {
    /// The five, in the order above.
    pub const fn all(&self) -> [Family; 5] {
        [
            self.calls,
            self.errors,
            self.expected_errors,
            self.duration,
            self.in_flight,
        ]
    }
}

/// The label of every error counter.
pub const ERROR_KIND: &str = "error_kind";

/// `function_*`: what `#[observe]` records on ordinary functions.
pub const FUNCTION: RedFamilies = RedFamilies {
    calls: Family {
        name: "function_calls_total",
        kind: Kind::Counter,
        labels: &["function", "module", "result"],
        help: "Calls of observed functions, by outcome.",
    },
    errors: Family {
        name: "function_errors_total",
        kind: Kind::Counter,
        labels: &["function", "module", ERROR_KIND],
        help: "Failed calls of observed functions, by error kind.",
    },
    expected_errors: Family {
        name: "function_expected_errors_total",
        kind: Kind::Counter,
        labels: &["function", "module", ERROR_KIND],
        help: "Calls of observed functions that ended in an expected outcome (a business outcome, \
               not a fault), by error kind.",
    },
    duration: Family {
        name: "function_call_duration_seconds",
        kind: Kind::Histogram,
        labels: &["function", "module", "result"],
        help: "Duration of observed function calls in seconds.",
    },
    in_flight: Family {
        name: "function_calls_in_flight",
        kind: Kind::Gauge,
        labels: &["function", "module"],
        help: "Observed function calls currently running.",
    },
    outcome_label: "result",
};

/// `business_operation*`: what `#[business_span]` records.
pub const BUSINESS: RedFamilies = RedFamilies {
    calls: Family {
        name: "business_operations_total",
        kind: Kind::Counter,
        labels: &["operation", "outcome"],
        help: "Business operations, by outcome.",
    },
    errors: Family {
        name: "business_operation_errors_total",
        kind: Kind::Counter,
        labels: &["operation", ERROR_KIND],
        help: "Failed business operations, by error kind.",
    },
    expected_errors: Family {
        name: "business_operation_expected_errors_total",
        kind: Kind::Counter,
        labels: &["operation", ERROR_KIND],
        help: "Business operations that ended in an expected outcome (a business outcome, not a \
               fault), by error kind.",
    },
    duration: Family {
        name: "business_operation_duration_seconds",
        kind: Kind::Histogram,
        labels: &["operation", "outcome"],
        help: "Duration of business operations in seconds.",
    },
    in_flight: Family {
        name: "business_operations_in_flight",
        kind: Kind::Gauge,
        labels: &["operation"],
        help: "Business operations currently running.",
    },
    outcome_label: "outcome",
};

/// `http_*`: what the HTTP layer and handler-mode sites record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpFamilies {
    /// Requests, by status code.
    pub requests: Family,
    /// Durations, by status code.
    pub duration: Family,
    /// Requests being served now.
    pub in_flight: Family,
}

impl HttpFamilies {
    /// The three, in the order above.
    pub const fn all(&self) -> [Family; 3] {
        [self.requests, self.duration, self.in_flight]
    }
}

/// The HTTP families, with the names the classic alert rules use.
pub const HTTP: HttpFamilies = HttpFamilies {
    requests: Family {
        name: "http_requests_total",
        kind: Kind::Counter,
        labels: &["method", "route", "status_code"],
        help: "Total number of HTTP requests.",
    },
    duration: Family {
        name: "http_request_duration_seconds",
        kind: Kind::Histogram,
        labels: &["method", "route", "status_code"],
        help: "Duration of HTTP requests in seconds.",
    },
    in_flight: Family {
        name: "http_requests_in_flight",
        kind: Kind::Gauge,
        labels: &["method", "route"],
        help: "HTTP requests currently being served.",
    },
};

/// The requests this service makes to others (OpenTelemetry's `http.client.request.duration`): by method,
/// server (the first hosts seen, then [`OTHER_SERVER`]) and status code (`0` when no response came).
pub const HTTP_CLIENT_DURATION: Family = Family {
    name: "http_client_request_duration_seconds",
    kind: Kind::Histogram,
    labels: &["method", "server_address", "status_code"],
    help: "Duration of HTTP requests this service made, in seconds.",
};

/// The families of one side of gRPC calls, as `go-grpc-prometheus` names them (what gRPC users graph).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrpcFamilies {
    /// Calls started.
    pub started: Family,
    /// Calls finished, by status code name (`OK`, `NotFound`, ...).
    pub handled: Family,
    /// Durations.
    pub handling: Family,
}

impl GrpcFamilies {
    /// The three, in the order above.
    pub const fn all(&self) -> [Family; 3] {
        [self.started, self.handled, self.handling]
    }
}

/// The calls a gRPC server (behind `sightline::grpc::layer()`) handled.
pub const GRPC_SERVER: GrpcFamilies = GrpcFamilies {
    started: Family {
        name: "grpc_server_started_total",
        kind: Kind::Counter,
        labels: &["grpc_type", "grpc_service", "grpc_method"],
        help: "Total number of RPCs started on the server.",
    },
    handled: Family {
        name: "grpc_server_handled_total",
        kind: Kind::Counter,
        labels: &["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
        help: "Total number of RPCs completed on the server, regardless of success or failure.",
    },
    handling: Family {
        name: "grpc_server_handling_seconds",
        kind: Kind::Histogram,
        labels: &["grpc_type", "grpc_service", "grpc_method"],
        help: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    },
};

/// The gRPC calls a service made (through `sightline::grpc::client_layer()`).
pub const GRPC_CLIENT: GrpcFamilies = GrpcFamilies {
    started: Family {
        name: "grpc_client_started_total",
        kind: Kind::Counter,
        labels: &["grpc_type", "grpc_service", "grpc_method"],
        help: "Total number of RPCs started on the client.",
    },
    handled: Family {
        name: "grpc_client_handled_total",
        kind: Kind::Counter,
        labels: &["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
        help: "Total number of RPCs completed by the client, regardless of success or failure.",
    },
    handling: Family {
        name: "grpc_client_handling_seconds",
        kind: Kind::Histogram,
        labels: &["grpc_type", "grpc_service", "grpc_method"],
        help: "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
    },
};

/// The `grpc_service` and `grpc_method` of calls past the limit of distinct methods.
pub const OTHER_RPC: &str = "other";

/// The `server_address` of hosts past the limit of [`HTTP_CLIENT_DURATION`].
pub const OTHER_SERVER: &str = "other";

/// Finished spans lost on the way to the collector.
pub const SPANS_DROPPED: Family = Family {
    name: "sightline_spans_dropped_total",
    kind: Kind::Counter,
    labels: &["reason"],
    help: "Finished spans that did not reach the collector, by reason: queue_full, unreachable, \
           timeout, rejected, shutdown, failed.",
};

/// Finished spans the collector took.
pub const SPANS_EXPORTED: Family = Family {
    name: "sightline_spans_exported_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Finished spans the collector accepted.",
};

/// Log lines lost on the way to the writer.
pub const LOG_LINES_DROPPED: Family = Family {
    name: "sightline_log_lines_dropped_total",
    kind: Kind::Counter,
    labels: &["reason"],
    help: "Log lines that did not reach the log writer, by reason: buffer_full, write_failed, shutdown.",
};

/// The `reason` label of [`SPANS_DROPPED`].
pub const SPAN_LOSS_REASONS: [&str; 6] = [
    "queue_full",
    "unreachable",
    "timeout",
    "rejected",
    "shutdown",
    "failed",
];

/// The `reason` label of [`LOG_LINES_DROPPED`].
pub const LINE_LOSS_REASONS: [&str; 3] = ["buffer_full", "write_failed", "shutdown"];

/// Every family of fixed name sightline records; a custom `metric` may produce none of these.
pub const BUILT_IN: &[Family] = &[
    FUNCTION.calls,
    FUNCTION.errors,
    FUNCTION.expected_errors,
    FUNCTION.duration,
    FUNCTION.in_flight,
    BUSINESS.calls,
    BUSINESS.errors,
    BUSINESS.expected_errors,
    BUSINESS.duration,
    BUSINESS.in_flight,
    HTTP.requests,
    HTTP.duration,
    HTTP.in_flight,
    HTTP_CLIENT_DURATION,
    GRPC_SERVER.started,
    GRPC_SERVER.handled,
    GRPC_SERVER.handling,
    GRPC_CLIENT.started,
    GRPC_CLIENT.handled,
    GRPC_CLIENT.handling,
    SPANS_DROPPED,
    SPANS_EXPORTED,
    LOG_LINES_DROPPED,
];

/// The process collector's families (`process_metrics(true)`, the default on Linux): the `prometheus`
/// crate names them; the infrastructure dashboard and the memory forecast query them.
pub const PROCESS: &[Family] = &[
    Family {
        name: "process_cpu_seconds_total",
        kind: Kind::Counter,
        labels: &[],
        help: "Total user and system CPU time spent in seconds.",
    },
    Family {
        name: "process_resident_memory_bytes",
        kind: Kind::Gauge,
        labels: &[],
        help: "Resident memory size in bytes.",
    },
    Family {
        name: "process_virtual_memory_bytes",
        kind: Kind::Gauge,
        labels: &[],
        help: "Virtual memory size in bytes.",
    },
    Family {
        name: "process_open_fds",
        kind: Kind::Gauge,
        labels: &[],
        help: "Number of open file descriptors.",
    },
    Family {
        name: "process_max_fds",
        kind: Kind::Gauge,
        labels: &[],
        help: "Maximum number of open file descriptors.",
    },
    Family {
        name: "process_threads",
        kind: Kind::Gauge,
        labels: &[],
        help: "Number of OS threads in the process.",
    },
    Family {
        name: "process_start_time_seconds",
        kind: Kind::Gauge,
        labels: &[],
        help: "Start time of the process since unix epoch in seconds.",
    },
];

/// The prefix of sightline's own families; a custom `metric` may not start with it.
pub const OWN_PREFIX: &str = "sightline_";

/// One of the five families a custom `metric = "charges"` becomes: `charges` followed by `suffix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomFamily {
    /// What follows the metric's name.
    pub suffix: &'static str,
    /// Counter, histogram or gauge.
    pub kind: Kind,
    /// The `# HELP` text, `{}` standing for the metric's name.
    pub help: &'static str,
}

impl CustomFamily {
    /// The family's name for `metric`.
    pub fn name(&self, metric: &str) -> String {
        format!("{metric}{}", self.suffix)
    }

    /// The family's help text for `metric`.
    pub fn help(&self, metric: &str) -> String {
        self.help.replace("{}", metric)
    }
}

/// What a custom `metric` becomes, in [`RedFamilies::all`]'s order; the labels are the site's, then the
/// outcome or `error_kind` as for the built-in families.
pub const CUSTOM: [CustomFamily; 5] = [
    CustomFamily {
        suffix: "_total",
        kind: Kind::Counter,
        help: "Calls of {}, by outcome.",
    },
    CustomFamily {
        suffix: "_errors_total",
        kind: Kind::Counter,
        help: "Failed calls of {}, by error kind.",
    },
    CustomFamily {
        suffix: "_expected_errors_total",
        kind: Kind::Counter,
        help: "Calls of {} that ended in an expected outcome, by error kind.",
    },
    CustomFamily {
        suffix: "_duration_seconds",
        kind: Kind::Histogram,
        help: "Duration of {} in seconds.",
    },
    CustomFamily {
        suffix: "_in_flight",
        kind: Kind::Gauge,
        help: "Calls of {} running.",
    },
];

/// How a call ended, as the outcome label says it: in this order, the last only for sites that declare
/// expected outcomes.
pub const OUTCOMES: [&str; 4] = ["ok", "error", "cancelled", "expected_error"];

/// Default histogram buckets, in seconds: the classic set plus 200 ms and 2 s, the thresholds latency
/// alerts are written against. The macros check latency objectives against them.
pub const DEFAULT_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0];

/// The values of the `method` label: the standard methods, then [`OTHER_METHOD`] for any other, so a
/// scanner's invented methods make no series.
pub const METHOD_LABEL_VALUES: &[&str] = &[
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "HEAD",
    "OPTIONS",
    "CONNECT",
    "PATCH",
    "TRACE",
    OTHER_METHOD,
];

/// The standard HTTP methods.
pub const HTTP_METHODS: &[&str] = METHOD_LABEL_VALUES
    .split_at(METHOD_LABEL_VALUES.len() - 1)
    .0;

/// The `method` label of a request whose method is not in [`HTTP_METHODS`].
pub const OTHER_METHOD: &str = "other";
