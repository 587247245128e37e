//! The metric families, with the exact names and labels the classic alert rules use.

use super::family::{RedFamily, RedNames};
use once_cell::sync::Lazy;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::Registry;

pub use sightline_names::DEFAULT_BUCKETS;

fn names(pairs: [(&str, &str); 5]) -> RedNames {
    let [calls, errors, expected_errors, duration, in_flight] =
        pairs.map(|(name, help)| (name.to_owned(), help.to_owned()));
    RedNames {
        calls,
        errors,
        expected_errors,
        duration,
        in_flight,
    }
}

/// `function_*`: what `#[observe]` records on ordinary functions.
pub(crate) static FUNCTION: Lazy<RedFamily> = Lazy::new(|| {
    RedFamily::new(
        names([
            (
                "function_calls_total",
                "Calls of observed functions, by outcome.",
            ),
            (
                "function_errors_total",
                "Failed calls of observed functions, by error kind.",
            ),
            (
                "function_expected_errors_total",
                "Calls of observed functions that ended in an expected outcome (a business outcome, \
                 not a fault), by error kind.",
            ),
            (
                "function_call_duration_seconds",
                "Duration of observed function calls in seconds.",
            ),
            (
                "function_calls_in_flight",
                "Observed function calls currently running.",
            ),
        ]),
        &["function", "module"],
        "result",
    )
});

/// `business_operation*`: what `#[business_span]` records.
pub(crate) static BUSINESS: Lazy<RedFamily> = Lazy::new(|| {
    RedFamily::new(
        names([
            (
                "business_operations_total",
                "Business operations, by outcome.",
            ),
            (
                "business_operation_errors_total",
                "Failed business operations, by error kind.",
            ),
            (
                "business_operation_expected_errors_total",
                "Business operations that ended in an expected outcome (a business outcome, not a \
                 fault), by error kind.",
            ),
            (
                "business_operation_duration_seconds",
                "Duration of business operations in seconds.",
            ),
            (
                "business_operations_in_flight",
                "Business operations currently running.",
            ),
        ]),
        &["operation"],
        "outcome",
    )
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

/// Registers a family; a family this registry already holds (a second `into_layer`, a test harness)
/// is not an error.
pub(crate) fn register(
    registry: &Registry,
    family: &'static (dyn Collector + Sync),
) -> prometheus::Result<()> {
    match registry.register(Box::new(Static(family))) {
        Ok(()) | Err(prometheus::Error::AlreadyReg) => Ok(()),
        Err(e) => Err(e),
    }
}
