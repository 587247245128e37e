//! `#[derive(LabelValue)]`: a bounded metric label from a fieldless enum.

use crate::errors::Errors;
use crate::variant_names::{renamed, variant_index};
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
    let krate = crate::krate::from_attributes(&input.attrs)?;
    let mut errors = Errors::default();
    let mut values = Vec::new();
    for variant in &data.variants {
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
    }
    errors.finish()?;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let index = variant_index(data);
    let root = crate::krate::root(krate.as_ref());
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #root::LabelValue for #name #ty_generics #where_clause {
            const VALUES: &'static [&'static ::core::primitive::str] = &[#(#values),*];

            #[inline]
            fn index(&self) -> ::core::primitive::usize {
                #index
            }
        }
    })
}
