//! The generated rules and dashboards use the names the registry exposes. A registry made with
//! `Registry::new_custom(Some("payments"), {region="eu"})` renames every family
//! (`payments_http_requests_total{region="eu",..}`); the service here installs into one, makes calls of
//! every kind, and every selector of every generated rule, promtool test and dashboard query is
//! evaluated against its scraped exposition (with the `job` and `instance` labels a scrape adds): each
//! must match at least one series. The same check against the plain names must fail, so it can.

mod common;

use common::exposition::{self, Exposition};
use sightline::alerts::{AlertConfig, Objective, ObjectiveSite};
use sightline::{business_span, observe, ErrorLabel};
use std::collections::BTreeMap;

const JOB: &str = "payments";
const TARGET: &str = "127.0.0.1:9464";

#[derive(Debug, ErrorLabel)]
enum PaymentError {
    ProviderDown,
    #[error_label(expected)]
    Declined,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("payment failed")
    }
}

#[observe(route = "/api/v1/payments", method = "POST")]
fn create_payment(ok: bool) -> Result<axum::http::StatusCode, axum::http::StatusCode> {
    if ok {
        Ok(axum::http::StatusCode::CREATED)
    } else {
        Err(axum::http::StatusCode::SERVICE_UNAVAILABLE)
    }
}

#[observe]
fn charge_card(ok: bool, declined: bool) -> Result<u32, PaymentError> {
    match (ok, declined) {
        (true, _) => Ok(1),
        (false, true) => Err(PaymentError::Declined),
        (false, false) => Err(PaymentError::ProviderDown),
    }
}

#[business_span("settle-payment")]
fn settle(ok: bool, declined: bool) -> Result<u32, PaymentError> {
    charge_card(ok, declined)
}

/// One `name{matchers}` of a PromQL text, its matchers as (label, operator, value).
#[derive(Debug)]
struct Selector {
    name: String,
    matchers: Vec<(String, String, String)>,
}

/// Every selector of `expr`: a name right before `{`, outside strings (as sightline writes them).
fn selectors(expr: &str) -> Vec<Selector> {
    let bytes = expr.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b == b'"' {
            at += 1;
            while at < bytes.len() && bytes[at] != b'"' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            at += 1;
            continue;
        }
        let name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b':';
        if (b.is_ascii_alphabetic() || b == b'_') && (at == 0 || !name_byte(bytes[at - 1])) {
            let start = at;
            while at < bytes.len() && name_byte(bytes[at]) {
                at += 1;
            }
            if bytes.get(at) == Some(&b'{') {
                let (matchers, end) = parse_matchers(expr, at + 1);
                found.push(Selector {
                    name: expr[start..at].to_owned(),
                    matchers,
                });
                at = end;
            }
            continue;
        }
        at += 1;
    }
    found
}

/// The matchers from `at` (just inside `{`) to the closing `}`; where the selector ends.
fn parse_matchers(expr: &str, mut at: usize) -> (Vec<(String, String, String)>, usize) {
    let bytes = expr.as_bytes();
    let mut matchers = Vec::new();
    loop {
        while at < bytes.len() && matches!(bytes[at], b' ' | b',' | b'\n') {
            at += 1;
        }
        if bytes.get(at) == Some(&b'}') || at >= bytes.len() {
            return (matchers, at + 1);
        }
        let start = at;
        while bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_' {
            at += 1;
        }
        let label = expr[start..at].to_owned();
        let op_start = at;
        while matches!(bytes[at], b'=' | b'!' | b'~') {
            at += 1;
        }
        let op = expr[op_start..at].to_owned();
        assert_eq!(bytes[at], b'"', "a quoted value in {expr}");
        at += 1;
        let mut value = String::new();
        while bytes[at] != b'"' {
            if bytes[at] == b'\\' {
                at += 1;
            }
            value.push(char::from(bytes[at]));
            at += 1;
        }
        at += 1;
        matchers.push((label, op, value));
    }
}

/// What Grafana and promtool would have substituted.
fn substitute(value: &str) -> String {
    value
        .replace("${job}", JOB)
        .replace("$job", JOB)
        .replace("$route", "/api/v1/payments")
}

fn matches(selector: &Selector, name: &str, labels: &BTreeMap<String, String>) -> bool {
    selector.name == name
        && selector.matchers.iter().all(|(label, op, value)| {
            let value = substitute(value);
            let actual = labels.get(label).map(String::as_str).unwrap_or("");
            let regex = || regex::Regex::new(&format!("^(?:{value})$")).expect("a valid regex");
            match op.as_str() {
                "=" => actual == value,
                "!=" => actual != value,
                "=~" => regex().is_match(actual),
                "!~" => !regex().is_match(actual),
                other => panic!("unknown matcher {other}"),
            }
        })
}

/// The selectors of `expr` that match nothing in `scrape`.
fn unmatched(expr: &str, scrape: &Exposition) -> Vec<String> {
    selectors(expr)
        .into_iter()
        // Recording rules' outputs and Prometheus's own series are not in the exposition.
        .filter(|s| !s.name.contains(':') && s.name != "ALERTS")
        .filter(|s| {
            !scrape.samples.iter().any(|sample| {
                let mut labels = sample.labels.clone();
                labels.insert("job".into(), JOB.into());
                labels.insert("instance".into(), TARGET.into());
                matches(s, &sample.name, &labels)
            })
        })
        .map(|s| format!("{} {:?}", s.name, s.matchers))
        .collect()
}

