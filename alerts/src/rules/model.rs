//! The rules and their tests as data. Each alert is built once, as an [`Alert`]; the rule in
//! `alert_rules.yml` and the labels and annotations its tests expect are both written from it, so the two
//! files cannot disagree.

use std::collections::BTreeMap;

use super::format::{self, Humanize};
use crate::AlertConfig;

pub(super) const MINUTE: u64 = 60;
pub(super) const HOUR: u64 = 60 * MINUTE;
pub(super) const DAY: u64 = 24 * HOUR;

/// Label name to value.
pub(super) type Labels = BTreeMap<String, String>;

/// Labels from pairs.
pub(super) fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Labels {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Turns the production durations every rule and test is written in into the configured mode's.
///
/// Drill mode divides every duration by [`Clock::DRILL_DIVISOR`]: a production minute is four drill
/// seconds. One factor for everything keeps every proportion production has: a `for` as long as its rate
/// window (so a spike shorter than `for` stays silent in a drill as in production), the SRE workbook's
/// burn-rate window pairs, `predict_linear`'s horizon four times its range, and the unit tests, which
/// are the production tests with the time axis scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Clock {
    pub(super) drill: bool,
}

impl Clock {
    /// Production seconds per drill second.
    pub(super) const DRILL_DIVISOR: u64 = 15;

    pub(super) fn of(config: &AlertConfig) -> Clock {
        Clock {
            drill: config.drill,
        }
    }

    /// A production duration, in seconds, as this mode runs it.
    pub(super) fn secs(self, production: u64) -> u64 {
        if self.drill {
            debug_assert_eq!(
                production % Self::DRILL_DIVISOR,
                0,
                "{production}s does not scale"
            );
            production / Self::DRILL_DIVISOR
        } else {
            production
        }
    }

    /// A production duration as this mode writes it (`5m`, or `20s` in a drill).
    pub(super) fn dur(self, production: u64) -> String {
        format::duration(self.secs(production))
    }
}

/// Where Alertmanager sends an alert (see `alertmanager.yml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Severity {
    /// Pages someone now.
    Critical,
    /// A chat message, for working hours.
    Warning,
}

impl Severity {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// A piece of an annotation template.
#[derive(Clone, Debug)]
enum Part {
    Text(String),
    /// `{{ $labels.name }}`: a label of the series that fired.
    Label(&'static str),
    /// `{{ $value | function }}`.
    Value(Humanize),
}

/// An annotation: a Go template for Prometheus, and what Prometheus will print, for the tests.
#[derive(Clone, Debug, Default)]
pub(super) struct Template(Vec<Part>);

impl Template {
    pub(super) fn text(mut self, text: impl Into<String>) -> Self {
        self.0.push(Part::Text(text.into()));
        self
    }

    pub(super) fn label(mut self, name: &'static str) -> Self {
        self.0.push(Part::Label(name));
        self
    }

    pub(super) fn value(mut self, how: Humanize) -> Self {
        self.0.push(Part::Value(how));
        self
    }

    /// The Go template Prometheus expands.
    pub(super) fn source(&self) -> String {
        self.0
            .iter()
            .map(|part| match part {
                // `{{` is the only sequence text/template reads in plain text (a runbook URL could hold it).
                Part::Text(text) => text.replace("{{", "{{ \"{{\" }}"),
                Part::Label(name) => format!("{{{{ $labels.{name} }}}}"),
                Part::Value(how) => format!("{{{{ $value | {} }}}}", how.function()),
            })
            .collect()
    }

    /// What Prometheus prints for an alert whose expression returned `value` with `labels`.
    pub(super) fn expand(&self, labels: &Labels, value: f64) -> String {
        self.0
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Label(name) => labels.get(*name).cloned().unwrap_or_default(),
                Part::Value(how) => how.apply(value),
            })
            .collect()
    }
}

/// An alerting rule.
pub(super) struct Alert {
    pub(super) name: &'static str,
    /// Why the rule exists and reads as it does: written above it as a comment.
    pub(super) why: String,
    pub(super) expr: String,
    /// `for`, in production seconds.
    pub(super) hold: Option<u64>,
    /// `severity`, the routing label, and the `job` the alert is about.
    pub(super) labels: Labels,
    pub(super) summary: Template,
    pub(super) description: Template,
    pub(super) runbook_url: Template,
}

