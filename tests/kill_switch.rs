//! The kill switch for real: the fixture crate (`tests/kill_switch/fixture`), whose every annotated
//! function shape is built with `--cfg sightline_disable` (with user warnings denied), returns what the
//! bare functions return, and leaves no series, catalogue entry, completion line or span behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

#[test]
fn disabled_attributes_leave_the_bare_functions() {
    let run = build_and_run_fixture();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let mut results = BTreeMap::new();
    let mut metrics = Vec::new();
    let mut logs = Vec::new();
    let mut catalog = None;
    for line in stdout.lines() {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "result" => {
                let (key, value) = rest.split_once(' ').expect("result <key> <value>");
                results.insert(key.to_string(), value.to_string());
            }
            "catalog" => catalog = Some(rest.to_string()),
            "metric" => metrics.push(rest),
            "log" => logs.push(rest),
            _ => panic!("unexpected fixture output: {line}"),
        }
    }

    assert_eq!(results, expected_results(), "return values");
    assert_eq!(catalog.as_deref(), Some("0"), "sites in the catalogue");

    assert!(
        metrics.contains(&"fixture_probe_total 1"),
        "the fixture's own counter is missing: the exposition was not read\n{metrics:#?}"
    );
    let families = [
        "function_",
        "business_operation",
        "http_request",
        "fixture_lookups",
    ];
    let series: Vec<_> = metrics
        .iter()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| families.iter().any(|family| line.starts_with(family)))
        .collect();
    assert!(series.is_empty(), "series of disabled sites: {series:#?}");

    let lines: Vec<serde_json::Value> = logs
        .iter()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect();
    assert!(
        lines.iter().any(|l| l["message"] == "fixture calls done"),
        "the fixture's own line is missing: the log writer was not read\n{logs:#?}"
    );
    let from_sites: Vec<_> = lines
        .iter()
        .filter(|l| {
            ["function", "operation", "result", "outcome", "duration_ms"]
                .iter()
                .any(|key| l.get(key).is_some())
                || l["message"] == "span completed"
        })
        .collect();
    assert!(
        from_sites.is_empty(),
        "completion lines or spans of disabled sites: {from_sites:#?}"
    );
}

/// What the fixture's functions return without any attribute: the same bodies, written here bare.
fn expected_results() -> BTreeMap<String, String> {
    #[derive(Debug)]
    enum QuantityError {
        Empty,
        NotANumber,
        Zero,
    }
    fn parse_quantity(raw: &str) -> Result<u32, QuantityError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(QuantityError::Empty);
        }
        let n: u32 = raw.parse().map_err(|_| QuantityError::NotANumber)?;
        if n == 0 {
            return Err(QuantityError::Zero);
        }
        Ok(n * 2)
    }
    fn largest<T: PartialOrd + Copy>(items: &[T]) -> Option<T> {
        let mut best = *items.first()?;
        for &item in items {
            if item > best {
                best = item;
            }
        }
        Some(best)
    }
    let lines = [1200_u32, 800];
    let gross: u32 = lines.iter().sum();
    let lookup = |sku: &str| (!sku.is_empty()).then(|| sku.len() * 10);
    let checkout = |lines: &[u32]| -> Result<u64, String> {
        if lines.is_empty() {
            return Err("empty order".to_string());
        }
        Ok(u64::from(lines.iter().sum::<u32>()) * 100)
    };
    let get_order = |id: u64| -> Result<String, String> {
        if id == 0 {
            return Err("not found".to_string());
        }
        Ok(format!("order {id}"))
    };
    let results: [(&str, &dyn std::fmt::Debug); 14] = [
        ("parse_quantity/3", &parse_quantity(" 3 ")),
        ("parse_quantity/empty", &parse_quantity("  ")),
        ("parse_quantity/nan", &parse_quantity("x1")),
        ("parse_quantity/zero", &parse_quantity("0")),
        ("largest", &largest(&[3, 9, 4])),
        ("largest/empty", &largest::<u8>(&[])),
        ("total", &(gross - gross * 10 / 100)),
        ("total_later", &(gross + 5)),
        ("lookup/eu", &lookup("ABCD")),
        ("lookup/us", &lookup("")),
        ("checkout/ok", &checkout(&[3, 4])),
        ("checkout/empty", &checkout(&[])),
        ("get_order/7", &get_order(7)),
        ("get_order/0", &get_order(0)),
    ];
    results
        .iter()
        .map(|(key, value)| (key.to_string(), format!("{value:?}")))
        .collect()
}

/// Builds the fixture with the kill switch (in its own target directory, from the workspace's lock file so
/// that it compiles the versions the workspace tested) and runs it.
fn build_and_run_fixture() -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = root.join("tests/kill_switch/fixture");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("kill-switch");
    std::fs::copy(root.join("Cargo.lock"), fixture.join("Cargo.lock")).expect("copy Cargo.lock");
    let cargo = std::env::var_os("CARGO").expect("CARGO is set by cargo test");
    let build = Command::new(cargo)
        .arg("build")
        .arg("--manifest-path")
        .arg(fixture.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags())
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    assert!(
        build.status.success(),
        "the fixture does not build with --cfg sightline_disable ({}):\n{}{}",
        build.status,
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr),
    );

    let exe = target.join("debug").join(format!(
        "sightline-kill-switch-fixture{}",
        std::env::consts::EXE_SUFFIX
    ));
    let mut command = Command::new(&exe);
    // The environment chooses levels and exporters over the builder: the fixture's own choices apply.
    for (name, _) in std::env::vars_os() {
        let name_str = name.to_string_lossy();
        if name_str.starts_with("OTEL_") || name_str == "RUST_LOG" || name_str == "LOG_LEVEL" {
            command.env_remove(&name);
        }
    }
    let run = command.output().expect("run the fixture");
    assert!(
        run.status.success(),
        "{} failed ({}):\n{}{}",
        exe.display(),
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    run
}

/// The environment's flags (a linker, a target CPU) plus the kill switch, in the encoding that takes
/// precedence over every other source of flags.
fn rustflags() -> String {
    let mut flags: Vec<String> = match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) if !encoded.is_empty() => encoded.split('\x1f').map(String::from).collect(),
        _ => std::env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect(),
    };
    flags.extend(["--cfg".to_string(), "sightline_disable".to_string()]);
    flags.join("\x1f")
}
