//! sightline's own losses: spans that did not reach the collector (the export queue full, the collector
//! unreachable or answering errors) and log lines that did not reach stdout (it could not keep up or
//! refused them), whatever the `reason` label says. While they last, the traces and logs every
//! investigation starts from have gaps.

use super::format::{eq, promql_str, selector, Humanize};
use super::model::{
    counter, labels, Alert, Clock, Group, Phase, Plan, Series, Severity, Template, TestGroup,
    MINUTE,
};
use super::service::held_tests;
use crate::AlertConfig;
use sightline_conventions as conventions;

/// The counters of lost telemetry.
const SPANS: &str = conventions::SPANS_DROPPED.name;
const LINES: &str = conventions::LOG_LINES_DROPPED.name;
const COUNTERS: [&str; 2] = [SPANS, LINES];

/// Every `reason` of `counter`.
fn reasons(counter: &str) -> Vec<&'static str> {
    if counter == SPANS {
        conventions::SPAN_LOSS_REASONS.to_vec()
    } else {
        conventions::LINE_LOSS_REASONS.to_vec()
    }
}

/// The losses the tests run on: a collector too slow for the queue, a collector that cannot be reached
/// (export failures), a stdout that cannot keep up.
const LOSSES: [(&str, &str); 3] = [
    (SPANS, "queue_full"),
    (SPANS, "unreachable"),
    (LINES, "buffer_full"),
];

/// The rate window. Drops come in bursts (a queue fills, drains, fills again): any drop within the last
/// 10 minutes keeps the loss counted as steady, so bursts a few minutes apart do not reset `for`.
const WINDOW: u64 = 10 * MINUTE;
/// The `for`: twice the window. A loss is seen for at most its length plus the window, so one that
/// lasts up to `for` minus the window (10 minutes: a burst at start-up, a collector restart or
/// redeploy) never fires; one that goes on longer is not going away by itself.
const HOLD: u64 = 20 * MINUTE;
/// The gap, in test intervals, between the bursts of loss of the test showing that bursts within a
/// window of each other count as steady loss.
const BURST_EVERY: u64 = 8;
/// The tests' sample interval.
const INTERVAL: u64 = MINUTE;
/// Items lost per test interval in the bad series: 10 per production second.
const LOST: f64 = 600.0;

pub(super) fn group(config: &AlertConfig, clock: Clock) -> Group {
    let mut group = Group::new(
        "sightline-telemetry",
        "Per service (the scrape job): sightline's own pipeline losing spans or log lines.",
    );
    group.alert(dropped(config, clock));
    group
}

fn dropped(config: &AlertConfig, clock: Clock) -> (Alert, Vec<TestGroup>) {
    let alert = dropped_alert(config, clock);
    let tests = LOSSES
        .into_iter()
        .flat_map(|loss| loss_tests(config, clock, &alert, loss))
        .collect();
    (alert, tests)
}

fn dropped_alert(config: &AlertConfig, clock: Clock) -> Alert {
    let (w, hold) = (clock.dur(WINDOW), clock.dur(HOLD));
    // `rate` drops the metric name: each counter is named in a `counter` label instead, so the alert
    // says which signal is lost and each gets an alert of its own.
    let branch = |name: &str| {
        format!(
            "label_replace(\n  sum by (job) (rate({}[{w}])),\n  \"counter\", {}, \"\", \"\"\n)\n> 0",
            selector(name, &[eq("job", &config.job)]),
            promql_str(name)
        )
    };
    let expr = COUNTERS.map(branch).join("\nor\n");
    Alert::new(config, "ServiceTelemetryDropped", Severity::Warning, expr)
        .why(format!(
            "Observability going blind: spans or log lines dropped, per service and counter. Held \
             {hold} over a {w} rate: a burst at start-up or a collector restart passes, steady loss \
             does not."
        ))
        .hold(HOLD)
        .summary(
            Template::default()
                .text("Telemetry dropped on ")
                .label("job"),
        )
        .description(
            Template::default()
                .label("counter")
                .text(" of ")
                .label("job")
                .text(format!(" has kept rising for {hold}, at "))
                .value(Humanize::Plain)
                .text(format!(
                    "/s over the last {w}: its traces or logs have gaps; the counter's `reason` \
                     label says why. Spans: unreachable, timeout or rejected, check that the OTLP \
                     collector is up and accepts them; queue_full, that it keeps up, then \
                     OTEL_BSP_MAX_QUEUE_SIZE. Log lines: check that whatever reads its stdout keeps \
                     up, then log_buffer_lines."
                )),
        )
}

