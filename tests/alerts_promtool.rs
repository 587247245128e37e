//! The generated rules, checked by Prometheus's own tool: `promtool check rules`, `promtool test rules`
//! (the generated unit tests: every alert fires on a bad series, stays silent on a healthy one and on a
//! spike shorter than `for`) and `promtool check config`, for the default, drill and custom configs.

#[path = "common/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use sightline::alerts::{AlertConfig, Objective, ObjectiveSite};

const INSTALL: &str = "install prometheus (apt-get install -y prometheus)";

/// A handler objective (p99 under 2 s, 1 % errors) and a function objective (0.5 % errors).
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

/// Writes the artefacts into a fresh directory.
fn write(name: &str, config: &AlertConfig, objectives: &[Objective]) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sightline-promtool-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, content) in sightline::alerts::render(config, objectives) {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, content).unwrap();
    }
    dir
}

/// Runs `promtool args...` in `dir`: (success, its output).
fn promtool(promtool: &str, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "$ promtool {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The three promtool checks pass; the directory is kept for inspection when one does not (and always
/// with `SIGHTLINE_KEEP_ARTEFACTS=1`).
fn passes_promtool(name: &str, config: &AlertConfig, objectives: &[Objective]) {
    let Some(bin) = tools::require("promtool", INSTALL) else {
        return;
    };
    let dir = write(name, config, objectives);
    for args in [
        // `--lint-fatal`: a duplicate rule (same name and labels) is a failure, not a warning.
        &[
            "check",
            "rules",
            "--lint=all",
            "--lint-fatal",
            "alert_rules.yml",
        ][..],
        &["test", "rules", "alert_rules.test.yml"],
        &[
            "check",
            "config",
            "--lint=all",
            "--lint-fatal",
            "prometheus.yml",
        ],
    ] {
        let (ok, output) = promtool(bin, &dir, args);
        assert!(
            ok,
            "{name}: promtool failed (files kept in {}):\n{output}",
            dir.display()
        );
        eprintln!("{name}: {output}");
    }
    if std::env::var_os("SIGHTLINE_KEEP_ARTEFACTS").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn default_config_passes_promtool() {
    passes_promtool(
        "default",
        &AlertConfig::new("order-service", "127.0.0.1:3000"),
        &objectives(),
    );
}

#[test]
fn drill_config_passes_promtool() {
    let mut config = AlertConfig::new("order-service", "127.0.0.1:3000");
    config.drill = true;
    passes_promtool("drill", &config, &objectives());
}

/// A registry that prefixes and labels every family: the rules select, and their tests feed, the names it
/// exposes (`payments_http_requests_total{region="eu",..}`).
#[test]
fn prefixed_registry_config_passes_promtool() {
    let mut config = AlertConfig::new("order-service", "127.0.0.1:3000");
    config.naming = sightline::alerts::MetricNaming {
        prefix: "payments_".into(),
        const_labels: vec![("region".into(), "eu".into())],
    };
    let rules = sightline::alerts::render(&config, &objectives())
        .into_iter()
        .find(|(path, _)| path == "alert_rules.yml")
        .unwrap()
        .1;
    assert!(rules.contains("payments_http_requests_total{region=\"eu\",job=\"order-service\""));
    passes_promtool("prefixed", &config, &objectives());
}

/// Other thresholds, a business objective with a tight budget, and a job name that needs quoting.
#[test]
fn custom_config_passes_promtool() {
    let mut config = AlertConfig::new("shop's \"checkout\"", "10.0.0.7:8080");
    config.error_ratio = 0.05;
    config.latency_seconds = 0.25;
    config.in_flight_ceiling = 16.0;
    config.memory_limit_bytes = 256.0 * 1024.0 * 1024.0;
    config.creep_factor = 2.0;
    config.runbook_base = "https://wiki.example/ops/".into();
    let mut objectives = objectives();
    objectives.push(Objective {
        site: ObjectiveSite::Business {
            operation: "place-order".into(),
        },
        latency_seconds: Some(0.5),
        percentile: 99.9,
        error_rate_percent: Some(0.1),
    });
    passes_promtool("custom", &config, &objectives);
}

/// The test groups of `alert_rules.test.yml` that check `alertname`, with the file's header: a small
/// test file (each group is its comment lines and its `- name:` item, two spaces in).
fn only_tests_of(tests: &str, alertname: &str) -> String {
    let (header, groups) = tests.split_once("tests:\n").expect("a tests: section");
    let mut chunks: Vec<String> = Vec::new();
    let mut in_comment = false;
    for line in groups.lines() {
        let comment = line.starts_with("  # ");
        if !in_comment && (comment || line.starts_with("  - name:")) {
            chunks.push(String::new());
        }
        in_comment = comment;
        let chunk = chunks
            .last_mut()
            .expect("groups start with a comment or a name");
        chunk.push_str(line);
        chunk.push('\n');
    }
    let kept: Vec<String> = chunks
        .into_iter()
        .filter(|c| c.contains(&format!("alertname: {alertname}\n")))
        .collect();
    assert!(!kept.is_empty(), "tests of {alertname}");
    format!("{header}tests:\n{}", kept.concat())
}

/// The generated tests can fail: with the rule's threshold raised, or the expected annotation's
/// threshold changed, promtool reports the alert; unchanged, the same tests pass.
#[test]
fn a_broken_threshold_fails_the_generated_tests() {
    let Some(bin) = tools::require("promtool", INSTALL) else {
        return;
    };
    let config = AlertConfig::new("order-service", "127.0.0.1:3000");
    let dir = write("mutations", &config, &objectives());
    let rules = std::fs::read_to_string(dir.join("alert_rules.yml")).unwrap();
    let tests = only_tests_of(
        &std::fs::read_to_string(dir.join("alert_rules.test.yml")).unwrap(),
        "ServiceErrorRatioHigh",
    );
    let run = |rules: &str, tests: &str| {
        std::fs::write(dir.join("alert_rules.yml"), rules).unwrap();
        std::fs::write(dir.join("small.test.yml"), tests).unwrap();
        promtool(bin, &dir, &["test", "rules", "small.test.yml"])
    };

    let (ok, output) = run(&rules, &tests);
    assert!(ok, "the unchanged tests pass:\n{output}");

    let raised = rules.replacen("> 0.01\n", "> 0.5\n", 1);
    assert_ne!(raised, rules, "the error-ratio threshold is in the rules");
    let (ok, output) = run(&raised, &tests);
    assert!(
        !ok && output.contains("alertname: ServiceErrorRatioHigh"),
        "{output}"
    );

    let expectation = tests.replace("(threshold 1%)", "(threshold 2%)");
    assert_ne!(
        expectation, tests,
        "the threshold is in the expected annotations"
    );
    let (ok, output) = run(&rules, &expectation);
    assert!(
        !ok && output.contains("alertname: ServiceErrorRatioHigh"),
        "{output}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
