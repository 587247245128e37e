//! Deciding, from a returned value's *type*, whether a call failed and how to label it.
//!
//! The expanded code asks these questions at the call site, where the return type is concrete, through
//! autoref-based specialisation: each question is a method name implemented by two or three traits at
//! different reference depths, and method resolution picks the most specific impl whose bounds hold. So an
//! `io::Result<T>` or a user's `type Res<T> = Result<T, MyError>` is recognised as a `Result` by its type,
//! never by its spelling, and nothing of this survives to run time but the chosen branch.

use crate::labels::ErrorLabels;

use std::fmt;

/// What the expanded code learnt about a returned value.
pub struct Outcome<'a> {
    pub(crate) labels: ErrorLabels,
    pub(crate) error: Option<ErrorInfo<'a>>,
    pub(crate) status: Option<u16>,
}

impl<'a> Outcome<'a> {
    /// `labels` is the error type's full label list (known even on success), `error` the failure if there
    /// was one, `status` the HTTP status the value stands for when its type says so.
    #[inline]
    pub fn new(labels: ErrorLabels, error: Option<ErrorInfo<'a>>, status: Option<u16>) -> Self {
        Outcome {
            labels,
            error,
            status,
        }
    }
}

/// A failed call's error: the index of its label and how to print it.
pub struct ErrorInfo<'a> {
    pub(crate) index: usize,
    pub(crate) message: ErrorMessage<'a>,
}

impl<'a> ErrorInfo<'a> {
    /// See [`Outcome::new`].
    #[inline]
    pub fn new(index: usize, message: ErrorMessage<'a>) -> Self {
        ErrorInfo { index, message }
    }
}

/// The text of an error for the log line and the span status: for an error (`std::error::Error`, or what
/// holds one: `anyhow::Error`, `Box<dyn Error>`), its `Display` and then each `source()`'s, joined by
/// `: ` as anyhow's `{:#}` writes them; else its `Display`, else its `Debug`, else its type name.
#[derive(Clone, Copy)]
pub enum ErrorMessage<'a> {
    /// An error with its chain of causes.
    Chain(&'a (dyn std::error::Error + 'static)),
    /// The error implements `Display`.
    Display(&'a dyn fmt::Display),
    /// The error implements only `Debug`.
    Debug(&'a dyn fmt::Debug),
    /// Neither: the best that can be said is its type.
    Opaque(&'static str),
}

/// Causes written after an error at most: a `source()` chain is usually a few levels, and a cycle must
/// not loop.
const MAX_CAUSES: usize = 16;

impl fmt::Display for ErrorMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorMessage::Chain(error) => {
                let mut written = error.to_string();
                let mut cause = error.source();
                for _ in 0..MAX_CAUSES {
                    let Some(current) = cause else {
                        break;
                    };
                    let text = current.to_string();
                    // An error that already quotes its cause (`read failed: No such file`) is not
                    // followed by it a second time.
                    if !text.is_empty() && !written.ends_with(&text) {
                        written.push_str(": ");
                        written.push_str(&text);
                    }
                    cause = current.source();
                }
                f.write_str(&written)
            }
            ErrorMessage::Display(d) => fmt::Display::fmt(d, f),
            ErrorMessage::Debug(d) => fmt::Debug::fmt(d, f),
            ErrorMessage::Opaque(type_name) => f.write_str(type_name),
        }
    }
}

/// The probes. Each trait pair (or triple) shares one method name; call it as `(&&Probe(&value)).method()`
/// (`&&&` for three levels) with the traits imported `as _`.
#[allow(missing_docs)]
pub mod probe {
    use super::ErrorMessage;
    use crate::labels::{ErrorLabels, DEFAULT_ERROR_LABELS};
    use crate::{ErrorLabel, HttpStatus};
    use std::fmt;

