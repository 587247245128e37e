//! Validation of a parsed `#[observe(...)]` against the function it is on. Every mistake is collected,
//! each spanned at the offending token and saying what to write instead.

use crate::attr::{FieldArg, ObserveArgs};
use crate::item::{Body, ObservedFn};
use proc_macro2::Span;
use std::collections::HashMap;
use syn::spanned::Spanned;
use syn::{ReturnType, Type};

/// Field names every completion line writes itself; a user field of the same name would be shadowed.
const RESERVED_FIELDS: &[&str] = &[
    "function",
    "module",
    "result",
    "duration_ms",
    "error_kind",
    "error",
    "method",
    "route",
    "status_code",
    "message",
    "timestamp",
    "level",
    "service",
    "target",
];

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
];
const LOG_MODES: &[&str] = &["all", "errors", "off"];
const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];

#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        let e = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
}

pub(crate) fn check(args: &ObserveArgs, f: &ObservedFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    check_function(f, &mut errors);
    check_handler(args, &mut errors);
    check_fields(args, &mut errors);
    check_choices(args, &mut errors);
    check_buckets(args, &mut errors);
    match errors.0 {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn check_function(f: &ObservedFn, errors: &mut Errors) {
    if let Some(c) = &f.sig.constness {
        errors.push(
            c.span,
            "#[observe] cannot instrument a `const fn`: it may run at compile time, where there is no \
             clock and no registry; remove `const`, or observe the non-const function that calls it",
        );
    }
    if let Body::Missing(semi) = &f.body {
        errors.push(
            semi.span,
            "#[observe] needs a function body: put it on the trait's default method or on the \
             implementations' methods, not on a declaration",
        );
    }
    if let Some(v) = &f.sig.variadic {
        errors.push(v.span(), "#[observe] cannot instrument a variadic function");
    }
    if let ReturnType::Type(_, ty) = &f.sig.output {
        if matches!(**ty, Type::Never(_)) {
            errors.push(
                ty.span(),
                "#[observe] on a function returning `!`: it never completes, so there is no call \
                 to count or time; observe the functions it calls instead",
            );
        }
    }
}

fn check_handler(args: &ObserveArgs, errors: &mut Errors) {
    match (&args.route, &args.method) {
        (Some(route), Some(method)) => {
            let r = route.value();
            if !r.starts_with('/') {
                errors.push(
                    route.span(),
                    format!("`route` is the route template and starts with `/`, e.g. route = \"/{}\"", r.trim_start_matches('/')),
                );
            }
            if r.chars().any(|c| c.is_whitespace() || c == '?' || c == '#') {
                errors.push(
                    route.span(),
                    "`route` is a template such as \"/api/v1/orders/{id}\": no spaces, query or fragment",
                );
            }
            let m = method.value();
            if !METHODS.contains(&m.as_str()) {
                let hint = if METHODS.contains(&m.to_ascii_uppercase().as_str()) {
                    format!("write it in upper case: method = \"{}\"", m.to_ascii_uppercase())
                } else {
                    format!("expected one of: {}", METHODS.join(", "))
                };
                errors.push(method.span(), format!("unknown HTTP method \"{m}\"; {hint}"));
            }
        }
        (Some(route), None) => errors.push(
            route.span(),
            "handler mode needs both `route` and `method`, e.g. #[observe(route = \"/api/v1/orders\", method = \"POST\")]",
        ),
        (None, Some(method)) => errors.push(
            method.span(),
            "handler mode needs both `route` and `method`, e.g. #[observe(route = \"/api/v1/orders\", method = \"POST\")]",
        ),
        (None, None) => {}
    }
    if let Some(name) = &args.name {
        if name.value().trim().is_empty() {
            errors.push(name.span(), "`name` must not be empty");
        }
    }
}

/// `tracing` allows 32 fields per span; sightline's own take the rest.
const MAX_USER_FIELDS: usize = 24;

fn check_fields(args: &ObserveArgs, errors: &mut Errors) {
    if args.fields.len() + args.redact.len() > MAX_USER_FIELDS {
        let extra = args
            .fields
            .iter()
            .chain(&args.redact)
            .nth(MAX_USER_FIELDS)
            .map(|f| f.name.span())
            .unwrap_or_else(Span::call_site);
        errors.push(extra, format!("at most {MAX_USER_FIELDS} fields and redactions per function (a span holds 32 fields and sightline uses the rest)"));
    }
    let mut seen: HashMap<String, Span> = HashMap::new();
    let all = args
        .fields
        .iter()
        .map(|f| (f, false))
        .chain(args.redact.iter().map(|f| (f, true)));
    for (field, redacted) in all {
        let name = field.name.text();
        if seen.insert(name.clone(), field.name.span()).is_some() {
            errors.push(
                field.name.span(),
                format!("field `{name}` is given twice; each field once, in `fields(...)` or `redact(...)`"),
            );
        }
        if RESERVED_FIELDS.contains(&name.as_str()) {
            errors.push(
                field.name.span(),
                format!("`{name}` is written by sightline on every completion line; choose another name, e.g. `{}`", suggestion(&name)),
            );
        }
        if !redacted {
            check_sensitive(field, errors);
        }
    }
}

fn suggestion(name: &str) -> String {
    format!("{name}_value")
}

fn check_sensitive(field: &FieldArg, errors: &mut Errors) {
    let name = field.name.text();
    if let Some(fragment) = sightline_names::sensitive_fragment(&name) {
        errors.push(
            field.name.span(),
            format!(
                "`{name}` looks like a secret (it contains `{fragment}`): fields are written in clear to logs \
                 and spans; record it as \"[REDACTED]\" with `redact({name} = ...)`, or leave it out"
            ),
        );
    }
}

fn check_choices(args: &ObserveArgs, errors: &mut Errors) {
    if let Some(log) = &args.log {
        if !LOG_MODES.contains(&log.value().as_str()) {
            errors.push(
                log.span(),
                format!("unknown log mode \"{}\"; expected one of: \"all\" (default), \"errors\", \"off\"", log.value()),
            );
        }
    }
    if let Some(level) = &args.level {
        if !LEVELS.contains(&level.value().as_str()) {
            errors.push(
                level.span(),
                format!("unknown level \"{}\"; expected one of: \"trace\", \"debug\", \"info\" (default), \"warn\", \"error\"", level.value()),
            );
        }
    }
    if let (Some(level), Some(log)) = (&args.level, &args.log) {
        if log.value() != "all" {
            errors.push(
                level.span(),
                format!("`level` sets the success line's level, but log = \"{}\" writes no success line; remove one of them", log.value()),
            );
        }
    }
}

fn check_buckets(args: &ObserveArgs, errors: &mut Errors) {
    let Some(buckets) = &args.buckets else {
        return;
    };
    if let Some(skip) = args.skip_metrics {
        errors.push(skip, "`skip_metrics` records no histogram, so `buckets` would have no effect; remove one of them");
    }
    if buckets.bounds.is_empty() {
        errors.push(
            buckets.span,
            "`buckets` needs at least one bound, e.g. buckets = [0.001, 0.005, 0.01]",
        );
    }
    let mut previous: Option<f64> = None;
    for &(bound, span) in &buckets.bounds {
        if !bound.is_finite() || bound <= 0.0 {
            errors.push(span, "bucket bounds are durations in seconds: finite and greater than 0 (`+Inf` is added for you)");
        } else if let Some(p) = previous.filter(|p| bound <= *p) {
            errors.push(
                span,
                format!("bucket bounds must be strictly increasing: {bound} comes after {p}"),
            );
        }
        previous = Some(bound);
    }
}
