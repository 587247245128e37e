//! The generated Grafana dashboards against a real Prometheus: a small axum service instrumented with
//! sightline (HTTP layer, `#[observe]`, `#[business_span]`) serves `/metrics` on 127.0.0.1, the
//! `prometheus` binary scrapes it every second, and every PromQL expression of the three dashboards
//! (panel targets and the `$route` variable's `label_values`) is sent to Prometheus's HTTP API with the
//! Grafana variables substituted, as Grafana would: each must parse and evaluate, and, once a few scrapes
//! are in, return data: the dashboards read families and labels the service really exports.
//!
//! Without the `prometheus` binary the test prints a loud notice and passes, unless
//! `SIGHTLINE_REQUIRE_TOOLS=1`, which makes that a failure. Prometheus is killed and its directory
//! removed however the test ends.

mod common;
#[path = "common/http_client.rs"]
mod http_client;

use axum::extract::Path as UrlPath;
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use sightline::alerts::AlertConfig;
use sightline::{business_span, observe, ErrorLabel};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The scrape job, i.e. the service, as the dashboards' `$job` variable holds it.
const JOB: &str = "sightline-dashboards-live";
/// What `$__rate_interval` stands for: four 1 s scrape intervals and one more, as Grafana computes it.
const RATE_INTERVAL: &str = "5s";
/// The route the drill-down variable is set to: it serves both 200s and 500s.
const ROUTE: &str = "/api/items/{sku}";
/// How long the scrapes may take to show the traffic.
const DATA_DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------

#[derive(Debug, ErrorLabel)]
enum StockError {
    OutOfStock,
    /// A business outcome: the expected-outcome panels read it.
    #[error_label(expected)]
    Discontinued,
}

impl std::fmt::Display for StockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of stock")
    }
}

#[observe]
async fn check_stock(sku: u32) -> Result<u32, StockError> {
    tokio::time::sleep(Duration::from_millis(u64::from(sku % 5))).await;
    if sku % 3 == 0 {
        return Err(StockError::OutOfStock);
    }
    if sku % 5 == 1 {
        return Err(StockError::Discontinued);
    }
    Ok(sku)
}

#[observe]
fn price_cents(sku: u32) -> u64 {
    u64::from(sku) * 100
}

#[business_span("place-order")]
async fn place_order(sku: u32) -> Result<u64, StockError> {
    let sku = check_stock(sku).await?;
    Ok(price_cents(sku))
}

async fn item(UrlPath(sku): UrlPath<u32>) -> Result<String, StatusCode> {
    place_order(sku)
        .await
        .map(|cents| cents.to_string())
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn unavailable() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

async fn metrics() -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, sightline::metrics::CONTENT_TYPE)],
        sightline::metrics::render(),
    )
}

/// The instrumented service on 127.0.0.1 (any free port), `/metrics` outside the HTTP layer.
async fn serve() -> SocketAddr {
    common::telemetry();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/api/items/{sku}", get(item))
        .route("/api/unavailable", get(unavailable))
        .layer(sightline::http::layer())
        .route("/metrics", get(metrics));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the service runs");
    });
    addr
}

