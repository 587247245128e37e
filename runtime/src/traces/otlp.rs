//! Spans sent over OTLP/HTTP with protobuf: `ExportTraceServiceRequest` written straight from the SDK's
//! span data, and posted with the blocking reqwest client.
//!
//! Not `opentelemetry-otlp`'s exporter: it turns each batch into a tree of owned protobuf messages (a
//! string allocated per attribute key and value) and prost then encodes it, computing the length of every
//! nested message again at each level; measured on the export thread, that was 13,000 instructions a
//! span, most of the export thread's work and more than the span cost its caller. Written directly, with
//! the lengths of the small messages worked out rather than encoded twice, a span costs a tenth of that.
//! The wire format is fixed by the OTLP protobuf definitions; the tests decode what is written here with
//! the generated `opentelemetry-proto` types.

use super::settings::{self, Env, InvalidSetting};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The export timeout, the first variable set winning (specification default: 10 s).
const TIMEOUTS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
];
/// Headers of every export request: a `key=value,key=value` list, values URL-encoded.
const HEADERS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_HEADERS",
];
/// Compression: this build sends bodies uncompressed.
const COMPRESSIONS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
];

/// The exporter.
pub(crate) struct OtlpHttp {
    client: reqwest::blocking::Client,
    url: String,
    headers: reqwest::header::HeaderMap,
    /// The `Resource` message, written once.
    resource: Vec<u8>,
    /// How long a request may go unanswered.
    timeout: Duration,
}

impl std::fmt::Debug for OtlpHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpHttp")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl OtlpHttp {
    /// An exporter posting to `url` (the traces URL, `/v1/traces` included), with the timeout and
    /// headers of the environment; a value that cannot be used is an error naming its variable.
    pub(crate) fn new(url: &str, env: Env<'_>) -> Result<OtlpHttp, InvalidSetting> {
        let first = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                env(name)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .map(|v| (name, v))
            })
        };
        if let Some((name, text)) = first(COMPRESSIONS) {
            if !text.eq_ignore_ascii_case("none") {
                return Err(InvalidSetting::new(
                    name,
                    &text,
                    "this build sends spans uncompressed: set none or unset it",
                ));
            }
        }
        let timeout = match first(TIMEOUTS) {
            Some((name, text)) => Duration::from_millis(text.parse().map_err(|_| {
                InvalidSetting::new(
                    name,
                    &text,
                    "a timeout in whole milliseconds is expected, e.g. 10000",
                )
            })?),
            None => Duration::from_secs(10),
        };
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/x-protobuf"),
        );
        if let Some((name, text)) = first(HEADERS) {
            for (key, value) in settings::key_values(name, &text)? {
                let invalid = || {
                    InvalidSetting::new(
                        name,
                        "(not shown)",
                        format!("{key:?} is not a valid header"),
                    )
                };
                let key = reqwest::header::HeaderName::from_bytes(key.as_bytes())
                    .map_err(|_| invalid())?;
                let value =
                    reqwest::header::HeaderValue::from_str(&value).map_err(|_| invalid())?;
                headers.insert(key, value);
            }
        }
        // Built on a thread of its own: the blocking client starts a runtime, which panics inside one
        // (the pipeline may be built inside `#[tokio::main]`).
        let client = std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .join()
        .map_err(|_| InvalidSetting::new(TIMEOUTS[1], "", "the HTTP client could not be built"))?
        .map_err(|e| InvalidSetting::new(TIMEOUTS[1], "", e.to_string()))?;
        Ok(OtlpHttp {
            client,
            url: url.to_owned(),
            headers,
            resource: Vec::new(),
            timeout,
        })
    }
}

