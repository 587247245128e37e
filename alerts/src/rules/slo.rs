//! Service level objectives: the multi-window, multi-burn-rate alerts of the Google SRE workbook
//! (chapter 5, "Alerting on SLOs", its recommended set), with the bad-event ratios as recording rules.
//!
//! An objective's error budget is its share of allowed bad events (1 % for 99 %). Burning at rate `f`
//! means failing at `f` times the budget; at 14.4x a 30-day budget is 2 % gone in an hour. An alert needs
//! the ratio above `f` times the budget over a long window (enough budget is really burnt) and over a
//! short one (it is still burning, so the alert resets soon after a fix). No `for`: the long window
//! already ignores spikes, the short one already confirms, and a `for` would only delay the page.

use std::collections::BTreeSet;

use super::format::{self, eq, num, re, selector, Humanize};
use super::model::{
    counter, Alert, Clock, Group, Labels, Phase, Plan, Recording, Rule, Series, Severity, Template,
    TestGroup, DAY, EVALUATION, HOUR, MINUTE,
};
use crate::families::Histogram;
use crate::{AlertConfig, Objective, ObjectiveSite};
use sightline_conventions::{Family, RedFamilies, BUSINESS, FUNCTION, HTTP};

/// A burn-rate condition: the ratio above `factor` times the budget over both windows.
struct Burn {
    long: u64,
    short: u64,
    factor: f64,
}

/// Page: 2 % of the budget in 1 h, or 5 % in 6 h.
const FAST: [Burn; 2] = [
    Burn {
        long: HOUR,
        short: 5 * MINUTE,
        factor: 14.4,
    },
    Burn {
        long: 6 * HOUR,
        short: 30 * MINUTE,
        factor: 6.0,
    },
];

/// Ticket: 10 % of the budget in 3 days.
const SLOW: [Burn; 1] = [Burn {
    long: 3 * DAY,
    short: 6 * HOUR,
    factor: 1.0,
}];

/// Every window a burn condition reads, each one recorded.
const WINDOWS: [u64; 5] = [5 * MINUTE, 30 * MINUTE, HOUR, 6 * HOUR, 3 * DAY];

/// The budget period the burn factors are computed for.
const PERIOD: u64 = 30 * DAY;

/// The tests' sample interval: the shortest window holds two samples.
const INTERVAL: u64 = 5 * MINUTE;

/// Calls per test interval.
const CALLS: f64 = 100_000.0;

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sli {
    /// Failed calls over all calls.
    Errors,
    /// Calls slower than `le` seconds over all calls.
    Latency { le: f64 },
}

/// The series of one site, and how to talk about it.
struct Site {
    /// The labels that identify it, in `by (..)` order.
    labels: Vec<(&'static str, String)>,
    /// Its call counter, the matcher selecting failed calls, and the labels a test gives successful
    /// and failed calls (successful ones are also what its histogram series carry).
    calls: Family,
    failed: String,
    ok_label: (&'static str, &'static str),
    failed_label: (&'static str, &'static str),
    /// Its duration histogram.
    duration: Family,
    /// How annotations name it.
    subject: fn(Template) -> Template,
}

impl Site {
    fn of(site: &ObjectiveSite) -> Site {
        match site {
            ObjectiveSite::Handler { method, route } => Site {
                labels: vec![("method", method.clone()), ("route", route.clone())],
                calls: HTTP.requests,
                failed: re("status_code", "5.."),
                ok_label: ("status_code", "200"),
                failed_label: ("status_code", "500"),
                duration: HTTP.duration,
                subject: |t| t.label("method").text(" ").label("route"),
            },
            ObjectiveSite::Function { function, module } => Site::of_red(
                &FUNCTION,
                vec![("function", function.clone()), ("module", module.clone())],
                |t| t.label("module").text("::").label("function"),
            ),
            ObjectiveSite::Business { operation } => {
                Site::of_red(&BUSINESS, vec![("operation", operation.clone())], |t| {
                    t.text("operation ").label("operation")
                })
            }
        }
    }

