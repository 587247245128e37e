//! The error of the payment functions several tests observe: a fault and an expected outcome.

use sightline::ErrorLabel;

#[derive(Debug, ErrorLabel)]
pub enum PaymentError {
    ProviderDown,
    #[error_label(expected)]
    Declined,
}

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("payment failed")
    }
}