impl SpanExporter for OtlpHttp {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let body = encode_request(&self.resource, &batch);
        let sent = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .body(body)
            .send();
        match sent {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(OTelSdkError::InternalFailure(format!(
                "HTTP export failed with status code: {}",
                response.status().as_u16()
            ))),
            // No answer within the request's timeout is the collector being unreachable (the `timeout`
            // reason is the export's own bound); the words say so for `loss_reason`.
            Err(error) if error.is_timeout() => Err(OTelSdkError::InternalFailure(format!(
                "HTTP export failed: network error: no answer within {} ms",
                self.timeout.as_millis()
            ))),
            Err(error) => Err(OTelSdkError::InternalFailure(format!(
                "HTTP export failed: network error: {error}"
            ))),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource.clear();
        for (key, value) in resource.iter() {
            write_key_value(&mut self.resource, 1, key.as_str(), value);
        }
    }
}

/// `ExportTraceServiceRequest` for `spans`, under the resource `resource` (its encoded fields).
pub(crate) fn encode_request(resource: &[u8], spans: &[SpanData]) -> Vec<u8> {
    let mut scope_spans = Vec::with_capacity(spans.len() * 256);
    let mut span = Vec::with_capacity(512);
    let mut scratch = Vec::new();
    let mut resource_spans = Vec::with_capacity(spans.len() * 256 + resource.len() + 64);
    // ResourceSpans.resource = 1
    write_message(&mut resource_spans, 1, resource);
    // Consecutive spans of one scope make one ScopeSpans (sightline's all share one scope).
    let mut rest = spans;
    while let Some(first) = rest.first() {
        let scope = &first.instrumentation_scope;
        let run = rest
            .iter()
            .take_while(|s| same_scope(&s.instrumentation_scope, scope))
            .count();
        scope_spans.clear();
        scratch.clear();
        write_scope(&mut scratch, scope);
        // ScopeSpans.scope = 1
        write_message(&mut scope_spans, 1, &scratch);
        for data in &rest[..run] {
            span.clear();
            write_span(&mut span, &mut scratch, data);
            // ScopeSpans.spans = 2
            write_message(&mut scope_spans, 2, &span);
        }
        if let Some(url) = scope.schema_url() {
            write_string(&mut scope_spans, 3, url);
        }
        // ResourceSpans.scope_spans = 2
        write_message(&mut resource_spans, 2, &scope_spans);
        rest = &rest[run..];
    }
    let mut request = Vec::with_capacity(resource_spans.len() + 8);
    // ExportTraceServiceRequest.resource_spans = 1
    write_message(&mut request, 1, &resource_spans);
    request
}

fn same_scope(a: &InstrumentationScope, b: &InstrumentationScope) -> bool {
    a.name() == b.name() && a.version() == b.version() && a.schema_url() == b.schema_url()
}

fn write_scope(out: &mut Vec<u8>, scope: &InstrumentationScope) {
    write_string(out, 1, scope.name());
    if let Some(version) = scope.version() {
        write_string(out, 2, version);
    }
    for attribute in scope.attributes() {
        write_key_value(out, 3, attribute.key.as_str(), &attribute.value);
    }
}

