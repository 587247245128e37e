//! Every observed call site linked into the binary, collected at link time, so tools and alert
//! generation can see what is instrumented without running it.

use crate::metrics::custom::{self, LabelConflict};
use crate::site::{Site, SiteKind};

/// The call sites, one entry per `#[observe]` in the binary.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static SITES: [&'static Site];

/// One instrumented call site.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteInfo {
    /// `"function"`, `"business"` or `"handler"`.
    pub kind: &'static str,
    /// The `function` label; for a method named after `Self`, its own name until its first call.
    pub function: &'static str,
    /// Whether `function` is final (known at link time or resolved by a call).
    pub function_resolved: bool,
    /// `module_path!()`.
    pub module: &'static str,
    /// The metric families the site records (none under `skip_metrics`).
    pub families: Vec<String>,
    /// Label names of those families, the outcome and `error_kind` aside.
    pub labels: Vec<LabelInfo>,
    /// Handler mode: method and route.
    pub http: Option<(&'static str, &'static str)>,
}

/// One label of a site.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelInfo {
    /// The label's name.
    pub name: &'static str,
    /// Its possible values: known at link time for string literals, and for other labels once the site
    /// has run (the macro sees expressions, not their types).
    pub values: Option<Vec<&'static str>>,
}

/// Every instrumented site linked into this binary.
pub fn catalog() -> Vec<SiteInfo> {
    SITES.iter().map(|site| info(site)).collect()
}

fn info(site: &'static Site) -> SiteInfo {
    let meta = site.meta();
    let resolved = site.resolved();
    let (function, function_resolved) = match (resolved, meta.function) {
        (Some(r), _) => (r.function, true),
        (None, Some(name)) => (name, true),
        (None, None) => (meta.fn_name, false),
    };
    let (kind, http) = match meta.kind {
        SiteKind::Function { .. } => ("function", None),
        SiteKind::Business { .. } => ("business", None),
        SiteKind::Handler { method, route, .. } => ("handler", Some((method, route))),
    };
    let mut labels = Vec::new();
    let families: Vec<String> = if !meta.metrics {
        Vec::new()
    } else if let Some(custom) = meta.custom {
        let runtime_values = resolved.and_then(|r| r.label_values());
        for (i, name) in custom.names.iter().enumerate() {
            let literal = custom.literals.get(i).filter(|l| !l.is_empty());
            let values = literal
                .map(|l| l.to_vec())
                .or_else(|| runtime_values.and_then(|v| v.get(i)).map(|v| v.to_vec()));
            labels.push(LabelInfo { name, values });
        }
        [
            "_total",
            "_errors_total",
            "_expected_errors_total",
            "_duration_seconds",
            "_in_flight",
        ]
        .iter()
        .map(|suffix| format!("{}{suffix}", custom.metric))
        .collect()
    } else {
        match meta.kind {
            SiteKind::Function { .. } => {
                labels.push(LabelInfo {
                    name: "function",
                    values: function_resolved.then(|| vec![function]),
                });
                labels.push(LabelInfo {
                    name: "module",
                    values: Some(vec![meta.module]),
                });
                [
                    "function_calls_total",
                    "function_errors_total",
                    "function_expected_errors_total",
                    "function_call_duration_seconds",
                    "function_calls_in_flight",
                ]
                .map(String::from)
                .to_vec()
            }
            SiteKind::Business { operation, .. } => {
                labels.push(LabelInfo {
                    name: "operation",
                    values: Some(vec![operation]),
                });
                [
                    "business_operations_total",
                    "business_operation_errors_total",
                    "business_operation_expected_errors_total",
                    "business_operation_duration_seconds",
                    "business_operations_in_flight",
                ]
                .map(String::from)
                .to_vec()
            }
            SiteKind::Handler { method, route, .. } => {
                labels.push(LabelInfo {
                    name: "method",
                    values: Some(vec![method]),
                });
                labels.push(LabelInfo {
                    name: "route",
                    values: Some(vec![route]),
                });
                [
                    "http_requests_total",
                    "http_request_duration_seconds",
                    "http_requests_in_flight",
                ]
                .map(String::from)
                .to_vec()
            }
        }
    };
    SiteInfo {
        kind,
        function,
        function_resolved,
        module: meta.module,
        families,
        labels,
        http,
    }
}

/// The objectives of every site linked into the binary, for generated alert rules.
pub(crate) fn objectives() -> Vec<crate::alerts::Objective> {
    use crate::alerts::{Objective, ObjectiveSite};
    SITES
        .iter()
        .filter_map(|site| {
            let meta = site.meta();
            let def = meta.objective?;
            let info = info(site);
            let site = match meta.kind {
                SiteKind::Function { .. } => ObjectiveSite::Function {
                    function: info.function.to_string(),
                    module: info.module.to_string(),
                },
                SiteKind::Handler { method, route, .. } => ObjectiveSite::Handler {
                    method: method.to_string(),
                    route: route.to_string(),
                },
                SiteKind::Business { operation, .. } => ObjectiveSite::Business {
                    operation: operation.to_string(),
                },
            };
            Some(Objective {
                site,
                latency_seconds: def.latency_seconds(),
                percentile: def.percentile(),
                error_rate_percent: def.error_rate_percent(),
            })
        })
        .collect()
}

/// At `install()`: declares every custom family of the catalogue (reporting two sites that disagree on
/// one family's labels), then resolves every site whose labels are all known at link time, so its
/// series are exported at 0 before the first call.
pub(crate) fn prepare() -> Result<(), LabelConflict> {
    for site in SITES.iter() {
        let meta = site.meta();
        if let (Some(custom), true) = (meta.custom, meta.metrics) {
            custom::family(custom, site.site_name())?;
        }
    }
    for site in SITES.iter() {
        site.resolve_ahead();
    }
    Ok(())
}
