//! The per-service alerts every service gets, whatever it declares: error ratio, p99 latency and
//! in-flight saturation of its HTTP handlers. A service is its scrape `job`: metrics carry no `service`
//! label.

use super::format::{self, eq, num, re, selector, Humanize};
use super::model::{
    counter, gauge, labels, spike_share, Alert, Clock, Group, Labels, Phase, Plan, Series,
    Severity, Template, TestGroup, EVALUATION, MINUTE,
};
use crate::families::Histogram;
use crate::AlertConfig;
use sightline_conventions::{GRPC_SERVER, HTTP};

/// The gRPC status codes that are the server's fault (the rest are answers, as an HTTP 4xx is).
const GRPC_FAULTS: &str = "Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss";

/// The rate window of the error-ratio and latency alerts.
const WINDOW: u64 = 5 * MINUTE;
/// Their `for`. As long as the window: a blip of one scrape interval is seen for less than `for` and
/// never pages, a failure lasting two is a real one.
const HOLD: u64 = 5 * MINUTE;
/// Saturation is a gauge, not a rate: hold it longer, a queue that drains within minutes is fine.
const SATURATION_HOLD: u64 = 10 * MINUTE;
/// The tests' sample interval (a production scrape is more often; one sample a minute is enough for
/// 5-minute windows and keeps the tests small).
const INTERVAL: u64 = MINUTE;
/// Requests per test interval: the ratios below become whole request counts.
pub(super) const REQUESTS: f64 = 100_000.0;

pub(super) fn group(config: &AlertConfig, clock: Clock) -> Group {
    let mut group = Group::new(
        "sightline-service",
        "Per service (the scrape job): the classic RED thresholds of its HTTP handlers and gRPC methods.",
    );
    group.alert(error_ratio(config, clock));
    group.alert(grpc_error_ratio(config, clock));
    group.alert(latency(config, clock));
    group.alert(saturation(config, clock));
    group
}

/// The series the tests feed: one instance of the service.
pub(super) fn instance_labels(config: &AlertConfig) -> Vec<String> {
    vec![eq("job", &config.job), eq("instance", &config.target)]
}

/// The requests the tests feed: that instance's `GET /`.
fn request_labels(config: &AlertConfig) -> Vec<String> {
    let mut m = instance_labels(config);
    m.extend([eq("method", "GET"), eq("route", "/")]);
    m
}

/// The request duration histogram of the tests' requests, answered 200: a bucket for each bound (`le`
/// as the exposition writes it, Rust's shortest float text, not rounded) counting `per_interval`
/// requests, then `+Inf` counting every request.
pub(super) fn duration_buckets(
    config: &AlertConfig,
    plan: &Plan,
    bounds: &[(f64, &dyn Fn(Phase) -> f64)],
) -> Vec<Series> {
    let bucket = |le: String, per_interval: &dyn Fn(Phase) -> f64| {
        let mut m = request_labels(config);
        m.extend([eq("status_code", "200"), eq("le", &le)]);
        Series {
            selector: selector(&Histogram::Bucket.of(&HTTP.duration), &m),
            values: counter(plan, per_interval),
        }
    };
    let mut buckets: Vec<Series> = bounds
        .iter()
        .map(|&(le, per_interval)| bucket(format!("{le}"), per_interval))
        .collect();
    buckets.push(bucket("+Inf".to_string(), &|_| REQUESTS));
    buckets
}

/// Requests per interval under the lowest bucket bound: all of them while healthy, none while bad, all
/// but a `slow_share` of them in a spike.
pub(super) fn fast_requests(slow_share: f64) -> impl Fn(Phase) -> f64 {
    move |phase| match phase {
        Phase::Healthy => REQUESTS,
        Phase::Bad => 0.0,
        Phase::Spike => (REQUESTS * (1.0 - slow_share)).round(),
    }
}

/// What `sum by (job)` returns.
fn job_labels(config: &AlertConfig) -> Labels {
    labels([("job", config.job.as_str())])
}

/// Failed requests per test interval. Healthy: half the threshold fails. Bad: ten times the threshold
/// (at most a `cap` share). Spike: one interval sized to stay over the threshold for less than `for`
/// (see `spike_share`).
fn failures(config: &AlertConfig, cap: f64) -> impl Fn(Phase) -> f64 + Copy {
    let threshold = config.error_ratio;
    let healthy = threshold / 2.0;
    let spike = spike_share(threshold, healthy, WINDOW, INTERVAL);
    move |phase| {
        let share = match phase {
            Phase::Healthy => healthy,
            Phase::Bad => (10.0 * threshold).min(cap),
            Phase::Spike => spike,
        };
        (REQUESTS * share).round()
    }
}