/// One `Span`.
fn write_span(out: &mut Vec<u8>, scratch: &mut Vec<u8>, span: &SpanData) {
    let context = &span.span_context;
    write_bytes(out, 1, &context.trace_id().to_bytes());
    write_bytes(out, 2, &context.span_id().to_bytes());
    let state = context.trace_state().header();
    if !state.is_empty() {
        write_string(out, 3, &state);
    }
    if span.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        write_bytes(out, 4, &span.parent_span_id.to_bytes());
    }
    write_string(out, 5, &span.name);
    let kind = match span.span_kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    };
    write_varint_field(out, 6, kind);
    write_fixed64(out, 7, nanos(span.start_time));
    write_fixed64(out, 8, nanos(span.end_time));
    for attribute in &span.attributes {
        write_key_value(out, 9, attribute.key.as_str(), &attribute.value);
    }
    if span.dropped_attributes_count > 0 {
        write_varint_field(out, 10, u64::from(span.dropped_attributes_count));
    }
    for event in span.events.iter() {
        scratch.clear();
        write_fixed64(scratch, 1, nanos(event.timestamp));
        write_string(scratch, 2, &event.name);
        for attribute in &event.attributes {
            write_key_value(scratch, 3, attribute.key.as_str(), &attribute.value);
        }
        if event.dropped_attributes_count > 0 {
            write_varint_field(scratch, 4, u64::from(event.dropped_attributes_count));
        }
        write_message(out, 11, scratch);
    }
    if span.events.dropped_count > 0 {
        write_varint_field(out, 12, u64::from(span.events.dropped_count));
    }
    for link in span.links.iter() {
        scratch.clear();
        let linked = &link.span_context;
        write_bytes(scratch, 1, &linked.trace_id().to_bytes());
        write_bytes(scratch, 2, &linked.span_id().to_bytes());
        let state = linked.trace_state().header();
        if !state.is_empty() {
            write_string(scratch, 3, &state);
        }
        for attribute in &link.attributes {
            write_key_value(scratch, 4, attribute.key.as_str(), &attribute.value);
        }
        if link.dropped_attributes_count > 0 {
            write_varint_field(scratch, 5, u64::from(link.dropped_attributes_count));
        }
        write_fixed32(
            scratch,
            6,
            flags(linked.trace_flags().to_u8(), linked.is_remote()),
        );
        write_message(out, 13, scratch);
    }
    if span.links.dropped_count > 0 {
        write_varint_field(out, 14, u64::from(span.links.dropped_count));
    }
    // Status: message = 2, code = 3 (Unset 0, Ok 1, Error 2).
    let (code, message) = match &span.status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description.as_ref()),
    };
    let status_len = if message.is_empty() {
        0
    } else {
        string_len(2, message)
    } + if code > 0 { 2 } else { 0 };
    write_tag(out, 15, 2);
    write_varint(out, status_len as u64);
    if !message.is_empty() {
        write_string(out, 2, message);
    }
    if code > 0 {
        write_varint_field(out, 3, code);
    }
    write_fixed32(
        out,
        16,
        flags(context.trace_flags().to_u8(), span.parent_span_is_remote),
    );
}

/// Span flags: the W3C trace flags, and that the parent's remoteness is known and whether it is remote.
fn flags(trace_flags: u8, remote: bool) -> u32 {
    const HAS_IS_REMOTE: u32 = 0x100;
    const IS_REMOTE: u32 = 0x200;
    u32::from(trace_flags) | HAS_IS_REMOTE | if remote { IS_REMOTE } else { 0 }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A `KeyValue` as field `field`: its length worked out first, so it is written once.
fn write_key_value(out: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
    let value_len = any_value_len(value);
    let len = string_len(1, key) + 1 + varint_len(value_len as u64) + value_len;
    write_tag(out, field, 2);
    write_varint(out, len as u64);
    write_string(out, 1, key);
    write_tag(out, 2, 2);
    write_varint(out, value_len as u64);
    write_any_value(out, value);
}

/// The encoded length of an `AnyValue`'s fields.
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::String(text) => string_len(1, text.as_str()),
        Value::Bool(_) => 2,
        Value::I64(i) => 1 + varint_len(*i as u64),
        Value::F64(_) => 9,
        Value::Array(array) => {
            let inner = array_len(array);
            1 + varint_len(inner as u64) + inner
        }
        // A kind added to the enum later: written as nothing, an empty value.
        _ => 0,
    }
}

/// The encoded length of an `ArrayValue`'s `values`.
fn array_len(array: &Array) -> usize {
    let item = |len: usize| 1 + varint_len(len as u64) + len;
    match array {
        Array::Bool(items) => items.len() * item(2),
        Array::I64(items) => items.iter().map(|i| item(1 + varint_len(*i as u64))).sum(),
        Array::F64(items) => items.len() * item(9),
        Array::String(items) => items.iter().map(|s| item(string_len(1, s.as_str()))).sum(),
        _ => 0,
    }
}

