//! The tower layer and its service.

use super::request_id::{self, RequestId};
use super::routes::{route_info, RouteInfo};
use super::scope::{Failure, Request as RequestScope, Scope};
use super::skip::SkipPaths;
use crate::installation::{Decisions, Installation};
use crate::logs::fields::{write_value, FieldPlan, FieldValue};
use crate::logs::line::{push_json, push_millis, push_own_key, push_u64};
use crate::logs::{write_own_line, write_span_summary, Own, SpanSummary};
use crate::span::OwnSpan;
use crate::traces::record::{OutcomeStatus, SpanOutcome, What};
use crate::warn::{warn_rate_limited, SETTING};
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};
use tracing::Level;

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
    /// `generate` is sightline's own.
    default_generator: bool,
    log_headers: Vec<HeaderName>,
    skip: SkipPaths,
}

/// Configures an [`HttpLayer`]. A refused setting (an invalid header name, a path pattern that is not
/// one) is said in a `sightline` warning line naming it, and the rest of the configuration stands.
pub struct HttpLayerBuilder {
    header: HeaderName,
    generate: Arc<dyn Fn() -> String + Send + Sync>,
    default_generator: bool,
    log_headers: Vec<HeaderName>,
    skip: SkipPaths,
}

impl HttpLayer {
    /// A builder with the defaults of [`layer`].
    pub fn builder() -> HttpLayerBuilder {
        HttpLayerBuilder {
            header: HeaderName::from_static("x-request-id"),
            generate: Arc::new(request_id::generate),
            default_generator: true,
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
        self.default_generator = false;
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
                default_generator: self.default_generator,
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
            let (id, _) = self.request_id(&req);
            req.extensions_mut().insert(RequestId(id.to_string()));
            let request = RequestScope::new(id, None);
            let inner = {
                let _scope = Scope::enter(&request);
                self.inner.call(req)
            };
            return ResponseFuture {
                inner: Some(inner),
                state: Some(RequestState {
                    request,
                    header: self.config.header.clone(),
                    recorded: None,
                }),
            };
        }
        let start = crate::clock::now();
        let method = sightline_conventions::HTTP_METHODS
            .iter()
            .copied()
            .find(|m| *m == req.method().as_str())
            .unwrap_or(sightline_conventions::OTHER_METHOD);
        let route = route_info(method, &req);
        let (id, generated) = self.request_id(&req);
        let installation = crate::context::layer::current();
        let decisions = installation.map_or(Decisions::NONE, |i| {
            i.decisions(&REQUEST_DECISIONS, REQUEST_TARGET)
        });
        let span = match installation {
            Some(installation) if decisions.span() => {
                // Continue the caller's trace; a request without (valid) trace context starts one.
                let (remote, trace_state) = super::propagation::extract(req.headers());
                let span = OwnSpan::continuing(installation, remote);
                // On every line inside the request. An ID the layer made is safe as it is; one the
                // caller sent is read for secrets like any text.
                span.set("request_id", true, |out| {
                    if generated {
                        push_json(out, &id);
                    } else {
                        let redactor = &installation.lines.redactor;
                        write_value(
                            out,
                            redactor,
                            "request_id",
                            FieldPlan::FIELD,
                            FieldValue::Str(&id),
                        );
                    }
                    true
                });
                if decisions.exported() {
                    // Attributes of the exported span only, redacted on the export thread with the rest.
                    let user_agent = req
                        .headers()
                        .get(http::header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    for (key, value) in [
                        ("url.path", req.uri().path()),
                        ("user_agent.original", user_agent),
                        ("request.id", &*id),
                    ] {
                        span.set(key, false, |out| {
                            push_json(out, value);
                            true
                        });
                    }
                }
                Some((span, trace_state))
            }
            _ => None,
        };
        let path = decisions.any().then(|| req.uri().path().to_owned());
        let headers: Vec<(String, String)> = if decisions.any() {
            self.config
                .log_headers
                .iter()
                .filter_map(|name| {
                    let value = req.headers().get(name)?.to_str().ok()?;
                    Some((name.to_string(), value.to_owned()))
                })
                .collect()
        } else {
            Vec::new()
        };
        req.extensions_mut().insert(RequestId(id.to_string()));
        let (span, trace_state) = span.unzip();
        let trace_state = trace_state.flatten();
        let request = RequestScope::new(
            id,
            span.as_ref()
                .zip(trace_state.clone())
                .map(|(span, state)| (span.ids().trace_id, state)),
        );

        route.series.start();
        let inner = {
            let _scope = Scope::enter(&request);
            let _entered = span.as_ref().map(OwnSpan::entered);
            self.inner.call(req)
        };
        ResponseFuture {
            inner: Some(inner),
            state: Some(RequestState {
                request,
                header: self.config.header.clone(),
                recorded: Some(Box::new(Recorded {
                    start,
                    method,
                    route,
                    path,
                    headers,
                    installation,
                    decisions,
                    span,
                    trace_state,
                })),
            }),
        }
    }
}

/// The target of access lines, for filters (`sightline::http=warn` keeps only failed requests).
const REQUEST_TARGET: &str = "sightline::http";
const REQUEST_TARGET_ENTRY: &[u8] = b",\"target\":\"sightline::http\"";

/// What requests do under the installation that last recorded one.
static REQUEST_DECISIONS: AtomicU64 = AtomicU64::new(0);

impl<S> HttpService<S> {
    /// The request's ID, and whether the layer made it (with its default generator: an ID known to be
    /// safe to log as it is).
    fn request_id<B>(&self, req: &Request<B>) -> (Arc<str>, bool) {
        match request_id::inbound(req.headers(), &self.config.header) {
            Some(id) => (Arc::from(id), false),
            None if self.config.default_generator => (Arc::from(request_id::generate()), true),
            None => {
                let generated = (self.config.generate)();
                if request_id::is_acceptable(generated.as_bytes()) {
                    (Arc::from(generated), false)
                } else {
                    (Arc::from(request_id::generate()), true)
                }
            }
        }
    }
}

struct RequestState {
    request: Arc<RequestScope>,
    header: HeaderName,
    /// `None` for a path left out by `skip_paths`.
    recorded: Option<Box<Recorded>>,
}

/// What a recorded request's access line, series and span need.
struct Recorded {
    /// A [`crate::clock::now`] reading.
    start: u64,
    method: &'static str,
    route: &'static RouteInfo,
    /// `None` when no line or span is written (the metrics are all the request records).
    path: Option<String>,
    headers: Vec<(String, String)>,
    installation: Option<&'static Installation>,
    decisions: Decisions,
    span: Option<OwnSpan>,
    /// The caller's `tracestate`, carried on with its trace.
    trace_state: Option<Arc<str>>,
}

pin_project! {
    /// The response future: polls the handler inside the request's span and scope, turns a panic into a
    /// 500, and records the request when it completes or is dropped (the client left: 499).
    pub struct ResponseFuture<F> {
        // `None` once dropped inside the request.
        #[pin]
        inner: Option<F>,
        state: Option<RequestState>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if let Some(state) = this.state.take() {
                // A client that goes away before the response: nginx's 499. The handler is dropped
                // inside the request, so the cancelled calls' lines carry its request ID.
                {
                    let _scope = Scope::enter(&state.request);
                    let _entered = state
                        .recorded
                        .as_ref()
                        .and_then(|r| r.span.as_ref())
                        .map(OwnSpan::entered);
                    this.inner.set(None);
                }
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
            let _entered = state
                .recorded
                .as_ref()
                .and_then(|r| r.span.as_ref())
                .map(OwnSpan::entered);
            let Some(inner) = this.inner.as_pin_mut() else {
                return Poll::Pending;
            };
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
        let end = crate::clock::now();
        let nanos = crate::clock::between(self.start, end);
        self.route.series.finish(status, nanos);
        let Some(installation) = self.installation else {
            return;
        };
        let values = self.span.as_ref().and_then(OwnSpan::take_values);
        let level = match status {
            500.. => Level::ERROR,
            400..=499 => Level::WARN,
            _ => Level::INFO,
        };
        let micros = nanos / 1000;
        let panic = failure
            .as_ref()
            .filter(|f| f.kind == "panic")
            .and_then(|f| f.error.clone());
        if self.decisions.line(level) {
            self.access_line(
                installation,
                level,
                status,
                micros,
                failure,
                values.as_deref(),
            );
        }
        let Some(span) = &self.span else {
            return;
        };
        let failed = status >= 500;
        if self.decisions.summary() {
            write_span_summary(
                &installation.lines,
                &SpanSummary {
                    name: self.route.span.name,
                    ids: span.ids(),
                    parent: span.parent_span_id(),
                    duration_ms: nanos as f64 / 1e6,
                    status: if failed { "ERROR" } else { "UNSET" },
                    description: None,
                },
            );
        }
        span.export(
            installation,
            self.start,
            end,
            What::Site(&self.route.span),
            SpanOutcome {
                status: if failed {
                    OutcomeStatus::Error
                } else {
                    OutcomeStatus::Unset
                },
                error_kind: panic.as_ref().map(|_| "panic"),
                message: panic.map(String::into_boxed_str),
                status_code: Some(status),
                // Valid already (`crate::w3c`): the SDK's own check accepts whatever that does.
                trace_state: self
                    .trace_state
                    .and_then(|s| s.parse::<opentelemetry::trace::TraceState>().ok())
                    .map(Box::new),
            },
            values,
        );
    }

    /// `request completed`, with the request's method, path, route, status and duration, why it failed,
    /// and the fields of its span (its request ID, values recorded inside it).
    fn access_line(
        &self,
        installation: &Installation,
        level: Level,
        status: u16,
        micros: u64,
        failure: Option<Failure>,
        values: Option<&crate::context::Values>,
    ) {
        let sink = &installation.lines;
        let redactor = &sink.redactor;
        let headers = (!self.headers.is_empty()).then(|| {
            serde_json::Value::Object(serde_json::Map::from_iter(
                self.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))),
            ))
            .to_string()
        });
        // Prepared before the line: the stack is borrowed while the line is written.
        let mut path = Vec::new();
        write_value(
            &mut path,
            redactor,
            "path",
            FieldPlan::FIELD,
            FieldValue::Str(self.path.as_deref().unwrap_or("")),
        );
        let mut headers_json = Vec::new();
        if let Some(headers) = headers {
            write_value(
                &mut headers_json,
                redactor,
                "headers",
                FieldPlan::FIELD,
                FieldValue::Text(headers),
            );
        }
        let mut error = Vec::new();
        if let Some(text) = failure.as_ref().and_then(|f| f.error.as_deref()) {
            write_value(
                &mut error,
                redactor,
                "error",
                FieldPlan::FIELD,
                FieldValue::Str(text),
            );
        }
        let own = self.span.as_ref().map(|s| Own {
            ids: s.ids(),
            site: None,
            values,
        });
        write_own_line(
            sink,
            &level,
            REQUEST_TARGET_ENTRY,
            Some("request completed"),
            own,
            |line, keys| {
                let route = self.route.span.http.map_or("", |h| h.1);
                keys.extend(["method", "path", "route", "status_code", "duration_ms"]);
                push_own_key(line, "method");
                push_json(line, self.method);
                push_own_key(line, "path");
                line.extend_from_slice(&path);
                push_own_key(line, "route");
                push_json(line, route);
                push_own_key(line, "status_code");
                push_u64(line, u64::from(status));
                push_own_key(line, "duration_ms");
                push_millis(line, micros);
                if !headers_json.is_empty() {
                    keys.push("headers");
                    push_own_key(line, "headers");
                    line.extend_from_slice(&headers_json);
                }
                if let Some(failure) = &failure {
                    keys.push("error_kind");
                    push_own_key(line, "error_kind");
                    push_json(line, failure.kind);
                }
                if !error.is_empty() {
                    keys.push("error");
                    push_own_key(line, "error");
                    line.extend_from_slice(&error);
                }
            },
        );
    }
}
