//! What the artefacts are generated from: a service's catalogue of instrumented sites, as any sightline
//! service writes it (`sightline::catalog_json()`, or the file `SIGHTLINE_CATALOG_OUT` names at
//! install). Plain data: the generators know nothing of how a service records.

use serde_json::Value;
use std::fmt;

/// The catalogue format this crate reads; a service writes it in `"sightline_catalog"`.
pub const CATALOG_VERSION: u64 = 1;

/// A service's instrumented sites, with the names its registry gives the families.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    /// The service name given to `sightline::init` / `Telemetry::builder`, when the catalogue was
    /// written after `install()`.
    pub service: Option<String>,
    /// How the service's registry names the families.
    pub naming: MetricNaming,
    /// The objectives declared on its sites.
    pub objectives: Vec<Objective>,
}

/// The prefix and the constant labels a registry adds to every family registered into it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricNaming {
    /// Put before every family name, with its `_` (`payments_`); empty for none.
    pub prefix: String,
    /// On every series, in the order the registry writes them.
    pub const_labels: Vec<(String, String)>,
}

/// Why a catalogue file could not be read: the JSON path of what is wrong, and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogError {
    /// Where, as `sites[3].objective.percentile`.
    pub at: String,
    /// What was wrong.
    pub problem: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "the catalogue {}", self.problem)
        } else {
            write!(f, "the catalogue's `{}` {}", self.at, self.problem)
        }
    }
}

impl std::error::Error for CatalogError {}

impl Catalog {
    /// Reads what a service wrote with `sightline::catalog_json()`.
    pub fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let root: Value = serde_json::from_str(text).map_err(|e| CatalogError {
            at: String::new(),
            problem: format!("is not JSON: {e}"),
        })?;
        let field = Reader::root(&root);
        let version = field.get("sightline_catalog")?.u64()?;
        if version != CATALOG_VERSION {
            return Err(field.error(
                "sightline_catalog",
                format!(
                    "is version {version}; this sightline-alerts reads version {CATALOG_VERSION}"
                ),
            ));
        }
        let service = field.get("service")?.optional_str()?;
        let naming = field.get("naming")?;
        let const_labels = naming
            .get("const_labels")?
            .array()?
            .into_iter()
            .map(|pair| Ok((pair.get("name")?.str()?, pair.get("value")?.str()?)))
            .collect::<Result<_, CatalogError>>()?;
        let naming = MetricNaming {
            prefix: naming.get("prefix")?.str()?,
            const_labels,
        };
        let mut objectives = Vec::new();
        for site in field.get("sites")?.array()? {
            if let Some(objective) = site.get("objective")?.optional() {
                objectives.push(Objective {
                    site: objective_site(&site)?,
                    latency_seconds: objective.get("latency_seconds")?.optional_f64()?,
                    percentile: objective.get("percentile")?.f64()?,
                    error_rate_percent: objective.get("error_rate_percent")?.optional_f64()?,
                });
            }
        }
        Ok(Catalog {
            service,
            naming,
            objectives,
        })
    }

    /// A catalogue of these objectives, with plain names.
    pub fn of_objectives(objectives: Vec<Objective>) -> Catalog {
        Catalog {
            objectives,
            ..Catalog::default()
        }
    }

    /// The default thresholds, with the names this service's registry gives the families.
    pub fn alert_config(
        &self,
        job: impl Into<String>,
        target: impl Into<String>,
    ) -> crate::AlertConfig {
        let mut config = crate::AlertConfig::new(job, target);
        config.naming = self.naming.clone();
        config
    }
}

fn objective_site(site: &Reader<'_>) -> Result<ObjectiveSite, CatalogError> {
    let kind = site.get("kind")?.str()?;
    Ok(match kind.as_str() {
        "function" => ObjectiveSite::Function {
            function: site.get("function")?.str()?,
            module: site.get("module")?.str()?,
        },
        "handler" => {
            let http = site.get("http")?;
            ObjectiveSite::Handler {
                method: http.get("method")?.str()?,
                route: http.get("route")?.str()?,
            }
        }
        "business" => ObjectiveSite::Business {
            operation: site.get("operation")?.str()?,
        },
        other => {
            return Err(site.error(
                "kind",
                format!("is `{other}`; expected `function`, `handler` or `business`"),
            ))
        }
    })
}

/// A value of the catalogue and the path it was found at, for errors that say where.
struct Reader<'a> {
    value: &'a Value,
    at: String,
}

impl<'a> Reader<'a> {
    fn root(value: &'a Value) -> Self {
        Reader {
            value,
            at: String::new(),
        }
    }

    fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    fn error(&self, key: &str, problem: String) -> CatalogError {
        CatalogError {
            at: self.path(key),
            problem,
        }
    }

    fn wrong(&self, expected: &str) -> CatalogError {
        CatalogError {
            at: self.at.clone(),
            problem: format!("is {}; expected {expected}", describe(self.value)),
        }
    }

    fn get(&self, key: &str) -> Result<Reader<'a>, CatalogError> {
        match self.value.get(key) {
            Some(value) => Ok(Reader {
                value,
                at: self.path(key),
            }),
            None if self.value.is_object() => Err(self.error(key, "is missing".to_owned())),
            None => Err(self.wrong("an object")),
        }
    }

    fn optional(self) -> Option<Self> {
        (!self.value.is_null()).then_some(self)
    }

    fn str(&self) -> Result<String, CatalogError> {
        self.value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.wrong("a string"))
    }

    fn optional_str(self) -> Result<Option<String>, CatalogError> {
        self.optional().map(|v| v.str()).transpose()
    }

    fn u64(&self) -> Result<u64, CatalogError> {
        self.value
            .as_u64()
            .ok_or_else(|| self.wrong("a whole number"))
    }

    fn f64(&self) -> Result<f64, CatalogError> {
        self.value.as_f64().ok_or_else(|| self.wrong("a number"))
    }

    fn optional_f64(self) -> Result<Option<f64>, CatalogError> {
        self.optional().map(|v| v.f64()).transpose()
    }

    fn array(&self) -> Result<Vec<Reader<'a>>, CatalogError> {
        let items = self.value.as_array().ok_or_else(|| self.wrong("a list"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Reader {
                value,
                at: format!("{}[{i}]", self.at),
            })
            .collect())
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A service level objective declared on a site.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// Which series the objective is about.
    pub site: ObjectiveSite,
    /// Latency threshold in seconds (a bucket bound of the site), if any.
    pub latency_seconds: Option<f64>,
    /// The share of calls that must be faster than `latency_seconds`, in percent (e.g. 99).
    pub percentile: f64,
    /// The error budget in percent (e.g. 1 for 99 % success), if any.
    pub error_rate_percent: Option<f64>,
}

/// The series an objective is computed from.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectiveSite {
    /// `function_*{function, module}`.
    Function {
        /// The `function` label.
        function: String,
        /// The `module` label.
        module: String,
    },
    /// `http_*{method, route}`.
    Handler {
        /// The `method` label.
        method: String,
        /// The `route` label.
        route: String,
    },
    /// `business_operation*{operation}`.
    Business {
        /// The `operation` label.
        operation: String,
    },
}
