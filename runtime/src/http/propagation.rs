//! W3C trace context in and out of HTTP headers.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

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

/// The caller's trace context from `traceparent`/`tracestate`; an invalid or absent one gives an empty
/// context, so the request starts a new trace.
pub(crate) fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&HeaderExtractor(headers))
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
    let mut cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        // Local mode: the span's own ids, not an OpenTelemetry span.
        if let Some(local) = crate::traces::current_span_context() {
            cx = opentelemetry::Context::new().with_remote_span_context(local);
        }
    }
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
