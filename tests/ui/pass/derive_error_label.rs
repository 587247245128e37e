#![deny(warnings)]
use sightline::ErrorLabel;

#[derive(ErrorLabel)]
pub enum Generic<T> {
    PaymentDeclined,
    #[error_label("upstream_timeout")]
    Timeout(T),
    HTTPFailure { code: u16 },
}

#[derive(ErrorLabel)]
pub struct ValidationError;

#[derive(ErrorLabel)]
pub enum Never {}

/// Business outcomes among faults, named or not, the two in either order.
#[derive(ErrorLabel)]
pub enum Payment {
    #[error_label(expected)]
    Declined,
    #[error_label(expected, "invalid_card")]
    CardInvalid,
    #[error_label("over_limit", expected)]
    Limit,
    ProviderDown,
}

#[derive(ErrorLabel)]
#[error_label(expected)]
pub struct Refused;

fn main() {
    assert_eq!(
        <Generic<u8> as ErrorLabel>::LABELS,
        ["payment_declined", "upstream_timeout", "http_failure"]
    );
    assert_eq!(Generic::Timeout(1u8).error_label(), "upstream_timeout");
    assert_eq!(Generic::<u8>::HTTPFailure { code: 1 }.error_index(), 2);
    assert_eq!(ValidationError.error_label(), "validation_error");
    assert!(<Never as ErrorLabel>::LABELS.is_empty());
    assert_eq!(
        <Payment as ErrorLabel>::LABELS,
        ["declined", "invalid_card", "over_limit", "provider_down"]
    );
    assert_eq!(<Payment as ErrorLabel>::EXPECTED, [true, true, true, false]);
    assert!(Payment::Declined.is_expected() && !Payment::ProviderDown.is_expected());
    assert!(Refused.is_expected());
    assert!(!ValidationError.is_expected());
}
