//! One of sightline's own spans (an observed call, a business span, an HTTP request) while it runs: its
//! ids, its parent, and its values, which it lends to its frame on the thread's stack while entered.

use crate::context::{self, Frame, Owner, SpanIds, Values};
use crate::installation::Installation;
use crate::traces::record::{Parent, SpanOutcome, SpanRecord, What};
use std::borrow::Cow;
use std::cell::Cell;

/// See the module docs.
pub(crate) struct OwnSpan {
    ids: SpanIds,
    parent: Option<Parent>,
    /// The fields its site gives every call.
    site: Option<&'static Values>,
    /// Taken by the frame while entered.
    values: Cell<Option<Box<Values>>>,
}

/// An [`OwnSpan`] entered until dropped; see [`OwnSpan::entered`].
pub(crate) struct Entered<'a>(&'a OwnSpan);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.exit();
    }
}

/// A parent in another process, from the `traceparent` of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RemoteParent {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) sampled: bool,
    /// The caller's random flag (W3C Level 2).
    pub(crate) random: bool,
}

impl OwnSpan {
    /// A span under whatever span the current code is in, or the root of a new trace.
    #[inline]
    pub(crate) fn start(installation: &Installation, site: Option<&'static Values>) -> OwnSpan {
        let parent = context::parent();
        let ids = SpanIds::child_of(parent, |trace, parent| {
            installation.sampler.samples(trace, parent)
        });
        OwnSpan {
            ids,
            parent: parent.map(|p| Parent {
                span_id: p.span_id,
                remote: false,
            }),
            site,
            values: Cell::new(None),
        }
    }

    /// A span continuing `remote`'s trace when there is one, else [`start`](Self::start).
    pub(crate) fn continuing(installation: &Installation, remote: Option<RemoteParent>) -> OwnSpan {
        let Some(remote) = remote else {
            return OwnSpan::start(installation, None);
        };
        let parent = SpanIds {
            trace_id: remote.trace_id,
            span_id: remote.span_id,
            sampled: remote.sampled,
            random: remote.random,
        };
        OwnSpan {
            ids: SpanIds::child_of(Some(parent), |trace, parent| {
                installation.sampler.samples(trace, parent)
            }),
            parent: Some(Parent {
                span_id: remote.span_id,
                remote: true,
            }),
            site: None,
            values: Cell::new(None),
        }
    }

    pub(crate) fn ids(&self) -> SpanIds {
        self.ids
    }

    /// The fields its site gives every call.
    pub(crate) fn site_values(&self) -> Option<&'static Values> {
        self.site
    }

    pub(crate) fn parent_span_id(&self) -> Option<u64> {
        self.parent.map(|p| p.span_id)
    }

    /// Makes this span the one the current code is in, until [`exit`](Self::exit).
    #[inline]
    pub(crate) fn enter(&self) {
        context::push(Frame {
            ids: Some(self.ids),
            owner: Owner::Sightline,
            site: self.site,
            values: self.values.take(),
        });
    }

    /// [`enter`](Self::enter) until the guard is dropped, a panic included.
    pub(crate) fn entered(&self) -> Entered<'_> {
        self.enter();
        Entered(self)
    }

    /// Takes the span off the thread's stack, and its values back.
    #[inline]
    pub(crate) fn exit(&self) {
        let values = context::pop_sightline(self.ids.span_id);
        if values.is_some() {
            self.values.set(values);
        }
    }

    /// Sets field `key` (while not entered): `write` appends its JSON value, or says it has none.
    pub(crate) fn set(
        &self,
        key: impl Into<Cow<'static, str>>,
        logged: bool,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) {
        let mut values = self.values.take().unwrap_or_default();
        values.set_if(key.into(), logged, write);
        self.values.set(Some(values));
    }

    /// The span's values (while not entered), handed over for its last line and its record.
    pub(crate) fn take_values(&self) -> Option<Box<Values>> {
        self.values.take()
    }

    /// The finished span, for the export thread, when it is sampled.
    #[inline]
    pub(crate) fn export(
        &self,
        installation: &Installation,
        start: u64,
        end: u64,
        what: What,
        outcome: SpanOutcome,
        values: Option<Box<Values>>,
    ) {
        let (Some(rings), true) = (&installation.rings, self.ids.sampled) else {
            return;
        };
        rings.push(SpanRecord {
            ids: self.ids,
            parent: self.parent,
            start,
            end,
            what,
            outcome,
            values,
        });
    }
}
