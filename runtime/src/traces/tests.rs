//! The pipeline end to end for the application's `tracing` spans: through the span layer, the rings, the
//! export thread and the OTLP/HTTP exporter to a receiver on 127.0.0.1 that decodes the real protobuf
//! messages. (sightline's own spans take the same way from the rings on; `tests/otlp_export.rs` follows
//! them from an observed call.)

use super::*;
use crate::context::layer::{ContextLayer, TracingIds};
use crate::context::SpanIds;
use crate::installation::{own_filter, Installation, Parts};
use crate::logs::{LineSink, Writer};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span as ProtoSpan};
use prost::Message as _;
use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::AtomicU16;
use std::sync::Mutex;
use std::time::Instant;
use tracing::field::Empty;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Registry};

// ---------------------------------------------------------------------------------------------------------
// A minimal OTLP/HTTP receiver: HTTP/1.1 with keep-alive, `content-length` bodies, protobuf decoding.

#[derive(Debug, Clone)]
struct Received {
    resource: HashMap<String, String>,
    scope: String,
    span: ProtoSpan,
}

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
    requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    /// The status to answer with.
    status: Arc<AtomicU16>,
    url: String,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver = Receiver {
            url: format!("http://{}", listener.local_addr().unwrap()),
            ..Receiver::default()
        };
        receiver.status.store(200, Ordering::SeqCst);
        let shared = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        receiver
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                return;
            }
            let mut headers = HashMap::new();
            headers.insert(":request".to_owned(), request_line.trim_end().to_owned());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            self.requests.lock().unwrap().push(headers.clone());
            let status = self.status.load(Ordering::SeqCst);
            if status == 200 && headers[":request"].starts_with("POST /v1/traces ") {
                let request = ExportTraceServiceRequest::decode(body.as_slice())
                    .expect("the body is an ExportTraceServiceRequest");
                let mut spans = self.spans.lock().unwrap();
                for resource_spans in request.resource_spans {
                    let resource = resource_spans
                        .resource
                        .map(|r| attributes(&r.attributes))
                        .unwrap_or_default();
                    for scope_spans in resource_spans.scope_spans {
                        let scope = scope_spans.scope.map(|s| s.name).unwrap_or_default();
                        for span in scope_spans.spans {
                            spans.push(Received {
                                resource: resource.clone(),
                                scope: scope.clone(),
                                span,
                            });
                        }
                    }
                }
            }
            // An empty ExportTraceServiceResponse encodes to zero bytes.
            let reason = if status == 200 {
                "OK"
            } else {
                "Internal Server Error"
            };
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
            );
            if writer.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }

    fn span(&self, name: &str) -> Received {
        let spans = self.spans();
        let found: Vec<_> = spans.iter().filter(|s| s.span.name == name).collect();
        assert_eq!(found.len(), 1, "one span {name:?} in {:#?}", names(&spans));
        found[0].clone()
    }

    fn requests(&self) -> Vec<HashMap<String, String>> {
        self.requests.lock().unwrap().clone()
    }
}

fn names(spans: &[Received]) -> Vec<&str> {
    spans.iter().map(|s| s.span.name.as_str()).collect()
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

fn attributes(list: &[ProtoKeyValue]) -> HashMap<String, String> {
    list.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------------------

fn no_env(_: &str) -> Option<String> {
    None
}

fn config(endpoint: Option<&str>) -> TraceConfig {
    TraceConfig {
        service_version: Some("1.2.3".to_owned()),
        endpoint: endpoint.map(str::to_owned),
        redactor: Redactor::new(["session_key"]),
        ..TraceConfig::new("checkout-service")
    }
}

/// The ids the span layer gave `span`, read from the registry as the log layer reads them.
fn ids_of(span: &tracing::Span) -> Option<TracingIds> {
    let id = span.id()?;
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let span = registry.span(&id)?;
        let extensions = span.extensions();
        extensions.get::<TracingIds>().copied()
    })
}

fn trace_hex(ids: SpanIds) -> String {
    crate::context::ids::hex(ids.trace_id, 16)
}

fn span_hex(span_id: u64) -> String {
    crate::context::ids::hex(u128::from(span_id), 8)
}

