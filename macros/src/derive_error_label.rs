//! `#[derive(ErrorLabel)]`: a bounded `error_kind` for an error type.

use crate::errors::Errors;
use crate::variant_names::{snake_case, variant_index};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::ParseStream;
use syn::{Attribute, Data, DeriveInput, Ident, LitStr, Token};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(|input| expand(&input)) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let krate = crate::krate::from_attributes(&input.attrs)?;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let (labels, index) = match &input.data {
        Data::Enum(data) => {
            let mut labels = Vec::new();
            let mut errors = Errors::default();
            for variant in &data.variants {
                match label_of(&variant.attrs, &variant.ident.to_string()) {
                    Ok(label) => labels.push(label),
                    Err(e) => errors.add(e),
                }
            }
            errors.finish()?;
            (labels, variant_index(data))
        }
        Data::Struct(_) => (vec![label_of(&input.attrs, &name.to_string())?], quote!(0)),
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "ErrorLabel can be derived for enums (one label per variant) and structs (one label), not unions",
            ))
        }
    };
    let root = crate::krate::root(krate.as_ref());
    let names = labels.iter().map(|l| &l.name);
    let expected = labels.iter().any(|l| l.expected).then(|| {
        let flags = labels.iter().map(|l| l.expected);
        quote!(const EXPECTED: &'static [::core::primitive::bool] = &[#(#flags),*];)
    });
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #root::ErrorLabel for #name #ty_generics #where_clause {
            const LABELS: &'static [&'static ::core::primitive::str] = &[#(#names),*];
            #expected

            #[inline]
            fn error_index(&self) -> ::core::primitive::usize {
                #index
            }
        }
    })
}

/// What `#[error_label]` takes.
const USAGE: &str = "write #[error_label(\"label\")], #[error_label(expected)] or \
                     #[error_label(expected, \"label\")]";

/// One variant's (or the struct's) label and whether it is an expected outcome.
struct Label {
    name: String,
    expected: bool,
}

/// `#[error_label("name")]`, `#[error_label(expected)]` or both in one attribute, in either order;
/// without a name, the identifier in snake case.
fn label_of(attrs: &[Attribute], ident: &str) -> syn::Result<Label> {
    let mut name: Option<LitStr> = None;
    let mut expected: Option<Span> = None;
    let mut errors = Errors::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("error_label")) {
        if !matches!(attr.meta, syn::Meta::List(_)) {
            errors.add(syn::Error::new_spanned(attr, USAGE));
            continue;
        }
        let parsed = attr.parse_args_with(|input: ParseStream| {
            let mut items = Vec::new();
            while !input.is_empty() {
                if input.peek(LitStr) {
                    items.push(Item::Name(input.parse()?));
                } else {
                    let word: Ident = input.parse().map_err(|e| {
                        syn::Error::new(e.span(), "expected \"label\" or `expected`")
                    })?;
                    if word != "expected" {
                        return Err(syn::Error::new(
                            word.span(),
                            format!("unknown `{word}` in #[error_label]: {USAGE}"),
                        ));
                    }
                    items.push(Item::Expected(word.span()));
                }
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
            Ok(items)
        });
        let items = match parsed {
            Ok(items) if !items.is_empty() => items,
            Ok(_) => {
                errors.add(syn::Error::new_spanned(attr, USAGE));
                continue;
            }
            Err(e) => {
                errors.add(e);
                continue;
            }
        };
        for item in items {
            match item {
                Item::Name(lit) => {
                    let value = lit.value();
                    if value.is_empty() || value.chars().any(|c| c.is_control()) {
                        errors.push(
                            lit.span(),
                            "an error label must be non-empty printable text, e.g. \"payment_declined\"",
                        );
                    } else if name.replace(lit.clone()).is_some() {
                        errors.push(lit.span(), "the label is given twice: give it once");
                    }
                }
                Item::Expected(span) => {
                    if expected.replace(span).is_some() {
                        errors.push(span, "`expected` is given twice: give it once");
                    }
                }
            }
        }
    }
    errors.finish()?;
    Ok(Label {
        name: name.map_or_else(|| snake_case(ident), |lit| lit.value()),
        expected: expected.is_some(),
    })
}

enum Item {
    Name(LitStr),
    Expected(Span),
}
