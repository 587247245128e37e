//! Service level objectives declared on sites, as the macros hand them over.

/// A service level objective: `objective(latency = "2s", percentile = 99, error_rate = "1%")` on a site,
/// or `sightline::objective!(..)` for a `const` several sites share with `objective = NAME`.
///
/// Integers, so a shared objective can be checked against each site's buckets in a constant: latency in
/// microseconds, percentages in parts per million (99 % = 990 000).
///
/// Made only by the macros, which check it: a latency is a duration, a percentile lies in (0, 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjectiveDef {
    latency_micros: Option<u64>,
    percentile_ppm: u32,
    error_rate_ppm: Option<u32>,
}

/// The value `objective!(..)` and `objective(..)` expand to, from the values they checked.
#[doc(hidden)]
pub const fn objective_def(
    latency_micros: Option<u64>,
    percentile_ppm: u32,
    error_rate_ppm: Option<u32>,
) -> ObjectiveDef {
    ObjectiveDef {
        latency_micros,
        percentile_ppm,
        error_rate_ppm,
    }
}

impl ObjectiveDef {
    /// Calls slower than this, in microseconds, are bad for the latency objective.
    pub const fn latency_micros(&self) -> Option<u64> {
        self.latency_micros
    }

    /// The share of calls that must be faster than the latency, in parts per million (99 % = 990 000).
    pub const fn percentile_ppm(&self) -> u32 {
        self.percentile_ppm
    }

    /// The share of calls that may fail, in parts per million.
    pub const fn error_rate_ppm(&self) -> Option<u32> {
        self.error_rate_ppm
    }

    /// Latency threshold in seconds.
    pub fn latency_seconds(&self) -> Option<f64> {
        self.latency_micros.map(|m| m as f64 / 1e6)
    }

    /// Percentile in percent (99.0).
    pub fn percentile(&self) -> f64 {
        f64::from(self.percentile_ppm) / 10_000.0
    }

    /// Error budget in percent (1.0).
    pub fn error_rate_percent(&self) -> Option<f64> {
        self.error_rate_ppm.map(|e| f64::from(e) / 10_000.0)
    }
}

/// A shared objective's latency must be one of the site's bucket bounds (in microseconds); evaluated as
/// a constant, so a mismatch fails the build with the site's name and its buckets.
#[doc(hidden)]
pub const fn check_objective_latency(
    objective: &ObjectiveDef,
    buckets_micros: &[u64],
    function: &str,
    buckets: &str,
) {
    let Some(latency) = objective.latency_micros else {
        return;
    };
    let mut i = 0;
    while i < buckets_micros.len() {
        if buckets_micros[i] == latency {
            return;
        }
        i += 1;
    }
    const_panic::concat_panic!(
        "the objective of `",
        display: function,
        "` has a latency of ",
        latency,
        " us, which is not a histogram bucket bound of this function; its buckets are ",
        display: buckets
    );
}
