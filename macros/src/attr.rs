//! Parsing `#[observe(...)]` into [`ObserveArgs`]. Only syntax here: whether values make sense is the
//! `check` pass's job, so that every semantic mistake can be reported at once.

use crate::errors::{end_span, parse_ending_at, parse_group, Errors};
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{bracketed, parenthesized, Expr, Ident, Lit, LitStr, Path, Token};

/// Which attribute the options belong to.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `#[observe]`.
    #[default]
    Observe,
    /// `#[business_span]`: the options are the same but for the operation name (first, a literal),
    /// `attrs(...)` in place of `fields(...)`, and no handler mode.
    Business,
}

impl Mode {
    pub fn attribute(self) -> &'static str {
        match self {
            Mode::Observe => "#[observe]",
            Mode::Business => "#[business_span]",
        }
    }

    /// The label and log field that carries how a call ended.
    pub fn outcome_label(self) -> &'static str {
        match self {
            Mode::Observe => "result",
            Mode::Business => "outcome",
        }
    }
}

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
    pub log: Option<LitStr>,
    pub level: Option<LitStr>,
    pub buckets: Option<Buckets>,
    pub skip_metrics: Option<Span>,
    pub krate: Option<Path>,
    pub metric: Option<LitStr>,
    pub labels: Option<Labels>,
    pub max_series: Option<syn::LitInt>,
    pub objective: Option<crate::objective::ObjectiveArg>,
    /// Arguments given with a mistake (reported by the parse): the checks that read them are skipped, so
    /// that a bad `method` is not also reported as `route` without a `method`.
    pub failed: Vec<String>,
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

const OBSERVE_ARGUMENTS: &str = "name, route, method, fields(...), redact(...), log, level, \
     buckets, skip_metrics, metric, labels(...), max_series, objective(...), crate";
const BUSINESS_ARGUMENTS: &str = "a name literal first, then attrs(...), redact(...), log, level, \
     buckets, skip_metrics, metric, labels(...), max_series, objective(...), crate";

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
                    args.failed.push("name".to_owned());
                    while !input.is_empty() && !input.peek(Token![,]) {
                        input.parse::<proc_macro2::TokenTree>()?;
                    }
                    if !input.is_empty() {
                        input.parse::<Token![,]>()?;
                    }
                }
            }
            while !input.is_empty() {
                let key = input.fork().call(Ident::parse_any).ok();
                if let Err(e) = args.parse_one(input) {
                    errors.add(e);
                    if let Some(key) = key {
                        args.failed.push(key.to_string());
                    }
                    // Skip to the next argument so that later mistakes are reported too.
                    while !input.is_empty() && !input.peek(Token![,]) {
                        input.parse::<proc_macro2::TokenTree>()?;
                    }
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

    /// Whether `name` was given with a mistake.
    pub fn failed(&self, name: &str) -> bool {
        self.failed.iter().any(|f| f == name)
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

    fn parse_one(&mut self, input: ParseStream) -> syn::Result<()> {
        if input.peek(Token![crate]) {
            let kw: Token![crate] = input.parse()?;
            input.parse::<Token![=]>()?;
            let path: Path = input.parse()?;
            return set_once(&mut self.krate, path, kw.span, "crate");
        }
        let key = Ident::parse_any(input).map_err(|e| self.not_an_argument(e.span()))?;
        let span = key.span();
        let name = key.to_string();
        let allowed = match self.mode {
            Mode::Observe => name != "attrs",
            Mode::Business => !matches!(name.as_str(), "name" | "route" | "method" | "fields"),
        };
        if !allowed {
            return Err(self.unknown(&key));
        }
        match name.as_str() {
            "name" => {
                let v = string_value(input, &key, "name = \"charge\"")?;
                set_once(&mut self.name, v, span, "name")
            }
            "route" => {
                let v = string_value(input, &key, "route = \"/api/v1/orders\"")?;
                set_once(&mut self.route, v, span, "route")
            }
            "method" => {
                let v = string_value(input, &key, "method = \"POST\"")?;
                set_once(&mut self.method, v, span, "method")
            }
            "log" => {
                let v = string_value(input, &key, "log = \"errors\"")?;
                set_once(&mut self.log, v, span, "log")
            }
            "level" => {
                let v = string_value(input, &key, "level = \"debug\"")?;
                set_once(&mut self.level, v, span, "level")
            }
            "fields" | "attrs" => {
                set_once(&mut self.fields_at, span, span, &name)?;
                self.fields = field_list(input, &key)?;
                Ok(())
            }
            "redact" => {
                set_once(&mut self.redact_at, span, span, "redact")?;
                self.redact = field_list(input, &key)?;
                Ok(())
            }
            "buckets" => {
                input.parse::<Token![=]>()?;
                let content;
                let bracket = bracketed!(content in input);
                let items = parse_group(
                    &content,
                    bracket.span.close(),
                    Punctuated::<Expr, Token![,]>::parse_terminated,
                )?;
                let mut bounds = Vec::new();
                for item in items {
                    bounds.push((bucket_bound(&item)?, item.span()));
                }
                let buckets = Buckets {
                    span: bracket.span.join(),
                    bounds,
                };
                set_once(&mut self.buckets, buckets, span, "buckets")
            }
            "skip_metrics" => set_once(&mut self.skip_metrics, span, span, "skip_metrics"),
            "metric" => {
                let v = string_value(input, &key, "metric = \"payment_charges\"")?;
                set_once(&mut self.metric, v, span, "metric")
            }
            "objective" => {
                let arg = if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    crate::objective::ObjectiveArg::Shared(input.parse()?)
                } else if input.peek(syn::token::Paren) {
                    let content;
                    parenthesized!(content in input);
                    let tokens: TokenStream = content.parse()?;
                    crate::objective::ObjectiveArg::Inline(crate::objective::parse(tokens, span)?)
                } else {
                    return Err(syn::Error::new(
                        span,
                        "write objective(latency = \"2s\", percentile = 99, error_rate = \"1%\"), or objective = NAME for a shared `const`",
                    ));
                };
                set_once(&mut self.objective, arg, span, "objective")
            }
            "max_series" => {
                input.parse::<Token![=]>()?;
                let value: Expr = input.parse()?;
                let lit = match value {
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Int(i), ..
                    }) => i,
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`max_series` must be an integer literal, e.g. max_series = 5000",
                        ))
                    }
                };
                set_once(&mut self.max_series, lit, span, "max_series")
            }
            "labels" => {
                if !input.peek(syn::token::Paren) {
                    return Err(syn::Error::new(
                        span,
                        "`labels` takes a list: labels(provider = req.provider, region = \"eu\")",
                    ));
                }
                let content;
                let paren = parenthesized!(content in input);
                let list = parse_group(
                    &content,
                    paren.span.close(),
                    Punctuated::<LabelArg, Token![,]>::parse_terminated,
                )?;
                let labels = Labels {
                    span,
                    list: list.into_iter().collect(),
                };
                set_once(&mut self.labels, labels, span, "labels")
            }
            _ => Err(self.unknown(&key)),
        }
    }
}