fn write_any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(text) => write_string(out, 1, text.as_str()),
        Value::Bool(b) => write_varint_field(out, 2, u64::from(*b)),
        Value::I64(i) => write_varint_field(out, 3, *i as u64),
        Value::F64(f) => {
            write_tag(out, 4, 1);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Value::Array(array) => {
            write_tag(out, 5, 2);
            write_varint(out, array_len(array) as u64);
            let mut item = |value: Value| {
                write_tag(out, 1, 2);
                write_varint(out, any_value_len(&value) as u64);
                write_any_value(out, &value);
            };
            match array {
                Array::Bool(items) => items.iter().for_each(|b| item(Value::Bool(*b))),
                Array::I64(items) => items.iter().for_each(|i| item(Value::I64(*i))),
                Array::F64(items) => items.iter().for_each(|f| item(Value::F64(*f))),
                Array::String(items) => items.iter().for_each(|s| item(Value::String(s.clone()))),
                _ => {}
            }
        }
        _ => {}
    }
}

fn write_tag(out: &mut Vec<u8>, field: u32, wire_type: u32) {
    write_varint(out, u64::from(field << 3 | wire_type));
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn write_varint_field(out: &mut Vec<u8>, field: u32, value: u64) {
    write_tag(out, field, 0);
    write_varint(out, value);
}

fn write_fixed64(out: &mut Vec<u8>, field: u32, value: u64) {
    write_tag(out, field, 1);
    out.extend_from_slice(&value.to_le_bytes());
}

fn write_fixed32(out: &mut Vec<u8>, field: u32, value: u32) {
    write_tag(out, field, 5);
    out.extend_from_slice(&value.to_le_bytes());
}

fn write_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_tag(out, field, 2);
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn write_string(out: &mut Vec<u8>, field: u32, text: &str) {
    write_bytes(out, field, text.as_bytes());
}

fn write_message(out: &mut Vec<u8>, field: u32, message: &[u8]) {
    write_bytes(out, field, message);
}

/// The encoded length of a string field with a one-byte tag.
fn string_len(_field: u32, text: &str) -> usize {
    1 + varint_len(text.len() as u64) + text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Event, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message as _;
    use std::borrow::Cow;

    fn span(name: &'static str, attributes: Vec<KeyValue>, status: Status) -> SpanData {
        let mut events = SpanEvents::default();
        events.events = vec![Event::new(
            "exception",
            UNIX_EPOCH + Duration::from_nanos(1_700_000_000_500_000_000),
            vec![KeyValue::new("exception.message", "é declined")],
            0,
        )];
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
                SpanId::from(0x1112_1314_1516_1718),
                TraceFlags::SAMPLED,
                false,
                TraceState::from_key_value([("vendor", "a1")]).unwrap(),
            ),
            parent_span_id: SpanId::from(7),
            parent_span_is_remote: true,
            span_kind: SpanKind::Server,
            name: Cow::Borrowed(name),
            start_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_000_000_000_000),
            end_time: UNIX_EPOCH + Duration::from_nanos(1_700_000_001_000_000_000),
            attributes,
            dropped_attributes_count: 0,
            events,
            links: SpanLinks::default(),
            status,
            instrumentation_scope: InstrumentationScope::builder("sightline")
                .with_version("0.1.0")
                .build(),
        }
    }

    /// What is written here decodes, with the generated protobuf types, into exactly the span given.
    #[test]
    fn the_request_decodes_with_the_generated_types() {
        let mut exporter_resource = Vec::new();
        let resource = Resource::builder_empty()
            .with_attribute(KeyValue::new("service.name", "checkout"))
            .build();
        for (key, value) in resource.iter() {
            write_key_value(&mut exporter_resource, 1, key.as_str(), value);
        }
        let long = "x".repeat(300);
        let spans = vec![
            span(
                "POST /checkout",
                vec![
                    KeyValue::new("http.response.status_code", 503i64),
                    KeyValue::new("negative", -5i64),
                    KeyValue::new("ratio", 0.25),
                    KeyValue::new("ok", true),
                    KeyValue::new("long", long.clone()),
                    KeyValue::new(
                        "list",
                        Value::Array(Array::String(vec!["a".into(), "b".into()])),
                    ),
                ],
                Status::error("card declined"),
            ),
            span("second", vec![], Status::Ok),
        ];
        let bytes = encode_request(&exporter_resource, &spans);
        let request = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(request.resource_spans.len(), 1);
        let resource_spans = &request.resource_spans[0];
        let resource = resource_spans.resource.as_ref().unwrap();
        assert_eq!(resource.attributes[0].key, "service.name");
        let scope_spans = &resource_spans.scope_spans;
        assert_eq!(scope_spans.len(), 1);
        let scope = scope_spans[0].scope.as_ref().unwrap();
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("sightline", "0.1.0")
        );
        let decoded = &scope_spans[0].spans;
        assert_eq!(decoded.len(), 2);
        let first = &decoded[0];
        assert_eq!(first.trace_id, (1..=16).collect::<Vec<u8>>());
        assert_eq!(first.span_id, (0x11..=0x18).collect::<Vec<u8>>());
        assert_eq!(first.parent_span_id, 7u64.to_be_bytes());
        assert_eq!(first.trace_state, "vendor=a1");
        assert_eq!(first.name, "POST /checkout");
        assert_eq!(first.kind, 2);
        assert_eq!(first.start_time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(first.end_time_unix_nano, 1_700_000_001_000_000_000);
        assert_eq!(first.flags, 0x301);
        let value = |key: &str| {
            first
                .attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
                .and_then(|v| v.value)
        };
        assert_eq!(
            value("http.response.status_code"),
            Some(any_value::Value::IntValue(503))
        );
        assert_eq!(value("negative"), Some(any_value::Value::IntValue(-5)));
        assert_eq!(value("ratio"), Some(any_value::Value::DoubleValue(0.25)));
        assert_eq!(value("ok"), Some(any_value::Value::BoolValue(true)));
        assert_eq!(value("long"), Some(any_value::Value::StringValue(long)));
        match value("list") {
            Some(any_value::Value::ArrayValue(array)) => assert_eq!(array.values.len(), 2),
            other => panic!("{other:?}"),
        }
        let status = first.status.as_ref().unwrap();
        assert_eq!((status.code, status.message.as_str()), (2, "card declined"));
        assert_eq!(first.events.len(), 1);
        assert_eq!(first.events[0].name, "exception");
        assert_eq!(first.events[0].time_unix_nano, 1_700_000_000_500_000_000);
        assert_eq!(first.events[0].attributes[0].key, "exception.message");
        assert_eq!(decoded[1].status.as_ref().unwrap().code, 1);
    }

    #[test]
    fn varint_lengths() {
        for value in [0u64, 1, 127, 128, 16_383, 16_384, u64::MAX, -5i64 as u64] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
        }
    }

    #[test]
    fn the_environment_is_read_and_bad_values_refused_by_name() {
        let env = |name: &str| match name {
            "OTEL_EXPORTER_OTLP_HEADERS" => Some("api-key=s3cr%20t, x-team = a".to_owned()),
            "OTEL_EXPORTER_OTLP_TIMEOUT" => Some("2500".to_owned()),
            _ => None,
        };
        let exporter = OtlpHttp::new("http://127.0.0.1:9/v1/traces", &env).unwrap();
        assert_eq!(exporter.headers["api-key"], "s3cr t");
        assert_eq!(exporter.headers["x-team"], "a");
        let gzip = |name: &str| {
            (name == "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION").then(|| "gzip".to_owned())
        };
        let error = OtlpHttp::new("http://127.0.0.1:9/v1/traces", &gzip).unwrap_err();
        assert_eq!(error.name, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION");
    }
}
