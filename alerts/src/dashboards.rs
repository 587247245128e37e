//! Grafana dashboards (JSON model, schema 39, importable by Grafana 10 and later) over the families
//! sightline records: "Service overview" (the golden signals), "Endpoint performance" (routes compared,
//! and one route drilled into) and "Infrastructure" (the process collector).
//!
//! Every panel queries the `${datasource}` variable (a Prometheus data source chosen on import) and
//! scopes its selectors to `job="$job"`; every rate window is `$__rate_interval`; every panel's
//! description says what its query computes, and its thresholds are green, yellow, red, in that order,
//! from the same configuration the alert rules read. The uids are derived from the job, so generating
//! again overwrites the same dashboards instead of adding copies.

mod endpoints;
mod infra;
mod model;
mod panels;
mod promql;
mod service;

use super::AlertConfig;
use model::Measure;
use promql::{bytes, percent, seconds, trim};
use serde_json::{json, Value};
use sightline_conventions::HTTP;

/// The three dashboards, as (path relative to the output directory, pretty-printed JSON).
pub(crate) fn render(config: &AlertConfig) -> Vec<(String, String)> {
    let cx = Context::new(config);
    let boards = [
        (
            "dashboards/service-overview.json",
            cx.dashboard(
                Board::Overview,
                "The service's golden signals: request rate, error ratio, latency percentiles and \
                 requests in flight, then its instrumented functions and business operations.",
                Vec::new(),
                cx.panels(&service::ROWS),
            ),
        ),
        (
            "dashboards/endpoint-performance.json",
            cx.dashboard(
                Board::Endpoints,
                "Routes compared (slowest, most failing, traffic split) and one route drilled into \
                 with the Route variable.",
                vec![model::label_values_variable(
                    "route",
                    "route",
                    &promql::series(&HTTP.requests, ""),
                    "Route",
                )],
                cx.panels(&endpoints::ROWS),
            ),
        ),
        (
            "dashboards/infrastructure.json",
            cx.dashboard(
                Board::Infrastructure,
                "The service's processes: CPU, memory, file descriptors, threads and restarts.",
                Vec::new(),
                cx.panels(&infra::ROWS),
            ),
        ),
    ];
    boards
        .into_iter()
        .map(|(path, mut board)| {
            rename(&mut board, &config.naming);
            let mut text = serde_json::to_string_pretty(&board).unwrap_or_default();
            text.push('\n');
            (path.to_string(), text)
        })
        .collect()
}

/// Every query of `board` (panel targets, variables) in the names the registry exposes (see
/// [`super::naming`]).
fn rename(board: &mut Value, naming: &crate::MetricNaming) {
    match board {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text)
                        if matches!(key.as_str(), "expr" | "query" | "definition") =>
                    {
                        *text = super::naming::rename(text, naming);
                    }
                    other => rename(other, naming),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rename(item, naming)),
        _ => {}
    }
}

#[derive(Clone, Copy)]
enum Board {
    Overview,
    Endpoints,
    Infrastructure,
}

impl Board {
    fn title(self) -> &'static str {
        match self {
            Board::Overview => "Service overview",
            Board::Endpoints => "Endpoint performance",
            Board::Infrastructure => "Infrastructure",
        }
    }

    /// The kind in the uid, and the slug in the dashboard's URL.
    fn kind(self) -> &'static str {
        match self {
            Board::Overview => "overview",
            Board::Endpoints => "endpoints",
            Board::Infrastructure => "infra",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Board::Overview => "service-overview",
            Board::Endpoints => "endpoint-performance",
            Board::Infrastructure => "infrastructure",
        }
    }
}

/// How every judged quantity is shown: its unit, and its thresholds (yellow from, red from) from the
/// configuration, in numbers and in words.
struct Measures {
    /// Error ratio: yellow from the alert's ratio (1 %), red from five times it (5 %).
    error: Measure,
    /// Latency: yellow from a quarter of the alert's p99 threshold (0.5 s), red from it (2 s).
    latency: Measure,
    /// In flight: yellow from 80 % of the saturation ceiling, red from the ceiling.
    in_flight: Measure,
    /// CPU, in cores: 70 % and 90 % of one core.
    cpu: Measure,
    /// Resident memory: 80 % of the memory limit, then the limit.
    memory: Measure,
    /// Open file descriptors over the limit: 70 %, 90 %.
    fds: Measure,
    /// Restarts in an hour: 1, 3.
    restarts: Measure,
}

