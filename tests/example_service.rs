//! Runs the `order_service` example the way a user would: `--demo` end to end, and as a server probed
//! over HTTP. The test builds nothing itself: a plain `cargo test` builds the examples before running
//! tests (a filtered `cargo test --test example_service` does not: build the example first).

#[path = "common/processes.rs"]
mod processes;

use processes::{example_binary, KillOnDrop};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The secrets the example's demo traffic sends; the same literals are hard-coded there.
const CARD: &str = "4111111111111111";
const PASSWORD: &str = "hunter2-demo-secret";

/// A base command: the example with a controlled environment.
fn example() -> Command {
    let mut cmd = Command::new(example_binary());
    cmd.env_remove("RUST_LOG")
        .env_remove("PORT")
        .env("LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    cmd
}

/// Lines of `stream`, read on a thread so that neither pipe can fill up and block the child.
fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn parse_json_line(line: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
    assert!(value.is_object(), "stdout line is not an object: {line}");
    value
}

#[test]
fn demo_runs_end_to_end_and_never_logs_secrets() {
    let mut child = example()
        .arg("--demo")
        .env("DEMO_SECONDS", "1")
        .env("PAYMENT_FAILURE_RATE", "0.3")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    let mut child = KillOnDrop(child);

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("poll the example") {
            break status;
        }
        assert!(Instant::now() < deadline, "--demo did not exit within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout: Vec<String> = stdout.iter().collect();
    let stderr = stderr.iter().collect::<Vec<_>>().join("\n");
    assert!(status.success(), "exit status {status}; stderr:\n{stderr}");

    let lines: Vec<serde_json::Value> = stdout.iter().map(|l| parse_json_line(l)).collect();
    assert!(lines.len() > 10, "only {} log lines", lines.len());
    for line in &lines {
        assert!(line["timestamp"].is_string(), "no timestamp: {line}");
        assert!(line["level"].is_string(), "no level: {line}");
        assert_eq!(line["service"], "order-service", "{line}");
    }
    let by_function = |f: &'static str| lines.iter().filter(move |l| l["function"] == f);
    assert!(
        lines
            .iter()
            .any(|l| l["operation"] == "process-order" && l["outcome"].is_string()),
        "no process-order completion line"
    );
    assert!(
        lines.iter().any(|l| l["error_kind"] == "payment_declined"),
        "no payment_declined error at PAYMENT_FAILURE_RATE=0.3"
    );
    // Under the HTTP layer, each request has exactly one access line (the handlers' own completion lines
    // are left to it), with the request ID and trace ID every line of the request shares.
    assert_eq!(
        by_function("create_order").count(),
        0,
        "handler-mode lines under the layer"
    );
    let handler_lines: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "request completed" && l["route"] == "/api/v1/orders")
        .collect();
    assert!(!handler_lines.is_empty(), "no access lines");
    for line in &handler_lines {
        for key in [
            "method",
            "path",
            "route",
            "status_code",
            "duration_ms",
            "request_id",
            "trace_id",
        ] {
            assert!(!line[key].is_null(), "access line without {key}: {line}");
        }
    }
    // The inventory service is a second service: its access lines share the caller's request ID.
    let placed = handler_lines
        .iter()
        .find(|l| l["status_code"] == 201)
        .expect("an order was placed");
    assert!(
        lines.iter().any(|l| l["route"] == "/api/v1/stock/{sku}"
            && l["message"] == "request completed"
            && l["request_id"] == placed["request_id"]
            && l["trace_id"] == placed["trace_id"]),
        "the inventory call of {placed} shares its request and trace"
    );
    assert!(
        handler_lines.iter().any(|l| l["status_code"] == 201),
        "no order was placed"
    );
    assert!(
        handler_lines.iter().any(|l| l["status_code"] == 402),
        "no declined order (402)"
    );

    // The user's own `tracing::info!(body = %json)` line: nested JSON, secrets redacted, the rest kept.
    let received = lines
        .iter()
        .find(|l| l["message"] == "order received")
        .expect("an `order received` line");
    assert_eq!(received["body"]["card_number"], "[REDACTED]", "{received}");
    assert_eq!(received["body"]["password"], "[REDACTED]", "{received}");
    assert!(received["body"]["customer_id"].is_string(), "{received}");

    let raw = stdout.join("\n");
    assert!(!raw.contains(CARD), "the card number reached stdout");
    assert!(!raw.contains(PASSWORD), "the password reached stdout");
    assert!(raw.contains("\"[REDACTED]\""));

    assert!(
        stderr.contains("RED summary"),
        "no summary on stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("process-order"),
        "no function table on stderr:\n{stderr}"
    );
}

/// One HTTP/1.1 exchange over a fresh connection: (status, headers, body).
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let timeout = Some(Duration::from_secs(10));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    stream.set_read_timeout(timeout).unwrap();
    stream.set_write_timeout(timeout).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("a complete response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let status = status.unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn server_mode_serves_orders_metrics_and_health() {
    let mut child = example()
        .env("PORT", "0")
        .env("PAYMENT_FAILURE_RATE", "0")
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example");
    let stdout = lines_of(child.stdout.take().unwrap());
    let child = KillOnDrop(child);

    // The startup line says where the server listens.
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr: SocketAddr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stdout
            .recv_timeout(left)
            .expect("a startup line with `addr` within 30 s");
        if let Some(addr) = parse_json_line(&line)["addr"].as_str() {
            break addr.parse().expect("`addr` is a socket address");
        }
    };

    let order = serde_json::json!({
        "customer_id": "cus_7",
        "items": [{ "sku": "beans-1kg", "quantity": 2, "unit_price_cents": 1899 }],
        "card_number": CARD,
        "password": PASSWORD,
    });
    let (status, _, body) = request(addr, "POST", "/api/v1/orders", &order.to_string());
    assert_eq!(status, 201, "{body}");
    let placed: serde_json::Value = serde_json::from_str(&body).expect("a JSON order");
    assert_eq!(placed["total_cents"], 3798, "{body}");
    assert_eq!(placed["card_last4"], "1111", "{body}");
    assert!(!body.contains(CARD) && !body.contains(PASSWORD), "{body}");

    let id = placed["id"].as_u64().expect("an order id");
    let (status, _, body) = request(addr, "GET", &format!("/api/v1/orders/{id}"), "");
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = request(addr, "GET", "/api/v1/orders/999999", "");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("not_found"), "{body}");
    let (status, _, body) = request(addr, "GET", "/healthz", "");
    assert_eq!((status, body.as_str()), (200, "ok"));

    let (status, head, metrics) = request(addr, "GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    for expected in [
        r#"http_requests_total{method="POST",route="/api/v1/orders",status_code="201"} 1"#,
        r#"http_requests_total{method="GET",route="/api/v1/orders/{id}",status_code="200"} 1"#,
        r#"http_requests_total{method="GET",route="/api/v1/orders/{id}",status_code="404"} 1"#,
        r#"http_requests_total{method="GET",route="/healthz",status_code="200"} 1"#,
        r#"business_operations_total{operation="process-order",outcome="ok"} 1"#,
        r#"function_calls_total{function="charge_payment",module="order_service",result="ok"} 1"#,
    ] {
        assert!(
            metrics.lines().any(|line| line == expected),
            "missing `{expected}` in:\n{metrics}"
        );
    }

    // Stop the server, then read everything it logged.
    drop(child);
    let logged: Vec<String> = stdout.iter().collect();
    let raw = logged.join("\n");
    assert!(
        !raw.contains(CARD) && !raw.contains(PASSWORD),
        "a secret reached stdout"
    );
    let lines: Vec<_> = logged.iter().map(|l| parse_json_line(l)).collect();
    // The access line of the POST: the handler's fields and recorded user are on it.
    let created = lines
        .iter()
        .find(|l| l["message"] == "request completed" && l["route"] == "/api/v1/orders")
        .expect("the POST's access line");
    assert_eq!(created["status_code"], 201, "{created}");
    assert_eq!(created["method"], "POST", "{created}");
    assert!(
        created["user_id"].is_u64(),
        "`sightline::record` on the line: {created}"
    );
    // The scrape endpoint is left out (`skip_paths`): no access line, no series; health checks are kept.
    assert!(
        lines.iter().all(|l| l["path"] != "/metrics"),
        "an access line for /metrics"
    );
    assert!(lines
        .iter()
        .any(|l| l["message"] == "request completed" && l["path"] == "/healthz"));
    assert!(
        metrics.lines().all(|l| !l.contains(r#"route="/metrics""#)),
        "/metrics counted"
    );
}
