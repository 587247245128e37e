//! The kinds of panel the dashboards repeat, over the families they read: a rate, an error ratio, a
//! latency percentile and the requests in flight, each of a [`Split`] of the family's series.

use super::model::{stat, target, timeseries, Board, Heading, Measure, Panel};
use super::promql::{quantile, ratio, series, sum, sum_rate, topk};
use super::Context;
use sightline_conventions::{Family, HTTP};

/// The requests answered with a 5xx status.
pub(super) const SERVER_ERROR: &str = r#"status_code=~"5..""#;

/// A latency percentile, and how titles and legends name it.
#[derive(Clone, Copy)]
pub(super) struct Percentile {
    q: f64,
    name: &'static str,
}

pub(super) const P50: Percentile = Percentile {
    q: 0.5,
    name: "p50",
};
pub(super) const P95: Percentile = Percentile {
    q: 0.95,
    name: "p95",
};
pub(super) const P99: Percentile = Percentile {
    q: 0.99,
    name: "p99",
};

/// Which series of a family a panel shows: those of `job="$job"` also matching `matchers`, summed
/// by `by`, each named `legend`; with `top`, the highest ones only. With `drill_down`, every series
/// links to its route's drill-down.
#[derive(Clone, Copy)]
pub(super) struct Split {
    matchers: &'static str,
    by: &'static str,
    legend: &'static str,
    top: Option<u32>,
    drill_down: bool,
}

impl Split {
    /// Summed into one series, named `legend`.
    pub(super) const fn total(legend: &'static str) -> Split {
        Split::by("", legend)
    }

    /// Summed by the labels `by`, each series named `legend`.
    pub(super) const fn by(by: &'static str, legend: &'static str) -> Split {
        Split {
            matchers: "",
            by,
            legend,
            top: None,
            drill_down: false,
        }
    }

    /// Of the series matching `matchers` too.
    pub(super) const fn within(self, matchers: &'static str) -> Split {
        Split { matchers, ..self }
    }

    /// The `k` highest series only.
    pub(super) const fn top(self, k: u32) -> Split {
        Split {
            top: Some(k),
            ..self
        }
    }
}

/// By service.
pub(super) const BY_JOB: Split = Split::by("job", "{{job}}");

/// By route (and method), each series a link to its route's drill-down.
pub(super) const BY_ROUTE: Split = Split {
    drill_down: true,
    ..Split::by("method, route", "{{method}} {{route}}")
};

/// How a panel of 5xx ratios describes itself: the share of `whose` requests answered with a 5xx
/// status, computed as `computed` says, over `$__rate_interval` and `split` (`by job`).
pub(super) fn server_error_share(whose: &str, computed: &str, split: &str) -> String {
    format!(
        "Share of {whose} requests answered with a 5xx status: {computed}, over $__rate_interval, \
         {split}."
    )
}

/// The four golden signals now, as stats side by side: of the requests matching `matchers`, the
/// request rate, the 5xx ratio of `whose` requests (computed as `error_ratio` says), the
/// `percentile` of their duration and those in flight, each with its description.
pub(super) struct GoldenStats {
    pub(super) matchers: &'static str,
    pub(super) whose: &'static str,
    pub(super) error_ratio: String,
    pub(super) percentile: Percentile,
    pub(super) rate: String,
    pub(super) latency: String,
    pub(super) in_flight: String,
}

impl Context<'_> {
    /// A panel of `measure`, of `split`'s series of `query(by, matchers)`.
    fn split_panel(
        &self,
        heading: Heading,
        measure: &Measure,
        split: Split,
        query: impl Fn(&str, &str) -> String,
    ) -> Panel {
        let mut expr = query(split.by, split.matchers);
        if let Some(k) = split.top {
            expr = topk(k, &expr);
        }
        let panel = heading.panel(measure).target(target(expr, split.legend));
        if split.drill_down {
            panel.link(
                "Route drill-down",
                self.route_link(),
                "Click a series for the route's drill-down.",
            )
        } else {
            panel
        }
    }

    /// The per-second rate of `family`, over `$__rate_interval`: requests per second of HTTP
    /// requests, operations per second of anything else.
    pub(super) fn rate(&self, heading: Heading, family: &Family, split: Split) -> Panel {
        let unit = if *family == HTTP.requests {
            "reqps"
        } else {
            "ops"
        };
        self.split_panel(heading, &Measure::volume(unit), split, |by, matchers| {
            sum_rate(by, family, matchers)
        })
    }

    /// The share of `family`'s rate whose series match `bad`.
    pub(super) fn error_ratio(
        &self,
        heading: Heading,
        family: &Family,
        bad: &str,
        split: Split,
    ) -> Panel {
        self.split_panel(heading, &self.measures.error, split, |by, matchers| {
            ratio(by, family, bad, matchers)
        })
    }

    /// The `percentile` of histogram `family`.
    pub(super) fn latency(
        &self,
        heading: Heading,
        family: &Family,
        percentile: Percentile,
        split: Split,
    ) -> Panel {
        self.split_panel(heading, &self.measures.latency, split, |by, matchers| {
            quantile(percentile.q, by, family, matchers)
        })
    }

    /// The 50th, 95th and 99th percentiles of the request duration, the legends of `split` after
    /// the percentile's name.
    pub(super) fn latency_percentiles(&self, description: String, split: Split) -> Panel {
        let mut panel =
            timeseries("Latency percentiles", description).panel(&self.measures.latency);
        for p in [P50, P95, P99] {
            panel = panel.target(target(
                quantile(p.q, split.by, &HTTP.duration, split.matchers),
                format!("{} {}", p.name, split.legend),
            ));
        }
        panel
    }

    /// The HTTP requests being served.
    pub(super) fn in_flight(&self, heading: Heading, split: Split) -> Panel {
        self.split_panel(heading, &self.measures.in_flight, split, |by, matchers| {
            sum(by, &series(&HTTP.in_flight, matchers))
        })
    }

    /// The requests each route is serving, a panel of both the overview and the endpoints.
    pub(super) fn in_flight_by_route(&self) -> Panel {
        let description = format!(
            "Requests each route is handling at once: {} summed by method and route.",
            HTTP.in_flight.name
        );
        self.in_flight(
            timeseries("Requests in flight by route", description),
            BY_ROUTE,
        )
    }

    /// [`GoldenStats`], a quarter of the width each.
    pub(super) fn golden_stats(&self, board: &mut Board, stats: GoldenStats) {
        let total = |legend| Split::total(legend).within(stats.matchers);
        let p = stats.percentile;
        let errors = format!(
            "Share of {} requests answered with a 5xx status now: {}, over $__rate_interval.",
            stats.whose, stats.error_ratio
        );
        let requests = stat("Request rate", stats.rate);
        let latency = stat(format!("{} latency", p.name), stats.latency);
        let in_flight = stat("Requests in flight", stats.in_flight);
        board.add_all(
            6,
            4,
            [
                self.rate(requests, &HTTP.requests, total("requests/s")),
                self.error_ratio(
                    stat("Error ratio", errors),
                    &HTTP.requests,
                    SERVER_ERROR,
                    total("error ratio"),
                ),
                self.latency(latency, &HTTP.duration, p, total(p.name)),
                self.in_flight(in_flight, total("in flight")),
            ],
        );
    }
}
