//! "Endpoint performance": which routes are slow, which fail, where the traffic goes, and a drill-down
//! into one route chosen with the `$route` variable.

use super::model::{target, Board, Panel};
use super::promql::{percent, quantile, ratio, seconds, series, sum, sum_rate, topk, trim};
use super::Context;
use serde_json::Value;
use sightline_conventions::HTTP;

const SERVER_ERROR: &str = r#"status_code=~"5..""#;
const ROUTE: &str = r#"route="$route""#;
/// How many routes the "top" panels show.
const TOP: u32 = 10;

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
    let route_link = cx.route_link();
    let mut board = Board::new();

    board.row(
        "Routes compared",
        "Every route of the service side by side: the slowest, the most failing, and the traffic split.",
    );
    board.add(
        Panel::timeseries(
            "Slowest routes (p95)",
            format!(
                "The {TOP} routes with the highest 95th percentile request duration: topk({TOP}) of \
                 histogram_quantile(0.95) over the per-second rate of the \
                 http_request_duration_seconds buckets over $__rate_interval, by method and route. \
                 Click a series for the route's drill-down. {latency_words}"
            ),
            "s",
        )
        .thresholds(l.latency_thresholds())
        .link("Route drill-down", route_link.clone())
        .target(target(
            topk(TOP, &quantile(0.95, "method, route", &HTTP.duration, "")),
            "{{method}} {{route}}",
        )),
        12,
        9,
    );
    board.add(
        Panel::timeseries(
            "Highest error routes",
            format!(
                "The {TOP} routes with the highest share of 5xx responses: topk({TOP}) of the \
                 per-second rate of http_requests_total with a 5xx status_code divided by the rate of \
                 all of the route's requests, over $__rate_interval, by method and route. Click a \
                 series for the route's drill-down. {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .link("Route drill-down", route_link.clone())
        .target(target(
            topk(TOP, &ratio("method, route", &HTTP.requests, SERVER_ERROR, "")),
            "{{method}} {{route}}",
        )),
        12,
        9,
    );
    board.add(
        Panel::timeseries(
            "Traffic by route",
            "How the service's requests split between routes: the per-second rate of \
             http_requests_total over $__rate_interval, by method and route, stacked. Click a series \
             for the route's drill-down.",
            "reqps",
        )
        .stacked()
        .link("Route drill-down", route_link.clone())
        .target(target(
            sum_rate("method, route", &HTTP.requests, ""),
            "{{method}} {{route}}",
        )),
        12,
        9,
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
        9,
    );

    board.row(
        "Route: $route",
        "One route, chosen with the Route variable above (or by clicking a series in the panels above).",
    );
    board.add(
        Panel::stat(
            "Request rate",
            "Requests per second to $route now: the per-second rate of http_requests_total with \
             route=\"$route\" over $__rate_interval, summed over methods and status codes.",
            "reqps",
        )
        .target(target(sum_rate("", &HTTP.requests, ROUTE), "requests/s")),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "Error ratio",
            format!(
                "Share of $route's requests answered with a 5xx status now: the per-second rate of \
                 http_requests_total with route=\"$route\" and a 5xx status_code divided by the rate \
                 of all its requests, over $__rate_interval. {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .target(target(ratio("", &HTTP.requests, SERVER_ERROR, ROUTE), "error ratio")),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "p95 latency",
            format!(
                "The 95th percentile of $route's request duration now: histogram_quantile(0.95) over \
                 the per-second rate of the http_request_duration_seconds buckets with \
                 route=\"$route\" over $__rate_interval. {latency_words}"
            ),
            "s",
        )
        .thresholds(l.latency_thresholds())
        .target(target(quantile(0.95, "", &HTTP.duration, ROUTE), "p95")),
        6,
        4,
    );
    board.add(
        Panel::stat(
            "Requests in flight",
            format!(
                "Requests $route is handling at this moment: http_requests_in_flight with \
                 route=\"$route\", summed over methods. {in_flight_words}"
            ),
            "short",
        )
        .thresholds(l.in_flight_thresholds())
        .target(target(
            sum("", &series(&HTTP.in_flight, ROUTE)),
            "in flight",
        )),
        6,
        4,
    );
    board.add(
        Panel::timeseries(
            "Requests by method and status",
            "Requests per second to $route by method and response status: the per-second rate of \
             http_requests_total with route=\"$route\" over $__rate_interval, by method and \
             status_code, stacked.",
            "reqps",
        )
        .stacked()
        .target(target(
            sum_rate("method, status_code", &HTTP.requests, ROUTE),
            "{{method}} {{status_code}}",
        )),
        8,
        8,
    );
    let mut percentiles = Panel::timeseries(
        "Latency percentiles",
        format!(
            "The 50th, 95th and 99th percentiles of $route's request duration: histogram_quantile over \
             the per-second rate of the http_request_duration_seconds buckets with route=\"$route\" \
             over $__rate_interval, by method. {latency_words}"
        ),
        "s",
    )
    .thresholds(l.latency_thresholds());
    for (q, name) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
        percentiles = percentiles.target(target(
            quantile(q, "method", &HTTP.duration, ROUTE),
            format!("{name} {{{{method}}}}"),
        ));
    }
    board.add(percentiles, 8, 8);
    board.add(
        Panel::timeseries(
            "Error ratio by method",
            format!(
                "Share of $route's requests answered with a 5xx status: the per-second rate of \
                 http_requests_total with route=\"$route\" and a 5xx status_code divided by the rate \
                 of all its requests, over $__rate_interval, by method. {error_words}"
            ),
            "percentunit",
        )
        .thresholds(l.error_thresholds())
        .target(target(
            ratio("method", &HTTP.requests, SERVER_ERROR, ROUTE),
            "{{method}}",
        )),
        8,
        8,
    );
    board.into_panels()
}
