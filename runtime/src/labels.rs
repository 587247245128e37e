//! The traits that turn a returned value into bounded label values.

/// A bounded `error_kind` label for an error type.
///
/// `#[derive(sightline::ErrorLabel)]` implements it on enums (the variant name in snake case,
/// `PaymentDeclined` -> `payment_declined`, renamed with `#[error_label("...")]`) and on structs (the type
/// name in snake case). The full list of values is known ahead, so the error counter's children are created
/// once per call site and a failed call only indexes into them.
///
/// Error types that do not implement it are counted with `error_kind="error"`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no bounded error label",
    label = "this error type does not implement `sightline::ErrorLabel`",
    note = "add `#[derive(sightline::ErrorLabel)]` to the error enum, or implement the trait by hand"
)]
pub trait ErrorLabel {
    /// Every value `error_index` can point at.
    const LABELS: &'static [&'static str];

    /// The position of this error's label in [`LABELS`](Self::LABELS).
    fn error_index(&self) -> usize;

    /// This error's label.
    fn error_label(&self) -> &'static str {
        Self::LABELS
            .get(self.error_index())
            .copied()
            .unwrap_or("error")
    }
}

/// The HTTP status a handler's return value stands for; handler-mode `#[observe(route = .., method = ..)]`
/// uses it for the `status_code` label.
///
/// Implemented for `http::StatusCode`, for `Result<T, E>` where both sides implement it, and with the
/// default `axum` feature for axum's `Response`, `Json<T>`, `Html<T>`, `(StatusCode, T)`, `String`, `&str`
/// and `()`. A return type without an implementation (including `impl IntoResponse`, whose concrete type
/// the macro cannot see) counts `Ok` as 200 and `Err` as 500: return a concrete type that implements this
/// trait where the exact code matters.
pub trait HttpStatus {
    /// The status code, e.g. 200.
    fn status_code(&self) -> u16;
}

impl HttpStatus for http::StatusCode {
    fn status_code(&self) -> u16 {
        self.as_u16()
    }
}

impl<T: HttpStatus, E: HttpStatus> HttpStatus for Result<T, E> {
    fn status_code(&self) -> u16 {
        match self {
            Ok(v) => v.status_code(),
            Err(e) => e.status_code(),
        }
    }
}

impl<T: HttpStatus + ?Sized> HttpStatus for &T {
    fn status_code(&self) -> u16 {
        (**self).status_code()
    }
}

impl<T: HttpStatus + ?Sized> HttpStatus for Box<T> {
    fn status_code(&self) -> u16 {
        (**self).status_code()
    }
}

macro_rules! ok_status {
    ($($ty:ty),*) => {$(
        impl HttpStatus for $ty {
            fn status_code(&self) -> u16 {
                200
            }
        }
    )*};
}
ok_status!(String, str, ());

impl<B> HttpStatus for http::Response<B> {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

impl<T> HttpStatus for (http::StatusCode, T) {
    fn status_code(&self) -> u16 {
        self.0.as_u16()
    }
}

#[cfg(feature = "axum")]
mod axum_impls {
    use super::HttpStatus;

    impl<T> HttpStatus for axum::Json<T> {
        fn status_code(&self) -> u16 {
            200
        }
    }

    impl<T> HttpStatus for axum::response::Html<T> {
        fn status_code(&self) -> u16 {
            200
        }
    }
}
