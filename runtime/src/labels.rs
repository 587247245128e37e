//! The traits that turn a returned value into bounded label values.

/// A bounded `error_kind` label for an error type.
///
/// `#[derive(sightline::ErrorLabel)]` implements it on enums (the variant name in snake case,
/// `PaymentDeclined` -> `payment_declined`, renamed with `#[error_label("...")]`) and on structs (the type
/// name in snake case). The full list of values is known ahead, so the error counter's children are created
/// once per call site and a failed call only indexes into them.
///
/// Error types that do not implement it are counted with `error_kind="error"`.
///
/// A variant marked `#[error_label(expected)]` (a declined card, a failed validation) is a business
/// outcome, not a fault: its calls count as `result="expected_error"` and in
/// `function_expected_errors_total{error_kind}` rather than `function_errors_total`, its completion line
/// is a `warn`, and its span's status stays unset, so error-ratio and burn-rate alerts see only faults.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no bounded error label",
    label = "this error type does not implement `sightline::ErrorLabel`",
    note = "add `#[derive(sightline::ErrorLabel)]` to the error enum, or implement the trait by hand"
)]
pub trait ErrorLabel {
    /// Every value `error_index` can point at.
    const LABELS: &'static [&'static str];

    /// For each of [`LABELS`](Self::LABELS), whether it is an expected outcome rather than a fault; a
    /// label past the end of the list is a fault. Default: none is expected.
    const EXPECTED: &'static [bool] = &[];

    /// The position of this error's label in [`LABELS`](Self::LABELS).
    fn error_index(&self) -> usize;

    /// Whether this error is an expected outcome (see [`EXPECTED`](Self::EXPECTED)).
    fn is_expected(&self) -> bool {
        Self::EXPECTED
            .get(self.error_index())
            .copied()
            .unwrap_or(false)
    }

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

/// A bounded metric label value: a type whose values are a small, fixed list known at compile time.
///
/// `#[derive(sightline::LabelValue)]` implements it for fieldless enums (variant names in snake case,
/// `#[label("...")]` to rename). sightline implements it for `bool`, `http::Method` (extension methods
/// are `other`), [`StatusClass`], and `Option<T>` of any of them: `T`'s values and `none` (shared with
/// `T`'s own `none` value if it has one). Free text (`String`, a non-literal `&str`), numbers and ids are
/// not label values: each distinct value would be a new time series.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a bounded label value: each distinct value would create a new time series",
    label = "this label could take unboundedly many values",
    note = "derive `sightline::LabelValue` on an enum of the values this label may take, or record the value with `fields(..)` (log line and span) instead of as a metric label"
)]
pub trait LabelValue {
    /// Every value, in index order.
    const VALUES: &'static [&'static str];
    /// Whether one more value, `none`, follows [`VALUES`](Self::VALUES) at index `VALUES.len()` (as for
    /// `Option<T>`, whose `VALUES` are `T`'s).
    const NONE: bool = false;
    /// How many values there are.
    const CARDINALITY: usize = Self::VALUES.len() + Self::NONE as usize;
    /// This value's position in [`VALUES`](Self::VALUES), or `VALUES.len()` for `none`.
    fn index(&self) -> usize;
    /// This value.
    fn label_value(&self) -> &'static str {
        let index = self.index();
        match Self::VALUES.get(index) {
            Some(value) => value,
            None if Self::NONE && index == Self::VALUES.len() => NONE,
            None => "other",
        }
    }
    /// This value as the expanded code hands it over. A method of the trait, so a type that does not
    /// implement it is reported against this trait rather than a helper's bound.
    #[doc(hidden)]
    #[inline]
    fn __label_index(&self) -> LabelIndex {
        LabelIndex {
            index: self.index(),
            values: LabelValues {
                listed: Self::VALUES,
                none: Self::NONE,
            },
        }
    }
}

/// The value `Option::None` takes as a label.
const NONE: &str = "none";

impl<T: LabelValue> LabelValue for Option<T> {
    const VALUES: &'static [&'static str] = T::VALUES;
    const NONE: bool = T::NONE || position(T::VALUES, NONE).is_none();
    fn index(&self) -> usize {
        match self {
            Some(value) => value.index(),
            None => NoneAt::<T>::INDEX,
        }
    }
}

/// Where `None` points for an `Option<T>`: `T`'s own `none` value, or one past `T`'s values.
struct NoneAt<T>(core::marker::PhantomData<T>);

impl<T: LabelValue> NoneAt<T> {
    const INDEX: usize = match position(T::VALUES, NONE) {
        Some(at) => at,
        None => T::VALUES.len(),
    };
}

