//! An order service on axum 0.8, made observable with sightline alone.
//!
//! ```text
//! cargo run --example order_service                # serve on 127.0.0.1:$PORT (default 3000)
//! cargo run --example order_service -- --demo      # drive traffic at itself, print a RED summary
//! ```
//!
//! Read it top-down: the error type (`ErrorLabel` for `error_kind`, `HttpStatus` for `status_code`),
//! the handlers (handler mode, `fields`, `redact`, `sightline::record`, per-site `log`, `level` and
//! `buckets`), the business operation (`#[business_span]` over plain `#[observe]` steps, sync and async,
//! `?`, a timeout's cancellation), then `main` (the `Telemetry` builder). The `--demo` harness at the
//! bottom is plumbing.
//!
//! Traces: with no collector, each completed span is summarised in the log (`"message":"span
//! completed"`, with `trace_id`, `span_id`, `parent_span_id`, `duration_ms`, `status`). With one, e.g.
//! Jaeger all-in-one listening for OTLP/HTTP on 4318, spans are exported instead:
//! `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example order_service`.
//!
//! stdout carries only JSON log lines; the `--demo` summary goes to stderr, so
//! `... --demo > logs.jsonl` keeps both readable. Environment:
//!
//! | variable | effect | default |
//! |---|---|---|
//! | `PORT` | port to listen on (`0`: any free one, see the `addr` of the first line) | `3000` |
//! | `LOG_LEVEL` | `debug` adds confirmations and health checks (`RUST_LOG` wins) | `info,sightline::spans=debug` |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | export spans over OTLP/HTTP to this collector | none: span summaries in the log |
//! | `PAYMENT_FAILURE_RATE` | share of charges declined, 0.0-1.0 | `0.05` |
//! | `PAYMENT_LATENCY_MS` | latency of `charge_payment`; above 500 it times out (503) | `20` |
//! | `INVENTORY_LATENCY_MS` | latency of the inventory service's stock lookups | `2` |
//! | `INVENTORY_PORT` | port of the inventory service, the second service | `0`: any free one |
//! | `DEMO_SECONDS` | how long `--demo` drives traffic | `3` |

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sightline::{business_span, observe, ErrorLabel, HttpStatus};
use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The payment provider's budget: a slower charge is abandoned and the order fails with a 503.
const PAYMENT_TIMEOUT: Duration = Duration::from_millis(500);
/// What the shop sells, with the stock on hand (fixed, so the demo's error rates stay steady).
const CATALOGUE: &[(&str, u32)] = &[("beans-1kg", 500), ("grinder-c40", 3), ("milk-jug", 40)];

#[derive(Clone, Debug, Serialize, Deserialize)]
struct LineItem {
    sku: String,
    quantity: u32,
    unit_price_cents: u64,
}

/// The request body. It carries a card number and a password on purpose: look for them in the logs.
#[derive(Debug, Serialize, Deserialize)]
struct CreateOrder {
    customer_id: String,
    items: Vec<LineItem>,
    card_number: String,
    password: String,
}

/// What is stored and returned: no secrets, only the card's last four digits.
#[derive(Clone, Debug, Serialize)]
struct Order {
    id: u64,
    customer_id: String,
    items: Vec<LineItem>,
    total_cents: u64,
    charge_id: String,
    card_last4: String,
}

/// Every way an order can fail. `ErrorLabel` makes each variant a bounded `error_kind` label
/// (`OutOfStock` -> `out_of_stock`), all known ahead, so a failure never creates a new time series.
#[derive(Debug, ErrorLabel)]
enum OrderError {
    Unauthorized,
    InvalidOrder(String),
    OutOfStock {
        sku: String,
        requested: u32,
        available: u32,
    },
    PaymentDeclined,
    PaymentProviderDown,
    NotFound(u64),
    Internal(&'static str),
}

/// Written to the completion line's `error` field and to the response: never put a secret in here.
impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::Unauthorized => f.write_str("unknown customer or wrong password"),
            OrderError::InvalidOrder(why) => write!(f, "invalid order: {why}"),
            OrderError::OutOfStock {
                sku,
                requested,
                available,
            } => {
                write!(f, "{sku}: {requested} requested, {available} in stock")
            }
            OrderError::PaymentDeclined => f.write_str("payment declined"),
            OrderError::PaymentProviderDown => f.write_str("payment provider unavailable"),
            OrderError::NotFound(id) => write!(f, "no order {id}"),
            OrderError::Internal(what) => write!(f, "internal error: {what}"),
        }
    }
}