fn error_ratio(config: &AlertConfig, clock: Clock) -> (Alert, Vec<TestGroup>) {
    let w = clock.dur(WINDOW);
    let all = selector(HTTP.requests.name, &[eq("job", &config.job)]);
    let errors = selector(
        HTTP.requests.name,
        &[eq("job", &config.job), re("status_code", "5..")],
    );
    let expr = format!(
        "sum by (job) (rate({errors}[{w}]))\n  /\nsum by (job) (rate({all}[{w}]))\n> {}",
        num(config.error_ratio)
    );
    let alert = Alert::new(config, "ServiceErrorRatioHigh", Severity::Critical, expr)
        .why("Users are getting errors: 5xx responses over all responses, per service.")
        .hold(HOLD)
        .summary(Template::default().text("High 5xx ratio on ").label("job"))
        .description(
            Template::default()
                .value(Humanize::Percentage)
                .text(" of the HTTP requests to ")
                .label("job")
                .text(format!(
                    " were answered with a 5xx over the last {w} (threshold {}).",
                    Humanize::Percentage.apply(config.error_ratio)
                )),
        );

    let failed = failures(config, 1.0);
    let series = |plan: &Plan| {
        let with = |code: &str| {
            let mut m = request_labels(config);
            m.push(eq("status_code", code));
            selector(HTTP.requests.name, &m)
        };
        vec![
            Series {
                selector: with("200"),
                values: counter(plan, |p| REQUESTS - failed(p)),
            },
            Series {
                selector: with("500"),
                values: counter(plan, failed),
            },
        ]
    };
    let value = failed(Phase::Bad) / REQUESTS;
    let tests = held_tests(&alert, WINDOW, HOLD, 1, series, &job_labels(config), value);
    (alert, tests)
}

/// The same threshold for a gRPC server: calls ended with a server-fault code over all calls.
fn grpc_error_ratio(config: &AlertConfig, clock: Clock) -> (Alert, Vec<TestGroup>) {
    /// The share of calls answered `NotFound` in the tests, at every phase.
    const ANSWERED: f64 = 0.1;
    let w = clock.dur(WINDOW);
    let name = GRPC_SERVER.handled.name;
    let all = selector(name, &[eq("job", &config.job)]);
    let errors = selector(
        name,
        &[eq("job", &config.job), re("grpc_code", GRPC_FAULTS)],
    );
    let expr = format!(
        "sum by (job) (rate({errors}[{w}]))\n  /\nsum by (job) (rate({all}[{w}]))\n> {}",
        num(config.error_ratio)
    );
    let alert = Alert::new(config, "GrpcServerErrorRatioHigh", Severity::Critical, expr)
        .why(
            "Callers are getting the server's failures: gRPC calls ended Unknown, DeadlineExceeded, \
             Unimplemented, Internal, Unavailable or DataLoss over all calls, per service.",
        )
        .hold(HOLD)
        .summary(Template::default().text("High gRPC error ratio on ").label("job"))
        .description(
            Template::default()
                .value(Humanize::Percentage)
                .text(" of the gRPC calls to ")
                .label("job")
                .text(format!(
                    " ended with a server fault over the last {w} (threshold {}).",
                    Humanize::Percentage.apply(config.error_ratio)
                )),
        );
    // At most what leaves room for the answers below in every interval.
    let failed = failures(config, 1.0 - ANSWERED);
    let series = |plan: &Plan| {
        let with = |code: &str| {
            let mut m = instance_labels(config);
            m.extend([
                eq("grpc_type", "unary"),
                eq("grpc_service", "orders.v1.Orders"),
                eq("grpc_method", "Place"),
                eq("grpc_code", code),
            ]);
            selector(name, &m)
        };
        vec![
            Series {
                selector: with("OK"),
                values: counter(plan, |p| REQUESTS * (1.0 - ANSWERED) - failed(p)),
            },
            // Answers, not faults: in the denominator only.
            Series {
                selector: with("NotFound"),
                values: counter(plan, |_| REQUESTS * ANSWERED),
            },
            Series {
                selector: with("Unavailable"),
                values: counter(plan, failed),
            },
        ]
    };
    let value = failed(Phase::Bad) / REQUESTS;
    let tests = held_tests(&alert, WINDOW, HOLD, 1, series, &job_labels(config), value);
    (alert, tests)
}

