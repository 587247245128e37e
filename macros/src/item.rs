//! The item under `#[observe]`: a function with a body (free function, method, trait default method).

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{braced, Attribute, Block, ReturnType, Signature, Token, Type, Visibility};

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
        ObservedFn::parse_with(input)
    }
}

impl ObservedFn {
    fn parse_with(input: ParseStream) -> syn::Result<Self> {
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

/// What the checks read of a function's signature, from the parsed function or from its tokens.
pub(crate) struct FnFacts {
    /// `const fn`.
    pub constness: Option<Span>,
    /// The `;` of a declaration without a body.
    pub missing_body: Option<Span>,
    /// The `...` of a C-variadic function.
    pub variadic: Option<Span>,
    /// `-> !`.
    pub never: Option<Span>,
}

impl FnFacts {
    pub(crate) fn of(f: &ObservedFn) -> Self {
        FnFacts {
            constness: f.sig.constness.map(|c| c.span),
            missing_body: match &f.body {
                Body::Missing(semi) => Some(semi.span),
                Body::Block { .. } => None,
            },
            variadic: f.sig.variadic.as_ref().map(|v| v.span()),
            never: match &f.sig.output {
                ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => Some(ty.span()),
                _ => None,
            },
        }
    }
}

/// A function as its top-level tokens: what the kill switch needs, read without parsing the function
/// (a parse in the attribute's unoptimized code costs more than the compiler's own work on the
/// function). Attributes, visibility and groups are single trees here, so the scan sees only the
/// qualifiers, `fn`, the name, the generics' angle brackets, the parameters and what follows them.
pub(crate) struct FnTokens {
    pub name: Ident,
    /// Every tree before the body.
    pub head: Vec<TokenTree>,
    pub body: Option<Group>,
    pub facts: FnFacts,
}

impl FnTokens {
    /// `None` when `item` is not a function.
    pub(crate) fn scan(item: TokenStream) -> Option<Self> {
        let mut head: Vec<TokenTree> = item.into_iter().collect();
        let fn_at = head.iter().position(|t| is_ident(t, "fn"))?;
        let name = match head.get(fn_at + 1) {
            Some(TokenTree::Ident(name)) => name.clone(),
            _ => return None,
        };
        let constness = head[..fn_at]
            .iter()
            .find(|t| is_ident(t, "const"))
            .map(TokenTree::span);
        let params_at = fn_at + 2 + after_generics(&head[fn_at + 2..]);
        let params = match head.get(params_at) {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => g.clone(),
            _ => return None,
        };
        let variadic = variadic(params.stream());
        let never = match &head[params_at + 1..] {
            [a, b, bang, ..] if is_punct(a, '-') && is_punct(b, '>') && is_punct(bang, '!') => {
                Some(bang.span())
            }
            _ => None,
        };
        let (body, missing_body) = match head.pop() {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => (Some(g), None),
            Some(last) if is_punct(&last, ';') => (None, Some(last.span())),
            _ => return None,
        };
        Some(FnTokens {
            name,
            head,
            body,
            facts: FnFacts {
                constness,
                missing_body,
                variadic,
                never,
            },
        })
    }
}

fn is_ident(tree: &TokenTree, word: &str) -> bool {
    matches!(tree, TokenTree::Ident(i) if i == word)
}

fn is_punct(tree: &TokenTree, c: char) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == c)
}

/// How many trees the generics `<...>` take at the start of `trees` (none without generics). A `>` that
/// ends a `->` (in `Fn() -> T` bounds) closes nothing.
fn after_generics(trees: &[TokenTree]) -> usize {
    if !trees.first().is_some_and(|t| is_punct(t, '<')) {
        return 0;
    }
    let mut depth = 0usize;
    let mut previous_dash = false;
    for (i, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' && !previous_dash => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        previous_dash = is_punct(tree, '-');
    }
    trees.len()
}

/// The span of a `...` among the parameters.
fn variadic(params: TokenStream) -> Option<Span> {
    let trees: Vec<TokenTree> = params.into_iter().collect();
    trees
        .windows(3)
        .find(|w| w.iter().all(|t| is_punct(t, '.')))
        .map(|w| w[0].span())
}

/// The body of the function `item` as written (its last brace group), for the bare body.
pub(crate) fn body_tokens(item: &TokenStream) -> Option<Group> {
    item.clone().into_iter().last().and_then(|tree| match tree {
        TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => Some(group),
        _ => None,
    })
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
