//! W3C Trace Context (Level 1, and Level 2's random flag), rule by rule, over real sockets: a raw HTTP
//! request with the headers of each case goes to a service behind `sightline::http::layer()` whose
//! handler calls a second server through `ClientTelemetry` (a client span per call); the second server
//! hands back the headers it got.
//! The cases follow the specification's sections on `traceparent` and `tracestate` (and the W3C test
//! suite's cases for them), and run twice: with no collector (local mode) and with spans exported to an
//! OTLP receiver, where the exported server span must carry the same trace, parent and `tracestate`.

mod common;
#[path = "common/http_client.rs"]
mod http_client;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use sightline::http::{ClientTelemetry, UrlTemplate};
use std::net::SocketAddr;
use std::time::Duration;

const TRACE: &str = "12345678901234567890123456789012";
const PARENT: &str = "1234567890123456";
const VALID: &str = "00-12345678901234567890123456789012-1234567890123456-01";

/// Serves `app` on 127.0.0.1 (any free port) on the current runtime.
async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("server runs") });
    addr
}

/// The downstream server: every `traceparent` and `tracestate` it received, in order.
async fn capture(headers: HeaderMap) -> Json<Value> {
    let all = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    Json(json!({ "traceparent": all("traceparent"), "tracestate": all("tracestate") }))
}

