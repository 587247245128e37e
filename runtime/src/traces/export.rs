//! The exporter behind a wrapper that counts what it delivers and what it loses, by reason
//! (`sightline_spans_exported_total`, `sightline_spans_dropped_total`), and reports failures (a refused
//! connection, a collector answering 500) at most once every ten seconds, with the number of spans lost
//! so far, instead of letting them flood the output or vanish.

use crate::loss::{spans_lost, SpanLoss, SPANS_EXPORTED};
use crate::warn::{warn_rate_limited, EXPORT};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
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
    /// Spans in the export queue or in the batch being exported.
    pub(crate) pending: AtomicU64,
}

/// Delegates to `inner`, counts and reports.
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

/// Why an export failed, from the error the exporter returned. The OTLP/HTTP exporter says "network
/// error" for a connection refused, no route or no answer within its timeout, and names the status of
/// an error answer.
pub(crate) fn loss_reason(error: &OTelSdkError) -> SpanLoss {
    match error {
        OTelSdkError::Timeout(_) => SpanLoss::Timeout,
        OTelSdkError::AlreadyShutdown => SpanLoss::Shutdown,
        OTelSdkError::InternalFailure(message) => {
            let message = message.to_ascii_lowercase();
            if message.contains("status code") {
                SpanLoss::Rejected
            } else if message.contains("timed out") || message.contains("timeout") {
                SpanLoss::Timeout
            } else if message.contains("network") || message.contains("connect") {
                SpanLoss::Unreachable
            } else {
                SpanLoss::Failed
            }
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
                SPANS_EXPORTED.inc_by(count);
            }
            Err(error) => {
                let lost = self.stats.failed.fetch_add(count, Ordering::Relaxed) + count;
                let reason = loss_reason(error);
                spans_lost(reason, count);
                warn_rate_limited(
                    &EXPORT,
                    format_args!(
                        "could not export {count} spans to {} ({}; {lost} lost so far): {error}",
                        self.endpoint,
                        reason.label()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_from_the_otlp_exporters_errors() {
        let failure = |m: &str| OTelSdkError::InternalFailure(m.to_owned());
        assert_eq!(
            loss_reason(&failure("HTTP export failed: network error")),
            SpanLoss::Unreachable
        );
        assert_eq!(
            loss_reason(&failure(
                "HTTP export failed: network error: no answer within 200 ms"
            )),
            SpanLoss::Unreachable
        );
        assert_eq!(
            loss_reason(&failure("HTTP export failed with status code: 503")),
            SpanLoss::Rejected
        );
        assert_eq!(
            loss_reason(&OTelSdkError::Timeout(Duration::from_secs(10))),
            SpanLoss::Timeout
        );
        assert_eq!(loss_reason(&failure("disk full")), SpanLoss::Failed);
    }
}