/// The installation a subscriber of `traces` records for (its log lines go nowhere).
fn installed(traces: &Traces) -> &'static Installation {
    Installation::leak(Parts {
        lines: Arc::new(LineSink::new(
            "checkout-service",
            Arc::default(),
            Writer::Make(crate::logs::MakeLines::new(std::io::sink)),
        )),
        filter: own_filter("info"),
        rings: traces.rings(),
        sampler: traces.sampler().clone(),
        max_level: traces.max_level(),
    })
}

/// The span stack and the trace layer, as `into_layer` composes them.
fn traced(traces: &Traces, filter: &str) -> impl tracing::Subscriber + Send + Sync {
    Registry::default()
        .with(ContextLayer {
            installation: installed(traces),
        })
        .with(traces.layer(EnvFilter::new(filter)))
}

/// A span as an application declares one, with the fields OpenTelemetry reads.
macro_rules! observed_span {
    ($name:literal $(, $($fields:tt)*)?) => {
        tracing::info_span!(
            $name,
            code.function = $name,
            otel.status_code = Empty,
            otel.status_message = Empty,
            error.type = Empty
            $(, $($fields)*)?
        )
    };
}

/// A parent that succeeds around a child that fails.
fn checkout_trace() -> (TracingIds, TracingIds) {
    let parent = observed_span!(
        "checkout",
        user = "ada",
        password = "hunter2-span-field",
        cart.items = Empty,
        api_token = Empty,
        tenant = Empty
    );
    let _entered = parent.enter();
    parent.record("cart.items", 3);
    parent.record("api_token", "tok-set-attribute");
    parent.record("tenant", "acme");
    let child = observed_span!("charge_card", amount_cents = 1999);
    let child_ids = {
        let _entered = child.enter();
        tracing::info!(
            password = "hunter2-event",
            session_key = "sk-extra",
            attempt = 1,
            "charging"
        );
        // An `error` field on an event stays an attribute of that event.
        tracing::warn!(error = "upstream timeout", "retrying");
        child.record("otel.status_code", "ERROR");
        child.record("error.type", "declined");
        child.record("otel.status_message", "card declined by issuer");
        ids_of(&child).expect("the child has ids")
    };
    drop(child);
    parent.record("otel.status_code", "OK");
    // Excluded: the exporter's own stack, and levels above the layer's.
    tracing::info_span!(target: "hyper_util::client::legacy", "connect").in_scope(|| {});
    tracing::debug_span!("too_verbose").in_scope(|| {});
    (ids_of(&parent).expect("the parent has ids"), child_ids)
}

