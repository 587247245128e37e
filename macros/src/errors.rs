//! Collecting every mistake before reporting, so that one compile shows them all, and parsing so that
//! each mistake stays spanned at its token.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};

#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    pub fn add(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// `Ok(())` when nothing was collected.
    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// `parser` over `tokens`, as `Parser::parse2`, except that a mistake at the end of the input (`name`
/// without `= ..`, `name =` without a value) is spanned at `end` rather than at `Span::call_site()`,
/// which for an attribute is the whole attribute: the tokens are read from inside a group spanned at
/// `end`, and syn spans such errors at the enclosing group's closing delimiter.
pub(crate) fn parse_ending_at<T>(
    parser: impl FnOnce(ParseStream) -> syn::Result<T>,
    tokens: TokenStream,
    end: Span,
) -> syn::Result<T> {
    let mut group = Group::new(Delimiter::Parenthesis, tokens);
    group.set_span(end);
    let within = |input: ParseStream| {
        let content;
        syn::parenthesized!(content in input);
        parser(&content)
    };
    within.parse2(TokenTree::Group(group).into())
}

/// The last token's span (a group's closing delimiter), for [`parse_ending_at`]; the call site when
/// there is no token, where no mistake can be at the end of the input either.
pub(crate) fn end_span(tokens: &TokenStream) -> Span {
    match tokens.clone().into_iter().last() {
        Some(TokenTree::Group(g)) => g.span_close(),
        Some(token) => token.span(),
        None => Span::call_site(),
    }
}

/// The rest of a group, `content`, parsed on its own by `parser`. Parsed in place, a group left half-read
/// by a mistake is reported by syn, once the whole attribute is read, as "unexpected token", in place of
/// that mistake and of every other one collected.
pub(crate) fn parse_group<T>(
    content: ParseStream,
    close: Span,
    parser: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> syn::Result<T> {
    let tokens: TokenStream = content.parse()?;
    parse_ending_at(parser, tokens, close)
}

/// The rest of a group as `a, b, c` (a trailing comma allowed), each parsed as a `T`, on its own as
/// [`parse_group`] does.
pub(crate) fn comma_list<T: syn::parse::Parse>(
    content: ParseStream,
    close: Span,
) -> syn::Result<Vec<T>> {
    let items = parse_group(
        content,
        close,
        syn::punctuated::Punctuated::<T, syn::Token![,]>::parse_terminated,
    )?;
    Ok(items.into_iter().collect())
}
