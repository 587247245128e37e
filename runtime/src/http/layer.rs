//! The tower layer and its service.

use super::request_id::{self, RequestId};
use super::scope::{Failure, Request as RequestScope, Scope};
use super::skip::SkipPaths;
use crate::metrics::series::HttpSeries;
use crate::metrics::{DEFAULT_BUCKETS, HTTP};
use crate::warn::{warn_rate_limited, SETTING};
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::field::Empty;
use tracing::Span;

/// The layer with its defaults: `x-request-id`, generated IDs `req_` + 26 base32 characters, no request
/// headers on the access line, every path recorded.
pub fn layer() -> HttpLayer {
    HttpLayer::builder().build()
}

/// Request IDs, trace context, `http_*` metrics and one access line per request; see the module docs.
#[derive(Clone)]
pub struct HttpLayer {
    config: Arc<Config>,
}

struct Config {
    header: HeaderName,
    generate: Arc<dyn Fn() -> String + Send + Sync>,
    log_headers: Vec<HeaderName>,
    skip: SkipPaths,
}

/// Configures an [`HttpLayer`]. A refused setting (an invalid header name, a path pattern that is not
/// one) is said in a `sightline` warning line naming it, and the rest of the configuration stands.
pub struct HttpLayerBuilder {
    header: HeaderName,
    generate: Arc<dyn Fn() -> String + Send + Sync>,
    log_headers: Vec<HeaderName>,
    skip: SkipPaths,
}

impl HttpLayer {
    /// A builder with the defaults of [`layer`].
    pub fn builder() -> HttpLayerBuilder {
        HttpLayerBuilder {
            header: HeaderName::from_static("x-request-id"),
            generate: Arc::new(request_id::generate),
            log_headers: Vec::new(),
            skip: SkipPaths::default(),
        }
    }
}