/// Sends a mix of successes, 500s (out of stock) and 503s until `stop`.
async fn drive_traffic(addr: SocketAddr, stop: Arc<AtomicBool>) {
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let path = match n % 4 {
            0 => "/health".to_string(),
            1 | 2 => format!("/api/items/{}", n % 7),
            _ => "/api/unavailable".to_string(),
        };
        let _ = http_client::request(addr, "GET", &path, &[]).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Health checks until `stop`: the whole service (`OK`) and one that is not there (`NotFound`).
#[cfg(feature = "grpc")]
async fn drive_grpc_traffic(addr: SocketAddr, stop: Arc<AtomicBool>) {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    let mut client = HealthClient::new(channel);
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let service = if n % 3 == 0 { "missing" } else { "" };
        let _ = client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------------------------------

/// The `prometheus` binary, or `None` after a loud notice (a failure under SIGHTLINE_REQUIRE_TOOLS=1).
fn prometheus_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(format!("prometheus{}", std::env::consts::EXE_SUFFIX)))
            .find(|candidate| candidate.is_file())
    });
    if found.is_some() {
        return found;
    }
    let message = "the `prometheus` binary is not on PATH (apt-get install -y prometheus)";
    if std::env::var("SIGHTLINE_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{message}, and SIGHTLINE_REQUIRE_TOOLS=1 makes that a failure");
    }
    // Straight to the process's stderr: `eprintln!` would be captured, and hidden, for a passing test.
    let notice = format!(
        "\n{bar}\n!!! SKIPPED alerts_live: {message}.\n!!! The dashboards' queries were NOT checked \
         against Prometheus.\n{bar}\n",
        bar = "!".repeat(100)
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), notice.as_bytes());
    None
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "sightline-alerts-live-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("a temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Prometheus process: killed and reaped when dropped, even when an assertion fails; its log is
/// printed then, when the test is failing.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Prometheus {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- prometheus log ---\n{}", self.log());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts Prometheus scraping `target` every second, and waits until it is ready.
async fn start_prometheus(binary: &PathBuf, dir: &TempDir, target: SocketAddr) -> Prometheus {
    let config = dir.0.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: {JOB}\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let log = dir.0.join("prometheus.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.0.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("prometheus starts");
    let mut prometheus = Prometheus { child, addr, log };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = prometheus.child.try_wait().unwrap() {
            panic!("prometheus exited with {status}:\n{}", prometheus.log());
        }
        if let Ok(response) = http_client::request(addr, "GET", "/-/ready", &[]).await {
            if response.status == 200 {
                return prometheus;
            }
        }
        assert!(
            Instant::now() < deadline,
            "prometheus not ready in 30 s:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Percent-encodes a query-string value (everything but RFC 3986's unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `path` on Prometheus's API; the parsed JSON answer, whatever its status.
async fn api(prometheus: &Prometheus, path: &str) -> Value {
    let response = http_client::request(prometheus.addr, "GET", path, &[])
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "GET {path}: {} with a body that is not JSON ({e}): {}",
            response.status,
            response.body_text()
        )
    })
}

/// An instant query; the answer must be `"status":"success"`. Returns `data.result`.
async fn query(prometheus: &Prometheus, expr: &str) -> Vec<Value> {
    let answer = api(prometheus, &format!("/api/v1/query?query={}", encode(expr))).await;
    assert_eq!(
        answer["status"], "success",
        "Prometheus refused\n  {expr}\n{answer}"
    );
    answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The value of the first sample of an instant vector.
fn first_value(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------------
// The dashboards
// ---------------------------------------------------------------------------------------------------

/// What Grafana sends for a query: its variables replaced by their values.
fn substitute(expr: &str) -> String {
    let done = expr
        .replace("$__rate_interval", RATE_INTERVAL)
        .replace("${job}", JOB)
        .replace("$job", JOB)
        .replace("${route}", ROUTE)
        .replace("$route", ROUTE);
    assert!(
        !done.contains('$'),
        "a Grafana variable the test does not know in {expr}"
    );
    done
}

/// Every panel query of a dashboard, as (panel title, expr), rows' nested panels included.
fn panel_queries(value: &Value, title: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            let title = map
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or(title)
                .to_string();
            if let Some(targets) = map.get("targets").and_then(Value::as_array) {
                for target in targets {
                    let expr = target["expr"].as_str().expect("a target has an expr");
                    out.push((title.clone(), expr.to_string()));
                }
            }
            for (key, child) in map {
                if key != "targets" && key != "templating" {
                    panel_queries(child, &title, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                panel_queries(item, title, out);
            }
        }
        _ => {}
    }
}

/// The `label_values(selector, label)` of a query variable, as (selector, label).
fn label_values(query: &str) -> (String, String) {
    let inner = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a label_values query: {query}"));
    let (selector, label) = inner
        .rsplit_once(',')
        .unwrap_or_else(|| panic!("label_values without a label: {query}"));
    let label = label.trim();
    assert!(
        !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "label_values' label must be a label name: {query}"
    );
    (selector.trim().to_string(), label.to_string())
}

struct Dashboard {
    path: String,
    json: Value,
}

fn dashboards() -> Vec<Dashboard> {
    let config = AlertConfig::new(JOB, "127.0.0.1:0");
    let rendered: Vec<Dashboard> = sightline::alerts::render(&config, &[])
        .into_iter()
        .filter(|(path, _)| path.starts_with("dashboards/"))
        .map(|(path, text)| Dashboard {
            json: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")),
            path,
        })
        .collect();
    let paths: Vec<&str> = rendered.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "dashboards/service-overview.json",
            "dashboards/endpoint-performance.json",
            "dashboards/infrastructure.json"
        ]
    );
    rendered
}

