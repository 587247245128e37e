//! The OTLP exporter behind a wrapper that reports failures (a refused connection, a collector answering
//! 500) on standard error at most once every ten seconds, with the number of spans lost so far, instead of
//! letting them flood the output or vanish.

use crate::warn::{warn_rate_limited, EXPORT};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Counts of what the exporter did, shared with [`super::Traces`].
#[derive(Debug, Default)]
pub(crate) struct ExportStats {
    /// Spans the collector accepted.
    pub(crate) exported: AtomicU64,
    /// Spans lost to a failed export.
    pub(crate) failed: AtomicU64,
}

/// Delegates to `inner` and reports its errors.
#[derive(Debug)]
pub(crate) struct Reporting<E> {
    inner: E,
    endpoint: String,
    stats: Arc<ExportStats>,
}

impl<E> Reporting<E> {
    pub(crate) fn new(inner: E, endpoint: String, stats: Arc<ExportStats>) -> Self {
        Reporting {
            inner,
            endpoint,
            stats,
        }
    }
}

impl<E: SpanExporter> SpanExporter for Reporting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len() as u64;
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => {
                self.stats.exported.fetch_add(count, Ordering::Relaxed);
            }
            Err(error) => {
                let lost = self.stats.failed.fetch_add(count, Ordering::Relaxed) + count;
                warn_rate_limited(
                    &EXPORT,
                    format_args!(
                        "sightline: could not export {count} spans to {} ({lost} lost so far): {error}",
                        self.endpoint
                    ),
                );
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
