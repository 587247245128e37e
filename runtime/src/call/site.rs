//! One `static` per observed function: what the macro knew at compile time, and the metric children
//! resolved on the first call so that every later call only indexes and increments.

use super::guard::CallGuard;
use super::meta::SiteMeta;
use super::resolved::{leak, type_function, CallMetrics, ResolvedSite};
use super::self_types::{same_type_name, SelfTypes, MAX_NAMES};
use crate::labels::LabelIndex;
use crate::metrics::custom::SiteName;
use crate::warn::{warn_rate_limited, SETTING};
use once_cell::sync::OnceCell;

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

    /// Starts a call: resolves the site (its name and metric children, on the first call), counts the
    /// call in flight, starts its clock and its span. `self_type` is `type_name::<Self>` for methods,
    /// `labels` the values of `labels(..)` for this call, evaluated before the body.
    #[inline]
    pub fn start(
        &'static self,
        self_type: Option<fn() -> &'static str>,
        labels: &[LabelIndex],
    ) -> CallGuard {
        self.resolve(self_type, labels).enter()
    }

    /// The site's resolved state for a call with these `Self` type and labels.
    #[inline]
    pub(crate) fn resolve(
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
pub(crate) struct Resolved {
    site: &'static ResolvedSite,
    metrics: CallMetrics,
}

impl Resolved {
    /// Starts a call: in-flight up, clock started. The guard records the rest when it is dropped or
    /// finished.
    #[inline(always)]
    fn enter(self) -> CallGuard {
        // A handler-mode site under the HTTP layer leaves the request's count and its access line to
        // the layer, which saw the request first; its span stays.
        if matches!(self.metrics, CallMetrics::Http(_)) && crate::http::under_layer() {
            return CallGuard::start(self.site, CallMetrics::None, true);
        }
        CallGuard::start(self.site, self.metrics, false)
    }
}

/// `site!(NAME, { meta fields })`: the call site's `static`, listed in the catalogue before `main`, so
/// `install()` and `catalog()` know every site before it runs.
#[doc(hidden)]
#[macro_export]
macro_rules! __sightline_site {
    ($name:ident, { $($meta:tt)* }) => {
        static $name: $crate::__private::Site =
            $crate::__private::Site::new($crate::__private::SiteMeta { $($meta)* });
        $crate::__private::inventory::submit! { $crate::__private::SiteEntry(&$name) }
    };
}
