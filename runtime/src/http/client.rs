//! The requests a service makes: a `client` span for each (its own parent id on the wire, so three calls
//! from one handler are three children of it), and `http_client_request_duration_seconds`.
//!
//! The transport-neutral part is [`ClientCall`]; [`ClientTelemetry`] is its reqwest integration, as
//! `reqwest-middleware`'s `Middleware`: the trait sees each request after it is built (method, URL,
//! headers) and its result, which is all a client span needs, and users of `reqwest-middleware` already
//! stack tracing and retry middleware the same way. A wrapper of our own around `RequestBuilder::send`
//! would have to be called at every call site instead of once where the client is built.

use super::propagation;
use crate::installation::{Decisions, Installation};
use crate::logs::line::push_json;
use crate::logs::{write_span_summary, SpanSummary};
use crate::span::OwnSpan;
use crate::traces::record::{OutcomeStatus, SpanOutcome, SpanSite, What};
use crate::warn::{warn_rate_limited, RateLimited};
use http::HeaderMap;
use once_cell::sync::Lazy;
use opentelemetry::trace::SpanKind;
use sightline_conventions::{HTTP_METHODS, OTHER_METHOD, OTHER_SERVER};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, PoisonError};

/// The target of client spans' summaries and decisions: `sightline::http::client=off` turns them off.
const CLIENT_TARGET: &str = "sightline::http::client";

/// What client spans do under the installation that last made one.
static CLIENT_DECISIONS: AtomicU64 = AtomicU64::new(0);

/// The `server_address` values of the client family: the first hosts seen, in order.
static HOSTS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Said once per process: hosts past the limit are counted as `other`.
static HOSTS_FULL: RateLimited = RateLimited::new(u64::MAX);

/// How many hosts get a `server_address` of their own when not set.
pub const DEFAULT_MAX_HOSTS: usize = 20;

/// The route-like template of a request's URL (`/api/v1/stock/{sku}`), for the client span's name
/// (`GET /api/v1/stock/{sku}`) and its `url.template`. Without one a client span is named by its method
/// alone: a URL holds ids, and span names must stay few.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlTemplate(pub &'static str);

/// A request being made: its span (when telemetry is installed), when it started, what labels it counts
/// under.
pub(crate) struct ClientCall {
    installation: Option<&'static Installation>,
    decisions: Decisions,
    site: &'static SpanSite,
    method: &'static str,
    server: &'static str,
    span: Option<OwnSpan>,
    start: u64,
}

/// What the call's response, or its failure, was.
pub(crate) enum ClientResult<'a> {
    Status(u16),
    /// No response: `kind` is its bounded `error.type` (`timeout`, `connect`, ...), `message` its text.
    Failed {
        kind: &'static str,
        message: &'a str,
    },
}