impl HttpLayerBuilder {
    /// The request ID header, read from requests and set on responses. Default `x-request-id`; an
    /// invalid header name is refused with a warning and keeps the default.
    pub fn request_id_header(mut self, name: &str) -> Self {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(name) => self.header = name,
            Err(_) => warn_rate_limited(
                &SETTING,
                format_args!(
                    "request_id_header({name:?}) refused: not a valid header name; keeping {}",
                    self.header
                ),
            ),
        }
        self
    }

    /// How IDs are made when the caller sent none (or one that is not safe to keep). A generated ID that
    /// is itself not a valid header value is replaced by a default one.
    pub fn id_generator(mut self, generate: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.generate = Arc::new(generate);
        self
    }

    /// Request headers to write on the access line, under `headers` (`"headers":{"user-agent":".."}`).
    /// Sensitive ones (authorization,
    /// cookies, API keys, tokens ...) are never written, whatever this list says.
    pub fn log_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.log_headers = names
            .into_iter()
            .filter_map(|n| HeaderName::from_bytes(n.as_ref().as_bytes()).ok())
            .filter(|n| !sightline_conventions::is_sensitive_key(n.as_str()))
            .collect();
        self
    }

    /// Paths left out of access lines, the `http_*` families and spans (health checks, the metrics
    /// endpoint), so a probe every second does not flood the log: `"/healthz"` is that exact path,
    /// `"/internal/*"` is `/internal` and every path below it. Their responses still carry the request
    /// ID. A pattern that does not start with `/`, or has a `*` anywhere but a final `/*`, is refused with
    /// a warning. Called again, adds to the list.
    pub fn skip_paths<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for pattern in patterns {
            let pattern = pattern.as_ref();
            if let Err(reason) = self.skip.add(pattern) {
                warn_rate_limited(
                    &SETTING,
                    format_args!("skip_paths({pattern:?}) refused: {reason}; the path is recorded"),
                );
            }
        }
        self
    }

    /// The layer.
    pub fn build(self) -> HttpLayer {
        HttpLayer {
            config: Arc::new(Config {
                header: self.header,
                generate: self.generate,
                log_headers: self.log_headers,
                skip: self.skip,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for HttpLayer {
    type Service = HttpService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`HttpLayer`] wraps around the router's.
#[derive(Clone)]
pub struct HttpService<S> {
    inner: S,
    config: Arc<Config>,
}

/// The route label of requests that matched no route: a scanner's random paths must not create series.
const UNMATCHED: &str = "unmatched";

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for HttpService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        if self.config.skip.matches(req.uri().path()) {
            let id = self.request_id(&req);
            req.extensions_mut().insert(RequestId(id.to_string()));
            let request = RequestScope::new(id);
            let inner = {
                let _scope = Scope::enter(&request);
                self.inner.call(req)
            };
            return ResponseFuture {
                inner,
                state: Some(RequestState {
                    request,
                    header: self.config.header.clone(),
                    recorded: None,
                }),
            };
        }
        let start = Instant::now();
        let method = sightline_conventions::HTTP_METHODS
            .iter()
            .copied()
            .find(|m| *m == req.method().as_str())
            .unwrap_or(sightline_conventions::OTHER_METHOD);
        let route = matched_route(&req);
        let path = req.uri().path().to_owned();
        let id = self.request_id(&req);
        let parent = super::propagation::extract(req.headers());
        let user_agent = req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let span = tracing::info_span!(
            target: "sightline::http",
            "request",
            otel.name = format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = route,
            url.path = path.as_str(),
            http.response.status_code = Empty,
            user_agent.original = user_agent.as_str(),
            request_id = &*id,
        );
        // Continue the caller's trace; a request without (valid) trace context starts one.
        crate::traces::continue_trace(&span, parent);
        crate::traces::set_attribute(&span, "request.id", serde_json::Value::from(&*id));
        let headers: Vec<(String, String)> = self
            .config
            .log_headers
            .iter()
            .filter_map(|name| {
                let value = req.headers().get(name)?.to_str().ok()?;
                Some((name.to_string(), value.to_owned()))
            })
            .collect();
        req.extensions_mut().insert(RequestId(id.to_string()));
        let request = RequestScope::new(id);

        let children = children(method, route);
        children.start();
        let inner = {
            let _scope = Scope::enter(&request);
            let _entered = span.enter();
            self.inner.call(req)
        };
        ResponseFuture {
            inner,
            state: Some(RequestState {
                request,
                header: self.config.header.clone(),
                recorded: Some(Recorded {
                    start,
                    method,
                    route,
                    path,
                    headers,
                    children,
                    span,
                }),
            }),
        }
    }
}

impl<S> HttpService<S> {
    fn request_id<B>(&self, req: &Request<B>) -> Arc<str> {
        let inbound = req
            .headers()
            .get(&self.config.header)
            .map(HeaderValue::as_bytes)
            .filter(|v| request_id::is_acceptable(v))
            .and_then(|v| std::str::from_utf8(v).ok());
        match inbound {
            Some(id) => Arc::from(id),
            None => {
                let generated = (self.config.generate)();
                if request_id::is_acceptable(generated.as_bytes()) {
                    Arc::from(generated)
                } else {
                    Arc::from(request_id::generate())
                }
            }
        }
    }
}

/// The matched route template, interned: templates are the application's own, so the set is bounded.
fn matched_route<B>(req: &Request<B>) -> &'static str {
    #[cfg(feature = "axum")]
    if let Some(path) = req.extensions().get::<axum::extract::MatchedPath>() {
        return intern(path.as_str());
    }
    let _ = req;
    UNMATCHED
}

#[cfg(feature = "axum")]
fn intern(route: &str) -> &'static str {
    use once_cell::sync::Lazy;
    use std::collections::HashSet;
    use std::sync::{PoisonError, RwLock};
    static ROUTES: Lazy<RwLock<HashSet<&'static str>>> = Lazy::new(Default::default);
    if let Some(r) = ROUTES
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(route)
    {
        return r;
    }
    let mut all = ROUTES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = all.get(route) {
        return r;
    }
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    all.insert(leaked);
    leaked
}

/// The `http_*` series of one method and route, shared with handler-mode sites.
fn children(method: &'static str, route: &'static str) -> &'static HttpSeries {
    HTTP.series(method, route, DEFAULT_BUCKETS)
}