    /// A site of `#[observe]` or `#[business_span]`: its outcome label tells failed calls.
    fn of_red(
        families: &RedFamilies,
        labels: Vec<(&'static str, String)>,
        subject: fn(Template) -> Template,
    ) -> Site {
        let outcome = families.outcome_label;
        Site {
            labels,
            calls: families.calls,
            failed: eq(outcome, "error"),
            ok_label: (outcome, "ok"),
            failed_label: (outcome, "error"),
            duration: families.duration,
            subject,
        }
    }
}

/// One objective on one SLI.
struct Slo {
    sli: Sli,
    /// The allowed share of bad events.
    budget: f64,
    site: Site,
    /// The `objective` label: tells two objectives of one site apart.
    objective: String,
}

/// The objectives' SLOs; the reasons objectives yield none.
fn slos(objectives: &[Objective]) -> (Vec<Slo>, Vec<String>) {
    let mut slos = Vec::new();
    let mut skipped = Vec::new();
    for o in objectives {
        if let Some(percent) = o.error_rate_percent {
            slos.push(Slo {
                sli: Sli::Errors,
                budget: percent / 100.0,
                site: Site::of(&o.site),
                objective: format!("{}% ok", num(100.0 - percent)),
            });
        }
        if let Some(le) = o.latency_seconds {
            slos.push(Slo {
                sli: Sli::Latency { le },
                budget: (100.0 - o.percentile) / 100.0,
                site: Site::of(&o.site),
                objective: format!("{}% <= {}s", num(o.percentile), num(le)),
            });
        }
    }
    slos.retain(|slo| {
        // No budget is nothing to burn; at 1/14.4 and above the fast burn could never be reached.
        let sane = slo.budget > 0.0 && slo.budget < 1.0 / FAST[0].factor;
        if !sane {
            skipped.push(format!(
                "Skipped objective `{}` of {}: its budget {} is outside (0, 1/14.4).",
                slo.objective,
                slo.site
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                num(slo.budget)
            ));
        }
        sane
    });
    (slos, skipped)
}

pub(super) fn group(config: &AlertConfig, clock: Clock, objectives: &[Objective]) -> Option<Group> {
    let (slos, skipped) = slos(objectives);
    if slos.is_empty() && skipped.is_empty() {
        return None;
    }
    let mut why = String::from(
        "Objectives declared in the code: bad-event ratios recorded per window (rule names keep the \
         production window), then the SRE workbook's burn-rate alerts. Recording rules come first: a \
         group evaluates in order, so the alerts read this evaluation's ratios.",
    );
    for reason in skipped {
        why.push('\n');
        why.push_str(&reason);
    }
    // Objectives of one SLI on one site read the same series: a test of one would fire the others'
    // alerts, so such sites are not unit-tested (their rules are those of any other site).
    let shared: Vec<bool> = slos
        .iter()
        .map(|a| slos.iter().filter(|b| a.same_series(b)).count() > 1)
        .collect();
    if shared.iter().any(|s| *s) {
        why.push_str(
            "\nNot unit-tested: objectives that share an SLI and a site with another objective.",
        );
    }
    let mut group = Group::new("sightline-slo", why);
    let mut recorded = BTreeSet::new();
    let mut alerts = BTreeSet::new();
    let mut tail = Vec::new();
    for (slo, shared) in slos.iter().zip(shared) {
        for window in WINDOWS {
            let rule = slo.recording(config, clock, window);
            // Two objectives on one site share their ratios.
            if recorded.insert((rule.record.clone(), rule.expr.clone())) {
                group.rules.push(Rule::Record(rule));
            }
        }
        let fast = slo.alert(config, clock, true);
        let slow = slo.alert(config, clock, false);
        // An objective declared twice is alerted on once.
        if alerts.insert((fast.expr.clone(), fast.labels.clone())) {
            if !shared {
                group.tests.extend(slo.tests(config, &fast, &slow));
            }
            tail.push(Rule::Alert(fast));
            tail.push(Rule::Alert(slow));
        }
    }
    group.rules.extend(tail);
    Some(group)
}

impl Slo {
    /// Both read the same input series (and so would see each other's test traffic).
    fn same_series(&self, other: &Slo) -> bool {
        self.site.labels == other.site.labels
            && self.site.calls == other.site.calls
            && self.kind() == other.kind()
    }

    fn kind(&self) -> &'static str {
        match self.sli {
            Sli::Errors => "errors",
            Sli::Latency { .. } => "latency",
        }
    }