impl ClientCall {
    /// Starts the call to `url` (`scheme://host:port/path?query`) under whatever span the code is in.
    pub(crate) fn start(
        method: &str,
        host: &str,
        port: Option<u16>,
        url: &str,
        template: Option<UrlTemplate>,
        max_hosts: usize,
    ) -> ClientCall {
        let method = HTTP_METHODS
            .iter()
            .copied()
            .find(|m| *m == method)
            .unwrap_or(OTHER_METHOD);
        let site = site(method, template);
        let installation = crate::context::layer::current();
        let decisions = installation.map_or(Decisions::NONE, |i| {
            i.decisions(&CLIENT_DECISIONS, CLIENT_TARGET)
        });
        let span = match installation {
            Some(installation) if decisions.span() => {
                let span = OwnSpan::start(installation, None);
                if decisions.exported() {
                    let redactor = &installation.lines.redactor;
                    let url = redact_query(url, |key| redactor.is_redacted_key(key));
                    let text = |key: &'static str, value: &str| {
                        span.set(key, false, |out| {
                            push_json(out, value);
                            true
                        });
                    };
                    text("http.request.method", method);
                    text("server.address", host);
                    text("url.full", &url);
                    if let Some(UrlTemplate(template)) = template {
                        text("url.template", template);
                    }
                    if let Some(port) = port {
                        span.set("server.port", false, |out| {
                            out.extend_from_slice(port.to_string().as_bytes());
                            true
                        });
                    }
                }
                Some(span)
            }
            _ => None,
        };
        ClientCall {
            installation,
            decisions,
            site,
            method,
            server: server_label(host, max_hosts),
            span,
            start: crate::clock::now(),
        }
    }

    /// Adds the request ID and this call's trace context (its own span as the parent) to `headers`.
    pub(crate) fn inject(&self, headers: &mut HeaderMap) {
        let _entered = self.span.as_ref().map(OwnSpan::entered);
        propagation::inject(headers);
    }

    /// Ends the call: its metric, its span and, with no collector, the span's summary line.
    pub(crate) fn finish(self, result: ClientResult<'_>) {
        let end = crate::clock::now();
        let nanos = crate::clock::between(self.start, end);
        let (status_code, error_kind, message) = match result {
            ClientResult::Status(code) => (code, (code >= 400).then(|| status_text(code)), None),
            ClientResult::Failed { kind, message } => (0, Some(kind), Some(message)),
        };
        crate::metrics::client::observe(
            self.method,
            self.server,
            status_text(status_code),
            nanos as f64 / 1e9,
        );
        let (Some(installation), Some(span)) = (self.installation, &self.span) else {
            return;
        };
        // Client spans: a 4xx is the call's failure too (the semantic conventions for HTTP clients).
        let failed = error_kind.is_some();
        if self.decisions.summary() {
            write_span_summary(
                &installation.lines,
                &SpanSummary {
                    name: self.site.name,
                    ids: span.ids(),
                    parent: span.parent_span_id(),
                    duration_ms: nanos as f64 / 1e6,
                    status: if failed { "ERROR" } else { "UNSET" },
                    description: message,
                },
            );
        }
        let values = span.take_values();
        span.export(
            installation,
            self.start,
            end,
            What::Site(self.site),
            SpanOutcome {
                status: if failed {
                    OutcomeStatus::Error
                } else {
                    OutcomeStatus::Unset
                },
                error_kind,
                message: message.map(Box::from),
                status_code: (status_code > 0).then_some(status_code),
                trace_state: None,
            },
            values,
        );
    }
}

/// The span site of `method` with `template`: made once, kept for the process (templates are the
/// application's own, so the set is bounded).
fn site(method: &'static str, template: Option<UrlTemplate>) -> &'static SpanSite {
    type Sites = HashMap<(&'static str, Option<&'static str>), &'static SpanSite>;
    static SITES: Lazy<Mutex<Sites>> = Lazy::new(|| Mutex::new(HashMap::new()));
    let template = template.map(|UrlTemplate(t)| t);
    let mut sites = SITES.lock().unwrap_or_else(PoisonError::into_inner);
    sites.entry((method, template)).or_insert_with(|| {
        let name: &'static str = match template {
            Some(template) => Box::leak(format!("{method} {template}").into_boxed_str()),
            None => method,
        };
        Box::leak(Box::new(SpanSite {
            name,
            kind: SpanKind::Client,
            function: None,
            module: None,
            operation: None,
            http: None,
        }))
    })
}

/// `host`'s `server_address` label: its own among the first `max` hosts, else `other` (said once).
fn server_label(host: &str, max: usize) -> &'static str {
    let mut hosts = HOSTS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = hosts.iter().find(|h| **h == host) {
        return known;
    }
    if hosts.len() < max {
        let host: &'static str = Box::leak(host.to_owned().into_boxed_str());
        hosts.push(host);
        return host;
    }
    drop(hosts);
    warn_rate_limited(
        &HOSTS_FULL,
        format_args!(
            "http_client_request_duration_seconds: more than {max} servers called; {host} and later \
             ones are counted as server_address=\"{OTHER_SERVER}\" (raise it with \
             ClientTelemetry::max_hosts)"
        ),
    );
    OTHER_SERVER
}