impl Alert {
    pub(super) fn new(
        config: &AlertConfig,
        name: &'static str,
        severity: Severity,
        expr: String,
    ) -> Alert {
        Alert {
            name,
            why: String::new(),
            expr,
            hold: None,
            labels: labels([
                ("severity", severity.as_str()),
                ("job", config.job.as_str()),
            ]),
            summary: Template::default(),
            description: Template::default(),
            runbook_url: Template::default().text(format!("{}{name}", config.runbook_base)),
        }
    }

    pub(super) fn why(mut self, why: impl Into<String>) -> Self {
        self.why = why.into();
        self
    }

    pub(super) fn hold(mut self, production: u64) -> Self {
        self.hold = Some(production);
        self
    }

    pub(super) fn label(mut self, name: &str, value: &str) -> Self {
        self.labels.insert(name.to_string(), value.to_string());
        self
    }

    pub(super) fn summary(mut self, summary: Template) -> Self {
        self.summary = summary;
        self
    }

    pub(super) fn description(mut self, description: Template) -> Self {
        self.description = description;
        self
    }

    pub(super) fn annotations(&self) -> [(&'static str, &Template); 3] {
        [
            ("summary", &self.summary),
            ("description", &self.description),
            ("runbook_url", &self.runbook_url),
        ]
    }

    /// The alert promtool must see when the expression returns `value` for a series with `expr_labels`:
    /// the series' labels overridden by the rule's, and the annotations expanded over the series' labels
    /// (Prometheus gives templates the expression's labels, not the rule's).
    pub(super) fn firing(&self, expr_labels: &Labels, value: f64) -> Expected {
        let mut labels = expr_labels.clone();
        labels.extend(self.labels.clone());
        let annotations = self
            .annotations()
            .iter()
            .map(|(name, template)| (name.to_string(), template.expand(expr_labels, value)))
            .collect();
        Expected {
            labels,
            annotations,
        }
    }
}

/// A recording rule.
pub(super) struct Recording {
    pub(super) record: String,
    pub(super) expr: String,
    pub(super) labels: Labels,
}

pub(super) enum Rule {
    Record(Recording),
    Alert(Alert),
}

/// A rule group and the promtool tests of its alerts.
pub(super) struct Group {
    pub(super) name: &'static str,
    pub(super) why: String,
    pub(super) rules: Vec<Rule>,
    pub(super) tests: Vec<TestGroup>,
}

impl Group {
    pub(super) fn new(name: &'static str, why: impl Into<String>) -> Group {
        Group {
            name,
            why: why.into(),
            rules: Vec::new(),
            tests: Vec::new(),
        }
    }

    pub(super) fn alert(&mut self, (alert, tests): (Alert, Vec<TestGroup>)) {
        self.rules.push(Rule::Alert(alert));
        self.tests.extend(tests);
    }
}

/// One promtool test group: input series, then what must (not) fire when.
#[derive(Clone)]
pub(super) struct TestGroup {
    pub(super) why: String,
    /// Groups with the same key are written as one (see [`TestGroup::merge_as`]).
    pub(super) key: Option<&'static str>,
    /// The input series' sample interval, in production seconds.
    pub(super) interval: u64,
    pub(super) series: Vec<Series>,
    pub(super) alerts: Vec<AlertCheck>,
    pub(super) exprs: Vec<ExprCheck>,
}

/// An input series in promtool's notation: `values` is expanding notation (`0+10x60`).
#[derive(Clone)]
pub(super) struct Series {
    pub(super) selector: String,
    pub(super) values: String,
}

/// `alert_rule_test`: the alerts named `alertname` firing at `at` (none if `expected` is empty).
#[derive(Clone)]
pub(super) struct AlertCheck {
    pub(super) at: u64,
    pub(super) alertname: &'static str,
    pub(super) expected: Vec<Expected>,
}

/// A firing alert as promtool reports it.
#[derive(Clone)]
pub(super) struct Expected {
    pub(super) labels: Labels,
    pub(super) annotations: Labels,
}

/// `promql_expr_test`: `count(expr)` is 1 at `at`, i.e. `expr` returns exactly one series then.
#[derive(Clone)]
pub(super) struct ExprCheck {
    pub(super) at: u64,
    pub(super) expr: String,
}

impl TestGroup {
    pub(super) fn new(why: impl Into<String>, interval: u64, series: Vec<Series>) -> TestGroup {
        TestGroup {
            why: why.into(),
            key: None,
            interval,
            series,
            alerts: Vec::new(),
            exprs: Vec::new(),
        }
    }