struct RequestState {
    request: Arc<RequestScope>,
    header: HeaderName,
    /// `None` for a path left out by `skip_paths`.
    recorded: Option<Recorded>,
}

/// What a recorded request's access line, series and span need.
struct Recorded {
    start: Instant,
    method: &'static str,
    route: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    children: &'static HttpSeries,
    span: Span,
}

pin_project! {
    /// The response future: polls the handler inside the request's span and scope, turns a panic into a
    /// 500, and records the request when it completes or is dropped (the client left: 499).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<RequestState>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(state) = this.project().state.take() {
                // A client that goes away before the response: nginx's 499.
                state.finish(499, None);
            }
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: Default + 'static,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(state) = this.state.as_ref() else {
            // Polled after completion: the inner future already finished or panicked.
            return Poll::Pending;
        };
        let polled = {
            let _scope = Scope::enter(&state.request);
            let _entered = state.recorded.as_ref().map(|r| r.span.enter());
            let inner = this.inner;
            std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx)))
        };
        let (result, status, failure) = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(mut response))) => {
                let status = response.status().as_u16();
                set_id(&mut response, state);
                let failure = match state.request.take_failure() {
                    Some(failure) => Some(failure),
                    None if state.recorded.is_some() => super::rejection::reason(&mut response),
                    None => None,
                };
                (Ok(response), status, failure)
            }
            Ok(Poll::Ready(Err(e))) => (Err(e), 500, state.request.take_failure()),
            Err(payload) => {
                let mut response = Response::new(ResBody::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                set_id(&mut response, state);
                let panic = Failure {
                    kind: "panic",
                    error: Some(panic_message(&*payload)),
                };
                (Ok(response), 500, Some(panic))
            }
        };
        if let Some(state) = this.state.take() {
            state.finish(status, failure);
        }
        Poll::Ready(result)
    }
}

fn set_id<B>(response: &mut Response<B>, state: &RequestState) {
    if let Ok(value) = HeaderValue::from_str(&state.request.id) {
        response.headers_mut().insert(state.header.clone(), value);
    }
}

/// The panic as its hook saw it (message and location), else its payload's text.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    crate::panics::caught(payload)
}

impl RequestState {
    /// Counts the request and writes its access line, inside its span, unless its path is left out.
    fn finish(self, status: u16, failure: Option<Failure>) {
        if let Some(recorded) = self.recorded {
            recorded.finish(status, failure);
        }
    }
}

impl Recorded {
    fn finish(self, status: u16, failure: Option<Failure>) {
        let elapsed = self.start.elapsed();
        self.children.finish(status, elapsed.as_nanos() as u64);
        let span = &self.span;
        span.record("http.response.status_code", status);
        if status >= 500 {
            span.record("otel.status_code", "ERROR");
        }
        let panic = failure
            .as_ref()
            .filter(|f| f.kind == "panic")
            .and_then(|f| f.error.as_deref());
        if let Some(message) = panic {
            crate::traces::record_exception(span, "panic", message);
        }
        let _entered = span.enter();
        let duration_ms = elapsed.as_micros() as f64 / 1000.0;
        let headers = serde_json::Map::from_iter(
            self.headers
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v))),
        );
        let headers = (!headers.is_empty()).then(|| serde_json::Value::Object(headers).to_string());
        macro_rules! access_line {
            ($level:expr) => {
                tracing::event!(
                    name: crate::traces::COMPLETION_EVENT,
                    target: "sightline::http",
                    $level,
                    method = self.method,
                    path = self.path.as_str(),
                    route = self.route,
                    status_code = status,
                    duration_ms,
                    headers = headers.as_deref(),
                    error_kind = failure.as_ref().map(|f| f.kind),
                    error = failure.as_ref().and_then(|f| f.error.as_deref()),
                    "request completed"
                )
            };
        }
        match status {
            500.. => access_line!(tracing::Level::ERROR),
            400..=499 => access_line!(tracing::Level::WARN),
            _ => access_line!(tracing::Level::INFO),
        }
    }
}