#[test]
fn spans_reach_the_collector_with_links_status_attributes_and_resource() {
    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    assert!(traces.exporting());
    assert_eq!(
        traces.endpoint(),
        Some(format!("{}/v1/traces", receiver.url).as_str())
    );
    let subscriber = traced(&traces, "info");
    let (parent_ids, child_ids) = tracing::subscriber::with_default(subscriber, checkout_trace);
    traces.shutdown(Duration::from_secs(10));

    let spans = receiver.spans();
    assert_eq!(names(&spans).len(), 2, "{:?}", names(&spans));
    let parent = receiver.span("checkout");
    let child = receiver.span("charge_card");

    // One trace; the child points at the parent; the ids match what the log lines carry.
    assert_eq!(hex(&parent.span.trace_id), trace_hex(parent_ids.ids));
    assert_eq!(hex(&child.span.trace_id), trace_hex(parent_ids.ids));
    assert_eq!(child_ids.ids.trace_id, parent_ids.ids.trace_id);
    assert_eq!(hex(&parent.span.span_id), span_hex(parent_ids.ids.span_id));
    assert_eq!(hex(&child.span.span_id), span_hex(child_ids.ids.span_id));
    assert_eq!(
        hex(&child.span.parent_span_id),
        span_hex(parent_ids.ids.span_id)
    );
    assert!(parent.span.parent_span_id.is_empty());
    assert_eq!(child_ids.parent, Some(parent_ids.ids.span_id));
    assert!(parent_ids.ids.sampled && child_ids.ids.sampled);

    // Status: OK on the parent, ERROR with the message on the child.
    let parent_status = parent.span.status.clone().unwrap_or_default();
    assert_eq!(parent_status.code, StatusCode::Ok as i32);
    let child_status = child.span.status.clone().unwrap_or_default();
    assert_eq!(child_status.code, StatusCode::Error as i32);
    assert_eq!(child_status.message, "card declined by issuer");

    // Attributes, with secrets redacted.
    let attrs = attributes(&parent.span.attributes);
    assert_eq!(attrs["code.function"], "checkout");
    assert_eq!(attrs["user"], "ada");
    assert_eq!(attrs["password"], "[REDACTED]");
    assert_eq!(attrs["api_token"], "[REDACTED]");
    assert_eq!(attrs["cart.items"], "3");
    assert_eq!(attrs["tenant"], "acme");
    let attrs = attributes(&child.span.attributes);
    assert_eq!(attrs["amount_cents"], "1999");
    assert_eq!(attrs["error.type"], "declined");
    assert!(!attrs.contains_key("otel.status_message"), "{attrs:?}");

    // Events: the user's, with their secrets redacted.
    let retrying = child
        .span
        .events
        .iter()
        .find(|e| e.name == "retrying")
        .expect("the warning");
    assert_eq!(
        attributes(&retrying.attributes)["error"],
        "upstream timeout"
    );
    let charging = child
        .span
        .events
        .iter()
        .find(|e| e.name == "charging")
        .expect("the user's event");
    let charging = attributes(&charging.attributes);
    assert_eq!(charging["password"], "[REDACTED]");
    assert_eq!(charging["session_key"], "[REDACTED]");
    assert_eq!(charging["attempt"], "1");

    // No secret anywhere in what was sent.
    let everything = format!("{spans:?}");
    for secret in ["hunter2", "sk-extra", "tok-set-attribute"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }

    // Resource and scope.
    assert_eq!(parent.resource["service.name"], "checkout-service");
    assert_eq!(parent.resource["service.version"], "1.2.3");
    assert_eq!(parent.scope, "sightline");

    // Plain protobuf over HTTP.
    let request = &receiver.requests()[0];
    assert_eq!(request["content-type"], "application/x-protobuf");
    assert!(request[":request"].starts_with("POST /v1/traces HTTP/1.1"));
    assert_eq!(traces.export_counts(), (2, 0));
}

#[test]
fn the_environment_names_the_service_and_samples() {
    let receiver = Receiver::start();
    let env = |name: &str| match name {
        "OTEL_SERVICE_NAME" => Some("from-env".to_owned()),
        "OTEL_TRACES_SAMPLER" => Some("always_off".to_owned()),
        _ => None,
    };
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &env).unwrap();
    let subscriber = traced(&traces, "info");
    let ids = tracing::subscriber::with_default(subscriber, || {
        let span = observed_span!("sampled_out");
        let _entered = span.enter();
        ids_of(&span)
    });
    traces.shutdown(Duration::from_secs(10));
    // Not sampled: nothing exported, but the logs still get ids.
    let ids = ids.expect("ids even when not sampled");
    assert!(!ids.ids.sampled);
    assert!(receiver.spans().is_empty());

    let env = |name: &str| (name == "OTEL_SERVICE_NAME").then(|| "from-env".to_owned());
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &env).unwrap();
    let subscriber = traced(&traces, "info");
    tracing::subscriber::with_default(subscriber, || observed_span!("named").in_scope(|| {}));
    traces.shutdown(Duration::from_secs(10));
    assert_eq!(receiver.span("named").resource["service.name"], "from-env");
}