    /// `alert` fires at `at` (production seconds), from a series with `expr_labels` and `value`.
    pub(super) fn fires(
        mut self,
        alert: &Alert,
        at: u64,
        expr_labels: &Labels,
        value: f64,
    ) -> Self {
        self.alerts.push(AlertCheck {
            at,
            alertname: alert.name,
            expected: vec![alert.firing(expr_labels, value)],
        });
        self
    }

    /// `alert` is not firing at any of `times`.
    pub(super) fn silent(mut self, alert: &Alert, times: impl IntoIterator<Item = u64>) -> Self {
        let mut times: Vec<u64> = times.into_iter().collect();
        times.sort_unstable();
        times.dedup();
        for at in times {
            self.alerts.push(AlertCheck {
                at,
                alertname: alert.name,
                expected: Vec::new(),
            });
        }
        self
    }

    /// `alert` is pending at `at`: its expression is true, `for` has not elapsed. Proves a silent spike
    /// was seen at all, so its test cannot pass by feeding the rule nothing.
    pub(super) fn pending(self, alert: &Alert, at: u64) -> Self {
        let expr = format::selector(
            "ALERTS",
            &[
                format::eq("alertname", alert.name),
                format::eq("alertstate", "pending"),
            ],
        );
        self.holds(at, expr)
    }

    /// `expr` returns exactly one series at `at`.
    pub(super) fn holds(mut self, at: u64, expr: String) -> Self {
        self.exprs.push(ExprCheck { at, expr });
        self
    }

    /// Writes this group together with every other one of the same `key`. promtool evaluates every rule
    /// at every step of a group, so a group costs its length times the rule count: the same scenario
    /// for several objectives, on their separate series, runs once. The groups merged must check their
    /// alert names at a time alike (all silent, or each objective's own alert firing).
    pub(super) fn merge_as(mut self, key: &'static str) -> Self {
        self.key = Some(key);
        self
    }

    /// Adds `other`'s series and checks; checks of one alert name at one time become one, expecting
    /// both groups' alerts.
    pub(super) fn absorb(&mut self, other: TestGroup) {
        assert_eq!(
            self.interval, other.interval,
            "merged test groups share their interval"
        );
        self.why.push('\n');
        self.why.push_str(&other.why);
        self.series.extend(other.series);
        for check in other.alerts {
            match self
                .alerts
                .iter_mut()
                .find(|c| c.at == check.at && c.alertname == check.alertname)
            {
                Some(existing) => existing.expected.extend(check.expected),
                None => self.alerts.push(check),
            }
        }
        self.exprs.extend(other.exprs);
    }
}

/// The tests' evaluation interval, in production seconds. promtool evaluates every rule at every step
/// from 0 to a group's last check, so a week of history at one step a minute takes a minute to run; every
/// `for` and window is a multiple of five minutes, and every check time is on this grid.
pub(super) const EVALUATION: u64 = 5 * MINUTE;

/// What a test's traffic does in each sample interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Healthy,
    /// Sustained trouble: the alert must fire.
    Bad,
    /// A short burst that trips the expression for less than `for`: the alert must stay silent.
    Spike,
}

/// The bad share of a one-interval spike, over a `healthy` share elsewhere, that lifts a `window`-long
/// average above `threshold` for less than `for` (as long as the window) in continuous time, not just at
/// the tests' sample points: the average crosses once the spike has overlapped the window for three
/// quarters of an interval, and stays over for `window - interval / 2`. With one sample per `interval`
/// the tests see it in one window position more than that; the check times are on the evaluation grid.
pub(super) fn spike_share(threshold: f64, healthy: f64, window: u64, interval: u64) -> f64 {
    (healthy + (threshold - healthy) * window as f64 / (0.75 * interval as f64)).min(1.0)
}