    /// The value under question.
    pub struct Probe<'a, T: ?Sized>(pub &'a T);

    /// The error type of values that cannot fail. Uninhabited: the `Option<&NoError>` it travels in is
    /// always `None`.
    pub enum NoError {}

    // `__sl_err`: the error inside a `Result`, or nothing.
    pub trait ResultErr<'a> {
        type Err;
        fn __sl_err(&self) -> Option<&'a Self::Err>;
    }
    impl<'a, T, E> ResultErr<'a> for &Probe<'a, Result<T, E>> {
        type Err = E;
        #[inline]
        fn __sl_err(&self) -> Option<&'a E> {
            self.0.as_ref().err()
        }
    }
    pub trait NotResult<'a> {
        fn __sl_err(&self) -> Option<&'a NoError>;
    }
    impl<'a, T: ?Sized> NotResult<'a> for Probe<'a, T> {
        #[inline]
        fn __sl_err(&self) -> Option<&'a NoError> {
            None
        }
    }

    // `__sl_labels`, asked of the `Option<&E>` that `__sl_err` returned: the error type's label list,
    // which labels are expected outcomes, and how to find an error's position in the list.
    pub trait ErrLabels<E: ?Sized> {
        fn __sl_labels(&self) -> (ErrorLabels, fn(&E) -> usize);
    }
    impl<E: ErrorLabel> ErrLabels<E> for &Probe<'_, Option<&E>> {
        #[inline]
        fn __sl_labels(&self) -> (ErrorLabels, fn(&E) -> usize) {
            (ErrorLabels::new(E::LABELS, E::EXPECTED), E::error_index)
        }
    }
    pub trait NoErrLabels<E: ?Sized> {
        fn __sl_labels(&self) -> (ErrorLabels, fn(&E) -> usize);
    }
    impl<E: ?Sized> NoErrLabels<E> for Probe<'_, Option<&E>> {
        #[inline]
        fn __sl_labels(&self) -> (ErrorLabels, fn(&E) -> usize) {
            (ErrorLabels::new(DEFAULT_ERROR_LABELS, &[]), |_| 0)
        }
    }

    // `__sl_message`: an error's chain (the error itself, or what holds one), else Display, else Debug,
    // else the type name.
    pub trait MessageError<'a> {
        fn __sl_message(&self) -> ErrorMessage<'a>;
    }
    impl<'a, E: std::error::Error + 'static> MessageError<'a> for &&&&&Probe<'a, E> {
        #[inline]
        fn __sl_message(&self) -> ErrorMessage<'a> {
            ErrorMessage::Chain(self.0)
        }
    }
    /// `anyhow::Error`, `eyre::Report`, `Box<dyn Error + Send + Sync>`.
    pub trait MessageSharedError<'a> {
        fn __sl_message(&self) -> ErrorMessage<'a>;
    }
    impl<'a, E> MessageSharedError<'a> for &&&&Probe<'a, E>
    where
        E: AsRef<dyn std::error::Error + Send + Sync + 'static> + ?Sized,
    {
        #[inline]
        fn __sl_message(&self) -> ErrorMessage<'a> {
            ErrorMessage::Chain(self.0.as_ref())
        }
    }
    /// `Box<dyn Error>`, `Arc<dyn Error>`.
    pub trait MessageBoxedError<'a> {
        fn __sl_message(&self) -> ErrorMessage<'a>;
    }
    impl<'a, E> MessageBoxedError<'a> for &&&Probe<'a, E>
    where
        E: AsRef<dyn std::error::Error + 'static> + ?Sized,
    {
        #[inline]
        fn __sl_message(&self) -> ErrorMessage<'a> {
            ErrorMessage::Chain(self.0.as_ref())
        }
    }
    pub trait MessageDisplay<'a> {
        fn __sl_message(&self) -> ErrorMessage<'a>;
    }
    impl<'a, E: fmt::Display> MessageDisplay<'a> for &&Probe<'a, E> {
        #[inline]
        fn __sl_message(&self) -> ErrorMessage<'a> {
            ErrorMessage::Display(self.0)
        }
    }
    pub trait MessageDebug<'a> {
        fn __sl_message(&self) -> ErrorMessage<'a>;
    }
    impl<'a, E: fmt::Debug> MessageDebug<'a> for &Probe<'a, E> {
        #[inline]
        fn __sl_message(&self) -> ErrorMessage<'a> {
            ErrorMessage::Debug(self.0)
        }
    }
    pub trait MessageOpaque<'a> {
        fn __sl_message(&self) -> ErrorMessage<'a>;
    }
    impl<'a, E: ?Sized> MessageOpaque<'a> for Probe<'a, E> {
        #[inline]
        fn __sl_message(&self) -> ErrorMessage<'a> {
            ErrorMessage::Opaque(std::any::type_name::<E>())
        }
    }

    /// The traits `outcome!` asks, brought into scope by one glob import.
    pub mod outcome {
        pub use super::{
            ErrLabels, MessageBoxedError, MessageDebug, MessageDisplay, MessageError,
            MessageOpaque, MessageSharedError, NoErrLabels, NotResult, ResultErr,
        };
    }

    // `__sl_status`: the HTTP status of a handler's return value, if its type tells.
    pub trait Status {
        fn __sl_status(&self) -> Option<u16>;
    }
    impl<T: HttpStatus + ?Sized> Status for &&Probe<'_, T> {
        #[inline]
        fn __sl_status(&self) -> Option<u16> {
            Some(self.0.status_code())
        }
    }
    /// `Result<T, E>` where only the success side has a status: `Err` falls back to 500.
    pub trait StatusOkSide {
        fn __sl_status(&self) -> Option<u16>;
    }
    impl<T: HttpStatus, E> StatusOkSide for &Probe<'_, Result<T, E>> {
        #[inline]
        fn __sl_status(&self) -> Option<u16> {
            self.0.as_ref().ok().map(HttpStatus::status_code)
        }
    }
    pub trait NoStatus {
        fn __sl_status(&self) -> Option<u16>;
    }
    impl<T: ?Sized> NoStatus for Probe<'_, T> {
        #[inline]
        fn __sl_status(&self) -> Option<u16> {
            None
        }
    }

    // `__sl_future`: whether a synchronous body's value is a future, which the call's guard would time
    // when it is made rather than when it completes. A signature that says so (`impl Future`, a boxed
    // `dyn Future`) has its future instrumented; any other is refused through `SyncReturn`.
    pub struct IsFuture;
    pub struct NotFuture;
    pub trait ValueIsFuture {
        fn __sl_future(&self) -> IsFuture;
    }
    impl<T: std::future::Future + ?Sized> ValueIsFuture for &Probe<'_, T> {
        #[inline]
        fn __sl_future(&self) -> IsFuture {
            IsFuture
        }
    }
    pub trait ValueNotFuture {
        fn __sl_future(&self) -> NotFuture;
    }
    impl<T: ?Sized> ValueNotFuture for Probe<'_, T> {
        #[inline]
        fn __sl_future(&self) -> NotFuture {
            NotFuture
        }
    }
    /// A method of the trait rather than a bounded function, so the error names no helper.
    #[diagnostic::on_unimplemented(
        message = "this function returns a future that its signature does not show: `#[observe]` would time the call when the future is made, and count its errors as `ok`",
        label = "a future, behind this return type",
        note = "write the return type as `impl Future<Output = T>`, `Pin<Box<dyn Future<Output = T> + Send>>` or `BoxFuture<'_, T>`, so the returned future is instrumented, or make the function `async fn`"
    )]
    pub trait SyncReturn: Sized {
        #[inline(always)]
        fn __sl_sync_return(self) {}
    }
    impl SyncReturn for NotFuture {}

    // `__sl_field`: how a `fields(name = expr)` value is recorded: as a typed `tracing` value (numbers
    // stay numbers in the JSON line), else through `Display`, else through `Debug`.
    pub trait FieldValue<'a, T: ?Sized> {
        fn __sl_field(&self) -> &'a T;
    }
    impl<'a, T: tracing::Value + ?Sized> FieldValue<'a, T> for &&Probe<'a, T> {
        #[inline]
        fn __sl_field(&self) -> &'a T {
            self.0
        }
    }
    pub trait FieldDisplay<'a, T: fmt::Display + ?Sized> {
        fn __sl_field(&self) -> tracing::field::DisplayValue<&'a T>;
    }
    impl<'a, T: fmt::Display + ?Sized> FieldDisplay<'a, T> for &Probe<'a, T> {
        #[inline]
        fn __sl_field(&self) -> tracing::field::DisplayValue<&'a T> {
            tracing::field::display(self.0)
        }
    }
    pub trait FieldDebug<'a, T: fmt::Debug + ?Sized> {
        fn __sl_field(&self) -> tracing::field::DebugValue<&'a T>;
    }
    impl<'a, T: fmt::Debug + ?Sized> FieldDebug<'a, T> for Probe<'a, T> {
        #[inline]
        fn __sl_field(&self) -> tracing::field::DebugValue<&'a T> {
            tracing::field::debug(self.0)
        }
    }
}

