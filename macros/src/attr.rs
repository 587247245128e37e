//! Parsing `#[observe(...)]` into [`ObserveArgs`]. Only syntax here: whether values make sense is the
//! `check` pass's job, so that every semantic mistake can be reported at once.

use crate::arguments::{self, Argument, Key, Mode};
use crate::errors::{comma_list, end_span, parse_ending_at, Errors};
use crate::log_options::{Level, LogMode};
use crate::objective::ObjectiveArg;
use crate::span_kind::SpanKind;
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{bracketed, parenthesized, Expr, Ident, Lit, LitStr, Path, Token};

/// The options of one `#[observe(...)]` or `#[business_span(...)]`.
#[derive(Default)]
pub(crate) struct ObserveArgs {
    pub mode: Mode,
    /// `#[business_span("process-order")]`.
    pub operation: Option<LitStr>,
    pub name: Option<LitStr>,
    pub route: Option<LitStr>,
    pub method: Option<LitStr>,
    pub fields: Vec<FieldArg>,
    pub redact: Vec<FieldArg>,
    /// Where `fields(...)` (`attrs(...)`) and `redact(...)` were given: a second list is refused even
    /// after an empty first one.
    pub fields_at: Option<Span>,
    pub redact_at: Option<Span>,
    /// `log = ".."`, and where its literal is.
    pub log: Option<(LogMode, Span)>,
    /// `level = ".."`, and where its literal is.
    pub level: Option<(Level, Span)>,
    pub buckets: Option<Buckets>,
    pub skip_metrics: Option<Span>,
    pub krate: Option<Path>,
    pub metric: Option<LitStr>,
    pub labels: Option<Labels>,
    pub max_series: Option<syn::LitInt>,
    pub objective: Option<ObjectiveArg>,
    /// `kind = ".."`, and where its literal is.
    pub kind: Option<(SpanKind, Span)>,
    /// Arguments given with a mistake (reported by the parse): the checks that read them are skipped, so
    /// that a bad `method` is not also reported as `route` without a `method`.
    failed: Vec<Key>,
}

/// `labels(provider = req.provider, region = "eu")`.
pub(crate) struct Labels {
    /// The `labels` keyword, for errors about the list as a whole.
    pub span: Span,
    pub list: Vec<LabelArg>,
}

pub(crate) struct LabelArg {
    pub name: Ident,
    pub value: Expr,
}

impl LabelArg {
    /// The value when it is a string literal.
    pub fn literal(&self) -> Option<&LitStr> {
        match &self.value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s),
            _ => None,
        }
    }
}

/// `name = expr` inside `fields(...)` or `redact(...)`; the name may be dotted (`order.id`).
pub(crate) struct FieldArg {
    pub name: FieldName,
    pub value: Expr,
}

pub(crate) struct FieldName {
    pub segments: Vec<Ident>,
}

