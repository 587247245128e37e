//! Prometheus rules with their promtool unit tests, an Alertmanager route and a Prometheus config,
//! generated from an [`AlertConfig`] and the declared [`Objective`]s.
//!
//! - `sightline-service`: per job, 5xx ratio (critical), p99 latency and in-flight saturation
//!   (warning), each held by `for`;
//! - `sightline-telemetry`: per job, spans or log lines dropped by sightline itself (warning), any loss
//!   held 20 minutes over a 10-minute rate, one alert per counter;
//! - `sightline-slo`: per objective, bad-event ratios recorded over 5m, 30m, 1h, 6h and 3d, and the SRE
//!   workbook's burn-rate alerts: 14.4x over 1h and 5m or 6x over 6h and 30m (critical), 1x over 3d and
//!   6h (warning);
//! - `sightline-creep`: p95 latency against the same hour a week ago, and a 24 h resident memory
//!   forecast against the limit.
//!
//! Every alert is built once as data ([`model::Alert`]); its rule and the labels and annotations its
//! tests expect are both written from that, annotations expanded as Prometheus's templates would.
//! Each alert's tests: it fires on a sustained bad series once `for` has elapsed; it stays silent on a
//! healthy series; it stays silent on a spike shorter than `for`, sized so that this holds in
//! continuous time too, and shown pending so the spike was seen. The burn-rate alerts (no `for`, as in
//! the workbook) are tested pair by pair: each fires on its own, resets once its short window is
//! clean, and ignores a spike that trips the short windows only. The telemetry alert also fires on loss
//! in bursts a little less than its window apart.
//!
//! Drill mode ([`AlertConfig::drill`]) divides every duration by 15, so one production minute is four
//! drill seconds: `for: 5m` and `[5m]` become `20s`, `1h` becomes `4m`, `3d` `288m`, `offset 7d`
//! `672m`, and the 24 h forecast horizon 96 minutes. A single factor keeps every proportion production
//! has (a `for` as long as its window, the burn-rate window pairs, the forecast horizon four times its
//! range), so the drill tests are the production tests with their time axis scaled. With the 1 s scrape
//! and evaluation intervals of the drill's `prometheus.yml`, the error-ratio alert fires within a
//! minute of the first failures. Production output does not depend on the drill code path.

mod configs;
mod creep;
mod emit;
mod format;
mod model;
mod service;
mod slo;
mod telemetry;

use super::{AlertConfig, Objective};
use model::{Clock, Group, Rule};

/// The four files, as (name, content): `alert_rules.yml`, `alert_rules.test.yml`, `alertmanager.yml`,
/// `prometheus.yml`. The tests hold for thresholds in sane ranges: error ratio in (0, 0.3), creep factor
/// above 1, positive latency, ceiling and memory limit; objectives with a budget outside (0, 1/14.4) are
/// skipped with a comment in the rules.
pub(crate) fn render(config: &AlertConfig, objectives: &[Objective]) -> Vec<(String, String)> {
    let clock = Clock::of(config);
    let mut groups = vec![
        service::group(config, clock),
        telemetry::group(config, clock),
    ];
    groups.extend(slo::group(config, clock, objectives));
    groups.push(creep::group(config, clock));
    for group in &mut groups {
        rename(group, config);
    }
    vec![
        (
            "alert_rules.yml".to_string(),
            emit::rules_file(config, clock, &groups),
        ),
        (
            "alert_rules.test.yml".to_string(),
            emit::tests_file(clock, &groups),
        ),
        ("alertmanager.yml".to_string(), configs::alertmanager()),
        ("prometheus.yml".to_string(), configs::prometheus(config)),
    ]
}

