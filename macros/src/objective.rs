//! Service level objectives: `objective(latency = "2s", percentile = 99, error_rate = "1%")` on a site, or
//! `objective = NAME` for a `const` built with `sightline::objective!(..)` that several sites share.
//!
//! Values are kept as integers (microseconds, parts per million) so the shared form can be checked
//! against a site's buckets in a constant, where floats are not available on the supported compilers.

use crate::errors::{end_span, parse_ending_at, Errors};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, Path, Token};

/// An objective as written.
pub(crate) enum ObjectiveArg {
    /// `objective(latency = "2s", percentile = 99, error_rate = "1%")`.
    Inline(Parsed),
    /// `objective = CHECKOUT_SLO`.
    Shared(Path),
}

/// A parsed, checked inline objective.
pub(crate) struct Parsed {
    pub latency_micros: Option<(u64, Span)>,
    pub percentile_ppm: u32,
    pub error_rate_ppm: Option<u32>,
}

/// Parses the inside of `objective(...)` or `objective!(...)`; every mistake is collected. `whole` is
/// where a mistake about the objective as a whole points: the `objective` keyword of the attribute, or
/// the call site of `objective!`.
pub(crate) fn parse(tokens: TokenStream, whole: Span) -> syn::Result<Parsed> {
    let mut errors = Errors::default();
    let mut parsed = Parsed {
        latency_micros: None,
        percentile_ppm: 990_000,
        error_rate_ppm: None,
    };
    let mut percentile_at = None;
    let mut seen: Vec<String> = Vec::new();
    let end = end_span(&tokens);
    let items = parse_ending_at(
        Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated,
        tokens,
        end,
    )?;
    for item in &items {
        let Some(key) = item.path.get_ident().map(Ident::to_string) else {
            errors.push(
                item.path.span(),
                "expected latency = \"2s\", percentile = 99 or error_rate = \"1%\"",
            );
            continue;
        };
        if seen.contains(&key) {
            errors.push(
                item.path.span(),
                format!("duplicate objective setting `{key}`: give it once"),
            );
            continue;
        }
        seen.push(key.clone());
        let value = &item.value;
        match key.as_str() {
            "latency" => match string(value).map(|s| duration_micros(&s)) {
                Some(Ok(micros)) => parsed.latency_micros = Some((micros, value.span())),
                Some(Err(why)) => errors.push(value.span(), why),
                None => errors.push(value.span(), "`latency` is a duration literal such as \"2s\" or \"250ms\""),
            },
            "percentile" => match number(value) {
                Some(p) if p > 0.0 && p < 100.0 => {
                    parsed.percentile_ppm = (p * 10_000.0).round() as u32;
                    percentile_at = Some(item.path.span());
                }
                _ => errors.push(value.span(), "`percentile` is a number in (0, 100), e.g. percentile = 99 or 99.9"),
            },
            "error_rate" => match string(value).and_then(|s| percent(&s)) {
                Some(p) if p > 0.0 && p < 100.0 => parsed.error_rate_ppm = Some((p * 10_000.0).round() as u32),
                _ => errors.push(value.span(), "`error_rate` is a percentage in (0, 100) such as \"1%\" or \"0.1%\""),
            },
            "crate" => errors.push(
                item.path.span(),
                "`crate = path` goes first in objective!(crate = path, ..), and beside objective(..) in an attribute, not inside it",
            ),
            other => errors.push(
                item.path.span(),
                format!("unknown objective setting `{other}`; expected latency = \"2s\", percentile = 99, error_rate = \"1%\""),
            ),
        }
    }
    if let Some(at) = percentile_at.filter(|_| errors.is_empty() && parsed.latency_micros.is_none())
    {
        errors.push(
            at,
            "`percentile` applies to `latency`: give latency = \"...\" too",
        );
    }
    if errors.is_empty() && parsed.latency_micros.is_none() && parsed.error_rate_ppm.is_none() {
        errors.push(
            whole,
            "an objective needs latency = \"...\" and/or error_rate = \"...%\"",
        );
    }
    errors.finish()?;
    Ok(parsed)
}

