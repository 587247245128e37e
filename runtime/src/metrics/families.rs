//! The metric families, with the exact names and labels the classic alert rules use.

use super::family::{RedFamily, RedNames};
use once_cell::sync::Lazy;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use sightline_conventions::RedFamilies;

pub use sightline_conventions::DEFAULT_BUCKETS;

fn red_names(families: &RedFamilies) -> RedNames {
    families
        .all()
        .map(|family| (family.name.to_owned(), family.help.to_owned()))
        .into()
}

/// The labels of a table entry's series before the outcome or `error_kind`: those of its gauge.
fn site_labels(families: &RedFamilies) -> &'static [&'static str] {
    families.in_flight.labels
}

/// `function_*`: what `#[observe]` records on ordinary functions.
pub(crate) static FUNCTION: Lazy<RedFamily> = Lazy::new(|| {
    let table = &sightline_conventions::FUNCTION;
    RedFamily::new(red_names(table), site_labels(table), table.outcome_label)
});

/// `business_operation*`: what `#[business_span]` records.
pub(crate) static BUSINESS: Lazy<RedFamily> = Lazy::new(|| {
    let table = &sightline_conventions::BUSINESS;
    RedFamily::new(red_names(table), site_labels(table), table.outcome_label)
});

/// A family living for the whole process, as the registry's boxed collector.
struct Static(&'static (dyn Collector + Sync));

impl Collector for Static {
    fn desc(&self) -> Vec<&Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0.collect()
    }
}

/// A family as a boxed collector, to register or unregister.
pub(crate) fn boxed(family: &'static (dyn Collector + Sync)) -> Box<dyn Collector> {
    Box::new(Static(family))
}