impl Measures {
    fn new(config: &AlertConfig) -> Measures {
        let error = (config.error_ratio, config.error_ratio * 5.0);
        let latency = (config.latency_seconds / 4.0, config.latency_seconds);
        let in_flight = (config.in_flight_ceiling * 0.8, config.in_flight_ceiling);
        let memory = (config.memory_limit_bytes * 0.8, config.memory_limit_bytes);
        Measures {
            error: Measure::judged(
                "percentunit",
                error,
                percent,
                "Green below {yellow}, yellow below {red}, red above.",
            ),
            latency: Measure::judged(
                "s",
                latency,
                seconds,
                "Green below {yellow}, yellow below {red}, red above (the latency alert's \
                 threshold).",
            ),
            in_flight: Measure::judged(
                "short",
                in_flight,
                trim,
                "Green below {yellow}, yellow below {red}, red from the saturation alert's \
                 ceiling.",
            ),
            cpu: Measure::judged(
                "percentunit",
                (0.7, 0.9),
                percent,
                "Green below {yellow} of a core, yellow below {red}, red above.",
            ),
            memory: Measure::judged(
                "bytes",
                memory,
                bytes,
                "Green below {yellow}, yellow below {red} (the memory limit the forecast alert \
                 guards), red above.",
            ),
            fds: Measure::judged(
                "percentunit",
                (0.7, 0.9),
                percent,
                "Green below {yellow} of the limit, yellow below {red}, red above.",
            ),
            restarts: Measure::judged(
                "short",
                (1.0, 3.0),
                trim,
                "Green at 0, yellow from {yellow}, red from {red}.",
            ),
        }
    }
}

/// A row of a dashboard: a full-width header, then the panels `panels` adds below it.
struct Row {
    title: &'static str,
    description: &'static str,
    panels: fn(&mut model::Board, &Context),
}

/// What every dashboard is built from.
struct Context<'a> {
    config: &'a AlertConfig,
    measures: Measures,
}

impl Context<'_> {
    fn new(config: &AlertConfig) -> Context<'_> {
        Context {
            config,
            measures: Measures::new(config),
        }
    }

    fn uid(&self, board: Board) -> String {
        uid(&self.config.job, board.kind())
    }

    /// A data link from a series with a `route` label to that route's drill-down.
    fn route_link(&self) -> String {
        format!(
            "/d/{}/{}?var-job=${{job}}&var-datasource=${{datasource}}&var-route=${{__field.labels.route}}&${{__url_time_range}}",
            self.uid(Board::Endpoints),
            Board::Endpoints.slug()
        )
    }

    /// The panels of `rows`, placed on the grid.
    fn panels(&self, rows: &[Row]) -> Vec<Value> {
        let mut grid = model::Board::new();
        for row in rows {
            grid.row(row.title, row.description);
            (row.panels)(&mut grid, self);
        }
        grid.into_panels()
    }

    fn dashboard(
        &self,
        board: Board,
        description: &str,
        variables: Vec<Value>,
        panels: Vec<Value>,
    ) -> Value {
        let job = &self.config.job;
        let mut templating = vec![model::datasource_variable(), model::job_variable(job)];
        templating.extend(variables);
        let (refresh, from) = if self.config.drill {
            ("5s", "now-15m")
        } else {
            ("30s", "now-1h")
        };
        let mut dashboard = json!({
            "__requires": [
                { "type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0" },
                { "type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0" },
                { "type": "panel", "id": "stat", "name": "Stat", "version": "" },
                { "type": "panel", "id": "timeseries", "name": "Time series", "version": "" },
            ],
            "id": null,
            "uid": self.uid(board),
            "title": format!("{job}: {}", board.title()),
            "description": description,
            "tags": ["sightline", job],
            "editable": true,
            "graphTooltip": 1,
            "fiscalYearStartMonth": 0,
            "liveNow": false,
            "timezone": "",
            "weekStart": "",
            "refresh": refresh,
            "time": { "from": from, "to": "now" },
            "timepicker": {},
            "schemaVersion": 39,
            "version": 1,
        });
        dashboard["annotations"] = json!({
            "list": [{
                "builtIn": 1,
                "datasource": { "type": "grafana", "uid": "-- Grafana --" },
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }],
        });
        dashboard["links"] = json!([{
            "type": "dashboards",
            "title": "Other dashboards of this service",
            "tags": ["sightline", job],
            "asDropdown": false,
            "includeVars": true,
            "keepTime": true,
            "targetBlank": false,
            "icon": "external link",
            "tooltip": "",
            "url": "",
        }]);
        dashboard["templating"] = json!({ "list": templating });
        dashboard["panels"] = Value::Array(panels);
        dashboard
    }
}