impl OrderError {
    fn status(&self) -> StatusCode {
        match self {
            OrderError::Unauthorized => StatusCode::UNAUTHORIZED,
            OrderError::InvalidOrder(_) => StatusCode::BAD_REQUEST,
            OrderError::OutOfStock { .. } => StatusCode::CONFLICT,
            OrderError::PaymentDeclined => StatusCode::PAYMENT_REQUIRED,
            OrderError::PaymentProviderDown => StatusCode::SERVICE_UNAVAILABLE,
            OrderError::NotFound(_) => StatusCode::NOT_FOUND,
            OrderError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The `status_code` label. Handlers return `Result<_, OrderError>` by its concrete type, so sightline
/// reads the exact status here; behind `impl IntoResponse` it could only tell 200 from 500. (A separate
/// `ApiError` wrapper works too, but then implement `ErrorLabel` for it, or `error_kind` is "error".)
impl HttpStatus for OrderError {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

impl IntoResponse for OrderError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.error_label(), "message": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}

struct App {
    /// Where the inventory service listens.
    inventory: SocketAddr,
    orders: Mutex<HashMap<u64, Order>>,
    next_id: AtomicU64,
    rng: Mutex<XorShift>,
    // Fault injection, read once from the environment.
    payment_failure_rate: f64,
    payment_latency: Duration,
    inventory_latency: Duration,
}

impl App {
    fn orders(&self) -> Result<MutexGuard<'_, HashMap<u64, Order>>, OrderError> {
        let poisoned = |_| OrderError::Internal("order store poisoned");
        self.orders.lock().map_err(poisoned)
    }

    /// A uniform draw in 0.0..1.0.
    fn roll(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_f64()
    }

    /// Sleeps `d` scaled by 0.5..1.5, so the latency histograms have some spread.
    async fn delay(&self, d: Duration) {
        tokio::time::sleep(d.mul_f64(0.5 + self.roll())).await;
    }
}

/// The checkout's service level objective: 99 % of orders within 2 s (a bucket bound, checked at compile
/// time), at most 1 % failing. Shared by the handler and the business operation; `export` turns it into
/// multi-window burn-rate alerts.
const CHECKOUT_SLO: sightline::ObjectiveDef =
    sightline::objective!(latency = "2s", percentile = 99, error_rate = "1%");

// ---- handlers: handler mode, with `route` and `method` as registered on the router in `main` -------

/// `fields(...)` go on the span: onto this call's completion line and every line logged inside it,
/// `process_order`'s included. The card number is declared in `redact(...)`: the expression is never
/// evaluated and the field reads "[REDACTED]". (`fields(card_number = ..)` would not even compile.)
#[observe(
    route = "/api/v1/orders",
    method = "POST",
    fields(customer_id = body.customer_id, item_count = body.items.len()),
    redact(card_number = body.card_number),
    objective = CHECKOUT_SLO
)]
async fn create_order(
    State(app): State<Arc<App>>,
    Json(body): Json<CreateOrder>,
) -> Result<(StatusCode, Json<Order>), OrderError> {
    let user_id = authenticate(&body.customer_id, &body.password)?;
    // Known only now, after the span was created: `record` adds it to this call's lines from here on.
    sightline::record("user_id", user_id);
    let order = process_order(&app, body).await?;
    Ok((StatusCode::CREATED, Json(order)))
}

/// Reads take microseconds and the default buckets start at 10 ms: this site brings its own.
#[observe(
    route = "/api/v1/orders/{id}",
    method = "GET",
    fields(order_id = id),
    buckets = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.1]
)]
async fn get_order(
    State(app): State<Arc<App>>,
    Path(id): Path<u64>,
) -> Result<Json<Order>, OrderError> {
    let order = app.orders()?.get(&id).cloned();
    order.map(Json).ok_or(OrderError::NotFound(id))
}

/// Left out of the access log and the `http_*` families (`skip_paths` below): a line per scrape would
/// only be noise.
async fn metrics() -> Response {
    let content_type = [(header::CONTENT_TYPE, sightline::metrics::CONTENT_TYPE)];
    (content_type, sightline::metrics::render()).into_response()
}

/// Probes are frequent and dull: successes log at debug (failures would still log at error).
#[observe(route = "/healthz", method = "GET", level = "debug")]
async fn healthz() -> &'static str {
    "ok"
}