fn latency(config: &AlertConfig, clock: Clock) -> (Alert, Vec<TestGroup>) {
    let w = clock.dur(WINDOW);
    let buckets = selector(
        &Histogram::Bucket.of(&HTTP.duration),
        &[eq("job", &config.job)],
    );
    let expr = format!(
        "histogram_quantile(0.99,\n  sum by (le, job) (rate({buckets}[{w}]))\n)\n> {}",
        num(config.latency_seconds)
    );
    let alert = Alert::new(config, "ServiceLatencyHigh", Severity::Warning, expr)
        .why("Users are waiting: p99 latency of all HTTP requests, per service.")
        .hold(HOLD)
        .summary(
            Template::default()
                .text("High p99 latency on ")
                .label("job"),
        )
        .description(
            Template::default()
                .text("p99 latency of ")
                .label("job")
                .text(" is ")
                .value(Humanize::Duration)
                .text(format!(
                    " over the last {w} (threshold {}).",
                    Humanize::Duration.apply(config.latency_seconds)
                )),
        );

    // Buckets at a quarter of the threshold, the threshold, and just over twice it. Healthy requests
    // take under a quarter of it; bad ones fall in the top bucket, placed so that p99 interpolates to
    // twice the threshold: a clean number, far from where `humanizeDuration` rounds. In a spike, a
    // share of the requests is slow: p99 crosses when more than 1 % of the window is.
    let t = config.latency_seconds;
    let bounds = [t / 4.0, t, t + t / 0.99];
    let slow_share = spike_share(0.01, 0.0, WINDOW, INTERVAL);
    let fast = fast_requests(slow_share);
    let series = |plan: &Plan| {
        duration_buckets(
            config,
            plan,
            &[
                (bounds[0], &fast),
                (bounds[1], &fast),
                (bounds[2], &|_| REQUESTS),
            ],
        )
    };
    let value = 2.0 * t;
    let tests = held_tests(&alert, WINDOW, HOLD, 1, series, &job_labels(config), value);
    (alert, tests)
}

fn saturation(config: &AlertConfig, clock: Clock) -> (Alert, Vec<TestGroup>) {
    let expr = format!(
        "sum by (job) ({})\n> {}",
        selector(HTTP.in_flight.name, &[eq("job", &config.job)]),
        num(config.in_flight_ceiling)
    );
    let alert = Alert::new(config, "ServiceInFlightHigh", Severity::Warning, expr)
        .why("Saturation: more requests in flight than the service is sized for, per service.")
        .hold(SATURATION_HOLD)
        .summary(
            Template::default()
                .text("Too many requests in flight on ")
                .label("job"),
        )
        .description(
            Template::default()
                .label("job")
                .text(" has been serving ")
                .value(Humanize::Plain)
                .text(format!(
                    " requests at once for {} (ceiling {}).",
                    clock.dur(SATURATION_HOLD),
                    format::humanize(config.in_flight_ceiling)
                )),
        );

    let ceiling = config.in_flight_ceiling;
    let series = |plan: &Plan| {
        vec![Series {
            selector: selector(HTTP.in_flight.name, &request_labels(config)),
            values: gauge(plan, |p| match p {
                Phase::Healthy => (ceiling / 2.0).floor(),
                Phase::Bad | Phase::Spike => 2.0 * ceiling,
            }),
        }]
    };
    // A gauge has no window: a spike of half of `for` is seen for half of `for`.
    let spike = SATURATION_HOLD / INTERVAL / 2;
    let tests = held_tests(
        &alert,
        0,
        SATURATION_HOLD,
        spike,
        series,
        &job_labels(config),
        2.0 * ceiling,
    );
    (alert, tests)
}

/// The three tests of an alert held by `for` over a rate `window` (0 for a gauge), in production seconds:
///
/// - it fires on a steadily bad series once `for` has elapsed, and not one evaluation before;
/// - it stays silent on a healthy series;
/// - it stays silent on a spike of `spike` intervals ([`Phase::Spike`]) that trips the expression (the
///   alert is pending) but not for as long as `for`.
pub(super) fn held_tests(
    alert: &Alert,
    window: u64,
    hold: u64,
    spike: u64,
    series: impl Fn(&Plan) -> Vec<Series>,
    expr_labels: &Labels,
    bad_value: f64,
) -> Vec<TestGroup> {
    let name = alert.name;
    // A rate needs two samples: true from the first evaluation after 0; a gauge from 0.
    let first_true = if window > 0 { EVALUATION } else { 0 };
    let settled = (window + hold + EVALUATION) / INTERVAL;
    let fires = TestGroup::new(
        format!("{name}: fires on a sustained bad series once `for` has elapsed, not before"),
        INTERVAL,
        series(&Plan::steady(Phase::Bad, settled + 2)),
    )
    .silent(alert, [first_true + hold - EVALUATION])
    .fires(alert, window + hold, expr_labels, bad_value);

    let healthy = TestGroup::new(
        format!("{name}: silent on a healthy series"),
        INTERVAL,
        series(&Plan::steady(Phase::Healthy, settled + 2)),
    )
    .silent(alert, [hold, window + hold]);

    // Starts on the evaluation grid, after a full window and `for` of healthy traffic.
    let start = settled * INTERVAL;
    let plan = Plan::steady(Phase::Healthy, settled)
        .then(Phase::Spike, spike)
        .then(Phase::Healthy, settled + 2);
    let spiky = TestGroup::new(
        format!(
            "{name}: silent on a spike of {spike} interval(s), shorter than `for`: pending, never firing"
        ),
        INTERVAL,
        series(&plan),
    )
    .pending(alert, start + EVALUATION)
    .silent(
        alert,
        [
            start + EVALUATION,
            start + 2 * EVALUATION,
            start + window + hold,
            start + window + hold + EVALUATION,
        ],
    );
    vec![fires, healthy, spiky]
}
