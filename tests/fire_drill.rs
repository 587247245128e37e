//! The fire drill, live: the generated `prometheus.yml` and `alert_rules.yml` (drill mode: 1 s scrapes and
//! evaluations, `for` and windows scaled from minutes to seconds) loaded into the real `prometheus`
//! binary, the example service injected with faults, and its alerts watched through Prometheus's HTTP
//! API: the error-ratio alert as it goes pending, fires, and resolves once the faults stop; the
//! telemetry-loss alert as it goes pending while the service's OTLP collector is down.

#[path = "common/processes.rs"]
mod processes;
#[path = "common/tools.rs"]
mod tools;

use processes::{example_binary, KillOnDrop};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The service's error ratio (5xx over all requests) above its objective.
const ERROR_RATIO: &str = "ServiceErrorRatioHigh";
/// Spans or log lines lost steadily.
const TELEMETRY_LOST: &str = "ServiceTelemetryDropped";

/// The `prometheus` binary, or `None` after a loud notice (a failure under SIGHTLINE_REQUIRE_TOOLS=1).
fn prometheus() -> Option<&'static str> {
    tools::require("prometheus", "apt-get install -y prometheus")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One HTTP/1.0 exchange (no chunked bodies to decode); `None` on any failure (the server may be
/// restarting).
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nhost: {addr}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

fn start_service(port: u16, faulty: bool, env: &[(&str, String)]) -> KillOnDrop {
    let mut cmd = Command::new(example_binary());
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("RUST_LOG")
        .env("LOG_LEVEL", "warn")
        .env("PORT", port.to_string())
        .env("PAYMENT_FAILURE_RATE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if faulty {
        // Slower than the payment timeout: every order fails with 503, a server-side error.
        cmd.env("PAYMENT_LATENCY_MS", "700");
    } else {
        cmd.env("PAYMENT_LATENCY_MS", "1");
    }
    let child = KillOnDrop(cmd.spawn().expect("the example starts"));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http(addr, "GET", "/healthz", "").map(|(s, _)| s) != Some(200) {
        assert!(Instant::now() < deadline, "the example did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// An alert's state in Prometheus: "inactive" when not listed, else "pending" or "firing"; with its labels.
fn alert_state(prometheus: SocketAddr, alert: &str) -> (String, serde_json::Value) {
    let Some((200, body)) = http(prometheus, "GET", "/api/v1/alerts", "") else {
        return ("unknown".into(), serde_json::Value::Null);
    };
    let json: serde_json::Value = serde_json::from_str(&body).expect("alerts JSON");
    let found = json["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["labels"]["alertname"] == alert);
    match found {
        Some(a) => (
            a["state"].as_str().unwrap_or("unknown").to_owned(),
            a["labels"].clone(),
        ),
        None => ("inactive".into(), serde_json::Value::Null),
    }
}

/// Waits until `alert` is `wanted`; returns its labels then.
fn wait_for_state(
    prometheus: SocketAddr,
    alert: &str,
    wanted: &str,
    within: Duration,
    seen: &mut Vec<String>,
) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let (state, labels) = alert_state(prometheus, alert);
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == wanted {
            return labels;
        }
        assert!(
            Instant::now() < deadline,
            "{alert} never became {wanted} within {within:?}; states seen: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The example's drill artefacts for a service on `app_port`, written into a fresh directory.
fn export_drill(name: &str, app_port: u16) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sightline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let exported = Command::new(example_binary())
        .args(["export", dir.to_str().unwrap(), "--drill", "--target"])
        .arg(format!("127.0.0.1:{app_port}"))
        .output()
        .expect("export runs");
    assert!(exported.status.success(), "{exported:?}");
    for file in ["prometheus.yml", "alert_rules.yml"] {
        assert!(Path::new(&dir).join(file).exists(), "{file} exported");
    }
    dir
}

/// Prometheus on the exported configuration, ready.
fn start_prometheus(binary: &str, dir: &Path) -> (KillOnDrop, SocketAddr) {
    let prom_port = free_port();
    let prom_addr: SocketAddr = ([127, 0, 0, 1], prom_port).into();
    let prometheus = KillOnDrop(
        Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(prom_addr, "GET", "/-/ready", "").map(|(s, _)| s) != Some(200) {
        assert!(Instant::now() < deadline, "prometheus did not become ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    (prometheus, prom_addr)
}

/// Orders from a few clients until `stop`.
fn drive_orders(app: SocketAddr, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    let order = r#"{"customer_id":"cus_1","items":[{"sku":"beans-1kg","quantity":1,"unit_price_cents":100}],"card_number":"4111111111111111","password":"drill"}"#;
    (0..6)
        .map(|_| {
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if http(app, "POST", "/api/v1/orders", order).is_none() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
        })
        .collect()
}

#[test]
fn the_error_ratio_alert_goes_pending_fires_and_resolves() {
    let Some(prometheus_bin) = prometheus() else {
        return;
    };
    let started = Instant::now();
    let app_port = free_port();
    let dir = export_drill("fire-drill", app_port);
    let mut service = start_service(app_port, true, &[]);
    let (_prometheus, prom_addr) = start_prometheus(prometheus_bin, &dir);

    // Traffic for the whole drill: orders from a few clients; they fail while the faults are on.
    let stop = Arc::new(AtomicBool::new(false));
    let app: SocketAddr = ([127, 0, 0, 1], app_port).into();
    let clients = drive_orders(app, &stop);

    let mut seen = vec!["inactive".to_owned()];
    let window = Duration::from_secs(60);
    wait_for_state(prom_addr, ERROR_RATIO, "pending", window, &mut seen);
    wait_for_state(prom_addr, ERROR_RATIO, "firing", window, &mut seen);

    // The faults stop: the same port, a healthy service.
    drop(service);
    service = start_service(app_port, false, &[]);
    wait_for_state(
        prom_addr,
        ERROR_RATIO,
        "inactive",
        Duration::from_secs(90),
        &mut seen,
    );
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    drop(service);

    assert_eq!(
        seen.iter()
            .filter(|s| *s != "unknown")
            .cloned()
            .collect::<Vec<_>>(),
        ["inactive", "pending", "firing", "inactive"],
        "the alert's life"
    );
    assert!(
        started.elapsed() < Duration::from_secs(180),
        "the drill took {:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The service exports its spans to a collector that is down: every batch fails, the spans are counted
/// lost as `unreachable`, and Prometheus, scraping the counter, holds the telemetry-loss alert pending.
#[test]
fn the_telemetry_loss_alert_goes_pending_while_the_collector_is_down() {
    let Some(prometheus_bin) = prometheus() else {
        return;
    };
    let app_port = free_port();
    let dir = export_drill("telemetry-drill", app_port);
    let collector_down = format!("http://127.0.0.1:{}", free_port());
    let service = start_service(
        app_port,
        false,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector_down),
            ("OTEL_BSP_SCHEDULE_DELAY", "200".into()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "200".into()),
        ],
    );
    let (_prometheus, prom_addr) = start_prometheus(prometheus_bin, &dir);
    let stop = Arc::new(AtomicBool::new(false));
    let app: SocketAddr = ([127, 0, 0, 1], app_port).into();
    let clients = drive_orders(app, &stop);

    let mut seen = vec!["inactive".to_owned()];
    let labels = wait_for_state(
        prom_addr,
        TELEMETRY_LOST,
        "pending",
        Duration::from_secs(60),
        &mut seen,
    );
    assert_eq!(
        labels["counter"], "sightline_spans_dropped_total",
        "{labels}"
    );
    // The loss Prometheus sees is the failed exports, not a full queue.
    let query = "sum(sightline_spans_dropped_total{reason=%22unreachable%22})";
    let (status, body) = http(
        prom_addr,
        "GET",
        &format!("/api/v1/query?query={query}"),
        "",
    )
    .expect("a query answer");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let lost: f64 = answer["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(lost > 0.0, "no span counted unreachable: {answer}");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    drop(service);
    let _ = std::fs::remove_dir_all(&dir);
}