impl FieldName {
    pub fn text(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.unraw().to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    pub fn span(&self) -> Span {
        let first = self.segments[0].span();
        self.segments
            .last()
            .and_then(|last| first.join(last.span()))
            .unwrap_or(first)
    }
}

/// `buckets = [0.001, 0.01, ...]`, each bound with the literal it came from.
pub(crate) struct Buckets {
    pub span: Span,
    pub bounds: Vec<(f64, Span)>,
}

impl ObserveArgs {
    /// The arguments as far as they parse, and every mistake found on the way. `None` when the
    /// attribute's structure itself is broken (two arguments without a comma between them): nothing
    /// then can be checked.
    pub fn parse(tokens: TokenStream, mode: Mode) -> (Option<Self>, Errors) {
        let mut args = ObserveArgs {
            mode,
            ..ObserveArgs::default()
        };
        let mut errors = Errors::default();
        let parser = |input: ParseStream| {
            if mode == Mode::Business && !input.is_empty() {
                if let Err(e) = args.parse_operation(input) {
                    errors.add(e);
                    args.failed.push(Key::Name);
                    skip_argument(input)?;
                    if !input.is_empty() {
                        input.parse::<Token![,]>()?;
                    }
                }
            }
            while !input.is_empty() {
                let key = input.fork().call(Ident::parse_any).ok();
                if let Err(e) = args.parse_one(input) {
                    errors.add(e);
                    let known = key.and_then(|k| arguments::named(&k.to_string()));
                    args.failed.extend(known.map(|a| a.key));
                    // Skip to the next argument so that later mistakes are reported too.
                    skip_argument(input)?;
                }
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(())
        };
        let end = end_span(&tokens);
        match parse_ending_at(parser, tokens, end) {
            Ok(()) => (Some(args), errors),
            Err(e) => {
                errors.add(e);
                (None, errors)
            }
        }
    }

    /// Whether the argument was given with a mistake.
    pub fn failed(&self, key: Key) -> bool {
        self.failed.contains(&key)
    }

    /// The completion lines the site writes: `log = ".."`, or all.
    pub fn log_mode(&self) -> LogMode {
        self.log.map(|(mode, _)| mode).unwrap_or_default()
    }

    /// The success line's level: `level = ".."`, or info.
    pub fn success_level(&self) -> Level {
        self.level.map(|(level, _)| level).unwrap_or_default()
    }

    /// The operation name of `#[business_span("process-order", ..)]`, when given.
    fn parse_operation(&mut self, input: ParseStream) -> syn::Result<()> {
        if input.peek(LitStr) {
            self.operation = Some(input.parse()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        } else if (input.peek(Ident) && !input.peek2(Token![=]) && !input.peek2(syn::token::Paren))
            || input.peek(syn::Lit)
        {
            let found: proc_macro2::TokenTree = input.parse()?;
            return Err(syn::Error::new(
                found.span(),
                format!(
                    "the operation name is a string literal, e.g. #[business_span(\"{}\")]",
                    found.to_string().trim_matches('"').replace('_', "-")
                ),
            ));
        }
        Ok(())
    }

    /// One `key = value`, `key(...)` or `key`, dispatched on the table of arguments.
    fn parse_one(&mut self, input: ParseStream) -> syn::Result<()> {
        let key = Ident::parse_any(input).map_err(|e| self.not_an_argument(e.span()))?;
        let argument = arguments::named(&key.to_string())
            .filter(|a| a.taken_by(self.mode))
            .ok_or_else(|| self.unknown(&key))?;
        let at = &key;
        let span = key.span();
        match argument.key {
            Key::Name => set_once(&mut self.name, string_value(input, argument)?, at),
            Key::Route => set_once(&mut self.route, string_value(input, argument)?, at),
            Key::Method => set_once(&mut self.method, string_value(input, argument)?, at),
            Key::Metric => set_once(&mut self.metric, string_value(input, argument)?, at),
            Key::Log => {
                let literal = string_value(input, argument)?;
                let mode = LogMode::parse(&literal)?;
                set_once(&mut self.log, (mode, literal.span()), at)
            }
            Key::Level => {
                let literal = string_value(input, argument)?;
                let level = Level::parse(&literal)?;
                set_once(&mut self.level, (level, literal.span()), at)
            }
            Key::Fields => {
                set_once(&mut self.fields_at, span, at)?;
                self.fields = list(input, at, argument.example)?;
                Ok(())
            }
            Key::Redact => {
                set_once(&mut self.redact_at, span, at)?;
                self.redact = list(input, at, argument.example)?;
                Ok(())
            }
            Key::Kind => {
                let literal = string_value(input, argument)?;
                let kind = SpanKind::parse(&literal)?;
                set_once(&mut self.kind, (kind, literal.span()), at)
            }
            Key::Buckets => set_once(&mut self.buckets, buckets(input)?, at),
            Key::SkipMetrics => set_once(&mut self.skip_metrics, span, at),
            Key::Objective => set_once(&mut self.objective, objective(input, span, argument)?, at),
            Key::MaxSeries => set_once(&mut self.max_series, max_series(input, argument)?, at),
            Key::Labels => set_once(&mut self.labels, labels(input, at, argument)?, at),
            Key::Crate => {
                input.parse::<Token![=]>()?;
                set_once(&mut self.krate, input.parse::<Path>()?, at)
            }
        }
    }

    /// A literal or punctuation where an argument's name goes; syn alone would say "expected ident".
    fn not_an_argument(&self, span: Span) -> syn::Error {
        syn::Error::new(
            span,
            format!(
                "expected an argument of {}: {}",
                self.mode.attribute(),
                arguments::expected(self.mode)
            ),
        )
    }

    fn unknown(&self, key: &Ident) -> syn::Error {
        syn::Error::new(
            key.span(),
            format!(
                "unknown argument `{key}` for {}; {}expected one of: {}",
                self.mode.attribute(),
                arguments::hint(&key.to_string(), self.mode),
                arguments::expected(self.mode)
            ),
        )
    }
}

/// The rest of a mistaken argument, up to the comma before the next one.
fn skip_argument(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

/// `= [0.001, 0.01, ...]`.
fn buckets(input: ParseStream) -> syn::Result<Buckets> {
    input.parse::<Token![=]>()?;
    let content;
    let bracket = bracketed!(content in input);
    let items: Vec<Expr> = comma_list(&content, bracket.span.close())?;
    let mut bounds = Vec::new();
    for item in items {
        bounds.push((bucket_bound(&item)?, item.span()));
    }
    Ok(Buckets {
        span: bracket.span.join(),
        bounds,
    })
}

/// `(latency = .., ..)` or `= NAME`.
fn objective(input: ParseStream, keyword: Span, argument: &Argument) -> syn::Result<ObjectiveArg> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        Ok(ObjectiveArg::Shared(input.parse()?))
    } else if input.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        let tokens: TokenStream = content.parse()?;
        Ok(ObjectiveArg::Inline(crate::objective::parse(
            tokens, keyword,
        )?))
    } else {
        Err(syn::Error::new(
            keyword,
            format!(
                "write {}, or objective = NAME for a shared `const`",
                argument.example
            ),
        ))
    }
}

/// `= 5000`.
fn max_series(input: ParseStream, argument: &Argument) -> syn::Result<syn::LitInt> {
    input.parse::<Token![=]>()?;
    match input.parse::<Expr>()? {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => Ok(i),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`max_series` must be an integer literal, e.g. {}",
                argument.example
            ),
        )),
    }
}

