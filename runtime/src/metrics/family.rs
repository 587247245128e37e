//! Families as Prometheus sees them: each a `prometheus::core::Collector` over sightline's own series, so
//! they register into the application's `Registry` and are read only when it is scraped.

use super::series::{HistogramValues, HttpSeries, RedSeries, EXPECTED_OUTCOME, OUTCOMES};
use once_cell::sync::Lazy;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use sightline_conventions::{self as conventions, Family};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Names and help texts of the five families of one kind of call.
pub(crate) struct RedNames {
    pub calls: (String, String),
    pub errors: (String, String),
    pub expected_errors: (String, String),
    pub duration: (String, String),
    pub in_flight: (String, String),
}

/// In the table's order: calls, errors, expected errors, duration, in flight.
impl From<[(String, String); 5]> for RedNames {
    fn from([calls, errors, expected_errors, duration, in_flight]: [(String, String); 5]) -> Self {
        RedNames {
            calls,
            errors,
            expected_errors,
            duration,
            in_flight,
        }
    }
}

/// `<calls>{labels.., outcome}`, `<errors>{labels.., error_kind}`, `<expected_errors>{labels..,
/// error_kind}`, `<duration>{labels.., outcome}` and `<in_flight>{labels..}` over every [`RedSeries`]
/// created for them.
pub(crate) struct RedFamily {
    names: RedNames,
    labels: Vec<&'static str>,
    outcome_label: &'static str,
    descs: Vec<Desc>,
    /// Touched when a call site resolves (once per site and label combination) and on scrape; never per
    /// call.
    series: Mutex<Vec<&'static RedSeries>>,
}

impl RedFamily {
    pub(crate) fn new(
        names: RedNames,
        labels: &[&'static str],
        outcome_label: &'static str,
    ) -> Self {
        let with = |last: &str| {
            labels
                .iter()
                .map(|l| l.to_string())
                .chain(Some(last.to_string()))
                .collect::<Vec<_>>()
        };
        let desc = |(name, help): &(String, String), labels: Vec<String>| {
            Desc::new(name.clone(), help.clone(), labels, HashMap::new())
                .expect("family names and labels are checked by the macro")
        };
        let descs = vec![
            desc(&names.calls, with(outcome_label)),
            desc(&names.errors, with("error_kind")),
            desc(&names.expected_errors, with("error_kind")),
            desc(&names.duration, with(outcome_label)),
            desc(
                &names.in_flight,
                labels.iter().map(|l| l.to_string()).collect(),
            ),
        ];
        RedFamily {
            names,
            labels: labels.to_vec(),
            outcome_label,
            descs,
            series: Mutex::new(Vec::new()),
        }
    }

    /// The series of these label values, created (and exported at 0) on first use. A second site with the
    /// same values shares it; its buckets are those of the first.
    pub(crate) fn series(
        &self,
        values: Vec<&'static str>,
        buckets: &'static [f64],
    ) -> &'static RedSeries {
        let mut all = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = all.iter().find(|s| *s.labels == *values) {
            return existing;
        }
        // One per call site and label combination, for the life of the process: bounded, and `'static`
        // lets a call reach its series without a reference count.
        let series: &'static RedSeries = Box::leak(Box::new(RedSeries::new(values, buckets)));
        all.push(series);
        series
    }

    fn snapshot(&self) -> Vec<&'static RedSeries> {
        self.series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Collector for RedFamily {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut calls = Vec::new();
        let mut errors = Vec::new();
        let mut expected_errors = Vec::new();
        let mut durations = Vec::new();
        let mut in_flight = Vec::new();
        for series in self.snapshot() {
            let values = series.read();
            let base: Vec<(&str, &str)> = self
                .labels
                .iter()
                .copied()
                .zip(series.labels.iter().copied())
                .collect();
            let with = |name: &'static str, value: &'static str| {
                let mut pairs = base.clone();
                pairs.push((name, value));
                pairs
            };
            let outcomes = if values.has_expected {
                OUTCOMES.len()
            } else {
                EXPECTED_OUTCOME
            };
            for (outcome, histogram) in OUTCOMES.iter().zip(&values.by_outcome).take(outcomes) {
                let labels = with(self.outcome_label, outcome);
                calls.push(counter(&labels, histogram.count()));
                durations.push(histogram_metric(&labels, series.buckets.seconds, histogram));
            }
            for (kind, count) in &values.errors {
                errors.push(counter(&with("error_kind", kind), *count));
            }
            for (kind, count) in &values.expected_errors {
                expected_errors.push(counter(&with("error_kind", kind), *count));
            }
            in_flight.push(gauge(&base, values.in_flight));
        }
        vec![
            family(&self.names.calls, MetricType::COUNTER, calls),
            family(&self.names.errors, MetricType::COUNTER, errors),
            family(
                &self.names.expected_errors,
                MetricType::COUNTER,
                expected_errors,
            ),
            family(&self.names.duration, MetricType::HISTOGRAM, durations),
            family(&self.names.in_flight, MetricType::GAUGE, in_flight),
        ]
    }
}