/// A stand-in for a real credential check.
fn authenticate(customer_id: &str, password: &str) -> Result<u64, OrderError> {
    match customer_id.strip_prefix("cus_").map(str::parse::<u64>) {
        Some(Ok(n)) if !password.is_empty() => Ok(700_000 + n),
        _ => Err(OrderError::Unauthorized),
    }
}

// ---- the business logic: a business span over plain `#[observe]` steps, sync and async alike --------

/// The business operation: a span named `process-order` with the order's attributes (exported to a
/// collector, high cardinality welcome), `business_operations_total{operation="process-order"}`, and
/// the steps below as its child spans. Every `?` is an exit sightline sees: a failed step counts as an
/// error on the step *and* here, with the same `error_kind`.
#[business_span(
    "process-order",
    attrs(order.customer_id = body.customer_id, order.item_count = body.items.len()),
    objective = CHECKOUT_SLO
)]
async fn process_order(app: &App, body: CreateOrder) -> Result<Order, OrderError> {
    // The raw body, secrets and all, handed to tracing as JSON text. The log layer parses it and
    // redacts `card_number` and `password` inside: the line reads `"password":"[REDACTED]"`.
    tracing::info!(body = %serde_json::to_string(&body).unwrap_or_default(), "order received");

    let total_cents = validate_inventory(app, &body.items).await?;
    // A charge slower than the budget is dropped mid-flight: sightline counts that call `cancelled`
    // (not an error), and the order fails as `payment_provider_down`.
    let charge = charge_payment(app, total_cents, &body.card_number);
    let charge_id = tokio::time::timeout(PAYMENT_TIMEOUT, charge)
        .await
        .map_err(|_| OrderError::PaymentProviderDown)??;

    let order = Order {
        id: app.next_id.fetch_add(1, Ordering::Relaxed),
        customer_id: body.customer_id,
        items: body.items,
        total_cents,
        charge_id,
        card_last4: last4(&body.card_number).to_owned(),
    };
    app.orders()?.insert(order.id, order.clone());
    send_confirmation(&order);
    Ok(order)
}

/// Checks the items against the inventory service and prices the order. The inventory is another
/// service, called over HTTP: `sightline::http::inject` puts this request's `x-request-id` and
/// `traceparent` on the call, so its spans join this trace and its log lines carry this request ID.
#[observe]
async fn validate_inventory(app: &App, items: &[LineItem]) -> Result<u64, OrderError> {
    let invalid = |why: String| Err(OrderError::InvalidOrder(why));
    if items.is_empty() {
        return invalid("no items".into());
    }
    let mut total: u64 = 0;
    for item in items {
        let (sku, requested) = (item.sku.clone(), item.quantity);
        let mut headers = axum::http::HeaderMap::new();
        sightline::http::inject(&mut headers);
        let path = format!("/api/v1/stock/{sku}");
        let unavailable = |_| OrderError::Internal("inventory service unreachable");
        let (status, body) = http(app.inventory, "GET", &path, "", &headers)
            .await
            .map_err(unavailable)?;
        if status == 404 {
            return invalid(format!("unknown sku {sku}"));
        }
        let Ok(available) = body.trim().parse::<u32>() else {
            return Err(OrderError::Internal("inventory service answered nonsense"));
        };
        if requested == 0 {
            return invalid(format!("{sku}: quantity 0"));
        }
        if requested > available {
            return Err(OrderError::OutOfStock {
                sku,
                requested,
                available,
            });
        }
        total = total.saturating_add(u64::from(requested).saturating_mul(item.unit_price_cents));
    }
    Ok(total)
}

/// Log what helps and is safe: the amount and the card's last four digits, never the number.
#[observe(fields(amount_cents = amount_cents, card_last4 = last4(card_number)))]
async fn charge_payment(
    app: &App,
    amount_cents: u64,
    card_number: &str,
) -> Result<String, OrderError> {
    app.delay(app.payment_latency).await;
    if app.roll() < app.payment_failure_rate {
        return Err(OrderError::PaymentDeclined);
    }
    let charge_id = (app.roll() * f64::from(u32::MAX)) as u32;
    Ok(format!("ch_{charge_id:08x}"))
}

/// Infallible and synchronous: still timed and counted.
#[observe(level = "debug", fields(order_id = order.id))]
fn send_confirmation(order: &Order) {
    tracing::debug!(customer_id = %order.customer_id, "confirmation e-mail queued");
}