/// `(provider = req.provider, region = "eu")`.
fn labels(input: ParseStream, key: &Ident, argument: &Argument) -> syn::Result<Labels> {
    Ok(Labels {
        span: key.span(),
        list: list(input, key, argument.example)?,
    })
}

/// Stores an argument's value; a second one is refused at its key.
fn set_once<T>(slot: &mut Option<T>, value: T, key: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("duplicate argument `{key}`: give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `key = "literal"`; anything else is refused with an example of what to write.
fn string_value(input: ParseStream, argument: &Argument) -> syn::Result<LitStr> {
    input.parse::<Token![=]>()?;
    let value: Expr = input.parse()?;
    match &value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{}` must be a string literal, e.g. {}",
                argument.word, argument.example
            ),
        )),
    }
}

/// `(a = .., b = ..)` after `fields`, `attrs`, `redact` or `labels`, each item parsed as a `T`; without
/// the parentheses, refused at the key with the argument's example.
fn list<T: Parse>(input: ParseStream, key: &Ident, example: &str) -> syn::Result<Vec<T>> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` takes a list: {example}"),
        ));
    }
    let content;
    let paren = parenthesized!(content in input);
    comma_list(&content, paren.span.close())
}

impl Parse for LabelArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = Ident::parse_any(input)?;
        if input.peek(Token![.]) {
            return Err(syn::Error::new(
                name.span(),
                "a Prometheus label name is one identifier (letters, digits, `_`): no dots",
            ));
        }
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!("expected `{name} = <expression>`: each label needs a value"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        Ok(LabelArg { name, value })
    }
}

impl Parse for FieldArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut segments = vec![Ident::parse_any(input)?];
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            segments.push(Ident::parse_any(input)?);
        }
        let name = FieldName { segments };
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "expected `{} = <expression>`: fields are recorded only when listed with a value",
                    name.text()
                ),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        Ok(FieldArg { name, value })
    }
}

fn bucket_bound(expr: &Expr) -> syn::Result<f64> {
    let lit = match expr {
        Expr::Lit(syn::ExprLit { lit, .. }) => lit,
        other => return Err(syn::Error::new_spanned(
            other,
            "bucket bounds must be number literals in seconds, e.g. buckets = [0.001, 0.005, 0.01]",
        )),
    };
    let parsed = match lit {
        Lit::Float(f) => f.base10_parse::<f64>(),
        Lit::Int(i) => i.base10_parse::<f64>(),
        other => Err(syn::Error::new_spanned(
            other,
            "bucket bounds must be number literals in seconds, e.g. buckets = [0.001, 0.005, 0.01]",
        )),
    }?;
    Ok(parsed)
}
