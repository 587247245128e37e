//! The table of names in `sightline-conventions` is the truth: every family the runtime registers is in
//! it with the type, help text and labels it gives, every family of the table is registered, and every
//! family a generated rule, promtool test or dashboard queries is in it.

mod common;

use common::generated::{promql, selectors, test_series};
use common::PaymentError;
use sightline::alerts::{AlertConfig, Objective, ObjectiveSite};
use sightline::{business_span, observe};
use sightline_conventions::{self as conventions, Family, Kind};
use std::collections::{BTreeMap, BTreeSet};

fn outcome(i: u32) -> Result<u32, PaymentError> {
    match i % 3 {
        0 => Ok(i),
        1 => Err(PaymentError::ProviderDown),
        _ => Err(PaymentError::Declined),
    }
}

#[observe]
fn charge_card(i: u32) -> Result<u32, PaymentError> {
    outcome(i)
}

#[business_span("settle-payment")]
fn settle(i: u32) -> Result<u32, PaymentError> {
    outcome(i)
}

#[observe(route = "/api/v1/payments", method = "POST")]
fn create_payment(i: u32) -> Result<axum::http::StatusCode, axum::http::StatusCode> {
    match i % 2 {
        0 => Ok(axum::http::StatusCode::CREATED),
        _ => Err(axum::http::StatusCode::SERVICE_UNAVAILABLE),
    }
}

const CUSTOM_METRIC: &str = "payment_refunds";

#[observe(metric = "payment_refunds", labels(provider = "stripe"))]
fn refund(i: u32) -> Result<u32, PaymentError> {
    outcome(i)
}

/// The table's entry for `name`: a family of fixed name, or one of the families of the custom metric
/// declared above (its labels are the site's before the table's outcome or `error_kind`).
fn entry(name: &str) -> Option<Family> {
    let fixed = conventions::BUILT_IN.iter().chain(conventions::PROCESS);
    if let Some(family) = fixed.copied().find(|f| f.name == name) {
        return Some(family);
    }
    // A custom family has the function family's labels in the same position, with the site's own
    // labels in place of `function` and `module`.
    let own = conventions::FUNCTION.in_flight.labels;
    let custom = conventions::CUSTOM.iter().zip(conventions::FUNCTION.all());
    custom.into_iter().find_map(|(part, like)| {
        (part.name(CUSTOM_METRIC) == name).then(|| {
            let labels: Vec<&'static str> = std::iter::once("provider")
                .chain(like.labels.iter().copied().filter(|l| !own.contains(l)))
                .collect();
            Family {
                name: "",
                kind: part.kind,
                labels: labels.leak(),
                help: part.help(CUSTOM_METRIC).leak(),
            }
        })
    })
}

fn type_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Counter => "counter",
        Kind::Histogram => "histogram",
        Kind::Gauge => "gauge",
    }
}

/// The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own.
fn family_of<'a>(sample: &'a str, types: &BTreeMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = sample.strip_suffix(suffix) {
            if types.get(base).map(String::as_str) == Some("histogram") {
                return base;
            }
        }
    }
    sample
}

/// One request through `ClientTelemetry` to a server on 127.0.0.1: the client family gets a series.
#[cfg(feature = "reqwest")]
fn one_client_call() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/ok", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(sightline::http::ClientTelemetry::new())
            .build();
        let response = client
            .get(format!("http://{addr}/ok"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    });
}