    /// `sightline:slo_errors:ratio_rate5m`: named after the production window in both modes, so that
    /// queries and dashboards work in a drill too.
    fn record(&self, window: u64) -> String {
        format!(
            "sightline:slo_{}:ratio_rate{}",
            self.kind(),
            format::duration(window)
        )
    }

    /// `job, method, route`.
    fn by(&self) -> String {
        let mut names = vec!["job"];
        names.extend(self.site.labels.iter().map(|(k, _)| *k));
        names.join(", ")
    }

    /// The site's series.
    fn matchers(&self, config: &AlertConfig) -> Vec<String> {
        let mut m = vec![eq("job", &config.job)];
        m.extend(self.site.labels.iter().map(|(k, v)| eq(k, v)));
        m
    }

    /// The label a latency ratio carries: two latency objectives of one site differ by threshold.
    fn record_labels(&self) -> Labels {
        match self.sli {
            Sli::Errors => Labels::new(),
            Sli::Latency { le } => [("latency_threshold".to_string(), format!("{le}"))].into(),
        }
    }

    /// The static labels of this SLO's rules: the site's labels (the expression yields them already)
    /// and the latency threshold. They tell apart rules of one name in `promtool check rules`' lint,
    /// which compares names and static labels, not expressions.
    fn rule_labels(&self) -> Labels {
        let mut labels = self.record_labels();
        for (k, v) in &self.site.labels {
            labels.insert(k.to_string(), v.clone());
        }
        labels
    }

    /// The labels of the recorded ratio, i.e. of the alert's expression.
    fn expr_labels(&self, config: &AlertConfig) -> Labels {
        let mut labels = self.record_labels();
        labels.insert("job".to_string(), config.job.clone());
        for (k, v) in &self.site.labels {
            labels.insert(k.to_string(), v.clone());
        }
        labels
    }

    /// This SLO's recorded ratio over `window`.
    fn ratio(&self, config: &AlertConfig, window: u64) -> String {
        let matchers: Vec<String> = self
            .expr_labels(config)
            .iter()
            .map(|(k, v)| eq(k, v))
            .collect();
        selector(&self.record(window), &matchers)
    }

    fn recording(&self, config: &AlertConfig, clock: Clock, window: u64) -> Recording {
        let w = clock.dur(window);
        let by = self.by();
        let sum = |metric: &str, extra: Option<String>| {
            let mut m = self.matchers(config);
            m.extend(extra);
            format!("sum by ({by}) (rate({}[{w}]))", selector(metric, &m))
        };
        let expr = match self.sli {
            Sli::Errors => format!(
                "{}\n  /\n{}",
                sum(self.site.calls.name, Some(self.site.failed.clone())),
                sum(self.site.calls.name, None)
            ),
            // Good events are the `le` bucket; bad ones the rest of the count.
            Sli::Latency { le } => {
                let total = sum(&Histogram::Count.of(&self.site.duration), None);
                let good = sum(
                    &Histogram::Bucket.of(&self.site.duration),
                    Some(eq("le", &format!("{le}"))),
                );
                format!("(\n  {total}\n    -\n  {good}\n)\n  /\n{total}")
            }
        };
        Recording {
            record: self.record(window),
            expr,
            labels: self.rule_labels(),
        }
    }