/// `outcome!(value)`: the [`Outcome`] of a returned value, `value` a reference to it, worked out by the
/// probes at the call site (`outcome!(value, status)` also reads a handler's HTTP status). A
/// declarative macro rather than tokens written by the attribute: the compiler expands it far faster
/// than the attribute's own (unoptimized) code can write them, and the attribute's output stays small.
#[doc(hidden)]
#[macro_export]
macro_rules! __sightline_outcome {
    ($value:ident) => {
        $crate::__sightline_outcome!(@probe $value, ::core::option::Option::None)
    };
    ($value:ident, status) => {
        $crate::__sightline_outcome!(@probe $value, {
            #[allow(unused_imports)]
            use $crate::__private::probe::{NoStatus as _, Status as _, StatusOkSide as _};
            (&&&$crate::__private::probe::Probe($value)).__sl_status()
        })
    };
    (@probe $value:ident, $status:expr) => {{
        #[allow(unused_imports)]
        use $crate::__private::probe::outcome::*;
        let err = (&&$crate::__private::probe::Probe($value)).__sl_err();
        let (labels, index) = (&&$crate::__private::probe::Probe(&err)).__sl_labels();
        $crate::__private::Outcome::new(
            labels,
            match err {
                ::core::option::Option::Some(e) => ::core::option::Option::Some(
                    $crate::__private::ErrorInfo::new(
                        index(e),
                        (&&&&&&$crate::__private::probe::Probe(e)).__sl_message(),
                    ),
                ),
                ::core::option::Option::None => ::core::option::Option::None,
            },
            $status,
        )
    }};
}
