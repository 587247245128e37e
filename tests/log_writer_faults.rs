//! The default stdout writer under faults, each in a child process whose stdout the test controls: a pipe
//! nobody reads (the caller never blocks, lines over the buffer are dropped and counted, the rest arrive
//! once the pipe drains, flushed by the guard) and a closed pipe (every line lost is counted, nothing
//! panics, the fault is reported at most once per 10 s).

#[path = "common/child.rs"]
mod child;
#[path = "common/exposition.rs"]
mod exposition;

use sightline::{observe, ErrorLabel};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

/// Calls each child makes; every call writes one completion line.
const CALLS: u64 = 50_000;

/// Far longer than the calls take in a debug build: reaching it means a caller blocked.
const LIVENESS: Duration = Duration::from_secs(120);

#[derive(Debug, ErrorLabel)]
enum DrillError {
    Odd,
}

impl std::fmt::Display for DrillError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("odd")
    }
}

#[observe]
fn handle(i: u64) -> Result<u64, DrillError> {
    if i % 7 == 0 {
        return Err(DrillError::Odd);
    }
    Ok(i * 2)
}

/// Lines lost, every reason together (`buffer_full`, `write_failed`, `shutdown`).
fn lines_dropped() -> f64 {
    let text = sightline::metrics::render();
    let scrape = exposition::parse(&text);
    let found: Vec<_> = scrape
        .find("sightline_log_lines_dropped_total", &[])
        .collect();
    assert_eq!(found.len(), 3, "one series per reason in:\n{text}");
    found.iter().map(|s| s.value).sum()
}

/// The child's part: default writer (stdout), `CALLS` calls, the report on stderr, then the guard's flush.
/// With `wait`, it starts once a line arrives on stdin.
fn run_child(wait: bool) -> ! {
    if wait {
        let mut go = String::new();
        std::io::stdin().read_line(&mut go).expect("the go line");
    }
    let started = std::time::Instant::now();
    let guard = sightline::Telemetry::builder("stdout-faults")
        .process_metrics(false)
        .install()
        .expect("telemetry installs");
    for i in 0..CALLS {
        let result = handle(i);
        assert_eq!(result.ok(), (i % 7 != 0).then_some(i * 2), "call {i}");
    }
    eprintln!("calls-done dropped={}", lines_dropped());
    drop(guard);
    eprintln!(
        "flushed dropped={} seconds={}",
        lines_dropped(),
        started.elapsed().as_secs_f64()
    );
    child::exit_child()
}

/// Reads the child's stderr on a thread, handing on each line.
fn stderr_lines(stderr: std::process::ChildStderr) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// The `key=value` pairs of the report line starting with `prefix`.
fn wait_report(
    lines: &mpsc::Receiver<String>,
    prefix: &str,
    seen: &mut Vec<String>,
) -> HashMap<String, f64> {
    loop {
        let line = lines
            .recv_timeout(LIVENESS)
            .unwrap_or_else(|_| panic!("no `{prefix}` report from the child; stderr: {seen:#?}"));
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest
                .split_whitespace()
                .map(|pair| {
                    pair.split_once('=')
                        .and_then(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
                        .unwrap_or_else(|| panic!("bad report: {line}"))
                })
                .collect();
        }
    }
}

/// A fault is reported, and at most once per 10-second interval of the child's run: one line stands for
/// thousands of lost ones.
fn assert_reported_per_interval(reports: usize, seconds: f64, seen: &[String]) {
    let intervals = 1 + (seconds / 10.0).floor() as usize;
    assert!(
        (1..=intervals).contains(&reports),
        "{reports} reports in {seconds:.1} s: {seen:#?}"
    );
}

#[test]
fn a_stdout_nobody_reads_never_blocks_the_caller_and_lost_lines_are_counted() {
    const NAME: &str = "a_stdout_nobody_reads_never_blocks_the_caller_and_lost_lines_are_counted";
    if child::is_child(NAME) {
        run_child(false);
    }
    let mut process = child::command(NAME, &[]).spawn().expect("spawn the child");
    let stderr = stderr_lines(process.stderr.take().unwrap());
    let mut stdout = process.stdout.take().unwrap();
    let mut seen = Vec::new();

    // Nobody reads stdout until every call has returned: the pipe (64 KiB) fills after a few hundred
    // lines and the writer thread blocks in `write`.
    let dropped_while_blocked = wait_report(&stderr, "calls-done", &mut seen)["dropped"];
    assert!(
        dropped_while_blocked > 0.0,
        "with stdout blocked, lines beyond the buffer are dropped: {seen:?}"
    );
    assert!(
        dropped_while_blocked < CALLS as f64,
        "the buffer kept some lines"
    );

    // Now the pipe drains; the guard's flush waits for everything that was not dropped.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).expect("stdout is UTF-8");
        text
    });
    let flushed = wait_report(&stderr, "flushed", &mut seen);
    let dropped_at_exit = flushed["dropped"];
    let status = child::wait_for(&mut process, LIVENESS, "the guard's flush hung");
    assert!(
        status.success(),
        "child failed: {status:?}; stderr: {seen:#?}"
    );
    let text = reader.join().unwrap();
    assert_eq!(
        dropped_at_exit, dropped_while_blocked,
        "nothing is dropped once stdout drains"
    );

    let mut completion_lines = 0u64;
    for line in child::after_start(&text).lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        assert!(value.is_object(), "{line}");
        if value["function"] == "handle" {
            completion_lines += 1;
        }
    }
    assert_eq!(
        completion_lines + dropped_at_exit as u64,
        CALLS,
        "every line was either written or counted as dropped"
    );
    let warnings = seen
        .iter()
        .filter(|l| l.contains("the log writer is behind"))
        .count();
    assert_reported_per_interval(warnings, flushed["seconds"], &seen);
}

#[test]
fn a_closed_stdout_loses_lines_counted_and_never_panics() {
    const NAME: &str = "a_closed_stdout_loses_lines_counted_and_never_panics";
    if child::is_child(NAME) {
        run_child(true);
    }
    let mut process = child::command(NAME, &[])
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn the child");
    // Once the harness has printed its header, closing the read end makes every later write to the
    // child's stdout fail with EPIPE.
    let mut stdout = BufReader::new(process.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains(child::START) {
        line.clear();
        let read = stdout.read_line(&mut line).expect("the child's stdout");
        assert!(read > 0, "the child never started its part");
    }
    drop(stdout);
    let mut stdin = process.stdin.take().unwrap();
    stdin.write_all(b"go\n").expect("start the child");
    drop(stdin);
    let stderr = stderr_lines(process.stderr.take().unwrap());
    let mut seen = Vec::new();
    let _ = wait_report(&stderr, "calls-done", &mut seen);
    let flushed = wait_report(&stderr, "flushed", &mut seen);
    let dropped = flushed["dropped"];
    let status = child::wait_for(&mut process, LIVENESS, "the child hung on a closed stdout");
    assert!(
        status.success(),
        "child failed: {status:?}; stderr: {seen:#?}"
    );
    while let Ok(line) = stderr.recv_timeout(Duration::from_secs(5)) {
        seen.push(line);
    }
    assert_eq!(
        dropped, CALLS as f64,
        "every completion line is counted lost"
    );
    let refusals = seen
        .iter()
        .filter(|l| l.contains("stdout refused log lines"))
        .count();
    assert_reported_per_interval(refusals, flushed["seconds"], &seen);
    assert!(
        !seen.iter().any(|l| l.contains("panicked")),
        "nothing panicked: {seen:#?}"
    );
}
