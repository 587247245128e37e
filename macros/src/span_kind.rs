//! `kind = ".."`: the OpenTelemetry kind of a site's span, for calls to what a service depends on (a
//! database, a cache: `client`) and for the two ends of a message queue (`producer`, `consumer`). A
//! handler's span is always a `server` span, so `server` is not a choice here.

use proc_macro2::{Ident, Span, TokenStream};
use quote::ToTokens;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum SpanKind {
    #[default]
    Internal,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    const ALL: [SpanKind; 4] = [
        SpanKind::Internal,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ];

    fn word(self) -> &'static str {
        match self {
            SpanKind::Internal => "internal",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }

    /// `kind = "server"` and unknown words are refused with the list of kinds.
    pub fn parse(literal: &syn::LitStr) -> syn::Result<Self> {
        if literal.value() == "server" {
            return Err(syn::Error::new(
                literal.span(),
                "a server span is a handler's: write #[observe(route = \"/api/v1/orders\", method = \"POST\")], \
                 or put the service behind sightline::http::layer(); `kind` takes \"internal\" (default), \
                 \"client\", \"producer\" or \"consumer\"",
            ));
        }
        crate::log_options::choose(literal, "span kind", Self::ALL, Self::word)
    }
}

/// The name of the `SpanRole` variant, written after `<private>::SpanRole::`.
impl ToTokens for SpanKind {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let name = match self {
            SpanKind::Internal => "Internal",
            SpanKind::Client => "Client",
            SpanKind::Producer => "Producer",
            SpanKind::Consumer => "Consumer",
        };
        Ident::new(name, Span::call_site()).to_tokens(tokens);
    }
}
