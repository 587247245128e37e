//! One histogram family whose series may have different buckets.
//!
//! `#[observe(buckets = [...])]` lets a call site of microsecond functions have its own buckets while
//! sharing `function_call_duration_seconds` with every other site. The `prometheus` crate fixes buckets
//! per `HistogramVec`, so the family keeps one vec per distinct bucket list and merges them into one
//! family at collection; the exposition format allows series of one histogram family to have different
//! `le` sets, and `histogram_quantile` works per series.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{HistogramOpts, HistogramVec};
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub(crate) struct HistogramFamily {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    help: String,
    labels: Vec<String>,
    desc: Desc,
    /// Touched when a call site resolves its children (once per site) and on scrape; never per call.
    by_buckets: RwLock<Vec<(Vec<f64>, HistogramVec)>>,
}

impl HistogramFamily {
    pub(crate) fn new(name: &str, help: &str, labels: &[&str]) -> Self {
        let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        let desc = Desc::new(
            name.to_string(),
            help.to_string(),
            labels.clone(),
            Default::default(),
        )
        .expect("static family definition is valid");
        HistogramFamily {
            inner: Arc::new(Inner {
                name: name.to_string(),
                help: help.to_string(),
                labels,
                desc,
                by_buckets: RwLock::new(Vec::new()),
            }),
        }
    }

    /// The vec holding this family's series with exactly these buckets.
    pub(crate) fn with_buckets(&self, buckets: &[f64]) -> HistogramVec {
        let find = |all: &[(Vec<f64>, HistogramVec)]| {
            all.iter()
                .find(|(b, _)| b.as_slice() == buckets)
                .map(|(_, vec)| vec.clone())
        };
        if let Some(vec) = find(
            &self
                .inner
                .by_buckets
                .read()
                .unwrap_or_else(|p| p.into_inner()),
        ) {
            return vec;
        }
        let mut all = self
            .inner
            .by_buckets
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(vec) = find(&all) {
            return vec;
        }
        let labels: Vec<&str> = self.inner.labels.iter().map(String::as_str).collect();
        let opts = HistogramOpts::new(self.inner.name.clone(), self.inner.help.clone())
            .buckets(buckets.to_vec());
        // Buckets are checked by the macro (finite, strictly increasing); fall back to the defaults rather
        // than fail a call if something slipped through.
        let vec = HistogramVec::new(opts, &labels).unwrap_or_else(|_| {
            HistogramVec::new(
                HistogramOpts::new(self.inner.name.clone(), self.inner.help.clone())
                    .buckets(super::DEFAULT_BUCKETS.to_vec()),
                &labels,
            )
            .expect("static family definition is valid")
        });
        all.push((buckets.to_vec(), vec.clone()));
        vec
    }
}

impl Collector for HistogramFamily {
    fn desc(&self) -> Vec<&Desc> {
        vec![&self.inner.desc]
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let all = self
            .inner
            .by_buckets
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let mut merged: Option<MetricFamily> = None;
        for (_, vec) in all.iter() {
            for mut family in vec.collect() {
                match merged.as_mut() {
                    None => merged = Some(family),
                    Some(m) => {
                        for metric in family.take_metric() {
                            m.mut_metric().push(metric);
                        }
                    }
                }
            }
        }
        merged.into_iter().collect()
    }
}