/// A test's traffic: runs of (phase, intervals).
#[derive(Clone, Debug, Default)]
pub(super) struct Plan(Vec<(Phase, u64)>);

impl Plan {
    pub(super) fn then(mut self, phase: Phase, intervals: u64) -> Self {
        if intervals > 0 {
            self.0.push((phase, intervals));
        }
        self
    }

    pub(super) fn steady(phase: Phase, intervals: u64) -> Self {
        Plan::default().then(phase, intervals)
    }

    /// The phase of every interval, in order.
    pub(super) fn each(&self) -> impl Iterator<Item = Phase> + '_ {
        self.0
            .iter()
            .flat_map(|&(phase, n)| std::iter::repeat(phase).take(n as usize))
    }
}

/// Expanding notation for `count` samples from `first`, `step` apart.
fn run(first: f64, step: f64, count: u64) -> String {
    match count {
        0 => String::new(),
        1 => format::num(first),
        _ => {
            let sign = if step < 0.0 { '-' } else { '+' };
            format!(
                "{}{sign}{}x{}",
                format::num(first),
                format::num(step.abs()),
                count - 1
            )
        }
    }
}

/// A counter's samples: 0 first, then up by `per_interval(phase)` each interval. Increments are rounded to
/// whole events, so the running total is exact in binary (a rounding drift downwards would read as a
/// counter reset to `rate()`); tests compute expected values from the same whole numbers.
pub(super) fn counter(plan: &Plan, per_interval: impl Fn(Phase) -> f64) -> String {
    let mut runs = vec!["0".to_string()];
    let mut total = 0.0;
    for &(phase, intervals) in &plan.0 {
        let step = per_interval(phase).round();
        runs.push(run(total + step, step, intervals));
        total += step * intervals as f64;
    }
    runs.join(" ")
}

/// A gauge's samples: each interval ends on `value(phase)`; the first sample is the first phase's.
pub(super) fn gauge(plan: &Plan, value: impl Fn(Phase) -> f64) -> String {
    let mut runs = Vec::new();
    if let Some(&(phase, _)) = plan.0.first() {
        runs.push(format::num(value(phase)));
    }
    for &(phase, intervals) in &plan.0 {
        runs.push(run(value(phase), 0.0, intervals));
    }
    runs.join(" ")
}

/// A gauge growing linearly: `intervals + 1` samples from `start`, `step` apart.
pub(super) fn line(start: f64, step: f64, intervals: u64) -> String {
    run(start, step, intervals + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_notation() {
        let plan = Plan::steady(Phase::Healthy, 3)
            .then(Phase::Bad, 1)
            .then(Phase::Healthy, 2);
        let healthy_or_bad = |p| if p == Phase::Bad { 10.0 } else { 1.0 };
        assert_eq!(counter(&plan, healthy_or_bad), "0 1+1x2 13 14+1x1");
        assert_eq!(gauge(&plan, healthy_or_bad), "1 1+0x2 10 1+0x1");
        assert_eq!(line(5.0, 0.5, 4), "5+0.5x4");
    }

    #[test]
    fn templates_escape_and_expand() {
        let t = Template::default()
            .text("{{ not a template }} on ")
            .label("job")
            .text(": ")
            .value(Humanize::Percentage);
        assert_eq!(
            t.source(),
            "{{ \"{{\" }} not a template }} on {{ $labels.job }}: {{ $value | humanizePercentage }}"
        );
        assert_eq!(
            t.expand(&labels([("job", "api")]), 0.05),
            "{{ not a template }} on api: 5%"
        );
    }

    #[test]
    fn drill_clock_divides_by_fifteen() {
        let drill = Clock { drill: true };
        assert_eq!(drill.dur(5 * MINUTE), "20s");
        assert_eq!(drill.dur(HOUR), "4m");
        assert_eq!(drill.dur(3 * DAY), "288m");
        let production = Clock { drill: false };
        assert_eq!(production.dur(5 * MINUTE), "5m");
    }
}
