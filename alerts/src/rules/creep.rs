//! The slow creep no threshold catches: latency drifting up week over week while staying under the p99
//! threshold, and memory growing towards its limit a little every hour.

use super::format::{self, eq, num, selector, Humanize};
use super::model::{
    gauge, labels, line, spike_share, Alert, Clock, Group, Labels, Phase, Plan, Series, Severity,
    Template, TestGroup, DAY, EVALUATION, HOUR, MINUTE,
};
use super::service::{duration_buckets, fast_requests, instance_labels, REQUESTS};
use crate::families::{Histogram, PROCESS_FAMILIES};
use crate::AlertConfig;
use sightline_conventions::HTTP;

/// p95 over this window now is compared with the same window a week earlier.
const CREEP_WINDOW: u64 = HOUR;
const WEEK: u64 = 7 * DAY;
/// As long as the window: a bad interval stays in the window for less than `for`.
const CREEP_HOLD: u64 = HOUR;
/// Seven days of history at one sample per minute would make a slow test; ten minutes is plenty for a
/// one-hour window.
const CREEP_INTERVAL: u64 = 10 * MINUTE;
/// The quantile compared: p95 moves before p99 does, on fewer slow requests.
const CREEP_QUANTILE: f64 = 0.95;

/// The regression range and the forecast horizon of `predict_linear`.
const MEMORY_WINDOW: u64 = 6 * HOUR;
const HORIZON: u64 = DAY;
/// A forecast is noisy: it must hold for half an hour.
const MEMORY_HOLD: u64 = 30 * MINUTE;
const MEMORY_INTERVAL: u64 = MINUTE;

pub(super) fn group(config: &AlertConfig, clock: Clock) -> Group {
    let mut group = Group::new(
        "sightline-creep",
        "The slow creep no threshold catches: latency against last week, memory against tomorrow.",
    );
    group.alert(latency_creep(config, clock));
    group.alert(memory_forecast(config, clock));
    group
}

fn latency_creep(config: &AlertConfig, clock: Clock) -> (Alert, Vec<TestGroup>) {
    let alert = latency_creep_alert(config, clock);
    let test = latency_creep_test(config, &alert);
    (alert, vec![test])
}

fn latency_creep_alert(config: &AlertConfig, clock: Clock) -> Alert {
    let (w, week) = (clock.dur(CREEP_WINDOW), clock.dur(WEEK));
    let buckets = selector(
        &Histogram::Bucket.of(&HTTP.duration),
        &[eq("job", &config.job)],
    );
    let p95 = |offset: &str| {
        format!(
            "histogram_quantile({}, sum by (le, job) (rate({buckets}[{w}]{offset})))",
            num(CREEP_QUANTILE)
        )
    };
    let expr = format!(
        "{}\n  /\n{}\n> {}",
        p95(""),
        p95(&format!(" offset {week}")),
        num(config.creep_factor)
    );
    Alert::new(config, "ServiceLatencyCreep", Severity::Warning, expr)
        .why(format!(
            "p95 latency now against the same {w} a week ago: a regression shipped last Tuesday, \
             below every absolute threshold."
        ))
        .hold(CREEP_HOLD)
        .summary(
            Template::default()
                .text("Latency of ")
                .label("job")
                .text(" creeping up week over week"),
        )
        .description(
            Template::default()
                .text("p95 latency of ")
                .label("job")
                .text(format!(" over the last {w} is "))
                .value(Humanize::Plain)
                .text(format!(
                    "x what it was {week} earlier (threshold {}x).",
                    format::humanize(config.creep_factor)
                )),
        )
}

/// The two bucket bounds of the creep test, and the slow share of its spike.
///
/// A week ago every request is under `fast`, so p95 interpolates to 0.95 fast; bad requests fall
/// between `fast` and `slow`, placed so that p95 now is twice the creep factor times last week's when
/// all of them are. With a share `s` of them bad, p95 is `fast + (slow - fast) * (s - 0.05) / s`: the
/// ratio reaches the factor at the share `threshold`.
struct CreepBuckets {
    fast: f64,
    slow: f64,
    spike: f64,
}

impl CreepBuckets {
    fn of(config: &AlertConfig) -> CreepBuckets {
        let q = CREEP_QUANTILE;
        let fast = config.latency_seconds / 4.0;
        let slow = fast + (2.0 * config.creep_factor * q - 1.0) * fast / q;
        let crossing = (config.creep_factor * q - 1.0) / (slow / fast - 1.0);
        let threshold = (1.0 - q) / (1.0 - crossing);
        CreepBuckets {
            fast,
            slow,
            spike: spike_share(threshold, 0.0, CREEP_WINDOW, CREEP_INTERVAL),
        }
    }

