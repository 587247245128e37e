//! One `static` per observed function: what the macro knew at compile time, and the metric children
//! resolved on the first call so that every later call only indexes and increments.

use crate::guard::{CallGuard, Completion, SpanHandle};
use crate::labels::{LabelIndex, LabelValues};
use crate::metrics::custom::{self, SiteName};
use crate::metrics::series::{HttpSeries, RedSeries};
use crate::metrics::{BUSINESS, FUNCTION, HTTP};
use crate::self_types::{same_type_name, SelfTypes, MAX_NAMES};
use crate::warn::{warn_rate_limited, LABEL, SETTING};
use once_cell::sync::OnceCell;

/// What the macro knew about a call site.
pub struct SiteMeta {
    /// The `function` label when the macro knows it (`name = ".."`, or a function without `self`);
    /// `None` for methods, whose type is read from `type_name::<Self>()` on the first call.
    pub function: Option<&'static str>,
    /// The function's own name, for `Type::method`.
    pub fn_name: &'static str,
    /// `module_path!()`.
    pub module: &'static str,
    /// Which families the site records.
    pub kind: SiteKind,
    /// `metric = "..", labels(..)`: the site records its own families instead.
    pub custom: Option<&'static CustomLabels>,
    /// `objective(..)`: what generated alert rules hold this site to.
    pub objective: Option<crate::objective::ObjectiveDef>,
    /// `false` under `skip_metrics`.
    pub metrics: bool,
    /// The body is synchronous: it cannot be cancelled.
    pub sync_body: bool,
    /// Writes the completion log line; generated per site so its level and target are the site's own.
    pub emit: fn(&Completion<'_>),
    /// The most verbose level any of the site's completion lines uses (`None`: `log = "off"`), so that a
    /// call whose line no subscriber could want skips building it.
    pub line_level: Option<tracing::Level>,
}

/// Which families a site records.
pub enum SiteKind {
    /// `function_*`.
    Function {
        /// Histogram buckets in seconds.
        buckets: &'static [f64],
    },
    /// `business_operation*`, `#[business_span]`.
    Business {
        /// The operation's name, e.g. `process-order`.
        operation: &'static str,
        /// Histogram buckets in seconds.
        buckets: &'static [f64],
    },
    /// `http_*`, handler mode.
    Handler {
        /// The HTTP method, upper case.
        method: &'static str,
        /// The route template.
        route: &'static str,
        /// Histogram buckets in seconds.
        buckets: &'static [f64],
    },
}

/// `metric = "payment_charges", labels(provider = .., region = "eu")`.
pub struct CustomLabels {
    /// The family prefix.
    pub metric: &'static str,
    /// The custom label names, in declaration order.
    pub names: &'static [&'static str],
    /// For each label, `&["value"]` when it is a string literal (known at compile time), else `&[]`.
    pub literals: &'static [&'static [&'static str]],
    /// `result` for `#[observe]`.
    pub outcome_label: &'static str,
}

/// A call site: its metadata and, after the first call, its resolved name and metric children.
pub struct Site {
    meta: SiteMeta,
    resolved: OnceCell<ResolvedSite>,
    /// A method's other `Self` types (a trait's default method), each with its own name.
    other_types: SelfTypes<ResolvedSite>,
    /// Where calls from types past [`MAX_NAMES`] are counted: `*::method`.
    overflow: OnceCell<ResolvedSite>,
}

impl Site {
    /// For the macro's `static`.
    pub const fn new(meta: SiteMeta) -> Self {
        Site {
            meta,
            resolved: OnceCell::new(),
            other_types: SelfTypes::new(),
            overflow: OnceCell::new(),
        }
    }

    /// The site's resolved state; `self_type` is `type_name::<Self>` for methods, `labels` the values of
    /// `labels(..)` for this call, evaluated before the body.
    #[inline]
    pub fn resolve(
        &'static self,
        self_type: Option<fn() -> &'static str>,
        labels: &[LabelIndex],
    ) -> Resolved {
        let first = self
            .resolved
            .get_or_init(|| ResolvedSite::new(&self.meta, self_type.map(|t| t()), labels));
        let site = match (self_type, first.self_type) {
            (Some(type_name), Some(first_type)) => {
                let type_name = type_name();
                if same_type_name(first_type, type_name) {
                    first
                } else {
                    self.for_other_type(first, type_name, labels)
                }
            }
            _ => first,
        };
        Resolved {
            site,
            metrics: site.metrics_for(labels),
        }
    }

