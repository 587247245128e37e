//! `sightline::http`, the tower layer for axum, in front of real servers on 127.0.0.1 driven by a raw
//! HTTP/1.1 client (so odd header bytes can be sent): request ids (generated, kept, refused), trace
//! continuation across two services, the `http_*` families with the matched route template and one
//! `unmatched` series for everything else, 499 for clients that leave, 500 for panics, one access line per
//! request, and no secret header value anywhere in the output.
//!
//! Telemetry is installed once for the binary and the tests run in parallel, so each test uses routes of
//! its own and finds its log lines by request id; the `GET` + `unmatched` series belongs to
//! `a_scan_creates_one_unmatched_series` alone (other tests reach the fallback with other methods).

mod common;
#[path = "common/http_client.rs"]
mod http_client;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use common::{telemetry, value};
use serde_json::Value;
use sightline::http::{current_request_id, RequestId};
use sightline::{business_span, observe};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

/// Serves `app` on 127.0.0.1 (any free port) on the current runtime.
async fn serve(app: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    (addr, server)
}

/// One request with raw header lines; the response must arrive (within the client's timeout).
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    header_lines: &[&[u8]],
) -> http_client::Response {
    http_client::request(addr, method, path, header_lines)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: no HTTP response: {e}"))
}

/// `req_` followed by 26 characters of the RFC 4648 base32 alphabet (lower case), or a UUIDv4.
fn is_generated_id(id: &str) -> bool {
    let base32 = id.strip_prefix("req_").is_some_and(|rest| {
        rest.len() == 26 && rest.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'))
    });
    base32 || is_uuid_v4(id)
}

fn is_uuid_v4(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && hex(p))
        && parts[2].starts_with('4')
        && parts[3].starts_with(['8', '9', 'a', 'b', 'A', 'B'])
}

/// 32 lower-case hex digits, not all zero.
fn is_trace_id(id: &str) -> bool {
    id.len() == 32
        && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && id != "0".repeat(32)
}

/// Span summaries (`sightline::spans`, written at debug because this binary exports no spans) are not
/// lines "emitted while handling the request": they are written with no parent, on span close.
fn is_span_summary(line: &Value) -> bool {
    line["target"] == "sightline::spans"
}

/// The access line: the one line with the request's path, status code and duration, and not the
/// completion line of an `#[observe]` (`function`) or `#[business_span]` (`operation`).
fn is_access_line(line: &Value) -> bool {
    !is_span_summary(line)
        && line.get("path").is_some()
        && line.get("status_code").is_some()
        && line.get("duration_ms").is_some()
        && line.get("function").is_none()
        && line.get("operation").is_none()
}

fn access_lines_for(request_id: &str) -> Vec<Value> {
    telemetry()
        .lines()
        .into_iter()
        .filter(|l| is_access_line(l) && l["request_id"] == request_id)
        .collect()
}

/// Polls `check` every 20 ms (yielding to the servers on this runtime) until it returns `Some`, or fails
/// after `timeout`.
async fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The one access line of the request `request_id` (waits up to 5 s for it to be written).
async fn access_line(request_id: &str) -> Value {
    eventually(
        &format!("the access line of {request_id}"),
        Duration::from_secs(5),
        || {
            let lines = access_lines_for(request_id);
            (!lines.is_empty()).then_some(())
        },
    )
    .await;
    // A second line written a little later would still be caught by the exactly-one check.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let lines = access_lines_for(request_id);
    assert_eq!(
        lines.len(),
        1,
        "exactly one access line for request {request_id}: {lines:#?}"
    );
    lines.into_iter().next().unwrap()
}

/// The fields every access line has, with their values.
fn check_access_line(line: &Value, method: &str, path: &str, route: &str, status: u16) {
    assert_eq!(line["method"], method, "method: {line}");
    assert_eq!(line["path"], path, "path: {line}");
    assert_eq!(line["route"], route, "route: {line}");
    assert_eq!(
        line["status_code"], status,
        "status_code (a number): {line}"
    );
    let duration = line["duration_ms"].as_f64();
    assert!(
        duration.is_some_and(|d| d >= 0.0),
        "duration_ms is a number: {line}"
    );
    assert!(
        line["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "request_id: {line}"
    );
    assert!(
        line["trace_id"].as_str().is_some_and(is_trace_id),
        "trace_id is 32 hex digits: {line}"
    );
}

/// Non-summary lines carrying `key = value`.
fn lines_with(key: &str, value: &str) -> Vec<Value> {
    telemetry()
        .lines()
        .into_iter()
        .filter(|l| !is_span_summary(l) && l[key] == value)
        .collect()
}

fn requests_total(method: &str, route: &str, status: &str) -> Option<f64> {
    value(
        "http_requests_total",
        &[
            ("method", method),
            ("route", route),
            ("status_code", status),
        ],
    )
}

fn in_flight(method: &str, route: &str) -> Option<f64> {
    value(
        "http_requests_in_flight",
        &[("method", method), ("route", route)],
    )
}

/// Waits (up to 5 s) until `http_requests_total{..}` reaches `expected`, lets 100 ms pass for any extra
/// count to land, and returns the final value.
async fn settled_requests_total(
    method: &str,
    route: &str,
    status: &str,
    expected: f64,
) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while requests_total(method, route, status).unwrap_or(0.0) < expected
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    requests_total(method, route, status)
}

/// A handler that reports what it saw: the `RequestId` extractor and `current_request_id()`.
async fn echo_ids(RequestId(id): RequestId) -> String {
    let current = current_request_id().unwrap_or_else(|| "<none>".to_owned());
    tracing::info!(marker = "echo_ids", "handler saw its request id");
    format!("{id}\n{current}")
}

/// The (extractor, current_request_id()) pair from an `echo_ids` body.
fn seen_ids(response: &http_client::Response) -> (String, String) {
    let body = response.body_text();
    let (a, b) = body
        .split_once('\n')
        .unwrap_or_else(|| panic!("echo_ids body: {body:?}"));
    (a.to_owned(), b.to_owned())
}

