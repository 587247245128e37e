//! The families the generators query, from sightline-conventions' table: the process collector's by
//! what they hold, and the series a histogram family is exposed as.

use sightline_conventions::{Family, Kind, PROCESS};

/// The process collector's families, by what they hold.
pub(crate) struct ProcessFamilies {
    pub(crate) cpu: Family,
    pub(crate) resident_memory: Family,
    pub(crate) virtual_memory: Family,
    pub(crate) open_fds: Family,
    pub(crate) max_fds: Family,
    pub(crate) threads: Family,
    pub(crate) start_time: Family,
}

/// [`PROCESS`], named in its order: a family added to or taken from it stops the build here.
pub(crate) const PROCESS_FAMILIES: ProcessFamilies = {
    let &[cpu, resident_memory, virtual_memory, open_fds, max_fds, threads, start_time] = PROCESS
    else {
        panic!("the process collector's families changed: name them here")
    };
    ProcessFamilies {
        cpu,
        resident_memory,
        virtual_memory,
        open_fds,
        max_fds,
        threads,
        start_time,
    }
};

/// One of the series a histogram family is exposed as.
#[derive(Clone, Copy)]
pub(crate) enum Histogram {
    /// `_bucket`: the cumulative count of each `le` bound.
    Bucket,
    /// `_count`: every observation.
    Count,
}

impl Histogram {
    /// This series of `family`: `http_request_duration_seconds_bucket`.
    pub(crate) fn of(self, family: &Family) -> String {
        debug_assert_eq!(family.kind, Kind::Histogram, "{}", family.name);
        let suffix = match self {
            Histogram::Bucket => "_bucket",
            Histogram::Count => "_count",
        };
        format!("{}{suffix}", family.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_families_are_named_by_what_they_hold() {
        let p = PROCESS_FAMILIES;
        assert_eq!(p.cpu.kind, Kind::Counter);
        for (family, help) in [
            (p.cpu, "Total user and system CPU time"),
            (p.resident_memory, "Resident memory"),
            (p.virtual_memory, "Virtual memory"),
            (p.open_fds, "Number of open file descriptors"),
            (p.max_fds, "Maximum number of open file descriptors"),
            (p.threads, "Number of OS threads"),
            (p.start_time, "Start time"),
        ] {
            assert!(
                family.help.starts_with(help),
                "{}: {}",
                family.name,
                family.help
            );
        }
    }

    #[test]
    fn histogram_series_carry_their_suffix() {
        let duration = sightline_conventions::HTTP.duration;
        assert_eq!(
            Histogram::Bucket.of(&duration),
            "http_request_duration_seconds_bucket"
        );
        assert_eq!(
            Histogram::Count.of(&duration),
            "http_request_duration_seconds_count"
        );
    }
}
