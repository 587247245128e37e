#![deny(warnings, unused, rust_2018_idioms)]
//! Every macro reached through a re-export: `crate = path` in the attributes and `objective!`,
//! `#[sightline(crate = path)]` on the derives. Only the re-exported path is named.

mod platform {
    pub use sightline as telemetry;
}

use platform::telemetry::{
    business_span, objective, observe, ErrorLabel, LabelValue, ObjectiveDef,
};

const CHECKOUT: ObjectiveDef =
    objective!(crate = platform::telemetry, latency = "2s", error_rate = "1%");

#[derive(Clone, Copy, LabelValue)]
#[sightline(crate = platform::telemetry)]
enum Region {
    Eu,
    #[label("us-east")]
    UsEast,
}

#[derive(Debug, ErrorLabel)]
#[sightline(crate = platform::telemetry)]
enum PaymentError {
    #[error_label(expected)]
    Declined,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

#[derive(Debug, ErrorLabel)]
#[sightline(crate = platform::telemetry)]
#[error_label("timed_out")]
struct Timeout;

#[observe(crate = platform::telemetry, metric = "charges", labels(region = region), objective = CHECKOUT)]
fn charge(region: Region) -> Result<(), PaymentError> {
    let _ = region;
    Err(PaymentError::Declined)
}

#[business_span("refund", crate = platform::telemetry)]
fn refund() -> Result<(), Timeout> {
    Ok(())
}

fn main() {
    assert!(charge(Region::Eu).is_err());
    assert!(charge(Region::UsEast).is_err());
    assert!(refund().is_ok());
    assert_eq!(<Region as LabelValue>::VALUES, &["eu", "us-east"]);
    assert_eq!(<PaymentError as ErrorLabel>::LABELS, &["declined"]);
    assert_eq!(<Timeout as ErrorLabel>::LABELS, &["timed_out"]);
    assert_eq!(CHECKOUT.latency_micros(), Some(2_000_000));
    assert_eq!(CHECKOUT.error_rate_ppm(), Some(10_000));
}
