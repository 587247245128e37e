//! One gRPC call, on either side: its span, its metrics, and the response body that tells when it ended.
//!
//! A gRPC call's status comes last, in the HTTP/2 trailers after the response messages (or in the
//! response headers alone when the call failed before any message), so the call ends when the body's
//! trailers go by, not when the response headers do: [`GrpcBody`] watches for them.

use super::codes;
use crate::installation::{Decisions, Installation};
use crate::logs::line::{push_json, push_u64};
use crate::logs::{write_span_summary, SpanSummary};
use crate::span::OwnSpan;
use crate::traces::record::{OutcomeStatus, SpanOutcome, SpanSite, What};
use crate::warn::{warn_rate_limited, RateLimited};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::SpanKind;
use sightline_conventions::OTHER_RPC;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

/// Distinct `(service, method)` pairs that get labels and a span name of their own: a server answers any
/// path a client sends (`Unimplemented`), so the set must be bounded.
const MAX_METHODS: usize = 500;

/// Said once per process: methods past the limit share `other`.
static METHODS_FULL: RateLimited = RateLimited::new(u64::MAX);

/// Which end of the call this process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// What a method's calls share: labels and span site.
pub(crate) struct Method {
    pub(crate) service: &'static str,
    pub(crate) method: &'static str,
    server: SpanSite,
    client: SpanSite,
}

/// The method of `path` (`/grpc.health.v1.Health/Check`), made once per method and kept.
pub(crate) fn method(path: &str) -> &'static Method {
    static METHODS: Mutex<Vec<&'static Method>> = Mutex::new(Vec::new());
    let (service, method) = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'))
        .unwrap_or((OTHER_RPC, OTHER_RPC));
    let mut methods = METHODS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = methods
        .iter()
        .find(|m| m.service == service && m.method == method)
    {
        return known;
    }
    let (service, method) = if methods.len() < MAX_METHODS {
        (service, method)
    } else {
        warn_rate_limited(
            &METHODS_FULL,
            format_args!(
                "gRPC: more than {MAX_METHODS} methods called; {service}/{method} and later ones are \
                 counted as grpc_service=\"{OTHER_RPC}\", grpc_method=\"{OTHER_RPC}\""
            ),
        );
        (OTHER_RPC, OTHER_RPC)
    };
    if let Some(known) = methods
        .iter()
        .find(|m| m.service == service && m.method == method)
    {
        return known;
    }
    let service: &'static str = Box::leak(service.to_owned().into_boxed_str());
    let method: &'static str = Box::leak(method.to_owned().into_boxed_str());
    let name: &'static str = Box::leak(format!("{service}/{method}").into_boxed_str());
    let site = |kind| SpanSite {
        name,
        kind,
        function: None,
        module: None,
        operation: None,
        http: None,
    };
    let made: &'static Method = Box::leak(Box::new(Method {
        service,
        method,
        server: site(SpanKind::Server),
        client: site(SpanKind::Client),
    }));
    methods.push(made);
    made
}

/// A call in progress.
pub(crate) struct RpcCall {
    side: Side,
    method: &'static Method,
    installation: Option<&'static Installation>,
    decisions: Decisions,
    span: Option<OwnSpan>,
    start: u64,
    trace_state: Option<std::sync::Arc<str>>,
}

impl RpcCall {
    /// Starts a call of `method` with `span` (already made by the side that knows its parent).
    pub(crate) fn start(
        side: Side,
        method: &'static Method,
        installation: Option<&'static Installation>,
        decisions: Decisions,
        span: Option<OwnSpan>,
        trace_state: Option<std::sync::Arc<str>>,
    ) -> RpcCall {
        crate::metrics::grpc::started(side == Side::Server, method.service, method.method);
        if let Some(span) = span.as_ref().filter(|_| decisions.exported()) {
            for (key, value) in [
                ("rpc.system", "grpc"),
                ("rpc.service", method.service),
                ("rpc.method", method.method),
            ] {
                span.set(key, false, |out| {
                    push_json(out, value);
                    true
                });
            }
        }
        RpcCall {
            side,
            method,
            installation,
            decisions,
            span,
            start: crate::clock::now(),
            trace_state,
        }
    }

    pub(crate) fn span(&self) -> Option<&OwnSpan> {
        self.span.as_ref()
    }

