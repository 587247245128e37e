//! The attributes and derives of [sightline](https://docs.rs/sightline). Depend on `sightline`, not on
//! this crate: the code these macros expand to calls `::sightline::__private`.
//!
//! Each macro is three passes with one job each: `attr` parses the attribute into a typed model, `check`
//! validates the model and the function (every mistake at once, each spanned at the offending token), and
//! `expand` generates code from the checked model. A mistake never hides the function: the original item
//! is emitted beside the `compile_error!`, so the rest of the crate (and the IDE) keeps working.

#![forbid(unsafe_code)]

mod arguments;
mod attr;
mod check;
mod derive_error_label;
mod derive_label_value;
mod errors;
mod exits;
mod expand;
mod item;
mod krate;
mod labels;
mod log_options;
/// Malformed input to every macro gives spanned `compile_error!`s or an expansion, never a panic.
#[cfg(test)]
mod malformed_input;
mod objective;
mod returns;
mod span_kind;
mod variant_names;

use proc_macro::TokenStream;

/// Instruments a function: RED metrics, a `tracing` span, and one JSON completion line per call.
/// See the `sightline` crate's documentation for the options.
#[proc_macro_attribute]
pub fn observe(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), arguments::Mode::Observe).into()
}

/// Makes a function a business operation: an OpenTelemetry span named after the operation with
/// `attrs(...)` as attributes, `business_operation*` metrics, and one completion line.
/// See the `sightline` crate's documentation for the options.
#[proc_macro_attribute]
pub fn business_span(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into(), arguments::Mode::Business).into()
}

/// A service level objective as a constant, shared by several sites with `objective = NAME`:
/// `const CHECKOUT: sightline::ObjectiveDef = sightline::objective!(latency = "2s", percentile = 99, error_rate = "1%");`,
/// with `crate = path` first when sightline is reached through a re-export.
#[proc_macro]
pub fn objective(input: TokenStream) -> TokenStream {
    objective::objective_macro(input.into()).into()
}

/// Implements `sightline::LabelValue` for a fieldless enum: variant names in snake case, or
/// `#[label("value")]` on the variant; `#[sightline(crate = path)]` on the enum when sightline is
/// reached through a re-export.
#[proc_macro_derive(LabelValue, attributes(label, sightline))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    derive_label_value::derive(input.into()).into()
}

/// Implements `sightline::ErrorLabel`: the variant name in snake case (`PaymentDeclined` ->
/// `payment_declined`), or `#[error_label("name")]` on the variant; on a struct, the type's name;
/// `#[sightline(crate = path)]` on the type when sightline is reached through a re-export.
#[proc_macro_derive(ErrorLabel, attributes(error_label, sightline))]
pub fn derive_error_label(input: TokenStream) -> TokenStream {
    derive_error_label::derive(input.into()).into()
}
