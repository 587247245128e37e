//! The client side: a tower layer around a `tonic::transport::Channel`.

use super::call::{self, GrpcBody, RpcCall, Side};
use crate::installation::Decisions;
use crate::span::OwnSpan;
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The layer for a channel: `tower::ServiceBuilder::new().layer(client_layer()).service(channel)`, then
/// `HealthClient::new(that)`.
pub fn client_layer() -> GrpcClientLayer {
    GrpcClientLayer
}

/// See [`client_layer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcClientLayer;

impl<S> tower_layer::Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> GrpcClientService<S> {
        GrpcClientService { inner }
    }
}

/// The service [`GrpcClientLayer`] makes.
#[derive(Debug, Clone)]
pub struct GrpcClientService<S> {
    inner: S,
}

impl<S, B, ResBody> tower_service::Service<Request<B>> for GrpcClientService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<ResBody>>,
{
    type Response = Response<GrpcBody<ResBody>>;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let method = call::method(req.uri().path());
        let installation = crate::context::layer::current();
        let decisions = installation.map_or(Decisions::NONE, |i| {
            i.decisions(&call::CLIENT_DECISIONS, "sightline::grpc::client")
        });
        let span = match installation {
            Some(installation) if decisions.span() => Some(OwnSpan::start(installation, None)),
            _ => None,
        };
        // The call's own context in the metadata: the server's span is this client span's child.
        {
            let _entered = span.as_ref().map(OwnSpan::entered);
            crate::http::inject(req.headers_mut());
        }
        let rpc = RpcCall::start(Side::Client, method, installation, decisions, span, None);
        ClientFuture {
            inner: self.inner.call(req),
            rpc: Some(rpc),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a call made.
    pub struct ClientFuture<F> {
        #[pin]
        inner: F,
        rpc: Option<RpcCall>,
    }
}

impl<F, ResBody, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<GrpcBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Poll::Ready(result) = this.inner.poll(cx) else {
            return Poll::Pending;
        };
        let Some(rpc) = this.rpc.take() else {
            return Poll::Pending;
        };
        Poll::Ready(match result {
            Ok(response) => {
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
                // No answer (refused, reset): the channel's error; `Unavailable` is what tonic reports.
                rpc.finish(14, Some("no response from the server".into()));
                Err(error)
            }
        })
    }
}
