//! Set-up: errors instead of panics, the chosen registry, calls before `install()` still counted.

mod common;

use common::exposition;
use sightline::observe;

#[observe]
fn early_call() -> u8 {
    1
}

#[test]
fn install_reports_errors_and_uses_the_chosen_registry() {
    // Counted before anything is installed.
    early_call();

    let bad = sightline::Telemetry::builder("svc")
        .log_level("info,[")
        .install();
    match bad {
        Err(sightline::Error::InvalidLogLevel { value, .. }) => assert_eq!(value, "info,["),
        other => panic!("expected InvalidLogLevel, got {:?}", other.err()),
    }

    let registry = prometheus::Registry::new_custom(Some("app".into()), None).unwrap();
    let own = prometheus::IntCounter::new("own_total", "the application's own metric").unwrap();
    registry.register(Box::new(own.clone())).unwrap();
    own.inc();

    let guard = sightline::Telemetry::builder("svc")
        .log_writer(std::io::sink)
        .registry(registry.clone())
        .install()
        .expect("first install succeeds");

    let again = sightline::init("svc");
    assert!(matches!(again, Err(sightline::Error::AlreadyInstalled)));
    assert!(again.unwrap_err().to_string().contains("already installed"));

    early_call();
    let text = sightline::metrics::render();
    let parsed = exposition::parse(&text);
    let calls: Vec<_> = parsed
        .find(
            "app_function_calls_total",
            &[("function", "early_call"), ("result", "ok")],
        )
        .collect();
    assert_eq!(calls.len(), 1, "{text}");
    assert_eq!(calls[0].value, 2.0, "the call before install() is counted");
    assert_eq!(parsed.find("app_own_total", &[]).next().unwrap().value, 1.0);
    assert_eq!(
        parsed
            .types
            .get("app_function_call_duration_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    #[cfg(target_os = "linux")]
    assert!(
        parsed
            .find("app_process_resident_memory_bytes", &[])
            .next()
            .is_some(),
        "the process collector is registered"
    );
    assert!(
        prometheus::gather()
            .iter()
            .all(|f| !f.name().starts_with("function_")),
        "nothing leaks into the default registry when another was chosen"
    );
    drop(guard);
}
