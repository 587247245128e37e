//! sightline's own bounded stage between a finished span and the exporter.
//!
//! The calling thread only checks the sampling flag and pushes the span into a bounded lock-free queue
//! (`crossbeam_queue::ArrayQueue`: no lock, no system call; the export thread is woken only once a batch
//! is ready, not per span, because a futex wake per span cost more than the span itself); a thread of its
//! own batches spans, redacts them (secrets never reach the exporter, and the caller does
//! not pay for it) and exports. When the exporter is slow, refuses connections or never answers, the
//! channel fills and further spans are dropped, counted in `sightline_spans_dropped_total{reason=
//! "queue_full"}`, and reported at most once per interval: memory stays bounded and the application never
//! waits on export. Spans still waiting when shutdown gives up, or ending after it, are counted too
//! (`reason="shutdown"`). The SDK's own batch processor keeps its drop count private, which is why this
//! stage exists.

use super::export::ExportStats;
use super::redact::{redact_span_cached, KeyDecisions};
use crate::loss::{spans_lost, SpanLoss};
use crate::redact::Redactor;
use crate::warn::{warn_rate_limited, RateLimited};
use crossbeam_queue::ArrayQueue;
use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many spans may wait for export (`OTEL_BSP_MAX_QUEUE_SIZE`).
const MAX_QUEUE_VAR: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// How many spans one export carries at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
const MAX_BATCH_VAR: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// How long a span may wait for a batch to fill, in milliseconds (`OTEL_BSP_SCHEDULE_DELAY`).
const DELAY_VAR: &str = "OTEL_BSP_SCHEDULE_DELAY";

/// How often the export thread looks for a flush or shutdown request while waiting for spans.
const CONTROL_POLL: Duration = Duration::from_millis(20);

/// Dropped spans reported at most every 10 seconds.
static DROPS: RateLimited = RateLimited::new(10_000);

/// Sizes of the stage, from the `OTEL_BSP_*` variables (specification defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueConfig {
    pub(crate) max_queue: usize,
    pub(crate) max_batch: usize,
    pub(crate) delay: Duration,
}

impl QueueConfig {
    pub(crate) fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, super::settings::InvalidSetting> {
        use super::settings::positive_integer;
        let max_queue = positive_integer(env, MAX_QUEUE_VAR, 2048)? as usize;
        Ok(QueueConfig {
            max_queue,
            // The specification: a batch larger than the queue is the queue.
            max_batch: (positive_integer(env, MAX_BATCH_VAR, 512)? as usize).min(max_queue),
            delay: Duration::from_millis(positive_integer(env, DELAY_VAR, 5000)?),
        })
    }
}

enum Control {
    Resource(Resource),
    Flush(Sender<OTelSdkResult>),
    Shutdown(Sender<OTelSdkResult>),
}

/// The span processor: see the module docs.
#[derive(Debug)]
pub(crate) struct ExportQueue {
    spans: Arc<ArrayQueue<SpanData>>,
    /// Spans that make a batch: the export thread is woken when the queue holds this many.
    batch: usize,
    worker: Option<std::thread::Thread>,
    control: Mutex<Sender<Control>>,
    dropped: Arc<AtomicU64>,
    /// `pending`: spans in the queue or the batch being exported, what is lost if shutdown gives up.
    stats: Arc<ExportStats>,
    shut_down: std::sync::atomic::AtomicBool,
}

