//! Validation of a parsed `#[observe(...)]` against the function it is on. Every mistake is collected,
//! each spanned at the offending token and saying what to write instead.

use crate::arguments::{Key, Mode};
use crate::attr::{FieldArg, LabelArg, Labels, ObserveArgs};
use crate::errors::Errors;
use crate::item::FnFacts;
use proc_macro2::Span;
use std::collections::HashMap;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

pub(crate) fn check(args: &ObserveArgs, f: &FnFacts) -> syn::Result<()> {
    let mut errors = Errors::default();
    check_function(f, &mut errors);
    check_handler(args, &mut errors);
    check_fields(args, &mut errors);
    check_level(args, &mut errors);
    check_buckets(args, &mut errors);
    check_metric(args, &mut errors);
    check_max_series(args, &mut errors);
    if let Some(labels) = &args.labels {
        check_labels(args, labels, &mut errors);
    }
    check_operation(args, &mut errors);
    if let Some(crate::objective::ObjectiveArg::Inline(parsed)) = &args.objective {
        // Against the buckets given, not the defaults, when `buckets` itself had a mistake.
        if !args.failed(Key::Buckets) {
            crate::objective::check_latency(parsed, &site_buckets(args), &mut errors);
        }
    }
    errors.finish()
}

fn check_function(f: &FnFacts, errors: &mut Errors) {
    if let Some(span) = f.constness {
        errors.push(
            span,
            "#[observe] cannot instrument a `const fn`: it may run at compile time, where there is no \
             clock and no registry; remove `const`, or observe the non-const function that calls it",
        );
    }
    if let Some(span) = f.missing_body {
        errors.push(
            span,
            "#[observe] needs a function body: put it on the trait's default method or on the \
             implementations' methods, not on a declaration",
        );
    }
    if let Some(span) = f.variadic {
        errors.push(span, "#[observe] cannot instrument a variadic function");
    }
    if let Some(span) = f.never {
        errors.push(
            span,
            "#[observe] on a function returning `!`: it never completes, so there is no call \
             to count or time; observe the functions it calls instead",
        );
    }
}

fn check_handler(args: &ObserveArgs, errors: &mut Errors) {
    if let (Some((_, at)), Some(_)) = (args.kind, &args.route) {
        errors.push(
            at,
            "a handler's span is a `server` span: remove `kind`, or drop `route` and `method` to observe \
             this function as a call of its own",
        );
    }
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
            // axum 0.7's `/:id` and `/*rest`: axum 0.8 panics on them when the router is built.
            let old_style: Vec<String> = r
                .split('/')
                .filter_map(|segment| {
                    let name = segment.strip_prefix(':').map(|n| (n, ""))
                        .or_else(|| segment.strip_prefix('*').map(|n| (n, "*")))?;
                    Some(format!("`{{{}{}}}` for `{segment}`", name.1, name.0))
                })
                .collect();
            if !old_style.is_empty() {
                let fixed: String = r
                    .split('/')
                    .map(|segment| match segment.as_bytes().first() {
                        Some(b':') => format!("{{{}}}", &segment[1..]),
                        Some(b'*') => format!("{{*{}}}", &segment[1..]),
                        _ => segment.to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                errors.push(
                    route.span(),
                    format!(
                        "axum 0.8 writes path parameters in braces: {}, i.e. route = \"{fixed}\" (axum \
                         0.8 panics on a `:` or `*` segment when the router is built)",
                        old_style.join(", ")
                    ),
                );
            }
            let m = method.value();
            let methods = sightline_conventions::HTTP_METHODS;
            if !methods.contains(&m.as_str()) {
                let hint = if methods.contains(&m.to_ascii_uppercase().as_str()) {
                    format!("write it in upper case: method = \"{}\"", m.to_ascii_uppercase())
                } else {
                    format!("expected one of: {}", methods.join(", "))
                };
                errors.push(method.span(), format!("unknown HTTP method \"{m}\"; {hint}"));
            }
        }
        (Some(route), None) if !args.failed(Key::Method) => errors.push(
            route.span(),
            "handler mode needs both `route` and `method`, e.g. #[observe(route = \"/api/v1/orders\", method = \"POST\")]",
        ),
        (None, Some(method)) if !args.failed(Key::Route) => errors.push(
            method.span(),
            "handler mode needs both `route` and `method`, e.g. #[observe(route = \"/api/v1/orders\", method = \"POST\")]",
        ),
        (Some(_), None) | (None, Some(_)) => {}
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
        if sightline_conventions::is_reserved_field(&name) {
            errors.push(
                field.name.span(),
                format!("`{name}` is written by sightline on every completion line; choose another name, e.g. `{}`", suggestion(&name)),
            );
        }
        if !redacted {
            check_sensitive(field, args.mode, errors);
        }
    }
}