// ---------------------------------------------------------------------------------------------------
// 1. Request ids
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn generated_id_when_none_is_sent() {
    telemetry();
    assert_eq!(
        current_request_id(),
        None,
        "no request id outside a request"
    );
    let app = Router::new()
        .route("/t1/whoami", get(echo_ids))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    let first = call(addr, "GET", "/t1/whoami", &[]).await;
    let second = call(addr, "GET", "/t1/whoami", &[]).await;
    server.abort();

    for response in [&first, &second] {
        assert_eq!(response.status, 200, "{response:?}");
        let id = response
            .header("x-request-id")
            .expect("x-request-id on the response");
        assert!(
            is_generated_id(&id),
            "a generated id is req_ + 26 base32 or a UUIDv4, got {id:?}"
        );
        let (extracted, current) = seen_ids(response);
        assert_eq!(
            extracted, id,
            "the RequestId extractor saw the response's id"
        );
        assert_eq!(current, id, "current_request_id() saw the response's id");

        let line = access_line(&id).await;
        check_access_line(&line, "GET", "/t1/whoami", "/t1/whoami", 200);
        assert_eq!(
            line["message"], "request completed",
            "the access line's message: {line}"
        );

        let inside: Vec<Value> = lines_with("request_id", &id)
            .into_iter()
            .filter(|l| l["marker"] == "echo_ids")
            .collect();
        assert_eq!(inside.len(), 1, "the handler's own line carries request_id");
        assert_eq!(
            inside[0]["trace_id"], line["trace_id"],
            "one trace per request: {}",
            inside[0]
        );
    }
    assert_ne!(
        first.header("x-request-id"),
        second.header("x-request-id"),
        "each request gets its own id"
    );
    let a = access_line(&first.header("x-request-id").unwrap()).await;
    let b = access_line(&second.header("x-request-id").unwrap()).await;
    assert_ne!(
        a["trace_id"], b["trace_id"],
        "each request without a traceparent starts a trace"
    );
}

#[tokio::test]
async fn valid_inbound_id_is_kept() {
    telemetry();
    let app = Router::new()
        .route("/t2/echo", get(echo_ids))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    let longest = format!("t2-{}", "K".repeat(125));
    assert_eq!(longest.len(), 128);
    for id in ["abc-123_XYZ.9:z", longest.as_str(), "Q"] {
        let header = format!("x-request-id: {id}");
        let response = call(addr, "GET", "/t2/echo", &[header.as_bytes()]).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(
            response.header("x-request-id").as_deref(),
            Some(id),
            "a valid inbound id ({} chars) is echoed",
            id.len()
        );
        assert_eq!(seen_ids(&response), (id.to_owned(), id.to_owned()));
        let line = access_line(id).await;
        check_access_line(&line, "GET", "/t2/echo", "/t2/echo", 200);
    }
    server.abort();
}

#[tokio::test]
async fn bad_inbound_ids_are_replaced_and_never_echoed() {
    let out = telemetry();
    let app = Router::new()
        .route("/t3/echo", get(echo_ids))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    let too_long = format!("longmark{}", "q".repeat(121));
    assert_eq!(too_long.len(), 129);
    // (case, header line, a marker that must appear in no response header and no log line)
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "CR inside",
            b"x-request-id: crmarkA\rcrmarkB".to_vec(),
            Some("crmark"),
        ),
        (
            "LF inside",
            b"x-request-id: lfmarkA\nlfmarkB".to_vec(),
            Some("lfmark"),
        ),
        (
            "control char",
            b"x-request-id: ctlmark\x01x".to_vec(),
            Some("ctlmark"),
        ),
        (
            "DEL",
            b"x-request-id: delmark\x7fx".to_vec(),
            Some("delmark"),
        ),
        (
            "129 chars",
            format!("x-request-id: {too_long}").into_bytes(),
            Some("longmark"),
        ),
        (
            "unicode",
            "x-request-id: \u{fc}mlautmark-\u{fc}".as_bytes().to_vec(),
            Some("mlautmark"),
        ),
        (
            "latin-1 byte",
            b"x-request-id: latinmark\xe9".to_vec(),
            Some("latinmark"),
        ),
        (
            "space",
            b"x-request-id: spacemark with spaces".to_vec(),
            Some("spacemark"),
        ),
        (
            "slash",
            b"x-request-id: ../slashmark/etc".to_vec(),
            Some("slashmark"),
        ),
        (
            "JSON injection",
            br#"x-request-id: jsonmark","level":"error"#.to_vec(),
            Some("jsonmark"),
        ),
        (
            "markup",
            b"x-request-id: <script>markupmark</script>".to_vec(),
            Some("markupmark"),
        ),
        ("empty", b"x-request-id: ".to_vec(), None),
    ];

    let mut parse_level_rejections = Vec::new();
    for (case, header, marker) in &cases {
        let response = call(addr, "GET", "/t3/echo", &[header.as_slice()]).await;
        let head = response.all_headers_text();
        if let Some(marker) = marker {
            assert!(
                !head.contains(marker),
                "{case}: the bad value came back in a header:\n{head}"
            );
        }
        if response.status == 400 {
            // hyper refused the request before the layer saw it: nothing to echo, nothing logged.
            parse_level_rejections.push(*case);
            continue;
        }
        assert_eq!(response.status, 200, "{case}: {response:?}");
        let id = response
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{case}: no x-request-id on the response"));
        assert!(
            is_generated_id(&id),
            "{case}: a fresh generated id replaces the bad one, got {id:?}"
        );
        assert_eq!(
            seen_ids(&response),
            (id.clone(), id.clone()),
            "{case}: the handler sees the fresh id"
        );
        let line = access_line(&id).await;
        check_access_line(&line, "GET", "/t3/echo", "/t3/echo", 200);
    }
    server.abort();
    eprintln!("rejected by hyper with 400 before the layer: {parse_level_rejections:?}");

    let raw = out.raw();
    for (case, _, marker) in &cases {
        if let Some(marker) = marker {
            assert!(
                !raw.contains(marker),
                "{case}: the bad value reached the log"
            );
        }
    }
    let metrics = sightline::metrics::render();
    for (case, _, marker) in &cases {
        if let Some(marker) = marker {
            assert!(
                !metrics.contains(marker),
                "{case}: the bad value reached the exposition"
            );
        }
    }
}

#[tokio::test]
async fn request_id_on_404_and_on_panic() {
    telemetry();
    async fn boom() -> &'static str {
        panic!("t4 handler panics on purpose")
    }
    let app = Router::new()
        .route("/boom", get(boom))
        .route("/t4/ok", get(|| async { "still serving" }))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    // `DELETE`: the `GET` unmatched series belongs to the scan test.
    let missing = call(addr, "DELETE", "/t4/no/such/route", &[]).await;
    assert_eq!(missing.status, 404, "{missing:?}");
    let missing_id = missing
        .header("x-request-id")
        .expect("x-request-id on a 404");
    assert!(is_generated_id(&missing_id), "{missing_id:?}");

    let panicked = call(addr, "GET", "/boom", &[b"x-request-id: t4-panic-1"]).await;
    assert_eq!(
        panicked.status, 500,
        "a handler panic becomes a 500: {panicked:?}"
    );
    assert_eq!(
        panicked.header("x-request-id").as_deref(),
        Some("t4-panic-1"),
        "x-request-id on the 500"
    );
    let generated = call(addr, "GET", "/boom", &[]).await;
    assert_eq!(generated.status, 500, "{generated:?}");
    let generated_id = generated
        .header("x-request-id")
        .expect("x-request-id on a 500");
    assert!(is_generated_id(&generated_id), "{generated_id:?}");

    let after = call(addr, "GET", "/t4/ok", &[]).await;
    assert_eq!(after.status, 200, "the server keeps serving after a panic");
    server.abort();

    let line = access_line(&missing_id).await;
    check_access_line(&line, "DELETE", "/t4/no/such/route", "unmatched", 404);
    assert_eq!(
        line["level"], "warn",
        "a 4xx access line is a warning: {line}"
    );
    for id in ["t4-panic-1", generated_id.as_str()] {
        let line = access_line(id).await;
        check_access_line(&line, "GET", "/boom", "/boom", 500);
        assert_eq!(
            line["level"], "error",
            "a 5xx access line is an error: {line}"
        );
        assert_eq!(line["error_kind"], "panic", "{line}");
        let error = line["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("panicked at tests/http_layer.rs:")
                && error.ends_with(": t4 handler panics on purpose"),
            "the panic's message and location: {error:?}"
        );
    }

    assert_eq!(
        settled_requests_total("DELETE", "unmatched", "404", 1.0).await,
        Some(1.0),
        "http_requests_total{{method=DELETE,route=unmatched,status_code=404}}"
    );
    assert_eq!(
        settled_requests_total("GET", "/boom", "500", 2.0).await,
        Some(2.0),
        "http_requests_total{{method=GET,route=/boom,status_code=500}}"
    );
    assert_eq!(
        in_flight("GET", "/boom"),
        Some(0.0),
        "a panic leaves nothing in flight"
    );
    let histogram = common::buckets(
        "http_request_duration_seconds",
        &[
            ("method", "GET"),
            ("route", "/boom"),
            ("status_code", "500"),
        ],
    )
    .expect("the duration histogram counts the panics");
    assert_eq!(histogram.last().unwrap().1, 2.0);
    assert!(
        !sightline::metrics::render().contains("/t4/no/such/route"),
        "a raw unmatched path never becomes a label"
    );
}