impl ExportQueue {
    /// Starts the export thread for `exporter`.
    pub(crate) fn start<E>(
        exporter: E,
        redactor: Redactor,
        config: QueueConfig,
        stats: Arc<ExportStats>,
    ) -> Self
    where
        E: SpanExporter + 'static,
    {
        let spans = Arc::new(ArrayQueue::new(config.max_queue));
        let (control, control_receiver) = mpsc::channel();
        let worker = Worker {
            exporter,
            redactor,
            config,
            spans: Arc::clone(&spans),
            stats: Arc::clone(&stats),
            control: control_receiver,
            decisions: KeyDecisions::default(),
        };
        let spawned = std::thread::Builder::new()
            .name("sightline-span-export".to_owned())
            .spawn(move || worker.run());
        let worker = spawned.as_ref().ok().map(|handle| handle.thread().clone());
        if let Err(error) = spawned {
            // Without the thread every span is dropped (and counted); the application runs on.
            warn_rate_limited(
                &DROPS,
                format_args!("cannot start the span export thread: {error}"),
            );
        }
        ExportQueue {
            spans,
            batch: config.max_batch,
            worker,
            control: Mutex::new(control),
            dropped: Arc::new(AtomicU64::new(0)),
            stats,
            shut_down: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Spans this queue dropped so far.
    #[allow(dead_code)] // read by the tests
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn request(
        &self,
        make: impl FnOnce(Sender<OTelSdkResult>) -> Control,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (ack, wait) = mpsc::channel();
        let sent = self
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(make(ack));
        if sent.is_err() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.wake();
        match wait.recv_timeout(timeout) {
            Ok(result) => result,
            Err(_) => Err(OTelSdkError::Timeout(timeout)),
        }
    }

    fn wake(&self) {
        if let Some(worker) = &self.worker {
            worker.unpark();
        }
    }

    #[cold]
    fn drop_one(&self) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        spans_lost(SpanLoss::QueueFull, 1);
        warn_rate_limited(
            &DROPS,
            format_args!(
                "the span export queue is full (the collector is slow or unreachable); \
                 {dropped} spans dropped so far"
            ),
        );
    }
}

impl SpanProcessor for ExportQueue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        // Exporters only ever receive sampled spans; a `RecordOnly` decision stays in the process.
        if !span.span_context.is_sampled() {
            return;
        }
        if self.shut_down.load(Ordering::Relaxed) {
            spans_lost(SpanLoss::Shutdown, 1);
            return;
        }
        match self.spans.push(span) {
            Ok(()) => {
                self.stats.pending.fetch_add(1, Ordering::Relaxed);
                if self.spans.len() >= self.batch {
                    self.wake();
                }
            }
            Err(_) => self.drop_one(),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.request(Control::Flush, Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.request(Control::Shutdown, timeout);
        if result.is_err() {
            // What the export thread still holds will not reach the collector before the process ends.
            let left = self.stats.pending.swap(0, Ordering::Relaxed);
            if left > 0 {
                spans_lost(SpanLoss::Shutdown, left);
            }
        }
        result
    }

    // The exporter learns the resource (service.name, ...) through this call, made while the provider is
    // built, before any span: it reaches the export thread ahead of every span.
    fn set_resource(&mut self, resource: &Resource) {
        let _ = self
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(Control::Resource(resource.clone()));
    }
}

struct Worker<E> {
    exporter: E,
    redactor: Redactor,
    config: QueueConfig,
    spans: Arc<ArrayQueue<SpanData>>,
    stats: Arc<ExportStats>,
    control: Receiver<Control>,
    decisions: KeyDecisions,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        let mut batch = Vec::with_capacity(self.config.max_batch);
        let mut deadline = Instant::now() + self.config.delay;
        loop {
            while let Ok(control) = self.control.try_recv() {
                match control {
                    Control::Resource(resource) => self.exporter.set_resource(&resource),
                    Control::Flush(ack) => {
                        let result = self.drain(&mut batch);
                        let _ = ack.send(result);
                    }
                    Control::Shutdown(ack) => {
                        let result = self.drain(&mut batch);
                        let closed = self.exporter.shutdown();
                        let _ = ack.send(result.and(closed));
                        return;
                    }
                }
            }
            while let Some(span) = self.spans.pop() {
                batch.push(self.redacted(span));
                if batch.len() >= self.config.max_batch {
                    let _ = self.export(&mut batch);
                    deadline = Instant::now() + self.config.delay;
                }
            }
            if Instant::now() >= deadline {
                let _ = self.export(&mut batch);
                deadline = Instant::now() + self.config.delay;
            }
            // Woken early by a full batch or a flush/shutdown request.
            std::thread::park_timeout(
                deadline
                    .saturating_duration_since(Instant::now())
                    .min(CONTROL_POLL),
            );
        }
    }

    fn redacted(&mut self, mut span: SpanData) -> SpanData {
        redact_span_cached(&self.redactor, &mut self.decisions, &mut span);
        span
    }

    /// Exports everything queued so far.
    fn drain(&mut self, batch: &mut Vec<SpanData>) -> OTelSdkResult {
        let mut result = Ok(());
        while let Some(span) = self.spans.pop() {
            batch.push(self.redacted(span));
            if batch.len() >= self.config.max_batch {
                result = result.and(self.export(batch));
            }
        }
        result.and(self.export(batch))
    }

