//! "Service overview": the four golden signals of the service, now and over time, one row each, then
//! the instrumented functions and business operations.

use super::model::{target, timeseries, Board, Measure};
use super::panels::{
    server_error_share, GoldenStats, Split, BY_JOB, BY_ROUTE, P95, P99, SERVER_ERROR,
};
use super::promql::{quantile, ratio, sum_rate};
use super::{Context, Row};
use sightline_conventions::{
    BUSINESS, FUNCTION, GRPC_SERVER, HTTP, LINE_LOSS_REASONS, LOG_LINES_DROPPED, OUTCOMES,
    SPANS_DROPPED, SPANS_EXPORTED, SPAN_LOSS_REASONS,
};

/// The rows, top to bottom.
pub(super) const ROWS: [Row; 9] = [
    Row {
        title: "Golden signals",
        description: "The service's four golden signals now: traffic, errors, latency and \
                      saturation.",
        panels: golden_signals,
    },
    Row {
        title: "Rate",
        description: "Traffic: how many requests the service serves, and with which status.",
        panels: rate,
    },
    Row {
        title: "Errors",
        description: "Errors: the share of requests that failed on the server's side (5xx).",
        panels: errors,
    },
    Row {
        title: "Latency",
        description: "Latency: how long requests take, as percentiles of the duration histogram.",
        panels: latency,
    },
    Row {
        title: "Saturation",
        description: "Saturation: how much concurrent work the service holds.",
        panels: saturation,
    },
    Row {
        title: "Functions",
        description: "The functions instrumented with #[observe]: calls, errors and duration per \
                      function.",
        panels: functions,
    },
    Row {
        title: "Business operations",
        description: "The operations instrumented with #[business_span]: outcomes and failure \
                      share.",
        panels: business_operations,
    },
    Row {
        title: "gRPC",
        description:
            "The gRPC methods the service serves (behind sightline::grpc::layer()): calls \
                      by status code, the share that were the server's fault, and latency. Empty \
                      for a service without gRPC.",
        panels: grpc,
    },
    Row {
        title: "Telemetry",
        description: "sightline's own losses: spans that did not reach the collector and log \
                      lines that did not reach stdout, by reason. While they are not 0, traces \
                      and logs have gaps.",
        panels: telemetry,
    },
];

/// How the error ratios of HTTP requests are computed, in words.
fn server_error_ratio() -> String {
    let requests = HTTP.requests.name;
    format!(
        "the per-second rate of {requests} with a 5xx status_code divided by the rate of all \
         {requests} (4xx are the client's mistakes, not errors)"
    )
}

fn golden_signals(board: &mut Board, cx: &Context) {
    cx.golden_stats(
        board,
        GoldenStats {
            matchers: "",
            whose: "$job's",
            error_ratio: server_error_ratio(),
            percentile: P99,
            rate: format!(
                "Requests per second $job is serving now: the per-second rate of {} over \
                 $__rate_interval, summed over every route, method and status code.",
                HTTP.requests.name
            ),
            latency: format!(
                "The 99th percentile of $job's request duration now: histogram_quantile(0.99) over \
                 the per-second rate of the {} buckets over $__rate_interval, summed over every \
                 route.",
                HTTP.duration.name
            ),
            in_flight: format!(
                "Requests $job is handling at this moment: {} summed over every route.",
                HTTP.in_flight.name
            ),
        },
    );
}

fn rate(board: &mut Board, cx: &Context) {
    let requests = HTTP.requests.name;
    let by_job = timeseries(
        "Request rate",
        format!(
            "Requests per second served by each service: the per-second rate of {requests} over \
             $__rate_interval, summed by job."
        ),
    );
    let by_status = timeseries(
        "Requests by status code",
        format!(
            "Requests per second by response status: the per-second rate of {requests} over \
             $__rate_interval, summed by status_code and stacked."
        ),
    );
    let status = Split::by("status_code", "{{status_code}}");
    board.add_all(
        12,
        8,
        [
            cx.rate(by_job, &HTTP.requests, BY_JOB),
            cx.rate(by_status, &HTTP.requests, status).stacked(),
        ],
    );
}

fn errors(board: &mut Board, cx: &Context) {
    let ratio = server_error_ratio();
    let by_job = timeseries(
        "Error ratio",
        server_error_share("each service's", &ratio, "by job"),
    );
    let by_route = timeseries(
        "Error ratio by route",
        server_error_share("each route's", &ratio, "by method and route"),
    );
    board.add_all(
        12,
        8,
        [
            cx.error_ratio(by_job, &HTTP.requests, SERVER_ERROR, BY_JOB),
            cx.error_ratio(by_route, &HTTP.requests, SERVER_ERROR, BY_ROUTE),
        ],
    );
}