fn last4(card_number: &str) -> &str {
    &card_number[card_number.len().saturating_sub(4)..]
}

// ---- the inventory service: a second service, reached over HTTP -------------------------------------

/// Stock on hand for one SKU. Under the HTTP layer, this handler's span continues the caller's trace.
#[observe(route = "/api/v1/stock/{sku}", method = "GET")]
async fn stock(State(app): State<Arc<App>>, Path(sku): Path<String>) -> Result<String, StatusCode> {
    app.delay(app.inventory_latency).await;
    tracing::info!(sku = sku.as_str(), "stock lookup");
    match CATALOGUE.iter().find(|(known, _)| *known == sku) {
        Some((_, available)) => Ok(available.to_string()),
        None => Err(StatusCode::NOT_FOUND),
    }
}

// ---- wiring ------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // JSON lines with redaction on stdout, metric families registered, spans exported when an OTLP
    // endpoint is set (and summarised in the log when not: the default level shows those summaries).
    // Hold the guard for all of main: dropping it flushes logs and spans.
    let _telemetry = sightline::Telemetry::builder("order-service")
        .service_version(env!("CARGO_PKG_VERSION"))
        .log_level("info,sightline::spans=debug")
        .install()?;

    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("export") {
        return export(&args[1..]);
    }
    let demo = args.iter().any(|arg| arg == "--demo");
    // The inventory service listens on its own port, as a second service would.
    let inventory_listener = TcpListener::bind(("127.0.0.1", env_or("INVENTORY_PORT", 0)?)).await?;
    let app = Arc::new(App {
        inventory: inventory_listener.local_addr()?,
        orders: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1001),
        rng: Mutex::new(XorShift::seeded(0)),
        payment_failure_rate: env_or("PAYMENT_FAILURE_RATE", 0.05_f64)?.clamp(0.0, 1.0),
        payment_latency: Duration::from_millis(env_or("PAYMENT_LATENCY_MS", 20)?),
        inventory_latency: Duration::from_millis(env_or("INVENTORY_LATENCY_MS", 2)?),
    });
    let router = Router::new()
        .route("/api/v1/orders", post(create_order))
        .route("/api/v1/orders/{id}", get(get_order))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(Arc::clone(&app))
        // Request IDs, trace context, one access line and the http_* count per request.
        .layer(
            sightline::http::HttpLayer::builder()
                .skip_paths(["/metrics"])
                .build(),
        );
    let inventory = Router::new()
        .route("/api/v1/stock/{sku}", get(stock))
        .with_state(app)
        .layer(sightline::http::layer());
    tokio::spawn(async move { axum::serve(inventory_listener, inventory).await });

    let port = if demo { 0 } else { env_or("PORT", 3000)? };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, demo, "order-service listening");

    if !demo {
        let ctrl_c = async { tokio::signal::ctrl_c().await.unwrap_or_default() };
        axum::serve(listener, router)
            .with_graceful_shutdown(ctrl_c)
            .await?;
        return Ok(());
    }
    tokio::spawn(async move { axum::serve(listener, router).await });
    run_demo(addr, Duration::from_secs_f64(env_or("DEMO_SECONDS", 3.0)?)).await
}

/// `export <dir> [--drill] [--target host:port]`: the alert rules and their promtool tests, the
/// Alertmanager route, the Prometheus config and the Grafana dashboards, generated from what this binary
/// instruments (its objectives come from the link-time catalogue: nothing has to run).
fn export(args: &[String]) -> Result<(), Box<dyn Error>> {
    let Some(dir) = args.first() else {
        return Err("usage: order_service export <dir> [--drill] [--target host:port]".into());
    };
    let port = env_or("PORT", 3000u16)?;
    let target = args
        .iter()
        .position(|a| a == "--target")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| format!("127.0.0.1:{port}"));
    let catalog = sightline::alerts::catalog()?;
    let mut config = catalog.alert_config("order-service", target);
    config.drill = args.iter().any(|a| a == "--drill");
    for path in sightline::alerts::export(std::path::Path::new(dir), &config, &catalog.objectives)?
    {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, Box<dyn Error>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|e| format!("{name}={text:?}: {e}").into()),
        Err(_) => Ok(default),
    }
}

/// xorshift64, seeded from the clock: plenty for fault injection and demo traffic.
struct XorShift(u64);

