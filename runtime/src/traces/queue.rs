//! The export thread: it drains the calling threads' rings ([`super::rings`]), turns each finished span
//! into the SDK's span data ([`super::convert`]), redacts it (secrets never reach the exporter, and the
//! caller does not pay for it), batches and exports. When the exporter is slow, refuses connections or
//! never answers, the rings fill and further spans are dropped, counted in
//! `sightline_spans_dropped_total{reason="queue_full"}` and reported at most once per interval: memory
//! stays bounded and the application never waits on export. Spans still waiting when shutdown gives up,
//! or ending after it, are counted too (`reason="shutdown"`). The SDK's own batch processor keeps its
//! drop count private, which is one reason this stage is sightline's own; the other is that the calling
//! thread hands over a span without building any SDK object.

use super::convert::{convert, Anchor, Redaction};
use super::export::ExportStats;
use super::record::SpanRecord;
use super::redact::KeyDecisions;
use super::rings::Rings;
use crate::loss::{spans_lost, SpanLoss};
use crate::redact::Redactor;
use crate::warn::{warn_rate_limited, EXPORT};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many spans may wait for export (`OTEL_BSP_MAX_QUEUE_SIZE`).
const MAX_QUEUE_VAR: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// How many spans one export carries at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
const MAX_BATCH_VAR: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
/// How long a span may wait for a batch to fill, in milliseconds (`OTEL_BSP_SCHEDULE_DELAY`).
const DELAY_VAR: &str = "OTEL_BSP_SCHEDULE_DELAY";

/// How often the export thread drains the rings and looks for a flush or shutdown request.
const ROUND: Duration = Duration::from_millis(20);

/// Sizes of the stage, from the `OTEL_BSP_*` variables (specification defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueConfig {
    /// Spans each calling thread's ring holds (up to sightline's own cap).
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
    Flush(Sender<OTelSdkResult>),
    Shutdown(Sender<OTelSdkResult>),
}

/// The export stage of one installation: its rings and its thread.
#[derive(Debug)]
pub(crate) struct ExportQueue {
    rings: Arc<Rings>,
    worker: Option<std::thread::Thread>,
    control: Mutex<Sender<Control>>,
    /// `pending`: spans in the batch being built or exported, what is lost if shutdown gives up.
    stats: Arc<ExportStats>,
    shut_down: AtomicBool,
}

/// What the export thread needs besides the exporter.
pub(crate) struct Stage {
    pub(crate) redactor: Redactor,
    pub(crate) config: QueueConfig,
    pub(crate) stats: Arc<ExportStats>,
    pub(crate) resource: Resource,
    pub(crate) scope: InstrumentationScope,
}

impl ExportQueue {
    /// Starts the export thread for `exporter`.
    pub(crate) fn start<E>(mut exporter: E, stage: Stage) -> Self
    where
        E: SpanExporter + 'static,
    {
        exporter.set_resource(&stage.resource);
        let rings = Arc::new(Rings::new(stage.config.max_queue));
        let (control, control_receiver) = mpsc::channel();
        let stats = Arc::clone(&stage.stats);
        let worker = Worker {
            exporter,
            redactor: stage.redactor,
            config: stage.config,
            rings: Arc::clone(&rings),
            stats: Arc::clone(&stats),
            control: control_receiver,
            decisions: KeyDecisions::default(),
            scope: stage.scope,
            anchor: Anchor::now(),
            records: Vec::new(),
        };
        let spawned = std::thread::Builder::new()
            .name("sightline-span-export".to_owned())
            .spawn(move || worker.run());
        let worker = spawned.as_ref().ok().map(|handle| handle.thread().clone());
        match &worker {
            Some(thread) => rings.set_worker(thread.clone()),
            None => {
                // Without the thread every span is dropped (and counted); the application runs on.
                rings.close();
                if let Err(error) = spawned {
                    warn_rate_limited(
                        &EXPORT,
                        format_args!("cannot start the span export thread: {error}"),
                    );
                }
            }
        }
        ExportQueue {
            rings,
            worker,
            control: Mutex::new(control),
            stats,
            shut_down: AtomicBool::new(false),
        }
    }

    /// Where calling threads hand their spans over.
    pub(crate) fn rings(&self) -> &Arc<Rings> {
        &self.rings
    }

    /// Spans handed over and not exported or lost yet.
    pub(crate) fn waiting(&self) -> u64 {
        self.rings.waiting() + self.stats.pending.load(Ordering::Relaxed)
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
        if let Some(worker) = &self.worker {
            worker.unpark();
        }
        match wait.recv_timeout(timeout) {
            Ok(result) => result,
            Err(_) => Err(OTelSdkError::Timeout(timeout)),
        }
    }

    /// Exports everything handed over so far; waits at most 30 seconds.
    #[cfg(test)]
    pub(crate) fn force_flush(&self) -> OTelSdkResult {
        self.force_flush_within(Duration::from_secs(30))
    }

    /// Exports everything handed over so far; waits at most `timeout`.
    pub(crate) fn force_flush_within(&self, timeout: Duration) -> OTelSdkResult {
        self.request(Control::Flush, timeout)
    }

    /// Exports what waits and stops the thread, within `timeout`; later spans are counted lost.
    pub(crate) fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.request(Control::Shutdown, timeout);
        self.rings.close();
        if result.is_err() {
            // What the export thread still holds will not reach the collector before the process ends.
            let left = self.stats.pending.swap(0, Ordering::Relaxed) + self.rings.waiting();
            if left > 0 {
                spans_lost(SpanLoss::Shutdown, left);
            }
        }
        result
    }
}

