//! The default log writer: a bounded, lossy hand-off from the calling thread to a thread that owns
//! stdout. A process whose stdout is a full pipe (a stalled log shipper, a terminal paused with
//! Ctrl-S) must keep serving: the caller only `try_send`s the line; when the buffer is full the line is
//! dropped and counted in `sightline_log_lines_dropped_total`, as are lines stdout refuses and lines
//! still buffered when a flush at shutdown gives up.
//!
//! Not `tracing_appender::non_blocking`: its guard prints to stdout when the buffer is still full at
//! shutdown (a line that is not JSON, written to the very pipe that is blocked), and lines its worker
//! fails to write are not counted anywhere.

use crossbeam_queue::ArrayQueue;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::loss::{lines_lost, lines_lost_total, LineLoss};
use crate::warn::{warn_on_stderr, RateLimited};

/// Lines the writer thread may hold when `log_buffer_lines` is not given: a few MiB of typical lines,
/// seconds of a busy service's output.
pub(crate) const DEFAULT_BUFFER_LINES: usize = 8192;

/// Bytes gathered into one `write` to stdout.
const BATCH_BYTES: usize = 64 * 1024;

/// Spare line buffers handed back by the writer thread, so a line costs no allocation once warm.
const SPARE_BUFFERS: usize = 256;

/// A spare buffer larger than this (one huge line) is freed rather than kept.
const SPARE_MAX_CAPACITY: usize = 16 * 1024;

/// Lines dropped at the hand-off, reported at most every 10 seconds (on standard error: the writer is
/// what is failing).
static DROPS: RateLimited = RateLimited::new(10_000);
/// Stdout refusing writes, reported likewise.
static REFUSED: RateLimited = RateLimited::new(10_000);

enum Message {
    Line(Vec<u8>),
    /// Everything sent before it is written; answer on the channel.
    Flush(SyncSender<()>),
}

/// The caller's side: a `MakeWriter` for the log layer.
#[derive(Clone)]
pub(crate) struct Handoff {
    sender: SyncSender<Message>,
    spares: Arc<ArrayQueue<Vec<u8>>>,
    /// Lines handed off and not yet written or counted lost.
    pending: Arc<AtomicU64>,
}

impl Handoff {
    /// Starts the writer thread for stdout, holding at most `lines` lines. `None` when the thread cannot
    /// start (the caller then writes to stdout itself).
    pub(crate) fn stdout(lines: usize) -> Option<Handoff> {
        Handoff::start(lines, std::io::stdout)
    }

    pub(crate) fn start<W, F>(lines: usize, open: F) -> Option<Handoff>
    where
        W: Write,
        F: FnOnce() -> W + Send + 'static,
    {
        let (sender, receiver) = mpsc::sync_channel(lines.max(1));
        let spares = Arc::new(ArrayQueue::new(SPARE_BUFFERS));
        let pending = Arc::new(AtomicU64::new(0));
        let worker_spares = Arc::clone(&spares);
        let worker_pending = Arc::clone(&pending);
        let spawned = std::thread::Builder::new()
            .name("sightline-log-writer".to_owned())
            .spawn(move || write_lines(receiver, open(), &worker_spares, &worker_pending));
        match spawned {
            Ok(_) => Some(Handoff {
                sender,
                spares,
                pending,
            }),
            Err(error) => {
                warn_on_stderr(
                    &DROPS,
                    format_args!(
                        "cannot start the log writer thread ({error}); writing on the caller's thread"
                    ),
                );
                None
            }
        }
    }

    /// Waits until every line handed off so far is written, or `timeout` passed (stdout blocked); says
    /// whether it was.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (done, wait) = mpsc::sync_channel(1);
        let mut request = Message::Flush(done);
        // Not a blocking `send`: with stdout blocked the buffer never drains.
        loop {
            match self.sender.try_send(request) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    request = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        wait.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }

    /// Lines handed off and not written yet.
    pub(crate) fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Counts the lines still buffered as lost, once a flush gave up on them: the process is ending.
    /// Returns how many there were.
    pub(crate) fn abandon(&self) -> u64 {
        let left = self.pending.swap(0, Ordering::Relaxed);
        if left > 0 {
            lines_lost(LineLoss::Shutdown, left);
        }
        left
    }

    /// Hands `line` to the writer thread; says whether it took it (false: the buffer is full, or the
    /// thread is gone). The line is not counted either way.
    pub(crate) fn try_hand_off(&self, line: &[u8]) -> bool {
        let mut buffer = self.spares.pop().unwrap_or_default();
        buffer.extend_from_slice(line);
        match self.sender.try_send(Message::Line(buffer)) {
            Ok(()) => {
                self.pending.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(Message::Line(mut buffer))) => {
                buffer.clear();
                let _ = self.spares.push(buffer);
                false
            }
            Err(_) => false,
        }
    }

