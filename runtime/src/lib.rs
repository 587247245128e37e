//! The runtime behind `sightline`'s attributes. Applications depend on the `sightline` crate, which
//! re-exports everything public here; the items under [`__private`] exist for the code the macros expand to
//! and may change in any release.

// One `unsafe` block, allowed where it stands: registering the exit hook with libc (`init::exit`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod call;
mod carrier;
mod catalog;
mod clock;
mod context;
mod error;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod http;
mod init;
mod installation;
mod labels;
pub mod logs;
mod loss;
pub mod metrics;
mod objective;
mod panics;
mod record;
mod redact;
mod span;
mod traces;
mod w3c;
mod warn;

pub use carrier::{extract_map, inject_map, Carrier, Continued, RemoteContext};
pub use catalog::{catalog, catalog_json, LabelInfo, SiteInfo, CATALOG_VERSION};
pub use error::Error;
pub use init::{init, Telemetry, TelemetryBuilder, TelemetryGuard, Undelivered};
pub use labels::{ErrorLabel, HttpStatus, LabelValue, StatusClass};
pub use metrics::custom::LabelConflict;
pub use objective::ObjectiveDef;
pub use record::{record, RecordValue};

/// What the expanded code of `#[observe]` calls. Not a public API: no semver guarantee.
#[doc(hidden)]
pub mod __private {
    pub use crate::__sightline_outcome as outcome;
    pub use crate::__sightline_select_body as select_body;
    pub use crate::__sightline_site as site;
    pub use crate::call::guard::{finish, CallGuard};
    pub use crate::call::meta::{Lines, SiteKind, SiteMeta, SpanRole};
    pub use crate::call::observed_future::ObservedFuture;
    pub use crate::call::probes::probe;
    pub use crate::call::probes::{ErrorInfo, ErrorMessage, Outcome};
    pub use crate::call::question_mark::{Branch, ControlFlow, FromResidual};
    pub use crate::call::site::Site;
    pub use crate::catalog::SiteEntry;
    pub use crate::labels::ErrorLabels;
    pub use crate::labels::{series_product, LabelIndex, LabelValue};
    pub use crate::metrics::custom::CustomLabels;
    pub use crate::metrics::DEFAULT_BUCKETS;
    pub use crate::objective::{check_objective_latency, objective_def, ObjectiveDef};
    pub use const_panic;
    pub use inventory;
    pub use tracing;
}
