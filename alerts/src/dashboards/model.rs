//! The pieces of a Grafana dashboard (JSON model, schema 39): panels, targets, thresholds, variables, and
//! a layout that places panels on Grafana's 24-column grid.

use serde_json::{json, Value};

/// The datasource every panel and target uses: the dashboard's `datasource` variable.
fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

/// One PromQL query of a panel.
pub(super) struct Target {
    pub(super) expr: String,
    pub(super) legend: String,
}

/// A query with its legend (`{{label}}` templates, or a fixed text).
pub(super) fn target(expr: impl Into<String>, legend: impl Into<String>) -> Target {
    Target {
        expr: expr.into(),
        legend: legend.into(),
    }
}

/// Green, yellow, red, in that order, for quantities where more is worse; or green alone for a volume
/// (requests per second, threads) that no threshold can judge without knowing the service.
#[derive(Clone, Copy)]
enum Thresholds {
    /// Green below `yellow`, yellow from `yellow`, red from `red`.
    Judged { yellow: f64, red: f64 },
    /// Green whatever the value.
    Volume,
}

impl Thresholds {
    fn to_json(self) -> Value {
        let steps = match self {
            Thresholds::Judged { yellow, red } => json!([
                { "color": "green", "value": null },
                { "color": "yellow", "value": yellow },
                { "color": "red", "value": red },
            ]),
            Thresholds::Volume => json!([{ "color": "green", "value": null }]),
        };
        json!({ "mode": "absolute", "steps": steps })
    }
}

/// What a panel's value is and how it is judged: its unit, its thresholds, and the sentence of the
/// panel's description that reads them.
#[derive(Clone)]
pub(super) struct Measure {
    unit: &'static str,
    thresholds: Thresholds,
    reading: String,
}

impl Measure {
    /// Green below `yellow`, yellow from it, red from `red`; `reading` says so in words, `{yellow}`
    /// and `{red}` standing for the levels as `show` writes them.
    pub(super) fn judged(
        unit: &'static str,
        (yellow, red): (f64, f64),
        show: fn(f64) -> String,
        reading: &str,
    ) -> Measure {
        Measure {
            unit,
            thresholds: Thresholds::Judged { yellow, red },
            reading: reading
                .replace("{yellow}", &show(yellow))
                .replace("{red}", &show(red)),
        }
    }

    /// A volume, green whatever the value.
    pub(super) fn volume(unit: &'static str) -> Measure {
        Measure {
            unit,
            thresholds: Thresholds::Volume,
            reading: String::new(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Stat,
    Timeseries,
}

/// What a panel is called and what its description says, before what it measures and queries.
pub(super) struct Heading {
    kind: Kind,
    title: String,
    description: String,
}

/// A single-value panel showing the last value of its query, coloured by its thresholds.
pub(super) fn stat(title: impl Into<String>, description: impl Into<String>) -> Heading {
    Heading {
        kind: Kind::Stat,
        title: title.into(),
        description: description.into(),
    }
}

/// A graph over time.
pub(super) fn timeseries(title: impl Into<String>, description: impl Into<String>) -> Heading {
    Heading {
        kind: Kind::Timeseries,
        ..stat(title, description)
    }
}

impl Heading {
    /// The panel of `measure`: its description is the heading's, the sentences of its links, then
    /// the measure's reading.
    pub(super) fn panel(self, measure: &Measure) -> Panel {
        Panel {
            kind: self.kind,
            title: self.title,
            description: self.description,
            measure: measure.clone(),
            targets: Vec::new(),
            stacked: false,
            links: Vec::new(),
            max: None,
        }
    }
}

/// A stat or time series panel, before it is placed.
pub(super) struct Panel {
    kind: Kind,
    title: String,
    description: String,
    measure: Measure,
    targets: Vec<Target>,
    stacked: bool,
    links: Vec<Value>,
    max: Option<f64>,
}

impl Panel {
    pub(super) fn target(mut self, target: Target) -> Panel {
        self.targets.push(target);
        self
    }

    /// Series stacked on each other (a split of one total).
    pub(super) fn stacked(mut self) -> Panel {
        self.stacked = true;
        self
    }

    /// A data link (e.g. to the drill-down of the series' route), and the sentence of the
    /// description that offers it.
    pub(super) fn link(mut self, title: &str, url: String, offer: &str) -> Panel {
        self.links
            .push(json!({ "title": title, "url": url, "targetBlank": false }));
        self.description.push(' ');
        self.description.push_str(offer);
        self
    }

    /// The axis / gauge maximum (e.g. 1 for a ratio).
    pub(super) fn max(mut self, max: f64) -> Panel {
        self.max = Some(max);
        self
    }

    /// The description, then the measure's reading.
    fn description(&self) -> String {
        if self.measure.reading.is_empty() {
            self.description.clone()
        } else {
            format!("{} {}", self.description, self.measure.reading)
        }
    }

    fn to_json(&self, id: u64, grid: Value) -> Value {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                json!({
                    "refId": ref_id(i),
                    "datasource": datasource(),
                    "editorMode": "code",
                    "expr": t.expr,
                    "legendFormat": t.legend,
                    "range": true,
                    "instant": false,
                })
            })
            .collect();
        let mut defaults = json!({
            "unit": self.measure.unit,
            "min": 0,
            "thresholds": self.measure.thresholds.to_json(),
            "mappings": [],
            "links": self.links,
        });
        if let Some(max) = self.max {
            defaults["max"] = json!(max);
        }
        let judged = matches!(self.measure.thresholds, Thresholds::Judged { .. });
        let options = match self.kind {
            Kind::Stat => {
                defaults["color"] = json!({ "mode": "thresholds" });
                json!({
                    "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                    "colorMode": if judged { "background" } else { "value" },
                    "graphMode": "area",
                    "justifyMode": "auto",
                    "orientation": "auto",
                    "textMode": "auto",
                    "wideLayout": true,
                    "showPercentChange": false,
                })
            }
            Kind::Timeseries => {
                defaults["color"] = json!({ "mode": "palette-classic" });
                defaults["custom"] = json!({
                    "drawStyle": "line",
                    "lineInterpolation": "linear",
                    "lineWidth": 1,
                    "fillOpacity": if self.stacked { 30 } else { 10 },
                    "gradientMode": "none",
                    "showPoints": "never",
                    "spanNulls": false,
                    "axisPlacement": "auto",
                    "axisSoftMin": 0,
                    "stacking": { "mode": if self.stacked { "normal" } else { "none" }, "group": "A" },
                    "thresholdsStyle": { "mode": if judged { "dashed" } else { "off" } },
                });
                json!({
                    "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": [] },
                    "tooltip": { "mode": "multi", "sort": "desc" },
                })
            }
        };
        json!({
            "id": id,
            "type": match self.kind { Kind::Stat => "stat", Kind::Timeseries => "timeseries" },
            "title": self.title,
            "description": self.description(),
            "datasource": datasource(),
            "gridPos": grid,
            "fieldConfig": { "defaults": defaults, "overrides": [] },
            "options": options,
            "targets": targets,
        })
    }
}