// ---------------------------------------------------------------------------------------------------
// 2. Trace context and propagation
// ---------------------------------------------------------------------------------------------------

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

async fn service_b(RequestId(id): RequestId, headers: HeaderMap) -> String {
    tracing::info!(marker = "t5-b", "service b handles the call");
    let traceparent = headers
        .get("traceparent")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    format!("{id}\n{traceparent}")
}

async fn service_a(State(b): State<SocketAddr>) -> String {
    tracing::info!(marker = "t5-a", "service a calls service b");
    let mut headers = HeaderMap::new();
    sightline::http::inject(&mut headers);
    let lines: Vec<Vec<u8>> = headers
        .iter()
        .map(|(name, value)| [name.as_str().as_bytes(), b": ", value.as_bytes()].concat())
        .collect();
    let line_refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let response = call(b, "GET", "/t5/b", &line_refs).await;
    let injected: Vec<String> = lines
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    serde_json::json!({
        "injected": injected,
        "b_status": response.status,
        "b_body": response.body_text(),
    })
    .to_string()
}

#[tokio::test]
async fn two_services_share_trace_and_request_id() {
    telemetry();
    let b = Router::new()
        .route("/t5/b", get(service_b))
        .layer(sightline::http::layer());
    let (b_addr, b_server) = serve(b).await;
    let a = Router::new()
        .route("/t5/a", get(service_a))
        .with_state(b_addr)
        .layer(sightline::http::layer());
    let (a_addr, a_server) = serve(a).await;

    let traceparent = format!("traceparent: 00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let response = call(
        a_addr,
        "GET",
        "/t5/a",
        &[traceparent.as_bytes(), b"x-request-id: two-svc-1"],
    )
    .await;
    a_server.abort();
    b_server.abort();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("x-request-id").as_deref(),
        Some("two-svc-1")
    );
    let body: Value = serde_json::from_str(&response.body_text()).expect("service a's JSON body");
    assert_eq!(body["b_status"], 200, "{body}");

    // What `inject` wrote.
    let injected: Vec<String> = body["injected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let header = |name: &str| {
        let found: Vec<&String> = injected
            .iter()
            .filter(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .collect();
        assert_eq!(found.len(), 1, "inject adds one {name}: {injected:?}");
        found[0].split_once(':').unwrap().1.trim().to_owned()
    };
    assert_eq!(
        header("x-request-id"),
        "two-svc-1",
        "inject adds the current request id"
    );
    let sent = header("traceparent");
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "traceparent {sent:?}");
    assert_eq!(parts[0], "00", "traceparent version {sent:?}");
    assert_eq!(
        parts[1], CALLER_TRACE,
        "inject continues the caller's trace: {sent:?}"
    );
    assert!(
        parts[2].len() == 16
            && parts[2].bytes().all(|b| b.is_ascii_hexdigit())
            && parts[2] != "0".repeat(16),
        "parent id {sent:?}"
    );
    assert_ne!(
        parts[2], CALLER_SPAN,
        "the parent of B's span is A's span, not A's caller: {sent:?}"
    );
    assert_eq!(parts[3], "01", "sampled flag kept: {sent:?}");

    // What B saw.
    let b_body = body["b_body"].as_str().unwrap();
    let (b_id, b_traceparent) = b_body.split_once('\n').unwrap();
    assert_eq!(b_id, "two-svc-1", "B's RequestId extractor");
    assert_eq!(b_traceparent, sent);

    // The log lines of both services.
    let b_access = eventually("B's access line", Duration::from_secs(5), || {
        access_lines_for("two-svc-1")
            .into_iter()
            .find(|l| l["path"] == "/t5/b")
    })
    .await;
    let a_access = eventually("A's access line", Duration::from_secs(5), || {
        access_lines_for("two-svc-1")
            .into_iter()
            .find(|l| l["path"] == "/t5/a")
    })
    .await;
    check_access_line(&a_access, "GET", "/t5/a", "/t5/a", 200);
    check_access_line(&b_access, "GET", "/t5/b", "/t5/b", 200);
    assert_eq!(
        a_access["trace_id"], CALLER_TRACE,
        "A continues the caller's trace: {a_access}"
    );
    assert_eq!(
        b_access["trace_id"], CALLER_TRACE,
        "B continues A's trace: {b_access}"
    );
    assert_eq!(
        access_lines_for("two-svc-1").len(),
        2,
        "one access line per service"
    );

    let a_user = lines_with("marker", "t5-a");
    assert_eq!(a_user.len(), 1, "{a_user:#?}");
    let b_user = lines_with("marker", "t5-b");
    assert_eq!(b_user.len(), 1, "{b_user:#?}");
    for line in [&a_user[0], &b_user[0]] {
        assert_eq!(
            line["request_id"], "two-svc-1",
            "a user line inside the handler: {line}"
        );
        assert_eq!(
            line["trace_id"], CALLER_TRACE,
            "a user line inside the handler: {line}"
        );
    }
    assert_eq!(
        a_user[0]["span_id"], parts[2],
        "the injected parent id is the span A's handler runs in"
    );

    let of_request = lines_with("request_id", "two-svc-1");
    assert!(of_request.len() >= 4, "{of_request:#?}");
    for line in &of_request {
        assert_eq!(
            line["trace_id"], CALLER_TRACE,
            "every line of the request: {line}"
        );
    }
    for line in lines_with("trace_id", CALLER_TRACE) {
        assert_eq!(
            line["request_id"], "two-svc-1",
            "every line of the trace: {line}"
        );
    }
}