/// Every PromQL text of `group` (rules, and the series and expressions of their tests) in the names the
/// registry exposes (see [`super::naming`]).
fn rename(group: &mut Group, config: &AlertConfig) {
    let rename = |text: &mut String| *text = super::naming::rename(text, &config.naming);
    for rule in &mut group.rules {
        match rule {
            Rule::Record(r) => rename(&mut r.expr),
            Rule::Alert(a) => rename(&mut a.expr),
        }
    }
    for test in &mut group.tests {
        test.series.iter_mut().for_each(|s| rename(&mut s.selector));
        test.exprs.iter_mut().for_each(|e| rename(&mut e.expr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectiveSite;

    fn objectives() -> Vec<Objective> {
        vec![
            Objective {
                site: ObjectiveSite::Handler {
                    method: "POST".into(),
                    route: "/api/v1/orders".into(),
                },
                latency_seconds: Some(2.0),
                percentile: 99.0,
                error_rate_percent: Some(1.0),
            },
            Objective {
                site: ObjectiveSite::Function {
                    function: "charge_payment".into(),
                    module: "order_service".into(),
                },
                latency_seconds: None,
                percentile: 99.0,
                error_rate_percent: Some(0.5),
            },
        ]
    }

    fn file(files: &[(String, String)], name: &str) -> String {
        files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} rendered"))
            .1
            .clone()
    }

    #[test]
    fn renders_the_four_files() {
        let files = render(
            &AlertConfig::new("order-service", "127.0.0.1:3000"),
            &objectives(),
        );
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "alert_rules.yml",
                "alert_rules.test.yml",
                "alertmanager.yml",
                "prometheus.yml"
            ]
        );
    }

    #[test]
    fn production_rules_substitute_the_thresholds() {
        let mut config = AlertConfig::new("order-service", "127.0.0.1:3000");
        config.error_ratio = 0.02;
        config.latency_seconds = 0.5;
        config.in_flight_ceiling = 64.0;
        config.creep_factor = 1.25;
        config.memory_limit_bytes = 512.0 * 1024.0 * 1024.0;
        config.runbook_base = "https://wiki.example/runbooks/".into();
        let rules = file(&render(&config, &objectives()), "alert_rules.yml");
        for expected in [
            "- alert: ServiceErrorRatioHigh",
            r#"rate(http_requests_total{job="order-service",status_code=~"5.."}[5m])"#,
            "> 0.02",
            "for: 5m",
            "histogram_quantile(0.99,",
            "> 0.5",
            r#"sum by (job) (http_requests_in_flight{job="order-service"})"#,
            "> 64",
            "for: 10m",
            "[1h] offset 7d",
            "> 1.25",
            "for: 1h",
            r#"predict_linear(process_resident_memory_bytes{job="order-service"}[6h], 86400)"#,
            "> 536870912",
            "- alert: ServiceTelemetryDropped",
            r#"sum by (job) (rate(sightline_spans_dropped_total{job="order-service"}[10m]))"#,
            r#"sum by (job) (rate(sightline_log_lines_dropped_total{job="order-service"}[10m]))"#,
            "for: 20m",
            "runbook_url: 'https://wiki.example/runbooks/ServiceErrorRatioHigh'",
            "severity: 'critical'",
            "job: 'order-service'",
        ] {
            assert!(rules.contains(expected), "missing {expected:?} in\n{rules}");
        }
    }

    #[test]
    fn slo_recording_rules_one_per_window_with_the_sites_labels() {
        let config = AlertConfig::new("order-service", "127.0.0.1:3000");
        let rules = file(&render(&config, &objectives()), "alert_rules.yml");
        for window in ["5m", "30m", "1h", "6h", "3d"] {
            assert!(rules.contains(&format!(
                "- record: 'sightline:slo_errors:ratio_rate{window}'"
            )));
            assert!(rules.contains(&format!(
                "- record: 'sightline:slo_latency:ratio_rate{window}'"
            )));
        }
        assert!(rules.contains("sum by (job, method, route) (rate(http_requests_total{job=\"order-service\",method=\"POST\",route=\"/api/v1/orders\",status_code=~\"5..\"}[5m]))"));
        assert!(rules.contains("sum by (job, function, module) (rate(function_calls_total{job=\"order-service\",function=\"charge_payment\",module=\"order_service\",result=\"error\"}[3d]))"));
        assert!(rules.contains("http_request_duration_seconds_bucket{job=\"order-service\",method=\"POST\",route=\"/api/v1/orders\",le=\"2\"}"));
        // The workbook's thresholds, on the objective's budget.
        assert!(rules.contains("> (14.4 * 0.01)"));
        assert!(rules.contains("> (6 * 0.005)"));
        assert!(rules.contains("> (1 * 0.005)"));
        for name in [
            "SloErrorBudgetBurnFast",
            "SloErrorBudgetBurnSlow",
            "SloLatencyBudgetBurnFast",
            "SloLatencyBudgetBurnSlow",
        ] {
            assert!(rules.contains(&format!("- alert: {name}")), "{name}");
        }
        // Errors on two sites and latency on one, over 5 windows each: 15 recording rules.
        assert_eq!(rules.matches("- record:").count(), 15);
    }

    #[test]
    fn a_repeated_objective_is_alerted_on_once_and_a_budgetless_one_is_skipped() {
        let config = AlertConfig::new("api", "127.0.0.1:1");
        let mut objectives = objectives();
        objectives.push(objectives[1].clone());
        objectives.push(Objective {
            site: ObjectiveSite::Business {
                operation: "checkout".into(),
            },
            latency_seconds: Some(1.0),
            percentile: 100.0,
            error_rate_percent: None,
        });
        let rules = file(&render(&config, &objectives), "alert_rules.yml");
        assert_eq!(rules.matches("- alert: SloErrorBudgetBurnFast").count(), 2);
        assert!(rules.contains("# Skipped objective `100% <= 1s` of operation=\"checkout\""));
    }

    #[test]
    fn drill_mode_scales_every_duration_by_fifteen() {
        let mut config = AlertConfig::new("order-service", "127.0.0.1:3000");
        let production = render(&config, &objectives());
        config.drill = true;
        let drill = render(&config, &objectives());
        let rules = file(&drill, "alert_rules.yml");
        for expected in [
            "[20s]",
            "for: 20s",
            "for: 40s",
            "[40s]",
            "for: 80s",
            "[4m] offset 672m",
            "for: 4m",
            "[24m], 5760)",
            "[288m]",
            "for: 2m",
            "DRILL MODE",
        ] {
            assert!(rules.contains(expected), "missing {expected:?}");
        }
        for gone in ["[5m]", "for: 5m", "86400)", "] offset 7d"] {
            assert!(!rules.contains(gone), "{gone:?} left in a drill");
        }
        // Rule names keep the production window.
        assert!(rules.contains("sightline:slo_errors:ratio_rate5m"));
        let tests = file(&drill, "alert_rules.test.yml");
        assert!(tests.contains("evaluation_interval: 20s"));
        let prometheus = file(&drill, "prometheus.yml");
        assert!(
            prometheus.contains("scrape_interval: 1s")
                && prometheus.contains("evaluation_interval: 1s")
        );
        // Production is untouched by the drill code path.
        let production_rules = file(&production, "alert_rules.yml");
        assert!(!production_rules.contains("DRILL"));
        assert!(file(&production, "prometheus.yml").contains("scrape_interval: 15s"));
        assert!(file(&production, "alert_rules.test.yml").contains("evaluation_interval: 5m"));
    }

    #[test]
    fn tests_expect_the_expanded_annotations() {
        let config = AlertConfig::new("order-service", "127.0.0.1:3000");
        let tests = file(&render(&config, &objectives()), "alert_rules.test.yml");
        assert!(tests.contains("rule_files:\n  - alert_rules.yml\n"));
        // 10 % of requests fail in the bad series; the threshold is 1 %.
        assert!(tests.contains(
            "description: '10% of the HTTP requests to order-service were answered with a 5xx over the last 5m (threshold 1%).'"
        ));
        assert!(tests.contains(
            "description: 'p99 latency of order-service is 4s over the last 5m (threshold 2s).'"
        ));
        assert!(tests.contains("2Gi"));
        assert!(tests.contains("exp_alerts: []"));
        assert!(tests
            .contains(r#"count(ALERTS{alertname="ServiceErrorRatioHigh",alertstate="pending"})"#));
    }

    #[test]
    fn hostile_strings_stay_quoted() {
        let mut config = AlertConfig::new("it's \"odd\"", "127.0.0.1:3000");
        config.runbook_base = "https://x/{{ y }}/".into();
        let files = render(&config, &[]);
        let rules = file(&files, "alert_rules.yml");
        assert!(rules.contains(r#"http_requests_total{job="it's \"odd\""}"#));
        assert!(rules.contains("job: 'it''s \"odd\"'"));
        assert!(rules.contains(r#"runbook_url: 'https://x/{{ "{{" }} y }}/ServiceErrorRatioHigh'"#));
        assert!(file(&files, "prometheus.yml").contains("job_name: 'it''s \"odd\"'"));
        assert!(
            !rules.contains("sightline-slo"),
            "no objectives, no SLO group"
        );
    }

    #[test]
    fn alertmanager_routes_by_severity() {
        let am = configs::alertmanager();
        for expected in [
            "group_by: [alertname, job]",
            "group_wait: 30s",
            "group_interval: 5m",
            "repeat_interval: 4h",
            "- receiver: pager\n      matchers:\n        - severity=\"critical\"",
            "- receiver: chat\n      matchers:\n        - severity=\"warning\"",
            "url: 'http://127.0.0.1:9/placeholder'",
        ] {
            assert!(am.contains(expected), "{expected}");
        }
    }
}