/// `http_requests_total{method,route,status_code}`, `http_request_duration_seconds{..}` and
/// `http_requests_in_flight{method,route}`.
pub(crate) struct HttpFamily {
    descs: Vec<Desc>,
    series: Mutex<HashMap<(&'static str, &'static str), &'static HttpSeries>>,
}

impl HttpFamily {
    fn new() -> Self {
        let desc = |family: Family| {
            Desc::new(
                family.name.to_owned(),
                family.help.to_owned(),
                family.labels.iter().map(|l| l.to_string()).collect(),
                HashMap::new(),
            )
            .expect("static family definition is valid")
        };
        HttpFamily {
            descs: vec![
                desc(conventions::HTTP.requests),
                desc(conventions::HTTP.duration),
                desc(conventions::HTTP.in_flight),
            ],
            series: Mutex::new(HashMap::new()),
        }
    }

    /// The series of one method and route, shared by the HTTP layer and handler-mode sites; its buckets
    /// are those of whichever created it.
    pub(crate) fn series(
        &self,
        method: &'static str,
        route: &'static str,
        buckets: &'static [f64],
    ) -> &'static HttpSeries {
        let mut all = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        all.entry((method, route))
            .or_insert_with(|| Box::leak(Box::new(HttpSeries::new(method, route, buckets))))
    }
}

impl Collector for HttpFamily {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let all: Vec<&'static HttpSeries> = self
            .series
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .copied()
            .collect();
        let (mut requests, mut durations, mut in_flight) = (Vec::new(), Vec::new(), Vec::new());
        for series in all {
            let values = series.read();
            let base = [("method", series.method), ("route", series.route)];
            for (status, histogram) in &values.by_status {
                let code = status.to_string();
                let labels = [
                    ("method", series.method),
                    ("route", series.route),
                    ("status_code", code.as_str()),
                ];
                requests.push(counter(&labels, histogram.count()));
                durations.push(histogram_metric(&labels, series.buckets.seconds, histogram));
            }
            in_flight.push(gauge(&base, values.in_flight));
        }
        let owned = |family: Family| (family.name.to_owned(), family.help.to_owned());
        vec![
            family(
                &owned(conventions::HTTP.requests),
                MetricType::COUNTER,
                requests,
            ),
            family(
                &owned(conventions::HTTP.duration),
                MetricType::HISTOGRAM,
                durations,
            ),
            family(
                &owned(conventions::HTTP.in_flight),
                MetricType::GAUGE,
                in_flight,
            ),
        ]
    }
}

pub(crate) static HTTP: Lazy<HttpFamily> = Lazy::new(HttpFamily::new);

fn label_pairs(labels: &[(&str, &str)]) -> Vec<LabelPair> {
    let mut pairs: Vec<LabelPair> = labels
        .iter()
        .map(|(name, value)| {
            let mut pair = LabelPair::default();
            pair.set_name(name.to_string());
            pair.set_value(value.to_string());
            pair
        })
        .collect();
    // As the prometheus crate's own metrics do: label pairs sorted by name.
    pairs.sort_by(|a, b| a.name().cmp(b.name()));
    pairs
}

fn counter(labels: &[(&str, &str)], value: u64) -> Metric {
    let mut c = Counter::default();
    c.set_value(value as f64);
    let mut m = Metric::from_label(label_pairs(labels));
    m.set_counter(c);
    m
}

fn gauge(labels: &[(&str, &str)], value: u64) -> Metric {
    let mut g = Gauge::default();
    g.set_value(value as f64);
    let mut m = Metric::from_label(label_pairs(labels));
    m.set_gauge(g);
    m
}

fn histogram_metric(labels: &[(&str, &str)], bounds: &[f64], values: &HistogramValues) -> Metric {
    let mut cumulative = 0;
    let buckets = bounds
        .iter()
        .zip(&values.buckets)
        .map(|(bound, count)| {
            cumulative += count;
            let mut b = Bucket::default();
            b.set_upper_bound(*bound);
            b.set_cumulative_count(cumulative);
            b
        })
        .collect();
    let mut h = Histogram::default();
    // `+Inf` is written from the sample count, which is the sum of every bucket including the last.
    h.set_sample_count(values.count());
    h.set_sample_sum(values.sum_nanos as f64 / 1e9);
    h.set_bucket(buckets);
    let mut m = Metric::from_label(label_pairs(labels));
    m.set_histogram(h);
    m
}

fn family((name, help): &(String, String), kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.clone());
    f.set_help(help.clone());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}