    pub(crate) fn hand_off(&self, line: &[u8]) {
        if self.try_hand_off(line) {
            return;
        }
        lines_lost(LineLoss::BufferFull, 1);
        let dropped = lines_lost_total();
        warn_on_stderr(
            &DROPS,
            format_args!(
                "the log writer is behind (stdout blocked or slow); dropping lines, {dropped} lost so far"
            ),
        );
    }
}

/// The writer side: gathers what is waiting into one buffer and writes it at once.
fn write_lines<W: Write>(
    receiver: Receiver<Message>,
    mut out: W,
    spares: &ArrayQueue<Vec<u8>>,
    pending: &AtomicU64,
) {
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    let mut lines_in_batch = 0u64;
    let mut flushed: Vec<SyncSender<()>> = Vec::new();
    while let Ok(first) = receiver.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(mut line) => {
                    batch.extend_from_slice(&line);
                    lines_in_batch += 1;
                    line.clear();
                    if line.capacity() <= SPARE_MAX_CAPACITY {
                        let _ = spares.push(line);
                    }
                }
                Message::Flush(done) => flushed.push(done),
            }
            if batch.len() >= BATCH_BYTES {
                write_batch(&mut out, &mut batch, &mut lines_in_batch, pending);
            }
            next = receiver.try_recv().ok();
        }
        write_batch(&mut out, &mut batch, &mut lines_in_batch, pending);
        let _ = out.flush();
        for done in flushed.drain(..) {
            let _ = done.send(());
        }
    }
}

fn write_batch<W: Write>(out: &mut W, batch: &mut Vec<u8>, lines: &mut u64, pending: &AtomicU64) {
    if batch.is_empty() {
        return;
    }
    let written = out.write_all(batch);
    // Saturating: a flush that gave up already counted what was pending.
    let _ = pending.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |p| {
        Some(p.saturating_sub(*lines))
    });
    if let Err(error) = written {
        // A partly written batch counts as lost whole: the count errs on the side of reporting loss.
        lines_lost(LineLoss::WriteFailed, *lines);
        let lost = lines_lost_total();
        warn_on_stderr(
            &REFUSED,
            format_args!("stdout refused log lines ({lost} lost so far): {error}"),
        );
    }
    batch.clear();
    if batch.capacity() > 4 * BATCH_BYTES {
        batch.shrink_to(BATCH_BYTES);
    }
    *lines = 0;
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff").finish_non_exhaustive()
    }
}

/// What the log layer writes a line into.
pub(crate) struct HandoffWriter<'a>(&'a Handoff);

impl Write for HandoffWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.hand_off(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Handoff {
    type Writer = HandoffWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        HandoffWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex, PoisonError};

    /// The drop counter is process-wide: tests that read it take turns.
    static COUNTER: Mutex<()> = Mutex::new(());

    /// Whether the gate is open, and what went through it.
    type GateState = (Mutex<(bool, Vec<u8>)>, Condvar);

    /// A writer that blocks until opened, then keeps what it is given.
    #[derive(Clone, Default)]
    struct Gate {
        state: Arc<GateState>,
    }

    impl Gate {
        fn open(&self) {
            let (lock, wake) = &*self.state;
            lock.lock().unwrap().0 = true;
            wake.notify_all();
        }
        fn written(&self) -> Vec<u8> {
            self.state.0.lock().unwrap().1.clone()
        }
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (lock, wake) = &*self.state;
            let mut state = wake.wait_while(lock.lock().unwrap(), |s| !s.0).unwrap();
            state.1.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_writer_drops_and_counts_never_blocks_and_the_rest_is_flushed_in_order() {
        let _turn = COUNTER.lock().unwrap_or_else(PoisonError::into_inner);
        let gate = Gate::default();
        let writer = gate.clone();
        let handoff = Handoff::start(16, move || writer).unwrap();
        let before = lines_lost_total();
        // The writer thread blocks inside its first `write`; 16 lines wait; every later line is dropped,
        // on this thread, without waiting.
        for i in 0..1000 {
            handoff.hand_off(format!("{i}\n").as_bytes());
        }
        let dropped = lines_lost_total() - before;
        assert!(dropped > 0 && dropped < 1000, "{dropped}");
        assert!(
            !handoff.flush(Duration::from_millis(50)),
            "nothing drains while blocked"
        );
        gate.open();
        assert!(handoff.flush(Duration::from_secs(10)));
        let written = String::from_utf8(gate.written()).unwrap();
        let lines: Vec<u64> = written.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(lines.len() as u64, 1000 - dropped);
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "in order: {lines:?}");
    }

    struct Refusing;

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "closed",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_the_writer_refuses_are_counted() {
        let _turn = COUNTER.lock().unwrap_or_else(PoisonError::into_inner);
        let handoff = Handoff::start(4096, || Refusing).unwrap();
        let before = lines_lost_total();
        for _ in 0..100 {
            handoff.hand_off(b"{}\n");
            // Never dropped at the hand-off: the buffer is large and drains.
        }
        assert!(handoff.flush(Duration::from_secs(10)));
        assert_eq!(lines_lost_total() - before, 100);
    }
}
