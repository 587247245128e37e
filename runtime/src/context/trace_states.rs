//! The `tracestate` each remote trace this thread is continuing arrived with (an HTTP request's, a
//! message's), innermost last, so that every call made while handling it carries it on unchanged, as W3C
//! Trace Context asks. Entered and left with the request or message, like the span stack.

use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static STATES: RefCell<Vec<(u128, Arc<str>)>> = const { RefCell::new(Vec::new()) };
}

/// Makes `state` the `tracestate` of trace `trace_id` until [`leave`]; says whether it was entered (a
/// thread being torn down has no stack), which is whether `leave` must be called.
pub(crate) fn enter(trace_id: u128, state: Arc<str>) -> bool {
    STATES
        .try_with(|states| {
            states
                .try_borrow_mut()
                .map(|mut states| states.push((trace_id, state)))
                .is_ok()
        })
        .unwrap_or(false)
}

/// Leaves the innermost entered `tracestate`.
pub(crate) fn leave() {
    let _ = STATES.try_with(|states| {
        if let Ok(mut states) = states.try_borrow_mut() {
            states.pop();
        }
    });
}

/// The `tracestate` trace `trace_id` arrived with, if it came with one.
pub(crate) fn current(trace_id: u128) -> Option<Arc<str>> {
    STATES
        .try_with(|states| {
            let states = states.try_borrow().ok()?;
            states
                .iter()
                .rev()
                .find(|(trace, _)| *trace == trace_id)
                .map(|(_, state)| Arc::clone(state))
        })
        .ok()
        .flatten()
}