fn latency(board: &mut Board, cx: &Context) {
    let duration = HTTP.duration.name;
    let percentiles = format!(
        "The 50th, 95th and 99th percentiles of each service's request duration: \
         histogram_quantile over the per-second rate of the {duration} buckets over \
         $__rate_interval, summed by job."
    );
    let by_route = timeseries(
        "p99 latency by route",
        format!(
            "The 99th percentile of each route's request duration: histogram_quantile(0.99) over \
             the per-second rate of the {duration} buckets over $__rate_interval, by method and \
             route."
        ),
    );
    board.add_all(
        12,
        8,
        [
            cx.latency_percentiles(percentiles, BY_JOB),
            cx.latency(by_route, &HTTP.duration, P99, BY_ROUTE),
        ],
    );
}

fn saturation(board: &mut Board, cx: &Context) {
    let by_job = timeseries(
        "Requests in flight",
        format!(
            "Requests each service is handling at once: {} summed by job.",
            HTTP.in_flight.name
        ),
    );
    board.add_all(
        12,
        8,
        [cx.in_flight(by_job, BY_JOB), cx.in_flight_by_route()],
    );
}

fn functions(board: &mut Board, cx: &Context) {
    let calls = timeseries(
        "Function calls by result",
        format!(
            "Calls per second of each instrumented function: the per-second rate of {} over \
             $__rate_interval, by function, module and result ({}).",
            FUNCTION.calls.name,
            OUTCOMES[..3].join(", ")
        ),
    );
    let failed = timeseries(
        "Function error ratio",
        format!(
            "Share of each function's calls that failed: the per-second rate of {} with \
             result=\"error\" divided by the rate of all its calls, over $__rate_interval, by \
             function and module.",
            FUNCTION.calls.name
        ),
    );
    let duration = timeseries(
        "Function p95 duration",
        format!(
            "The 95th percentile of each function's call duration: histogram_quantile(0.95) over \
             the per-second rate of the {} buckets over $__rate_interval, by function and module.",
            FUNCTION.duration.name
        ),
    );
    let result = Split::by("function, module, result", "{{function}} {{result}}");
    let function = Split::by("function, module", "{{function}}");
    board.add_all(
        8,
        8,
        [
            cx.rate(calls, &FUNCTION.calls, result),
            cx.error_ratio(failed, &FUNCTION.calls, r#"result="error""#, function),
            cx.latency(duration, &FUNCTION.duration, P95, function),
        ],
    );
    function_errors(board, cx);
}

/// The errors and expected outcomes of functions, by kind.
fn function_errors(board: &mut Board, cx: &Context) {
    let errors = timeseries(
        "Function errors by kind",
        format!(
            "Errors per second by kind: the per-second rate of {} over $__rate_interval, by \
             function, module and error_kind, stacked.",
            FUNCTION.errors.name
        ),
    );
    let expected = timeseries(
        "Function expected outcomes by kind",
        format!(
            "Expected outcomes per second by kind (a declined card, a failed validation: variants \
             marked #[error_label(expected)], business outcomes rather than faults, outside every \
             error ratio): the per-second rate of {} over $__rate_interval, by function, module \
             and error_kind, stacked.",
            FUNCTION.expected_errors.name
        ),
    );
    let kind = Split::by(
        "function, module, error_kind",
        "{{function}} {{error_kind}}",
    );
    board.add_all(
        12,
        8,
        [
            cx.rate(errors, &FUNCTION.errors, kind).stacked(),
            cx.rate(expected, &FUNCTION.expected_errors, kind).stacked(),
        ],
    );
}

fn business_operations(board: &mut Board, cx: &Context) {
    let operations = BUSINESS.calls.name;
    let outcomes = timeseries(
        "Business operations by outcome",
        format!(
            "Business operations per second: the per-second rate of {operations} over \
             $__rate_interval, by operation and outcome ({}), stacked.",
            OUTCOMES.join(", ")
        ),
    );
    let failed = timeseries(
        "Business operation error ratio",
        format!(
            "Share of each business operation that failed: the per-second rate of {operations} \
             with outcome=\"error\" divided by the rate of all of them, over $__rate_interval, by \
             operation."
        ),
    );
    let expected = timeseries(
        "Business expected outcomes by kind",
        format!(
            "Expected outcomes of business operations per second by kind (variants marked \
             #[error_label(expected)]: declines, refusals, outside every error ratio): the \
             per-second rate of {} over $__rate_interval, by operation and error_kind, stacked.",
            BUSINESS.expected_errors.name
        ),
    );
    let outcome = Split::by("operation, outcome", "{{operation}} {{outcome}}");
    let operation = Split::by("operation", "{{operation}}");
    let kind = Split::by("operation, error_kind", "{{operation}} {{error_kind}}");
    board.add_all(
        12,
        8,
        [
            cx.rate(outcomes, &BUSINESS.calls, outcome).stacked(),
            cx.error_ratio(failed, &BUSINESS.calls, r#"outcome="error""#, operation),
        ],
    );
    let expected = cx.rate(expected, &BUSINESS.expected_errors, kind);
    board.add(expected.stacked(), 24, 8);
}

/// The gRPC status codes that are the server's fault.
const GRPC_FAULT: &str =
    r#"grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss""#;

fn grpc(board: &mut Board, _cx: &Context) {
    let (handled, handling) = (GRPC_SERVER.handled.name, GRPC_SERVER.handling.name);
    let by_code = timeseries(
        "gRPC calls by status code",
        format!(
            "Calls per second by status: the per-second rate of {handled} over $__rate_interval, \
             summed by grpc_code and stacked."
        ),
    );
    let faults = timeseries(
        "gRPC server-fault ratio by method",
        format!(
            "Share of calls that ended with a server fault (Unknown, DeadlineExceeded, \
             Unimplemented, Internal, Unavailable, DataLoss): the per-second rate of {handled} with \
             those codes divided by that of all {handled}, by method. NotFound, InvalidArgument and \
             the other answers are not faults."
        ),
    );
    let latency = timeseries(
        "gRPC p95 latency by method",
        format!(
            "The 95th percentile of call duration: histogram_quantile(0.95) over the per-second rate \
             of the {handling} buckets over $__rate_interval, by method."
        ),
    );
    let by_method = "grpc_service, grpc_method";
    board.add_all(
        8,
        8,
        [
            by_code
                .panel(&Measure::volume("reqps"))
                .stacked()
                .target(target(
                    sum_rate("grpc_code", &GRPC_SERVER.handled, ""),
                    "{{grpc_code}}",
                )),
            faults.panel(&Measure::volume("percentunit")).target(target(
                ratio(by_method, &GRPC_SERVER.handled, GRPC_FAULT, ""),
                "{{grpc_service}}/{{grpc_method}}",
            )),
            latency.panel(&Measure::volume("s")).target(target(
                quantile(0.95, by_method, &GRPC_SERVER.handling, ""),
                "{{grpc_service}}/{{grpc_method}}",
            )),
        ],
    );
}

fn telemetry(board: &mut Board, _cx: &Context) {
    let (spans, lines, exported) = (
        SPANS_DROPPED.name,
        LOG_LINES_DROPPED.name,
        SPANS_EXPORTED.name,
    );
    let lost = timeseries(
        "Telemetry lost by reason",
        format!(
            "Spans and log lines lost per second: the per-second rate of {spans} and {lines} over \
             $__rate_interval, by reason (spans: {}; log lines: {}), stacked.",
            SPAN_LOSS_REASONS.join(", "),
            LINE_LOSS_REASONS.join(", ")
        ),
    );
    let share = timeseries(
        "Span loss ratio",
        format!(
            "Share of finished spans that did not reach the collector: the per-second rate of \
             {spans} divided by that of every span sightline sent or lost ({spans} plus \
             {exported}), over $__rate_interval. Empty while no span is exported (no collector \
             configured)."
        ),
    );
    let dropped = sum_rate("", &SPANS_DROPPED, "");
    let sent = sum_rate("", &SPANS_EXPORTED, "");
    let by_reason = |family, counted: &str| {
        target(
            sum_rate("reason", family, ""),
            format!("{counted} {{{{reason}}}}"),
        )
    };
    board.add_all(
        12,
        8,
        [
            lost.panel(&Measure::volume("ops"))
                .stacked()
                .target(by_reason(&SPANS_DROPPED, "spans"))
                .target(by_reason(&LOG_LINES_DROPPED, "log lines")),
            share
                .panel(&Measure::volume("percentunit"))
                .target(target(format!("{dropped} / ({dropped} + {sent})"), "lost")),
        ],
    );
}