/// Every query of the rendered artefacts: rule and test expressions, panel and variable queries.
fn promql(files: &[(String, String)]) -> Vec<String> {
    let mut texts = Vec::new();
    for (path, content) in files {
        if path.ends_with(".json") {
            let json: serde_json::Value = serde_json::from_str(content).unwrap();
            collect_json(&json, &mut texts);
        } else if path.starts_with("alert_rules") {
            texts.extend(yaml_values(content, &["expr"]));
        }
    }
    texts
}

/// The input series of the promtool tests: made-up values, but in the names the registry exposes.
fn test_series(files: &[(String, String)]) -> Vec<String> {
    let (_, tests) = files
        .iter()
        .find(|(path, _)| path == "alert_rules.test.yml")
        .expect("the rules' tests");
    yaml_values(tests, &["series"])
}

fn collect_json(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                match child {
                    serde_json::Value::String(text) if key == "expr" || key == "query" => {
                        out.push(text.clone())
                    }
                    other => collect_json(other, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_json(i, out)),
        _ => {}
    }
}

/// The values of `keys` in the rule files, in the two forms sightline writes scalars: a literal block
/// (`key: |-` and the indented lines under it) or a single-quoted line (`key: '..'`, quotes doubled).
fn yaml_values(content: &str, keys: &[&str]) -> Vec<String> {
    let lines: Vec<&str> = content.lines().collect();
    let mut values = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ");
        let Some((key, rest)) = trimmed.split_once(": ") else {
            continue;
        };
        if !keys.contains(&key) {
            continue;
        }
        if rest == "|-" {
            let indent = lines[i + 1].len() - lines[i + 1].trim_start().len();
            let block: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| l.len() - l.trim_start().len() >= indent && !l.trim().is_empty())
                .map(|l| &l[indent..])
                .collect();
            values.push(block.join("\n"));
        } else if let Some(quoted) = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            values.push(quoted.replace("''", "'"));
        } else if rest.starts_with('"') {
            values.push(serde_json::from_str(rest).expect("a JSON-quoted scalar"));
        }
    }
    values
}

#[test]
fn every_generated_selector_matches_the_prefixed_registry() {
    let labels = [("region".to_owned(), "eu".to_owned())].into();
    let registry = prometheus::Registry::new_custom(Some("payments".into()), Some(labels)).unwrap();
    let _telemetry = sightline::Telemetry::builder("payments")
        .log_writer(std::io::sink)
        .registry(registry.clone())
        .install()
        .expect("installs");
    for i in 0..20 {
        let ok = i % 4 != 0;
        let _ = create_payment(ok);
        let _ = settle(ok, i % 8 == 0);
    }
    let scrape = exposition::parse(&sightline::metrics::render());
    assert!(
        scrape
            .samples
            .iter()
            .all(|s| s.name.starts_with("payments_") && s.labels["region"] == "eu"),
        "the registry renames and labels every series"
    );

    // The catalogue carries the installed registry's names; the configuration made from it uses them.
    let catalog = sightline::alerts::catalog().expect("the catalogue reads back");
    assert_eq!(catalog.service.as_deref(), Some("payments"));
    let config = catalog.alert_config(JOB, TARGET);
    assert_eq!(config.naming.prefix, "payments_");
    let objectives = [
        Objective {
            site: ObjectiveSite::Handler {
                method: "POST".into(),
                route: "/api/v1/payments".into(),
            },
            latency_seconds: Some(2.0),
            percentile: 99.0,
            error_rate_percent: Some(1.0),
        },
        Objective {
            site: ObjectiveSite::Business {
                operation: "settle-payment".into(),
            },
            latency_seconds: None,
            percentile: 99.0,
            error_rate_percent: Some(1.0),
        },
    ];
    let files = sightline::alerts::render(&config, &objectives);
    let texts = promql(&files);
    assert!(texts.len() > 50, "{} PromQL texts", texts.len());
    let failures: Vec<String> = texts
        .iter()
        .flat_map(|text| {
            unmatched(text, &scrape)
                .into_iter()
                .map(move |s| format!("{s}\n    in {text}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "selectors that match nothing the registry exposes:\n{}",
        failures.join("\n")
    );

    let names: std::collections::HashSet<&str> =
        scrape.samples.iter().map(|s| s.name.as_str()).collect();
    let series = test_series(&files);
    assert!(!series.is_empty());
    for text in &series {
        for selector in selectors(text) {
            assert!(
                names.contains(selector.name.as_str()),
                "a test series the registry never writes: {text}"
            );
            assert!(
                selector
                    .matchers
                    .contains(&("region".into(), "=".into(), "eu".into())),
                "a test series without the registry's label: {text}"
            );
        }
    }

    // The plain names match nothing here: the check above can fail.
    let plain = AlertConfig {
        naming: Default::default(),
        ..AlertConfig::new(JOB, TARGET)
    };
    let plain_texts = promql(&sightline::alerts::render(&plain, &objectives));
    assert!(plain_texts
        .iter()
        .any(|t| !unmatched(t, &scrape).is_empty()));
}
