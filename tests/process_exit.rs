//! A batch job that ends with `std::process::exit`, which runs no destructor: the spans and log lines
//! still buffered reach the collector and stdout anyway (the exit hook flushes them, within the guard's
//! bounds), into a fast reader and into a slow pipe alike. And sightline's own warnings are JSON lines
//! among the others on stdout, never plain text.

#[path = "common/child.rs"]
mod child;
#[path = "common/otlp_receiver.rs"]
mod otlp_receiver;

use std::io::Read;
use std::time::Duration;

/// Calls the job makes: each a span and a completion line.
const CALLS: usize = 3_000;

const LIVENESS: Duration = Duration::from_secs(120);

#[sightline::business_span("settle-invoice", attrs(invoice.id = invoice))]
fn settle(invoice: usize) -> usize {
    invoice + 1
}

/// The job: default writer (stdout), spans to the parent's collector, `CALLS` calls, then
/// `process::exit` with the guard still alive.
fn job() -> ! {
    let _telemetry = sightline::Telemetry::builder("batch-job")
        .process_metrics(false)
        .install()
        .expect("telemetry installs");
    for invoice in 0..CALLS {
        assert_eq!(settle(invoice), invoice + 1);
    }
    std::process::exit(0);
}

/// Runs the job, reading its stdout `slowly` or not; returns stdout and stderr.
fn run(test: &str, collector: &str, slowly: bool) -> (String, String) {
    let mut command = child::command(test, &[]);
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
        // Room for every span: what is tested is the exit, not the queue.
        .env("OTEL_BSP_MAX_QUEUE_SIZE", "8192")
        .env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let mut process = command.spawn().expect("the job starts");
    let mut stdout = process.stdout.take().unwrap();
    let mut stderr = process.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
            if slowly {
                // About 400 KiB a second: the job's lines wait in the pipe and in its buffer.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        String::from_utf8(out).expect("stdout is UTF-8")
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = child::wait_for(&mut process, LIVENESS, "the job did not exit");
    let (stdout, stderr) = (reader.join().unwrap(), errors.join().unwrap());
    assert!(status.success(), "{status:?}\n{stderr}");
    (stdout, stderr)
}

/// Every completion line on stdout, every span at the collector, nothing said missing.
fn check(stdout: &str, stderr: &str, receiver: &otlp_receiver::Receiver) {
    let lines: Vec<serde_json::Value> = child::after_start(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let completions = lines
        .iter()
        .filter(|l| l["operation"] == "settle-invoice")
        .count();
    assert_eq!(completions, CALLS, "every line reached stdout\n{stderr}");
    let spans = receiver.wait_for(CALLS, Duration::from_secs(10));
    assert_eq!(spans.len(), CALLS, "every span reached the collector");
    assert!(
        !stderr.contains("not delivered"),
        "nothing was lost: {stderr}"
    );
}

#[test]
fn exit_delivers_what_is_buffered() {
    const NAME: &str = "exit_delivers_what_is_buffered";
    if child::is_child(NAME) {
        job();
    }
    let receiver = otlp_receiver::Receiver::start();
    let (stdout, stderr) = run(NAME, receiver.base_url(), false);
    check(&stdout, &stderr, &receiver);
}

#[test]
fn exit_delivers_what_is_buffered_into_a_slow_pipe() {
    const NAME: &str = "exit_delivers_what_is_buffered_into_a_slow_pipe";
    if child::is_child(NAME) {
        job();
    }
    let receiver = otlp_receiver::Receiver::start();
    let (stdout, stderr) = run(NAME, receiver.base_url(), true);
    check(&stdout, &stderr, &receiver);
}

/// With the collector down, the warning about it is a JSON line on stdout (target `sightline`, level
/// `warn`) among the job's own lines, and standard error has none of it.
#[test]
fn warnings_are_json_lines_on_stdout() {
    const NAME: &str = "warnings_are_json_lines_on_stdout";
    if child::is_child(NAME) {
        let guard = sightline::Telemetry::builder("batch-job")
            .process_metrics(false)
            .install()
            .expect("telemetry installs");
        for invoice in 0..10 {
            settle(invoice);
        }
        let undelivered = guard.flush(Duration::from_secs(5));
        assert_eq!(undelivered.spans, 10, "nothing listens: {undelivered}");
        drop(guard);
        child::exit_child();
    }
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (stdout, stderr) = run(NAME, &format!("http://127.0.0.1:{closed_port}"), false);
    let lines: Vec<serde_json::Value> = child::after_start(&stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let warning = lines
        .iter()
        .find(|l| l["target"] == "sightline")
        .unwrap_or_else(|| panic!("no warning among\n{stdout}"));
    assert_eq!(warning["level"], "warn");
    assert_eq!(warning["service"], "batch-job");
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not export 10 spans")),
        "{warning}"
    );
    assert!(!stderr.contains("could not export"), "{stderr}");
}