    fn site(&self) -> &'static SpanSite {
        match self.side {
            Side::Server => &self.method.server,
            Side::Client => &self.method.client,
        }
    }

    /// Ends the call with status `code`: its metrics, the server's completion line, its span.
    pub(crate) fn finish(self, code: u32, message: Option<String>) {
        let end = crate::clock::now();
        let nanos = crate::clock::between(self.start, end);
        let code_name = codes::name(code);
        crate::metrics::grpc::handled(
            self.side == Side::Server,
            self.method.service,
            self.method.method,
            code_name,
            nanos as f64 / 1e9,
        );
        let (Some(installation), Some(span)) = (self.installation, &self.span) else {
            return;
        };
        let fault = codes::is_server_fault(code);
        if self.side == Side::Server {
            // The access line of the call, written inside its span: its ids and request ID come with it.
            let _entered = span.entered();
            let (service, method, millis) =
                (self.method.service, self.method.method, nanos as f64 / 1e6);
            match (code, fault) {
                (0, _) => tracing::info!(target: "sightline::grpc", grpc_service = service,
                    grpc_method = method, grpc_code = code_name, duration_ms = millis, "rpc completed"),
                (_, false) => tracing::warn!(target: "sightline::grpc", grpc_service = service,
                    grpc_method = method, grpc_code = code_name, duration_ms = millis,
                    error = message.as_deref().unwrap_or(""), "rpc completed"),
                (_, true) => tracing::error!(target: "sightline::grpc", grpc_service = service,
                    grpc_method = method, grpc_code = code_name, duration_ms = millis,
                    error = message.as_deref().unwrap_or(""), "rpc completed"),
            }
        }
        if self.decisions.summary() {
            write_span_summary(
                &installation.lines,
                &SpanSummary {
                    name: self.site().name,
                    ids: span.ids(),
                    parent: span.parent_span_id(),
                    duration_ms: nanos as f64 / 1e6,
                    status: if fault { "ERROR" } else { "UNSET" },
                    description: message.as_deref().filter(|_| fault),
                },
            );
        }
        if self.decisions.exported() {
            span.set("rpc.grpc.status_code", false, |out| {
                push_u64(out, u64::from(code));
                true
            });
        }
        let values = span.take_values();
        span.export(
            installation,
            self.start,
            end,
            What::Site(self.site()),
            SpanOutcome {
                status: if fault {
                    OutcomeStatus::Error
                } else {
                    OutcomeStatus::Unset
                },
                error_kind: (code != 0).then_some(code_name),
                message: message.filter(|_| fault).map(String::into_boxed_str),
                status_code: None,
                trace_state: self
                    .trace_state
                    .and_then(|s| s.parse::<opentelemetry::trace::TraceState>().ok())
                    .map(Box::new),
            },
            values,
        );
    }
}

/// The status in `headers` (a trailers-only response, or the trailers), with its message.
pub(crate) fn status(headers: &HeaderMap) -> Option<(u32, Option<String>)> {
    let code = codes::parse(headers.get("grpc-status")?.as_bytes());
    let message = headers
        .get("grpc-message")
        .map(|m| percent_decoded(m.as_bytes()))
        .filter(|m| !m.is_empty());
    Some((code, message))
}

/// `grpc-message` is percent-encoded on the wire (the gRPC HTTP/2 protocol): the text it stands for.
fn percent_decoded(value: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        match (value[i], value.get(i + 1), value.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pin_project_lite::pin_project! {
    /// A response body that ends its call when the status goes by; a body dropped before it did ends
    /// the call as `Canceled`.
    pub struct GrpcBody<B> {
        #[pin]
        inner: B,
        call: Option<RpcCall>,
    }

    impl<B> PinnedDrop for GrpcBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(call) = this.project().call.take() {
                call.finish(1, Some("the response was dropped before its status".into()));
            }
        }
    }
}

impl<B> GrpcBody<B> {
    /// `inner`, ending `call` (if still open) when its status goes by.
    pub(crate) fn new(inner: B, call: Option<RpcCall>) -> Self {
        GrpcBody { inner, call }
    }
}

impl<B: Body> Body for GrpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some((code, message)) = frame.trailers_ref().and_then(status) {
                    if let Some(call) = this.call.take() {
                        call.finish(code, message);
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(call) = this.call.take() {
                    call.finish(2, Some("the response body failed".into()));
                }
            }
            Poll::Ready(None) => {
                if let Some(call) = this.call.take() {
                    call.finish(2, Some("the response ended without a status".into()));
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What client and server services share: the decisions of each side, cached per installation.
pub(crate) static SERVER_DECISIONS: AtomicU64 = AtomicU64::new(0);
pub(crate) static CLIENT_DECISIONS: AtomicU64 = AtomicU64::new(0);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_message_is_percent_decoded() {
        assert_eq!(
            percent_decoded(b"service%20not%20registered"),
            "service not registered"
        );
        assert_eq!(percent_decoded(b"100%"), "100%");
        assert_eq!(percent_decoded(b"caf%C3%A9"), "caf\u{e9}");
    }

    #[test]
    fn a_path_names_its_service_and_method_and_anything_else_is_other() {
        let m = method("/grpc.health.v1.Health/Check");
        assert_eq!((m.service, m.method), ("grpc.health.v1.Health", "Check"));
        assert_eq!(m.server.name, "grpc.health.v1.Health/Check");
        assert!(std::ptr::eq(m, method("/grpc.health.v1.Health/Check")));
        for bad in ["/", "/only", "nope", "/a/b/c", "//x"] {
            let m = method(bad);
            assert_eq!((m.service, m.method), (OTHER_RPC, OTHER_RPC), "{bad}");
        }
    }
}
