//! Every exit of a synchronous body, made to pass through the call's guard.
//!
//! A sync body is not moved into a closure (`#[track_caller]` would then report the closure, and borrows
//! returned from the body could not escape it), so the outcome of a call is recorded where the body
//! leaves: at its tail (done by `expand`), at each `return`, and at each `?`, which is spelt out as the
//! compiler spells it, with sightline's mirror of the `Try` traits. Closures, async blocks and nested
//! items have exits of their own and are left alone.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Item, Macro, Token};

/// Rewrites exits; `leave` turns a return value expression into the expression that leaves the body with
/// it (`break 'body value`, or `return` of the value wrapped).
pub(crate) struct Exits<'a> {
    pub private: &'a TokenStream,
    pub leave: &'a dyn Fn(TokenStream) -> TokenStream,
    /// How many exits were rewritten, so that a macro's tokens are replaced only when one was inside.
    pub rewritten: usize,
}

impl VisitMut for Exits<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Their `return` and `?` belong to them.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(ret) => {
                if let Some(value) = ret.expr.as_mut() {
                    self.visit_expr_mut(value);
                }
                let value = match &ret.expr {
                    Some(value) => value.to_token_stream(),
                    None => quote_spanned!(ret.return_token.span=> ()),
                };
                let left = (self.leave)(value);
                self.rewritten += 1;
                let attrs = &ret.attrs;
                // Located at `return`, so diagnostics about the exit (e.g. unreachable code after it)
                // point at the user's `return`, not at the attribute.
                let left = located_at(left, ret.return_token.span);
                *expr = Expr::Verbatim(quote!(#(#attrs)* #left));
            }
            Expr::Try(t) => {
                self.visit_expr_mut(&mut t.expr);
                let p = self.private;
                let span = t.question_token.span();
                let inner = &t.expr;
                let residual =
                    quote_spanned!(span=> #p::FromResidual::__sl_from_residual(__sl_residual));
                let left = (self.leave)(residual);
                self.rewritten += 1;
                let attrs = &t.attrs;
                *expr = Expr::Verbatim(quote_spanned! {span=>
                    #(#attrs)*
                    match #p::Branch::__sl_branch(#inner) {
                        #p::ControlFlow::Continue(__sl_value) => __sl_value,
                        #p::ControlFlow::Break(__sl_residual) => #left,
                    }
                });
            }
            Expr::Macro(m) => self.visit_macro_mut(&mut m.mac),
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut Item) {
        // A nested `fn` or `impl` has its own exits.
    }

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        // `format!("{}", load()?)`, `assert_eq!(parse(s)?, 3)`: arguments that parse as expressions are
        // rewritten like the rest of the body. Macros with another grammar are left as they are; an exit
        // inside them is still counted, by the guard's drop, as an error.
        let Ok(mut args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        else {
            return;
        };
        let before = self.rewritten;
        for arg in args.iter_mut() {
            self.visit_expr_mut(arg);
        }
        if self.rewritten != before {
            mac.tokens = args.to_token_stream();
        }
    }
}

/// The same tokens, with the same hygiene, but reported at `at`.
fn located_at(tokens: TokenStream, at: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(g) = &tree {
                let mut group = proc_macro2::Group::new(g.delimiter(), located_at(g.stream(), at));
                group.set_span(g.span().located_at(at));
                tree = proc_macro2::TokenTree::Group(group);
            } else {
                tree.set_span(tree.span().located_at(at));
            }
            tree
        })
        .collect()
}

/// Whether a type mentions `impl Trait`, which cannot be written in a `let` annotation.
pub(crate) fn mentions_impl_trait(ty: &syn::Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}
