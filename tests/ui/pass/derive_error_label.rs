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

fn main() {
    assert_eq!(
        <Generic<u8> as ErrorLabel>::LABELS,
        ["payment_declined", "upstream_timeout", "http_failure"]
    );
    assert_eq!(Generic::Timeout(1u8).error_label(), "upstream_timeout");
    assert_eq!(Generic::<u8>::HTTPFailure { code: 1 }.error_index(), 2);
    assert_eq!(ValidationError.error_label(), "validation_error");
    assert!(<Never as ErrorLabel>::LABELS.is_empty());
}
