//! Code for `metric = "..", labels(..)`: the values evaluated before the body, the series budget checked
//! as a constant, and the label metadata of the call site.
//!
//! The macro sees expressions, not types, so the budget (the product of the labels' cardinalities and the
//! four outcomes) is a constant of a generic impl over the labels' types: it is evaluated when the
//! function is compiled to code, which `cargo build` does and `cargo check` does not.

use crate::attr::{LabelArg, ObserveArgs};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

/// The budget when `max_series` is not given.
pub(crate) const DEFAULT_MAX_SERIES: usize = 1000;

pub(crate) struct LabelCode {
    /// Statements that evaluate the labels into `__sl_labels: [LabelIndex; N]` and check the budget.
    pub prologue: TokenStream,
    /// Items the prologue needs (the budget's generic impl).
    pub items: TokenStream,
    /// `Some(&CustomLabels { .. })` or `None`, for the site's metadata.
    pub meta: TokenStream,
    /// `&__sl_labels` or `&[]`.
    pub values: TokenStream,
    /// The prologue's checks without the evaluation, for a body that must not run them: statements for
    /// an `if false` block.
    pub unevaluated: TokenStream,
}

pub(crate) fn label_code(args: &ObserveArgs, private: &TokenStream, function: &str) -> LabelCode {
    let p = private;
    let outcome = args.mode.outcome_label();
    let (Some(metric), Some(labels)) = (&args.metric, &args.labels) else {
        let meta = match &args.metric {
            Some(metric) => quote! {
                ::core::option::Option::Some(&#p::CustomLabels {
                    metric: #metric, names: &[], literals: &[], outcome_label: #outcome,
                })
            },
            None => quote!(::core::option::Option::None),
        };
        return LabelCode {
            prologue: quote!(),
            items: quote!(),
            meta,
            values: quote!(&[]),
            unevaluated: quote!(),
        };
    };
    let names: Vec<String> = labels
        .list
        .iter()
        .map(|l| l.name.unraw().to_string())
        .collect();
    let literals = labels.list.iter().map(|l| match l.literal() {
        Some(lit) => quote!(&[#lit]),
        None => quote!(&[]),
    });
    let meta = quote! {
        ::core::option::Option::Some(&#p::CustomLabels {
            metric: #metric,
            names: &[#(#names),*],
            literals: &[#(#literals),*],
            outcome_label: #outcome,
        })
    };

    let array = Ident::new("__sl_labels", Span::mixed_site());
    let mut bindings = Vec::new();
    let mut indexes = Vec::new();
    let mut typed: Vec<(&LabelArg, Ident)> = Vec::new();
    for (i, label) in labels.list.iter().enumerate() {
        match label.literal() {
            Some(lit) => indexes.push(quote!(#p::LabelIndex::literal(&[#lit]))),
            None => {
                let value = &label.value;
                // Generated, but located at the expression: an unbounded type is reported where it is
                // written.
                let at = Span::mixed_site().located_at(value.span());
                let binding = Ident::new(&format!("__sl_label_{i}"), at);
                bindings.push(quote_spanned!(at=> let #binding = &(#value);));
                indexes.push(quote_spanned!(at=> #p::LabelValue::__label_index(#binding)));
                typed.push((label, binding));
            }
        }
    }
    let (items, check) = budget(args, p, function, &typed);
    LabelCode {
        prologue: quote! {
            #(#bindings)*
            let #array = [#(#indexes),*];
            #check
        },
        unevaluated: quote! {
            #(#bindings)*
            let _ = [#(#indexes),*];
            #check
        },
        items,
        meta,
        values: quote!(&#array),
    }
}

/// The series budget: a generic impl whose constant panics, with the product and its factors, when the
/// labels' types could create more series than `max_series`.
fn budget(
    args: &ObserveArgs,
    p: &TokenStream,
    function: &str,
    typed: &[(&LabelArg, Ident)],
) -> (TokenStream, TokenStream) {
    if typed.is_empty() {
        return (quote!(), quote!());
    }
    let max = args
        .max_series
        .as_ref()
        .and_then(|m| m.base10_parse::<usize>().ok())
        .unwrap_or(DEFAULT_MAX_SERIES);
    let params: Vec<Ident> = (0..typed.len()).map(|i| format_ident!("L{}", i)).collect();
    let cardinalities: Vec<TokenStream> = params
        .iter()
        .map(|l| quote!(<#l as #p::LabelValue>::CARDINALITY))
        .collect();
    let mut message = vec![
        quote!("`"),
        quote!(#function),
        quote!("` can create "),
        quote!(__sl_series),
        quote!(" label combinations ("),
    ];
    for ((label, _), card) in typed.iter().zip(&cardinalities) {
        let name = format!("{} ", label.name.unraw());
        message.push(quote!(#name));
        message.push(card.clone());
        message.push(quote!(" x "));
    }
    let outcomes = format!("{} 4), over max_series = ", args.mode.outcome_label());
    message.push(quote!(#outcomes));
    message.push(quote!(#max));
    message.push(quote!(
        ": use labels with fewer values, move some to `fields(...)`, or raise `max_series` on this function"
    ));
    let bindings = typed.iter().map(|(_, b)| b);
    let items = quote! {
        #[allow(non_camel_case_types, dead_code)]
        struct __SlSeriesBudget<#(#params: ?::core::marker::Sized),*>(
            ::core::marker::PhantomData<(#(*const #params,)*)>,
        );
        impl<#(#params: #p::LabelValue + ?::core::marker::Sized),*> __SlSeriesBudget<#(#params),*> {
            const CHECK: () = {
                let __sl_series = #p::series_product(&[#(#cardinalities,)* 4]);
                if __sl_series > #max {
                    #p::const_panic::concat_panic!(#(#message),*);
                }
            };
            #[inline(always)]
            fn check(#(_: &#params),*) {
                #[allow(clippy::let_unit_value)]
                let () = Self::CHECK;
            }
        }
    };
    let check = quote!(__SlSeriesBudget::check(#(#bindings),*););
    (items, check)
}
