//! The registry sightline's families live in: each family is registered now when `install()` already
//! ran, or at `install()` when it has not; one path, whatever the order in which families are made.

use super::families::{self, BUSINESS, FUNCTION};
use super::family::HTTP;
use prometheus::core::Collector;
use prometheus::Registry;
use std::sync::{Mutex, PoisonError, RwLock};

/// The registry `install()` chose and the names it gives the families, once it ran.
static INSTALLED: RwLock<Option<(Registry, MetricNaming)>> = RwLock::new(None);

/// The registry the families were installed into: the builder's, or `prometheus::default_registry()`
/// before and without one.
pub fn registry() -> Registry {
    installed().unwrap_or_else(|| prometheus::default_registry().clone())
}

/// How the installed registry names sightline's families: the prefix and constant labels of a registry
/// made with `Registry::new_custom(Some("payments"), labels)` (`payments_http_requests_total{..,
/// region="eu"}`), which the generated alert rules and dashboards must use to match anything. Plain names
/// before `install()` and for a registry without either.
pub(crate) fn naming() -> MetricNaming {
    INSTALLED
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|(_, naming)| naming.clone())
        .unwrap_or_default()
}

/// The prefix and the constant labels a registry adds to every family registered into it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MetricNaming {
    /// Put before every family name, with its `_` (`payments_`); empty for none.
    pub(crate) prefix: String,
    /// On every series, in the order the registry writes them.
    pub(crate) const_labels: Vec<(String, String)>,
}

impl MetricNaming {
    /// What `registry` does to names: found by registering a probe, reading it back and removing it (the
    /// registry keeps its prefix and labels private).
    pub(crate) fn of(registry: &Registry) -> MetricNaming {
        const PROBE: &str = "sightline_registry_naming_probe";
        let Ok(probe) =
            prometheus::IntGauge::new(PROBE, "Removed at once: reads the registry's prefix.")
        else {
            return MetricNaming::default();
        };
        if registry.register(Box::new(probe.clone())).is_err() {
            return MetricNaming::default();
        }
        let naming = registry
            .gather()
            .iter()
            .find_map(|family| {
                let prefix = family.name().strip_suffix(PROBE)?;
                let labels = family.get_metric().first().map_or_else(Vec::new, |m| {
                    m.get_label()
                        .iter()
                        .map(|l| (l.name().to_owned(), l.value().to_owned()))
                        .collect()
                });
                Some(MetricNaming {
                    prefix: prefix.to_owned(),
                    const_labels: labels,
                })
            })
            .unwrap_or_default();
        let _ = registry.unregister(Box::new(probe));
        naming
    }
}

/// Families made after start-up (custom metrics, on their sites' first calls or at `install()`):
/// each is registered into every registry `install()` chooses, including one chosen later. Leaked, so
/// a registration can hold its maker for the life of the process: one per family, bounded.
static LATE: Mutex<Vec<&'static MakeCollector>> = Mutex::new(Vec::new());

/// Registers `make`'s family into the installed registry now, and into any registry `install()`
/// chooses later; `what` names it in the warning a refused registration gives.
pub(crate) fn add(make: MakeCollector, what: &str) {
    let make: &'static MakeCollector = Box::leak(Box::new(make));
    let mut late = LATE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(registry) = installed() {
        match registry.register(make()) {
            Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
            Err(e) => crate::warn::warn_rate_limited(
                &crate::warn::LABEL,
                format_args!("cannot register metric `{what}`: {e}"),
            ),
        }
    }
    late.push(make);
}

/// The registry `install()` chose, once it ran.
pub(crate) fn installed() -> Option<Registry> {
    INSTALLED
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map(|(registry, _)| registry.clone())
}

/// Makes one of sightline's collectors (each registration and removal takes a box of its own).
pub(crate) type MakeCollector = Box<dyn Fn() -> Box<dyn Collector> + Send + Sync>;

/// Why a registry that says it holds `ours` holds something else under its names, if it does: a family
/// of the same name with another help text or other labels. (A family without series is invisible to
/// `gather`, and taken for ours.)
fn foreign_family(registry: &Registry, ours: &dyn Collector) -> Option<String> {
    let gathered = registry.gather();
    ours.desc().into_iter().find_map(|desc| {
        let theirs = gathered.iter().find(|f| f.name() == desc.fq_name)?;
        let labels: Vec<&str> = theirs
            .get_metric()
            .first()
            .map(|m| m.get_label().iter().map(|l| l.name()).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = desc
            .const_label_pairs
            .iter()
            .map(|l| l.name())
            .chain(desc.variable_labels.iter().map(String::as_str))
            .collect();
        let same_labels = labels.len() == expected.len()
            && expected.iter().all(|l| labels.contains(l) || *l == "le");
        (theirs.help() != desc.help || !same_labels).then(|| {
            format!(
                "the registry already holds a family named {} that is not sightline's (labels: {}); \
                 rename the application's family, or give sightline a registry of its own with \
                 .registry(..)",
                desc.fq_name,
                labels.join(", ")
            )
        })
    })
}

/// What one installation registered, so that a refused `install()` can take it back out.
pub(crate) struct Registration {
    registry: Registry,
    registered: Vec<MakeCollector>,
    /// What [`render`] read before, restored by a roll-back.
    previous: Option<(Registry, MetricNaming)>,
}

impl Registration {
    /// Removes what was registered, and gives [`render`] back the registry it read before.
    pub(crate) fn roll_back(self) {
        for collector in &self.registered {
            let _ = self.registry.unregister(collector());
        }
        *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = self.previous;
    }
}

/// Registers every sightline family (and, on Linux, the process collector) into `registry`, and makes it
/// the one [`render`] reads. On an error, whatever this call registered is removed again.
pub(crate) fn install_into(
    registry: &Registry,
    process_metrics: bool,
) -> Result<Registration, crate::Error> {
    let mut registration = Registration {
        registry: registry.clone(),
        registered: Vec::new(),
        previous: INSTALLED
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    };
    let mut collectors: Vec<MakeCollector> = vec![
        Box::new(|| families::boxed(&*FUNCTION)),
        Box::new(|| families::boxed(&*HTTP)),
        Box::new(|| families::boxed(&*BUSINESS)),
        Box::new(|| Box::new(crate::loss::SPANS_DROPPED.clone())),
        Box::new(|| Box::new(crate::loss::SPANS_EXPORTED.clone())),
        Box::new(|| Box::new(crate::loss::LINES_DROPPED.clone())),
    ];
    let late = LATE.lock().unwrap_or_else(PoisonError::into_inner);
    collectors.extend(late.iter().map(|make| {
        let make: &'static MakeCollector = make;
        Box::new(make) as MakeCollector
    }));
    #[cfg(target_os = "linux")]
    if process_metrics {
        collectors.push(Box::new(|| {
            Box::new(prometheus::process_collector::ProcessCollector::for_self())
        }));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = process_metrics;
    for collector in collectors {
        match registry.register(collector()) {
            Ok(()) => registration.registered.push(collector),
            // The registry says "already registered" for any collector with the same names, its own or
            // the application's: ours (a second `into_layer`, a test harness) is kept and not removed
            // on a roll-back; the application's own family under one of our names is a conflict.
            Err(prometheus::Error::AlreadyReg) => {
                if let Some(conflict) = foreign_family(registry, &*collector()) {
                    registration.roll_back();
                    return Err(prometheus::Error::Msg(conflict).into());
                }
            }
            Err(e) => {
                registration.roll_back();
                return Err(e.into());
            }
        }
    }
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) =
        Some((registry.clone(), MetricNaming::of(registry)));
    Ok(registration)
}