fn string(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        _ => None,
    }
}

fn percent(text: &str) -> Option<f64> {
    text.trim().strip_suffix('%')?.trim().parse().ok()
}

/// "2s", "250ms", "1.5s", "500us" -> microseconds.
pub(crate) fn duration_micros(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1_000.0)
    } else if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        return Err(format!(
            "\"{text}\" needs a unit: \"2s\", \"250ms\" or \"500us\""
        ));
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok((v * scale).round() as u64),
        _ => Err(format!(
            "\"{text}\" is not a positive duration such as \"2s\" or \"250ms\""
        )),
    }
}

/// Seconds (a bucket bound) -> microseconds, as durations are compared.
pub(crate) fn bucket_micros(seconds: f64) -> u64 {
    (seconds * 1_000_000.0).round() as u64
}

/// Checks an inline objective's latency against the site's buckets.
pub(crate) fn check_latency(parsed: &Parsed, buckets: &[f64], errors: &mut Errors) {
    if let Some((micros, span)) = parsed.latency_micros {
        if !buckets.iter().any(|b| bucket_micros(*b) == micros) {
            let list: Vec<String> = buckets.iter().map(|b| format!("{b}s")).collect();
            errors.push(
                span,
                format!(
                    "a latency objective must be a histogram bucket bound of this function, or the ratio of fast \
                     calls cannot be read from the histogram; the buckets are {}",
                    list.join(", ")
                ),
            );
        }
    }
}

/// The `ObjectiveDef` value for the site's metadata, and for the shared form a constant that checks the
/// shared latency against this site's buckets.
pub(crate) fn meta(
    arg: Option<&ObjectiveArg>,
    private: &TokenStream,
    buckets: &[f64],
    function: &str,
) -> (TokenStream, TokenStream) {
    let p = private;
    match arg {
        None => (quote!(::core::option::Option::None), quote!()),
        Some(ObjectiveArg::Inline(parsed)) => {
            let value = def(parsed, p);
            (quote!(::core::option::Option::Some(#value)), quote!())
        }
        Some(ObjectiveArg::Shared(path)) => {
            let micros = buckets.iter().map(|b| bucket_micros(*b));
            let list: Vec<String> = buckets.iter().map(|b| format!("{b}s")).collect();
            let list = list.join(", ");
            let check = quote_spanned! {path.span()=>
                const _: () = #p::check_objective_latency(&#path, &[#(#micros),*], #function, #list);
            };
            (quote!(::core::option::Option::Some(#path)), check)
        }
    }
}

/// The `ObjectiveDef` constant for a parsed objective.
pub(crate) fn def(parsed: &Parsed, p: &TokenStream) -> TokenStream {
    let latency = match parsed.latency_micros {
        Some((m, _)) => quote!(::core::option::Option::Some(#m)),
        None => quote!(::core::option::Option::None),
    };
    let percentile = parsed.percentile_ppm;
    let error = match parsed.error_rate_ppm {
        Some(e) => quote!(::core::option::Option::Some(#e)),
        None => quote!(::core::option::Option::None),
    };
    quote!(#p::objective_def(#latency, #percentile, #error))
}

/// `sightline::objective!(..)`: a checked objective as a constant expression; `crate = path` first
/// when sightline is reached through a re-export.
pub(crate) fn objective_macro(tokens: TokenStream) -> TokenStream {
    let parsed = crate::krate::split_leading(tokens)
        .and_then(|(krate, rest)| Ok((krate, parse(rest, Span::call_site())?)));
    match parsed {
        Ok((krate, parsed)) => def(&parsed, &crate::krate::private(krate.as_ref())),
        Err(e) => e.to_compile_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::duration_micros;

    #[test]
    fn durations_parse_to_micros() {
        assert_eq!(duration_micros("2s"), Ok(2_000_000));
        assert_eq!(duration_micros("250ms"), Ok(250_000));
        assert_eq!(duration_micros("0.2s"), Ok(200_000));
        assert_eq!(duration_micros("500us"), Ok(500));
        assert!(duration_micros("2").is_err());
        assert!(duration_micros("-1s").is_err());
    }
}