const fn position(values: &[&str], wanted: &str) -> Option<usize> {
    let mut i = 0;
    while i < values.len() {
        if same_str(values[i], wanted) {
            return Some(i);
        }
        i += 1;
    }
    None
}

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl LabelValue for bool {
    const VALUES: &'static [&'static str] = &["false", "true"];
    fn index(&self) -> usize {
        usize::from(*self)
    }
}

impl<T: LabelValue + ?Sized> LabelValue for &T {
    const VALUES: &'static [&'static str] = T::VALUES;
    const NONE: bool = T::NONE;
    const CARDINALITY: usize = T::CARDINALITY;
    fn index(&self) -> usize {
        (**self).index()
    }
}

impl LabelValue for http::Method {
    const VALUES: &'static [&'static str] = sightline_conventions::METHOD_LABEL_VALUES;
    fn index(&self) -> usize {
        Self::VALUES[..Self::VALUES.len() - 1]
            .iter()
            .position(|m| *m == self.as_str())
            .unwrap_or(Self::VALUES.len() - 1)
    }
}

/// The class of an HTTP status, a bounded label: `1xx` .. `5xx` (anything else is `5xx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// 1xx.
    Informational,
    /// 2xx.
    Success,
    /// 3xx.
    Redirection,
    /// 4xx.
    ClientError,
    /// 5xx, and codes outside 100..=599.
    ServerError,
}

impl From<u16> for StatusClass {
    fn from(code: u16) -> Self {
        match code {
            100..=199 => StatusClass::Informational,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            _ => StatusClass::ServerError,
        }
    }
}

impl From<http::StatusCode> for StatusClass {
    fn from(code: http::StatusCode) -> Self {
        code.as_u16().into()
    }
}

impl LabelValue for StatusClass {
    const VALUES: &'static [&'static str] = &["1xx", "2xx", "3xx", "4xx", "5xx"];
    fn index(&self) -> usize {
        *self as usize
    }
}

/// One label's value at a call, as the expanded code hands it over: an index into its value list.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct LabelIndex {
    pub(crate) index: usize,
    pub(crate) values: LabelValues,
}

impl LabelIndex {
    /// A string literal: `values` is the one-element list `&["eu"]`.
    #[inline]
    pub const fn literal(values: &'static [&'static str]) -> Self {
        LabelIndex {
            index: 0,
            values: LabelValues {
                listed: values,
                none: false,
            },
        }
    }
}

/// A label type's values: its [`LabelValue::VALUES`], then `none` when [`LabelValue::NONE`].
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct LabelValues {
    listed: &'static [&'static str],
    none: bool,
}

impl LabelValues {
    pub(crate) fn len(&self) -> usize {
        self.listed.len() + usize::from(self.none)
    }

    pub(crate) fn get(&self, index: usize) -> &'static str {
        self.listed.get(index).copied().unwrap_or(NONE)
    }

    pub(crate) fn to_vec(self) -> Vec<&'static str> {
        (0..self.len()).map(|i| self.get(i)).collect()
    }

    /// Whether both are the values of one label type.
    pub(crate) fn same(&self, other: &LabelValues) -> bool {
        // Associated consts may be duplicated per codegen unit, so equal contents count as the same list.
        self.none == other.none
            && (std::ptr::eq(self.listed, other.listed) || self.listed == other.listed)
    }
}

/// The number of series a label set can create: the product of its cardinalities, saturating.
#[doc(hidden)]
pub const fn series_product(factors: &[usize]) -> usize {
    let mut product: usize = 1;
    let mut i = 0;
    while i < factors.len() {
        product = product.saturating_mul(factors[i]);
        i += 1;
    }
    product
}

/// An error type's labels and which of them are expected outcomes (`ErrorLabel::EXPECTED`).
#[derive(Clone, Copy, Debug)]
pub struct ErrorLabels {
    pub(crate) labels: &'static [&'static str],
    pub(crate) expected: &'static [bool],
}

impl ErrorLabels {
    /// For the expanded code's probes.
    #[inline]
    pub const fn new(labels: &'static [&'static str], expected: &'static [bool]) -> Self {
        ErrorLabels { labels, expected }
    }

    /// Whether the label at `index` is an expected outcome.
    pub(crate) fn is_expected(&self, index: usize) -> bool {
        self.expected.get(index).copied().unwrap_or(false)
    }
}

/// The label list of error types that do not implement [`ErrorLabel`].
pub(crate) const DEFAULT_ERROR_LABELS: &[&str] = &["error"];