#[test]
fn local_mode_gives_ids_and_exports_nothing() {
    let traces = Traces::build_with_env(config(None), &no_env).unwrap();
    assert!(!traces.exporting());
    let subscriber = traced(&traces, "info");
    let (parent, child) = tracing::subscriber::with_default(subscriber, || {
        let parent = observed_span!("outer");
        let _p = parent.enter();
        let child = observed_span!("inner");
        let _c = child.enter();
        (ids_of(&parent).unwrap(), ids_of(&child).unwrap())
    });
    assert_eq!(parent.ids.trace_id, child.ids.trace_id);
    assert_ne!(parent.ids.trace_id, 0);
    assert_eq!(child.parent, Some(parent.ids.span_id));
    assert_eq!(parent.parent, None);
    assert!(child.ids.sampled);
    let started = Instant::now();
    traces.shutdown(Duration::from_secs(5));
    traces.force_flush(Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn spans_have_ids_from_creation_and_none_without_a_pipeline() {
    let span = observed_span!("no_subscriber");
    assert_eq!(ids_of(&span), None);
    for endpoint in [None, Some("http://127.0.0.1:9")] {
        let traces = Traces::build_with_env(config(endpoint), &no_env).unwrap();
        tracing::subscriber::with_default(traced(&traces, "info"), || {
            let span = observed_span!("never_entered");
            assert!(ids_of(&span).is_some(), "{endpoint:?}");
        });
        traces.shutdown(Duration::from_millis(100));
    }
}

/// A failing collector: exports fail, are counted, and shutdown still returns within its bound.
#[test]
fn a_failing_collector_is_counted_and_does_not_hang_shutdown() {
    let receiver = Receiver::start();
    receiver.status.store(500, Ordering::SeqCst);
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    let subscriber = traced(&traces, "info");
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..3 {
            observed_span!("doomed").in_scope(|| {});
        }
    });
    let started = Instant::now();
    traces.shutdown(Duration::from_secs(15));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(traces.export_counts(), (0, 3));
    assert!(!receiver.requests().is_empty(), "the exporter tried");
}

/// Nothing listens: the refused connection is counted and shutdown returns by its deadline.
#[test]
fn a_refused_connection_does_not_hang_shutdown() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let traces = Traces::build_with_env(config(Some(&url)), &no_env).unwrap();
    let subscriber = traced(&traces, "info");
    tracing::subscriber::with_default(subscriber, || observed_span!("lost").in_scope(|| {}));
    let started = Instant::now();
    traces.shutdown(Duration::from_secs(2));
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