#[tokio::test]
async fn traceparent_continues_only_a_valid_caller_trace() {
    telemetry();
    let app = Router::new()
        .route("/t12/trace", get(echo_ids))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    let valid = "0af7651916cd43dd8448eb211c80319c";
    let response = call(
        addr,
        "GET",
        "/t12/trace",
        &[
            format!("traceparent: 00-{valid}-b7ad6b7169203331-01").as_bytes(),
            b"x-request-id: t12-valid",
        ],
    )
    .await;
    assert_eq!(response.status, 200);
    let line = access_line("t12-valid").await;
    assert_eq!(
        line["trace_id"], valid,
        "a valid traceparent is continued: {line}"
    );
    let inside = lines_with("request_id", "t12-valid");
    assert!(inside.iter().any(|l| l["marker"] == "echo_ids"));
    for l in &inside {
        assert_eq!(l["trace_id"], valid, "{l}");
    }

    // (case, traceparent, a trace id that must not be adopted)
    let invalid = [
        (
            "all-zero trace id",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00000000000000000000000000000000",
        ),
        (
            "all-zero parent id",
            "00-11111111111111111111111111111111-0000000000000000-01",
            "11111111111111111111111111111111",
        ),
        (
            "version ff",
            "ff-22222222222222222222222222222222-b7ad6b7169203331-01",
            "22222222222222222222222222222222",
        ),
        (
            "short trace id",
            "00-3333333333333333333333333333333-b7ad6b7169203331-01",
            "3333333333333333333333333333333",
        ),
        (
            "not hex",
            "00-4444444444444444444444444444zzzz-b7ad6b7169203331-01",
            "4444444444444444444444444444",
        ),
        ("garbage", "garbage", "garbage"),
    ];
    for (n, (case, traceparent, refused)) in invalid.iter().enumerate() {
        let id = format!("t12-invalid-{n}");
        let response = call(
            addr,
            "GET",
            "/t12/trace",
            &[
                format!("traceparent: {traceparent}").as_bytes(),
                format!("x-request-id: {id}").as_bytes(),
            ],
        )
        .await;
        assert_eq!(response.status, 200, "{case}: {response:?}");
        let line = access_line(&id).await;
        let trace_id = line["trace_id"].as_str().unwrap_or_default();
        assert!(is_trace_id(trace_id), "{case}: a new trace id, got {line}");
        assert!(
            !trace_id.starts_with(refused),
            "{case}: the invalid trace id was adopted: {line}"
        );
        assert_ne!(trace_id, valid, "{case}: {line}");
    }
    server.abort();
}

// ---------------------------------------------------------------------------------------------------
// 3. Metrics
// ---------------------------------------------------------------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