/// `code` as text, for the `status_code` label and `error.type`.
fn status_text(code: u16) -> &'static str {
    static CODES: Lazy<Vec<String>> = Lazy::new(|| (0..600).map(|c| c.to_string()).collect());
    CODES.get(usize::from(code)).map_or("other", String::as_str)
}

/// `url` with the values of its secret query parameters replaced (`?token=[REDACTED]&page=2`).
fn redact_query(url: &str, is_secret: impl Fn(&str) -> bool) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(base);
    for (n, pair) in query.split('&').enumerate() {
        out.push(if n == 0 { '?' } else { '&' });
        match pair.split_once('=') {
            Some((key, _)) if is_secret(&key.to_ascii_lowercase()) => {
                out.push_str(key);
                out.push('=');
                out.push_str(sightline_conventions::REDACTED);
            }
            _ => out.push_str(pair),
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Spans and metrics for every request a `reqwest_middleware::ClientWithMiddleware` makes.
///
/// ```no_run
/// # async fn call() -> Result<(), reqwest_middleware::Error> {
/// use sightline_runtime::http::{ClientTelemetry, UrlTemplate};
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(ClientTelemetry::new())
///     .build();
/// client
///     .get("http://inventory:8080/api/v1/stock/beans")
///     .with_extension(UrlTemplate("/api/v1/stock/{sku}"))
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientTelemetry {
    max_hosts: usize,
}

impl ClientTelemetry {
    /// The middleware, with at most [`DEFAULT_MAX_HOSTS`] `server_address` values.
    pub fn new() -> ClientTelemetry {
        ClientTelemetry {
            max_hosts: DEFAULT_MAX_HOSTS,
        }
    }

    /// How many distinct hosts get a `server_address` of their own; later ones count as `other`.
    pub fn max_hosts(mut self, max: usize) -> ClientTelemetry {
        self.max_hosts = max;
        self
    }
}

impl Default for ClientTelemetry {
    fn default() -> Self {
        ClientTelemetry::new()
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for ClientTelemetry {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let url = req.url();
        let call = ClientCall::start(
            req.method().as_str(),
            url.host_str().unwrap_or(""),
            url.port_or_known_default(),
            url.as_str(),
            extensions.get::<UrlTemplate>().copied(),
            self.max_hosts,
        );
        call.inject(req.headers_mut());
        let result = next.run(req, extensions).await;
        match &result {
            Ok(response) => call.finish(ClientResult::Status(response.status().as_u16())),
            Err(error) => {
                let kind = match error {
                    reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
                    reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
                    reqwest_middleware::Error::Reqwest(_) => "request",
                    reqwest_middleware::Error::Middleware(_) => "middleware",
                };
                call.finish(ClientResult::Failed {
                    kind,
                    message: &error.to_string(),
                });
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_query_parameters_are_redacted_and_the_rest_kept() {
        let secret = |key: &str| key == "token" || key == "api_key";
        assert_eq!(
            redact_query("http://h/p?token=abc&page=2&API_KEY=x#top", secret),
            "http://h/p?token=[REDACTED]&page=2&API_KEY=[REDACTED]#top"
        );
        assert_eq!(redact_query("http://h/p", secret), "http://h/p");
        assert_eq!(redact_query("http://h/p?flag", secret), "http://h/p?flag");
    }

    #[test]
    fn hosts_past_the_limit_share_one_label() {
        assert_eq!(server_label("a.test", 2), "a.test");
        assert_eq!(server_label("b.test", 2), "b.test");
        assert_eq!(server_label("c.test", 2), OTHER_SERVER);
        assert_eq!(server_label("a.test", 2), "a.test");
    }

    #[test]
    fn status_codes_are_their_text() {
        assert_eq!(status_text(0), "0");
        assert_eq!(status_text(503), "503");
        assert_eq!(status_text(700), "other");
    }
}