impl XorShift {
    fn seeded(salt: u64) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        XorShift((now.as_nanos() as u64 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---- --demo: traffic at ourselves, then a RED summary read back from our own /metrics ---------------

/// The secrets every demo order carries. Neither may ever appear on stdout.
const DEMO_CARD: &str = "4111111111111111";
const DEMO_PASSWORD: &str = "hunter2-demo-secret";

async fn run_demo(addr: SocketAddr, duration: Duration) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let clients: Vec<_> = (1..=4)
        .map(|seed| tokio::spawn(drive_traffic(addr, started + duration, seed)))
        .collect();
    for client in clients {
        client.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (status, exposition) = http(addr, "GET", "/metrics", "", &Default::default()).await?;
    if status != 200 {
        return Err(format!("GET /metrics answered {status}").into());
    }
    eprint!("{}", red_summary(&exposition, seconds));
    Ok(())
}

/// One client: mostly good orders, some bad ones, reads of orders that exist and that do not.
async fn drive_traffic(addr: SocketAddr, deadline: Instant, seed: u64) -> std::io::Result<()> {
    let mut rng = XorShift::seeded(seed);
    while Instant::now() < deadline {
        let customer = 1 + (rng.next_f64() * 50.0) as u64;
        let order = |sku: &str, quantity: u32, password: &str| {
            let body = serde_json::json!({
                "customer_id": format!("cus_{customer}"),
                "items": [{ "sku": sku, "quantity": quantity, "unit_price_cents": 1_899 }],
                "card_number": DEMO_CARD,
                "password": password,
            });
            ("POST", "/api/v1/orders".to_owned(), body.to_string())
        };
        let read = |path: String| ("GET", path, String::new());
        let (method, path, body) = match rng.next_f64() {
            r if r < 0.55 => order("beans-1kg", 2, DEMO_PASSWORD), // 201, or 402 when declined
            r if r < 0.63 => order("milk-jug", 0, DEMO_PASSWORD),  // 400 invalid_order
            r if r < 0.68 => order("grinder-c40", 5, DEMO_PASSWORD), // 409 out_of_stock
            r if r < 0.70 => order("beans-1kg", 1, ""),            // 401 unauthorized
            r if r < 0.95 => read(format!("/api/v1/orders/{}", 1000 + customer * 2)), // 200 or 404
            _ => read("/healthz".to_owned()),
        };
        http(addr, method, &path, &body, &Default::default()).await?;
    }
    Ok(())
}

/// A minimal HTTP/1.1 client, one connection per request: (status, body).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &axum::http::HeaderMap,
) -> std::io::Result<(u16, String)> {
    let failed = |what: &str| std::io::Error::other(format!("{method} {path}: {what}"));
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (name, value) in headers {
            if let Ok(value) = value.to_str() {
                head += &format!("{name}: {value}\r\n");
            }
        }
        let request = format!(
            "{head}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok());
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        Ok((
            status.ok_or_else(|| failed("malformed response"))?,
            body.to_owned(),
        ))
    };
    let timeout = tokio::time::timeout(Duration::from_secs(10), exchange).await;
    timeout.map_err(|_| failed("timed out"))?
}

/// One route's requests by status class, and its cumulative buckets summed over status codes.
#[derive(Default)]
struct RouteStats {
    requests: f64,
    client_errors: f64,
    server_errors: f64,
    buckets: Vec<(f64, f64)>,
}

/// Rate, errors and duration per route, then each step's calls by result, from the exposition text.
fn red_summary(exposition: &str, seconds: f64) -> String {
    let samples: Vec<Sample> = exposition.lines().filter_map(Sample::parse).collect();
    let mut routes: BTreeMap<(&str, &str), RouteStats> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name.starts_with("http_request"))
    {
        let route = routes
            .entry((s.label("method"), s.label("route")))
            .or_default();
        if s.name == "http_requests_total" {
            let class = s.label("status_code").as_bytes().first().copied();
            route.requests += s.value;
            route.client_errors += if class == Some(b'4') { s.value } else { 0.0 };
            route.server_errors += if class == Some(b'5') { s.value } else { 0.0 };
        } else if s.name == "http_request_duration_seconds_bucket" {
            let le = s.label("le").parse().unwrap_or(f64::INFINITY);
            match route.buckets.iter_mut().find(|(bound, _)| *bound == le) {
                Some(bucket) => bucket.1 += s.value,
                None => route.buckets.push((le, s.value)),
            }
        }
    }
    let mut out = format!(
        "\nRED summary of {seconds:.1} s of demo traffic (p50/p99 estimated from buckets)\n"
    );
    out += "method route                    reqs   req/s   4xx%   5xx%   p50 ms   p99 ms\n";
    for ((method, route), stats) in routes.iter().filter(|(_, stats)| stats.requests > 0.0) {
        let total = stats.requests;
        let (p4, p5) = (
            100.0 * stats.client_errors / total,
            100.0 * stats.server_errors / total,
        );
        let (rate, p50, p99) = (
            total / seconds,
            quantile_ms(0.5, &stats.buckets),
            quantile_ms(0.99, &stats.buckets),
        );
        out += &format!(
            "{method:<7}{route:<22}{total:>8}{rate:>8.1}{p4:>6.1}%{p5:>6.1}%{p50:>9}{p99:>9}\n"
        );
    }
    out += "\ncalls                    ok  error  cancelled   errors by error_kind\n";
    // (row, calls family, errors family, name label, outcome label)
    let rows = [
        (
            "process-order",
            "business_operations_total",
            "business_operation_errors_total",
            "operation",
            "outcome",
        ),
        (
            "validate_inventory",
            "function_calls_total",
            "function_errors_total",
            "function",
            "result",
        ),
        (
            "charge_payment",
            "function_calls_total",
            "function_errors_total",
            "function",
            "result",
        ),
        (
            "send_confirmation",
            "function_calls_total",
            "function_errors_total",
            "function",
            "result",
        ),
    ];
    for (function, calls_family, errors_family, key, outcome) in rows {
        let of = |name: &'static str| {
            samples
                .iter()
                .filter(move |s| s.name == name && s.label(key) == function)
        };
        let calls = |result: &str| {
            of(calls_family)
                .filter(|s| s.label(outcome) == result)
                .map(|s| s.value)
                .sum::<f64>()
        };
        let errors: Vec<String> = of(errors_family)
            .filter(|s| s.value > 0.0)
            .map(|s| format!("{}={}", s.label("error_kind"), s.value))
            .collect();
        let (ok, error, cancelled) = (calls("ok"), calls("error"), calls("cancelled"));
        out += &format!(
            "{function:<20}{ok:>7}{error:>7}{cancelled:>11}   {}\n",
            errors.join(" ")
        );
    }
    out
}