#[test]
fn every_family_the_runtime_registers_is_in_the_table_and_back() {
    common::telemetry();
    for i in 0..9 {
        let _ = charge_card(i);
        let _ = settle(i);
        let _ = create_payment(i);
        let _ = refund(i);
    }
    #[cfg(feature = "reqwest")]
    one_client_call();
    #[cfg(feature = "grpc")]
    common::grpc_calls::ok_and_unimplemented();
    let scrape = common::scrape();
    let types: BTreeMap<String, String> = scrape.types.clone().into_iter().collect();
    for (name, exposed) in &types {
        let family =
            entry(name).unwrap_or_else(|| panic!("{name} is registered but not in the table"));
        assert_eq!(exposed, type_word(family.kind), "# TYPE of {name}");
        assert_eq!(scrape.help[name], family.help, "# HELP of {name}");
    }
    let mut labels: BTreeMap<&str, BTreeSet<Vec<String>>> = BTreeMap::new();
    for sample in &scrape.samples {
        let family = family_of(&sample.name, &types);
        let names = sample
            .labels
            .keys()
            .filter(|l| *l != "le")
            .cloned()
            .collect();
        labels.entry(family).or_default().insert(names);
    }
    for (family, seen) in &labels {
        let table = entry(family).expect("checked above");
        let mut expected: Vec<String> = table.labels.iter().map(|l| l.to_string()).collect();
        expected.sort();
        assert_eq!(
            seen.iter().collect::<Vec<_>>(),
            vec![&expected],
            "the labels of {family}"
        );
    }
    // The loss counters are made with every reason at install, so a reason the runtime counts and the
    // table lacks (or the reverse) shows here before any loss.
    for (family, reasons) in [
        (
            conventions::SPANS_DROPPED,
            &conventions::SPAN_LOSS_REASONS[..],
        ),
        (
            conventions::LOG_LINES_DROPPED,
            &conventions::LINE_LOSS_REASONS[..],
        ),
    ] {
        let exposed: BTreeSet<&str> = scrape
            .samples
            .iter()
            .filter(|s| s.name == family.name)
            .filter_map(|s| s.labels.get("reason").map(String::as_str))
            .collect();
        assert_eq!(
            exposed,
            reasons.iter().copied().collect::<BTreeSet<_>>(),
            "the reasons of {}",
            family.name
        );
    }
    let on_linux = cfg!(target_os = "linux");
    for family in conventions::BUILT_IN.iter().chain(conventions::PROCESS) {
        if conventions::PROCESS.contains(family) && !on_linux {
            continue;
        }
        if *family == conventions::HTTP_CLIENT_DURATION && !cfg!(feature = "reqwest") {
            continue;
        }
        let grpc = conventions::GRPC_SERVER.all().contains(family)
            || conventions::GRPC_CLIENT.all().contains(family);
        if grpc && !cfg!(feature = "grpc") {
            continue;
        }
        assert!(
            types.contains_key(family.name),
            "{} is in the table but the runtime did not register it",
            family.name
        );
    }
}

#[test]
fn every_family_the_generators_query_is_in_the_table() {
    let objectives = vec![
        Objective {
            site: ObjectiveSite::Handler {
                method: "POST".into(),
                route: "/api/v1/payments".into(),
            },
            latency_seconds: Some(0.5),
            percentile: 99.0,
            error_rate_percent: Some(1.0),
        },
        Objective {
            site: ObjectiveSite::Function {
                function: "charge_card".into(),
                module: "conventions".into(),
            },
            latency_seconds: Some(1.0),
            percentile: 95.0,
            error_rate_percent: Some(5.0),
        },
        Objective {
            site: ObjectiveSite::Business {
                operation: "settle-payment".into(),
            },
            latency_seconds: Some(2.0),
            percentile: 99.0,
            error_rate_percent: Some(1.0),
        },
    ];
    let fixed: BTreeMap<&str, Kind> = conventions::BUILT_IN
        .iter()
        .chain(conventions::PROCESS)
        .map(|f| (f.name, f.kind))
        .collect();
    let known = |name: &str| {
        fixed.contains_key(name)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|base| fixed.get(base) == Some(&Kind::Histogram))
            })
    };
    let mut queried = BTreeSet::new();
    for drill in [false, true] {
        let mut config = AlertConfig::new("payments", "127.0.0.1:9464");
        config.drill = drill;
        let files = sightline::alerts::render(&config, &objectives);
        let texts = promql(&files).into_iter().chain(test_series(&files));
        for selector in texts.flat_map(|text| selectors(&text)) {
            // Recording rules' outputs (`job:..:ratio`) and Prometheus's own `ALERTS` are not families.
            if selector.name.contains(':') || selector.name == "ALERTS" {
                continue;
            }
            assert!(
                known(&selector.name),
                "the generators query {} which is not in the table",
                selector.name
            );
            queried.insert(selector.name);
        }
    }
    // What they query at all: the golden signals of all three kinds, the losses, the process.
    for family in [
        conventions::HTTP.requests.name,
        conventions::FUNCTION.errors.name,
        conventions::BUSINESS.calls.name,
        conventions::SPANS_DROPPED.name,
        conventions::LOG_LINES_DROPPED.name,
        "process_resident_memory_bytes",
    ] {
        assert!(
            queried.contains(family),
            "{family} is never queried: {queried:?}"
        );
    }
}