fn suggestion(name: &str) -> String {
    format!("{name}_value")
}

fn check_sensitive(field: &FieldArg, mode: Mode, errors: &mut Errors) {
    let name = field.name.text();
    let what = match mode {
        Mode::Observe => "fields are written in clear to logs and spans",
        Mode::Business => "attributes are exported in clear with the span and written to logs",
    };
    if let Some(fragment) = sightline_conventions::sensitive_fragment(&name) {
        errors.push(
            field.name.span(),
            format!(
                "`{name}` looks like a secret (it contains `{fragment}`): {what}; record it as \
                 \"{}\" with `redact({name} = ...)`, or leave it out",
                sightline_conventions::REDACTED
            ),
        );
    }
}

/// The site's histogram buckets: `buckets = [...]` or the defaults.
pub(crate) fn site_buckets(args: &ObserveArgs) -> Vec<f64> {
    match &args.buckets {
        Some(b) => b.bounds.iter().map(|(v, _)| *v).collect(),
        None => sightline_conventions::DEFAULT_BUCKETS.to_vec(),
    }
}

/// A business span's name: the span name in traces and the `operation` label.
fn check_operation(args: &ObserveArgs, errors: &mut Errors) {
    let Some(op) = &args.operation else {
        return;
    };
    let name = op.value();
    if name.trim().is_empty() {
        errors.push(
            op.span(),
            "the operation name must not be empty, e.g. #[business_span(\"process-order\")]",
        );
    } else if name.len() > 100 || name.chars().any(|c| c.is_control()) {
        errors.push(op.span(), "the operation name is a short label such as \"process-order\": at most 100 printable characters");
    }
}

