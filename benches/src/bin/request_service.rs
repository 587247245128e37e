//! The Rust service of the per-request benchmark (`benches/per-request/run.sh`): one request through the
//! HTTP layer, a `#[business_span]` over three `#[observe]` steps and one `info!`, on a one-thread Tokio
//! runtime, next to its twin without sightline.
//!
//! ```text
//! request-service bare|local|exported|error PORT [OTLP_BASE_URL]
//! ```
//!
//! - `bare`: the same handler and steps, plain functions, no telemetry;
//! - `local`: sightline at `info`, no collector, JSON lines to stdout (the script sends them to a file);
//! - `exported`: the same, and spans exported over OTLP/HTTP to `OTLP_BASE_URL`;
//! - `error`: sightline at `error`: metrics only.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The work each step does: a little arithmetic, the same in the Node service.
fn work(id: u64, salt: u64) -> u64 {
    (id.wrapping_mul(2_654_435_761).wrapping_add(salt)) % 1_000_003
}

#[derive(Debug)]
struct StepError;

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("step failed")
    }
}

impl std::error::Error for StepError {}

mod bare {
    use super::{work, StepError};

    pub async fn process_order(id: u64) -> Result<u64, StepError> {
        Ok(validate_order(id).await? + charge_payment(id).await? + confirm_order(id).await?)
    }

    async fn validate_order(id: u64) -> Result<u64, StepError> {
        Ok(work(id, 1))
    }

    async fn charge_payment(id: u64) -> Result<u64, StepError> {
        Ok(work(id, 2))
    }

    async fn confirm_order(id: u64) -> Result<u64, StepError> {
        Ok(work(id, 3))
    }
}

mod observed {
    use super::{work, StepError};

    #[sightline::business_span("process-order", attrs(order.id = id))]
    pub async fn process_order(id: u64) -> Result<u64, StepError> {
        tracing::info!(order_id = id, "order received");
        Ok(validate_order(id).await? + charge_payment(id).await? + confirm_order(id).await?)
    }

    #[sightline::observe]
    async fn validate_order(id: u64) -> Result<u64, StepError> {
        Ok(work(id, 1))
    }

    #[sightline::observe]
    async fn charge_payment(id: u64) -> Result<u64, StepError> {
        Ok(work(id, 2))
    }

    #[sightline::observe]
    async fn confirm_order(id: u64) -> Result<u64, StepError> {
        Ok(work(id, 3))
    }
}

async fn bare_order(Path(id): Path<u64>) -> Json<Value> {
    let total = bare::process_order(id).await.unwrap_or_default();
    Json(json!({ "id": id, "total": total, "status": "processed" }))
}

async fn observed_order(Path(id): Path<u64>) -> Json<Value> {
    let total = observed::process_order(id).await.unwrap_or_default();
    Json(json!({ "id": id, "total": total, "status": "processed" }))
}

async fn metrics() -> String {
    sightline::metrics::render()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("bare");
    let port: u16 = args.get(1).map_or(Ok(3000), |p| p.parse())?;
    let telemetry = match mode {
        "bare" => None,
        "local" | "exported" | "error" => {
            let mut builder = sightline::Telemetry::builder("order-service")
                .log_level(if mode == "error" { "error" } else { "info" });
            if mode == "exported" {
                let url = args
                    .get(2)
                    .ok_or("exported needs the collector's base URL")?;
                builder = builder.otlp_endpoint(url.clone());
            }
            Some(builder.install()?)
        }
        other => {
            return Err(format!("unknown mode {other:?}: bare, local, exported or error").into())
        }
    };
    let router = if telemetry.is_some() {
        Router::new()
            .route("/orders/{id}", get(observed_order))
            .route("/metrics", get(metrics))
            .layer(
                sightline::http::HttpLayer::builder()
                    .skip_paths(["/metrics"])
                    .build(),
            )
    } else {
        Router::new().route("/orders/{id}", get(bare_order))
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        eprintln!("listening on {}", listener.local_addr()?);
        axum::serve(listener, router).await
    })?;
    drop(telemetry);
    Ok(())
}
