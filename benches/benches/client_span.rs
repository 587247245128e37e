//! What a client span costs a request: one `GET` to an axum server on 127.0.0.1 through reqwest, bare,
//! through `reqwest-middleware` with no middleware, and through `ClientTelemetry` (its span, its
//! histogram, its trace headers) with no collector and with spans exported to an exporter that drops
//! every batch. The network round trip dominates; the ratio is what
//! the span adds to it. Printed at the end as ratios of medians from this run.

use criterion::Criterion;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use std::path::Path;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;

const GROUP: &str = "client_span";

/// Takes every batch and keeps nothing.
#[derive(Debug)]
struct Dropping;

impl SpanExporter for Dropping {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}

/// An axum server on its own thread and runtime; its address.
fn server() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().route("/stock", axum::routing::get(|| async { "42" }));
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn main() {
    let addr = server();
    let url = format!("http://{addr}/stock");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
        .configure_from_args();
    let mut group = c.benchmark_group(GROUP);

    let bare = reqwest::Client::new();
    group.bench_function("reqwest_bare", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = bare.get(&url).send().await.unwrap();
                response.bytes().await.unwrap()
            })
        })
    });

    // The same client stack with no middleware in it: what reqwest-middleware itself costs.
    let stacked = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).build();
    group.bench_function("reqwest_middleware_empty", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = stacked.get(&url).send().await.unwrap();
                response.bytes().await.unwrap()
            })
        })
    });

    for (id, exported) in [
        ("client_telemetry_local", false),
        ("client_telemetry_exported", true),
    ] {
        let mut builder = sightline::Telemetry::builder("client-span-bench")
            .log_writer(std::io::sink)
            .log_level("info")
            .registry(prometheus::Registry::new())
            .process_metrics(false);
        if exported {
            builder = builder.span_exporter(Dropping);
        }
        let (layer, _guard) = builder.into_layer().expect("the layer builds");
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(sightline::http::ClientTelemetry::new())
            .build();
        tracing::dispatcher::with_default(&dispatch, || {
            group.bench_function(id, |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        let response = client.get(&url).send().await.unwrap();
                        response.bytes().await.unwrap()
                    })
                })
            });
        });
    }
    group.finish();
    c.final_summary();

    let home = sightline_benches::criterion_home();
    let median = |id: &str| median_ns(&home, id);
    if let Some(bare) = median("reqwest_bare") {
        println!("\n| client span | median µs | x bare reqwest call | added µs |");
        println!("|---|---:|---:|---:|");
        println!("| `reqwest_bare` | {:.1} | 1.00x | |", bare / 1000.0);
        for id in [
            "reqwest_middleware_empty",
            "client_telemetry_local",
            "client_telemetry_exported",
        ] {
            if let Some(ns) = median(id) {
                println!(
                    "| `{id}` | {:.1} | {:.2}x | {:.1} |",
                    ns / 1000.0,
                    ns / bare,
                    (ns - bare) / 1000.0
                );
            }
        }
    }
}

fn median_ns(home: &Path, id: &str) -> Option<f64> {
    let path = home.join(GROUP).join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}
