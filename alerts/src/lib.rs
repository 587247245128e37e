//! Alerts and dashboards generated from what a service instruments: Prometheus rule groups with their
//! promtool unit tests, an Alertmanager route, a Prometheus scrape config, and Grafana dashboards.
//!
//! In the service, through `sightline::alerts` (the default `alerts` feature of `sightline`), or in CI
//! from the catalogue file any sightline service writes (`SIGHTLINE_CATALOG_OUT=catalog.json`):
//!
//! ```sh
//! sightline-alerts export --catalog catalog.json --out observability/ --target 127.0.0.1:3000
//! ```
//!
//! ```no_run
//! let text = std::fs::read_to_string("catalog.json")?;
//! let catalog = sightline_alerts::Catalog::from_json(&text)?;
//! let config = catalog.alert_config("order-service", "127.0.0.1:3000");
//! for (path, content) in sightline_alerts::render(&config, &catalog.objectives) {
//!     println!("{path}: {} bytes", content.len());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod catalog;
pub mod cli;
mod config;
mod dashboards;
mod families;
mod naming;
mod promql;
mod rules;

pub use catalog::{Catalog, CatalogError, MetricNaming, Objective, ObjectiveSite, CATALOG_VERSION};
pub use config::AlertConfig;

/// The artefacts, as (path relative to the output directory, content): `alert_rules.yml`,
/// `alert_rules.test.yml`, `alertmanager.yml`, `prometheus.yml`, and `dashboards/service-overview.json`,
/// `dashboards/endpoint-performance.json`, `dashboards/infrastructure.json`.
pub fn render(config: &AlertConfig, objectives: &[Objective]) -> Vec<(String, String)> {
    let mut files = rules::render(config, objectives);
    files.extend(dashboards::render(config));
    files
}

/// Writes [`render`]'s files into `dir` (created if needed).
pub fn export(
    dir: &std::path::Path,
    config: &AlertConfig,
    objectives: &[Objective],
) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    for (path, content) in render(config, objectives) {
        let target = dir.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, content)?;
        written.push(target);
    }
    Ok(written)
}
