//! The spans around the code running on this thread, outermost first: sightline's own (observed calls,
//! business spans, HTTP requests) and the application's `tracing` spans, in the order they were entered.
//! A new span takes its parent from here, a log line its ids and the fields of every span around it, and
//! `sightline::record` the spans it adds a value to.
//!
//! sightline's spans are not `tracing` spans: a `tracing` span goes through the subscriber's registry and
//! every layer on creation, enter, exit and close, which cost more than everything else an observed call
//! does. Here a span is a frame pushed and popped on a thread-local stack. The application's `tracing`
//! spans are pushed too, when entered (`layer::ContextLayer`), so the two kinds nest in the order the
//! code entered them.
//!
//! A frame owns its span's [`Values`] while it is on the stack: an async call moves them in before each
//! poll and takes them back after, so the future keeps them between polls without any reference into it.

pub(crate) mod ids;
pub(crate) mod layer;
pub(crate) mod trace_states;
pub(crate) mod values;

pub(crate) use ids::SpanIds;
pub(crate) use values::Values;

use std::cell::RefCell;
use tracing_core::span::Id;

/// Whose span a frame is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner {
    /// An observed call, a business span or an HTTP request: `sightline::record` adds to it.
    Sightline,
    /// An application's `tracing` span, by its id in the registry (its fields are kept there).
    Tracing(Id),
}

/// One span on the stack.
#[derive(Debug)]
pub(crate) struct Frame {
    /// `None` for a `tracing` span no trace layer gave ids (its level is filtered out): lines inside take
    /// the ids of the span around it.
    pub(crate) ids: Option<SpanIds>,
    pub(crate) owner: Owner,
    /// A sightline span's fields its site gives every call (a business span's `operation`).
    pub(crate) site: Option<&'static Values>,
    /// A sightline span's fields and events.
    pub(crate) values: Option<Box<Values>>,
}

impl Frame {
    /// The fields of a sightline span, the site's first (a call's own shadow them).
    pub(crate) fn own_values(&self) -> impl Iterator<Item = &Values> {
        self.site.into_iter().chain(self.values.as_deref())
    }
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Pushes a frame; it stays until [`pop_sightline`] or [`pop_tracing`] takes it off.
#[inline]
pub(crate) fn push(frame: Frame) {
    // At thread exit the stack may be gone already: the span then simply has no frame.
    let _ = STACK.try_with(|stack| {
        if let Ok(mut stack) = stack.try_borrow_mut() {
            stack.push(frame);
        }
    });
}

/// Takes the sightline frame of span `span_id` off the stack and gives its values back. It is the top
/// frame unless spans were exited out of order; a frame that is not there (the stack was gone) gives
/// nothing back.
#[inline]
pub(crate) fn pop_sightline(span_id: u64) -> Option<Box<Values>> {
    STACK
        .try_with(|stack| {
            let mut stack = stack.try_borrow_mut().ok()?;
            let at = stack.iter().rposition(|f| {
                f.owner == Owner::Sightline && f.ids.is_some_and(|ids| ids.span_id == span_id)
            })?;
            let frame = if at + 1 == stack.len() {
                stack.pop()?
            } else {
                stack.remove(at)
            };
            frame.values
        })
        .ok()
        .flatten()
}

/// Takes the frame of the `tracing` span `id` off the stack.
pub(crate) fn pop_tracing(id: &Id) {
    let _ = STACK.try_with(|stack| {
        if let Ok(mut stack) = stack.try_borrow_mut() {
            if let Some(at) = stack
                .iter()
                .rposition(|f| matches!(&f.owner, Owner::Tracing(t) if t == id))
            {
                stack.remove(at);
            }
        }
    });
}

/// The ids of the innermost span with ids around the current code: the parent of a span starting now.
#[inline]
pub(crate) fn parent() -> Option<SpanIds> {
    STACK
        .try_with(|stack| {
            let stack = stack.try_borrow().ok()?;
            stack.iter().rev().find_map(|f| f.ids)
        })
        .ok()
        .flatten()
}

/// Runs `f` over the stack, outermost frame first. No application code may run inside `f` (a `Debug`
/// impl that logs would find the stack borrowed): what it writes must be ready beforehand.
pub(crate) fn with_frames<R>(f: impl FnOnce(&[Frame]) -> R) -> Option<R> {
    STACK
        .try_with(|stack| stack.try_borrow().ok().map(|stack| f(&stack)))
        .ok()
        .flatten()
}

/// Runs `f` over the stack, to change the values of its frames; see [`with_frames`].
pub(crate) fn with_frames_mut<R>(f: impl FnOnce(&mut [Frame]) -> R) -> Option<R> {
    STACK
        .try_with(|stack| stack.try_borrow_mut().ok().map(|mut stack| f(&mut stack)))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(span_id: u64) -> Frame {
        Frame {
            ids: Some(SpanIds {
                trace_id: 7,
                span_id,
                sampled: true,
                random: true,
            }),
            owner: Owner::Sightline,
            site: None,
            values: None,
        }
    }

    #[test]
    fn the_innermost_frame_with_ids_is_the_parent_and_frames_leave_in_any_order() {
        assert_eq!(parent(), None);
        push(frame(1));
        push(Frame {
            ids: None,
            owner: Owner::Tracing(Id::from_u64(9)),
            site: None,
            values: None,
        });
        assert_eq!(parent().map(|p| p.span_id), Some(1));
        push(frame(2));
        assert_eq!(parent().map(|p| p.span_id), Some(2));
        // Out of order: the outer call's frame leaves first.
        pop_sightline(1);
        assert_eq!(parent().map(|p| p.span_id), Some(2));
        pop_sightline(2);
        pop_tracing(&Id::from_u64(9));
        assert_eq!(with_frames(<[Frame]>::len), Some(0));
        // A frame that is not there takes nothing.
        assert!(pop_sightline(3).is_none());
    }
}
