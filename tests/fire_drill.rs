//! The fire drill, live: the generated `prometheus.yml` and `alert_rules.yml` (drill mode: 1 s scrapes and
//! evaluations, `for` and windows scaled from minutes to seconds) loaded into the real `prometheus`
//! binary, the example service injected with faults, and the service's error-ratio alert watched through
//! Prometheus's HTTP API as it goes pending, fires, and resolves once the faults stop.

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

/// The alert the drill watches: the service's error ratio (5xx over all requests) above its objective.
const ALERT: &str = "ServiceErrorRatioHigh";

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

fn start_service(port: u16, faulty: bool) -> KillOnDrop {
    let mut cmd = Command::new(example_binary());
    cmd.env_remove("RUST_LOG")
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

/// The drill alert's state in Prometheus: "inactive" when not listed, else "pending" or "firing".
fn alert_state(prometheus: SocketAddr) -> String {
    let Some((200, body)) = http(prometheus, "GET", "/api/v1/alerts", "") else {
        return "unknown".into();
    };
    let json: serde_json::Value = serde_json::from_str(&body).expect("alerts JSON");
    json["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["labels"]["alertname"] == ALERT)
        .and_then(|a| a["state"].as_str())
        .unwrap_or("inactive")
        .to_owned()
}

fn wait_for_state(prometheus: SocketAddr, wanted: &str, within: Duration, seen: &mut Vec<String>) {
    let deadline = Instant::now() + within;
    loop {
        let state = alert_state(prometheus);
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        if state == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{ALERT} never became {wanted} within {within:?}; states seen: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_error_ratio_alert_goes_pending_fires_and_resolves() {
    let Some(prometheus_bin) = prometheus() else {
        return;
    };
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!("sightline-fire-drill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let app_port = free_port();
    let exported = Command::new(example_binary())
        .args(["export", dir.to_str().unwrap(), "--drill", "--target"])
        .arg(format!("127.0.0.1:{app_port}"))
        .output()
        .expect("export runs");
    assert!(exported.status.success(), "{exported:?}");
    for file in ["prometheus.yml", "alert_rules.yml"] {
        assert!(Path::new(&dir).join(file).exists(), "{file} exported");
    }

    let mut service = start_service(app_port, true);
    let prom_port = free_port();
    let prom_addr: SocketAddr = ([127, 0, 0, 1], prom_port).into();
    let _prometheus = KillOnDrop(
        Command::new(prometheus_bin)
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

    // Traffic for the whole drill: orders from a few clients; they fail while the faults are on.
    let stop = Arc::new(AtomicBool::new(false));
    let app: SocketAddr = ([127, 0, 0, 1], app_port).into();
    let order = r#"{"customer_id":"cus_1","items":[{"sku":"beans-1kg","quantity":1,"unit_price_cents":100}],"card_number":"4111111111111111","password":"drill"}"#;
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if http(app, "POST", "/api/v1/orders", order).is_none() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
        })
        .collect();

    let mut seen = vec!["inactive".to_owned()];
    wait_for_state(prom_addr, "pending", Duration::from_secs(60), &mut seen);
    wait_for_state(prom_addr, "firing", Duration::from_secs(60), &mut seen);

    // The faults stop: the same port, a healthy service.
    drop(service);
    service = start_service(app_port, false);
    wait_for_state(prom_addr, "inactive", Duration::from_secs(90), &mut seen);
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
