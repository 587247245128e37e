//! `#[derive(ErrorLabel)]`: a bounded `error_kind` for an error type.

use crate::errors::Errors;
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
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let (labels, index) = match &input.data {
        Data::Enum(data) => {
            let mut labels = Vec::new();
            let mut arms = Vec::new();
            let mut errors = Errors::default();
            for (i, variant) in data.variants.iter().enumerate() {
                match label_of(&variant.attrs, &variant.ident.to_string()) {
                    Ok(label) => labels.push(label),
                    Err(e) => errors.add(e),
                }
                let v = &variant.ident;
                arms.push(quote!(Self::#v { .. } => #i));
            }
            errors.finish()?;
            let index = if arms.is_empty() {
                quote!(match *self {})
            } else {
                quote!(match self { #(#arms,)* })
            };
            (labels, index)
        }
        Data::Struct(_) => (vec![label_of(&input.attrs, &name.to_string())?], quote!(0)),
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "ErrorLabel can be derived for enums (one label per variant) and structs (one label), not unions",
            ))
        }
    };
    let names = labels.iter().map(|l| &l.name);
    let expected = labels.iter().any(|l| l.expected).then(|| {
        let flags = labels.iter().map(|l| l.expected);
        quote!(const EXPECTED: &'static [::core::primitive::bool] = &[#(#flags),*];)
    });
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::sightline::ErrorLabel for #name #ty_generics #where_clause {
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

/// `#[<attribute>("name")]`, or `ident` in snake case.
pub(crate) fn renamed(attrs: &[Attribute], attribute: &str, ident: &str) -> syn::Result<String> {
    let mut label = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident(attribute)) {
        let lit: LitStr = attr.parse_args().map_err(|_| {
            syn::Error::new_spanned(attr, format!("expected #[{attribute}(\"label_value\")]"))
        })?;
        let value = lit.value();
        if value.is_empty() || value.chars().any(|c| c.is_control()) {
            return Err(syn::Error::new(
                lit.span(),
                "a label must be non-empty printable text, e.g. \"eu_west\"",
            ));
        }
        if label.replace(value).is_some() {
            return Err(syn::Error::new_spanned(
                attr,
                format!("duplicate #[{attribute}]"),
            ));
        }
    }
    Ok(label.unwrap_or_else(|| snake_case(ident)))
}

/// `PaymentDeclined` -> `payment_declined`, `HTTPTimeout` -> `http_timeout`, `IoError2` -> `io_error2`.
pub(crate) fn snake_case(ident: &str) -> String {
    let ident = ident.trim_start_matches("r#");
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None => false,
                Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("PaymentDeclined"), "payment_declined");
        assert_eq!(snake_case("HTTPTimeout"), "http_timeout");
        assert_eq!(snake_case("Io"), "io");
        assert_eq!(snake_case("OutOfStock"), "out_of_stock");
        assert_eq!(snake_case("Already_Snake"), "already_snake");
        assert_eq!(snake_case("V2Failure"), "v2_failure");
    }
}
