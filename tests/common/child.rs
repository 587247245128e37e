//! One test of this test binary run again in a child process (the technique of the `rusty-fork` crate,
//! whose API hides the child's stdout, which these tests must control): for what needs a process of its
//! own, such as a fresh global subscriber, its own OTLP endpoint, or a stdout pipe nobody reads.
//!
//! ```ignore
//! #[test]
//! fn name() {
//!     if child::is_child("name") {
//!         return run_the_child_part();
//!     }
//!     let mut command = child::command("name", &[("MODE", "x")]);
//!     // spawn, read what the child wrote after `child::START`, wait with `child::wait_for`
//! }
//! ```
#![allow(dead_code)]

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The variable naming the test a child runs.
const ROLE: &str = "SIGHTLINE_TEST_CHILD";

/// Printed by the child before its own output: the test harness prints its header before it, and
/// `test <name> ... ` on the same line.
pub const START: &str = "--- sightline child output ---";

/// Whether this process is the child started for `test`. The child prints [`START`] on stdout.
pub fn is_child(test: &str) -> bool {
    let child = std::env::var(ROLE).is_ok_and(|role| role == test);
    if child {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{START}");
        let _ = out.flush();
    }
    child
}

/// Ends the child at once, before the harness prints its summary on stdout.
pub fn exit_child() -> ! {
    std::process::exit(0)
}

/// A command that runs `test` (an exact test name of this binary) as a child with `env` set; stdout and
/// stderr piped, stdin closed.
pub fn command(test: &str, env: &[(&str, &str)]) -> Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = Command::new(exe);
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, test)
        .env_remove("RUST_LOG")
        .env_remove("LOG_LEVEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// What the child wrote after [`START`].
pub fn after_start(stdout: &str) -> &str {
    match stdout.find(START) {
        Some(at) => stdout[at + START.len()..].trim_start_matches('\n'),
        None => panic!("the child never started its part; its stdout:\n{stdout}"),
    }
}

/// Waits for `child` to exit; a child still running after `limit` is killed and fails the test with
/// `what` (a liveness bound for a hang, never a measure of speed).
pub fn wait_for(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child still ran after {limit:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