// ---------------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_runs_on_prometheus_and_the_overview_shows_the_traffic() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let started = Instant::now();
    let dashboards = dashboards();

    let service = serve().await;
    let stop = Arc::new(AtomicBool::new(false));
    // Stops the traffic however the test ends.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _stop = StopOnDrop(stop.clone());
    tokio::spawn(drive_traffic(service, stop.clone()));
    #[cfg(feature = "grpc")]
    // The same process serves gRPC too, so the overview's gRPC row has data.
    tokio::spawn(drive_grpc_traffic(
        common::grpc_calls::serve_health(&[]).await,
        stop,
    ));

    let dir = TempDir::new();
    let prometheus = start_prometheus(&binary, &dir, service).await;
    eprintln!("prometheus ready after {:?}", started.elapsed());

    // The overview's golden signals must show the traffic once a few scrapes are in: the rate and the
    // error ratio above 0 (the service answers 500s and 503s), the latency percentiles present.
    let overview = &dashboards[0];
    let mut golden = Vec::new();
    panel_queries(&overview.json["panels"], "", &mut golden);
    let golden: Vec<(String, String)> = golden
        .into_iter()
        .filter(|(title, _)| {
            [
                "Request rate",
                "Error ratio",
                "p99 latency",
                "Latency percentiles",
                "Requests in flight",
            ]
            .contains(&title.as_str())
        })
        .collect();
    assert!(golden.len() >= 9, "{golden:#?}");
    let waiting = Instant::now();
    loop {
        let mut missing = Vec::new();
        for (title, expr) in &golden {
            let result = query(&prometheus, &substitute(expr)).await;
            let shown = match title.as_str() {
                "Request rate" | "Error ratio" => first_value(&result).is_some_and(|v| v > 0.0),
                _ => !result.is_empty(),
            };
            if !shown {
                missing.push(format!("{title}: {expr} -> {result:?}"));
            }
        }
        if missing.is_empty() {
            break;
        }
        assert!(
            waiting.elapsed() < DATA_DEADLINE,
            "after {DATA_DEADLINE:?} of scrapes, the overview still shows no traffic in:\n{}",
            missing.join("\n")
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "overview showed the traffic after {:?} of scrapes",
        waiting.elapsed()
    );

    // The `$route` variable: its label_values, as the API call Grafana makes for it, lists the routes.
    let mut variables = 0;
    for dashboard in &dashboards {
        for variable in dashboard.json["templating"]["list"].as_array().unwrap() {
            if variable["type"] != "query" {
                continue;
            }
            variables += 1;
            let query = variable["query"].as_str().expect("a string query");
            let (selector, label) = label_values(query);
            let path = format!(
                "/api/v1/label/{label}/values?match[]={}",
                encode(&substitute(&selector))
            );
            let answer = api(&prometheus, &path).await;
            assert_eq!(
                answer["status"], "success",
                "{}: {query}: {answer}",
                dashboard.path
            );
            let values: Vec<&str> = answer["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(
                values.contains(&ROUTE) && values.contains(&"/health"),
                "{}: {query} lists {values:?}",
                dashboard.path
            );
        }
    }
    assert_eq!(variables, 1, "the endpoint dashboard's $route");

    // Every panel query of every dashboard parses, evaluates, and has data.
    let mut checked = 0;
    let mut empty = Vec::new();
    for dashboard in &dashboards {
        let mut queries = Vec::new();
        panel_queries(&dashboard.json["panels"], "", &mut queries);
        assert!(!queries.is_empty(), "{}", dashboard.path);
        for (title, expr) in queries {
            let result = query(&prometheus, &substitute(&expr)).await;
            // Without the `grpc` feature the service serves no gRPC: that row parses and evaluates,
            // and has nothing to show.
            let grpc_row = title.starts_with("gRPC");
            if result.is_empty() && (cfg!(feature = "grpc") || !grpc_row) {
                empty.push(format!("{}: {title}: {expr}", dashboard.path));
            }
            checked += 1;
        }
    }
    assert!(
        empty.is_empty(),
        "queries that return no data against a live service:\n{}",
        empty.join("\n")
    );
    eprintln!(
        "{checked} panel queries and {variables} variable checked in {:?}",
        started.elapsed()
    );
}
