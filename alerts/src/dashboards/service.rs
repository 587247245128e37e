//! "Service overview": the four golden signals of the service, now and over time, one row each, then
//! the instrumented functions and business operations.

use super::model::{target, Board, Panel};
use super::promql::{percent, quantile, ratio, seconds, series, sum, sum_rate, trim};
use super::Context;
use serde_json::Value;
use sightline_conventions::{
    BUSINESS, FUNCTION, HTTP, LOG_LINES_DROPPED, SPANS_DROPPED, SPANS_EXPORTED,
};

const SERVER_ERROR: &str = r#"status_code=~"5..""#;

pub(super) fn panels(cx: &Context) -> Vec<Value> {
    let l = &cx.levels;
    let error_words = format!(
        "Green below {}, yellow below {}, red above.",
        percent(l.error.0),
        percent(l.error.1)
    );
    let latency_words = format!(
        "Green below {}, yellow below {}, red above (the latency alert's threshold).",
        seconds(l.latency.0),
        seconds(l.latency.1)
    );
    let in_flight_words = format!(
        "Green below {}, yellow below {}, red from the saturation alert's ceiling.",
        trim(l.in_flight.0),
        trim(l.in_flight.1)
    );
    let ratio_words = "the per-second rate of http_requests_total with a 5xx status_code divided by \
                       the rate of all http_requests_total (4xx are the client's mistakes, not errors)";
    let route_link = cx.route_link();
    let mut board = Board::new();

    board.row(
        "Golden signals",
        "The service's four golden signals now: traffic, errors, latency and saturation.",
    );
    board.add(
        Panel::stat(
            "Request rate",
            "Requests per second $job is serving now: the per-second rate of http_requests_total \
                 over $__rate_interval, summed over every route, method and status code.",
            "reqps",
        )
        .target(target(sum_rate("", &HTTP.requests, ""), "requests/s")),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "Error ratio",
            format!(
                "Share of $job's requests answered with a 5xx status now: {ratio_words}, over \
                 $__rate_interval. {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .target(target(
            ratio("", &HTTP.requests, SERVER_ERROR, ""),
            "error ratio",
        )),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "p99 latency",
            format!(
                "The 99th percentile of $job's request duration now: histogram_quantile(0.99) over \
                 the per-second rate of the http_request_duration_seconds buckets over \
                 $__rate_interval, summed over every route. {latency_words}"
            ),
            "s",
        )
        .thresholds(l.latency_thresholds())
        .target(target(quantile(0.99, "", &HTTP.duration, ""), "p99")),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "Requests in flight",
            format!(
                "Requests $job is handling at this moment: http_requests_in_flight summed over every \
                 route. {in_flight_words}"
            ),
            "short",
        )
        .thresholds(l.in_flight_thresholds())
        .target(target(sum("", &series(&HTTP.in_flight, "")), "in flight")),
        6,
        4,
    );

    board.row(
        "Rate",
        "Traffic: how many requests the service serves, and with which status.",
    );
    board.add(
        Panel::timeseries(
            "Request rate",
            "Requests per second served by each service: the per-second rate of \
                 http_requests_total over $__rate_interval, summed by job.",
            "reqps",
        )
        .target(target(sum_rate("job", &HTTP.requests, ""), "{{job}}")),
        12,
        8,
    );
    board.add(
        Panel::timeseries(
            "Requests by status code",
            "Requests per second by response status: the per-second rate of http_requests_total \
                 over $__rate_interval, summed by status_code and stacked.",
            "reqps",
        )
        .stacked()
        .target(target(
            sum_rate("status_code", &HTTP.requests, ""),
            "{{status_code}}",
        )),
        12,
        8,
    );

    board.row(
        "Errors",
        "Errors: the share of requests that failed on the server's side (5xx).",
    );
    board.add(
        Panel::timeseries(
            "Error ratio",
            format!(
                "Share of each service's requests answered with a 5xx status: {ratio_words}, over \
                 $__rate_interval, by job. {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .target(target(
            ratio("job", &HTTP.requests, SERVER_ERROR, ""),
            "{{job}}",
        )),
        12,
        8,
    );
    board.add(
        Panel::timeseries(
            "Error ratio by route",
            format!(
                "Share of each route's requests answered with a 5xx status: {ratio_words}, over \
                 $__rate_interval, by method and route. Click a series for the route's drill-down. \
                 {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .link("Route drill-down", route_link.clone())
        .target(target(
            ratio("method, route", &HTTP.requests, SERVER_ERROR, ""),
            "{{method}} {{route}}",
        )),
        12,
        8,
    );

    board.row(
        "Latency",
        "Latency: how long requests take, as percentiles of the duration histogram.",
    );
    let mut percentiles = Panel::timeseries(
        "Latency percentiles",
        format!(
            "The 50th, 95th and 99th percentiles of each service's request duration: \
             histogram_quantile over the per-second rate of the http_request_duration_seconds buckets \
             over $__rate_interval, summed by job. {latency_words}"
        ),
        "s",
    )
    .thresholds(l.latency_thresholds());
    for (q, name) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
        percentiles = percentiles.target(target(
            quantile(q, "job", &HTTP.duration, ""),
            format!("{name} {{{{job}}}}"),
        ));
    }
    board.add(percentiles, 12, 8);
    board.add(
        Panel::timeseries(
            "p99 latency by route",
            format!(
                "The 99th percentile of each route's request duration: histogram_quantile(0.99) over \
                 the per-second rate of the http_request_duration_seconds buckets over \
                 $__rate_interval, by method and route. Click a series for the route's drill-down. \
                 {latency_words}"
            ),
            "s",
        )
        .thresholds(l.latency_thresholds())
        .link("Route drill-down", route_link.clone())
        .target(target(
            quantile(0.99, "method, route", &HTTP.duration, ""),
            "{{method}} {{route}}",
        )),
        12,
        8,
    );

    board.row(
        "Saturation",
        "Saturation: how much concurrent work the service holds.",
    );
    board.add(
        Panel::timeseries(
            "Requests in flight",
            format!(
                "Requests each service is handling at once: http_requests_in_flight summed by job. \
                 {in_flight_words}"
            ),
            "short",
        )
        .thresholds(l.in_flight_thresholds())
        .target(target(sum("job", &series(&HTTP.in_flight, "")), "{{job}}")),
        12,
        8,
    );
    board.add(
        Panel::timeseries(
            "Requests in flight by route",
            format!(
                "Requests each route is handling at once: http_requests_in_flight summed by method \
                 and route. Click a series for the route's drill-down. {in_flight_words}"
            ),
            "short",
        )
        .thresholds(l.in_flight_thresholds())
        .link("Route drill-down", route_link)
        .target(target(
            sum("method, route", &series(&HTTP.in_flight, "")),
            "{{method}} {{route}}",
        )),
        12,
        8,
    );

    board.row(
        "Functions",
        "The functions instrumented with #[observe]: calls, errors and duration per function.",
    );
    board.add(
        Panel::timeseries(
            "Function calls by result",
            "Calls per second of each instrumented function: the per-second rate of \
                 function_calls_total over $__rate_interval, by function, module and result (ok, \
                 error, cancelled).",
            "ops",
        )
        .target(target(
            sum_rate("function, module, result", &FUNCTION.calls, ""),
            "{{function}} {{result}}",
        )),
        8,
        8,
    );
    board.add(
        Panel::timeseries(
            "Function error ratio",
            format!(
                "Share of each function's calls that failed: the per-second rate of \
                 function_calls_total with result=\"error\" divided by the rate of all its calls, over \
                 $__rate_interval, by function and module. {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .target(target(
            ratio(
                "function, module",
                &FUNCTION.calls,
                r#"result="error""#,
                "",
            ),
            "{{function}}",
        )),
        8,
        8,
    );
    board.add(
        Panel::timeseries(
            "Function p95 duration",
            format!(
                "The 95th percentile of each function's call duration: histogram_quantile(0.95) over \
                 the per-second rate of the function_call_duration_seconds buckets over \
                 $__rate_interval, by function and module. {latency_words}"
            ),
            "s",
        )
        .thresholds(l.latency_thresholds())
        .target(target(
            quantile(0.95, "function, module", &FUNCTION.duration, ""),
            "{{function}}",
        )),
        8,
        8,
    );
    board.add(
        Panel::timeseries(
            "Function errors by kind",
            "Errors per second by kind: the per-second rate of function_errors_total over \
                 $__rate_interval, by function, module and error_kind, stacked.",
            "ops",
        )
        .stacked()
        .target(target(
            sum_rate("function, module, error_kind", &FUNCTION.errors, ""),
            "{{function}} {{error_kind}}",
        )),
        12,
        8,
    );
    board.add(
        Panel::timeseries(
            "Function expected outcomes by kind",
            "Expected outcomes per second by kind (a declined card, a failed validation: variants marked \
             #[error_label(expected)], business outcomes rather than faults, outside every error ratio): \
             the per-second rate of function_expected_errors_total over $__rate_interval, by function, \
             module and error_kind, stacked.",
            "ops",
        )
        .stacked()
        .target(target(
            sum_rate(
                "function, module, error_kind",
                &FUNCTION.expected_errors,
                "",
            ),
            "{{function}} {{error_kind}}",
        )),
        12,
        8,
    );

    board.row(
        "Business operations",
        "The operations instrumented with #[business_span]: outcomes and failure share.",
    );
    board.add(
        Panel::timeseries(
            "Business operations by outcome",
            "Business operations per second: the per-second rate of business_operations_total \
                 over $__rate_interval, by operation and outcome (ok, error, cancelled, \
                 expected_error), stacked.",
            "ops",
        )
        .stacked()
        .target(target(
            sum_rate("operation, outcome", &BUSINESS.calls, ""),
            "{{operation}} {{outcome}}",
        )),
        12,
        8,
    );
    board.add(
        Panel::timeseries(
            "Business operation error ratio",
            format!(
                "Share of each business operation that failed: the per-second rate of \
                 business_operations_total with outcome=\"error\" divided by the rate of all of them, \
                 over $__rate_interval, by operation. {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .target(target(
            ratio(
                "operation",
                &BUSINESS.calls,
                r#"outcome="error""#,
                "",
            ),
            "{{operation}}",
        )),
        12,
        8,
    );

    board.add(
        Panel::timeseries(
            "Business expected outcomes by kind",
            "Expected outcomes of business operations per second by kind (variants marked \
             #[error_label(expected)]: declines, refusals, outside every error ratio): the per-second \
             rate of business_operation_expected_errors_total over $__rate_interval, by operation and \
             error_kind, stacked.",
            "ops",
        )
        .stacked()
        .target(target(
            sum_rate(
                "operation, error_kind",
                &BUSINESS.expected_errors,
                "",
            ),
            "{{operation}} {{error_kind}}",
        )),
        24,
        8,
    );

    board.row(
        "Telemetry",
        "sightline's own losses: spans that did not reach the collector and log lines that did not reach \
         stdout, by reason. While they are not 0, traces and logs have gaps.",
    );
    board.add(
        Panel::timeseries(
            "Telemetry lost by reason",
            "Spans and log lines lost per second: the per-second rate of sightline_spans_dropped_total \
             and sightline_log_lines_dropped_total over $__rate_interval, by reason (spans: queue_full, \
             unreachable, timeout, rejected, shutdown, failed; log lines: buffer_full, write_failed, \
             shutdown), stacked.",
            "ops",
        )
        .stacked()
        .target(target(
            sum_rate("reason", &SPANS_DROPPED, ""),
            "spans {{reason}}",
        ))
        .target(target(
            sum_rate("reason", &LOG_LINES_DROPPED, ""),
            "log lines {{reason}}",
        )),
        12,
        8,
    );
    let dropped = sum_rate("", &SPANS_DROPPED, "");
    let exported = sum_rate("", &SPANS_EXPORTED, "");
    board.add(
        Panel::timeseries(
            "Span loss ratio",
            "Share of finished spans that did not reach the collector: the per-second rate of \
             sightline_spans_dropped_total divided by that of every span sightline sent or lost \
             (sightline_spans_dropped_total plus sightline_spans_exported_total), over \
             $__rate_interval. Empty while no span is exported (no collector configured).",
            "percentunit",
        )
        .target(target(
            format!("{dropped} / ({dropped} + {exported})"),
            "lost",
        )),
        12,
        8,
    );
    board.into_panels()
}