    /// A call whose `Self` is not the first call's: its own name, up to [`MAX_NAMES`] names.
    #[cold]
    #[inline(never)]
    fn for_other_type(
        &'static self,
        first: &'static ResolvedSite,
        type_name: &'static str,
        labels: &[LabelIndex],
    ) -> &'static ResolvedSite {
        if let Some(resolved) = self.other_types.get(type_name) {
            return resolved;
        }
        let function = type_function(type_name, self.meta.fn_name);
        let named = self.other_types.resolved();
        let existing = std::iter::once(first)
            .chain(named.iter().copied())
            .find(|s| s.function == function);
        let resolved: &'static ResolvedSite = match existing {
            // Another instance of a generic type already named (`Wrap<u8>`, `Wrap<u16>`: `Wrap::get`).
            Some(site) => site,
            None if named.len() + 1 < MAX_NAMES => Box::leak(Box::new(ResolvedSite::named(
                &self.meta,
                Some(type_name),
                leak(function),
                labels,
            ))),
            None => self.overflow.get_or_init(|| {
                let shared = leak(format!("*::{}", self.meta.fn_name));
                warn_rate_limited(
                    &SETTING,
                    format_args!(
                        "`{}` is called with more than {MAX_NAMES} `Self` types (a trait's default \
                         method?); calls from `{function}` and later types are counted as `{shared}`: \
                         give the method `#[observe(name = \"..\")]`",
                        self.meta.fn_name
                    ),
                );
                ResolvedSite::named(&self.meta, None, shared, labels)
            }),
        };
        self.other_types.remember(type_name, resolved)
    }

    pub(crate) fn meta(&self) -> &SiteMeta {
        &self.meta
    }

    /// Resolves a site ahead of its first call, so its series are exported at 0, when everything it needs
    /// is known at link time: a static name and no labels evaluated at run time.
    pub(crate) fn resolve_ahead(&'static self) {
        let static_name = self.meta.function.is_some();
        let static_labels = self
            .meta
            .custom
            .map_or(true, |c| c.literals.iter().all(|l| !l.is_empty()));
        if static_name && static_labels {
            let labels: Vec<LabelIndex> = self
                .meta
                .custom
                .map(|c| {
                    c.literals
                        .iter()
                        .map(|lit| LabelIndex::literal(lit))
                        .collect()
                })
                .unwrap_or_default();
            let _ = self.resolve(None, &labels);
        }
    }

    /// The resolved state, if the site ran or was resolved ahead.
    pub(crate) fn resolved(&self) -> Option<&ResolvedSite> {
        self.resolved.get()
    }

    /// How this site names itself in an error before its first call.
    pub(crate) fn site_name(&self) -> SiteName {
        SiteName {
            function: self
                .resolved
                .get()
                .map_or(self.meta.function.unwrap_or(self.meta.fn_name), |r| {
                    r.function
                }),
            module: self.meta.module,
            labels: self.meta.custom.map_or(&[], |c| c.names),
        }
    }
}

/// A site and the children of this call's label combination.
#[derive(Clone, Copy)]
pub struct Resolved {
    site: &'static ResolvedSite,
    metrics: CallMetrics,
}

impl Resolved {
    /// Starts a call: in-flight up, clock started. The guard records the rest when it is dropped or
    /// finished.
    // Inlined into the call site so that the span is built in place in the guard rather than copied
    // into it (a copy just after the span's own stores stalls on store forwarding).
    #[inline(always)]
    pub fn enter<S: SpanHandle>(self, span: S) -> CallGuard<S> {
        // A handler-mode site under the HTTP layer leaves the request's count and its access line to
        // the layer, which saw the request first; its span stays.
        if matches!(self.metrics, CallMetrics::Http(_)) && crate::http::under_layer() {
            return CallGuard::start(self.site, CallMetrics::None, span).quiet();
        }
        CallGuard::start(self.site, self.metrics, span)
    }

    /// The `function` label.
    #[inline]
    pub fn function(&self) -> &'static str {
        self.site.function
    }
}

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
    self_type: Option<&'static str>,
    pub(crate) meta: &'static SiteMeta,
    metrics: Option<SiteMetrics>,
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
    fn new(
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

    fn named(
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
        }
    }

    #[inline]
    fn metrics_for(&'static self, labels: &[LabelIndex]) -> CallMetrics {
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

/// `Type::method`.
fn type_function(type_name: &str, fn_name: &str) -> String {
    format!("{}::{}", short_type_name(type_name), fn_name)
}

fn leak(s: String) -> &'static str {
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
