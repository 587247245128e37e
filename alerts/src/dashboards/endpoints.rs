//! "Endpoint performance": which routes are slow, which fail, where the traffic goes, and a drill-down
//! into one route chosen with the `$route` variable.

use super::model::{timeseries, Board};
use super::panels::{server_error_share, GoldenStats, Split, BY_ROUTE, P95, SERVER_ERROR};
use super::{Context, Row};
use sightline_conventions::HTTP;

/// The drilled-into route's series.
const ROUTE: &str = r#"route="$route""#;
/// How many routes the "top" panels show.
const TOP: u32 = 10;

/// The rows, top to bottom.
pub(super) const ROWS: [Row; 2] = [
    Row {
        title: "Routes compared",
        description: "Every route of the service side by side: the slowest, the most failing, and \
                      the traffic split.",
        panels: routes_compared,
    },
    Row {
        title: "Route: $route",
        description: "One route, chosen with the Route variable above (or by clicking a series in \
                      the panels above).",
        panels: route,
    },
];

fn routes_compared(board: &mut Board, cx: &Context) {
    let slowest = timeseries(
        "Slowest routes (p95)",
        format!(
            "The {TOP} routes with the highest 95th percentile request duration: topk({TOP}) of \
             histogram_quantile(0.95) over the per-second rate of the {} buckets over \
             $__rate_interval, by method and route.",
            HTTP.duration.name
        ),
    );
    let failing = timeseries(
        "Highest error routes",
        format!(
            "The {TOP} routes with the highest share of 5xx responses: topk({TOP}) of the \
             per-second rate of {} with a 5xx status_code divided by the rate of all of the \
             route's requests, over $__rate_interval, by method and route.",
            HTTP.requests.name
        ),
    );
    let traffic = timeseries(
        "Traffic by route",
        format!(
            "How the service's requests split between routes: the per-second rate of {} over \
             $__rate_interval, by method and route, stacked.",
            HTTP.requests.name
        ),
    );
    let top = BY_ROUTE.top(TOP);
    board.add_all(
        12,
        9,
        [
            cx.latency(slowest, &HTTP.duration, P95, top),
            cx.error_ratio(failing, &HTTP.requests, SERVER_ERROR, top),
            cx.rate(traffic, &HTTP.requests, BY_ROUTE).stacked(),
            cx.in_flight_by_route(),
        ],
    );
}

fn route(board: &mut Board, cx: &Context) {
    let (requests, duration) = (HTTP.requests.name, HTTP.duration.name);
    cx.golden_stats(
        board,
        GoldenStats {
            matchers: ROUTE,
            whose: "$route's",
            error_ratio: route_error_ratio(),
            percentile: P95,
            rate: format!(
                "Requests per second to $route now: the per-second rate of {requests} with \
                 route=\"$route\" over $__rate_interval, summed over methods and status codes."
            ),
            latency: format!(
                "The 95th percentile of $route's request duration now: histogram_quantile(0.95) \
                 over the per-second rate of the {duration} buckets with route=\"$route\" over \
                 $__rate_interval."
            ),
            in_flight: format!(
                "Requests $route is handling at this moment: {} with route=\"$route\", summed over \
                 methods.",
                HTTP.in_flight.name
            ),
        },
    );
    route_over_time(board, cx);
}

/// How the error ratios of the route's requests are computed, in words.
fn route_error_ratio() -> String {
    format!(
        "the per-second rate of {} with route=\"$route\" and a 5xx status_code divided by the rate \
         of all its requests",
        HTTP.requests.name
    )
}

/// The route's traffic, latency and errors, by method.
fn route_over_time(board: &mut Board, cx: &Context) {
    let traffic = timeseries(
        "Requests by method and status",
        format!(
            "Requests per second to $route by method and response status: the per-second rate of \
             {} with route=\"$route\" over $__rate_interval, by method and status_code, stacked.",
            HTTP.requests.name
        ),
    );
    let percentiles = format!(
        "The 50th, 95th and 99th percentiles of $route's request duration: histogram_quantile over \
         the per-second rate of the {} buckets with route=\"$route\" over $__rate_interval, by \
         method.",
        HTTP.duration.name
    );
    let failing = timeseries(
        "Error ratio by method",
        server_error_share("$route's", &route_error_ratio(), "by method"),
    );
    let status = Split::by("method, status_code", "{{method}} {{status_code}}").within(ROUTE);
    let method = Split::by("method", "{{method}}").within(ROUTE);
    board.add_all(
        8,
        8,
        [
            cx.rate(traffic, &HTTP.requests, status).stacked(),
            cx.latency_percentiles(percentiles, method),
            cx.error_ratio(failing, &HTTP.requests, SERVER_ERROR, method),
        ],
    );
}