struct Worker<E> {
    exporter: E,
    redactor: Redactor,
    config: QueueConfig,
    rings: Arc<Rings>,
    stats: Arc<ExportStats>,
    control: Receiver<Control>,
    decisions: KeyDecisions,
    scope: InstrumentationScope,
    anchor: Anchor,
    /// Records taken from the rings, kept between rounds for its capacity.
    records: Vec<SpanRecord>,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self) {
        let mut batch = Vec::with_capacity(self.config.max_batch);
        let mut deadline = Instant::now() + self.config.delay;
        loop {
            while let Ok(control) = self.control.try_recv() {
                match control {
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
            self.take(&mut batch, &mut deadline);
            if Instant::now() >= deadline {
                let _ = self.export(&mut batch);
                deadline = Instant::now() + self.config.delay;
            }
            // Woken early by a ring half full or a flush/shutdown request.
            std::thread::park_timeout(
                deadline
                    .saturating_duration_since(Instant::now())
                    .min(ROUND),
            );
        }
    }

    /// Moves what the rings hold into the batch, exporting every full batch.
    fn take(&mut self, batch: &mut Vec<SpanData>, deadline: &mut Instant) {
        self.anchor = Anchor::now();
        let mut records = std::mem::take(&mut self.records);
        self.rings.drain(&mut records);
        for record in records.drain(..) {
            // Exporters only ever receive sampled spans.
            if !record.ids.sampled {
                continue;
            }
            self.stats.pending.fetch_add(1, Ordering::Relaxed);
            let mut redaction = Redaction {
                redactor: &self.redactor,
                decisions: &mut self.decisions,
            };
            batch.push(convert(record, &self.anchor, &self.scope, &mut redaction));
            if batch.len() >= self.config.max_batch {
                let _ = self.export(batch);
                *deadline = Instant::now() + self.config.delay;
            }
        }
        self.records = records;
    }

    /// Exports everything handed over so far.
    fn drain(&mut self, batch: &mut Vec<SpanData>) -> OTelSdkResult {
        let mut deadline = Instant::now();
        let before = self.stats.failed.load(Ordering::Relaxed);
        self.take(batch, &mut deadline);
        let result = self.export(batch);
        match result {
            Ok(()) if self.stats.failed.load(Ordering::Relaxed) > before => Err(
                OTelSdkError::InternalFailure("an export failed while flushing".to_owned()),
            ),
            other => other,
        }
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
    use crate::context::{SpanIds, Values};
    use crate::redact::REDACTED;
    use crate::traces::record::{SpanOutcome, SpanRecord, SpanSite, What};
    use opentelemetry::Value;

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

    fn stage(max_queue: usize, max_batch: usize) -> Stage {
        Stage {
            redactor: Redactor::default(),
            config: QueueConfig {
                max_queue,
                max_batch,
                delay: Duration::from_millis(10),
            },
            stats: Arc::default(),
            resource: Resource::builder_empty().build(),
            scope: InstrumentationScope::builder("test").build(),
        }
    }

    static SITE: SpanSite = SpanSite {
        name: "login",
        kind: opentelemetry::trace::SpanKind::Internal,
        function: Some("login"),
        module: Some("tests"),
        operation: None,
        http: None,
    };

    fn record(span_id: u64, sampled: bool, values: Option<Values>) -> SpanRecord {
        let now = crate::clock::now();
        SpanRecord {
            ids: SpanIds {
                trace_id: 1,
                span_id,
                sampled,
                random: true,
            },
            parent: None,
            start: now,
            end: now,
            what: What::Site(&SITE),
            outcome: SpanOutcome::default(),
            values: values.map(Box::new),
        }
    }

    fn json(text: &str) -> impl FnOnce(&mut Vec<u8>) + '_ {
        move |out| out.extend_from_slice(text.as_bytes())
    }

    #[test]
    fn spans_are_redacted_on_the_export_thread_and_unsampled_ones_skipped() {
        let (collect, _) = Collect::new(false);
        let queue = ExportQueue::start(collect.clone(), stage(16, 4));
        // A field the lines carry was redacted when written; one for the span alone is redacted here.
        let mut values = Values::default();
        values.set("token".into(), false, json("\"t\""));
        values.set("user".into(), true, json("\"ada\""));
        queue.rings().push(record(1, true, Some(values)));
        queue.rings().push(record(2, false, None));
        queue.force_flush().unwrap();
        let spans = collect.spans.lock().unwrap();
        assert_eq!(spans.len(), 1);
        let attribute = |key: &str| {
            spans[0]
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(attribute("token"), Some(Value::from(REDACTED)));
        assert_eq!(attribute("user"), Some(Value::from("ada")));
        assert_eq!(attribute("code.function"), Some(Value::from("login")));
        drop(spans);
        queue.shutdown_with_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(queue.rings().dropped(), 0);
    }

    /// An exporter that never returns (a black-holing collector) fills the ring: the caller keeps handing
    /// spans over without waiting, and every span is either exported or counted as dropped.
    #[test]
    fn a_stuck_exporter_never_blocks_the_caller_and_drops_are_counted() {
        let (collect, open) = Collect::new(true);
        let queue = ExportQueue::start(collect.clone(), stage(8, 2));
        let queue_full = || {
            crate::loss::SPANS_DROPPED
                .with_label_values(&["queue_full"])
                .get()
        };
        let before = queue_full();
        for i in 0..200 {
            // `push` never waits: with the export thread stuck it returns at once, so this loop
            // finishes; were it blocking, the test would hang here.
            queue.rings().push(record(i + 1, true, None));
            if i == 4 {
                // Let the export thread take the first spans and get stuck exporting them.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let dropped = queue.rings().dropped();
        // At most the ring (8) plus the batches taken before the export got stuck are kept.
        assert!(dropped >= 200 - 16, "dropped {dropped}");
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
