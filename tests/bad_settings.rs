//! A bad setting is an error naming itself, never silence; and a refused `install()` changes nothing, so
//! a corrected second call succeeds. Each case runs in a child process of its own, with its own
//! environment and a fresh process to install into.

#[path = "common/child.rs"]
mod child;
#[path = "common/exposition.rs"]
mod exposition;

use std::time::Duration;

#[sightline::observe]
fn work() -> u8 {
    7
}

/// Runs `test` as a child with `env`; returns what it printed after its start marker, each line one
/// `key=value` report.
fn run(test: &str, env: &[(&str, &str)]) -> String {
    let mut command = child::command(test, &[]);
    command
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .envs(env.iter().copied());
    let child = command.spawn().expect("the child starts");
    let output = child.wait_with_output().expect("the child ends");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test}: the child failed:\n{stdout}\n{stderr}"
    );
    child::after_start(&stdout).to_owned()
}

/// What a refused `install()` must leave: no family of sightline's in the exposition.
fn assert_nothing_registered(when: &str) {
    let text = sightline::metrics::render();
    assert!(
        !text.contains("function_calls_total") && !text.contains("sightline_spans_dropped_total"),
        "{when}: the refused install left families registered:\n{text}"
    );
}

/// The child's part of the level cases: the refused install, then the same without the variable.
fn refused_then_corrected(variable: &str) {
    let error = sightline::Telemetry::builder("svc")
        .log_writer(std::io::sink)
        .install()
        .expect_err("a bad level is refused");
    println!("display={error}");
    println!("debug={error:?}");
    if let sightline::Error::InvalidLogLevel {
        variable, value, ..
    } = &error
    {
        println!("variable={variable} value={value}");
    }
    work();
    assert_nothing_registered("after a bad level");
    std::env::remove_var(variable);
    let guard = sightline::Telemetry::builder("svc")
        .log_writer(std::io::sink)
        .install()
        .expect("the corrected install succeeds");
    let calls = exposition::parse(&sightline::metrics::render())
        .find("function_calls_total", &[("function", "work")])
        .map(|s| s.value)
        .sum::<f64>();
    println!("calls={calls}");
    drop(guard);
    child::exit_child();
}

fn report<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
}

#[test]
fn log_level_verbose_is_refused_naming_the_variable() {
    if child::is_child("log_level_verbose_is_refused_naming_the_variable") {
        return refused_then_corrected("LOG_LEVEL");
    }
    let out = run(
        "log_level_verbose_is_refused_naming_the_variable",
        &[("LOG_LEVEL", "verbose")],
    );
    assert!(out.contains("variable=LOG_LEVEL value=verbose"), "{out}");
    let display = report(&out, "display");
    for part in [
        "LOG_LEVEL",
        "\"verbose\"",
        "trace, debug, info, warn, error",
    ] {
        assert!(display.contains(part), "{part} in {display}");
    }
    assert_eq!(
        report(&out, "debug"),
        display,
        "Debug explains as Display does"
    );
    assert_eq!(
        report(&out, "calls"),
        "1",
        "the call before the corrected install is counted"
    );
}

#[test]
fn rust_log_verbose_is_refused_naming_the_variable() {
    if child::is_child("rust_log_verbose_is_refused_naming_the_variable") {
        return refused_then_corrected("RUST_LOG");
    }
    let out = run(
        "rust_log_verbose_is_refused_naming_the_variable",
        &[("RUST_LOG", "verbose")],
    );
    assert!(out.contains("variable=RUST_LOG value=verbose"), "{out}");
}

#[test]
fn a_directive_with_a_level_that_does_not_exist_is_refused() {
    if child::is_child("a_directive_with_a_level_that_does_not_exist_is_refused") {
        return refused_then_corrected("RUST_LOG");
    }
    let out = run(
        "a_directive_with_a_level_that_does_not_exist_is_refused",
        &[("RUST_LOG", "info,my_crate=loud")],
    );
    assert!(
        out.contains("variable=RUST_LOG value=info,my_crate=loud"),
        "{out}"
    );
    assert!(report(&out, "display").contains("\"loud\""), "{out}");
}

