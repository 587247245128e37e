//! The item under `#[observe]`: a function with a body (free function, method, trait default method).

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{braced, Attribute, Block, Signature, Token, Visibility};

pub(crate) struct ObservedFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub defaultness: Option<Token![default]>,
    pub sig: Signature,
    pub body: Body,
}

pub(crate) enum Body {
    Block {
        /// `#![...]` at the top of the body.
        inner_attrs: Vec<Attribute>,
        block: Box<Block>,
    },
    /// A declaration without a body (`fn f(&self);` in a trait).
    Missing(Token![;]),
}

impl Parse for ObservedFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let defaultness = input.parse()?;
        let sig: Signature = input.parse()?;
        let body = if input.peek(Token![;]) {
            Body::Missing(input.parse()?)
        } else {
            let content;
            let brace = braced!(content in input);
            let inner_attrs = content.call(Attribute::parse_inner)?;
            let stmts = content.call(Block::parse_within)?;
            Body::Block {
                inner_attrs,
                block: Box::new(Block {
                    brace_token: brace,
                    stmts,
                }),
            }
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(ObservedFn {
            attrs,
            vis,
            defaultness,
            sig,
            body,
        })
    }
}

/// What the item is when it is not a function, for the error message.
pub(crate) fn describe_non_fn(item: &TokenStream) -> &'static str {
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(_)) => "a struct",
        Ok(syn::Item::Enum(_)) => "an enum",
        Ok(syn::Item::Impl(_)) => "an impl block (put it on the methods instead)",
        Ok(syn::Item::Trait(_)) => "a trait (put it on the default methods or the impls' methods)",
        Ok(syn::Item::Mod(_)) => "a module",
        Ok(syn::Item::Const(_)) => "a const",
        Ok(syn::Item::Static(_)) => "a static",
        Ok(syn::Item::Type(_)) => "a type alias",
        Ok(syn::Item::Use(_)) => "a use declaration",
        Ok(syn::Item::Macro(_)) => "a macro invocation",
        _ => "this item",
    }
}