/// One sample line of the Prometheus text format: `name{key="value",...} 12.5`.
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v)
    }

    /// `None` for comments, blank lines and anything it does not understand.
    fn parse(line: &str) -> Option<Sample> {
        if line.starts_with('#') {
            return None;
        }
        let (name, mut rest) = line.split_at(line.find(['{', ' '])?);
        let mut labels = Vec::new();
        if let Some(mut inner) = rest.strip_prefix('{') {
            // Values are quoted and may hold `}` and `,` themselves: `route="/api/v1/orders/{id}"`.
            while let Some((key, quoted)) = inner.split_once("=\"") {
                let (mut value, mut chars) = (String::new(), quoted.char_indices());
                let end = loop {
                    match chars.next()? {
                        (_, '\\') => value.push(chars.next()?.1),
                        (i, '"') => break i,
                        (_, c) => value.push(c),
                    }
                };
                labels.push((key.trim_start_matches(',').to_owned(), value));
                inner = &quoted[end + 1..];
                if let Some(after) = inner.strip_prefix('}') {
                    rest = after;
                    break;
                }
            }
        }
        let value = rest.split_whitespace().next()?.parse().ok()?;
        Some(Sample {
            name: name.to_owned(),
            labels,
            value,
        })
    }
}

/// As Prometheus' `histogram_quantile`: linear interpolation inside the bucket that holds the rank,
/// shown as "<bound" when that is the first bucket (where interpolating from zero would be a guess).
fn quantile_ms(q: f64, buckets: &[(f64, f64)]) -> String {
    let rank = q * buckets.last().map_or(0.0, |b| b.1);
    let (mut lower, mut below) = (0.0, 0.0);
    for (i, &(le, count)) in buckets.iter().enumerate() {
        if rank > 0.0 && count >= rank {
            return match (i, le.is_finite()) {
                (0, _) => format!("<{:.1}", le * 1e3),
                (_, false) => format!(">{:.1}", lower * 1e3),
                _ => format!(
                    "{:.1}",
                    1e3 * (lower + (le - lower) * (rank - below) / (count - below))
                ),
            };
        }
        (lower, below) = (le, count);
    }
    "-".to_owned()
}
