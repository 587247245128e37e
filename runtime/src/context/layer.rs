//! The application's `tracing` spans on the thread's span stack, and the way from the current subscriber
//! to the installation that sightline's own spans and lines go to.

use super::{pop_tracing, push, Frame, Owner, SpanIds};
use crate::installation::Installation;
use tracing_core::span::Id;
use tracing_core::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The ids a trace layer gave a `tracing` span, kept in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TracingIds {
    pub(crate) ids: SpanIds,
    /// The span's parent, when it has one in this process.
    pub(crate) parent: Option<u64>,
}

/// Pushes every `tracing` span the subscriber enables when it is entered, and pops it when it is exited;
/// it sits first in sightline's layer with no filter of its own, so it sees every span any other layer
/// sees. It also carries the installation: sightline's per-call code finds it by downcasting the current
/// dispatcher, so a layer installed in a scoped subscriber (a test, a benchmark) gets its own calls.
pub(crate) struct ContextLayer {
    pub(crate) installation: &'static Installation,
}

impl<S> Layer<S> for ContextLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let ids = ctx
            .span(id)
            .and_then(|span| span.extensions().get::<TracingIds>().map(|t| t.ids));
        push(Frame {
            ids,
            owner: Owner::Tracing(id.clone()),
            site: None,
            values: None,
        });
    }

    fn on_exit(&self, id: &Id, _: Context<'_, S>) {
        pop_tracing(id);
    }

    /// It enables nothing itself (it only watches the spans other layers enable), so it does not raise
    /// the global maximum level that disabled call sites are skipped by.
    fn max_level_hint(&self) -> Option<tracing_core::LevelFilter> {
        Some(tracing_core::LevelFilter::OFF)
    }
}

/// The installation of the current subscriber, if sightline's layer is part of it.
#[inline]
pub(crate) fn current() -> Option<&'static Installation> {
    tracing::dispatcher::get_default(|dispatch| {
        dispatch
            .downcast_ref::<ContextLayer>()
            .map(|layer| layer.installation)
    })
}
