//! Custom labels: their own families in the exposition, every combination exported ahead, and the
//! catalogue of instrumented sites.

mod common;

use common::{scrape, telemetry, value};
use sightline::{observe, ErrorLabel, LabelValue, StatusClass};

#[derive(Clone, Copy, LabelValue)]
enum Provider {
    Stripe,
    #[label("adyen_eu")]
    Adyen,
}

#[derive(Clone, Copy, LabelValue)]
enum Tier {
    Free,
    Pro,
    Enterprise,
}

#[derive(Debug, ErrorLabel)]
enum ChargeError {
    Declined,
}

impl std::fmt::Display for ChargeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

struct Charge {
    provider: Provider,
    tier: Tier,
    retry: bool,
    amount_cents: u64,
}

#[observe(
    metric = "payment_charges",
    labels(provider = req.provider, tier = req.tier, retry = req.retry, region = "eu"),
    fields(amount_cents = req.amount_cents),
)]
fn charge(req: &Charge) -> Result<u64, ChargeError> {
    if req.amount_cents == 0 {
        return Err(ChargeError::Declined);
    }
    Ok(req.amount_cents)
}

#[observe(metric = "cache_lookups", labels(hit = hit, class = StatusClass::from(status)))]
async fn lookup(hit: bool, status: u16) -> Option<u8> {
    hit.then_some(1)
}

#[observe(metric = "static_labels", labels(region = "eu", shard = "a"))]
fn never_called() {}

#[observe]
fn plain_never_called() {}

#[test]
fn custom_families_carry_the_label_values() {
    let out = telemetry();
    let req = |provider, tier, retry, amount_cents| Charge {
        provider,
        tier,
        retry,
        amount_cents,
    };
    charge(&req(Provider::Stripe, Tier::Pro, false, 100)).unwrap();
    charge(&req(Provider::Stripe, Tier::Pro, false, 200)).unwrap();
    charge(&req(Provider::Adyen, Tier::Free, true, 0)).unwrap_err();
    charge(&req(Provider::Adyen, Tier::Enterprise, false, 5)).unwrap();

    let stripe_pro = [
        ("provider", "stripe"),
        ("tier", "pro"),
        ("retry", "false"),
        ("region", "eu"),
    ];
    let with = |extra: (&'static str, &'static str)| {
        let mut l = stripe_pro.to_vec();
        l.push(extra);
        l
    };
    assert_eq!(
        value("payment_charges_total", &with(("result", "ok"))),
        Some(2.0)
    );
    assert_eq!(
        value("payment_charges_total", &with(("result", "error"))),
        Some(0.0)
    );
    let adyen = [
        ("provider", "adyen_eu"),
        ("tier", "free"),
        ("retry", "true"),
        ("region", "eu"),
    ];
    let mut adyen_error = adyen.to_vec();
    adyen_error.push(("result", "error"));
    assert_eq!(value("payment_charges_total", &adyen_error), Some(1.0));
    let mut adyen_declined = adyen.to_vec();
    adyen_declined.push(("error_kind", "declined"));
    assert_eq!(
        value("payment_charges_errors_total", &adyen_declined),
        Some(1.0)
    );
    assert_eq!(value("payment_charges_in_flight", &stripe_pro), Some(0.0));
    let b = common::buckets("payment_charges_duration_seconds", &with(("result", "ok"))).unwrap();
    assert_eq!(b.last().unwrap().1, 2.0);

    // Every combination exists from the first call: 2 providers x 3 tiers x 2 retry x 3 outcomes (ok,
    // error, cancelled; `expected_error` only for error types with expected outcomes).
    let s = scrape();
    let series: Vec<_> = s.find("payment_charges_total", &[]).collect();
    assert_eq!(series.len(), 2 * 3 * 2 * 3);
    for sample in &series {
        let keys: Vec<&str> = sample.labels.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["provider", "region", "result", "retry", "tier"],
            "no function/module labels"
        );
    }
    assert!(
        value("function_calls_total", &[("function", "charge")]).is_none(),
        "a site with custom labels records its own families instead"
    );

    let line = out.for_function("charge").into_iter().next().unwrap();
    assert_eq!(line["amount_cents"], 100);
}

