//! What the code inside a request can ask: its request ID, and whether the layer is counting it.

use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// Set while the layer polls the request's future, so code running inside (handlers, observed
    /// functions) can see it without the request being passed down.
    static CURRENT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// The request ID of the request being handled on this thread, if any.
///
/// It is known inside the handler's future (and everything it awaits) while the layer polls it. Work moved
/// to another task (`tokio::spawn`) does not see it: take it from the `RequestId` extractor and pass it
/// along.
pub fn current_request_id() -> Option<String> {
    CURRENT.with(|c| c.borrow().as_deref().map(str::to_owned))
}

/// Whether the current code runs inside a request the layer is counting: handler-mode sites then leave
/// the `http_*` families and the access line to the layer.
pub(crate) fn under_layer() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// Makes `id` current until dropped; restores whatever was current before (nested services).
pub(crate) struct Scope {
    previous: Option<Arc<str>>,
}

impl Scope {
    pub(crate) fn enter(id: &Arc<str>) -> Scope {
        let previous = CURRENT.with(|c| c.replace(Some(Arc::clone(id))));
        Scope { previous }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}
