//! The `sightline-alerts` binary as a user runs it: every mistake is a message naming itself and exit
//! code 2, and a catalogue gives the artefacts.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline-alerts"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sightline-alerts-cli-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn refused(args: &[&str], says: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(says),
        "{args:?} should say {says:?}: {stderr}"
    );
    assert!(
        stderr.contains("usage: sightline-alerts export"),
        "{stderr}"
    );
}

const CATALOG: &str = r#"{
  "sightline_catalog": 1,
  "service": "payments",
  "naming": {"prefix": "pay_", "const_labels": [{"name": "region", "value": "eu"}]},
  "sites": [
    {"kind": "handler", "function": "create", "function_resolved": true, "module": "p",
     "operation": null, "http": {"method": "POST", "route": "/pay"}, "families": [], "labels": [],
     "objective": {"latency_seconds": 0.5, "percentile": 99.0, "error_rate_percent": 1.0}},
    {"kind": "function", "function": "charge", "function_resolved": true, "module": "p::card",
     "operation": null, "http": null, "families": [], "labels": [], "objective": null}
  ]
}"#;

#[test]
fn a_catalogue_gives_every_artefact_in_its_registry_names() {
    let work = dir("ok");
    let catalog = work.join("catalog.json");
    std::fs::write(&catalog, CATALOG).unwrap();
    let out_dir = work.join("out");
    let out = run(&[
        "export",
        "--catalog",
        catalog.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for file in [
        "alert_rules.yml",
        "alert_rules.test.yml",
        "alertmanager.yml",
        "prometheus.yml",
        "dashboards/service-overview.json",
        "dashboards/endpoint-performance.json",
        "dashboards/infrastructure.json",
    ] {
        assert!(
            stderr.contains(&format!("wrote {}", out_dir.join(file).display())),
            "{stderr}"
        );
    }
    let rules = std::fs::read_to_string(out_dir.join("alert_rules.yml")).unwrap();
    // The job is the catalogue's service, the families are the registry's, the objective is there.
    assert!(rules.contains(r#"job="payments""#), "{rules}");
    assert!(
        rules.contains("pay_http_requests_total{region=\"eu\""),
        "{rules}"
    );
    assert!(rules.contains(r#"route="/pay""#), "{rules}");
    let scrape = std::fs::read_to_string(out_dir.join("prometheus.yml")).unwrap();
    assert!(scrape.contains("127.0.0.1:3000"), "{scrape}");
}

#[test]
fn every_mistake_names_itself() {
    let work = dir("mistakes");
    let catalog = work.join("catalog.json");
    let out = work.join("out");
    let (catalog, out) = (catalog.to_str().unwrap(), out.to_str().unwrap());
    refused(&[], "no command given");
    refused(&["generate"], "unknown command `generate`");
    refused(
        &["export", "--out", out],
        "`--catalog <catalog.json>` is required",
    );
    refused(
        &["export", "--catalog", catalog],
        "`--out <dir>` is required",
    );
    refused(&["export", "--catalog"], "`--catalog` needs a value");
    refused(
        &[
            "export",
            "--catalog",
            catalog,
            "--out",
            out,
            "--tagret",
            "x",
        ],
        "unknown option `--tagret`",
    );
    refused(
        &["export", "--catalog", catalog, "--out", out],
        "cannot read",
    );

    std::fs::write(work.join("catalog.json"), "{not json").unwrap();
    refused(
        &["export", "--catalog", catalog, "--out", out],
        "is not JSON",
    );
    std::fs::write(
        work.join("catalog.json"),
        CATALOG.replace("\"sightline_catalog\": 1", "\"sightline_catalog\": 9"),
    )
    .unwrap();
    refused(
        &["export", "--catalog", catalog, "--out", out],
        "is version 9",
    );
    std::fs::write(
        work.join("catalog.json"),
        CATALOG.replace("\"percentile\": 99.0", "\"percentile\": \"99\""),
    )
    .unwrap();
    refused(
        &["export", "--catalog", catalog, "--out", out],
        "`sites[0].objective.percentile` is the string \"99\"; expected a number",
    );
    std::fs::write(
        work.join("catalog.json"),
        CATALOG.replace("\"service\": \"payments\"", "\"service\": null"),
    )
    .unwrap();
    refused(
        &["export", "--catalog", catalog, "--out", out],
        "pass --job",
    );
    assert!(
        !work.join("out").exists(),
        "nothing is written on a refusal"
    );
}