#[tokio::test]
async fn bool_and_status_class_labels_on_async_functions() {
    telemetry();
    lookup(true, 200).await;
    lookup(false, 404).await;
    lookup(false, 404).await;
    assert_eq!(
        value(
            "cache_lookups_total",
            &[("hit", "true"), ("class", "2xx"), ("result", "ok")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "cache_lookups_total",
            &[("hit", "false"), ("class", "4xx"), ("result", "ok")]
        ),
        Some(2.0)
    );
    assert_eq!(scrape().find("cache_lookups_total", &[]).count(), 2 * 5 * 3);
}

#[test]
fn sites_known_at_link_time_are_exported_before_their_first_call() {
    telemetry();
    assert_eq!(
        value(
            "static_labels_total",
            &[("region", "eu"), ("shard", "a"), ("result", "ok")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            "function_calls_total",
            &[("function", "plain_never_called"), ("result", "error")]
        ),
        Some(0.0),
        "rate() works before the first call"
    );
    let _ = never_called;
    let _ = plain_never_called;
}

#[test]
fn the_catalogue_lists_every_site() {
    telemetry();
    charge(&Charge {
        provider: Provider::Stripe,
        tier: Tier::Free,
        retry: false,
        amount_cents: 1,
    })
    .unwrap();
    let catalog = sightline::catalog();
    let site = catalog
        .iter()
        .find(|s| s.function == "charge")
        .expect("charge is catalogued");
    assert_eq!(site.kind, "function");
    assert_eq!(site.module, "labels");
    assert_eq!(
        site.families,
        [
            "payment_charges_total",
            "payment_charges_errors_total",
            "payment_charges_expected_errors_total",
            "payment_charges_duration_seconds",
            "payment_charges_in_flight"
        ]
    );
    let names: Vec<&str> = site.labels.iter().map(|l| l.name).collect();
    assert_eq!(names, ["provider", "tier", "retry", "region"]);
    assert_eq!(
        site.labels[0].values.as_deref(),
        Some(&["stripe", "adyen_eu"][..])
    );
    assert_eq!(site.labels[3].values.as_deref(), Some(&["eu"][..]));

    let never = catalog
        .iter()
        .find(|s| s.function == "never_called")
        .unwrap();
    assert_eq!(never.labels[1].values.as_deref(), Some(&["a"][..]));
    assert!(catalog.iter().any(|s| s.function == "lookup"));
    assert!(catalog.iter().any(|s| s.function == "plain_never_called"));
}

/// A label type with its own `none` value: `Option::None` shares it rather than adding a second one.
#[derive(Clone, Copy, LabelValue)]
enum Coupon {
    None,
    Percent,
}

#[observe(metric = "optional_labels", labels(tier = tier, coupon = coupon, provider = provider.as_ref()))]
fn optional_labels(tier: Option<Tier>, coupon: Option<Coupon>, provider: Option<Provider>) {}

#[test]
fn an_option_of_a_label_value_is_its_values_and_none() {
    telemetry();
    optional_labels(Some(Tier::Pro), Some(Coupon::Percent), None);
    optional_labels(None, None, Some(Provider::Adyen));
    optional_labels(None, Some(Coupon::None), Some(Provider::Adyen));

    let ok = |tier, coupon, provider| {
        value(
            "optional_labels_total",
            &[
                ("tier", tier),
                ("coupon", coupon),
                ("provider", provider),
                ("result", "ok"),
            ],
        )
    };
    assert_eq!(ok("pro", "percent", "none"), Some(1.0));
    assert_eq!(
        ok("none", "none", "adyen_eu"),
        Some(2.0),
        "None and Coupon::None are one value"
    );
    // (3 tiers + none) x (2 coupons, none shared) x (2 providers + none) x 3 outcomes.
    assert_eq!(
        scrape().find("optional_labels_total", &[]).count(),
        4 * 2 * 3 * 3
    );
    let catalog = sightline::catalog();
    let site = catalog
        .iter()
        .find(|s| s.function == "optional_labels")
        .unwrap();
    assert_eq!(
        site.labels[0].values.as_deref(),
        Some(&["free", "pro", "enterprise", "none"][..])
    );
    assert_eq!(
        site.labels[1].values.as_deref(),
        Some(&["none", "percent"][..])
    );
}
