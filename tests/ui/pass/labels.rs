#![deny(warnings, unused, rust_2018_idioms)]
//! Label values that compile: string literals, `bool`, derived enums (renamed variants too), sightline's
//! own `StatusClass` and `http::Method`, and a raised `max_series`.

use sightline::{observe, LabelValue, StatusClass};

#[derive(Clone, Copy, LabelValue)]
pub enum Provider {
    Stripe,
    #[label("adyen-eu")]
    AdyenEu,
}

#[derive(Clone, Copy, LabelValue)]
pub enum Tier {
    T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16, T17, T18, T19, T20, T21, T22, T23, T24, T25, T26, T27, T28, T29, T30, T31, T32, T33, T34, T35, T36, T37, T38, T39, T40, T41, T42, T43, T44, T45, T46, T47, T48, T49,
}

#[derive(Clone, Copy, LabelValue)]
pub enum Region {
    R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12, R13, R14, R15, R16, R17, R18, R19, R20, R21, R22, R23, R24, R25, R26, R27, R28, R29,
}

#[observe(metric = "payment_charges", labels(provider = provider, retry = retry, region = "eu"))]
pub fn charge(provider: Provider, retry: bool) -> Result<(), String> {
    let _ = (provider, retry);
    Ok(())
}

#[observe(metric = "upstream_calls", labels(class = StatusClass::from(status), verb = method))]
pub async fn upstream(status: u16, method: &axum::http::Method) {
    let _ = (status, method);
}

/// 50 x 30 x 4 outcomes = 6000 label combinations at most, within the raised budget.
#[observe(metric = "checkouts", labels(tier = tier, region = region), max_series = 6000)]
pub fn checkout(tier: Tier, region: Region) {
    let _ = (tier, region);
}

#[tokio::main]
async fn main() {
    charge(Provider::AdyenEu, true).unwrap();
    upstream(200, &axum::http::Method::GET).await;
    checkout(Tier::T49, Region::R29);
    assert_eq!(Provider::AdyenEu.label_value(), "adyen-eu");
    assert_eq!(<Tier as LabelValue>::CARDINALITY, 50);
}
