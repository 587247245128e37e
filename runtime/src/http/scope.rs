//! What the code inside a request can ask (its request ID, whether the layer is counting it) and tell
//! (why the handler failed, for the access line).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

thread_local! {
    /// Set while the layer polls the request's future, so code running inside (handlers, observed
    /// functions) can see it without the request being passed down.
    static CURRENT: RefCell<Option<Arc<Request>>> = const { RefCell::new(None) };
}

/// One request the layer is handling, shared by its response future and the code that runs inside it.
pub(crate) struct Request {
    pub(crate) id: Arc<str>,
    /// The caller's `tracestate` and the trace it belongs to: entered with the request
    /// ([`crate::context::trace_states`]), so every call made while handling it carries it on.
    trace_state: Option<(u128, Arc<str>)>,
    /// The handler's failure, told by its handler-mode site (which leaves the access line to the layer).
    /// A lock, not a thread-local: middleware between the layer and the handler may complete the
    /// response in a later poll, on another thread.
    failure: Mutex<Option<Failure>>,
}

/// Why a request failed, for its access line.
pub(crate) struct Failure {
    pub(crate) kind: &'static str,
    pub(crate) error: Option<String>,
}

impl Request {
    pub(crate) fn new(id: Arc<str>, trace_state: Option<(u128, Arc<str>)>) -> Arc<Request> {
        Arc::new(Request {
            id,
            trace_state,
            failure: Mutex::new(None),
        })
    }

    pub(crate) fn take_failure(&self) -> Option<Failure> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The request ID of the request being handled on this thread, if any.
///
/// It is known inside the handler's future (and everything it awaits) while the layer polls it. Work moved
/// to another task (`tokio::spawn`) does not see it: take it from the `RequestId` extractor and pass it
/// along.
pub fn current_request_id() -> Option<String> {
    CURRENT.with(|c| c.borrow().as_ref().map(|r| r.id.to_string()))
}

/// Whether the current code runs inside a request the layer is counting: handler-mode sites then leave
/// the `http_*` families and the access line to the layer.
pub(crate) fn under_layer() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// Tells the layer why the current request's handler failed; the outermost handler's call, which
/// completes last, is the one its access line shows.
pub(crate) fn record_failure(kind: &'static str, error: Option<String>) {
    CURRENT.with(|c| {
        if let Some(request) = &*c.borrow() {
            *request
                .failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Failure { kind, error });
        }
    });
}

/// Makes `request` current until dropped; restores whatever was current before (nested services).
pub(crate) struct Scope {
    previous: Option<Arc<Request>>,
    with_state: bool,
}

impl Scope {
    pub(crate) fn enter(request: &Arc<Request>) -> Scope {
        let previous = CURRENT.with(|c| c.replace(Some(Arc::clone(request))));
        let with_state = request.trace_state.as_ref().is_some_and(|(trace, state)| {
            crate::context::trace_states::enter(*trace, Arc::clone(state))
        });
        Scope {
            previous,
            with_state,
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.with_state {
            crate::context::trace_states::leave();
        }
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}