const SCAN_PREFIXES: [&str; 6] = [
    "/wp-admin/",
    "/phpmyadmin/",
    "/cgi-bin/",
    "/.git/",
    "/vendor/phpunit/",
    "/xmlrpc/",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_creates_one_unmatched_series() {
    telemetry();
    let app = Router::new()
        .route("/t6/real", get(|| async { "real" }))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    const WORKERS: u64 = 8;
    const PER_WORKER: u64 = 125;
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        workers.push(tokio::spawn(async move {
            let mut rng =
                XorShift(0x9E37_79B9_7F4A_7C15 ^ (w + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
            let mut tokens = Vec::new();
            for _ in 0..PER_WORKER {
                let r = rng.next();
                let token = format!("scan{:012x}", r >> 16);
                let prefix = SCAN_PREFIXES[(r % SCAN_PREFIXES.len() as u64) as usize];
                let path = format!("{prefix}{token}");
                let response = call(addr, "GET", &path, &[]).await;
                assert_eq!(response.status, 404, "{path}: {response:?}");
                assert!(
                    response.header("x-request-id").is_some(),
                    "{path}: x-request-id on a 404"
                );
                tokens.push(token);
            }
            tokens
        }));
    }
    let mut tokens = Vec::new();
    for worker in workers {
        tokens.extend(worker.await.expect("scan worker"));
    }
    assert_eq!(tokens.len(), 1000);
    server.abort();

    assert_eq!(
        settled_requests_total("GET", "unmatched", "404", 1000.0).await,
        Some(1000.0),
        "http_requests_total{{method=GET,route=unmatched,status_code=404}}"
    );
    let scrape = common::scrape();
    let unmatched_get: Vec<_> = scrape
        .find(
            "http_requests_total",
            &[("method", "GET"), ("route", "unmatched")],
        )
        .collect();
    assert_eq!(
        unmatched_get.len(),
        1,
        "one unmatched GET series: {unmatched_get:#?}"
    );
    assert_eq!(unmatched_get[0].labels["status_code"], "404");
    let histogram = common::buckets(
        "http_request_duration_seconds",
        &[
            ("method", "GET"),
            ("route", "unmatched"),
            ("status_code", "404"),
        ],
    )
    .expect("the duration histogram of unmatched requests");
    assert_eq!(histogram.last().unwrap().1, 1000.0);
    assert_eq!(in_flight("GET", "unmatched").unwrap_or(0.0), 0.0);

    let text = sightline::metrics::render();
    for prefix in SCAN_PREFIXES {
        assert!(
            !text.contains(prefix),
            "a scanned path became a label: {prefix}"
        );
    }
    for token in &tokens {
        assert!(
            !text.contains(token.as_str()),
            "a scanned path became a label: {token}"
        );
    }
    for sample in scrape
        .samples
        .iter()
        .filter(|s| s.name.starts_with("http_"))
    {
        if let Some(route) = sample.labels.get("route") {
            assert!(
                route == "unmatched"
                    || !route.starts_with("/scan")
                        && !SCAN_PREFIXES.iter().any(|p| route.starts_with(p)),
                "{sample:?}"
            );
        }
    }

    // One access line per scanned request, with its raw path but the `unmatched` route.
    let scanned: Vec<Value> = telemetry()
        .lines()
        .into_iter()
        .filter(|l| {
            is_access_line(l)
                && SCAN_PREFIXES
                    .iter()
                    .any(|p| l["path"].as_str().is_some_and(|s| s.starts_with(p)))
        })
        .collect();
    assert_eq!(scanned.len(), 1000, "one access line per scanned request");
    let distinct: HashSet<&str> = scanned
        .iter()
        .filter_map(|l| l["request_id"].as_str())
        .collect();
    assert_eq!(distinct.len(), 1000, "each scanned request has its own id");
    for line in &scanned {
        assert_eq!(line["route"], "unmatched", "{line}");
        assert_eq!(line["status_code"], 404, "{line}");
    }
}

#[observe(route = "/orders", method = "POST")]
async fn create_order_t7(RequestId(id): RequestId) -> (StatusCode, String) {
    tracing::info!(marker = "t7", "creating the order");
    (StatusCode::OK, id)
}

#[tokio::test]
async fn handler_mode_under_the_layer_is_counted_once() {
    let out = telemetry();
    let app = Router::new()
        .route("/orders", post(create_order_t7))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    let ids = ["t7-order-1", "t7-order-2", "t7-order-3"];
    for id in ids {
        let header = format!("x-request-id: {id}");
        let response = call(addr, "POST", "/orders", &[header.as_bytes()]).await;
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.body_text(), id);
    }
    server.abort();

    assert_eq!(
        settled_requests_total("POST", "/orders", "200", 3.0).await,
        Some(3.0),
        "three requests counted once each (the layer's count), not twice"
    );
    let histogram = common::buckets(
        "http_request_duration_seconds",
        &[
            ("method", "POST"),
            ("route", "/orders"),
            ("status_code", "200"),
        ],
    )
    .expect("duration histogram");
    assert_eq!(
        histogram.last().unwrap().1,
        3.0,
        "durations observed once each"
    );
    assert_eq!(in_flight("POST", "/orders"), Some(0.0));
    assert!(
        value("function_calls_total", &[("function", "create_order_t7")]).is_none(),
        "handler mode does not record the function families"
    );

    for id in ids {
        let line = access_line(id).await;
        check_access_line(&line, "POST", "/orders", "/orders", 200);
    }
    assert_eq!(
        out.for_function("create_order_t7"),
        Vec::<Value>::new(),
        "the handler's completion line is left to the access line"
    );

    // The handler's span stays: the user's line inside it is in a span named after the handler, child of
    // the layer's request span, in the same trace.
    for id in ids {
        let access = access_line(id).await;
        let user: Vec<Value> = lines_with("request_id", id)
            .into_iter()
            .filter(|l| l["marker"] == "t7")
            .collect();
        assert_eq!(
            user.len(),
            1,
            "the user's line inside the handler carries request_id {id}"
        );
        let user = &user[0];
        assert_eq!(user["trace_id"], access["trace_id"], "{user}");
        let trace_id = access["trace_id"].as_str().unwrap().to_owned();
        let span_id = user["span_id"]
            .as_str()
            .expect("the user's line has a span_id")
            .to_owned();
        let summaries = eventually(
            "the span summaries of the request",
            Duration::from_secs(5),
            || {
                let spans: Vec<Value> = out
                    .lines()
                    .into_iter()
                    .filter(|l| is_span_summary(l) && l["trace_id"] == trace_id.as_str())
                    .collect();
                let handler = spans
                    .iter()
                    .find(|s| s["span_id"] == span_id.as_str())?
                    .clone();
                let parent = handler["parent_span_id"].as_str()?.to_owned();
                let outer = spans
                    .iter()
                    .find(|s| s["span_id"] == parent.as_str())?
                    .clone();
                Some((handler, outer))
            },
        )
        .await;
        let (handler, outer) = summaries;
        assert_eq!(
            handler["span.name"], "create_order_t7",
            "under the layer, the handler-mode span is an internal child named by its function: \
             {handler}"
        );
        assert_ne!(handler["span_id"], outer["span_id"]);
        assert_eq!(
            outer["span.name"], "POST /orders",
            "the request's one server span: {outer}"
        );
        assert_eq!(
            outer["trace_id"],
            trace_id.as_str(),
            "the layer's request span: {outer}"
        );
        let named_like_the_request = out
            .lines()
            .into_iter()
            .filter(|l| {
                is_span_summary(l)
                    && l["trace_id"] == trace_id.as_str()
                    && l["span.name"] == "POST /orders"
            })
            .count();
        assert_eq!(
            named_like_the_request, 1,
            "one span per request is named {{METHOD}} {{route}}"
        );
    }
}

#[observe]
async fn t8_wait() {
    tracing::info!(marker = "t8", "waiting");
    tokio::time::sleep(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn client_that_leaves_is_counted_499() {
    telemetry();
    async fn slow() -> &'static str {
        t8_wait().await;
        "too late"
    }
    let app = Router::new()
        .route("/t8/slow", get(slow))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    let mut stream =
        tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .unwrap();
    let raw = http_client::build_request("GET", "/t8/slow", &[b"x-request-id: t8-leaver-1"], b"");
    tokio::time::timeout(Duration::from_secs(5), stream.write_all(&raw))
        .await
        .expect("write in time")
        .unwrap();
    let sent = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // On a slow machine the request may take longer to reach the handler: the client leaves only once it
    // is in flight (the handler sleeps 2 s, so it is still running).
    eventually("the request in flight", Duration::from_secs(1), || {
        (in_flight("GET", "/t8/slow") == Some(1.0)).then_some(())
    })
    .await;
    assert!(
        sent.elapsed() < Duration::from_millis(1500),
        "the client leaves mid-request"
    );
    drop(stream);

    let started = Instant::now();
    eventually(
        "http_requests_total{status_code=\"499\"}",
        Duration::from_secs(5),
        || (requests_total("GET", "/t8/slow", "499").is_some_and(|v| v >= 1.0)).then_some(()),
    )
    .await;
    eprintln!("499 counted {:?} after the client left", started.elapsed());
    let line = access_line("t8-leaver-1").await;
    check_access_line(&line, "GET", "/t8/slow", "/t8/slow", 499);
    // Past the handler's 2 s: the dropped handler must not complete and count a 200 as well.
    tokio::time::sleep(Duration::from_millis(2200).saturating_sub(started.elapsed())).await;
    server.abort();
    assert_eq!(
        requests_total("GET", "/t8/slow", "499"),
        Some(1.0),
        "counted once"
    );
    assert_eq!(
        requests_total("GET", "/t8/slow", "200").unwrap_or(0.0),
        0.0,
        "never a 200"
    );
    assert_eq!(
        in_flight("GET", "/t8/slow"),
        Some(0.0),
        "nothing left in flight"
    );
    assert_eq!(access_lines_for("t8-leaver-1").len(), 1);
    // The handler's own observed call was cancelled with it; its line still belongs to the request.
    let cancelled = common::telemetry().for_function("t8_wait");
    assert_eq!(cancelled.len(), 1, "{cancelled:#?}");
    assert_eq!(cancelled[0]["result"], "cancelled", "{}", cancelled[0]);
    assert_eq!(
        cancelled[0]["request_id"], "t8-leaver-1",
        "{}",
        cancelled[0]
    );
    assert_eq!(
        cancelled[0]["trace_id"], line["trace_id"],
        "{}",
        cancelled[0]
    );
    let waiting = lines_with("marker", "t8");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0]["request_id"], "t8-leaver-1", "{}", waiting[0]);
}

