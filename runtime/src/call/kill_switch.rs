//! The compile-time kill switch: `RUSTFLAGS="--cfg sightline_disable"` turns every `#[observe]` and
//! `#[business_span]` into the bare function.
//!
//! The attributes expand to both bodies and let this selector choose. The cfg is evaluated when this
//! crate is compiled, so it reaches the user's crate without the user's crate testing it (which would
//! trip `unexpected_cfgs` there), and no dependency can turn it on for everyone, as a cargo feature could.
//! The tokens pass through as `tt`s, keeping their spans and hygiene: diagnostics still point at user code.

/// `select_body!({ instrumented } { bare })`: the instrumented body.
#[cfg(not(sightline_disable))]
#[doc(hidden)]
#[macro_export]
macro_rules! __sightline_select_body {
    ($instrumented:tt $bare:tt) => {
        $instrumented
    };
}

/// `select_body!({ instrumented } { bare })`: the bare body, under `--cfg sightline_disable`.
#[cfg(sightline_disable)]
#[doc(hidden)]
#[macro_export]
macro_rules! __sightline_select_body {
    ($instrumented:tt $bare:tt) => {
        $bare
    };
}