/// The service under test: calls the downstream server `n` times and returns what each call carried.
async fn fan_out(
    State((host, port)): State<(&'static str, u16)>,
    Path(n): Path<usize>,
) -> Json<Vec<Value>> {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(ClientTelemetry::new())
        .build();
    let mut seen = Vec::new();
    for _ in 0..n {
        let response = client
            .get(format!(
                "http://{host}:{port}/capture?token=secret-{n}&page=1"
            ))
            .with_extension(UrlTemplate("/capture"))
            .send()
            .await
            .expect("the downstream server answers");
        seen.push(response.json().await.expect("its JSON"));
    }
    Json(seen)
}

/// What one outbound call carried.
#[derive(Debug)]
struct Outbound {
    traceparent: Vec<String>,
    tracestate: Vec<String>,
}

impl Outbound {
    /// The one `traceparent` (checked against the version 00 format), as (trace id, parent id, flags).
    fn parent(&self) -> (String, String, String) {
        assert_eq!(self.traceparent.len(), 1, "one traceparent: {self:?}");
        let fields: Vec<&str> = self.traceparent[0].split('-').collect();
        let lower_hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        assert!(
            fields.len() == 4
                && fields[0] == "00"
                && lower_hex(fields[1], 32)
                && lower_hex(fields[2], 16)
                && lower_hex(fields[3], 2)
                && fields[1] != "0".repeat(32)
                && fields[2] != "0".repeat(16),
            "a valid version-00 traceparent: {self:?}"
        );
        (
            fields[1].to_owned(),
            fields[2].to_owned(),
            fields[3].to_owned(),
        )
    }

    fn state(&self) -> Option<&str> {
        assert!(
            self.tracestate.len() <= 1,
            "at most one tracestate: {self:?}"
        );
        self.tracestate.first().map(String::as_str)
    }
}

struct Harness {
    service: SocketAddr,
    downstream: SocketAddr,
    /// How the service names the downstream server: its `server_address`, one per mode, so that each
    /// test counts its own calls.
    host: &'static str,
    receiver: Option<otlp_receiver::Receiver>,
    logs: common::Captured,
    guard: sightline::TelemetryGuard,
}

impl Harness {
    /// Sends one request with `headers` (raw `name: value` lines) and returns what its `calls` downstream
    /// calls carried.
    async fn send(&self, headers: &[&str], calls: usize) -> Vec<Outbound> {
        let lines: Vec<&[u8]> = headers.iter().map(|h| h.as_bytes()).collect();
        let response =
            http_client::request(self.service, "GET", &format!("/fan-out/{calls}"), &lines)
                .await
                .expect("the service answers");
        assert_eq!(response.status, 200, "{response:?}");
        let body: Vec<Value> = serde_json::from_str(&response.body_text()).expect("JSON");
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        body.iter()
            .map(|call| Outbound {
                traceparent: strings(&call["traceparent"]),
                tracestate: strings(&call["tracestate"]),
            })
            .collect()
    }

    async fn one(&self, headers: &[&str]) -> Outbound {
        self.send(headers, 1).await.pop().unwrap()
    }

    /// With a collector: the exported span `id`.
    fn exported(&self, id: &str) -> Option<otlp_receiver::ReceivedSpan> {
        let receiver = self.receiver.as_ref()?;
        let _ = self.guard.flush(Duration::from_secs(10));
        Some(
            receiver
                .spans()
                .into_iter()
                .find(|s| s.span_id() == id)
                .unwrap_or_else(|| panic!("no exported span {id}")),
        )
    }

    /// With a collector: the exported server span of the request whose downstream call carried
    /// `outbound` (that call's client span is its child, and the call's parent id).
    fn exported_server_span(&self, outbound: &Outbound) -> Option<otlp_receiver::ReceivedSpan> {
        let (_, parent, _) = outbound.parent();
        let client = self.exported(&parent)?;
        Some(self.exported(&client.parent_span_id()).unwrap())
    }
}

/// The service and the downstream server, under a sightline installation of this test's own: spans
/// exported to an OTLP receiver when `exported`, else no collector.
async fn harness(exported: bool) -> (Harness, tracing::subscriber::DefaultGuard) {
    let receiver = exported.then(otlp_receiver::Receiver::start);
    let logs = common::Captured::default();
    let mut builder = sightline::Telemetry::builder("trace-context")
        .log_writer(logs.clone())
        .log_level("info,sightline::spans=debug")
        .registry(prometheus::Registry::new())
        .process_metrics(false);
    if let Some(receiver) = &receiver {
        builder = builder.otlp_endpoint(receiver.base_url());
    }
    let (layer, guard) = builder.into_layer().expect("the layer builds");
    use tracing_subscriber::layer::SubscriberExt as _;
    let default = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    let downstream = serve(Router::new().route("/capture", get(capture))).await;
    let host = if exported { "localhost" } else { "127.0.0.1" };
    let service = serve(
        Router::new()
            .route("/fan-out/{n}", get(fan_out))
            .with_state((host, downstream.port()))
            .layer(sightline::http::layer()),
    )
    .await;
    (
        Harness {
            service,
            downstream,
            host,
            receiver,
            logs,
            guard,
        },
        default,
    )
}

/// `traceparent` is read only in its exact form; anything else starts a new trace.
async fn traceparent_rules(h: &Harness) {
    // A valid one is continued: the same trace id, our own parent id, the sampled flag kept.
    let out = h.one(&[&format!("traceparent: {VALID}")]).await;
    let (trace, parent, flags) = out.parent();
    assert_eq!(trace, TRACE, "a valid traceparent is continued");
    assert_ne!(
        parent, PARENT,
        "the next hop's parent is this service's span"
    );
    assert_eq!(
        flags, "01",
        "sampled, and no random flag the caller did not set"
    );
    if let Some(span) = h.exported_server_span(&out) {
        assert_eq!(span.trace_id(), TRACE);
        assert_eq!(
            span.parent_span_id(),
            PARENT,
            "the server span's parent is the caller's span"
        );
    }

    // The header name is case-insensitive.
    for name in ["TraceParent", "TRACEPARENT", "TrAcEpArEnT"] {
        let (trace, _, _) = h.one(&[&format!("{name}: {VALID}")]).await.parent();
        assert_eq!(trace, TRACE, "{name}");
    }

    // Optional whitespace around the value.
    for value in [
        format!(" {VALID}"),
        format!("\t{VALID}"),
        format!("{VALID} "),
        format!("{VALID}\t"),
        format!("\t {VALID} \t"),
    ] {
        let (trace, _, _) = h.one(&[&format!("traceparent:{value}")]).await.parent();
        assert_eq!(trace, TRACE, "OWS around {value:?}");
    }

    // A later version is read by its first four fields, and may carry more after a `-`.
    for value in [
        "cc-12345678901234567890123456789012-1234567890123456-01",
        "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
    ] {
        let (trace, _, _) = h.one(&[&format!("traceparent: {value}")]).await.parent();
        assert_eq!(trace, TRACE, "version cc: {value}");
    }

    // Invalid: a new trace (and the caller's tracestate ignored).
    let refused = [
        (
            "trailing characters after version 00",
            "00-12345678901234567890123456789012-1234567890123456-01.",
        ),
        (
            "more fields after version 00",
            "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        ),
        (
            "a later version with a non-dash after the flags",
            "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
        ),
        (
            "version ff",
            "ff-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "an illegal character in the version",
            ".0-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "a version of 3 digits",
            "000-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "a version of 1 digit",
            "0-12345678901234567890123456789012-1234567890123456-01",
        ),
        (
            "an all-zero trace id",
            "00-00000000000000000000000000000000-1234567890123456-01",
        ),
        (
            "an illegal character in the trace id",
            "00-1234567890123456789012345678901.-1234567890123456-01",
        ),
        (
            "upper-case hex in the trace id",
            "00-1234567890123456789012345678901A-1234567890123456-01",
        ),
        (
            "a trace id of 33 digits",
            "00-123456789012345678901234567890123-1234567890123456-01",
        ),
        (
            "a trace id of 31 digits",
            "00-1234567890123456789012345678901-1234567890123456-01",
        ),
        (
            "an all-zero parent id",
            "00-12345678901234567890123456789012-0000000000000000-01",
        ),
        (
            "an illegal character in the parent id",
            "00-12345678901234567890123456789012-123456789012345.-01",
        ),
        (
            "a parent id of 17 digits",
            "00-12345678901234567890123456789012-12345678901234567-01",
        ),
        (
            "a parent id of 15 digits",
            "00-12345678901234567890123456789012-123456789012345-01",
        ),
        (
            "an illegal character in the flags",
            "00-12345678901234567890123456789012-1234567890123456-.0",
        ),
        (
            "flags of 3 digits",
            "00-12345678901234567890123456789012-1234567890123456-001",
        ),
        (
            "flags of 1 digit",
            "00-12345678901234567890123456789012-1234567890123456-1",
        ),
    ];
    for (rule, value) in refused {
        let out = h
            .one(&[&format!("traceparent: {value}"), "tracestate: foo=1"])
            .await;
        let (trace, _, _) = out.parent();
        assert_ne!(trace, TRACE, "{rule}: a new trace");
        assert!(!value.contains(&trace), "{rule}: a new trace");
        assert_eq!(
            out.state(),
            None,
            "{rule}: the caller's tracestate is ignored"
        );
    }

    // Two traceparent headers: invalid, a new trace.
    let out = h
        .one(&[
            "traceparent: 00-12345678901234567890123456789011-1234567890123456-01",
            &format!("traceparent: {VALID}"),
        ])
        .await;
    let (trace, _, _) = out.parent();
    assert!(
        trace != TRACE && trace != "12345678901234567890123456789011",
        "two traceparents"
    );

    // Misspelt names are not the header.
    for name in ["trace-parent", "trace.parent"] {
        let (trace, _, _) = h.one(&[&format!("{name}: {VALID}")]).await.parent();
        assert_ne!(trace, TRACE, "{name}");
    }

    // No traceparent: a new trace, every time a different one.
    let (a, _, a_flags) = h.one(&[]).await.parent();
    let (b, _, _) = h.one(&[]).await.parent();
    assert_ne!(
        a, b,
        "each request without a traceparent starts its own trace"
    );
    assert_eq!(
        a_flags, "03",
        "a trace sightline starts is sampled and its id random (Level 2)"
    );
}

/// The sampled and random flags go on as the caller set them.
async fn flag_rules(h: &Harness) {
    for (sent, expected) in [
        ("00", "00"),
        ("01", "01"),
        ("02", "02"),
        ("03", "03"),
        ("ff", "03"),
    ] {
        let out = h
            .one(&[&format!("traceparent: 00-{TRACE}-{PARENT}-{sent}")])
            .await;
        let (trace, _, flags) = out.parent();
        assert_eq!(trace, TRACE);
        assert_eq!(
            flags, expected,
            "flags {sent}: sampled and random carried, unknown flags not"
        );
        if let Some(receiver) = &h.receiver {
            let _ = h.guard.flush(Duration::from_secs(10));
            let (_, parent, _) = out.parent();
            let exported = receiver.spans().into_iter().any(|s| s.span_id() == parent);
            assert_eq!(
                exported,
                sent != "00" && sent != "02",
                "the default sampler (parent-based) follows the caller's sampled flag {sent}"
            );
        }
    }
}

/// What the downstream call of a request with a valid `traceparent` and `headers` carried as
/// `tracestate`.
async fn carried(h: &Harness, headers: &[&str]) -> Option<String> {
    let tp = format!("traceparent: 00-{TRACE}-{PARENT}-01");
    let mut all = vec![tp.as_str()];
    all.extend_from_slice(headers);
    let out = h.one(&all).await;
    assert_eq!(out.parent().0, TRACE, "{headers:?}");
    out.state().map(str::to_owned)
}

/// `tracestate`: combined, validated, carried on unchanged.
async fn tracestate_rules(h: &Harness) {
    let state = |value: &str| format!("tracestate: {value}");
    assert_eq!(
        carried(h, &["tracestate: foo=1,bar=2"]).await.as_deref(),
        Some("foo=1,bar=2")
    );
    for name in ["TraceState", "TRACESTATE", "TrAcEsTaTe"] {
        let got = carried(h, &[&format!("{name}: foo=1")]).await;
        assert_eq!(got.as_deref(), Some("foo=1"), "{name}");
    }
    assert_eq!(
        carried(h, &["trace-state: foo=1"]).await,
        None,
        "a misspelt name is not the header"
    );
    assert_eq!(carried(h, &[]).await, None, "none sent, none carried");
    assert_eq!(
        carried(h, &["tracestate:"]).await,
        None,
        "an empty tracestate is not sent on"
    );
    assert_eq!(
        carried(h, &["tracestate: foo=1", "tracestate:"])
            .await
            .as_deref(),
        Some("foo=1"),
        "an empty header after another"
    );
    assert_eq!(
        carried(h, &["tracestate:", "tracestate: foo=1"])
            .await
            .as_deref(),
        Some("foo=1"),
        "an empty header before another"
    );
    assert_eq!(
        carried(
            h,
            &[
                "tracestate: foo=1,bar=2",
                "tracestate: rojo=1,congo=2",
                "tracestate: baz=3"
            ]
        )
        .await
        .as_deref(),
        Some("foo=1,bar=2,rojo=1,congo=2,baz=3"),
        "several headers combine in order"
    );
    for value in [
        "foo=1 \t , \t bar=2, \t baz=3",
        "foo=1\t \t,\t \tbar=2,\t \tbaz=3",
        "foo=1,,bar=2,baz=3,",
    ] {
        assert_eq!(
            carried(h, &[&state(value)]).await.as_deref(),
            Some("foo=1,bar=2,baz=3"),
            "whitespace around members and empty members: {value:?}"
        );
    }
    for value in [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"] {
        assert_eq!(
            carried(h, &[&state(value)]).await.as_deref(),
            Some("foo=1"),
            "OWS: {value:?}"
        );
    }

    let key: String = ('a'..='z').chain('0'..='9').chain("_-*/".chars()).collect();
    let value: String = (0x20u8..=0x7e)
        .filter(|b| *b != b',' && *b != b'=')
        .map(char::from)
        .collect();
    for member in [
        format!("{key}={value}"),
        format!("{key}@a-z0-9_-*/={value}"),
    ] {
        assert_eq!(
            carried(h, &[&state(&member)]).await.as_deref(),
            Some(member.as_str()),
            "every legal key and value character"
        );
    }
    assert_eq!(
        carried(h, &["tracestate: 0ab=1"]).await.as_deref(),
        Some("0ab=1"),
        "a key may start with a digit"
    );

    let members: Vec<String> = (1..=33).map(|i| format!("bar{i:02}={i:02}")).collect();
    let thirty_two = members[..32].join(",");
    assert_eq!(
        carried(h, &[&state(&thirty_two)]).await.as_deref(),
        Some(thirty_two.as_str()),
        "32 members"
    );
    let split: Vec<String> = members[..32]
        .chunks(10)
        .map(|c| state(&c.join(",")))
        .collect();
    let split: Vec<&str> = split.iter().map(String::as_str).collect();
    assert_eq!(
        carried(h, &split).await.as_deref(),
        Some(thirty_two.as_str()),
        "32 members in 4 headers"
    );
    assert_eq!(
        carried(h, &[&state(&members.join(","))]).await,
        None,
        "33 members: dropped"
    );

    // Dropped whole: a member that breaks the grammar, or a key twice.
    for bad in [
        "foo=1,foo=1",
        "foo=1,foo=2",
        "foo =1",
        "FOO=1",
        "foo.bar=1",
        "foo@=1,bar=2",
        "@foo=1,bar=2",
        "foo@@bar=1,bar=2",
        "foo@bar@baz=1,bar=2",
        "foo=bar=baz",
        "foo=,bar=3",
        "foo,bar=3",
    ] {
        assert_eq!(carried(h, &[&state(bad)]).await, None, "{bad}");
    }
    assert_eq!(
        carried(h, &["tracestate: foo=1", "tracestate: foo=2"]).await,
        None,
        "a key twice, across headers"
    );
    let long_value = format!("k={}", "v".repeat(257));
    assert_eq!(
        carried(h, &[&state(&long_value)]).await,
        None,
        "a value of 257 characters"
    );

    // Key lengths: 256, a tenant of 241 and a system of 14 are the limits.
    for (key, kept) in [
        ("z".repeat(256), true),
        ("z".repeat(257), false),
        (format!("{}@{}", "t".repeat(241), "v".repeat(14)), true),
        (format!("{}@v", "t".repeat(242)), false),
        (format!("t@{}", "v".repeat(15)), false),
    ] {
        let got = carried(h, &["tracestate: foo=1", &state(&format!("{key}=1"))]).await;
        assert_eq!(got.is_some(), kept, "a key of {} characters", key.len());
    }

    if h.receiver.is_some() {
        let tp = format!("traceparent: 00-{TRACE}-{PARENT}-01");
        let out = h
            .one(&[&tp, "tracestate: congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"])
            .await;
        let span = h.exported_server_span(&out).unwrap();
        assert_eq!(
            span.span.trace_state, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
            "the exported server span carries the caller's tracestate"
        );
    }
}

/// Three calls from one handler: three client spans, three parent ids, one trace; each visible in the
/// local span summaries (no collector) or in the exported spans (with one), with the client metrics.
async fn client_span_rules(h: &Harness) {
    let before = client_calls(h.host);
    for inbound in [Some(format!("traceparent: {VALID}")), None] {
        h.logs.take();
        let headers: Vec<&str> = inbound.iter().map(String::as_str).collect();
        let calls = h.send(&headers, 3).await;
        assert_eq!(calls.len(), 3);
        let parents: Vec<(String, String, String)> = calls.iter().map(Outbound::parent).collect();
        let trace = &parents[0].0;
        assert!(
            parents.iter().all(|p| &p.0 == trace),
            "one trace: {parents:?}"
        );
        if inbound.is_some() {
            assert_eq!(trace, TRACE, "the caller's trace");
        }
        let ids: std::collections::HashSet<&str> = parents.iter().map(|p| p.1.as_str()).collect();
        assert_eq!(ids.len(), 3, "each call its own parent id: {parents:?}");

        match &h.receiver {
            None => {
                // The summaries: three `GET /capture` client spans, children of the request's span.
                let lines = eventually_lines(&h.logs, |lines| {
                    parents.iter().all(|p| {
                        lines
                            .iter()
                            .any(|l| l["message"] == "span completed" && l["span_id"] == p.1)
                    })
                })
                .await;
                let server: Vec<&Value> = lines
                    .iter()
                    .filter(|l| {
                        l["message"] == "span completed" && l["span.name"] == "GET /fan-out/{n}"
                    })
                    .collect();
                assert_eq!(server.len(), 1, "one server span: {lines:?}");
                for (_, id, _) in &parents {
                    let client = lines
                        .iter()
                        .find(|l| l["message"] == "span completed" && l["span_id"] == *id)
                        .unwrap();
                    assert_eq!(client["span.name"], "GET /capture", "{client}");
                    assert_eq!(client["trace_id"], *trace, "{client}");
                    assert_eq!(client["parent_span_id"], server[0]["span_id"], "{client}");
                    assert_eq!(client["status"], "UNSET", "{client}");
                }
            }
            Some(_) => {
                let server = h.exported_server_span(&calls[0]).unwrap();
                assert_eq!(server.name(), "GET /fan-out/{n}");
                for (_, id, _) in &parents {
                    let client = h.exported(id).unwrap();
                    assert_eq!(client.name(), "GET /capture");
                    assert_eq!(client.span.kind, 3, "SPAN_KIND_CLIENT");
                    assert_eq!(client.trace_id(), *trace);
                    assert_eq!(client.parent_span_id(), server.span_id());
                    let attributes = client.attributes();
                    assert_eq!(attributes["http.request.method"], "GET");
                    assert_eq!(attributes["server.address"], h.host);
                    assert_eq!(attributes["server.port"], h.downstream.port().to_string());
                    assert_eq!(attributes["http.response.status_code"], "200");
                    assert_eq!(attributes["url.template"], "/capture");
                    let url = &attributes["url.full"];
                    assert!(
                        url.contains("token=[REDACTED]")
                            && url.contains("page=1")
                            && !url.contains("secret-3"),
                        "the query's secret is redacted: {url}"
                    );
                }
            }
        }
    }
    assert_eq!(
        client_calls(h.host) - before,
        6.0,
        "http_client_request_duration_seconds counts every call, under its server"
    );
}

/// The captured lines, once `ready` says they hold what the test waits for (within 5 s).
async fn eventually_lines(logs: &common::Captured, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let lines = logs.lines();
        if ready(&lines) {
            return lines;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expected lines did not come: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `http_client_request_duration_seconds_count{method="GET", server_address=host, status_code="200"}`.
fn client_calls(host: &str) -> f64 {
    common::client_calls(host, "200")
}

#[tokio::test]
async fn without_a_collector_every_rule_holds() {
    let (h, _default) = harness(false).await;
    traceparent_rules(&h).await;
    flag_rules(&h).await;
    tracestate_rules(&h).await;
    client_span_rules(&h).await;
}

#[tokio::test]
async fn with_spans_exported_every_rule_holds() {
    let (h, _default) = harness(true).await;
    traceparent_rules(&h).await;
    flag_rules(&h).await;
    tracestate_rules(&h).await;
    client_span_rules(&h).await;
}
