//! The default log writer: a bounded, lossy hand-off from the calling thread to a thread that owns
//! stdout. A process whose stdout is a full pipe (a stalled log shipper, a terminal paused with
//! Ctrl-S) must keep serving: the caller only appends the line to a shared batch (a short lock, a copy);
//! when the batch holds its maximum the line is dropped and counted in `sightline_log_lines_dropped_total`,
//! as are lines stdout refuses and lines still buffered when a flush at shutdown gives up.
//!
//! The writer thread takes the whole batch every couple of milliseconds and writes it with one `write`;
//! a caller wakes it only when it sleeps for want of lines or when a batch is large. A `write` and a
//! wake-up per line cost a busy service more than the lines themselves.
//!
//! Not `tracing_appender::non_blocking`: its guard prints to stdout when the buffer is still full at
//! shutdown (a line that is not JSON, written to the very pipe that is blocked), and lines its worker
//! fails to write are not counted anywhere.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::loss::{lines_lost, lines_lost_total, LineLoss};
use crate::warn::{warn_on_stderr, RateLimited};

/// Lines the writer thread may hold when `log_buffer_lines` is not given: a few MiB of typical lines,
/// seconds of a busy service's output.
pub(crate) const DEFAULT_BUFFER_LINES: usize = 8192;

/// A batch this large is written at once rather than at the writer's next round.
const BATCH_BYTES: usize = 64 * 1024;

/// How long lines may wait for the writer while lines keep coming: one `write` per round rather than per
/// line, and a wake-up per round rather than per line.
const ROUND: Duration = Duration::from_millis(2);

/// A batch buffer larger than this (a burst of huge lines) is freed rather than kept.
const KEPT_CAPACITY: usize = 4 * BATCH_BYTES;

/// Lines dropped at the hand-off, reported at most every 10 seconds (on standard error: the writer is
/// what is failing).
static DROPS: RateLimited = RateLimited::new(10_000);
/// Stdout refusing writes, reported likewise.
static REFUSED: RateLimited = RateLimited::new(10_000);

/// Lines handed off and not taken by the writer yet.
struct Batch {
    bytes: Vec<u8>,
    lines: u64,
}

impl Batch {
    /// Room for a full batch and the lines that arrive before the writer takes it, so that a caller
    /// handing off a line grows the buffer (allocates) only when the writer falls that far behind.
    fn new() -> Batch {
        Batch {
            bytes: Vec::with_capacity(2 * BATCH_BYTES),
            lines: 0,
        }
    }
}

struct Shared {
    batch: Mutex<Batch>,
    /// Most lines the batch may hold.
    max_lines: u64,
    /// The writer thread, to wake; set once it runs.
    writer: Mutex<Option<Thread>>,
    /// The writer waits without a deadline: the next line must wake it.
    idle: AtomicBool,
    /// Lines handed off, and lines written or counted lost, so far: a flush waits for the second to
    /// reach what the first was when it started.
    handed_off: AtomicU64,
    done: Mutex<u64>,
    done_changed: Condvar,
}

/// The caller's side of the hand-off: see the module docs.
#[derive(Clone)]
pub(crate) struct Handoff {
    shared: Arc<Shared>,
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
        let shared = Arc::new(Shared {
            batch: Mutex::new(Batch::new()),
            max_lines: lines.max(1) as u64,
            writer: Mutex::new(None),
            idle: AtomicBool::new(false),
            handed_off: AtomicU64::new(0),
            done: Mutex::new(0),
            done_changed: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("sightline-log-writer".to_owned())
            .spawn(move || write_lines(&worker, open()));
        match spawned {
            Ok(handle) => {
                *shared.writer.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(handle.thread().clone());
                Some(Handoff { shared })
            }
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

    fn wake(&self) {
        if let Some(writer) = &*self
            .shared
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            writer.unpark();
        }
    }

    /// Waits until every line handed off so far is written, or `timeout` passed (stdout blocked); says
    /// whether it was.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let target = self.shared.handed_off.load(Ordering::SeqCst);
        self.wake();
        let mut done = self
            .shared
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *done < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            done = self
                .shared
                .done_changed
                .wait_timeout(done, left.min(ROUND))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            drop(done);
            // Lines handed off meanwhile wait for the writer's next round: wake it for them too.
            self.wake();
            done = self
                .shared
                .done
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
        }
        true
    }

    /// Lines handed off and not written yet.
    pub(crate) fn pending(&self) -> u64 {
        let done = *self
            .shared
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared
            .handed_off
            .load(Ordering::SeqCst)
            .saturating_sub(done)
    }

    /// Counts the lines still buffered as lost, once a flush gave up on them: the process is ending.
    /// Returns how many there were.
    pub(crate) fn abandon(&self) -> u64 {
        let mut done = self
            .shared
            .done
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let left = self
            .shared
            .handed_off
            .load(Ordering::SeqCst)
            .saturating_sub(*done);
        *done += left;
        if left > 0 {
            lines_lost(LineLoss::Shutdown, left);
        }
        left
    }

    /// Hands `line` to the writer thread; says whether it took it (false: the buffer is full). The line
    /// is not counted either way.
    pub(crate) fn try_hand_off(&self, line: &[u8]) -> bool {
        let shared = &*self.shared;
        let full = {
            let mut batch = shared.batch.lock().unwrap_or_else(PoisonError::into_inner);
            if batch.lines >= shared.max_lines {
                return false;
            }
            batch.bytes.extend_from_slice(line);
            batch.lines += 1;
            // Counted under the lock: a flush that sees the count finds the line in the batch.
            shared.handed_off.fetch_add(1, Ordering::SeqCst);
            batch.bytes.len() >= BATCH_BYTES
        };
        if full || shared.idle.load(Ordering::Relaxed) {
            self.wake();
        }
        true
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

/// The writer side: every round, takes the whole batch at once and writes it in one `write_all`.
fn write_lines<W: Write>(shared: &Shared, mut out: W) {
    let mut taken = Batch::new();
    loop {
        {
            let mut batch = shared.batch.lock().unwrap_or_else(PoisonError::into_inner);
            std::mem::swap(&mut *batch, &mut taken);
        }
        if taken.lines == 0 {
            // Nothing came during the round: wait for the next line to wake the thread.
            shared.idle.store(true, Ordering::SeqCst);
            let empty = shared
                .batch
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .lines
                == 0;
            if empty {
                std::thread::park();
            }
            shared.idle.store(false, Ordering::SeqCst);
            continue;
        }
        let written = out.write_all(&taken.bytes).and_then(|()| out.flush());
        if let Err(error) = written {
            // A partly written batch counts as lost whole: the count errs on the side of reporting loss.
            lines_lost(LineLoss::WriteFailed, taken.lines);
            let lost = lines_lost_total();
            warn_on_stderr(
                &REFUSED,
                format_args!("stdout refused log lines ({lost} lost so far): {error}"),
            );
        }
        {
            let mut done = shared.done.lock().unwrap_or_else(PoisonError::into_inner);
            // Saturating: a flush that gave up already counted what was pending.
            *done = (*done + taken.lines).min(shared.handed_off.load(Ordering::SeqCst));
        }
        shared.done_changed.notify_all();
        taken.bytes.clear();
        taken.lines = 0;
        if taken.bytes.capacity() > KEPT_CAPACITY {
            taken = Batch::new();
        }
        // Lines keep coming: let them gather for a round rather than writing each alone.
        std::thread::park_timeout(ROUND);
    }
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff").finish_non_exhaustive()
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
