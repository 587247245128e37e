//! An OTLP/HTTP receiver for the tests: an axum server on 127.0.0.1 that accepts `POST /v1/traces`,
//! decodes the real `ExportTraceServiceRequest` protobuf and keeps every span with its resource attributes.
//! It runs on a Tokio runtime of its own thread, so tests with or without a runtime can use it.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::Event, Span};
use prost::Message as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// One received span, with what it was sent with.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The resource attributes (`service.name`, `service.version`, ...) as text.
    pub resource: HashMap<String, String>,
    /// The instrumentation scope's name.
    pub scope: String,
    pub span: Span,
    /// When the request carrying the span reached the receiver.
    pub received_at: SystemTime,
}

impl ReceivedSpan {
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// 16 lower-case hex digits.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// 16 hex digits, or empty for a root span.
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    /// The span's attributes as text.
    pub fn attributes(&self) -> HashMap<String, String> {
        attributes(&self.span.attributes)
    }

    /// The events named `name`.
    pub fn events(&self, name: &str) -> Vec<&Event> {
        self.span.events.iter().filter(|e| e.name == name).collect()
    }

    /// `(code, message)` of the status; code 0 unset, 1 ok, 2 error.
    pub fn status(&self) -> (i32, String) {
        let status = self.span.status.clone().unwrap_or_default();
        (status.code, status.message)
    }
}

#[derive(Clone, Default)]
struct Shared {
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    content_types: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
    /// Milliseconds each request waits before it is answered.
    delay_ms: Arc<AtomicU64>,
}

/// A running receiver. It stops with the test process.
#[derive(Clone)]
pub struct Receiver {
    shared: Shared,
    base_url: String,
}

impl Receiver {
    /// Starts a receiver answering 200 with an empty `ExportTraceServiceResponse`.
    pub fn start() -> Receiver {
        let shared = Shared::default();
        shared.status.store(200, Ordering::SeqCst);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("receiver runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind 127.0.0.1:0");
                    addr_tx.send(listener.local_addr().unwrap()).unwrap();
                    let app = Router::new()
                        .route("/v1/traces", post(export))
                        .with_state(state);
                    axum::serve(listener, app).await.expect("receiver serves");
                });
            })
            .expect("receiver thread");
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("receiver started");
        Receiver {
            shared,
            base_url: format!("http://{addr}"),
        }
    }

    /// `http://127.0.0.1:PORT`, what `.otlp_endpoint(..)` takes.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Answer every later request with `status` (e.g. 500) instead of 200; nothing is stored meanwhile.
    pub fn respond_with(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Answer every later request only after `delay` (a slow collector); its spans are stored then.
    pub fn delay_responses(&self, delay: Duration) {
        self.shared
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.spans.lock().unwrap().clone()
    }

    /// The one span named `name`; fails when there is none or more than one.
    pub fn span(&self, name: &str) -> ReceivedSpan {
        let spans = self.spans();
        let found: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name() == name).collect();
        assert_eq!(
            found.len(),
            1,
            "one span named {name:?} in {:?}",
            spans.iter().map(ReceivedSpan::name).collect::<Vec<_>>()
        );
        found[0].clone()
    }

    /// Waits until at least `count` spans arrived, or `timeout` passed; returns the spans.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if spans.len() >= count || Instant::now() >= deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `content-type` of every request.
    pub fn content_types(&self) -> Vec<String> {
        self.shared.content_types.lock().unwrap().clone()
    }
}

async fn export(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    let received_at = SystemTime::now();
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    shared.content_types.lock().unwrap().push(content_type);
    let status = shared.status.load(Ordering::SeqCst);
    let header = [("content-type", "application/x-protobuf")];
    if status != 200 {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (code, header, Vec::new());
    }
    let request = match ExportTraceServiceRequest::decode(body.as_ref()) {
        Ok(request) => request,
        Err(_) => return (StatusCode::BAD_REQUEST, header, Vec::new()),
    };
    let mut spans = shared.spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans.scope.map(|s| s.name).unwrap_or_default();
            for span in scope_spans.spans {
                spans.push(ReceivedSpan {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    span,
                    received_at,
                });
            }
        }
    }
    let response = ExportTraceServiceResponse::default().encode_to_vec();
    (StatusCode::OK, header, response)
}

/// Attributes as text: strings as they are, numbers and booleans printed.
pub fn attributes(list: &[KeyValue]) -> HashMap<String, String> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
