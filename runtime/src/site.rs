//! One `static` per observed function: what the macro knew at compile time, and the metric children
//! resolved on the first call so that every later call only indexes and increments.

use crate::guard::{CallGuard, Completion, SpanHandle};
use crate::metrics::{FUNCTION, HTTP};
use crate::warn::{warn_rate_limited, LABEL};
use once_cell::sync::OnceCell;
use prometheus::{Histogram, IntCounter, IntGauge};

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
    /// `false` under `skip_metrics`.
    pub metrics: bool,
    /// The body is synchronous: it cannot be cancelled.
    pub sync_body: bool,
    /// Writes the completion log line; generated per site so its level and target are the site's own.
    pub emit: fn(&Completion<'_>),
}

/// Which families a site records.
pub enum SiteKind {
    /// `function_*`.
    Function {
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

/// A call site: its metadata and, after the first call, its resolved name and metric children.
pub struct Site {
    meta: SiteMeta,
    resolved: OnceCell<ResolvedSite>,
}

impl Site {
    /// For the macro's `static`.
    pub const fn new(meta: SiteMeta) -> Self {
        Site {
            meta,
            resolved: OnceCell::new(),
        }
    }

    /// The site's resolved state; `self_type` is `type_name::<Self>` for methods.
    #[inline]
    pub fn resolve(
        &'static self,
        self_type: Option<fn() -> &'static str>,
    ) -> &'static ResolvedSite {
        self.resolved
            .get_or_init(|| ResolvedSite::new(&self.meta, self_type))
    }
}

/// A site after its first call.
pub struct ResolvedSite {
    pub(crate) function: &'static str,
    pub(crate) meta: &'static SiteMeta,
    pub(crate) metrics: Option<SiteMetrics>,
}

pub(crate) enum SiteMetrics {
    Function(FunctionChildren),
    Handler(HandlerChildren),
}

/// Children of the `function_*` families, indexed by [`crate::guard::CompletionResult`].
pub(crate) struct FunctionChildren {
    calls: [IntCounter; 3],
    duration: [Histogram; 3],
    pub(crate) in_flight: IntGauge,
    panics: IntCounter,
    /// The error counter's children for the error type's labels, created on the first completion (the
    /// labels come from the return type, which the first completion reveals).
    errors: OnceCell<ErrorChildren>,
}

struct ErrorChildren {
    labels: &'static [&'static str],
    counters: Box<[IntCounter]>,
}

/// Status codes 100..=599, each resolved on first use: pre-creating 500 series per route would flood the
/// exposition with zeros.
const STATUS_MIN: u16 = 100;
const STATUS_COUNT: usize = 500;

pub(crate) struct HandlerChildren {
    method: &'static str,
    route: &'static str,
    duration: prometheus::HistogramVec,
    pub(crate) in_flight: IntGauge,
    by_status: Box<[OnceCell<(IntCounter, Histogram)>]>,
}

impl ResolvedSite {
    fn new(meta: &'static SiteMeta, self_type: Option<fn() -> &'static str>) -> Self {
        let function = match (meta.function, self_type) {
            (Some(name), _) => name,
            (None, Some(type_name)) => leak(format!(
                "{}::{}",
                short_type_name(type_name()),
                meta.fn_name
            )),
            (None, None) => meta.fn_name,
        };
        let metrics = meta.metrics.then(|| match meta.kind {
            SiteKind::Function { buckets } => {
                let f = &*FUNCTION;
                let calls = |r: &str| f.calls.with_label_values(&[function, meta.module, r]);
                let vec = f.duration.with_buckets(buckets);
                let duration = |r: &str| vec.with_label_values(&[function, meta.module, r]);
                SiteMetrics::Function(FunctionChildren {
                    calls: [calls("ok"), calls("error"), calls("cancelled")],
                    duration: [duration("ok"), duration("error"), duration("cancelled")],
                    in_flight: f.in_flight.with_label_values(&[function, meta.module]),
                    panics: f
                        .errors
                        .with_label_values(&[function, meta.module, "panic"]),
                    errors: OnceCell::new(),
                })
            }
            SiteKind::Handler {
                method,
                route,
                buckets,
            } => {
                let h = &*HTTP;
                SiteMetrics::Handler(HandlerChildren {
                    method,
                    route,
                    duration: h.duration.with_buckets(buckets),
                    in_flight: h.in_flight.with_label_values(&[method, route]),
                    by_status: (0..STATUS_COUNT).map(|_| OnceCell::new()).collect(),
                })
            }
        });
        ResolvedSite {
            function,
            meta,
            metrics,
        }
    }

    /// Starts a call: in-flight up, clock started. The guard records the rest when it is dropped or
    /// finished.
    #[inline]
    pub fn enter<S: SpanHandle>(&'static self, span: S) -> CallGuard<S> {
        CallGuard::start(self, span)
    }

    /// The `function` label.
    pub fn function(&self) -> &'static str {
        self.function
    }
}

impl FunctionChildren {
    /// `labels` is the error type's label list when the return value revealed it (not after a panic or
    /// a cancellation).
    #[inline]
    pub(crate) fn record(
        &self,
        site: &ResolvedSite,
        result: usize,
        seconds: f64,
        labels: Option<&'static [&'static str]>,
        error: Option<ErrorKind>,
    ) {
        self.calls[result].inc();
        self.duration[result].observe(seconds);
        let cached = labels.map(|labels| {
            self.errors.get_or_init(|| ErrorChildren {
                labels,
                counters: labels
                    .iter()
                    .map(|l| {
                        FUNCTION
                            .errors
                            .with_label_values(&[site.function, site.meta.module, l])
                    })
                    .collect(),
            })
        });
        let index = match error {
            None => return,
            Some(ErrorKind::Panic) => return self.panics.inc(),
            Some(ErrorKind::Index(i)) => i,
        };
        let labels = labels.unwrap_or(crate::outcome::DEFAULT_ERROR_LABELS);
        // One site can serve several error types (a generic function): only the first type's children
        // are cached; another type's labels take the slower labelled lookup.
        if let Some(cached) = cached.filter(|c| same_labels(c.labels, labels)) {
            if let Some(counter) = cached.counters.get(index) {
                return counter.inc();
            }
        }
        let label = labels.get(index).copied().unwrap_or("error");
        FUNCTION
            .errors
            .with_label_values(&[site.function, site.meta.module, label])
            .inc();
    }
}

/// How a failed call is labelled.
#[derive(Clone, Copy)]
pub(crate) enum ErrorKind {
    Index(usize),
    Panic,
}

fn same_labels(a: &'static [&'static str], b: &'static [&'static str]) -> bool {
    // Associated consts may be duplicated per codegen unit, so equal contents count as the same list.
    std::ptr::eq(a, b) || a == b
}

impl HandlerChildren {
    #[inline]
    pub(crate) fn record(&self, status: u16, seconds: f64) {
        let idx = status.wrapping_sub(STATUS_MIN) as usize;
        match self.by_status.get(idx) {
            Some(cell) => {
                let (count, duration) = cell.get_or_init(|| {
                    let code = status.to_string();
                    (
                        HTTP.requests
                            .with_label_values(&[self.method, self.route, &code]),
                        self.duration
                            .with_label_values(&[self.method, self.route, &code]),
                    )
                });
                count.inc();
                duration.observe(seconds);
            }
            None => {
                warn_rate_limited(
                    &LABEL,
                    format_args!(
                        "sightline: {} {} returned status {status}, outside 100..=599; counted as 500",
                        self.method, self.route
                    ),
                );
                self.record(500, seconds);
            }
        }
    }
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
