//! The runtime behind `sightline`'s attributes. Applications depend on the `sightline` crate, which
//! re-exports everything public here; the items under [`__private`] exist for the code the macros expand to
//! and may change in any release.

// One `unsafe` block, allowed where it stands: registering the exit hook with libc (`init::exit`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod catalog;
mod clock;
mod error;
mod guard;
pub mod http;
mod init;
mod kill_switch;
mod labels;
pub mod logs;
mod loss;
pub mod metrics;
mod objective;
mod observed_future;
mod outcome;
mod panics;
mod record;
mod redact;
mod self_types;
mod site;
mod traces;
mod try_branch;
mod warn;

pub use catalog::{catalog, catalog_json, LabelInfo, SiteInfo, CATALOG_VERSION};
pub use error::Error;
pub use init::{init, Telemetry, TelemetryBuilder, TelemetryGuard, Undelivered};
pub use labels::{ErrorLabel, HttpStatus, LabelValue, StatusClass};
pub use metrics::custom::{LabelConflict, SiteName};
pub use objective::ObjectiveDef;
pub use record::{record, RecordValue};

/// What the expanded code of `#[observe]` calls. Not a public API: no semver guarantee.
#[doc(hidden)]
pub mod __private {
    pub use crate::__sightline_select_body as select_body;
    pub use crate::catalog::SITES;
    pub use crate::guard::{finish, CallGuard, Completion, CompletionResult, SpanHandle};
    pub use crate::labels::{series_product, LabelIndex, LabelValue};
    pub use crate::metrics::DEFAULT_BUCKETS;
    pub use crate::objective::{check_objective_latency, ObjectiveDef};
    pub use crate::observed_future::ObservedFuture;
    pub use crate::outcome::probe;
    pub use crate::outcome::{ErrorInfo, ErrorLabels, ErrorMessage, Outcome};
    pub use crate::site::{CustomLabels, Resolved, Site, SiteKind, SiteMeta};
    pub use crate::traces::COMPLETION_EVENT;
    pub use crate::try_branch::{Branch, ControlFlow, FromResidual};
    pub use const_panic;
    pub use linkme;
    pub use tracing;
}