    /// The alert's value once every request is slow: p95 now over last week's.
    fn ratio(&self) -> f64 {
        let q = CREEP_QUANTILE;
        (self.fast + (self.slow - self.fast) * q) / (q * self.fast)
    }

    fn series(&self, config: &AlertConfig, plan: &Plan) -> Vec<Series> {
        let fast = fast_requests(self.spike);
        duration_buckets(
            config,
            plan,
            &[(self.fast, &fast), (self.slow, &|_| REQUESTS)],
        )
    }
}

/// One timeline, as a week of history is long to evaluate: a week and two windows of steady latency
/// (silent: it is what it was a week ago), then a slow interval (pending, never firing), then slow
/// traffic for good (fires after `for`, and still a day later, when yesterday was as slow as today). A
/// week before each check, latency was steady.
fn latency_creep_test(config: &AlertConfig, alert: &Alert) -> TestGroup {
    let buckets = CreepBuckets::of(config);
    let i = CREEP_INTERVAL;
    let steady = WEEK + 2 * CREEP_WINDOW;
    let bad = steady + 3 * HOUR;
    let plan = Plan::steady(Phase::Healthy, steady / i)
        .then(Phase::Spike, 1)
        .then(Phase::Healthy, (bad - steady) / i - 1)
        .then(Phase::Bad, (DAY + CREEP_WINDOW + CREEP_HOLD) / i + 2);
    let job = labels([("job", config.job.as_str())]);
    let value = buckets.ratio();
    TestGroup::new(
        format!(
            "{}: silent on steady latency and on one slow interval; fires when p95 is twice the creep \
             factor over last week's for `for`, not before, and still a day later",
            alert.name
        ),
        i,
        buckets.series(config, &plan),
    )
    .silent(alert, [steady])
    .pending(alert, steady + i)
    .silent(
        alert,
        [
            steady + i,
            steady + CREEP_WINDOW,
            steady + CREEP_WINDOW + CREEP_HOLD,
            // Bad since `bad`: true from the first window holding a slow interval.
            bad + i + CREEP_HOLD - EVALUATION,
        ],
    )
    .fires(alert, bad + CREEP_WINDOW + CREEP_HOLD, &job, value)
    // A day later yesterday was as slow as today: the baseline is last week's, not yesterday's.
    .fires(alert, bad + DAY + CREEP_WINDOW + CREEP_HOLD, &job, value)
}

fn memory_forecast(config: &AlertConfig, clock: Clock) -> (Alert, Vec<TestGroup>) {
    let alert = memory_forecast_alert(config, clock);
    let tests = MemoryTests::new(config, &alert);
    let tests = vec![tests.fires(), tests.healthy(), tests.spike()];
    (alert, tests)
}

fn memory_forecast_alert(config: &AlertConfig, clock: Clock) -> Alert {
    let (w, horizon) = (clock.dur(MEMORY_WINDOW), clock.dur(HORIZON));
    let memory = selector(
        PROCESS_FAMILIES.resident_memory.name,
        &[eq("job", &config.job)],
    );
    let limit = config.memory_limit_bytes;
    let expr = format!(
        "predict_linear({memory}[{w}], {})\n> {}",
        clock.secs(HORIZON),
        num(limit)
    );
    Alert::new(config, "ServiceMemoryGrowthForecast", Severity::Warning, expr)
        .why(format!(
            "Resident memory forecast {horizon} ahead from its last {w}: a leak pages a day before the \
             OOM kill, not at it."
        ))
        .hold(MEMORY_HOLD)
        .summary(
            Template::default()
                .text("Memory of ")
                .label("job")
                .text(format!(" forecast above its limit within {horizon}")),
        )
        .description(
            Template::default()
                .text(format!("At the growth rate of the last {w}, "))
                .label("instance")
                .text(" of ")
                .label("job")
                .text(" will hold ".to_string())
                .value(Humanize::Bytes)
                .text(format!(
                    "B of resident memory in {horizon} (limit {}B).",
                    format::humanize1024(limit)
                )),
        )
}

/// The memory forecast's tests: one instance's resident memory, from a quarter of the limit.
struct MemoryTests<'a> {
    config: &'a AlertConfig,
    alert: &'a Alert,
    /// Not aggregated: the series' own labels, the registry's constant labels among them.
    expr_labels: Labels,
    limit: f64,
    base: f64,
}

impl<'a> MemoryTests<'a> {
    fn new(config: &'a AlertConfig, alert: &'a Alert) -> Self {
        let mut expr_labels = labels([
            ("job", config.job.as_str()),
            ("instance", config.target.as_str()),
        ]);
        expr_labels.extend(config.naming.const_labels.iter().cloned());
        let limit = config.memory_limit_bytes;
        MemoryTests {
            config,
            alert,
            expr_labels,
            limit,
            base: limit / 4.0,
        }
    }

