//! The gRPC families, as `go-grpc-prometheus` names them: `grpc_{server,client}_started_total`,
//! `_handled_total` (by status code name) and `_handling_seconds`. `prometheus` vectors, as for HTTP
//! clients ([`super::client`]): a call costs far more than a label lookup, and the method labels are
//! bounded where they are made ([`crate::grpc`]).

use once_cell::sync::Lazy;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use sightline_conventions::{GrpcFamilies, DEFAULT_BUCKETS, GRPC_CLIENT, GRPC_SERVER};

/// `grpc_type`: the layers see HTTP/2 requests, not the services' descriptors, so they cannot tell a
/// streaming method from a unary one; every call is counted as `unary`.
const GRPC_TYPE: &str = "unary";

struct Side {
    started: IntCounterVec,
    handled: IntCounterVec,
    handling: HistogramVec,
}

fn side(families: &GrpcFamilies) -> Option<Side> {
    let counter = |family: sightline_conventions::Family| {
        IntCounterVec::new(Opts::new(family.name, family.help), family.labels).ok()
    };
    let started = counter(families.started)?;
    let handled = counter(families.handled)?;
    let handling = HistogramVec::new(
        HistogramOpts::new(families.handling.name, families.handling.help)
            .buckets(DEFAULT_BUCKETS.to_vec()),
        families.handling.labels,
    )
    .ok()?;
    let (s, h, d) = (started.clone(), handled.clone(), handling.clone());
    super::registry::add(Box::new(move || Box::new(s.clone())), families.started.name);
    super::registry::add(Box::new(move || Box::new(h.clone())), families.handled.name);
    super::registry::add(
        Box::new(move || Box::new(d.clone())),
        families.handling.name,
    );
    Some(Side {
        started,
        handled,
        handling,
    })
}

static SERVER: Lazy<Option<Side>> = Lazy::new(|| side(&GRPC_SERVER));
static CLIENT: Lazy<Option<Side>> = Lazy::new(|| side(&GRPC_CLIENT));

fn of(server: bool) -> Option<&'static Side> {
    if server { &*SERVER } else { &*CLIENT }.as_ref()
}

/// A call of `service`/`method` started.
pub(crate) fn started(server: bool, service: &str, method: &str) {
    if let Some(side) = of(server) {
        side.started
            .with_label_values(&[GRPC_TYPE, service, method])
            .inc();
    }
}

/// A call of `service`/`method` ended with status `code` after `seconds`.
pub(crate) fn handled(server: bool, service: &str, method: &str, code: &str, seconds: f64) {
    if let Some(side) = of(server) {
        side.handled
            .with_label_values(&[GRPC_TYPE, service, method, code])
            .inc();
        side.handling
            .with_label_values(&[GRPC_TYPE, service, method])
            .observe(seconds);
    }
}