/// A Grafana uid (at most 40 characters of `[A-Za-z0-9_-]`), the same for the same job and kind:
/// `sl-<kind>-<job>` when the job is already such a slug and fits, else a shortened slug and a hash
/// of the job, so two jobs never share a uid.
fn uid(job: &str, kind: &str) -> String {
    const MAX: usize = 40;
    let mut slug = String::new();
    for c in job.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && slug.ends_with('-')) {
            slug.push(c);
        }
    }
    let slug = slug.trim_matches('-');
    let plain = format!("sl-{kind}-{slug}");
    if slug == job && !slug.is_empty() && plain.len() <= MAX {
        return plain;
    }
    // FNV-1a (32 bits): stable across versions and platforms, unlike `DefaultHasher`.
    let hash = job.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let room = MAX - format!("sl-{kind}--{hash:08x}").len();
    let short: String = slug.chars().take(room).collect();
    let short = short.trim_end_matches('-');
    if short.is_empty() {
        format!("sl-{kind}-{hash:08x}")
    } else {
        format!("sl-{kind}-{short}-{hash:08x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::Histogram;
    use sightline_conventions::{
        Family, Kind, BUSINESS, FUNCTION, GRPC_SERVER, LOG_LINES_DROPPED, PROCESS, SPANS_DROPPED,
        SPANS_EXPORTED,
    };
    use std::collections::HashSet;

    /// Every family the dashboards read.
    fn read() -> Vec<Family> {
        let mut families = HTTP.all().to_vec();
        families.extend([
            FUNCTION.calls,
            FUNCTION.duration,
            FUNCTION.errors,
            FUNCTION.expected_errors,
            BUSINESS.calls,
            BUSINESS.expected_errors,
            SPANS_DROPPED,
            SPANS_EXPORTED,
            LOG_LINES_DROPPED,
            GRPC_SERVER.handled,
            GRPC_SERVER.handling,
        ]);
        families.extend(PROCESS);
        families
    }

    /// The name a selector of `family` is written with: a histogram's buckets, or the family.
    fn series_name(family: &Family) -> String {
        match family.kind {
            Kind::Histogram => Histogram::Bucket.of(family),
            Kind::Counter | Kind::Gauge => family.name.to_string(),
        }
    }

    const PATHS: [&str; 3] = [
        "dashboards/service-overview.json",
        "dashboards/endpoint-performance.json",
        "dashboards/infrastructure.json",
    ];

    fn boards(config: &AlertConfig) -> Vec<(String, Value)> {
        render(config)
            .into_iter()
            .map(|(path, text)| {
                let value: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
                (path, value)
            })
            .collect()
    }

    fn default_boards() -> Vec<(String, Value)> {
        boards(&AlertConfig::new("order-service", "127.0.0.1:3000"))
    }

    /// Every panel, rows' nested panels included.
    fn panels(board: &Value) -> Vec<&Value> {
        let mut out = Vec::new();
        for panel in board["panels"].as_array().expect("panels") {
            out.push(panel);
            if let Some(nested) = panel["panels"].as_array() {
                out.extend(nested);
            }
        }
        out
    }

    fn exprs(board: &Value) -> Vec<String> {
        panels(board)
            .into_iter()
            .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
            .map(|t| t["expr"].as_str().expect("expr").to_string())
            .collect()
    }

    fn panel<'a>(board: &'a Value, title: &str) -> &'a Value {
        panels(board)
            .into_iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"))
    }

    fn steps(panel: &Value) -> Vec<(String, Option<f64>)> {
        panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no thresholds", panel["title"]))
            .iter()
            .map(|s| {
                (
                    s["color"].as_str().unwrap().to_string(),
                    s["value"].as_f64(),
                )
            })
            .collect()
    }

    #[test]
    fn three_dashboards_of_valid_json_with_stable_distinct_uids() {
        let config = AlertConfig::new("order-service", "127.0.0.1:3000");
        let first = render(&config);
        assert_eq!(first, render(&config), "the output is deterministic");
        let boards = boards(&config);
        let paths: Vec<_> = boards.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, PATHS);
        let mut uids = HashSet::new();
        for (path, board) in &boards {
            let uid = board["uid"].as_str().expect("uid");
            assert!(uid.len() <= 40, "{path}: uid {uid} too long");
            assert!(
                uid.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{path}: uid {uid}"
            );
            assert!(uids.insert(uid.to_string()), "{path}: uid {uid} repeated");
            assert_eq!(board["schemaVersion"], 39, "{path}");
            assert!(board["id"].is_null(), "{path}: id null for import");
            assert!(board["title"].as_str().unwrap().contains("order-service"));
            assert!(!panels(board).is_empty(), "{path}: no panels");
        }
        assert_eq!(
            uids,
            HashSet::from([
                "sl-overview-order-service".to_string(),
                "sl-endpoints-order-service".to_string(),
                "sl-infra-order-service".to_string(),
            ])
        );
        // Another service gets other uids, so both can live in one Grafana.
        let other = boards_for("inventory-service");
        for ((_, a), (_, b)) in boards.iter().zip(&other) {
            assert_ne!(a["uid"], b["uid"]);
        }
    }

    #[test]
    fn uids_fit_grafana_whatever_the_job() {
        let long = "a-very-long-service-name-that-goes-on-and-on-forever";
        for job in [
            long,
            "Order Service",
            "svc/eu,west",
            "!!!",
            "",
            "order-service",
        ] {
            for kind in ["overview", "endpoints", "infra"] {
                let uid = uid(job, kind);
                assert!(uid.len() <= 40, "{job}: {uid}");
                assert!(
                    uid.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                    "{job}: {uid}"
                );
                assert!(!uid.ends_with('-') && !uid.contains("--"), "{job}: {uid}");
            }
        }
        assert_ne!(uid("Order Service", "infra"), uid("order-service", "infra"));
        assert_ne!(
            uid(&format!("{long}-1"), "infra"),
            uid(&format!("{long}-2"), "infra")
        );
    }

    #[test]
    fn every_panel_has_a_description_an_id_of_its_own_and_a_place_on_the_grid() {
        for (path, board) in default_boards() {
            let mut ids = HashSet::new();
            let mut cells = HashSet::new();
            for panel in panels(&board) {
                let title = panel["title"].as_str().expect("title");
                let description = panel["description"].as_str().unwrap_or_default();
                assert!(description.len() > 20, "{path}: {title} has no description");
                let id = panel["id"].as_u64().expect("numeric id");
                assert!(ids.insert(id), "{path}: id {id} repeated");
                let grid = &panel["gridPos"];
                let [h, w, x, y] = ["h", "w", "x", "y"].map(|k| {
                    grid[k]
                        .as_u64()
                        .unwrap_or_else(|| panic!("{path}: {title}: {k}"))
                });
                assert!(h > 0 && w > 0 && x + w <= 24, "{path}: {title}: {grid}");
                for cx in x..x + w {
                    for cy in y..y + h {
                        assert!(cells.insert((cx, cy)), "{path}: {title} overlaps");
                    }
                }
                assert!(
                    matches!(panel["type"].as_str(), Some("row" | "stat" | "timeseries")),
                    "{path}: {title}"
                );
            }
        }
    }

    #[test]
    fn descriptions_name_the_families_their_queries_read() {
        let families: Vec<&str> = read().iter().map(|f| f.name).collect();
        for (path, board) in default_boards() {
            for panel in panels(&board).into_iter().filter(|p| p["type"] != "row") {
                let description = panel["description"].as_str().unwrap();
                for target in panel["targets"].as_array().unwrap() {
                    let expr = target["expr"].as_str().unwrap();
                    for family in families.iter().filter(|f| expr.contains(*f)) {
                        assert!(
                            description.contains(family),
                            "{path}: {}: the description does not say it reads {family}",
                            panel["title"]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn thresholds_are_green_yellow_red_from_the_config() {
        let mut config = AlertConfig::new("order-service", "127.0.0.1:3000");
        let judged =
            |boards: &[(String, Value)], title_prefix: &str| -> Vec<Vec<(String, Option<f64>)>> {
                boards
                    .iter()
                    .flat_map(|(_, b)| panels(b))
                    .filter(|p| p["title"].as_str().unwrap().starts_with(title_prefix))
                    .map(steps)
                    .collect()
            };
        let colours = |s: &[(String, Option<f64>)]| -> Vec<String> {
            s.iter().map(|(c, _)| c.clone()).collect()
        };
        for (path, board) in default_boards() {
            for panel in panels(&board).into_iter().filter(|p| p["type"] != "row") {
                let steps = steps(panel);
                let c = colours(&steps);
                assert!(
                    c == ["green"] || c == ["green", "yellow", "red"],
                    "{path}: {}: {c:?}",
                    panel["title"]
                );
                assert_eq!(steps[0].1, None, "the base step has no value");
                if steps.len() == 3 {
                    assert!(steps[1].1.unwrap() < steps[2].1.unwrap());
                }
            }
        }
        let three = |v: f64, w: f64| {
            vec![
                ("green".to_string(), None),
                ("yellow".to_string(), Some(v)),
                ("red".to_string(), Some(w)),
            ]
        };
        let boards = default_boards();
        for steps in judged(&boards, "Error ratio") {
            assert_eq!(steps, three(0.01, 0.05));
        }
        for steps in judged(&boards, "p99 latency") {
            assert_eq!(steps, three(0.5, 2.0));
        }
        for steps in judged(&boards, "Requests in flight") {
            assert_eq!(steps, three(80.0, 100.0));
        }
        let overview = &boards[0].1;
        assert_eq!(
            steps(panel(overview, "Latency percentiles")),
            three(0.5, 2.0)
        );
        let infra = &boards[2].1;
        assert_eq!(
            steps(panel(infra, "Resident memory")),
            three(0.8 * 1024.0 * 1024.0 * 1024.0, 1024.0 * 1024.0 * 1024.0)
        );
        assert_eq!(steps(panel(infra, "CPU usage")), three(0.7, 0.9));
        let error = panel(overview, "Error ratio");
        assert!(error["description"]
            .as_str()
            .unwrap()
            .contains("below 1 %, yellow below 5 %"));

        config.latency_seconds = 1.0;
        config.error_ratio = 0.02;
        let custom = super::tests::boards(&config);
        for steps in judged(&custom, "p99 latency") {
            assert_eq!(steps, three(0.25, 1.0));
        }
        for steps in judged(&custom, "Error ratio") {
            assert_eq!(steps, three(0.02, 0.1));
        }
    }

    #[test]
    fn queries_are_scoped_to_the_job_use_the_rate_interval_and_known_families() {
        let known: Vec<String> = read().iter().map(series_name).collect();
        let mut used = HashSet::new();
        for (path, board) in default_boards() {
            for panel in panels(&board).into_iter().filter(|p| p["type"] != "row") {
                assert_eq!(panel["datasource"]["uid"], "${datasource}", "{path}");
                let targets = panel["targets"].as_array().unwrap();
                assert!(
                    !targets.is_empty(),
                    "{path}: {} has no query",
                    panel["title"]
                );
                for t in targets {
                    assert_eq!(t["datasource"]["uid"], "${datasource}", "{path}");
                    let expr = t["expr"].as_str().unwrap();
                    // Every selector: a family name, then `{job="$job"...}`.
                    let mut selectors = 0;
                    for (at, _) in expr.match_indices('{') {
                        let name: String = expr[..at]
                            .chars()
                            .rev()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect();
                        assert!(
                            known.contains(&name),
                            "{path}: unknown family {name:?} in {expr}"
                        );
                        assert!(expr[at..].starts_with(r#"{job="$job""#), "{path}: {expr}");
                        used.insert(name);
                        selectors += 1;
                    }
                    assert!(selectors > 0, "{path}: {expr}");
                    // Every range: the rate interval, but the restart count's fixed hour.
                    for (at, _) in expr.match_indices('[') {
                        let window = &expr[at..at + expr[at..].find(']').unwrap() + 1];
                        assert!(
                            window == "[$__rate_interval]"
                                || (window == "[1h]" && expr.contains("changes(")),
                            "{path}: {expr}"
                        );
                    }
                    let depth = expr.chars().try_fold(0i32, |d, c| {
                        let d = d + match c {
                            '(' => 1,
                            ')' => -1,
                            _ => 0,
                        };
                        (d >= 0).then_some(d)
                    });
                    assert_eq!(depth, Some(0), "{path}: unbalanced {expr}");
                }
            }
        }
        for family in known {
            assert!(used.contains(&family), "no panel reads {family}");
        }
    }

    #[test]
    fn variables_job_datasource_and_route() {
        let boards = default_boards();
        for (path, board) in &boards {
            let vars = board["templating"]["list"].as_array().unwrap();
            let ds = vars.iter().find(|v| v["name"] == "datasource").expect(path);
            assert_eq!(ds["type"], "datasource");
            assert_eq!(ds["query"], "prometheus");
            let job = vars.iter().find(|v| v["name"] == "job").expect(path);
            assert_eq!(job["type"], "custom");
            assert_eq!(job["query"], "order-service");
            assert_eq!(job["current"]["value"], "order-service");
        }
        let endpoints = &boards[1].1;
        let vars = endpoints["templating"]["list"].as_array().unwrap();
        let route = vars.iter().find(|v| v["name"] == "route").expect("route");
        assert_eq!(route["type"], "query");
        assert_eq!(
            route["query"],
            r#"label_values(http_requests_total{job="$job"}, route)"#
        );
        assert_eq!(route["datasource"]["uid"], "${datasource}");
        let drilled: Vec<_> = exprs(endpoints)
            .into_iter()
            .filter(|e| e.contains(r#"route="$route""#))
            .collect();
        assert!(drilled.len() >= 6, "{drilled:?}");
        let link = &panel(endpoints, "Slowest routes (p95)")["fieldConfig"]["defaults"]["links"][0];
        assert!(link["url"]
            .as_str()
            .unwrap()
            .starts_with("/d/sl-endpoints-order-service/endpoint-performance?"));
        assert!(link["url"]
            .as_str()
            .unwrap()
            .contains("var-route=${__field.labels.route}"));
        // A job with a comma stays one custom value.
        let odd = boards_for("eu,west");
        let job = odd[0].1["templating"]["list"][1].clone();
        assert_eq!(job["query"], r"eu\,west");
        assert_eq!(job["current"]["value"], "eu,west");
    }

    fn boards_for(job: &str) -> Vec<(String, Value)> {
        boards(&AlertConfig::new(job, "127.0.0.1:3000"))
    }

    #[test]
    fn the_overview_reads_the_golden_signals_top_first() {
        let boards = default_boards();
        let overview = &boards[0].1;
        let top: Vec<_> = panels(overview)
            .into_iter()
            .filter(|p| p["gridPos"]["y"].as_u64() == Some(1))
            .map(|p| p["title"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            top,
            [
                "Request rate",
                "Error ratio",
                "p99 latency",
                "Requests in flight"
            ]
        );
        let rows: Vec<_> = panels(overview)
            .into_iter()
            .filter(|p| p["type"] == "row")
            .map(|p| p["title"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            rows,
            [
                "Golden signals",
                "Rate",
                "Errors",
                "Latency",
                "Saturation",
                "Functions",
                "Business operations",
                "gRPC",
                "Telemetry"
            ]
        );
        let percentiles: Vec<_> = panel(overview, "Latency percentiles")["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["expr"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(percentiles.len(), 3);
        for q in ["0.5", "0.95", "0.99"] {
            assert!(percentiles
                .iter()
                .any(|e| e.starts_with(&format!("histogram_quantile({q}, "))));
        }
        let infra = exprs(&boards[2].1).join("\n");
        assert!(infra.contains(r#"rate(process_cpu_seconds_total{job="$job"}[$__rate_interval])"#));
        let endpoints = exprs(&boards[1].1).join("\n");
        assert!(endpoints.contains("topk(10, histogram_quantile(0.95, "));
    }

    #[test]
    fn drill_mode_refreshes_faster() {
        let mut config = AlertConfig::new("order-service", "127.0.0.1:3000");
        assert_eq!(boards(&config)[0].1["refresh"], "30s");
        config.drill = true;
        assert_eq!(boards(&config)[0].1["refresh"], "5s");
    }
}
