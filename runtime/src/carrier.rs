//! Trace context through a message broker: [`inject_map`] writes the current span's `traceparent` (and the
//! caller's `tracestate`) into a message's headers, [`extract_map`] reads them back on the consumer's side,
//! with the same rules as HTTP headers ([`crate::w3c`]).
//!
//! The consumer's span is a **child** of the producer's, not a link: one message handled by one consumer
//! is one causal chain, and a child puts the producer, the broker hop and the consumer in one trace view;
//! the messaging conventions keep links for a consumer that takes a batch of messages from many traces.

use crate::context::{self, Frame, Owner, SpanIds};
use crate::w3c::{self, RANDOM, SAMPLED};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A message's headers: `HashMap<String, String>` and `BTreeMap<String, String>` are carriers; implement
/// it for a broker's own header type.
pub trait Carrier {
    /// Every value of `key`, matched without regard to case.
    fn values(&self, key: &str) -> Vec<&str>;
    /// Sets `key` to `value`, replacing what it held.
    fn set(&mut self, key: &str, value: String);
}

/// The two standard maps: keys matched without regard to case, as header names are.
macro_rules! map_carrier {
    ($map:ident) => {
        impl Carrier for $map<String, String> {
            fn values(&self, key: &str) -> Vec<&str> {
                self.iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.as_str())
                    .collect()
            }

            fn set(&mut self, key: &str, value: String) {
                self.retain(|k, _| !k.eq_ignore_ascii_case(key));
                self.insert(key.to_owned(), value);
            }
        }
    };
}

map_carrier!(HashMap);
map_carrier!(BTreeMap);

/// Writes the current span's trace context into `carrier`: `traceparent`, and `tracestate` when the
/// current request's caller (or the message being handled) came with one. Nothing when the code is in no
/// span.
///
/// ```no_run
/// let mut headers = std::collections::HashMap::new();
/// sightline_runtime::inject_map(&mut headers);
/// ```
pub fn inject_map(carrier: &mut impl Carrier) {
    let Some(ids) = context::parent() else {
        return;
    };
    let flags = if ids.sampled { SAMPLED } else { 0 } | if ids.random { RANDOM } else { 0 };
    carrier.set(
        "traceparent",
        w3c::write_traceparent(ids.trace_id, ids.span_id, flags),
    );
    if let Some(state) = context::trace_states::current(ids.trace_id) {
        carrier.set("tracestate", state.to_string());
    }
}

/// The producer's span from `carrier`'s `traceparent`, with its `tracestate`, or `None` when it has no
/// `traceparent` or an invalid one (the consumer then starts a trace of its own).
pub fn extract_map(carrier: &impl Carrier) -> Option<RemoteContext> {
    let values = |name| carrier.values(name).into_iter().map(str::as_bytes);
    let parent = w3c::parse_traceparent(values("traceparent"))?;
    let state = w3c::parse_tracestate(values("tracestate"));
    Some(RemoteContext {
        state: state.map(Arc::from),
        ids: SpanIds {
            trace_id: parent.trace_id,
            span_id: parent.parent_id,
            sampled: parent.flags & SAMPLED != 0,
            random: parent.flags & RANDOM != 0,
        },
    })
}

/// A span in another process that the work of this one continues: spans started inside
/// [`in_scope`](Self::in_scope) or [`instrument`](Self::instrument) are its children.
#[derive(Debug, Clone)]
pub struct RemoteContext {
    ids: SpanIds,
    state: Option<Arc<str>>,
}

impl RemoteContext {
    /// Runs `f` with this context as the parent of the spans it starts.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _entered = Entered::new(self.ids, self.state.clone());
        f()
    }

    /// `future`, with this context as the parent of the spans it starts, on every poll.
    pub fn instrument<F: Future>(self, future: F) -> Continued<F> {
        Continued {
            ids: self.ids,
            state: self.state,
            future,
        }
    }

    /// The trace id, as 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.ids.trace_id)
    }
}

pin_project_lite::pin_project! {
    /// A future continuing a [`RemoteContext`]; see [`RemoteContext::instrument`].
    #[derive(Debug)]
    pub struct Continued<F> {
        ids: SpanIds,
        state: Option<Arc<str>>,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Continued<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = Entered::new(*this.ids, this.state.clone());
        this.future.poll(cx)
    }
}

/// The remote span's frame on the thread's stack, and its `tracestate`, while entered.
struct Entered {
    span_id: u64,
    with_state: bool,
}

impl Entered {
    fn new(ids: SpanIds, state: Option<Arc<str>>) -> Entered {
        context::push(Frame {
            ids: Some(ids),
            owner: Owner::Sightline,
            site: None,
            values: None,
        });
        let with_state =
            state.is_some_and(|state| context::trace_states::enter(ids.trace_id, state));
        Entered {
            span_id: ids.span_id,
            with_state,
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = context::pop_sightline(self.span_id);
        if self.with_state {
            context::trace_states::leave();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carrier_round_trip_continues_the_trace_under_the_remote_span() {
        let producer = SpanIds {
            trace_id: 0x1234,
            span_id: 0x99,
            sampled: true,
            random: true,
        };
        let mut headers = HashMap::new();
        context::push(Frame {
            ids: Some(producer),
            owner: Owner::Sightline,
            site: None,
            values: None,
        });
        inject_map(&mut headers);
        let _ = context::pop_sightline(producer.span_id);
        assert_eq!(
            headers["traceparent"],
            "00-00000000000000000000000000001234-0000000000000099-03"
        );
        assert!(
            !headers.contains_key("tracestate"),
            "none came, none is sent"
        );
        headers.insert("tracestate".into(), "congo=t61rcWkgMzE, ".into());
        let remote = extract_map(&headers).expect("a valid traceparent");
        let seen = remote.in_scope(context::parent);
        assert_eq!(seen, Some(producer));
        // A message handled inside the remote context sends its tracestate on.
        let mut onward = BTreeMap::new();
        remote.in_scope(|| inject_map(&mut onward));
        assert_eq!(onward["tracestate"], "congo=t61rcWkgMzE");
        assert_eq!(
            onward["traceparent"],
            "00-00000000000000000000000000001234-0000000000000099-03"
        );
        assert_eq!(context::parent(), None, "the frame is gone after the scope");

        headers.insert("TraceParent".into(), "garbage".into());
        headers.remove("traceparent");
        assert!(extract_map(&headers).is_none());
    }
}
