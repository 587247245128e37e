//! Every observed call site linked into the binary, collected at link time, so tools and alert
//! generation can see what is instrumented without running it.

use crate::call::meta::SiteKind;
use crate::call::site::Site;
use crate::metrics::custom::{self, LabelConflict};
use serde_json::{json, Value};
use sightline_conventions::{self as conventions, Family};
use std::sync::{PoisonError, RwLock};

/// One call site, as the expanded code submits it: one entry per `#[observe]` in the binary.
#[doc(hidden)]
pub struct SiteEntry(pub &'static Site);

inventory::collect!(SiteEntry);

/// Every call site linked into the binary, by module and function name (the order the link gave them
/// in is not a stable one).
fn sites() -> Vec<&'static Site> {
    let mut sites: Vec<&'static Site> = inventory::iter::<SiteEntry>
        .into_iter()
        .map(|entry| entry.0)
        .collect();
    sites.sort_by_key(|site| (site.meta().module, site.meta().fn_name));
    sites
}

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
    sites().into_iter().map(info).collect()
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
        conventions::CUSTOM
            .iter()
            .map(|family| family.name(custom.metric))
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
                names(&conventions::FUNCTION.all())
            }
            SiteKind::Business { operation, .. } => {
                labels.push(LabelInfo {
                    name: "operation",
                    values: Some(vec![operation]),
                });
                names(&conventions::BUSINESS.all())
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
                names(&conventions::HTTP.all())
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

fn names(families: &[Family]) -> Vec<String> {
    families.iter().map(|f| f.name.to_owned()).collect()
}

/// The catalogue format [`catalog_json`] writes (read by `sightline-alerts`).
pub const CATALOG_VERSION: u64 = 1;

/// The service name given at `install()`, for the catalogue.
static SERVICE: RwLock<Option<String>> = RwLock::new(None);

/// Every instrumented site of this binary, its objectives, and the names the installed registry gives
/// the families, as JSON: what `sightline-alerts export --catalog` generates alert rules and dashboards
/// from. Written at `install()` to the file `SIGHTLINE_CATALOG_OUT` names, when it is set.
pub fn catalog_json() -> String {
    let naming = crate::metrics::naming();
    let service = SERVICE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let sites: Vec<Value> = sites().into_iter().map(site_json).collect();
    let json = json!({
        "sightline_catalog": CATALOG_VERSION,
        "service": service,
        "naming": {
            "prefix": naming.prefix,
            "const_labels": naming
                .const_labels
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect::<Vec<_>>(),
        },
        "sites": sites,
    });
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');
    text
}

fn site_json(site: &'static Site) -> Value {
    let meta = site.meta();
    let info = info(site);
    let operation = match meta.kind {
        SiteKind::Business { operation, .. } => Some(operation),
        _ => None,
    };
    let objective = meta.objective.map(|def| {
        json!({
            "latency_seconds": def.latency_seconds(),
            "percentile": def.percentile(),
            "error_rate_percent": def.error_rate_percent(),
        })
    });
    json!({
        "kind": info.kind,
        "function": info.function,
        "function_resolved": info.function_resolved,
        "module": info.module,
        "operation": operation,
        "http": info.http.map(|(method, route)| json!({"method": method, "route": route})),
        "families": info.families,
        "labels": info
            .labels
            .iter()
            .map(|label| json!({"name": label.name, "values": label.values}))
            .collect::<Vec<_>>(),
        "objective": objective,
    })
}

/// At a successful `install()`: the service's name for the catalogue, and the catalogue written where
/// `SIGHTLINE_CATALOG_OUT` says. A file that cannot be written is a warning; the service runs on.
pub(crate) fn installed(service: &str) {
    *SERVICE.write().unwrap_or_else(PoisonError::into_inner) = Some(service.to_owned());
    let Some(path) = std::env::var_os("SIGHTLINE_CATALOG_OUT").filter(|p| !p.is_empty()) else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    if let Err(error) = std::fs::write(&path, catalog_json()) {
        crate::warn::warn_rate_limited(
            &crate::warn::SETTING,
            format_args!(
                "SIGHTLINE_CATALOG_OUT={} was not written: {error}",
                path.display()
            ),
        );
    }
}

/// At `install()`: declares every custom family of the catalogue (reporting two sites that disagree on
/// one family's labels), then resolves every site whose labels are all known at link time, so its
/// series are exported at 0 before the first call.
pub(crate) fn prepare() -> Result<(), LabelConflict> {
    let sites = sites();
    for site in &sites {
        let meta = site.meta();
        if let (Some(custom), true) = (meta.custom, meta.metrics) {
            custom::family(custom, site.site_name())?;
        }
    }
    for site in sites {
        site.resolve_ahead();
    }
    Ok(())
}
