#![deny(warnings, unused, rust_2018_idioms)]
//! Handler mode on axum handlers, including `impl IntoResponse`, and `crate = path` for crates that
//! re-export sightline.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use sightline::observe;

mod reexport {
    pub use sightline as telemetry;
}

#[observe(route = "/orders/{id}", method = "GET")]
async fn get_order() -> Result<Json<u32>, StatusCode> {
    Ok(Json(1))
}

#[observe(route = "/healthz", method = "GET")]
async fn health() -> impl IntoResponse {
    "ok"
}

#[observe(route = "/created", method = "POST", crate = reexport::telemetry)]
async fn created() -> (StatusCode, String) {
    (StatusCode::CREATED, "made".to_string())
}

fn main() {
    let _app: Router = Router::new()
        .route("/orders/{id}", get(get_order))
        .route("/healthz", get(health))
        .route("/created", axum::routing::post(created));
}
