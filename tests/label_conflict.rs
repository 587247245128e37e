//! Two sites declaring one family with different label names: `install()` says so, naming both.

use sightline::{observe, LabelValue};

#[derive(LabelValue)]
enum Provider {
    Stripe,
}

#[derive(LabelValue)]
enum Region {
    Eu,
}

#[observe(metric = "charges", labels(provider = provider))]
fn charge_card(provider: Provider) {
    let _ = provider;
}

mod refunds {
    use super::*;

    #[observe(metric = "charges", labels(region = region))]
    pub fn refund(region: Region) {
        let _ = region;
    }
}

#[test]
fn install_names_both_sites_of_a_conflicting_family() {
    let result = sightline::Telemetry::builder("svc")
        .log_writer(std::io::sink)
        .registry(prometheus::Registry::new())
        .install();
    let err = match result {
        Err(sightline::Error::LabelConflict(conflict)) => conflict,
        other => panic!("expected a label conflict, got {:?}", other.map(|_| ())),
    };
    assert_eq!(err.metric, "charges");
    let mut sites = [err.first.clone(), err.second.clone()];
    sites.sort_by_key(|s| s.function);
    assert_eq!(sites[0].function, "charge_card");
    assert_eq!(sites[0].module, "label_conflict");
    assert_eq!(sites[0].labels, ["provider"]);
    assert_eq!(sites[1].function, "refund");
    assert_eq!(sites[1].module, "label_conflict::refunds");
    assert_eq!(sites[1].labels, ["region"]);
    let message = sightline::Error::LabelConflict(err).to_string();
    assert!(
        message.contains("`charge_card` in `label_conflict`"),
        "{message}"
    );
    assert!(
        message.contains("`refund` in `label_conflict::refunds`"),
        "{message}"
    );

    // The application is intact: both functions still run; the second family is not recorded.
    charge_card(Provider::Stripe);
    refunds::refund(Region::Eu);
}