    fn export(&mut self, batch: &mut Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let spans = std::mem::replace(batch, Vec::with_capacity(self.config.max_batch));
        let count = spans.len() as u64;
        // The exporter's future completes on this thread (the OTLP exporter uses a blocking client), as
        // in the SDK's own batch processor. Its outcome is counted by the exporter's `Reporting` wrapper.
        let result = futures_executor::block_on(self.exporter.export(spans));
        // Saturating: a shutdown that gave up already counted what was pending.
        let _ = self
            .stats
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
                Some(p.saturating_sub(count))
            });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::REDACTED;
    use crate::traces::redact::tests::{span, value};
    use opentelemetry::trace::{SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState};
    use opentelemetry::{KeyValue, Value};

    /// Records what it exports; each export waits until `gate` lets it through.
    #[derive(Debug, Clone)]
    struct Collect {
        spans: Arc<Mutex<Vec<SpanData>>>,
        gate: Arc<Mutex<Receiver<()>>>,
        gated: bool,
    }

    impl Collect {
        fn new(gated: bool) -> (Self, Sender<()>) {
            let (open, gate) = mpsc::channel();
            let collect = Collect {
                spans: Arc::default(),
                gate: Arc::new(Mutex::new(gate)),
                gated,
            };
            (collect, open)
        }
    }

    impl SpanExporter for Collect {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            if self.gated {
                let _ = self.gate.lock().unwrap().recv();
            }
            self.spans.lock().unwrap().extend(batch);
            Ok(())
        }
    }

    fn config(max_queue: usize, max_batch: usize) -> QueueConfig {
        QueueConfig {
            max_queue,
            max_batch,
            delay: Duration::from_millis(10),
        }
    }

    #[test]
    fn spans_are_redacted_on_the_export_thread_and_unsampled_ones_skipped() {
        let (collect, _) = Collect::new(false);
        let queue = ExportQueue::start(
            collect.clone(),
            Redactor::default(),
            config(16, 4),
            Arc::default(),
        );
        queue.on_end(span(
            vec![KeyValue::new("token", "t"), KeyValue::new("user", "ada")],
            vec![],
            Status::Unset,
        ));
        let mut unsampled = span(vec![], vec![], Status::Unset);
        unsampled.span_context = SpanContext::new(
            TraceId::from(2u128),
            SpanId::from(2u64),
            TraceFlags::default(),
            false,
            TraceState::default(),
        );
        queue.on_end(unsampled);
        queue.force_flush().unwrap();
        let spans = collect.spans.lock().unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(
            value(&spans[0].attributes, "token"),
            Some(&Value::from(REDACTED))
        );
        assert_eq!(
            value(&spans[0].attributes, "user"),
            Some(&Value::from("ada"))
        );
        drop(spans);
        queue.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(queue.dropped(), 0);
    }

    /// An exporter that never returns (a black-holing collector) fills the queue: the caller keeps
    /// handing spans over without waiting, and every span is either exported or counted as dropped.
    #[test]
    fn a_stuck_exporter_never_blocks_the_caller_and_drops_are_counted() {
        let (collect, open) = Collect::new(true);
        let queue = ExportQueue::start(
            collect.clone(),
            Redactor::default(),
            config(8, 2),
            Arc::default(),
        );
        let queue_full = || {
            crate::loss::SPANS_DROPPED
                .with_label_values(&["queue_full"])
                .get()
        };
        let before = queue_full();
        for i in 0..200 {
            let mut s = span(vec![KeyValue::new("i", i as i64)], vec![], Status::Unset);
            s.span_context = SpanContext::new(
                TraceId::from(1u128),
                SpanId::from(i + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            );
            // `on_end` only ever `try_send`s: with the export thread stuck it returns at once, so this
            // loop finishes; were it blocking, the test would hang here.
            queue.on_end(s);
        }
        let dropped = queue.dropped();
        // At most the queue (8) plus the batch being exported and the one being filled (2 + 2) are kept.
        assert!(dropped >= 200 - 12, "dropped {dropped}");
        assert!(queue_full() - before >= dropped);
        // Let every export through, then flush: exported + dropped is every span.
        std::thread::spawn(move || while open.send(()).is_ok() {});
        queue.force_flush().unwrap();
        let exported = collect.spans.lock().unwrap().len() as u64;
        assert_eq!(
            exported + dropped,
            200,
            "exported {exported}, dropped {dropped}"
        );
        queue.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn sizes_come_from_the_environment() {
        let env = |name: &str| match name {
            "OTEL_BSP_MAX_QUEUE_SIZE" => Some("100".to_owned()),
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => Some("500".to_owned()),
            _ => None,
        };
        assert_eq!(
            QueueConfig::from_env(&env),
            Ok(QueueConfig {
                max_queue: 100,
                max_batch: 100,
                delay: Duration::from_millis(5000)
            })
        );
        let nonsense = |name: &str| (name == "OTEL_BSP_SCHEDULE_DELAY").then(|| "soon".to_owned());
        let error = QueueConfig::from_env(&nonsense).unwrap_err();
        assert_eq!(error.name, "OTEL_BSP_SCHEDULE_DELAY");
        assert_eq!(error.value, "soon");
    }
}