/// `level` sets the success line's level: refused beside a `log` that writes none.
fn check_level(args: &ObserveArgs, errors: &mut Errors) {
    if let (Some((_, level)), Some((log, _))) = (args.level, args.log) {
        if !log.writes_success() {
            errors.push(
                level,
                format!("`level` sets the success line's level, but log = \"{}\" writes no success line; remove one of them", log.word()),
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

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// `metric = ".."`: a valid, bare name whose families are not sightline's own.
fn check_metric(args: &ObserveArgs, errors: &mut Errors) {
    let Some(metric) = &args.metric else {
        return;
    };
    let m = metric.value();
    let built_in = |name: &str| {
        sightline_conventions::BUILT_IN
            .iter()
            .any(|f| f.name == name)
    };
    if !is_metric_name(&m) {
        errors.push(
            metric.span(),
            format!("\"{m}\" is not a valid Prometheus metric name: use letters, digits and `_`, not starting with a digit, e.g. metric = \"payment_charges\""),
        );
    } else if m.starts_with(sightline_conventions::OWN_PREFIX) {
        errors.push(
            metric.span(),
            format!(
                "the `{}` prefix is reserved for sightline's own metrics",
                sightline_conventions::OWN_PREFIX
            ),
        );
    } else if let Some(clash) = sightline_conventions::CUSTOM
        .iter()
        .map(|family| family.name(&m))
        .find(|name| built_in(name))
    {
        errors.push(
            metric.span(),
            format!("metric = \"{m}\" would record `{clash}`, a family sightline records itself; choose another name"),
        );
    } else if let Some(suffix) = ["_total", "_seconds", "_count", "_sum", "_bucket"]
        .iter()
        .find(|s| m.ends_with(*s))
    {
        errors.push(
            metric.span(),
            format!("give `metric` the bare name: sightline appends the suffixes itself (`{m}` ends in `{suffix}`)"),
        );
    }
}

/// `max_series = N`: positive, and beside the labels it bounds.
fn check_max_series(args: &ObserveArgs, errors: &mut Errors) {
    let Some(max) = &args.max_series else {
        return;
    };
    if !matches!(max.base10_parse::<usize>(), Ok(n) if n > 0) {
        errors.push(
            max.span(),
            "`max_series` is a positive number of series, e.g. max_series = 5000",
        );
    }
    if args.labels.is_none() && !args.failed(Key::Labels) {
        errors.push(
            max.span(),
            "`max_series` bounds the series of custom `labels(...)`; this function has none",
        );
    }
}

/// `labels(...)`: where they can apply, and each label on its own.
fn check_labels(args: &ObserveArgs, labels: &Labels, errors: &mut Errors) {
    if args.metric.is_none() && !args.failed(Key::Metric) {
        let example = sightline_conventions::CUSTOM
            .iter()
            .map(|family| family.name("payment_charges"))
            .collect::<Vec<_>>()
            .join(", ");
        errors.push(
            labels.span,
            format!(
                "`labels(...)` needs `metric = \"...\"`: a Prometheus family has one label set, so a function with \
                 its own labels records its own families (metric = \"payment_charges\" records {example})"
            ),
        );
    }
    if let (Some(route), Some(_)) = (&args.route, &args.method) {
        errors.push(
            route.span(),
            "handler mode records the http_* families, whose labels are fixed; put `labels(...)` on the functions the handler calls",
        );
    }
    if let Some(skip) = args.skip_metrics {
        errors.push(skip, "`skip_metrics` records no metrics, so `labels(...)` would have no effect; remove one of them");
    }
    let mut seen: HashMap<String, Span> = HashMap::new();
    for label in &labels.list {
        let name = label.name.unraw().to_string();
        if seen.insert(name.clone(), label.name.span()).is_some() {
            errors.push(
                label.name.span(),
                format!("label `{name}` is given twice; each label once"),
            );
        } else {
            check_label(label, &name, errors);
        }
    }
}

/// One label: a bounded Prometheus label name that is not sightline's, and a string or `bool` literal
/// if a literal at all.
fn check_label(label: &LabelArg, name: &str, errors: &mut Errors) {
    let span = label.name.span();
    if !is_label_name(name) {
        errors.push(span, format!("`{name}` is not a valid Prometheus label name: letters, digits and `_`, not starting with `__`"));
    } else if sightline_conventions::BUILT_IN_LABELS.contains(&name) {
        errors.push(
            span,
            format!("label `{name}` shadows a label sightline sets itself; choose another name"),
        );
    } else if let Some(noun) = sightline_conventions::unbounded_label(name) {
        let instead = if sightline_conventions::sensitive_fragment(name).is_some() {
            format!("redact({name} = ...)")
        } else {
            format!("fields({name} = ...)")
        };
        errors.push(
            span,
            format!("label `{name}` would create one series per {noun}; record it with {instead} instead"),
        );
    }
    if let syn::Expr::Lit(lit) = &label.value {
        if !matches!(lit.lit, syn::Lit::Str(_) | syn::Lit::Bool(_)) {
            errors.push(
                lit.span(),
                "a literal label value is a string, e.g. region = \"eu\"",
            );
        }
    }
}