    /// `(long > f * budget and short > f * budget) or ...`
    fn condition(&self, config: &AlertConfig, burns: &[Burn]) -> String {
        burns
            .iter()
            .map(|b| {
                let threshold = format!("({} * {})", num(b.factor), num(self.budget));
                format!(
                    "  {} > {threshold}\nand\n  {} > {threshold}",
                    self.ratio(config, b.long),
                    self.ratio(config, b.short)
                )
            })
            .map(|pair| {
                if burns.len() > 1 {
                    format!("(\n{pair}\n)")
                } else {
                    pair.trim_start().to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\nor\n")
    }

    fn alert(&self, config: &AlertConfig, clock: Clock, fast: bool) -> Alert {
        let burns: &[Burn] = if fast { &FAST } else { &SLOW };
        let name = match (self.sli, fast) {
            (Sli::Errors, true) => "SloErrorBudgetBurnFast",
            (Sli::Errors, false) => "SloErrorBudgetBurnSlow",
            (Sli::Latency { .. }, true) => "SloLatencyBudgetBurnFast",
            (Sli::Latency { .. }, false) => "SloLatencyBudgetBurnSlow",
        };
        let (severity, speed) = if fast {
            (Severity::Critical, "fast")
        } else {
            (Severity::Warning, "slowly")
        };
        let what = match self.sli {
            Sli::Errors => "failed".to_string(),
            Sli::Latency { le } => format!("took longer than {}", Humanize::Duration.apply(le)),
        };
        let pace = burns
            .iter()
            .map(|b| {
                format!(
                    "{}x over {} and {}",
                    num(b.factor),
                    clock.dur(b.long),
                    clock.dur(b.short)
                )
            })
            .collect::<Vec<_>>()
            .join(", or ");
        let slowest = burns.iter().map(|b| b.factor).fold(f64::INFINITY, f64::min);
        let exhausted = (PERIOD as f64 / slowest) as u64 / MINUTE * MINUTE;
        let subject = |t: Template| (self.site.subject)(t);
        let mut alert = Alert::new(config, name, severity, self.condition(config, burns));
        for (k, v) in self.rule_labels() {
            alert = alert.label(&k, &v);
        }
        alert
            .why(format!(
                "Objective {} ({}): the error budget burns {speed}.",
                self.objective,
                self.kind()
            ))
            .label("objective", &self.objective)
            .summary(
                subject(Template::default().text(match self.sli {
                    Sli::Errors => "Error budget of ",
                    Sli::Latency { .. } => "Latency budget of ",
                }))
                .text(" on ")
                .label("job")
                .text(format!(" burning {speed}")),
            )
            .description(
                subject(
                    Template::default()
                        .value(Humanize::Percentage)
                        .text(" of the calls to "),
                )
                .text(" on ")
                .label("job")
                .text(format!(
                    " {what} over the alert's long window, against a budget of {} \
                     (objective {}): burning at {pace} exhausts a {} budget within {}.",
                    Humanize::Percentage.apply(self.budget),
                    self.objective,
                    clock.dur(PERIOD),
                    clock.dur(exhausted)
                )),
            )
    }

    /// The test series: `bad(phase)` is the share of bad calls in each interval.
    fn series(&self, config: &AlertConfig, plan: &Plan, bad: impl Fn(Phase) -> f64) -> Vec<Series> {
        let bad_calls = |p| (CALLS * bad(p)).round();
        let mut base = vec![eq("job", &config.job), eq("instance", &config.target)];
        base.extend(self.site.labels.iter().map(|(k, v)| eq(k, v)));
        let with = |metric: &str, extra: &[(&str, &str)]| {
            let mut m = base.clone();
            m.extend(extra.iter().map(|(k, v)| eq(k, v)));
            selector(metric, &m)
        };
        let (ok_name, ok_value) = self.site.ok_label;
        match self.sli {
            Sli::Errors => {
                let (failed_name, failed_value) = self.site.failed_label;
                vec![
                    Series {
                        selector: with(self.site.calls.name, &[(ok_name, ok_value)]),
                        values: counter(plan, |p| CALLS - bad_calls(p)),
                    },
                    Series {
                        selector: with(self.site.calls.name, &[(failed_name, failed_value)]),
                        values: counter(plan, bad_calls),
                    },
                ]
            }
            Sli::Latency { le } => vec![
                Series {
                    selector: with(
                        &Histogram::Bucket.of(&self.site.duration),
                        &[(ok_name, ok_value), ("le", &format!("{le}"))],
                    ),
                    values: counter(plan, |p| CALLS - bad_calls(p)),
                },
                Series {
                    selector: with(
                        &Histogram::Count.of(&self.site.duration),
                        &[(ok_name, ok_value)],
                    ),
                    values: counter(plan, |_| CALLS),
                },
            ],
        }
    }

    /// The share of bad calls over the `window` ending at `at`, as `rate()` reads the test series: whole
    /// intervals, counts as [`counter`] rounds them (a window reaching before 0 holds what there is).
    fn share(&self, plan: &Plan, bad: impl Fn(Phase) -> f64, at: u64, window: u64) -> f64 {
        let (end, len) = (at / INTERVAL, window.min(at) / INTERVAL);
        let calls: f64 = plan
            .each()
            .take(end as usize)
            .skip((end - len) as usize)
            .map(|p| (CALLS * bad(p)).round())
            .sum();
        calls / (len as f64 * CALLS)
    }

    /// `ratio > factor * budget` for the burn's window.
    fn over(&self, config: &AlertConfig, burn: &Burn, window: u64) -> String {
        format!(
            "{} > ({} * {})",
            self.ratio(config, window),
            num(burn.factor),
            num(self.budget)
        )
    }

    /// `ratio <= factor * budget` for the burn's window.
    fn under(&self, config: &AlertConfig, burn: &Burn, window: u64) -> String {
        self.over(config, burn, window).replace(" > (", " <= (")
    }

    /// The workbook's properties, each burn-rate pair on its own (check times do not depend on the
    /// objective, so every objective's scenario runs in one promtool group, on its own series): it
    /// fires when both its windows are over, not on its long window alone (it resets once the short
    /// one is clean, though the long one is still over), and not on its short window alone (the spike
    /// test). Every objective also stays silent at half its budget.
    fn tests(&self, config: &AlertConfig, fast: &Alert, slow: &Alert) -> Vec<TestGroup> {
        vec![
            self.first_pair_test(config, fast),
            self.second_pair_test(config, fast),
            self.slow_burn_test(config, fast, slow),
            self.quiet_test(config, fast, slow),
            self.spike_test(config, fast, slow),
        ]
    }

    /// How a test's name tells this SLO: `errors 99% ok`.
    fn who(&self) -> String {
        format!("{} {}", self.kind(), self.objective)
    }

    /// 1h/5m alone: after 6 h at half the budget, an hour at twice its factor (6h stays under 6x: at
    /// most 5.2x), then calm again. The check at the burst's end reads a window of burst only: its
    /// value is a clean number, far from the fourth digit where `humanizePercentage` rounds.
    fn first_pair_test(&self, config: &AlertConfig, fast: &Alert) -> TestGroup {
        let b = self.budget;
        let (page, medium) = (&FAST[0], &FAST[1]);
        let burst = (2.0 * page.factor * b).min(1.0);
        let length = page.long;
        let history = medium.long;
        let plan = Plan::steady(Phase::Healthy, history / INTERVAL)
            .then(Phase::Bad, length / INTERVAL)
            .then(Phase::Healthy, 30 * MINUTE / INTERVAL);
        let shares = |p| match p {
            Phase::Bad => burst,
            _ => b / 2.0,
        };
        let end = history + length;
        let reset = end + 2 * EVALUATION;
        TestGroup::new(
            format!(
                "{} ({}): the 1h/5m pair alone fires on an hour at {}, and resets 10m after it \
                 though 1h is still over",
                fast.name,
                self.who(),
                Humanize::Percentage.apply(burst)
            ),
            INTERVAL,
            self.series(config, &plan, shares),
        )
        .fires(
            fast,
            end,
            &self.expr_labels(config),
            self.share(&plan, shares, end, page.long),
        )
        .holds(end, self.under(config, medium, medium.long))
        .silent(fast, [reset])
        .holds(reset, self.over(config, page, page.long))
        .merge_as("SLO fast burn, 1h/5m pair alone: fires, then resets on a clean 5m")
    }

    /// 6h/30m alone: 6 h at 10x the budget (1h stays under 14.4x), then calm again.
    fn second_pair_test(&self, config: &AlertConfig, fast: &Alert) -> TestGroup {
        let b = self.budget;
        let (page, medium) = (&FAST[0], &FAST[1]);
        let labels = self.expr_labels(config);
        let half_hour = 30 * MINUTE;
        let steady = 10.0 * b;
        let plan = Plan::steady(Phase::Bad, medium.long / INTERVAL)
            .then(Phase::Healthy, 40 * MINUTE / INTERVAL);
        let shares = |p| match p {
            Phase::Bad => steady,
            _ => b / 2.0,
        };
        let reset = medium.long + medium.short + EVALUATION;
        TestGroup::new(
            format!(
                "{} ({}): the 6h/30m pair alone fires at 10x the budget, and resets once 30m is \
                 clean though 6h is still over",
                fast.name,
                self.who()
            ),
            INTERVAL,
            self.series(config, &plan, shares),
        )
        .fires(
            fast,
            half_hour,
            &labels,
            self.share(&plan, shares, half_hour, medium.long),
        )
        .holds(half_hour, self.under(config, page, page.long))
        .fires(
            fast,
            medium.long,
            &labels,
            self.share(&plan, shares, medium.long, medium.long),
        )
        .silent(fast, [reset])
        .holds(reset, self.over(config, medium, medium.long))
        .merge_as("SLO fast burn, 6h/30m pair alone: fires, then resets on a clean 30m")
    }

    /// Slow burn: 12 h at twice the budget (under the fast burns' 6x), then calm again.
    fn slow_burn_test(&self, config: &AlertConfig, fast: &Alert, slow: &Alert) -> TestGroup {
        let b = self.budget;
        let ticket = &SLOW[0];
        let half_hour = 30 * MINUTE;
        let plan = Plan::steady(Phase::Bad, 12 * HOUR / INTERVAL)
            .then(Phase::Healthy, (ticket.short + 2 * EVALUATION) / INTERVAL);
        let shares = |p| match p {
            Phase::Bad => 2.0 * b,
            _ => b / 2.0,
        };
        let reset = 12 * HOUR + ticket.short + EVALUATION;
        TestGroup::new(
            format!(
                "{} ({}): fires at 2x the budget while {} stays silent, and resets once 6h is clean \
                 though 3d is still over",
                slow.name,
                self.who(),
                fast.name
            ),
            INTERVAL,
            self.series(config, &plan, shares),
        )
        .fires(
            slow,
            half_hour,
            &self.expr_labels(config),
            self.share(&plan, shares, half_hour, ticket.long),
        )
        .silent(fast, [half_hour])
        .silent(slow, [reset])
        .holds(reset, self.over(config, ticket, ticket.long))
        .merge_as("SLO slow burn: fires without the fast one, then resets on a clean 6h")
    }

    /// Both alerts silent at half the budget, once the 6-hour window is full.
    fn quiet_test(&self, config: &AlertConfig, fast: &Alert, slow: &Alert) -> TestGroup {
        let medium = &FAST[1];
        let checks = [30 * MINUTE, medium.long];
        let plan = Plan::steady(Phase::Healthy, medium.long / INTERVAL + 2);
        TestGroup::new(
            format!(
                "{} and {} ({}): silent at half the budget",
                fast.name,
                slow.name,
                self.who()
            ),
            INTERVAL,
            self.series(config, &plan, |_| self.budget / 2.0),
        )
        .silent(fast, checks)
        .silent(slow, checks)
        .merge_as("SLO burns: silent at half the budget")
    }

    /// A burst of bad calls after 3 days at half the budget (the 3-day window is full). It costs a
    /// quarter of what the fast burn's 1 h window tolerates (14.4 x budget x 1 h): every short window
    /// (5m, 30m, 6h) goes over its threshold, no long one does (at most 7.7x over 1 h, 1.7x over 6 h,
    /// 0.6x over 3 d).
    fn spike_test(&self, config: &AlertConfig, fast: &Alert, slow: &Alert) -> TestGroup {
        let b = self.budget;
        let cost = 0.25 * FAST[0].factor * b * HOUR as f64; // bad-call seconds
        let (share, intervals) = if cost <= INTERVAL as f64 {
            (cost / INTERVAL as f64, 1)
        } else {
            (1.0, (cost / INTERVAL as f64).ceil() as u64)
        };
        let history = 3 * DAY / INTERVAL + 1;
        let after = 6 * HOUR / INTERVAL + 2;
        let plan = Plan::steady(Phase::Healthy, history)
            .then(Phase::Spike, intervals)
            .then(Phase::Healthy, after);
        let end = (history + intervals) * INTERVAL;
        let later = [end, end + 30 * MINUTE, end + HOUR, end + 6 * HOUR];
        TestGroup::new(
            format!(
                "{} and {} ({}): silent on {} interval(s) at {} bad calls, which trip the short windows \
                 only",
                fast.name,
                slow.name,
                self.objective,
                intervals,
                Humanize::Percentage.apply(share)
            ),
            INTERVAL,
            self.series(config, &plan, |p| match p {
                Phase::Spike => share,
                Phase::Healthy | Phase::Bad => b / 2.0,
            }),
        )
        .holds(end, self.over(config, &FAST[0], FAST[0].short))
        .holds(end, self.over(config, &SLOW[0], SLOW[0].short))
        .silent(fast, later)
        .silent(slow, later)
        .merge_as("SLO burns: silent on a spike that trips the short windows only")
    }
}
