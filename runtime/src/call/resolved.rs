//! A call site after its first call: its final name and the series each call records into.

use super::meta::{SiteKind, SiteMeta, SpanRole};
use crate::context::Values;
use crate::installation::{Decisions, Installation};
use crate::labels::{LabelIndex, LabelValues};
use crate::metrics::custom::{self, CustomLabels, SiteName};
use crate::metrics::series::{HttpSeries, RedSeries};
use crate::metrics::{BUSINESS, FUNCTION, HTTP};
use crate::traces::record::SpanSite;
use crate::warn::{warn_rate_limited, LABEL};
use opentelemetry::trace::SpanKind;
use std::sync::atomic::{AtomicU64, Ordering};

/// What one call records into.
#[derive(Clone, Copy)]
pub(crate) enum CallMetrics {
    None,
    Red(&'static RedSeries),
    Http(&'static HttpSeries),
}

/// A site after its first call.
pub struct ResolvedSite {
    pub(crate) function: &'static str,
    /// `type_name::<Self>()` of the calls this names, for a method named after its type.
    pub(super) self_type: Option<&'static str>,
    pub(crate) meta: &'static SiteMeta,
    metrics: Option<SiteMetrics>,
    /// What the site's exported spans say of themselves.
    pub(crate) span: SpanSite,
    /// A handler's span while `sightline::http::layer()` serves the request: the layer's span is the
    /// request's one `server` span, so the handler's is an `internal` child named by its function.
    pub(crate) span_in_request: Option<SpanSite>,
    /// The fields every call's span carries onto the lines inside it: a business span's `operation`.
    pub(crate) site_values: Option<Values>,
    /// The parts of its completion lines that never change, as JSON: `,"target":".."`, then
    /// `,"function":"..","module":".."` (`,"operation":".."` for a business span), then a handler's
    /// `,"method":"..","route":".."`.
    pub(crate) line_parts: LineParts,
    /// This site's [`Decisions`] under the installation that last recorded it.
    decisions: AtomicU64,
    /// Which of `meta.fields` the installation's redactor replaces whole (bit per field), likewise.
    redacted: AtomicU64,
}

enum SiteMetrics {
    Function(&'static RedSeries),
    Handler(&'static HttpSeries),
    Custom(CustomSeries),
}

/// Series for every combination of the custom labels' values, in mixed radix (the first label is the
/// most significant digit).
struct CustomSeries {
    values: Vec<LabelValues>,
    combos: Box<[&'static RedSeries]>,
}

impl ResolvedSite {
    pub(super) fn new(
        meta: &'static SiteMeta,
        self_type: Option<&'static str>,
        labels: &[LabelIndex],
    ) -> Self {
        let function = match (meta.function, self_type) {
            (Some(name), _) => name,
            (None, Some(type_name)) => leak(type_function(type_name, meta.fn_name)),
            (None, None) => meta.fn_name,
        };
        let self_type = self_type.filter(|_| meta.function.is_none());
        Self::named(meta, self_type, function, labels)
    }

    pub(super) fn named(
        meta: &'static SiteMeta,
        self_type: Option<&'static str>,
        function: &'static str,
        labels: &[LabelIndex],
    ) -> Self {
        let metrics = if !meta.metrics {
            None
        } else if let Some(custom) = meta.custom {
            custom_children(meta, custom, function, labels).map(SiteMetrics::Custom)
        } else {
            Some(match meta.kind {
                SiteKind::Function { buckets } => {
                    SiteMetrics::Function(FUNCTION.series(vec![function, meta.module], buckets))
                }
                SiteKind::Business { operation, buckets } => {
                    SiteMetrics::Function(BUSINESS.series(vec![operation], buckets))
                }
                SiteKind::Handler {
                    method,
                    route,
                    buckets,
                } => SiteMetrics::Handler(HTTP.series(method, route, buckets)),
            })
        };
        ResolvedSite {
            function,
            self_type,
            meta,
            metrics,
            span: span_site(meta, function),
            span_in_request: matches!(meta.kind, SiteKind::Handler { .. }).then(|| SpanSite {
                name: function,
                kind: SpanKind::Internal,
                function: Some(function),
                module: Some(meta.module),
                operation: None,
                http: None,
            }),
            site_values: match meta.kind {
                SiteKind::Business { operation, .. } => {
                    let mut values = Values::default();
                    values.set("operation".into(), true, |out| {
                        crate::logs::line::push_json(out, operation)
                    });
                    Some(values)
                }
                _ => None,
            },
            line_parts: LineParts::new(meta, function),
            decisions: AtomicU64::new(0),
            redacted: AtomicU64::new(0),
        }
    }

    /// What calls of this site do under `installation`.
    #[inline]
    /// What this call's span says of itself: a handler's is the request's `server` span, unless the
    /// HTTP layer serves the request.
    pub(crate) fn span_site(&self) -> &SpanSite {
        match &self.span_in_request {
            Some(internal) if crate::http::under_layer() => internal,
            _ => &self.span,
        }
    }

    pub(crate) fn decisions(&self, installation: &Installation) -> Decisions {
        installation.decisions(&self.decisions, self.meta.module)
    }

    /// Whether field `index` of `meta.fields` is replaced whole under `installation` (a name the
    /// builder's `.redact(..)` added; sensitive names never compile). Fields past the 48th are asked each
    /// time.
    #[inline]
    pub(crate) fn field_redacted(&self, installation: &Installation, index: usize) -> bool {
        let Some(bit) = (index < 48).then(|| 1u64 << index) else {
            return self
                .meta
                .fields
                .get(index)
                .is_some_and(|name| installation.lines.redactor.is_redacted_key(name));
        };
        let cached = self.redacted.load(Ordering::Relaxed);
        let tag = (installation.id() & 0xffff) << 48;
        let mask = if cached & !((1 << 48) - 1) == tag {
            cached
        } else {
            let mask = self
                .meta
                .fields
                .iter()
                .take(48)
                .enumerate()
                .filter(|(_, name)| installation.lines.redactor.is_redacted_key(name))
                .fold(0u64, |mask, (i, _)| mask | 1 << i);
            self.redacted.store(tag | mask, Ordering::Relaxed);
            mask
        };
        mask & bit != 0
    }

    #[inline]
    pub(super) fn metrics_for(&'static self, labels: &[LabelIndex]) -> CallMetrics {
        match &self.metrics {
            None => CallMetrics::None,
            Some(SiteMetrics::Function(red)) => CallMetrics::Red(red),
            Some(SiteMetrics::Handler(h)) => CallMetrics::Http(h),
            Some(SiteMetrics::Custom(c)) => match c.combo(labels) {
                Some(red) => CallMetrics::Red(red),
                None => {
                    warn_rate_limited(
                        &LABEL,
                        format_args!(
                            "`{}` was called with label types other than on its first call \
                             (a generic function?); this call is not counted",
                            self.function
                        ),
                    );
                    CallMetrics::None
                }
            },
        }
    }

    /// The custom labels' values, once known.
    pub(crate) fn label_values(&self) -> Option<&[LabelValues]> {
        match &self.metrics {
            Some(SiteMetrics::Custom(c)) => Some(&c.values),
            _ => None,
        }
    }
}

fn custom_children(
    meta: &'static SiteMeta,
    custom: &'static CustomLabels,
    function: &'static str,
    labels: &[LabelIndex],
) -> Option<CustomSeries> {
    let site = SiteName {
        function,
        module: meta.module,
        labels: custom.names,
    };
    let family = match custom::family(custom, site) {
        Ok(family) => family,
        Err(conflict) => {
            warn_rate_limited(&LABEL, format_args!("{conflict}; not counted"));
            return None;
        }
    };
    let buckets = match meta.kind {
        SiteKind::Function { buckets }
        | SiteKind::Business { buckets, .. }
        | SiteKind::Handler { buckets, .. } => buckets,
    };
    let values: Vec<LabelValues> = labels.iter().map(|l| l.values).collect();
    let total: usize = values.iter().map(|v| v.len()).product();
    let combos = (0..total)
        .map(|mut combo| {
            let mut base = vec![""; values.len()];
            for (slot, vals) in base.iter_mut().zip(&values).rev() {
                *slot = vals.get(combo % vals.len());
                combo /= vals.len();
            }
            family.family.series(base, buckets)
        })
        .collect();
    Some(CustomSeries { values, combos })
}

impl CustomSeries {
    #[inline]
    fn combo(&self, labels: &[LabelIndex]) -> Option<&'static RedSeries> {
        if labels.len() != self.values.len() {
            return None;
        }
        let mut combo = 0usize;
        for (label, values) in labels.iter().zip(&self.values) {
            if !label.values.same(values) || label.index >= values.len() {
                return None;
            }
            combo = combo * values.len() + label.index;
        }
        self.combos.get(combo).copied()
    }
}

/// See [`ResolvedSite::line_parts`].
pub(crate) struct LineParts {
    pub(crate) target: Box<[u8]>,
    pub(crate) identity: Box<[u8]>,
    pub(crate) http: Box<[u8]>,
}

impl LineParts {
    fn new(meta: &SiteMeta, function: &str) -> Self {
        use crate::logs::line::{push_json, target_entry};
        let mut identity = Vec::new();
        let mut http = Vec::new();
        match meta.kind {
            SiteKind::Business { operation, .. } => {
                identity.extend_from_slice(b",\"operation\":");
                push_json(&mut identity, operation);
            }
            SiteKind::Function { .. } | SiteKind::Handler { .. } => {
                identity.extend_from_slice(b",\"function\":");
                push_json(&mut identity, function);
                identity.extend_from_slice(b",\"module\":");
                push_json(&mut identity, meta.module);
            }
        }
        if let SiteKind::Handler { method, route, .. } = meta.kind {
            http.extend_from_slice(b",\"method\":");
            push_json(&mut http, method);
            http.extend_from_slice(b",\"route\":");
            push_json(&mut http, route);
        }
        LineParts {
            target: target_entry(meta.module),
            identity: identity.into_boxed_slice(),
            http: http.into_boxed_slice(),
        }
    }
}

/// The static part of the site's spans: a function's span is named by its `function` label, a business
/// span by its operation, a handler's by its method and route.
fn span_site(meta: &SiteMeta, function: &'static str) -> SpanSite {
    let (name, operation, http) = match meta.kind {
        SiteKind::Function { .. } => (function, None, None),
        SiteKind::Business { operation, .. } => (operation, Some(operation), None),
        SiteKind::Handler { method, route, .. } => (
            leak(format!("{method} {route}")),
            None,
            Some((method, route)),
        ),
    };
    SpanSite {
        name,
        kind: match (http, meta.span_kind) {
            (Some(_), _) => SpanKind::Server,
            (None, SpanRole::Internal) => SpanKind::Internal,
            (None, SpanRole::Client) => SpanKind::Client,
            (None, SpanRole::Producer) => SpanKind::Producer,
            (None, SpanRole::Consumer) => SpanKind::Consumer,
        },
        function: Some(function),
        module: Some(meta.module),
        operation,
        http,
    }
}

/// `Type::method`.
pub(super) fn type_function(type_name: &str, fn_name: &str) -> String {
    format!("{}::{}", short_type_name(type_name), fn_name)
}

pub(super) fn leak(s: String) -> &'static str {
    // One string per call site, once per process: bounded.
    Box::leak(s.into_boxed_str())
}

/// `my_crate::orders::OrderRepo<alloc::string::String>` -> `OrderRepo`: the type's own name, without
/// module path, generic arguments, references or spaces.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut base = full.split('<').next().unwrap_or(full).trim();
    loop {
        let stripped = base
            .trim_start_matches('&')
            .trim_start_matches("mut ")
            .trim_start_matches("dyn ")
            .trim_start();
        if stripped == base {
            break;
        }
        base = stripped;
    }
    let last = base.rsplit("::").next().unwrap_or(base);
    last.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_lose_path_generics_and_references() {
        assert_eq!(short_type_name("my_crate::orders::OrderRepo"), "OrderRepo");
        assert_eq!(
            short_type_name("my_crate::Repo<alloc::string::String, u8>"),
            "Repo"
        );
        assert_eq!(short_type_name("&mut my_crate::Repo"), "Repo");
        assert_eq!(short_type_name("dyn my_crate::Store"), "Store");
        assert_eq!(short_type_name("Plain"), "Plain");
    }
}