// ---------------------------------------------------------------------------------------------------
// 4. Access line content
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn secret_headers_never_logged() {
    let out = telemetry();
    let layer = sightline::http::HttpLayer::builder()
        .log_headers(["user-agent", "authorization", "x-api-key"])
        .build();
    let app = Router::new()
        .route("/t9/private", get(|| async { "private" }))
        .layer(layer);
    let (addr, server) = serve(app).await;

    let secrets: [&[u8]; 6] = [
        b"authorization: Bearer sekret-token-123",
        b"cookie: session=sekret-cookie-456",
        b"x-api-key: sekret-key-789",
        b"proxy-authorization: Basic sekret-proxy-000",
        b"x-auth-token: sekret-auth-111",
        b"user-agent: sightline-test/9.0",
    ];
    let with = |id: &'static str| {
        let mut lines: Vec<&[u8]> = secrets.to_vec();
        lines.push(id.as_bytes());
        lines
    };
    let ok = call(
        addr,
        "GET",
        "/t9/private",
        &with("x-request-id: t9-secret-1"),
    )
    .await;
    assert_eq!(ok.status, 200, "{ok:?}");
    // An unmatched path (POST: the GET unmatched series is the scan test's) and an upper-case name.
    let missing = call(
        addr,
        "POST",
        "/t9/nowhere",
        &with("x-request-id: t9-secret-2"),
    )
    .await;
    assert_eq!(missing.status, 404, "{missing:?}");
    let upper = call(
        addr,
        "GET",
        "/t9/private",
        &[
            b"Authorization: Bearer sekret-token-123",
            b"X-Api-Key: sekret-key-789",
            b"Cookie: session=sekret-cookie-456",
            b"x-request-id: t9-secret-3",
        ],
    )
    .await;
    assert_eq!(upper.status, 200);
    server.abort();

    let first = access_line("t9-secret-1").await;
    check_access_line(&first, "GET", "/t9/private", "/t9/private", 200);
    let second = access_line("t9-secret-2").await;
    check_access_line(&second, "POST", "/t9/nowhere", "unmatched", 404);
    access_line("t9-secret-3").await;

    let raw = out.raw();
    for secret in [
        "sekret-token-123",
        "sekret-cookie-456",
        "sekret-key-789",
        "sekret-proxy-000",
        "sekret-auth-111",
    ] {
        assert!(!raw.contains(secret), "{secret} reached the log output");
        assert!(
            !sightline::metrics::render().contains(secret),
            "{secret} reached the metrics"
        );
    }
    for response in [&ok, &missing, &upper] {
        assert!(
            !response.all_headers_text().contains("sekret"),
            "{response:?}"
        );
    }

    // A configured header is on the access line, under `headers`; the secret ones are not, even listed.
    for line in [&first, &second] {
        assert_eq!(
            line["headers"]["user-agent"], "sightline-test/9.0",
            "a configured header is on the access line under headers: {line}"
        );
        assert!(line["headers"].get("authorization").is_none(), "{line}");
        assert!(line["headers"].get("x-api-key").is_none(), "{line}");
    }
}

#[tokio::test]
async fn user_id_recorded_by_the_handler_reaches_the_access_line() {
    telemetry();
    async fn me() -> String {
        let recorded = sightline::record("user_id", "usr_789");
        tracing::info!(marker = "t10", "after authentication");
        recorded.to_string()
    }
    let app = Router::new()
        .route("/t10/me", get(me))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;
    let response = call(addr, "GET", "/t10/me", &[b"x-request-id: t10-user-1"]).await;
    let anonymous = call(addr, "GET", "/t10/other", &[b"x-request-id: t10-anon-1"]).await;
    server.abort();
    assert_eq!(response.status, 200);
    assert_eq!(anonymous.status, 404);

    let line = access_line("t10-user-1").await;
    check_access_line(&line, "GET", "/t10/me", "/t10/me", 200);
    assert_eq!(
        line["user_id"], "usr_789",
        "the recorded user_id on the access line: {line}"
    );
    let later: Vec<Value> = lines_with("marker", "t10");
    assert_eq!(later.len(), 1);
    assert_eq!(
        later[0]["user_id"], "usr_789",
        "and on later lines inside the request: {}",
        later[0]
    );
    assert_eq!(
        response.body_text(),
        "true",
        "record() found the request to attach to"
    );
    let line = access_line("t10-anon-1").await;
    assert!(
        line.get("user_id").is_none(),
        "no user_id where none was recorded: {line}"
    );
}

#[observe]
async fn t11_lookup(sku: &str) -> Result<u32, std::io::Error> {
    tracing::info!(marker = "t11-inner", sku, "looking up");
    t11_price().await
}

#[business_span("t11-price-check")]
async fn t11_price() -> Result<u32, std::io::Error> {
    Ok(1299)
}

