//! What the two derives share: a variant's name as a label (`#[attr("name")]` or the identifier in snake
//! case) and the `match` that gives a variant's index.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, DataEnum, LitStr};

/// `match self { Self::A { .. } => 0, .. }`, or `match *self {}` for an enum without variants.
pub(crate) fn variant_index(data: &DataEnum) -> TokenStream {
    if data.variants.is_empty() {
        return quote!(match *self {});
    }
    let arms = data.variants.iter().enumerate().map(|(i, variant)| {
        let v = &variant.ident;
        quote!(Self::#v { .. } => #i)
    });
    quote!(match self { #(#arms,)* })
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