/// Every series of both counters, one per reason: the `loss` (counter, reason) losing [`LOST`] items
/// in each bad interval, every other one present and at rest.
fn loss_series(config: &AlertConfig, plan: &Plan, loss: (&str, &str)) -> Vec<Series> {
    COUNTERS
        .iter()
        .flat_map(|&name| reasons(name).into_iter().map(move |reason| (name, reason)))
        .map(|(name, reason)| Series {
            selector: selector(
                name,
                &[
                    eq("job", &config.job),
                    eq("instance", &config.target),
                    eq("reason", reason),
                ],
            ),
            values: if (name, reason) == loss {
                counter(plan, |p| match p {
                    Phase::Healthy => 0.0,
                    Phase::Bad | Phase::Spike => LOST,
                })
            } else {
                counter(plan, |_| 0.0)
            },
        })
        .collect()
}

/// The tests of one loss: those of every alert held by `for`, then loss in bursts.
fn loss_tests(
    config: &AlertConfig,
    clock: Clock,
    alert: &Alert,
    loss: (&'static str, &'static str),
) -> Vec<TestGroup> {
    let (lost, lost_reason) = loss;
    let series = |plan: &Plan| loss_series(config, plan, loss);
    let expr_labels = labels([("job", config.job.as_str()), ("counter", lost)]);
    // The spike is the longest loss that must stay silent: `for` minus the window.
    let spike = (HOLD - WINDOW) / INTERVAL;
    // A rate, per second of the mode's clock: a drill loses as much in a fifteenth of the time.
    let value = LOST / clock.secs(INTERVAL) as f64;
    let mut tests = held_tests(alert, WINDOW, HOLD, spike, series, &expr_labels, value);
    for test in &mut tests {
        test.why = test
            .why
            .replacen(": ", &format!(" ({lost}, {lost_reason}): "), 1);
    }

    // Loss in bursts of one interval, `BURST_EVERY` intervals apart: every window holds a burst, so
    // the expression stays true and the alert fires. A window shorter than the gap between bursts
    // would reset `for` at each gap.
    let mut plan = Plan::default();
    for _ in 0..(WINDOW + HOLD) / INTERVAL / BURST_EVERY + 1 {
        plan = plan
            .then(Phase::Bad, 1)
            .then(Phase::Healthy, BURST_EVERY - 1);
    }
    // True from the first evaluation, so firing from `for` after it; the window ending at
    // `WINDOW + HOLD` holds one burst.
    let bursts = TestGroup::new(
        format!(
            "{} ({lost}, {lost_reason}): fires on loss in bursts {BURST_EVERY} intervals apart, each \
             window holding one",
            alert.name
        ),
        INTERVAL,
        series(&plan),
    )
    .silent(alert, [HOLD])
    .fires(alert, WINDOW + HOLD, &expr_labels, LOST / clock.secs(WINDOW) as f64);
    tests.push(bursts);
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drill_expects_the_rate_per_drill_second() {
        let config = AlertConfig::new("api", "127.0.0.1:1");
        let (alert, tests) = dropped(&config, Clock { drill: true });
        assert!(alert.expr.contains("[40s]"));
        let fired = &tests[0].alerts.last().unwrap().expected[0];
        assert!(
            fired.annotations["description"].contains("rising for 80s, at 150/s over the last 40s")
        );
    }

    #[test]
    fn one_branch_per_counter_held_twice_the_window() {
        let config = AlertConfig::new("api", "127.0.0.1:1");
        let (alert, tests) = dropped(&config, Clock { drill: false });
        for name in COUNTERS {
            assert!(alert.expr.contains(&format!(
                "sum by (job) (rate({name}{{job=\"api\"}}[10m])),\n  \"counter\", \"{name}\""
            )));
        }
        assert_eq!(alert.expr.matches("\n> 0").count(), 2);
        assert_eq!(alert.hold, Some(HOLD));
        assert_eq!(tests.len(), 12, "four per loss");
        let fired = &tests[0].alerts.last().unwrap().expected[0];
        assert_eq!(fired.labels["counter"], "sightline_spans_dropped_total");
        assert!(fired.annotations["description"].starts_with(
            "sightline_spans_dropped_total of api has kept rising for 20m, at 10/s over the last 10m"
        ));
        assert!(tests[4].why.starts_with(
            "ServiceTelemetryDropped (sightline_spans_dropped_total, unreachable): fires on"
        ));
        assert!(tests[8].why.starts_with(
            "ServiceTelemetryDropped (sightline_log_lines_dropped_total, buffer_full): fires on"
        ));
        // Every reason of both counters is in every test's series.
        assert_eq!(tests[0].series.len(), 9);
    }
}
