//! W3C trace context in and out of HTTP headers (the rules themselves are in [`crate::w3c`]).

use crate::span::RemoteParent;
use crate::w3c::{self, RANDOM, SAMPLED};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The caller's span from `traceparent`, with its `tracestate`; `None` for an absent, repeated or invalid
/// `traceparent` (the request then starts a new trace and its `tracestate` is ignored), and no
/// `tracestate` when it is absent, empty or malformed.
pub(crate) fn extract(headers: &HeaderMap) -> (Option<RemoteParent>, Option<Arc<str>>) {
    let values = |name| headers.get_all(name).into_iter().map(HeaderValue::as_bytes);
    let Some(parent) = w3c::parse_traceparent(values(TRACEPARENT)) else {
        return (None, None);
    };
    let remote = RemoteParent {
        trace_id: parent.trace_id,
        span_id: parent.parent_id,
        sampled: parent.flags & SAMPLED != 0,
        random: parent.flags & RANDOM != 0,
    };
    let state = w3c::parse_tracestate(values(TRACESTATE)).map(Arc::from);
    (Some(remote), state)
}

/// Adds `x-request-id`, `traceparent` and the caller's `tracestate` (when the current request
/// continues a trace that had one) to an outgoing request's headers, so the next service continues both
/// the request ID and the trace.
///
/// ```no_run
/// let mut headers = http::HeaderMap::new();
/// sightline_runtime::http::inject(&mut headers);
/// ```
pub fn inject(headers: &mut HeaderMap) {
    if let Some(id) = super::current_request_id() {
        if let Ok(value) = HeaderValue::from_str(&id) {
            headers.insert(HeaderName::from_static("x-request-id"), value);
        }
    }
    let Some(ids) = crate::context::parent() else {
        return;
    };
    let flags = if ids.sampled { SAMPLED } else { 0 } | if ids.random { RANDOM } else { 0 };
    let traceparent = w3c::write_traceparent(ids.trace_id, ids.span_id, flags);
    if let Ok(value) = HeaderValue::from_str(&traceparent) {
        headers.insert(TRACEPARENT, value);
    }
    // W3C: carried on unchanged; an empty `tracestate` is not sent.
    if let Some(state) = crate::context::trace_states::current(ids.trace_id) {
        if let Ok(value) = HeaderValue::from_str(&state) {
            headers.insert(TRACESTATE, value);
        }
    }
}

/// Carries the current request's ID and trace context on a reqwest call.
///
/// ```no_run
/// # async fn call(client: reqwest::Client) -> reqwest::Result<()> {
/// use sightline_runtime::http::RequestBuilderExt;
/// client.get("http://inventory/api/v1/stock/beans").propagate().send().await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "reqwest")]
pub trait RequestBuilderExt {
    /// Adds `x-request-id` and `traceparent` (see [`inject`]).
    fn propagate(self) -> Self;
}

#[cfg(feature = "reqwest")]
impl RequestBuilderExt for reqwest::RequestBuilder {
    fn propagate(self) -> Self {
        let mut headers = HeaderMap::new();
        inject(&mut headers);
        self.headers(headers)
    }
}
