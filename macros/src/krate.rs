//! `crate = path`: where expanded code finds sightline when the user's crate reaches it through a
//! re-export (`use my_platform::telemetry` with `pub use sightline as telemetry` inside). Taken by every
//! macro: in the attributes' argument list, as `#[sightline(crate = path)]` on a derived type, and as
//! the first argument of `objective!`.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Path, Token};

/// `::sightline`, or the path given.
pub(crate) fn root(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::sightline),
    }
}

/// The module expanded code calls: `<root>::__private`.
pub(crate) fn private(krate: Option<&Path>) -> TokenStream {
    let root = root(krate);
    quote!(#root::__private)
}

const DERIVE_USAGE: &str = "write #[sightline(crate = path::to::sightline)]";

/// `#[sightline(crate = path)]` among a derived type's attributes.
pub(crate) fn from_attributes(attrs: &[Attribute]) -> syn::Result<Option<Path>> {
    let mut found: Option<Path> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("sightline")) {
        let path = attr
            .parse_args_with(|input: ParseStream| {
                input.parse::<Token![crate]>()?;
                input.parse::<Token![=]>()?;
                input.parse::<Path>()
            })
            .map_err(|e| syn::Error::new(e.span(), format!("{e}: {DERIVE_USAGE}")))?;
        if found.replace(path).is_some() {
            return Err(syn::Error::new_spanned(
                attr,
                "duplicate #[sightline(crate = ..)]: give it once",
            ));
        }
    }
    Ok(found)
}

/// A leading `crate = path,` of a function-like macro's input, and the rest of the input.
pub(crate) fn split_leading(tokens: TokenStream) -> syn::Result<(Option<Path>, TokenStream)> {
    let parser = |input: ParseStream| {
        let mut krate = None;
        if input.peek(Token![crate]) && input.peek2(Token![=]) {
            input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            krate = Some(input.parse::<Path>()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok((krate, input.parse::<TokenStream>()?))
    };
    parser.parse2(tokens)
}
