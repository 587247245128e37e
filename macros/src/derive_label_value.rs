//! `#[derive(LabelValue)]`: a bounded metric label from a fieldless enum.

use crate::derive_error_label::renamed;
use crate::errors::Errors;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(|input| expand(&input)) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            "LabelValue can be derived for fieldless enums, whose variants are the label's values",
        ));
    };
    let mut errors = Errors::default();
    let mut values = Vec::new();
    let mut arms = Vec::new();
    for (i, variant) in data.variants.iter().enumerate() {
        if !matches!(variant.fields, Fields::Unit) {
            let e = syn::Error::new_spanned(
                &variant.fields,
                "a label value variant has no fields: data in a label would make its values unbounded",
            );
            errors.add(e);
            continue;
        }
        match renamed(&variant.attrs, "label", &variant.ident.to_string()) {
            Ok(v) => values.push(v),
            Err(e) => errors.add(e),
        }
        let v = &variant.ident;
        arms.push(quote!(Self::#v => #i));
    }
    errors.finish()?;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let index = if arms.is_empty() {
        quote!(match *self {})
    } else {
        quote!(match self { #(#arms,)* })
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::sightline::LabelValue for #name #ty_generics #where_clause {
            const VALUES: &'static [&'static ::core::primitive::str] = &[#(#values),*];

            #[inline]
            fn index(&self) -> ::core::primitive::usize {
                #index
            }
        }
    })
}
