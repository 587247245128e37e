//! W3C trace context in and out of HTTP headers.

use crate::span::RemoteParent;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // W3C: an empty `tracestate` should not be sent.
        if value.is_empty() {
            return;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The caller's span from `traceparent`, with its `tracestate`; `None` for an invalid or absent one, so
/// the request starts a new trace.
pub(crate) fn extract(headers: &HeaderMap) -> (Option<RemoteParent>, Option<TraceState>) {
    if !headers.contains_key("traceparent") {
        return (None, None);
    }
    let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let span = cx.span();
    let remote = span.span_context();
    if !remote.is_valid() {
        return (None, None);
    }
    let parent = RemoteParent {
        trace_id: u128::from_be_bytes(remote.trace_id().to_bytes()),
        span_id: u64::from_be_bytes(remote.span_id().to_bytes()),
        sampled: remote.is_sampled(),
    };
    let state = remote.trace_state();
    let state = (state.header() != "").then(|| state.clone());
    (Some(parent), state)
}

/// Adds `x-request-id` and `traceparent` (and `tracestate`) of the current request to an outgoing
/// request's headers, so the next service continues both the request ID and the trace.
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
    let flags = if ids.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let span = SpanContext::new(
        TraceId::from(ids.trace_id),
        SpanId::from(ids.span_id),
        flags,
        true,
        TraceState::default(),
    );
    let cx = opentelemetry::Context::new().with_remote_span_context(span);
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
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