/// Built, used and shut down inside a multi-thread Tokio runtime, spans from tasks on several workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_a_multi_thread_runtime() {
    use tracing::Instrument as _;
    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    let dispatch = tracing::Dispatch::new(traced(&traces, "info"));
    let _default = tracing::dispatcher::set_default(&dispatch);
    let parent = observed_span!("handle_request");
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let dispatch = dispatch.clone();
            let child = tracing::dispatcher::with_default(
                &dispatch,
                || tracing::info_span!(parent: &parent, "task", i),
            );
            tokio::spawn(async move {
                async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                .instrument(child.clone())
                .await;
                // Only a test without a global subscriber needs this: the registry releases the
                // parent through the thread's default dispatcher when the child closes.
                tracing::dispatcher::with_default(&dispatch, || drop(child));
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    drop(parent);
    // Blocking inside the runtime on purpose: this is what a guard dropped at the end of `main` does.
    traces.shutdown(Duration::from_secs(10));
    let spans = receiver.spans();
    assert_eq!(spans.len(), 5, "{:?}", names(&spans));
    let root = receiver.span("handle_request");
    for span in spans.iter().filter(|s| s.span.name == "task") {
        assert_eq!(span.span.trace_id, root.span.trace_id);
        assert_eq!(span.span.parent_span_id, root.span.span_id);
    }
}

/// The same inside a current-thread runtime (`#[tokio::test]`'s default), where blocking the only worker
/// would deadlock an exporter that needed it.
#[tokio::test]
async fn works_inside_a_current_thread_runtime() {
    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    let subscriber = traced(&traces, "info");
    let _default = tracing::subscriber::set_default(subscriber);
    async {
        tokio::task::yield_now().await;
    }
    .instrument_observed()
    .await;
    traces.force_flush(Duration::from_secs(10));
    assert_eq!(names(&receiver.spans()), ["async_call"]);
    // Dropping the pipeline inside the runtime after shutdown: nothing panics.
    traces.shutdown(Duration::from_secs(10));
    drop(traces);
}

trait InstrumentObserved: std::future::Future + Sized {
    fn instrument_observed(self) -> tracing::instrument::Instrumented<Self> {
        tracing::Instrument::instrument(self, observed_span!("async_call"))
    }
}

impl<F: std::future::Future> InstrumentObserved for F {}

/// Dropping a pipeline that was never shut down, inside a runtime: nothing panics.
#[tokio::test]
async fn dropping_without_shutdown_inside_a_runtime_is_fine() {
    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    drop(traces);
}

#[test]
fn the_sdk_can_be_disabled_from_the_environment() {
    let env = |name: &str| (name == "OTEL_SDK_DISABLED").then(|| " TRUE".to_owned());
    let traces = Traces::build_with_env(config(Some("http://127.0.0.1:9")), &env).unwrap();
    assert!(!traces.exporting());
    let env = |name: &str| (name == "OTEL_SDK_DISABLED").then(|| "false".to_owned());
    let traces = Traces::build_with_env(config(Some("http://127.0.0.1:9")), &env).unwrap();
    assert!(traces.exporting());
    traces.shutdown(Duration::from_millis(100));
}

#[test]
fn only_http_protobuf_is_spoken_and_anything_else_is_refused() {
    let grpc = |name: &str| (name == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "grpc".to_owned());
    let error = Traces::build_with_env(config(Some("http://127.0.0.1:9")), &grpc).unwrap_err();
    assert!(
        matches!(&error, TraceError::Setting(s) if s.name == "OTEL_EXPORTER_OTLP_PROTOCOL"),
        "{error}"
    );
    // Nothing is sent anywhere without an endpoint: the protocol does not matter then.
    let traces = Traces::build_with_env(config(None), &grpc).unwrap();
    assert!(!traces.exporting());
}

#[test]
fn bad_settings_are_refused_by_name() {
    for (name, value) in [
        ("OTEL_SDK_DISABLED", "yes"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
    ] {
        let env = move |n: &str| (n == name).then(|| value.to_owned());
        let error = Traces::build_with_env(config(Some("http://127.0.0.1:9")), &env).unwrap_err();
        assert!(
            matches!(&error, TraceError::Setting(s) if s.name == name && s.value == value),
            "{name}: {error}"
        );
    }
}

#[test]
fn invalid_endpoints_fail_the_build() {
    let error = Traces::build_with_env(config(Some("collector:4318")), &no_env).unwrap_err();
    assert!(
        error.to_string().contains("invalid OTLP endpoint"),
        "{error}"
    );
}

/// Composed as `TelemetryBuilder::into_layer` composes it: the log layer with its level filter, then the
/// trace layer, boxed together. Spans are exported, exception events arrive, and log lines still flow.
#[test]
fn composes_with_the_log_layer() {
    use crate::logs::LogLayer;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);
    struct LineWriter(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for LineWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
        type Writer = LineWriter;
        fn make_writer(&'a self) -> LineWriter {
            LineWriter(self.0.clone())
        }
    }

    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    let lines = Lines::default();
    let sink = Arc::new(LineSink::new(
        "checkout-service",
        Arc::default(),
        Writer::Make(crate::logs::MakeLines::new(lines.clone())),
    ));
    let log = LogLayer::new(sink).with_filter(EnvFilter::new("warn"));
    let combined: Box<dyn Layer<Registry> + Send + Sync> = ContextLayer {
        installation: installed(&traces),
    }
    .and_then(log)
    .and_then(traces.layer(EnvFilter::new("info")))
    .boxed();
    let subscriber = Registry::default().with(combined);
    let (parent_ids, child_ids) = tracing::subscriber::with_default(subscriber, || {
        // Logged (warn) and traced.
        tracing::warn!(outside = true, "before any span");
        checkout_trace()
    });
    traces.shutdown(Duration::from_secs(10));
    let child = receiver.span("charge_card");
    assert_eq!(hex(&child.span.trace_id), trace_hex(parent_ids.ids));
    assert_eq!(hex(&child.span.span_id), span_hex(child_ids.ids.span_id));
    assert_eq!(
        child.span.status.clone().unwrap_or_default().code,
        StatusCode::Error as i32
    );
    // `info!` inside the span is below the log level but still a span event.
    assert!(child.span.events.iter().any(|e| e.name == "charging"));
    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("before any span"), "{logged}");
    assert!(!logged.contains("charging"), "{logged}");
}