#[tokio::test]
async fn every_line_inside_a_request_carries_its_ids() {
    let out = telemetry();
    async fn checkout() -> String {
        tracing::info!(marker = "t11-outer", "checkout starts");
        let price = t11_lookup("beans-1kg").await.unwrap();
        tracing::warn!(marker = "t11-after", price, "checkout priced");
        price.to_string()
    }
    let app = Router::new()
        .route("/t11/checkout", get(checkout))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;
    let response = call(addr, "GET", "/t11/checkout", &[b"x-request-id: t11-req-1"]).await;
    server.abort();
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "1299");

    let access = access_line("t11-req-1").await;
    check_access_line(&access, "GET", "/t11/checkout", "/t11/checkout", 200);
    let trace_id = access["trace_id"].as_str().unwrap();

    let all = out.lines();
    let find = |what: &str, pred: &dyn Fn(&Value) -> bool| -> Value {
        let found: Vec<&Value> = all.iter().filter(|l| pred(l)).collect();
        assert_eq!(found.len(), 1, "one {what} line: {found:#?}");
        found[0].clone()
    };
    let lines = [
        find("user outer", &|l| l["marker"] == "t11-outer"),
        find("user inner", &|l| l["marker"] == "t11-inner"),
        find("user after", &|l| l["marker"] == "t11-after"),
        find("#[observe] completion", &|l| l["function"] == "t11_lookup"),
        find("#[business_span] completion", &|l| {
            l["operation"] == "t11-price-check"
        }),
    ];
    for line in &lines {
        assert_eq!(
            line["request_id"], "t11-req-1",
            "request_id on every line of the request: {line}"
        );
        assert_eq!(
            line["trace_id"], trace_id,
            "trace_id on every line of the request: {line}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// 5. Builder options
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn builder_header_name_and_generator_are_used() {
    telemetry();
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let layer = sightline::http::HttpLayer::builder()
        .request_id_header("x-correlation-id")
        .id_generator(|| format!("t13gen-{:04}", NEXT.fetch_add(1, Ordering::SeqCst)))
        .build();
    let app = Router::new().route("/t13/echo", get(echo_ids)).layer(layer);
    let (addr, server) = serve(app).await;

    let generated = call(addr, "GET", "/t13/echo", &[]).await;
    let kept = call(addr, "GET", "/t13/echo", &[b"x-correlation-id: t13-corr-1"]).await;
    server.abort();

    assert_eq!(generated.status, 200);
    let id = generated
        .header("x-correlation-id")
        .expect("the configured header on the response");
    assert!(
        id.starts_with("t13gen-"),
        "the configured generator made the id: {id:?}"
    );
    assert_eq!(seen_ids(&generated), (id.clone(), id.clone()));
    check_access_line(
        &access_line(&id).await,
        "GET",
        "/t13/echo",
        "/t13/echo",
        200,
    );

    assert_eq!(
        kept.header("x-correlation-id").as_deref(),
        Some("t13-corr-1")
    );
    assert_eq!(
        seen_ids(&kept),
        ("t13-corr-1".to_owned(), "t13-corr-1".to_owned())
    );
    access_line("t13-corr-1").await;
}

// ---------------------------------------------------------------------------------------------------
// 6. Concurrency, route templates, methods
// ---------------------------------------------------------------------------------------------------

/// Reads `current_request_id()` before and after yielding many times, so requests interleave on the
/// runtime's threads.
async fn interleaved(RequestId(id): RequestId) -> String {
    let before = current_request_id().unwrap_or_default();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(3)).await;
        tokio::task::yield_now().await;
    }
    let after = current_request_id().unwrap_or_default();
    tracing::info!(marker = "t14", seen = %after, "interleaved");
    format!("{id}\n{before}\n{after}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_keep_their_own_ids() {
    telemetry();
    let app = Router::new()
        .route("/t14/interleaved", get(interleaved))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    let clients: Vec<_> = (0..50)
        .map(|n| {
            tokio::spawn(async move {
                let id = format!("t14-{n:02}");
                let header = format!("x-request-id: {id}");
                let response = call(addr, "GET", "/t14/interleaved", &[header.as_bytes()]).await;
                (id, response)
            })
        })
        .collect();
    for client in clients {
        let (id, response) = client.await.expect("client task");
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(
            response.header("x-request-id").as_deref(),
            Some(id.as_str())
        );
        let expected = format!("{id}\n{id}\n{id}");
        assert_eq!(
            response.body_text(),
            expected,
            "extractor / current_request_id() before and after yielding"
        );
    }
    server.abort();

    for n in 0..50 {
        let id = format!("t14-{n:02}");
        let access = access_line(&id).await;
        let user: Vec<Value> = lines_with("request_id", &id)
            .into_iter()
            .filter(|l| l["marker"] == "t14")
            .collect();
        assert_eq!(user.len(), 1, "{id}: {user:#?}");
        assert_eq!(user[0]["seen"], id.as_str(), "{}", user[0]);
        assert_eq!(user[0]["trace_id"], access["trace_id"], "{}", user[0]);
    }
}

#[tokio::test]
async fn route_label_is_the_matched_template_and_methods_are_bounded() {
    telemetry();
    let api = Router::new().route("/users/{user}/orders", get(|| async { "orders" }));
    let app = Router::new()
        .route("/t15/items/{id}", get(|| async { "item" }))
        .nest("/t15/api", api)
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;

    for path in ["/t15/items/1", "/t15/items/2", "/t15/items/abc"] {
        let id = format!("t15{}", path.replace('/', "-"));
        let header = format!("x-request-id: {id}");
        let response = call(addr, "GET", path, &[header.as_bytes()]).await;
        assert_eq!(response.status, 200, "{path}: {response:?}");
        check_access_line(&access_line(&id).await, "GET", path, "/t15/items/{id}", 200);
    }
    for (n, path) in ["/t15/api/users/u1/orders", "/t15/api/users/u2/orders"]
        .iter()
        .enumerate()
    {
        let id = format!("t15-nested-{n}");
        let header = format!("x-request-id: {id}");
        let response = call(addr, "GET", path, &[header.as_bytes()]).await;
        assert_eq!(response.status, 200, "{path}: {response:?}");
        let line = access_line(&id).await;
        check_access_line(&line, "GET", path, "/t15/api/users/{user}/orders", 200);
    }
    // Methods a scanner makes up: bounded to `other`.
    let mut rng = XorShift(0x51ED_2701_F00D_CAFE);
    let mut methods = Vec::new();
    for _ in 0..10 {
        let method = format!("XM{:08X}", rng.next() >> 32);
        let response = call(addr, &method, "/t15/nothing/here", &[]).await;
        assert_eq!(response.status, 404, "{method}: {response:?}");
        assert!(
            response.header("x-request-id").is_some(),
            "{method}: x-request-id"
        );
        methods.push(method);
    }
    let brewed = call(addr, "BREW", "/t15/items/7", &[b"x-request-id: t15-brew"]).await;
    assert_eq!(brewed.status, 405, "{brewed:?}");
    assert_eq!(brewed.header("x-request-id").as_deref(), Some("t15-brew"));
    server.abort();

    assert_eq!(
        settled_requests_total("GET", "/t15/items/{id}", "200", 3.0).await,
        Some(3.0)
    );
    assert_eq!(
        settled_requests_total("GET", "/t15/api/users/{user}/orders", "200", 2.0).await,
        Some(2.0),
        "a nested route counts under its full template"
    );
    assert_eq!(
        settled_requests_total("other", "unmatched", "404", 10.0).await,
        Some(10.0),
        "made-up methods count as method=\"other\""
    );
    let brew_line = access_line("t15-brew").await;
    assert_eq!(brew_line["status_code"], 405, "{brew_line}");
    let text = sightline::metrics::render();
    for method in methods.iter().map(String::as_str).chain(["BREW"]) {
        assert!(
            !text.contains(method),
            "method {method} became a label value"
        );
    }
    for raw in ["/t15/items/1", "/t15/items/abc", "/t15/api/users/u1"] {
        assert!(
            !text.contains(&format!("\"{raw}")),
            "raw path {raw} became a label value"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// 7. Paths left out
// ---------------------------------------------------------------------------------------------------

async fn t16_health() -> &'static str {
    tracing::info!(marker = "t16_health", "probed");
    "ok"
}

#[tokio::test]
async fn skipped_paths_have_no_access_line_metrics_or_span_but_keep_their_id() {
    let out = telemetry();
    let layer = sightline::http::HttpLayer::builder()
        .skip_paths(["/t16/healthz", "/t16/internal/*"])
        .skip_paths(["t16-no-slash", "/t16/*/bad"])
        .build();
    let app = Router::new()
        .route("/t16/healthz", get(t16_health))
        .route("/t16/internal/debug", get(echo_ids))
        .route("/t16/orders", get(|| async { "orders" }))
        .layer(layer);
    let (addr, server) = serve(app).await;
    let mut skipped_ids = Vec::new();
    for n in 0..3 {
        let header = format!("x-request-id: t16-health-{n}");
        let response = call(addr, "GET", "/t16/healthz", &[header.as_bytes()]).await;
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("x-request-id"),
            Some(format!("t16-health-{n}"))
        );
        skipped_ids.push(format!("t16-health-{n}"));
    }
    let internal = call(addr, "GET", "/t16/internal/debug", &[]).await;
    let id = internal.header("x-request-id").expect("a generated id");
    assert!(is_generated_id(&id), "{id}");
    assert_eq!(
        seen_ids(&internal),
        (id.clone(), id.clone()),
        "the handler still sees its request id"
    );
    skipped_ids.push(id);
    let recorded = call(addr, "GET", "/t16/orders", &[b"x-request-id: t16-orders"]).await;
    server.abort();

    check_access_line(
        &access_line("t16-orders").await,
        "GET",
        "/t16/orders",
        "/t16/orders",
        200,
    );
    assert_eq!(recorded.status, 200);
    assert_eq!(
        settled_requests_total("GET", "/t16/orders", "200", 1.0).await,
        Some(1.0)
    );
    for route in ["/t16/healthz", "/t16/internal/debug"] {
        assert!(
            scrape_has_route(route).is_none(),
            "{route} left out of the http_* families"
        );
    }
    let lines = out.lines();
    for id in &skipped_ids {
        assert!(
            lines.iter().all(|l| l["request_id"] != id.as_str()),
            "no line of the skipped request {id}"
        );
    }
    assert!(lines
        .iter()
        .filter(|l| is_span_summary(l))
        .all(|l| !l["span.name"]
            .as_str()
            .unwrap_or("")
            .starts_with("GET /t16/h")));
    assert!(
        lines
            .iter()
            .any(|l| is_span_summary(l) && l["span.name"] == "GET /t16/orders"),
        "a recorded request has its span"
    );
    // The handler's own lines are still written.
    assert_eq!(
        lines.iter().filter(|l| l["marker"] == "t16_health").count(),
        3
    );
    // The two patterns that are not ones, each named in a warning.
    for refused in [
        "skip_paths(\"t16-no-slash\") refused",
        "skip_paths(\"/t16/*/bad\") refused",
    ] {
        assert!(
            lines.iter().any(|l| l["target"] == "sightline"
                && l["level"] == "warn"
                && l["message"].as_str().is_some_and(|m| m.contains(refused))),
            "no warning {refused:?}"
        );
    }
}

/// A sample of any `http_*` family with this route.
fn scrape_has_route(route: &str) -> Option<common::exposition::Sample> {
    common::scrape()
        .samples
        .into_iter()
        .find(|s| s.name.starts_with("http_") && s.labels.get("route").is_some_and(|r| r == route))
}

// ---------------------------------------------------------------------------------------------------
// 8. Why a request failed, on its access line
// ---------------------------------------------------------------------------------------------------

#[derive(Debug, sightline::ErrorLabel)]
enum T17Error {
    OutOfStock,
    Database(std::io::Error),
}

impl std::fmt::Display for T17Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            T17Error::OutOfStock => f.write_str("sku-7 is out of stock"),
            T17Error::Database(_) => f.write_str("saving the order failed"),
        }
    }
}

