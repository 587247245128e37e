//! Alerts and dashboards generated from what the code instruments: Prometheus rule groups with their
//! promtool unit tests, an Alertmanager route, a Prometheus scrape config, and Grafana dashboards.
//!
//! ```no_run
//! let config = sightline_runtime::alerts::AlertConfig::new("order-service", "127.0.0.1:3000");
//! for (path, content) in sightline_runtime::alerts::render(&config, &sightline_runtime::alerts::objectives()) {
//!     println!("{path}: {} bytes", content.len());
//! }
//! ```

mod config;
mod dashboards;
mod naming;
mod promql;
mod rules;

pub use config::{AlertConfig, Objective, ObjectiveSite};

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

/// The objectives declared with `#[observe(objective(..))]` on every site linked into the binary.
pub fn objectives() -> Vec<Objective> {
    crate::catalog::objectives()
}
