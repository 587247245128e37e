//! Families named by `#[observe(metric = "..", labels(..))]`: `<metric>_total`, `<metric>_errors_total`,
//! `<metric>_duration_seconds` and `<metric>_in_flight`, shared by every site that declares the same
//! metric with the same label names.

use super::family::RedFamily;
use once_cell::sync::Lazy;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

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

pub(crate) struct CustomFamily {
    pub names: &'static [&'static str],
    pub declared_by: SiteName,
    pub family: RedFamily,
}

/// A site as an error message names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteName {
    /// The function (as its `function` label, or its own name for a method not yet called).
    pub function: &'static str,
    /// Its module.
    pub module: &'static str,
    /// The custom label names it declares.
    pub labels: &'static [&'static str],
}

impl fmt::Display for SiteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` in `{}` (labels: {})",
            self.function,
            self.module,
            self.labels.join(", ")
        )
    }
}

/// Two sites declared one family with different label names.
#[derive(Clone, Debug)]
pub struct LabelConflict {
    /// The `metric = ".."` both sites use.
    pub metric: &'static str,
    /// The site that declared it first.
    pub first: SiteName,
    /// The site that disagrees.
    pub second: SiteName,
}

impl fmt::Display for LabelConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "metric `{}` is declared with different label names by {} and by {}: a Prometheus family has \
             one label set; give one of them another `metric` or the same labels",
            self.metric, self.first, self.second
        )
    }
}

static FAMILIES: Lazy<Mutex<HashMap<&'static str, &'static CustomFamily>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

/// The family `labels` declares, created on first use; an error when another site declared it with
/// other label names.
pub(crate) fn family(
    labels: &'static CustomLabels,
    site: SiteName,
) -> Result<&'static CustomFamily, LabelConflict> {
    let mut all = FAMILIES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(existing) = all.get(labels.metric) {
        if existing.names == labels.names {
            return Ok(existing);
        }
        return Err(LabelConflict {
            metric: labels.metric,
            first: existing.declared_by.clone(),
            second: site,
        });
    }
    // One per metric name in the program's code: bounded.
    let family: &'static CustomFamily = Box::leak(Box::new(CustomFamily::new(labels, site)));
    super::registry::add(
        Box::new(move || super::families::boxed(&family.family)),
        labels.metric,
    );
    all.insert(labels.metric, family);
    Ok(family)
}

impl CustomFamily {
    fn new(labels: &'static CustomLabels, declared_by: SiteName) -> Self {
        let m = labels.metric;
        CustomFamily {
            names: labels.names,
            family: RedFamily::new(
                sightline_conventions::CUSTOM
                    .map(|family| (family.name(m), family.help(m)))
                    .into(),
                labels.names,
                labels.outcome_label,
            ),
            declared_by,
        }
    }
}