fn ref_id(i: usize) -> String {
    char::from(b'A' + (i % 26) as u8).to_string()
}

/// Places panels left to right, top to bottom, on the 24-column grid, numbering them from 1.
pub(super) struct Board {
    panels: Vec<Value>,
    next_id: u64,
    x: u64,
    y: u64,
    line_height: u64,
}

impl Board {
    pub(super) fn new() -> Board {
        Board {
            panels: Vec::new(),
            next_id: 1,
            x: 0,
            y: 0,
            line_height: 0,
        }
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn new_line(&mut self) {
        if self.x > 0 {
            self.y += self.line_height;
            self.x = 0;
            self.line_height = 0;
        }
    }

    /// A full-width row header; the panels added after it belong to it.
    pub(super) fn row(&mut self, title: &str, description: &str) {
        self.new_line();
        let id = self.id();
        self.panels.push(json!({
            "id": id,
            "type": "row",
            "title": title,
            "description": description,
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": self.y },
            "panels": [],
        }));
        self.y += 1;
    }

    /// `panel`, `w` columns wide and `h` units high, right of the previous one or on a new line.
    pub(super) fn add(&mut self, panel: Panel, w: u64, h: u64) {
        debug_assert!((1..=24).contains(&w));
        if self.x + w > 24 {
            self.new_line();
        }
        let id = self.id();
        let grid = json!({ "h": h, "w": w, "x": self.x, "y": self.y });
        self.panels.push(panel.to_json(id, grid));
        self.x += w;
        self.line_height = self.line_height.max(h);
    }

    /// `panels`, each `w` columns wide and `h` units high, one after the other.
    pub(super) fn add_all(&mut self, w: u64, h: u64, panels: impl IntoIterator<Item = Panel>) {
        for panel in panels {
            self.add(panel, w, h);
        }
    }

    pub(super) fn into_panels(self) -> Vec<Value> {
        self.panels
    }
}

/// The Prometheus datasource variable every query goes through.
pub(super) fn datasource_variable() -> Value {
    json!({
        "type": "datasource",
        "name": "datasource",
        "label": "Data source",
        "description": "The Prometheus data source every panel queries.",
        "query": "prometheus",
        "regex": "",
        "current": {},
        "options": [],
        "refresh": 1,
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "skipUrlSync": false,
    })
}

/// The `job` variable: a custom list holding the configured job, which is the service (metrics carry
/// no `service` label).
pub(super) fn job_variable(job: &str) -> Value {
    // A custom variable's query is a comma-separated list: a comma in the job is escaped.
    let query = job.replace('\\', "\\\\").replace(',', "\\,");
    let option = json!({ "selected": true, "text": job, "value": job });
    json!({
        "type": "custom",
        "name": "job",
        "label": "Job",
        "description": "The Prometheus scrape job, i.e. the service.",
        "query": query,
        "current": option.clone(),
        "options": [option],
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "skipUrlSync": false,
    })
}

/// A variable filled from a label's values on the datasource (`label_values(selector, label)`); single
/// valued, so queries match it with `=`.
pub(super) fn label_values_variable(name: &str, label: &str, selector: &str, title: &str) -> Value {
    let query = format!("label_values({selector}, {label})");
    json!({
        "type": "query",
        "name": name,
        "label": title,
        "description": format!("The values of the `{label}` label of {selector}."),
        "datasource": datasource(),
        "query": query,
        "definition": query,
        "regex": "",
        "current": {},
        "options": [],
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "skipUrlSync": false,
    })
}