impl ObserveArgs {
    /// A literal or punctuation where an argument's name goes; syn alone would say "expected ident".
    fn not_an_argument(&self, span: Span) -> syn::Error {
        let expected = match self.mode {
            Mode::Observe => OBSERVE_ARGUMENTS,
            Mode::Business => BUSINESS_ARGUMENTS,
        };
        syn::Error::new(
            span,
            format!(
                "expected an argument of {}: {expected}",
                self.mode.attribute()
            ),
        )
    }

    fn unknown(&self, key: &Ident) -> syn::Error {
        let (attribute, expected) = match self.mode {
            Mode::Observe => ("#[observe]", OBSERVE_ARGUMENTS),
            Mode::Business => ("#[business_span]", BUSINESS_ARGUMENTS),
        };
        let hint = match (self.mode, key.to_string().as_str()) {
            (Mode::Business, "fields") => "write `attrs(...)` on a business span; ".to_string(),
            (Mode::Business, "name") => {
                "the name is the first argument, a literal: #[business_span(\"process-order\")]; "
                    .to_string()
            }
            (Mode::Business, "route" | "method") => {
                "handler mode is #[observe(route = .., method = ..)]; ".to_string()
            }
            (Mode::Observe, "attrs") => "write `fields(...)` on #[observe]; ".to_string(),
            (_, other) => closest(other, self.mode)
                .map(|known| format!("did you mean `{known}`? "))
                .unwrap_or_default(),
        };
        syn::Error::new(
            key.span(),
            format!("unknown argument `{key}` for {attribute}; {hint}expected one of: {expected}"),
        )
    }
}

/// The known argument within two edits of a misspelt one.
fn closest(unknown: &str, mode: Mode) -> Option<&'static str> {
    const KNOWN: &[&str] = &[
        "name",
        "route",
        "method",
        "fields",
        "redact",
        "log",
        "level",
        "buckets",
        "skip_metrics",
        "crate",
        "metric",
        "labels",
        "max_series",
        "objective",
    ];
    let attrs = if mode == Mode::Business {
        "attrs"
    } else {
        "fields"
    };
    KNOWN
        .iter()
        .map(|k| if *k == "fields" { attrs } else { k })
        .filter(|k| mode == Mode::Observe || !matches!(*k, "name" | "route" | "method"))
        .map(|k| (edit_distance(unknown, k), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn duplicate(span: Span, name: &str) -> syn::Error {
    syn::Error::new(span, format!("duplicate argument `{name}`: give it once"))
}

fn set_once<T>(slot: &mut Option<T>, value: T, span: Span, name: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(span, name));
    }
    *slot = Some(value);
    Ok(())
}

/// `key = "literal"`; anything else is refused with an example of what to write.
fn string_value(input: ParseStream, key: &Ident, example: &str) -> syn::Result<LitStr> {
    input.parse::<Token![=]>()?;
    let value: Expr = input.parse()?;
    match &value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` must be a string literal, e.g. {example}"),
        )),
    }
}

fn field_list(input: ParseStream, key: &Ident) -> syn::Result<Vec<FieldArg>> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` takes a list: {key}(name = expr, other = expr)"),
        ));
    }
    let content;
    let paren = parenthesized!(content in input);
    let list = parse_group(
        &content,
        paren.span.close(),
        Punctuated::<FieldArg, Token![,]>::parse_terminated,
    )?;
    Ok(list.into_iter().collect())
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
