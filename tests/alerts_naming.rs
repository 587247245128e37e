//! The generated rules and dashboards use the names the registry exposes. A registry made with
//! `Registry::new_custom(Some("payments"), {region="eu"})` renames every family
//! (`payments_http_requests_total{region="eu",..}`); the service here installs into one, makes calls of
//! every kind, and every selector of every generated rule, promtool test and dashboard query is
//! evaluated against its scraped exposition (with the `job` and `instance` labels a scrape adds): each
//! must match at least one series. The same check against the plain names must fail, so it can.

mod common;

use common::exposition::{self, Exposition};
use common::generated::{promql, selectors, test_series, Selector};
use common::PaymentError;
use sightline::alerts::{AlertConfig, Objective, ObjectiveSite};
use sightline::{business_span, observe};
use std::collections::BTreeMap;

const JOB: &str = "payments";
const TARGET: &str = "127.0.0.1:9464";

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
        // Recording rules' outputs and Prometheus's own series are not in the exposition, nor, without
        // the `grpc` feature, the gRPC families.
        .filter(|s| !s.name.contains(':') && s.name != "ALERTS")
        .filter(|s| cfg!(feature = "grpc") || !s.name.contains("grpc_"))
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
    #[cfg(feature = "grpc")]
    common::grpc_calls::ok_and_unimplemented();
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