/// In local mode the log level decides: a span the logs would not see gets no OpenTelemetry span (and
/// costs nothing); when exporting, it is traced whatever the log level.
#[test]
fn the_log_level_decides_in_local_mode_only() {
    let traces = Traces::build_with_env(config(None), &no_env).unwrap();
    let subscriber = traced(&traces, "warn");
    tracing::subscriber::with_default(subscriber, || {
        let info = observed_span!("info_level");
        let _entered = info.enter();
        assert_eq!(ids_of(&info), None);
        let warn = tracing::warn_span!("warn_level");
        let _entered = warn.enter();
        assert!(ids_of(&warn).is_some());
    });

    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    let subscriber = traced(&traces, "error");
    tracing::subscriber::with_default(subscriber, || {
        observed_span!("exported_anyway").in_scope(|| {});
        tracing::debug_span!("above_max_level").in_scope(|| {});
    });
    traces.shutdown(Duration::from_secs(10));
    assert_eq!(names(&receiver.spans()), ["exported_anyway"]);
}

/// `otel.status_description`, like `otel.status_message`, is an error's description, recorded before or
/// after the status.
#[test]
fn the_status_description_field_sets_the_error_message() {
    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    let subscriber = traced(&traces, "info");
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(
            "described",
            otel.status_code = Empty,
            otel.status_description = Empty
        );
        let _entered = span.enter();
        span.record("otel.status_code", "ERROR");
        span.record("otel.status_description", "timed out");
        let first = tracing::info_span!(
            "described_first",
            otel.status_code = Empty,
            otel.status_message = Empty
        );
        first.record("otel.status_message", "refused");
        first.record("otel.status_code", "ERROR");
    });
    traces.shutdown(Duration::from_secs(10));
    let span = receiver.span("described");
    let status = span.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(status.message, "timed out");
    assert!(!attributes(&span.span.attributes).contains_key("otel.status_description"));
    let status = receiver
        .span("described_first")
        .span
        .status
        .unwrap_or_default();
    assert_eq!(
        (status.code, status.message.as_str()),
        (StatusCode::Error as i32, "refused")
    );
}

/// `otel.kind` and `otel.name` set the span's kind and name, declared at creation or recorded later.
#[test]
fn kind_and_name_come_from_their_fields() {
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    let receiver = Receiver::start();
    let traces = Traces::build_with_env(config(Some(&receiver.url)), &no_env).unwrap();
    tracing::subscriber::with_default(traced(&traces, "info"), || {
        tracing::info_span!("GET /orders/{id}", otel.kind = "server").in_scope(|| {});
        let late = tracing::info_span!("late", otel.kind = Empty, otel.name = Empty);
        late.in_scope(|| {
            late.record("otel.kind", "client");
            late.record("otel.name", "GET inventory");
        });
    });
    traces.shutdown(Duration::from_secs(10));
    assert_eq!(
        receiver.span("GET /orders/{id}").span.kind,
        SpanKind::Server as i32
    );
    assert_eq!(
        receiver.span("GET inventory").span.kind,
        SpanKind::Client as i32
    );
}

/// sightline's own spans and the application's `tracing` spans nest in the order the code entered them,
/// whichever kind is outside.
#[test]
fn own_spans_and_tracing_spans_parent_each_other() {
    use crate::span::OwnSpan;
    let traces = Traces::build_with_env(config(None), &no_env).unwrap();
    let installation = installed(&traces);
    let subscriber = Registry::default()
        .with(ContextLayer { installation })
        .with(traces.layer(EnvFilter::new("info")));
    tracing::subscriber::with_default(subscriber, || {
        let call = OwnSpan::start(installation, None);
        call.enter();
        let inner = tracing::info_span!("inner");
        let inner_ids = inner.in_scope(|| {
            let nested = OwnSpan::start(installation, None);
            assert_eq!(
                nested.parent_span_id(),
                ids_of(&inner).map(|i| i.ids.span_id)
            );
            assert_eq!(nested.ids().trace_id, call.ids().trace_id);
            ids_of(&inner).unwrap()
        });
        assert_eq!(inner_ids.parent, Some(call.ids().span_id));
        assert_eq!(inner_ids.ids.trace_id, call.ids().trace_id);
        call.exit();
        let after = tracing::info_span!("after");
        assert_eq!(ids_of(&after).unwrap().parent, None, "the call was left");
    });
}