#[test]
fn a_malformed_directive_is_refused() {
    if child::is_child("a_malformed_directive_is_refused") {
        return refused_then_corrected("RUST_LOG");
    }
    let out = run(
        "a_malformed_directive_is_refused",
        &[("RUST_LOG", "info,[")],
    );
    assert!(out.contains("variable=RUST_LOG value=info,["), "{out}");
}

#[test]
fn an_unsupported_otlp_protocol_is_an_error_at_start_up() {
    const NAME: &str = "an_unsupported_otlp_protocol_is_an_error_at_start_up";
    if child::is_child(NAME) {
        let error = sightline::Telemetry::builder("svc")
            .log_writer(std::io::sink)
            .otlp_endpoint("http://127.0.0.1:9")
            .install()
            .expect_err("grpc is refused");
        println!("display={error}");
        if let sightline::Error::InvalidSetting { name, value, .. } = &error {
            println!("name={name} value={value}");
        }
        assert_nothing_registered("after a bad protocol");
        child::exit_child();
    }
    let out = run(NAME, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    assert!(
        out.contains("name=OTEL_EXPORTER_OTLP_PROTOCOL value=grpc"),
        "{out}"
    );
    assert!(report(&out, "display").contains("http/protobuf"), "{out}");
}

/// A registry conflict found half-way through registering: what was registered before it is removed
/// again, from the registry `render()` reads.
#[test]
fn a_refused_install_leaves_no_family_registered() {
    const NAME: &str = "a_refused_install_leaves_no_family_registered";
    if child::is_child(NAME) {
        // The third family sightline registers, taken by the application with other labels.
        let taken = prometheus::IntCounterVec::new(
            prometheus::Opts::new("business_operations_total", "the application's own"),
            &["kind"],
        )
        .unwrap();
        taken.with_label_values(&["refund"]).inc();
        prometheus::default_registry()
            .register(Box::new(taken.clone()))
            .unwrap();
        let error = sightline::Telemetry::builder("svc")
            .log_writer(std::io::sink)
            .install()
            .expect_err("the conflict is refused");
        println!("display={error}");
        assert_nothing_registered("after a registry conflict");
        // What the error says to do: a registry of sightline's own.
        let guard = sightline::Telemetry::builder("svc")
            .log_writer(std::io::sink)
            .registry(prometheus::Registry::new())
            .install()
            .expect("the corrected install succeeds");
        work();
        let text = sightline::metrics::render();
        println!("registered={}", text.contains("function_calls_total"));
        assert!(guard.shutdown().is_empty());
        child::exit_child();
    }
    let out = run(NAME, &[]);
    assert!(
        report(&out, "display").contains("business_operations_total"),
        "{out}"
    );
    assert_eq!(report(&out, "registered"), "true");
}

/// The explicit shutdown says what it could not deliver.
#[test]
fn shutdown_says_what_it_could_not_deliver() {
    const NAME: &str = "shutdown_says_what_it_could_not_deliver";
    if child::is_child(NAME) {
        let guard = sightline::Telemetry::builder("svc")
            .log_writer(std::io::sink)
            .otlp_endpoint("http://127.0.0.1:9")
            .install()
            .expect("installs");
        #[sightline::business_span("ship")]
        fn ship() {}
        for _ in 0..10 {
            ship();
        }
        let flushed = guard.flush(Duration::from_secs(5));
        println!("flush_spans={}", flushed.spans);
        let undelivered = guard.shutdown();
        println!("shutdown_spans={}", undelivered.spans);
        child::exit_child();
    }
    let out = run(NAME, &[("OTEL_EXPORTER_OTLP_TIMEOUT", "200")]);
    // Nothing listens on port 9: the flush's export fails, and says so.
    assert_eq!(report(&out, "flush_spans"), "10", "{out}");
    assert_eq!(report(&out, "shutdown_spans"), "0", "nothing was left");
}
