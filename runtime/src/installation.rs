//! What sightline's per-call code needs of the installation it records for: the log writer, the filter its
//! own spans and lines follow, and where exported spans go. One per `install()` or `into_layer()`, kept
//! for the life of the process (a few hundred bytes), so the hot path holds a plain reference to it and
//! never counts references.

use crate::logs::{LineSink, SUMMARY_TARGET};
use crate::traces::{is_exporter_stack, Rings, SamplerChoice};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing_core::{Level, LevelFilter};
use tracing_subscriber::filter::Targets;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// See the module docs.
pub(crate) struct Installation {
    /// Tells this installation's cached decisions from another's (ids start at 1).
    id: u64,
    pub(crate) lines: Arc<LineSink>,
    /// The log level's target and level directives.
    filter: Targets,
    /// Where exported spans go; `None` in local mode.
    pub(crate) rings: Option<Arc<Rings>>,
    pub(crate) sampler: SamplerChoice,
    /// The most verbose level traced when exporting.
    max_level: LevelFilter,
    /// Span summary lines are written (local mode, with `sightline::spans` at `debug`).
    summaries: bool,
}

/// What one call site does under one installation, decided once per site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decisions(u16);

impl Decisions {
    const SPAN: u16 = 1;
    const EXPORT: u16 = 1 << 1;
    const SUMMARY: u16 = 1 << 2;
    /// Then one bit per level, `ERROR` first.
    const LINES: u32 = 3;
    const VALID: u64 = 1 << 15;

    /// Nothing: no span, no line (no installation).
    pub(crate) const NONE: Decisions = Decisions(0);

    /// The call has a span: ids, a frame on the thread's stack, its fields.
    #[inline]
    pub(crate) fn span(self) -> bool {
        self.0 & Self::SPAN != 0
    }

    /// Its span is exported when sampled.
    #[inline]
    pub(crate) fn exported(self) -> bool {
        self.0 & Self::EXPORT != 0
    }

    /// A summary line is written when its span ends.
    #[inline]
    pub(crate) fn summary(self) -> bool {
        self.0 & Self::SUMMARY != 0
    }

    /// A line at `level` is written.
    #[inline]
    pub(crate) fn line(self, level: Level) -> bool {
        self.0 & (1 << (Self::LINES + level_index(level))) != 0
    }

    /// Any line, or a span: whether a call has anything to do beyond its metrics.
    #[inline]
    pub(crate) fn any(self) -> bool {
        self.0 != 0
    }
}

#[inline]
fn level_index(level: Level) -> u32 {
    match level {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        _ => 4,
    }
}

const LEVELS: [Level; 5] = [
    Level::ERROR,
    Level::WARN,
    Level::INFO,
    Level::DEBUG,
    Level::TRACE,
];

/// What a settled [`Installation`] is made of.
pub(crate) struct Parts {
    pub(crate) lines: Arc<LineSink>,
    pub(crate) filter: Targets,
    pub(crate) rings: Option<Arc<Rings>>,
    pub(crate) sampler: SamplerChoice,
    pub(crate) max_level: LevelFilter,
}

impl Installation {
    /// A new installation, kept for the life of the process.
    pub(crate) fn leak(parts: Parts) -> &'static Installation {
        let summaries =
            parts.rings.is_none() && parts.filter.would_enable(SUMMARY_TARGET, &Level::DEBUG);
        Box::leak(Box::new(Installation {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            lines: parts.lines,
            filter: parts.filter,
            rings: parts.rings,
            sampler: parts.sampler,
            max_level: parts.max_level,
            summaries,
        }))
    }

    /// Tells this installation from another in a cache.
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// What a call site whose target (module) is `target` does: it has a span when spans are exported
    /// (within the traced level, outside the exporter's stack) or when its span's level is logged, and a
    /// line at each level the filter lets through for it.
    pub(crate) fn decide(&self, target: &str) -> Decisions {
        let exporting = self.rings.is_some();
        let span = if exporting {
            self.max_level >= Level::INFO && !is_exporter_stack(target)
        } else {
            self.filter.would_enable(target, &Level::INFO)
        };
        let mut bits = 0;
        if span {
            bits |= Decisions::SPAN;
            if exporting {
                bits |= Decisions::EXPORT;
            } else if self.summaries {
                bits |= Decisions::SUMMARY;
            }
        }
        for level in LEVELS {
            if self.filter.would_enable(target, &level) {
                bits |= 1 << (Decisions::LINES + level_index(level));
            }
        }
        Decisions(bits)
    }

    /// [`decide`](Self::decide), remembered in `cache` (one per call site) for this installation.
    #[inline]
    pub(crate) fn decisions(&self, cache: &AtomicU64, target: &str) -> Decisions {
        let cached = cache.load(Ordering::Relaxed);
        if cached >> 16 == self.id {
            return Decisions(cached as u16 & !(Decisions::VALID as u16));
        }
        self.decide_into(cache, target)
    }

    #[cold]
    fn decide_into(&self, cache: &AtomicU64, target: &str) -> Decisions {
        let decisions = self.decide(target);
        cache.store(
            self.id << 16 | Decisions::VALID | u64::from(decisions.0),
            Ordering::Relaxed,
        );
        decisions
    }
}

/// The target and level directives of a log filter (`info,my_crate=debug`), for sightline's own spans
/// and lines, which are not `tracing` callsites: span and field directives (`[request{user=..}]=debug`),
/// which only `tracing` spans can match, are left out.
pub(crate) fn own_filter(directives: &str) -> Targets {
    let targets: Vec<&str> = directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty() && !d.contains('[') && !d.contains('{'))
        .collect();
    targets
        .join(",")
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_directives_are_left_out_of_the_own_filter() {
        let filter = own_filter("warn,shop::orders=debug,[request{user=ada}]=trace");
        assert!(filter.would_enable("shop::orders", &Level::DEBUG));
        assert!(!filter.would_enable("shop::cart", &Level::INFO));
        assert!(filter.would_enable("shop::cart", &Level::WARN));
    }

    #[test]
    fn a_cached_decision_belongs_to_its_installation() {
        let sink = Arc::new(LineSink::new(
            "svc",
            Arc::default(),
            crate::logs::Writer::Make(crate::logs::MakeLines::new(std::io::sink)),
        ));
        let make = |level: &str| {
            Installation::leak(Parts {
                lines: Arc::clone(&sink),
                filter: own_filter(level),
                rings: None,
                sampler: SamplerChoice::AlwaysOn,
                max_level: LevelFilter::INFO,
            })
        };
        let (info, error) = (make("info"), make("error"));
        let cache = AtomicU64::new(0);
        let at_info = info.decisions(&cache, "shop");
        assert!(at_info.span() && at_info.line(Level::INFO) && !at_info.line(Level::DEBUG));
        let at_error = error.decisions(&cache, "shop");
        assert!(!at_error.span() && !at_error.line(Level::WARN) && at_error.line(Level::ERROR));
        assert_eq!(info.decisions(&cache, "shop"), at_info);
    }
}
