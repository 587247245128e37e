//! `#[derive(ErrorLabel)]`: a bounded `error_kind` for an error type.

use crate::errors::Errors;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Data, DeriveInput, LitStr};

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
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::sightline::ErrorLabel for #name #ty_generics #where_clause {
            const LABELS: &'static [&'static ::core::primitive::str] = &[#(#labels),*];

            #[inline]
            fn error_index(&self) -> ::core::primitive::usize {
                #index
            }
        }
    })
}

/// `#[error_label("name")]`, or the name in snake case.
fn label_of(attrs: &[Attribute], ident: &str) -> syn::Result<String> {
    renamed(attrs, "error_label", ident)
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
                "an error label must be non-empty printable text, e.g. \"payment_declined\"",
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
