//! The server side: a tower layer in front of a tonic server.

use super::call::{self, GrpcBody, RpcCall, Side};
use crate::http::{RequestScope, Scope};
use crate::installation::Decisions;
use crate::logs::line::push_json;
use crate::span::OwnSpan;
use http::{HeaderValue, Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The layer for `tonic::transport::Server::builder().layer(..)`.
pub fn layer() -> GrpcLayer {
    GrpcLayer
}

/// See [`layer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcLayer;

impl<S> tower_layer::Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> GrpcService<S> {
        GrpcService { inner }
    }
}

/// The service [`GrpcLayer`] makes.
#[derive(Debug, Clone)]
pub struct GrpcService<S> {
    inner: S,
}

impl<S, B, ResBody> tower_service::Service<Request<B>> for GrpcService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<GrpcBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let method = call::method(req.uri().path());
        let id: Arc<str> = match crate::http::inbound_request_id(req.headers(), "x-request-id") {
            Some(id) => Arc::from(id),
            None => Arc::from(crate::http::generate_request_id()),
        };
        let installation = crate::context::layer::current();
        let decisions = installation.map_or(Decisions::NONE, |i| {
            i.decisions(&call::SERVER_DECISIONS, "sightline::grpc")
        });
        let (span, trace_state) = match installation {
            Some(installation) if decisions.span() => {
                let (remote, trace_state) = crate::http::extract(req.headers());
                let span = OwnSpan::continuing(installation, remote);
                span.set("request_id", true, |out| {
                    push_json(out, &id);
                    true
                });
                (Some(span), trace_state)
            }
            _ => (None, None),
        };
        let request = RequestScope::new(
            id,
            span.as_ref()
                .zip(trace_state.clone())
                .map(|(span, state)| (span.ids().trace_id, state)),
        );
        let rpc = RpcCall::start(
            Side::Server,
            method,
            installation,
            decisions,
            span,
            trace_state,
        );
        let inner = {
            let _scope = Scope::enter(&request);
            let _entered = rpc.span().map(OwnSpan::entered);
            self.inner.call(req)
        };
        ResponseFuture {
            inner,
            request,
            rpc: Some(rpc),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a call, its span entered on every poll.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        request: Arc<RequestScope>,
        rpc: Option<RpcCall>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<GrpcBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _scope = Scope::enter(this.request);
            let _entered = this
                .rpc
                .as_ref()
                .and_then(RpcCall::span)
                .map(OwnSpan::entered);
            this.inner.poll(cx)
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let Some(rpc) = this.rpc.take() else {
            return Poll::Pending;
        };
        Poll::Ready(match result {
            Ok(mut response) => {
                if let Ok(value) = HeaderValue::from_str(&this.request.id) {
                    response.headers_mut().insert("x-request-id", value);
                }
                // A trailers-only response: the status is in the headers, and no message follows.
                let rpc = match call::status(response.headers()) {
                    Some((code, message)) => {
                        rpc.finish(code, message);
                        None
                    }
                    None => Some(rpc),
                };
                Ok(response.map(|body| GrpcBody::new(body, rpc)))
            }
            Err(error) => {
                rpc.finish(2, Some("the service failed before answering".into()));
                Err(error)
            }
        })
    }
}