    fn series(&self, values: String) -> Vec<Series> {
        vec![Series {
            selector: selector(
                PROCESS_FAMILIES.resident_memory.name,
                &instance_labels(self.config),
            ),
            values,
        }]
    }

    /// Growth that reaches twice the limit within the horizon; the regression is exact on a line.
    fn fires(&self) -> TestGroup {
        let (i, limit) = (MEMORY_INTERVAL, self.limit);
        let at = MEMORY_HOLD + 5 * i;
        let step = (2.0 * limit - self.base) / (at + HORIZON) as f64 * i as f64;
        TestGroup::new(
            format!(
                "{}: fires on steady growth towards twice the limit, once `for` has elapsed",
                self.alert.name
            ),
            i,
            self.series(line(self.base, step, at / i + 2)),
        )
        .silent(self.alert, [MEMORY_HOLD])
        .fires(self.alert, at, &self.expr_labels, 2.0 * limit)
    }

    /// Growing too, but the forecast stays at half the limit.
    fn healthy(&self) -> TestGroup {
        let i = MEMORY_INTERVAL;
        let end = MEMORY_WINDOW + MEMORY_HOLD;
        let step = (self.limit / 2.0 - self.base) / (end + HORIZON) as f64 * i as f64;
        TestGroup::new(
            format!(
                "{}: silent on growth that stays under the limit within the horizon",
                self.alert.name
            ),
            i,
            self.series(line(self.base, step, end / i + 2)),
        )
        .silent(self.alert, [MEMORY_HOLD, MEMORY_WINDOW, end])
    }

    /// After a full window of flat memory, a block of half of `for` at a height that lifts the
    /// forecast 10 % past the limit at the block's end. The regression soon discounts it (its weight
    /// falls as it moves towards the window's middle): pending, never firing.
    fn spike(&self) -> TestGroup {
        let (i, base) = (MEMORY_INTERVAL, self.base);
        let k = MEMORY_HOLD / i / 2;
        let height = 1.1 * (self.limit - base) / forecast_gain(MEMORY_WINDOW, i, HORIZON, k);
        let before = (MEMORY_WINDOW + EVALUATION) / i;
        let peak = (before + k) * i;
        let plan = Plan::steady(Phase::Healthy, before)
            .then(Phase::Spike, k)
            .then(Phase::Healthy, MEMORY_WINDOW / i + 1);
        TestGroup::new(
            format!(
                "{}: silent on a {}-sample burst that is released again",
                self.alert.name, k
            ),
            i,
            self.series(gauge(&plan, |p| match p {
                Phase::Spike => base + height,
                Phase::Healthy | Phase::Bad => base,
            })),
        )
        .pending(self.alert, peak)
        .silent(
            self.alert,
            [
                peak,
                peak + MEMORY_HOLD / 2,
                peak + MEMORY_HOLD,
                peak + MEMORY_WINDOW,
            ],
        )
    }
}

/// How far `predict_linear(v[window], horizon)`, evaluated at a sample, rises per unit of height of a
/// block of the `k` newest samples above an otherwise flat window (`interval` apart; the window holds
/// both its ends, as Prometheus 2 reads it). The forecast is `mean(y) + slope * (horizon - mean(x))`
/// with `x` relative to the evaluation time.
fn forecast_gain(window: u64, interval: u64, horizon: u64, k: u64) -> f64 {
    let n = window / interval + 1;
    let xs: Vec<f64> = (0..n).map(|m| -(((n - 1 - m) * interval) as f64)).collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let sxx: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
    xs[(n - k) as usize..]
        .iter()
        .map(|x| 1.0 / n as f64 + (x - mean) * (horizon as f64 - mean) / sxx)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_at_the_end_weighs_about_28_over_n_per_sample() {
        // Continuous approximation for a horizon four times the window: 1/n (the mean) plus 27/n
        // (the slope, extrapolated).
        let gain = forecast_gain(6 * HOUR, MINUTE, DAY, 1);
        assert!((gain * 361.0 - 28.0).abs() < 0.5, "{gain}");
        assert_eq!(
            format!("{:.9}", forecast_gain(6 * HOUR, MINUTE, DAY, 15)),
            format!(
                "{:.9}",
                forecast_gain(6 * HOUR / 15, MINUTE / 15, DAY / 15, 15)
            ),
            "scale-free: a drill sees the same forecast"
        );
    }

    #[test]
    fn buckets_put_the_creep_ratio_at_twice_the_factor() {
        let config = AlertConfig::new("api", "127.0.0.1:1");
        let (alert, tests) = latency_creep(&config, Clock { drill: false });
        assert!(alert.expr.contains("offset 7d"));
        assert_eq!(tests.len(), 1, "one timeline");
        let fired = &tests[0].alerts.last().unwrap().expected[0];
        assert!(fired.annotations["description"].contains(" is 3x what it was 7d earlier"));
    }
}
