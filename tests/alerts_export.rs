//! `sightline-alerts export --catalog` gives the same files as the example's own `export` subcommand:
//! the catalogue the service writes at install (`SIGHTLINE_CATALOG_OUT`) holds everything the
//! generators read. Needs the example and the `sightline-alerts` binary built (`cargo test --workspace`
//! builds both).

#[path = "common/processes.rs"]
mod processes;

use processes::{alerts_binary, example_binary};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fresh(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sightline-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    found
}

fn succeeds(command: &mut Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what} runs: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn same_files_both_ways(name: &str, extra: &[&str]) {
    let work = fresh(name);
    let catalog = work.join("catalog.json");
    let by_service = work.join("by-service");
    let by_cli = work.join("by-cli");
    succeeds(
        Command::new(example_binary())
            .arg("export")
            .arg(&by_service)
            .args(extra)
            .env("SIGHTLINE_CATALOG_OUT", &catalog)
            .env_remove("PORT")
            .env("LOG_LEVEL", "warn"),
        "order_service export",
    );
    let text =
        std::fs::read_to_string(&catalog).expect("the service wrote its catalogue at install");
    let json: serde_json::Value = serde_json::from_str(&text).expect("the catalogue is JSON");
    assert_eq!(json["service"], "order-service");
    assert!(
        json["sites"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| !s["objective"].is_null())),
        "the example declares objectives: {text}"
    );
    succeeds(
        Command::new(alerts_binary())
            .args(["export", "--catalog"])
            .arg(&catalog)
            .arg("--out")
            .arg(&by_cli)
            .args(extra),
        "sightline-alerts export",
    );
    let (expected, got) = (files(&by_service), files(&by_cli));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "the same files"
    );
    assert_eq!(
        expected.len(),
        7,
        "rules, their tests, two configs, three dashboards"
    );
    for (path, content) in &expected {
        assert!(
            content == &got[path],
            "{path} differs between the service's export and the CLI's"
        );
    }
}

#[test]
fn the_cli_writes_what_the_service_writes() {
    same_files_both_ways("plain", &[]);
}

#[test]
fn the_cli_writes_what_the_service_writes_in_drill_mode() {
    same_files_both_ways("drill", &["--drill", "--target", "127.0.0.1:9999"]);
}