impl std::error::Error for T17Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            T17Error::Database(e) => Some(e),
            T17Error::OutOfStock => None,
        }
    }
}

impl axum::response::IntoResponse for T17Error {
    fn into_response(self) -> axum::response::Response {
        let status = match self {
            T17Error::OutOfStock => StatusCode::CONFLICT,
            T17Error::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, "sorry").into_response()
    }
}

impl sightline::HttpStatus for T17Error {
    fn status_code(&self) -> u16 {
        match self {
            T17Error::OutOfStock => 409,
            T17Error::Database(_) => 500,
        }
    }
}

#[derive(serde::Deserialize)]
struct T17Order {
    sku: String,
    quantity: u32,
}

#[observe(route = "/t17/orders", method = "POST")]
async fn t17_create(axum::Json(order): axum::Json<T17Order>) -> Result<String, T17Error> {
    match order.sku.as_str() {
        "sku-7" => Err(T17Error::OutOfStock),
        "sku-db" => Err(T17Error::Database(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ))),
        _ => Ok(format!("{} x {}", order.quantity, order.sku)),
    }
}

#[tokio::test]
async fn the_access_line_says_why_the_handler_failed_or_the_request_was_rejected() {
    telemetry();
    let app = Router::new()
        .route("/t17/orders", post(t17_create))
        .layer(sightline::http::layer());
    let (addr, server) = serve(app).await;
    let send = |id: &'static str, content_type: &'static str, body: &'static str| async move {
        let raw = http_client::build_request(
            "POST",
            "/t17/orders",
            &[
                format!("x-request-id: {id}").as_bytes(),
                format!("content-type: {content_type}").as_bytes(),
            ],
            body.as_bytes(),
        );
        http_client::send_raw(addr, &raw).await.expect("a response")
    };
    let json = "application/json";
    let ok = send("t17-ok", json, r#"{"sku":"sku-1","quantity":2}"#).await;
    let conflict = send("t17-conflict", json, r#"{"sku":"sku-7","quantity":1}"#).await;
    let failed = send("t17-failed", json, r#"{"sku":"sku-db","quantity":1}"#).await;
    let missing = send("t17-missing", json, r#"{"quantity":1}"#).await;
    let syntax = send("t17-syntax", json, r#"{"sku": "#).await;
    let media = send("t17-media", "text/plain", r#"{"sku":"sku-1","quantity":1}"#).await;
    let card = send(
        "t17-card",
        json,
        r#"{"sku":"sku-1","quantity":"4111 1111 1111 1111"}"#,
    )
    .await;
    server.abort();

    assert_eq!(ok.status, 200);
    let line = access_line("t17-ok").await;
    assert!(
        line.get("error_kind").is_none() && line.get("error").is_none(),
        "{line}"
    );

    assert_eq!(conflict.status, 409);
    assert_eq!(
        conflict.body_text(),
        "sorry",
        "the response is the handler's"
    );
    let line = access_line("t17-conflict").await;
    assert_eq!(line["level"], "warn");
    assert_eq!(line["error_kind"], "out_of_stock", "{line}");
    assert_eq!(line["error"], "sku-7 is out of stock");

    assert_eq!(failed.status, 500);
    let line = access_line("t17-failed").await;
    assert_eq!(line["level"], "error");
    assert_eq!(line["error_kind"], "database", "{line}");
    assert_eq!(line["error"], "saving the order failed: connection refused");

    // Rejected by an extractor: the handler never ran; axum's reason, and the body still reaches the
    // client unchanged.
    for (id, response, status, reason) in [
        ("t17-missing", &missing, 422, "missing field `sku`"),
        (
            "t17-syntax",
            &syntax,
            400,
            "Failed to parse the request body as JSON",
        ),
        ("t17-media", &media, 415, "Content-Type: application/json"),
    ] {
        assert_eq!(response.status, status, "{id}: {response:?}");
        let line = access_line(id).await;
        assert_eq!(line["status_code"], status);
        assert_eq!(line["error_kind"], "rejected", "{line}");
        let error = line["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{id}: {error:?}");
        assert_eq!(
            error,
            response.body_text(),
            "the reason is the body the client got"
        );
    }
    // A rejection that quotes a secret is redacted like any other text.
    assert_eq!(card.status, 422);
    assert!(card.body_text().contains("4111 1111 1111 1111"));
    let line = access_line("t17-card").await;
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("[REDACTED]") && !error.contains("4111"),
        "{error:?}"
    );
}
